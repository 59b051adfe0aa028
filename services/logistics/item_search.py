"""The seed-001 search endpoints over shipments, parcels and units, and the bulk command
(``PUT /lcs/bulk/items``). No HTTP here: the views page the selects built below with
``web.pagination.paginate_b`` and hand the page back for serialization.

Every query starts from ``actor.scope.select(...)`` (``models.scope.Scope``), so another
tenant's ids simply match nothing. Constraints arrive validated and typed
(``schemas.lcs_search``); ``services.logistics.search.apply_constraints`` maps them to SQL.

Item searches are *grouped*: a group holds the units that match the constraints (a search
``is_handled: false`` returns the open units of each group, with quantities to match), and
paging counts groups, not units.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from models import HandlingList, Parcel, Shipment, ShipmentItem, db, utcnow
from schemas.lcs_search import (
    SHIPMENT_FLAGS,
    LcsBulkItemsCommand,
    LcsItemSearchConstraint,
    LcsParcelSearchConstraint,
    LcsShipmentSearchConstraint,
)
from services import commands
from services.acl import Actor
from services.errors import Conflict, ValidationFailed
from services.logistics import lists as lists_svc
from services.logistics.search import Field, apply_constraints
from services.logistics.shipments import flag_condition, flags_for, listed_row

u, s, p = ShipmentItem, Shipment, Parcel
_position = sa.func.coalesce(u.position, sa.literal_column("''"))  # a pick line's position ('' when none)


# --- constraint keys ---------------------------------------------------------------------------


def _in_parcels(condition) -> sa.ColumnElement:
    return u.parcel_id.in_(sa.select(p.id).where(condition))


ITEM_FIELDS: dict[str, Field] = {
    # LcsItemSearchConstraint (seed): ids, skus, position, is_listed, is_missing, is_in_transit, is_boxed,
    # is_finished, is_labeled, is_serviced, is_handled, is_outbound, list_ids, parcel_ids, shipment_ids
    "ids": Field(column=u.id, kind="uuid"),
    "skus": Field(column=u.sku),
    "position": Field(column=u.position),
    "is_listed": Field(kind="bool", build=lambda v: u.list_id.is_not(None) if v else u.list_id.is_(None)),
    "is_missing": Field(kind="bool", build=lambda v: u.is_missing.is_(v)),
    # A unit travels with its parcel: in transit / labelled = its parcel is.
    "is_in_transit": Field(
        kind="bool",
        build=lambda v: (
            _in_parcels(p.is_in_transit.is_(True))
            if v
            else sa.or_(u.parcel_id.is_(None), _in_parcels(p.is_in_transit.is_(False)))
        ),
    ),
    "is_boxed": Field(kind="bool", build=lambda v: u.parcel_id.is_not(None) if v else u.parcel_id.is_(None)),
    "is_finished": Field(kind="bool", build=lambda v: u.is_finished.is_(v)),
    "is_labeled": Field(
        kind="bool",
        build=lambda v: (
            _in_parcels(p.label.is_not(None)) if v else sa.or_(u.parcel_id.is_(None), _in_parcels(p.label.is_(None)))
        ),
    ),
    "is_serviced": Field(kind="bool", build=lambda v: u.is_serviced.is_(v)),
    "is_handled": Field(kind="bool", build=lambda v: u.is_handled.is_(v)),
    "is_outbound": Field(kind="bool", build=lambda v: u.shipment_id.in_(sa.select(s.id).where(s.is_outbound.is_(v)))),
    "list_ids": Field(column=u.list_id, kind="uuid"),
    "parcel_ids": Field(column=u.parcel_id, kind="uuid"),
    "shipment_ids": Field(column=u.shipment_id, kind="uuid"),
}


def _entity(side: str, key: str) -> sa.ColumnElement:
    return s.addressing[(side, key)].as_string()


def _entity_type(side: str, value: str) -> sa.ColumnElement:
    """``entity_type`` as stored; an inline address snapshot without one counts as ``address``."""
    stored = _entity(side, "entity_type")
    if value != "address":
        return stored == value
    return sa.or_(stored == value, sa.and_(stored.is_(None), _entity(side, "address").is_not(None)))


def _prior(value: uuid.UUID) -> sa.ColumnElement:
    # prior_shipments is a JSON array of id strings: match the quoted id in its text (portable).
    return sa.func.lower(sa.cast(s.prior_shipments, sa.String)).like(f'%"{value}"%')


SHIPMENT_FIELDS: dict[str, Field] = {
    # LcsShipmentSearchConstraint (seed)
    "ids": Field(column=s.id, kind="uuid"),
    "secret": Field(build=lambda v: sa.false()),  # Wharf keeps no shipment secrets: accepted, matches nothing
    "is_outbound": Field(kind="bool", build=lambda v: s.is_outbound.is_(v)),
    "from_id": Field(build=lambda v: _entity("from", "entity_id") == v),
    "from_type": Field(build=lambda v: _entity_type("from", v)),
    "to_id": Field(build=lambda v: _entity("to", "entity_id") == v),
    "to_type": Field(build=lambda v: _entity_type("to", v)),
    "prior_ids": Field(kind="uuid", build=_prior),
    # Wharf additions for the screens
    "number": Field(column=s.number),
    "order_id": Field(column=s.order_id),
    **{flag: Field(kind="bool", build=lambda v, flag=flag: flag_condition(flag, v)) for flag in SHIPMENT_FLAGS},
}

PARCEL_FIELDS: dict[str, Field] = {
    # LcsParcelSearchConstraint (seed): ids, is_delivered; Wharf adds shipment_ids, is_in_transit, is_finished
    "ids": Field(column=p.id, kind="uuid"),
    "is_delivered": Field(kind="bool", build=lambda v: p.is_delivered.is_(v)),
    "shipment_ids": Field(column=p.shipment_id, kind="uuid"),
    "is_in_transit": Field(kind="bool", build=lambda v: p.is_in_transit.is_(v)),
    "is_finished": Field(kind="bool", build=lambda v: p.is_finished.is_(v)),
}


# --- scoped bases ------------------------------------------------------------------------------


def _visible_shipment_ids(actor: Actor) -> sa.Select | None:
    """Units and parcels carry no organization: limit them through their shipment when the
    caller sees only some organizations (``None`` = no limit beyond the tenant)."""
    if actor.scope.organization_ids is None:
        return None
    return actor.scope.select(Shipment).with_only_columns(Shipment.id)


def units_select(actor: Actor) -> sa.Select:
    stmt = actor.scope.select(ShipmentItem)
    visible = _visible_shipment_ids(actor)
    return stmt if visible is None else stmt.where(ShipmentItem.shipment_id.in_(visible))


def matching_units(actor: Actor, constraints: Sequence[LcsItemSearchConstraint]) -> sa.Select:
    """``SELECT ShipmentItem`` in the caller's scope matching the item constraints."""
    return apply_constraints(units_select(actor), constraints, ITEM_FIELDS)


