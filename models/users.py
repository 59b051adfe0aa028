"""Users, their ACL override, their sign-in sessions (and used refresh tokens), password resets and
throttling records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import SoftDeleteMixin, TenantOwnedMixin, TimestampMixin, db, utcnow
from models.tenancy import Organization, Tenant, TenantFacts

if TYPE_CHECKING:
    from models.acl import Role


class User(TenantFacts, TenantOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "users"
    # Emails are stored lower-cased, which makes this constraint case-insensitive.
    __table_args__ = (sa.UniqueConstraint("tenant_id", "email"),)

    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("organizations.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    # Sound and vibration on every scan at a station (the tenant's lcs.scan.sound toggle must allow too).
    scan_feedback: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The language of this person's pages (web/i18n.py: a code of LOCALES); None follows the
    # browser's cookie or Accept-Language.
    locale: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    # Where this person's labels print when no pack station is bound to the session.
    default_printer_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("spl_printers.id"), default=None)

    tenant: Mapped[Tenant] = relationship()
    organization: Mapped[Organization | None] = relationship()
    roles: Mapped[list[Role]] = relationship(secondary="user_roles", viewonly=True, order_by="Role.name")
    acl: Mapped[UserAcl | None] = relationship(
        primaryjoin="and_(UserAcl.user_id == User.id, UserAcl.tenant_id == User.tenant_id)",
        viewonly=True,
        uselist=False,
    )

    # Flask-Login protocol. The session also carries an AuthSession id (see services.auth).
    is_authenticated = True
    is_anonymous = False
    is_api_key = False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def user(self) -> User:
        """Itself (a ``SessionPrincipal`` answers with the row it stands for)."""
        return self


class UserAcl(TenantOwnedMixin, TimestampMixin, db.Model):
    """Per-user permission override; when present it replaces the user's role ACLs."""

    __tablename__ = "user_acls"
    __table_args__ = (sa.UniqueConstraint("user_id", "tenant_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    features: Mapped[list] = mapped_column(sa.JSON, default=list)
    is_super_admin: Mapped[bool] = mapped_column(default=False)
    organizations: Mapped[list | None] = mapped_column(sa.JSON, default=None)


class AuthSession(TimestampMixin, db.Model):
    """One sign-in: a browser session or an API login (which also owns a refresh token:
    ``refresh_token_hash`` is the current one, each use replaces it).

    Browser cookies and access tokens carry this id, so logging out or revoking it ends
    every credential minted from that sign-in, in every worker process.
    """

    __tablename__ = "auth_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # "browser" | "api"
    refresh_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    # The organization this sign-in works in (seed 000 organization switcher): an id, "all",
    # or NULL for the default (services/organization_scope.py).
    selected_organization: Mapped[str | None] = mapped_column(sa.String(36), default=None)

    user: Mapped[User] = relationship()

    def is_live(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        expires = self.expires_at if self.expires_at.tzinfo else self.expires_at.replace(tzinfo=now.tzinfo)
        return self.revoked_at is None and expires > now


class UsedRefreshToken(db.Model):
    """A refresh token already exchanged for the next one (as its SHA-256), kept as long as
    its session. Tokens rotate on every use, so one presented again means two parties hold
    it — the client and a thief — and the whole sign-in is revoked (see services.auth)."""

    __tablename__ = "used_refresh_tokens"

    session_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("auth_sessions.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginAttempt(db.Model):
    """A throttled event, kept for its throttling window (shared by all workers via the DB).

    ``kind`` says which throttle counts it: ``"login"`` (a failed sign-in, per email+IP),
    ``"reset"`` (a password-reset request, per IP and per email+IP, known address or not)
    or ``"reset_confirm"`` (a reset link or token that did not check out, per IP).
    """

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.Index("ix_login_attempts_email_ip_at", "email", "ip", "created_at"),
        sa.Index("ix_login_attempts_kind_ip_at", "kind", "ip", "created_at"),
    )

    kind: Mapped[str] = mapped_column(sa.String(16), default="login", server_default="login")
    email: Mapped[str] = mapped_column(sa.String(320))
    ip: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PasswordReset(TimestampMixin, db.Model):
    """A single-use password-reset token. Only its SHA-256 is stored; the secret exists in
    the emailed link alone. ``used_at`` is set when it is redeemed, or when another of the
    user's tokens is (which voids every other outstanding one)."""

    __tablename__ = "password_resets"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    requested_ip: Mapped[str | None] = mapped_column(sa.String(64))

    user: Mapped[User] = relationship()
