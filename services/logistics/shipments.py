"""Shipments: create (one unit row per quantity), read with derived flags, update while
editable, cancel, item corrections. Flags are computed from the units, never stored.
Input arrives validated (``schemas.lcs_shipments``); what is checked here is the data's."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from models import HandlingList, Location, Method, Parcel, Scope, Shipment, ShipmentItem, db, utcnow
from models.base import LIKE_ESCAPE, contains_pattern, newest_first, rows_after
from schemas.lcs_shipments import (
    LcsShipmentItemCorrection,
    LcsShipmentItemMissing,
    LcsShipmentItemModel,
    LcsShipmentModel,
    LcsShipmentRuleFields,
    LcsShipmentUpdateModel,
    LcsShipmentUpdateModelAddressing,
    ShipmentAddress,
)
from schemas.validation import validate
from services import events
from services.acl import Actor
from services.commands import after_commit, command
from services.errors import Conflict, ValidationFailed
from services.logistics import lists, locations, methods, numbers, tallies
from services.logistics.parcels import parcel_rows
from services.logistics.units import unit_row


def _invalid(path: str, message: str) -> ValidationFailed:
    """A value the data refuses (an unknown method, a unit of another shipment): 400."""
    return ValidationFailed(
        f"{path} {message}", details=[{"path": [path], "message": message, "kind": "invalid value"}]
    )


def read_back(payload: dict, fields: dict) -> None:
    """Take over what SET_FIELD rules changed in ``payload``, validated like client input
    (a rule must not be able to store what the API would refuse). Only the plain fields
    (``LcsShipmentRuleFields``) already in ``fields`` are taken; other keys are ignored."""
    changed = {
        k: payload[k]
        for k in fields
        if k in LcsShipmentRuleFields.model_fields and k in payload and payload[k] != fields[k]
    }
    if changed:
        clean = validate(LcsShipmentRuleFields, changed)
        fields.update({k: getattr(clean, k) for k in changed})


# --- addressing --------------------------------------------------------------------------------

NO_CARRIER = {"is_carrier_location": False, "carrier_location_reference": None}


def _merge(current: dict, sent: dict) -> dict:
    """``sent`` over ``current``, object by object: a field that is not sent is kept."""
    out = dict(current)
    for key, value in sent.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _location(actor: Actor, tenant_id, sender: dict) -> Location | None:
    """The location a sender ``{entity_type: location, entity_id}`` names (400 if unknown)."""
    if sender.get("entity_type") != "location" or not sender.get("entity_id"):
        return None
    try:
        key = uuid.UUID(sender["entity_id"])
    except ValueError:
        key = None
    location = (
        key
        and db.session.scalars(
            actor.scope.select(Location).where(Location.id == key, Location.tenant_id == tenant_id)
        ).first()
    )
    if not location:
        raise _invalid("addressing.from.entity_id", "is not a known location")
    return location


def _address_of(location: Location) -> dict:
    """A location's stored address as a shipment's sender snapshot (named after the location
    when the address has no name)."""
    stored = {k: v for k, v in (location.address or {}).items() if k in ShipmentAddress.model_fields and v}
    return {"name": location.name, **stored}


def _addressing(
    actor: Actor, tenant_id, current: dict, sent: LcsShipmentUpdateModelAddressing | None, location_id
) -> tuple[dict, uuid.UUID | None]:
    """The stored ``{to, from}`` after ``sent`` (only what is sent changes; ``null`` clears)
    and the shipment's location. A sender sent as a location makes it the shipment's
    location, its address snapshotted (labels print it) unless an inline one is sent."""
    given = sent.model_dump(by_alias=True, exclude_unset=True) if sent is not None else {"to": None, "from": None}
    addressing = {k: v for k, v in _merge(current, given).items() if v is not None}
    if "from" in given:
        sender = addressing.get("from") or {}
        location = _location(actor, tenant_id, sender)
        location_id = location.id if location else None
        if location is not None and "address" not in (given["from"] or {}):
            addressing["from"] = {**sender, "address": _address_of(location)}
    return addressing, location_id


def _side_row(side: dict | None) -> dict:
    side = side or {}
    return {
        "entity_type": side.get("entity_type"),
        "entity_id": side.get("entity_id"),
        "carrier": {**NO_CARRIER, **(side.get("carrier") or {})},
        "address": side.get("address"),
    }


def addressing_row(addressing: dict | None) -> dict:
    """``LcsListedShipmentAddressing``: both sides with every field (null when unknown)."""
    stored = addressing or {}
    return {"to": _side_row(stored.get("to")), "from": _side_row(stored.get("from"))}


# --- creating ------------------------------------------------------------------------------------


def _method(actor: Actor, tenant_id, method_id) -> Method | None:
    if method_id is None:
        return None
    method = db.session.scalars(
        actor.scope.select(Method).where(Method.id == method_id, Method.tenant_id == tenant_id)
    ).first()
    if method is None:
        raise _invalid("method_id", "is not a known shipping method")
    return method


def _units(items: list[LcsShipmentItemModel]) -> list[dict]:
    """One unit per quantity; the n-th unit takes the n-th reference (else the first)."""
    units = []
    for item in items:
        refs = item.references
        service = [option.model_dump() for option in item.service]
        for n in range(item.quantity):
            ref = refs[n] if n < len(refs) else refs[0] if refs else None
            units.append(
                {
                    "sku": item.sku,
                    "reference": item.reference,
                    "position": item.position,
                    "description": item.description,
                    "hs_code": item.hs_code,
                    "order_item_id": ref.order_item_id if ref else None,
                    "claim_item_id": ref.claim_item_id if ref else None,
                    "service": service,
                }
            )
    return units


def _search_text(number: str, order_id, addressing: dict) -> str:
    to = (addressing.get("to") or {}).get("address") or {}
    parts = [number, order_id or "", to.get("name") or "", to.get("company") or "", to.get("postal_code") or ""]
    return " ".join(p for p in parts if p).lower()[:1000]


def new_shipment_choices(actor: Actor) -> dict:
    """The methods and (enabled) locations a new shipment of the caller can be given."""
    scope = actor.scope
    return {
        "methods": [{"id": m.id, "name": m.label or m.name} for m in db.session.scalars(methods.methods_query(scope))],
        "locations": [
            {"id": loc.id, "name": loc.name}
            for loc in db.session.scalars(locations.locations_query(scope, is_disabled=False))
        ],
    }


@command()
def create_shipment(actor: Actor, data: LcsShipmentModel) -> Shipment:
    """One transaction: expand quantities to units, number it."""
    tenant_id = actor.tenant_for_new(data.tenant_id)
    units = _units(data.items)
    method = _method(actor, tenant_id, data.method_id)
    addressing, location_id = _addressing(actor, tenant_id, {}, data.addressing, None)
    fields = dict(
        data.model_dump(include=set(LcsShipmentRuleFields.model_fields)),
        method_id=method.id if method else None,
        addressing=addressing,
        location_id=location_id,
        backorders=[c.model_dump() for c in data.backorders],
        overage=[c.model_dump() for c in data.overage],
        prior_shipments=[str(p) for p in data.prior_shipments],
    )
    # SET_FIELD rules on "creating" may change the record: read the fields back.
    payload = {**fields, "items": units}
    events.before("lcs.shipment", "creating", payload, {"actor": actor})
    read_back(payload, fields)
    shipment = Shipment(
        tenant_id=tenant_id,
        organization_id=getattr(actor.principal, "organization_id", None),
        number=numbers.shipment_number(tenant_id),
        **fields,
    )
    tallies.add(tenant_id, shipment.organization_id)
    shipment.search_text = _search_text(shipment.number, shipment.order_id, addressing)
    db.session.add(shipment)
    db.session.flush()
    db.session.execute(
        sa.insert(ShipmentItem),
        [
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "shipment_id": shipment.id,
                "sequence": n,
                "created_at": utcnow(),
                "updated_at": utcnow(),
                **u,
            }
            for n, u in enumerate(units)
        ],
    )
    created = {"id": str(shipment.id), "number": shipment.number}
    after_commit(lambda: events.after("lcs.shipment", "created", created, {"actor": actor}))
    return shipment


def get_shipment(actor: Actor, shipment_id) -> Shipment:
    return actor.scope.get(Shipment, shipment_id, "Shipment")


# --- derived flags ----------------------------------------------------------------------------


def _unit_totals():
    """Per-shipment unit tallies behind the derived flags (labelled columns, one GROUP BY)."""
    u = ShipmentItem
    count = lambda cond: sa.func.sum(sa.case((cond, 1), else_=0))
    return (
        sa.func.count(u.id).label("units"),
        count(u.is_missing).label("missing"),
        count(sa.and_(u.is_handled, sa.not_(u.is_missing))).label("handled"),
        count(u.parcel_id.is_not(None)).label("boxed"),
        count(u.list_id.is_not(None)).label("listed"),
        count(u.is_serviced).label("serviced"),
    )


def _parcel_totals():
    p = Parcel
    count = lambda cond: sa.func.sum(sa.case((cond, 1), else_=0))
    return (
        sa.func.count(p.id).label("parcels"),
        count(p.label.is_not(None)).label("labeled"),
        count(p.is_in_transit).label("in_transit"),
        count(p.is_finished).label("finished"),
    )


def _totals_for(model, columns, ids) -> sa.Select:
    """``SELECT shipment_id, <totals> … WHERE shipment_id IN ids GROUP BY shipment_id``."""
    return sa.select(model.shipment_id, *columns).where(model.shipment_id.in_(ids)).group_by(model.shipment_id)


class _Tallies:
    """A shipment's flag inputs as Python values: from a shipment (row or object) and its
    unit and parcel tallies (anything with the labelled attributes of ``_unit_totals`` /
    ``_parcel_totals``; ``None`` when it has none)."""

    and_, not_ = staticmethod(lambda *c: all(c)), staticmethod(lambda c: not c)
    is_none = staticmethod(lambda v: v is None)

    def __init__(self, s, u, p):
        for name in ("units", "missing", "handled", "boxed", "listed", "serviced"):
            setattr(self, name, (getattr(u, name) or 0) if u is not None else 0)
        for name in ("parcels", "labeled", "in_transit", "finished"):
            setattr(self, name, (getattr(p, name) or 0) if p is not None else 0)
        self.is_canceled, self.active_list_id, self.has_overage = s.is_canceled, s.active_list_id, bool(s.overage)


class _SqlTallies:
    """The same inputs as SQL for the current shipment row (correlated counts), so a flag is
    a WHERE clause for search constraints and list filters."""

    and_, not_ = staticmethod(sa.and_), staticmethod(sa.not_)
    is_none = staticmethod(lambda v: v.is_(None))

    def __init__(self):
        s, u, p = Shipment, ShipmentItem, Parcel
        count = lambda model, *cond: (
            sa.select(sa.func.count()).select_from(model).where(model.shipment_id == s.id, *cond).scalar_subquery()
        )
        self.units, self.missing = count(u), count(u, u.is_missing)
        self.handled = count(u, u.is_handled, sa.not_(u.is_missing))
        self.boxed, self.listed = count(u, u.parcel_id.is_not(None)), count(u, u.list_id.is_not(None))
        self.serviced = count(u, u.is_serviced)
        self.parcels, self.labeled = count(p), count(p, p.label.is_not(None))
        self.in_transit, self.finished = count(p, p.is_in_transit), count(p, p.is_finished)
        self.is_canceled, self.active_list_id = s.is_canceled, s.active_list_id
        self.has_overage = sa.func.coalesce(sa.cast(s.overage, sa.String), "[]").not_in(("[]", "null"))


# The seed's derived flags, each defined once over the tallies ``t`` (``_Tallies`` gives the
# values of a row, ``_SqlTallies`` the SQL): the JSON and the filters cannot disagree.
FLAG_RULES = {
    "is_editable": lambda t: t.and_(t.not_(t.is_canceled), t.is_none(t.active_list_id), t.handled == 0, t.parcels == 0),
    "is_listed": lambda t: t.not_(t.is_none(t.active_list_id)),
    "is_handled": lambda t: t.and_(t.units - t.missing > 0, t.handled >= t.units - t.missing),
    "is_boxed": lambda t: t.and_(t.units - t.missing > 0, t.boxed >= t.units - t.missing),
    "is_labeled": lambda t: t.and_(t.parcels > 0, t.labeled == t.parcels),
    "is_serviced": lambda t: t.and_(t.units > 0, t.serviced == t.units),
    "is_complete": lambda t: t.and_(t.listed > 0, t.boxed == t.listed - t.missing),
    "is_overcomplete": lambda t: t.has_overage,
    "is_in_transit": lambda t: t.and_(t.parcels > 0, t.in_transit == t.parcels),
    "is_finished": lambda t: t.and_(t.parcels > 0, t.finished == t.parcels),
    "is_canceled": lambda t: t.is_canceled,
}


def derive_flags(s, u, p) -> dict:
    """The derived flags of one shipment from its unit and parcel tallies (see ``_Tallies``)."""
    t = _Tallies(s, u, p)
    return {flag: rule(t) for flag, rule in FLAG_RULES.items()}


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
    clause = FLAG_RULES[flag](_SqlTallies())
    return clause if value else sa.not_(clause)


class _JoinedTallies(_SqlTallies):
    """The same inputs as columns of per-shipment totals (one GROUP BY over units, one over
    parcels) joined to the shipment row: for counting flags over many shipments, where a
    correlated count per flag and row costs ~2 ms a shipment on PostgreSQL."""

    def __init__(self, units, parcels):
        for name in ("units", "missing", "handled", "boxed", "listed", "serviced"):
            setattr(self, name, sa.func.coalesce(units.c[name], 0))
        for name in ("parcels", "labeled", "in_transit", "finished"):
            setattr(self, name, sa.func.coalesce(parcels.c[name], 0))
        self.is_canceled, self.active_list_id = Shipment.is_canceled, Shipment.active_list_id
        self.has_overage = sa.func.coalesce(sa.cast(Shipment.overage, sa.String), "[]").not_in(("[]", "null"))


def tallied(ids: sa.Select):
    """The shipments ``ids`` selects, joined to their unit and parcel totals, and
    ``flag(name)``: a derived flag (``FLAG_RULES``) as SQL over that join. Select from the
    join and keep ``Shipment.id IN ids`` in the WHERE clause."""
    units = sa.select(ShipmentItem.shipment_id, *_unit_totals()).where(ShipmentItem.shipment_id.in_(ids))
    parcels = sa.select(Parcel.shipment_id, *_parcel_totals()).where(Parcel.shipment_id.in_(ids))
    u = units.group_by(ShipmentItem.shipment_id).subquery()
    p = parcels.group_by(Parcel.shipment_id).subquery()
    joined = sa.outerjoin(Shipment, u, u.c.shipment_id == Shipment.id).outerjoin(p, p.c.shipment_id == Shipment.id)
    t = _JoinedTallies(u, p)
    return joined, lambda flag: FLAG_RULES[flag](t)


FLAGS = (
    "is_editable",
    "is_listed",
    "is_handled",
    "is_boxed",
    "is_labeled",
    "is_in_transit",
    "is_finished",
    "is_canceled",
)


# --- the list -------------------------------------------------------------------------------

# What ``listed_row`` reads: the list selects these columns as plain rows (no ORM objects —
# a page of 25 costs a third as much) and ``flags_for``/``listed_row`` read them by name.
LISTED_COLUMNS = (
    Shipment.id,
    Shipment.number,
    Shipment.type,
    Shipment.method_id,
    Shipment.contact_id,
    Shipment.channel_id,
    Shipment.order_id,
    Shipment.addressing,
    Shipment.ship_at,
    Shipment.estimated_ship_at,
    Shipment.expected_at,
    Shipment.is_outbound,
    Shipment.is_canceled,
    Shipment.overage,
    Shipment.prior_shipments,
    Shipment.active_list_id,
    Shipment.created_at,
    Shipment.updated_at,
)


KEYSET = newest_first(Shipment)  # the list's order


@functools.lru_cache(maxsize=256)
def _page_statement(
    scope: Scope, has_search: bool, flags: tuple[tuple[str, bool], ...], keyed: bool = False
) -> sa.Select:
    """The list statement of one scope and filter shape, built once: building it costs more
    than running it. Page bounds, the search pattern and (``keyed``) the keyset of the row
    the page starts after are bind parameters.

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
    if has_search or flags or scope.restricts(Shipment):
        total = sa.select(sa.func.count()).select_from(stmt.subquery()).subquery("total")
    else:
        total = tallies.total_select(scope).subquery("total")
    if keyed:
        after = (
            sa.bindparam("after_at", type_=Shipment.created_at.type),
            sa.bindparam("after_id", type_=Shipment.id.type),
        )
        stmt = stmt.where(rows_after(KEYSET, after))
    rows = (
        stmt.order_by(*(column.desc() for column in KEYSET))
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
        .cte("page")
    )
    page_ids = sa.select(rows.c.id)
    units = _totals_for(ShipmentItem, _unit_totals(), page_ids).subquery("unit_totals")
    parcels = _totals_for(Parcel, _parcel_totals(), page_ids).subquery("parcel_totals")
    return (
        sa.select(
            total.c[0].label("total"),
            rows,
            *(c for c in units.c if c.name != "shipment_id"),
            *(c for c in parcels.c if c.name != "shipment_id"),
        )
        .select_from(
            total.outerjoin(rows, sa.true())
            .outerjoin(units, units.c.shipment_id == rows.c.id)
            .outerjoin(parcels, parcels.c.shipment_id == rows.c.id)
        )
        .order_by(rows.c.created_at.desc(), rows.c.id.desc())
    )


