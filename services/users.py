"""User administration and per-user ACL overrides (spec /auth/users, /auth/users/acl)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from models import AuthSession, Organization, Role, RoleAcl, Scope, User, UserAcl, UserRole, db, utcnow
from services import accounts, auth, boundaries, password_reset, undo
from services.acl import Actor, bump_acl_version, grants_for
from services.commands import Audited, audited, command, lock
from services.errors import BadRequest, Conflict, Forbidden, NotFound
from services.roles import checked_grant, get_role


def _is_super_admin_user(user: User) -> bool:
    return grants_for(user).is_super_admin


def visible_users(actor: Actor) -> sa.Select:
    """Users in the actor's scope; super admins are hidden from everybody else."""
    stmt = actor.scope.select(User)
    if not actor.is_super_admin:
        sa_users = sa.select(UserAcl.user_id).where(UserAcl.is_super_admin.is_(True))
        sa_roles = (
            sa.select(UserRole.user_id)
            .join(RoleAcl, RoleAcl.role_id == UserRole.role_id)
            .where(RoleAcl.is_super_admin.is_(True))
        )
        stmt = stmt.where(User.id.not_in(sa_users), User.id.not_in(sa_roles))
    return stmt


def get_user(actor: Actor, user_id) -> User:
    user = actor.scope.get(User, user_id)
    if not actor.is_super_admin and _is_super_admin_user(user):
        raise NotFound("User not found")
    return user


def _changeable_user(actor: Actor, user_id) -> User:
    """A user the actor may see and change: one who holds no more than the actor does
    (any write about a user — email, password, active flag, roles, ACL — could hand the
    actor that user's rights)."""
    lock(actor.scope, User, user_id)
    user = get_user(actor, user_id)
    boundaries.require_covers_user(actor, user)
    return user


def user_row(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "tenantId": user.tenant_id,
        "tenantName": user.tenant.name,
        "organizationId": user.organization_id,
        "organizationName": user.organization.name if user.organization else None,
        "roles": [r.name for r in user.roles],
        "roleIds": [r.id for r in user.roles],
        "isActive": user.is_active,
        "lastLoginAt": user.last_login_at,
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
        "hasCustomAcl": user.acl is not None,
    }


def snapshot(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "organizationId": user.organization_id,
        "roles": sorted(r.name for r in user.roles),
        "isActive": user.is_active,
        "deletedAt": user.deleted_at,
    }


EMAIL_TAKEN = "A user with this email already exists in the tenant"
# A user's audit rows stay tenant-wide (no organization): org-limited admins read them as before.
USER = Audited("user", snapshot, "user", name=lambda u: u.email, organization=lambda u: None)
USER_ACL = Audited(
    "user_acl", lambda u: user_acl_of(u), "permissions of", name=lambda u: u.email, organization=lambda u: None
)


def _organization(actor: Actor, tenant_id, organization_id) -> Organization | None:
    if organization_id is None:
        return None
    org = actor.scope.get(Organization, organization_id)
    if org.tenant_id != tenant_id:
        raise NotFound("Organization not found")
    return org


def _set_roles(actor: Actor, user: User, role_ids) -> None:
    wanted = [get_role(actor, rid) for rid in dict.fromkeys(role_ids)]
    if any(r.tenant_id not in (user.tenant_id, None) for r in wanted):  # global roles serve every tenant
        raise NotFound("Role not found")
    current = {
        link.role_id: link for link in db.session.scalars(sa.select(UserRole).where(UserRole.user_id == user.id))
    }
    wanted_ids = {r.id for r in wanted}
    if wanted_ids == set(current):
        return
    if boundaries.is_self(actor, user):
        raise Forbidden("You cannot change your own roles: ask another administrator")
    for role in wanted:
        if role.id not in current:
            boundaries.require_can_assign(actor, role)
            db.session.add(UserRole(tenant_id=user.tenant_id, user_id=user.id, role_id=role.id))
    for role_id, link in current.items():
        if role_id not in wanted_ids:
            boundaries.require_can_assign(actor, db.session.get(Role, role_id))
            db.session.delete(link)
    bump_acl_version(user.tenant_id)


