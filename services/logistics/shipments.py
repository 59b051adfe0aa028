"""Shipments: create (one unit row per quantity), read with derived flags, update while
editable, cancel, item corrections. Flags are computed from the units, never stored."""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from models import HandlingList, Method, Parcel, Scope, Shipment, ShipmentItem, db, utcnow
from models.base import LIKE_ESCAPE, contains_pattern
from services import cache_versions, events
from services.acl import Actor
from services.audit_query import parse_timestamp
from services.errors import Conflict, NotFound, ValidationFailed
from services.logistics import floor, numbers, tallies

TYPES = ("delivery", "collect", "internal")
MAX_UNITS = 10_000
ADDRESS_FIELDS = ("name", "company", "street", "house_number", "addition", "postal_code", "city", "region",
                  "country_code", "phone", "email")


def _invalid(path: str, message: str, kind: str = "invalid value") -> ValidationFailed:
    return ValidationFailed(f"{path} {message}", details=[{"path": [path], "message": message, "kind": kind}])


def _required(path: str) -> ValidationFailed:
    return _invalid(path, "is required", "required")


def _text(value, path: str, limit: int = 200) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool) or len(str(value)) > limit:
        raise _invalid(path, f"must be text of at most {limit} characters")
    return str(value)


def _when(value, path: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _invalid(path, "must be an ISO-8601 date-time")
    try:
        return parse_timestamp(value, path)
    except ValidationFailed:
        raise _invalid(path, "must be an ISO-8601 date-time") from None


DATE_FIELDS = ("ship_at", "estimated_ship_at", "expected_at")
TEXT_LIMITS = {"order_id": 64, "channel_id": 64, "contact_id": 64}


def read_back(payload: dict, fields: dict) -> None:
    """Take over what SET_FIELD rules changed in ``payload``, validated like client input
    (a rule must not be able to store what the API would refuse). Other keys are ignored."""
    for key, before in list(fields.items()):
        if key not in payload or payload[key] == before:
            continue
        value = payload[key]
        if key in DATE_FIELDS:
            fields[key] = value if isinstance(value, datetime) else _when(value, key)
        elif key in TEXT_LIMITS:
            fields[key] = _text(value, key, TEXT_LIMITS[key])
        elif key == "type":
            if value not in TYPES:
                raise _invalid("type", f"must be one of {', '.join(TYPES)}")
            fields[key] = value
        elif key == "is_outbound":
            if not isinstance(value, bool):
                raise _invalid("is_outbound", "must be a boolean")
            fields[key] = value


def _addressing(raw, path: str = "addressing") -> dict:
    """``{to, from}``: each the seed's ``{entity_type, entity_id, carrier}`` or an inline
    ``address`` (kept as a snapshot: labels print it)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _invalid(path, "must be an object")
    out = {}
    for side in ("to", "from"):
        value = raw.get(side)
        if value is None or isinstance(value, str):  # the seed's "#/definitions/…" placeholder
            continue
        if not isinstance(value, dict):
            raise _invalid(f"{path}.{side}", "must be an object")
        entry = {k: _text(value.get(k), f"{path}.{side}.{k}") for k in ("entity_type", "entity_id") if value.get(k)}
        if isinstance(value.get("carrier"), dict):
            entry["carrier"] = {"is_carrier_location": bool(value["carrier"].get("is_carrier_location")),
                                "carrier_location_reference": _text(value["carrier"].get("carrier_location_reference"),
                                                                    f"{path}.{side}.carrier")}
        address = value.get("address")
        if address is not None:
            if not isinstance(address, dict):
                raise _invalid(f"{path}.{side}.address", "must be an object")
            entry["address"] = {k: _text(address.get(k), f"{path}.{side}.address.{k}") for k in ADDRESS_FIELDS}
            if entry["address"].get("country_code") and len(entry["address"]["country_code"]) != 2:
                raise _invalid(f"{path}.{side}.address.country_code", "must be an ISO 3166-1 alpha-2 code")
        out[side] = entry
    return out


def _corrections(raw, path: str) -> list[dict]:
    if raw in (None, []):
        return []
    if not isinstance(raw, list):
        raise _invalid(path, "must be a list")
    out = []
    for i, c in enumerate(raw):
        if not isinstance(c, dict) or not c.get("sku"):
            raise _required(f"{path}.{i}.sku")
        qty = c.get("quantity", 1)
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
            raise _invalid(f"{path}.{i}.quantity", "must be a positive integer")
        out.append({"sku": _text(c["sku"], f"{path}.{i}.sku", 120), "quantity": qty,
                    "description": _text(c.get("description"), f"{path}.{i}.description", 500) or "",
                    "position": _text(c.get("position"), f"{path}.{i}.position", 64)})
    return out


def _method(actor: Actor, method_id) -> Method | None:
    if method_id in (None, ""):
        return None
    try:
        return actor.scope.get(Method, method_id)
    except NotFound:
        raise _invalid("method_id", "is not a known shipping method") from None


def _search_text(number: str, order_id, addressing: dict) -> str:
    to = (addressing.get("to") or {}).get("address") or {}
    parts = [number, order_id or "", to.get("name") or "", to.get("company") or "", to.get("postal_code") or ""]
    return " ".join(p for p in parts if p).lower()[:1000]


def create_shipment(actor: Actor, data: dict) -> Shipment:
    """One transaction: validate everything, expand quantities to units, number it."""
    if not isinstance(data, dict):
        raise ValidationFailed("Request body must be a JSON object")
    kind = data.get("type") or "delivery"
    if kind not in TYPES:
        raise _invalid("type", f"must be one of {', '.join(TYPES)}")
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise _required("items")
    units: list[dict] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _invalid(f"items.{i}", "must be an object")
        if not item.get("sku"):
            raise _required(f"items.{i}.sku")
        qty = item.get("quantity", 1)
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
            raise _invalid(f"items.{i}.quantity", "must be a positive integer")
        refs = item.get("references") or [{}]
        if not isinstance(refs, list):
            raise _invalid(f"items.{i}.references", "must be a list")
        service = item.get("service") or []
        if not isinstance(service, list):
            raise _invalid(f"items.{i}.service", "must be a list")
        for n in range(qty):
            ref = refs[n] if n < len(refs) and isinstance(refs[n], dict) else (refs[0] if isinstance(refs[0], dict) else {})
            units.append({"sku": _text(item["sku"], f"items.{i}.sku", 120), "reference": _text(item.get("reference"), f"items.{i}.reference", 120),
                          "position": _text(item.get("position"), f"items.{i}.position", 64),
                          "description": _text(item.get("description"), f"items.{i}.description", 500) or "",
                          "hs_code": _text(item.get("hs_code"), f"items.{i}.hs_code", 32),
                          "order_item_id": _text(ref.get("order_item_id"), f"items.{i}.references.order_item_id", 64),
                          "claim_item_id": _text(ref.get("claim_item_id"), f"items.{i}.references.claim_item_id", 64),
                          "service": service})
        if len(units) > MAX_UNITS:
            raise _invalid("items", f"at most {MAX_UNITS} units per shipment")
    is_outbound = data.get("is_outbound", True)
    if not isinstance(is_outbound, bool):
        raise _invalid("is_outbound", "must be a boolean")
    method = _method(actor, data.get("method_id"))
    addressing = _addressing(data.get("addressing"))
    fields = dict(type=kind, is_outbound=is_outbound, method_id=method.id if method else None,
                  addressing=addressing, order_id=_text(data.get("order_id"), "order_id", 64),
                  channel_id=_text(data.get("channel_id"), "channel_id", 64),
                  contact_id=_text(data.get("contact_id"), "contact_id", 64),
                  ship_at=_when(data.get("ship_at"), "ship_at"),
                  estimated_ship_at=_when(data.get("estimated_ship_at"), "estimated_ship_at"),
                  expected_at=_when(data.get("expected_at"), "expected_at"),
                  backorders=_corrections(data.get("backorders"), "backorders"),
                  overage=_corrections(data.get("overage"), "overage"),
                  prior_shipments=[str(p) for p in (data.get("prior_shipments") or []) if isinstance(p, str)])
    tenant_id = actor.tenant_for_new(data.get("tenant_id"))
    # SET_FIELD rules on "creating" may change the record: read the fields back.
    payload = {**fields, "items": units}
    events.before("lcs.shipment", "creating", payload, {"actor": actor})
    read_back(payload, fields)
    shipment = Shipment(tenant_id=tenant_id, organization_id=getattr(actor.principal, "organization_id", None),
                        number=numbers.shipment_number(tenant_id), **fields)
    tallies.add(tenant_id, shipment.organization_id)
    shipment.search_text = _search_text(shipment.number, shipment.order_id, addressing)
    db.session.add(shipment)
    db.session.flush()
    db.session.execute(sa.insert(ShipmentItem), [
        {"id": uuid.uuid4(), "tenant_id": tenant_id, "shipment_id": shipment.id, "sequence": n,
         "created_at": utcnow(), "updated_at": utcnow(), **u} for n, u in enumerate(units)])
    db.session.commit()
    events.after("lcs.shipment", "created", {"id": str(shipment.id), "number": shipment.number}, {"actor": actor})
    return shipment


def get_shipment(actor: Actor, shipment_id) -> Shipment:
    return actor.scope.get(Shipment, shipment_id, "Shipment")


# --- derived flags ----------------------------------------------------------------------------

def _unit_totals():
    """Per-shipment unit tallies behind the derived flags (labelled columns, one GROUP BY)."""
    u = ShipmentItem
    count = lambda cond: sa.func.sum(sa.case((cond, 1), else_=0))  # noqa: E731
    return (sa.func.count(u.id).label("units"), count(u.is_missing).label("missing"),
            count(sa.and_(u.is_handled, sa.not_(u.is_missing))).label("handled"),
            count(u.parcel_id.is_not(None)).label("boxed"), count(u.list_id.is_not(None)).label("listed"),
            count(u.is_serviced).label("serviced"))


def _parcel_totals():
    p = Parcel
    count = lambda cond: sa.func.sum(sa.case((cond, 1), else_=0))  # noqa: E731
    return (sa.func.count(p.id).label("parcels"), count(p.label.is_not(None)).label("labeled"),
            count(p.is_in_transit).label("in_transit"), count(p.is_finished).label("finished"))


def _totals_for(model, columns, ids) -> sa.Select:
    """``SELECT shipment_id, <totals> … WHERE shipment_id IN ids GROUP BY shipment_id``."""
    return (sa.select(model.shipment_id, *columns).where(model.shipment_id.in_(ids))
            .group_by(model.shipment_id))


def derive_flags(s, u, p) -> dict:
    """The seed's derived flags from a shipment (row or object) and its unit and parcel
    tallies (anything with the labelled attributes of ``_unit_totals``/``_parcel_totals``;
    ``None`` when it has none)."""
    units = u.units if u is not None else 0
    missing = (u.missing or 0) if u is not None else 0
    handled = (u.handled or 0) if u is not None else 0
    boxed = (u.boxed or 0) if u is not None else 0
    listed = (u.listed or 0) if u is not None else 0
    serviced = (u.serviced or 0) if u is not None else 0
    parcels = p.parcels if p is not None else 0
    shippable = units - missing
    has_parcels = parcels > 0
    return {
        "is_editable": not s.is_canceled and s.active_list_id is None and handled == 0 and not has_parcels,
        "is_listed": s.active_list_id is not None,
        "is_handled": shippable > 0 and handled >= shippable,
        "is_boxed": shippable > 0 and boxed >= shippable,
        "is_labeled": has_parcels and (p.labeled or 0) == parcels,
        "is_serviced": units > 0 and serviced == units,
        "is_complete": listed > 0 and boxed == listed - missing,
        "is_overcomplete": bool(s.overage),
        "is_in_transit": has_parcels and (p.in_transit or 0) == parcels,
        "is_finished": has_parcels and (p.finished or 0) == parcels,
        "is_canceled": s.is_canceled,
    }


def flags_for(shipments) -> dict:
    """Derived flags for many shipments in two grouped queries (no N+1 on list pages)."""
    ids = [s.id for s in shipments]
    if not ids:
        return {}
    units = {r.shipment_id: r for r in db.session.execute(_totals_for(ShipmentItem, _unit_totals(), ids))}
    parcels = {r.shipment_id: r for r in db.session.execute(_totals_for(Parcel, _parcel_totals(), ids))}
    return {s.id: derive_flags(s, units.get(s.id), parcels.get(s.id)) for s in shipments}


def flag_condition(flag: str, value: bool) -> sa.ColumnElement:
    """SQL for a derived flag (search constraints and list filters)."""
    s, u, p = Shipment, ShipmentItem, Parcel
    any_unit = sa.exists().where(u.shipment_id == s.id, sa.not_(u.is_missing))
    any_parcel = sa.exists().where(p.shipment_id == s.id)
    conditions = {
        "is_canceled": s.is_canceled.is_(True),
        "is_listed": s.active_list_id.is_not(None),
        "is_handled": sa.and_(any_unit, ~sa.exists().where(u.shipment_id == s.id, sa.not_(u.is_missing),
                                                           sa.not_(u.is_handled))),
        "is_boxed": sa.and_(any_unit, ~sa.exists().where(u.shipment_id == s.id, sa.not_(u.is_missing),
                                                         u.parcel_id.is_(None))),
        "is_labeled": sa.and_(any_parcel, ~sa.exists().where(p.shipment_id == s.id, p.label.is_(None))),
        "is_in_transit": sa.and_(any_parcel, ~sa.exists().where(p.shipment_id == s.id, sa.not_(p.is_in_transit))),
        "is_finished": sa.and_(any_parcel, ~sa.exists().where(p.shipment_id == s.id, sa.not_(p.is_finished))),
        "is_editable": sa.and_(s.is_canceled.is_(False), s.active_list_id.is_(None),
                               ~sa.exists().where(u.shipment_id == s.id, u.is_handled), ~any_parcel),
    }
    clause = conditions[flag]
    return clause if value else sa.not_(clause)


FLAGS = ("is_editable", "is_listed", "is_handled", "is_boxed", "is_labeled", "is_in_transit", "is_finished",
         "is_canceled")


# --- the list -------------------------------------------------------------------------------

# What ``listed_row`` reads: the list selects these columns as plain rows (no ORM objects —
# a page of 25 costs a third as much) and ``flags_for``/``listed_row`` read them by name.
LISTED_COLUMNS = (Shipment.id, Shipment.number, Shipment.type, Shipment.method_id, Shipment.contact_id,
                  Shipment.channel_id, Shipment.order_id, Shipment.addressing, Shipment.ship_at,
                  Shipment.estimated_ship_at, Shipment.expected_at, Shipment.is_outbound, Shipment.is_canceled,
                  Shipment.overage, Shipment.prior_shipments, Shipment.active_list_id, Shipment.created_at,
                  Shipment.updated_at)


@functools.lru_cache(maxsize=256)
def _page_statement(scope: Scope, has_search: bool, flags: tuple[tuple[str, bool], ...]) -> sa.Select:
    """The list statement of one scope and filter shape, built once: building it costs more
    than running it. Page bounds and the search pattern are bind parameters.

    One statement returns the page's rows, their unit and parcel tallies (for the derived
    flags) and the total — the tally for the unfiltered list, else a count. The total is
    the FROM's first table, so a page past the end still reports it. The tally columns
    (units, missing, …, parcels, labeled, …) keep their names: each row is at once the
    shipment, its unit totals and its parcel totals for ``derive_flags``."""
    stmt = scope.select(Shipment).with_only_columns(*LISTED_COLUMNS)
    if has_search:
        stmt = stmt.where(Shipment.search_text.like(sa.bindparam("pattern"), escape=LIKE_ESCAPE))
    for flag, value in flags:
        stmt = stmt.where(flag_condition(flag, value))
    if has_search or flags:
        total = sa.select(sa.func.count()).select_from(stmt.subquery()).subquery("total")
    else:
        total = tallies.total_select(scope).subquery("total")
    rows = (stmt.order_by(Shipment.created_at.desc(), Shipment.number.desc())
            .limit(sa.bindparam("limit")).offset(sa.bindparam("offset")).cte("page"))
    page_ids = sa.select(rows.c.id)
    units = _totals_for(ShipmentItem, _unit_totals(), page_ids).subquery("unit_totals")
    parcels = _totals_for(Parcel, _parcel_totals(), page_ids).subquery("parcel_totals")
    return (sa.select(total.c[0].label("total"), rows,
                      *(c for c in units.c if c.name != "shipment_id"),
                      *(c for c in parcels.c if c.name != "shipment_id"))
            .select_from(total.outerjoin(rows, sa.true())
                         .outerjoin(units, units.c.shipment_id == rows.c.id)
                         .outerjoin(parcels, parcels.c.shipment_id == rows.c.id))
            .order_by(rows.c.created_at.desc(), rows.c.number.desc()))


# Pages already built, valid while the floor stamp is unchanged (see floor.py).
_pages = cache_versions.VersionedCache(size=256)  # ~25 rows of ~2 KB each


@dataclass
class ListedPage:
    """One page of ``LcsListedShipment`` rows and the total. Cached pages are shared between
    requests: read-only, except ``encoded`` and ``etag``, the web layer's memo of the rows
    as JSON and of that JSON's digest."""

    rows: list[dict]
    total: int
    encoded: bytes | None = None
    etag: str | None = None


