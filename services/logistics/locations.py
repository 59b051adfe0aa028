"""Fulfilment locations (seed 001 lcs), their positions in walk order and the SKUs stored
there, and the walk-order lookups handling lists rank their units by.

No HTTP here; input arrives validated (``schemas.lcs_reference``). Reads take a ``Scope``
(another tenant's record is simply not found); writes take the acting ``Actor``, run as
one transaction and stage an audit row with it.

Storage: a location's address lives in ``Location.address`` with its id under ``"id"``
(served as ``address_id``); ``Position.skus`` holds the SKU strings and a SKU sits in at
most one position per location; positions are numbered ``sorting`` 1..n (the walk
order) after every change.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from models import Location, Organization, Position, Scope, db
from schemas.lcs_reference import LcsFulfilmentLocationModel, LcsLocationSkuModel
from services import audit, undo
from services.acl import Actor
from services.commands import Audited, audited, command, lock
from services.errors import NotFound, ValidationFailed

POSITIONS_RACE = "Positions changed at the same time; try again"


# --- locations --------------------------------------------------------------------------------


def location_row(loc: Location) -> dict:
    """``LcsFulfilmentLocation`` plus Wharf's stored address and organization."""
    address = dict(loc.address or {})
    address_id = address.pop("id", None)
    return {
        "id": loc.id,
        "name": loc.name,
        "reference": loc.reference,
        "address_id": address_id,
        "address": address or None,
        "is_disabled": loc.is_disabled,
        "organization_id": loc.organization_id,
        "created_at": loc.created_at,
        "updated_at": loc.updated_at,
    }


def _location_snapshot(loc: Location) -> dict:
    return {k: v for k, v in location_row(loc).items() if k not in ("created_at", "updated_at")} | {
        "deleted_at": loc.deleted_at
    }


LOCATION = Audited("lcs_location", _location_snapshot, "location")


def locations_query(
    scope: Scope, *, address_id: str | None = None, is_disabled: bool | None = None, search: str | None = None
) -> sa.Select:
    stmt = scope.select(Location)
    if is_disabled is not None:
        stmt = stmt.where(Location.is_disabled.is_(is_disabled))
    if search:
        pattern = search.lower()
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Location.name).contains(pattern, autoescape=True),
                sa.func.lower(Location.reference).contains(pattern, autoescape=True),
            )
        )
    if address_id:
        # The id sits inside the JSON column; matching in Python keeps SQLite and PostgreSQL alike
        # (a tenant has a handful of locations).
        ids = [loc.id for loc in db.session.scalars(stmt) if (loc.address or {}).get("id") == address_id]
        stmt = stmt.where(Location.id.in_(ids))
    return stmt.order_by(Location.name, Location.id)


def get_location(scope: Scope, location_id) -> Location:
    return scope.get(Location, location_id)


def _address(data: LcsFulfilmentLocationModel, current: dict | None) -> dict | None:
    """The stored address after ``address`` (replaces the fields; an address gets an id)
    and ``address_id`` (sets or clears the id), as far as they were sent."""
    address = dict(current or {})
    if "address" in data.model_fields_set:
        given = {k: v for k, v in (data.address.model_dump() if data.address else {}).items() if v}
        address = {"id": address.get("id") or (str(uuid.uuid4()) if given else None), **given}
    if "address_id" in data.model_fields_set:
        address["id"] = data.address_id or None
    return {k: v for k, v in address.items() if v is not None} or None


def _organization(actor: Actor, org_id: uuid.UUID | None, tenant_id) -> uuid.UUID | None:
    if org_id is None:
        return None
    org = db.session.scalars(Scope(tenant_id).select(Organization).where(Organization.id == org_id)).first()
    if org is None or not actor.grants.organization_visible(org_id):
        message = "is not an organization of this tenant"
        raise ValidationFailed(
            f"organization_id {message}", details=[{"path": ["organization_id"], "message": message}]
        )
    return org_id


