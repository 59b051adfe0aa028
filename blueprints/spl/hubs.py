"""Hubs (seed 001 /spl/hubs): the on-site agents, their live status, logs and network; plus
Wharf's job pull (the agent's long poll and heartbeat) and secret rotation."""

from __future__ import annotations

from flask import request, url_for

from blueprints.spl import bp
from models import HubLog, db
from schemas.spl import (
    CURSOR_HEADERS,
    CursorHeaders,
    SplCreateNetworkDevice,
    SplHub,
    SplHubCreated,
    SplHubError,
    SplHubErrorModel,
    SplHubJob,
    SplHubModel,
    SplHubStatus,
    SplNetworkDevice,
    SplPull,
)
from services.printing import hubs as svc
from services.printing import printers, queue
from web.access import current_actor, registry, requires
from web.contract import Response, operation
from web.forms import show_again
from web.negotiate import respond, see_other
from web.pagination import paginate_cursor

registry.add_nav("Print hubs", "spl.hubs", group="Administration", order=400)

LIST, PAGE = "spl/hubs.html", "spl/hub.html"
CHANGED = "spl:hubs-changed"


def _can_manage() -> bool:
    return current_actor().grants.allows(["spl.manage"])


def _rows() -> list[dict]:
    return [svc.hub_row(h) for h in db.session.scalars(svc.visible_hubs(current_actor()))]


def _list_context(**extra) -> dict:
    return {"rows": _rows(), "can_manage": _can_manage(), **extra}


def _page_context(hub, **extra) -> dict:
    actor = current_actor()
    logs, _ = paginate_cursor(svc.logs_query(actor, hub), HubLog, token=None, size=25)
    hub_printers = list(db.session.scalars(printers.visible_printers(actor).where(printers.Printer.hub_id == hub.id)))
    return {
        "hub": svc.hub_row(hub),
        "status": svc.hub_status(hub),
        "network": svc.network_rows(hub),
        "logs": [svc.log_row(entry) for entry in logs],
        "printers": printers.printer_rows(hub_printers),
        "can_manage": _can_manage(),
        "server_url": request.host_url.rstrip("/"),
        **extra,
    }


_create_error = show_again(LIST, "create_form", context=lambda: _list_context())


@bp.get("/hubs")
@requires("spl.read")
@operation(responses={200: list[SplHub]})
def hubs():
    """List the hubs

    Live hubs first, by name; ``status`` is online while the agent polls (a pull at least
    every 25 s; offline after 60 s without one).
    """
    rows = _rows()
    return respond(rows, template=LIST, targets={"hub-table": "hub_table"}, context=lambda: _list_context())


@bp.post("/hubs")
@requires("spl.manage")
@operation(body=SplHubModel, responses={200: SplHubCreated}, form_error=_create_error)
def create_hub(body: SplHubModel):
    """Create a new hub

    Answers the hub and, this once, its ``secret`` for the agent (Wharf keeps a hash):
    ``flask --app app print-hub --server URL --secret SECRET``.
    """
    hub, secret = svc.create_hub(current_actor(), body)
    row = {**svc.hub_row(hub), "secret": secret}
    return respond(
        row,
        template=LIST,
        block="create_form",
        context=lambda: _list_context(created=row),
        toast=f"Hub {hub.name} created: copy its secret now",
        trigger=CHANGED,
    )


@bp.get("/hubs/<uuid:hub_id>")
@requires("spl.read")
@operation(responses={200: SplHub})
def hub(hub_id):
    """Get the hub

    For people, its page: live status, printers, unresolved logs, network, the agent command.
    """
    h = svc.get_hub(current_actor(), hub_id)
    return respond(svc.hub_row(h), template=PAGE, context=lambda: _page_context(h))


_update_error = show_again(PAGE, "hub_form", context=lambda hub_id: _page_context(svc.get_hub(current_actor(), hub_id)))


@bp.put("/hubs/<uuid:hub_id>")
@requires("spl.manage")
@operation(body=SplHubModel, responses={200: SplHub}, form_error=_update_error)
def update_hub(hub_id, body: SplHubModel):
    """Update a hub

    Name and description (where it stands: the status's ``location``).
    """
    h = svc.update_hub(current_actor(), hub_id, body)
    return respond(
        svc.hub_row(h), template=PAGE, block="hub_form", context=lambda: _page_context(h, saved=True), toast="Hub saved"
    )


@bp.delete("/hubs/<uuid:hub_id>")
@requires("spl.manage")
@operation(responses={200: SplHub})
def delete_hub(hub_id):
    """Deletes a hub

    Disables it: its secret stops working at once and its waiting jobs are cancelled; the
    disabled hub is answered.
    """
    h = svc.disable_hub(current_actor(), hub_id)
    return see_other(url_for(".hubs"), svc.hub_row(h), toast=f"Hub {h.name} disabled")


