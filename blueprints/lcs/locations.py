"""Fulfilment locations, their positions (walk order) and SKUs (seed 001 /lcs/locations,
/lcs/search/locations). Family B: snake_case, arrays with paging headers, creates answer 200.
The location page edits the walk order with htmx (move up/down, add, remove, SKUs)."""
from __future__ import annotations

from flask import request, url_for

from blueprints.lcs import bp
from models import Location
from services.errors import DomainError, ValidationFailed
from services.logistics import reference as ref
from services.logistics.search import Field, apply_constraints
from web.access import current_actor, registry, requires
from web.forms import request_data, request_json
from web.htmx import client_redirect, toast, trigger_client_event
from web.negotiate import respond, response_mode
from web.pagination import paginate_b, paginate_list_b

registry.add_nav("Locations", "lcs.locations", "lcs.locations.read", group="Warehouse", order=60)

SEARCH_FIELDS = {
    "ids": Field(Location.id, "uuid"),
    "name": Field(Location.name),
    "reference": Field(Location.reference),
    "is_disabled": Field(Location.is_disabled, "bool"),
    "organization_id": Field(Location.organization_id, "uuid"),
    "created_at": Field(Location.created_at, "datetime"),
    "updated_at": Field(Location.updated_at, "datetime"),
}
CHANGED = "lcs:locations-changed"  # htmx event: the list re-fetches itself


def _can_write() -> bool:
    return current_actor().grants.allows(["lcs.locations.write"])


def _html() -> bool:
    return response_mode() != "json"


def page_list(items: list) -> tuple[list, dict]:
    """Family-B paging of an already built list."""
    return paginate_list_b(items)


def search_body():
    """The optional JSON body of a ``POST …/search`` (no body = no constraints)."""
    if not request.get_data():
        return None
    body = request.get_json(silent=True)
    if body is None:
        raise ValidationFailed("Request body must be JSON", details=[{"path": ["body"], "message": "must be JSON"}])
    return body


