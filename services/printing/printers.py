"""Printers behind a hub: create, change, disable, and their health (online through the hub,
last printed, last error, jobs waiting)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from models import Hub, Printer, PrintJob, PrintStation, User, db, utcnow
from models.scope import get_visible
from schemas.spl import SETTINGS_MODELS, SplPrinterModel
from services.acl import Actor
from services.commands import Audited, audited, command, lock
from services.errors import NotFound
from services.printing import hubs

WAITING = ("scheduled", "received")


def snapshot(p: Printer) -> dict:
    return {
        "id": p.id,
        "name": p.name,
        "hubId": p.hub_id,
        "defaultEncoding": p.default_encoding,
        "connection": p.connection,
        "settings": p.settings,
        "disabledAt": p.disabled_at,
    }


PRINTER = Audited("spl_printer", snapshot, "printer")


def visible_printers(actor: Actor) -> sa.Select:
    """The tenant's printers, live ones first by name; a hub sees only its own."""
    stmt = actor.scope.select(Printer).order_by(Printer.disabled_at.is_not(None), Printer.name, Printer.id)
    own = hubs.calling_hub_id(actor)
    return stmt.where(Printer.hub_id == own) if own is not None else stmt


def get_printer(actor: Actor, printer_id) -> Printer:
    return get_visible(visible_printers(actor), Printer, printer_id, "Printer")


def live_printer(actor: Actor, printer_id) -> Printer:
    """A printer that can take jobs: not disabled, on a live hub."""
    p = get_printer(actor, printer_id)
    if p.disabled_at is not None:
        raise NotFound(f"Printer {p.name} is disabled")
    if p.hub.disabled_at is not None:
        raise NotFound(f"Printer {p.name}'s hub {p.hub.name} is disabled")
    return p


def waiting_counts(printer_ids) -> dict:
    rows = db.session.execute(
        sa.select(PrintJob.printer_id, sa.func.count(PrintJob.id))
        .where(PrintJob.printer_id.in_(list(printer_ids)), PrintJob.status.in_(WAITING))
        .group_by(PrintJob.printer_id)
    )
    return dict(rows.all())


def printer_row(p: Printer, waiting: int | None = None) -> dict:
    """``SplPrinter`` with Wharf's health fields."""
    if waiting is None:
        waiting = waiting_counts([p.id]).get(p.id, 0)
    return {
        "id": p.id,
        "name": p.name,
        "hub_id": p.hub_id,
        "default_encoding": p.default_encoding,
        "timezone": p.timezone,
        "connection": p.connection,
        "settings": p.settings,
        "inbox_id": p.inbox_id,
        "disabled_at": p.disabled_at,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
        "is_online": p.disabled_at is None and hubs.is_online(p.hub),
        "last_printed_at": p.last_printed_at,
        "last_error": p.last_error,
        "last_error_at": p.last_error_at,
        "jobs_waiting": waiting,
    }


def printer_rows(printers: list[Printer]) -> list[dict]:
    counts = waiting_counts([p.id for p in printers])
    return [printer_row(p, counts.get(p.id, 0)) for p in printers]


def _apply(p: Printer, data: SplPrinterModel, hub: Hub) -> None:
    p.name = data.name
    p.hub_id = hub.id
    p.default_encoding = data.default_encoding
    p.timezone = data.timezone
    p.connection = data.connection.model_dump()
    p.settings = data.settings


@command()
def create_printer(actor: Actor, data: SplPrinterModel) -> Printer:
    hub = hubs.live_hub(actor, data.hub_id)
    p = Printer(tenant_id=hub.tenant_id)
    _apply(p, data, hub)
    with audited(actor, "create", PRINTER, p):
        db.session.add(p)
    return p


@command()
def update_printer(actor: Actor, printer_id, data: SplPrinterModel) -> Printer:
    """Replace the configuration. Jobs already queued keep their bytes; jobs still waiting move
    with the printer to its new hub."""
    p = get_printer(actor, printer_id)
    hub = hubs.live_hub(actor, data.hub_id)
    lock(actor.scope, Printer, p.id)
    with audited(actor, "update", PRINTER, p):
        _apply(p, data, hub)
        db.session.execute(
            sa.update(PrintJob)
            .where(PrintJob.printer_id == p.id, PrintJob.status == "scheduled")
            .values(hub_id=hub.id, updated_at=utcnow())
        )
    return p


@command()
def set_inbox(actor: Actor, printer_id, inbox_id: str | None) -> Printer:
    p = get_printer(actor, printer_id)
    lock(actor.scope, Printer, p.id)
    with audited(actor, "update", PRINTER, p):
        p.inbox_id = inbox_id or None
    return p


@command()
def disable_printer(actor: Actor, printer_id) -> Printer:
    """The seed's DELETE disables: the printer stays listed with its history; its waiting jobs
    are cancelled, and pack stations and people stop using it as their default."""
    p = get_printer(actor, printer_id)
    lock(actor.scope, Printer, p.id)
    with audited(actor, "delete", PRINTER, p, label=f"Disable printer {p.name}"):
        if p.disabled_at is None:
            now = utcnow()
            p.disabled_at = now
            db.session.execute(
                sa.update(PrintJob)
                .where(PrintJob.printer_id == p.id, PrintJob.status.in_(WAITING))
                .values(status="cancelled", error="The printer was disabled", updated_at=now)
            )
            db.session.execute(sa.update(PrintStation).where(PrintStation.printer_id == p.id).values(printer_id=None))
            db.session.execute(sa.update(User).where(User.default_printer_id == p.id).values(default_printer_id=None))
    return p


def settings_schema(kind: str) -> dict:
    """``SplSettingsSchema``: the JSON Schema of a printer type's settings, as text (the seed
    types ``escpos`` and ``pcl`` are not printed by Wharf: 404)."""
    model = SETTINGS_MODELS.get(kind)
    if model is None:
        raise NotFound(f"Wharf prints zpl and pdf; there are no {kind} settings")
    return {"type": kind, "schema": json.dumps(model.model_json_schema(), separators=(",", ":"))}
