"""Handling (pick) lists: creation from shipments, walk-order ranking, state, item
updates and the scan operation.

Every state change is a conditional UPDATE whose WHERE clause restates the precondition
(``is_handled = false``, ``is_finished = false``, ``active_list_id IS NULL``), so two
concurrent requests can never both win: the loser sees rowcount 0 and is told so.
"""

from __future__ import annotations

import functools
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from models import (
    HandlingList,
    ListShipment,
    ScanEvent,
    Scope,
    Shipment,
    ShipmentItem,
    db,
    utcnow,
)
from schemas.base import UtcDatetime
from schemas.lcs_lists import (
    LcsHandlingListItemUpdate,
    LcsHandlingListUpdate,
    LcsHandlingModel,
)
from schemas.lcs_search import LcsListSearchConstraint
from schemas.validation import validate
from services import events, toggles
from services.acl import Actor
from services.commands import after_commit, command, discard, savepoint
from services.errors import BadRequest, Conflict, ValidationFailed
from services.logistics import codes, locations, numbers, pickers, products, short_picks
from services.logistics.search import Field, apply_constraints
from services.logistics.short_picks import REASONS
from services.logistics.units import unit_row

GROUP_NS = uuid.UUID("6f1c5a52-9b3e-4d8e-9a55-2f1f0c7e8a10")


def get_list(actor: Actor, list_id, *, with_totes: bool = False) -> HandlingList:
    """The list in the caller's scope (404); ``with_totes`` joins its shipments (their
    sorting labels) into the same statement, for a scan, which reads them anyway."""
    options = (joinedload(HandlingList.shipments),) if with_totes else ()
    return actor.scope.get(HandlingList, list_id, "Handling list", options=options)


def _walk_order(tenant_id, location_id) -> tuple[dict, dict]:
    """(sku → (code, sorting), code → sorting) at the list's location (any live one if None)."""
    scope = Scope(tenant_id)
    return locations.sku_positions(scope, location_id), locations.walk_order(scope, location_id)


@command()
def create_list(actor: Actor, data: LcsHandlingModel) -> HandlingList:
    """A list of ``data.shipments`` whose units are ranked by walk order. Each shipment is
    claimed by a conditional update: one active list per shipment."""
    wanted: OrderedDict[uuid.UUID, str | None] = OrderedDict()
    for entry in data.shipments:
        wanted[entry.id] = entry.label
    due_at = data.due_at
    shipments = [actor.scope.get(Shipment, sid, f"Shipment {sid}") for sid in wanted]
    for s in shipments:
        if not s.is_outbound:
            raise Conflict(f"Shipment {s.number} is not outbound")
        if s.is_canceled:
            raise Conflict(f"Shipment {s.number} is canceled")
    tenant_ids = {s.tenant_id for s in shipments}
    if len(tenant_ids) != 1:
        raise BadRequest("Shipments of several tenants cannot share a list")
    tenant_id = tenant_ids.pop()
    payload = {"shipments": [str(s) for s in wanted], "due_at": due_at}
    events.before("lcs.list", "creating", payload, {"actor": actor})
    if payload.get("due_at") != due_at:  # a SET_FIELD rule
        due_at = _ruled_due_at(payload.get("due_at"))
    hl = HandlingList(
        tenant_id=tenant_id,
        organization_id=shipments[0].organization_id,
        number=numbers.list_number(tenant_id),
        due_at=due_at,
        location_id=shipments[0].location_id,
        is_outbound=True,
    )
    db.session.add(hl)
    db.session.flush()
    for position, s in enumerate(shipments):
        claimed = db.session.execute(
            sa.update(Shipment)
            .where(Shipment.id == s.id, Shipment.active_list_id.is_(None), Shipment.is_canceled.is_(False))
            .values(active_list_id=hl.id, updated_at=utcnow())
        ).rowcount
        if not claimed:
            raise Conflict(f"Shipment {s.number} is already on an active handling list")
        db.session.add(
            ListShipment(tenant_id=tenant_id, list_id=hl.id, shipment_id=s.id, label=wanted[s.id], position=position)
        )
    _rank_units(hl, [s.id for s in shipments])
    created = {"id": str(hl.id), "number": hl.number}
    after_commit(lambda: events.after("lcs.list", "created", created, {"actor": actor}))
    return hl


def _ruled_due_at(value) -> datetime | None:
    """A due date a SET_FIELD rule wrote, read like client input (a rule cannot store what
    the API would refuse)."""
    return validate(UtcDatetime | None, value, "due_at")


def _rank_units(hl: HandlingList, shipment_ids: list) -> None:
    """Put the shipments' open units on the list, ranked so the picker walks the aisle once."""
    by_sku, by_code = _walk_order(hl.tenant_id, hl.location_id)
    order = {sid: i for i, sid in enumerate(shipment_ids)}
    units = db.session.scalars(
        sa.select(ShipmentItem).where(
            ShipmentItem.shipment_id.in_(shipment_ids),
            ShipmentItem.is_missing.is_(False),
            ShipmentItem.parcel_id.is_(None),
        )
    ).all()
    keyed = []
    for u in units:
        code = u.position or (by_sku.get(u.sku) or (None, None))[0]
        sorting = by_code.get(code) if code else None
        if code and not u.position:
            u.position = code
        big = 10**9
        keyed.append(
            ((sorting if sorting is not None else big, code or "~", u.sku, order[u.shipment_id], u.sequence), u)
        )
    for rank, (_, u) in enumerate(sorted(keyed, key=lambda k: k[0])):
        u.list_id, u.rank = hl.id, rank


def rerank(hl: HandlingList) -> None:
    """Rank an open list's units again (their positions changed): the shipments the list
    still holds, in the list's order."""
    held = set(db.session.scalars(sa.select(Shipment.id).where(Shipment.active_list_id == hl.id)))
    _rank_units(hl, [ls.shipment_id for ls in hl.shipments if ls.shipment_id in held])


# --- reading ----------------------------------------------------------------------------------


def _units(hl: HandlingList) -> list[ShipmentItem]:
    return list(
        db.session.scalars(sa.select(ShipmentItem).where(ShipmentItem.list_id == hl.id).order_by(ShipmentItem.rank))
    )


