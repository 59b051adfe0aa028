"""Background tasks (seed 001 ``/mes/tasks``): one row per unit of work, one runner.

A task function is registered by name (``@task("lcs.parcel.label")``) and called as
``fn(ctx, **params)`` inside an app context; it reports progress through ``ctx`` and
returns its result (e.g. a file id). Where it runs:

- ``TASKS_EAGER`` (default: on when ``TESTING``): at once, in the caller's thread;
- ``REDIS_URL`` set: an RQ job on ``TASKS_QUEUE``, run by ``flask --app app worker``;
- otherwise: a small in-process thread pool (``TASKS_WORKERS``, default 2).

The same ``run()`` executes the task in all three: it claims the row (queued → running),
and whatever happens — an exception, a timeout, ``SystemExit`` — the row ends ``done`` or
``failed`` with the error. A worker that dies outright (killed, segfault) cannot write
anything, so a task still ``running`` past ``TASKS_TIMEOUT_SECONDS`` (or ``queued`` past
``TASKS_QUEUED_SECONDS``) is declared failed the next time anyone reads it.

Cancelling is cooperative: a queued task ends ``cancelled`` at once (the runner's claim then
finds nothing), a running one gets ``cancel_requested_at`` and stops at its next
``ctx.progress`` — between documents, before anything of the batch is written — ending
``cancelled``; work that finishes first ends ``done``. Only ``cancellable`` tasks may be
cancelled (a single label is quicker to finish than to stop).

*External* tasks (seed 000's progress jobs made through ``POST /progress/jobs``) live in the
same table but have no function: the integration that made them reports their progress, so
they are never dispatched, and one that stops reporting for ``TASKS_TIMEOUT_SECONDS`` is
declared failed like a vanished worker (``services/progress.py``).

A *job* (``@job("auth.password_reset.mail")``, started by ``defer``) runs in the same place
but has no row: system work that no tenant owns and nobody polls, taken out of the request
so the request's cost says nothing about what the job found. Its failures are logged.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from redis import Redis
from rq import Callback, Queue, SimpleWorker, Worker

from models import HandlingList, Parcel, Shipment, Task, db, utcnow
from models.base import aware
from models.scope import get_visible
from services.acl import SYSTEM, Actor
from services.commands import after_commit, command
from services.errors import Conflict, DomainError

log = logging.getLogger("wharf.tasks")

REGISTRY: dict[str, Callable] = {}
JOBS: dict[str, Callable] = {}
DEFAULTS = {
    "TASKS_WORKERS": 2,
    "TASKS_QUEUE": "wharf",
    "TASKS_TIMEOUT_SECONDS": 600,
    "TASKS_QUEUED_SECONDS": 3600,
    "TASKS_TTL_SECONDS": 7 * 24 * 3600,
}
ENDED = ("done", "failed", "cancelled")
ACTIVE = ("queued", "running")


def task(name: str):
    """Register ``fn(ctx, **params)`` as the task ``name``."""

    def register(fn):
        REGISTRY[name] = fn
        return fn

    return register


def setting(name: str, app: Flask | None = None):
    app = app or current_app
    if name == "TASKS_EAGER":
        return bool(app.config.get("TASKS_EAGER", app.testing))
    return app.config.get(name, DEFAULTS.get(name))


def job(name: str):
    """Register ``fn(**params)`` as the row-less job ``name`` (see ``defer``)."""

    def register(fn):
        JOBS[name] = fn
        return fn

    return register


# --- the row -------------------------------------------------------------------------------------


def task_row(t: Task) -> dict:
    """The seed's ``MesTask`` (plus ``status``, ``error`` and the batch counters)."""
    return {
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "progress": t.progress,
        "result": t.result,
        "started_at": t.started_at,
        "completed_at": t.completed_at,
        "expires_at": t.expires_at,
        "status": t.status,
        "error": t.error,
        "done": t.done,
        "total": t.total,
    }


# The record a document task is made for (its params) and the feature that reads it: a task
# is visible only while its record is (an object grant taken away hides the task and its file).
TASK_RECORDS = (
    ("parcel_id", Parcel, "lcs.handling.read"),
    ("list_id", HandlingList, "lcs.handling.read"),
    ("shipment_id", Shipment, "lcs.shipments.read"),
)


def _param_id(key: str) -> sa.ColumnElement:
    """The record id a task's ``params[key]`` names, comparable with a UUID column (SQLite keeps
    UUIDs as 32 hex digits, the params their text with dashes)."""
    text = Task.params[key].as_string()
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.cast(text, sa.Uuid)
    return sa.func.replace(text, "-", "")