def list_page(actor: Actor, page: int, size: int, search: str = "",
              flags: dict[str, bool] | None = None) -> ListedPage:
    """One page of shipments (newest first) and the total, with the screen's filters:
    ``search`` text and derived flags. Until something on the floor changes, the same page
    for the same scope comes from this process's cache."""
    search = search.strip().lower()
    shape = tuple(sorted((flags or {}).items()))
    scope = actor.scope
    version = floor.current()  # before the data: see floor.py
    if version is None:  # nothing written yet, so no stamp to trust
        return _load_page(scope, page, size, search, shape)
    return _pages.get_or_build((scope, page, size, search, shape), version,
                               lambda: _load_page(scope, page, size, search, shape))


def _load_page(scope: Scope, page: int, size: int, search: str, shape) -> ListedPage:
    params = {"limit": size, "offset": (page - 1) * size}
    if search:
        params["pattern"] = contains_pattern(search)
    result = db.session.connection().execute(_page_statement(scope, bool(search), shape), params).all()
    count = int(result[0].total or 0) if result else 0
    body = []
    for r in result:
        if r.id is None:  # the page is past the end: only the total came back
            continue
        flags = derive_flags(r, r if r.units is not None else None, r if r.parcels is not None else None)
        body.append(listed_row(r, flags))
    return ListedPage(body, count)


