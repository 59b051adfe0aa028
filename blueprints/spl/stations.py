"""Pack stations (Wharf): named benches with a barcode and a printer. Scanning a station's
barcode binds the signed-in session to it, so every label closed there prints there; each
person may also choose a default printer."""

from __future__ import annotations

from flask import url_for

from blueprints.spl import bp
from models import db
from schemas.spl import SplDefaultPrinter, SplStation, SplStationBind, SplStationModel
from services.printing import printers as printer_svc
from services.printing import stations as svc
from web import stations as web_stations
from web.access import current_actor, registry, requires
from web.contract import operation
from web.forms import show_again
from web.negotiate import empty, respond, see_other

registry.add_nav("Pack stations", "spl.stations", group="Floor", order=35)

LIST = "spl/stations.html"
CHANGED = "spl:stations-changed"


def _context(**extra) -> dict:
    actor = current_actor()
    rows = [svc.station_row(s) for s in db.session.scalars(svc.stations_query(actor))]
    printers = [
        p
        for p in printer_svc.printer_rows(list(db.session.scalars(printer_svc.visible_printers(actor))))
        if not p["disabled_at"]
    ]
    default = svc.default_printer_of(actor)
    return {
        "rows": rows,
        "printers": printers,
        "bound": web_stations.bound_station_id(),
        "default_printer_id": str(default.id) if default else "",
        "can_manage": actor.grants.allows(["spl.manage"]),
        **extra,
    }


_create_error = show_again(LIST, "create_form", context=lambda: _context())


@bp.get("/stations")
@requires("spl.print")
@operation(responses={200: list[SplStation]})
def stations():
    """List the pack stations (Wharf)

    By name, with their printer; the page binds this session to one (scan its barcode).
    """
    ctx = _context()
    return respond(ctx["rows"], template=LIST, targets={"station-table": "station_table"}, context=ctx)


@bp.post("/stations")
@requires("spl.manage")
@operation(body=SplStationModel, responses={200: SplStation}, form_error=_create_error)
def create_station(body: SplStationModel):
    """Add a pack station (Wharf)

    ``code`` is the barcode printed at the bench (unique in the tenant: 409 otherwise).
    """
    s = svc.create_station(current_actor(), body)
    row = svc.station_row(s)
    return respond(
        row,
        template=LIST,
        block="create_form",
        context=lambda: _context(created=row),
        toast=f"Station {s.name} added",
        trigger=CHANGED,
    )


@bp.put("/stations/<uuid:station_id>")
@requires("spl.manage")
@operation(body=SplStationModel, responses={200: SplStation})
def update_station(station_id, body: SplStationModel):
    """Change a pack station (Wharf)"""
    s = svc.update_station(current_actor(), station_id, body)
    return respond(
        svc.station_row(s),
        template=LIST,
        block="station_table",
        context=lambda: _context(),
        toast=f"Station {s.name} saved",
    )


@bp.delete("/stations/<uuid:station_id>")
@requires("spl.manage")
@operation(responses={204: None})
def delete_station(station_id):
    """Remove a pack station (Wharf)"""
    s = svc.delete_station(current_actor(), station_id)
    web_stations.unbind(s.id)
    return empty(status=204, page=url_for(".stations"), toast=f"Station {s.name} removed", trigger=CHANGED)


@bp.post("/stations/bind")
@requires("spl.print")
@operation(body=SplStationBind, responses={200: SplStation, 204: None})
def bind_station(body: SplStationBind):
    """Bind this session to a pack station (Wharf)

    Scan (or type) the station's barcode: labels closed in this session print on its
    printer. An empty code unbinds (204).
    """
    if not body.code.strip():
        web_stations.unbind()
        return empty(status=204, page=url_for(".stations"), toast="No pack station bound", trigger=CHANGED)
    s = svc.station_by_code(current_actor(), body.code)
    web_stations.bind(s.id)
    row = svc.station_row(s)
    where = f" (labels print on {s.printer.name})" if s.printer else " (it has no printer yet)"
    return see_other(url_for(".stations"), row, toast=f"This session is at {s.name}{where}")


@bp.put("/printers/default")
@requires("spl.print")
@operation(body=SplDefaultPrinter, responses={204: None})
def default_printer(body: SplDefaultPrinter):
    """Choose your default printer (Wharf)

    Where your labels print when no pack station is bound; empty clears it.
    """
    svc.set_default_printer(current_actor(), body.printer_id)
    return empty(status=204, page=url_for(".stations"), toast="Default printer saved", trigger=CHANGED)
