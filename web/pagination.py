"""List paging for both wire families, with strict parameter parsing (bad values → 400).

Family A (seed 000): query ``page``/``pageSize``/``search``/``sortField``/``sortDir`` →
``{items, total, page, pageSize, totalPages}``.
Family B (seed 001): headers ``x-page``/``x-page-size`` → a bare array plus ``x-count``,
``x-page`` and ``x-next-page`` (a token to send as the next ``x-page``) response headers.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from models import db
from models.base import LIKE_ESCAPE, contains_pattern, newest_first, rows_after
from schemas.base import MAX_PAGE, PageHeaders, PageQuery
from services.errors import ValidationFailed


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    page: int
    page_size: int
    next_token: str | None = None  # family B: the x-next-page token (None on the last page)

    @property
    def total_pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size)) if self.total else 1


def _fetch(stmt: sa.Select, page: int, size: int) -> Page:
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(size).offset((page - 1) * size)))
    return Page(items, total or 0, page, size)


def contains_ci(column, value: str):
    """A list filter: ``column`` contains ``value``, whatever the case (LIKE wildcards escaped)."""
    return sa.func.lower(column).contains(value.lower(), autoescape=True)


def paginate_a(
    stmt: sa.Select,
    *,
    serialize: Callable,
    sort_fields: Mapping[str, sa.ColumnElement],
    default_sort: str,
    default_dir: str = "asc",
    search_columns: Sequence[sa.ColumnElement] = (),
    tiebreak: sa.ColumnElement | None = None,
    query: PageQuery,
) -> tuple[dict, Page]:
    """Apply family A query parameters (the view's declared ``query``, a ``PageQuery``
    whose bounds the route sets) to ``stmt`` and return (body, page). ``tiebreak`` orders
    rows that sort equal, so pages never repeat or skip one."""
    page, size = query.page, query.pageSize
    sort_field = query.sortField or default_sort
    if sort_field not in sort_fields:
        raise ValidationFailed(
            "Invalid sortField", details=[{"path": ["sortField"], "message": f"must be one of {sorted(sort_fields)}"}]
        )
    sort_dir = query.sortDir or default_dir
    search = query.search
    if search and search_columns:
        pattern = contains_pattern(search.lower())
        stmt = stmt.where(sa.or_(*(sa.func.lower(c).like(pattern, escape=LIKE_ESCAPE) for c in search_columns)))
    column = sort_fields[sort_field]
    stmt = stmt.order_by(column.desc() if sort_dir == "desc" else column.asc())
    if tiebreak is not None:
        stmt = stmt.order_by(tiebreak)
    result = _fetch(stmt, page, size)
    body = {
        "items": [serialize(i) for i in result.items],
        "total": result.total,
        "page": result.page,
        "pageSize": result.page_size,
        "totalPages": result.total_pages,
    }
    return body, result


def page_params_b(headers: PageHeaders | None = None) -> tuple[int, int]:
    """``(page, page size)`` of the view's declared ``PageHeaders`` (a token gives the page
    it continues to); without them (a form re-rendered after a refusal) the first page."""
    headers = headers or PageHeaders()
    return page_at(headers.x_page).number, headers.x_page_size


def paginate_list_b(items: list, headers: PageHeaders | None = None) -> tuple[list, dict]:
    """Family-B paging of an already built list (for results assembled in Python)."""
    page, size = page_params_b(headers)
    token = page_token(page + 1) if len(items) > page * size else None
    return items[(page - 1) * size : page * size], headers_b(len(items), page, size, token)


def headers_b(total: int, page: int, size: int, next_token: str | None = None) -> dict:
    """The family B paging headers, with the next page's token unless this is the last page."""
    headers = {"x-count": str(total), "x-page": str(page), "x-page-size": str(size)}
    if next_token:
        headers["x-next-page"] = next_token
    return headers


def paginate_b(
    stmt: sa.Select, *, serialize: Callable, headers: PageHeaders | None = None, keyset: Sequence | None = None
) -> tuple[list, dict, Page]:
    """Apply the declared family B paging headers to ``stmt``; returns (array body,
    response headers, page). With ``keyset`` — columns to order by, descending, the last
    one unique (``newest_first(Model)``) — the answer's ``x-next-page`` token continues
    after this page's last row (an index range, not an OFFSET that reads every row before
    it); without, ``stmt`` keeps its own order and the token names the next page's number."""
    headers = headers or PageHeaders()
    if keyset:
        stmt = stmt.order_by(*(column.desc() for column in keyset))
    at, size = page_at(headers.x_page, keyset), headers.x_page_size
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    if at.after is not None:
        stmt = stmt.where(rows_after(keyset, at.after))
    else:
        stmt = stmt.offset((at.number - 1) * size)
    items = list(db.session.scalars(stmt.limit(size + 1)))
    more, items = len(items) > size, items[:size]
    token = None
    if more:
        token = page_token(at.number + 1, keyset or (), [getattr(items[-1], c.key) for c in keyset or ()])
    result = Page(items, total, at.number, size, token)
    return [serialize(i) for i in items], headers_b(total, at.number, size, token), result


# --- page tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageAt:
    """Where a request's page starts: its number, and the keyset of the row before it
    (None: by OFFSET, from the number)."""

    number: int
    after: tuple | None = None


def page_token(number: int, keyset: Sequence = (), values: Sequence = ()) -> str:
    """The opaque ``x-next-page`` token: the page's number and, on a keyset list, the list's
    table and the keyset values of the row before the page."""
    table = keyset[0].table.name if keyset else ""
    raw = [number, table, *(v.isoformat() if isinstance(v, datetime) else str(v) for v in values)]
    return "k" + base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


def page_at(x_page: int | str, keyset: Sequence | None = None) -> PageAt:
    """The page ``x-page`` asks for: a number, or a token — a keyset token only on a list of
    the same table (any list takes a number's token). A token this list did not answer is a 400."""
    if isinstance(x_page, int):
        return PageAt(x_page)
    try:
        token = x_page[1:]
        number, table, *values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(number, int) or not 1 <= number <= MAX_PAGE or x_page[0] != "k":
            raise ValueError(number)
        if not table and not values:
            return PageAt(number)
        if not keyset or table != keyset[0].table.name or len(values) != len(keyset):
            raise ValueError(table)
        return PageAt(number, tuple(_typed(column, value) for column, value in zip(keyset, values, strict=True)))
    except (ValueError, TypeError, UnicodeDecodeError):
        message = "x-page is not a page number or a page token this list answered"
        raise ValidationFailed(message, details=[{"path": ["x-page"], "message": message}]) from None


def _typed(column, value):
    if not isinstance(value, str):
        raise TypeError(value)
    kind = column.type.python_type
    if kind is datetime:
        return datetime.fromisoformat(value)
    return kind(value)


def paginate_cursor(stmt: sa.Select, model, *, token: str | None, size: int) -> tuple[list, str | None]:
    """Keyset paging without a count, newest first by ``(created_at, id)``: the page after
    ``token`` and the token of the next page (None on the last). Stable while rows are
    added, unlike an offset."""
    keyset = newest_first(model)
    stmt = stmt.order_by(*(column.desc() for column in keyset))
    at = page_at(token, keyset) if token else PageAt(1)
    if at.after is not None:
        stmt = stmt.where(rows_after(keyset, at.after))
    rows = list(db.session.scalars(stmt.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return rows, (page_token(at.number + 1, keyset, [getattr(rows[-1], c.key) for c in keyset]) if more else None)