def grouped(hl: HandlingList, units: list[ShipmentItem] | None = None) -> list[dict]:
    """``LcsHandlingListItem``: units grouped by shipment, SKU and position, in walk order."""
    units = _units(hl) if units is None else units
    labels = {ls.shipment_id: ls.label for ls in hl.shipments}
    groups: OrderedDict = OrderedDict()
    for u in units:
        key = (u.position or "", u.sku, u.shipment_id)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {
                "id": uuid.uuid5(GROUP_NS, f"{hl.id}|{u.shipment_id}|{u.sku}|{u.position}"),
                "ids": [],
                "handled_ids": [],
                "missing_ids": [],
                "shipment_id": u.shipment_id,
                "sku": u.sku,
                "description": u.description,
                "position": u.position,
                "quantity": 0,
                "sorting_label": labels.get(u.shipment_id),
                "rank": len(groups),
            }
        g["ids"].append(u.id)
        g["quantity"] += 1
        if u.is_handled:
            g["handled_ids"].append(u.id)
        if u.is_missing:
            g["missing_ids"].append(u.id)
    return list(groups.values())


def _base_row(hl: HandlingList) -> dict:
    return {
        "id": hl.id,
        "number": hl.number,
        "sub": hl.sub,
        "location_id": hl.location_id,
        "shipments": [ls.shipment_id for ls in hl.shipments],
        "is_outbound": hl.is_outbound,
        "is_in_progress": hl.started_at is not None and not hl.is_finished and not hl.is_cancelled,
        "is_on_hold": hl.is_on_hold,
        "is_cancelled": hl.is_cancelled,
        "is_finished": hl.is_finished,
        "started_at": hl.started_at,
        "finished_at": hl.finished_at,
        "due_at": hl.due_at,
        "created_at": hl.created_at,
        "updated_at": hl.updated_at,
    }


def listed_row(hl: HandlingList, units: list[ShipmentItem] | None = None) -> dict:
    """``LcsListedHandlingList`` (GET /lcs/lists): items one per unit."""
    units = _units(hl) if units is None else units
    return {**_base_row(hl), "items": [unit_row(u) for u in units]}


def detail_row(hl: HandlingList) -> dict:
    """``LcsHandlingList`` (GET /lcs/lists/{id}, search): grouped pick lines + sorting labels."""
    units = _units(hl)
    return {
        **_base_row(hl),
        "items": [{k: v for k, v in g.items() if k not in ("id", "missing_ids")} for g in grouped(hl, units)],
        "sorting_labels": [{"shipment_id": ls.shipment_id, "label": ls.label} for ls in hl.shipments if ls.label],
        "finish_blocked": finish_blocked(hl),
    }


def shipment_rows(hl: HandlingList) -> list[dict]:
    """The list's shipments for its page, in tote order: number, tote label, its units on the
    list and how many are picked, and whether it is still on the list (a cancel releases it)."""
    u = ShipmentItem
    counts = {
        sid: (units, picked)
        for sid, units, picked in db.session.execute(
            sa.select(
                u.shipment_id,
                sa.func.count(u.id),
                sa.func.sum(sa.case((sa.and_(u.is_handled, sa.not_(u.is_missing)), 1), else_=0)),
            )
            .where(u.list_id == hl.id)
            .group_by(u.shipment_id)
        )
    }
    return [
        {
            "id": ls.shipment_id,
            "number": ls.shipment.number,
            "label": ls.label,
            "units": counts.get(ls.shipment_id, (0, 0))[0],
            "picked": counts.get(ls.shipment_id, (0, 0))[1] or 0,
            "on_list": ls.shipment.active_list_id == hl.id,
        }
        for ls in hl.shipments
    ]


def finish_blocked(hl: HandlingList) -> str | None:
    """The GUARD message that kept the list open when its last unit was handled — only while
    it still stands (finished, or units open again: nothing blocks a finish)."""
    if not hl.finish_blocked or hl.is_finished or hl.is_cancelled or progress(hl).open:
        return None
    return hl.finish_blocked


def created_row(hl: HandlingList) -> dict:
    """``LcsHandlingListResponse`` (POST /lcs/lists), plus ``number`` for convenience."""
    row = _base_row(hl)
    return {
        k: row[k]
        for k in (
            "id",
            "number",
            "sub",
            "shipments",
            "location_id",
            "is_outbound",
            "is_in_progress",
            "is_on_hold",
            "is_finished",
            "started_at",
            "finished_at",
            "due_at",
            "created_at",
            "updated_at",
        )
    } | {"is_assigned": hl.sub is not None}


_h = HandlingList
SEARCH_FIELDS: dict[str, Field] = {
    "ids": Field(_h.id, "uuid"),
    "sub": Field(_h.sub),
    "location_id": Field(_h.location_id, "uuid"),
    "is_on_hold": Field(_h.is_on_hold, "bool"),
    "is_finished": Field(_h.is_finished, "bool"),
    "is_in_progress": Field(
        kind="bool",
        build=lambda v: (
            sa.and_(_h.started_at.is_not(None), _h.is_finished.is_(False))
            if v
            else sa.or_(_h.started_at.is_(None), _h.is_finished.is_(True))
        ),
    ),
    "is_assigned": Field(kind="bool", build=lambda v: _h.sub.is_not(None) if v else _h.sub.is_(None)),
}


def search(actor: Actor, constraints: Sequence[LcsListSearchConstraint]) -> sa.Select:
    """Lists matching ``LcsListSearch`` in the caller's scope; the caller orders them
    (``paginate_b``'s keyset)."""
    return apply_constraints(actor.scope.select(_h), constraints, SEARCH_FIELDS)


@dataclass
class Progress:
    total: int
    handled: int
    missing: int

    @property
    def open(self) -> int:
        return self.total - self.handled - self.missing

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * (self.handled + self.missing) / self.total)

    def as_dict(self) -> dict:
        """What the station, the dashboard and rule conditions read as ``progress``."""
        return {
            "total": self.total,
            "handled": self.handled,
            "missing": self.missing,
            "open": self.open,
            "percent": self.percent,
        }


@functools.cache
def _progress_stmt() -> sa.Select:
    """Built once (``list_id`` bound per call), as the scan's other hot statements: building
    them cost a scan more than running them (CPU per scan 6.7 → 5.6 ms for the first two)."""
    u = ShipmentItem
    return sa.select(
        sa.func.count(u.id),
        sa.func.sum(sa.case((sa.and_(u.is_handled, sa.not_(u.is_missing)), 1), else_=0)),
        sa.func.sum(sa.case((u.is_missing, 1), else_=0)),
    ).where(u.list_id == sa.bindparam("list_id"))


def progress(hl: HandlingList) -> Progress:
    total, handled, missing = db.session.execute(_progress_stmt(), {"list_id": hl.id}).one()
    return Progress(total or 0, handled or 0, missing or 0)


def _here(hl: HandlingList, sku: str, position: str | None) -> tuple:
    """The open units of ``sku`` at ``position`` on ``hl``, whatever shipment they belong to:
    what a picker takes from that shelf in one go."""
    u = ShipmentItem
    return (
        u.list_id == hl.id,
        u.sku == sku,
        u.position.is_(None) if position is None else u.position == position,
        u.is_handled.is_(False),
        u.is_missing.is_(False),
    )


