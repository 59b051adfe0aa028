"""``GET /mes/tasks/{id}``: the task as JSON (family B), as a page, and — for htmx — as a
progress bar that polls itself every second and stops polling once the task has ended.

Tasks are the tenant's (another tenant's id is a 404). The finished document opens at
``/mes/tasks/{id}/file`` for whoever may see the task.
"""

from __future__ import annotations

from flask import send_file, url_for

from blueprints.mes import bp
from schemas.base import Binary
from schemas.mes import MesTask
from services import attachments, documents, tasks
from services.errors import NotFound
from web.access import current_actor, requires
from web.contract import Response, operation
from web.htmx import announce_task_done
from web.negotiate import respond, response_mode
from web.records import record_links

TEMPLATE = "tasks/task.html"


def _view(t) -> dict:
    row = tasks.task_row(t)
    row["file_url"] = url_for("mes.task_file", task_id=t.id) if t.status == "done" and _file(t) else None
    row["ended"] = t.status in tasks.ENDED
    return row


def _file(t):
    return documents.stored_pdf(t.tenant_id, t.result) if t.result else None


@bp.get("/tasks/<uuid:task_id>")
@requires()
@operation(responses={200: MesTask})
def task(task_id):
    """Get a single task

    ``{id, name, description, progress, result, started_at, completed_at, expires_at}``
    plus Wharf's ``status`` (queued, running, done, failed), ``error``, ``done``/``total``.
    """
    t = tasks.get_task(current_actor(), task_id)
    context = {"t": _view(t)}
    if response_mode() == "page":
        context["record"] = _record_of(t)
    resp = respond(tasks.task_row(t), template=TEMPLATE, block="task_progress", context=context)
    return announce_task_done(resp, t)


# The record a document task was made for (its params), for the way back from the task page.
_RECORD_PARAMS = (("parcel_id", "lcs:parcel"), ("shipment_id", "lcs:shipment"), ("list_id", "lcs:list"))


def _record_of(t) -> tuple[str, str | None] | None:
    """``(label, url)`` of the parcel, shipment or list the task's document is for."""
    params = t.params or {}
    ref = next(((kind, str(params[key])) for key, kind in _RECORD_PARAMS if params.get(key)), None)
    return record_links(current_actor(), [ref]).get(ref) if ref else None


@bp.get("/tasks/<uuid:task_id>/file")
@requires()
@operation(responses={200: Response(Binary, "The document", media_type="application/pdf"), 304: None})
def task_file(task_id):
    """The task's document

    The document a finished task produced (the PDF; 404 while there is none).
    """
    t = tasks.get_task(current_actor(), task_id)
    att = _file(t) if t.status == "done" else None
    if att is None:
        raise NotFound("This task has no document (yet)")
    resp = send_file(
        attachments.open_file(att),
        mimetype=att.mime_type,
        download_name=att.file_name,
        etag=att.checksum,
        conditional=True,
    )
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.cache_control.private = True
    return resp
