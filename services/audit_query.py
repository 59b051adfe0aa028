"""Reading the audit trail (seed 000 ``GET /audit_logs/audit-logs/actions``).

Who sees what:

* every caller (``audit_logs.view_self``) sees the entries it made itself — a user its
  own actions, an API key the actions done with that key;
* holders of ``audit_logs.view_tenant`` see every entry of their tenant, and only they
  may filter by ``actorUserId``;
* super admins see every tenant.

Entries in organizations outside the caller's organization list are invisible (the
``Scope`` helper), like every other tenant-owned record. The filters arrive validated
(``schemas.audit_logs.ActionLogQuery``).
"""

from __future__ import annotations

import json
import math
import uuid

import sqlalchemy as sa

from models import AuditLog, Organization, Scope, Tenant, User, db
from models.base import iso_utc
from models.scope import get_visible
from schemas.audit_logs import ActionLogFilters, ActionLogQuery
from services.acl import Actor

VIEW_TENANT = "audit_logs.view_tenant"
SORT_FIELDS = {"createdAt": AuditLog.created_at, "action": AuditLog.action_type, "user": AuditLog.actor_name}


def can_view_tenant(actor: Actor) -> bool:
    return actor.grants.allows([VIEW_TENANT])


def visible_entries(actor: Actor, model) -> sa.Select:
    """Entries of a log ``model`` (action or access log) the actor may read: its scope, and
    only its own unless it holds view_tenant."""
    stmt = actor.scope.select(model)
    if can_view_tenant(actor):
        return stmt
    principal = actor.principal
    if principal is None:
        return stmt.where(sa.false())
    if getattr(principal, "is_api_key", False):
        return stmt.where(model.actor_api_key_id == principal.id)
    return stmt.where(model.actor_user_id == principal.id)


def visible_actions(actor: Actor) -> sa.Select:
    return visible_entries(actor, AuditLog)


def _changed_field(name: str):
    """SQL: the entry's ``changes`` object has the key ``name`` (SQLite and PostgreSQL)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return sa.func.json_extract_path(AuditLog.changes, name).is_not(None)
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return sa.func.json_type(AuditLog.changes, f'$."{quoted}"').is_not(None)


def filtered_actions(actor: Actor, q: ActionLogFilters) -> sa.Select:
    stmt = visible_actions(actor)
    if q.id is not None:
        stmt = stmt.where(AuditLog.id == q.id)
    if q.organizationId is not None:
        stmt = stmt.where(AuditLog.organization_id == q.organizationId)
    if q.actorUserId and can_view_tenant(actor):
        stmt = stmt.where(AuditLog.actor_user_id.in_(q.actorUserId))
    if q.resourceKind:
        stmt = stmt.where(AuditLog.resource_kind == q.resourceKind)
    if q.resourceId:
        stmt = stmt.where(AuditLog.resource_id == q.resourceId)
    if q.actionType:
        stmt = stmt.where(AuditLog.action_type.in_(q.actionType))
    if q.fieldName:
        stmt = stmt.where(AuditLog.changes.is_not(None), sa.or_(*(_changed_field(f) for f in q.fieldName)))
    if q.before is not None:
        stmt = stmt.where(AuditLog.created_at < q.before)
    if q.after is not None:
        stmt = stmt.where(AuditLog.created_at > q.after)
    if q.undoableOnly:
        stmt = stmt.where(AuditLog.undo_token.is_not(None), AuditLog.execution_state == "done")
    return stmt


def _window(q: ActionLogQuery) -> tuple[int, int]:
    """``(offset, size)`` of the rows to answer: the seed's ``limit``/``offset`` where
    sent, else ``pageSize``/``page``."""
    size = q.limit if q.limit is not None else q.pageSize
    return (q.offset if q.offset is not None else (q.page - 1) * size), size


def _order(q: ActionLogFilters) -> tuple:
    column = SORT_FIELDS[q.sortField]
    order = (column.desc(), AuditLog.id.desc()) if q.sortDir == "desc" else (column.asc(), AuditLog.id.asc())
    if q.sortField != "createdAt":  # newest first within the same action or user
        order = (order[0], AuditLog.created_at.desc(), order[1])
    return order


EXPORT_COLUMNS = (
    "id",
    "createdAt",
    "actorUserName",
    "actionType",
    "actionLabel",
    "resourceKind",
    "resourceId",
    "organizationName",
    "executionState",
    "changes",
)


def export_rows(actor: Actor, q) -> list[list[str]]:
    """The CSV export of the filtered entries (``q``: ``ActionLogExportQuery``, at most
    1000): the header, then one row per entry. Read whole here (names a hundred at a time),
    so the response streams text without holding the request's database session open."""
    logs = list(db.session.scalars(filtered_actions(actor, q).order_by(*_order(q)).limit(q.limit)))
    rows = [list(EXPORT_COLUMNS)]
    for start in range(0, len(logs), 100):
        chunk = logs[start : start + 100]
        for item, log in zip(serialize_many(chunk), chunk, strict=True):
            rows.append(
                [
                    _cell(v)
                    for v in (
                        str(log.id),
                        iso_utc(log.created_at),
                        item["actorUserName"] or "system",
                        log.action_type,
                        item["actionLabel"] or "",
                        item["resourceKind"] or "",
                        item["resourceId"] or "",
                        item["organizationName"] or "",
                        item["executionState"],
                        json.dumps(log.changes, ensure_ascii=False, sort_keys=True) if log.changes else "",
                    )
                ]
            )
    return rows


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def action_page(actor: Actor, q: ActionLogQuery) -> tuple[dict, list[AuditLog]]:
    """The action-log list's body (items, ``canViewTenant``, paging) and the page's rows
    (screens show fields the seed's items lack).
    ``page`` is the page ``offset`` falls on."""
    stmt = filtered_actions(actor, q)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    offset, size = _window(q)
    rows = list(db.session.scalars(stmt.order_by(*_order(q)).limit(size).offset(offset)))
    body = {
        "items": serialize_many(rows),
        "canViewTenant": can_view_tenant(actor),
        "page": offset // size + 1,
        "pageSize": size,
        "total": total,
        "totalPages": max(1, math.ceil(total / size)) if total else 1,
    }
    return body, rows


