"""Validating data against a declaration: the one place Pydantic's errors become Wharf's
400 (``ValidationFailed`` with ``{path, message, kind}`` details). Used by the operation
declarations for requests and by services that re-read what a business rule changed."""

from __future__ import annotations

import functools

from pydantic import TypeAdapter, ValidationError

from services.errors import ValidationFailed


@functools.cache
def adapter(kind) -> TypeAdapter:
    return TypeAdapter(kind)


def validate(kind, data, where: str = "body"):
    """``data`` as ``kind`` or a 400 listing every problem (path and message)."""
    try:
        return adapter(kind).validate_python(data)
    except ValidationError as e:
        raise ValidationFailed(_summary(e, where), details=details_of(e, where)) from None


def _message(err: dict) -> str:
    return err["msg"].removeprefix("Value error, ")


def details_of(e: ValidationError, where: str = "body") -> list[dict]:
    out = []
    for err in e.errors(include_url=False):
        path = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "constrained-")))]
        message = _message(err)
        required = err["type"] == "missing" or message == "is required"
        out.append({"path": path or [where], "message": message, "kind": "required" if required else "invalid value"})
    return out


def _summary(e: ValidationError, where: str) -> str:
    first = e.errors(include_url=False)[0]
    path = ".".join(str(p) for p in first["loc"]) or where
    more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
    return f"Invalid {where}: {path}: {_message(first)}{more}"
