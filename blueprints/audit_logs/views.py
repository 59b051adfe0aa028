"""Audit log routes (seed 000 ``/audit_logs/audit-logs/actions``): the filterable list and
one entry's before/after. The query logic lives in ``services.audit_query``."""

from __future__ import annotations

from flask import request

from blueprints.audit_logs import bp
from models import Organization, User, db
from schemas.audit_logs import ACTION_TYPES, ActionLogPage, ActionLogQuery
from services import audit_query
from services.users import visible_users
from web.access import current_actor, requires
from web.contract import operation
from web.negotiate import respond, response_mode

PAGE_SIZES = (25, 50, 100, 200)


def _pickers(actor, can_view_tenant: bool) -> dict:
    """Choices for the filter form (limited to the actor's own tenant)."""
    tenant_id = getattr(actor.principal, "tenant_id", None)
    actors = []
    if can_view_tenant and tenant_id is not None and not getattr(actor.principal, "is_api_key", False):
        actors = list(
            db.session.scalars(visible_users(actor).where(User.tenant_id == tenant_id).order_by(User.email).limit(500))
        )
    organizations = list(
        db.session.scalars(
            actor.scope.select(Organization).where(Organization.tenant_id == tenant_id).order_by(Organization.name)
        )
    )
    return {
        "actors": actors,
        "organizations": organizations,
        "kinds": audit_query.resource_kinds(actor),
        "action_types": ACTION_TYPES,
        "page_sizes": PAGE_SIZES,
        "sort_fields": [("createdAt", "Time"), ("action", "Action"), ("user", "User")],
    }


def _entry(actor, entry_id):
    """One entry as a before/after view (browsers: a page, htmx: the detail panel)."""
    entry = audit_query.get_action(actor, entry_id)
    data = {**audit_query.serialize(entry), "fields": audit_query.field_diff(entry)}
    return respond(
        data,
        template="audit_logs/detail.html",
        block="detail",
        context={
            "item": data,
            "standalone": response_mode() == "page",
            "show": audit_query.display_value,
        },
    )


@bp.get("/audit-logs/actions")
@requires("audit_logs.view_self")
@operation(query=ActionLogQuery, responses={200: ActionLogPage})
def list_actions(query: ActionLogQuery):
    """Fetch action logs.

    Create/edit/delete/assign entries of admin-managed records, newest first, with
    ``snapshotBefore``, ``snapshotAfter`` and ``changes``. Callers see their own actions;
    holders of ``audit_logs.view_tenant`` see everybody's in their tenant (and may filter
    by ``actorUserId``). ``fieldName`` keeps entries that changed one of these fields;
    ``undoableOnly=true`` keeps none (Wharf has no undo); ``limit``/``offset`` page by
    records instead of ``page``/``pageSize``; ``id`` is one entry (browsers get its
    field-by-field before/after view).
    """
    actor = current_actor()
    if query.id is not None and response_mode() != "json":
        return _entry(actor, query.id)
    body, rows = audit_query.action_page(actor, query)
    links = {k: v for k, v in request.args.items() if k != "page" and v}
    ctx = {
        "data": body,
        "filters": query,
        "query": links,
        "show_tenant": actor.is_super_admin,
        "action_of": {str(r.id): r.action_type for r in rows},
    }
    if response_mode() == "page":
        ctx.update(_pickers(actor, body["canViewTenant"]))
    return respond(body, template="audit_logs/actions.html", block="results", context=ctx)
