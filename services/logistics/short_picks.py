"""Short picks: units the picker could not pick, per day and position, for the floor lead.

A short pick is a "missing" scan event (the station's "Can't find it" / ``WHARF:MISSING``,
or ``PUT /lcs/shipments/{id}/items/missing`` on a listed unit) that was not taken back (a
unit marked found again undoes its event). Days are UTC days of the event.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

import sqlalchemy as sa

from models import ScanEvent, ShipmentItem, db
from services.acl import Actor

REASONS = {"empty_location": "Empty location", "damaged": "Damaged", "wrong_item": "Wrong item"}
UNSPECIFIED = "unspecified"  # marked missing through the API, which names no reason


def short_picks(actor: Actor, since: datetime, until: datetime) -> list[dict]:
    """Rows ``{day, position, sku, count, reasons: {reason: count}}`` of the caller's short
    picks with ``since <= at < until``; newest day first, then most short picks first."""
    stmt = (
        actor.scope.select(ScanEvent)
        .with_only_columns(ScanEvent.created_at, ScanEvent.code, ScanEvent.reason, ShipmentItem.sku)
        .join(ShipmentItem, ShipmentItem.id == ScanEvent.item_id)
        .where(
            ScanEvent.kind == "missing",
            ScanEvent.undone.is_(False),
            ScanEvent.created_at >= since,
            ScanEvent.created_at < until,
        )
    )
    grouped: dict[tuple, Counter] = defaultdict(Counter)
    for at, position, reason, sku in db.session.execute(stmt):
        grouped[(at.date(), position, sku)][reason or UNSPECIFIED] += 1
    rows = [
        {"day": day, "position": position, "sku": sku, "count": sum(reasons.values()), "reasons": dict(reasons)}
        for (day, position, sku), reasons in grouped.items()
    ]
    rows.sort(key=lambda r: (r["position"] or "", r["sku"]))
    rows.sort(key=lambda r: (r["day"], r["count"]), reverse=True)
    return rows


def undo_missing(unit_ids) -> None:
    """A unit marked found again is no longer a short pick: its missing events are undone."""
    if unit_ids:
        db.session.execute(
            sa.update(ScanEvent)
            .where(ScanEvent.item_id.in_(list(unit_ids)), ScanEvent.kind == "missing", ScanEvent.undone.is_(False))
            .values(undone=True)
        )
