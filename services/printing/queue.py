"""The print queue: jobs for printers, delivered by their hub at least once.

A job's bytes are fixed when it is queued, in the printer's language (a PDF sent to a ZPL
printer is converted here), so the hub only moves bytes. ``scheduled`` → the hub pulls it
(``received``, leased) → it reports ``printed`` or ``failed``. A retryable failure goes back
to ``scheduled`` after a growing delay until the attempts run out. A hub that restarts gets
back the jobs it held; its own journal keeps it from printing one twice, and a second
``printed`` report changes nothing. ``reference`` is the client's idempotency key.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from datetime import datetime, timedelta
from urllib.parse import unquote_to_bytes

import sqlalchemy as sa
from flask import current_app
from pypdfium2 import PdfiumError
from zebrafy import ZebrafyPDF

from models import Attachment, Hub, Printer, PrintJob, Task, db, utcnow
from schemas.spl import MAX_JOB_BYTES, SplJobModel, SplPull, SplStatus
from services import attachments
from services.acl import Actor
from services.commands import command, lock
from services.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from services.printing import hubs
from services.printing.printers import live_printer

LEASE = timedelta(minutes=5)  # a received job comes back to its hub after this without a report
RETRY_DELAYS = (2.0, 5.0, 15.0, 30.0)  # seconds before the 2nd, 3rd, … attempt
MAX_ATTEMPTS = 5
POLL_INTERVAL = 0.25  # how often a waiting pull looks for new jobs
ZPL_TYPES = {"application/zpl", "application/x-zpl", "application/vnd.zebra-zpl", "text/zpl", "text/plain"}
PDF_TYPES = {"application/pdf"}
STATUS_ALIASES = {"pending": "received", "success": "printed"}  # the seed's SplJob/SplJobResult words


class TooLarge(DomainError):
    status = 413
    default_message = "The document is too large to print"


def _invalid(message: str, field: str = "job") -> ValidationFailed:
    return ValidationFailed(message, details=[{"path": [field], "message": message, "kind": "invalid value"}])


def _setting(name: str, default):
    return current_app.config.get(name, default)


# --- what to print ------------------------------------------------------------------------------


def _data_uri(text: str) -> tuple[bytes, str]:
    """``data:[type][;base64],payload`` → (bytes, encoding)."""
    head, comma, payload = text[5:].partition(",")
    if not comma:
        raise _invalid("job is a data: URI without a comma before its content")
    params = head.split(";")
    media = (params[0] or "text/plain").strip().lower()
    if media in PDF_TYPES:
        encoding = "pdf"
    elif media in ZPL_TYPES:
        encoding = "zpl"
    else:
        raise _invalid(f"Unknown encoding {media!r}: send ZPL (application/zpl) or PDF (application/pdf)")
    if "base64" in (p.strip().lower() for p in params[1:]):
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid("job's base64 content is not valid base64") from None
    else:
        data = unquote_to_bytes(payload)
    return data, encoding


def _stored(actor: Actor, text: str) -> tuple[bytes, str]:
    """A stored document: an attachment id, or the id of a finished task whose result is one."""
    try:
        key = uuid.UUID(text.strip())
    except ValueError:
        raise _invalid("job is neither a document id nor a data: URI") from None
    att = db.session.scalars(actor.scope.select(Attachment).where(Attachment.id == key)).first()
    if att is None:
        task = db.session.scalars(actor.scope.select(Task).where(Task.id == key)).first()
        if task is not None and task.status != "done":
            raise Conflict(f"Task {task.description or task.name} has not finished: print it once it is done")
        if task is not None and task.result:
            att = db.session.scalars(actor.scope.select(Attachment).where(Attachment.id == task.result)).first()
    if att is None:
        raise NotFound("Document not found")
    if att.mime_type in PDF_TYPES:
        encoding = "pdf"
    elif att.mime_type in ZPL_TYPES:
        encoding = "zpl"
    else:
        raise _invalid(f"Document {att.file_name} is {att.mime_type}: only PDF and ZPL documents print")
    if att.file_size > MAX_JOB_BYTES:
        raise TooLarge(f"Document {att.file_name} is larger than {MAX_JOB_BYTES // (1024 * 1024)} MB")
    with attachments.open_file(att) as f:
        return f.read(), encoding


def pdf_to_zpl(pdf: bytes, dpi: int) -> bytes:
    """Every page of a PDF as a ZPL graphic, for a label printer (zebrafy renders with pdfium)."""
    try:
        return ZebrafyPDF(pdf, format="Z64", dpi=dpi, split_pages=False).to_zpl().encode()
    except (PdfiumError, ValueError) as e:  # a damaged or empty PDF
        raise _invalid(f"The PDF cannot be read: {e}") from None


def in_printer_language(data: bytes, encoding: str, printer: Printer) -> bytes:
    """The bytes as ``printer`` takes them: PDF becomes ZPL for a label printer; ZPL cannot
    become PDF (a label printer's language for an office printer) and is refused."""
    if encoding == printer.default_encoding:
        return data
    if encoding == "pdf":
        return pdf_to_zpl(data, int((printer.settings or {}).get("dpi", 203)))
    raise _invalid(f"Printer {printer.name} takes PDF; a ZPL document cannot print there")


def document_of(actor: Actor, text: str) -> tuple[bytes, str]:
    data, encoding = _data_uri(text) if text.startswith("data:") else _stored(actor, text)
    if not data:
        raise _invalid("The document is empty")
    if len(data) > MAX_JOB_BYTES:
        raise TooLarge(f"The document is larger than {MAX_JOB_BYTES // (1024 * 1024)} MB")
    return data, encoding


# --- queueing -------------------------------------------------------------------------------------


def visible_jobs(actor: Actor) -> sa.Select:
    stmt = actor.scope.select(PrintJob)
    own = hubs.calling_hub_id(actor)
    return stmt.where(PrintJob.hub_id == own) if own is not None else stmt


def get_job(actor: Actor, reference: str) -> PrintJob:
    """By reference (what the queue answered), or by id."""
    cond = PrintJob.reference == reference
    try:
        cond = sa.or_(cond, PrintJob.id == uuid.UUID(reference))
    except ValueError:
        pass
    found = db.session.scalars(visible_jobs(actor).where(cond).order_by(PrintJob.created_at)).first()
    if found is None:
        raise NotFound("Job not found")
    return found


def _printer_of_tag(actor: Actor, tag: str) -> Printer:
    try:
        printer_id = uuid.UUID(tag.strip())
    except ValueError:
        raise NotFound("Printer not found: tag is the id of a printer") from None
    return live_printer(actor, printer_id)


def enqueue(
    actor: Actor, printer: Printer, data: bytes, *, job: str, description: str, reference=None, schedule_at=None
):
    """Stage a job for ``printer`` with ``data`` already in its language."""
    job_id = uuid.uuid4()
    row = PrintJob(
        id=job_id,
        tenant_id=printer.tenant_id,
        job=job,
        tag=str(printer.id),
        description=description,
        reference=reference or str(job_id),
        status="scheduled",
        printer_id=printer.id,
        hub_id=printer.hub_id,
        encoding=printer.default_encoding,
        content=data,
        schedule_at=schedule_at,
        requested_by=actor.user_id,
    )
    db.session.add(row)
    db.session.flush()
    return row


@command(conflict=lambda actor, data: f"A job with reference {data.reference} was queued at the same time")
def submit(actor: Actor, data: SplJobModel) -> tuple[PrintJob, bool]:
    """``POST /spl/queue``: (job, created). The same ``reference`` again is the job already
    queued (nothing is printed twice); a ``hub_id`` other than the printer's is a 404."""
    if data.reference:
        found = db.session.scalars(visible_jobs(actor).where(PrintJob.reference == data.reference)).first()
        if found is not None:
            return found, False
    printer = _printer_of_tag(actor, data.tag)
    if data.hub_id is not None and data.hub_id != printer.hub_id:
        raise NotFound(f"Printer {printer.name} is not on hub {data.hub_id}")
    content, encoding = document_of(actor, data.job)
    content = in_printer_language(content, encoding, printer)
    row = enqueue(
        actor,
        printer,
        content,
        job=data.job,
        description=data.description,
        reference=data.reference,
        schedule_at=data.schedule_at,
    )
    return row, True


def job_text(job: PrintJob) -> str:
    """``job`` as answered: a data: URI is shortened to its media type (the bytes are the artifact)."""
    if job.job.startswith("data:"):
        return job.job.split(",", 1)[0] + ",…"
    return job.job


def job_row(job: PrintJob, artifact_url: str) -> dict:
    return {
        "id": job.id,
        "job": job_text(job),
        "tag": job.tag,
        "description": job.description,
        "artifact": artifact_url,
        "reference": job.reference,
        "status": job.status,
        "hub_id": job.hub_id,
        "schedule_at": job.schedule_at,
        "printed_at": job.printed_at,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "printer_id": job.printer_id,
        "encoding": job.encoding,
        "attempts": job.attempts,
        "error": job.error,
        "reprint_of": job.reprint_of,
    }


def queue_query(actor: Actor, *, status=None, printer_id=None, tag=None) -> sa.Select:
    stmt = visible_jobs(actor)
    if status:
        stmt = stmt.where(PrintJob.status == status)
    if printer_id:
        stmt = stmt.where(PrintJob.printer_id == printer_id)
    if tag:
        stmt = stmt.where(PrintJob.tag == tag)
    return stmt


# --- the hub's side -------------------------------------------------------------------------------


def _due(hub_id, now: datetime, restart: bool):
    """Jobs this hub should have: scheduled and due, or held by it and not reported in time
    (all it held, after a restart)."""
    held = PrintJob.status == "received"
    if not restart:
        held = sa.and_(held, PrintJob.lease_until < now)
    scheduled = sa.and_(
        PrintJob.status == "scheduled", sa.or_(PrintJob.schedule_at.is_(None), PrintJob.schedule_at <= now)
    )
    return sa.and_(PrintJob.hub_id == hub_id, sa.or_(scheduled, held))


@command()
def _take(actor: Actor, hub_id, pull: SplPull, remote_ip: str | None, restart: bool) -> list[PrintJob]:
    hub = hubs.live_hub(actor, hub_id)
    lock(actor.scope, Hub, hub.id)  # one pull of a hub at a time takes its jobs
    hubs.heartbeat(hub, remote_ip=remote_ip, pull=pull)
    now = utcnow()
    jobs = list(
        db.session.scalars(
            sa.select(PrintJob)
            .join(Printer, Printer.id == PrintJob.printer_id)
            .where(_due(hub.id, now, restart), Printer.disabled_at.is_(None))
            .order_by(PrintJob.created_at, PrintJob.id)
            .limit(pull.limit)
        )
    )
    for job in jobs:
        job.status = "received"
        job.lease_until = now + LEASE
    return jobs


def pull(actor: Actor, hub_id, data: SplPull, remote_ip: str | None) -> list[PrintJob]:
    """The agent's long poll: its due jobs, waiting up to ``data.wait`` seconds for one.
    Each look is its own short transaction, so the wait holds no lock and no connection.
    A hub pulls its own jobs only; a person or key holding ``spl.agent`` may stand in for one."""
    hub_id = hubs.get_hub(actor, hub_id).id
    deadline = time.monotonic() + data.wait
    restart = data.restart
    while True:
        jobs = _take(actor, hub_id, data, remote_ip, restart)
        restart = False
        if jobs or time.monotonic() >= deadline:
            return jobs
        db.session.remove()  # give the connection back while waiting
        time.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))


