"""Attachment routes (seed 000 ``/attachments``). Each view answers JSON (the seed's
contract), the page, or — for htmx — the block of the page that changed.

HTML flow: the file panel (``attachments/record.html`` block ``panel``) is loaded into
any record page and re-renders itself after an upload (422 with the message when the
upload is refused); deletes remove their own row; every change fires
``attachments-changed`` so usage bars refresh. A change asked for as a whole page (no
htmx) is answered with a redirect to the page that shows it.
"""

from __future__ import annotations

import re

from flask import redirect, request, send_file, url_for
from flask_login import current_user

from blueprints.attachments import PARTITION_FEATURES, bp
from models import Attachment
from schemas.attachments import (
    AttachmentDetailResponse,
    AttachmentFileQuery,
    AttachmentIdQuery,
    AttachmentImageQuery,
    AttachmentItem,
    AttachmentLibrary,
    AttachmentLibraryQuery,
    AttachmentMetadataUpdate,
    AttachmentMetadataUpdated,
    AttachmentOk,
    AttachmentPartitionCreate,
    AttachmentPartitionList,
    AttachmentPartitionListQuery,
    AttachmentPartitionResponse,
    AttachmentPartitionUpdate,
    AttachmentRecordQuery,
    AttachmentTransfer,
    AttachmentTransferred,
    AttachmentUpload,
    AttachmentUploaded,
)
from schemas.base import Binary, Page, PageQuery
from services import attachments
from services.attachments import Upload
from services.errors import NotFound
from services.plans import human_size
from web.access import current_actor, public, requires
from web.contract import Response, operation, submitted
from web.forms import form_message, show_again
from web.negotiate import empty, respond, response_mode, see_other
from web.pagination import paginate_a
from web.records import record_links

RECORD = "attachments/record.html"
LIBRARY = "attachments/library.html"
DETAIL = "attachments/detail.html"
PARTITIONS = "attachments/partitions.html"
CHANGED = "attachments-changed"
PARTITIONS_CHANGED = "partitions-changed"
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
        row["thumbnailUrl"] = url_for(
            "api_attachments.serve_image", attachment_id=att.id, slug=slug, width=THUMB, height=THUMB, cropType="cover"
        )
    return row


def _paged(stmt, query: PageQuery, **kwargs) -> dict:
    """Family A paging; newest first unless the caller names a sortField."""
    if not query.sortField:
        stmt = stmt.order_by(Attachment.created_at.desc(), Attachment.id.desc())
    body, _ = paginate_a(stmt, serialize=_row, sort_fields=SORT_FIELDS, default_sort="createdAt", query=query, **kwargs)
    return body


def _own_tenant(actor):
    return actor.tenant_for_new(None)


def _reader():
    """The caller of a public file route: an actor when signed in, else None."""
    return current_actor() if getattr(current_user, "is_authenticated", False) else None


# --- the file panel (list by record, upload, delete) ----------------------------------------------


def _panel_context(actor, entity_id, record_id, body: dict | None = None, **extra) -> dict:
    if body is None:
        body = _paged(attachments.record_select(actor, entity_id, record_id), PageQuery())
    can_manage = actor.grants.allows(["attachments.manage"])
    return {
        "data": body,
        "items": body["items"],
        "entity_id": entity_id,
        "record_id": record_id,
        "can_manage": can_manage,
        "partitions": attachments.partitions_of(_own_tenant(actor), actor) if can_manage else [],
        "human_size": human_size,
        "error": None,
        **extra,
    }


def _record_page(entity_id: str, record_id: str):
    return see_other(url_for("attachments.list_for_record", entityId=entity_id, recordId=record_id))


@bp.get("")
@requires("attachments.view")
@operation(query=AttachmentRecordQuery, responses={200: Page[AttachmentItem]}, summary="List attachments for a record")
def list_for_record(query: AttachmentRecordQuery):
    """List attachments for a record

    Attachments of ``entityId`` + ``recordId``, newest first (``page``, ``pageSize``).
    """
    actor = current_actor()
    body = _paged(attachments.record_select(actor, query.entityId, query.recordId), query)
    context = _panel_context(actor, query.entityId, query.recordId, body)
    if response_mode() == "page":  # the heading names the record as people know it
        context["record"] = record_links(actor, [(query.entityId, query.recordId)]).get(
            (query.entityId, query.recordId)
        )
    return respond(body, template=RECORD, block="panel", context=context)