def get_action(actor: Actor, log_id: uuid.UUID) -> AuditLog:
    """One entry the actor may read, else ``NotFound``."""
    return get_visible(visible_actions(actor), AuditLog, log_id, "Audit log entry")


def names_of(rows: list) -> tuple[dict, dict, dict]:
    """Display names of the actors, tenants and organizations of ``rows`` (three queries)."""
    everywhere = Scope(None)
    user_ids = {r.actor_user_id for r in rows if r.actor_user_id}
    tenant_ids = {r.tenant_id for r in rows if r.tenant_id}
    org_ids = {r.organization_id for r in rows if r.organization_id}
    users = (
        {
            u.id: (u.name or u.email)
            for u in db.session.scalars(everywhere.select(User, include_deleted=True).where(User.id.in_(user_ids)))
        }
        if user_ids
        else {}
    )
    tenants = (
        {t.id: t.name for t in db.session.scalars(sa.select(Tenant).where(Tenant.id.in_(tenant_ids)))}
        if tenant_ids
        else {}
    )
    orgs = (
        {
            o.id: o.name
            for o in db.session.scalars(
                everywhere.select(Organization, include_deleted=True).where(Organization.id.in_(org_ids))
            )
        }
        if org_ids
        else {}
    )
    return users, tenants, orgs


def _row(log: AuditLog, users: dict, tenants: dict, orgs: dict) -> dict:
    return {
        "id": log.id,
        "commandId": log.id,
        "actionLabel": log.action_label,
        "executionState": log.execution_state,
        "actorUserId": log.actor_user_id,
        "actorUserName": users.get(log.actor_user_id) or log.actor_name,
        "tenantId": log.tenant_id,
        "tenantName": tenants.get(log.tenant_id),
        "organizationId": log.organization_id,
        "organizationName": orgs.get(log.organization_id),
        "resourceKind": log.resource_kind,
        "resourceId": log.resource_id,
        "parentResourceKind": None,
        "parentResourceId": None,
        "undoToken": log.undo_token if log.execution_state == "done" else None,
        "createdAt": log.created_at,
        "updatedAt": log.updated_at,
        "snapshotBefore": log.snapshot_before,
        "snapshotAfter": log.snapshot_after,
        "changes": log.changes,
        "context": log.context,
    }


def serialize_many(rows: list[AuditLog]) -> list[dict]:
    users, tenants, orgs = names_of(rows)
    return [_row(r, users, tenants, orgs) for r in rows]


def serialize(log: AuditLog) -> dict:
    return serialize_many([log])[0]


def field_diff(log: AuditLog) -> list[dict]:
    """Field-by-field before/after of one entry: ``{field, before, after, changed}``.

    Fields follow the snapshots' order (before, then fields only in after); a field is
    ``changed`` when ``changes`` lists it or its values differ.
    """
    before = log.snapshot_before or {}
    after = log.snapshot_after or {}
    changes = log.changes or {}
    names = list(dict.fromkeys([*before, *after, *changes]))
    out = []
    for name in names:
        b = before.get(name) if name in before else changes.get(name, {}).get("from")
        a = after.get(name) if name in after else changes.get(name, {}).get("to")
        changed = name in changes or (bool(before) and bool(after) and b != a)
        row = {"field": name, "before": b, "after": a, "changed": changed, "added": None, "removed": None}
        row["beforeText"] = _text(name, b, name in before)
        row["afterText"] = _text(name, a, name in after)
        if changed and isinstance(b, list) and isinstance(a, list):
            row["added"] = [v for v in a if v not in b]
            row["removed"] = [v for v in b if v not in a]
        out.append(row)
    return out


# Fields whose null is a value, not an absence: an ACL's ``organizations`` null grants every organization.
NULL_MEANS = {"organizations": "all organizations"}


def _text(name: str, value, recorded: bool) -> str:
    """A snapshot value as text; a recorded null reads as what it means for the field."""
    if value is None and recorded and name in NULL_MEANS:
        return NULL_MEANS[name]
    return display_value(value)


def display_value(value) -> str:
    """A snapshot value as text for the diff table (``—`` for null)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def resource_kinds(actor: Actor) -> list[str]:
    """The resource kinds present in the entries the actor may read (for filter pickers)."""
    stmt = visible_actions(actor).with_only_columns(AuditLog.resource_kind).distinct().order_by(AuditLog.resource_kind)
    return [k for k in db.session.scalars(stmt) if k]