def _retry_delay(attempts: int) -> float:
    delays = _setting("SPL_RETRY_DELAYS", RETRY_DELAYS)
    return float(delays[min(attempts - 1, len(delays) - 1)])


@command()
def set_status(actor: Actor, reference: str, data: SplStatus) -> PrintJob:
    """``PUT /spl/queue/{reference}``. The hub reports ``received``, ``printed``, ``failed``;
    people may cancel a scheduled job or schedule a failed one again."""
    job = get_job(actor, reference)
    lock(actor.scope, PrintJob, job.id)
    status = STATUS_ALIASES.get(data.status, data.status)
    now = data.changed_at or utcnow()
    if status in ("received", "printed", "failed"):
        if hubs.calling_hub_id(actor) is None and not actor.grants.allows(["spl.agent"]):
            raise Forbidden(f"Only the hub reports a job {status}; you may cancel it or schedule it again")
        _hub_report(job, status, now, data)
    elif status == "cancelled":
        if job.status not in ("scheduled", "cancelled"):
            raise Conflict(f"Job {job.reference} is {job.status}: only a scheduled job can be cancelled")
        job.status = "cancelled"
    else:  # scheduled: try again
        if job.status == "scheduled":
            return job
        if job.status not in ("failed", "cancelled"):
            raise Conflict(f"Job {job.reference} is {job.status}: only a failed or cancelled job is scheduled again")
        job.status, job.attempts, job.error, job.schedule_at, job.lease_until = "scheduled", 0, None, None, None
    return job


