"""Printing (spec/documents.md): label and slip requests (async, 204 + ``x-task-id``), the
batch labels of a handling list, and direct PDF downloads for people.

htmx callers (the pack station, the shipment and list pages) get the task's progress bar
fragment instead of the 204, so the page shows "progress → Open PDF" in place.
"""
from __future__ import annotations

import io

from flask import make_response, redirect, request, send_file, url_for

from blueprints.lcs import bp
from services import attachments, documents, tasks
from services.errors import Conflict
from services.logistics.lists import get_list
from services.logistics.parcels import get_parcel
from web.access import current_actor, requires
from web.forms import request_data
from web.htmx import htmx_details, toast
from web.negotiate import respond, response_mode

TASK_TEMPLATE = "tasks/task.html"


def _task_response(t, message: str):
    """204 + ``x-task-id`` for API clients; the progress fragment for htmx; else the task page."""
    headers = {"x-task-id": str(t.id)}
    mode = response_mode()
    if mode == "json":
        return respond(None, status=204, headers=headers)
    if mode == "page" and not htmx_details().is_htmx:
        return redirect(url_for("mes.task", task_id=t.id), code=303)
    view = {**tasks.task_row(t), "ended": t.status in tasks.ENDED, "file_url": None}
    if t.status == "done" and documents.stored_pdf(t.tenant_id, t.result):
        view["file_url"] = url_for("mes.task_file", task_id=t.id)
    resp = respond(None, template=TASK_TEMPLATE, block="task_progress", context={"t": view}, headers=headers)
    return toast(resp, message, "success" if t.status != "failed" else "error")


def _pdf(body: bytes | io.IOBase, filename: str, etag: str | None = None):
    stream = io.BytesIO(body) if isinstance(body, bytes) else body
    resp = send_file(stream, mimetype="application/pdf", download_name=filename, as_attachment=False,
                     etag=etag or False, conditional=bool(etag))
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.cache_control.private = True
    resp.cache_control.no_cache = True
    return resp


def _stored(tenant_id, file_id):
    return documents.stored_pdf(tenant_id, file_id) if file_id else None


def _html_debug():
    """``?format=html``: the document's HTML instead of the PDF (what tests and template
    authors look at; the same data the PDF shows)."""
    return (request.args.get("format") or "").lower() == "html"


def _html(body: str):
    resp = make_response(body)
    resp.mimetype = "text/html"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return resp


@bp.post("/parcels/<uuid:parcel_id>/label")
@requires("lcs.handling.write")
def request_label(parcel_id):
    """Requests the parcel's label (204 + ``x-task-id``); 422 when over the method's ``max_weight``,
    without weight or units, or blocked by a rule. The task fills ``label`` with the PDF."""
    t = documents.request_label(current_actor(), parcel_id)
    return _task_response(t, "Label requested")


@bp.post("/parcels/<uuid:parcel_id>/slip")
@requires("lcs.handling.write")
def request_slip(parcel_id):
    """Requests the parcel's packing slip (204 + ``x-task-id``; ``size`` a4 or a5); fills ``file_id``."""
    data = request_data() if (request.is_json or request.form) else {}
    t = documents.request_slip(current_actor(), parcel_id, (data.get("size") or "a4").lower())
    return _task_response(t, "Packing slip requested")


@bp.post("/lists/<uuid:list_id>/labels")
@requires("lcs.handling.write")
def request_list_labels(list_id):
    """Labels every parcel of the list's shipments in one batch PDF (204 + ``x-task-id``;
    progress per label). Each parcel is checked first: one refused parcel refuses the batch."""
    t = documents.request_list_labels(current_actor(), list_id)
    return _task_response(t, "Labels requested")


@bp.get("/parcels/<uuid:parcel_id>/label.pdf")
@requires("lcs.handling.read")
def parcel_label_pdf(parcel_id):
    """The parcel's label PDF (100 × 150 mm) as stored by the label task; 409 before one was requested."""
    parcel = get_parcel(current_actor(), parcel_id)
    att = _stored(parcel.tenant_id, (parcel.label or {}).get("file_id"))
    if att is None:
        raise Conflict(f"Parcel {parcel.number} has no label yet: request one first")
    return _pdf(attachments.open_file(att), att.file_name, att.checksum)


@bp.get("/parcels/<uuid:parcel_id>/slip.pdf")
@requires("lcs.handling.read")
def parcel_slip_pdf(parcel_id):
    """The parcel's packing slip: the stored one, else rendered now (``size=a5``; ``format=html``)."""
    parcel = get_parcel(current_actor(), parcel_id)
    size = (request.args.get("size") or "a4").lower()
    att = _stored(parcel.tenant_id, parcel.file_id)
    if att is not None and not _html_debug() and "size" not in request.args:
        return _pdf(attachments.open_file(att), att.file_name, att.checksum)
    html = documents.slip_html(parcel, size if size in documents.SLIP_SIZES else "a4")
    if _html_debug():
        return _html(html)
    return _pdf(documents.render_pdf(html), f"packing-slip-{parcel.shipment.number}-{parcel.number}.pdf")


@bp.get("/lists/<uuid:list_id>/picklist.pdf")
@requires("lcs.handling.read")
def list_picklist_pdf(list_id):
    """The pick list (A4, walk order, a barcode per line, command barcodes); ``format=html``."""
    hl = get_list(current_actor(), list_id)
    html = documents.picklist_html(hl)
    if _html_debug():
        return _html(html)
    return _pdf(documents.render_pdf(html), f"picklist-{hl.number}.pdf")


@bp.get("/lists/<uuid:list_id>/labels.pdf")
@requires("lcs.handling.read")
def list_labels_pdf(list_id):
    """The labels of the list's labelled parcels in one PDF, one page each (409 when none is labelled)."""
    hl = get_list(current_actor(), list_id)
    parcels = [p for p in documents.list_parcels(hl) if p.label]
    if not parcels:
        raise Conflict(f"No parcel of handling list {hl.number} is labelled yet")
    html = documents.labels_html(parcels, f"Labels {hl.number}")
    if _html_debug():
        return _html(html)
    return _pdf(documents.render_pdf(html), f"labels-{hl.number}.pdf")