# --- shipments and parcels ---------------------------------------------------------------------


def shipments_select(actor: Actor, constraints: Sequence[LcsShipmentSearchConstraint]) -> sa.Select:
    """Shipments matching ``LcsShipmentSearch`` (plus number, order_id and the derived flags);
    the caller orders them (``paginate_b``'s keyset)."""
    return apply_constraints(actor.scope.select(Shipment), constraints, SHIPMENT_FIELDS)


def shipment_rows(shipments: list[Shipment]) -> list[dict]:
    """``LcsListedShipment`` for a page, flags derived for the whole page in one go."""
    flags = flags_for(shipments)
    rows = []
    for sh in shipments:
        row = listed_row(sh, flags[sh.id])
        # LcsListedShipment fields that listed_row may not carry (kept if it does).
        row.setdefault("secret", None)
        row.setdefault("prior_shipments", sh.prior_shipments or [])
        row.setdefault("list_id", sh.active_list_id)
        rows.append(row)
    return rows


def parcels_select(actor: Actor, constraints: Sequence[LcsParcelSearchConstraint]) -> sa.Select:
    """Parcels matching ``LcsParcelSearch`` (plus shipment_ids, is_in_transit, is_finished); the
    caller orders them (``paginate_b``'s keyset)."""
    stmt = actor.scope.select(Parcel)
    visible = _visible_shipment_ids(actor)
    if visible is not None:
        stmt = stmt.where(Parcel.shipment_id.in_(visible))
    stmt = apply_constraints(stmt, constraints, PARCEL_FIELDS)
    return stmt.options(selectinload(Parcel.shipment))


