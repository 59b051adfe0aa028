"""Pack stations: a named bench with its own barcode and printer. Scanning the barcode binds
a signed-in session to the bench (the web layer keeps the binding), so every label closed
there prints there."""

from __future__ import annotations

import sqlalchemy as sa

from models import PrintStation, User, db, utcnow
from models.scope import get_visible
from services.acl import Actor
from services.commands import Audited, audited, command, lock
from services.errors import NotFound
from services.printing.printers import get_printer, live_printer


def snapshot(s: PrintStation) -> dict:
    return {"id": s.id, "name": s.name, "code": s.code, "printerId": s.printer_id}


STATION = Audited("spl_station", snapshot, "pack station")


def stations_query(actor: Actor) -> sa.Select:
    return actor.scope.select(PrintStation).order_by(PrintStation.name, PrintStation.id)


def get_station(actor: Actor, station_id) -> PrintStation:
    return get_visible(stations_query(actor), PrintStation, station_id, "Station")


def station_by_code(actor: Actor, code: str) -> PrintStation:
    found = station_with_code(actor, code)
    if found is None:
        raise NotFound(f"No pack station has the code {code.strip()!r}")
    return found


def station_with_code(actor: Actor, code: str) -> PrintStation | None:
    """The station whose barcode ``code`` is, if any (a pack scan may be one)."""
    return db.session.scalars(stations_query(actor).where(PrintStation.code == code.strip())).first()


def find_station(actor: Actor, station_id) -> PrintStation | None:
    """The station by id, None when it is gone (a session may outlive its station)."""
    if station_id is None:
        return None
    try:
        return get_station(actor, station_id)
    except NotFound:
        return None


def station_row(s: PrintStation) -> dict:
    return {
        "id": s.id,
        "name": s.name,
        "code": s.code,
        "printer_id": s.printer_id,
        "printer_name": s.printer.name if s.printer else None,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    }


def _printer_id(actor: Actor, printer_id):
    return live_printer(actor, printer_id).id if printer_id else None


@command(conflict=lambda actor, data, *a: f"Another pack station has the code {data.code}")
def create_station(actor: Actor, data, tenant_id=None) -> PrintStation:
    s = PrintStation(tenant_id=actor.tenant_for_new(tenant_id), name=data.name, code=data.code)
    s.printer_id = _printer_id(actor, data.printer_id)
    with audited(actor, "create", STATION, s):
        db.session.add(s)
    return s


@command(conflict=lambda actor, station_id, data: f"Another pack station has the code {data.code}")
def update_station(actor: Actor, station_id, data) -> PrintStation:
    s = get_station(actor, station_id)
    lock(actor.scope, PrintStation, s.id)
    with audited(actor, "update", STATION, s):
        s.name, s.code, s.printer_id = data.name, data.code, _printer_id(actor, data.printer_id)
    return s


@command()
def delete_station(actor: Actor, station_id) -> PrintStation:
    s = get_station(actor, station_id)
    lock(actor.scope, PrintStation, s.id)
    with audited(actor, "delete", STATION, s):
        s.deleted_at = utcnow()
    return s


@command()
def set_default_printer(actor: Actor, printer_id) -> User | None:
    """The signed-in person's own default printer (None clears it)."""
    user = db.session.get(User, actor.user_id) if actor.user_id else None
    if user is None:
        raise NotFound("Only a person has a default printer")
    user.default_printer_id = _printer_id(actor, printer_id)
    return user


def default_printer_of(actor: Actor):
    """The person's default printer if it can still print, else None."""
    user = db.session.get(User, actor.user_id) if actor.user_id else None
    if user is None or user.default_printer_id is None:
        return None
    try:
        return live_printer(actor, user.default_printer_id)
    except NotFound:
        return None


def station_printer(actor: Actor, station_id):
    """The printer of the bound station, if the station and its printer still exist."""
    s = find_station(actor, station_id)
    if s is None or s.printer_id is None:
        return None
    try:
        return get_printer(actor, s.printer_id)
    except NotFound:
        return None
