"""Object-level permissions (seed 002 ``givenPermissions``) and user groups.

A feature grant (role or user ACL) says what a caller may do everywhere; a ``GivenPermission``
names one record and says ``canDo`` there: a deny carves that record out of a feature the
subject holds, an allow opens it to a subject that does not hold the feature anywhere.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import SoftDeleteMixin, TenantOwnedMixin, TimestampMixin, db, utcnow


class UserGroup(TenantOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    """A named set of users of one tenant: object grants given to a group reach its members."""

    __tablename__ = "user_groups"

    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str | None] = mapped_column(sa.String(1000), default=None)

    members: Mapped[list[UserGroupMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="UserGroupMember.created_at"
    )


class UserGroupMember(TenantOwnedMixin, db.Model):
    __tablename__ = "user_group_members"
    __table_args__ = (sa.UniqueConstraint("group_id", "user_id"),)

    group_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("user_groups.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    group: Mapped[UserGroup] = relationship(back_populates="members")


class GivenPermission(TenantOwnedMixin, db.Model):
    """One object grant: ``permission_name`` (a declared feature) on ``object_id`` (a record of
    ``object_kind``) for exactly one subject — a role, a user or a user group.

    ``subject_key`` ("role:<id>", "user:<id>", "group:<id>") makes "one grant per subject,
    feature and object" a plain unique constraint (NULLs never collide in one).
    """

    __tablename__ = "given_permissions"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "permission_name", "subject_key", "object_id"),
        sa.CheckConstraint(
            "(CASE WHEN role_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN subject_user_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN subject_user_group_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_subject",
        ),
        sa.Index("ix_given_permissions_object", "object_id"),
    )

    permission_name: Mapped[str] = mapped_column(sa.String(128))
    role_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("roles.id"), index=True, default=None)
    subject_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"), index=True, default=None)
    subject_user_group_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("user_groups.id"), index=True, default=None
    )
    subject_key: Mapped[str] = mapped_column(sa.String(48))
    object_id: Mapped[uuid.UUID]
    object_kind: Mapped[str] = mapped_column(sa.String(32))
    can_do: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
