"""Account operations on the signed-in user's own record."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from models import AuthSession, Organization, Scope, Tenant, User, UserAcl, db, utcnow
from services import acl, auth, password_reset
from services.acl import bump_acl_version
from services.commands import command
from services.errors import Conflict, NotFound, ValidationFailed
from services.roles import seed_default_roles

LOCALES = {"en": "English", "nl": "Nederlands"}
"""The languages Wharf's pages are shipped in (code → its own name, as the menu shows it);
a catalog per code under ``translations/`` except English, the source language."""
DEFAULT_LOCALE = "en"


def profile_of(user: User) -> dict:
    """The signed-in user's own record; an API key has none (404, as in the seed)."""
    if getattr(user, "is_api_key", False):
        raise NotFound("User not found")
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "roles": [r.name for r in user.roles],
        "tenantId": user.tenant_id,
        "tenantName": user.tenant.name,
        "organizationId": user.organization_id,
        "isSuperAdmin": acl.grants_for(user).is_super_admin,
        "lastLoginAt": user.last_login_at,
        "scanFeedback": user.scan_feedback,
        "locale": user.locale,
    }


@command("Email already in use")
def update_profile(
    user: User,
    *,
    name: str | None = None,
    email: str | None = None,
    password: str | None = None,
    current_password: str | None = None,
    scan_feedback: bool | None = None,
    locale: str | None = None,
    keep_session_id=None,
) -> User:
    """Change name, email, password, the scan-feedback switch or the language (a code of
    ``LOCALES``); email and password need the current password.

    A new password signs out every other session of the user and voids the reset links
    mailed before it. One transaction.
    """
    changing_secret = (email and email != user.email) or password
    if changing_secret and not (current_password and auth.verify_password(user, current_password)):
        raise ValidationFailed(
            "Current password is incorrect", details=[{"path": ["currentPassword"], "message": "is incorrect"}]
        )
    if email and email != user.email:
        # Soft-deleted users keep their email reserved (the unique constraint still sees them).
        same_email = (
            Scope(user.tenant_id).select(User, include_deleted=True).where(User.email == email, User.id != user.id)
        )
        if db.session.scalars(same_email).first() is not None:
            raise Conflict("Email already in use")
        user.email = email
        password_reset.void_outstanding(user.id)  # a link mailed to the old address dies
    if password:
        user.password_hash = auth.hash_password(password)
        password_reset.void_outstanding(user.id)
        db.session.execute(
            sa.update(AuthSession)
            .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None), AuthSession.id != keep_session_id)
            .values(revoked_at=utcnow())
        )
    if name is not None:
        user.name = name
    if scan_feedback is not None:
        user.scan_feedback = scan_feedback
    if locale is not None:
        user.locale = locale
    return user


def create_tenant(name: str) -> Tenant:
    """A tenant with its default roles (Administrator, Warehouse staff). Flushes, no commit."""
    tenant = Tenant(name=name.strip())
    db.session.add(tenant)
    db.session.flush()
    seed_default_roles(tenant.id)
    return tenant


def create_organization(scope: Scope, name: str, slug: str, parent: Organization | None = None) -> Organization:
    """A node of the tenant's tree; ``tree_path`` is the parent's path plus this id."""
    org = scope.add(Organization(id=uuid.uuid4(), name=name, slug=slug, parent_id=parent.id if parent else None))
    org.tree_path = f"{parent.tree_path}/{org.id}" if parent else str(org.id)
    bump_acl_version(scope.tenant_id)  # organization grants cover subtrees: this one may join one
    db.session.flush()
    return org


def create_user(
    scope: Scope,
    *,
    email: str,
    password: str,
    name: str = "",
    organization: Organization | None = None,
    super_admin: bool = False,
) -> User:
    """A user of ``scope``'s tenant (email unique per tenant, case-insensitive). Flushes, no commit."""
    email = auth.normalize_email(email)
    if not auth.is_email(email):
        raise ValidationFailed("Invalid email", details=[{"path": ["email"], "message": "must be an email address"}])
    auth.check_password_strength(password)
    if db.session.scalars(scope.select(User, include_deleted=True).where(User.email == email)).first():
        raise Conflict("A user with this email already exists in the tenant")
    user = scope.add(
        User(
            email=email,
            name=name,
            password_hash=auth.hash_password(password),
            organization_id=organization.id if organization else None,
        )
    )
    db.session.flush()
    if super_admin:
        scope.add(UserAcl(user_id=user.id, features=[], is_super_admin=True))
        db.session.flush()
    return user