# --- grouped item searches ---------------------------------------------------------------------


@dataclass
class GroupedSearch:
    """``groups`` selects one representative unit per group, in result order: page it
    (``paginate_b`` counts groups); ``rows(page)`` builds the page's grouped rows."""

    groups: sa.Select
    rows: Callable[[list[ShipmentItem]], list[dict]]


def _groups(filtered: sa.Select, partition: tuple, order: tuple, owner, owner_id) -> sa.Select:
    """One representative unit per group of ``filtered`` (units alike in ``partition``): the
    first by ``order``. Groups of the newest ``owner`` (shipment, list, parcel) come first,
    then in ``order`` of their representatives; paging this select counts groups."""
    rn = sa.func.row_number().over(partition_by=partition, order_by=order).label("rn")
    grp = filtered.with_only_columns(ShipmentItem.id, rn).subquery("grp")
    return (
        sa.select(ShipmentItem)
        .join(grp, grp.c.id == ShipmentItem.id)
        .where(grp.c.rn == 1)
        .join(owner, owner.id == owner_id)
        .order_by(owner.created_at.desc(), owner.id.desc(), order[0])
    )


def _members(filtered: sa.Select, reps: list[ShipmentItem], key: Callable, *columns) -> dict:
    """The matching units of the page's groups, by group key, in unit order."""
    if not reps:
        return {}
    stmt = filtered
    for column, attr in columns:
        stmt = stmt.where(column.in_({getattr(r, attr) for r in reps}))
    wanted = {key(r) for r in reps}
    out: dict = {}
    for unit in db.session.scalars(stmt.order_by(ShipmentItem.rank, ShipmentItem.sequence, ShipmentItem.id)):
        k = key(unit)
        if k in wanted:
            out.setdefault(k, []).append(unit)
    return out


def _by(units: list[ShipmentItem], attr: str, field: str = "id") -> list[dict]:
    groups: OrderedDict = OrderedDict()
    for unit in units:
        value = getattr(unit, attr)
        if value not in (None, ""):
            groups.setdefault(value, []).append(unit.id)
    return [{field: k, "item_ids": v} for k, v in groups.items()]


def grouped_shipment_item(units: list[ShipmentItem]) -> dict:
    """``LcsGroupedShipmentItem`` of one (shipment, SKU) group's units."""
    first = units[0]
    references, seen = [], set()
    for unit in units:
        ref = (unit.order_item_id, unit.claim_item_id)
        if ref != (None, None) and ref not in seen:
            seen.add(ref)
            references.append({"order_item_id": ref[0], "claim_item_id": ref[1]})
    ids = {
        "handled_ids": [x.id for x in units if x.is_handled],
        "boxed_ids": [x.id for x in units if x.parcel_id is not None],
        "listed_ids": [x.id for x in units if x.list_id is not None],
        "finished_ids": [x.id for x in units if x.is_finished],
        "missing_ids": [x.id for x in units if x.is_missing],
    }
    return {
        "ids": [x.id for x in units],
        "sku": first.sku,
        "quantity": len(units),
        "hs_code": next((x.hs_code for x in units if x.hs_code), None),
        "description": first.description,
        "references": references,
        "lists": _by(units, "list_id"),
        "parcels": _by(units, "parcel_id"),
        "positions": _by(units, "position", "code"),
        **ids,
        "shipment_id": first.shipment_id,
        "totals": {
            "boxed": len(ids["boxed_ids"]),
            "handled": len(ids["handled_ids"]),
            "finished": len(ids["finished_ids"]),
            "missing": len(ids["missing_ids"]),
            "listed": len(ids["listed_ids"]),
        },
    }


