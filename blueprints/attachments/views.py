"""Attachment routes (seed 000 ``/attachments``). Each view answers JSON (the seed's
contract), the page, or — for htmx — the block of the page that changed.

HTML flow: the file panel (``attachments/record.html`` block ``panel``) is loaded into
any record page and re-renders itself after an upload (422 with the message when the
upload is refused); deletes remove their own row; every change fires
``attachments-changed`` so usage bars refresh.
"""
from __future__ import annotations

import re

from flask import request, send_file, url_for
from flask_login import current_user

from blueprints.attachments import bp
from blueprints.attachments.forms import MetadataForm, PartitionForm, TransferForm, UploadForm
from models import Attachment
from services import attachments
from services.attachments import FileTooLarge, Upload
from services.errors import BadRequest, Conflict, DomainError, NotFound, ValidationFailed
from services.plans import QuotaExceeded, human_size
from web.access import current_actor, public, requires
from web.forms import field_errors, request_data
from web.htmx import toast, trigger_client_event
from web.negotiate import respond, response_mode
from web.openapi import documented
from web.pagination import paginate_a

RECORD = "attachments/record.html"
LIBRARY = "attachments/library.html"
DETAIL = "attachments/detail.html"
PARTITIONS = "attachments/partitions.html"
CHANGED = "attachments-changed"
PARTITIONS_CHANGED = "partitions-changed"
# Refusals shown next to the form that caused them (HTML); 403s and the rest go to the toast.
FORM_ERRORS = (ValidationFailed, BadRequest, Conflict, NotFound, QuotaExceeded, FileTooLarge)
THUMB = 256  # a step of attachments.SIZE_LADDER (shown at 160 and 48 CSS pixels)
SORT_FIELDS = {"createdAt": Attachment.created_at, "fileName": Attachment.file_name, "fileSize": Attachment.file_size}


# --- shared helpers ----------------------------------------------------------------------------

def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80] or "file"


def _row(att: Attachment) -> dict:
    """The service's fields plus the URLs the file is served at."""
    row = attachments.attachment_row(att)
    row["url"] = url_for("api_attachments.serve_file", attachment_id=att.id)
    row["downloadUrl"] = url_for("api_attachments.serve_file", attachment_id=att.id, download=1)
    row["imageUrl"] = row["thumbnailUrl"] = None
    if row["isImage"]:
        slug = _slug(att.file_name)
        row["imageUrl"] = url_for("api_attachments.serve_image", attachment_id=att.id, slug=slug)
        row["thumbnailUrl"] = url_for("api_attachments.serve_image", attachment_id=att.id, slug=slug,
                                      width=THUMB, height=THUMB, cropType="cover")
    return row


def _paged(stmt, **kwargs) -> dict:
    """Family A paging; newest first unless the caller names a sortField."""
    if not request.args.get("sortField"):
        stmt = stmt.order_by(Attachment.created_at.desc(), Attachment.id.desc())
    body, _ = paginate_a(stmt, serialize=_row, sort_fields=SORT_FIELDS, default_sort="createdAt", **kwargs)
    return body


def _tenant(actor):
    return actor.tenant_for_new(request.args.get("tenantId"))


def _reader():
    """The caller of a public file route: an actor when signed in, else None."""
    return current_actor() if getattr(current_user, "is_authenticated", False) else None


# --- the file panel (list by record, upload, delete) ----------------------------------------------

def _panel_context(actor, entity_id, record_id, body: dict | None = None, **extra) -> dict:
    if body is None:
        body = _paged(attachments.record_select(actor, entity_id, record_id))
    can_manage = actor.grants.allows(["attachments.manage"])
    return {"data": body, "items": body["items"], "entity_id": entity_id, "record_id": record_id,
            "can_manage": can_manage, "partitions": attachments.partitions_of(_tenant(actor)) if can_manage else [],
            "human_size": human_size, "error": None, **extra}


