"""Write helpers of the reference-data services (locations, methods, products)."""
from __future__ import annotations

import uuid
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import Scope, db
from services.errors import Conflict, NotFound


def lock(scope: Scope, model, record_id):
    """Load a record in scope after taking its write lock, held until commit. The lock is a
    no-op UPDATE: PostgreSQL locks the row, SQLite takes the database's write lock (a plain
    ``FOR UPDATE`` is ignored there), so concurrent edits of one record run one after another
    and each reads what the previous one committed."""
    try:
        key = record_id if isinstance(record_id, uuid.UUID) else uuid.UUID(str(record_id))
    except (ValueError, TypeError):
        raise NotFound(f"{model.__name__} not found") from None
    in_scope = scope.select(model).where(model.id == key)
    db.session.execute(sa.update(model).where(in_scope.whereclause).values(updated_at=model.updated_at)
                       .execution_options(synchronize_session=False))
    record = db.session.scalars(in_scope.execution_options(populate_existing=True)).first()
    if record is None:
        db.session.rollback()
        raise NotFound(f"{model.__name__} not found")
    return record


@contextmanager
def committed(conflict_message: str):
    """Run the writes and commit; a unique constraint hit by a concurrent writer is a 409."""
    try:
        yield
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(conflict_message) from None
