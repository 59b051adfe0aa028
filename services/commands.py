"""The one write skeleton of every domain command (in the spirit of Superset's commands):
load with lock, snapshot, apply, flush, audit, commit — one transaction per operation.

``@command(conflict=...)`` makes a service function an operation: the outermost command
commits once at the end (a command calling another joins its transaction), any error
rolls the whole operation back, and a unique constraint hit by a concurrent writer
(``IntegrityError`` at flush or commit) is a 409 with ``conflict``. ``audited(...)``
wraps the change of one record: it snapshots before, flushes after, and stages the audit
row with both. ``unless_taken(fn)`` absorbs the race of two requests creating the same
first-use rows. ``after_commit(fn)`` runs ``fn`` once the operation is durable (the
"after" business-rule events, mails, jobs); outside a command it runs at once.
``on_rollback(fn)`` undoes what the database cannot (a stored file) when it fails.
``discard()`` ends an operation that lost a race without its changes but with an answer.
``savepoint()`` tries a refusable part (a guarded finish) and undoes only that part.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import Scope, db
from models.base import retry_on_deadlock
from models.scope import not_found, select_by_id
from services import audit
from services.errors import Conflict


@dataclass
class _Operation:
    """The running outermost command: its session, the hooks it runs once committed or
    after a rollback, and whether it was discarded (it then rolls back instead of
    committing)."""

    session: object
    committed: list[Callable[[], object]] = field(default_factory=list)
    undo: list[Callable[[], object]] = field(default_factory=list)
    discarded: bool = False

    def rolled_back(self) -> None:
        for hook in reversed(self.undo):
            hook()


_current: ContextVar[_Operation | None] = ContextVar("wharf_command", default=None)


def _running() -> _Operation | None:
    """The command this code runs in — only if it uses this session (a task run eagerly in a
    fresh app context has a session, and so a transaction, of its own)."""
    op = _current.get()
    return op if op is not None and op.session is db.session() else None


def command(
    conflict: str | Callable[..., str] = "The record changed at the same time; try again",
    *,
    retry_deadlocks: bool = False,
):
    """Decorate a service write; ``conflict`` (or ``conflict(*args, **kwargs)``) is the 409's
    message when the database refuses the change as a duplicate. ``retry_deadlocks``: the
    whole operation runs again when PostgreSQL picks it as a deadlock victim (only the
    outermost command retries: a nested one cannot redo its caller's part)."""

    def decorate(fn):
        def outermost(*args, **kwargs):
            op = _Operation(db.session())
            token = _current.set(op)
            try:
                result = _guarded(fn, conflict, args, kwargs, op)
            except BaseException:
                db.session.rollback()
                _current.reset(token)  # the hooks run outside it: each may be a command of its own
                op.rolled_back()
                raise
            _current.reset(token)
            if op.discarded:
                op.rolled_back()
            else:
                for hook in op.committed:
                    hook()
            return result

        if retry_deadlocks:
            outermost = retry_on_deadlock(outermost)

        @functools.wraps(fn)
        def run(*args, **kwargs):
            if _running() is not None:  # inside another command: its transaction, its commit
                return _guarded(fn, conflict, args, kwargs)
            return outermost(*args, **kwargs)

        return run

    return decorate


def _guarded(fn, conflict, args, kwargs, outermost: _Operation | None = None):
    """Run ``fn``; the outermost command then commits (or rolls back what was discarded)."""
    try:
        result = fn(*args, **kwargs)
        if outermost is not None and outermost.discarded:
            db.session.rollback()
        elif outermost is not None:
            db.session.commit()
        return result
    except IntegrityError:
        db.session.rollback()
        raise Conflict(conflict(*args, **kwargs) if callable(conflict) else conflict) from None


def unless_taken(create: Callable[[], object]) -> bool:
    """Run ``create`` in a savepoint: when a concurrent writer already made the same unique
    rows (first-use defaults), only this part is undone and False is returned, so the
    caller reads theirs and the operation goes on."""
    try:
        with db.session.begin_nested():
            create()
        return True
    except IntegrityError:
        return False


@contextmanager
def savepoint() -> Iterator[None]:
    """Try a part of the current command that may be refused (a GUARD rule on finishing a
    list) without losing what the command already did: on an error only the block's writes
    are undone — its after-commit hooks are dropped and its rollback hooks run now (so the
    rule logs of a refusal are kept, in this transaction) — and the error goes on to the
    caller, which decides whether the operation still succeeds."""
    op = _running()
    if op is None:
        raise RuntimeError("savepoint outside a command")
    committed, undo = len(op.committed), len(op.undo)
    try:
        with db.session.begin_nested():
            yield
    except BaseException:
        del op.committed[committed:]
        hooks, op.undo[undo:] = op.undo[undo:], []
        for hook in reversed(hooks):
            hook()
        raise


def after_commit(hook: Callable[[], object]) -> None:
    """Run ``hook`` once the current command has committed (at once outside a command)."""
    op = _running()
    if op is None:
        hook()
    else:
        op.committed.append(hook)


def on_rollback(hook: Callable[[], object]) -> None:
    """Undo something the database cannot (a file written to storage) if the current
    command rolls back. Only inside a command: outside one no transaction says when."""
    op = _running()
    if op is None:
        raise RuntimeError("on_rollback outside a command")
    op.undo.append(hook)


def discard() -> None:
    """End the current operation without its changes yet answer normally (a scan or an undo
    that lost a race has nothing to write): what it wrote is rolled back now, and the
    command rolls back instead of committing, without its after-commit hooks."""
    db.session.rollback()
    op = _running()
    if op is not None:
        op.discarded = True


def lock(scope: Scope | sa.Select, model, record_id, what: str | None = None):
    """Load a record in scope after taking its write lock, held until commit. The lock is a
    no-op UPDATE: PostgreSQL locks the row, SQLite takes the database's write lock (a plain
    ``FOR UPDATE`` is ignored there), so concurrent edits of one record run one after another
    and each reads what the previous one committed. ``scope`` is a ``Scope`` or, for records
    no tenant owns, a single-table select of what the caller may see. Not in scope: 404
    ("``what`` not found")."""
    in_scope = select_by_id(scope, model, record_id, what)
    db.session.execute(
        sa.update(model)
        .where(in_scope.whereclause)
        .values(updated_at=model.updated_at)
        .execution_options(synchronize_session=False)
    )
    record = db.session.scalars(in_scope.execution_options(populate_existing=True)).first()
    if record is None:
        raise not_found(model, what)
    return record


def row_snapshot(row: dict, record) -> dict:
    """An answered row as an ``Audited`` snapshot: the fields a person changes, so without
    ``createdAt``/``updatedAt`` (every edit would show a clock change), with ``deletedAt``."""
    return {k: v for k, v in row.items() if k not in ("createdAt", "updatedAt")} | {"deletedAt": record.deleted_at}


@dataclass(frozen=True)
class Audited:
    """How one kind of record appears in the audit trail: its ``kind``, a ``snapshot`` of
    the fields people care about, and the ``noun`` and ``name`` its labels use; the row's
    tenant, organization and resource id default to the record's own."""

    kind: str
    snapshot: Callable[[object], dict]
    noun: str
    name: Callable[[object], str] = lambda record: getattr(record, "name", None) or str(record.id)
    tenant: Callable[[object], object] = lambda record: getattr(record, "tenant_id", None)
    organization: Callable[[object], object] = lambda record: getattr(record, "organization_id", None)
    resource: Callable[[object], object] = lambda record: record.id  # what the row is about

    def label(self, action: str, record) -> str:
        return f"{action.capitalize()} {self.noun} {self.name(record)}"

    def record(
        self,
        actor,
        action: str,
        record,
        before: dict | None,
        *,
        label: str | Callable[[object], str] | None = None,
        tenant_id=None,
        only_changes: bool = False,
    ) -> None:
        """Stage the audit row of a change already flushed (``audited`` does it for one
        record; a bulk write snapshots many, flushes once, then records each).
        ``only_changes``: a change that left the snapshot as it was stages no row."""
        gone = sa.inspect(record).deleted or sa.inspect(record).was_deleted
        after = None if gone else self.snapshot(record)
        if only_changes and after == before:
            return
        audit.record(
            actor,
            action=action,
            kind=self.kind,
            resource_id=self.resource(record),
            tenant_id=tenant_id if tenant_id is not None else self.tenant(record),
            organization_id=self.organization(record),
            before=before,
            after=after,
            label=label(record) if callable(label) else label or self.label(action, record),
        )


@contextmanager
def audited(
    actor,
    action: str,
    spec: Audited,
    record,
    *,
    label: str | Callable[[object], str] | None = None,
    tenant_id=None,
    only_changes: bool = False,
) -> Iterator[dict | None]:
    """Change ``record`` inside the block; the audit row gets its snapshot before (none for
    a create) and after (none once it is deleted), staged in the same transaction. The
    block receives the before snapshot and may annotate it (what a delete took along).
    After the flush the record is reloaded, so the after snapshot sees changes made through
    other rows (role links, ACL rows) too. ``label`` replaces the spec's; a callable gets
    the changed record."""
    before = None if action == "create" else spec.snapshot(record)
    yield before
    db.session.flush()
    if not (sa.inspect(record).deleted or sa.inspect(record).was_deleted):
        db.session.expire(record)
    spec.record(actor, action, record, before, label=label, tenant_id=tenant_id, only_changes=only_changes)