def _flag(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if raw.lower() not in ("1", "0", "true", "false"):
        raise ValidationFailed(f"{name} must be 1 or 0", details=[{"path": [name], "message": "must be 1 or 0"}])
    return raw.lower() in ("1", "true")


def _form_location(data: dict) -> dict:
    """Flat form fields (``address.city``…) into the JSON shape the service reads."""
    out = {k: v for k, v in data.items() if not k.startswith("address.")}
    address = {k[len("address."):]: v for k, v in data.items() if k.startswith("address.")}
    if address:
        out["address"] = address
    return out


def _errors(e: DomainError) -> dict[str, str]:
    """Field → message for inline form errors (``address.city``, ``name``…)."""
    return {".".join(map(str, d.get("path", []))): d.get("message", "") for d in e.details}


def _list_context(**extra) -> tuple[list, dict, dict]:
    stmt = ref.locations_query(current_actor().scope, address_id=request.args.get("address_id") or None,
                               is_disabled=_flag("is_disabled"), search=request.args.get("search"))
    body, headers, page = paginate_b(stmt, serialize=ref.location_row)
    return body, headers, {"rows": body, "page": page, "args": request.args, "can_write": _can_write(), **extra}


@bp.get("/locations")
@requires("lcs.locations.read")
def locations():
    """Fulfilment locations by name (``LcsFulfilmentLocation[]``); query ``address_id``,
    ``is_disabled`` (1|0), ``search`` (name/reference); paging x-page / x-page-size → x-count."""
    body, headers, ctx = _list_context()
    block = "location_table" if request.headers.get("HX-Target") == "location-table" else "content"
    return respond(body, template="lcs/locations.html", block=block, headers=headers, context=ctx)


@bp.post("/locations")
@requires("lcs.locations.write")
def create_location():
    """Creates a location: ``name`` (required), ``reference``, ``address_id`` or an inline
    ``address``, ``is_disabled``, ``organization_id`` → 200 ``LcsFulfilmentLocation``."""
    if not _html():
        return respond(ref.location_row(ref.create_location(current_actor(), request_json(dict))))
    data = _form_location(request_data())
    try:
        loc = ref.create_location(current_actor(), data, from_form=True)
    except DomainError as e:
        return respond(None, template="lcs/locations.html", block="create_form", status=422,
                       context={"can_write": True, "error": e.message, "errors": _errors(e), "form": data})
    resp = respond(ref.location_row(loc), template="lcs/locations.html", block="create_form",
                   context={"can_write": True, "created": ref.location_row(loc)})
    return toast(trigger_client_event(resp, CHANGED), f"Location {loc.name} created")


def _detail_context(loc: Location, **extra) -> dict:
    positions = [ref.position_row(p) for p in ref.ordered_positions(loc)]
    return {"loc": ref.location_row(loc), "positions": positions, "can_write": _can_write(),
            "sku_count": sum(len(p["skus"]) for p in positions), **extra}


@bp.get("/locations/<uuid:location_id>")
@requires("lcs.locations.read")
def location(location_id):
    """One location (``LcsFulfilmentLocation``); for people, its page with the walk order."""
    loc = ref.get_location(current_actor().scope, location_id)
    return respond(ref.location_row(loc), template="lcs/locations_detail.html", context=_detail_context(loc))


@bp.put("/locations/<uuid:location_id>")
@requires("lcs.locations.write")
def update_location(location_id):
    """Changes the fields sent (``name``, ``reference``, ``address_id``, ``address``,
    ``is_disabled``, ``organization_id``) → 200 ``LcsFulfilmentLocation``."""
    if not _html():
        return respond(ref.location_row(ref.update_location(current_actor(), location_id, request_json(dict))))
    data = _form_location(request_data())
    try:
        loc = ref.update_location(current_actor(), location_id, data, from_form=True)
    except ValidationFailed as e:
        loc = ref.get_location(current_actor().scope, location_id)
        return respond(None, template="lcs/locations_detail.html", block="location_form", status=422,
                       context=_detail_context(loc, error=e.message, errors=_errors(e), form=data))
    resp = respond(ref.location_row(loc), template="lcs/locations_detail.html", block="location_form",
                   context=_detail_context(loc, saved=True))
    return toast(resp, f"Location {loc.name} saved")


@bp.delete("/locations/<uuid:location_id>")
@requires("lcs.locations.write")
def delete_location(location_id):
    """Soft-deletes a location (Wharf; not in the seed) → 204. Its shipments keep the link."""
    loc = ref.delete_location(current_actor(), location_id)
    if not _html():
        return respond(None, status=204)
    resp = respond(None, template="lcs/locations.html", block="nothing")
    if request.args.get("next") == "list":
        client_redirect(resp, url_for("lcs.locations"))
    return toast(resp, f"Location {loc.name} deleted")


# --- positions ---------------------------------------------------------------------------------

def _positions_fragment(location_id, message: str | None = None):
    loc = ref.get_location(current_actor().scope, location_id)
    resp = respond(None, template="lcs/locations_detail.html", block="positions", context=_detail_context(loc))
    return toast(resp, message) if message else resp


@bp.get("/locations/<uuid:location_id>/positions")
@requires("lcs.locations.read")
def positions(location_id):
    """The location's positions in walk order (``LcsLocationPosition[]``: code, sorting, skus);
    paging x-page / x-page-size."""
    scope = current_actor().scope
    loc = ref.get_location(scope, location_id)
    body, headers, _ = paginate_b(ref.positions_query(scope, loc), serialize=ref.position_row)
    return respond(body, template="lcs/locations_detail.html", block="positions", headers=headers,
                   context=_detail_context(loc))


@bp.put("/locations/<uuid:location_id>/positions")
@requires("lcs.locations.write")
def reorder_positions(location_id):
    """Sets the walk order: ``["A3.32435", …]`` come first in that order (unknown codes are
    created), the rest follow → 200 ``{"success": n}``. Forms: ``action=add`` with ``codes``,
    or ``action=move`` with ``code`` and ``direction`` (up, down, top, bottom)."""
    actor = current_actor()
    if not _html():
        codes = ref.clean_codes(request_json(list))
        return respond({"success": ref.reorder_positions(actor, location_id, codes)})
    data = request_data()
    if data.get("action") == "move":
        moved = ref.move_position(actor, location_id, str(data.get("code") or ""), str(data.get("direction") or ""))
        return _positions_fragment(location_id, f"{moved.code} moved {data.get('direction')}")
    codes = ref.clean_codes(data.get("codes") or "", "codes", from_form=True)
    if not codes:
        raise ValidationFailed("Enter one or more position codes",
                               details=[{"path": ["codes"], "message": "is required", "kind": "required"}])
    added = ref.add_positions(actor, location_id, codes)
    return _positions_fragment(location_id, f"{len(added)} position{'' if len(added) == 1 else 's'} added")


@bp.delete("/locations/<uuid:location_id>/positions")
@requires("lcs.locations.write")
def delete_positions(location_id):
    """Deletes the positions ``["A3.32435", …]`` and their SKU links → 200 ``{"success": n}``
    (n = how many existed). Forms/htmx send ``code`` as a query parameter."""
    actor = current_actor()
    if not _html():
        count = ref.delete_positions(actor, location_id, ref.clean_codes(request_json(list)))
        return respond({"success": count})
    codes = ref.clean_codes(request.args.getlist("code"), "code")
    count = ref.delete_positions(actor, location_id, codes)
    return _positions_fragment(location_id, f"{count} position{'' if count == 1 else 's'} removed")


@bp.get("/locations/<uuid:location_id>/positions/<path:code>")
@requires("lcs.locations.read")
def position(location_id, code):
    """One position (``LcsLocationPosition``) by its code."""
    scope = current_actor().scope
    p = ref.get_position(scope, location_id, code)
    return respond(ref.position_row(p), template="lcs/locations_detail.html",
                   context=_detail_context(p.location, focus=p.code))


@bp.post("/locations/<uuid:location_id>/positions/search")
@requires("lcs.locations.read")
def search_positions(location_id):
    """Where SKUs are stored: body ``["SKU-1", …]`` (SKUs or position codes) → the matching
    ``LcsLocationSku[]`` in walk order; paging x-page / x-page-size."""
    wanted = set(ref.string_list(request_json(list), "", limit=120))
    rows = [r for r in ref.location_skus(current_actor().scope, location_id)
            if r["sku"] in wanted or r["position"] in wanted]
    body, headers = page_list(rows)
    return respond(body, headers=headers)


@bp.get("/locations/<uuid:location_id>/skus")
@requires("lcs.locations.read")
def skus(location_id):
    """Every SKU stored at the location with its position (``LcsLocationSku[]``, walk order)."""
    return respond(ref.location_skus(current_actor().scope, location_id))


@bp.put("/locations/<uuid:location_id>/skus")
@requires("lcs.locations.write")
def update_skus(location_id):
    """Moves SKUs to positions: ``[{sku, position}]`` (empty position = remove from the
    location) → 200 ``{"success", "failed"}``; unknown positions fail. Forms: ``position``
    and ``skus`` (one per line) replace that position's SKUs."""
    actor = current_actor()
    if not _html():
        success, failed = ref.set_skus(actor, location_id, request_json(list))
        return respond({"success": success, "failed": failed})
    data = request_data()
    code = str(data.get("position") or "")
    listed = ref.string_list(data.get("skus") or "", "skus", limit=120, from_form=True, split=r"[\s,;|]+")
    ref.set_position_skus(actor, location_id, code, listed)
    return _positions_fragment(location_id, f"SKUs at {code} saved")


@bp.post("/search/locations")
@requires("lcs.locations.read")
def search_locations():
    """Locations matching ``{"constraints": [{key, operator, values|value}]}``; keys ``ids``,
    ``name``, ``reference``, ``is_disabled``, ``organization_id``, ``created_at``, ``updated_at``;
    paging x-page / x-page-size → x-count."""
    stmt = apply_constraints(ref.locations_query(current_actor().scope), search_body(), SEARCH_FIELDS)
    body, headers, page = paginate_b(stmt, serialize=ref.location_row)
    return respond(body, template="lcs/locations.html", block="location_table", headers=headers,
                   context={"rows": body, "page": page, "args": {}, "can_write": _can_write()})
