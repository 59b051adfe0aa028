"""Reference data of the floor (seed 001 lcs): fulfilment locations with their positions
(walk order) and the SKUs stored there, shipping methods, and Wharf's own product
catalogue with barcodes (CSV/JSON import).

No HTTP here. Reads take a ``Scope`` (another tenant's record is simply not found);
writes take the acting ``Actor``, run as one transaction and stage an audit row with it.
Shipments, handling lists and the scan station use the lookups at the end of the module:
``position_for_sku``, ``sku_positions``, ``walk_order``, ``enabled_for_country`` and
``resolve_code``.

Storage notes: ``Position.skus`` holds the SKU strings and a SKU sits in at most one
position per location; a location's positions are numbered ``sorting`` 1..n
(the walk order) after every change; a method's non-column seed fields live in
``Method.extra``; a location's address lives in ``Location.address`` with its id under
``"id"`` (served as ``address_id``).
"""
from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from models import Location, Method, Organization, Position, Product, ProductBarcode, Scope, db
from services import audit
from services.acl import Actor
from services.errors import Conflict, NotFound, ValidationFailed

TRUE, FALSE = ("true", "1", "on", "yes"), ("false", "0", "off", "no", "")


# --- input checking --------------------------------------------------------------------------

class Input:
    """Reads the fields of one JSON object or form post and collects every problem (with the
    family-B ``kind``) before failing once. Form values arrive as text and are parsed."""

    def __init__(self, data: dict, *, from_form: bool = False, prefix: Iterable = ()):
        self.data = data if isinstance(data, dict) else {}
        self.from_form = from_form
        self.prefix = list(prefix)
        self.details: list[dict] = []

    def has(self, key: str) -> bool:
        return key in self.data

    def fail(self, key, message: str, kind: str = "invalid value") -> None:
        path = [*self.prefix, *(key if isinstance(key, (list, tuple)) else [key])]
        self.details.append({"path": path, "message": message, "kind": kind})

    def text(self, key: str, limit: int, *, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(key, "is required", "required")
            return None
        if not isinstance(value, str):
            self.fail(key, "must be a string")
            return None
        value = value.strip()
        if len(value) > limit:
            self.fail(key, f"must be at most {limit} characters")
            return None
        return value

    def integer(self, key: str, *, low: int = 0, high: int = 2_000_000_000, default=None):
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        number = to_int(value, from_text=self.from_form)
        if number is None or not low <= number <= high:
            self.fail(key, f"must be a whole number between {low} and {high}")
            return default
        return number

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if isinstance(value, list) and self.from_form:  # hidden "false" + checkbox: last wins
            value = value[-1] if value else None
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if self.from_form and isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
            return value.strip().lower() in TRUE
        self.fail(key, "must be true or false")
        return default

    def choice(self, key: str, choices: tuple[str, ...], default=None):
        value = self.text(key, 64)
        if value is None:
            return default
        if value not in choices:
            self.fail(key, f"must be one of {', '.join(choices)}")
            return default
        return value

    def check(self, message: str = "Validation failed") -> None:
        if self.details:
            first = self.details[0]
            raise ValidationFailed(f"{message}: {'.'.join(map(str, first['path']))} {first['message']}",
                                   details=self.details)


def to_int(value, *, from_text: bool) -> int | None:
    """A whole number from JSON (int, or a float without fraction) or, for forms/CSV, text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not from_text:
            return None
        value = value.strip()
        try:
            return int(value)
        except ValueError:
            try:
                value = float(value)
            except ValueError:
                return None
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    return value if isinstance(value, int) else None


def invalid(path, message: str, kind: str = "invalid value") -> ValidationFailed:
    path = list(path) if isinstance(path, (list, tuple)) else [path]
    return ValidationFailed(f"{'.'.join(map(str, path))} {message}",
                            details=[{"path": path, "message": message, "kind": kind}])


def string_list(value, path: str, *, limit: int, from_form: bool = False, split: str = r"[\s,]+") -> list[str]:
    """A list of distinct non-empty strings; forms may send one text value (split on ``split``)."""
    if isinstance(value, str) and from_form:
        value = [v for v in re.split(split, value) if v.strip()]
    if not isinstance(value, list):
        raise invalid(path, "must be a list of strings")
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip() or len(item.strip()) > limit:
            raise invalid([path, i] if path else [i], f"must be a non-empty string of at most {limit} characters")
        if item.strip() not in out:
            out.append(item.strip())
    return out


def _lock(scope: Scope, model, record_id):
    """Load a record in scope after taking its write lock, held until commit. The lock is a
    no-op UPDATE: PostgreSQL locks the row, SQLite takes the database's write lock (a plain
    ``FOR UPDATE`` is ignored there), so concurrent edits of one record run one after another
    and each reads what the previous one committed."""
    try:
        key = record_id if isinstance(record_id, uuid.UUID) else uuid.UUID(str(record_id))
    except (ValueError, TypeError):
        raise NotFound(f"{model.__name__} not found") from None
    in_scope = scope.select(model).where(model.id == key)
    db.session.execute(sa.update(model).where(in_scope.whereclause).values(updated_at=model.updated_at)
                       .execution_options(synchronize_session=False))
    record = db.session.scalars(in_scope.execution_options(populate_existing=True)).first()
    if record is None:
        db.session.rollback()
        raise NotFound(f"{model.__name__} not found")
    return record


@contextmanager
def _unique(conflict_message: str):
    """Run the writes and commit; a unique constraint hit by a concurrent writer is a 409."""
    try:
        yield
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(conflict_message) from None


# --- locations --------------------------------------------------------------------------------

# The same address fields as a shipment's inline address (services/logistics/shipments.py).
ADDRESS_FIELDS = {"name": 200, "company": 200, "street": 200, "house_number": 20, "addition": 20, "postal_code": 20,
                  "city": 120, "region": 120, "country_code": 2, "phone": 40, "email": 320}


def location_row(loc: Location) -> dict:
    """``LcsFulfilmentLocation`` plus Wharf's stored address and organization."""
    address = dict(loc.address or {})
    address_id = address.pop("id", None)
    return {"id": loc.id, "name": loc.name, "reference": loc.reference, "address_id": address_id,
            "address": address or None, "is_disabled": loc.is_disabled, "organization_id": loc.organization_id,
            "created_at": loc.created_at, "updated_at": loc.updated_at}


