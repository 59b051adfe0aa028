"""Handling lists and the scan station (seed 001 ``/lcs/lists``, lines 22286–23378; schemas
``LcsHandlingModel``, ``LcsHandlingListUpdate``, ``LcsHandlingListItemUpdate``,
``LcsHandlingListItem``, ``LcsHandlingListResponse``, ``LcsHandlingList``,
``LcsListedHandlingList`` at 97842–98110)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StrictBool, model_validator

from schemas.base import Id, Model, Timestamp, UtcDatetime, text
from schemas.lcs_scan import ScannedCode
from schemas.lcs_shipments import LcsShipmentItem

# --- field types shared by the list and bulk bodies ------------------------------------------


def _none_if_empty(value: str | None) -> str | None:
    return value or None


Position = Annotated[text(64) | None, AfterValidator(_none_if_empty)]
"""A position code (``A3.32435``); empty means none."""
LotNumber = Annotated[text(64) | None, AfterValidator(_none_if_empty)]


def _form_bool(value):
    """A form's ``"true"``/``"false"`` (the list page's Hold and Resume buttons) as the bool;
    anything else is left for StrictBool to refuse."""
    return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value


FormBool = Annotated[StrictBool, BeforeValidator(_form_bool)]
"""A strict boolean that a form may also send as ``true``/``false``."""

MAX_UNITS_PER_PUT = 1000
MAX_SHIPMENTS_PER_LIST = 500

# --- requests ------------------------------------------------------------------------------------


class LcsHandlingModelShipments(Model):
    id: Id
    label: text(120) | None = Field(None, description="Sorting label (crate, tote) the shipment's units go to")


class LcsHandlingModel(Model):
    """Body of ``POST /lcs/lists``: the shipments to pick together, in sorting-label order."""

    shipments: list[LcsHandlingModelShipments] = Field(min_length=1, max_length=MAX_SHIPMENTS_PER_LIST)
    due_at: UtcDatetime | None = None
    shipment: list[Id] = Field(default_factory=list, description="Form posts only: shipment ids (checkboxes)")

    @model_validator(mode="before")
    @classmethod
    def _checkboxes(cls, data):
        """The shipments page posts one ``shipment`` checkbox per selected shipment."""
        if isinstance(data, dict) and "shipments" not in data and isinstance(data.get("shipment"), list):
            return {**data, "shipments": [{"id": sid} for sid in data["shipment"]]}
        return data

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shipments": [{"id": "3f0c8a8e-52b1-4c1e-9a44-7d1f0e5b2c11", "label": "Crate 1"}],
                    "due_at": "2026-11-23T08:00:00.000Z",
                }
            ]
        }
    )


class LcsHandlingListUpdate(Model):
    """Body of ``PUT /lcs/lists/{id}/state``: hold or resume (``is_on_hold``), assign
    (``sub``, null unassigns). Wharf adds ``is_finished: true`` to finish the list."""

    is_on_hold: FormBool | None = None
    sub: Annotated[text(64) | None, AfterValidator(_none_if_empty)] = Field(
        None,
        description="The id of the user (a picker of the list's tenant) the list is assigned to; null or empty unassigns",
    )
    is_finished: StrictBool | None = Field(None, description="Wharf: true finishes the list (409 while units are open)")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"is_on_hold": True, "sub": "0b7f2c1e-5a3d-4e8f-9c61-2d4b7a9e1f30"}]}
    )


class LcsHandlingListItemUpdate(Model):
    """One unit of ``PUT /lcs/lists/{id}/items``. Only the fields sent change; ``is_handled``
    picks or un-picks the unit, ``is_finished`` and ``is_serviced`` set the unit's flags."""

    id: Id = Field(description="A unit (shipment item) on this list")
    is_handled: StrictBool | None = None
    is_serviced: StrictBool | None = None
    is_finished: StrictBool | None = None
    position: Position = None
    lot_number: LotNumber = None
    expires_at: UtcDatetime | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "9b2e61f4-0c8e-4d57-8f4a-1d7c5b0e3a22",
                    "is_handled": True,
                    "is_serviced": False,
                    "is_finished": False,
                    "position": "A3.32435",
                    "lot_number": "LOT-7",
                    "expires_at": "2027-01-31T00:00:00.000Z",
                }
            ]
        }
    )


LcsHandlingListItemUpdates = Annotated[
    list[LcsHandlingListItemUpdate], Field(min_length=1, max_length=MAX_UNITS_PER_PUT)
]


class LcsListWave(Model):
    """Body of ``POST /lcs/lists/waves`` (Wharf): make lists from the open shipments that
    match — unlisted, outbound, not canceled, oldest ``ship_at`` first — packing whole
    shipments into lists of at most ``max_units_per_list`` units."""

    method_id: Id | None = Field(None, description="Only shipments with this method")
    ship_before: date | None = Field(None, description="Only shipments whose ship_at is on or before this day (UTC)")
    organization_id: Id | None = Field(None, description="Only shipments of this organization")
    max_units_per_list: int = Field(
        ge=1, le=10_000, description="Units per list; a shipment larger than this gets a list of its own"
    )
    max_lists: int = Field(100, ge=1, le=100, description="At most this many lists in one wave")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ship_before": "2026-12-05", "max_units_per_list": 40, "max_lists": 10}]}
    )


