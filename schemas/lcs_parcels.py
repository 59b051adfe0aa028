"""Parcels (seed 001 ``/lcs/parcels``, lines 27023–28194; schemas ``LcsParcel*`` and
``LcsPlace``, 98685–98862). Weights in grams, dimensions in millimetres."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from schemas.base import Id, Model, UtcDatetime, text
from schemas.lcs_scan import ScannedCode

MAX_MEASURE = 10_000_000  # 10 t or 10 km: anything larger is a typo
MAX_UNITS = 10_000  # units of one shipment (and so of one parcel)


Measure = Annotated[int, Field(ge=0, le=MAX_MEASURE)]


class LcsParcelMeasures(Model):
    """Weight (g) and dimensions (mm); a SET_FIELD rule on "creating" may set them too."""

    weight: Measure | None = None
    length: Measure | None = None
    width: Measure | None = None
    height: Measure | None = None


class LcsParcelCreateModel(LcsParcelMeasures):
    """Body of ``POST /lcs/parcels``: ``item_ids`` (units of the shipment) are packed at once."""

    shipment_id: Id
    tracking_code: text(120) | None = None
    tracking_url: text(500) | None = None
    item_ids: list[Id] = Field(default_factory=list, max_length=MAX_UNITS)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "shipment_id": "0b6f5e8e-2f4b-4a53-9d0e-2d6f1c1a7e10",
                    "weight": 1250,
                    "length": 300,
                    "width": 200,
                    "height": 100,
                    "tracking_code": "3SABC123",
                    "tracking_url": "track.example/3SABC123",
                    "item_ids": ["5d1f0c3a-8a43-4d3b-b2f5-0c1e9f3b6a21"],
                }
            ]
        }
    )


class LcsParcelModel(LcsParcelMeasures):
    """Body of ``PUT /lcs/parcels/{id}``: the fields sent change (``null`` clears one)."""

    ship_at: UtcDatetime | None = None
    tracking_code: text(120) | None = None
    tracking_url: text(500) | None = None
    position: text(64) | None = Field(None, description="Where the parcel waits (dock, cage)")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "weight": 1300,
                    "length": 300,
                    "width": 200,
                    "height": 100,
                    "ship_at": "2026-11-23T10:00:00.000Z",
                    "tracking_code": "3SABC123",
                    "tracking_url": "track.example/3SABC123",
                    "position": "DOCK-1",
                }
            ]
        }
    )


class LcsPlace(Model):
    """Body of ``POST``/``DELETE /lcs/parcels/{id}/items``: unit ids."""

    ids: list[Id] = Field(max_length=MAX_UNITS)

    model_config = ConfigDict(json_schema_extra={"examples": [{"ids": ["5d1f0c3a-8a43-4d3b-b2f5-0c1e9f3b6a21"]}]})


class LcsPlaceResult(Model):
    """Units packed (or unpacked) and refused (not free, or not of the parcel's shipment)."""

    success: int
    failed: int

    model_config = ConfigDict(json_schema_extra={"examples": [{"success": 12, "failed": 0}]})


class LcsParcelLabel(Model):
    """The label the label task stored; every field is null until one is requested."""

    file_id: str | None
    reference: str | None
    label_text: str | None
    requested_at: datetime | None


class LcsParcelItem(Model):
    """Units of one SKU in the parcel (``id`` is the first unit's)."""

    id: Id
    sku: str
    quantity: int
    description: str


class LcsParcel(Model):
    id: Id
    number: str = Field(description="SSCC-18 (GS1 application identifier 00)")
    weight: int | None
    length: int | None
    width: int | None
    height: int | None
    tracking_code: str | None
    tracking_url: str | None
    position: str | None
    label: LcsParcelLabel
    shipment_id: Id
    count: int
    items: list[LcsParcelItem]
    is_in_transit: bool
    is_delivered: bool
    is_outbound: bool
    is_finished: bool
    file_id: str | None = Field(description="The stored packing slip")
    ship_at: datetime | None
    in_transit_at: datetime | None
    finished_at: datetime | None
    closed_at: datetime | None = Field(
        description="Wharf: when its label was first requested; packing by scan then opens the next parcel"
    )
    label_blocked: str | None = Field(
        None, description="Wharf: why the last label request was refused (422), until a request succeeds"
    )
    created_at: datetime
    updated_at: datetime
    item_ids: list[Id] = Field(description="Wharf: every unit in the parcel")


# --- packing by scan (Wharf) ---------------------------------------------------------------------


class LcsPackScan(Model):
    """Body of ``POST /lcs/shipments/{id}/pack/scan``: a unit id, SKU, product barcode or GS1 string."""

    code: ScannedCode

    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "]C10104006381333931"}]})


class LcsPackScanResult(Model):
    """One pack scan: ``ok`` packed a picked unit into the open parcel; ``warning`` (nothing
    left picked of that product: one more than was picked) and ``error`` (not in the
    shipment) change nothing. The parcel fields name the open parcel (null before the first)."""

    status: Literal["ok", "warning", "error"]
    message: str
    parcel_id: Id | None
    parcel_number: str | None
    parcel_index: int | None = Field(description="1-based position among the shipment's parcels")
    parcel_count: int = Field(description="Parcels of the shipment")
    item_id: Id | None = Field(description="The unit packed")
    sku: str | None
    packed: int = Field(description="Units of the shipment in a parcel")
    to_pack: int = Field(description="Units of the shipment (not missing) not yet in a parcel")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "message": "SKU-A → parcel 2 of 2",
                    "parcel_id": "2a1f0c3a-8a43-4d3b-b2f5-0c1e9f3b6a21",
                    "parcel_number": "387123450000000018",
                    "parcel_index": 2,
                    "parcel_count": 2,
                    "item_id": "5d1f0c3a-8a43-4d3b-b2f5-0c1e9f3b6a21",
                    "sku": "SKU-A",
                    "packed": 3,
                    "to_pack": 1,
                }
            ]
        }
    )


class LcsParcelClose(Model):
    """Body of ``POST /lcs/parcels/{id}/close``: the weight (g); the label is requested with it."""

    weight: Annotated[int, Field(ge=1, le=MAX_MEASURE)]

    model_config = ConfigDict(json_schema_extra={"examples": [{"weight": 1250}]})


class LcsPackLine(Model):
    """What one SKU of the shipment needs at the pack station."""

    sku: str
    description: str
    needed: int = Field(description="Units not missing")
    picked: int = Field(description="Picked units (packed or not)")
    packed: int
