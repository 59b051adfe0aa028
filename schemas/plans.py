"""Storage plans (seed 004 ``/api/v1/plans`` and ``/api/v1/plans/{planId}``) and each
user's usage and plan assignment (Wharf's)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, ValidationError, WrapValidator

from schemas.base import Id, Model, PageQuery, text

MAX_QUOTA_MB = 1_000_000_000


def _whole_mb(value, handler):
    """One message for every wrong quota, the one a person can act on."""
    try:
        if isinstance(value, bool):
            raise ValueError
        return handler(value)
    except (ValidationError, ValueError):
        raise ValueError(f"must be a whole number of MB between 0 and {MAX_QUOTA_MB}") from None


Quota = Annotated[int, Field(ge=0, le=MAX_QUOTA_MB, description="Quota in MB"), WrapValidator(_whole_mb)]

_PLAN_EXAMPLE = {
    "id": "00000000-0000-4000-8000-000000000000",
    "name": "Standard",
    "description": "Plan every user is on unless given another",
    "quota": 1024,
    "default": True,
}


class PlanListQuery(PageQuery):
    sortField: Literal["name", "quota", "createdAt"] | None = None
    tenantId: Id | None = Field(None, description="Another tenant's plans (super admins)")


class Plan(Model):
    """A plan as seed 004 returns it (``quota`` in MB)."""

    id: Id
    name: str
    description: str | None
    quota: int
    default: bool

    model_config = ConfigDict(json_schema_extra={"examples": [_PLAN_EXAMPLE]})


class PlanCreate(Model):
    """Body of ``POST /api/v1/plans``; ``default: true`` takes the flag from the current default."""

    name: text(120, 1)
    description: text(500) | None = None
    quota: Quota
    default: bool = False
    tenantId: Id | None = Field(None, description="Super admins only; default: the caller's tenant")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Bronze", "description": "Small", "quota": 100, "default": False}]}
    )


class PlanUpdate(Model):
    """Body of ``PUT /api/v1/plans/{planId}`` (seed 004's optional members): fields left out
    (or null) keep their value, except ``description``, where null clears it."""

    name: text(120, 1) | None = None
    description: text(500) | None = None
    quota: Quota | None = None
    default: bool | None = Field(None, description="false on the default plan is refused: make another the default")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Gold", "description": None, "quota": 5000, "default": True}]}
    )


class PlanDeleted(Model):
    ok: Literal[True] = True
    movedUsers: int = Field(description="Users moved to the default plan")


class UsageQuery(Model):
    userId: Id


class PlanUsage(Model):
    """A user's plan and how much of it their attachments use."""

    userId: Id
    planId: Id
    planName: str
    quota: int
    quotaBytes: int
    usedBytes: int
    percent: int
    blocked: bool


class PlanAssignment(Model):
    """Body of ``PUT /api/v1/plans/assignment``."""

    userId: Id
    planId: Id
