"""Undo and redo of admin commands (seed 000 ``…/actions/undo``, ``…/actions/redo``).

One mechanism for every kind of record: a kind registers a ``Restorer`` (how to load its
live record and bring it to a snapshot through the kind's own service commands), and its
audit entries get an undo token. Undoing an entry moves the record from the entry's after
snapshot back to its before snapshot; redoing moves it forward again. Because the move goes
through the ordinary commands, grant boundaries, organization scope and the audit trail
apply to it as to any edit (its own entries say ``context.undoOf``/``redoOf``). A record
that changed since the entry (its live snapshot is not the one the entry left) is a 409 with
what changed; a move that cannot land exactly (the caller may not give some of it back) is
refused and nothing is kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from models import AuditLog, db
from services import audit
from services.acl import Actor
from services.commands import Audited, audited, command
from services.errors import BadRequest, Conflict, Forbidden, NotFound

UNDO_SELF = "audit_logs.undo_self"
REDO_SELF = "audit_logs.redo_self"
UNDO_TENANT = "audit_logs.undo_tenant"  # undo and redo other people's actions


@dataclass(frozen=True)
class Restorer:
    """How to put one kind of record back: ``load`` the live record in the actor's scope
    (deleted ones too; ``None`` when it is gone; it gets the entry's resource id and tenant), ``update`` it to a snapshot, ``remove`` it
    (undo of a create) and bring it back from a snapshot (undo of a delete): kinds whose
    deleted rows stay give ``restore`` (undelete the row; ``update`` then puts its fields
    back), others ``revive`` (gets the record as it lies deleted, or ``None`` when the row is
    gone). Without ``remove``, or either of those, creates or deletes are not undoable."""

    spec: Audited
    load: Callable[[Actor, str, uuid.UUID | None], object | None]
    # what the kind's routes require for each step (``update``/``remove``/``revive``), or
    # one tuple for all: an undo is no way around them
    features: tuple[str, ...] | dict[str, tuple[str, ...]] = ()
    super_admin: bool = False
    ignored: tuple[str, ...] = ()  # snapshot notes that are no field of the record (a delete's count)
    update: Callable[[Actor, object, dict], object] | None = None
    remove: Callable[[Actor, object], object] | None = None
    restore: Callable[[Actor, object], object] | None = None
    revive: Callable[[Actor, object | None, dict, uuid.UUID | None], object] | None = None

    @property
    def actions(self) -> frozenset[str]:
        edits = {"edit"} if self.update else set()
        deletes = {"delete"} if self.revive or (self.restore and self.update) else set()
        return frozenset(edits | ({"create"} if self.remove else set()) | deletes)

    def bring_back(self, actor: Actor, record, snap: dict, tenant_id: uuid.UUID | None) -> None:
        if self.revive:
            self.revive(actor, record, snap, tenant_id)
            return
        if record is None:
            raise NotFound(f"{self.spec.noun.capitalize()} not found")
        self.restore(actor, record)
        self.update(actor, record, snap)


RESTORERS: dict[str, Restorer] = {}


def register(restorer: Restorer) -> Restorer:
    """Make the kind's entries undoable (called once per kind, where the kind's commands live)."""
    RESTORERS[restorer.spec.kind] = restorer
    audit.UNDOABLE[restorer.spec.kind] = restorer.actions
    return restorer


def no_more_than(sanitized: bool) -> None:
    """Refuse a restore of grants the caller could only store cut down to its own."""
    if sanitized:
        raise Forbidden("You cannot restore permissions you do not hold")


def _absent(snapshot: dict | None) -> bool:
    """No record: none at all, or one soft-deleted (``deletedAt``; the lcs rows: ``deleted_at``)."""
    return snapshot is None or (snapshot.get("deletedAt") or snapshot.get("deleted_at")) is not None


def fields_of(model, snapshot: dict, **extra):
    """A service's input model filled from a snapshot (the fields both have), e.g. an lcs
    row's ``LcsMethodModel`` to bring the method back as it was."""
    return model.model_validate({k: v for k, v in snapshot.items() if k in model.model_fields} | extra)


@command("Another live record already uses this one's unique key")
def undelete(actor: Actor, spec: Audited, record) -> object:
    """Bring a soft-deleted record back (an undone delete of a kind with nothing more to
    check): audited as an edit; a unique key taken since by a live record is a 409."""
    with audited(actor, "edit", spec, record, label=f"Restore {spec.noun} {spec.name(record)}"):
        record.deleted_at = None
    return record


def register_soft_deleted(
    spec: Audited,
    model,
    fields,
    *,
    features: tuple[str, ...],
    update: Callable[[Actor, uuid.UUID, object], object],
    delete: Callable[[Actor, uuid.UUID], object],
    revive: Callable[[Actor, object, object], object] | None = None,
) -> Restorer:
    """The restorer of a soft-deleted row edited as ``update(actor, id, body)`` with a body of
    ``fields`` (the lcs reference rows): an undone delete undeletes the row and puts its
    fields back, unless the kind brings rows back its own way (``revive(actor, row, body)``)."""

    def load(actor: Actor, record_id: str, _tenant=None):
        return db.session.scalars(
            actor.scope.select(model, include_deleted=True).where(model.id == uuid.UUID(record_id))
        ).first()

    def put_back(actor: Actor, record, snap: dict) -> None:
        update(actor, record.id, fields_of(fields, snap))

    def revive_own_way(actor: Actor, record, snap: dict, _tenant) -> None:
        if record is None:
            raise NotFound(f"{spec.noun.capitalize()} not found")
        revive(actor, record, fields_of(fields, snap))

    return register(
        Restorer(
            spec,
            load,
            features=features,
            update=put_back,
            remove=lambda actor, record: delete(actor, record.id),
            restore=None if revive else lambda actor, record: undelete(actor, spec, record),
            revive=revive_own_way if revive else None,
        )
    )


