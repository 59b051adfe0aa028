"""Grant boundaries: who may change a user, role, ACL or API key (spec identity-acl.md).

The rule is one sentence: nobody changes a principal that holds more than they hold
themselves — before the change *and* after it — and nobody widens their own rights. The
ACL editor's sanitizing (``acl.sanitize_grant``) keeps a new grant within the actor's;
this module guards everything else about a subject: editing a user's email, password or
active flag, renaming or deleting a role, overriding a user down to nothing, revoking a
key, handing out a role. Besides, a tenant that has an administrator always keeps one.

Organizations count as rights: an actor limited to some organizations does not cover a
subject that sees all of them (or others).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from contextlib import contextmanager

import sqlalchemy as sa

from models import ApiKeyRole, RoleAcl, User, UserAcl, UserRole, db
from services.acl import NOTHING, Grants, compute_grants, holds, in_tenant, union_of
from services.errors import Conflict, Forbidden

ADMINISTRATION = "*"  # what a tenant administrator holds (the seeded Administrator role)


def covers(actor: Grants, target: Grants) -> bool:
    """Whether ``actor`` holds everything ``target`` holds: super admin, every feature and
    wildcard (a wildcard only by one at least as wide), every organization."""
    if actor.is_super_admin:
        return True
    if target.is_super_admin:
        return False
    if not all(holds(actor, f) for f in target.features):
        return False
    if actor.organizations is None:
        return True
    return target.organizations is not None and target.organizations <= actor.organizations


def role_grants(role) -> Grants:
    return union_of([role.acl]) if role.acl is not None else NOTHING


def user_grants(user: User) -> Grants:
    """Evaluated from the database (not the per-process cache): the session may hold
    this transaction's own changes."""
    return compute_grants(user)


def key_grants(key) -> Grants:
    role_ids = sa.select(ApiKeyRole.role_id).where(ApiKeyRole.api_key_id == key.id)
    return union_of(
        list(
            db.session.scalars(
                sa.select(RoleAcl).where(in_tenant(RoleAcl, key.tenant_id), RoleAcl.role_id.in_(role_ids))
            )
        )
    )


def user_objects(user: User):
    """The object grants reaching ``user`` (its roles', groups' and own), from the database."""
    from services import object_permissions

    return object_permissions.compute_object_grants(user)


def role_objects(role):
    from services import object_permissions

    return object_permissions.role_object_grants(role.id)


def require_covers(actor, target: Grants, message: str, objects=None) -> None:
    """403 unless ``actor`` (an ``acl.Actor``) holds at least what ``target`` holds — with
    ``objects`` (the target's object grants), on every record too."""
    if not covers(actor.grants, target) or not _reaches(actor, target, objects):
        raise Forbidden(message)


def require_covers_user(
    actor, user: User, message: str = "You cannot change a user who holds permissions you do not hold"
) -> None:
    """403 unless ``actor`` holds everything ``user`` holds, records included (from the database)."""
    require_covers(actor, user_grants(user), message, user_objects(user))


def _reaches(actor, target: Grants, objects) -> bool:
    from services import object_permissions

    if objects is None or actor.grants.is_super_admin:
        return True
    return object_permissions.reach_covers(actor.grants, actor.object_grants, target, objects)


def may_assign(actor, role) -> bool:
    """Handing out (or taking back) a role is granting its ACL, organizations and object
    grants included."""
    held = role_grants(role)
    return covers(actor.grants, held) and _reaches(actor, held, role_objects(role))


def require_can_assign(actor, role) -> None:
    if not may_assign(actor, role):
        raise Forbidden("You cannot assign a role with permissions you do not hold")


def is_self(actor, user: User) -> bool:
    principal = actor.principal
    return (
        principal is not None
        and not getattr(principal, "is_api_key", False)
        and getattr(principal, "id", None) == user.id
    )


# --- the last administrator ---------------------------------------------------------------


def administrators(tenant_id) -> set[uuid.UUID]:
    """Live users of the tenant who hold ``*`` or super admin, evaluated in three queries
    from what this session sees (its pending changes included)."""
    users = db.session.scalars(
        sa.select(User.id).where(User.tenant_id == tenant_id, User.deleted_at.is_(None), User.is_active.is_(True))
    ).all()
    role_acls = {a.role_id: a for a in db.session.scalars(sa.select(RoleAcl).where(in_tenant(RoleAcl, tenant_id)))}
    overrides = {a.user_id: a for a in db.session.scalars(sa.select(UserAcl).where(UserAcl.tenant_id == tenant_id))}
    roles_of: dict[uuid.UUID, list] = defaultdict(list)
    for user_id, role_id in db.session.execute(
        sa.select(UserRole.user_id, UserRole.role_id).where(UserRole.tenant_id == tenant_id)
    ):
        if role_id in role_acls:
            roles_of[user_id].append(role_acls[role_id])
    out = set()
    for user_id in users:
        acls = roles_of.get(user_id, [])
        override = overrides.get(user_id)
        if any(a.is_super_admin for a in acls) or (override is not None and override.is_super_admin):
            out.add(user_id)
            continue
        features = (override.features or []) if override is not None else [f for a in acls for f in a.features or []]
        if ADMINISTRATION in features:
            out.add(user_id)
    return out


@contextmanager
def keeping_an_administrator(tenant_id):
    """Around a change that may take administration away: if the tenant had an
    administrator before, it must have one after (409 otherwise; the caller's transaction
    is rolled back by the error path)."""
    before = administrators(tenant_id)
    yield
    if before:
        db.session.flush()
        if not administrators(tenant_id):
            raise Conflict(
                "This change would leave the tenant without an administrator: give another user administration first"
            )
