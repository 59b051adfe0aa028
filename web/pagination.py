"""List paging for both wire families, with strict parameter parsing (bad values → 400).

Family A (seed 000): query ``page``/``pageSize``/``search``/``sortField``/``sortDir`` →
``{items, total, page, pageSize, totalPages}``.
Family B (seed 001): headers ``x-page``/``x-page-size`` → a bare array plus ``x-count``
and ``x-page`` response headers.
"""

from __future__ import annotations

import base64
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from models import db
from models.base import LIKE_ESCAPE, contains_pattern
from schemas.base import PageHeaders, PageQuery
from services.errors import ValidationFailed


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    page: int
    page_size: int

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
    """``(page, page size)`` of the view's declared ``PageHeaders``; without them (a form
    re-rendered after a refusal) the first page."""
    headers = headers or PageHeaders()
    return headers.x_page, headers.x_page_size


def paginate_list_b(items: list, headers: PageHeaders | None = None) -> tuple[list, dict]:
    """Family-B paging of an already built list (for results assembled in Python)."""
    page, size = page_params_b(headers)
    return items[(page - 1) * size : page * size], headers_b(len(items), page, size)


def headers_b(total: int, page: int, size: int) -> dict:
    return {"x-count": str(total), "x-page": str(page), "x-page-size": str(size)}


def paginate_b(stmt: sa.Select, *, serialize: Callable, headers: PageHeaders | None = None) -> tuple[list, dict, Page]:
    """Apply the declared family B paging headers to ``stmt``; returns (array body,
    response headers, page)."""
    page, size = page_params_b(headers)
    result = _fetch(stmt, page, size)
    headers = headers_b(result.total, result.page, result.page_size)
    return [serialize(i) for i in result.items], headers, result


def paginate_cursor(stmt: sa.Select, model, *, token: str | None, size: int) -> tuple[list, str | None]:
    """Keyset paging, newest first, by ``(created_at, id)``: the page after ``token`` and the
    token of the next page (None on the last). Stable while rows are added, unlike an offset."""
    stmt = stmt.order_by(model.created_at.desc(), model.id.desc())
    if token:
        created_at, row_id = _read_cursor(token)
        stmt = stmt.where(
            sa.or_(model.created_at < created_at, sa.and_(model.created_at == created_at, model.id < row_id))
        )
    rows = list(db.session.scalars(stmt.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return rows, (_cursor(rows[-1]) if more else None)


def _cursor(row) -> str:
    return base64.urlsafe_b64encode(f"{row.created_at.isoformat()}|{row.id}".encode()).decode().rstrip("=")


def _read_cursor(token: str):
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        when, _, row_id = raw.partition("|")
        return datetime.fromisoformat(when), uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError):
        message = "x-page is not a page token this list answered"
        raise ValidationFailed(message, details=[{"path": ["x-page"], "message": message}]) from None