def shipment_items(actor: Actor, constraints: Sequence[LcsItemSearchConstraint]) -> GroupedSearch:
    """``POST /lcs/search/shipments/items``: matching units grouped by (shipment, SKU),
    newest shipment first, SKUs in the order they were entered."""
    filtered = matching_units(actor, constraints)
    groups = _groups(filtered, (u.shipment_id, u.sku), (u.sequence, u.id), Shipment, u.shipment_id)

    def rows(reps: list[ShipmentItem]) -> list[dict]:
        key = lambda x: (x.shipment_id, x.sku)
        members = _members(filtered, reps, key, (u.shipment_id, "shipment_id"), (u.sku, "sku"))
        out = []
        for r in reps:
            units = sorted(members.get(key(r), [r]), key=lambda x: x.sequence)
            out.append(grouped_shipment_item(units))
        return out

    return GroupedSearch(groups, rows)


def _list_key(x: ShipmentItem) -> tuple:
    return (x.list_id, x.shipment_id, x.sku, x.position or "")


def _list_ranks(list_ids) -> dict:
    """Rank of every pick line (list, shipment, SKU, position) on its whole list, as in the
    list detail (``lists.grouped``): lines in order of their first unit's walk-order rank."""
    if not list_ids:
        return {}
    rows = db.session.execute(
        sa.select(u.list_id, u.shipment_id, u.sku, _position, sa.func.min(u.rank))
        .where(u.list_id.in_(list_ids))
        .group_by(u.list_id, u.shipment_id, u.sku, _position)
    ).all()
    ranks: dict = {}
    for list_id in {r[0] for r in rows}:
        lines = sorted((r for r in rows if r[0] == list_id), key=lambda r: r[4])
        for rank, r in enumerate(lines):
            ranks[(r[0], r[1], r[2], r[3])] = rank
    return ranks


def list_items(actor: Actor, constraints: Sequence[LcsItemSearchConstraint]) -> GroupedSearch:
    """``POST /lcs/search/lists/items``: matching units that are on a handling list, grouped
    per pick line (list, shipment, SKU, position) as ``LcsHandlingListItem``; newest list
    first, lines in walk order. ``rank`` is the line's rank on its whole list. Wharf adds
    ``list_id`` (a search spans lists)."""
    filtered = matching_units(actor, constraints).where(u.list_id.is_not(None))
    groups = _groups(filtered, (u.list_id, u.shipment_id, u.sku, _position), (u.rank, u.id), HandlingList, u.list_id)

    def rows(reps: list[ShipmentItem]) -> list[dict]:
        if not reps:
            return []
        members = _members(
            filtered, reps, _list_key, (u.list_id, "list_id"), (u.shipment_id, "shipment_id"), (u.sku, "sku")
        )
        ranks = _list_ranks({r.list_id for r in reps})
        lists = {
            hl.id: hl
            for hl in db.session.scalars(sa.select(HandlingList).where(HandlingList.id.in_({r.list_id for r in reps})))
        }
        out = []
        for r in reps:
            line = lists_svc.grouped(lists[r.list_id], members.get(_list_key(r), [r]))[0]
            out.append(
                {
                    "ids": line["ids"],
                    "handled_ids": line["handled_ids"],
                    "shipment_id": line["shipment_id"],
                    "sku": line["sku"],
                    "description": line["description"],
                    "position": line["position"],
                    "quantity": line["quantity"],
                    "sorting_label": line["sorting_label"],
                    "rank": ranks.get(_list_key(r), line["rank"]),
                    "list_id": r.list_id,
                }
            )
        return out

    return GroupedSearch(groups, rows)


def parcel_items(actor: Actor, constraints: Sequence[LcsItemSearchConstraint]) -> GroupedSearch:
    """``POST /lcs/search/parcels/items``: matching boxed units grouped per (parcel, SKU) as
    ``LcsParcelItem`` (``id`` is the group's first unit, as in the parcel view); newest parcel
    first. Wharf adds ``parcel_id`` (a search spans parcels)."""
    filtered = matching_units(actor, constraints).where(u.parcel_id.is_not(None))
    groups = _groups(filtered, (u.parcel_id, u.sku), (u.sequence, u.id), Parcel, u.parcel_id)

    def rows(reps: list[ShipmentItem]) -> list[dict]:
        key = lambda x: (x.parcel_id, x.sku)
        members = _members(filtered, reps, key, (u.parcel_id, "parcel_id"), (u.sku, "sku"))
        return [
            {
                "id": r.id,
                "sku": r.sku,
                "quantity": len(members.get(key(r), [r])),
                "description": r.description,
                "parcel_id": r.parcel_id,
            }
            for r in reps
        ]

    return GroupedSearch(groups, rows)


