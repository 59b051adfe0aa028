"""Field types, base models, paging and error envelopes shared by every module's schemas."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
)
from werkzeug.datastructures import FileStorage

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


Text = Annotated[str, AfterValidator(_printable)]
"""A string without control characters (tab and newlines allowed): PostgreSQL cannot store NUL."""


def text(max_length: int, min_length: int = 0, *, strip: bool = True, **kw) -> Any:
    """A ``Text`` of bounded length, stripped of surrounding blanks, e.g. ``name: text(120, 1)``."""
    steps = [AfterValidator(str.strip)] if strip else []
    return (
        Annotated[Text, Field(max_length=max_length, **kw), *steps, AfterValidator(_min_length(min_length))]
        if min_length
        else Annotated[Text, Field(max_length=max_length, **kw), *steps]
    )


def _min_length(n: int):
    def check(value: str) -> str:
        if len(value) < n:
            raise ValueError("is required" if n == 1 else f"must be at least {n} characters")
        return value

    return check


def _file(value):
    if not isinstance(value, FileStorage) or not value.filename:
        raise ValueError("must be a file (multipart/form-data)")
    return value


FileUpload = Annotated[FileStorage, PlainValidator(_file), WithJsonSchema({"type": "string", "format": "binary"})]
"""A file part of a multipart upload."""


class Binary:
    """Marks a response whose body is a file (PDF, PNG, ZPL…), not JSON."""


Id = uuid.UUID
Timestamp = datetime  # answered as ``2026-11-22T10:00:00.000Z`` (app.WharfJSONProvider)


def _utc(value: datetime) -> datetime:
    """Aware UTC; a time without an offset is UTC (the seeds' timestamps end in ``Z``)."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved across midnight
        raise ValueError("is out of range") from None


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
"""An ISO-8601 date-time as aware UTC."""


def _no_default(schema: dict) -> None:
    schema.pop("default", None)


def omissible(**kw) -> Any:
    """An update's field that may be left out (the stored value stays) but, when sent, is
    never null: it has no default in the document (``None`` is no value of its type)."""
    return Field(None, json_schema_extra=_no_default, **kw)


def id_or_none(value: str | None) -> uuid.UUID | None:
    """A form's empty choice ("—", "top level") or null is no id."""
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValueError("must be a UUID") from None


OptionalId = Annotated[
    str | None,
    AfterValidator(id_or_none),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "string", "maxLength": 0}, {"type": "null"}]}
    ),
]
"""An id that may be cleared: null or "" (a form's "—" option) mean none. Text, so a
form's empty choice reaches the view as "clear it" instead of "not sent"."""

CountryCode = Annotated[
    str, Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2, any case"), AfterValidator(str.upper)
]


def comma_list(value):
    """A list parameter sent as ``?a=x,y`` or ``?a=x&a=y`` (blank parts dropped); for
    ``BeforeValidator``."""
    values = value if isinstance(value, list) else [value]
    return [
        p.strip()
        for v in values
        for p in (v.split(",") if isinstance(v, str) else [v])
        if not isinstance(p, str) or p.strip()
    ]


MAX_PAGE = 1_000_000  # pages past this would overflow an SQL OFFSET long before they hold rows


class Model(BaseModel):
    """Base of request and response models: seed field names as written, unknown input
    fields ignored (clients send more than a route reads)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Open(Model):
    """A model that may carry more fields than it lists (the seed shows an open object)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --- errors -------------------------------------------------------------------------------


class ErrorDetail(Model):
    path: list[str | int]
    message: str


class ErrorResponse(Open):
    """Family A (seed 000) error: ``{"error": message, "details"?: [...]}``; 403 adds
    ``requiredFeatures``, 429 ``retryAfterSeconds``."""

    error: str
    details: list[ErrorDetail] | None = None
    requiredFeatures: list[str] | None = None
    retryAfterSeconds: int | None = None
    ok: bool | None = None