def shipment_numbers(ids) -> dict:
    """Shipment id → number (S-000006), for lines that name their shipment."""
    return dict(db.session.execute(sa.select(Shipment.id, Shipment.number).where(Shipment.id.in_(list(ids)))).all())


@functools.cache
def _next_pick_stmt() -> sa.Select:
    """The first open unit (walk order) as a CTE, and per shipment (the list's order, with
    its tote) the open units of its SKU at its position; built once (``list_id`` bound per
    call): it answers every scan and every station poll."""
    u, list_id = ShipmentItem, sa.bindparam("list_id")
    is_open = (u.list_id == list_id, u.is_handled.is_(False), u.is_missing.is_(False))
    first = sa.select(u.sku, u.position, u.description, u.shipment_id).where(*is_open).order_by(u.rank).limit(1)
    first = first.cte("first_pick")
    return (
        sa.select(
            first.c.sku,
            first.c.position,
            first.c.description,
            first.c.shipment_id.label("first_shipment"),
            u.shipment_id,
            Shipment.number,
            ListShipment.label,
            sa.func.count(u.id),
        )
        .join(first, sa.and_(u.sku == first.c.sku, u.position.is_not_distinct_from(first.c.position)))
        .join(Shipment, Shipment.id == u.shipment_id)
        .join(ListShipment, sa.and_(ListShipment.list_id == list_id, ListShipment.shipment_id == u.shipment_id))
        .where(*is_open)
        .group_by(*first.c, u.shipment_id, Shipment.number, ListShipment.label, ListShipment.position)
        .order_by(ListShipment.position)
    )


def next_pick(hl: HandlingList) -> dict | None:
    """The first pick (walk order) that still has units to pick, per position: ``left`` is
    everything of that SKU to take at that position, ``split`` which shipment (tote) each
    goes to, in the list's order; ``shipment_id``/``sorting_label`` are the first unit's.
    One indexed query, not a walk over the whole list."""
    rows = db.session.execute(_next_pick_stmt(), {"list_id": hl.id}).all()
    if not rows:
        return None
    sku, position, description, shipment_id = rows[0][:4]
    split = [{"shipment_id": r.shipment_id, "number": r.number, "sorting_label": r.label, "left": r[-1]} for r in rows]
    return {
        "sku": sku,
        "description": description,
        "position": position,
        "left": sum(s["left"] for s in split),
        "shipment_id": shipment_id,
        "sorting_label": next((s["sorting_label"] for s in split if s["shipment_id"] == shipment_id), None),
        "split": split,
    }


# --- state ---------------------------------------------------------------------------------------


def require_active(hl: HandlingList, *, allow_hold: bool = False) -> None:
    if hl.is_cancelled:
        raise Conflict(f"Handling list {hl.number} is cancelled")
    if hl.is_finished:
        raise Conflict(f"Handling list {hl.number} is finished")
    if hl.is_on_hold and not allow_hold:
        raise Conflict(f"Handling list {hl.number} is on hold")


@command()
def set_state(actor: Actor, list_id, data: LcsHandlingListUpdate) -> HandlingList:
    """Hold/resume (``is_on_hold``), assign (``sub``: a picker of the list's tenant, see
    ``pickers``; null unassigns) and Wharf's ``is_finished: true``; fields not sent stay as they are."""
    hl = get_list(actor, list_id)
    require_active(hl, allow_hold=True)
    if data.is_finished:
        return finish(actor, hl.id)
    values = {}
    if "sub" in data.model_fields_set:
        pickers.check_assignee(hl, data.sub)
        values["sub"] = data.sub
    if data.is_on_hold is not None and data.is_on_hold != hl.is_on_hold:
        if data.is_on_hold:
            events.before("lcs.list", "holding", {"id": str(hl.id)}, {"actor": actor})
        values["is_on_hold"] = data.is_on_hold
    if values:
        done = db.session.execute(
            sa.update(HandlingList)
            .where(HandlingList.id == hl.id, HandlingList.is_finished.is_(False), HandlingList.is_cancelled.is_(False))
            .values(**values, version=HandlingList.version + 1, updated_at=utcnow())
        ).rowcount
        if not done:
            raise Conflict("Handling list changed state meanwhile")
        db.session.refresh(hl)
        if values.get("is_on_hold"):
            held = {"id": str(hl.id)}
            after_commit(lambda: events.after("lcs.list", "held", held, {"actor": actor}))
    return hl


@command(retry_deadlocks=True)
def finish(actor: Actor, list_id) -> HandlingList:
    """Finish once (Wharf's ``WHARF:FINISH`` / ``{is_finished: true}``): every unit handled or
    missing; a second finish is a 409, a GUARD rule's refusal a 422 that changes nothing."""
    hl = get_list(actor, list_id)
    require_active(hl)
    p = progress(hl)
    if p.open:
        raise Conflict(f"{p.open} unit{'s' if p.open != 1 else ''} still to pick")
    _finish_now(actor, hl)
    return hl


def _finish_now(actor: Actor, hl: HandlingList) -> None:
    """The finish itself, for the explicit finish and the one that follows the last unit:
    the ``finishing`` rules (a GUARD raises ``Blocked``), the conditional update, the
    "finished" scan event, and the ``finished`` event once committed."""
    events.before("lcs.list", "finishing", {"id": str(hl.id), "number": hl.number}, {"actor": actor})
    now = utcnow()
    done = db.session.execute(
        sa.update(HandlingList)
        .where(
            HandlingList.id == hl.id,
            HandlingList.is_finished.is_(False),
            HandlingList.is_cancelled.is_(False),
            HandlingList.is_on_hold.is_(False),
        )
        .values(
            is_finished=True, finished_at=now, finish_blocked=None, version=HandlingList.version + 1, updated_at=now
        )
    ).rowcount
    if not done:
        raise Conflict(f"Handling list {hl.number} is already finished")
    record(actor, hl, "finished")
    db.session.refresh(hl)
    finished = {"id": str(hl.id), "number": hl.number}
    after_commit(lambda: events.after("lcs.list", "finished", finished, {"actor": actor}))


@dataclass(frozen=True)
class Finishing:
    """What handling a list's units did to the list: ``finished`` it, or a GUARD rule
    ``blocked`` finishing (its message); neither while units are still open."""

    finished: bool = False
    blocked: str | None = None
    progress: Progress | None = None  # the units as they stand in this transaction