# --- bulk -----------------------------------------------------------------------------------------

MAX_BULK_UNITS = 10_000
_CHUNK = 500


def _chunks(ids: list) -> list[list]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)] or [[]]


@commands.command()
def bulk_items(actor: Actor, command: LcsBulkItemsCommand) -> int:
    """``PUT /lcs/bulk/items`` ``set_parameters``: set the parameters sent on every unit of
    the caller's scope matching the item constraints, in one transaction. Returns how many
    units matched.

    - ``is_handled`` is a conditional update (flips only units whose value differs and that
      are not missing), so a retry changes nothing; each flip on a list is recorded as a
      scan event and starts the list. A command that resolves a list's last open unit
      (handled or missing) finishes the list (``lists.finish_if_done``).
    - Units on a held, cancelled or finished handling list → **409 naming the list** (the
      whole command is refused, nothing changes) — for every parameter except ``parcel_id``
      alone: packing follows picking, so boxing units of a finished list is allowed (parcel
      rules apply instead). Units of a canceled shipment → 409 naming the shipment.
    - ``parcel_id`` must be a parcel of the same shipment as every matched unit (else 400),
      not in transit (409); units may not leave a parcel in transit (409); missing units
      cannot be boxed (400). ``parcel_id: null`` takes the units out of their parcels.
    - At most 10 000 units per command (400 beyond: narrow the constraints).
    """
    return _apply(actor, command.constraints, command.parameters.named())


def _invalid_parcel(message: str) -> ValidationFailed:
    return ValidationFailed(
        f"parameters.parcel_id {message}", details=[{"path": ["parameters", "parcel_id"], "message": message}]
    )


