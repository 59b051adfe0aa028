"""One declaration per operation: its body, query, headers and responses as Pydantic models.

``@operation(body=..., query=..., headers=..., responses={...})`` on a view is the whole
contract of that operation. The same declaration

- reads and validates the request (JSON, a form post or a multipart upload), and hands
  the view typed input as keyword arguments ``body``, ``query`` and ``headers``;
- turns every validation failure into a 400 in the module's error envelope (never a 500:
  the JSON decoder refuses deep nesting, lone surrogates and non-finite numbers, ``Text``
  refuses control characters that a database cannot store);
- generates the operation in the OpenAPI 3.1 document (``web.openapi``), whose schemas
  are these models' JSON Schema (2020-12, OpenAPI 3.1's own schema language);
- in tests, checks every JSON answer against the declared response model.

Models are named after the seed's schemas where the seed has one.
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from flask import current_app, request
from pydantic import BaseModel, ValidationError

from models import db
from schemas.base import Binary
from schemas.validation import adapter, details_of, validate  # noqa: F401  (views import them from here)
from services.errors import DomainError, ValidationFailed
from web.negotiate import response_mode

# --- the declaration ------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    model: Any = None  # a model or type; None = no body; schemas.base.Binary = a file
    description: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # name -> description
    media_type: str = "application/json"


@dataclass(frozen=True)
class Operation:
    body: Any = None
    query: type[BaseModel] | None = None
    headers: type[BaseModel] | None = None
    responses: dict[int, Response] = field(default_factory=dict)
    media_types: tuple[str, ...] = ("application/json",)  # what the route reads
    documented_media: tuple[str, ...] = ("application/json",)  # what the document offers clients
    summary: str | None = None
    examples: dict[str, Any] = field(default_factory=dict)  # request examples by name
    form_error: Any = None  # (error, submitted) -> response, for people (not JSON clients)
    body_required: bool = True  # False: an empty body is no body (the view gets None)


FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def operation(
    *,
    body=None,
    query=None,
    headers=None,
    responses=None,
    forms: bool = True,
    seed_form: bool = False,
    json: bool = True,
    multipart: bool = False,
    summary: str | None = None,
    examples: dict | None = None,
    form_error=None,
    body_required: bool = True,
):
    """Declare a view's input and output once. ``responses`` maps status codes to a model,
    ``None`` (no body) or a ``Response``. ``forms`` also accepts the body as a form post
    (people's browsers); the document offers clients JSON, plus the form encoding only
    where the seed uses it (``seed_form``: sign-in, reset) — a generated client must not
    send a nested body as a form. ``multipart`` for file uploads (``json=False`` where a
    file cannot come as JSON).

    ``form_error(error, submitted)`` answers a person whose form was refused — invalid
    input or a domain error of the view — usually the form again with the messages and
    what they typed; the transaction is rolled back first. JSON clients always get the
    error envelope."""
    media = (
        (("application/json",) if json else ())
        + ((FORM,) if forms or seed_form else ())
        + ((MULTIPART,) if multipart else ())
    )
    documented = (
        (("application/json",) if json else ()) + ((MULTIPART,) if multipart else ()) + ((FORM,) if seed_form else ())
    )
    declared = {int(status): r if isinstance(r, Response) else Response(r) for status, r in (responses or {}).items()}
    spec = Operation(
        body, query, headers, declared, media, documented, summary, examples or {}, form_error, body_required
    )

    def mark(view):
        @functools.wraps(view)
        def run(*args, **kwargs):
            try:
                if spec.query is not None:
                    kwargs["query"] = validate(spec.query, query_args(spec.query), "query")
                if spec.headers is not None:
                    kwargs["headers"] = validate(spec.headers, request_headers(spec.headers), "header")
                if spec.body is not None:
                    kwargs["body"] = read_body(spec)
                return view(*args, **kwargs)
            except DomainError as e:
                if spec.form_error is None or response_mode() == "json":
                    raise
                db.session.rollback()
                return spec.form_error(e, submitted())

        run._operation = spec
        return run

    return mark


def operation_of(view) -> Operation | None:
    return getattr(view, "_operation", None)


# --- reading the request ------------------------------------------------------------------


def json_body() -> Any:
    """The parsed JSON body (orjson: depth ≤ 1024, no lone surrogates, finite numbers)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise ValidationFailed(
            "Request body is empty: send a JSON document",
            details=[{"path": ["body"], "message": "is required", "kind": "required"}],
        )
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise ValidationFailed(
            f"Malformed JSON: {e}", details=[{"path": ["body"], "message": "is not valid JSON"}]
        ) from None


def read_body(spec: Operation):
    mimetype = request.mimetype
    if (
        not spec.body_required
        and not request.get_data(cache=True, parse_form_data=True).strip()
        and not request.form
        and not request.files
    ):
        return None  # an optional body not sent (htmx sends a DELETE's empty form)
    if mimetype in (FORM, MULTIPART) and mimetype in spec.media_types:
        data = _multi(request.form, spec.body)
        if mimetype == MULTIPART:
            data.update(_files(spec.body))
        return validate(spec.body, data)
    empty = not request.get_data(cache=True).strip()
    if (
        mimetype == "application/json"
        or mimetype.endswith("+json")
        or empty
        or "application/json" in spec.media_types
        and mimetype in ("", "text/plain")
    ):
        return validate(spec.body, json_body())
    raise ValidationFailed(
        f"Unsupported content type {mimetype or '(none)'}: send " + " or ".join(spec.media_types),
        details=[{"path": ["body"], "message": "unsupported content type"}],
    )


def _files(kind) -> dict:
    """The file parts of a multipart body: an empty file input is "not sent"; list fields
    take every part of their name."""
    lists = _fields_of(kind, _is_list)
    out: dict = {}
    for key in request.files:
        if not isinstance(key, str):
            continue  # a part without a name
        parts = [f for f in request.files.getlist(key) if f.filename]
        name = key.removesuffix("[]")
        if parts:
            out[name] = parts if name in lists else parts[-1]
    return out


def _is_list(annotation) -> bool:
    return typing.get_origin(annotation) in (list, tuple, set) or annotation in (list, tuple, set)


def _shape(annotation):
    """The core of an annotation: Annotated and Optional unwrapped (``list[str] | None`` → list)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            rest = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation


def _fields_of(kind, test) -> set[str]:
    if not (isinstance(kind, type) and issubclass(kind, BaseModel)):
        return set()
    return {f.alias or n for n, f in kind.model_fields.items() if test(_shape(f.annotation))}


def _multi(values, kind) -> dict:
    """A query string or form as a dict: list fields take every value (``key`` or
    ``key[]``), others the last one (a hidden "false" before a checkbox); an empty value
    is "not sent" except for text fields."""
    lists = _fields_of(kind, _is_list)
    texts = _fields_of(kind, lambda a: a is str)
    out: dict = {}
    for key in values:
        if not isinstance(key, str) or key == "csrf_token":
            continue  # a multipart part without a name; the session's CSRF token
        name = key.removesuffix("[]")
        got = values.getlist(key)
        if name in lists:
            out.setdefault(name, []).extend(v for v in got if v != "")
        elif got and (got[-1] != "" or name in texts):
            out[name] = got[-1]
    return out


def submitted() -> dict:
    """What a person's form sent, to show it again (repeated fields as lists)."""
    return {
        k.removesuffix("[]"): (v if len(v) > 1 or k.endswith("[]") else v[0])
        for k, v in request.form.lists()
        if isinstance(k, str) and k != "csrf_token"
    }


def query_args(kind) -> dict:
    return _multi(request.args, kind)


def request_headers(kind: type[BaseModel]) -> dict:
    """Declared headers, matched case-insensitively (fields use their lower-case names)."""
    out = {}
    for name, f in kind.model_fields.items():
        key = f.alias or name
        if key in request.headers:
            out[key] = request.headers[key]
    return out


# --- checking answers (tests) ---------------------------------------------------------------


def check_response(spec: Operation, status: int, payload: bytes) -> str | None:
    """Why a JSON answer does not match its declaration, or None. Used when
    ``CHECK_RESPONSES`` is on (the test suite), so no code path drifts from the document."""
    declared = spec.responses.get(status)
    if declared is None:
        if status >= 400 or status == 304:
            return None  # the error envelopes are checked by their own tests
        return f"status {status} is not declared"
    if declared.model is None:
        return None if not payload else f"status {status} is declared without a body"
    if declared.model is Binary:
        return None
    try:
        adapter(declared.model).validate_json(payload)
    except ValidationError as e:
        return f"status {status} does not match {getattr(declared.model, '__name__', declared.model)}: {e}"
    return None


def init_contract(app) -> None:
    """With ``CHECK_RESPONSES`` (the test suite), every JSON answer of a declared
    operation is checked against its declaration: a mismatch is a loud failure."""
    if not app.config.get("CHECK_RESPONSES"):
        return

    @app.after_request
    def _check(response):
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        spec = operation_of(view) if view is not None else None
        if spec is None or response.mimetype != "application/json" or response.direct_passthrough:
            return response
        problem = check_response(spec, response.status_code, response.get_data())
        if problem:
            raise AssertionError(f"{request.method} {request.path}: {problem}")
        return response