def finish_if_done(actor: Actor, hl: HandlingList, *, locked: bool = False) -> Finishing:
    """Seed 001 has no finish call: the write that handles or marks missing the last open unit
    finishes the list, in its own transaction. A GUARD rule that refuses finishing undoes
    only the finish (a savepoint; the refusal's rule logs are kept): the units stay handled,
    the list stays open with the rule's message in ``finish_blocked`` (list page, station).

    Takes the list row's lock before counting (units first, list row last, as every writer):
    two pickers handling the last two units at once queue here, so the second one sees the
    first one's unit and finishes — the list cannot end up complete but open. ``locked``:
    the caller already updated the list row in this transaction and read it back (``_picked``)."""
    if not locked:
        db.session.execute(
            sa.update(HandlingList).where(HandlingList.id == hl.id).values(updated_at=HandlingList.updated_at)
        )
        db.session.refresh(hl)
    p = progress(hl)
    if hl.is_finished or hl.is_cancelled or hl.is_on_hold or p.open or not p.total:  # an emptied list stays
        return Finishing(progress=p)
    try:
        with savepoint():
            _finish_now(actor, hl)
    except events.Blocked as refused:
        db.session.execute(
            sa.update(HandlingList).where(HandlingList.id == hl.id).values(finish_blocked=refused.message[:500])
        )
        db.session.refresh(hl)
        return Finishing(blocked=refused.message, progress=p)
    return Finishing(finished=True, progress=p)


def _leaving(hl: HandlingList) -> list[ShipmentItem]:
    """The units a cancel takes off ``hl``: every unit on it not yet in a parcel."""
    return list(
        db.session.scalars(
            sa.select(ShipmentItem).where(ShipmentItem.list_id == hl.id, ShipmentItem.parcel_id.is_(None))
        )
    )


def _was_picked(unit: ShipmentItem) -> bool:
    return unit.is_handled and not unit.is_missing


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def cancel_question(hl: HandlingList) -> str:
    """What the Cancel button asks: exactly what a cancel does to the picks and shipments
    (seed: DELETE cancels and releases the shipments; picked units go back to open)."""
    leaving = _leaving(hl)
    picked = [u for u in leaving if _was_picked(u)]
    held = list(
        db.session.execute(
            sa.select(Shipment.id, Shipment.number).where(Shipment.active_list_id == hl.id).order_by(Shipment.number)
        )
    )
    numbers = {sid: number for sid, number in held}
    if picked:
        where = sorted({numbers.get(u.shipment_id, "its shipment") for u in picked})
        verb = "goes" if len(picked) == 1 else "go"
        said = f"{_plural(len(picked), 'picked unit', 'picked units')} {verb} back to open on {', '.join(where)}"
    else:
        said = "Nothing has been picked yet"
    packed = db.session.scalar(
        sa.select(sa.func.count(ShipmentItem.id)).where(
            ShipmentItem.list_id == hl.id, ShipmentItem.parcel_id.is_not(None)
        )
    )
    if len(held) == 1:
        said += "; the shipment leaves the list and can go on another one"
    elif held:
        said += f"; the {len(held)} shipments leave the list and can go on other ones"
    if packed:
        said += (
            "; 1 unit already in a parcel stays packed"
            if packed == 1
            else f"; {packed} units already in parcels stay packed"
        )
    return f"Cancel {hl.number}? {said}."


@dataclass(frozen=True)
class Cancelled:
    """What a cancelled list still tells (its units have left it): when, by whom, how many of
    its ``total`` units had been ``picked``, how many of those ``returned`` to open, and how
    many stayed on it (already in a parcel)."""

    at: datetime
    user_id: uuid.UUID | None
    total: int
    picked: int
    returned: int
    stayed: int


def cancelled(hl: HandlingList) -> Cancelled | None:
    """The cancel of ``hl`` as its history recorded it (None: not cancelled, or before the
    history said so)."""
    e = ScanEvent
    mark = db.session.scalars(
        sa.select(e).where(e.list_id == hl.id, e.kind == "cancelled").order_by(e.created_at.desc()).limit(1)
    ).first()
    if not hl.is_cancelled or mark is None:
        return None
    counts = dict(
        db.session.execute(
            sa.select(e.kind, sa.func.count(e.id))
            .where(e.list_id == hl.id, e.kind.in_(("returned", "released")))
            .group_by(e.kind)
        ).all()
    )
    returned, stayed = counts.get("returned", 0), progress(hl)  # what stayed on the list: in parcels
    return Cancelled(
        at=mark.created_at,
        user_id=mark.user_id,
        total=returned + counts.get("released", 0) + stayed.total,
        picked=returned + stayed.handled,
        returned=returned,
        stayed=stayed.total,
    )


@command()
def cancel(actor: Actor, list_id) -> None:
    """DELETE: cancel the list and release its shipments: their units not yet in a parcel leave
    the list, picked ones back to open. The history keeps the cancel and each unit that left
    (``returned``: it had been picked; ``released``) — the cancelled list's page tells it."""
    hl = get_list(actor, list_id)
    if hl.is_cancelled:
        return
    if hl.is_finished:
        raise Conflict(f"Handling list {hl.number} is finished")
    kinds = [("returned" if _was_picked(u) else "released", u.id) for u in _leaving(hl)]  # before the UPDATE
    # Units first, list row last (the lock order of every writer).
    db.session.execute(
        sa.update(ShipmentItem)
        .where(ShipmentItem.list_id == hl.id, ShipmentItem.parcel_id.is_(None))
        .values(list_id=None, is_handled=False, handled_at=None, handled_by=None)
    )
    record(actor, hl, "cancelled")
    for kind, unit_id in kinds:
        record(actor, hl, kind, item_id=unit_id)
    db.session.execute(sa.update(Shipment).where(Shipment.active_list_id == hl.id).values(active_list_id=None))
    done = db.session.execute(
        sa.update(HandlingList)
        .where(HandlingList.id == hl.id, HandlingList.is_finished.is_(False), HandlingList.is_cancelled.is_(False))
        .values(is_cancelled=True, version=HandlingList.version + 1, updated_at=utcnow())
    ).rowcount
    if not done:
        raise Conflict("Handling list changed state meanwhile")


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


@functools.cache
def _event_stmt() -> sa.Insert:
    return sa.insert(ScanEvent)


def record(actor: Actor, on, kind: str, *, item_id=None, code: str | None = None, reason: str | None = None) -> None:
    """One line of a list's history (``ScanEvent``): what ``actor`` did on list ``on`` (a list,
    or a row with ``tenant_id`` and ``list_id``), the code as scanned (trimmed to the column).
    Written at once, not staged for the unit of work: a scan writes one, and nothing reads the
    row back as an object (the flush cost a scan more than the INSERT)."""
    db.session.execute(
        _event_stmt(),
        {
            "tenant_id": on.tenant_id,
            "list_id": getattr(on, "list_id", None) or on.id,
            "item_id": item_id,
            "kind": kind,
            "code": code.strip()[:200] if code else None,
            "reason": reason,
            "user_id": actor.user_id,
        },
    )


