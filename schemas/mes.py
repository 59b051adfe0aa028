"""Background tasks (seed 001 ``GET /mes/tasks/{id}``, line 50871; schema ``MesTask``, 99282)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from schemas.base import Id, Model


class MesTask(Model):
    """The seed's task, plus Wharf's ``status``, ``error`` and the batch counters."""

    id: Id
    name: str
    description: str | None
    progress: int = Field(description="0–100")
    result: str | None = Field(description="What the task produced, e.g. the stored document's file id")
    started_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime | None
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    error: str | None
    done: int = Field(description="Documents finished of total")
    total: int | None = Field(description="None: not known (a progress job that did not say)")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f2c1b7e-9a0d-4c55-8f1e-6b2a7d9c0e14",
                    "name": "lcs.parcel.label",
                    "description": "Label for parcel 087123400000000018",
                    "progress": 100,
                    "result": "a1b2c3d4-0000-4000-8000-000000000001",
                    "started_at": "2026-11-22T10:00:00.000Z",
                    "completed_at": "2026-11-22T10:00:01.000Z",
                    "expires_at": "2026-11-29T10:00:00.000Z",
                    "status": "done",
                    "error": None,
                    "done": 1,
                    "total": 1,
                }
            ]
        }
    )
