"""Progress job routes (seed 000 ``/progress``). One view per operation answers JSON, the
Jobs page, or — for htmx — the part that changed: the table (it polls itself), one job's
row after a cancel, the header's indicator."""

from __future__ import annotations

from flask import url_for

from blueprints.progress import bp
from models import Task
from schemas.base import Page
from schemas.progress import (
    ProgressActive,
    ProgressJob,
    ProgressJobCreate,
    ProgressJobCreated,
    ProgressJobListQuery,
    ProgressJobUpdate,
    ProgressJobUpdated,
)
from services import progress, tasks
from web.access import current_actor, requires
from web.contract import operation
from web.negotiate import respond, response_mode
from web.pagination import paginate_a

PAGE = "progress/jobs.html"
BADGE = "progress/_badge.html"
STATUSES = ("pending", "running", "completed", "failed", "cancelled")


def _view(row: dict) -> dict:
    """A job's row plus where its name leads: a task of Wharf's to its task page (progress
    bar, "Open PDF"), an integration's job to its own page."""
    own = row["jobType"] in tasks.REGISTRY
    url = url_for("mes.task", task_id=row["id"]) if own else url_for("progress.job", job_id=row["id"])
    return {**row, "url": url}


def _context(body: dict, query: ProgressJobListQuery | None = None, one: dict | None = None) -> dict:
    actor = current_actor()
    query = query or ProgressJobListQuery()
    filters = {"status": ",".join(query.status), "includeCompleted": "true" if query.includeCompleted else ""}
    return {
        "pager_query": {k: v for k, v in {**filters, "search": query.search}.items() if v},
        "data": body,
        "rows": [_view(r) for r in body["items"]],
        "query": query,
        "statuses": STATUSES,
        "can_cancel": actor.grants.allows(["progress.cancel"]),
        "j": one,
    }


@bp.get("/jobs")
@requires("progress.view")
@operation(query=ProgressJobListQuery, responses={200: Page[ProgressJob]})
def jobs(query: ProgressJobListQuery):
    """List progressjobs

    Returns a paginated collection of progressjobs scoped to the authenticated tenant (and
    the organizations the caller works in): pending and running unless ``status`` or
    ``includeCompleted=true``. Wharf's own tasks (labels, slips, invoices, batch PDFs) are
    listed with the jobs integrations report. ``search`` matches name, description and type.
    """
    actor = current_actor()

    def read():
        return paginate_a(
            progress.jobs_query(actor, query),
            serialize=progress.job_row,
            sort_fields=progress.SORT_FIELDS,
            default_sort="createdAt",
            default_dir="desc",
            search_columns=progress.SEARCH_COLUMNS,
            tiebreak=Task.id,
            query=query,
        )

    body, page = read()
    if progress.reap_all(page.items):  # a vanished worker's task is failed now: the filters see it so
        body, _ = read()
    return respond(body, template=PAGE, targets={"jobs-table": "jobs_table"}, context=lambda: _context(body, query))


@bp.post("/jobs")
@requires("progress.create")
@operation(body=ProgressJobCreate, responses={201: ProgressJobCreated}, forms=False, summary="Create progressjob")
def create_job(body: ProgressJobCreate):
    """Create progressjob

    Creates a new progress job for tracking a long-running operation (``pending``, in the
    caller's selected organization; a part of ``parentJobId`` in its parent's). Its
    integration reports it with ``PUT /progress/jobs/{id}``.
    """
    t = progress.create_job(current_actor(), body)
    return respond({"id": t.id}, status=201)


@bp.get("/jobs/<uuid:job_id>")
@requires("progress.view")
@operation(responses={200: ProgressJob})
def job(job_id):
    """Get a progress job

    One job by id (another tenant's, or one of a record the caller may not read, is a 404).
    A running task whose worker vanished is declared failed here.
    """
    row = progress.job_row(progress.get_job(current_actor(), job_id))
    view = _view(row)
    return respond(
        row,
        template=PAGE,
        block="job_row",
        context=lambda: _context({"items": [row], "total": 1}) | {"j": view, "r": view},
    )


@bp.put("/jobs/<uuid:job_id>")
@requires("progress.update")
@operation(body=ProgressJobUpdate, responses={200: ProgressJobUpdated}, forms=False)
def update_job(job_id, body: ProgressJobUpdate):
    """Report a job's progress

    ``processedCount``, ``totalCount``, ``progressPercent`` (default: processed of total),
    ``etaSeconds`` (default: from the pace so far); Wharf's ``status`` starts (running) or
    ends (completed, failed with ``errorMessage``) the job. A pending job that reports is
    running. Each report is a heartbeat: a running job silent for ``TASKS_TIMEOUT_SECONDS``
    is declared failed. Wharf's own tasks and ended (also cancelled) jobs: 409.
    """
    t = progress.update_job(current_actor(), job_id, body)
    return respond({"ok": True, "progressPercent": t.progress, "status": progress.STATUS[t.status]})


@bp.delete("/jobs/<uuid:job_id>")
@requires("progress.cancel")
@operation(responses={204: None})
def cancel_job(job_id):
    """Cancel a progress job

    A cancellable pending job, or one an integration reports, ends ``cancelled`` at once (its
    next report is a 409); a running batch of Wharf's stops before its next document and
    before anything is stored (``cancelRequestedAt`` until then). Not cancellable, or
    already ended: 409.
    """
    t = progress.cancel_job(current_actor(), job_id)
    row = _view(progress.job_row(t))
    toast = f"{row['name']}: cancelled" if t.status == "cancelled" else f"{row['name']}: stopping…"
    if response_mode() == "json":
        return respond(None, status=204)
    return respond(
        None,
        template=PAGE,
        block="job_row",
        context=lambda: _context({"items": [row], "total": 1}) | {"j": row, "r": row},
        toast=toast,
    )


@bp.get("/active")
@requires("progress.view")
@operation(responses={200: ProgressActive})
def active():
    """Get active progress jobs

    The header's running-jobs indicator: top-level jobs pending or running (newest first, at
    most 50) and those that completed or failed in the last 30 seconds.
    """
    data = progress.active(current_actor())
    return respond(data, template=BADGE, block="badge", context=lambda: {"active": data["active"]})
