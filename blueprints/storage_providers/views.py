"""S3 storage provider routes (seed 000 ``/storage-providers/s3/*``). JSON for API clients; for
people the list is a page (``storage_providers/s3.html``) with an upload form, a download link,
a "Signed link" button and a delete button per object — all htmx, no reload.

HTML flow: an upload re-renders the object list (its form again with the reason when refused);
a delete removes its row; "Signed link" shows the URL and its expiry in the row.
"""

from __future__ import annotations

from flask import send_file, url_for

from blueprints.storage_providers import bp
from schemas.base import Binary
from schemas.storage_providers import (
    S3DeleteQuery,
    S3KeyBody,
    S3KeyQuery,
    S3ListQuery,
    S3ObjectList,
    S3SignedUrl,
    S3SignedUrlRequest,
    S3Upload,
    S3Uploaded,
)
from services import s3_objects
from services.attachments import Upload
from services.errors import ValidationFailed
from services.plans import human_size
from web.access import current_actor, requires
from web.contract import Response, operation
from web.forms import form_message, show_again
from web.negotiate import empty, respond, response_mode, see_other

PAGE = "storage_providers/s3.html"
CHANGED = "s3-objects-changed"


def _list_body(actor, query: S3ListQuery) -> dict:
    objects, token = s3_objects.list_objects(actor, query.prefix, query.maxKeys, query.continuationToken)
    return {
        "files": [{"key": o.key, "size": o.size, "lastModified": o.last_modified, "etag": o.etag} for o in objects],
        "truncated": token is not None,
        "nextContinuationToken": token,
    }


def _context(actor, body: dict | None = None, query: S3ListQuery | None = None, **extra) -> dict:
    query = query or S3ListQuery()
    configured = s3_objects.configured()
    if body is None and configured:
        body = _list_body(actor, query)
    return {
        "data": body or {"files": [], "truncated": False, "nextContinuationToken": None},
        "configured": configured,
        "prefix": query.prefix,
        "can_manage": actor.grants.allows(["storage_providers.manage"]),
        "human_size": human_size,
        "error": None,
        "errors": {},
        **extra,
    }


@bp.get("/s3/list")
@requires("storage_providers.view")
@operation(query=S3ListQuery, responses={200: S3ObjectList}, summary="List S3 objects")
def list_objects(query: S3ListQuery):
    """List S3 objects

    Objects of the caller's tenant whose key starts with ``prefix``, ``maxKeys`` (1–1000) a
    page; ``nextContinuationToken`` fetches the next. 400 while no S3 storage is configured.
    """
    actor = current_actor()
    if response_mode() != "json" and not s3_objects.configured():  # the page says how to configure it
        return respond(None, template=PAGE, context=_context(actor, query=query))
    body = _list_body(actor, query)
    return respond(body, template=PAGE, context=_context(actor, body, query), targets={"s3-objects": "objects"})


_upload_form_error = show_again(
    PAGE,
    "upload_form",
    message=form_message,
    statuses=(400, 403, 409, 413, 415, 422),
    context=lambda: _context(current_actor()),
)


@bp.post("/s3/upload")
@requires("storage_providers.manage")
@operation(
    body=S3Upload,
    multipart=True,
    forms=False,
    json=False,
    responses={201: S3Uploaded},
    summary="Upload file to S3",
    form_error=_upload_form_error,
)
def upload(body: S3Upload):
    """Upload file to S3

    Multipart ``file`` and optional ``key`` (default ``uploads/<random>/<file name>``). The
    attachment rules apply: 413 beyond the size limit or at the uploader's quota, 415 for
    executables (by extension or content), 409 when the key is taken.
    """
    actor = current_actor()
    stored = s3_objects.put_object(actor, Upload(body.file.filename, body.file.stream), body.key)
    answer = {
        "key": stored.key,
        "bucket": s3_objects.bucket(),
        "url": url_for("api_storage_providers.download", key=stored.key),
        "size": stored.size,
        "contentType": stored.content_type,
        "checksum": stored.checksum,
    }
    if response_mode() == "page":
        return see_other(url_for("storage_providers.list_objects"), answer, status=201)
    return respond(
        answer,
        status=201,
        template=PAGE,
        block="upload_form",
        context=lambda: _context(actor, uploaded=stored),
        toast=f"Uploaded {stored.key}",
        trigger=CHANGED,
    )


@bp.get("/s3/download")
@requires("storage_providers.view")
@operation(
    query=S3KeyQuery,
    responses={200: Response(Binary, "The object, as a download", media_type="*/*")},
    summary="Download file from S3",
)
def download(query: S3KeyQuery):
    """Download file from S3

    Streams the object ``key`` through Wharf (never held whole in memory), always as a
    download (``Content-Disposition: attachment``; markup as ``application/octet-stream``).
    """
    got = s3_objects.fetch(current_actor(), query.key)
    resp = send_file(got.body, mimetype=got.content_type, as_attachment=True, download_name=got.file_name)
    if got.size:
        resp.headers["Content-Length"] = str(got.size)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.cache_control.private = True
    resp.cache_control.no_store = True
    return resp


@bp.post("/s3/signed-url")
@requires("storage_providers.view")
@operation(body=S3SignedUrlRequest, responses={201: S3SignedUrl}, summary="Generate S3 pre-signed URL")
def signed_url(body: S3SignedUrlRequest):
    """Generate S3 pre-signed URL

    A URL that downloads ``key`` straight from the bucket for ``expiresIn`` seconds (60–3600,
    default 300) → ``201 {url, expiresAt, expiresIn}``; 404 when there is no such object.
    Downloads only (``operation: download``).
    """
    actor = current_actor()
    url, expires_at = s3_objects.signed_download(actor, body.key, body.expiresIn)
    answer = {"url": url, "expiresAt": expires_at, "expiresIn": body.expiresIn}
    return respond(answer, status=201, template=PAGE, block="signed", context=lambda: _context(actor, signed=answer))


@bp.delete("/s3/delete")
@requires("storage_providers.manage")
@operation(
    query=S3DeleteQuery,
    body=S3KeyBody,
    body_required=False,
    responses={204: None},
    summary="Delete file from S3",
)
def delete(query: S3DeleteQuery, body: S3KeyBody | None):
    """Delete file from S3

    Deletes the object ``key`` (JSON body ``{key}`` or ``?key=``) → 204; 404 when there is none.
    """
    key = body.key if body is not None else query.key
    if key is None:
        raise ValidationFailed("key is required", details=[{"path": ["key"], "message": "is required"}])
    s3_objects.delete_object(current_actor(), key)
    return empty(None, status=204, page=url_for("storage_providers.list_objects"), toast=f"Deleted {key}")
