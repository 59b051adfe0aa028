"""The seed's ``LcsShipmentItem`` row of one unit: read by shipments (their items) and by
handling lists (one row per unit), so it lives apart from both."""

from __future__ import annotations

from models import ShipmentItem


def unit_row(u: ShipmentItem, shipment_flags: dict | None = None) -> dict:
    return {
        "id": u.id,
        "reference": u.reference,
        "sku": u.sku,
        "position": u.position,
        "order_item_id": u.order_item_id,
        "claim_item_id": u.claim_item_id,
        "description": u.description,
        "is_listed": u.list_id is not None,
        "is_handled": u.is_handled,
        "is_boxed": u.parcel_id is not None,
        "is_in_transit": bool(shipment_flags and shipment_flags.get("is_in_transit")),
        "is_finished": u.is_finished,
        "is_missing": u.is_missing,
        "hs_code": u.hs_code,
        "service": u.service or [],
        "parcel_id": u.parcel_id,
        "list_id": u.list_id,
    }