@command(EMAIL_TAKEN)
def create_user(
    actor: Actor, *, email: str, password: str, name: str = "", organization_id=None, role_ids=(), tenant_id=None
) -> User:
    tenant = actor.tenant_for_new(tenant_id)
    org = _organization(actor, tenant, organization_id)
    user = accounts.create_user(Scope(tenant), email=email, password=password, name=name, organization=org)
    with audited(actor, "create", USER, user):
        if role_ids:
            _set_roles(actor, user, list(role_ids))
    return user


@command(EMAIL_TAKEN)
def create_super_admin(actor: Actor, *, email: str, password: str, tenant_id, name: str = "Administrator") -> User:
    """``flask create-admin``: a user of ``tenant_id`` whose own ACL makes them a super admin
    (one operation: no user is left behind without the grant)."""
    user = create_user(actor, email=email, password=password, name=name, tenant_id=tenant_id)
    update_user_acl(actor, user.id, features=[], is_super_admin=True, organizations=None)
    return user


@command(EMAIL_TAKEN)
def update_user(
    actor: Actor,
    user_id,
    *,
    email: str | None = None,
    name: str | None = None,
    password: str | None = None,
    organization_id=...,
    role_ids=None,
    is_active: bool | None = None,
) -> User:
    """Change what is given (None: unchanged; ``organization_id`` ``...``: unchanged, None: cleared)."""
    user = _changeable_user(actor, user_id)
    if is_active is False and boundaries.is_self(actor, user):
        raise BadRequest("You cannot deactivate your own account")
    with audited(actor, "edit", USER, user):
        if email is not None and email != user.email:
            if db.session.scalars(
                Scope(user.tenant_id).select(User, include_deleted=True).where(User.email == email, User.id != user.id)
            ).first():
                raise Conflict(EMAIL_TAKEN)
            user.email = email
            password_reset.void_outstanding(user.id)  # a link mailed to the old address dies
        if password:
            user.password_hash = auth.hash_password(password)
            password_reset.void_outstanding(user.id)
            _revoke_sessions(user)
        if name is not None:
            user.name = name
        if organization_id is not ...:
            org = _organization(actor, user.tenant_id, organization_id)
            user.organization_id = org.id if org else None
        with boundaries.keeping_an_administrator(user.tenant_id):
            if is_active is not None:
                user.is_active = is_active
                if not user.is_active:
                    _revoke_sessions(user)
            if role_ids is not None:
                _set_roles(actor, user, role_ids)
    return user


@command()
def delete_user(actor: Actor, user_id) -> None:
    user = _changeable_user(actor, user_id)
    if boundaries.is_self(actor, user):
        raise BadRequest("You cannot delete your own account")
    with audited(actor, "delete", USER, user), boundaries.keeping_an_administrator(user.tenant_id):
        user.soft_delete()
        _revoke_sessions(user)
        bump_acl_version(user.tenant_id)