# Stamps every save moves: not what a person changed, so not what an undo compares.
VOLATILE = ("createdAt", "updatedAt", "lastLoginAt")


def _comparable(snapshot: dict | None, ignored: tuple[str, ...] = ()) -> dict | None:
    if snapshot is None:
        return None
    return {k: v for k, v in snapshot.items() if k not in VOLATILE and k not in ignored}


def _live(restorer: Restorer, actor: Actor, entry: AuditLog) -> tuple[object | None, dict | None]:
    record = restorer.load(actor, entry.resource_id, entry.tenant_id)
    if record is None:
        return None, None
    return record, _comparable(audit.plain(restorer.spec.snapshot(record)), restorer.ignored)


def _move(actor: Actor, entry: AuditLog, frm: dict | None, to: dict | None, word: str) -> None:
    """Bring the entry's record from ``frm`` (what it must look like now) to ``to``."""
    restorer = RESTORERS[entry.resource_kind]
    frm, to = _comparable(frm, restorer.ignored), _comparable(to, restorer.ignored)
    record, live = _live(restorer, actor, entry)
    same = _absent(live) if frm is None else live == frm
    if not same:
        raise Conflict(
            f"The {restorer.spec.noun} changed since this action; {word.lower()} would overwrite that",
            changes=audit.diff(frm, live),
        )
    step = "remove" if _absent(to) else "revive" if _absent(frm) else "update"
    _require(actor, restorer, step)
    with audit.replaying({f"{word.lower()}Of": str(entry.id)}, word):
        if step == "remove":
            restorer.remove(actor, record)
        elif step == "revive":
            restorer.bring_back(actor, record, to, entry.tenant_id)
        else:
            restorer.update(actor, record, to)
    db.session.flush()
    db.session.expire_all()
    _, landed = _live(restorer, actor, entry)
    if (_absent(landed) and _absent(to)) or landed == to:
        return
    raise Conflict(f"The {restorer.spec.noun} cannot be put back exactly as it was", changes=audit.diff(to, landed))


def _require(actor: Actor, restorer: Restorer, step: str) -> None:
    """The caller holds what the kind's own route for this step requires."""
    features = restorer.features if isinstance(restorer.features, tuple) else restorer.features.get(step, ())
    if features and not actor.allows(list(features)):
        raise Forbidden("Missing required features", requiredFeatures=list(features))
    if restorer.super_admin and not actor.is_super_admin:
        raise Forbidden("Only super admins may do this")


def _own(actor: Actor, entry: AuditLog) -> bool:
    principal = actor.principal
    if principal is None:
        return False
    if getattr(principal, "is_api_key", False):
        return entry.actor_api_key_id == principal.id
    return entry.actor_user_id == principal.id


def _entry(actor: Actor, column, value, unknown: str) -> AuditLog:
    """The entry the caller may undo or redo (its row locked): unknown is a 400 (the seed's
    "invalid or unavailable"), outside the caller's scope or someone else's without the
    tenant feature a 404, like any record out of reach."""
    entry = db.session.scalars(actor.scope.select(AuditLog).where(column == value).with_for_update()).first()
    if entry is None:
        if db.session.scalar(sa.select(AuditLog.id).where(column == value)) is None:
            raise BadRequest(unknown)
        raise NotFound("Audit log entry not found")
    if not _own(actor, entry) and not actor.grants.allows([UNDO_TENANT]):
        raise NotFound("Audit log entry not found")
    if entry.resource_kind not in RESTORERS or entry.action_type not in RESTORERS[entry.resource_kind].actions:
        raise BadRequest("This action cannot be undone")
    return entry


@command()
def undo(actor: Actor, token: str) -> AuditLog:
    """Undo the entry holding ``token``: its record goes back to the before snapshot."""
    entry = _entry(actor, AuditLog.undo_token, token, "Invalid or unavailable undo token")
    if entry.execution_state != "done":
        raise BadRequest("This action was already undone")
    _move(actor, entry, entry.snapshot_after, entry.snapshot_before, "Undo")
    entry.execution_state = "undone"
    return entry


@command()
def redo(actor: Actor, log_id: uuid.UUID) -> AuditLog:
    """Redo an undone entry: its record goes forward to the after snapshot again, and the
    entry gets a fresh undo token."""
    entry = _entry(actor, AuditLog.id, log_id, "Log not eligible for redo")
    if entry.execution_state != "undone":
        raise BadRequest("Log not eligible for redo: it is not undone")
    _move(actor, entry, entry.snapshot_before, entry.snapshot_after, "Redo")
    entry.execution_state = "done"
    entry.undo_token = audit.new_undo_token()
    return entry


def may_undo(actor: Actor, entry: AuditLog) -> bool:
    """Whether the caller may press Undo on ``entry`` (the service checks again on use)."""
    if entry.undo_token is None or entry.execution_state != "done":
        return False
    return actor.grants.allows([UNDO_TENANT]) or (_own(actor, entry) and actor.grants.allows([UNDO_SELF]))


def may_redo(actor: Actor, entry: AuditLog) -> bool:
    if entry.undo_token is None or entry.execution_state != "undone":
        return False
    return actor.grants.allows([UNDO_TENANT]) or (_own(actor, entry) and actor.grants.allows([REDO_SELF]))
