"""The seed-001 search constraints as SQL.

One function for every ``POST …/search`` endpoint. The endpoint's constraint model
(``schemas.lcs_search.SearchConstraint`` narrowed to its keys) has checked the shape:
known key, known operator, one or more string values. Here each key maps to a column
(or a condition builder) of a type, and its values are read as that type: a value that
is not one (``"maybe"`` for a flag, ``"x"`` for an id) is a 400 naming the constraint.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from services.errors import ValidationFailed

TRUE, FALSE = ("true", "1"), ("false", "0")
INT_RANGE = (-(2**31), 2**31 - 1)  # an INTEGER column


@dataclass(frozen=True)
class Field:
    """How a constraint key filters: ``column`` compared to the values, or ``build`` for
    anything else (e.g. a derived flag: ``build(bool) -> SQL condition``)."""

    column: sa.ColumnElement | None = None
    kind: str = "text"  # text | bool | int | uuid | datetime
    build: Callable | None = None


def _bad(path: list, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"Invalid constraint: {'.'.join(map(str, path))} {message}", details=[{"path": path, "message": message}]
    )


def _typed(kind: str, value: str):
    """``value`` as ``kind``; ValueError names what it must be."""
    if kind == "bool":
        if value.lower() in TRUE + FALSE:
            return value.lower() in TRUE
        raise ValueError("must be true/false/1/0")
    if kind == "uuid":
        try:
            return uuid.UUID(value)
        except ValueError:
            raise ValueError("must be UUIDs") from None
    if kind == "int":
        try:
            number = int(value)
        except ValueError:
            raise ValueError("must be integers") from None
        if not INT_RANGE[0] <= number <= INT_RANGE[1]:
            raise ValueError("are out of range")
        return number
    if kind == "datetime":
        try:
            parsed = datetime.fromisoformat(value)
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            raise ValueError("must be ISO-8601 date-times") from None
    return value


def apply_constraints(stmt: sa.Select, constraints: Iterable, fields: Mapping[str, Field]) -> sa.Select:
    """``stmt`` narrowed by every constraint (``SearchConstraint``s: they all hold). The
    constraint model admits only the keys of ``fields``."""
    for i, c in enumerate(constraints):
        spec = fields[c.key]
        try:
            values = [_typed(spec.kind, v) for v in c.values]
        except ValueError as e:
            raise _bad(["constraints", i, "values"], str(e)) from None
        if spec.build is not None and c.operator not in ("in", "not_in"):
            raise _bad(["constraints", i, "operator"], f"'{c.key}' supports only in and not_in")
        if c.operator == "prefix" and spec.kind != "text":
            raise _bad(["constraints", i, "operator"], f"prefix compares text; '{c.key}' is not text")
        if spec.build is not None:
            clause = sa.or_(*(spec.build(v) for v in values))
            stmt = stmt.where(sa.not_(clause) if c.operator == "not_in" else clause)
            continue
        col = spec.column
        if c.operator == "in":
            stmt = stmt.where(col.in_(values))
        elif c.operator == "not_in":
            stmt = stmt.where(col.not_in(values))
        elif c.operator == "prefix":
            stmt = stmt.where(sa.or_(*(col.startswith(v, autoescape=True) for v in values)))
        else:
            compare = {"gte": col.__ge__, "lte": col.__le__, "gt": col.__gt__, "lt": col.__lt__}[c.operator]
            stmt = stmt.where(compare(values[0]))
    return stmt
