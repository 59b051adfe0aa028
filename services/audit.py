"""The audit trail: every create/edit/delete/assign of an admin-managed record is recorded
in the same transaction as the change, with before/after snapshots and the field diff."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import g, has_request_context

from models import AuditLog, db

# Kind → actions that can be undone (registered by ``services.undo.register``): their entries
# get an undo token.
UNDOABLE: dict[str, frozenset[str]] = {}

# While an undo or redo runs: what its own entries say they are (``{"undoOf": id}``) and the
# word their labels start with.
_replaying: ContextVar[tuple[dict, str] | None] = ContextVar("wharf_audit_replaying", default=None)


@contextmanager
def replaying(context: dict, word: str) -> Iterator[None]:
    """Entries staged inside are an undo's or redo's: linked by ``context``, labelled ``word``."""
    token = _replaying.set((context, word))
    try:
        yield
    finally:
        _replaying.reset(token)


def new_undo_token() -> str:
    return secrets.token_urlsafe(24)


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
    """Stage one audit row (the caller's commit makes it durable together with the change);
    an action a restorer can take back gets an undo token."""
    replay = _replaying.get()
    if replay is not None:
        label = (f"{replay[1]}: {label}" if label else replay[1])[:200]
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
        snapshot_before=plain(before),
        snapshot_after=plain(after),
        changes=plain(diff(before, after)) or None,
        undo_token=new_undo_token() if action in UNDOABLE.get(kind, ()) else None,
        context=replay[0] if replay is not None else None,
    )
    db.session.add(entry)
    if entry.undo_token and replay is None and has_request_context():
        g.setdefault("wharf_undo_tokens", []).append(entry.undo_token)  # the save's toast offers Undo
    return entry


def plain(value):
    """JSON-safe copy (UUIDs and datetimes as strings) for the JSON columns."""
    import json

    from flask.json import dumps

    return None if value is None else json.loads(dumps(value))