def visible_tasks(actor: Actor) -> sa.Select:
    """The tasks ``actor`` may see: its scope's, minus those made for a record it may not read
    (an object grant taken away hides the task, its name and its file)."""
    stmt = actor.scope.select(Task)
    if actor.principal is None:
        return stmt
    for key, model, feature in TASK_RECORDS:
        reader = actor.acting_with([feature]).scope
        if reader.restricts(model):
            readable = reader.select(model).where(model.id == _param_id(key)).exists()
            stmt = stmt.where(sa.or_(Task.params[key].as_string().is_(None), readable))
    return stmt


def get_task(actor: Actor, task_id) -> Task:
    t = get_visible(visible_tasks(actor), Task, task_id, "Task")
    reap(t)
    return t


@command()
def reap(t: Task) -> bool:
    """Declare a task whose worker vanished failed (see the module docstring)."""
    if t.status in ENDED:
        return False
    now = utcnow()
    if t.status == "running":
        limit = timedelta(seconds=int(setting("TASKS_TIMEOUT_SECONDS")))
        if t.external:  # its integration reports it: silence is what counts, not length
            if aware(t.updated_at) + limit > now:
                return False
            error = f"No progress reported for {int(limit.total_seconds())} s"
        elif aware(t.started_at or t.created_at) + limit > now:
            return False
        else:
            error = f"The worker stopped: no result after {int(limit.total_seconds())} s"
    else:
        limit = timedelta(seconds=int(setting("TASKS_QUEUED_SECONDS")))
        if aware(t.created_at) + limit > now:
            return False
        error = f"No worker picked the task up within {int(limit.total_seconds())} s"
    done = db.session.execute(
        sa.update(Task)
        .where(Task.id == t.id, Task.status.in_(("queued", "running")))
        .values(status="failed", error=error, completed_at=now, updated_at=now)
    ).rowcount
    db.session.refresh(t)
    return bool(done)


# --- creating and dispatching --------------------------------------------------------------------


def requester_id(actor: Actor):
    principal = actor.principal
    if principal is None:
        return None
    return getattr(principal, "created_by_id", None) if getattr(principal, "is_api_key", False) else principal.id


@command()
def enqueue(
    actor: Actor,
    name: str,
    params: dict,
    *,
    description: str = "",
    total: int = 1,
    tenant_id=None,
    organization_id=None,
    cancellable: bool = False,
) -> Task:
    """Record a task for ``actor``'s tenant (in the organization of the record it is for) and
    hand it to the runner once committed."""
    if name not in REGISTRY:
        raise ValueError(f"unknown task {name}")
    t = Task(
        tenant_id=tenant_id or actor.tenant_for_new(),
        organization_id=organization_id,
        name=name,
        description=description[:500],
        params=params,
        total=max(1, total),
        cancellable=cancellable,
        created_by=requester_id(actor),
        expires_at=utcnow() + timedelta(seconds=int(setting("TASKS_TTL_SECONDS"))),
    )
    db.session.add(t)
    db.session.flush()
    after_commit(lambda: _dispatch_and_reload(t))
    return t


def _dispatch_and_reload(t: Task) -> None:
    dispatch(t.id)
    db.session.refresh(t)  # an eager run finished it in its own session


@command()
def cancel(t: Task) -> Task:
    """Stop ``t`` (see the module docstring): a queued task (or an external job, which stops
    by itself reading it) ends cancelled now, a running one of Wharf's at its next document.
    An ended or not cancellable task is a 409."""
    if not t.cancellable:
        raise Conflict(f"{t.label or t.description or t.name} cannot be cancelled")
    now = utcnow()
    at_once = sa.or_(Task.status == "queued", Task.external.is_(True))
    ended = db.session.execute(
        sa.update(Task)
        .where(Task.id == t.id, Task.status.in_(ACTIVE), at_once)
        .values(status="cancelled", cancel_requested_at=now, completed_at=now, eta_seconds=None, updated_at=now)
    ).rowcount
    if not ended:
        asked = db.session.execute(
            sa.update(Task)
            .where(Task.id == t.id, Task.status == "running", Task.cancel_requested_at.is_(None))
            .values(cancel_requested_at=now, updated_at=now)
        ).rowcount
        db.session.refresh(t)
        if not asked and t.cancel_requested_at is None:
            raise Conflict(f"{t.label or t.description or t.name} has already ended")
    db.session.refresh(t)
    return t


def dispatch(task_id) -> None:
    _submit(run, run_job, str(task_id), description=f"wharf task {task_id}", on_failure=job_failed)


