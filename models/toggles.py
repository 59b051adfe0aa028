"""Feature toggles (global definitions), per-tenant overrides, and cache version stamps."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import SoftDeleteMixin, TenantOwnedMixin, TimestampMixin, db
from models.tenancy import Tenant


class FeatureToggle(TimestampMixin, SoftDeleteMixin, db.Model):
    """A global toggle. Soft-deleted rows keep their identifier reserved (unique index)."""

    __tablename__ = "feature_toggles"

    identifier: Mapped[str] = mapped_column(sa.String(120), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(1000))
    category: Mapped[str | None] = mapped_column(sa.String(120))
    type: Mapped[str] = mapped_column(sa.String(16))  # boolean | string | number | json
    default_value: Mapped[object | None] = mapped_column(sa.JSON, default=None)
    # Later phase (gradual rollout of boolean toggles, stable per user id); carried, unused.
    rollout_percentage: Mapped[int | None] = mapped_column(default=None)


class FeatureToggleOverride(TenantOwnedMixin, TimestampMixin, db.Model):
    """A tenant's value for a toggle; no row means the tenant inherits the default."""

    __tablename__ = "feature_toggle_overrides"
    __table_args__ = (sa.UniqueConstraint("toggle_id", "tenant_id"),)

    toggle_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("feature_toggles.id"), index=True)
    value: Mapped[object | None] = mapped_column(sa.JSON, default=None)

    toggle: Mapped[FeatureToggle] = relationship()
    tenant: Mapped[Tenant] = relationship()


class CacheVersion(db.Model):
    """A named version stamp. Writers bump it in their transaction; every process compares
    it with what its in-memory cache was built from (see services/cache_versions.py)."""

    __tablename__ = "cache_versions"

    id = None  # keyed by name, not by a UUID
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
