"""The one write skeleton of every domain command (in the spirit of Superset's commands):
load with lock, snapshot, apply, flush, audit, commit — one transaction per operation.

``@command(conflict=...)`` makes a service function an operation: the outermost command
commits once at the end (a command calling another joins its transaction), any error
rolls the whole operation back, and a unique constraint hit by a concurrent writer
(``IntegrityError`` at flush or commit) is a 409 with ``conflict``. ``audited(...)``
wraps the change of one record: it snapshots before, flushes after, and stages the audit
row with both. ``after_commit(fn)`` runs ``fn`` once the operation is durable (the
"after" business-rule events, mails, jobs); outside a command it runs at once.
"""
from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import Scope, db
from services import audit
from services.errors import Conflict, NotFound

_pending: ContextVar[list[Callable[[], object]] | None] = ContextVar("wharf_command", default=None)


def command(conflict: str | Callable[..., str] = "The record changed at the same time; try again"):
    """Decorate a service write; ``conflict`` (or ``conflict(*args, **kwargs)``) is the 409's
    message when the database refuses the change as a duplicate."""
    def decorate(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            if _pending.get() is not None:  # inside another command: its transaction, its commit
                return _guarded(fn, conflict, args, kwargs)
            token = _pending.set([])
            try:
                result = _guarded(fn, conflict, args, kwargs, commit=True)
                hooks = _pending.get()
            except BaseException:
                db.session.rollback()
                raise
            finally:
                _pending.reset(token)
            for hook in hooks:
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


def after_commit(hook: Callable[[], object]) -> None:
    """Run ``hook`` once the current command has committed (at once outside a command)."""
    pending = _pending.get()
    if pending is None:
        hook()
    else:
        pending.append(hook)


def lock(scope: Scope, model, record_id):
    """Load a record in scope after taking its write lock, held until commit. The lock is a
    no-op UPDATE: PostgreSQL locks the row, SQLite takes the database's write lock (a plain
    ``FOR UPDATE`` is ignored there), so concurrent edits of one record run one after another
    and each reads what the previous one committed. Not in scope: 404."""
    try:
        key = record_id if isinstance(record_id, uuid.UUID) else uuid.UUID(str(record_id))
    except (ValueError, TypeError):
        raise NotFound(f"{model.__name__} not found") from None
    in_scope = scope.select(model).where(model.id == key)
    db.session.execute(sa.update(model).where(in_scope.whereclause).values(updated_at=model.updated_at)
                       .execution_options(synchronize_session=False))
    record = db.session.scalars(in_scope.execution_options(populate_existing=True)).first()
    if record is None:
        raise NotFound(f"{model.__name__} not found")
    return record


@dataclass(frozen=True)
class Audited:
    """How one kind of record appears in the audit trail: its ``kind``, a ``snapshot`` of
    the fields people care about, and the ``noun`` and ``name`` its labels use."""
    kind: str
    snapshot: Callable[[object], dict]
    noun: str
    name: Callable[[object], str] = lambda record: getattr(record, "name", None) or str(record.id)

    def label(self, action: str, record) -> str:
        return f"{action.capitalize()} {self.noun} {self.name(record)}"


@contextmanager
def audited(actor, action: str, spec: Audited, record, *, label: str | None = None,
            tenant_id=None) -> Iterator[None]:
    """Change ``record`` inside the block; the audit row gets its snapshot before (none for
    a create) and after (none once it is deleted), staged in the same transaction."""
    before = None if action == "create" else spec.snapshot(record)
    yield
    db.session.flush()
    gone = sa.inspect(record).deleted or sa.inspect(record).was_deleted
    audit.record(actor, action=action, kind=spec.kind, resource_id=record.id,
                 tenant_id=tenant_id if tenant_id is not None else getattr(record, "tenant_id", None),
                 organization_id=getattr(record, "organization_id", None), before=before,
                 after=None if gone else spec.snapshot(record), label=label or spec.label(action, record))
