"""Declarative base and the mixins every Wharf table is built from."""

from __future__ import annotations

import functools
import logging
import random
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, registry


def utcnow() -> datetime:
    """Timezone-aware 'now'; every timestamp Wharf writes is UTC."""
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """A stored timestamp, timezone-aware: SQLite hands back naive UTC, PostgreSQL aware ones."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def iso_utc(value: datetime) -> str:
    """``2026-11-22T10:00:00.000Z`` — the timestamp format of both seeds."""
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"  # naive = UTC


# Deterministic constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: sa.DateTime(timezone=True), uuid.UUID: sa.Uuid()},
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


db = SQLAlchemy(model_class=Base)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SoftDeleteMixin:
    """Rows are never removed by the app: ``deleted_at`` hides them from the scope helper."""

    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def soft_delete(self) -> None:
        self.deleted_at = utcnow()


def unique_while_live(name: str, *columns: str) -> sa.Index:
    """A unique index over the live rows only (partial: ``deleted_at IS NULL``, on SQLite and
    PostgreSQL alike), so soft-deleting a row frees its key for a new one."""
    live = sa.text("deleted_at IS NULL")
    return sa.Index(name, *columns, unique=True, sqlite_where=live, postgresql_where=live)


class TenantOwnedMixin:
    """Marks a table as tenant data: only ``Scope`` may query it (see models/scope.py)."""

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(sa.ForeignKey("tenants.id"), index=True)


def exists_on(dialect: str):
    """An Alembic ``include_object`` for ``dialect``: leaves out what the models declare for
    other databases only (``Index(...).ddl_if(dialect=...)``, e.g. PostgreSQL's trigram
    index), so autogenerate and the model/migration comparison agree on every database."""

    def include(obj, _name, _type, reflected, _compare_to) -> bool:
        only = None if reflected else getattr(getattr(obj, "_ddl_if", None), "dialect", None)
        return only is None or dialect in ((only,) if isinstance(only, str) else only)

    return include


def newest_first(model) -> tuple:
    """The keyset of every newest-first list: ``created_at``, then ``id`` (unique, so the order
    is total and a page can start right after a given row)."""
    return (model.created_at, model.id)


def rows_after(keyset, values) -> sa.ColumnElement:
    """The rows after the one whose ``keyset`` values are ``values`` (plain values, or bind
    parameters of a statement built once), in the keyset's descending order: one row-value
    comparison, which PostgreSQL answers from an index on those columns."""
    binds = [
        v if isinstance(v, sa.BindParameter) else sa.bindparam(None, v, type_=c.type)
        for c, v in zip(keyset, values, strict=True)
    ]
    return sa.tuple_(*keyset) < sa.tuple_(*binds)


def increment(model, keys: dict, column: str, by: int = 1, *, start: int | None = None) -> int:
    """Add ``by`` to ``column`` of the ``model`` row named by ``keys`` and return the new
    value; a missing row is created at ``start`` (default ``by``). A conditional UPDATE
    holds the row until commit, so concurrent transactions queue instead of losing an
    increment; two creating the row at once settle it through a savepoint and a retry."""
    session = db.session
    col = getattr(model, column)
    result = session.execute(
        sa.update(model)
        .where(*(getattr(model, k) == v for k, v in keys.items()))
        .values({column: col + by})
        .returning(col)
    ).first()
    if result is not None:
        return result[0]
    value = by if start is None else start
    try:
        with session.begin_nested():
            session.add(model(**keys, **{column: value}))
        return value
    except sa.exc.IntegrityError:  # another transaction created it first
        return increment(model, keys, column, by, start=start)


LIKE_ESCAPE = "/"  # the escape character SQLAlchemy's ``autoescape=True`` uses too


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its ``%``/``_`` literal (use with
    ``escape=LIKE_ESCAPE``) — for bound parameters, where ``autoescape`` cannot apply."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


# SQLSTATEs of a transaction the database aborted to let others go on (deadlock victim,
# serialization failure): nothing of it was kept, so the whole unit of work may run again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def retry_on_deadlock(fn=None, *, attempts: int = 5):
    """Run the decorated unit of work again (after a short random pause) when PostgreSQL
    picked its transaction as a deadlock victim. Row-lock order cannot always be the same
    everywhere — an UPDATE that re-checks a concurrently changed row keeps that row locked
    even when it no longer matches — so the writers that race on units retry instead of
    answering 500. The function must start its own reads over (they all do: one
    transaction, committed at its end)."""

    def decorate(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            for attempt in range(attempts):
                try:
                    return func(*args, **kwargs)
                except sa.exc.DBAPIError as e:
                    if getattr(e.orig, "sqlstate", None) not in RETRYABLE_SQLSTATES or attempt == attempts - 1:
                        raise
                    db.session.rollback()
                    logging.getLogger("wharf.db").warning(
                        "%s: deadlock victim (%s), running it again", func.__qualname__, e.orig.sqlstate
                    )
                    time.sleep(random.uniform(0, 0.005 * (attempt + 1)))

        return run

    return decorate(fn) if fn is not None else decorate
