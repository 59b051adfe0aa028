"""Logistics reference data (seed 001 lcs, family B): fulfilment locations with their
positions and SKUs (seed lines 28580–30136; schemas ``LcsFulfilmentLocation*`` 98862,
``LcsLocationPosition`` 98111, ``LcsLocationSku`` 97830), shipping methods (26705–27022,
``LcsMethod`` 98132, searches 24894 and 25452), and Wharf's own product catalogue with
its import (not in the seed; written in the seed's style).

The screens post flat forms (``address.city``, ``countries.0.code``): ``nested`` turns
them into the objects a JSON body holds, so one model reads both. The location page's
walk-order editor posts ``WalkChange`` steps to its own operation.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    model_validator,
)

from schemas.base import CountryCode, FileUpload, Id, Model, Text, nested, omissible, text
from schemas.lcs_search import SearchConstraint
from schemas.lcs_shipments import ShipmentAddress

MAX_IMPORT_ROWS = 50_000
WHOLE = 2_000_000_000  # integers the database stores (32-bit)


# --- shared pieces ------------------------------------------------------------------------------


def _blank_as_none(value):
    return None if isinstance(value, str) and not value.strip() else value


def _words(separators: str):
    """A list from text: a form field or a CSV cell is split at ``separators`` (blanks
    dropped); so is a listed text that holds a separator (a form's textarea)."""

    def words(text: str) -> list[str]:
        return [w for w in re.split(separators, text) if w.strip()]

    def split(value):
        if isinstance(value, str):
            return words(value)
        if isinstance(value, list):
            return [w for t in value for w in (words(t) if isinstance(t, str) and re.search(separators, t) else [t])]
        return value

    return BeforeValidator(split)


def _distinct(values: list[str]) -> list[str]:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"lists {', '.join(repeated)} more than once")
    return values


Grams = Annotated[int, Field(ge=0, le=WHOLE, description="Grams")]


# --- locations ----------------------------------------------------------------------------------


class LcsLocationAddress(ShipmentAddress):
    """Wharf keeps the location's address itself (the seed only has ``address_id``); the
    same fields as a shipment's inline address."""

    model_config = ConfigDict(extra="forbid")

    country_code: Annotated[CountryCode | None, BeforeValidator(_blank_as_none)] = None
    phone: text(40) | None = None
    email: text(320) | None = None


LOCATION_EXAMPLE = {
    "id": "0b6f5a52-9b3e-4d8e-9a55-2f1f0c7e8a10",
    "name": "Main warehouse",
    "reference": "WH-1",
    "address_id": "addr-1",
    "address": {"city": "Rotterdam", "country_code": "NL"},
    "is_disabled": False,
    "organization_id": None,
    "created_at": "2026-11-22T10:00:00.000Z",
    "updated_at": "2026-11-22T10:00:00.000Z",
}


class LcsFulfilmentLocation(Model):
    """A fulfilment location. ``reference`` is free text (the seed types it uuid);
    ``address`` and ``organization_id`` are Wharf's."""

    id: Id
    name: str
    reference: str | None
    address_id: str | None
    address: LcsLocationAddress | None
    is_disabled: bool
    organization_id: Id | None
    created_at: datetime
    updated_at: datetime

    model_config = ConfigDict(json_schema_extra={"examples": [LOCATION_EXAMPLE]})


class LcsFulfilmentLocationModel(Model):
    """Body of ``POST /lcs/locations``. An inline ``address`` gets an ``address_id`` when it
    has none."""

    name: text(200, 1)
    reference: text(120) | None = None
    address_id: text(64) | None = Field(None, description="Empty clears it")
    address: LcsLocationAddress | None = Field(None, description="Replaces the stored address; null clears it")
    is_disabled: bool = False
    organization_id: Id | None = None

    _forms = model_validator(mode="before")(nested)
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Main warehouse", "address_id": "addr-1", "is_disabled": False}]}
    )


class LcsFulfilmentLocationUpdate(LcsFulfilmentLocationModel):
    """Body of ``PUT /lcs/locations/{id}`` (the seed's ``LcsFulfilmentLocationModel``): the
    fields sent change, the others keep their value."""

    name: text(200, 1) = omissible()
    is_disabled: bool = omissible()


class LcsLocationListQuery(Model):
    address_id: text(64) | None = None
    is_disabled: Literal["1", "0", "true", "false"] | None = None
    search: text(200) | None = Field(None, description="Part of the name or reference (Wharf)")

    @property
    def disabled(self) -> bool | None:
        return None if self.is_disabled is None else self.is_disabled in ("1", "true")