def _location_snapshot(loc: Location) -> dict:
    return {k: v for k, v in location_row(loc).items() if k not in ("created_at", "updated_at")} | {
        "deleted_at": loc.deleted_at}


def locations_query(scope: Scope, *, address_id: str | None = None, is_disabled: bool | None = None,
                    search: str | None = None) -> sa.Select:
    stmt = scope.select(Location)
    if is_disabled is not None:
        stmt = stmt.where(Location.is_disabled.is_(is_disabled))
    if search:
        pattern = search.strip().lower()
        stmt = stmt.where(sa.or_(sa.func.lower(Location.name).contains(pattern, autoescape=True),
                                 sa.func.lower(Location.reference).contains(pattern, autoescape=True)))
    if address_id:
        # The id sits inside the JSON column; matching in Python keeps SQLite and PostgreSQL alike
        # (a tenant has a handful of locations).
        ids = [loc.id for loc in db.session.scalars(stmt) if (loc.address or {}).get("id") == address_id]
        stmt = stmt.where(Location.id.in_(ids))
    return stmt.order_by(Location.name, Location.id)


def get_location(scope: Scope, location_id) -> Location:
    return scope.get(Location, location_id)


def _address(inp: Input, current: dict | None) -> dict | None:
    """``address`` (object) and ``address_id`` into the stored address dict."""
    address = dict(current or {})
    if inp.has("address"):
        value = inp.data["address"]
        if value is None:
            address = {k: v for k, v in address.items() if k == "id"}
        elif not isinstance(value, dict):
            inp.fail("address", "must be an object")
        else:
            sub = Input(value, from_form=inp.from_form, prefix=[*inp.prefix, "address"])
            unknown = sorted(set(value) - set(ADDRESS_FIELDS) - {"id"})
            for key in unknown:
                sub.fail(key, f"is not an address field ({', '.join(ADDRESS_FIELDS)})")
            fresh = {k: sub.text(k, limit) for k, limit in ADDRESS_FIELDS.items()}
            if fresh["country_code"]:
                fresh["country_code"] = fresh["country_code"].upper()
                if not re.fullmatch(r"[A-Z]{2}", fresh["country_code"]):
                    sub.fail("country_code", "must be a two-letter country code")
            inp.details.extend(sub.details)
            filled = {k: v for k, v in fresh.items() if v is not None}
            address = {"id": address.get("id") or (str(uuid.uuid4()) if filled else None), **filled}
    if inp.has("address_id"):
        address_id = inp.text("address_id", 64)
        if address_id:
            address["id"] = address_id
        else:
            address.pop("id", None)
    return {k: v for k, v in address.items() if v is not None} or None


def _organization(actor: Actor, inp: Input, tenant_id) -> uuid.UUID | None:
    raw = inp.data.get("organization_id")
    if raw in (None, ""):
        return None
    try:
        org_id = uuid.UUID(str(raw))
    except ValueError:
        inp.fail("organization_id", "must be a UUID")
        return None
    org = db.session.scalars(Scope(tenant_id).select(Organization).where(Organization.id == org_id)).first()
    if org is None or not actor.grants.organization_visible(org_id):
        inp.fail("organization_id", "is not an organization of this tenant")
        return None
    return org_id


def create_location(actor: Actor, data: dict, *, from_form: bool = False, tenant_id=None) -> Location:
    """``POST /lcs/locations``: ``name`` (required), ``reference``, ``address_id`` and/or an
    inline ``address`` object, ``is_disabled``, ``organization_id``."""
    inp = Input(data, from_form=from_form)
    tenant_id = actor.tenant_for_new(tenant_id)
    loc = Location(tenant_id=tenant_id, name=inp.text("name", 200, required=True),
                   reference=inp.text("reference", 120), is_disabled=inp.boolean("is_disabled"),
                   address=_address(inp, None), organization_id=_organization(actor, inp, tenant_id))
    inp.check("Invalid location")
    db.session.add(loc)
    db.session.flush()
    audit.record(actor, action="create", kind="lcs_location", resource_id=loc.id, tenant_id=loc.tenant_id,
                 organization_id=loc.organization_id, after=_location_snapshot(loc), label=f"Create location {loc.name}")
    db.session.commit()
    return loc


