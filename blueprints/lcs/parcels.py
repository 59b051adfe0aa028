"""Parcels (seed 001 /lcs/parcels): create with SSCC, attach/detach units, transit, finished."""
from __future__ import annotations

from flask import request

from blueprints.lcs import bp
from models import Parcel
from services.logistics import parcels as svc
from services.logistics.shipments import detail_row, get_shipment
from web.access import current_actor, requires
from web.forms import as_list, request_data, request_json
from web.htmx import toast
from web.negotiate import respond, response_mode
from web.pagination import paginate_b


def _pack_response(shipment_id, data, message: str, status: int = 200):
    """JSON for API clients; for the pack station, the re-rendered panel plus a toast."""
    if response_mode() == "json":
        return respond(data, status=status)
    s = get_shipment(current_actor(), shipment_id)
    row = detail_row(s)
    parcels = svc.parcel_rows(list(s.parcels))
    free = [u for u in row["items"] if u["is_handled"] and not u["is_boxed"] and not u["is_missing"]]
    # Browsers always get the re-rendered panel (200: htmx does not swap a 204).
    return toast(respond(data, template="lcs/pack.html", block="pack_panel",
                         context={"s": row, "parcels": parcels, "free": free}), message)


def _body(kind=dict):
    if request.is_json:
        return request_json(kind)
    form = request_data()
    out = {k: v for k, v in form.items() if k not in ("ids", "item_ids")}
    for key in ("weight", "length", "width", "height"):
        if out.get(key) not in (None, ""):
            try:
                out[key] = int(out[key])
            except (TypeError, ValueError):
                pass  # the service reports the bad value
        else:
            out.pop(key, None)
    for key in ("ids", "item_ids"):
        if key in form:
            out[key] = as_list(form[key])
    return out


@bp.get("/parcels")
@requires("lcs.handling.read")
def parcels():
    """Parcels, newest first (``LcsParcel``)."""
    stmt = current_actor().scope.select(Parcel).order_by(Parcel.created_at.desc())
    rows, headers, _ = paginate_b(stmt, serialize=lambda p: p)
    return respond(svc.parcel_rows(rows), headers=headers)


@bp.post("/parcels")
@requires("lcs.handling.write")
def create_parcel():
    """Creates a parcel for a shipment, numbered with an SSCC-18; ``item_ids`` are packed at once."""
    data = _body()
    parcel = svc.create_parcel(current_actor(), data)
    return _pack_response(parcel.shipment_id, svc.parcel_row(parcel), f"Parcel {parcel.number} created")


@bp.get("/parcels/<uuid:parcel_id>")
@requires("lcs.handling.read")
def parcel(parcel_id):
    """One parcel (``LcsParcel``)."""
    return respond(svc.parcel_row(svc.get_parcel(current_actor(), parcel_id)))


@bp.put("/parcels/<uuid:parcel_id>")
@requires("lcs.handling.write")
def update_parcel(parcel_id):
    """Weight, dimensions, ship_at, tracking and position (204); 409 once in transit."""
    p = svc.update_parcel(current_actor(), parcel_id, _body())
    return _pack_response(p.shipment_id, None, "Parcel saved", status=204)


@bp.delete("/parcels/<uuid:parcel_id>")
@requires("lcs.handling.write")
def delete_parcel(parcel_id):
    """Removes the parcel (204); its units become free again."""
    p = svc.get_parcel(current_actor(), parcel_id)
    shipment_id = p.shipment_id
    svc.delete_parcel(current_actor(), parcel_id)
    return _pack_response(shipment_id, None, "Parcel removed", status=204)


@bp.post("/parcels/<uuid:parcel_id>/items")
@requires("lcs.handling.write")
def attach_items(parcel_id):
    """Packs units ``{ids}`` → ``{success, failed}`` (only free units of the parcel's shipment)."""
    outcome = svc.attach(current_actor(), parcel_id, _body())
    p = svc.get_parcel(current_actor(), parcel_id)
    return _pack_response(p.shipment_id, outcome, f"{outcome['success']} packed, {outcome['failed']} refused")


@bp.delete("/parcels/<uuid:parcel_id>/items")
@requires("lcs.handling.write")
def detach_items(parcel_id):
    """Unpacks units ``{ids}`` → ``{success, failed}``."""
    outcome = svc.detach(current_actor(), parcel_id, _body())
    p = svc.get_parcel(current_actor(), parcel_id)
    return _pack_response(p.shipment_id, outcome, f"{outcome['success']} unpacked")


@bp.put("/parcels/<uuid:parcel_id>/transit")
@requires("lcs.handling.write")
def parcel_transit(parcel_id):
    """Marks the parcel in transit (204; idempotent)."""
    svc.mark_transit(current_actor(), parcel_id)
    return respond(None, status=204)


@bp.put("/parcels/<uuid:parcel_id>/finished")
@requires("lcs.handling.write")
def parcel_finished(parcel_id):
    """Marks the parcel finished / delivered (204; idempotent; must be in transit)."""
    svc.mark_finished(current_actor(), parcel_id)
    return respond(None, status=204)
