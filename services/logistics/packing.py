"""Packing by scan (issue 15): every scan moves one picked unit of the shipment into its open
parcel, so what goes into the box is checked against what the shipment needs.

The open parcel is the newest parcel of the shipment that is neither closed (label requested)
nor in transit; the first scan after a close opens the next one. A scan locks the shipment
row, so two packers never open two parcels at once, and moves its unit with a conditional
UPDATE (``parcel_id IS NULL``), so no unit is ever packed twice.
"""

from __future__ import annotations

import functools
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import sqlalchemy as sa

from models import Parcel, Product, Shipment, ShipmentItem, Task, db, utcnow
from schemas.lcs_parcels import LcsParcelCreateModel, LcsParcelModel
from services import documents
from services.acl import Actor
from services.commands import command, discard, lock
from services.errors import Conflict
from services.logistics import codes, parcels, products


@dataclass
class PackResult:
    status: str  # ok | warning | error
    message: str
    item_id: uuid.UUID | None = None
    sku: str | None = None


# A pack scan's statements are built once, their values bound per call (as the pick scan's,
# services.logistics.lists: building them cost a scan more than running them).


@functools.cache
def _open_parcel_stmt() -> sa.Select:
    return (
        sa.select(Parcel)
        .where(
            Parcel.shipment_id == sa.bindparam("shipment_id"),
            Parcel.closed_at.is_(None),
            Parcel.is_in_transit.is_(False),
        )
        .order_by(Parcel.created_at.desc(), Parcel.number.desc())
        .limit(1)
    )


def open_parcel(shipment_id) -> Parcel | None:
    return db.session.scalars(_open_parcel_stmt(), {"shipment_id": shipment_id}).first()


@dataclass(frozen=True)
class WeightHint:
    """What a parcel's contents weigh by the catalogue: ``grams`` of the units whose weight is
    known (the unit's own, else its product's), and how many units have none."""

    grams: int
    unknown: int


def suggested_weight(parcel_id, tenant_id) -> WeightHint:
    """The close form's suggestion: the packer still weighs, but a scale reading far from
    this shows a wrong or missing item before the label is printed."""
    rows = db.session.execute(
        sa.select(sa.func.coalesce(ShipmentItem.weight, Product.weight))
        .select_from(ShipmentItem)
        .outerjoin(Product, sa.and_(Product.tenant_id == tenant_id, Product.sku == ShipmentItem.sku))
        .where(ShipmentItem.parcel_id == parcel_id)
    ).scalars()
    weights = list(rows)
    return WeightHint(sum(w for w in weights if w), sum(1 for w in weights if not w))


@functools.cache
def _parcel_ids_stmt() -> sa.Select:
    return (
        sa.select(Parcel.id)
        .where(Parcel.shipment_id == sa.bindparam("shipment_id"))
        .order_by(Parcel.created_at, Parcel.number)
    )


def _parcel_ids(shipment_id) -> list[uuid.UUID]:
    """The shipment's parcels in packing order (what "parcel 2 of 3" counts)."""
    return list(db.session.scalars(_parcel_ids_stmt(), {"shipment_id": shipment_id}))


@functools.cache
def _packed_stmt() -> sa.Select:
    u = ShipmentItem
    return sa.select(
        sa.func.count(u.parcel_id),
        sa.func.sum(sa.case((sa.and_(u.parcel_id.is_(None), u.is_missing.is_(False)), 1), else_=0)),
    ).where(u.shipment_id == sa.bindparam("shipment_id"))


@functools.cache
def _units_stmt(by_id: bool) -> sa.Select:
    """A shipment's units of the scanned SKUs (``skus``), or the scanned unit (``unit_id``)."""
    u = ShipmentItem
    which = u.id == sa.bindparam("unit_id") if by_id else u.sku.in_(sa.bindparam("skus", expanding=True))
    return (
        sa.select(u.id, u.sku, u.is_handled, u.is_missing, u.parcel_id)
        .where(u.shipment_id == sa.bindparam("shipment_id"), which)
        .order_by(u.sequence)
    )


def scan_row(shipment_id, result: PackResult) -> dict:
    """``LcsPackScanResult``: the outcome, the open parcel and the shipment's packing count."""
    parcel = open_parcel(shipment_id)
    ids = _parcel_ids(shipment_id)
    packed, to_pack = db.session.execute(_packed_stmt(), {"shipment_id": shipment_id}).one()
    return {
        "status": result.status,
        "message": result.message,
        "parcel_id": parcel.id if parcel else None,
        "parcel_number": parcel.number if parcel else None,
        "parcel_index": ids.index(parcel.id) + 1 if parcel else None,
        "parcel_count": len(ids),
        "item_id": result.item_id,
        "sku": result.sku,
        "packed": packed or 0,
        "to_pack": to_pack or 0,
    }


