"""The print queue (seed 001 /spl/queue) and Wharf's operator actions on it: the job's bytes
for the hub (``artifact``), reprint and redirect. The queue page is the live monitor."""

from __future__ import annotations

from flask import current_app, url_for

from blueprints.spl import bp
from models import PrintJob, db
from schemas.base import Binary
from schemas.spl import (
    CURSOR_HEADERS,
    CursorHeaders,
    SplJob,
    SplJobModel,
    SplJobResult,
    SplQueueQuery,
    SplRedirect,
    SplStatus,
)
from services.printing import hubs as hub_svc
from services.printing import printers as printer_svc
from services.printing import queue as svc
from web.access import current_actor, registry, requires
from web.contract import Response, operation
from web.negotiate import respond
from web.pagination import paginate_cursor

registry.add_nav("Print queue", "spl.queue", group="Floor", order=60)

PAGE = "spl/queue.html"
STATUSES = ("scheduled", "received", "printed", "failed", "cancelled")
MEDIA = {"zpl": "application/octet-stream", "pdf": "application/pdf"}


def job_row(job: PrintJob) -> dict:
    return svc.job_row(job, url_for("spl.job_artifact", reference=job.reference))


def _context(
    rows: list[dict], query: SplQueueQuery | None = None, next_page: str | None = None, page_token=None
) -> dict:
    actor = current_actor()
    # names and languages for the filter and redirect menus: no health (this block is polled every 3 s)
    printers = [
        {"id": p.id, "name": p.name, "default_encoding": p.default_encoding, "disabled_at": p.disabled_at}
        for p in db.session.scalars(printer_svc.visible_printers(actor))
    ]
    return {
        "rows": rows,
        "query": query or SplQueueQuery(),
        "statuses": STATUSES,
        "printers": printers,
        "printer_names": {str(p["id"]): p["name"] for p in printers},
        "next_page": next_page,
        "page_token": page_token,
        "can_print": actor.grants.allows(["spl.print"]),
    }


def _one(job: PrintJob, toast: str, status: int = 200):
    row = job_row(job)
    return respond(
        row, status=status, template=PAGE, block="job_row", context=lambda: _context([row]) | {"j": row}, toast=toast
    )


@bp.get("/queue")
@requires("spl.read")
@operation(query=SplQueueQuery, headers=CursorHeaders, responses={200: Response(list[SplJob], headers=CURSOR_HEADERS)})
def queue(query: SplQueueQuery, headers: CursorHeaders):
    """Get job history for account

    Newest first; one ``status``, ``printer_id`` or ``tag`` to filter; ``x-page`` is the
    page token (the answer's ``x-page`` is the next page's). The page polls itself: live
    status of every job on screen.
    """
    stmt = svc.queue_query(current_actor(), status=query.status, printer_id=query.printer_id, tag=query.tag)
    jobs, token = paginate_cursor(stmt, PrintJob, token=headers.x_page, size=headers.x_page_size)
    rows = [job_row(j) for j in jobs]
    return respond(
        rows,
        headers={"x-page": token} if token else None,
        template=PAGE,
        targets={"queue-table": "queue_table"},
        context=lambda: _context(rows, query, token, headers.x_page),
    )


@bp.post("/queue")
@requires("spl.print")
@operation(body=SplJobModel, responses={200: SplJob}, forms=False)
def add_job(body: SplJobModel):
    """Add a job for a printer

    ``job``: a stored document's id (an attachment, or a finished task's file) or a
    ``data:`` URI (``application/zpl``, ``application/pdf``); ``tag``: the printer's id. A
    PDF for a ZPL printer is converted; ZPL for a PDF printer is refused (400). The same
    ``reference`` again answers the job already queued.
    """
    job, _ = svc.submit(current_actor(), body)
    return respond(job_row(job))


@bp.get("/queue/<reference>")
@requires("spl.read")
@operation(responses={200: SplJob})
def job(reference: str):
    """Get the status for a printjob

    By the reference the queue answered (or the job's id).
    """
    j = svc.get_job(current_actor(), reference)
    row = job_row(j)
    return respond(row, template=PAGE, block="job_row", context=lambda: _context([row]) | {"j": row})


@bp.put("/queue/<reference>")
@requires("spl.print")
@operation(body=SplStatus, responses={201: SplJobResult})
def set_job_status(reference: str, body: SplStatus):
    """Set a job to a new status

    The hub reports ``received``, ``printed`` (recorded once, however often reported) or
    ``failed`` (retried after a growing delay while ``retryable`` and attempts remain).
    People cancel a scheduled job or schedule a failed one again. 201 ``{reference, status}``.
    """
    j = svc.set_status(current_actor(), reference, body)
    if hub_svc.calling_hub_id(current_actor()) is not None:
        return respond({"reference": j.reference, "status": j.status}, status=201)
    return _one(j, f"Job {j.status}", status=201)


@bp.get("/queue/<reference>/artifact")
@requires("spl.read")
@operation(responses={200: Response(Binary, media_type="application/octet-stream")})
def job_artifact(reference: str):
    """The bytes to print (Wharf)

    In the printer's language: ZPL (``application/octet-stream``) or PDF.
    """
    j = svc.get_job(current_actor(), reference)
    response = current_app.response_class(j.content, mimetype=MEDIA[j.encoding])
    response.headers["Content-Disposition"] = f'attachment; filename="job-{j.id}.{j.encoding}"'
    return response


@bp.post("/queue/<reference>/reprint")
@requires("spl.print")
@operation(body=SplRedirect, responses={200: SplJob}, body_required=False)
def reprint(reference: str, body: SplRedirect | None):
    """Print a job again (Wharf)

    A new job with the same bytes, on the same printer or ``printer_id`` (same language).
    """
    j = svc.reprint(current_actor(), reference, body.printer_id if body else None)
    return _one(j, "Reprint queued")


@bp.post("/queue/<reference>/redirect")
@requires("spl.print")
@operation(body=SplRedirect, responses={200: SplJob})
def redirect_job(reference: str, body: SplRedirect):
    """Send a job to another printer (Wharf)

    A scheduled or failed job moves to ``printer_id`` (same language) and is scheduled
    afresh; a printed one is reprinted instead.
    """
    j = svc.redirect(current_actor(), reference, body.printer_id)
    return _one(j, "Job redirected")
