"""The seed-001 search body: ``{"constraints": [{"key", "operator", "values"|"value"}]}``.

One parser for every ``POST …/search`` endpoint: each endpoint passes the keys it
supports and how each maps to SQL; unknown keys, operators or malformed values are a 400.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from services.errors import ValidationFailed

OPERATORS = ("in", "not_in", "gt", "gte", "lt", "lte", "prefix")  # the seed's set
TRUE, FALSE = ("true", "1"), ("false", "0")


def _bad(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"Invalid constraint: {path} {message}", details=[{"path": [path], "message": message}])


@dataclass(frozen=True)
class Field:
    """How a constraint key filters: ``column`` compared to the values, or ``build`` for
    anything else (e.g. a derived flag: ``build(bool) -> SQL condition``)."""

    column: sa.ColumnElement | None = None
    kind: str = "text"  # text | bool | int | uuid | datetime
    build: Callable | None = None


def parse_constraints(body) -> list[tuple[str, str, list[str]]]:
    if body is None:
        return []
    if not isinstance(body, dict):
        raise _bad("body", "must be a JSON object")
    constraints = body.get("constraints", [])
    if not isinstance(constraints, list):
        raise _bad("constraints", "must be a list")
    out = []
    for i, c in enumerate(constraints):
        if not isinstance(c, dict) or not isinstance(c.get("key"), str):
            raise _bad(f"constraints.{i}.key", "is required")
        operator = (c.get("operator") or "in").lower()
        if operator not in OPERATORS:
            raise _bad(f"constraints.{i}.operator", f"must be one of {', '.join(OPERATORS)}")
        raw = c["values"] if "values" in c else c.get("value")
        values = raw if isinstance(raw, list) else [raw]
        if not values or any(v is None or isinstance(v, (dict, list)) for v in values):
            raise _bad(f"constraints.{i}.values", "must be one or more strings")
        out.append((c["key"], operator, [str(v).lower() if isinstance(v, bool) else str(v) for v in values]))
    return out


def _convert(kind: str, value: str, path: str):
    if kind == "bool":
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        raise _bad(path, "must be true/false/1/0")
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            raise _bad(path, "must be an integer") from None
    if kind == "uuid":
        import uuid
        try:
            return uuid.UUID(value)
        except ValueError:
            raise _bad(path, "must be a UUID") from None
    if kind == "datetime":
        from services.audit_query import parse_timestamp
        return parse_timestamp(value, path)
    return value


def apply_constraints(stmt: sa.Select, body, fields: Mapping[str, Field]) -> sa.Select:
    for i, (key, operator, values) in enumerate(parse_constraints(body)):
        spec = fields.get(key)
        path = f"constraints.{i}"
        if spec is None:
            raise _bad(f"{path}.key", f"unknown key '{key}' (supported: {', '.join(sorted(fields))})")
        converted = [_convert(spec.kind, v, f"{path}.values") for v in values]
        if spec.build is not None:
            if operator not in ("in", "not_in"):
                raise _bad(f"{path}.operator", f"'{key}' supports only in and not_in")
            conditions = [spec.build(v) for v in converted]
            clause = sa.or_(*conditions)
            stmt = stmt.where(sa.not_(clause) if operator == "not_in" else clause)
            continue
        col = spec.column
        if operator == "in":
            stmt = stmt.where(col.in_(converted))
        elif operator == "not_in":
            stmt = stmt.where(col.not_in(converted))
        elif operator == "prefix":
            stmt = stmt.where(sa.or_(*(col.startswith(str(v), autoescape=True) for v in converted)))
        else:
            compare = {"gte": col.__ge__, "lte": col.__le__, "gt": col.__gt__, "lt": col.__lt__}[operator]
            stmt = stmt.where(compare(converted[0]))
    return stmt
