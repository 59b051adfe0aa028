"""The audit trail: every create/edit/delete/assign of an admin-managed record is recorded
in the same transaction as the change, with before/after snapshots and the field diff."""

from __future__ import annotations

from models import AuditLog, db


def diff(before: dict | None, after: dict | None) -> dict:
    """``{field: {"from": old, "to": new}}`` for every field whose value changed."""
    before, after = before or {}, after or {}
    return {
        k: {"from": before.get(k), "to": after.get(k)}
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }


def record(
    actor,
    *,
    action: str,
    kind: str,
    resource_id,
    tenant_id,
    before: dict | None = None,
    after: dict | None = None,
    label: str | None = None,
    organization_id=None,
) -> AuditLog:
    """Stage one audit row (the caller's commit makes it durable together with the change)."""
    principal = getattr(actor, "principal", actor)
    is_key = getattr(principal, "is_api_key", False)
    entry = AuditLog(
        tenant_id=tenant_id,
        action_type=action,
        action_label=label,
        resource_kind=kind,
        resource_id=str(resource_id) if resource_id is not None else None,
        organization_id=organization_id,
        actor_user_id=None if is_key or principal is None else principal.id,
        actor_api_key_id=principal.id if is_key else None,
        actor_name=(getattr(principal, "email", None) or getattr(principal, "name", None)) if principal else "system",
        snapshot_before=_plain(before),
        snapshot_after=_plain(after),
        changes=_plain(diff(before, after)) or None,
    )
    db.session.add(entry)
    return entry


def _plain(value):
    """JSON-safe copy (UUIDs and datetimes as strings) for the JSON columns."""
    import json

    from flask.json import dumps

    return None if value is None else json.loads(dumps(value))