@dataclass
class ListedPage:
    """One page of ``LcsListedShipment`` rows, the total, and the ``KEYSET`` values of the last
    row when another page follows (None on the last page)."""

    rows: list[dict]
    total: int
    last: tuple | None = None


def list_page(
    actor: Actor,
    page: int,
    size: int,
    search: str = "",
    flags: dict[str, bool] | None = None,
    after: tuple | None = None,
) -> ListedPage:
    """One page of shipments (newest first) and the total, with the screen's filters:
    ``search`` text and derived flags. The page starts after the row whose ``KEYSET`` values
    are ``after`` (an index range: deep pages cost what the first does), else at ``page``.
    Built on every read: on a working floor the list changes with every scan, so a page
    cache would miss (bench/floor_load.py measured it)."""
    search = search.strip().lower()
    shape = tuple(sorted((flags or {}).items()))
    params = {"limit": size + 1, "offset": 0 if after else (page - 1) * size}
    if after:
        params["after_at"], params["after_id"] = after
    if search:
        params["pattern"] = contains_pattern(search)
    statement = _page_statement(actor.scope, bool(search), shape, keyed=after is not None)
    result = db.session.connection().execute(statement, params).all()
    count = int(result[0].total or 0) if result else 0
    found = [r for r in result if r.id is not None]  # past the end, only the total comes back
    body = [
        listed_row(r, derive_flags(r, r if r.units is not None else None, r if r.parcels is not None else None))
        for r in found[:size]
    ]
    more = len(found) > size
    return ListedPage(body, count, (found[size - 1].created_at, found[size - 1].id) if more else None)


