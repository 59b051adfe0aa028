"""Administrators give and take back object grants: ``POST /permissions`` and
``DELETE /permissions/{id}`` (the editor's exceptions section answers with itself)."""

from __future__ import annotations

from blueprints.auth.object_grants import TEMPLATE, grants_context
from blueprints.permissions import bp
from schemas.permissions import GivenPermission, GivenPermissionCreate, PermissionDeleted, PermissionDeleteQuery
from services import object_grants
from web.access import current_actor, requires
from web.contract import operation
from web.negotiate import respond


@bp.post("")
@requires("auth.acl.manage")
@operation(body=GivenPermissionCreate, responses={201: GivenPermission})
def give(body: GivenPermissionCreate):
    """Give an object grant

    ``permissionName`` on the record ``objectId`` for exactly one of ``roleId``,
    ``subjectUserId``, ``subjectUserGroupId``: ``canDo: false`` excepts the record from a
    feature the subject holds, ``canDo: true`` opens it to a subject that does not. Only what
    the caller holds and reaches itself (403/404 otherwise); 409 for a second grant on the
    same record or a stale ``grantsVersion``.
    """
    actor = current_actor()
    grant = object_grants.give(
        actor,
        permission_name=body.permissionName,
        object_id=body.objectId,
        can_do=body.canDo,
        role_id=body.roleId,
        user_id=body.subjectUserId,
        group_id=body.subjectUserGroupId,
        expected_version=body.grantsVersion,
    )
    row = object_grants.record_row(grant)
    kind, subject = object_grants.subject_of(
        actor, role_id=body.roleId, user_id=body.subjectUserId, group_id=body.subjectUserGroupId
    )
    return respond(
        row,
        status=201,
        template=TEMPLATE,
        block="grants",
        context=lambda: grants_context(actor, kind, subject),
        toast="Exception saved",
    )


@bp.delete("/<uuid:grant_id>")
@requires("auth.acl.manage")
@operation(query=PermissionDeleteQuery, responses={200: PermissionDeleted})
def take_back(grant_id, query: PermissionDeleteQuery):
    """Remove an object grant

    The same boundaries as giving it; 409 for a stale ``grantsVersion``.
    """
    actor = current_actor()
    grant = object_grants.take_back(actor, grant_id, expected_version=query.grantsVersion)
    kind, subject = object_grants.subject_of(
        actor, role_id=grant.role_id, user_id=grant.subject_user_id, group_id=grant.subject_user_group_id
    )
    return respond(
        {"ok": True},
        template=TEMPLATE,
        block="grants",
        context=lambda: grants_context(actor, kind, subject),
        toast="Exception removed",
    )
