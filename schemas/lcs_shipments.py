"""Shipments (seed 001 ``/lcs/shipments``, lines 23379–24455 and 26087–26705; schemas
97626–97650 and 98188–99025). Family B: snake_case, arrays with ``x-count`` paging."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from schemas.base import CountryCode, Id, Model, UtcDatetime, nested, text
from schemas.lcs_parcels import MAX_UNITS, LcsPackLine, LcsParcel

ShipmentType = Literal["delivery", "collect", "internal"]


# --- addressing ----------------------------------------------------------------------------


class ShipmentAddress(Model):
    """Wharf's inline address (spec/logistics.md): kept on the shipment as a snapshot and
    printed on its labels. A sender given as a location gets that location's address."""

    name: text(200) | None = None
    company: text(200) | None = None
    street: text(200) | None = None
    house_number: text(20) | None = None
    addition: text(20) | None = None
    postal_code: text(20) | None = None
    city: text(120) | None = None
    region: text(120) | None = None
    country_code: CountryCode | None = None
    phone: text(40) | None = None
    email: text(320) | None = None


class LcsShipmentAddressingCarrier(Model):
    is_carrier_location: bool = False
    carrier_location_reference: text(120) | None = None


class LcsShipmentAddressing(Model):
    """One side of the addressing: the seed's entity reference, or Wharf's inline ``address``.
    ``entity_type: location`` with a location's id makes that location the shipment's."""

    entity_type: Literal["address", "location"] | None = None
    entity_id: text(64) | None = None
    carrier: LcsShipmentAddressingCarrier | None = None
    address: ShipmentAddress | None = None


class LcsShipmentUpdateModelAddressing(Model):
    """``{to, from}``; a side or field that is not sent is kept (on update), ``null`` clears it."""

    to: LcsShipmentAddressing | None = None
    from_: LcsShipmentAddressing | None = Field(None, alias="from")

    @model_validator(mode="before")
    @classmethod
    def _unresolved_refs(cls, data):
        """The seed's own example sends ``"from": "#/definitions/LcsShipmentAddressing"`` (an
        unresolved ``$ref``): read it as a side not sent."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and v.startswith("#/definitions/"))}
        return data


class LcsListedShipmentAddressing(Model):
    """Both sides, every field present (null when unknown)."""

    to: LcsShipmentAddressing
    from_: LcsShipmentAddressing = Field(alias="from")


# --- items -----------------------------------------------------------------------------------


class LcsServiceOptionConfiguration(Model):
    key: text(120, 1)
    value: text(500) | None = None


class LcsServiceOption(Model):
    option: text(120, 1) = Field(examples=["giftwrap"])
    configuration: list[LcsServiceOptionConfiguration] = Field(default_factory=list, max_length=50)


class LcsShipmentItemModelReferences(Model):
    order_item_id: text(64) | None = None
    claim_item_id: text(64) | None = None


Quantity = Annotated[int, Field(ge=1, le=MAX_UNITS)]


class LcsShipmentItemModel(Model):
    """One line of a new shipment: ``quantity`` becomes that many units, the n-th unit
    taking the n-th of ``references`` (else the first)."""

    sku: text(120, 1)
    reference: text(120) | None = None
    position: text(64) | None = None
    quantity: Quantity = 1
    description: text(500) = ""
    hs_code: text(32) | None = None
    service: list[LcsServiceOption] = Field(default_factory=list, max_length=50)
    references: list[LcsShipmentItemModelReferences] = Field(default_factory=list, max_length=MAX_UNITS)


class LcsShipmentItemCorrection(Model):
    """A backorder or overage line (``PUT …/items/backorders``, ``…/items/overage``)."""

    sku: text(120, 1)
    quantity: Quantity = 1
    description: text(500) = ""
    position: text(64) | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"sku": "SKU-C", "quantity": 2, "description": "Saucer", "position": "A3.32435"}]
        }
    )


class LcsShipmentItemMissing(Model):
    """``PUT …/items/missing``: a unit of the shipment marked missing or found."""

    id: Id
    is_missing: bool

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": "5d1f0c3a-8a43-4d3b-b2f5-0c1e9f3b6a21", "is_missing": True}]}
    )


# --- requests ----------------------------------------------------------------------------------


def _at_most_max_units(items: list[LcsShipmentItemModel]) -> list[LcsShipmentItemModel]:
    if sum(item.quantity for item in items) > MAX_UNITS:
        raise ValueError(f"at most {MAX_UNITS} units per shipment")
    return items


class LcsShipmentRuleFields(Model):
    """The plain fields of a new shipment: also what a SET_FIELD business rule on "creating"
    or "updating" may change, validated like a client's input."""

    type: ShipmentType = "delivery"
    is_outbound: bool = True
    order_id: text(64) | None = None
    channel_id: text(64) | None = None
    contact_id: text(64) | None = None
    ship_at: UtcDatetime | None = None
    estimated_ship_at: UtcDatetime | None = None
    expected_at: UtcDatetime | None = None


