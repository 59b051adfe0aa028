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
    """What a caller may see: one tenant (``None`` = every tenant, for super admins only)
    and optionally a set of organizations (``None`` = all of them)."""

    tenant_id: uuid.UUID | None
    organization_ids: frozenset[uuid.UUID] | None = None  # None = every organization

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
        return stmt

    def get(self, model, record_id, what: str | None = None) -> object:
        """The record with this id in scope, or ``NotFound`` (also for malformed ids);
        ``what`` names it in the message ("Parcel not found")."""
        try:
            key = record_id if isinstance(record_id, uuid.UUID) else uuid.UUID(str(record_id))
        except (ValueError, TypeError, AttributeError):
            raise NotFound(f"{what or model.__name__} not found") from None
        found = db.session.scalars(self.select(model).where(model.id == key)).first()
        if found is None:
            raise NotFound(f"{what or model.__name__} not found")
        return found

    def add(self, record):
        """Stamp a new record with this scope's tenant (unless already set) and stage it."""
        if record.tenant_id is None:
            if self.tenant_id is None:
                raise ValueError("an all-tenant scope cannot choose a tenant for a new record")
            record.tenant_id = self.tenant_id
        db.session.add(record)
        return record