# The panel again, with the reason the upload was refused (too large, over quota, a type
# not allowed…); a failure of Wharf itself goes to the error page.
_upload_form_error = show_again(
    RECORD,
    "panel",
    message=form_message,
    statuses=(400, 403, 404, 409, 413, 415, 422),
    context=lambda: _panel_context(current_actor(), submitted().get("entityId"), submitted().get("recordId")),
)


@bp.post("")
@requires("attachments.manage")
@operation(
    body=AttachmentUpload,
    multipart=True,
    forms=False,
    json=False,
    responses={200: AttachmentUploaded},
    summary="Upload attachment",
    form_error=_upload_form_error,
)
def upload(body: AttachmentUpload):
    """Uploads a file (multipart ``entityId``, ``recordId``, ``file``, optional ``partitionCode``).

    The type is sniffed from the content; 413 when the file is too large or the uploader is
    at their storage quota. A browser's file picker may send several ``file`` parts: each
    is stored, and ``items`` lists them all.
    """
    actor = current_actor()
    stored = [
        attachments.store(
            actor,
            Upload(f.filename, f.stream),
            entity_id=body.entityId,
            record_id=body.recordId,
            partition_code=body.partitionCode,
        )
        for f in body.file
    ]
    answer = {"ok": True, "item": _row(stored[0])}
    if len(stored) > 1:
        answer["items"] = [_row(a) for a in stored]
    if response_mode() == "page":
        return _record_page(body.entityId, body.recordId)
    return respond(
        answer,
        template=RECORD,
        block="panel",
        context=_panel_context(actor, body.entityId, body.recordId),
        toast=f"Uploaded {', '.join(a.file_name for a in stored)}",
        trigger=CHANGED,
    )


def _deleted(att: Attachment, page_url: str):
    return empty({"ok": True}, page=page_url, toast=f"Deleted {att.file_name}", trigger=CHANGED)


@bp.delete("")
@requires("attachments.manage")
@operation(query=AttachmentIdQuery, responses={200: AttachmentOk}, summary="Delete attachment")
def delete(query: AttachmentIdQuery):
    """Removes an attachment (``?id=``) and deletes the stored file."""
    att = attachments.delete_attachment(current_actor(), query.id)
    return _deleted(att, url_for("attachments.list_for_record", entityId=att.entity_id, recordId=att.record_id))


@bp.post("/transfer")
@requires("attachments.manage")
@operation(
    body=AttachmentTransfer, responses={200: AttachmentTransferred}, summary="Transfer attachments to different record"
)
def transfer(body: AttachmentTransfer):
    """Moves attachments to another record of the same entity type → ``{ok, updated}``."""
    updated = attachments.transfer(current_actor(), body)
    if response_mode() == "page":
        return _record_page(body.entityId, body.toRecordId)
    return respond({"ok": True, "updated": updated}, toast=f"Moved {updated} file(s)", trigger=CHANGED)


# --- library ---------------------------------------------------------------------------------------


def _library_body(actor, query: AttachmentLibraryQuery) -> dict:
    stmt = attachments.library_select(actor, partition=query.partition or None, tags=query.tags)
    body = _paged(stmt, query, search_columns=[Attachment.file_name])
    body["availableTags"] = attachments.available_tags(actor)
    body["partitions"] = [
        {"code": p.code, "title": p.title, "description": p.description, "isPublic": p.is_public}
        for p in attachments.partitions_of(_own_tenant(actor), actor)
    ]
    return body


def _library_context(actor, body: dict, query: AttachmentLibraryQuery) -> dict:
    pager = {k: v for k, v in query.model_dump(exclude_unset=True, exclude={"page"}).items() if v not in ("", [], None)}
    return {
        "data": body,
        "records": record_links(actor, [(a["entityId"], a["recordId"]) for a in body["items"]]),
        "can_manage": actor.grants.allows(["attachments.manage"]),
        "human_size": human_size,
        "filters": {"search": query.search, "partition": query.partition, "tags": ", ".join(query.tags)},
        "query": pager,
    }


@bp.get("/library")
@requires("attachments.view")
@operation(query=AttachmentLibraryQuery, responses={200: AttachmentLibrary}, summary="List attachments")
def library(query: AttachmentLibraryQuery):
    """List attachments

    Paged library with ``search`` (file name), ``partition`` (code) and ``tags``
    (comma-separated; all must match), plus ``availableTags`` and ``partitions``.
    """
    actor = current_actor()
    body = _library_body(actor, query)
    return respond(
        body, template=LIBRARY, context=_library_context(actor, body, query), targets={"library-results": "results"}
    )


