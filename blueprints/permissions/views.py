"""Seed 002 ``GET /permissions`` and ``GET /permissions/{permissionName}`` for the signed-in
caller; for people, a page of what they may do and where the exceptions are."""

from __future__ import annotations

from pydantic import Field

from blueprints.permissions import bp
from models import Role, UserGroup, db
from schemas.base import Model
from schemas.permissions import GivenPermission, PermissionScope
from services import object_permissions as svc
from web.access import current_actor, registry, requires
from web.contract import operation
from web.negotiate import respond


class PermissionListQuery(Model):
    search: str | None = Field(None, max_length=128, description="Part of a permission name (pages filter with it)")


def _names(model, ids) -> dict:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return dict(db.session.execute(db.select(model.id, model.name).where(model.id.in_(ids))).all())


def _page_rows(records: list[dict], tenant_id) -> list[dict]:
    """The records as people read them: who gives it (role, group, own), on what record."""
    roles = _names(Role, {r["roleId"] for r in records})
    groups = _names(UserGroup, {r["subjectUserGroupId"] for r in records})
    objects = [(r["objectId"], None) for r in records if r["objectId"]]
    found = svc.labels_any(tenant_id, [oid for oid, _ in objects])
    rows = []
    for r in records:
        via = (
            f"role {roles.get(r['roleId'], '?')}"
            if r["roleId"]
            else f"group {groups.get(r['subjectUserGroupId'], '?')}"
            if r["subjectUserGroupId"]
            else "you"
        )
        feature = registry.features.get(r["permissionName"])
        rows.append(
            {
                **r,
                "title": feature.title if feature else None,
                "via": via,
                "object": found.get(r["objectId"], str(r["objectId"])) if r["objectId"] else None,
            }
        )
    return rows


@bp.get("")
@requires()
@operation(query=PermissionListQuery, responses={200: list[GivenPermission]})
def permissions(query: PermissionListQuery):
    """Get my permissions

    Every permission record reaching the caller (seed 002 ``givenPermissions``): the features
    of its roles' ACLs (or its own ACL, which replaces them) with ``objectId`` null, and the
    object grants given to its roles, groups and itself with ``canDo`` per object.
    """
    actor = current_actor()
    records = svc.given_permissions(actor)
    if query.search:
        needle = query.search.casefold()
        records = [r for r in records if needle in r["permissionName"].casefold()]
    return respond(
        records,
        template="permissions/mine.html",
        block="records",
        context=lambda: {"rows": _page_rows(records, actor.principal.tenant_id), "search": query.search or ""},
    )


@bp.get("/<permission_name>")
@requires()
@operation(responses={200: PermissionScope})
def permission(permission_name: str):
    """Check one permission

    ``canDo: true``: the caller may use the permission everywhere except the ``exceptions``
    (object ids); ``canDo: false``: nowhere except them. Unknown names are simply not held.
    """
    actor = current_actor()
    found = svc.check(actor, permission_name)
    body = {"canDo": found.can_do, "exceptions": found.ids}
    feature = registry.features.get(permission_name)
    return respond(
        body,
        template="permissions/check.html",
        block="check",
        context=lambda: {
            "name": permission_name,
            "feature": feature,
            "found": found,
            "labels": svc.labels(actor.principal.tenant_id, found.objects),
        },
    )