@bp.get("")
@requires("attachments.view")
def list_for_record():
    """List attachments for a record

    Attachments of ``entityId`` + ``recordId``, newest first (``page``, ``pageSize``).
    """
    actor = current_actor()
    entity_id, record_id = request.args.get("entityId"), request.args.get("recordId")
    body = _paged(attachments.record_select(actor, entity_id, record_id))
    return respond(body, template=RECORD, block="panel", context=_panel_context(actor, entity_id, record_id, body))


@bp.post("")
@requires("attachments.manage")
@documented(body=UploadForm, summary="Upload attachment")
def upload():
    """Uploads a file (multipart ``entityId``, ``recordId``, ``file``, optional ``partitionCode``).

    The type is sniffed from the content; 413 when the file is too large or the uploader is
    at their storage quota.
    """
    actor = current_actor()
    form = request.form
    entity_id, record_id = form.get("entityId"), form.get("recordId")
    files = [f for f in request.files.getlist("file") if f and f.filename]
    try:
        if not files:
            raise ValidationFailed("file is required", details=[{"path": ["file"], "message": "is required"}])
        stored = [attachments.store(actor, Upload(f.filename, f.stream), entity_id=entity_id, record_id=record_id,
                                    partition_code=form.get("partitionCode") or None) for f in files]
    except FORM_ERRORS as e:
        if response_mode() == "json":
            raise
        try:
            ctx = _panel_context(actor, entity_id, record_id, error=e.message)
        except DomainError:
            raise e from None
        return respond(None, template=RECORD, block="panel", context=ctx, status=422)
    body = {"ok": True, "item": _row(stored[0])}
    if len(stored) > 1:
        body["items"] = [_row(a) for a in stored]
    resp = respond(body, template=RECORD, block="panel", context=_panel_context(actor, entity_id, record_id))
    names = ", ".join(a.file_name for a in stored)
    return toast(trigger_client_event(resp, CHANGED), f"Uploaded {names}")


def _deleted(att) -> object:
    resp = respond({"ok": True}, template=RECORD, block="nothing")
    return toast(trigger_client_event(resp, CHANGED), f"Deleted {att.file_name}")


@bp.delete("")
@requires("attachments.manage")
def delete():
    """Removes an attachment (``?id=``) and deletes the stored file."""
    attachment_id = request.args.get("id")
    if not attachment_id:
        raise ValidationFailed("id is required", details=[{"path": ["id"], "message": "is required"}])
    return _deleted(attachments.delete_attachment(current_actor(), attachment_id))


@bp.post("/transfer")
@requires("attachments.manage")
@documented(body=TransferForm, summary="Transfer attachments to different record")
def transfer():
    """Moves attachments to another record of the same entity type → ``{ok, updated}``."""
    updated = attachments.transfer(current_actor(), request_data())
    return toast(trigger_client_event(respond({"ok": True, "updated": updated}), CHANGED),
                 f"Moved {updated} file(s)")


# --- library ---------------------------------------------------------------------------------------

def _library_body(actor) -> dict:
    args = request.args
    tags = attachments.clean_tags(args.get("tags"))
    stmt = attachments.library_select(actor, partition=args.get("partition") or None, tags=tags)
    body = _paged(stmt, search_columns=[Attachment.file_name])
    body["availableTags"] = attachments.available_tags(actor)
    body["partitions"] = [{"code": p.code, "title": p.title, "description": p.description, "isPublic": p.is_public}
                          for p in attachments.partitions_of(_tenant(actor))]
    return body


def _library_context(actor, body: dict) -> dict:
    args = request.args
    query = {k: v for k, v in args.items() if k != "page" and v}
    return {"data": body, "can_manage": actor.grants.allows(["attachments.manage"]), "human_size": human_size,
            "filters": {"search": args.get("search", ""), "partition": args.get("partition", ""),
                        "tags": args.get("tags", "")}, "query": query}