def update_location(actor: Actor, location_id, data: dict, *, from_form: bool = False) -> Location:
    """``PUT /lcs/locations/{id}``: the fields present in ``data`` change, the others stay."""
    loc = _lock(actor.scope, Location, location_id)
    before = _location_snapshot(loc)
    inp = Input(data, from_form=from_form)
    if inp.has("name"):
        name = inp.text("name", 200, required=True)
        if name:
            loc.name = name
    if inp.has("reference"):
        loc.reference = inp.text("reference", 120)
    if inp.has("is_disabled"):
        loc.is_disabled = inp.boolean("is_disabled", loc.is_disabled)
    if inp.has("address") or inp.has("address_id"):
        loc.address = _address(inp, loc.address)
    if inp.has("organization_id"):
        loc.organization_id = _organization(actor, inp, loc.tenant_id)
    if inp.details:
        db.session.rollback()
        inp.check("Invalid location")
    db.session.flush()
    audit.record(actor, action="edit", kind="lcs_location", resource_id=loc.id, tenant_id=loc.tenant_id,
                 organization_id=loc.organization_id, before=before, after=_location_snapshot(loc),
                 label=f"Edit location {loc.name}")
    db.session.commit()
    return loc


def delete_location(actor: Actor, location_id) -> Location:
    """Soft delete: the location disappears from lists and lookups; shipments keep their link."""
    loc = _lock(actor.scope, Location, location_id)
    before = _location_snapshot(loc)
    loc.soft_delete()
    audit.record(actor, action="delete", kind="lcs_location", resource_id=loc.id, tenant_id=loc.tenant_id,
                 organization_id=loc.organization_id, before=before, after=_location_snapshot(loc),
                 label=f"Delete location {loc.name}")
    db.session.commit()
    return loc


# --- positions (walk order) -------------------------------------------------------------------

POSITION_CODE = re.compile(r"^[^\s]{1,64}$")
POSITIONS_RACE = "Positions changed at the same time; try again"


def position_row(p: Position) -> dict:
    """``LcsLocationPosition``."""
    return {"code": p.code, "sorting": p.sorting, "skus": [sku_row(p, s) for s in sku_list(p.skus)],
            "created_at": p.created_at}


def sku_list(skus) -> list[str]:
    """A position's SKUs (stored as plain strings; ``{"sku": …}`` objects are read too)."""
    return [e if isinstance(e, str) else e["sku"] for e in skus or []]


def sku_row(p: Position, sku: str) -> dict:
    """``LcsLocationSku`` (Wharf keeps no per-link timestamp: ``created_at`` is the position's)."""
    return {"sku": sku, "position": p.code, "created_at": p.created_at}


def positions_query(scope: Scope, location: Location) -> sa.Select:
    return (scope.select(Position).where(Position.location_id == location.id)
            .order_by(Position.sorting, Position.code))


def ordered_positions(location: Location) -> list[Position]:
    return list(db.session.scalars(sa.select(Position).where(Position.location_id == location.id)
                                   .order_by(Position.sorting, Position.code)))


def get_position(scope: Scope, location_id, code: str) -> Position:
    location = get_location(scope, location_id)
    found = db.session.scalars(positions_query(scope, location).where(Position.code == code)).first()
    if found is None:
        raise NotFound("Position not found")
    return found


def clean_codes(value, path: str = "", *, from_form: bool = False) -> list[str]:
    """Position codes from a body: strings without whitespace, at most 64 characters."""
    codes = string_list(value, path, limit=64, from_form=from_form)
    for i, code in enumerate(codes):
        if not POSITION_CODE.match(code):
            raise invalid([path, i] if path else [i], "must not contain whitespace")
    return codes


def _renumber(positions: list[Position]) -> None:
    for i, p in enumerate(positions, start=1):
        if p.sorting != i:
            p.sorting = i


def _audit_positions(actor: Actor, location: Location, before: list[str], label: str) -> None:
    after = [p.code for p in ordered_positions(location)]
    if before != after:
        audit.record(actor, action="edit", kind="lcs_location_positions", resource_id=location.id,
                     tenant_id=location.tenant_id, organization_id=location.organization_id,
                     before={"positions": before}, after={"positions": after}, label=f"{label} at {location.name}")


def _new_position(location: Location, code: str) -> Position:
    p = Position(tenant_id=location.tenant_id, location_id=location.id, code=code, skus=[])
    db.session.add(p)
    return p


def reorder_positions(actor: Actor, location_id, codes: list[str]) -> int:
    """``PUT /lcs/locations/{id}/positions [codes]``: the listed codes become the start of the
    walk order in that order (unknown codes are created); the others follow, keeping their
    relative order. Returns the number of listed codes."""
    location = _lock(actor.scope, Location, location_id)
    existing = ordered_positions(location)
    before = [p.code for p in existing]
    by_code, listed_codes = {p.code: p for p in existing}, set(codes)
    with _unique(POSITIONS_RACE):
        listed = [by_code.get(code) or _new_position(location, code) for code in codes]
        _renumber(listed + [p for p in existing if p.code not in listed_codes])
        db.session.flush()
        _audit_positions(actor, location, before, "Reorder positions")
    return len(codes)


def add_positions(actor: Actor, location_id, codes: list[str]) -> list[Position]:
    """Append new positions at the end of the walk order (existing codes stay where they are)."""
    location = _lock(actor.scope, Location, location_id)
    existing = ordered_positions(location)
    before = [p.code for p in existing]
    with _unique(POSITIONS_RACE):
        added = [_new_position(location, c) for c in codes if c not in set(before)]
        _renumber(existing + added)
        db.session.flush()
        _audit_positions(actor, location, before, "Add positions")
    return added


def move_position(actor: Actor, location_id, code: str, direction: str) -> Position:
    """Swap a position with its neighbour (``up``/``down``) or send it to the ``top``/``bottom``."""
    if direction not in ("up", "down", "top", "bottom"):
        raise invalid("direction", "must be up, down, top or bottom")
    location = _lock(actor.scope, Location, location_id)
    ordered = ordered_positions(location)
    before = [p.code for p in ordered]
    if code not in before:
        raise NotFound("Position not found")
    i = before.index(code)
    moving = ordered.pop(i)
    target = {"up": max(i - 1, 0), "down": min(i + 1, len(ordered)), "top": 0, "bottom": len(ordered)}[direction]
    ordered.insert(target, moving)
    with _unique(POSITIONS_RACE):
        _renumber(ordered)
        db.session.flush()
        _audit_positions(actor, location, before, f"Move position {code} {direction}")
    return moving