@command()
def create_location(actor: Actor, data: LcsFulfilmentLocationModel, *, tenant_id=None) -> Location:
    """``POST /lcs/locations``."""
    tenant_id = actor.tenant_for_new(tenant_id)
    loc = Location(
        tenant_id=tenant_id,
        name=data.name,
        reference=data.reference or None,
        is_disabled=data.is_disabled,
        address=_address(data, None),
        organization_id=_organization(actor, data.organization_id, tenant_id),
    )
    with audited(actor, "create", LOCATION, loc):
        db.session.add(loc)
    return loc


@command()
def update_location(actor: Actor, location_id, data: LcsFulfilmentLocationModel) -> Location:
    """``PUT /lcs/locations/{id}``: the fields sent change, the others stay."""
    loc = lock(actor.scope, Location, location_id)
    sent = data.model_fields_set
    with audited(actor, "edit", LOCATION, loc):
        if "name" in sent:
            loc.name = data.name
        if "reference" in sent:
            loc.reference = data.reference or None
        if "is_disabled" in sent:
            loc.is_disabled = data.is_disabled
        if sent & {"address", "address_id"}:
            loc.address = _address(data, loc.address)
        if "organization_id" in sent:
            loc.organization_id = _organization(actor, data.organization_id, loc.tenant_id)
    return loc


@command()
def delete_location(actor: Actor, location_id) -> Location:
    """Soft delete: the location disappears from lists and lookups; shipments keep their link."""
    loc = lock(actor.scope, Location, location_id)
    with audited(actor, "delete", LOCATION, loc):
        loc.soft_delete()
    return loc


# --- positions (walk order) -------------------------------------------------------------------


def position_row(p: Position) -> dict:
    """``LcsLocationPosition``."""
    return {
        "code": p.code,
        "sorting": p.sorting,
        "skus": [sku_row(p, s) for s in sku_list(p.skus)],
        "created_at": p.created_at,
    }


def sku_list(skus) -> list[str]:
    """A position's SKUs (stored as plain strings; ``{"sku": …}`` objects are read too)."""
    return [e if isinstance(e, str) else e["sku"] for e in skus or []]


def sku_row(p: Position, sku: str) -> dict:
    """``LcsLocationSku`` (Wharf keeps no per-link timestamp: ``created_at`` is the position's)."""
    return {"sku": sku, "position": p.code, "created_at": p.created_at}


def positions_query(scope: Scope, location: Location) -> sa.Select:
    return scope.select(Position).where(Position.location_id == location.id).order_by(Position.sorting, Position.code)


def ordered_positions(location: Location) -> list[Position]:
    return list(
        db.session.scalars(
            sa.select(Position).where(Position.location_id == location.id).order_by(Position.sorting, Position.code)
        )
    )


def get_position(scope: Scope, location_id, code: str) -> Position:
    location = get_location(scope, location_id)
    found = db.session.scalars(positions_query(scope, location).where(Position.code == code)).first()
    if found is None:
        raise NotFound("Position not found")
    return found


def _renumber(positions: list[Position]) -> None:
    for i, p in enumerate(positions, start=1):
        if p.sorting != i:
            p.sorting = i


def _audit_positions(actor: Actor, location: Location, before: list[str], label: str) -> None:
    after = [p.code for p in ordered_positions(location)]
    if before != after:
        audit.record(
            actor,
            action="edit",
            kind="lcs_location_positions",
            resource_id=location.id,
            tenant_id=location.tenant_id,
            organization_id=location.organization_id,
            before={"positions": before},
            after={"positions": after},
            label=f"{label} at {location.name}",
        )


def _new_position(location: Location, code: str) -> Position:
    p = Position(tenant_id=location.tenant_id, location_id=location.id, code=code, skus=[])
    db.session.add(p)
    return p


