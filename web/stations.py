"""The pack station a browser session is bound to (scanning the station's barcode binds it):
labels closed in this session print on that station's printer."""

from __future__ import annotations

from flask import session

SESSION_KEY = "spl_station_id"


def bound_station_id() -> str | None:
    """None for API clients (no session) and unbound sessions."""
    return session.get(SESSION_KEY)


def bind(station_id) -> None:
    session[SESSION_KEY] = str(station_id)


def unbind(station_id=None) -> None:
    """Unbind the session (only from ``station_id`` when given: a removed station)."""
    if station_id is None or session.get(SESSION_KEY) == str(station_id):
        session.pop(SESSION_KEY, None)