@bp.get("/library")
@requires("attachments.view")
def library():
    """List attachments

    Paged library with ``search`` (file name), ``partition`` (code) and ``tags``
    (comma-separated; all must match), plus ``availableTags`` and ``partitions``.
    """
    actor = current_actor()
    body = _library_body(actor)
    block = "results" if request.headers.get("HX-Target") == "library-results" else "content"
    return respond(body, template=LIBRARY, block=block, context=_library_context(actor, body))


@bp.get("/library/<attachment_id>")
@requires("attachments.view")
def library_item(attachment_id):
    """Attachment details: metadata, tags, assignments."""
    actor = current_actor()
    item = {**_row(attachments.get_attachment(actor, attachment_id)), "customFields": None}
    return respond({"item": item}, template=DETAIL,
                   context={"item": item, "a": item, "can_manage": actor.grants.allows(["attachments.manage"]),
                            "human_size": human_size})


@bp.patch("/library/<attachment_id>")
@requires("attachments.manage")
@documented(body=MetadataForm, summary="Update attachment metadata")
def update_library_item(attachment_id):
    """Replaces the attachment's ``tags`` and/or renames it (``fileName``, sanitised like an
    upload's name: no path, control or bidi/zero-width format characters)."""
    actor = current_actor()
    try:
        att = attachments.update_attachment(actor, attachment_id, request_data())
    except ValidationFailed as e:
        if response_mode() == "json":
            raise
        a = _row(attachments.get_attachment(actor, attachment_id))
        return respond(None, template=LIBRARY, block="tags_form", status=422,
                       context={"a": a, "can_manage": True, "tags_error": e.message})
    return toast(respond({"ok": True}, template=LIBRARY, block="tags_form",
                         context={"a": _row(att), "can_manage": True, "tags_saved": True}), "Tags saved")


@bp.delete("/library/<attachment_id>")
@requires("attachments.manage")
def delete_library_item(attachment_id):
    """Permanently deletes an attachment and its stored file."""
    return _deleted(attachments.delete_attachment(current_actor(), attachment_id))


# --- partitions ------------------------------------------------------------------------------------

def _partition_rows(tenant) -> list[dict]:
    return [{**attachments.partition_row(p), "attachmentsCount": attachments.attachments_in(p)}
            for p in attachments.partitions_of(tenant)]


def _partition_context(actor, **extra) -> dict:
    return {"rows": _partition_rows(_tenant(actor)), "values": {}, "errors": {}, "error": None, **extra}


def _partition_failure(e, block: str, context: dict):
    if response_mode() == "json":
        raise e
    return respond(None, template=PARTITIONS, block=block, status=422,
                   context={**context, "error": e.message, "errors": field_errors(e.details)})


@bp.get("/partitions")
@requires("attachments.manage")
def partitions():
    """List all attachment partitions (the defaults are created on first use)."""
    actor = current_actor()
    rows = _partition_rows(_tenant(actor))
    body = {"items": [{k: v for k, v in r.items() if k != "attachmentsCount"} for r in rows]}
    return respond(body, template=PARTITIONS, block="partition_list", context=_partition_context(actor, rows=rows))


@bp.post("/partitions")
@requires("attachments.manage")
@documented(body=PartitionForm, summary="Create new partition")
def create_partition():
    """Creates a partition; ``code`` must be unique (409) and never changes."""
    actor = current_actor()
    data = request_data()
    try:
        p = attachments.create_partition(actor, data, tenant_id=data.get("tenantId"))
    except FORM_ERRORS as e:
        return _partition_failure(e, "partition_create_form", _partition_context(actor, values=data))
    resp = respond({"item": attachments.partition_row(p)}, status=201, template=PARTITIONS,
                   block="partition_create_form", context=_partition_context(actor, created=p))
    return toast(trigger_client_event(resp, PARTITIONS_CHANGED), f"Partition {p.code} created")