def defer(name: str, params: dict) -> None:
    """Run the job ``name(**params)`` where tasks run, after the caller's request has its
    answer (at once when ``TASKS_EAGER``). ``params`` must be JSON-like (RQ pickles them)."""
    if name not in JOBS:
        raise ValueError(f"unknown job {name}")
    _submit(run_deferred, run_deferred_job, name, params, description=f"wharf job {name}")


def _submit(local: Callable, remote: Callable, *args, description: str, on_failure: Callable | None = None) -> None:
    """The one place that decides where background work runs: ``local(*args, app)`` in this
    thread or the pool, or ``remote(*args)`` as an RQ job."""
    app = current_app._get_current_object()
    if setting("TASKS_EAGER", app):
        local(*args, app)
    elif app.config.get("REDIS_URL"):
        rq_queue(app).enqueue(
            remote,
            *args,
            job_timeout=int(setting("TASKS_TIMEOUT_SECONDS", app)),
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            description=description,
            on_failure=Callback(on_failure) if on_failure else None,
        )
    else:
        executor(app).submit(local, *args, app)


_executors: dict[int, ThreadPoolExecutor] = {}
_executors_lock = threading.Lock()


def executor(app: Flask) -> ThreadPoolExecutor:
    """One pool per app, created on first use."""
    with _executors_lock:
        pool = _executors.get(id(app))
        if pool is None:
            pool = _executors[id(app)] = ThreadPoolExecutor(
                max_workers=int(setting("TASKS_WORKERS", app)), thread_name_prefix="wharf-task"
            )
        return pool


def redis_client(app: Flask) -> Redis:
    """One Redis client per app, made on first use: its connection pool is shared by the
    process's threads and kept between requests (a client per enqueue paid a new connection
    every time; importing rq lazily paid 80 ms on each worker's first label)."""
    clients = app.extensions.setdefault("wharf_redis", {})
    if "client" not in clients:
        clients["client"] = Redis.from_url(app.config["REDIS_URL"])
    return clients["client"]


def rq_queue(app: Flask, name: str | None = None) -> Queue:
    return Queue(name or setting("TASKS_QUEUE", app), connection=redis_client(app))


# --- running ---------------------------------------------------------------------------------------


@dataclass
class TaskContext:
    """What a task function gets: its row, its requester, and a way to report progress."""

    task: Task

    @property
    def tenant_id(self):
        return self.task.tenant_id

    def actor(self) -> Actor:
        """The requester (for business-rule listeners); the system when they are gone."""
        from models import User

        user = db.session.get(User, self.task.created_by) if self.task.created_by else None
        return Actor.of(user) if user is not None else SYSTEM

    def progress(self, done: int, total: int | None = None) -> None:
        """``done`` of ``total`` documents finished (committed at once so pollers see it).
        Also where a task stops when asked to: ``TaskStopped`` once it was cancelled (or
        declared failed), so call it before each unit of work and before writing the result."""
        t = self.task
        total = max(1, total if total is not None else t.total or 1)
        done = max(0, min(done, total))
        now = utcnow()
        going_on = db.session.execute(
            sa.update(Task)
            .where(Task.id == t.id, Task.status == "running", Task.cancel_requested_at.is_(None))
            .values(total=total, done=done, progress=min(99, round(100 * done / total)), updated_at=now)
        ).rowcount
        db.session.commit()  # progress is its own commit: pollers see it while the task runs
        if not going_on:
            raise TaskStopped(t.id)


class TaskStopped(Exception):
    """The task was cancelled (or declared failed) while it ran: it stops, writing nothing more."""


