"""Print spooler (seed 001 ``/spl``): on-site hubs, the printers behind them, the job queue,
pack stations and a tenant's own ZPL label template.

A hub is an agent on the warehouse LAN that connects *out* to Wharf (Wharf may run in a
data centre): it authenticates with a secret (stored hashed, like API keys), pulls its
jobs and reports each job's status. Jobs hold the bytes to print, already in the
printer's language, so a hub never renders anything.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import TenantOwnedMixin, TimestampMixin, db, unique_while_live
from models.tenancy import Tenant


class Hub(TenantOwnedMixin, TimestampMixin, db.Model):
    """An on-site print agent. ``uuid`` is the device's public identity (also the prefix of
    its secret); ``disabled_at`` ends it (its secret stops working)."""

    __tablename__ = "spl_hubs"

    uuid: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4, unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    properties: Mapped[list] = mapped_column(sa.JSON, default=list)  # [{key, value}] the agent reports
    network: Mapped[list] = mapped_column(sa.JSON, default=list)  # SplNetworkDevice rows the agent reports
    ip_address: Mapped[str | None] = mapped_column(sa.String(64))  # the agent's own LAN address
    remote_ip_address: Mapped[str | None] = mapped_column(sa.String(64))  # as Wharf sees it
    version: Mapped[str | None] = mapped_column(sa.String(40))
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    status_updated_at: Mapped[datetime | None] = mapped_column(default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)

    tenant: Mapped[Tenant] = relationship()
    printers: Mapped[list[Printer]] = relationship(back_populates="hub", order_by="Printer.name")


class HubLog(TenantOwnedMixin, TimestampMixin, db.Model):
    """Something a hub reports (a printer that refused a job, a restart)."""

    __tablename__ = "spl_hub_logs"

    hub_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("spl_hubs.id"), index=True)
    message: Mapped[str] = mapped_column(sa.String(2000))
    level: Mapped[str] = mapped_column(sa.String(16), default="private")  # public | private (seed)
    is_resolved: Mapped[bool] = mapped_column(default=False)
    job_reference: Mapped[str | None] = mapped_column(sa.String(120))


class Printer(TenantOwnedMixin, TimestampMixin, db.Model):
    """A printer on a hub's LAN: ``connection`` ``{interface: network|ipp, address}``,
    ``default_encoding`` ``zpl`` or ``pdf``, ``settings`` validated per encoding."""

    __tablename__ = "spl_printers"

    name: Mapped[str] = mapped_column(sa.String(120))
    hub_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("spl_hubs.id"), index=True)
    default_encoding: Mapped[str] = mapped_column(sa.String(16), default="zpl")
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    connection: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    settings: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    inbox_id: Mapped[str | None] = mapped_column(sa.String(120))
    last_printed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    last_error_at: Mapped[datetime | None] = mapped_column(default=None)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)

    hub: Mapped[Hub] = relationship(back_populates="printers")


class PrintJob(TenantOwnedMixin, TimestampMixin, db.Model):
    """One document for one printer. ``status``: scheduled → received (a hub holds it until
    ``lease_until``) → printed | failed; cancelled while scheduled. ``reference`` is the
    client's idempotency key (the id when none is given)."""

    __tablename__ = "spl_jobs"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "reference"),)

    job: Mapped[str] = mapped_column(sa.Text)  # as submitted: a document id or a data: URI
    tag: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    reference: Mapped[str] = mapped_column(sa.String(120))
    status: Mapped[str] = mapped_column(sa.String(16), default="scheduled", index=True)
    printer_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("spl_printers.id"), index=True)
    hub_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("spl_hubs.id"), index=True)
    encoding: Mapped[str] = mapped_column(sa.String(16))  # zpl | pdf: the language of ``content``
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    schedule_at: Mapped[datetime | None] = mapped_column(default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.String(1000))
    printed_at: Mapped[datetime | None] = mapped_column(default=None)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    reprint_of: Mapped[uuid.UUID | None] = mapped_column(default=None)

    printer: Mapped[Printer] = relationship()


class PrintStation(TenantOwnedMixin, TimestampMixin, db.Model):
    """A pack bench: scanning its ``code`` binds a signed-in session to it, and labels closed
    there print on its printer."""

    __tablename__ = "spl_stations"
    __table_args__ = (unique_while_live("uq_spl_stations_live_code", "tenant_id", "code"),)

    name: Mapped[str] = mapped_column(sa.String(120))
    code: Mapped[str] = mapped_column(sa.String(64))
    printer_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("spl_printers.id"), index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    printer: Mapped[Printer | None] = relationship()


class LabelTemplate(TenantOwnedMixin, TimestampMixin, db.Model):
    """A tenant's override of the shipped ZPL parcel label (validated when saved)."""

    __tablename__ = "spl_label_templates"
    __table_args__ = (sa.UniqueConstraint("tenant_id"),)

    body: Mapped[str] = mapped_column(sa.Text)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