def _hub_report(job: PrintJob, status: str, when: datetime, data: SplStatus) -> None:
    if job.status in ("printed", "cancelled") or (job.status == "failed" and status != "printed"):
        return  # a repeated or late report changes nothing: a job is recorded printed once
    printer = job.printer
    if status == "received":
        job.status = "received"
        job.lease_until = utcnow() + LEASE
    elif status == "printed":
        job.status, job.printed_at, job.error, job.lease_until = "printed", when, None, None
        job.attempts += 1
        printer.last_printed_at = when
    else:
        job.attempts += 1
        job.error = data.error or "The printer refused the job"
        printer.last_error, printer.last_error_at = job.error, when
        job.lease_until = None
        if data.retryable and job.attempts < int(_setting("SPL_MAX_ATTEMPTS", MAX_ATTEMPTS)):
            job.status = "scheduled"
            job.schedule_at = utcnow() + timedelta(seconds=_retry_delay(job.attempts))
        else:
            job.status = "failed"


# --- operators ------------------------------------------------------------------------------------


@command()
def reprint(actor: Actor, reference: str, printer_id=None) -> PrintJob:
    """A new job with the same bytes (on another printer of the same language when asked)."""
    old = get_job(actor, reference)
    printer = live_printer(actor, printer_id or old.printer_id)
    if printer.default_encoding != old.encoding:
        raise Conflict(f"Printer {printer.name} takes {printer.default_encoding}; this job is {old.encoding}")
    row = enqueue(actor, printer, old.content, job=old.job, description=old.description)
    row.reprint_of = old.id
    return row


@command()
def redirect(actor: Actor, reference: str, printer_id) -> PrintJob:
    """Send a job that has not printed to another printer of the same language instead."""
    job = get_job(actor, reference)
    lock(actor.scope, PrintJob, job.id)
    if job.status not in ("scheduled", "failed"):
        raise Conflict(f"Job {job.reference} is {job.status}: redirect a scheduled or failed job, or reprint it")
    printer = live_printer(actor, printer_id)
    if printer.default_encoding != job.encoding:
        raise Conflict(f"Printer {printer.name} takes {printer.default_encoding}; this job is {job.encoding}")
    job.printer_id, job.hub_id, job.tag = printer.id, printer.hub_id, str(printer.id)
    job.status, job.attempts, job.error, job.schedule_at, job.lease_until = "scheduled", 0, None, None, None
    return job
