"""Parcels (seed 001 /lcs/parcels): create with SSCC, attach/detach units, transit, finished."""

from __future__ import annotations

from blueprints.lcs import bp
from blueprints.lcs.shipments import pack_panel
from models import Parcel
from models.base import newest_first
from schemas.base import PAGE_COUNT_HEADERS, PageHeaders
from schemas.lcs_parcels import (
    LcsParcel,
    LcsParcelClose,
    LcsParcelCreateModel,
    LcsParcelModel,
    LcsPlace,
    LcsPlaceResult,
)
from services.errors import DomainError
from services.logistics import packing
from services.logistics import parcels as svc
from services.logistics.shipments import get_shipment
from services.printing import floor
from web import stations
from web.access import current_actor, registry, requires
from web.contract import Response, operation
from web.negotiate import respond, response_mode
from web.pagination import paginate_b

registry.add_nav("Parcels", "lcs.parcels", group="Floor", order=40)


def _pack_response(shipment_id, data, message: str, status: int = 200, extra: dict | None = None, headers=None):
    """JSON for API clients; for the pack station, the re-rendered panel plus a toast
    (200: htmx does not swap a 204)."""
    return respond(
        data,
        status=status if response_mode() == "json" else 200,
        template="lcs/pack.html",
        block="pack_panel",
        context=lambda: pack_panel(get_shipment(current_actor(), shipment_id))[1] | (extra or {}),
        toast=message,
        headers=headers,
    )


@bp.get("/parcels")
@requires("lcs.handling.read")
@operation(headers=PageHeaders, responses={200: Response(list[LcsParcel], headers=PAGE_COUNT_HEADERS)})
def parcels(headers: PageHeaders):
    """List all parcels

    Newest first (``LcsParcel``), paged by ``x-page``/``x-page-size``. The fragment
    ``HX-Target: parcel-results`` is the table and its pager alone.
    """
    stmt = current_actor().scope.select(Parcel)
    rows, page_headers, page = paginate_b(stmt, serialize=lambda p: p, headers=headers, keyset=newest_first(Parcel))
    data = svc.parcel_rows(rows)
    return respond(
        data,
        headers=page_headers,
        template="lcs/parcels.html",
        targets={"parcel-results": "parcel_results"},
        context=lambda: {"rows": data, "page": page, "numbers": svc.shipment_numbers(rows), "label_state": label_state},
    )


def label_state(row: dict) -> str:
    """A parcel's label for people: none, requested (closed, the label task not done) or labelled."""
    if row["label"]["file_id"]:
        return "labelled"
    return "requested" if row["closed_at"] else "none"


@bp.post("/parcels")
@requires("lcs.handling.write")
@operation(body=LcsParcelCreateModel, responses={200: LcsParcel})
def create_parcel(body: LcsParcelCreateModel):
    """Add a new parcel

    Numbered with an SSCC-18; ``item_ids`` (free units of the shipment) are packed at once.
    Answers 200 with the parcel (the seed has no 201).
    """
    parcel = svc.create_parcel(current_actor(), body)
    return _pack_response(parcel.shipment_id, svc.parcel_row(parcel), f"Parcel {parcel.number} created")


@bp.get("/parcels/<uuid:parcel_id>")
@requires("lcs.handling.read")
@operation(responses={200: LcsParcel})
def parcel(parcel_id):
    """Get a single parcel"""
    return respond(svc.parcel_row(svc.get_parcel(current_actor(), parcel_id)))


@bp.put("/parcels/<uuid:parcel_id>")
@requires("lcs.handling.write")
@operation(body=LcsParcelModel, responses={204: None})
def update_parcel(parcel_id, body: LcsParcelModel):
    """Update the parcel parameters

    Weight, dimensions, ``ship_at``, tracking and position (204); 409 once in transit.
    """
    p = svc.update_parcel(current_actor(), parcel_id, body)
    return _pack_response(p.shipment_id, None, "Parcel saved", status=204)


