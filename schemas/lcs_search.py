"""Search and bulk (seed 001 ``POST /lcs/search/*``, ``POST /lcs/lists/search``,
``PUT /lcs/bulk/items``, lines 24705–26086; schemas ``Lcs*Search``/``Lcs*SearchConstraint``
97650–97829, ``LcsGroupedShipmentItem`` 98499–98637).

A search body is ``{"constraints": [{"key", "operator", "values"}]}``; every constraint
must hold. Each endpoint's constraint model narrows ``key`` to the keys it supports; the
values stay strings here and are read as the key's column type where the key becomes SQL
(``services.logistics.search``).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BeforeValidator, ConfigDict, Field, StrictBool, model_validator

from schemas.base import Id, Model, UtcDatetime, text
from schemas.lcs_lists import LcsHandlingListItem, LotNumber, Position
from schemas.lcs_parcels import LcsParcelItem
from schemas.lcs_shipments import LcsShipmentItemModelReferences

Operator = Literal["in", "not_in", "gt", "gte", "lt", "lte", "prefix"]
MAX_CONSTRAINTS = 50
MAX_VALUES = 1000  # one IN list; far below SQLite's bound-parameter limit


def _spelled(value):
    """Values are strings; a JSON boolean counts as its spelling."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class SearchConstraint(Model):
    """One condition: ``key`` compared to ``values`` by ``operator`` (default ``in``; the
    range operators use the first value, ``prefix`` matches text keys). ``value`` is
    accepted for ``values`` (the seed writes both). Endpoints narrow ``key``."""

    key: str
    operator: Operator = "in"
    values: list[Annotated[text(200), BeforeValidator(_spelled)]] = Field(
        min_length=1, max_length=MAX_VALUES, description="Strings; booleans as true/false/1/0 (alias: value)"
    )

    @model_validator(mode="before")
    @classmethod
    def _value_alias(cls, data):
        if isinstance(data, dict) and "values" not in data and "value" in data:
            return {**data, "values": data["value"]}
        return data


ShipmentFlag = Literal[
    "is_editable", "is_listed", "is_handled", "is_boxed", "is_labeled", "is_in_transit", "is_finished", "is_canceled"
]
SHIPMENT_FLAGS = get_args(ShipmentFlag)


class LcsListSearchConstraint(SearchConstraint):
    key: Literal["ids", "sub", "location_id", "is_on_hold", "is_in_progress", "is_finished", "is_assigned"]


class LcsShipmentSearchConstraint(SearchConstraint):
    """The seed's keys; Wharf adds ``number``, ``order_id`` and the derived flags
    (``secret`` is accepted and matches nothing: Wharf keeps no shipment secrets)."""

    key: Literal[
        "ids",
        "secret",
        "is_outbound",
        "from_id",
        "from_type",
        "to_id",
        "to_type",
        "prior_ids",
        "number",
        "order_id",
        ShipmentFlag,
    ]


class LcsParcelSearchConstraint(SearchConstraint):
    """The seed's ``ids``, ``is_delivered``; Wharf adds ``shipment_ids``, ``is_in_transit``, ``is_finished``."""

    key: Literal["ids", "is_delivered", "shipment_ids", "is_in_transit", "is_finished"]


class LcsItemSearchConstraint(SearchConstraint):
    key: Literal[
        "ids",
        "skus",
        "position",
        "is_listed",
        "is_missing",
        "is_in_transit",
        "is_boxed",
        "is_finished",
        "is_labeled",
        "is_serviced",
        "is_handled",
        "is_outbound",
        "list_ids",
        "parcel_ids",
        "shipment_ids",
    ]


_EXAMPLE = {
    "examples": [
        {"constraints": [{"key": "ids", "operator": "in", "values": ["3f0c8a8e-52b1-4c1e-9a44-7d1f0e5b2c11"]}]}
    ]
}


class LcsListSearch(Model):
    constraints: list[LcsListSearchConstraint] = Field(default_factory=list, max_length=MAX_CONSTRAINTS)
    model_config = ConfigDict(json_schema_extra=_EXAMPLE)