@command(POSITIONS_RACE)
def reorder_positions(actor: Actor, location_id, codes: list[str]) -> int:
    """``PUT /lcs/locations/{id}/positions [codes]``: the listed codes become the start of the
    walk order in that order (unknown codes are created); the others follow, keeping their
    relative order. Returns the number of listed codes."""
    codes = list(dict.fromkeys(codes))
    location = lock(actor.scope, Location, location_id)
    existing = ordered_positions(location)
    before = [p.code for p in existing]
    by_code, listed_codes = {p.code: p for p in existing}, set(codes)
    listed = [by_code.get(code) or _new_position(location, code) for code in codes]
    _renumber(listed + [p for p in existing if p.code not in listed_codes])
    db.session.flush()
    _audit_positions(actor, location, before, "Reorder positions")
    return len(codes)


@command(POSITIONS_RACE)
def add_positions(actor: Actor, location_id, codes: list[str]) -> list[Position]:
    """Append new positions at the end of the walk order (existing codes stay where they are)."""
    location = lock(actor.scope, Location, location_id)
    existing = ordered_positions(location)
    before = [p.code for p in existing]
    added = [_new_position(location, c) for c in dict.fromkeys(codes) if c not in set(before)]
    _renumber(existing + added)
    db.session.flush()
    _audit_positions(actor, location, before, "Add positions")
    return added


@command(POSITIONS_RACE)
def move_position(actor: Actor, location_id, code: str, direction: str) -> Position:
    """Swap a position with its neighbour (``up``/``down``) or send it to the ``top``/``bottom``."""
    location = lock(actor.scope, Location, location_id)
    ordered = ordered_positions(location)
    before = [p.code for p in ordered]
    if code not in before:
        raise NotFound("Position not found")
    i = before.index(code)
    moving = ordered.pop(i)
    target = {"up": max(i - 1, 0), "down": min(i + 1, len(ordered)), "top": 0, "bottom": len(ordered)}[direction]
    ordered.insert(target, moving)
    _renumber(ordered)
    db.session.flush()
    _audit_positions(actor, location, before, f"Move position {code} {direction}")
    return moving


@command(POSITIONS_RACE)
def delete_positions(actor: Actor, location_id, codes: list[str]) -> int:
    """``DELETE /lcs/locations/{id}/positions [codes]``: removes them (and their SKU links);
    returns how many existed."""
    location = lock(actor.scope, Location, location_id)
    ordered = ordered_positions(location)
    before = [p.code for p in ordered]
    doomed = [p for p in ordered if p.code in set(codes)]
    for p in doomed:
        db.session.delete(p)
    _renumber([p for p in ordered if p not in doomed])
    db.session.flush()
    _audit_positions(actor, location, before, "Delete positions")
    return len(doomed)


# --- SKUs per position --------------------------------------------------------------------------


def location_skus(scope: Scope, location_id) -> list[dict]:
    """``LcsLocationSku`` rows of a location in walk order."""
    location = get_location(scope, location_id)
    return [sku_row(p, sku) for p in db.session.scalars(positions_query(scope, location)) for sku in sku_list(p.skus)]


def _sku_snapshot(positions: list[Position], skus: set[str]) -> dict:
    return {s: p.code for p in positions for s in sku_list(p.skus) if s in skus}


@command()
def set_skus(actor: Actor, location_id, entries: list[LcsLocationSkuModel]) -> tuple[int, int]:
    """``PUT /lcs/locations/{id}/skus [{sku, position}]``: each SKU moves to that position (a
    SKU sits in one position per location); no position removes it from the location.
    Entries naming a position the location does not have fail. Returns ``(success, failed)``."""
    location = lock(actor.scope, Location, location_id)
    positions = ordered_positions(location)
    lists = {p.code: sku_list(p.skus) for p in positions}
    where = {sku: code for code, skus in lists.items() for sku in skus}
    success = failed = 0
    touched: set[str] = set()
    for entry in entries:
        sku, code = entry.sku, entry.position
        if code is not None and code not in lists:
            failed += 1
            continue
        old = where.pop(sku, None)
        if old is not None and old != code:
            lists[old].remove(sku)
        if code is not None and old != code:
            lists[code].append(sku)
        if code is not None:
            where[sku] = code
        touched.add(sku)
        success += 1
    before = _sku_snapshot(positions, touched)
    for p in positions:
        if lists[p.code] != sku_list(p.skus):
            p.skus = lists[p.code]
    _audit_skus(actor, location, before, _sku_snapshot(positions, touched))
    return success, failed