@bp.get("/library/<uuid:attachment_id>")
@requires("attachments.view")
@operation(responses={200: AttachmentDetailResponse}, summary="Get attachment details")
def library_item(attachment_id):
    """Attachment details: metadata, tags, assignments."""
    actor = current_actor()
    item = {**_row(attachments.get_attachment(actor, attachment_id)), "customFields": None}
    return respond(
        {"item": item},
        template=DETAIL,
        context={
            "item": item,
            "a": item,
            "record": record_links(actor, [(item["entityId"], item["recordId"])]).get(
                (item["entityId"], item["recordId"])
            ),
            "can_manage": actor.grants.allows(["attachments.manage"]),
            "human_size": human_size,
        },
    )


def _tags_form_error(error, form: dict):
    """The tags form again (the detail page, for a whole-page post), with the reason and
    what the person typed."""
    item = _row(attachments.get_attachment(current_actor(), request.view_args["attachment_id"]))
    typed = {**item, "tags": [form["tags"]] if "tags" in form else item["tags"]}
    ctx = {"a": typed, "item": item, "can_manage": True, "tags_error": form_message(error), "human_size": human_size}
    if response_mode() == "page":
        return respond(None, template=DETAIL, context=ctx, status=422)
    return respond(None, template=LIBRARY, block="tags_form", status=422, context=ctx)


@bp.patch("/library/<uuid:attachment_id>")
@requires("attachments.manage")
@operation(
    body=AttachmentMetadataUpdate,
    responses={200: AttachmentMetadataUpdated},
    summary="Update attachment metadata",
    form_error=_tags_form_error,
)
def update_library_item(attachment_id, body: AttachmentMetadataUpdate):
    """Replaces the attachment's ``tags``, moves it to the record of ``assignments`` (one:
    Wharf files an attachment under one record) and/or renames it (``fileName``,
    sanitised like an upload's name: no path, control or bidi/zero-width format
    characters)."""
    att = attachments.update_attachment(current_actor(), attachment_id, body)
    row = _row(att)
    item = {"id": att.id, "tags": row["tags"], "assignments": row["assignments"], "customFields": None}
    if response_mode() == "page":
        return see_other(url_for("attachments.library_item", attachment_id=att.id), {"ok": True, "item": item})
    return respond(
        {"ok": True, "item": item},
        template=LIBRARY,
        block="tags_form",
        context={"a": row, "can_manage": True, "tags_saved": True},
        toast="Tags saved",
    )


@bp.delete("/library/<uuid:attachment_id>")
@requires("attachments.manage")
@operation(responses={200: AttachmentOk}, summary="Delete attachment")
def delete_library_item(attachment_id):
    """Permanently deletes an attachment and its stored file."""
    return _deleted(attachments.delete_attachment(current_actor(), attachment_id), url_for("attachments.library"))


# --- partitions ------------------------------------------------------------------------------------


def _partition_rows(tenant, actor) -> list[dict]:
    return [
        {**attachments.partition_row(p), "attachmentsCount": attachments.attachments_in(p)}
        for p in attachments.partitions_of(tenant, actor)
    ]


def _partition_context(actor, tenant=None, **extra) -> dict:
    return {"rows": _partition_rows(tenant or _own_tenant(actor), actor), "errors": {}, "error": None, **extra}


def _edited_partition() -> dict | None:
    """The partition whose edit form was refused (its id is in the form); None: no such partition."""
    actor = current_actor()
    try:
        current = attachments.get_partition(actor, submitted().get("id"))
    except NotFound:
        return None
    return _partition_context(
        actor, p={**attachments.partition_row(current), "attachmentsCount": attachments.attachments_in(current)}
    )


PARTITION_FORM_STATUSES = (400, 403, 404, 409, 422)
_create_form_error = show_again(
    PARTITIONS,
    "partition_create_form",
    message=form_message,
    statuses=PARTITION_FORM_STATUSES,
    context=lambda: _partition_context(current_actor()),
)
_edit_form_error = show_again(
    PARTITIONS, "partition_edit", message=form_message, statuses=PARTITION_FORM_STATUSES, context=_edited_partition
)


@bp.get("/partitions")
@requires(*PARTITION_FEATURES)
@operation(
    query=AttachmentPartitionListQuery,
    responses={200: AttachmentPartitionList},
    summary="List all attachment partitions",
)
def partitions(query: AttachmentPartitionListQuery):
    """List all attachment partitions (the defaults are created on first use)."""
    actor = current_actor()
    rows = _partition_rows(actor.tenant_for_new(query.tenantId), actor)
    body = {"items": [{k: v for k, v in r.items() if k != "attachmentsCount"} for r in rows]}
    return respond(body, template=PARTITIONS, block="partition_list", context=_partition_context(actor, rows=rows))


