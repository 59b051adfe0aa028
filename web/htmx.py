"""htmx request details and response modifiers (after django-htmx)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from flask import Response, g, request


@dataclass(frozen=True)
class HtmxDetails:
    is_htmx: bool
    boosted: bool
    history_restore: bool
    current_url: str | None
    target: str | None
    trigger: str | None

    @property
    def wants_fragment(self) -> bool:
        """Boosted and history-restore requests replace the whole page, so they get one."""
        return self.is_htmx and not self.boosted and not self.history_restore


def per_request(name: str, compute):
    """``compute()`` once per request, kept on ``flask.g`` under ``name``. The entry names
    its request: an app context held open around several requests (tests) shares ``g``."""
    req = request._get_current_object()
    held = g.get(name)
    if held is None or held[0] is not req:
        held = (req, compute())
        setattr(g, name, held)
    return held[1]


def htmx_details() -> HtmxDetails:
    """This request's htmx headers, read once per request."""
    return per_request("_htmx_details", _read_details)


def _read_details() -> HtmxDetails:
    h = request.headers
    return HtmxDetails(
        is_htmx=h.get("HX-Request") == "true",
        boosted=h.get("HX-Boosted") == "true",
        history_restore=h.get("HX-History-Restore-Request") == "true",
        current_url=h.get("HX-Current-URL"),
        target=h.get("HX-Target"),
        trigger=h.get("HX-Trigger"),
    )


def trigger_client_event(response: Response, name: str, params: dict | str | None = None) -> Response:
    """Add an event to ``HX-Trigger``, merging with any already set on the response."""
    existing = response.headers.get("HX-Trigger")
    events: dict = {}
    if existing:
        try:
            events = json.loads(existing)
        except ValueError:
            events = {e.strip(): None for e in existing.split(",") if e.strip()}
    events[name] = params if params is not None else ""
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def toast(response: Response, message: str, level: str = "success", undo: dict | None = None) -> Response:
    """Ask the page to show a toast (handled by static/js/wharf.js); ``undo`` (``{token,
    url}``) adds an Undo button that takes the save back."""
    params = {"message": message, "level": level} | ({"undo": undo} if undo else {})
    return trigger_client_event(response, "wharf:toast", params)


def client_redirect(response: Response, url: str) -> Response:
    response.headers["HX-Redirect"] = url
    return response


def retarget(response: Response, selector: str, swap: str = "innerHTML") -> Response:
    response.headers["HX-Retarget"] = selector
    response.headers["HX-Reswap"] = swap
    return response


def announce_task_done(response: Response, task) -> Response:
    """A task fragment's answer once its document is ready: ``wharf:task-done`` tells the page
    around it (a pack station) to refresh what the document changed ("Request label" becomes
    "Relabel · Open label"). Sent by every answer that shows a finished task to htmx."""
    if task.status == "done" and htmx_details().is_htmx:
        trigger_client_event(response, "wharf:task-done", {"name": task.name})
    return response
