"""One error path for the whole app.

Every failure — a ``DomainError`` a view raised, a werkzeug ``HTTPException`` (404, 405,
413…), a CSRF refusal, an unexpected exception — is rendered here, in the wire family
of the module the path belongs to (JSON), as an HTML page, or as an htmx fragment.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2_fragments.flask import render_block
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from models import db
from services.errors import DomainError
from web.access import access_of, refusal_for_people
from web.htmx import client_redirect, htmx_details, retarget
from web.negotiate import is_api_path, response_mode

log = logging.getLogger("wharf.errors")

CROSS_SITE = "Cross-site request refused"  # web.identity.csrf_guard's refusal

FAMILY_B_PREFIXES = ("/lcs", "/cnt", "/mes", "/spl")
FAMILY_C_PREFIXES = ("/permissions", "/publickey")  # seed 002 (Mindbricks)


def wire_family(path: str | None = None) -> str:
    """'B' for the Afosto modules (seed 001), 'C' for seed 002's routes, 'A' for everything
    else (seed 000)."""
    path = request.path if path is None else path
    if is_api_path(path):
        path = path[len("/api") :]
    for family, prefixes in (("B", FAMILY_B_PREFIXES), ("C", FAMILY_C_PREFIXES)):
        if any(path == p or path.startswith(p + "/") for p in prefixes):
            return family
    return "A"


def request_id() -> str:
    if "request_id" not in g:
        g.request_id = uuid.uuid4().hex
    return g.request_id


def envelope(status: int, message: str, details: list[dict] | None = None, extra: dict | None = None) -> dict:
    """The JSON error body of this path's wire family."""
    details = details or []
    if wire_family() == "B":
        errors: dict[str, list[str]] = {}
        for d in details:
            key = d.get("kind") or "invalid value"  # "required", "invalid value", "blocked by rule"
            errors.setdefault(key, []).append(".".join(str(p) for p in d.get("path", [])))
        return {"code": status, "message": message, "reference": request_id(), "errors": errors}
    if wire_family() == "C":  # seed 002: {"status": "ERR", "message": ...}
        body = {"status": "ERR", "message": message}
        if details:
            body["details"] = [{"path": d.get("path", []), "message": d.get("message", "")} for d in details]
        return body
    body = {"error": message}
    if details:
        body["details"] = [{"path": d.get("path", []), "message": d.get("message", "")} for d in details]
    body.update(extra or {})
    return body


def render_error(status: int, message: str, *, details=None, extra=None, headers=None):
    """Render one failure for this request's mode; the only builder of error responses."""
    mode = response_mode()
    if status == 403 and mode != "json" and (extra or {}).get("requiredFeatures"):
        message = refusal_for_people(extra["requiredFeatures"])
    if status == 401 and mode != "json":
        # Never let htmx swap a login page into a fragment: tell it to navigate instead.
        target = url_for("auth_pages.login_page", next=_here())
        resp = client_redirect(make_response(message, 401), target) if htmx_details().is_htmx else redirect(target)
    elif mode == "json":
        resp = make_response(jsonify(envelope(status, message, details, extra)), status)
    elif mode == "fragment":
        body = render_block("errors/error.html", "toast", status=status, message=message, details=details or [])
        resp = retarget(make_response(body, status), "#toasts", "beforeend")
    else:
        body = render_template(
            "errors/error.html", status=status, message=message, details=details or [], back=_came_from()
        )
        resp = make_response(body, status)
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def _came_from() -> str | None:
    """The Wharf page the person followed a link from (its path), to offer the way back: a
    refused PDF opened from a list page leads back to the list, not to the dashboard."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or not referrer.path.startswith("/") or referrer.path == request.path:
        return None
    return referrer.path + (f"?{referrer.query}" if referrer.query else "")


def _public() -> bool:
    """The sign-in routes themselves: their refusal stays a refusal, not a loop to sign-in."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    access = access_of(view) if view is not None else None
    return access is not None and access.public


def _here() -> str:
    """The page to come back to after sign-in, as a same-site path (the sign-in page takes
    no absolute URL): for htmx the page it was sent from (``HX-Current-URL``), not the fragment."""
    current = htmx_details().current_url
    if not current:
        return request.full_path.rstrip("?")
    parts = urlsplit(current)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(e: DomainError):
        db.session.rollback()  # one transaction per operation: nothing of a refused one stays
        return render_error(e.status, e.message, details=e.details, extra=e.extra, headers=e.headers)

    @app.errorhandler(IntegrityError)
    def integrity_error(e: IntegrityError):
        """A uniqueness race (or a check the code missed) lost at the database: the
        operation conflicts with a record written meanwhile — 409, never a 500."""
        db.session.rollback()
        log.info("integrity error answered 409 reference=%s: %s", request_id(), e.orig)
        return render_error(409, "This conflicts with an existing record (it may have been created just now)")

    @app.errorhandler(CSRFError)
    def csrf_error(e: CSRFError):
        """A person whose session has ended (its CSRF token went with it, or a new anonymous
        session holds another) is sent to sign in and back, like any 401; a signed-in
        session with a wrong token is refused."""
        cross_site = e.description == CROSS_SITE
        if response_mode() != "json" and not cross_site and not current_user.is_authenticated and not _public():
            return render_error(401, "Your session has ended: sign in again")
        return render_error(400, f"CSRF check failed: {e.description}")

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        if e.code is None or e.response is not None:  # abort(response): already rendered
            return e.response if e.response is not None else e
        headers = {k: v for k, v in e.get_headers() if k.lower() not in ("content-type", "content-length")}
        return render_error(e.code, e.description or e.name, headers=headers)

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        log.exception("unhandled error reference=%s path=%s", request_id(), request.path)
        return render_error(500, f"Internal server error (reference {request_id()})")