@bp.delete("/parcels/<uuid:parcel_id>")
@requires("lcs.handling.write")
@operation(responses={204: None})
def delete_parcel(parcel_id):
    """Remove a parcel

    204; its units become free again. Refused with 409 once in transit.
    """
    shipment_id = svc.get_parcel(current_actor(), parcel_id).shipment_id
    svc.delete_parcel(current_actor(), parcel_id)
    return _pack_response(shipment_id, None, "Parcel removed", status=204)


@bp.post("/parcels/<uuid:parcel_id>/items")
@requires("lcs.handling.write")
@operation(body=LcsPlace, responses={200: LcsPlaceResult})
def attach_items(parcel_id, body: LcsPlace):
    """Add items to a parcel

    Packs units ``{ids}`` → ``{success, failed}``: only free units of the parcel's shipment.
    """
    outcome = svc.attach(current_actor(), parcel_id, body.ids)
    p = svc.get_parcel(current_actor(), parcel_id)
    return _pack_response(p.shipment_id, outcome, f"{outcome['success']} packed, {outcome['failed']} refused")


@bp.delete("/parcels/<uuid:parcel_id>/items")
@requires("lcs.handling.write")
@operation(body=LcsPlace, responses={200: LcsPlaceResult})
def detach_items(parcel_id, body: LcsPlace):
    """Remove items from parcel

    Unpacks units ``{ids}`` → ``{success, failed}``.
    """
    outcome = svc.detach(current_actor(), parcel_id, body.ids)
    p = svc.get_parcel(current_actor(), parcel_id)
    return _pack_response(p.shipment_id, outcome, f"{outcome['success']} unpacked")


@bp.post("/parcels/<uuid:parcel_id>/close")
@requires("lcs.handling.write")
@operation(
    body=LcsParcelClose,
    responses={
        200: Response(
            LcsParcel,
            headers={
                "x-task-id": "The label task (GET /mes/tasks/{id})",
                "x-job-id": "The print job, when the label printed at your station or default printer",
            },
        )
    },
)
def close_parcel(parcel_id, body: LcsParcelClose):
    """Close a parcel

    Wharf's pack station in one step: saves ``weight`` and requests the label (the task in
    ``x-task-id``), which closes the parcel — the next pack scan opens a new one. Refused like
    ``POST …/label`` (422 empty or over the method's maximum weight, 409 in transit), and
    then nothing is saved. With ``spl.print``, the label also prints at the pack station bound
    to the session, else on your default printer (``x-job-id``).
    """
    with svc.label_refusal_noted(current_actor(), parcel_id):
        t = packing.close_parcel(current_actor(), parcel_id, body.weight)
    p = svc.get_parcel(current_actor(), parcel_id)
    headers = {"x-task-id": str(t.id)}
    printed = _print_closed(p, headers)
    return _pack_response(
        p.shipment_id,
        svc.parcel_row(p),
        f"Parcel {p.number} closed: label requested{printed}",
        extra={"label_task": {"id": t.id, "parcel_id": p.id}},
        headers=headers,
    )


def _print_closed(p, headers: dict) -> str:
    """Print the closed parcel's label at the packer's station (or default printer), if any
    and if they may print: the words for the toast, the job in ``x-job-id``. A refused print
    does not undo the close: the toast says why, the PDF label is still there."""
    actor = current_actor()
    if not actor.grants.allows(["spl.print"]):
        return ""
    try:
        job = floor.print_on_close(actor, p.id, stations.bound_station_id())
    except DomainError as e:
        return f"; not printed: {e.message}"
    if job is None:
        return ""
    headers["x-job-id"] = str(job.id)
    return f", printing on {job.printer.name}"


@bp.put("/parcels/<uuid:parcel_id>/transit")
@requires("lcs.handling.write")
@operation(responses={204: None})
def parcel_transit(parcel_id):
    """Mark parcel as in-transit

    204 (idempotent); an empty parcel cannot ship (409).
    """
    svc.mark_transit(current_actor(), parcel_id)
    return respond(None, status=204)


@bp.put("/parcels/<uuid:parcel_id>/finished")
@requires("lcs.handling.write")
@operation(responses={204: None})
def parcel_finished(parcel_id):
    """Mark parcel as finished

    204 (idempotent; delivered); the parcel must be in transit first (409).
    """
    svc.mark_finished(current_actor(), parcel_id)
    return respond(None, status=204)