class LcsLocationSearchConstraint(SearchConstraint):
    key: Literal["ids", "name", "reference", "is_disabled", "organization_id", "created_at", "updated_at"]


class LcsLocationSearch(Model):
    constraints: list[LcsLocationSearchConstraint] = Field(default_factory=list)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"constraints": [{"key": "ids", "operator": "in", "values": ["0b6f5a52-9b3e-4d8e-9a55-2f1f0c7e8a10"]}]}
            ]
        }
    )


# --- positions and SKUs -------------------------------------------------------------------------

PositionCode = Annotated[Text, Field(min_length=1, max_length=64, pattern=r"^\S+$", examples=["A3.32435"])]
Sku = text(120, 1)


class LcsLocationSku(Model):
    """A SKU stored at a position. Wharf keeps no time per link: ``created_at`` is the
    position's."""

    sku: str
    position: str
    created_at: datetime

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"sku": "SKU-1", "position": "A3.32435", "created_at": "2026-11-22T10:00:00.000Z"}]
        }
    )


class LcsLocationPosition(Model):
    code: str
    sorting: int
    skus: list[LcsLocationSku]
    created_at: datetime

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "A3.32435",
                    "sorting": 1,
                    "created_at": "2026-11-22T10:00:00.000Z",
                    "skus": [{"sku": "SKU-1", "position": "A3.32435", "created_at": "2026-11-22T10:00:00.000Z"}],
                }
            ]
        }
    )


class LcsLocationSkuModel(Model):
    """One entry of ``PUT /lcs/locations/{id}/skus`` (the seed's ``LcsLocationSku``; its
    ``created_at`` is ignored): the SKU moves to ``position``; empty or null removes it
    from the location."""

    sku: Sku
    position: Annotated[PositionCode | None, BeforeValidator(_blank_as_none)] = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"sku": "SKU-1", "position": "A3.32435"}]})


PositionCodes = Annotated[list[PositionCode], Field(examples=[["A3.32435"]])]
SkusOrCodes = Annotated[list[text(120, 1)], Field(examples=[["SKU-1", "A3.32435"]])]


class WalkAdd(Model):
    """Add positions: codes separated by blanks or commas, appended to the walk."""

    action: Literal["add"]
    codes: Annotated[list[PositionCode], _words(r"[\s,]+"), Field(min_length=1)]


class WalkMove(Model):
    """The arrows: swap with a neighbour, or go to the top or bottom."""

    action: Literal["move"]
    code: PositionCode
    direction: Literal["up", "down", "top", "bottom"]


class WalkRemove(Model):
    action: Literal["remove"]
    code: PositionCode


class WalkSkus(Model):
    """The SKUs at one position: the whole set (one per line)."""

    action: Literal["skus"]
    position: PositionCode
    skus: Annotated[list[Sku], _words(r"[\s,;|]+"), AfterValidator(_distinct)] = Field(default_factory=list)


WalkChange = Annotated[
    WalkAdd | WalkMove | WalkRemove | WalkSkus,
    Discriminator(
        "action", custom_error_type="invalid_action", custom_error_message="action must be add, move, remove or skus"
    ),
]
"""One step of the location page's walk-order editor (Wharf; not a seed operation)."""


class LcsSuccessCount(Model):
    success: int

    model_config = ConfigDict(json_schema_extra={"examples": [{"success": 1}]})


class LcsSuccessFailed(Model):
    success: int
    failed: int

    model_config = ConfigDict(json_schema_extra={"examples": [{"success": 12, "failed": 0}]})


# --- methods ------------------------------------------------------------------------------------

DeliveryDuring = Literal["daytime", "morning", "afternoon", "evening"]
Provider = Literal["sendcloud", "default"]


class LcsCountry(Model):
    """A country the method ships to; ``amount`` is the price in cents."""

    code: CountryCode
    amount: int = Field(0, ge=0, le=WHOLE)


def _one_per_country(countries: list[LcsCountry] | None):
    _distinct([c.code for c in countries or []])
    return countries