# --- serialization ---------------------------------------------------------------------------


def listed_row(s: Shipment, flags: dict) -> dict:
    """``LcsListedShipment``: the shipment without its units (an ORM object or a row of
    ``LISTED_COLUMNS``)."""
    return {
        "id": s.id,
        "number": s.number,
        "type": s.type,
        "method_id": s.method_id,
        "contact_id": s.contact_id,
        "channel_id": s.channel_id,
        "order_id": s.order_id,
        "addressing": addressing_row(s.addressing),
        "ship_at": s.ship_at,
        "estimated_ship_at": s.estimated_ship_at,
        "expected_at": s.expected_at,
        "stack_id": None,
        "is_outbound": s.is_outbound,
        **flags,
        "secret": None,
        "prior_shipments": s.prior_shipments or [],
        "list_id": s.active_list_id,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def detail_row(s: Shipment) -> dict:
    """``LcsShipment``: with units, corrections and parcels (each a whole ``LcsParcel``)."""
    flags = flags_for([s])[s.id]
    return {
        **listed_row(s, flags),
        "items": [unit_row(u, flags) for u in s.items],
        "backorders": s.backorders or [],
        "overage": s.overage or [],
        "parcels": parcel_rows(list(s.parcels)),
        "active_list_id": s.active_list_id,
    }


# --- changes -----------------------------------------------------------------------------------


@command()
def update_shipment(actor: Actor, shipment_id, data: LcsShipmentUpdateModel) -> Shipment:
    """The fields sent change, only while the shipment is editable (409 after)."""
    shipment = get_shipment(actor, shipment_id)
    if not flags_for([shipment])[shipment.id]["is_editable"]:
        raise Conflict("Shipment is no longer editable (listed, handled, packed or canceled)")
    sent = data.model_fields_set
    changes = data.model_dump(include=sent & set(LcsShipmentRuleFields.model_fields))
    if data.type is None:
        changes.pop("type", None)  # null leaves the type as it is
    if "method_id" in sent:
        method = _method(actor, shipment.tenant_id, data.method_id)
        changes["method_id"] = method.id if method else None
    if "addressing" in sent:
        changes["addressing"], changes["location_id"] = _addressing(
            actor, shipment.tenant_id, shipment.addressing or {}, data.addressing, shipment.location_id
        )
    if "prior_shipments" in sent:
        changes["prior_shipments"] = [str(p) for p in data.prior_shipments or []]
    payload = {"id": str(shipment.id), **changes}
    events.before("lcs.shipment", "updating", payload, {"actor": actor})
    read_back(payload, changes)
    search_text = _search_text(
        shipment.number,
        changes.get("order_id", shipment.order_id),
        changes.get("addressing", shipment.addressing) or {},
    )
    # Conditional: only if still not on a list (a concurrent list creation wins cleanly).
    done = db.session.execute(
        sa.update(Shipment)
        .where(Shipment.id == shipment.id, Shipment.active_list_id.is_(None), Shipment.is_canceled.is_(False))
        .values(**changes, search_text=search_text, updated_at=utcnow())
    ).rowcount
    if not done:
        raise Conflict("Shipment is no longer editable")
    updated = {"id": str(shipment.id)}
    after_commit(lambda: events.after("lcs.shipment", "updated", updated, {"actor": actor}))
    return shipment


@command()
def cancel_shipment(actor: Actor, shipment_id) -> None:
    """DELETE: cancel (idempotent); refused once any parcel is in transit. Leaves its list."""
    shipment = get_shipment(actor, shipment_id)
    if shipment.is_canceled:
        return
    in_transit = db.session.scalar(
        sa.select(sa.func.count(Parcel.id)).where(Parcel.shipment_id == shipment.id, Parcel.is_in_transit.is_(True))
    )
    if in_transit:
        raise Conflict("Shipment is in transit and can no longer be canceled")
    events.before("lcs.shipment", "canceling", {"id": str(shipment.id)}, {"actor": actor})
    list_id = shipment.active_list_id
    done = db.session.execute(
        sa.update(Shipment)
        .where(Shipment.id == shipment.id, Shipment.is_canceled.is_(False))
        .values(is_canceled=True, canceled_at=utcnow(), active_list_id=None, updated_at=utcnow())
    ).rowcount
    if done:
        lists_left = set(
            db.session.scalars(
                sa.select(ShipmentItem.list_id)
                .where(ShipmentItem.shipment_id == shipment.id, ShipmentItem.parcel_id.is_(None))
                .distinct()
            )
        )
        db.session.execute(
            sa.update(ShipmentItem)
            .where(ShipmentItem.shipment_id == shipment.id, ShipmentItem.parcel_id.is_(None))
            .values(list_id=None)
        )
        lists.touch_lists(lists_left)  # their live views lose these units
        if list_id is not None:  # the rest of its list may be all picked now
            lists.finish_if_done(actor, lists.get_list(actor, list_id))
    canceled = {"id": str(shipment.id)}
    after_commit(lambda: events.after("lcs.shipment", "canceled", canceled, {"actor": actor}))


@command(retry_deadlocks=True)
def set_missing(actor: Actor, shipment_id, entries: list[LcsShipmentItemMissing]) -> None:
    """``[{id, is_missing}]`` for units of this shipment (204). A unit of another → 400.
    Units on a handling list count like the station's short picks (``lists.set_units_missing``):
    the write that resolves a list's last open unit finishes it; a unit of a finished or
    held list cannot change (409)."""

    shipment = get_shipment(actor, shipment_id)
    if shipment.is_canceled:
        raise Conflict("Shipment is canceled")
    units = {
        u.id: u
        for u in db.session.scalars(
            sa.select(ShipmentItem).where(
                ShipmentItem.id.in_({e.id for e in entries}), ShipmentItem.shipment_id == shipment.id
            )
        )
    }
    for i, e in enumerate(entries):
        if e.id not in units:
            raise _invalid(f"{i}.id", "is not a unit of this shipment")
    lists.set_units_missing(actor, units, {e.id: e.is_missing for e in entries})


@command()
def set_corrections(actor: Actor, shipment_id, kind: str, entries: list[LcsShipmentItemCorrection]) -> None:
    """Replace the shipment's backorders or overage list."""
    shipment = get_shipment(actor, shipment_id)
    if shipment.is_canceled:
        raise Conflict("Shipment is canceled")
    setattr(shipment, kind, [e.model_dump() for e in entries])


# --- status -----------------------------------------------------------------------------------

# The furthest step a shipment has reached, read from its derived flags (first match wins).
# A person reads one word; the seed has no status field, so it stays out of the JSON.
STATUSES = (
    ("is_canceled", "canceled"),
    ("is_finished", "finished"),
    ("is_in_transit", "in transit"),
    ("is_labeled", "labeled"),
    ("is_boxed", "packed"),
    ("is_handled", "picked"),
    ("is_listed", "listed"),
)


def status_of(flags: dict) -> str:
    """One word for the shipment table and page: ``canceled``, ``finished``, ``in transit``,
    ``labeled``, ``packed``, ``picked``, ``listed`` or ``open`` (from ``derive_flags``)."""
    return next((word for flag, word in STATUSES if flags.get(flag)), "open")


# --- positions ----------------------------------------------------------------------------------


def _open_units(shipment: Shipment) -> list[ShipmentItem]:
    """Units whose position may still change: neither picked nor packed (a picked or packed
    unit keeps the position it was taken from — the record of where it was)."""
    return list(
        db.session.scalars(
            sa.select(ShipmentItem)
            .where(
                ShipmentItem.shipment_id == shipment.id,
                ShipmentItem.is_handled.is_(False),
                ShipmentItem.parcel_id.is_(None),
            )
            .order_by(ShipmentItem.sequence)
        )
    )


@command()
def refresh_positions(actor: Actor, shipment_id) -> int:
    """``PUT /lcs/shipments/{id}/positions``: each open unit (``_open_units``) takes its
    SKU's current position at the shipment's location (any of the tenant's locations when it
    has none, as a new list does). A SKU stored nowhere keeps the position it had: "latest
    known". An open handling list holding the units is ranked again in the current walk order.
    A canceled shipment is refused (400: the seed has no 409 here). Answers how many units
    moved."""

    shipment = get_shipment(actor, shipment_id)
    if shipment.is_canceled:
        raise _invalid("id", "is a canceled shipment")
    known = locations.sku_positions(Scope(shipment.tenant_id), shipment.location_id)
    moves: dict[str, list] = {}
    list_ids = set()
    for unit in _open_units(shipment):
        code = (known.get(unit.sku) or (None, None))[0]
        if unit.list_id is not None:
            list_ids.add(unit.list_id)
        if code is not None and code != unit.position:
            moves.setdefault(code, []).append(unit.id)
    moved = 0
    for code, ids in moves.items():  # conditional: a unit picked meanwhile keeps its position
        moved += db.session.execute(
            sa.update(ShipmentItem)
            .where(ShipmentItem.id.in_(ids), ShipmentItem.is_handled.is_(False), ShipmentItem.parcel_id.is_(None))
            .values(position=code, updated_at=utcnow())
        ).rowcount
    # Ranked again even when no unit moved: the walk order itself may have changed.
    for hl in db.session.scalars(
        sa.select(HandlingList).where(
            HandlingList.id.in_(list_ids),
            HandlingList.is_finished.is_(False),
            HandlingList.is_cancelled.is_(False),
        )
    ):
        lists.rerank(hl)
    return moved
