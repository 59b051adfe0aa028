"""Reading the audit trail (seed 000 ``GET /audit_logs/audit-logs/actions``).

Who sees what:

* every caller (``audit_logs.view_self``) sees the entries it made itself — a user its
  own actions, an API key the actions done with that key;
* holders of ``audit_logs.view_tenant`` see every entry of their tenant, and only they
  may filter by ``actorUserId``;
* super admins see every tenant.

Entries in organizations outside the caller's organization list are invisible (the
``Scope`` helper), like every other tenant-owned record. Filters are parsed strictly:
a malformed value is a 400 with ``details``, never a silent clamp or a 500.
"""
from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa

from models import AuditLog, Organization, Scope, Tenant, User, db
from services.acl import Actor
from services.errors import NotFound, ValidationFailed

VIEW_TENANT = "audit_logs.view_tenant"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
ACTION_TYPES = ("create", "edit", "delete", "assign")
SORT_FIELDS = {"createdAt": AuditLog.created_at, "action": AuditLog.action_type, "user": AuditLog.actor_name}
_FIELD_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


def _bad(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"Invalid {path}: {message}", details=[{"path": [path], "message": message}])


@dataclass(frozen=True)
class ActionFilters:
    """The parsed query of the action-log list (see ``parse_filters``)."""

    entry_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    actor_user_ids: tuple[uuid.UUID, ...] = ()
    resource_kind: str | None = None
    resource_id: str | None = None
    action_types: tuple[str, ...] = ()
    field_names: tuple[str, ...] = ()
    before: datetime | None = None
    after: datetime | None = None
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    sort_field: str = "createdAt"
    sort_dir: str = "desc"
    raw: dict = field(default_factory=dict, compare=False)  # the non-empty inputs, for forms and links


def _text(args: Mapping, name: str) -> str | None:
    value = args.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _csv(args: Mapping, name: str) -> list[str]:
    """A comma-separated parameter; also accepts the parameter repeated (``?a=x&a=y``)."""
    getlist = getattr(args, "getlist", None)
    raw = getlist(name) if getlist else ([args[name]] if name in args else [])
    return [p.strip() for item in raw if item is not None for p in str(item).split(",") if p.strip()]


