"""The dashboard (``GET /``, Wharf): the signed-in user and the work waiting for them.

Top-level keys are camelCase like the profile it carries; a list in ``myLists`` is a
logistics object and keeps that module's snake_case."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from schemas.auth import Profile
from schemas.base import Id, Model
from schemas.lcs_lists import LcsScanProgress


class MyList(Model):
    """An open list assigned to the signed-in picker, with its progress."""

    id: Id
    number: str
    due_at: datetime | None
    is_on_hold: bool
    is_in_progress: bool
    shipments: int = Field(description="How many shipments the list holds")
    progress: LcsScanProgress


class FloorCounts(Model):
    """What waits on the floor, in the user's scope; null where the user may not look."""

    shipmentsToList: int | None = Field(description="Outbound shipments with units to pick and on no list")
    listsWaiting: int | None = Field(description="Open lists nobody has taken yet")
    listsInProgress: int | None = Field(description="Open lists with picks made")
    listsOnHold: int | None


class Dashboard(Model):
    """``GET /``: who is signed in; for pickers (``lcs.handling.write``) their open lists and
    whether "Start next list" is theirs to press; the floor counts for whoever may read them."""

    user: Profile
    canPick: bool
    myLists: list[MyList]
    floor: FloorCounts
