"""Tenants and the organization tree inside each tenant."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import SoftDeleteMixin, TenantOwnedMixin, TimestampMixin, db


class Tenant(TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(sa.String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Bumped in the same transaction as any ACL, role or membership change of the tenant;
    # every worker compares it with its cached grants on the next request (services.acl).
    acl_version: Mapped[int] = mapped_column(default=0, server_default="0")


class Organization(TenantOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    """A node of a tenant's organization tree.

    ``tree_path`` is the slash-joined chain of ancestor ids ending with this node's id,
    so "all descendants of X" is one prefix query instead of a recursive CTE.
    """

    __tablename__ = "organizations"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "slug"),)

    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(120))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    tree_path: Mapped[str] = mapped_column(sa.String(2000), default="")
    is_active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[Organization | None] = relationship(remote_side="Organization.id")
    tenant: Mapped[Tenant] = relationship()


class TenantFacts:
    """What a principal (user row, API key, session principal) tells about its tenant
    without callers reaching through ``.tenant``: the ACL version its grants are cached
    under and the name the page header shows."""

    @property
    def acl_version(self) -> int:
        return self.tenant.acl_version

    @property
    def tenant_name(self) -> str:
        return self.tenant.name
