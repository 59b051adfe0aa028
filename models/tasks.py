"""Background tasks (seed 001 ``/mes/tasks``): label and slip rendering, batch documents."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import TenantOwnedMixin, TimestampMixin, db


class Task(TenantOwnedMixin, TimestampMixin, db.Model):
    """One unit of background work. ``status`` moves queued → running → done | failed and a
    task never stays running forever (the runner records crashes as failed)."""

    __tablename__ = "mes_tasks"

    name: Mapped[str] = mapped_column(sa.String(120))  # e.g. "lcs.parcel.label"
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="queued", index=True)  # queued|running|done|failed
    progress: Mapped[int] = mapped_column(default=0)  # 0–100
    total: Mapped[int] = mapped_column(default=1)  # documents in a batch
    done: Mapped[int] = mapped_column(default=0)
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    result: Mapped[str | None] = mapped_column(sa.String(2000))  # e.g. the attachment id, or the error
    error: Mapped[str | None] = mapped_column(sa.String(2000))
    created_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
