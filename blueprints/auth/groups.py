"""User groups (``/api/auth/groups``, in the style of seed 000's roles): the list, a group's
members, and its exceptions on records (the section the ACL editor uses too)."""

from __future__ import annotations

from flask import url_for

from blueprints.auth import bp
from models import User, UserGroup, db
from schemas.base import Created, Ok, Page
from schemas.user_groups import (
    GroupMemberBody,
    GroupMemberDeleteQuery,
    GroupMembers,
    GroupMembersQuery,
    UserGroupCreate,
    UserGroupIdQuery,
    UserGroupItem,
    UserGroupListQuery,
    UserGroupUpdate,
)
from services import user_groups as svc
from services.users import visible_users
from web.access import current_actor, requires
from web.contract import operation
from web.forms import show_again
from web.negotiate import empty, respond
from web.pagination import paginate_a

LIST = "auth/groups.html"
GROUP = "auth/group.html"


def _list(query: UserGroupListQuery) -> tuple[dict, dict]:
    actor = current_actor()
    body, page = paginate_a(
        svc.visible_groups(actor),
        serialize=svc.group_row,
        sort_fields={"name": UserGroup.name, "createdAt": UserGroup.created_at},
        default_sort="name",
        search_columns=[UserGroup.name, UserGroup.description],
        query=query,
    )
    return body, {
        "groups": body["items"],
        "page": page,
        "search": query.search,
        "can_manage": actor.allows(["auth.roles.manage"]),
    }


_form_error = show_again(LIST, "groups_section", context=lambda: _list(UserGroupListQuery())[1])


@bp.get("/groups")
@requires("auth.roles.list")
@operation(query=UserGroupListQuery, responses={200: Page[UserGroupItem]})
def groups(query: UserGroupListQuery):
    """List user groups

    The tenant's groups with their member counts; ``search`` matches name and description.
    """
    body, ctx = _list(query)
    return respond(body, template=LIST, context=ctx, targets={"groups-table": "groups_table"})


@bp.post("/groups")
@requires("auth.roles.manage")
@operation(body=UserGroupCreate, responses={201: Created}, form_error=_form_error)
def create_group(body: UserGroupCreate):
    """Create a user group (names are unique per tenant whatever their case: 409)."""
    group = svc.create_group(current_actor(), body.name, body.description)
    return respond(
        {"id": group.id},
        status=201,
        template=LIST,
        block="groups_section",
        context=lambda: _list(UserGroupListQuery())[1],
        toast=f"Group {group.name} created",
    )


@bp.put("/groups")
@requires("auth.roles.manage")
@operation(body=UserGroupUpdate, responses={200: Ok})
def update_group(body: UserGroupUpdate):
    """Change a group's name or description (the fields sent)."""
    changes = {k: getattr(body, k) for k in ("name", "description") if k in body.model_fields_set}
    group = svc.update_group(current_actor(), body.id, changes)
    return respond({"ok": True}, template=GROUP, block="group_head", context=_group_context(group), toast="Group saved")


@bp.delete("/groups")
@requires("auth.roles.manage")
@operation(query=UserGroupIdQuery, responses={200: Ok})
def delete_group(query: UserGroupIdQuery):
    """Delete a group: its members leave it and its exceptions on records go with it."""
    group = svc.delete_group(current_actor(), query.id)
    return empty({"ok": True}, page=url_for("auth.groups"), toast=f"Group {group.name} deleted")


def _group_context(group: UserGroup) -> dict:
    actor = current_actor()
    members = svc.member_rows(group)
    inside = {m["id"] for m in members}
    candidates = [u for u in _users(actor) if u.id not in inside]
    return {
        "group": svc.group_row(group),
        "members": members,
        "candidates": candidates,
        "can_manage": actor.allows(["auth.roles.manage"]),
        "can_acl": actor.allows(["auth.acl.manage"]),
    }


def _users(actor) -> list[User]:
    """Users who could join (the first 500 by email: a tenant's floor staff)."""
    return list(
        db.session.scalars(visible_users(actor).where(User.deleted_at.is_(None)).order_by(User.email).limit(500))
    )


@bp.get("/groups/members")
@requires("auth.roles.list")
@operation(query=GroupMembersQuery, responses={200: GroupMembers})
def group_members(query: GroupMembersQuery):
    """A group and its members

    For people, the group's page: members to add and remove, and its exceptions on records.
    """
    group = current_actor().scope.get(UserGroup, query.groupId, "User group")
    ctx = _group_context(group)
    return respond({"group": ctx["group"], "items": ctx["members"]}, template=GROUP, block="members", context=ctx)


@bp.post("/groups/members")
@requires("auth.roles.manage")
@operation(body=GroupMemberBody, responses={201: Ok})
def add_member(body: GroupMemberBody):
    """Add a user to a group: the user gains the group's exceptions on records (409 when
    already in it)."""
    group = svc.add_member(current_actor(), body.groupId, body.userId)
    return respond(
        {"ok": True},
        status=201,
        template=GROUP,
        block="members",
        context=lambda: _group_context(group),
        toast="Member added",
    )


@bp.delete("/groups/members")
@requires("auth.roles.manage")
@operation(query=GroupMemberDeleteQuery, responses={200: Ok})
def remove_member(query: GroupMemberDeleteQuery):
    """Take a user out of a group."""
    group = svc.remove_member(current_actor(), query.groupId, query.userId)
    return respond(
        {"ok": True}, template=GROUP, block="members", context=lambda: _group_context(group), toast="Member removed"
    )
