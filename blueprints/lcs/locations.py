"""Fulfilment locations, their positions (walk order) and SKUs (seed 001 /lcs/locations,
/lcs/search/locations). Family B: snake_case, arrays with paging headers, creates answer 200.
The location page edits the walk order with htmx one step at a time (Wharf's ``…/walk``:
add, move, remove a position, set the SKUs at one); the seed's operations take its arrays."""

from __future__ import annotations

from flask import request, url_for

from blueprints.lcs import bp
from blueprints.lcs._reference import with_blanks
from models import Location
from schemas.base import PAGE_COUNT_HEADERS, PageHeaders
from schemas.lcs_reference import (
    LcsFulfilmentLocation,
    LcsFulfilmentLocationModel,
    LcsFulfilmentLocationUpdate,
    LcsLocationListQuery,
    LcsLocationPosition,
    LcsLocationSearch,
    LcsLocationSku,
    LcsLocationSkuModel,
    LcsSuccessCount,
    LcsSuccessFailed,
    PositionCodes,
    SkusOrCodes,
    WalkAdd,
    WalkChange,
    WalkMove,
    WalkRemove,
    WalkSkus,
)
from services.logistics import locations as svc
from services.logistics.search import Field, apply_constraints
from web.access import current_actor, registry, requires
from web.contract import Response, operation
from web.forms import show_again
from web.negotiate import empty, respond, see_other
from web.pagination import paginate_b, paginate_list_b

registry.add_nav("Locations", "lcs.locations", group="Catalogue", order=60)

SEARCH_FIELDS = {  # the keys of LcsLocationSearchConstraint
    "ids": Field(Location.id, "uuid"),
    "name": Field(Location.name),
    "reference": Field(Location.reference),
    "is_disabled": Field(Location.is_disabled, "bool"),
    "organization_id": Field(Location.organization_id, "uuid"),
    "created_at": Field(Location.created_at, "datetime"),
    "updated_at": Field(Location.updated_at, "datetime"),
}
CHANGED = "lcs:locations-changed"  # htmx event: the list re-fetches itself
LIST, DETAIL = "lcs/locations.html", "lcs/locations_detail.html"


def _can_write() -> bool:
    return current_actor().grants.allows(["lcs.locations.write"])


def _list_context(
    query: LcsLocationListQuery | None = None, headers: PageHeaders | None = None, **extra
) -> tuple[list, dict, dict]:
    query = query or LcsLocationListQuery()
    stmt = svc.locations_query(
        current_actor().scope, address_id=query.address_id, is_disabled=query.disabled, search=query.search
    )
    body, page_headers, page = paginate_b(stmt, serialize=svc.location_row, headers=headers)
    return body, page_headers, {"rows": body, "page": page, "args": request.args, "can_write": _can_write(), **extra}


def _detail_context(loc: Location, **extra) -> dict:
    positions = [svc.position_row(p) for p in svc.ordered_positions(loc)]
    return {
        "loc": svc.location_row(loc),
        "positions": positions,
        "can_write": _can_write(),
        "sku_count": sum(len(p["skus"]) for p in positions),
        **extra,
    }


def _location_context(location_id) -> dict:
    return _detail_context(svc.get_location(current_actor().scope, location_id))


_create_error = show_again(LIST, "create_form", context=lambda: _list_context()[2])
_update_error = show_again(DETAIL, "location_form", context=_location_context)


@bp.get("/locations")
@requires("lcs.locations.read")
@operation(
    query=LcsLocationListQuery,
    headers=PageHeaders,
    responses={200: Response(list[LcsFulfilmentLocation], headers=PAGE_COUNT_HEADERS)},
)
def locations(query: LcsLocationListQuery, headers: PageHeaders):
    """Returns a list of fulfilment locations

    By name; ``is_disabled`` 1|0, ``address_id``, ``search`` (name or reference, Wharf).
    """
    body, page_headers, ctx = _list_context(query, headers)
    return respond(body, template=LIST, headers=page_headers, context=ctx, targets={"location-table": "location_table"})


@bp.post("/locations")
@requires("lcs.locations.write")
@operation(body=LcsFulfilmentLocationModel, responses={200: LcsFulfilmentLocation}, form_error=_create_error)
def create_location(body: LcsFulfilmentLocationModel):
    """Create a new fulfilment location

    An inline ``address`` (Wharf) is stored with the location and gets an ``address_id``.
    """
    loc = svc.create_location(current_actor(), body)
    row = svc.location_row(loc)
    return respond(
        row,
        template=LIST,
        block="create_form",
        context=lambda: _list_context(created=row)[2],
        toast=f"Location {loc.name} created",
        trigger=CHANGED,
    )


