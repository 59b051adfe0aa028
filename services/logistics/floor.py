"""One stamp for "something on the floor changed".

Any transaction that writes shipments, units, parcels or handling lists bumps the
``lcs.floor`` stamp as its last statement before COMMIT — whichever code path wrote them:
ORM objects, bulk inserts, the conditional UPDATEs of the scan station, a background task.
Caches of floor data (the shipment list's pages) are valid while the stamp is unchanged,
in every process. Readers must read the stamp *before* the data: data newer than its
stamp is harmless (the next reader sees a newer stamp), older data under a newer one is not.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import HandlingList, db
from services import cache_versions

STAMP = cache_versions.prefetch("lcs.floor", shards=8)  # written by every scan: see cache_versions
TABLES = frozenset(
    {"lcs_shipments", "lcs_shipment_items", "lcs_parcels", "lcs_lists", "lcs_list_shipments", "lcs_shipment_tallies"}
)
_DIRTY = "wharf.floor_changed"


def current() -> int | None:
    return cache_versions.current(STAMP)


def touch_lists(list_ids) -> None:
    """Move the version of these handling lists: their units changed state. The version is
    the ETag of a list's live views (list page, stations, JSON), so a poller learns of any
    pick, undo or missing unit from one primary-key read. Call it after the units' UPDATE
    (lock order: units, then the list row)."""
    ids = {i for i in list_ids if i is not None}
    if ids:
        db.session.execute(
            sa.update(HandlingList).where(HandlingList.id.in_(ids)).values(version=HandlingList.version + 1)
        )


@sa.event.listens_for(Session, "do_orm_execute")
def _statement(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in TABLES:
            state.session.info[_DIRTY] = True


@sa.event.listens_for(Session, "before_flush")
def _flush(session, _context, _instances) -> None:
    if not session.info.get(_DIRTY) and any(
        getattr(obj, "__tablename__", None) in TABLES for obj in (*session.new, *session.dirty, *session.deleted)
    ):
        session.info[_DIRTY] = True


@sa.event.listens_for(Session, "before_commit")
def _commit(session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction bumps (or rolls back) with everything
    session.flush()  # pending objects are flushed here, so _flush has seen them
    if session.info.pop(_DIRTY, False):
        cache_versions.bump(STAMP, session)


@sa.event.listens_for(Session, "after_transaction_end")
def _end(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_DIRTY, None)
