"""The negotiation table (spec/api-conventions.md), written once.

``respond()`` is the only way a view produces a response: JSON for API clients, a
fragment (one named block of the page template) for htmx, or the full page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Literal

from flask import (
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from jinja2_fragments.flask import render_block

from web.htmx import client_redirect, htmx_details, per_request, trigger_client_event
from web.htmx import toast as show_toast

Mode = Literal["json", "fragment", "page"]


def is_api_path(path: str | None = None) -> bool:
    path = request.path if path is None else path
    return path == "/api" or path.startswith("/api/")


def response_mode() -> Mode:
    """Decide how this request is answered; see the table in api-conventions.md. Decided
    once per request (kept on ``flask.g``): every later call reads the same answer."""
    return per_request("_response_mode", _decide_mode)


def _decide_mode() -> Mode:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    page_only = getattr(view, "_page_only", False)
    if is_api_path() and not page_only:
        return "json"
    accept = request.accept_mimetypes
    html_q, json_q = accept["text/html"], accept["application/json"]
    if json_q > html_q and not page_only:  # an explicit JSON preference wins, even over htmx
        return "json"
    # htmx sends "*/*" (a tie): HX-Request decides. Without it a tie means an API client.
    if not (html_q > json_q or page_only or htmx_details().is_htmx):
        return "json"
    return "fragment" if htmx_details().wants_fragment else "page"


def _fragments_only(template: str) -> bool:
    """A template named ``_*.html`` holds htmx fragments and is never a page: a browser that
    opens such a route directly gets the fragment, not a page of undefined names (a 500)."""
    return template.rsplit("/", 1)[-1].startswith("_")


def _undo_offer() -> dict | None:
    """The Undo of the save this answer reports: when it made exactly one undoable audit
    entry (``services.audit`` notes them per request) and the caller may undo its own."""
    tokens = g.get("wharf_undo_tokens") or []
    if len(tokens) != 1 or not current_user.is_authenticated:
        return None
    from web.access import current_actor

    if not current_actor().allows(["audit_logs.undo_self"]):
        return None
    return {"token": tokens[0], "url": url_for("audit_logs.undo_action")}


def respond(
    data=None,
    *,
    template: str | None = None,
    block: str = "content",
    context: dict | None = None,
    status: int = 200,
    headers: dict | None = None,
    etag: str | bool | None = None,
    targets: dict[str, str] | None = None,
    toast: str | tuple[str, str] | None = None,
    trigger: str | None = None,
) -> Response:
    """Answer with ``data`` as JSON, or render ``template`` (whole, or only ``block`` for htmx).

    ``context`` is what the template sees (a dict, or a callable giving it, called only
    when a template is rendered); it defaults to ``{"data": data}``. A view
    computes its data once and hands both to this helper. With ``etag`` a JSON answer is
    conditional: a client that sends it back in ``If-None-Match`` gets ``304 Not Modified``
    without a body (pollers re-read a list for a few bytes); ``etag=True`` is the digest of
    the answer's body and ``headers``.

    ``targets`` maps an element id that htmx swaps (``HX-Target``) to the block that fills
    it, e.g. ``{"location-table": "location_table"}``: a search box that refreshes only the
    table gets only the table; any other target gets ``block``.

    For people (not JSON clients) ``toast`` shows a message (or ``(message, level)``) and ``trigger`` fires an htmx
    event on the page (``lcs:locations-changed``: the parts listening re-fetch themselves).
    """
    mode = response_mode()
    if targets and mode == "fragment":
        block = targets.get(htmx_details().target or "", block)
    if mode == "json" or template is None:
        if data is None:
            resp = make_response("", status)
        else:
            resp = make_response(jsonify(data), status)
    else:
        ctx = {"data": data, **((context() if callable(context) else context) or {})}
        whole = mode == "page" and not _fragments_only(template)
        body = render_template(template, **ctx) if whole else render_block(template, block, **ctx)
        resp = make_response(body, status)
    if headers:
        resp.headers.update(headers)
    if mode != "json":
        if trigger:
            trigger_client_event(resp, trigger)
        if toast:
            message, level = (toast, "success") if isinstance(toast, str) else toast
            show_toast(resp, message, level, _undo_offer() if level == "success" else None)
    if etag and mode == "json" and resp.status_code == 200:
        if etag is True:
            digest = hashlib.blake2b(resp.get_data(), digest_size=16)
            digest.update(repr(sorted((headers or {}).items())).encode())
            etag = digest.hexdigest()
        resp.set_etag(etag)
        if "If-None-Match" in request.headers and request.if_none_match.contains(etag):
            resp.status_code = 304
            resp.set_data(b"")  # a 304 has no body
    return resp


def fragment_etag(state: str, block: str) -> str:
    """The ETag (unquoted) of the htmx fragment ``block`` of a live view in ``state``; a
    polling element carries it in ``data-etag`` and sends it back (static/js/wharf.js)."""
    return f"{state}.{block}"


def conditional(
    state: str,
    render: Callable[[], Response],
    *,
    block: str = "content",
    targets: dict[str, str] | None = None,
) -> Response:
    """Answer a live view whose whole content is a function of ``state`` (a version read
    first, by one cheap query): a client that holds this representation's ETag gets
    ``304 Not Modified`` *before* anything is read or rendered; otherwise ``render()``
    (a ``respond`` call) answers with the ETag. JSON and each htmx fragment (the block
    ``block``/``targets`` pick, as ``respond`` does) are separate representations with
    their own ETags; a full page is never conditional (it carries a fresh CSRF token)."""
    mode = response_mode()
    if mode == "page":
        return render()
    etag = state if mode == "json" else fragment_etag(state, (targets or {}).get(htmx_details().target or "", block))
    if request.if_none_match.contains(etag):
        resp = make_response("", 304)
    else:
        resp = render()
    if resp.status_code in (200, 304):
        resp.set_etag(etag)
        resp.headers["Cache-Control"] = "private, no-cache"  # always ask: the answer is a 304 when nothing moved
        resp.vary.add("HX-Target")
    return resp


def add_vary(response: Response) -> Response:
    """Every route varies on Accept and HX-Request (registered as an after_request hook)."""
    response.vary.update(["Accept", "HX-Request"])
    return response


def empty(
    data=None, *, status: int = 200, page: str | None = None, toast: str | None = None, trigger: str | None = None
) -> Response:
    """An answer with nothing to show (a row deleted: htmx swaps it away). JSON clients get
    ``data`` (``None``: no body) with ``status``; a plain page post, which has no row to
    swap, goes back to ``page`` (303) when given; ``toast``/``trigger`` as ``respond``."""
    if page is not None and response_mode() == "page":
        return see_other(page)
    if response_mode() == "json":
        return respond(data, status=status)
    return respond(None, toast=toast, trigger=trigger)  # an empty 200: htmx swaps only 2xx answers


def see_other(target: str, data=None, *, status: int = 200, toast: str | None = None) -> Response:
    """After a write, go to ``target``: htmx follows ``HX-Redirect``, a page post gets
    ``303 See Other``, JSON clients get ``data`` with the status the operation declares."""
    if response_mode() == "json":
        return respond(data, status=status)
    if htmx_details().is_htmx:
        return client_redirect(respond(None, toast=toast), target)
    return respond(None, status=303, headers={"Location": target}, toast=toast)