# --- serialization ---------------------------------------------------------------------------

def unit_row(u: ShipmentItem, shipment_flags: dict | None = None) -> dict:
    return {"id": u.id, "reference": u.reference, "sku": u.sku, "position": u.position,
            "order_item_id": u.order_item_id, "claim_item_id": u.claim_item_id, "description": u.description,
            "is_listed": u.list_id is not None, "is_handled": u.is_handled, "is_boxed": u.parcel_id is not None,
            "is_in_transit": bool(shipment_flags and shipment_flags.get("is_in_transit")),
            "is_finished": u.is_finished, "is_missing": u.is_missing, "hs_code": u.hs_code, "service": u.service or [],
            "parcel_id": u.parcel_id, "list_id": u.list_id}


def listed_row(s: Shipment, flags: dict) -> dict:
    """``LcsListedShipment``: the shipment without its units."""
    return {"id": s.id, "number": s.number, "type": s.type, "method_id": s.method_id, "contact_id": s.contact_id,
            "channel_id": s.channel_id, "order_id": s.order_id, "addressing": s.addressing or {},
            "ship_at": s.ship_at, "estimated_ship_at": s.estimated_ship_at, "expected_at": s.expected_at,
            "stack_id": None, "is_outbound": s.is_outbound, **flags,
            "secret": None, "prior_shipments": s.prior_shipments or [], "list_id": s.active_list_id,
            "created_at": s.created_at, "updated_at": s.updated_at}