def _apply(actor: Actor, constraints: Sequence[LcsItemSearchConstraint], params: dict) -> int:
    stmt = (
        matching_units(actor, constraints)
        .with_only_columns(u.id, u.shipment_id, u.list_id, u.parcel_id, u.is_missing)
        .order_by(u.id)
    )
    if db.engine.dialect.name != "sqlite":
        stmt = stmt.with_for_update(of=ShipmentItem)
    units = db.session.execute(stmt).all()
    if len(units) > MAX_BULK_UNITS:
        raise ValidationFailed(
            f"The constraints match {len(units)} units; at most {MAX_BULK_UNITS} per command",
            details=[{"path": ["constraints"], "message": f"match more than {MAX_BULK_UNITS} units"}],
        )
    if not units:
        return 0
    ids = [x.id for x in units]
    tenant = actor.scope.tenant_id

    def where_ids(chunk):
        conditions = [u.id.in_(chunk)]
        if tenant is not None:  # belt and braces: never outside the caller's tenant
            conditions.append(u.tenant_id == tenant)
        return conditions

    canceled = db.session.scalars(
        sa.select(Shipment)
        .where(Shipment.id.in_({x.shipment_id for x in units}), Shipment.is_canceled.is_(True))
        .order_by(Shipment.number)
    ).first()
    if canceled is not None:
        raise Conflict(f"Shipment {canceled.number} is canceled")

    list_ids = {x.list_id for x in units if x.list_id is not None}
    guard_lists = bool(list_ids) and set(params) != {"parcel_id"}
    if guard_lists:
        for hl in db.session.scalars(
            sa.select(HandlingList).where(HandlingList.id.in_(list_ids)).order_by(HandlingList.number)
        ):
            lists_svc.require_active(hl)  # 409 naming the list

    now = utcnow()
    guarded_parcels: set = set()
    if "parcel_id" in params:
        target = params["parcel_id"]
        moving = [x for x in units if x.parcel_id != target]
        if target is not None:
            parcel = db.session.scalars(actor.scope.select(Parcel).where(Parcel.id == target)).first()
            if parcel is None:
                raise _invalid_parcel("is not a known parcel")
            others = sorted({str(x.shipment_id) for x in units if x.shipment_id != parcel.shipment_id})
            if others:
                raise _invalid_parcel(f"is a parcel of another shipment than {len(others)} matched shipment(s)")
            if parcel.is_in_transit:
                raise Conflict(f"Parcel {parcel.number} is in transit")
            missing = params.get("is_missing", None)
            if missing or (missing is None and any(x.is_missing for x in moving)):
                raise _invalid_parcel("missing units cannot be put in a parcel")
            guarded_parcels.add(target)
        sources = {x.parcel_id for x in moving if x.parcel_id is not None}
        if sources:
            shipped = db.session.scalars(
                sa.select(Parcel).where(Parcel.id.in_(sources), Parcel.is_in_transit.is_(True)).order_by(Parcel.number)
            ).first()
            if shipped is not None:
                raise Conflict(f"Parcel {shipped.number} is in transit")
            guarded_parcels |= sources

    # 1. missing first (a unit marked found may then be handled or boxed in the same command)
    if "is_missing" in params:
        flipped = []
        for chunk in _chunks(ids):
            flipped += db.session.execute(
                sa.update(ShipmentItem)
                .where(*where_ids(chunk), u.is_missing.is_(not params["is_missing"]))
                .values(is_missing=params["is_missing"], updated_at=now)
                .returning(u.id, u.list_id, u.tenant_id, u.position)
            ).all()
        lists_svc.record_missing(actor, [f for f in flipped if f.list_id is not None], params["is_missing"])
    # 2. plain values
    plain = {k: params[k] for k in ("position", "lot_number", "expires_at", "is_finished", "parcel_id") if k in params}
    if plain:
        for chunk in _chunks(ids):
            db.session.execute(sa.update(ShipmentItem).where(*where_ids(chunk)).values(**plain, updated_at=now))
    # 3. handled: conditional flip, exactly the units whose value differs
    if "is_handled" in params:
        _flip_handled(actor, ids, where_ids, params["is_handled"], now)

    # The lists and parcels involved may have changed state meanwhile: refuse as a whole.
    if guard_lists:
        still = db.session.execute(
            sa.update(HandlingList)
            .where(
                HandlingList.id.in_(list_ids),
                HandlingList.is_finished.is_(False),
                HandlingList.is_cancelled.is_(False),
                HandlingList.is_on_hold.is_(False),
            )
            .values(version=HandlingList.version + 1)
        ).rowcount
        if still != len(list_ids):
            raise Conflict("A handling list of these units changed state meanwhile")
        if {"is_handled", "is_missing"} & set(params):  # the last open unit finishes its list (seed)
            for hl in db.session.scalars(
                sa.select(HandlingList).where(HandlingList.id.in_(list_ids)).order_by(HandlingList.number)
            ):
                lists_svc.finish_if_done(actor, hl)
    if guarded_parcels:
        still = db.session.execute(
            sa.update(Parcel)
            .where(Parcel.id.in_(guarded_parcels), Parcel.is_in_transit.is_(False))
            .values(updated_at=now)
        ).rowcount
        if still != len(guarded_parcels):
            raise Conflict("A parcel of these units went into transit meanwhile")
    return len(ids)


def _flip_handled(actor: Actor, ids: list, where_ids, handled: bool, now) -> None:
    values = {
        "is_handled": handled,
        "handled_at": now if handled else None,
        "handled_by": actor.user_id if handled else None,
        "updated_at": now,
    }
    flipped: list = []
    for chunk in _chunks(ids):
        stmt = (
            sa.update(ShipmentItem)
            .where(*where_ids(chunk), u.is_handled.is_(not handled), u.is_missing.is_(False))
            .values(**values)
            .returning(u.id, u.list_id, u.tenant_id)
        )
        flipped += db.session.execute(stmt).all()
    on_lists = [f for f in flipped if f.list_id is not None]
    for f in on_lists:
        lists_svc.record(actor, f, "handled" if handled else "unhandled", item_id=f.id)
    if handled and on_lists:
        db.session.execute(
            sa.update(HandlingList)
            .where(HandlingList.id.in_({f.list_id for f in on_lists}), HandlingList.started_at.is_(None))
            .values(started_at=now)
        )
