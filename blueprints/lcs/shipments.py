"""Shipments (seed 001 /lcs/shipments): list, create, detail, update, cancel, corrections,
and the pack station. Family B: arrays + x-count paging, snake_case, 204s without body."""

from __future__ import annotations

from flask import request, url_for
from flask_login import current_user

from blueprints.lcs import bp
from schemas.base import PAGE_COUNT_HEADERS, PageHeaders
from schemas.lcs_parcels import LcsPackScan, LcsPackScanResult
from schemas.lcs_shipments import (
    LcsListedShipment,
    LcsPackStation,
    LcsShipment,
    LcsShipmentChoices,
    LcsShipmentItemCorrection,
    LcsShipmentItemMissing,
    LcsShipmentModel,
    LcsShipmentUpdateModel,
    ShipmentListQuery,
)
from services import documents, toggles
from services.errors import Conflict, ValidationFailed
from services.logistics import history, packing
from services.logistics import shipments as svc
from web.access import current_actor, registry, requires
from web.contract import Response, operation
from web.forms import show_again
from web.htmx import trigger_client_event
from web.negotiate import respond, response_mode, see_other
from web.pagination import Page, headers_b, page_at, page_token

registry.add_nav("Shipments", "lcs.shipments", group="Floor", order=10)

CHANGED = "lcs:shipment-changed"  # htmx event: the shipment page's state re-fetches itself


def _detail(shipment, toast: str | None = None):
    row = svc.detail_row(shipment)
    context = {"s": row, "status_of": svc.status_of}
    if response_mode() == "page":  # the timeline is part of the page, not of its fragments
        context["history"] = history.shipment_history(shipment)
    return respond(
        row,
        template="lcs/shipment.html",
        context=context,
        targets={"shipment-state": "shipment_state", "shipment-units": "shipment_units"},
        toast=toast,
    )


def pack_panel(shipment, answer: dict | None = None) -> tuple[dict, dict]:
    """The pack station's JSON and its template context: the shipment, its parcels (the open
    one, the next scan's, apart), what each SKU still needs and its picked units not yet
    packed; ``answer`` is the last scan's outcome."""
    row = svc.detail_row(shipment)
    free = [u for u in row["items"] if u["is_handled"] and not u["is_boxed"] and not u["is_missing"]]
    parcels = row["parcels"]
    opened = next((p for p in reversed(parcels) if not p["closed_at"] and not p["is_in_transit"]), None)
    lines = packing.lines(row["items"])
    data = {
        "shipment": row,
        "parcels": parcels,
        "free_item_ids": [u["id"] for u in free],
        "open_parcel_id": opened["id"] if opened else None,
        "lines": lines,
    }
    context = {
        "s": row,
        "parcels": parcels,
        "free": free,
        "opened": opened,
        "weight_hint": packing.suggested_weight(opened["id"], shipment.tenant_id) if opened else None,
        "lines": lines,
        "answer": answer,
        "index": {p["id"]: i for i, p in enumerate(parcels, 1)},
        "ship_to": documents.address_lines(((row["addressing"] or {}).get("to") or {}).get("address")),
        "method": shipment.method,
        "can_print": current_actor().grants.allows(["lcs.handling.write", "spl.print"]),  # Print label
    }
    return data, context


def _bulk_actions() -> bool:
    """The table's checkboxes and "Create handling list from selected": for people who may
    make lists, while the tenant's ``lcs.lists.bulk_actions`` toggle is on (off: no empty
    checkbox column; lists are made on the "New handling list" page)."""
    return bool(toggles.value_for("lcs.lists.bulk_actions", current_user.tenant_id, True)) and (
        current_actor().grants.allows(["lcs.handling.write"])
    )


@bp.get("/shipments")
@requires("lcs.shipments.read")
@operation(
    query=ShipmentListQuery,
    headers=PageHeaders,
    responses={200: Response(list[LcsListedShipment], headers=PAGE_COUNT_HEADERS), 304: None},
)
def shipments(query: ShipmentListQuery, headers: PageHeaders):
    """Get a list of shipments

    Newest first (``LcsListedShipment``), paged by ``x-page``/``x-page-size``; the screen's
    filters: ``search`` and ``<flag>=true|false``. The answer carries an ``ETag``: send it
    back in ``If-None-Match`` and an unchanged page is a ``304`` without a body.
    """
    at, size = page_at(headers.x_page, svc.KEYSET), headers.x_page_size
    listed = svc.list_page(current_actor(), at.number, size, query.search, query.flags(), after=at.after)
    token = page_token(at.number + 1, svc.KEYSET, listed.last) if listed.last is not None else None
    args = {"search": query.search, **{k: str(v).lower() for k, v in query.flags().items()}}
    return respond(
        listed.rows,
        template="lcs/shipments.html",
        targets={"shipment-results": "shipment_results"},
        etag=True,
        headers=headers_b(listed.total, at.number, size, token),
        context=lambda: {
            "rows": listed.rows,
            "page": Page(listed.rows, listed.total, at.number, size, token),
            "args": args,
            "flags": svc.FLAGS,
            "status_of": svc.status_of,
            "bulk": _bulk_actions(),
        },
    )


