"""The packer's landing page (issue 15): which shipment a scanned code belongs to, and the
shipments waiting at the pack tables.

A packer holds a box, a pick list or a unit, not a URL: any code that names one shipment
(its number, its order id, a unit id, a parcel's SSCC) opens that shipment's pack station.
"""

from __future__ import annotations

import sqlalchemy as sa

from models import Parcel, Shipment, ShipmentItem, db
from services.acl import Actor
from services.errors import NotFound
from services.logistics import codes
from services.logistics.shipments import flag_condition

WAITING_LIMIT = 200  # a pack area with more waiting has a bigger problem than this page


def find_shipment(actor: Actor, raw: str) -> Shipment:
    """The shipment in the caller's scope that ``raw`` names; ``NotFound`` otherwise. An
    order with several shipments opens its oldest one not yet packed (else its newest)."""
    text = (raw or "").strip()
    shipments = actor.scope.select(Shipment)
    try:
        parsed = codes.parse(text)
    except codes.GS1Invalid:
        parsed = codes.Scan(text, code=text)
    if parsed.unit_id is not None:
        unit = sa.select(ShipmentItem.shipment_id).where(ShipmentItem.id == parsed.unit_id)
        found = db.session.scalars(shipments.where(Shipment.id.in_(unit))).first()
        if found:
            return found
    sscc = parsed.sscc or (text if text.isdigit() and len(text) == 18 else None)
    if sscc:
        parcel = actor.scope.select(Parcel).with_only_columns(Parcel.shipment_id).where(Parcel.number == sscc)
        found = db.session.scalars(shipments.where(Shipment.id.in_(parcel))).first()
        if found:
            return found
    if text:
        found = db.session.scalars(shipments.where(sa.func.upper(Shipment.number) == text.upper())).first()
        if found:
            return found
        by_order = db.session.scalars(
            shipments.where(Shipment.order_id == text).order_by(
                sa.case((_waiting(), 0), else_=1), Shipment.created_at.desc()
            )
        ).first()
        if by_order:
            return by_order
    raise NotFound(f"No shipment for {text[:60]!r}" if text else "Scan or type a code")


def _waiting() -> sa.ColumnElement:
    """Picked (every unit not missing) and not yet all in parcels, not canceled."""
    return sa.and_(
        flag_condition("is_handled", True), flag_condition("is_boxed", False), flag_condition("is_canceled", False)
    )


def waiting(actor: Actor) -> list[dict]:
    """``LcsPackWaiting`` rows: shipments to pack in the caller's scope, oldest first (at most
    ``WAITING_LIMIT``)."""
    u = ShipmentItem
    live = sa.not_(u.is_missing)
    tally = (
        sa.select(
            u.shipment_id,
            sa.func.sum(sa.case((sa.and_(live, u.is_handled), 1), else_=0)).label("picked"),
            sa.func.sum(sa.case((sa.and_(live, u.parcel_id.is_not(None)), 1), else_=0)).label("packed"),
            sa.func.sum(sa.case((live, 1), else_=0)).label("units"),
        )
        .group_by(u.shipment_id)
        .subquery()
    )
    stmt = (
        actor.scope.select(Shipment)
        .where(_waiting())
        .join(tally, tally.c.shipment_id == Shipment.id)
        .add_columns(tally.c.picked, tally.c.packed, tally.c.units)
        .order_by(Shipment.created_at, Shipment.number)
        .limit(WAITING_LIMIT)
    )
    return [
        {
            "id": s.id,
            "number": s.number,
            "order_id": s.order_id,
            "created_at": s.created_at,
            "units": int(units or 0),
            "picked": int(picked or 0),
            "packed": int(packed or 0),
        }
        for s, picked, packed, units in db.session.execute(stmt)
    ]