@command()
def set_position_skus(actor: Actor, location_id, code: str, skus: list[str]) -> Position:
    """The screen's "SKUs at this position": ``skus`` becomes the position's whole set (SKUs
    listed here leave any other position of the location)."""
    location = lock(actor.scope, Location, location_id)
    positions = ordered_positions(location)
    target = next((p for p in positions if p.code == code), None)
    if target is None:
        raise NotFound("Position not found")
    touched = set(skus) | set(sku_list(target.skus))
    before = _sku_snapshot(positions, touched)
    for p in positions:
        if p is not target and set(sku_list(p.skus)) & set(skus):
            p.skus = [s for s in sku_list(p.skus) if s not in skus]
    target.skus = list(skus)
    _audit_skus(actor, location, before, _sku_snapshot(positions, touched))
    return target


def _audit_skus(actor: Actor, location: Location, before: dict, after: dict) -> None:
    if before != after:
        audit.record(
            actor,
            action="assign",
            kind="lcs_location_skus",
            resource_id=location.id,
            tenant_id=location.tenant_id,
            organization_id=location.organization_id,
            before=before,
            after=after,
            label=f"Assign SKUs to positions at {location.name}",
        )


# --- walk order (handling lists rank their units by it) -------------------------------------------


def _positions_of(scope: Scope, location_id) -> list[tuple[str, int, list]]:
    """(code, sorting, skus) of a live location's positions in walk order; ``None`` = every
    live location in scope (first location by name wins for a SKU). Unknown → empty."""
    locations = scope.select(Location).with_only_columns(Location.id)
    if location_id is not None:
        try:
            key = location_id if isinstance(location_id, uuid.UUID) else uuid.UUID(str(location_id))
        except ValueError:
            return []
        locations = locations.where(Location.id == key)
    stmt = (
        sa.select(Position.code, Position.sorting, Position.skus)
        .join(Location, Location.id == Position.location_id)
        .where(Position.location_id.in_(locations))
        .order_by(Location.name, Location.id, Position.sorting, Position.code)
    )
    if scope.tenant_id is not None:
        stmt = stmt.where(Position.tenant_id == scope.tenant_id)
    return [tuple(r) for r in db.session.execute(stmt)]


def sku_positions(scope: Scope, location_id) -> dict[str, tuple[str, int]]:
    """Every SKU stored at the location → (position code, sorting), for bulk look-ups."""
    out: dict[str, tuple[str, int]] = {}
    for code, sorting, skus in _positions_of(scope, location_id):
        for sku in sku_list(skus):
            out.setdefault(sku, (code, sorting))
    return out


def positions_holding(scope: Scope, location_id, sku: str) -> list[str]:
    """The position codes of the location that hold ``sku``, in walk order (a short pick's
    alternates)."""
    return [code for code, _, skus in _positions_of(scope, location_id) if sku in sku_list(skus)]


def walk_order(scope: Scope, location_id) -> dict[str, int]:
    """Position code → sorting for the location (empty when unknown or out of scope)."""
    out: dict[str, int] = {}
    for code, sorting, _ in _positions_of(scope, location_id):
        out.setdefault(code, sorting)
    return out


# --- undo (services.undo): locations come back through the commands above -----------------


undo.register_soft_deleted(
    LOCATION,
    Location,
    LcsFulfilmentLocationModel,
    features=("lcs.locations.write",),
    update=update_location,
    delete=delete_location,
)
