"""Progress jobs (seed 000 ``/progress``, lines 1042–1219): long-running work and how far it
got — Wharf's own tasks (labels, batch PDFs) and jobs integrations report themselves.

The seed shows the list item (``ProgressJob``), the create body and ``{id}``; the other
answers are ``"string"`` there and follow Open Mercato's progress module (the seed's source).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field

from schemas.base import Id, Model, PageQuery, UtcDatetime, comma_list, omissible, text

ProgressStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
MAX_COUNT = 2_147_483_647  # a 32-bit column: larger counts are refused (400), never overflow the database

_EXAMPLE_ID = "00000000-0000-4000-8000-000000000000"


class ProgressJob(Model):
    """One job as the seed lists it, plus its parent, who started it and a pending cancel."""

    id: Id
    jobType: str = Field(description="What kind of work, e.g. lcs.list.labels or an integration's own type")
    name: str
    description: str | None
    status: ProgressStatus
    progressPercent: int = Field(description="0–100")
    processedCount: int
    totalCount: int | None = Field(description="None: not known")
    etaSeconds: int | None
    cancellable: bool
    startedAt: datetime | None
    finishedAt: datetime | None
    errorMessage: str | None
    createdAt: datetime | None
    tenantId: Id
    organizationId: Id | None
    parentJobId: Id | None = None
    startedByUserId: Id | None = None
    cancelRequestedAt: datetime | None = Field(
        None, description="A running Wharf task asked to stop: it ends cancelled at its next document"
    )
    updatedAt: datetime | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _EXAMPLE_ID,
                    "jobType": "lcs.list.labels",
                    "name": "Labels for handling list L-000042 (12 parcels)",
                    "description": "Labels for handling list L-000042 (12 parcels)",
                    "status": "running",
                    "progressPercent": 41,
                    "processedCount": 5,
                    "totalCount": 13,
                    "etaSeconds": None,
                    "cancellable": True,
                    "startedAt": "2026-12-05T10:00:00.000Z",
                    "finishedAt": None,
                    "errorMessage": None,
                    "createdAt": "2026-12-05T10:00:00.000Z",
                    "tenantId": _EXAMPLE_ID,
                    "organizationId": None,
                }
            ]
        }
    )


class ProgressJobListQuery(PageQuery):
    """``GET /progress/jobs``: running and pending jobs unless ``status`` or ``includeCompleted``."""

    pageSize: int = Field(20, ge=1, le=100, description="Items per page")
    sortField: Literal["createdAt", "startedAt", "finishedAt"] | None = None
    status: Annotated[list[ProgressStatus], BeforeValidator(comma_list)] = Field(
        default_factory=list, description="Only these statuses (comma-separated or repeated)"
    )
    jobType: text(120) = Field("", description="Only jobs of this type")
    parentJobId: Id | None = Field(None, description="Only the parts of this job")
    includeCompleted: bool = Field(False, description="true: ended jobs too (without status)")
    completedSince: UtcDatetime | None = Field(None, description="Only jobs that ended at or after this time")
    ids: Annotated[list[Id], BeforeValidator(comma_list)] = Field(
        default_factory=list, max_length=200, description="Comma-separated list of record UUIDs to filter by (max 200)."
    )


class ProgressJobCreate(Model):
    """Body of ``POST /progress/jobs``: a job an integration runs and reports (``pending``)."""

    jobType: text(100, 1)
    name: text(255, 1)
    description: text(1000) | None = None
    totalCount: int | None = Field(None, ge=1, le=MAX_COUNT, description="Units of work, when known")
    cancellable: bool = Field(False, description="Whether people may cancel it (DELETE)")
    parentJobId: Id | None = Field(None, description="The job this one is a part of")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"jobType": "string", "name": "string", "cancellable": False}]}
    )


class ProgressJobCreated(Model):
    id: Id

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": _EXAMPLE_ID}]})


class ProgressJobUpdate(Model):
    """Body of ``PUT /progress/jobs/{id}``: what the integration reports. A field left out
    keeps its value; ``status`` starts (running) or ends (completed, failed) the job."""

    processedCount: int = omissible(ge=0, le=MAX_COUNT)
    progressPercent: int = omissible(ge=0, le=100, description="Default: processedCount of totalCount")
    totalCount: int = omissible(ge=1, le=MAX_COUNT)
    etaSeconds: int = omissible(ge=0, le=MAX_COUNT, description="Default: estimated from the pace so far")
    status: Literal["running", "completed", "failed"] = omissible(description="Wharf: start or end the job")
    errorMessage: text(2000) = omissible(description="Why it failed (with status failed)")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"processedCount": 40, "totalCount": 120, "status": "running"}]}
    )


class ProgressJobUpdated(Model):
    ok: Literal[True] = True
    progressPercent: int
    status: ProgressStatus

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"ok": True, "progressPercent": 33, "status": "running"}]}
    )


class ProgressActive(Model):
    """``GET /progress/active``: the header's running-jobs indicator — top-level jobs pending or
    running, and those that completed or failed in the last 30 seconds."""

    active: list[ProgressJob]
    recentlyCompleted: list[ProgressJob]