def delete_positions(actor: Actor, location_id, codes: list[str]) -> int:
    """``DELETE /lcs/locations/{id}/positions [codes]``: removes them (and their SKU links);
    returns how many existed."""
    location = _lock(actor.scope, Location, location_id)
    ordered = ordered_positions(location)
    before = [p.code for p in ordered]
    doomed = [p for p in ordered if p.code in set(codes)]
    with _unique(POSITIONS_RACE):
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


def set_skus(actor: Actor, location_id, entries) -> tuple[int, int]:
    """``PUT /lcs/locations/{id}/skus [{sku, position}]``: each SKU moves to that position (a
    SKU sits in one position per location); an empty ``position`` removes it from the
    location. Entries without a SKU or naming an unknown position count as failed.
    Returns ``(success, failed)``."""
    if not isinstance(entries, list):
        raise invalid("body", "must be a list of {sku, position} objects")
    location = _lock(actor.scope, Location, location_id)
    positions = ordered_positions(location)
    lists = {p.code: sku_list(p.skus) for p in positions}
    where = {sku: code for code, skus in lists.items() for sku in skus}
    success = failed = 0
    touched: set[str] = set()
    for entry in entries:
        sku = entry.get("sku") if isinstance(entry, dict) else None
        code = entry.get("position") if isinstance(entry, dict) else None
        if not isinstance(sku, str) or not sku.strip() or len(sku.strip()) > 120 or not (
                code is None or isinstance(code, str)) or (code and code.strip() not in lists):
            failed += 1
            continue
        sku, code = sku.strip(), (code or "").strip()
        old = where.pop(sku, None)
        if old is not None and old != code:
            lists[old].remove(sku)
        if code and old != code:
            lists[code].append(sku)
        if code:
            where[sku] = code
        touched.add(sku)
        success += 1
    before = _sku_snapshot(positions, touched)
    for p in positions:
        if lists[p.code] != sku_list(p.skus):
            p.skus = lists[p.code]
    _audit_skus(actor, location, before, _sku_snapshot(positions, touched))
    db.session.commit()
    return success, failed


def set_position_skus(actor: Actor, location_id, code: str, skus: list[str]) -> Position:
    """The screen's "SKUs at this position": ``skus`` becomes the position's whole set (SKUs
    listed here leave any other position of the location)."""
    location = _lock(actor.scope, Location, location_id)
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
    db.session.commit()
    return target


def _audit_skus(actor: Actor, location: Location, before: dict, after: dict) -> None:
    if before != after:
        audit.record(actor, action="assign", kind="lcs_location_skus", resource_id=location.id,
                     tenant_id=location.tenant_id, organization_id=location.organization_id,
                     before=before, after=after, label=f"Assign SKUs to positions at {location.name}")


# --- shipping methods -----------------------------------------------------------------------------

DELIVERY_DURING = ("daytime", "morning", "afternoon", "evening")
PROVIDERS = ("sendcloud", "default")
EXTRA_FLAGS = ("is_configured", "is_same_day", "is_sunday", "is_carrier_location", "is_neighbour_allowed")
COUNTRY = re.compile(r"^[A-Z]{2}$")


def method_row(m: Method) -> dict:
    """``LcsMethod`` in the seed's field order."""
    extra = m.extra or {}
    return {"id": m.id, "carrier_code": m.carrier_code, "name": m.name, "label": m.label,
            "description": m.description, "max_weight": m.max_weight,
            "countries": [{"code": c["code"], "amount": c.get("amount", 0)} for c in m.countries or []],
            "delivery_during": extra.get("delivery_during"),
            **{flag: bool(extra.get(flag, False)) for flag in EXTRA_FLAGS},
            "provider_method_id": extra.get("provider_method_id"), "provider": extra.get("provider") or "default",
            "is_enabled": m.is_enabled, "priority": m.priority}


def _method_snapshot(m: Method) -> dict:
    return method_row(m) | {"deleted_at": m.deleted_at}


def methods_query(scope: Scope) -> sa.Select:
    """Live methods, first by ``priority`` (lower first), then name."""
    return scope.select(Method).order_by(Method.priority, Method.name, Method.id)


def get_method(scope: Scope, method_id) -> Method:
    return scope.get(Method, method_id)


def clean_country(value, path: str = "country_code") -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if not COUNTRY.match(code):
        raise invalid(path, "must be a two-letter country code")
    return code


def _countries(inp: Input) -> list[dict]:
    value = inp.data.get("countries")
    if value is None:
        return []
    if not isinstance(value, list):
        inp.fail("countries", "must be a list of {code, amount}")
        return []
    out, seen = [], set()
    for i, row in enumerate(value):
        if not isinstance(row, dict):
            inp.fail(["countries", i], "must be an object {code, amount}")
            continue
        code = row.get("code")
        code = code.strip().upper() if isinstance(code, str) else None
        if not code:
            inp.fail(["countries", i, "code"], "is required", "required")
            continue
        if not COUNTRY.match(code):
            inp.fail(["countries", i, "code"], "must be a two-letter country code")
            continue
        if code in seen:
            inp.fail(["countries", i, "code"], "is listed twice")
            continue
        amount = row.get("amount")
        amount = 0 if amount in (None, "") else to_int(amount, from_text=inp.from_form)
        if amount is None or amount < 0:
            inp.fail(["countries", i, "amount"], "must be a whole number ≥ 0")
            continue
        seen.add(code)
        out.append({"code": code, "amount": amount})
    return out