Countries = Annotated[list[LcsCountry], AfterValidator(_one_per_country)]
METHOD_EXAMPLE = {
    "id": "5a1b7c9d-0e2f-4a6b-8c1d-3e5f7a9b1c2d",
    "carrier_code": "postnl",
    "name": "PostNL Standard",
    "label": "PostNL",
    "description": "Next-day delivery",
    "max_weight": 23000,
    "countries": [{"code": "NL", "amount": 695}],
    "delivery_during": "daytime",
    "is_configured": False,
    "is_same_day": False,
    "is_sunday": False,
    "is_carrier_location": False,
    "is_neighbour_allowed": True,
    "provider_method_id": None,
    "provider": "default",
    "is_enabled": True,
    "priority": 100,
}


class LcsMethod(Model):
    id: Id
    carrier_code: str
    name: str
    label: str | None
    description: str | None
    max_weight: int | None = Field(description="Grams")
    countries: list[LcsCountry]
    delivery_during: DeliveryDuring | None
    is_configured: bool
    is_same_day: bool
    is_sunday: bool
    is_carrier_location: bool
    is_neighbour_allowed: bool
    provider_method_id: str | None
    provider: Provider
    is_enabled: bool
    priority: int

    model_config = ConfigDict(json_schema_extra={"examples": [METHOD_EXAMPLE]})


class LcsMethodModel(Model):
    """Body of ``POST /lcs/methods`` (Wharf; the seed only reads methods), with the seed's
    defaults."""

    carrier_code: text(64, 1)
    name: text(200, 1)
    label: text(200) | None = None
    description: text(1000) | None = None
    max_weight: Grams | None = None
    countries: Countries | None = Field(None, description="Replaces the list; null clears it")
    delivery_during: DeliveryDuring | None = None
    is_configured: bool = False
    is_same_day: bool = False
    is_sunday: bool = False
    is_carrier_location: bool = False
    is_neighbour_allowed: bool = False
    provider_method_id: text(120) | None = None
    provider: Provider = "default"
    is_enabled: bool = False
    priority: int = Field(100, ge=-1_000_000, le=1_000_000, description="Lower goes first")

    _forms = model_validator(mode="before")(nested)
    model_config = ConfigDict(json_schema_extra={"examples": [{k: v for k, v in METHOD_EXAMPLE.items() if k != "id"}]})


class LcsMethodUpdate(LcsMethodModel):
    """Body of ``PUT /lcs/methods/{id}``: the fields sent change, the others keep their value."""

    carrier_code: text(64, 1) = omissible()
    name: text(200, 1) = omissible()
    is_configured: bool = omissible()
    is_same_day: bool = omissible()
    is_sunday: bool = omissible()
    is_carrier_location: bool = omissible()
    is_neighbour_allowed: bool = omissible()
    provider: Provider = omissible()
    is_enabled: bool = omissible()
    priority: Annotated[int, Field(ge=-1_000_000, le=1_000_000, description="Lower goes first")] = omissible()


class LcsMethodQuery(Model):
    country_code: Annotated[CountryCode | None, BeforeValidator(_blank_as_none)] = Field(
        None, description="Only the enabled methods that ship there"
    )
    channel_id: text(64) | None = Field(None, description="Accepted (the seed lists it); Wharf has no channels")


class LcsShipmentMethodSearchConstraint(SearchConstraint):
    key: Literal["ids", "carrier_code", "name", "is_enabled", "priority", "max_weight"]


class LcsShipmentMethodSearch(Model):
    constraints: list[LcsShipmentMethodSearchConstraint] = Field(default_factory=list)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"constraints": [{"key": "ids", "operator": "in", "values": [METHOD_EXAMPLE["id"]]}]}]
        }
    )


# --- products (Wharf) -----------------------------------------------------------------------------

Barcodes = Annotated[
    list[text(120, 1)],
    _words(r"[|;\r\n]+"),
    AfterValidator(_distinct),
    Field(description="EAN, UPC or any printed code; texts are split at | ; and new lines"),
]
HsCode = Annotated[text(32) | None, Field(pattern=r"^\s*([0-9][0-9. ]{1,31})?\s*$"), AfterValidator(_blank_as_none)]
Weight = Annotated[Annotated[int, Field(ge=0, le=10_000_000)] | None, BeforeValidator(_blank_as_none)]  # ≤ 10 t
UnitValue = Annotated[Annotated[int, Field(ge=0, le=10**12)] | None, BeforeValidator(_blank_as_none)]
Currency = Annotated[
    Annotated[str, Field(pattern=r"^[A-Za-z]{3}$"), AfterValidator(str.upper)] | None,
    BeforeValidator(_blank_as_none),
    Field(description="ISO 4217 code, any case"),
]
Origin = Annotated[CountryCode | None, BeforeValidator(_blank_as_none)]
PRODUCT_EXAMPLE = {
    "id": "9c4e2a1b-7d3f-4e5a-8b6c-1d2e3f4a5b6c",
    "sku": "TSHIRT-M",
    "description": "T-shirt blue M",
    "barcodes": ["8712345678906"],
    "hs_code": "6109.10",
    "weight": 180,
    "value": 1295,
    "currency": "EUR",
    "country_of_origin": "PT",
    "created_at": "2026-11-22T10:00:00.000Z",
    "updated_at": "2026-11-22T10:00:00.000Z",
}


