"""Who picks what: a picker's own lists, "start next list", and making lists in waves.

``take_next`` hands each picker one list: the open list already assigned to them, else the
oldest-due unassigned one, claimed with a conditional UPDATE (``sub IS NULL`` restated in
the WHERE clause) after ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL — pickers pressing
at the same moment get different lists, never the same one twice. ``create_wave`` packs the
open shipments into lists with ``lists.create_list`` as nested commands: one transaction,
so a refused shipment leaves no list behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from models import HandlingList, Scope, Shipment, ShipmentItem, User, db, utcnow
from schemas.lcs_lists import MAX_SHIPMENTS_PER_LIST, LcsHandlingModel, LcsHandlingModelShipments, LcsListWave
from services.acl import Actor
from services.commands import command, lock
from services.errors import BadRequest
from services.logistics import lists, pickers

_h = HandlingList
OPEN = (_h.is_finished.is_(False), _h.is_cancelled.is_(False))
# Oldest due first, lists without a due date last; then the order they were made in.
DUE_ORDER = (sa.case((_h.due_at.is_(None), 1), else_=0), _h.due_at, _h.created_at, _h.number)


def _mine(actor: Actor) -> str:
    me = pickers.sub_of(actor)
    if me is None:
        raise BadRequest(
            "An API key is no picker: sign in as the person who picks (POST /api/auth/login) and use that token"
        )
    return me


def my_lists(actor: Actor) -> list[HandlingList]:
    """The open (not finished or cancelled) lists assigned to the caller, oldest due first."""
    me = pickers.sub_of(actor)
    if me is None:
        return []
    return list(db.session.scalars(actor.scope.select(_h).where(_h.sub == me, *OPEN).order_by(*DUE_ORDER)))


def my_list_row(hl: HandlingList) -> dict:
    """``MyList``: a list of the dashboard with its progress."""
    p = lists.progress(hl)
    return {
        "id": hl.id,
        "number": hl.number,
        "due_at": hl.due_at,
        "is_on_hold": hl.is_on_hold,
        "is_in_progress": hl.started_at is not None,
        "shipments": len(hl.shipments),
        "progress": p.as_dict(),
    }


def _claim(list_id, me: str) -> bool:
    return bool(
        db.session.execute(
            sa.update(_h)
            .where(_h.id == list_id, _h.sub.is_(None), _h.is_on_hold.is_(False), *OPEN)
            .values(sub=me, version=_h.version + 1, updated_at=utcnow())
        ).rowcount
    )


@command(retry_deadlocks=True)
def take_next(actor: Actor) -> HandlingList | None:
    """The caller's open, not held list; else the oldest-due unassigned list of their tenant,
    now assigned to them; None when no list waits. A picker's own presses run one after
    another (the user row is locked), so a double press takes one list, not two."""
    me = _mine(actor)
    tenant_id = actor.principal.tenant_id
    lock(Scope(tenant_id), User, actor.principal.id, "User")
    workable = actor.scope.select(_h).where(_h.tenant_id == tenant_id, _h.is_on_hold.is_(False), *OPEN)
    mine = db.session.scalars(workable.where(_h.sub == me).order_by(*DUE_ORDER).limit(1)).first()
    if mine is not None:
        return mine
    free = workable.where(_h.sub.is_(None)).with_only_columns(_h.id).order_by(*DUE_ORDER)
    for attempt in range(50):
        # SKIP LOCKED: a list another picker is claiming right now is passed over, not waited for.
        # (SQLite ignores FOR UPDATE: there the user-row lock already serialises every writer.)
        candidate = db.session.scalars(free.limit(1).with_for_update(skip_locked=True)).first()
        if candidate is not None:
            if _claim(candidate, me):
                hl = db.session.get(_h, candidate)
                db.session.refresh(hl)
                return hl
            continue  # held or taken since it was read: the next one
        if not db.session.scalar(sa.select(free.order_by(None).exists())):
            return None
        time.sleep(0.005 * (attempt + 1))  # the rest is being claimed by others: look again once they commit
    return None


# --- counts for the dashboard ---------------------------------------------------------------------


def _open_units():
    """Per shipment (correlated): units still to put on a list — not missing, not packed."""
    u = ShipmentItem
    return (
        sa.select(sa.func.count(u.id))
        .where(u.shipment_id == Shipment.id, u.is_missing.is_(False), u.parcel_id.is_(None))
        .scalar_subquery()
    )


def _unlisted(actor: Actor) -> sa.Select:
    """Shipments a wave may take: outbound, not canceled, on no active list, with units to pick."""
    s = Shipment
    return actor.scope.select(s).where(
        s.is_outbound.is_(True), s.is_canceled.is_(False), s.active_list_id.is_(None), _open_units() > 0
    )


CANDIDATES = 200  # shipments the new-list page offers (the oldest to ship)


def candidates(actor: Actor) -> list[dict]:
    """``LcsListCandidate``: the shipments a new list may take (as a wave would), the
    ``CANDIDATES`` oldest to ship first (no ship date last)."""
    s = Shipment
    stmt = (
        _unlisted(actor)
        .add_columns(_open_units().label("units"))
        .order_by(sa.case((s.ship_at.is_(None), 1), else_=0), s.ship_at, s.created_at, s.number)
        .limit(CANDIDATES)
    )
    return [
        {
            "id": shipment.id,
            "number": shipment.number,
            "order_id": shipment.order_id,
            "ship_to": _receiver(shipment.addressing),
            "ship_at": shipment.ship_at,
            "created_at": shipment.created_at,
            "units": units,
        }
        for shipment, units in db.session.execute(stmt)
    ]


def _receiver(addressing) -> str | None:
    address = ((addressing or {}).get("to") or {}).get("address") or {}
    return address.get("name") or address.get("company") or None


def floor_counts(actor: Actor) -> dict:
    """What waits on the floor in the caller's scope (None where a feature is missing), each
    count as the page it leads to sees it (that page's feature and its object exceptions)."""
    out = dict.fromkeys(("shipmentsToList", "listsWaiting", "listsInProgress", "listsOnHold"))
    count = lambda stmt: db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    reader = actor.acting_with(["lcs.shipments.read"])
    if reader.allows(reader.features):
        out["shipmentsToList"] = count(_unlisted(reader).with_only_columns(Shipment.id))
    picker = actor.acting_with(["lcs.handling.read"])
    if picker.allows(picker.features):
        live = picker.scope.select(_h).where(*OPEN).with_only_columns(_h.id)
        out["listsWaiting"] = count(live.where(_h.sub.is_(None), _h.is_on_hold.is_(False), _h.started_at.is_(None)))
        out["listsInProgress"] = count(live.where(_h.is_on_hold.is_(False), _h.started_at.is_not(None)))
        out["listsOnHold"] = count(live.where(_h.is_on_hold.is_(True)))
    return out


# --- waves --------------------------------------------------------------------------------------

WAVE_CANDIDATES = 5000  # shipments looked at per wave (100 lists of many shipments each)


def sorting_label(n: int) -> str:
    """The ``n``-th tote of a list (0 → A, 25 → Z, 26 → AA), like spreadsheet columns."""
    label = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        label = chr(ord("A") + rest) + label
    return label


@dataclass
class _Bin:
    first: int  # position of its oldest shipment in the wave's order
    shipments: list  # rows: id, tenant_id, organization_id, location_id, ship_at, units
    units: int = 0
    ship_at: datetime | None = None


def plan_wave(actor: Actor, data: LcsListWave) -> list[_Bin]:
    """Whole shipments packed in ship order into lists of at most ``max_units_per_list``
    units (a larger shipment gets a list of its own). Shipments of different tenants,
    organizations or locations never share a list."""
    s = Shipment
    stmt = _unlisted(actor).with_only_columns(
        s.id, s.tenant_id, s.organization_id, s.location_id, s.ship_at, _open_units().label("units")
    )
    if data.method_id is not None:
        stmt = stmt.where(s.method_id == data.method_id)
    if data.organization_id is not None:
        stmt = stmt.where(s.organization_id == data.organization_id)
    if data.ship_before is not None and data.ship_before < date.max:  # the last day there is: no bound
        day_after = datetime.combine(data.ship_before + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        stmt = stmt.where(s.ship_at < day_after)
    stmt = stmt.order_by(sa.case((s.ship_at.is_(None), 1), else_=0), s.ship_at, s.created_at, s.number)
    cap = data.max_units_per_list
    open_bins: dict[tuple, _Bin] = {}
    bins: list[_Bin] = []
    for i, shipment in enumerate(db.session.execute(stmt.limit(WAVE_CANDIDATES))):
        key, units = (shipment.tenant_id, shipment.organization_id, shipment.location_id), shipment.units
        current = open_bins.get(key)
        full = current is not None and (current.units + units > cap or len(current.shipments) >= MAX_SHIPMENTS_PER_LIST)
        if current is None or full:
            current = open_bins[key] = _Bin(i, [])
            bins.append(current)
        current.shipments.append(shipment)
        current.units += units
        if current.ship_at is None:
            current.ship_at = shipment.ship_at
    return sorted(bins, key=lambda b: b.first)[: data.max_lists]


@command()
def create_wave(actor: Actor, data: LcsListWave) -> list[HandlingList]:
    """The planned lists, each through ``lists.create_list`` (its checks, events and rules),
    labelled A, B, C… per shipment and due when their oldest shipment ships — all or none."""
    made = []
    for b in plan_wave(actor, data):
        body = LcsHandlingModel(
            shipments=[LcsHandlingModelShipments(id=s.id, label=sorting_label(n)) for n, s in enumerate(b.shipments)],
            due_at=b.ship_at,
        )
        made.append(lists.create_list(actor, body))
        # Written, then expired: the next list's ORM UPDATEs need not match their WHERE clause
        # against every row the wave has loaded so far (that grew quadratically with the wave).
        db.session.flush()
        db.session.expire_all()
    return made