@bp.get("/locations/<uuid:location_id>")
@requires("lcs.locations.read")
@operation(responses={200: LcsFulfilmentLocation})
def location(location_id):
    """Returns a fulfilment location

    For people, its page with the walk order.
    """
    loc = svc.get_location(current_actor().scope, location_id)
    return respond(svc.location_row(loc), template=DETAIL, context=_detail_context(loc))


@bp.put("/locations/<uuid:location_id>")
@requires("lcs.locations.write")
@operation(body=LcsFulfilmentLocationUpdate, responses={200: LcsFulfilmentLocation}, form_error=_update_error)
def update_location(location_id, body: LcsFulfilmentLocationUpdate):
    """Updates a location

    The fields sent change, the others keep their value.
    """
    loc = svc.update_location(current_actor(), location_id, with_blanks(body))
    row = svc.location_row(loc)
    return respond(
        row,
        template=DETAIL,
        block="location_form",
        context=lambda: _detail_context(loc, saved=True),
        toast=f"Location {loc.name} saved",
    )


@bp.delete("/locations/<uuid:location_id>")
@requires("lcs.locations.write")
@operation(responses={204: None})
def delete_location(location_id):
    """Deletes a location (Wharf; not in the seed)

    Soft delete: gone from lists and lookups; its shipments keep the link.
    """
    loc = svc.delete_location(current_actor(), location_id)
    if request.args.get("next") == "list":  # the detail page's button: back to the list
        return see_other(url_for("lcs.locations"), status=204, toast=f"Location {loc.name} deleted")
    return empty(status=204, toast=f"Location {loc.name} deleted")


# --- positions ---------------------------------------------------------------------------------


def _positions_answer(location_id, body: dict, message: str):
    """``body`` for JSON clients; for people the walk order again, with ``message``."""
    return respond(
        body,
        template=DETAIL,
        block="positions",
        toast=message,
        context=lambda: _detail_context(svc.get_location(current_actor().scope, location_id)),
    )


def _positions(n: int) -> str:
    return f"{n} position{'' if n == 1 else 's'}"


@bp.get("/locations/<uuid:location_id>/positions")
@requires("lcs.locations.read")
@operation(headers=PageHeaders, responses={200: Response(list[LcsLocationPosition], headers=PAGE_COUNT_HEADERS)})
def positions(location_id, headers: PageHeaders):
    """Get list of positions within a fulfilment location

    In walk order (``sorting`` 1..n), each with the SKUs stored there.
    """
    scope = current_actor().scope
    loc = svc.get_location(scope, location_id)
    body, page_headers, _ = paginate_b(svc.positions_query(scope, loc), serialize=svc.position_row, headers=headers)
    return respond(body, template=DETAIL, block="positions", headers=page_headers, context=_detail_context(loc))


@bp.put("/locations/<uuid:location_id>/positions")
@requires("lcs.locations.write")
@operation(body=PositionCodes, forms=False, responses={200: LcsSuccessCount})
def reorder_positions(location_id, body: list[str]):
    """Updates the position order for a location

    ``["A3.32435", …]`` come first in that order (unknown codes are created), the others
    follow; ``success`` counts the codes.
    """
    count = svc.reorder_positions(current_actor(), location_id, body)
    return _positions_answer(location_id, {"success": count}, "Walk order saved")


@bp.put("/locations/<uuid:location_id>/walk")
@requires("lcs.locations.write")
@operation(body=WalkChange, responses={200: LcsSuccessCount})
def edit_walk(location_id, body):
    """Edit the walk order one step (Wharf; the location page's editor)

    ``add`` appends ``codes``; ``move`` sends ``code`` ``up``, ``down``, to the ``top`` or
    ``bottom``; ``remove`` deletes ``code``; ``skus`` sets the whole set of SKUs at
    ``position``. ``success`` counts what changed (positions, or the SKUs set).
    """
    actor = current_actor()
    match body:
        case WalkAdd(codes=codes):
            count = len(svc.add_positions(actor, location_id, codes))
            message = f"{_positions(count)} added"
        case WalkMove(code=code, direction=direction):
            count = 1
            svc.move_position(actor, location_id, code, direction)
            message = f"{code} moved {direction}"
        case WalkRemove(code=code):
            count = svc.delete_positions(actor, location_id, [code])
            message = f"{_positions(count)} removed"
        case WalkSkus(position=position, skus=skus):
            count = len(skus)
            svc.set_position_skus(actor, location_id, position, skus)
            message = f"SKUs at {position} saved"
    return _positions_answer(location_id, {"success": count}, message)