NEW_SHIPMENT = "lcs/shipment_new.html"
ITEM_ROWS = 5  # empty item rows on the form (a blank row is left out; save to get more)


def _new_context(**extra) -> dict:
    return {"choices": svc.new_shipment_choices(current_actor()), "item_rows": ITEM_ROWS, **extra}


@bp.get("/shipments/new")
@requires("lcs.shipments.write")
@operation(responses={200: LcsShipmentChoices})
def new_shipment():
    """What a new shipment can be given

    Wharf's "New shipment" page (a lead enters a manual or replacement shipment and posts
    it to ``POST /lcs/shipments``); as JSON, its choices: the methods and enabled locations.
    """
    context = _new_context()
    return respond(context["choices"], template=NEW_SHIPMENT, context=context)


# A refused form comes back with the reason, each field's message and what was typed.
_create_error = show_again(NEW_SHIPMENT, "shipment_form", context=lambda: _new_context())


def _edit_context(shipment_id) -> dict:
    row = svc.detail_row(svc.get_shipment(current_actor(), shipment_id))
    return _new_context(editing=row, form=row)


@bp.get("/shipments/<uuid:shipment_id>/edit")
@requires("lcs.shipments.write")
@operation(responses={200: LcsShipmentChoices})
def edit_shipment(shipment_id):
    """What an editable shipment can be changed to

    Wharf's edit page (method, ship-from location, order and ship-to, posted to
    ``PUT /lcs/shipments/{id}``); as JSON, the choices. 409 once the shipment is no longer
    editable (on a list, picked, packed or canceled).
    """
    context = _edit_context(shipment_id)
    if not context["editing"]["is_editable"]:
        raise Conflict(
            f"Shipment {context['editing']['number']} can no longer be changed: it is on a list, picked, packed or canceled"
        )
    return respond(context["choices"], template=NEW_SHIPMENT, context=context)


_update_error = show_again(NEW_SHIPMENT, "shipment_form", context=lambda shipment_id: _edit_context(shipment_id))


@bp.post("/shipments")
@requires("lcs.shipments.write")
@operation(body=LcsShipmentModel, responses={200: LcsShipment}, form_error=_create_error)
def create_shipment(body: LcsShipmentModel):
    """Add a new shipment

    Each item's ``quantity`` becomes that many units, each with its own id; the shipment
    gets its number (``S-000123``). Answers 200 with the shipment (the seed has no 201);
    the page's form goes on to the new shipment's page.
    """
    s = svc.create_shipment(current_actor(), body)
    return see_other(url_for("lcs.shipment", shipment_id=s.id), svc.detail_row(s), toast=f"Shipment {s.number} created")


@bp.get("/shipments/<uuid:shipment_id>")
@requires("lcs.shipments.read")
@operation(responses={200: LcsShipment})
def shipment(shipment_id):
    """Returns a single shipment

    With its units, corrections and parcels (``LcsShipment``).
    """
    return _detail(svc.get_shipment(current_actor(), shipment_id))


@bp.put("/shipments/<uuid:shipment_id>")
@requires("lcs.shipments.write")
@operation(body=LcsShipmentUpdateModel, responses={200: LcsShipment}, form_error=_update_error)
def update_shipment(shipment_id, body: LcsShipmentUpdateModel):
    """Update the shipment method or addressing

    The fields sent change (also inside ``addressing``: what is not sent is kept), only
    while the shipment is editable (409 after).
    """
    s = svc.update_shipment(current_actor(), shipment_id, body)
    return see_other(url_for("lcs.shipment", shipment_id=s.id), svc.detail_row(s), toast=f"Shipment {s.number} saved")


@bp.delete("/shipments/<uuid:shipment_id>")
@requires("lcs.shipments.write")
@operation(responses={204: None})
def cancel_shipment(shipment_id):
    """Cancel a shipment

    204 (idempotent); refused with 409 once a parcel is in transit.
    """
    svc.cancel_shipment(current_actor(), shipment_id)
    return respond(None, status=204, toast="Shipment canceled", trigger=CHANGED)


