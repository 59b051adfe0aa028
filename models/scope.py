"""The one scoping helper: every query of tenant-owned data goes through a ``Scope``.

A record of another tenant (or outside the caller's organizations, or soft-deleted) is
simply not found, which the error layer renders as 404 — never 403, never a leak.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from models.base import TenantOwnedMixin, db
from services.errors import NotFound


@dataclass(frozen=True)
class Scope:
    """What a caller may see: one tenant (``None`` = every tenant, for super admins only),
    optionally a set of organizations (``None`` = all of them), and the object-level
    exceptions of the features it acts with."""

    tenant_id: uuid.UUID | None
    organization_ids: frozenset[uuid.UUID] | None = None  # None = every organization
    # Object-level exceptions of the route's features (services.object_permissions.Restriction):
    # anything with ``clause_for(model) -> WHERE clause | None``.
    objects: object | None = None

    def __post_init__(self):
        if self.tenant_id is not None and not isinstance(self.tenant_id, uuid.UUID):
            object.__setattr__(self, "tenant_id", uuid.UUID(str(self.tenant_id)))

    def select(self, model, *, include_deleted: bool = False) -> sa.Select:
        """``SELECT model`` limited to this tenant, its visible organizations, and live rows."""
        if not issubclass(model, TenantOwnedMixin):
            raise TypeError(f"{model.__name__} is not tenant-owned")
        stmt = sa.select(model)
        if self.tenant_id is not None:
            stmt = stmt.where(model.tenant_id == self.tenant_id)
        if not include_deleted and hasattr(model, "deleted_at"):
            stmt = stmt.where(model.deleted_at.is_(None))
        if self.organization_ids is not None and hasattr(model, "organization_id"):
            # Records outside any organization (tenant-wide) stay visible.
            stmt = stmt.where(sa.or_(model.organization_id.in_(self.organization_ids), model.organization_id.is_(None)))
        if self.objects is not None and (clause := self.objects.clause_for(model)) is not None:
            stmt = stmt.where(clause)
        return stmt

    def restricts(self, model) -> bool:
        """Whether object-level exceptions narrow ``model`` (counts kept aside are then wrong)."""
        return self.objects is not None and self.objects.clause_for(model) is not None

    def get(self, model, record_id, what: str | None = None, *, options: tuple = ()) -> object:
        """The record with this id in scope, or ``NotFound`` (see ``get_visible``)."""
        return get_visible(self, model, record_id, what, options=options)

    def add(self, record):
        """Stamp a new record with this scope's tenant (unless already set) and stage it."""
        if record.tenant_id is None:
            if self.tenant_id is None:
                raise ValueError("an all-tenant scope cannot choose a tenant for a new record")
            record.tenant_id = self.tenant_id
        db.session.add(record)
        return record


def select_by_id(visible: Scope | sa.Select, model, record_id, what: str | None = None) -> sa.Select:
    """``visible`` narrowed to the record with this id. ``visible`` is a ``Scope`` or, for
    records no tenant owns or with visibility rules of their own, a single-table select of
    what the caller may see. A malformed id names no record: ``NotFound``, not a 400."""
    try:
        key = record_id if isinstance(record_id, uuid.UUID) else uuid.UUID(str(record_id))
    except (ValueError, TypeError, AttributeError):
        raise not_found(model, what) from None
    return (visible if isinstance(visible, sa.Select) else visible.select(model)).where(model.id == key)


def get_visible(visible: Scope | sa.Select, model, record_id, what: str | None = None, *, options: tuple = ()):
    """The record with this id among ``visible`` (see ``select_by_id``), else ``NotFound``;
    ``options`` load more with it (a collection joined into the same statement)."""
    stmt = select_by_id(visible, model, record_id, what)
    found = db.session.scalars(stmt.options(*options)).unique().first() if options else db.session.scalars(stmt).first()
    if found is None:
        raise not_found(model, what)
    return found


def not_found(model, what: str | None = None) -> NotFound:
    """The 404 of a record not in scope; ``what`` names it in the message ("Parcel not found")."""
    return NotFound(f"{what or model.__name__} not found")