class LcsProduct(Model):
    """What a scan resolves to: the SKU or any of its barcodes (unique in the tenant)."""

    id: Id
    sku: str
    description: str
    barcodes: list[str]
    hs_code: str | None
    weight: int | None = Field(description="Grams")
    value: int | None = Field(description="Unit value for customs, in minor units of currency (cents)")
    currency: str | None
    country_of_origin: str | None
    created_at: datetime
    updated_at: datetime

    model_config = ConfigDict(json_schema_extra={"examples": [PRODUCT_EXAMPLE]})


class LcsProductModel(Model):
    """Body of ``POST /lcs/products``."""

    sku: text(120, 1)
    description: text(500) | None = None
    barcodes: Barcodes | None = Field(None, description="Replaces the set; null clears it")
    hs_code: HsCode = Field(None, description="Digits, dots and spaces")
    weight: Weight = Field(None, description="Grams")
    value: UnitValue = Field(None, description="Unit value for customs, in minor units of currency (cents)")
    currency: Currency = None
    country_of_origin: Origin = Field(None, description="ISO 3166-1 alpha-2, for customs")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{k: v for k, v in PRODUCT_EXAMPLE.items() if k not in ("id", "created_at", "updated_at")}]
        }
    )


class LcsProductUpdate(LcsProductModel):
    """Body of ``PUT /lcs/products/{id}``: the fields sent change, the others keep their value."""

    sku: text(120, 1) = omissible()


class LcsProductImportRow(LcsProductModel):
    """One row of an import: a product by SKU; a field absent from the row keeps its stored
    value (CSV: a column absent from the file)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"sku": "TSHIRT-M", "description": "T-shirt blue M", "barcodes": "8712345678906|UPC-1", "weight": 180}
            ]
        },
    )


class LcsProductListQuery(Model):
    search: text(200) | None = Field(None, description="Part of the SKU, description or a barcode")


ImportMode = Literal["all_or_nothing", "skip_invalid"]


class LcsProductImportQuery(Model):
    mode: ImportMode = Field("all_or_nothing", description="skip_invalid: import the valid rows, report the rest")


class LcsProductImportUpload(Model):
    """A CSV upload: header row first (sku, description, barcodes, hs_code, weight, value,
    currency, country_of_origin; ``,``
    ``;`` or tab separated, UTF-8)."""

    file: FileUpload
    mode: ImportMode | None = Field(None, description="As the query parameter (forms send it here)")


# Rows are checked one by one against ``LcsProductImportRow`` (the import service), so
# every bad row is reported (``rows.<n>.<field>``) and ``skip_invalid`` can import the rest.
ImportRows = Annotated[
    list[Any],
    Field(min_length=1, max_length=MAX_IMPORT_ROWS),
    WithJsonSchema(
        {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_IMPORT_ROWS,
            "items": LcsProductImportRow.model_json_schema(),
            "examples": [LcsProductImportRow.model_config["json_schema_extra"]["examples"]],
        }
    ),
]
ProductImport = Annotated[
    Annotated[ImportRows, Tag("rows")] | Annotated[LcsProductImportUpload, Tag("upload")],
    Discriminator(
        lambda v: "rows" if isinstance(v, list) else "upload" if isinstance(v, dict) else None,
        custom_error_type="invalid_body",
        custom_error_message="must be a JSON array of products or a CSV upload",
    ),
]


class LcsRowError(Model):
    row: int = Field(description="1-based data row (CSV: the file line is row + 1)")
    field: str
    kind: Literal["required", "invalid value"]
    message: str


class LcsProductImportResult(Model):
    created: int
    updated: int
    skipped: int
    errors: list[LcsRowError]

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"created": 2, "updated": 1, "skipped": 0, "errors": []}]}
    )