def detail_row(s: Shipment) -> dict:
    """``LcsShipment``: with units, corrections and parcels."""
    flags = flags_for([s])[s.id]
    parcels = [parcel_summary(p) for p in s.parcels]
    return {**listed_row(s, flags), "items": [unit_row(u, flags) for u in s.items],
            "backorders": s.backorders or [], "overage": s.overage or [], "prior_shipments": s.prior_shipments or [],
            "parcels": parcels, "active_list_id": s.active_list_id}


def parcel_summary(p: Parcel) -> dict:
    return {"id": p.id, "number": p.number, "weight": p.weight, "is_in_transit": p.is_in_transit,
            "is_finished": p.is_finished, "label": p.label}


# --- changes -----------------------------------------------------------------------------------

def update_shipment(actor: Actor, shipment_id, data: dict) -> Shipment:
    """Method, addressing and dates may change only while the shipment is editable."""
    if not isinstance(data, dict):
        raise ValidationFailed("Request body must be a JSON object")
    shipment = get_shipment(actor, shipment_id)
    if not flags_for([shipment])[shipment.id]["is_editable"]:
        raise Conflict("Shipment is no longer editable (listed, handled, packed or canceled)")
    changes = {}
    if "method_id" in data:
        method = _method(actor, data["method_id"])
        changes["method_id"] = method.id if method else None
    if "addressing" in data:
        changes["addressing"] = {**(shipment.addressing or {}), **_addressing(data["addressing"])}
    for key in ("ship_at", "estimated_ship_at", "expected_at"):
        if key in data:
            changes[key] = _when(data[key], key)
    for key, limit in (("order_id", 64), ("contact_id", 64), ("channel_id", 64)):
        if key in data:
            changes[key] = _text(data[key], key, limit)
    if "type" in data:
        if data["type"] not in TYPES:
            raise _invalid("type", f"must be one of {', '.join(TYPES)}")
        changes["type"] = data["type"]
    payload = {"id": str(shipment.id), **changes}
    events.before("lcs.shipment", "updating", payload, {"actor": actor})
    read_back(payload, changes)
    # Conditional: only if still not on a list (a concurrent list creation wins cleanly).
    done = db.session.execute(sa.update(Shipment).where(
        Shipment.id == shipment.id, Shipment.active_list_id.is_(None), Shipment.is_canceled.is_(False))
        .values(**changes, updated_at=utcnow())).rowcount
    if not done:
        raise Conflict("Shipment is no longer editable")
    db.session.commit()
    db.session.refresh(shipment)
    shipment.search_text = _search_text(shipment.number, shipment.order_id, shipment.addressing or {})
    db.session.commit()
    events.after("lcs.shipment", "updated", {"id": str(shipment.id)}, {"actor": actor})
    return shipment