@bp.post("/partitions")
@requires(*PARTITION_FEATURES)
@operation(
    body=AttachmentPartitionCreate,
    responses={201: AttachmentPartitionResponse},
    summary="Create new partition",
    form_error=_create_form_error,
)
def create_partition(body: AttachmentPartitionCreate):
    """Creates a partition; ``code`` must be unique (409) and never changes."""
    actor = current_actor()
    p = attachments.create_partition(actor, body)
    return respond(
        {"item": attachments.partition_row(p)},
        status=201,
        template=PARTITIONS,
        block="partition_create_form",
        context=lambda: _partition_context(actor, created=p),
        toast=f"Partition {p.code} created",
        trigger=PARTITIONS_CHANGED,
    )


@bp.put("/partitions")
@requires(*PARTITION_FEATURES)
@operation(
    body=AttachmentPartitionUpdate,
    responses={200: AttachmentPartitionResponse},
    summary="Update partition",
    form_error=_edit_form_error,
)
def update_partition(body: AttachmentPartitionUpdate):
    """Updates title, description, OCR settings, driver config or visibility (not the code: 400)."""
    actor = current_actor()
    p = attachments.update_partition(actor, body)
    row = {**attachments.partition_row(p), "attachmentsCount": attachments.attachments_in(p)}
    return respond(
        {"item": attachments.partition_row(p)},
        template=PARTITIONS,
        block="partition_edit",
        context=lambda: _partition_context(actor, p=row, saved=True),
        toast=f"Partition {p.code} saved",
    )


@bp.delete("/partitions")
@requires(*PARTITION_FEATURES)
@operation(query=AttachmentIdQuery, responses={200: AttachmentOk}, summary="Delete partition")
def delete_partition(query: AttachmentIdQuery):
    """Deletes a partition (``?id=``): not a default one (400), not one holding files (409)."""
    actor = current_actor()
    attachments.delete_partition(actor, query.id)
    return respond(
        {"ok": True},
        template=PARTITIONS,
        block="partition_list",
        context=lambda: _partition_context(actor),
        toast="Partition deleted",
    )


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


@bp.get("/file/<uuid:attachment_id>")
@public
@operation(
    query=AttachmentFileQuery,
    responses={
        200: Response(Binary, "The file", media_type="*/*"),
        302: Response(None, "A short-lived signed URL of the file's S3 bucket", headers={"Location": "The URL"}),
    },
    summary="Download or serve attachment file",
)
def serve_file(attachment_id, query: AttachmentFileQuery):
    """Download or serve attachment file

    The raw file (``?download=1`` → ``Content-Disposition: attachment``). Private
    partitions: 401 when anonymous, 404 outside the caller's tenant, 403 without
    ``attachments.view``. Markup (HTML, SVG) from a private partition is never inline.
    An S3 partition with ``signedDownloads`` answers, after the same checks, 302 to a
    short-lived signed URL of its bucket (same Content-Type and Content-Disposition).
    """
    att = attachments.readable(attachment_id, _reader())
    signed = attachments.signed_download(att, query.download)
    if signed:
        resp = redirect(signed, 302)
        resp.cache_control.no_store = True
        resp.cache_control.private = True
        return resp
    mime, inline = attachments.disposition(att, query.download)
    resp = send_file(
        attachments.open_file(att),
        mimetype=mime,
        as_attachment=not inline,
        download_name=att.file_name,
        etag=att.checksum,
        conditional=True,
    )
    return _harden(resp, att, inline)


@bp.get("/image/<uuid:attachment_id>", defaults={"slug": None})
@bp.get("/image/<uuid:attachment_id>/<slug>")
@public
@operation(
    query=AttachmentImageQuery,
    responses={200: Response(Binary, "The image", media_type="image/*")},
    summary="Serve image with optional resizing",
)
def serve_image(attachment_id, slug, query: AttachmentImageQuery):
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
    t = attachments.transform(query.width, query.height, query.cropType)
    stream, mime = attachments.image_variant(att, t, throttle_ip=None if reader else request.remote_addr or "unknown")
    resp = send_file(
        stream, mimetype=mime, download_name=att.file_name, conditional=True, etag=f"{att.checksum[:32]}-{t.key}"
    )
    return _harden(resp, att, True)
