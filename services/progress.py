"""Progress jobs (seed 000 ``/progress``) over Wharf's one task table (``services/tasks.py``).

A job is a ``Task``: Wharf's own (labels, slips, invoices, batch PDFs), run by the task
runner, or an *external* one an integration made with ``POST /progress/jobs`` and reports
with ``PUT``. The seed's statuses are the task's under other names (queued → pending,
done → completed). Cancelling is the runner's (``tasks.cancel``); an integration learns
its job was cancelled from the 409 of its next report.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from models import Task, db, utcnow
from models.base import aware
from models.scope import get_visible
from schemas.progress import ProgressJobCreate, ProgressJobListQuery, ProgressJobUpdate
from services import organization_scope, tasks
from services.acl import Actor
from services.commands import command, lock
from services.errors import Conflict, DomainError, ValidationFailed


class UnreportableProgress(DomainError):
    """A report that contradicts itself (more processed than the total): 422."""

    status = 422
    default_message = "The progress report is inconsistent"


STATUS = {"queued": "pending", "running": "running", "done": "completed", "failed": "failed", "cancelled": "cancelled"}
TASK_STATUS = {seed: task for task, seed in STATUS.items()}
RECENT_SECONDS = 30  # how long an ended job stays in the header's indicator
ACTIVE_LIMIT = 50


def job_row(t: Task) -> dict:
    """The seed's ``ProgressJob``."""
    return {
        "id": t.id,
        "jobType": t.name,
        "name": t.label or t.description or t.name,
        "description": t.description or None,
        "status": STATUS[t.status],
        "progressPercent": t.progress,
        "processedCount": t.done,
        "totalCount": t.total,
        "etaSeconds": t.eta_seconds,
        "cancellable": t.cancellable,
        "startedAt": t.started_at,
        "finishedAt": t.completed_at,
        "errorMessage": t.error,
        "createdAt": t.created_at,
        "tenantId": t.tenant_id,
        "organizationId": t.organization_id,
        "parentJobId": t.parent_id,
        "startedByUserId": t.created_by,
        "cancelRequestedAt": t.cancel_requested_at,
        "updatedAt": t.updated_at,
    }


def jobs_query(actor: Actor, query: ProgressJobListQuery) -> sa.Select:
    """``GET /progress/jobs``'s filters over the tasks the actor may see (paged by the view)."""
    stmt = tasks.visible_tasks(actor)
    if query.status:
        stmt = stmt.where(Task.status.in_([TASK_STATUS[s] for s in query.status]))
    elif not query.includeCompleted and query.completedSince is None:  # ended since: ended ones too
        stmt = stmt.where(Task.status.in_(tasks.ACTIVE))
    if query.jobType:
        stmt = stmt.where(Task.name == query.jobType)
    if query.parentJobId is not None:
        stmt = stmt.where(Task.parent_id == query.parentJobId)
    if query.completedSince is not None:
        stmt = stmt.where(Task.completed_at >= query.completedSince)
    if query.ids:
        stmt = stmt.where(Task.id.in_(query.ids))
    return stmt


SEARCH_COLUMNS = (Task.label, Task.description, Task.name)
SORT_FIELDS = {"createdAt": Task.created_at, "startedAt": Task.started_at, "finishedAt": Task.completed_at}


def reap_all(jobs: list[Task]) -> int:
    """Declare the vanished among ``jobs`` failed (a worker or integration that went silent),
    so no list shows a job running forever; how many were."""
    return sum(1 for t in jobs if t.status in tasks.ACTIVE and tasks.reap(t))


def active(actor: Actor) -> dict:
    """``GET /progress/active``: top-level jobs pending or running (newest first), and those
    that completed or failed in the last ``RECENT_SECONDS``."""
    visible = tasks.visible_tasks(actor).where(Task.parent_id.is_(None))
    running = list(
        db.session.scalars(
            visible.where(Task.status.in_(tasks.ACTIVE)).order_by(Task.created_at.desc()).limit(ACTIVE_LIMIT)
        )
    )
    reap_all(running)
    since = utcnow() - timedelta(seconds=RECENT_SECONDS)
    recent = db.session.scalars(
        visible.where(Task.status.in_(("done", "failed")), Task.completed_at >= since)
        .order_by(Task.completed_at.desc())
        .limit(10)
    )
    return {
        "active": [job_row(t) for t in running if t.status in tasks.ACTIVE],
        "recentlyCompleted": [job_row(t) for t in recent],
    }


