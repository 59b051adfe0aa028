"""What the rule editor suggests: the entity types Wharf fires events for, their events, and
the fields of the record a rule sees there (what ``listener.shape`` builds)."""

from __future__ import annotations

from services.rules.conditions import parse_path

EVENTS = {
    "lcs.shipment": {"before": ["creating", "updating", "canceling"], "after": ["created", "updated", "canceled"]},
    "lcs.list": {"before": ["creating", "finishing", "holding"], "after": ["created", "finished", "held"]},
    "lcs.parcel": {"before": ["creating", "labeling", "shipping"], "after": ["created", "labeled", "in_transit"]},
}

_METHOD = [
    ("method.id", "shipping method id"),
    ("method.name", "shipping method name"),
    ("method.carrier_code", "carrier code"),
    ("method.max_weight", "method's maximum weight (g)"),
    ("method.countries", "countries the method serves"),
    ("method.is_enabled", "method enabled"),
]

FIELDS = {
    "lcs.shipment": [
        ("id", "shipment id"),
        ("number", "shipment number (S-000001)"),
        ("type", "delivery | collect | internal"),
        ("is_outbound", "outbound shipment"),
        ("method_id", "shipping method id"),
        ("order_id", "order id"),
        ("channel_id", "sales channel"),
        ("contact_id", "contact"),
        ("country_code", "destination country"),
        ("addressing.to.address.country_code", "destination country"),
        ("addressing.to.address.postal_code", "destination postal code"),
        ("addressing.to.address.name", "recipient name"),
        ("ship_at", "ship date"),
        ("estimated_ship_at", "estimated ship date"),
        ("expected_at", "expected delivery"),
        ("location_id", "location shipped from"),
        ("backorders", "backordered lines"),
        ("overage", "overage lines"),
        ("prior_shipments", "earlier shipments of the order"),
        ("is_canceled", "canceled"),
        ("unit_count", "number of units"),
        ("missing_units", "units marked missing"),
        ("items", "units"),
        ("items.length", "number of units"),
        ("items[0].sku", "first unit's SKU"),
        ("list_id", "active handling list"),
        *_METHOD,
    ],
    "lcs.list": [
        ("id", "list id"),
        ("number", "list number (HL-000001)"),
        ("sub", "assigned user"),
        ("is_on_hold", "on hold"),
        ("is_finished", "finished"),
        ("is_cancelled", "cancelled"),
        ("due_at", "due date"),
        ("started_at", "started at"),
        ("shipments", "shipment ids"),
        ("shipment_count", "number of shipments"),
        ("skus", "SKUs on the list (e.g. contains MUG-RED)"),
        ("progress.total", "units on the list"),
        ("progress.handled", "units picked"),
        ("progress.missing", "units missing"),
        ("progress.open", "units still to pick"),
        ("progress.percent", "percent done"),
        ("missing_units", "units missing"),
        ("open_units", "units still to pick"),
    ],
    "lcs.parcel": [
        ("id", "parcel id"),
        ("number", "SSCC number"),
        ("weight", "weight (g)"),
        ("length", "length (mm)"),
        ("width", "width (mm)"),
        ("height", "height (mm)"),
        ("tracking_code", "tracking code"),
        ("position", "position (dock, cage)"),
        ("count", "units in the parcel"),
        ("is_labeled", "has a label"),
        ("is_in_transit", "in transit"),
        ("is_finished", "finished"),
        ("shipment_id", "shipment id"),
        ("shipment.number", "shipment number"),
        ("shipment.type", "shipment type"),
        ("shipment.order_id", "order id"),
        ("shipment.country_code", "destination country"),
        *_METHOD,
    ],
}

ENTITY_TYPES = tuple(FIELDS)


def events_for(entity_type: str | None) -> list[str]:
    spec = EVENTS.get(entity_type or "")
    return (spec["before"] + spec["after"]) if spec else []


def fields_for(entity_type: str | None) -> list[dict]:
    return [{"path": p, "label": label} for p, label in FIELDS.get(entity_type or "", [])]


def readable_fields(entity: str | None) -> frozenset[str] | None:
    """The top-level fields a rule on ``entity`` can read: the suggestions above name all
    that its record is built from and its events carry (tests hold them to that). None for an
    entity Wharf fires no events for: a rule there may name anything."""
    if entity not in FIELDS:
        return None
    return frozenset(parse_path(path)[0] for path, _ in FIELDS[entity])