class LcsShipmentSearch(Model):
    constraints: list[LcsShipmentSearchConstraint] = Field(default_factory=list, max_length=MAX_CONSTRAINTS)
    model_config = ConfigDict(json_schema_extra=_EXAMPLE)


class LcsParcelSearch(Model):
    constraints: list[LcsParcelSearchConstraint] = Field(default_factory=list, max_length=MAX_CONSTRAINTS)
    model_config = ConfigDict(json_schema_extra=_EXAMPLE)


class LcsItemSearch(Model):
    constraints: list[LcsItemSearchConstraint] = Field(default_factory=list, max_length=MAX_CONSTRAINTS)
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"constraints": [{"key": "is_handled", "operator": "in", "values": ["false"]}]}]
        }
    )


# --- bulk ------------------------------------------------------------------------------------------


class LcsBulkParameters(Model):
    """What ``set_parameters`` sets on every matching unit: only these keys, at least one."""

    model_config = ConfigDict(extra="forbid")

    position: Position = None
    parcel_id: Id | None = Field(None, description="A parcel of the units' shipment; null takes them out")
    is_handled: StrictBool | None = None
    is_finished: StrictBool | None = None
    is_missing: StrictBool | None = None
    lot_number: LotNumber = None
    expires_at: UtcDatetime | None = None

    def named(self) -> dict:
        """The parameters to set: those sent (a flag sent as null names nothing)."""
        return {
            k: v
            for k, v in self.model_dump(exclude_unset=True).items()
            if v is not None or k not in ("is_handled", "is_finished", "is_missing")
        }

    @model_validator(mode="after")
    def _something_consistent(self):
        if not self.named():
            raise ValueError("name at least one parameter")
        if self.is_handled and self.is_missing:
            raise ValueError("a unit cannot be handled and missing at once")
        return self


class LcsBulkItemsCommand(Model):
    """Body of ``PUT /lcs/bulk/items``: set ``parameters`` on the units matching the
    (required) item ``constraints``, in one transaction."""

    command: Literal["set_parameters"]
    parameters: LcsBulkParameters
    constraints: list[LcsItemSearchConstraint] = Field(min_length=1, max_length=MAX_CONSTRAINTS)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "command": "set_parameters",
                    "parameters": {"is_handled": True},
                    "constraints": [
                        {"key": "list_ids", "operator": "in", "values": ["3f0c8a8e-52b1-4c1e-9a44-7d1f0e5b2c11"]}
                    ],
                }
            ]
        }
    )


# --- grouped item rows -----------------------------------------------------------------------------


class LcsGroupedShipmentItemLists(Model):
    id: Id
    item_ids: list[Id]


class LcsGroupedShipmentItemPositions(Model):
    code: str = Field(description="Position code (the seed types it uuid; codes look like A3.32435)")
    item_ids: list[Id]


class LcsGroupedShipmentItemTotals(Model):
    boxed: int
    handled: int
    finished: int
    missing: int
    listed: int


class LcsGroupedShipmentItem(Model):
    """The matching units of one (shipment, SKU) group."""

    ids: list[Id]
    sku: str
    quantity: int
    hs_code: str | None
    description: str | None
    references: list[LcsShipmentItemModelReferences]
    lists: list[LcsGroupedShipmentItemLists]
    parcels: list[LcsGroupedShipmentItemLists]
    positions: list[LcsGroupedShipmentItemPositions]
    handled_ids: list[Id]
    boxed_ids: list[Id]
    listed_ids: list[Id]
    finished_ids: list[Id]
    missing_ids: list[Id]
    shipment_id: Id
    totals: LcsGroupedShipmentItemTotals


class LcsSearchedListItem(LcsHandlingListItem):
    """A pick line found by ``POST /lcs/search/lists/items``; Wharf adds ``list_id`` (a search spans lists)."""

    list_id: Id


class LcsSearchedParcelItem(LcsParcelItem):
    """``LcsParcelItem`` found by ``POST /lcs/search/parcels/items`` (``id`` is the group's first
    unit); Wharf adds ``parcel_id`` (a search spans parcels)."""

    parcel_id: Id