@functools.cache
def _picked_stmt() -> sa.Update:
    """Built once (a scan's statements cost more to build than to run)."""
    return (
        sa.update(HandlingList)
        .where(HandlingList.id == sa.bindparam("list_id"))
        .values(
            started_at=sa.func.coalesce(HandlingList.started_at, sa.bindparam("now")),
            version=HandlingList.version + 1,
        )
        .returning(HandlingList)
        .execution_options(populate_existing=True, synchronize_session=False)
    )


def _picked(hl: HandlingList) -> None:
    """A unit of ``hl`` was picked: the list has started, and its version (the live views'
    ETag) moves. After the unit's UPDATE: units, then the list row, as every writer locks.
    The row comes back into ``hl`` (RETURNING): it is locked and current from here on, so
    ``finish_if_done(…, locked=True)`` neither locks nor reads it again. Its shipments (the
    totes), when loaded, are kept: a pick does not change them."""
    totes = hl.__dict__.get("shipments")
    db.session.execute(_picked_stmt(), {"list_id": hl.id, "now": utcnow()}).all()
    if totes is not None:
        set_committed_value(hl, "shipments", totes)


def _set_handled(unit_id, list_id, handled: bool, actor: Actor, scanned: codes.Scan | None = None) -> bool:
    """The one write that changes a unit's handled state: true only for the request that
    actually flipped it (a retry or a concurrent twin gets False). A GS1 scan that names
    the lot (10) or expiry (17) of what was picked records them on the unit (traceability)."""
    values = {
        "is_handled": handled,
        "handled_at": utcnow() if handled else None,
        "handled_by": actor.user_id if handled else None,
        "updated_at": utcnow(),
    }
    if scanned is not None and scanned.lot:
        values["lot_number"] = scanned.lot[:64]
    if scanned is not None and scanned.expires:
        values["expires_at"] = datetime.combine(scanned.expires, time.min, tzinfo=UTC)
    return bool(
        db.session.execute(
            sa.update(ShipmentItem)
            .where(
                ShipmentItem.id == unit_id,
                ShipmentItem.list_id == list_id,
                ShipmentItem.is_handled.is_(not handled),
                ShipmentItem.is_missing.is_(False),
            )
            .values(**values)
        ).rowcount
    )


@command(retry_deadlocks=True)
def update_items(actor: Actor, list_id, entries: Sequence[LcsHandlingListItemUpdate]) -> None:
    """PUT /lcs/lists/{id}/items: per-unit changes, idempotent (PUT semantics). Only the
    fields an entry sends change; units of another list → 400 (nothing changes)."""
    hl = get_list(actor, list_id)
    require_active(hl)
    on_list = set(
        db.session.scalars(
            sa.select(ShipmentItem.id).where(
                ShipmentItem.id.in_({e.id for e in entries}), ShipmentItem.list_id == hl.id
            )
        )
    )
    strangers = [i for i, e in enumerate(entries) if e.id not in on_list]
    if strangers:
        raise ValidationFailed(
            "Units that are not on this list",
            details=[{"path": [i, "id"], "message": "is not a unit of this list"} for i in strangers],
        )
    started = False
    # Lock order is always units (by id) → list row, in every writer: no deadlocks on PostgreSQL.
    for e in sorted(entries, key=lambda entry: entry.id):
        if e.is_handled is not None and _set_handled(e.id, hl.id, e.is_handled, actor):
            record(actor, hl, "handled" if e.is_handled else "unhandled", item_id=e.id)
            started = started or e.is_handled
        other = {k: getattr(e, k) for k in ("is_serviced", "is_finished") if getattr(e, k) is not None}
        other |= {k: getattr(e, k) for k in ("position", "lot_number", "expires_at") if k in e.model_fields_set}
        if other:
            db.session.execute(
                sa.update(ShipmentItem).where(ShipmentItem.id == e.id).values(**other, updated_at=utcnow())
            )
    # The list may have been held, finished or cancelled meanwhile: refuse as a whole.
    values = {"version": HandlingList.version + 1}
    if started:
        values["started_at"] = sa.func.coalesce(HandlingList.started_at, utcnow())
    still = db.session.execute(
        sa.update(HandlingList)
        .where(
            HandlingList.id == hl.id,
            HandlingList.is_finished.is_(False),
            HandlingList.is_cancelled.is_(False),
            HandlingList.is_on_hold.is_(False),
        )
        .values(**values)
    ).rowcount
    if not still:
        raise Conflict("Handling list changed state meanwhile")
    finish_if_done(actor, hl)


def set_units_missing(actor: Actor, units: dict[uuid.UUID, ShipmentItem], wanted: dict[uuid.UUID, bool]) -> None:
    """Mark units missing or found (``PUT /lcs/shipments/{id}/items/missing``). A listed unit
    agrees with the station: marking it missing records a "missing" event at its position
    (reason unspecified) that the short-picks report counts, marking it found takes that
    back; a unit of a finished, held or cancelled list that would change → 409 (re-sending
    its current value is fine); the write that resolves a list's last open unit finishes it."""
    changing = {uid: missing for uid, missing in wanted.items() if units[uid].is_missing != missing}
    touched = {units[uid].list_id for uid in changing if units[uid].list_id is not None}
    handling = db.session.scalars(
        sa.select(HandlingList).where(HandlingList.id.in_(touched)).order_by(HandlingList.number)
    ).all()
    for hl in handling:
        require_active(hl)  # 409 naming the list
    flipped: dict[bool, list] = {True: [], False: []}
    for uid, missing in sorted(changing.items()):  # units first (by id), list rows last
        flipped[missing] += db.session.execute(
            sa.update(ShipmentItem)
            .where(ShipmentItem.id == uid, ShipmentItem.is_missing.is_(not missing))
            .values(is_missing=missing, updated_at=utcnow())
            .returning(ShipmentItem.id, ShipmentItem.list_id, ShipmentItem.tenant_id, ShipmentItem.position)
        ).all()
    for missing, rows in flipped.items():
        record_missing(actor, [f for f in rows if f.list_id is not None], missing)
    for hl in handling:
        still = db.session.execute(
            sa.update(HandlingList)
            .where(
                HandlingList.id == hl.id,
                HandlingList.is_finished.is_(False),
                HandlingList.is_cancelled.is_(False),
                HandlingList.is_on_hold.is_(False),
            )
            .values(version=HandlingList.version + 1)
        ).rowcount
        if not still:
            raise Conflict(f"Handling list {hl.number} changed state meanwhile")
        finish_if_done(actor, hl)