@bp.delete("/locations/<uuid:location_id>/positions")
@requires("lcs.locations.write")
@operation(body=PositionCodes, forms=False, responses={200: LcsSuccessCount})
def delete_positions(location_id, body: list[str]):
    """Deletes positions of a location

    ``["A3.32435", …]`` and their SKU links; ``success`` counts those that existed.
    """
    count = svc.delete_positions(current_actor(), location_id, body)
    return _positions_answer(location_id, {"success": count}, f"{_positions(count)} removed")


@bp.get("/locations/<uuid:location_id>/positions/<path:code>")
@requires("lcs.locations.read")
@operation(responses={200: LcsLocationPosition})
def position(location_id, code):
    """Returns a single position"""
    p = svc.get_position(current_actor().scope, location_id, code)
    return respond(svc.position_row(p), template=DETAIL, context=_detail_context(p.location, focus=p.code))


@bp.post("/locations/<uuid:location_id>/positions/search")
@requires("lcs.locations.read")
@operation(
    body=SkusOrCodes,
    forms=False,
    headers=PageHeaders,
    responses={200: Response(list[LcsLocationSku], headers=PAGE_COUNT_HEADERS)},
)
def search_positions(location_id, body: list[str], headers: PageHeaders):
    """Searches a set of positions based on sku's

    Where the SKUs (or position codes) ``["SKU-1", …]`` are stored, in walk order. The seed's
    example shows one object; Wharf answers the list its description names.
    """
    scope = current_actor().scope
    wanted = set(body)
    rows = [r for r in svc.location_skus(scope, location_id) if r["sku"] in wanted or r["position"] in wanted]
    page, page_headers = paginate_list_b(rows, headers)
    return respond(
        page, template=DETAIL, headers=page_headers, context=_detail_context(svc.get_location(scope, location_id))
    )


@bp.get("/locations/<uuid:location_id>/skus")
@requires("lcs.locations.read")
@operation(responses={200: list[LcsLocationSku]})
def skus(location_id):
    """Get list of sku's that are listed for the fulfilment location

    With their position, in walk order (not paged, as the seed).
    """
    scope = current_actor().scope
    return respond(
        svc.location_skus(scope, location_id),
        template=DETAIL,
        context=_detail_context(svc.get_location(scope, location_id)),
    )


@bp.put("/locations/<uuid:location_id>/skus")
@requires("lcs.locations.write")
@operation(body=list[LcsLocationSkuModel], forms=False, responses={200: LcsSuccessFailed})
def update_skus(location_id, body: list[LcsLocationSkuModel]):
    """Update one or more sku's for the location

    ``[{sku, position}]``: each SKU moves to that position (no position: it leaves the
    location); entries naming a position the location lacks fail.
    """
    success, failed = svc.set_skus(current_actor(), location_id, body)
    return _positions_answer(
        location_id, {"success": success, "failed": failed}, f"{success} SKU{'' if success == 1 else 's'} placed"
    )


@bp.post("/search/locations")
@requires("lcs.locations.read")
@operation(
    body=LcsLocationSearch,
    forms=False,
    headers=PageHeaders,
    responses={200: Response(list[LcsFulfilmentLocation], headers=PAGE_COUNT_HEADERS)},
)
def search_locations(body: LcsLocationSearch, headers: PageHeaders):
    """Search for a set of fulfilment locations

    Keys ``ids`` (the seed's) and Wharf's ``name``, ``reference``, ``is_disabled``,
    ``organization_id``, ``created_at``, ``updated_at``; operators ``in``, ``not_in``,
    ``gt``, ``gte``, ``lt``, ``lte``, ``prefix``.
    """
    stmt = apply_constraints(svc.locations_query(current_actor().scope), body.constraints, SEARCH_FIELDS)
    rows, page_headers, page = paginate_b(stmt, serialize=svc.location_row, headers=headers)
    return respond(
        rows,
        template=LIST,
        block="location_table",
        headers=page_headers,
        context={"rows": rows, "page": page, "args": {}, "can_write": _can_write()},
    )
