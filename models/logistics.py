"""The outbound floor (seed 001 lcs): reference data, shipments and their units, handling
lists, parcels, scan history and per-tenant counters.

A shipment's ``quantity`` is expanded to one ``ShipmentItem`` per physical unit, so every
state change (handled, boxed, missing) is a conditional update of exactly one row — the
basis of "a unit is never counted twice". Shipment flags are derived from the units.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import SoftDeleteMixin, TenantOwnedMixin, TimestampMixin, db, utcnow


class Counter(TenantOwnedMixin, db.Model):
    """Per-tenant sequences (shipment numbers, list numbers, SSCC serials)."""

    __tablename__ = "counters"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(sa.String(32))
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class ShipmentTally(TenantOwnedMixin, db.Model):
    """How many shipments a tenant holds, per organization, kept by the transaction that
    creates them: the shipment list's ``x-count`` becomes a read of a few rows instead of a
    ``COUNT(*)`` over every shipment (3–5 ms at 100 000 rows, on every page load)."""

    __tablename__ = "lcs_shipment_tallies"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "organization_key"),)

    organization_key: Mapped[str] = mapped_column(sa.String(36), default="")  # organization id, "" = none
    shipments: Mapped[int] = mapped_column(sa.BigInteger, default=0)


# --- reference data -------------------------------------------------------------------------


class Location(TenantOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "lcs_locations"

    organization_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    reference: Mapped[str | None] = mapped_column(sa.String(120))
    address: Mapped[dict | None] = mapped_column(sa.JSON, default=None)
    is_disabled: Mapped[bool] = mapped_column(default=False)

    positions: Mapped[list[Position]] = relationship(back_populates="location", order_by="Position.sorting")


class Position(TenantOwnedMixin, TimestampMixin, db.Model):
    """A pick position (e.g. ``A3.32435``); ``sorting`` is the walk order."""

    __tablename__ = "lcs_positions"
    __table_args__ = (sa.UniqueConstraint("location_id", "code"),)

    location_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("lcs_locations.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(64))
    sorting: Mapped[int] = mapped_column(default=0)
    skus: Mapped[list] = mapped_column(sa.JSON, default=list)

    location: Mapped[Location] = relationship(back_populates="positions")


class Method(TenantOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    """A shipping method (carrier service)."""

    __tablename__ = "lcs_methods"

    carrier_code: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    label: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(1000))
    max_weight: Mapped[int | None] = mapped_column(default=None)  # grams
    countries: Mapped[list] = mapped_column(sa.JSON, default=list)  # [{code, amount}]
    is_enabled: Mapped[bool] = mapped_column(default=True)
    priority: Mapped[int] = mapped_column(default=0)
    extra: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # the seed's other fields, kept as given


class Product(TenantOwnedMixin, TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "lcs_products"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "sku"),)

    sku: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    hs_code: Mapped[str | None] = mapped_column(sa.String(32))
    weight: Mapped[int | None] = mapped_column(default=None)  # grams
    # Customs (commercial invoice): unit value in minor units of ``currency`` (ISO 4217),
    # country of origin (ISO 3166-1 alpha-2).
    value: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    country_of_origin: Mapped[str | None] = mapped_column(sa.String(2))

    barcodes: Mapped[list[ProductBarcode]] = relationship(cascade="all, delete-orphan", back_populates="product")


class ProductBarcode(TenantOwnedMixin, db.Model):
    """A code printed on a product (EAN/UPC/any string); unique per tenant so a scan resolves."""

    __tablename__ = "lcs_product_barcodes"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code"),)

    product_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("lcs_products.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(120))

    product: Mapped[Product] = relationship(back_populates="barcodes")


# --- shipments ------------------------------------------------------------------------------


class Shipment(TenantOwnedMixin, TimestampMixin, db.Model):
    __tablename__ = "lcs_shipments"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        sa.Index("ix_lcs_shipments_tenant_newest", "tenant_id", "created_at", "id"),  # newest_first pages
        sa.Index("ix_lcs_shipments_tenant_outbound", "tenant_id", "is_outbound"),  # the search's x-count
        # The list's text search (LIKE '%…%') from trigrams, not a scan of every row: PostgreSQL only.
        sa.Index(
            "ix_lcs_shipments_search_trgm",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    organization_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    number: Mapped[str] = mapped_column(sa.String(32))
    type: Mapped[str] = mapped_column(sa.String(16), default="delivery")  # delivery | collect | internal
    is_outbound: Mapped[bool] = mapped_column(default=True)
    method_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("lcs_methods.id"))
    location_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("lcs_locations.id"))
    addressing: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # {to: {...}, from: {...}} snapshots
    order_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    channel_id: Mapped[str | None] = mapped_column(sa.String(64))
    contact_id: Mapped[str | None] = mapped_column(sa.String(64))
    ship_at: Mapped[datetime | None] = mapped_column(default=None)
    estimated_ship_at: Mapped[datetime | None] = mapped_column(default=None)
    expected_at: Mapped[datetime | None] = mapped_column(default=None)
    prior_shipments: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Corrections the seed keeps beside the units: [{sku, quantity, description, position}]
    backorders: Mapped[list] = mapped_column(sa.JSON, default=list)
    overage: Mapped[list] = mapped_column(sa.JSON, default=list)
    # The one active handling list holding this shipment (set by a conditional update).
    active_list_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("lcs_lists.id"), index=True)
    is_canceled: Mapped[bool] = mapped_column(default=False)
    canceled_at: Mapped[datetime | None] = mapped_column(default=None)
    search_text: Mapped[str] = mapped_column(sa.String(1000), default="")  # number, order id, name, postal code

    items: Mapped[list[ShipmentItem]] = relationship(back_populates="shipment", order_by="ShipmentItem.sequence")
    parcels: Mapped[list[Parcel]] = relationship(back_populates="shipment", order_by="Parcel.created_at")
    method: Mapped[Method | None] = relationship()


class ShipmentItem(TenantOwnedMixin, TimestampMixin, db.Model):
    """One physical unit of a shipment line."""

    __tablename__ = "lcs_shipment_items"
    __table_args__ = (sa.Index("ix_lcs_items_list_sku", "list_id", "sku", "is_handled"),)

    shipment_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("lcs_shipments.id"), index=True)
    sequence: Mapped[int] = mapped_column(default=0)
    sku: Mapped[str] = mapped_column(sa.String(120), index=True)
    reference: Mapped[str | None] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    position: Mapped[str | None] = mapped_column(sa.String(64))
    hs_code: Mapped[str | None] = mapped_column(sa.String(32))
    order_item_id: Mapped[str | None] = mapped_column(sa.String(64))
    claim_item_id: Mapped[str | None] = mapped_column(sa.String(64))
    service: Mapped[list] = mapped_column(sa.JSON, default=list)  # [{option, configuration: [{key, value}]}]
    weight: Mapped[int | None] = mapped_column(default=None)
    list_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("lcs_lists.id"), index=True)
    rank: Mapped[int] = mapped_column(default=0)  # walk order on its list
    is_handled: Mapped[bool] = mapped_column(default=False)
    handled_at: Mapped[datetime | None] = mapped_column(default=None)
    handled_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    is_serviced: Mapped[bool] = mapped_column(default=False)
    is_missing: Mapped[bool] = mapped_column(default=False)
    is_finished: Mapped[bool] = mapped_column(default=False)
    parcel_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("lcs_parcels.id"), index=True)
    lot_number: Mapped[str | None] = mapped_column(sa.String(64))
    expires_at: Mapped[datetime | None] = mapped_column(default=None)

    shipment: Mapped[Shipment] = relationship(back_populates="items")


# --- handling lists ---------------------------------------------------------------------------


class HandlingList(TenantOwnedMixin, TimestampMixin, db.Model):
    __tablename__ = "lcs_lists"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        sa.Index("ix_lcs_lists_tenant_newest", "tenant_id", "created_at", "id"),  # newest_first pages
    )

    organization_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    number: Mapped[str] = mapped_column(sa.String(32))
    sub: Mapped[str | None] = mapped_column(sa.String(64))  # assigned user
    location_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("lcs_locations.id"))
    is_outbound: Mapped[bool] = mapped_column(default=True)
    is_on_hold: Mapped[bool] = mapped_column(default=False)
    is_cancelled: Mapped[bool] = mapped_column(default=False)
    is_finished: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(default=0)  # bumped by every state change (conditional updates)
    # Why the list did not finish when its last unit was handled (a GUARD rule's message);
    # cleared when it finishes. The list page and the station show it.
    finish_blocked: Mapped[str | None] = mapped_column(sa.String(500), default=None)

    shipments: Mapped[list[ListShipment]] = relationship(
        back_populates="handling_list", order_by="ListShipment.position"
    )


class ListShipment(TenantOwnedMixin, db.Model):
    __tablename__ = "lcs_list_shipments"
    __table_args__ = (sa.UniqueConstraint("list_id", "shipment_id"),)

    list_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("lcs_lists.id"), index=True)
    shipment_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("lcs_shipments.id"), index=True)
    label: Mapped[str | None] = mapped_column(sa.String(120))
    position: Mapped[int] = mapped_column(default=0)

    handling_list: Mapped[HandlingList] = relationship(back_populates="shipments")
    shipment: Mapped[Shipment] = relationship()


class ScanEvent(TenantOwnedMixin, db.Model):
    """What happened to a unit on a list (the history behind progress and "undo last scan")."""

    __tablename__ = "lcs_scan_events"
    __table_args__ = (sa.Index("ix_lcs_scan_events_list_at", "list_id", "created_at"),)

    list_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("lcs_lists.id"))
    item_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("lcs_shipment_items.id"))
    # handled | unhandled | missing | redirected | pending | rejected | finished
    # | pending_tote (undone: no longer awaited) | tote | cancelled (the list) | returned / released
    # (a cancel took the unit off the list: it had been picked / it had not)
    kind: Mapped[str] = mapped_column(sa.String(16))
    code: Mapped[str | None] = mapped_column(sa.String(200))  # what was scanned; the position of missing/redirected
    reason: Mapped[str | None] = mapped_column(sa.String(32))  # a short pick's: empty_location | damaged | wrong_item
    user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    undone: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- parcels ------------------------------------------------------------------------------------


class Parcel(TenantOwnedMixin, TimestampMixin, db.Model):
    __tablename__ = "lcs_parcels"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        sa.Index("ix_lcs_parcels_tenant_newest", "tenant_id", "created_at", "id"),  # newest_first pages
    )

    shipment_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("lcs_shipments.id"), index=True)
    number: Mapped[str] = mapped_column(sa.String(18))  # SSCC-18
    weight: Mapped[int | None] = mapped_column(default=None)  # grams
    length: Mapped[int | None] = mapped_column(default=None)  # millimetres
    width: Mapped[int | None] = mapped_column(default=None)
    height: Mapped[int | None] = mapped_column(default=None)
    tracking_code: Mapped[str | None] = mapped_column(sa.String(120))
    tracking_url: Mapped[str | None] = mapped_column(sa.String(500))
    position: Mapped[str | None] = mapped_column(sa.String(64))  # where it waits (dock, cage)
    ship_at: Mapped[datetime | None] = mapped_column(default=None)
    is_in_transit: Mapped[bool] = mapped_column(default=False)
    in_transit_at: Mapped[datetime | None] = mapped_column(default=None)
    is_delivered: Mapped[bool] = mapped_column(default=False)
    is_finished: Mapped[bool] = mapped_column(default=False)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # none_as_null: "no label" must be SQL NULL (not JSON null) so ``label IS NULL`` works everywhere.
    label: Mapped[dict | None] = mapped_column(
        sa.JSON(none_as_null=True), default=None
    )  # {file_id, reference, label_text, requested_at}
    file_id: Mapped[str | None] = mapped_column(sa.String(64))  # packing slip
    # Set when its label is first requested: the pack station's next scan opens a new parcel.
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Why the last label request was refused (a weight rule…), shown on the parcel until the next one.
    label_blocked: Mapped[str | None] = mapped_column(sa.String(500), default=None)

    shipment: Mapped[Shipment] = relationship(back_populates="parcels")
