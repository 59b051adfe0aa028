"""Shipments (seed 001 /lcs/shipments): list, create, detail, update, cancel, corrections,
and the pack station. Family B: arrays + x-count paging, snake_case, 204s without body."""
from __future__ import annotations

import hashlib

from flask import request

from blueprints.lcs import bp
from services.logistics import shipments as svc
from services.logistics.parcels import parcel_rows
from web.access import current_actor, registry, requires
from web.forms import request_json
from web.htmx import toast
from web.negotiate import encode_json, respond
from web.pagination import Page, headers_b, page_params_b

registry.add_nav("Shipments", "lcs.shipments", "lcs.shipments.read", group="Warehouse", order=10)


@bp.get("/shipments")
@requires("lcs.shipments.read")
def shipments():
    """Shipments, newest first (``LcsListedShipment``); paging via x-page / x-page-size.
    The screen's filters: ``search`` and ``<flag>=true|false`` pairs."""
    flags = {f: request.args[f] in ("true", "1") for f in svc.FLAGS
             if request.args.get(f) in ("true", "1", "false", "0")}
    number, size = page_params_b()
    listed = svc.list_page(current_actor(), number, size, request.args.get("search") or "", flags)
    if listed.encoded is None:  # a cached page is encoded once, by whichever request gets there first
        encoded = encode_json(listed.rows)
        listed.etag = hashlib.blake2b(encoded + str(listed.total).encode(), digest_size=16).hexdigest()
        listed.encoded = encoded  # last: whoever sees it also sees the etag
    block = "shipment_results" if request.headers.get("HX-Target") == "shipment-results" else "content"
    return respond(listed.rows, template="lcs/shipments.html", block=block, encoded=listed.encoded,
                   etag=listed.etag, headers=headers_b(listed.total, number, size),
                   context={"rows": listed.rows, "page": Page(listed.rows, listed.total, number, size),
                            "args": request.args, "flags": svc.FLAGS})


@bp.post("/shipments")
@requires("lcs.shipments.write")
def create_shipment():
    """Creates a shipment; each item's quantity becomes that many units (``LcsShipmentModel``)."""
    shipment = svc.create_shipment(current_actor(), request_json(dict))
    return respond(svc.detail_row(shipment), template="lcs/shipment.html", context={"s": svc.detail_row(shipment)})


@bp.get("/shipments/<uuid:shipment_id>")
@requires("lcs.shipments.read")
def shipment(shipment_id):
    """One shipment with its units, corrections and parcels (``LcsShipment``)."""
    row = svc.detail_row(svc.get_shipment(current_actor(), shipment_id))
    return respond(row, template="lcs/shipment.html", context={"s": row})


@bp.put("/shipments/<uuid:shipment_id>")
@requires("lcs.shipments.write")
def update_shipment(shipment_id):
    """Changes method, addressing or dates while the shipment is editable (409 after)."""
    row = svc.detail_row(svc.update_shipment(current_actor(), shipment_id, request_json(dict)))
    return respond(row, template="lcs/shipment.html", context={"s": row})


@bp.delete("/shipments/<uuid:shipment_id>")
@requires("lcs.shipments.write")
def cancel_shipment(shipment_id):
    """Cancels the shipment (204); refused with 409 once a parcel is in transit."""
    svc.cancel_shipment(current_actor(), shipment_id)
    return toast(respond(None, status=204), "Shipment canceled")


@bp.put("/shipments/<uuid:shipment_id>/items/missing")
@requires("lcs.shipments.write")
def items_missing(shipment_id):
    """Marks units missing or found: ``[{id, is_missing}]`` → 204."""
    svc.set_missing(current_actor(), shipment_id, request_json(list))
    return respond(None, status=204)


@bp.put("/shipments/<uuid:shipment_id>/items/backorders")
@requires("lcs.shipments.write")
def items_backorders(shipment_id):
    """Replaces the shipment's backorders ``[{sku, quantity, description, position}]``."""
    svc.set_corrections(current_actor(), shipment_id, "backorders", request_json(list))
    return respond(svc.detail_row(svc.get_shipment(current_actor(), shipment_id)))


@bp.put("/shipments/<uuid:shipment_id>/items/overage")
@requires("lcs.shipments.write")
def items_overage(shipment_id):
    """Replaces the shipment's overage (units that were not expected)."""
    svc.set_corrections(current_actor(), shipment_id, "overage", request_json(list))
    return respond(svc.detail_row(svc.get_shipment(current_actor(), shipment_id)))


@bp.get("/shipments/<uuid:shipment_id>/pack")
@requires("lcs.handling.read")
def pack_station(shipment_id):
    """Pack station: the shipment's handled units and its parcels."""
    s = svc.get_shipment(current_actor(), shipment_id)
    row = svc.detail_row(s)
    parcels = parcel_rows(list(s.parcels))
    free = [u for u in row["items"] if u["is_handled"] and not u["is_boxed"] and not u["is_missing"]]
    data = {"shipment": row, "parcels": parcels, "free_item_ids": [u["id"] for u in free]}
    return respond(data, template="lcs/pack.html", block="pack_panel",
                   context={"s": row, "parcels": parcels, "free": free})