@bp.post("/hubs/<uuid:hub_id>/secret")
@requires("spl.manage")
@operation(responses={200: SplHubCreated})
def rotate_secret(hub_id):
    """A new secret for the hub (Wharf)

    For a lost or leaked secret: the old one stops working at once; answered this once.
    """
    h, secret = svc.rotate_secret(current_actor(), hub_id)
    row = {**svc.hub_row(h), "secret": secret}
    return respond(
        row,
        template=PAGE,
        block="hub_secret",
        context=lambda: _page_context(h, secret=secret),
        toast="New secret: restart the agent with it",
    )


@bp.get("/hubs/<uuid:hub_id>/status")
@requires("spl.read")
@operation(responses={200: SplHubStatus})
def hub_status(hub_id):
    """Get the hub status

    Live: online, idle (no job on its way to a printer), addresses, agent version. htmx
    polls this block on the hub page.
    """
    h = svc.get_hub(current_actor(), hub_id)
    return respond(svc.hub_status(h), template=PAGE, block="hub_status", context=lambda: _page_context(h))


@bp.get("/hubs/<uuid:hub_id>/network")
@requires("spl.read")
@operation(responses={200: list[SplNetworkDevice]})
def hub_network(hub_id):
    """List the network information

    The devices the agent last reported.
    """
    h = svc.get_hub(current_actor(), hub_id)
    return respond(svc.network_rows(h), template=PAGE, block="hub_network", context=lambda: _page_context(h))


@bp.put("/hubs/<uuid:hub_id>/network")
@requires("spl.agent")
@operation(body=list[SplCreateNetworkDevice], responses={200: list[SplNetworkDevice]}, forms=False)
def set_hub_network(hub_id, body: list[SplCreateNetworkDevice]):
    """Set the network information

    The agent reports its network devices; the list replaces the last one.
    """
    h = svc.set_network(current_actor(), hub_id, body)
    return respond(svc.network_rows(h))


@bp.get("/hubs/<uuid:hub_id>/logs")
@requires("spl.read")
@operation(headers=CursorHeaders, responses={200: Response(list[SplHubError], headers=CURSOR_HEADERS)})
def hub_logs(hub_id, headers: CursorHeaders):
    """List the logs

    The unresolved logs, newest first; ``x-page`` is a page token (the answer's
    ``x-page`` is the next page's, absent on the last).
    """
    actor = current_actor()
    h = svc.get_hub(actor, hub_id)
    rows, token = paginate_cursor(svc.logs_query(actor, h), HubLog, token=headers.x_page, size=headers.x_page_size)
    data = [svc.log_row(entry) for entry in rows]
    return respond(
        data,
        headers={"x-page": token} if token else None,
        template=PAGE,
        block="hub_logs",
        context=lambda: _page_context(h) | {"logs": data, "next_page": token},
    )


@bp.post("/hubs/<uuid:hub_id>/logs")
@requires("spl.agent")
@operation(body=SplHubErrorModel, responses={200: SplHubError})
def add_hub_log(hub_id, body: SplHubErrorModel):
    """Log a new hub error

    The agent reports a printer that refused a job, a restart; ``public`` ones are what
    operators read on the hub page.
    """
    entry = svc.add_log(current_actor(), hub_id, body)
    return respond(svc.log_row(entry))


@bp.post("/hubs/<uuid:hub_id>/logs/<uuid:log_id>/resolve")
@requires("spl.manage")
@operation(responses={200: SplHubError})
def resolve_hub_log(hub_id, log_id):
    """Mark a log dealt with (Wharf)

    It leaves the unresolved list.
    """
    entry = svc.resolve_log(current_actor(), hub_id, log_id)
    h = svc.get_hub(current_actor(), hub_id)
    return respond(
        svc.log_row(entry), template=PAGE, block="hub_logs", context=lambda: _page_context(h), toast="Log resolved"
    )


@bp.get("/hubs/<uuid:hub_uuid>/uuid")
@requires("spl.read")
@operation(responses={200: SplHub})
def hub_by_uuid(hub_uuid):
    """Get the hub by uuid

    How an agent finds its hub: the uuid is the first part of its secret.
    """
    h = svc.get_hub_by_uuid(current_actor(), hub_uuid)
    return respond(svc.hub_row(h), template=PAGE, context=lambda: _page_context(h))


@bp.post("/hubs/<uuid:hub_id>/jobs")
@requires("spl.agent")
@operation(body=SplPull, responses={200: list[SplHubJob]}, forms=False)
def pull_jobs(hub_id, body: SplPull):
    """Pull print jobs (Wharf; the agent's long poll)

    Only the hub itself (its secret). Waits up to ``wait`` seconds for a due job and
    answers the jobs it now holds (``received``), each with its printer's connection; the
    bytes are at ``artifact``. Every pull is the hub's heartbeat. ``restart``: the first
    pull after the agent starts also answers the jobs it held and never reported.
    """
    jobs = queue.pull(current_actor(), hub_id, body, request.remote_addr)
    return respond([_hub_job(j) for j in jobs])


def _hub_job(job) -> dict:
    p = job.printer
    return {
        "id": job.id,
        "reference": job.reference,
        "description": job.description,
        "encoding": job.encoding,
        "artifact": url_for(".job_artifact", reference=job.reference),
        "printer_id": p.id,
        "connection": p.connection,
        "settings": p.settings or {},
        "attempts": job.attempts,
    }