@bp.put("/shipments/<uuid:shipment_id>/items/missing")
@requires("lcs.shipments.write")
@operation(body=list[LcsShipmentItemMissing], responses={204: None})
def items_missing(shipment_id, body: list[LcsShipmentItemMissing]):
    """Update items that are missing

    ``[{id, is_missing}]`` for units of this shipment → 204.
    """
    svc.set_missing(current_actor(), shipment_id, body)
    return respond(None, status=204)


@bp.put("/shipments/<uuid:shipment_id>/items/backorders")
@requires("lcs.shipments.write")
@operation(body=list[LcsShipmentItemCorrection], responses={200: LcsShipment})
def items_backorders(shipment_id, body: list[LcsShipmentItemCorrection]):
    """Update the shipment's items that are backorder

    Replaces the backorders ``[{sku, quantity, description, position}]``.
    """
    svc.set_corrections(current_actor(), shipment_id, "backorders", body)
    return _detail(svc.get_shipment(current_actor(), shipment_id))


@bp.put("/shipments/<uuid:shipment_id>/items/overage")
@requires("lcs.shipments.write")
@operation(body=list[LcsShipmentItemCorrection], responses={200: LcsShipment})
def items_overage(shipment_id, body: list[LcsShipmentItemCorrection]):
    """Update items that were not expected

    Replaces the shipment's overage (units that arrived without being expected).
    """
    svc.set_corrections(current_actor(), shipment_id, "overage", body)
    return _detail(svc.get_shipment(current_actor(), shipment_id))


@bp.put("/shipments/<uuid:shipment_id>/positions")
@requires("lcs.shipments.write")
@operation(responses={204: None})
def refresh_positions(shipment_id):
    """Refresh positions

    Refresh a shipment's positions to the latest known defaults: each unit not yet picked
    or packed takes its SKU's position at the shipment's location (a SKU stored nowhere
    keeps its own); an open handling list holding them is ranked again. 204; 400 when the
    shipment is canceled. The shipment page gets its units table back.
    """
    moved = svc.refresh_positions(current_actor(), shipment_id)
    if response_mode() == "json":
        return respond(None, status=204)
    return _detail(svc.get_shipment(current_actor(), shipment_id), toast=f"Positions refreshed (units moved: {moved})")


@bp.get("/shipments/<uuid:shipment_id>/pack")
@requires("lcs.handling.read")
@operation(responses={200: LcsPackStation})
def pack_station(shipment_id):
    """Pack station

    The shipment, its parcels and its picked units not yet packed (Wharf).
    """
    data, context = pack_panel(svc.get_shipment(current_actor(), shipment_id))
    return respond(data, template="lcs/pack.html", block="pack_panel", context=context)


def _pack_answer(shipment_id, data: dict):
    """The scan's outcome (``LcsPackScanResult``) as JSON, or the re-rendered panel for the
    station, with the ``wharf:scan`` event its sounds play on."""
    resp = respond(
        data,
        template="lcs/pack.html",
        block="pack_panel",
        context=lambda: pack_panel(svc.get_shipment(current_actor(), shipment_id), data)[1],
    )
    return trigger_client_event(resp, "wharf:scan", {"ok": data["status"] == "ok", "status": data["status"]})


def _pack_refused(error, submitted: dict):
    """A refused scan at the pack station (unreadable code, canceled shipment): red, nothing changed."""
    message = "Unreadable scan: nothing changed" if isinstance(error, ValidationFailed) else error.message
    shipment_id = request.view_args["shipment_id"]
    return _pack_answer(shipment_id, packing.scan_row(shipment_id, packing.PackResult("error", message)))


@bp.post("/shipments/<uuid:shipment_id>/pack/scan")
@requires("lcs.handling.write")
@operation(body=LcsPackScan, responses={200: LcsPackScanResult}, form_error=_pack_refused)
def pack_scan(shipment_id, body: LcsPackScan):
    """Pack by scan

    A unit id, SKU, product barcode or GS1 string moves one picked unit of that product into
    the shipment's open parcel (opened when there is none: the last one was closed).
    ``status`` ok; ``error`` for a code of no unit of this shipment, ``warning`` for one more
    than was picked — both change nothing. Another tenant's shipment is a 404.
    """
    return _pack_answer(shipment_id, packing.scan_at_station(current_actor(), shipment_id, body.code))