class LcsShipmentModel(LcsShipmentRuleFields):
    """Body of ``POST /lcs/shipments`` (the "New shipment" page posts it as a flat form:
    ``items.0.sku``, ``addressing.to.address.city``)."""

    _forms = model_validator(mode="before")(nested)

    addressing: LcsShipmentUpdateModelAddressing | None = None
    items: Annotated[list[LcsShipmentItemModel], AfterValidator(_at_most_max_units)] = Field(
        min_length=1, max_length=MAX_UNITS
    )
    backorders: list[LcsShipmentItemCorrection] = Field(default_factory=list, max_length=MAX_UNITS)
    overage: list[LcsShipmentItemCorrection] = Field(default_factory=list, max_length=MAX_UNITS)
    method_id: Id | None = None
    prior_shipments: list[Id] = Field(default_factory=list, max_length=100)
    tenant_id: Id | None = Field(None, description="Wharf: super admins and the system only; default the caller's")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "addressing": {
                        "to": {
                            "entity_type": "address",
                            "entity_id": "adr-118",
                            "carrier": {"is_carrier_location": False, "carrier_location_reference": None},
                            "address": {
                                "name": "Ann Jansen",
                                "street": "Damrak",
                                "house_number": "1",
                                "postal_code": "1012LG",
                                "city": "Amsterdam",
                                "country_code": "NL",
                            },
                        },
                        "from": {"entity_type": "location", "entity_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"},
                    },
                    "is_outbound": True,
                    "type": "delivery",
                    "items": [
                        {
                            "sku": "SKU-A",
                            "reference": "R-1",
                            "position": "A3.32435",
                            "quantity": 2,
                            "description": "Mug",
                            "hs_code": "6912",
                            "service": [
                                {"option": "giftwrap", "configuration": [{"key": "packing_paper", "value": "red"}]}
                            ],
                            "references": [{"order_item_id": "oi-1", "claim_item_id": None}],
                        }
                    ],
                    "backorders": [{"sku": "SKU-C", "quantity": 1, "description": "Saucer", "position": None}],
                    "overage": [],
                    "expected_at": "2026-11-25T10:00:00.000Z",
                    "ship_at": "2026-11-23T10:00:00.000Z",
                    "estimated_ship_at": "2026-11-23T16:00:00.000Z",
                    "method_id": None,
                    "contact_id": "c-42",
                    "channel_id": "webshop",
                    "order_id": "ORD-7",
                    "prior_shipments": [],
                }
            ]
        }
    )


