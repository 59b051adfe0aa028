"""A subject's object grants (a role's, a user's or a group's exceptions on records) and the
typeahead that finds records to name: the section of the ACL editor and the group page."""

from __future__ import annotations

from blueprints.auth import bp
from schemas.permissions import ObjectChoice, ObjectChoicesQuery, ObjectGrants, ObjectGrantsQuery
from services import boundaries, object_grants
from services.object_permissions import kinds_for, labels
from web.access import current_actor, registry, requires
from web.contract import operation
from web.negotiate import respond

TEMPLATE = "auth/object_grants.html"


def grants_context(actor, kind: str, subject) -> dict:
    """What the exceptions section shows and offers for one subject."""
    items = object_grants.grants_of(actor, kind, subject)
    found = labels(subject.tenant_id, [(g.object_id, g.object_kind) for g in items])
    if kind == "role":
        held = boundaries.role_grants(subject)
    elif kind == "user":
        held = boundaries.user_grants(subject)
    else:
        held = None  # a group holds no features: its grants open records
    features = [
        {"id": f.id, "title": f.title, "held": bool(held and held.allows([f.id]))}
        for f in registry.features.values()
        if kinds_for(f.id) and actor.allows([f.id]) and (actor.is_super_admin or actor.grants.allows([f.id]))
    ]
    field = {"role": "roleId", "user": "subjectUserId", "group": "subjectUserGroupId"}[kind]
    return {
        "kind": kind,
        "subject": subject,
        "field": field,
        "items": [
            {
                **object_grants.record_row(g),
                "objectKind": g.object_kind,
                "label": found.get(g.object_id, str(g.object_id)),
            }
            for g in items
        ],
        "features": features,
        "version": object_grants.version_of(kind, subject),
    }


def grants_body(context: dict) -> dict:
    return {"items": context["items"], "grantsVersion": context["version"]}


@bp.get("/object-grants")
@requires("auth.acl.manage")
@operation(query=ObjectGrantsQuery, responses={200: ObjectGrants})
def object_grants_of(query: ObjectGrantsQuery):
    """List a subject's object grants

    The exceptions on records given to one role (``roleId``), user (``subjectUserId``) or
    user group (``subjectUserGroupId``), each with a ``label`` people read, and the
    ``grantsVersion`` an editor sends back with its next change.
    """
    actor = current_actor()
    kind, subject = object_grants.subject_of(
        actor, role_id=query.roleId, user_id=query.subjectUserId, group_id=query.subjectUserGroupId
    )
    context = grants_context(actor, kind, subject)
    return respond(grants_body(context), template=TEMPLATE, block="grants", context=context)


@bp.get("/object-grants/choices")
@requires("auth.acl.manage")
@operation(query=ObjectChoicesQuery, responses={200: list[ObjectChoice]})
def object_choices(query: ObjectChoicesQuery):
    """Find records to name in a grant

    Up to 20 records of the kinds ``permissionName`` takes whose number or name contains
    ``q``, among those the caller itself reaches under that permission.
    """
    choices = object_grants.object_choices(current_actor(), query.permissionName, query.q)
    context = {"choices": choices, "q": query.q, "picking": query.pick, "permission": query.permissionName}
    return respond(choices, template="auth/object_choices.html", block="choices", context=context)
