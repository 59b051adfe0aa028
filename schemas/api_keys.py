"""API keys (seed 000 ``/api_keys/keys``, lines 1957–2123)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field

from schemas.base import Id, Model, PageQuery, text


def _in_future(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    if aware <= datetime.now(UTC):
        raise ValueError("must be in the future")
    return aware.astimezone(UTC)


class ApiKeyListQuery(PageQuery):
    sortField: Literal["name", "createdAt", "lastUsedAt", "expiresAt"] | None = None


class ApiKeyRole(Model):
    id: Id
    name: str | None


class ApiKeyListItem(Model):
    """One key as listed: never its secret. ``createdBy*`` and ``suspended`` are Wharf's:
    a key acts for its owner and stops working while the owner may not sign in."""

    id: Id
    name: str
    description: str | None
    keyPrefix: str
    organizationId: Id | None
    organizationName: str | None
    createdAt: datetime
    lastUsedAt: datetime | None
    expiresAt: datetime | None
    roles: list[ApiKeyRole]
    createdById: Id | None = None
    createdByEmail: str | None = None
    suspended: bool = False


class ApiKeyCreate(Model):
    """Body of ``POST /api_keys/keys``."""

    name: text(200, 1)
    description: text(1000) | None = None
    tenantId: Id | None = Field(None, description="Super admins only; default: the caller's tenant")
    organizationId: Id | None = None
    roles: list[Id] = Field(default_factory=list, description="Role ids of the key's tenant")
    expiresAt: Annotated[datetime | None, AfterValidator(_in_future)] = Field(
        None, description="ISO-8601, in the future; naive means UTC; null = never"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "string",
                    "description": None,
                    "tenantId": None,
                    "organizationId": None,
                    "roles": [],
                    "expiresAt": None,
                }
            ]
        }
    )


class ApiKeyCreated(ApiKeyListItem):
    """The create answer: the listed fields, the tenant, and the one-time ``secret``."""

    tenantId: Id
    secret: str


class ApiKeyDeleteQuery(Model):
    id: Id = Field(description="API key identifier to delete")


class ApiKeyDeleted(Model):
    success: Literal[True] = True
