"""``GET /cnt/barcode`` and ``POST /cnt/html`` (+ ``/inline``), as seed 001 shows them.

The barcode endpoint needs a signed-in caller (any feature): labels and pick lists are
printed by staff, and an open image renderer is a free CPU for anyone. Images are cached
by the browser (``ETag``, ``Cache-Control: private``) and in the process (services.barcodes).
"""

from __future__ import annotations

from flask import make_response, request, url_for

from blueprints.cnt import bp
from schemas.base import Binary
from schemas.cnt import BarcodeQuery, CntHtmlToInlinePdfRequest, CntHtmlToPdfRequest, CntPdf
from services import barcodes, documents
from web.access import current_actor, requires
from web.contract import Response, operation
from web.negotiate import respond

CACHE_SECONDS = 86400


@bp.get("/barcode")
@requires()
@operation(
    query=BarcodeQuery,
    responses={200: Response(Binary, "The barcode (image/svg+xml with format=svg)", media_type="image/png"), 304: None},
)
def barcode(query: BarcodeQuery):
    """Render a barcode

    ``t`` (ean, code_128, code_39, code_93, qr, gs1_128), ``v`` (value), ``w``/``h``
    (pixels, 1–4000), ``f`` (fallback type for a value ``t`` cannot carry), ``format``
    (png, default, or svg). A value the type cannot carry, without a fallback, is a 400.
    """
    key = (query.t, query.v, query.w, query.h, query.f, query.format)
    etag = barcodes.etag_for(*key)
    if etag in request.if_none_match:  # the client has it: no work at all
        return _cacheable(make_response("", 304), etag)
    image = barcodes.render(*key)
    resp = make_response(image.body)
    resp.mimetype = image.mimetype
    resp.headers["X-Content-Type-Options"] = "nosniff"
    if image.mimetype == "image/svg+xml":
        resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return _cacheable(resp, image.etag)


def _cacheable(resp, etag: str):
    resp.set_etag(etag)
    resp.cache_control.private = True
    resp.cache_control.max_age = CACHE_SECONDS
    resp.vary.add("Cookie")
    resp.vary.add("Authorization")
    return resp


def _file_row(att, directory: str) -> dict:
    """The seed's file reference."""
    return {
        "id": att.id,
        "filename": att.file_name,
        "label": att.file_name,
        "dir": directory,
        "type": "file",
        "mime": att.mime_type,
        "url": url_for("api_attachments.serve_file", attachment_id=att.id),
        "is_public": att.partition.is_public,
        "is_listed": True,
        "metadata": {"size": att.file_size, "checksum": att.checksum, "partition": att.partition.code},
        "created_at": att.created_at,
        "updated_at": att.updated_at,
    }


@bp.post("/html")
@requires("cnt.documents.create")
@operation(body=CntHtmlToPdfRequest, responses={200: CntPdf})
def html(body: CntHtmlToPdfRequest):
    """Transform HTML into a PDF

    Body: ``path``, ``filename``, ``size {predefined a3|a4|a5|a6|letter|legal|tabloid|custom,
    width, height}`` and ``margin {top, bottom, left, right}`` in millimetres, ``content``
    (base64 HTML). The PDF is stored in the ``documents`` partition; the answer is the file
    reference. Only ``data:`` URIs and Wharf's static files are fetched while rendering.
    """
    att, directory = documents.html_to_stored_pdf(current_actor(), body)
    return respond(_file_row(att, directory))


@bp.post("/html/inline")
@requires("cnt.documents.create")
@operation(
    body=CntHtmlToInlinePdfRequest, responses={200: Response(Binary, "File contents", media_type="application/pdf")}
)
def html_inline(body: CntHtmlToInlinePdfRequest):
    """Transform HTML into a PDF and return PDF as string

    The bytes, ``application/pdf``, shown inline.
    """
    pdf = documents.html_to_pdf(body)
    resp = make_response(pdf)
    resp.mimetype = "application/pdf"
    resp.headers["Content-Disposition"] = 'inline; filename="document.pdf"'
    return resp