def record_missing(actor: Actor, flipped: Sequence, missing: bool) -> None:
    """The short-pick history of listed units just marked missing or found (rows with
    ``id, list_id, tenant_id, position``): a "missing" event at the unit's position (no
    reason: the API names none), or the unit's missing events taken back."""
    if not missing:
        short_picks.undo_missing([f.id for f in flipped])
        return
    for f in flipped:
        record(actor, f, "missing", item_id=f.id, code=f.position)


# --- scanning -------------------------------------------------------------------------------------

SCAN_TOGGLES = ("lcs.scan.confirm_quantity", "lcs.scan.confirm_tote")


def scan_toggles(tenant_id) -> dict[str, bool]:
    """The toggles the station obeys, as they stand for ``tenant_id`` (cached by version)."""
    return {t: bool(toggles.value_for(t, tenant_id, False)) for t in SCAN_TOGGLES}


@dataclass
class ScanResult:
    status: str  # ok | warning | error | done
    message: str
    item_id: uuid.UUID | None = None
    sku: str | None = None
    action: str | None = None  # handled | undone | finished | pending | missing | redirected | tote
    extra: dict = field(default_factory=dict)
    tote: str | None = None  # the sorting label the picked unit goes into (lists of several shipments)
    progress: Progress | None = None  # the list's units as this scan left them (when it changed one)


@command(retry_deadlocks=True)
def scan(actor: Actor, list_id, raw: str, reason: str = "empty_location") -> ScanResult:
    """Handle the next open unit (walk order) of what was scanned (``LcsScan.code``);
    commands finish, undo or short-pick (``WHARF:MISSING`` with ``reason``). The scan that
    handles the last open unit finishes the list (``finish_if_done``)."""
    return _scan(actor, get_list(actor, list_id), raw, reason)


def _scan(actor: Actor, hl: HandlingList, raw: str, reason: str) -> ScanResult:
    parsed = codes.parse(raw)
    if parsed.command == "finish" and not awaited_tote(hl, actor):  # else: the tote first
        finish(actor, hl.id)
        return ScanResult("done", f"Handling list {hl.number} finished", action="finished")
    if parsed.command == "undo":
        return undo(actor, hl.id)
    require_active(hl)
    if waiting := awaited_tote(hl, actor):
        return _tote_scanned(hl, waiting, parsed, raw, actor)
    if parsed.command == "tote":
        return ScanResult("warning", f"No tote to confirm: scan an item first ({parsed.code})")
    if parsed.command == "missing":
        return short_pick(actor, hl, reason)
    if parsed.unit_id is not None:
        unit = db.session.get(ShipmentItem, parsed.unit_id)
        if unit is None or unit.list_id != hl.id:
            return _reject(hl, raw, actor, "Unit is not on this list")
        if _set_handled(unit.id, hl.id, True, actor, parsed):
            return _handled(hl, unit, raw, actor)
        return ScanResult("warning", f"{unit.sku}: this unit was already picked", unit.id, unit.sku)
    skus = products.code_skus(parsed)
    candidates = _open_units(hl, skus)
    if not candidates:  # not an open unit's SKU as printed: a product barcode, an over-pick or unknown
        skus = products.scanned_skus(hl.tenant_id, parsed, ShipmentItem.list_id == hl.id)
        if not skus:
            return _reject(hl, raw, actor, f"Unknown code {raw.strip()[:60]} — not on this list")
        candidates = _open_units(hl, skus)
    confirm = toggles.value_for("lcs.scan.confirm_quantity", hl.tenant_id, False)
    for attempt in range(10_000):  # each miss means another picker committed a unit: look again until none is open
        if attempt:
            candidates = _open_units(hl, skus)
        if not candidates:
            break
        if confirm and (here := _open_here(hl, candidates[0])) and len(here) > 1:
            if not _confirming(hl, raw, actor):
                record(actor, hl, "pending", item_id=here[0].id, code=raw)
                at = f" at {here[0].position}" if here[0].position else ""
                return ScanResult(
                    "warning",
                    f"{here[0].sku}: {len(here)} to pick{at} — scan again to take all {len(here)}",
                    here[0].id,
                    here[0].sku,
                    action="pending",
                )
            if taken := _take(hl, here, actor, parsed):
                return _handled_all(hl, taken, raw, actor)
            continue  # another picker took them meanwhile: look again
        for unit in candidates:
            if _set_handled(unit.id, hl.id, True, actor, parsed):
                return _handled(hl, unit, raw, actor)
    discard()
    return ScanResult("warning", f"{skus[0]}: everything of this product is already picked (over-pick)", None, skus[0])


@functools.cache
def _open_units_stmt() -> sa.Select:
    u = ShipmentItem
    return (
        sa.select(u)
        .where(
            u.list_id == sa.bindparam("list_id"),
            u.sku.in_(sa.bindparam("skus", expanding=True)),
            u.is_handled.is_(False),
            u.is_missing.is_(False),
        )
        .order_by(u.rank)
        .limit(5)
    )


def _open_units(hl: HandlingList, skus: list[str]) -> list[ShipmentItem]:
    """The first open units of ``skus`` on ``hl`` in walk order: what a scan of them picks."""
    if not skus:
        return []
    return db.session.scalars(_open_units_stmt(), {"list_id": hl.id, "skus": list(skus)}).all()


def live_state(hl: HandlingList) -> str:
    """What a live view of ``hl`` is a function of: its version moves with every change of
    the list or of a unit on it (``touch_lists``)."""
    return f"{hl.id.hex[:8]}-{hl.version}"


@dataclass(frozen=True)
class Station:
    """The scan station as one read left it: the answer's body (``LcsScanStation``, with a
    scan's outcome ``LcsScanResult``) and what its page needs besides."""

    data: dict
    state: str  # the live part's ETag source: the list's version and the scan toggles it obeys
    sorts_into_totes: bool
    confirm_quantity: bool


def station_state(hl: HandlingList) -> str:
    """The live part is a function of the list's version and of the scan toggles (a tote
    prompt, "scan again to take all"): a toggle switched while a station is open reaches it
    with its next poll."""
    flags = "".join("1" if on else "0" for on in scan_toggles(hl.tenant_id).values())
    return f"{live_state(hl)}-{flags}"