@bp.put("/partitions")
@requires("attachments.manage")
@documented(body=PartitionForm, summary="Update partition")
def update_partition():
    """Updates title, description, OCR settings, driver config or visibility (not the code: 400)."""
    actor = current_actor()
    data = request_data()
    try:
        p = attachments.update_partition(actor, data)
    except FORM_ERRORS as e:
        if response_mode() == "json":
            raise
        try:
            current = attachments.get_partition(actor, data.get("id"))
        except NotFound:
            raise e from None
        row = {**attachments.partition_row(current), "attachmentsCount": attachments.attachments_in(current)}
        return _partition_failure(e, "partition_edit", _partition_context(actor, p=row, edit_values=data))
    row = {**attachments.partition_row(p), "attachmentsCount": attachments.attachments_in(p)}
    resp = respond({"item": attachments.partition_row(p)}, template=PARTITIONS, block="partition_edit",
                   context=_partition_context(actor, p=row, saved=True))
    return toast(resp, f"Partition {p.code} saved")


@bp.delete("/partitions")
@requires("attachments.manage")
def delete_partition():
    """Deletes a partition (``?id=`` or a JSON body): not a default one (400), not one holding files (409)."""
    actor = current_actor()
    partition_id = request.args.get("id") or request_data().get("id")
    if not partition_id:
        raise ValidationFailed("id is required", details=[{"path": ["id"], "message": "is required"}])
    attachments.delete_partition(actor, partition_id)
    resp = respond({"ok": True}, template=PARTITIONS, block="partition_list", context=_partition_context(actor))
    return toast(resp, "Partition deleted")


# --- serving files -------------------------------------------------------------------------------

def _harden(resp, att, inline: bool):
    """Headers every served file carries: no sniffing, no script, private files stay private."""
    resp.headers["X-Content-Type-Options"] = "nosniff"
    csp = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'"
    if not (inline and att.mime_type == "application/pdf"):  # Chromium refuses to show PDFs in a sandbox
        csp += "; sandbox"
    resp.headers["Content-Security-Policy"] = csp
    if att.partition.is_public:
        resp.cache_control.public = True
        resp.cache_control.max_age = 86400
    else:
        resp.cache_control.public = False
        resp.cache_control.private = True
        resp.cache_control.max_age = 300
        resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        resp.vary.add("Cookie")
        resp.vary.add("Authorization")
    return resp


@bp.get("/file/<attachment_id>")
@public
def serve_file(attachment_id):
    """Download or serve attachment file

    The raw file (``?download=1`` → ``Content-Disposition: attachment``). Private
    partitions: 401 when anonymous, 404 outside the caller's tenant, 403 without
    ``attachments.view``. Markup (HTML, SVG) from a private partition is never inline.
    """
    att = attachments.readable(attachment_id, _reader())
    download = request.args.get("download") in ("1", "true")
    mime, inline = attachments.disposition(att, download)
    resp = send_file(attachments.open_file(att), mimetype=mime, as_attachment=not inline,
                     download_name=att.file_name, etag=att.checksum, conditional=True)
    return _harden(resp, att, inline)


@bp.get("/image/<attachment_id>", defaults={"slug": None})
@bp.get("/image/<attachment_id>/<slug>")
@public
def serve_image(attachment_id, slug):
    """Serve image with optional resizing

    ``width``/``height`` 1–4000 and ``cropType`` ``cover`` or ``contain`` (default). Sizes
    snap up to the next of 64, 128, 256, 512, 1024, 2048 pixels (above 2048: 2048; never
    larger than the original), so ``width=300`` and ``width=500`` are the same 512-pixel
    image; ``cover`` applies when both sides are given. Resized copies are cached within a
    byte budget. Anonymous callers may have a few new (uncached) sizes drawn per minute and
    IP (30 by default), then 429 with ``Retry-After``. 400 for attachments that are not
    raster images.
    """
    reader = _reader()
    att = attachments.readable(attachment_id, reader)
    t = attachments.image_params(request.args)
    stream, mime = attachments.image_variant(att, t, throttle_ip=None if reader else request.remote_addr or "unknown")
    resp = send_file(stream, mimetype=mime, download_name=att.file_name, conditional=True,
                     etag=f"{att.checksum[:32]}-{t.key}")
    return _harden(resp, att, True)
