"""A shipment's history for the people who ask "where is it?": the moments Wharf already
records — created, put on a list, each unit picked or short, packed, labelled, handed to the
carrier — newest first, with who did it. Nothing new is stored for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from models import HandlingList, ListShipment, Parcel, ScanEvent, Shipment, ShipmentItem, db
from services import users

# What a floor scan event means for a shipment's unit (the others concern the list as a whole).
SCAN_WORDS = {
    "handled": "picked",
    "missing": "not found at its position",
    "unhandled": "put back (pick undone)",
    "redirected": "sent to another position",
    "tote": "put in its tote",
}


def _naive(at: datetime) -> datetime:
    """Stored times are naive UTC; a parsed ISO time may carry its zone."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


@dataclass(frozen=True)
class Moment:
    at: datetime
    what: str
    who: str | None = None


def _parcel_moments(p: Parcel) -> list[Moment]:
    out = [Moment(p.created_at, f"Parcel {p.number} packed")]
    if p.closed_at:
        out.append(Moment(p.closed_at, f"Parcel {p.number} closed ({p.weight or '?'} g)"))
    requested = (p.label or {}).get("requested_at") if isinstance(p.label, dict) else None
    if requested:
        out.append(Moment(_naive(datetime.fromisoformat(requested)), f"Label of parcel {p.number} requested"))
    if p.in_transit_at:
        out.append(Moment(p.in_transit_at, f"Parcel {p.number} handed to the carrier"))
    return out


def shipment_history(shipment: Shipment) -> list[Moment]:
    """Every recorded moment of ``shipment``, newest first (three queries)."""
    moments = [Moment(shipment.created_at, f"Shipment {shipment.number} created")]
    if shipment.canceled_at:
        moments.append(Moment(shipment.canceled_at, "Shipment canceled"))
    for hl in db.session.scalars(
        sa.select(HandlingList)
        .join(ListShipment, ListShipment.list_id == HandlingList.id)
        .where(ListShipment.shipment_id == shipment.id)
    ):
        moments.append(Moment(hl.created_at, f"Put on handling list {hl.number}"))
        if hl.finished_at:
            moments.append(Moment(hl.finished_at, f"Handling list {hl.number} finished"))
    events = db.session.execute(
        sa.select(ScanEvent, ShipmentItem.sku)
        .join(ShipmentItem, ShipmentItem.id == ScanEvent.item_id)
        .where(ShipmentItem.shipment_id == shipment.id, ScanEvent.kind.in_(SCAN_WORDS), ScanEvent.undone.is_(False))
    ).all()
    names = users.display_names({str(e.user_id) for e, _ in events if e.user_id})
    for e, sku in events:
        reason = f" ({e.reason.replace('_', ' ')})" if e.reason else ""
        moments.append(Moment(e.created_at, f"{sku} {SCAN_WORDS[e.kind]}{reason}", names.get(str(e.user_id))))
    for p in shipment.parcels:
        moments.extend(_parcel_moments(p))
    return sorted(moments, key=lambda m: _naive(m.at), reverse=True)
