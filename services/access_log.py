"""The access log (seed 000 ``GET /audit_logs/audit-logs/access``): reads of sensitive
records — users, API keys, ACLs, audit entries — with who read which fields of what.

A read is recorded in its own short transaction at the end of the read (GET requests write
nothing else), so a record read is on file even when the page is never shown. Who sees
which rows follows the action log: one's own reads, a tenant's with
``audit_logs.view_tenant``, every tenant's for super admins, within organization scope.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import sqlalchemy as sa

from models import AccessLog, db
from schemas.audit_logs import AccessLogQuery
from services.acl import Actor
from services.audit_query import can_view_tenant, names_of, visible_entries


def record_reads(
    actor: Actor,
    kind: str,
    records: Iterable[tuple[object, object, object]],
    fields: Iterable[str],
    *,
    access_type: str = "read",
    context: dict | None = None,
) -> int:
    """Record that ``actor`` read ``fields`` of each ``(resource id, tenant id, organization
    id)`` and commit. System actors (no principal: the CLI, tests' set-up) leave no trace."""
    principal = actor.principal
    if principal is None:
        return 0
    is_key = getattr(principal, "is_api_key", False)
    names = sorted(set(fields))
    rows = [
        AccessLog(
            tenant_id=tenant_id,
            organization_id=organization_id,
            resource_kind=kind,
            resource_id=str(resource_id),
            access_type=access_type,
            actor_user_id=None if is_key else principal.id,
            actor_api_key_id=principal.id if is_key else None,
            actor_name=getattr(principal, "email", None) or getattr(principal, "name", None),
            fields=names,
            context=context,
        )
        for resource_id, tenant_id, organization_id in records
    ]
    if rows:
        db.session.add_all(rows)
        db.session.commit()
    return len(rows)


def record_rows(actor: Actor, kind: str, rows: list[dict], *, tenant_id=None) -> int:
    """``record_reads`` for answered rows (``id``, ``tenantId``, ``organizationId`` and the
    row's keys as the fields read); ``tenant_id`` where rows do not say theirs."""
    return record_reads(
        actor,
        kind,
        [(r["id"], r.get("tenantId", tenant_id), r.get("organizationId")) for r in rows],
        {k for r in rows for k in r},
    )


def visible_reads(actor: Actor) -> sa.Select:
    return visible_entries(actor, AccessLog)


def access_page(actor: Actor, q: AccessLogQuery) -> dict:
    """The access-log list's body: newest first, paged like the action log."""
    stmt = visible_reads(actor)
    if q.organizationId is not None:
        stmt = stmt.where(AccessLog.organization_id == q.organizationId)
    if q.actorUserId is not None and can_view_tenant(actor):
        stmt = stmt.where(AccessLog.actor_user_id == q.actorUserId)
    if q.resourceKind:
        stmt = stmt.where(AccessLog.resource_kind == q.resourceKind)
    if q.accessType:
        stmt = stmt.where(AccessLog.access_type == q.accessType)
    if q.before is not None:
        stmt = stmt.where(AccessLog.created_at < q.before)
    if q.after is not None:
        stmt = stmt.where(AccessLog.created_at > q.after)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    size = q.limit if q.limit is not None else q.pageSize
    rows = list(
        db.session.scalars(
            stmt.order_by(AccessLog.created_at.desc(), AccessLog.id.desc()).limit(size).offset((q.page - 1) * size)
        )
    )
    users, tenants, orgs = names_of(rows)
    return {
        "items": [
            {
                "id": r.id,
                "resourceKind": r.resource_kind,
                "resourceId": r.resource_id,
                "accessType": r.access_type,
                "actorUserId": r.actor_user_id,
                "actorUserName": users.get(r.actor_user_id) or r.actor_name,
                "tenantId": r.tenant_id,
                "tenantName": tenants.get(r.tenant_id),
                "organizationId": r.organization_id,
                "organizationName": orgs.get(r.organization_id),
                "fields": list(r.fields or []),
                "context": r.context,
                "createdAt": r.created_at,
            }
            for r in rows
        ],
        "canViewTenant": can_view_tenant(actor),
        "page": q.page,
        "pageSize": size,
        "total": total,
        "totalPages": max(1, math.ceil(total / size)) if total else 1,
    }


def kinds(actor: Actor) -> list[str]:
    stmt = visible_reads(actor).with_only_columns(AccessLog.resource_kind).distinct().order_by(AccessLog.resource_kind)
    return list(db.session.scalars(stmt))