def station(actor: Actor, hl: HandlingList, result: ScanResult | None = None) -> Station:
    """Progress, the next pick and the tote awaited, with ``result``'s outcome when a scan
    just ran (its counted progress is reused)."""
    p = result.progress if result is not None and result.progress is not None else progress(hl)
    waiting = awaited_tote(hl, actor)
    data = {
        "list_id": hl.id,
        "number": hl.number,
        "is_finished": hl.is_finished,
        "finish_blocked": finish_blocked(hl),
        "awaiting_tote": waiting is not None,
        "sorting_label": waiting.code if waiting else (result.tote if result else None),
        "progress": p.as_dict(),
        "next": next_pick(hl),
    }
    if result is not None:
        data |= {
            "status": result.status,
            "message": result.message,
            "item_id": result.item_id,
            "sku": result.sku,
            "action": result.action,
        }
    flags = scan_toggles(hl.tenant_id)
    return Station(data, station_state(hl), len(hl.shipments) > 1, flags["lcs.scan.confirm_quantity"])


@command(retry_deadlocks=True)
def scan_at_station(actor: Actor, list_id, raw: str, reason: str = "empty_location") -> Station:
    """``scan``, answered from the scan's own transaction: the list row it locked and read
    back, the progress it counted. (Reading the station again after the commit cost every
    scan a second transaction and four statements.)"""
    hl = get_list(actor, list_id, with_totes=True)
    result = _scan(actor, hl, raw, reason)
    if result.progress is None:  # not a pick (a command, a refusal): the list may have changed
        db.session.refresh(hl)  # by other means than _picked, which reads its row back
    return station(actor, hl, result)


def short_pick(actor: Actor, hl: HandlingList, reason: str) -> ScanResult:
    """ "Can't find it" / ``WHARF:MISSING`` on the current pick (``next_pick``). While another
    position of the list's location holds the SKU and the picker was not sent there yet,
    the SKU's open units at this position move there ("Try position X", a "redirected"
    event keeping the position tried); with none left, ONE unit is marked missing with
    ``reason`` (a "missing" event at its position) and the station moves on."""
    unit = db.session.scalars(
        sa.select(ShipmentItem)
        .where(ShipmentItem.list_id == hl.id, ShipmentItem.is_handled.is_(False), ShipmentItem.is_missing.is_(False))
        .order_by(ShipmentItem.rank)
        .limit(1)
    ).first()
    if unit is None:
        return ScanResult("warning", "Nothing left to pick")
    here = unit.position
    tried = _tried_positions(hl, unit.sku) | {here}
    alternate = next(
        (
            code
            for code in locations.positions_holding(Scope(hl.tenant_id), hl.location_id, unit.sku)
            if code not in tried
        ),
        None,
    )
    if alternate is not None:
        same_place = ShipmentItem.position.is_(None) if here is None else ShipmentItem.position == here
        db.session.execute(
            sa.update(ShipmentItem)
            .where(
                ShipmentItem.list_id == hl.id,
                ShipmentItem.sku == unit.sku,
                same_place,
                ShipmentItem.is_handled.is_(False),
                ShipmentItem.is_missing.is_(False),
            )
            .values(position=alternate, updated_at=utcnow())
        )
        _picked(hl)  # after the units (lock order); the other stations see the new position
        record(actor, hl, "redirected", item_id=unit.id, code=here, reason=reason)
        return ScanResult("warning", f"Try position {alternate}", unit.id, unit.sku, action="redirected")
    flipped = db.session.execute(
        sa.update(ShipmentItem)
        .where(
            ShipmentItem.id == unit.id,
            ShipmentItem.list_id == hl.id,
            ShipmentItem.is_handled.is_(False),
            ShipmentItem.is_missing.is_(False),
        )
        .values(is_missing=True, updated_at=utcnow())
    ).rowcount
    if not flipped:  # another picker handled it meanwhile: nothing to mark
        discard()
        return ScanResult("warning", f"{unit.sku} changed meanwhile — look at the next pick", unit.id, unit.sku)
    _picked(hl)  # started, and the live views' version moves
    record(actor, hl, "missing", item_id=unit.id, code=here, reason=reason)
    label = REASONS.get(reason, reason).lower()
    return _settled(
        actor, hl, ScanResult("ok", f"{unit.sku}: 1 marked missing ({label})", unit.id, unit.sku, action="missing")
    )


def _tried_positions(hl: HandlingList, sku: str) -> set[str | None]:
    """Positions the picker already found without this SKU on this list (redirected from or
    short-picked at)."""
    return set(
        db.session.scalars(
            sa.select(ScanEvent.code)
            .join(ShipmentItem, ShipmentItem.id == ScanEvent.item_id)
            .where(
                ScanEvent.list_id == hl.id,
                ScanEvent.kind.in_(("redirected", "missing")),
                ScanEvent.undone.is_(False),
                ShipmentItem.sku == sku,
            )
        )
    )


def _open_here(hl: HandlingList, unit: ShipmentItem) -> list[ShipmentItem]:
    """With lcs.scan.confirm_quantity on, what one confirmed scan takes: every open unit of
    ``unit``'s SKU at its position (all shipments, walk order) — but with lcs.scan.confirm_tote
    on, only those of one tote, since each tote is then confirmed by a scan of its own."""
    here = list(
        db.session.scalars(
            sa.select(ShipmentItem).where(*_here(hl, unit.sku, unit.position)).order_by(ShipmentItem.rank)
        )
    )
    if len(hl.shipments) > 1 and toggles.value_for("lcs.scan.confirm_tote", hl.tenant_id, False):
        here = [u for u in here if u.shipment_id == here[0].shipment_id]
    return here


def _confirming(hl: HandlingList, raw: str, actor: Actor) -> bool:
    """The caller's previous scan on this list asked to confirm this very code."""
    last = db.session.scalars(
        sa.select(ScanEvent)
        .where(ScanEvent.list_id == hl.id, ScanEvent.user_id == actor.user_id)
        .order_by(ScanEvent.created_at.desc())
        .limit(1)
    ).first()
    return bool(last and last.kind == "pending" and last.code == raw.strip()[:200])


def _take(hl: HandlingList, units: list[ShipmentItem], actor: Actor, parsed: codes.Scan) -> list[ShipmentItem]:
    """Handle ``units`` (by id: the lock order); the ones this request flipped, in walk order."""
    flipped = {u.id for u in sorted(units, key=lambda u: u.id) if _set_handled(u.id, hl.id, True, actor, parsed)}
    return [u for u in units if u.id in flipped]