def _apply_method(m: Method, inp: Input, *, creating: bool) -> None:
    present = (lambda key: True) if creating else inp.has
    if present("carrier_code"):
        m.carrier_code = inp.text("carrier_code", 64, required=True) or m.carrier_code
    if present("name"):
        m.name = inp.text("name", 200, required=True) or m.name
    for key, limit in (("label", 200), ("description", 1000)):
        if present(key):
            setattr(m, key, inp.text(key, limit))
    if present("max_weight"):
        m.max_weight = inp.integer("max_weight", low=0)
    if present("countries"):
        m.countries = _countries(inp)
    if present("is_enabled"):
        m.is_enabled = inp.boolean("is_enabled", False if creating else m.is_enabled)
    if present("priority"):
        m.priority = inp.integer("priority", low=-1_000_000, high=1_000_000, default=100 if creating else m.priority)
    extra = dict(m.extra or {})
    for flag in EXTRA_FLAGS:
        if present(flag):
            extra[flag] = inp.boolean(flag, False if creating else bool(extra.get(flag)))
    if present("delivery_during"):
        extra["delivery_during"] = inp.choice("delivery_during", DELIVERY_DURING)
    if present("provider"):
        extra["provider"] = inp.choice("provider", PROVIDERS, default="default")
    if present("provider_method_id"):
        extra["provider_method_id"] = inp.text("provider_method_id", 120)
    m.extra = extra


def create_method(actor: Actor, data: dict, *, from_form: bool = False, tenant_id=None) -> Method:
    """A shipping method (Wharf's write endpoint; the seed only reads them). Seed defaults:
    ``is_enabled`` false, ``priority`` 100, ``provider`` default."""
    inp = Input(data, from_form=from_form)
    m = Method(tenant_id=actor.tenant_for_new(tenant_id))
    _apply_method(m, inp, creating=True)
    inp.check("Invalid method")
    db.session.add(m)
    db.session.flush()
    audit.record(actor, action="create", kind="lcs_method", resource_id=m.id, tenant_id=m.tenant_id,
                 after=_method_snapshot(m), label=f"Create method {m.name}")
    db.session.commit()
    return m


def update_method(actor: Actor, method_id, data: dict, *, from_form: bool = False) -> Method:
    """Changes the fields present in ``data``; ``countries`` replaces the whole list."""
    m = _lock(actor.scope, Method, method_id)
    before = _method_snapshot(m)
    inp = Input(data, from_form=from_form)
    _apply_method(m, inp, creating=False)
    if inp.details:
        db.session.rollback()
        inp.check("Invalid method")
    db.session.flush()
    audit.record(actor, action="edit", kind="lcs_method", resource_id=m.id, tenant_id=m.tenant_id,
                 before=before, after=_method_snapshot(m), label=f"Edit method {m.name}")
    db.session.commit()
    return m


def delete_method(actor: Actor, method_id) -> Method:
    """Soft delete: gone from lists; shipments that used it keep their link."""
    m = _lock(actor.scope, Method, method_id)
    before = _method_snapshot(m)
    m.soft_delete()
    audit.record(actor, action="delete", kind="lcs_method", resource_id=m.id, tenant_id=m.tenant_id,
                 before=before, after=_method_snapshot(m), label=f"Delete method {m.name}")
    db.session.commit()
    return m


def ships_to(m: Method, country_code: str) -> bool:
    return any(c.get("code") == country_code for c in m.countries or [])


def enabled_for_country(scope: Scope, country_code: str) -> list[Method]:
    """Enabled methods that list ``country_code`` (two letters, any case), in priority order."""
    code = clean_country(country_code)
    return [m for m in db.session.scalars(methods_query(scope).where(Method.is_enabled.is_(True)))
            if ships_to(m, code)]


# --- products and barcodes ----------------------------------------------------------------------

PRODUCT_FIELDS = ("sku", "description", "barcodes", "hs_code", "weight")
HS_CODE = re.compile(r"^[0-9][0-9. ]{1,31}$")
BARCODE_SPLIT = r"[|;\r\n]+"
MAX_IMPORT_ROWS = 50_000


def product_row(p: Product) -> dict:
    return {"id": p.id, "sku": p.sku, "description": p.description, "barcodes": sorted(b.code for b in p.barcodes),
            "hs_code": p.hs_code, "weight": p.weight, "created_at": p.created_at, "updated_at": p.updated_at}


def _product_snapshot(p: Product) -> dict:
    return {k: v for k, v in product_row(p).items() if k not in ("created_at", "updated_at")} | {
        "deleted_at": p.deleted_at}


def products_query(scope: Scope, search: str | None = None) -> sa.Select:
    """Live products by SKU; ``search`` matches SKU, description or a barcode (substring)."""
    stmt = scope.select(Product)
    if search and search.strip():
        pattern = search.strip().lower()
        barcode = sa.select(ProductBarcode.id).where(
            ProductBarcode.product_id == Product.id,
            sa.func.lower(ProductBarcode.code).contains(pattern, autoescape=True)).exists()
        stmt = stmt.where(sa.or_(sa.func.lower(Product.sku).contains(pattern, autoescape=True),
                                 sa.func.lower(Product.description).contains(pattern, autoescape=True), barcode))
    return stmt.order_by(Product.sku, Product.id)


def get_product(scope: Scope, product_id) -> Product:
    return scope.get(Product, product_id)