@command()
def create_job(actor: Actor, data: ProgressJobCreate) -> Task:
    """``POST /progress/jobs``: a pending external job in the caller's selected organization."""
    parent = None
    if data.parentJobId is not None:
        parent = db.session.scalars(tasks.visible_tasks(actor).where(Task.id == data.parentJobId)).first()
        if parent is None:
            message = "is not a job you can see"
            raise ValidationFailed(f"parentJobId {message}", details=[{"path": ["parentJobId"], "message": message}])
    t = Task(
        tenant_id=parent.tenant_id if parent is not None else actor.tenant_for_new(),
        organization_id=(
            parent.organization_id
            if parent is not None
            else organization_scope.selected_id(actor.principal, actor.grants)
        ),
        parent_id=data.parentJobId,
        name=data.jobType,
        label=data.name,
        description=data.description or "",
        total=sa.null() if data.totalCount is None else data.totalCount,  # not the column's default of 1
        cancellable=data.cancellable,
        external=True,
        params={},
        created_by=tasks.requester_id(actor),
        expires_at=utcnow() + timedelta(seconds=int(tasks.setting("TASKS_TTL_SECONDS"))),
    )
    db.session.add(t)
    db.session.flush()
    return t


def get_job(actor: Actor, job_id) -> Task:
    t = get_visible(tasks.visible_tasks(actor), Task, job_id, "Job")
    tasks.reap(t)
    return t


@command()
def update_job(actor: Actor, job_id, data: ProgressJobUpdate) -> Task:
    """``PUT /progress/jobs/{id}``: the integration's report. Wharf's own tasks report
    themselves, and an ended job (cancelled, too) takes no more reports: 409."""
    t = lock(tasks.visible_tasks(actor), Task, job_id, "Job")  # a report is a heartbeat: never reaped here
    if not t.external:
        raise Conflict(f"{job_row(t)['name']} is Wharf's own task: its runner reports its progress")
    if t.status in tasks.ENDED:
        raise Conflict(f"{job_row(t)['name']} has ended ({STATUS[t.status]}): it takes no more reports")
    sent = data.model_fields_set
    now = utcnow()
    if "totalCount" in sent:
        t.total = data.totalCount
    if "processedCount" in sent:
        t.done = data.processedCount
    if t.total is not None and t.done > t.total:
        message = f"must not exceed totalCount ({t.total})"
        raise UnreportableProgress(
            f"processedCount {message}", details=[{"path": ["processedCount"], "message": message}]
        )
    if "errorMessage" in sent:
        t.error = data.errorMessage or None
    started = t.started_at
    if t.status == "queued" and (sent - {"errorMessage"}):  # a job that reports anything has started
        t.status, t.started_at = "running", now
    if "progressPercent" in sent:
        t.progress = data.progressPercent
    elif t.total:
        t.progress = min(100, round(100 * t.done / t.total))
    if "etaSeconds" in sent:
        t.eta_seconds = data.etaSeconds
    elif t.total and t.done and started is not None:  # a pace needs time: none on the first report
        elapsed = (now - aware(started)).total_seconds()
        t.eta_seconds = round(elapsed / t.done * (t.total - t.done))
    if data.status in ("completed", "failed"):
        t.status, t.completed_at, t.eta_seconds = ("done" if data.status == "completed" else "failed"), now, None
        if data.status == "completed":
            t.progress = 100
            if t.total is not None and "processedCount" not in sent:
                t.done = t.total
    t.updated_at = now  # the heartbeat: a silent running job is declared failed (tasks.reap)
    db.session.flush()
    return t


@command()
def cancel_job(actor: Actor, job_id) -> Task:
    """``DELETE /progress/jobs/{id}``: stop a cancellable job (``tasks.cancel``)."""
    return tasks.cancel(lock(tasks.visible_tasks(actor), Task, job_id, "Job"))