def _handled_all(hl: HandlingList, taken: list[ShipmentItem], raw: str, actor: Actor) -> ScanResult:
    """A confirmed scan took ``taken`` (one SKU, one position): one "handled" event per unit,
    and a message that says where each goes ("put 2 in A, 1 in B")."""
    if len(taken) == 1:
        return _handled(hl, taken[0], raw, actor)
    _picked(hl)
    for unit in taken:
        record(actor, hl, "handled", item_id=unit.id, code=raw)
    sku, last = taken[0].sku, taken[-1]
    totes: OrderedDict[str, int] = OrderedDict()
    for unit in taken:
        tote = _tote_of(hl, unit)
        if tote is not None:
            totes[tote] = totes.get(tote, 0) + 1
    message = f"{sku} × {len(taken)} picked"
    tote = next(iter(totes)) if len(totes) == 1 else None
    if tote is not None and toggles.value_for("lcs.scan.confirm_tote", hl.tenant_id, False):
        record(actor, hl, "pending_tote", item_id=last.id, code=tote)
        message += f" — scan tote {tote}"
    elif totes:
        message += " — put " + ", ".join(f"{n} in {t}" for t, n in totes.items())
    return _settled(actor, hl, ScanResult("ok", message, last.id, sku, "handled", tote=tote))


def _handled(hl: HandlingList, unit: ShipmentItem, raw: str, actor: Actor) -> ScanResult:
    _picked(hl)
    record(actor, hl, "handled", item_id=unit.id, code=raw)
    tote = _tote_of(hl, unit)
    if tote is None:
        result = ScanResult("ok", f"{unit.sku} picked", unit.id, unit.sku, action="handled")
    elif toggles.value_for("lcs.scan.confirm_tote", hl.tenant_id, False):
        record(actor, hl, "pending_tote", item_id=unit.id, code=tote)
        result = ScanResult("ok", f"{unit.sku} picked — scan tote {tote}", unit.id, unit.sku, "handled", tote=tote)
    else:
        result = ScanResult("ok", f"{unit.sku} picked — put in {tote}", unit.id, unit.sku, "handled", tote=tote)
    return _settled(actor, hl, result)


def _settled(actor: Actor, hl: HandlingList, result: ScanResult) -> ScanResult:
    """A station write's answer once the list may have finished with it: "done" when it
    did, a warning with the rule's reason when a GUARD kept it open (the unit stays handled)."""
    outcome = finish_if_done(actor, hl, locked=True)  # every caller has just called _picked
    result.progress = outcome.progress
    if outcome.finished:
        result.status, result.message = "done", f"{result.message} — {hl.number} finished"
    elif outcome.blocked:
        result.status, result.message = "warning", f"{result.message} — {hl.number} not finished: {outcome.blocked}"
    return result


# --- totes: on a list of several shipments each unit goes into its shipment's tote -----------------


def _tote_of(hl: HandlingList, unit: ShipmentItem) -> str | None:
    """The sorting label (tote) of ``unit``'s shipment, on a list of several shipments (one
    shipment needs no sorting)."""
    labels = {ls.shipment_id: ls.label for ls in hl.shipments}
    return labels.get(unit.shipment_id) if len(labels) > 1 else None


def awaited_tote(hl: HandlingList, actor: Actor) -> ScanEvent | None:
    """With lcs.scan.confirm_tote on: the caller's pick still waiting for its tote scan — a
    ``pending_tote`` event not yet ``undone`` (the right tote or undoing the pick ends the
    wait; a wrong scan does not) and followed by no later pick of theirs (made while the toggle
    was off). Its ``code`` is the tote's label."""
    if hl.is_finished or not toggles.value_for("lcs.scan.confirm_tote", hl.tenant_id, False):
        return None  # a finished list (its last pick finished it) waits for nothing
    mine = (ScanEvent.list_id == hl.id, ScanEvent.user_id == actor.user_id)
    later = aliased(ScanEvent)
    picked_since = (
        sa.select(later.id)
        .where(later.list_id == hl.id, later.user_id == actor.user_id, later.kind == "handled")
        .where(later.created_at > ScanEvent.created_at)
    )
    return db.session.scalars(
        sa.select(ScanEvent)
        .where(*mine, ScanEvent.kind == "pending_tote", ScanEvent.undone.is_(False), ~picked_since.exists())
        .order_by(ScanEvent.created_at.desc())
        .limit(1)
    ).first()


def _tote_scanned(hl: HandlingList, waiting: ScanEvent, parsed: codes.Scan, raw: str, actor: Actor) -> ScanResult:
    """The scan after a pick that awaits its tote: the tote's label (as printed, or
    ``WHARF:TOTE:<label>``) ends the wait; anything else is refused and the station keeps asking."""
    tote = waiting.code or ""
    scanned = parsed.code if parsed.command == "tote" else raw.strip()
    unit = db.session.get(ShipmentItem, waiting.item_id)
    if (scanned or "").casefold() != tote.casefold():
        rejected = _reject(hl, raw, actor, f"Wrong tote {raw.strip()[:60]} — put {unit.sku} in tote {tote}")
        rejected.tote = tote
        return rejected
    ended = db.session.execute(
        sa.update(ScanEvent).where(ScanEvent.id == waiting.id, ScanEvent.undone.is_(False)).values(undone=True)
    ).rowcount
    if ended:
        record(actor, hl, "tote", item_id=unit.id, code=raw)
    return ScanResult("ok", f"{unit.sku} is in tote {tote}", unit.id, unit.sku, action="tote", tote=tote)


def _reject(hl: HandlingList, raw: str, actor: Actor, message: str) -> ScanResult:
    record(actor, hl, "rejected", code=raw)
    return ScanResult("error", message)


@command(retry_deadlocks=True)
def undo(actor: Actor, list_id) -> ScanResult:
    """Undo the caller's last pick on this list (once)."""
    hl = get_list(actor, list_id)
    require_active(hl)
    last = db.session.scalars(
        sa.select(ScanEvent)
        .where(
            ScanEvent.list_id == hl.id,
            ScanEvent.kind == "handled",
            ScanEvent.undone.is_(False),
            ScanEvent.user_id == actor.user_id,
        )
        .order_by(ScanEvent.created_at.desc())
        .limit(1)
    ).first()
    if last is None:
        return ScanResult("warning", "Nothing to undo")
    claimed = db.session.execute(
        sa.update(ScanEvent).where(ScanEvent.id == last.id, ScanEvent.undone.is_(False)).values(undone=True)
    ).rowcount
    if not claimed or not _set_handled(last.item_id, hl.id, False, actor):
        discard()
        return ScanResult("warning", "Nothing to undo")
    touch_lists([hl.id])
    unit = db.session.get(ShipmentItem, last.item_id)
    db.session.execute(  # an undone pick no longer waits for its tote
        sa.update(ScanEvent)
        .where(ScanEvent.list_id == hl.id, ScanEvent.item_id == unit.id, ScanEvent.kind == "pending_tote")
        .values(undone=True)
    )
    record(actor, hl, "unhandled", item_id=unit.id, code="WHARF:UNDO")
    return ScanResult("ok", f"Undone: {unit.sku} is back to pick", unit.id, unit.sku, action="undone")