class LcsListCandidate(Model):
    """A shipment a new handling list can take (``GET /lcs/lists/new``): outbound, not canceled,
    on no active list, with units to pick."""

    id: Id
    number: str
    order_id: str | None
    ship_to: str | None = Field(description="The receiver's name or company")
    ship_at: Timestamp | None
    created_at: Timestamp
    units: int = Field(description="Units to pick (not missing, not in a parcel)")


class LcsListsQuery(Model):
    """Wharf's filter of ``GET /lcs/lists`` (the page's state select)."""

    state: Literal["open", "finished"] | None = Field(None, description="open: neither finished nor cancelled")


ShortPickReason = Literal["empty_location", "damaged", "wrong_item"]
"""Why a unit could not be picked (``WHARF:MISSING``)."""


class LcsScan(Model):
    """Body of ``POST /lcs/lists/{id}/scan`` (Wharf): what the scanner typed — a unit id, SKU,
    product barcode or GS1 string (GS separators kept), or ``WHARF:FINISH`` / ``WHARF:UNDO`` /
    ``WHARF:MISSING`` (the current pick cannot be found: ``reason``)."""

    code: ScannedCode
    reason: ShortPickReason = Field(
        "empty_location", description="With WHARF:MISSING: why the unit cannot be picked (else ignored)"
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "]C10104006381333931\u001d10LOT7"}]})


# --- responses -----------------------------------------------------------------------------------


class LcsHandlingListItem(Model):
    """A pick line: the units of one shipment and SKU at one position, in walk order (``rank``)."""

    ids: list[Id]
    handled_ids: list[Id]
    shipment_id: Id
    sku: str
    description: str | None
    position: str | None
    quantity: int
    sorting_label: str | None
    rank: int


class LcsHandlingListSortingLabels(Model):
    shipment_id: Id
    label: str | None


class LcsHandlingListResponse(Model):
    """``POST /lcs/lists`` answer. Wharf adds ``number`` (``HL-000123``)."""

    id: Id
    number: str
    sub: str | None
    shipments: list[Id]
    location_id: Id | None
    is_outbound: bool
    is_assigned: bool
    is_in_progress: bool
    is_on_hold: bool
    is_finished: bool
    started_at: datetime | None
    finished_at: datetime | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime


class _ListBase(Model):
    id: Id
    number: str
    sub: str | None
    location_id: Id | None
    shipments: list[Id]
    is_outbound: bool
    is_in_progress: bool
    is_on_hold: bool
    is_cancelled: bool
    is_finished: bool
    started_at: datetime | None
    finished_at: datetime | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime


class LcsHandlingList(_ListBase):
    """A list with its pick lines (``GET /lcs/lists/{id}``, ``POST /lcs/lists/search``).
    Wharf adds ``finish_blocked``."""

    items: list[LcsHandlingListItem]
    sorting_labels: list[LcsHandlingListSortingLabels]
    finish_blocked: str | None = Field(
        description="Wharf: why the list did not finish when its last unit was handled (a GUARD rule's message)"
    )


# --- short picks ----------------------------------------------------------------------------------


class LcsShortPicksQuery(Model):
    """``GET /lcs/short-picks``: ``since`` (inclusive) to ``until`` (exclusive, default now),
    or the last ``days`` UTC days including today (the page's choice; default 7)."""

    since: UtcDatetime | None = None
    until: UtcDatetime | None = None
    days: int = Field(7, ge=1, le=366, description="Without since: today and the days before it (UTC)")


class LcsShortPick(Model):
    """Units short-picked at one position, of one SKU, on one (UTC) day."""

    day: date
    position: str | None
    sku: str
    count: int
    reasons: dict[str, int] = Field(description="count per reason: empty_location, damaged, wrong_item, unspecified")


class LcsListedHandlingList(_ListBase):
    """A list as ``GET /lcs/lists`` shows it: ``items`` one per unit."""

    items: list[LcsShipmentItem]


class LcsScanProgress(Model):
    total: int
    handled: int
    missing: int
    open: int
    percent: int


class LcsPickSplit(Model):
    """Where some of a pick's units go: one shipment of the list, and its tote."""

    shipment_id: Id
    number: str = Field(description="The shipment's number")
    sorting_label: str | None = Field(description="Its tote (sorting label) on this list")
    left: int = Field(description="Its units still to take at this position")


class LcsNextPick(Model):
    """The next pick, per position: ``left`` is everything of ``sku`` to take at ``position``
    (all shipments); ``split`` says where those units go. ``shipment_id``/``sorting_label``
    are the first unit's (the one the next scan picks)."""

    sku: str
    description: str | None
    position: str | None
    left: int
    shipment_id: Id
    sorting_label: str | None
    split: list[LcsPickSplit]


class LcsScanStation(Model):
    """The scan station (Wharf): progress and the next pick line in walk order."""

    list_id: Id
    number: str
    is_finished: bool
    finish_blocked: str | None = Field(
        description="Why the list did not finish with its last unit (a business rule's message)"
    )
    progress: LcsScanProgress
    next: LcsNextPick | None
    awaiting_tote: bool = Field(description="The caller's last pick waits for a scan of tote sorting_label")
    sorting_label: str | None = Field(description="The tote of the unit just picked or awaited (several shipments)")


class LcsScanResult(LcsScanStation):
    """One scan's outcome: ``status`` ok | warning | error | done (a refused code changes nothing)."""

    status: Literal["ok", "warning", "error", "done"]
    message: str
    item_id: Id | None
    sku: str | None
    action: Literal["handled", "undone", "finished", "pending", "missing", "redirected", "tote"] | None