def _revoke_sessions(user: User) -> None:
    db.session.execute(
        sa.update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def user_acl_of(user: User) -> dict:
    acl = user.acl
    return {
        "userId": user.id,
        "hasCustomAcl": acl is not None,
        "isSuperAdmin": bool(acl and acl.is_super_admin),
        "features": list(acl.features) if acl else [],
        "organizations": acl.organizations if acl else None,
        "updatedAt": acl.updated_at if acl else None,
    }


@command()
def update_user_acl(
    actor: Actor,
    user_id,
    *,
    features: list[str],
    is_super_admin: bool,
    organizations: list[uuid.UUID] | None,
    updated_at: datetime | None = None,
) -> bool:
    """Set or (with no features and no super admin) remove the user's override. Returns ``sanitized``."""
    user = _changeable_user(actor, user_id)
    clean = checked_grant(actor, user.tenant_id, user.acl, features, is_super_admin, organizations, updated_at)
    acl = user.acl
    with audited(actor, "edit", USER_ACL, user, label=f"Change permissions of {user.email}"):
        with boundaries.keeping_an_administrator(user.tenant_id):
            if not clean.features and not clean.is_super_admin:
                if acl is not None:
                    db.session.delete(acl)
            else:
                if acl is None:
                    acl = UserAcl(tenant_id=user.tenant_id, user_id=user.id)
                    db.session.add(acl)
                acl.features, acl.is_super_admin, acl.organizations = (
                    clean.features,
                    clean.is_super_admin,
                    clean.organizations,
                )
            bump_acl_version(user.tenant_id)
            db.session.flush()
        db.session.expire(user, ["acl"])
        # Removing an override falls back to the user's roles, which may hold more than the actor.
        boundaries.require_covers_user(
            actor, user, "You cannot remove this override: the user's roles hold permissions you do not hold"
        )
    return clean.sanitized


def display_names(subs) -> dict[str, str]:
    """User id (a list's ``sub``, a log's ``executedBy``) → the person's name or email, for the
    screens; an id of nobody shows as itself."""
    ids = set()
    for sub in subs:
        try:
            ids.add(uuid.UUID(str(sub)))
        except ValueError:
            continue
    found = db.session.execute(sa.select(User.id, User.name, User.email).where(User.id.in_(ids))) if ids else []
    names = {str(uid): name or email for uid, name, email in found}
    return {sub: names.get(str(sub), str(sub)) for sub in subs if sub}


@command(EMAIL_TAKEN)
def restore_user(actor: Actor, user_id) -> User:
    """Bring a deleted user back as they were (an undone delete): same reach as any change
    of them, and their email must still be free."""
    user = db.session.scalars(actor.scope.select(User, include_deleted=True).where(User.id == user_id)).first()
    if user is None or (not actor.is_super_admin and _is_super_admin_user(user)):
        raise NotFound("User not found")
    boundaries.require_covers_user(actor, user)
    if db.session.scalars(Scope(user.tenant_id).select(User).where(User.email == user.email)).first():
        raise Conflict(EMAIL_TAKEN)
    with audited(actor, "edit", USER, user, label=f"Restore user {user.email}"):
        user.deleted_at = None
        bump_acl_version(user.tenant_id)
    return user


# --- undo (services.undo): users come back through the commands above -------------------


def _load_user(actor: Actor, user_id: str, _tenant=None) -> User | None:
    user = db.session.scalars(
        actor.scope.select(User, include_deleted=True).where(User.id == uuid.UUID(user_id))
    ).first()
    return None if user is None or (not actor.is_super_admin and _is_super_admin_user(user)) else user


def _restore_user(actor: Actor, user: User, snap: dict) -> None:
    """Email, name, organization, roles (by name: the snapshot's) and active flag."""
    names = set(snap["roles"])
    role_ids = [
        r.id
        for r in db.session.scalars(
            sa.select(Role).where(
                Role.name.in_(names), sa.or_(Role.tenant_id == user.tenant_id, Role.tenant_id.is_(None))
            )
        )
    ]
    update_user(
        actor,
        user.id,
        email=snap["email"],
        name=snap["name"],
        organization_id=uuid.UUID(snap["organizationId"]) if snap["organizationId"] else None,
        role_ids=role_ids,
        is_active=snap["isActive"],
    )


def _restore_user_acl(actor: Actor, user: User, snap: dict) -> None:
    sanitized = update_user_acl(
        actor,
        user.id,
        features=snap["features"],
        is_super_admin=snap["isSuperAdmin"],
        organizations=snap["organizations"],
    )
    undo.no_more_than(sanitized)


undo.register(
    undo.Restorer(
        USER,
        _load_user,
        features={
            "update": ("auth.users.edit",),
            "remove": ("auth.users.delete",),
            "revive": ("auth.users.create", "auth.users.edit"),
        },
        update=_restore_user,
        remove=lambda actor, user: delete_user(actor, user.id),
        restore=lambda actor, user: restore_user(actor, user.id),
    )
)
undo.register(undo.Restorer(USER_ACL, _load_user, features=("auth.acl.manage",), update=_restore_user_acl))