def lines(units: list[dict]) -> list[dict]:
    """``LcsPackLine`` per SKU (in the shipment's order) from the shipment's unit rows."""
    by_sku: OrderedDict[str, dict] = OrderedDict()
    for unit in units:
        line = by_sku.setdefault(
            unit["sku"],
            {"sku": unit["sku"], "description": unit["description"], "needed": 0, "picked": 0, "packed": 0},
        )
        if unit["is_missing"]:
            continue
        line["needed"] += 1
        line["picked"] += unit["is_handled"]
        line["packed"] += unit["is_boxed"]
    return list(by_sku.values())


@command(retry_deadlocks=True)
def scan(actor: Actor, shipment_id, raw: str) -> PackResult:
    """Pack one picked, free unit of what was scanned (unit id, SKU, product barcode, GS1)
    into the open parcel, opening one if there is none. A code of no unit of the shipment is
    an error and one more than was picked a warning: both change nothing."""
    shipment = lock(actor.scope, Shipment, shipment_id, "Shipment")
    if shipment.is_canceled:
        raise Conflict(f"Shipment {shipment.number} is canceled")
    parsed = codes.parse(raw)
    shown = raw.strip()[:60]
    u = ShipmentItem
    if parsed.command is not None:
        discard()
        return PackResult("error", f"{shown} is a pick station command: nothing packed")

    def units_of(skus: list[str]) -> list:
        return db.session.execute(_units_stmt(False), {"shipment_id": shipment.id, "skus": skus}).all() if skus else []

    if parsed.unit_id is not None:
        units = db.session.execute(_units_stmt(True), {"shipment_id": shipment.id, "unit_id": parsed.unit_id}).all()
    else:  # the code as a SKU of the shipment's units; else a product barcode
        units = units_of(products.code_skus(parsed)) or units_of(products.barcode_skus(shipment.tenant_id, parsed))
    if not units:
        discard()
        return PackResult("error", f"{shown} is not in shipment {shipment.number}: nothing packed")
    sku = units[0].sku
    free = [x.id for x in units if x.is_handled and not x.is_missing and x.parcel_id is None]
    if free:
        parcel = open_parcel(shipment.id) or parcels.create_parcel(actor, LcsParcelCreateModel(shipment_id=shipment.id))
        for unit_id in free:
            moved = db.session.execute(
                sa.update(u)
                .where(u.id == unit_id, u.parcel_id.is_(None), u.is_handled.is_(True), u.is_missing.is_(False))
                .values(parcel_id=parcel.id, updated_at=utcnow())
            ).rowcount
            if moved:
                return PackResult("ok", f"{sku} packed", unit_id, sku)
    discard()
    picked = sum(1 for x in units if x.is_handled and not x.is_missing)
    if parsed.unit_id is not None:
        why = "already packed" if units[0].parcel_id else "missing" if units[0].is_missing else "not picked yet"
        return PackResult("warning", f"{sku}: this unit is {why}: nothing packed", units[0].id, sku)
    return PackResult("warning", f"{sku}: one more than was picked ({picked}): nothing packed", None, sku)


@command(retry_deadlocks=True)
def scan_at_station(actor: Actor, shipment_id, raw: str) -> dict:
    """``scan``, answered (``scan_row``) from the scan's own transaction: reading the station
    again after the commit cost every pack scan a second transaction."""
    return scan_row(shipment_id, scan(actor, shipment_id, raw))


@command()
def close_parcel(actor: Actor, parcel_id, weight: int) -> Task:
    """Weigh the parcel and request its label in one step: the parcel is closed, the next
    scan opens a new one. Refused like a label request (empty parcel, over the method's
    maximum weight: 422; in transit: 409) — and then the weight is not kept either. It takes
    the shipment's lock as a scan does: a scan in flight lands before the label, not after."""
    lock(actor.scope, Shipment, parcels.get_parcel(actor, parcel_id).shipment_id, "Shipment")
    parcel = parcels.update_parcel(actor, parcel_id, LcsParcelModel(weight=weight))
    db.session.refresh(parcel)
    return documents.request_label(actor, parcel.id)
