"""Wharf's pack landing page (``/lcs/pack``): open a shipment's pack station by any of its
codes, and the shipments waiting to be packed."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from schemas.base import Id, Model, Timestamp
from schemas.lcs_scan import ScannedCode


class LcsPackOpen(Model):
    """Body of ``POST /lcs/pack/open``: a shipment number, order id, unit id or parcel SSCC."""

    code: ScannedCode

    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "S-000123"}]})


class LcsPackOpened(Model):
    """The shipment whose pack station the code opens (``GET /lcs/shipments/{shipment_id}/pack``)."""

    shipment_id: Id
    number: str


class LcsPackWaiting(Model):
    """A shipment waiting to be packed: every unit picked (``is_handled``), not all in
    parcels (not ``is_boxed``), not canceled. Counts leave out missing units."""

    id: Id
    number: str
    order_id: str | None
    created_at: Timestamp
    units: int = Field(description="Units to ship (not missing)")
    picked: int
    packed: int = Field(description="Units already in a parcel")
