"""Roles, their ACLs, API keys and the audit trail of admin-managed records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import SoftDeleteMixin, TenantOwnedMixin, TimestampMixin, db, utcnow
from models.tenancy import Organization, Tenant

if TYPE_CHECKING:  # the owner's model imports this one
    from models.users import User


class Role(TenantOwnedMixin, TimestampMixin, db.Model):
    """A named set of grants. A role without a tenant is global (seed 000: created without
    ``tenantId``): super admins manage it, every tenant may assign it."""

    __tablename__ = "roles"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name"),)

    tenant_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("tenants.id"), index=True, nullable=True)
    name: Mapped[str] = mapped_column(sa.String(120))

    tenant: Mapped[Tenant | None] = relationship()
    acl: Mapped[RoleAcl | None] = relationship(back_populates="role", uselist=False, cascade="all, delete-orphan")


class UserRole(TenantOwnedMixin, db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (sa.UniqueConstraint("user_id", "role_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    role_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("roles.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoleAcl(TenantOwnedMixin, TimestampMixin, db.Model):
    """A role's grants; ``updated_at`` is the optimistic lock of the ACL editor."""

    __tablename__ = "role_acls"
    __table_args__ = (sa.UniqueConstraint("role_id", "tenant_id"),)

    # A global role's ACL has no tenant either: it applies in every tenant.
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("tenants.id"), index=True, nullable=True)
    role_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("roles.id"))
    features: Mapped[list] = mapped_column(sa.JSON, default=list)
    is_super_admin: Mapped[bool] = mapped_column(default=False)
    organizations: Mapped[list | None] = mapped_column(sa.JSON, default=None)

    role: Mapped[Role] = relationship(back_populates="acl")


class ApiKey(TenantOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    """A machine credential. Only ``key_prefix`` and a SHA-256 of the secret are stored."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(1000))
    key_prefix: Mapped[str] = mapped_column(sa.String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("organizations.id"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)

    tenant: Mapped[Tenant] = relationship()
    organization: Mapped[Organization | None] = relationship()
    roles: Mapped[list[Role]] = relationship(secondary="api_key_roles", viewonly=True, order_by="Role.name")
    created_by: Mapped[User | None] = relationship(viewonly=True)  # the owner: the key dies with them


class ApiKeyRole(TenantOwnedMixin, db.Model):
    __tablename__ = "api_key_roles"
    __table_args__ = (sa.UniqueConstraint("api_key_id", "role_id"),)

    api_key_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("api_keys.id"), index=True)
    role_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("roles.id"), index=True)


class AuditLog(TenantOwnedMixin, TimestampMixin, db.Model):
    """One create/edit/delete/assign of an admin-managed record, with before/after snapshots."""

    __tablename__ = "audit_logs"
    __table_args__ = (sa.Index("ix_audit_logs_resource", "resource_kind", "resource_id"),)

    # Global records (toggle definitions) changed by the CLI have no tenant: only super
    # admins, whose scope spans tenants, see those rows.
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("tenants.id"), index=True, nullable=True)

    action_type: Mapped[str] = mapped_column(sa.String(16))
    action_label: Mapped[str | None] = mapped_column(sa.String(200))
    resource_kind: Mapped[str] = mapped_column(sa.String(64))
    resource_id: Mapped[str | None] = mapped_column(sa.String(64))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    actor_api_key_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_name: Mapped[str | None] = mapped_column(sa.String(320))
    snapshot_before: Mapped[dict | None] = mapped_column(sa.JSON, default=None)
    snapshot_after: Mapped[dict | None] = mapped_column(sa.JSON, default=None)
    changes: Mapped[dict | None] = mapped_column(sa.JSON, default=None)
    # Undo (seed 000 …/actions/undo): a secret handle on entries whose record kind has a
    # restorer; ``done`` or ``undone``; ``context`` links an undo's or redo's own entries.
    undo_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True, default=None)
    execution_state: Mapped[str] = mapped_column(sa.String(16), default="done", server_default="done")
    context: Mapped[dict | None] = mapped_column(sa.JSON, default=None)


class AccessLog(TenantOwnedMixin, db.Model):
    """One read of a sensitive record (a user, API key, ACL or audit entry): who read which
    fields of what, and when (seed 000 ``GET /audit_logs/audit-logs/access``)."""

    __tablename__ = "access_logs"
    __table_args__ = (sa.Index("ix_access_logs_resource", "resource_kind", "resource_id"),)

    tenant_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("tenants.id"), index=True, nullable=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    resource_kind: Mapped[str] = mapped_column(sa.String(64))
    resource_id: Mapped[str] = mapped_column(sa.String(64))
    access_type: Mapped[str] = mapped_column(sa.String(16), default="read")
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    actor_api_key_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_name: Mapped[str | None] = mapped_column(sa.String(320))
    fields: Mapped[list] = mapped_column(sa.JSON, default=list)
    context: Mapped[dict | None] = mapped_column(sa.JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