class MindbricksError(Model):
    """Seed 002 error: ``{"status": "ERR", "message": ...}`` (validation adds ``details``)."""

    status: Literal["ERR"]
    message: str
    details: list[ErrorDetail] | None = None


class AfostoError(Model):
    """Family B (seed 001) error: ``{code, message, reference, errors}``."""

    code: int
    message: str
    reference: str
    errors: dict[str, list[str]]


class Ok(Model):
    ok: Literal[True] = True


class Created(Model):
    id: uuid.UUID


# --- paging --------------------------------------------------------------------------------


class PageQuery(Model):
    """Family A list parameters. A route narrows ``sortField`` to what it can sort by."""

    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number (from 1)")
    pageSize: int = Field(50, ge=1, le=100, description="Items per page")
    search: text(200) = Field("", description="Case-insensitive text search")
    sortField: str | None = Field(None, description="Field to sort by")
    sortDir: Literal["asc", "desc"] | None = Field(None, description="Sort direction")


T = TypeVar("T")


class Page(Model, Generic[T]):
    """A family A list page."""

    items: list[T]
    total: int
    page: int
    pageSize: int
    totalPages: int

    @classmethod
    def model_parametrized_name(cls, params: tuple[type[Any], ...]) -> str:
        return "".join(getattr(p, "__name__", str(p)) for p in params) + "Page"


# A next-page token (``x-next-page``): opaque, URL-safe, never all digits (those are page numbers).
PAGE_TOKEN = r"^[A-Za-z][A-Za-z0-9_-]{7,400}$"


def _page_or_token(value) -> int | str:
    """``x-page``: a page number (from 1), or a page token kept as it came."""
    if isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str) and value.isdigit():
        if not 1 <= int(value) <= MAX_PAGE:
            raise ValueError(f"a page number is from 1 to {MAX_PAGE}")
        return int(value)
    if isinstance(value, str) and re.fullmatch(PAGE_TOKEN, value):
        return value
    raise ValueError("must be a page number (from 1) or the x-next-page token of an answer")


# One field, one error path (``x-page``), whichever of the two it was meant to be.
PageOrToken = Annotated[
    int | str,
    PlainValidator(_page_or_token),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                {"type": "string", "pattern": PAGE_TOKEN},
            ]
        }
    ),
]


class PageHeaders(Model):
    """Family B paging headers (seed 001): ``x-page`` and ``x-page-size``. ``x-page`` is a page
    number, or the ``x-next-page`` token of the previous answer (seed 001 types it a string):
    a token continues after that page's last row, so a deep page costs what the first does."""

    x_page: PageOrToken = Field(
        1, alias="x-page", description="Page number (from 1), or the previous answer's x-next-page token"
    )
    x_page_size: int = Field(25, alias="x-page-size", ge=1, le=100, description="Items per page")


PAGE_COUNT_HEADERS = {
    "x-count": "Total number of matching rows",
    "x-page": "This page (from 1)",
    "x-page-size": "Rows per page",
    "x-next-page": "Send as x-page for the next page (absent on the last page)",
}
"""The family B paging headers of every paged answer (``x-page``/``x-page-size`` asked)."""


def total_pages(total: int, size: int) -> int:
    return max(1, math.ceil(total / size)) if total else 1


# --- forms ------------------------------------------------------------------------------------


def nested(data):
    """Form fields named ``address.city`` or ``countries.0.code`` as the nested objects and
    lists a JSON body holds (numbered keys become a list, in order); dotted keys win over a
    plain key of the same name."""
    if not isinstance(data, dict) or not any("." in key for key in data):
        return data
    out: dict = {}
    for key in sorted(data, key=lambda k: "." in k):
        *parents, last = key.split(".")
        node = out
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[last] = data[key]
    return {k: _numbered_as_list(v) for k, v in out.items()}


def _numbered_as_list(node):
    if not isinstance(node, dict):
        return node
    node = {k: _numbered_as_list(v) for k, v in node.items()}
    if node and all(k.isascii() and k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=lambda k: (len(k.lstrip("0")), k.lstrip("0")))]  # numeric order
    return node
