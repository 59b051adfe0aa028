"""Background tasks (seed 001 ``/mes/tasks``): label and slip rendering, batch documents —
and, as seed 000's progress jobs (``/progress/jobs``), the long-running work integrations
report themselves (``external``)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import TenantOwnedMixin, TimestampMixin, db


class Task(TenantOwnedMixin, TimestampMixin, db.Model):
    """One unit of background work. ``status`` moves queued → running → done | failed |
    cancelled and a task never stays running forever (the runner records crashes as failed;
    an external job that stops reporting is declared failed)."""

    __tablename__ = "mes_tasks"

    name: Mapped[str] = mapped_column(sa.String(120))  # e.g. "lcs.parcel.label" (a progress job's jobType)
    label: Mapped[str | None] = mapped_column(sa.String(255))  # a progress job's name (Wharf's: the description)
    description: Mapped[str] = mapped_column(sa.String(1000), default="")
    status: Mapped[str] = mapped_column(
        sa.String(16), default="queued", index=True
    )  # queued|running|done|failed|cancelled
    progress: Mapped[int] = mapped_column(default=0)  # 0–100
    total: Mapped[int | None] = mapped_column(default=1)  # documents in a batch (None: not known)
    done: Mapped[int] = mapped_column(default=0)
    eta_seconds: Mapped[int | None] = mapped_column(default=None)
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    result: Mapped[str | None] = mapped_column(sa.String(2000))  # e.g. the attachment id, or the error
    error: Mapped[str | None] = mapped_column(sa.String(2000))
    created_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("mes_tasks.id", ondelete="SET NULL"), index=True, default=None
    )
    # external: made through POST /progress/jobs and reported by its integration (no runner);
    # cancellable: DELETE /progress/jobs/{id} may stop it (Wharf's own: between documents).
    external: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    cancellable: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    cancel_requested_at: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