def _barcodes(inp: Input, key: str = "barcodes") -> list[str] | None:
    """A list of strings (JSON), or one text split on ``|``, ``;`` or new lines (CSV, forms)."""
    value = inp.data.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in re.split(BARCODE_SPLIT, value) if v.strip()]
    if not isinstance(value, list):
        inp.fail(key, "must be a list of strings")
        return None
    out: list[str] = []
    for i, code in enumerate(value):
        if not isinstance(code, str) or not code.strip() or len(code.strip()) > 120:
            inp.fail([key, i], "must be a non-empty string of at most 120 characters")
            return None
        if code.strip() in out:
            inp.fail([key, i], "is listed twice")
            return None
        out.append(code.strip())
    return out


def _product_fields(inp: Input, *, creating: bool) -> dict:
    """The checked values of the fields present (all of them when creating)."""
    present = (lambda key: True) if creating else inp.has
    out: dict = {}
    if present("sku"):
        out["sku"] = inp.text("sku", 120, required=True)
    if present("description"):
        out["description"] = inp.text("description", 500) or ""
    if present("hs_code"):
        hs = inp.text("hs_code", 32)
        if hs and not HS_CODE.match(hs):
            inp.fail("hs_code", "must be digits (dots and spaces allowed)")
        out["hs_code"] = hs
    if present("weight"):
        out["weight"] = inp.integer("weight", low=0, high=10_000_000)
    if present("barcodes"):
        out["barcodes"] = _barcodes(inp)
    return out


def _code_owners(tenant_id, codes: Iterable[str]) -> dict[str, tuple[uuid.UUID, str]]:
    """For each code that is a live product's barcode or SKU: (product id, SKU). Chunked."""
    codes = list(dict.fromkeys(codes))
    owners: dict[str, tuple[uuid.UUID, str]] = {}
    scope = Scope(tenant_id)
    for start in range(0, len(codes), 500):
        chunk = codes[start:start + 500]
        rows = db.session.execute(sa.select(ProductBarcode.code, Product.id, Product.sku)
                                  .join(Product, Product.id == ProductBarcode.product_id)
                                  .where(ProductBarcode.tenant_id == tenant_id, Product.deleted_at.is_(None),
                                         ProductBarcode.code.in_(chunk)))
        owners.update({code: (pid, sku) for code, pid, sku in rows})
        for pid, sku in db.session.execute(scope.select(Product).where(Product.sku.in_(chunk))
                                           .with_only_columns(Product.id, Product.sku)):
            owners.setdefault(sku, (pid, sku))
    return owners


def _check_codes(tenant_id, product_id, sku: str | None, barcodes: list[str] | None) -> list[dict]:
    """Barcodes must be unique in the tenant and must not be another product's SKU (and the
    SKU must not be another product's barcode), so a scan resolves to one product."""
    details = []
    owners = _code_owners(tenant_id, [*(barcodes or []), *([sku] if sku else [])])
    for i, code in enumerate(barcodes or []):
        owner = owners.get(code)
        if owner and owner[0] != product_id:
            details.append({"path": ["barcodes", i], "kind": "invalid value",
                            "message": f"'{code}' already identifies product {owner[1]}"})
    if sku:
        owner = owners.get(sku)
        if owner and owner[0] != product_id:
            details.append({"path": ["sku"], "kind": "invalid value",
                            "message": f"'{sku}' already identifies product {owner[1]}"})
    return details


def _set_barcodes(p: Product, codes: list[str]) -> None:
    wanted = set(codes)
    for b in list(p.barcodes):
        if b.code not in wanted:
            p.barcodes.remove(b)
    db.session.flush()  # free codes before another product may take them
    have = {b.code for b in p.barcodes}
    for code in codes:
        if code not in have:
            p.barcodes.append(ProductBarcode(tenant_id=p.tenant_id, code=code))


def _deleted_product(tenant_id, sku: str) -> Product | None:
    return db.session.scalars(Scope(tenant_id).select(Product, include_deleted=True).where(
        Product.sku == sku, Product.deleted_at.is_not(None))).first()


def create_product(actor: Actor, data: dict, *, from_form: bool = False, tenant_id=None) -> Product:
    """A product: ``sku`` (required, unique in the tenant), ``description``, ``barcodes``,
    ``hs_code``, ``weight`` (grams). A deleted product's SKU can be created again."""
    inp = Input(data, from_form=from_form)
    values = _product_fields(inp, creating=True)
    inp.check("Invalid product")
    tenant_id = actor.tenant_for_new(tenant_id)
    clash = _check_codes(tenant_id, None, values["sku"], values["barcodes"])
    if clash:
        raise Conflict(clash[0]["message"], details=clash)
    with _unique(f"Product {values['sku']} or one of its barcodes is already in use"):
        p = _deleted_product(tenant_id, values["sku"])
        if p is None:
            p = Product(tenant_id=tenant_id, sku=values["sku"])
            db.session.add(p)
        else:
            p.deleted_at = None
        p.description, p.hs_code, p.weight = values["description"], values["hs_code"], values["weight"]
        _set_barcodes(p, values["barcodes"])
        db.session.flush()
        audit.record(actor, action="create", kind="lcs_product", resource_id=p.id, tenant_id=p.tenant_id,
                     after=_product_snapshot(p), label=f"Create product {p.sku}")
    return p


