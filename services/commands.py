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
"""
from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import Scope, db
from services import audit
from services.errors import Conflict, NotFound

@dataclass
class _Operation:
    """Hooks of the running outermost command: run after its commit, or after its rollback."""
    committed: list[Callable[[], object]] = field(default_factory=list)
    undo: list[Callable[[], object]] = field(default_factory=list)


_current: ContextVar[_Operation | None] = ContextVar("wharf_command", default=None)


def command(conflict: str | Callable[..., str] = "The record changed at the same time; try again"):
    """Decorate a service write; ``conflict`` (or ``conflict(*args, **kwargs)``) is the 409's
    message when the database refuses the change as a duplicate."""
    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            if _current.get() is not None:  # inside another command: its transaction, its commit
                return _guarded(fn, conflict, args, kwargs)
            operation = _Operation()
            token = _current.set(operation)
            try:
                result = _guarded(fn, conflict, args, kwargs, commit=True)
            except BaseException:
                db.session.rollback()
                for hook in reversed(operation.undo):
                    hook()
                raise
            finally:
                _current.reset(token)
            for hook in operation.committed:
                hook()
            return result
        run.is_command = True
        return run
    return decorate


def _guarded(fn, conflict, args, kwargs, *, commit: bool = False):
    try:
        result = fn(*args, **kwargs)
        if commit:
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


def after_commit(hook: Callable[[], object]) -> None:
    """Run ``hook`` once the current command has committed (at once outside a command)."""
    operation = _current.get()
    if operation is None:
        hook()
    else:
        operation.committed.append(hook)


def on_rollback(hook: Callable[[], object]) -> None:
    """Undo something the database cannot (a file written to storage) if the current
    command rolls back. Only inside a command: outside one no transaction says when."""
    operation = _current.get()
    if operation is None:
        raise RuntimeError("on_rollback outside a command")
    operation.undo.append(hook)


def lock(scope: Scope | sa.Select, model, record_id, what: str | None = None):
    """Load a record in scope after taking its write lock, held until commit. The lock is a
    no-op UPDATE: PostgreSQL locks the row, SQLite takes the database's write lock (a plain
    ``FOR UPDATE`` is ignored there), so concurrent edits of one record run one after another
    and each reads what the previous one committed. ``scope`` is a ``Scope`` or, for records
    no tenant owns, a single-table select of what the caller may see. Not in scope: 404
    ("``what`` not found")."""
    missing = f"{what or model.__name__} not found"
    try:
        key = record_id if isinstance(record_id, uuid.UUID) else uuid.UUID(str(record_id))
    except (ValueError, TypeError):
        raise NotFound(missing) from None
    in_scope = (scope if isinstance(scope, sa.Select) else scope.select(model)).where(model.id == key)
    db.session.execute(sa.update(model).where(in_scope.whereclause).values(updated_at=model.updated_at)
                       .execution_options(synchronize_session=False))
    record = db.session.scalars(in_scope.execution_options(populate_existing=True)).first()
    if record is None:
        raise NotFound(missing)
    return record


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


@contextmanager
def audited(actor, action: str, spec: Audited, record, *, label: str | Callable[[object], str] | None = None,
            tenant_id=None, only_changes: bool = False) -> Iterator[dict | None]:
    """Change ``record`` inside the block; the audit row gets its snapshot before (none for
    a create) and after (none once it is deleted), staged in the same transaction. The
    block receives the before snapshot and may annotate it (what a delete took along).
    After the flush the record is reloaded, so the after snapshot sees changes made through
    other rows (role links, ACL rows) too. ``label`` replaces the spec's; a callable gets
    the changed record. ``only_changes``: a change that left the snapshot as it was stages
    no row."""
    before = None if action == "create" else spec.snapshot(record)
    yield before
    db.session.flush()
    gone = sa.inspect(record).deleted or sa.inspect(record).was_deleted
    if not gone:
        db.session.expire(record)
    after = None if gone else spec.snapshot(record)
    if only_changes and after == before:
        return
    audit.record(actor, action=action, kind=spec.kind, resource_id=spec.resource(record),
                 tenant_id=tenant_id if tenant_id is not None else spec.tenant(record),
                 organization_id=spec.organization(record), before=before, after=after,
                 label=label(record) if callable(label) else label or spec.label(action, record))
