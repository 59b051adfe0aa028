"""Printers (seed 001 /spl/printers) with their health, the settings schemas
(/spl/settings/printers/{type}) and Wharf's test print."""

from __future__ import annotations

import typing

from flask import url_for

from blueprints.spl import bp
from models import Printer, db
from schemas.spl import (
    SplInbox,
    SplPrinter,
    SplPrinterModel,
    SplPrinterQuery,
    SplSettingsSchema,
    ZplSettings,
)
from services.printing import floor
from services.printing import hubs as hub_svc
from services.printing import printers as svc
from web.access import current_actor, registry, requires
from web.contract import Response, operation
from web.forms import show_again
from web.negotiate import empty, respond, see_other

registry.add_nav("Printers", "spl.printers", group="Administration", order=410)

LIST, PAGE = "spl/printers.html", "spl/printer.html"
CHANGED = "spl:printers-changed"
JOB_HEADER = {"x-job-id": "The print job (GET /spl/queue/{id})"}


def _can(feature: str) -> bool:
    return current_actor().grants.allows([feature])


def _live_hubs() -> list[dict]:
    return [
        hub_svc.hub_row(h) for h in db.session.scalars(hub_svc.visible_hubs(current_actor())) if h.disabled_at is None
    ]


def _form_context(**extra) -> dict:
    return {
        "hubs": _live_hubs(),
        "interfaces": ("network", "ipp"),
        "encodings": ("zpl", "pdf"),
        "dpis": typing.get_args(ZplSettings.model_fields["dpi"].annotation),
        "zpl_defaults": ZplSettings().model_dump(),
        "can_manage": _can("spl.manage"),
        "can_print": _can("spl.print"),
        **extra,
    }


def _query_rows(query: SplPrinterQuery | None = None) -> list[dict]:
    stmt = svc.visible_printers(current_actor())
    if query is not None and query.hub_id:
        stmt = stmt.where(Printer.hub_id == query.hub_id)
    if query is not None and query.inbox_id:
        stmt = stmt.where(Printer.inbox_id == query.inbox_id)
    return svc.printer_rows(list(db.session.scalars(stmt)))


def _list_context(**extra) -> dict:
    if "rows" not in extra:  # the list view passes its filtered rows
        extra["rows"] = _query_rows()
    return _form_context(**extra)


def _page_context(p: Printer, **extra) -> dict:
    return _form_context(p=svc.printer_row(p), **extra)


_create_error = show_again(LIST, "create_form", context=lambda: _list_context())
_update_error = show_again(
    PAGE, "printer_form", context=lambda printer_id: _page_context(svc.get_printer(current_actor(), printer_id))
)


@bp.get("/printers")
@requires("spl.read")
@operation(query=SplPrinterQuery, responses={200: list[SplPrinter]})
def printers(query: SplPrinterQuery):
    """List the hooked printers

    Live printers first, by name, with Wharf's health: online through its hub, last
    printed, last error, jobs waiting. ``hub_id``/``inbox_id`` filter.
    """
    rows = _query_rows(query)
    return respond(
        rows, template=LIST, targets={"printer-table": "printer_table"}, context=lambda: _list_context(rows=rows)
    )


@bp.post("/printers")
@requires("spl.manage")
@operation(body=SplPrinterModel, responses={200: SplPrinter}, form_error=_create_error)
def create_printer(body: SplPrinterModel):
    """Add a printer

    On a live hub of the tenant (else 404); ``connection`` network (host[:port], raw 9100)
    or ipp (a queue URI); ``settings`` as the encoding's schema.
    """
    p = svc.create_printer(current_actor(), body)
    row = svc.printer_row(p)
    return respond(
        row,
        template=LIST,
        block="create_form",
        context=lambda: _list_context(created=row),
        toast=f"Printer {p.name} added",
        trigger=CHANGED,
    )


@bp.get("/printers/<uuid:printer_id>")
@requires("spl.read")
@operation(responses={200: SplPrinter})
def printer(printer_id):
    """Get the printer

    For people, its page: health (the fragment ``HX-Target: printer-health`` alone, which
    the page refreshes), settings, test print.
    """
    p = svc.get_printer(current_actor(), printer_id)
    return respond(
        svc.printer_row(p),
        template=PAGE,
        targets={"printer-health": "printer_health"},
        context=lambda: _page_context(p),
    )


@bp.put("/printers/<uuid:printer_id>")
@requires("spl.manage")
@operation(body=SplPrinterModel, responses={200: SplPrinter}, form_error=_update_error)
def update_printer(printer_id, body: SplPrinterModel):
    """Update a printer

    The whole configuration; jobs still scheduled follow it to a new hub.
    """
    p = svc.update_printer(current_actor(), printer_id, body)
    return respond(
        svc.printer_row(p),
        template=PAGE,
        block="printer_form",
        context=lambda: _page_context(p, saved=True),
        toast=f"Printer {p.name} saved",
    )


@bp.delete("/printers/<uuid:printer_id>")
@requires("spl.manage")
@operation(responses={200: SplPrinter})
def delete_printer(printer_id):
    """Deletes a printer

    Disables it (answered): waiting jobs are cancelled, stations and people lose it as
    their default.
    """
    p = svc.disable_printer(current_actor(), printer_id)
    return see_other(url_for(".printers"), svc.printer_row(p), toast=f"Printer {p.name} disabled")


@bp.put("/printers/<uuid:printer_id>/inbox")
@requires("spl.manage")
@operation(body=SplInbox, responses={200: SplPrinter})
def printer_inbox(printer_id, body: SplInbox):
    """Attach an inbox to the printer

    An empty ``inbox_id`` detaches it.
    """
    p = svc.set_inbox(current_actor(), printer_id, body.inbox_id)
    return respond(
        svc.printer_row(p), template=PAGE, block="printer_form", context=lambda: _page_context(p), toast="Inbox saved"
    )


@bp.post("/printers/<uuid:printer_id>/test")
@requires("spl.print")
@operation(responses={204: Response(None, headers=JOB_HEADER)})
def test_print(printer_id):
    """Print a test page (Wharf)

    The sample parcel label in the printer's language (the tenant's template for ZPL);
    204 with ``x-job-id``.
    """
    job = floor.test_print(current_actor(), printer_id)
    resp = empty(status=204, toast="Test print queued", trigger=CHANGED)
    resp.headers["x-job-id"] = str(job.id)
    return resp


@bp.get("/settings/printers/<kind>")
@requires("spl.read")
@operation(responses={200: SplSettingsSchema})
def settings_schema(kind: str):
    """Get schema

    The JSON Schema of a printer type's ``settings`` as text: ``zpl`` (dpi, label size,
    darkness, copies) and ``pdf`` (copies). Wharf does not print ``escpos`` or ``pcl`` (404).
    """
    return respond(svc.settings_schema(kind))
