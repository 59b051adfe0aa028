"""The API's own description: OpenAPI 3.1 JSON and an offline, server-rendered docs page."""

from flask import Blueprint, current_app

from schemas.api_docs import VersionInfo
from web.access import page_only, public
from web.contract import Response, operation
from web.negotiate import respond
from web.openapi import build_document, reference

bp = Blueprint("api_docs", __name__)


@bp.get("/openapi.json")
@public
@operation(responses={200: Response(dict, description="This OpenAPI 3.1 document")})
def openapi_json():
    """OpenAPI 3.1 document generated from the route map."""
    return respond(build_document(current_app))


@bp.get("/docs")
@public
@page_only
def docs():
    """Readable API reference, rendered on the server from the same document (works offline)."""
    doc = build_document(current_app)
    return respond(doc, template="api_docs/docs.html", context={"doc": doc, "groups": reference(doc)})


@bp.get("/version")
@public
@operation(responses={200: VersionInfo}, summary="Deployed Wharf version")
def version():
    """The version of Wharf this server runs (seed 000 ``GET /version``); monitoring and
    clients compare it after a deploy. Also shown on the docs page."""
    return respond({"version": current_app.config["VERSION"]})
