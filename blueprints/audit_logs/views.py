"""Audit log routes (seed 000 ``/audit_logs/audit-logs``): the filterable list, one entry's
before/after, its CSV export, undo and redo, and the access log. The logic lives in
``services.audit_query``, ``services.undo`` and ``services.access_log``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Response as FlaskResponse
from flask import flash, request, url_for

from blueprints.audit_logs import bp
from models import Organization, User, db
from schemas.audit_logs import (
    ACTION_TYPES,
    AccessLogPage,
    AccessLogQuery,
    ActionLogExportQuery,
    ActionLogPage,
    ActionLogQuery,
    RedoRequest,
    RedoResult,
    UndoRequest,
    UndoResult,
)
from schemas.base import Binary
from services import access_log, audit_query, undo
from services.users import visible_users
from web.access import current_actor, requires
from web.contract import Response, operation
from web.htmx import htmx_details
from web.negotiate import respond, response_mode, see_other

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
    access_log.record_reads(
        actor, "audit_log", [(entry.id, entry.tenant_id, entry.organization_id)], ("snapshotBefore", "snapshotAfter")
    )
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


def _undo_marks(actor, rows) -> dict:
    """Which listed entries get an Undo or a Redo button."""
    return {
        "undoable": {str(r.id) for r in rows if undo.may_undo(actor, r)},
        "redoable": {str(r.id) for r in rows if undo.may_redo(actor, r)},
    }


@bp.get("/audit-logs/actions")
@requires("audit_logs.view_self")
@operation(query=ActionLogQuery, responses={200: ActionLogPage})
def list_actions(query: ActionLogQuery):
    """Fetch action logs.

    Create/edit/delete/assign entries of admin-managed records, newest first, with
    ``snapshotBefore``, ``snapshotAfter`` and ``changes``. Callers see their own actions;
    holders of ``audit_logs.view_tenant`` see everybody's in their tenant (and may filter
    by ``actorUserId``). ``fieldName`` keeps entries that changed one of these fields;
    ``undoableOnly=true`` keeps entries that can still be undone (their ``undoToken``); ``limit``/``offset`` page by
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
        **_undo_marks(actor, rows),
        "export_url": url_for("audit_logs.export_actions", **links),
    }
    if response_mode() == "page":
        ctx.update(_pickers(actor, body["canViewTenant"]))
    return respond(body, template="audit_logs/actions.html", block="results", context=ctx)


@bp.get("/audit-logs/actions/export")
@requires("audit_logs.view_self")
@operation(
    query=ActionLogExportQuery,
    responses={200: Response(Binary, "The entries as CSV (an attachment)", media_type="text/csv")},
)
def export_actions(query: ActionLogExportQuery):
    """Export action logs as CSV.

    The entries the list's filters select (at most ``limit``, default and max 1000), in
    its order, streamed as ``audit-log.csv``: id, time, user, action, label, record kind and
    id, organization, state and the field changes as JSON. The export is itself recorded in
    the access log.
    """
    actor = current_actor()
    rows = audit_query.export_rows(actor, query)
    access_log.record_reads(
        actor,
        "audit_log",
        [("actions", getattr(actor.principal, "tenant_id", None), query.organizationId)],
        audit_query.EXPORT_COLUMNS,
        access_type="export",
        context={"rows": len(rows) - 1, "filters": query.model_dump(mode="json", exclude_defaults=True)},
    )
    return FlaskResponse(
        _csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )


def _csv(rows: list[list[str]]) -> Iterator[str]:
    """CSV text, one line at a time (the response streams as it is written; no database
    work is left for it, so it needs no request context)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _replayed(entry, message: str):
    """The answer to a person's Undo or Redo: the entry's row again (audit list), or, from
    the toast after a save, the page reloaded to show the record as it now is."""
    actor = current_actor()
    if response_mode() == "page":
        flash(message, "success")
        return see_other(request.referrer or url_for("audit_logs.list_actions"))
    target = htmx_details().target or ""
    if target.startswith("audit-"):
        item = audit_query.serialize(entry)
        return respond(
            None,
            template="audit_logs/actions.html",
            block="audit_row",
            context={
                "i": item,
                "show_tenant": actor.is_super_admin,
                "action_of": {str(entry.id): entry.action_type},
                **_undo_marks(actor, [entry]),
            },
            toast=message,
        )
    flash(message, "success")
    resp = respond(None)
    resp.headers["HX-Refresh"] = "true"
    return resp


@bp.post("/audit-logs/actions/undo")
@requires(undo.UNDO_SELF)
@operation(body=UndoRequest, responses={200: UndoResult})
def undo_action(body: UndoRequest):
    """Undo action by token.

    Puts the record of the entry holding ``undoToken`` back as it was before the action
    (a create is deleted, a delete brought back, an edit reverted), through the record's own
    commands: the undo is audited (``context.undoOf``) and may be redone with ``logId``.
    Another person's action needs ``audit_logs.undo_tenant``. Unknown token or an action
    already undone: 400; outside the caller's scope: 404; the record changed since the
    action: 409 with ``changes``; restoring more than the caller holds: 403.
    """
    entry = undo.undo(current_actor(), body.undoToken)
    if response_mode() == "json":
        return respond({"ok": True, "logId": entry.id})
    return _replayed(entry, f"Undone: {entry.action_label or entry.resource_kind}")


@bp.post("/audit-logs/actions/redo")
@requires(undo.REDO_SELF)
@operation(body=RedoRequest, responses={200: RedoResult})
def redo_action(body: RedoRequest):
    """Redo by action log id.

    Applies an undone entry's action again (the record must still be as the undo left it,
    else 409) and answers the entry's new ``undoToken``. Not undone or not undoable: 400.
    """
    entry = undo.redo(current_actor(), body.logId)
    if response_mode() == "json":
        return respond({"ok": True, "logId": entry.id, "undoToken": entry.undo_token})
    return _replayed(entry, f"Redone: {entry.action_label or entry.resource_kind}")


@bp.get("/audit-logs/access")
@requires("audit_logs.view_self")
@operation(query=AccessLogQuery, responses={200: AccessLogPage})
def list_access(query: AccessLogQuery):
    """Retrieve access logs.

    Reads of sensitive records — users, API keys, role and user ACLs, audit entries and
    their export — newest first, with who read which fields. Callers see their own reads;
    holders of ``audit_logs.view_tenant`` everybody's in their tenant (and may filter by
    ``actorUserId``).
    """
    actor = current_actor()
    body = access_log.access_page(actor, query)
    links = {k: v for k, v in request.args.items() if k != "page" and v}
    return respond(
        body,
        template="audit_logs/access.html",
        block="results",
        context=lambda: {"data": body, "filters": query, "query": links, "kinds": access_log.kinds(actor)},
    )