def init_app(app: Flask, modules) -> None:
    """Wire the runner (``create_app`` calls this): ``modules`` are those whose ``@task`` and
    ``@job`` functions it runs, named by the app rather than imported here (a worker is this
    same app, ``flask --app app worker``, so it knows them too)."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    app.extensions["wharf.tasks"] = tuple(m.__name__ for m in modules)


def _error_text(e: BaseException) -> str:
    text = e.message if isinstance(e, DomainError) else f"{type(e).__name__}: {e}"
    return text[:2000]


def run(task_id, app: Flask | None = None) -> None:
    """Run one task to its end (done or failed) inside a fresh app context."""
    app = app or _app()
    with app.app_context():
        try:
            _run(uuid.UUID(str(task_id)))
        finally:
            db.session.remove()


def _run(task_id: uuid.UUID) -> None:
    now = utcnow()
    claimed = db.session.execute(
        sa.update(Task)
        .where(Task.id == task_id, Task.status == "queued")
        .values(status="running", started_at=now, updated_at=now)
    ).rowcount
    db.session.commit()  # the claim is durable before the work starts: no second worker runs it
    if not claimed:
        log.info("task %s is not queued (already run or gone): skipped", task_id)
        return
    t = db.session.get(Task, task_id)
    try:
        fn = REGISTRY.get(t.name)
        if fn is None:
            raise LookupError(f"no task function named {t.name}")
        result = fn(TaskContext(t), **(t.params or {}))
        db.session.commit()  # the task's own writes (its functions may commit in steps, as progress does)
        now = utcnow()
        db.session.execute(  # a cancel asked after the last unit came too late: the work is done
            sa.update(Task)
            .where(Task.id == task_id, Task.status == "running")
            .values(
                status="done",
                progress=100,
                done=sa.func.coalesce(Task.total, Task.done),
                result=None if result is None else str(result)[:2000],
                eta_seconds=None,
                completed_at=now,
                updated_at=now,
            )
        )
        db.session.commit()  # the outcome, once the work is durable
        log.info("task %s %s done result=%s", task_id, t.name, result)
    except TaskStopped:
        db.session.rollback()
        _stopped(task_id)
        log.info("task %s stopped: cancelled", task_id)
    except BaseException as e:
        db.session.rollback()
        if isinstance(e, DomainError):
            log.warning("task %s %s refused: %s", task_id, getattr(t, "name", "?"), e.message)
        else:
            log.exception("task %s failed", task_id)
        _fail(task_id, _error_text(e))
        if not isinstance(e, Exception):
            raise


def run_deferred(name: str, params: dict, app: Flask | None = None) -> None:
    """Run one job inside a fresh app context; whatever happens is logged, never raised (an
    eager run is inside a request, whose answer must not depend on the job)."""
    app = app or _app()
    with app.app_context():
        try:
            JOBS[name](**params)
            log.info("job %s done", name)
        except Exception:
            db.session.rollback()
            log.exception("job %s failed", name)
        finally:
            db.session.remove()


@command()
def _stopped(task_id) -> None:
    """A running task that stopped on its cancel request ends cancelled (a reaped one stays failed)."""
    now = utcnow()
    db.session.execute(
        sa.update(Task)
        .where(Task.id == task_id, Task.status == "running", Task.cancel_requested_at.is_not(None))
        .values(status="cancelled", eta_seconds=None, completed_at=now, updated_at=now)
    )


@command()
def _fail(task_id, error: str) -> None:
    now = utcnow()
    db.session.execute(
        sa.update(Task)
        .where(Task.id == task_id, Task.status.in_(("queued", "running")))
        .values(status="failed", error=error, completed_at=now, updated_at=now)
    )


# --- RQ ---------------------------------------------------------------------------------------------

_worker_app: Flask | None = None
_pid = os.getpid()


def _app() -> Flask:
    """The app a job runs in: the current one (tests, the in-process pool), else the one
    ``work()`` was started with — jobs run only in ``flask --app app worker``, never in a
    bare ``rq worker`` that has no app (services do not build the app themselves)."""
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        raise RuntimeError("no Wharf app for this job: run workers with `flask --app app worker`")
    return _worker_app


def _job_app() -> Flask:
    global _pid
    app = _app()
    if os.getpid() != _pid:  # a forked work horse must not reuse the parent's connections
        with app.app_context():
            db.engine.dispose(close=False)
        _pid = os.getpid()
    return app


def run_job(task_id: str) -> None:
    """The RQ job function of a task (``services.tasks.run_job``)."""
    run(task_id, _job_app())


def run_deferred_job(name: str, params: dict) -> None:
    """The RQ job function of a row-less job (``services.tasks.run_deferred_job``)."""
    run_deferred(name, params, _job_app())


def job_failed(job, connection, exc_type, exc_value, tb) -> None:
    """RQ's failure callback (timeouts, a work horse that died): the task ends failed."""
    app = _app()
    with app.app_context():
        try:
            _fail(uuid.UUID(str(job.args[0])), f"{getattr(exc_type, '__name__', 'Error')}: {exc_value}"[:2000])
        finally:
            db.session.remove()


def work(app: Flask, *, queue: str | None = None, burst: bool = False, fork: bool = False) -> None:
    """``flask --app app worker``: one long-lived process (WeasyPrint stays warm) unless ``fork``."""
    global _worker_app
    _worker_app = app
    if not app.config.get("REDIS_URL"):
        raise RuntimeError("REDIS_URL is not set: tasks run in the web process's own thread pool")
    worker_cls = Worker if fork else SimpleWorker
    worker_cls([queue or setting("TASKS_QUEUE", app)], connection=redis_client(app)).work(burst=burst)
