"""The packer's landing page (/lcs/pack, issue 15): scan anything of a shipment to open its
pack station; below, the shipments waiting to be packed."""

from __future__ import annotations

from flask import url_for

from blueprints.lcs import bp
from schemas.lcs_pack import LcsPackOpen, LcsPackOpened, LcsPackWaiting
from services.errors import ValidationFailed
from services.logistics import pack_home as svc
from services.printing import stations
from web import stations as web_stations
from web.access import current_actor, registry, requires
from web.contract import operation
from web.negotiate import respond, response_mode, see_other

registry.add_nav("Pack", "lcs.pack_home", group="Floor", order=30)


def _bound_station() -> dict | None:
    """The pack station this session is bound to, for people who may print."""
    actor = current_actor()
    if not actor.grants.allows(["spl.print"]):
        return None
    found = stations.find_station(actor, web_stations.bound_station_id())
    return stations.station_row(found) if found else None


def _page(rows: list[dict], *, code: str = "", message: str | None = None, status: int = 200, toast=None):
    return respond(
        rows,
        status=status,
        template="lcs/pack_home.html",
        block="pack_open",
        context=lambda: {"rows": rows, "code": code, "message": message, "station": _bound_station()},
        targets={"pack-waiting": "pack_waiting"},
        toast=toast,
    )


@bp.get("/pack")
@requires("lcs.handling.write")
@operation(responses={200: list[LcsPackWaiting]})
def pack_home():
    """Shipments waiting to be packed

    Wharf's pack landing page: shipments in the caller's scope with every unit picked
    (``is_handled``), not yet all in parcels (not ``is_boxed``) and not canceled, oldest
    first (the 200 oldest), with their unit counts. The fragment ``HX-Target: pack-waiting`` is the list alone.
    """
    return _page(svc.waiting(current_actor()))


def _open_refused(error, submitted: dict):
    """An unknown or unreadable code: the form again, red, with what was typed."""
    message = "Unreadable code" if isinstance(error, ValidationFailed) else error.message
    code = str(submitted.get("code") or "")[:500]
    return _page(svc.waiting(current_actor()), code=code, message=message, status=error.status)


@bp.post("/pack/open")
@requires("lcs.handling.write")
@operation(body=LcsPackOpen, responses={200: LcsPackOpened}, form_error=_open_refused)
def pack_open(body: LcsPackOpen):
    """Open a pack station by code

    ``code`` is a shipment number (``S-000123``), an order id, a unit id or a parcel's SSCC;
    answers the shipment (``{shipment_id, number}``) and sends people to its pack station
    (``GET /lcs/shipments/{id}/pack``). A code of no shipment in the caller's scope is a 404.
    For people, a pack station's barcode binds the session to that station instead: the
    labels of parcels closed here print on its printer.
    """
    actor = current_actor()
    if response_mode() != "json" and actor.grants.allows(["spl.print"]):
        station = stations.station_with_code(actor, body.code)
        if station is not None:  # the bench's barcode: this session now prints there
            web_stations.bind(station.id)
            return _page(svc.waiting(actor), toast=f"This session is at {station.name}")
    shipment = svc.find_shipment(actor, body.code)
    return see_other(
        url_for("lcs.pack_station", shipment_id=shipment.id),
        {"shipment_id": shipment.id, "number": shipment.number},
    )