def update_product(actor: Actor, product_id, data: dict, *, from_form: bool = False) -> Product:
    """Changes the fields present; ``barcodes`` replaces the product's whole set."""
    p = _lock(actor.scope, Product, product_id)
    inp = Input(data, from_form=from_form)
    values = _product_fields(inp, creating=False)
    inp.check("Invalid product")
    clash = _check_codes(p.tenant_id, p.id, values.get("sku"), values.get("barcodes"))
    if clash:
        raise Conflict(clash[0]["message"], details=clash)
    before = _product_snapshot(p)
    with _unique(f"Product {values.get('sku') or p.sku} or one of its barcodes is already in use"):
        for key in ("sku", "description", "hs_code", "weight"):
            if key in values:
                setattr(p, key, values[key])
        if "barcodes" in values:
            _set_barcodes(p, values["barcodes"])
        db.session.flush()
        audit.record(actor, action="edit", kind="lcs_product", resource_id=p.id, tenant_id=p.tenant_id,
                     before=before, after=_product_snapshot(p), label=f"Edit product {p.sku}")
    return p


def delete_product(actor: Actor, product_id) -> Product:
    """Soft delete; its barcodes are released (the audit snapshot keeps them)."""
    p = _lock(actor.scope, Product, product_id)
    before = _product_snapshot(p)
    p.soft_delete()
    _set_barcodes(p, [])
    db.session.flush()
    audit.record(actor, action="delete", kind="lcs_product", resource_id=p.id, tenant_id=p.tenant_id,
                 before=before, after=_product_snapshot(p), label=f"Delete product {p.sku}")
    db.session.commit()
    return p


# --- import ---------------------------------------------------------------------------------

@dataclass
class RowError:
    row: int  # 1-based data row (CSV: the file line is row + 1)
    field: str
    message: str
    kind: str = "invalid value"

    def as_detail(self) -> dict:
        return {"path": ["rows", self.row, self.field], "message": self.message, "kind": self.kind,
                "row": self.row}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "skipped": self.skipped,
                "errors": [{"row": e.row, "field": e.field, "kind": e.kind, "message": e.message}
                           for e in self.errors]}


HEADER_ALIASES = {"barcode": "barcodes", "ean": "barcodes", "hscode": "hs_code", "hs": "hs_code",
                  "weight_g": "weight", "weight_grams": "weight"}


def parse_csv(raw: bytes | str) -> list[dict]:
    """CSV rows as dicts keyed by the known columns (header row required; ``,`` ``;`` or tab
    separated; UTF-8 with or without BOM). Blank lines are skipped, unknown columns ignored."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise invalid("file", "must be UTF-8 text") from None
    lines = raw.splitlines()
    if not lines or not lines[0].strip():
        raise invalid("file", "is empty (a header row sku,description,barcodes,hs_code,weight is expected)")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(raw), delimiter=dialect.delimiter)
    header = [HEADER_ALIASES.get(h, h) for h in
              (re.sub(r"\s+", "_", h.strip().lower()) for h in next(reader))]
    if "sku" not in header:
        raise invalid("file", "has no sku column", "required")
    columns = [(i, h) for i, h in enumerate(header) if h in PRODUCT_FIELDS]
    if len({h for _, h in columns}) != len(columns):
        raise invalid("file", "names a column twice")
    rows = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        rows.append({h: cells[i] if i < len(cells) else "" for i, h in columns})
    return rows


def _row_errors(number: int, details: list[dict]) -> list[RowError]:
    return [RowError(number, ".".join(map(str, d["path"])), d["message"], d.get("kind", "invalid value"))
            for d in details]


def import_products(actor: Actor, rows, *, skip_invalid: bool = False, from_text: bool = False,
                    tenant_id=None) -> ImportResult:
    """Create or update products by SKU from rows ``{sku, description, barcodes, hs_code,
    weight}`` — one transaction. A field absent from a row keeps the stored value; a present
    ``barcodes`` replaces the product's set. Every bad row is reported (``rows.<n>.<field>``);
    then nothing is written, unless ``skip_invalid`` (bad rows are skipped, the rest saved)."""
    if not isinstance(rows, list):
        raise invalid("body", "must be a JSON array of products")
    if not rows:
        raise invalid("body", "has no rows", "required")
    if len(rows) > MAX_IMPORT_ROWS:
        raise invalid("body", f"has more than {MAX_IMPORT_ROWS} rows")
    tenant_id = actor.tenant_for_new(tenant_id)
    errors: list[RowError] = []
    parsed: dict[int, dict] = {}
    seen_sku: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            errors.append(RowError(number, "row", "must be an object"))
            continue
        inp = Input({k: v for k, v in row.items() if k in PRODUCT_FIELDS}, from_form=from_text)
        for key in sorted(set(row) - set(PRODUCT_FIELDS)):
            inp.fail(str(key), f"is not a product field ({', '.join(PRODUCT_FIELDS)})")
        values = _product_fields(inp, creating=False)
        if not inp.has("sku"):
            inp.fail("sku", "is required", "required")
        if inp.details:
            errors.extend(_row_errors(number, inp.details))
            continue
        if values["sku"] in seen_sku:
            errors.append(RowError(number, "sku", f"repeats row {seen_sku[values['sku']]}"))
            continue
        seen_sku[values["sku"]] = number
        parsed[number] = values
    valid = dict(parsed)
    while True:  # cross-row checks against the valid rows only, until nothing more drops out
        cross = _cross_check(tenant_id, valid)
        if not cross:
            break
        errors.extend(cross)
        for e in cross:
            valid.pop(e.row, None)
    errors.sort(key=lambda e: e.row)
    bad_rows = {e.row for e in errors}
    if errors and not skip_invalid:
        raise ValidationFailed(f"{len(bad_rows)} of {len(rows)} rows are invalid; nothing was imported",
                               details=[e.as_detail() for e in errors])
    result = ImportResult(skipped=len(bad_rows), errors=errors)
    with _unique("Products changed while importing; nothing was imported, please try again"):
        _write_import(actor, tenant_id, list(valid.values()), result)
    return result


def _cross_check(tenant_id, rows: dict[int, dict]) -> list[RowError]:
    """Barcodes unique across the file and the tenant (a product re-listed in the file with
    its own barcodes releases the ones it no longer lists); no code is two products' SKU/barcode."""
    out: list[RowError] = []
    file_skus = {v["sku"]: n for n, v in rows.items()}
    claims: dict[str, int] = {}
    for n, v in rows.items():
        for code in v.get("barcodes") or []:
            if code in claims:
                out.append(RowError(n, "barcodes", f"'{code}' is also a barcode of row {claims[code]}"))
            else:
                claims.setdefault(code, n)
    all_codes = [*claims, *file_skus]
    owners = _code_owners(tenant_id, all_codes)
    for code, n in claims.items():
        if code in file_skus and file_skus[code] != n:
            out.append(RowError(n, "barcodes", f"'{code}' is the SKU of row {file_skus[code]}"))
            continue
        owner = owners.get(code)
        if owner is None or owner[1] == rows[n]["sku"]:
            continue
        releasing = owner[1] in file_skus and "barcodes" in rows[file_skus[owner[1]]]
        if owner[1] != code and releasing:
            continue  # its own row gives the code up (it is not in that row: claims are unique)
        out.append(RowError(n, "barcodes", f"'{code}' already identifies product {owner[1]}"))
    for sku, n in file_skus.items():
        owner = owners.get(sku)
        if owner is None or owner[1] == sku:
            continue
        releasing = owner[1] in file_skus and "barcodes" in rows[file_skus[owner[1]]]
        if not releasing:
            out.append(RowError(n, "sku", f"'{sku}' is a barcode of product {owner[1]}"))
    bad = {}
    for e in out:  # one message per row and field is enough
        bad.setdefault((e.row, e.field), e)
    return list(bad.values())


