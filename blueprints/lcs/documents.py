"""Printing (spec/documents.md): label, slip and invoice requests (async, 204 + ``x-task-id``), the
batch labels of a handling list, and direct PDF downloads for people.

htmx callers (the pack station, the shipment and list pages) get the task's progress bar
fragment instead of the 204, so the page shows "progress → Open PDF" in place.
"""

from __future__ import annotations

import io

from flask import make_response, send_file, url_for

from blueprints.lcs import bp
from schemas.base import Binary
from schemas.lcs_documents import DocumentQuery, SlipQuery, SlipRequestQuery
from schemas.spl import LcsPrint
from services import attachments, documents, tasks
from services.errors import Conflict
from services.logistics.lists import get_list
from services.logistics.parcels import get_parcel, label_refusal_noted
from services.logistics.shipments import get_shipment
from services.printing import floor
from web import stations
from web.access import current_actor, requires
from web.contract import Response, operation
from web.htmx import announce_task_done, htmx_details
from web.negotiate import respond, response_mode, see_other

TASK_TEMPLATE = "tasks/task.html"
TASK = {
    204: Response(
        None,
        "Requested: a background task renders the document",
        headers={"x-task-id": "Reference to the task (GET /mes/tasks/{id})"},
    )
}
PDF = {200: Response(Binary, "The PDF (text/html with format=html)", media_type="application/pdf")}
STORED_PDF = {**PDF, 304: None}


def _task_response(t, message: str):
    """204 + ``x-task-id`` for API clients; the progress fragment for htmx; else the task page."""
    headers = {"x-task-id": str(t.id)}
    mode = response_mode()
    if mode == "json":
        return respond(None, status=204, headers=headers)
    if mode == "page" and not htmx_details().is_htmx:
        return see_other(url_for("mes.task", task_id=t.id))
    view = {**tasks.task_row(t), "ended": t.status in tasks.ENDED, "file_url": None}
    if t.status == "done" and documents.stored_pdf(t.tenant_id, t.result):
        view["file_url"] = url_for("mes.task_file", task_id=t.id)
    resp = respond(
        None,
        template=TASK_TEMPLATE,
        block="task_progress",
        context={"t": view},
        headers=headers,
        toast=(message, "success" if t.status != "failed" else "error"),
    )
    return announce_task_done(resp, t)


def _pdf(body: bytes | io.IOBase, filename: str, etag: str | None = None):
    stream = io.BytesIO(body) if isinstance(body, bytes) else body
    resp = send_file(
        stream,
        mimetype="application/pdf",
        download_name=filename,
        as_attachment=False,
        etag=etag or False,
        conditional=bool(etag),
    )
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.cache_control.private = True
    resp.cache_control.no_cache = True
    return resp


def _stored(tenant_id, file_id):
    return documents.stored_pdf(tenant_id, file_id) if file_id else None


def _html(body: str):
    resp = make_response(body)
    resp.mimetype = "text/html"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return resp


@bp.post("/parcels/<uuid:parcel_id>/label")
@requires("lcs.handling.write")
@operation(responses=TASK)
def request_label(parcel_id):
    """Requests a label for the parcel

    204 + ``x-task-id``; 422 when over the method's ``max_weight``, without weight or
    units, or blocked by a rule. The task fills the parcel's ``label`` with the PDF.
    """
    with label_refusal_noted(current_actor(), parcel_id):
        t = documents.request_label(current_actor(), parcel_id)
    return _task_response(t, "Label requested")


@bp.post("/parcels/<uuid:parcel_id>/slip")
@requires("lcs.handling.write")
@operation(query=SlipRequestQuery, responses=TASK)
def request_slip(parcel_id, query: SlipRequestQuery):
    """Requests packing slip

    204 + ``x-task-id`` (``size`` a4 or a5); the task fills the parcel's ``file_id``.
    """
    t = documents.request_slip(current_actor(), parcel_id, query.size)
    return _task_response(t, "Packing slip requested")


@bp.post("/lists/<uuid:list_id>/labels")
@requires("lcs.handling.write")
@operation(responses=TASK)
def request_list_labels(list_id):
    """Requests the labels of a handling list

    Every parcel of the list's shipments in one batch PDF (204 + ``x-task-id``; progress
    per label). Each parcel is checked first: one refused parcel refuses the batch.
    """
    t = documents.request_list_labels(current_actor(), list_id)
    return _task_response(t, "Labels requested")


PRINTED = {204: Response(None, "Queued for the printer", headers={"x-job-id": "The print job (GET /spl/queue/{id})"})}


def _printed(job, message: str):
    resp = respond(None, status=204 if response_mode() == "json" else 200, toast=message)
    resp.headers["x-job-id"] = str(job.id)
    return resp


