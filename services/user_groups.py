"""User groups: named sets of a tenant's users. Object grants given to a group reach its
members, so every change here is a change of rights: it needs the same reach as the grants
themselves (services.object_grants), bumps the tenant's ACL version and is audited."""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa

from models import GivenPermission, User, UserGroup, UserGroupMember, db
from services import boundaries
from services.acl import Actor, bump_acl_version
from services.commands import Audited, audited, command, lock
from services.errors import Conflict
from services.object_grants import group_members, require_reaches_group
from services.users import get_user

NAME_TAKEN = "A user group with this name already exists"


def snapshot(g: UserGroup) -> dict:
    members = db.session.scalars(sa.select(UserGroupMember.user_id).where(UserGroupMember.group_id == g.id))
    return {
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "members": sorted(str(m) for m in members),
        "deletedAt": g.deleted_at,
    }


USER_GROUP = Audited("user_group", snapshot, "user group")


def visible_groups(actor: Actor) -> sa.Select:
    return actor.scope.select(UserGroup)


def group_row(g: UserGroup) -> dict:
    count = db.session.scalar(
        sa.select(sa.func.count(UserGroupMember.id))
        .join(User, User.id == UserGroupMember.user_id)
        .where(UserGroupMember.group_id == g.id, User.deleted_at.is_(None))
    )
    return {
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "membersCount": count or 0,
        "tenantId": g.tenant_id,
        "createdAt": g.created_at,
        "updatedAt": g.updated_at,
    }


def member_rows(g: UserGroup) -> list[dict]:
    return [{"id": u.id, "email": u.email, "name": u.name} for u in sorted(group_members(g), key=lambda u: u.email)]


def _ensure_unique(tenant_id, name: str, exclude_id=None) -> None:
    """Names are unique per tenant whatever their case (compared in Python, like roles')."""
    key = unicodedata.normalize("NFC", name).casefold()
    taken = db.session.execute(
        sa.select(UserGroup.id, UserGroup.name).where(UserGroup.tenant_id == tenant_id, UserGroup.deleted_at.is_(None))
    )
    if any(unicodedata.normalize("NFC", other).casefold() == key and gid != exclude_id for gid, other in taken):
        raise Conflict(NAME_TAKEN)


@command(NAME_TAKEN)
def create_group(actor: Actor, name: str, description: str | None = None, tenant_id=None) -> UserGroup:
    tenant = actor.tenant_for_new(tenant_id)
    _ensure_unique(tenant, name)
    group = UserGroup(tenant_id=tenant, name=name, description=description)
    with audited(actor, "create", USER_GROUP, group):
        db.session.add(group)
    return group


def _changeable(actor: Actor, group_id) -> UserGroup:
    group = lock(actor.scope, UserGroup, group_id, "User group")
    require_reaches_group(actor, group)
    return group


@command(NAME_TAKEN)
def update_group(actor: Actor, group_id, changes: dict) -> UserGroup:
    """Change the fields sent (``name``, ``description``); others stay."""
    group = _changeable(actor, group_id)
    with audited(actor, "edit", USER_GROUP, group):
        name = changes.get("name")
        if name is not None and name != group.name:
            _ensure_unique(group.tenant_id, name, exclude_id=group.id)
            group.name = name
        if "description" in changes:
            group.description = changes["description"]
    return group


@command()
def delete_group(actor: Actor, group_id) -> UserGroup:
    """Soft delete; its members leave it and its grants are removed (they would reach nobody)."""
    group = _changeable(actor, group_id)
    with audited(actor, "delete", USER_GROUP, group):
        db.session.execute(sa.delete(GivenPermission).where(GivenPermission.subject_user_group_id == group.id))
        db.session.execute(sa.delete(UserGroupMember).where(UserGroupMember.group_id == group.id))
        group.soft_delete()
    bump_acl_version(group.tenant_id)
    return group


def _member_change(actor: Actor, group_id, user_id) -> tuple[UserGroup, User]:
    """Joining or leaving a group changes the user's rights by the group's grants: the actor
    must reach the group and may change the user."""
    group = _changeable(actor, group_id)
    user = get_user(actor, user_id)
    boundaries.require_covers_user(actor, user)
    return group, user


@command("This user is already in the group")
def add_member(actor: Actor, group_id, user_id) -> UserGroup:
    group, user = _member_change(actor, group_id, user_id)
    with audited(actor, "edit", USER_GROUP, group, label=f"Add {user.email} to group {group.name}"):
        db.session.add(UserGroupMember(tenant_id=group.tenant_id, group_id=group.id, user_id=user.id))
        db.session.flush()
    bump_acl_version(group.tenant_id)
    return group


@command()
def remove_member(actor: Actor, group_id, user_id) -> UserGroup:
    group, user = _member_change(actor, group_id, user_id)
    with audited(actor, "edit", USER_GROUP, group, label=f"Remove {user.email} from group {group.name}"):
        db.session.execute(
            sa.delete(UserGroupMember).where(UserGroupMember.group_id == group.id, UserGroupMember.user_id == user.id)
        )
    bump_acl_version(group.tenant_id)
    return group