class LcsShipmentUpdateModel(Model):
    """Body of ``PUT /lcs/shipments/{id}``: the fields sent change, the others are kept.
    Wharf also takes ``order_id``, ``contact_id``, ``channel_id`` and ``estimated_ship_at``
    (the shipment's edit page sends it as a flat form, like the new one)."""

    _forms = model_validator(mode="before")(nested)

    type: ShipmentType | None = Field(None, description="null leaves it as it is")
    method_id: Id | None = None
    addressing: LcsShipmentUpdateModelAddressing | None = None
    prior_shipments: list[Id] | None = Field(None, max_length=100)
    expected_at: UtcDatetime | None = None
    ship_at: UtcDatetime | None = None
    estimated_ship_at: UtcDatetime | None = None
    order_id: text(64) | None = None
    contact_id: text(64) | None = None
    channel_id: text(64) | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "delivery",
                    "method_id": None,
                    "addressing": {
                        "to": {
                            "entity_type": "address",
                            "entity_id": "adr-118",
                            "carrier": {"is_carrier_location": True, "carrier_location_reference": "NL-1012"},
                        }
                    },
                    "prior_shipments": [],
                    "expected_at": "2026-11-26T10:00:00.000Z",
                    "ship_at": "2026-11-24T10:00:00.000Z",
                }
            ]
        }
    )


Flag = Annotated[bool | None, Field(None, description="true or false; absent = either")]


class ShipmentListQuery(Model):
    """The shipment screen's filters (Wharf): text ``search`` (number, order id, name,
    postal code) and the derived flags."""

    search: text(200) = Field("", description="Case-insensitive text search")
    is_editable: Flag
    is_listed: Flag
    is_handled: Flag
    is_boxed: Flag
    is_labeled: Flag
    is_in_transit: Flag
    is_finished: Flag
    is_canceled: Flag

    def flags(self) -> dict[str, bool]:
        return {name: value for name, value in self if name != "search" and value is not None}


# --- responses ---------------------------------------------------------------------------------


class LcsShipmentItem(Model):
    """One unit (no quantity); ``parcel_id`` and ``list_id`` are Wharf's."""

    id: Id
    reference: str | None
    sku: str
    position: str | None
    order_item_id: str | None
    claim_item_id: str | None
    description: str
    is_listed: bool
    is_handled: bool
    is_boxed: bool
    is_in_transit: bool
    is_finished: bool
    is_missing: bool
    hs_code: str | None
    service: list[LcsServiceOption]
    parcel_id: Id | None = None
    list_id: Id | None = None


class LcsListedShipment(Model):
    """A shipment as listed: no units, corrections or parcels. ``order_id`` and the flags
    ``is_handled``, ``is_boxed``, ``is_labeled``, ``is_serviced`` are Wharf's additions."""

    id: Id
    number: str = Field(description="S-000123, unique per tenant")
    type: ShipmentType
    method_id: Id | None
    contact_id: str | None
    channel_id: str | None
    addressing: LcsListedShipmentAddressing
    ship_at: datetime | None
    estimated_ship_at: datetime | None
    expected_at: datetime | None
    stack_id: str | None
    is_editable: bool
    is_outbound: bool
    is_listed: bool
    is_finished: bool
    is_in_transit: bool
    is_complete: bool
    is_overcomplete: bool
    is_canceled: bool
    secret: str | None
    prior_shipments: list[Id]
    list_id: Id | None
    created_at: datetime
    updated_at: datetime
    order_id: str | None
    is_handled: bool
    is_boxed: bool
    is_labeled: bool
    is_serviced: bool


class LcsShipment(LcsListedShipment):
    """One shipment with its units, corrections and parcels (``active_list_id`` = ``list_id``)."""

    items: list[LcsShipmentItem]
    backorders: list[LcsShipmentItemCorrection]
    overage: list[LcsShipmentItemCorrection]
    parcels: list[LcsParcel]
    active_list_id: Id | None


class LcsPackStation(Model):
    """Wharf's pack station: the shipment, its parcels (which one the next scan fills), what
    each SKU still needs, and its picked units not yet packed."""

    shipment: LcsShipment
    parcels: list[LcsParcel]
    free_item_ids: list[Id]
    open_parcel_id: Id | None = Field(description="The parcel the next pack scan fills (null: it opens one)")
    lines: list[LcsPackLine] = Field(description="Per SKU: needed, picked and packed")


class LcsShipmentChoice(Model):
    id: Id
    name: str


class LcsShipmentChoices(Model):
    """Wharf: what a new shipment can be given — the caller's methods and the locations it
    ships from (the "New shipment" page's choices)."""

    methods: list[LcsShipmentChoice]
    locations: list[LcsShipmentChoice]