@bp.post("/parcels/<uuid:parcel_id>/print")
@requires("lcs.handling.write", "spl.print")
@operation(body=LcsPrint, responses=PRINTED, body_required=False)
def print_parcel_label(parcel_id, body: LcsPrint | None):
    """Print the parcel's label (Wharf)

    Straight to a printer in its language (native ZPL, or the PDF label): ``printer_id``,
    else the pack station bound to this session, else your default printer (400 when
    none). Checked and closed as a label request is. 204 + ``x-job-id``.
    """
    with label_refusal_noted(current_actor(), parcel_id):
        job = floor.print_parcel(
            current_actor(), parcel_id, body.printer_id if body else None, stations.bound_station_id()
        )
    return _printed(job, f"Label sent to {job.printer.name}")


@bp.post("/lists/<uuid:list_id>/print")
@requires("lcs.handling.write", "spl.print")
@operation(body=LcsPrint, responses=PRINTED, body_required=False)
def print_list_labels(list_id, body: LcsPrint | None):
    """Print every label of a handling list (Wharf)

    One job with all its parcels' labels, as ``POST /lcs/parcels/{id}/print`` chooses
    the printer; one refused parcel refuses all. 204 + ``x-job-id``.
    """
    job = floor.print_list(current_actor(), list_id, body.printer_id if body else None, stations.bound_station_id())
    return _printed(job, f"Labels sent to {job.printer.name}")


@bp.get("/parcels/<uuid:parcel_id>/label.pdf")
@requires("lcs.handling.read")
@operation(responses=STORED_PDF)
def parcel_label_pdf(parcel_id):
    """The parcel's label

    The PDF (100 × 150 mm) the label task stored; 409 before one was requested.
    """
    parcel = get_parcel(current_actor(), parcel_id)
    att = _stored(parcel.tenant_id, (parcel.label or {}).get("file_id"))
    if att is None:
        raise Conflict(f"Parcel {parcel.number} has no label yet: request one first")
    return _pdf(attachments.open_file(att), att.file_name, att.checksum)


@bp.get("/parcels/<uuid:parcel_id>/slip.pdf")
@requires("lcs.handling.read")
@operation(query=SlipQuery, responses=STORED_PDF)
def parcel_slip_pdf(parcel_id, query: SlipQuery):
    """The parcel's packing slip

    The stored one, else rendered now (also with ``size``, on that paper; ``format=html``).
    """
    parcel = get_parcel(current_actor(), parcel_id)
    att = _stored(parcel.tenant_id, parcel.file_id)
    if att is not None and query.format == "pdf" and query.size is None:
        return _pdf(attachments.open_file(att), att.file_name, att.checksum)
    html = documents.slip_html(parcel, query.size or "a4")
    if query.format == "html":
        return _html(html)
    return _pdf(documents.render_pdf(html), f"packing-slip-{parcel.shipment.number}-{parcel.number}.pdf")


@bp.get("/lists/<uuid:list_id>/picklist.pdf")
@requires("lcs.handling.read")
@operation(query=DocumentQuery, responses=PDF)
def list_picklist_pdf(list_id, query: DocumentQuery):
    """The pick list of a handling list

    A4, in walk order, a barcode per line and the command barcodes (``format=html``).
    """
    hl = get_list(current_actor(), list_id)
    html = documents.picklist_html(hl)
    if query.format == "html":
        return _html(html)
    return _pdf(documents.render_pdf(html), f"picklist-{hl.number}.pdf")


@bp.get("/lists/<uuid:list_id>/labels.pdf")
@requires("lcs.handling.read")
@operation(query=DocumentQuery, responses=PDF)
def list_labels_pdf(list_id, query: DocumentQuery):
    """The labels of a handling list

    The labelled parcels' labels in one PDF, one page each (409 when none is labelled).
    """
    hl = get_list(current_actor(), list_id)
    parcels = [p for p in documents.list_parcels(hl) if p.label]
    if not parcels:
        raise Conflict(f"No parcel of handling list {hl.number} is labelled yet")
    html = documents.labels_html(parcels, f"Labels {hl.number}")
    if query.format == "html":
        return _html(html)
    return _pdf(documents.render_pdf(html), f"labels-{hl.number}.pdf")


@bp.post("/shipments/<uuid:shipment_id>/invoice")
@requires("lcs.shipments.write")
@operation(responses=TASK)
def request_invoice(shipment_id):
    """Invoice shipment

    Manually trigger the commercial invoice (customs): 204 + ``x-task-id``; the task stores
    the PDF with the shipment (its files, ``documents`` partition). 400 when canceled.
    """
    t = documents.request_invoice(current_actor(), shipment_id)
    return _task_response(t, "Invoice requested")


@bp.get("/shipments/<uuid:shipment_id>/invoice.pdf")
@requires("lcs.shipments.read")
@operation(query=DocumentQuery, responses=STORED_PDF)
def shipment_invoice_pdf(shipment_id, query: DocumentQuery):
    """The shipment's commercial invoice

    The latest stored one, else rendered now (``format=html``: the HTML it is made of).
    """
    s = get_shipment(current_actor(), shipment_id)
    att = documents.stored_invoice(s) if query.format == "pdf" else None
    if att is not None:
        return _pdf(attachments.open_file(att), att.file_name, att.checksum)
    html = documents.invoice_html(s)
    if query.format == "html":
        return _html(html)
    return _pdf(documents.render_pdf(html), f"{documents.invoice_number(s)}.pdf")