def cancel_shipment(actor: Actor, shipment_id) -> None:
    """DELETE: cancel (idempotent); refused once any parcel is in transit. Leaves its list."""
    shipment = get_shipment(actor, shipment_id)
    if shipment.is_canceled:
        return
    in_transit = db.session.scalar(sa.select(sa.func.count(Parcel.id)).where(
        Parcel.shipment_id == shipment.id, Parcel.is_in_transit.is_(True)))
    if in_transit:
        raise Conflict("Shipment is in transit and can no longer be canceled")
    events.before("lcs.shipment", "canceling", {"id": str(shipment.id)}, {"actor": actor})
    done = db.session.execute(sa.update(Shipment).where(Shipment.id == shipment.id, Shipment.is_canceled.is_(False))
                              .values(is_canceled=True, canceled_at=utcnow(), active_list_id=None,
                                      updated_at=utcnow())).rowcount
    if done:
        db.session.execute(sa.update(ShipmentItem).where(ShipmentItem.shipment_id == shipment.id,
                                                         ShipmentItem.parcel_id.is_(None))
                           .values(list_id=None))
    db.session.commit()
    events.after("lcs.shipment", "canceled", {"id": str(shipment.id)}, {"actor": actor})


def set_missing(actor: Actor, shipment_id, entries) -> None:
    """``[{id, is_missing}]`` for units of this shipment (204). Unknown unit → 400."""
    shipment = get_shipment(actor, shipment_id)
    if shipment.is_canceled:
        raise Conflict("Shipment is canceled")
    if not isinstance(entries, list) or not entries:
        raise _required("items")
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or not e.get("id"):
            raise _required(f"{i}.id")
        if not isinstance(e.get("is_missing"), bool):
            raise _invalid(f"{i}.is_missing", "must be a boolean")
        try:
            unit_id = uuid.UUID(str(e["id"]))
        except ValueError:
            raise _invalid(f"{i}.id", "must be a unit id of this shipment") from None
        done = db.session.execute(sa.update(ShipmentItem).where(
            ShipmentItem.id == unit_id, ShipmentItem.shipment_id == shipment.id)
            .values(is_missing=e["is_missing"], updated_at=utcnow())).rowcount
        if not done:
            raise _invalid(f"{i}.id", "is not a unit of this shipment")
    db.session.commit()


def set_corrections(actor: Actor, shipment_id, kind: str, entries) -> None:
    """Replace the shipment's backorders or overage list (204)."""
    shipment = get_shipment(actor, shipment_id)
    if shipment.is_canceled:
        raise Conflict("Shipment is canceled")
    clean = _corrections(entries if entries is not None else [], kind)
    setattr(shipment, kind, clean)
    db.session.commit()


def list_for_active(actor: Actor, shipment: Shipment) -> HandlingList | None:
    return db.session.get(HandlingList, shipment.active_list_id) if shipment.active_list_id else None