def _write_import(actor: Actor, tenant_id, rows: list[dict], result: ImportResult) -> None:
    skus = [v["sku"] for v in rows]
    existing: dict[str, Product] = {}
    for start in range(0, len(skus), 500):
        chunk = skus[start:start + 500]
        for p in db.session.scalars(Scope(tenant_id).select(Product, include_deleted=True)
                                    .where(Product.sku.in_(chunk)).options(selectinload(Product.barcodes))
                                    .with_for_update()):
            existing[p.sku] = p
    # First release every replaced barcode, then assign: a code may move between products.
    befores = {}
    for v in rows:
        p = existing.get(v["sku"])
        if p is not None:
            befores[v["sku"]] = _product_snapshot(p) if p.deleted_at is None else None
            if "barcodes" in v:
                for b in [b for b in p.barcodes if b.code not in set(v["barcodes"] or [])]:
                    p.barcodes.remove(b)
    db.session.flush()
    written = []
    for v in rows:
        p = existing.get(v["sku"])
        if p is None:
            p = Product(id=uuid.uuid4(), tenant_id=tenant_id, sku=v["sku"], description="", barcodes=[])
            db.session.add(p)
        elif p.deleted_at is not None:
            p.deleted_at = None
            p.description, p.hs_code, p.weight = "", None, None
        for key in ("description", "hs_code", "weight"):
            if key in v:
                setattr(p, key, v[key])
        if "barcodes" in v:
            have = {b.code for b in p.barcodes}
            p.barcodes.extend(ProductBarcode(tenant_id=tenant_id, code=c) for c in v["barcodes"] or [] if c not in have)
        written.append((p, befores.get(v["sku"])))
    db.session.flush()
    for p, before in written:
        after = _product_snapshot(p)
        if before is None:
            result.created += 1
            audit.record(actor, action="create", kind="lcs_product", resource_id=p.id, tenant_id=tenant_id,
                         after=after, label=f"Import product {p.sku}")
        else:
            result.updated += 1
            if before != after:
                audit.record(actor, action="edit", kind="lcs_product", resource_id=p.id, tenant_id=tenant_id,
                             before=before, after=after, label=f"Import product {p.sku}")


# --- lookups for shipments, lists and the scan station ------------------------------------------

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
    stmt = (sa.select(Position.code, Position.sorting, Position.skus)
            .join(Location, Location.id == Position.location_id)
            .where(Position.location_id.in_(locations))
            .order_by(Location.name, Location.id, Position.sorting, Position.code))
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


def position_for_sku(scope: Scope, location_id, sku: str) -> tuple[str, int] | None:
    """Where ``sku`` is picked at the location: (position code, sorting), or ``None``."""
    return sku_positions(scope, location_id).get(sku)


def walk_order(scope: Scope, location_id) -> dict[str, int]:
    """Position code → sorting for the location (empty when unknown or out of scope)."""
    out: dict[str, int] = {}
    for code, sorting, _ in _positions_of(scope, location_id):
        out.setdefault(code, sorting)
    return out


def resolve_code(scope: Scope, code: str) -> Product | None:
    """The live product a scanned code names: its SKU first, else one of its barcodes."""
    code = (code or "").strip() if isinstance(code, str) else ""
    if not code:
        return None
    product = db.session.scalars(scope.select(Product).where(Product.sku == code)).first()
    if product is not None:
        return product
    return db.session.scalars(scope.select(Product).join(ProductBarcode, ProductBarcode.product_id == Product.id)
                              .where(ProductBarcode.code == code)).first()
