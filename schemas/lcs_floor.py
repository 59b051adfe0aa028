"""The lead's floor view (Wharf, not in seed 001): ``GET /lcs/floor``. One day's numbers of
the caller's tenant and organizations; the day is a UTC calendar day."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator, Field

from schemas.base import Id, Model, Timestamp

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value):
    """Only ``YYYY-MM-DD`` (no timestamps, no numbers a lax date would read)."""
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("must be a date YYYY-MM-DD")
    return value


Day = Annotated[dt.date, BeforeValidator(_iso_day)]


class LcsFloorQuery(Model):
    """Which day the numbers are about."""

    date: Day | None = Field(None, description="A UTC calendar day (YYYY-MM-DD); today (UTC) when not sent")


class LcsFloorShipments(Model):
    """The day's shipments — created that day or with ``ship_at`` that day — each counted once,
    in the furthest state its derived flags say it reached (canceled, then in transit or
    delivered, labeled, boxed, handled, listed; else open)."""

    total: int
    open: int
    listed: int
    handled: int
    boxed: int
    labeled: int
    in_transit: int
    canceled: int


class LcsFloorPerson(Model):
    """A user as the floor view names them; ``user_id`` null = an API key or system."""

    user_id: Id | None
    name: str


class LcsFloorListProgress(Model):
    total: int
    handled: int
    missing: int
    percent: int = Field(description="(handled + missing) / total, rounded")


class LcsFloorList(Model):
    """A list in progress (started, neither finished nor cancelled) — live, whatever the day."""

    id: Id
    number: str
    is_on_hold: bool
    started_at: Timestamp | None
    sub: str | None = Field(description="The assignee as stored on the list")
    assignee: str | None = Field(description="The assignee's name when ``sub`` is a user of the tenant")
    pickers: list[LcsFloorPerson] = Field(description="Who scanned on the list in the last hour")
    progress: LcsFloorListProgress


class LcsFloorHour(Model):
    hour: int = Field(ge=0, le=23, description="Hour of the day (UTC)")
    picks: int


class LcsFloorPicker(LcsFloorPerson):
    """One picker's day. ``picks``: handled scans not undone; ``rejected``: refused scans;
    ``error_rate`` = rejected / (handled scans, undone or not, + rejected), null without scans."""

    picks: int
    scans: int = Field(description="Handled scans, undone or not")
    rejected: int
    error_rate: float | None
    hours: list[LcsFloorHour] = Field(description="Picks per hour, hours without picks left out")


class LcsFloorScans(Model):
    picks: int
    scans: int
    rejected: int
    error_rate: float | None
    pickers: list[LcsFloorPicker]


class LcsFloorShortPosition(Model):
    position: str | None
    count: int


class LcsFloorShortPicks(Model):
    """Units reported missing at the pick (scan events of kind ``missing``), per position."""

    total: int
    positions: list[LcsFloorShortPosition]


class LcsFloorPacking(Model):
    """Parcels whose label was requested that day: the median seconds from the parcel's
    creation to its label request (null when there is none)."""

    parcels: int
    median_seconds: int | None


class LcsFloorOldest(Model):
    """The oldest open shipment (not canceled, not in transit, not delivered) — live."""

    id: Id
    number: str
    created_at: Timestamp
    age_seconds: int


class LcsFloorView(Model):
    """The lead's view of the floor for one UTC day (``from`` ≤ t < ``to``)."""

    date: dt.date
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    generated_at: Timestamp
    shipments: LcsFloorShipments
    lists: list[LcsFloorList]
    scans: LcsFloorScans
    short_picks: LcsFloorShortPicks
    packing: LcsFloorPacking
    oldest_open: LcsFloorOldest | None