def _uuid(value: str, path: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise _bad(path, "must be a UUID") from None


def parse_timestamp(value: str, path: str) -> datetime:
    """ISO-8601 (``Z`` or an offset; without one it is UTC) → aware UTC datetime."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(path, "must be an ISO-8601 timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _int(args: Mapping, name: str, default: int, low: int, high: int | None) -> int:
    raw = _text(args, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(name, "must be an integer") from None
    if value < low or (high is not None and value > high):
        raise _bad(name, f"must be between {low} and {high}" if high is not None else f"must be at least {low}")
    return value


def parse_filters(args: Mapping) -> ActionFilters:
    """Filters from query parameters (a ``MultiDict`` or a plain dict). Raises ``ValidationFailed``."""
    entry = _text(args, "id")
    org = _text(args, "organizationId")
    actor_ids = tuple(dict.fromkeys(_uuid(v, "actorUserId") for v in _csv(args, "actorUserId")))
    kind = _text(args, "resourceKind")
    if kind is not None and not _TOKEN.match(kind):
        raise _bad("resourceKind", "must be a resource kind such as role or api_key")
    resource_id = _text(args, "resourceId")
    if resource_id is not None and len(resource_id) > 64:
        raise _bad("resourceId", "must be at most 64 characters")
    actions = tuple(dict.fromkeys(a.lower() for a in _csv(args, "actionType")))
    for a in actions:
        if not _TOKEN.match(a):
            raise _bad("actionType", f"must be one or more of {', '.join(ACTION_TYPES)}")
    fields = tuple(dict.fromkeys(_csv(args, "fieldName")))
    for f in fields:
        if not _FIELD_NAME.match(f):
            raise _bad("fieldName", "must be field names (letters, digits, _ . -), comma-separated")
    before = _text(args, "before")
    after = _text(args, "after")
    sort_field = _text(args, "sortField") or "createdAt"
    if sort_field not in SORT_FIELDS:
        raise _bad("sortField", f"must be one of {', '.join(SORT_FIELDS)}")
    sort_dir = (_text(args, "sortDir") or "desc").lower()
    if sort_dir not in ("asc", "desc"):
        raise _bad("sortDir", "must be asc or desc")
    raw = {k: str(args.get(k)) for k in ("organizationId", "actorUserId", "resourceKind", "resourceId", "actionType",
                                         "fieldName", "before", "after", "pageSize", "sortField", "sortDir")
           if _text(args, k) is not None}
    return ActionFilters(
        entry_id=_uuid(entry, "id") if entry else None,
        organization_id=_uuid(org, "organizationId") if org else None,
        actor_user_ids=actor_ids, resource_kind=kind, resource_id=resource_id, action_types=actions,
        field_names=fields,
        before=parse_timestamp(before, "before") if before else None,
        after=parse_timestamp(after, "after") if after else None,
        page=_int(args, "page", 1, 1, None),
        page_size=_int(args, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
        sort_field=sort_field, sort_dir=sort_dir, raw=raw,
    )


def can_view_tenant(actor: Actor) -> bool:
    return actor.grants.allows([VIEW_TENANT])


def visible_actions(actor: Actor) -> sa.Select:
    """Entries the actor may read: its scope, and only its own unless it holds view_tenant."""
    stmt = actor.scope.select(AuditLog)
    if can_view_tenant(actor):
        return stmt
    principal = actor.principal
    if principal is None:
        return stmt.where(sa.false())
    if getattr(principal, "is_api_key", False):
        return stmt.where(AuditLog.actor_api_key_id == principal.id)
    return stmt.where(AuditLog.actor_user_id == principal.id)


def _changed_field(name: str):
    """SQL: the entry's ``changes`` object has the key ``name`` (SQLite and PostgreSQL)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return sa.func.json_extract_path(AuditLog.changes, name).is_not(None)
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return sa.func.json_type(AuditLog.changes, f'$."{quoted}"').is_not(None)


def filtered_actions(actor: Actor, filters: ActionFilters) -> sa.Select:
    stmt = visible_actions(actor)
    if filters.entry_id is not None:
        stmt = stmt.where(AuditLog.id == filters.entry_id)
    if filters.organization_id is not None:
        stmt = stmt.where(AuditLog.organization_id == filters.organization_id)
    if filters.actor_user_ids and can_view_tenant(actor):
        stmt = stmt.where(AuditLog.actor_user_id.in_(filters.actor_user_ids))
    if filters.resource_kind:
        stmt = stmt.where(AuditLog.resource_kind == filters.resource_kind)
    if filters.resource_id:
        stmt = stmt.where(AuditLog.resource_id == filters.resource_id)
    if filters.action_types:
        stmt = stmt.where(AuditLog.action_type.in_(filters.action_types))
    if filters.field_names:
        stmt = stmt.where(AuditLog.changes.is_not(None),
                          sa.or_(*(_changed_field(f) for f in filters.field_names)))
    if filters.before is not None:
        stmt = stmt.where(AuditLog.created_at < filters.before)
    if filters.after is not None:
        stmt = stmt.where(AuditLog.created_at > filters.after)
    return stmt


def list_actions(actor: Actor, filters: ActionFilters) -> dict:
    """The response body of the action-log list: items, ``canViewTenant`` and paging."""
    return action_page(actor, filters)[0]


def action_page(actor: Actor, filters: ActionFilters) -> tuple[dict, list[AuditLog]]:
    """``list_actions`` plus the page's rows (screens show fields the seed's items lack)."""
    stmt = filtered_actions(actor, filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    column = SORT_FIELDS[filters.sort_field]
    order = (column.desc(), AuditLog.id.desc()) if filters.sort_dir == "desc" else (column.asc(), AuditLog.id.asc())
    if filters.sort_field != "createdAt":  # newest first within the same action or user
        order = (order[0], AuditLog.created_at.desc(), order[1])
    rows = list(db.session.scalars(stmt.order_by(*order).limit(filters.page_size)
                                   .offset((filters.page - 1) * filters.page_size)))
    body = {"items": serialize_many(rows), "canViewTenant": can_view_tenant(actor), "page": filters.page,
            "pageSize": filters.page_size, "total": total,
            "totalPages": max(1, math.ceil(total / filters.page_size)) if total else 1}
    return body, rows


def get_action(actor: Actor, log_id) -> AuditLog:
    """One entry the actor may read, else ``NotFound``."""
    try:
        key = log_id if isinstance(log_id, uuid.UUID) else uuid.UUID(str(log_id))
    except (ValueError, TypeError):
        raise NotFound("Audit log entry not found") from None
    found = db.session.scalars(visible_actions(actor).where(AuditLog.id == key)).first()
    if found is None:
        raise NotFound("Audit log entry not found")
    return found


def _names(rows: list[AuditLog]) -> tuple[dict, dict, dict]:
    """Display names of the actors, tenants and organizations of ``rows`` (three queries)."""
    everywhere = Scope(None)
    user_ids = {r.actor_user_id for r in rows if r.actor_user_id}
    tenant_ids = {r.tenant_id for r in rows if r.tenant_id}
    org_ids = {r.organization_id for r in rows if r.organization_id}
    users = {u.id: (u.name or u.email) for u in db.session.scalars(
        everywhere.select(User, include_deleted=True).where(User.id.in_(user_ids)))} if user_ids else {}
    tenants = {t.id: t.name for t in db.session.scalars(sa.select(Tenant).where(Tenant.id.in_(tenant_ids)))} \
        if tenant_ids else {}
    orgs = {o.id: o.name for o in db.session.scalars(
        everywhere.select(Organization, include_deleted=True).where(Organization.id.in_(org_ids)))} if org_ids else {}
    return users, tenants, orgs


def _row(log: AuditLog, users: dict, tenants: dict, orgs: dict) -> dict:
    return {
        "id": log.id, "commandId": log.id, "actionLabel": log.action_label, "executionState": "done",
        "actorUserId": log.actor_user_id,
        "actorUserName": users.get(log.actor_user_id) or log.actor_name,
        "tenantId": log.tenant_id, "tenantName": tenants.get(log.tenant_id),
        "organizationId": log.organization_id, "organizationName": orgs.get(log.organization_id),
        "resourceKind": log.resource_kind, "resourceId": log.resource_id,
        "parentResourceKind": None, "parentResourceId": None, "undoToken": None,
        "createdAt": log.created_at, "updatedAt": log.updated_at,
        "snapshotBefore": log.snapshot_before, "snapshotAfter": log.snapshot_after,
        "changes": log.changes, "context": None,
    }


def serialize_many(rows: list[AuditLog]) -> list[dict]:
    users, tenants, orgs = _names(rows)
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
        out.append({"field": name, "before": b, "after": a,
                    "changed": name in changes or (bool(before) and bool(after) and b != a)})
    return out


def as_utc(dt: datetime | None) -> datetime | None:
    """A stored timestamp as aware UTC (SQLite hands back naive UTC, PostgreSQL any zone)."""
    if dt is None:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


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
