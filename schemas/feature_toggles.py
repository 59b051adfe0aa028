"""Feature toggles (seed 000 ``/feature_toggles``, lines 2123–2642).

A value's match with its toggle's ``type`` is checked by ``services.toggles`` (an update
or an override names only the toggle, whose type is stored)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from schemas.base import Id, Model, Page, PageQuery, omissible, text

ToggleType = Literal["boolean", "string", "number", "json"]
Source = Literal["override", "default"]
IDENTIFIER = r"^[a-z][a-z0-9_.-]*$"
Identifier = text(120, 1, pattern=IDENTIFIER, description="Lower case letters, digits and . _ - (immutable)")
SORT_FIELDS = Literal["identifier", "name", "category", "type", "createdAt", "updatedAt"]
UUID_EXAMPLE = "00000000-0000-4000-8000-000000000000"


# --- check ---------------------------------------------------------------------------------


class FeatureToggleCheckQuery(Model):
    identifier: text(120, 1) = Field(description="Feature toggle identifier")


class _Resolved(Model):
    source: Source
    toggleId: Id
    identifier: str
    tenantId: Id | None = Field(description="The caller's tenant (null for a caller without one)")


class FeatureToggleEnabled(_Resolved):
    """``check/boolean``: whether the toggle is on for the caller's tenant."""

    enabled: bool

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enabled": True,
                    "source": "override",
                    "toggleId": UUID_EXAMPLE,
                    "identifier": "string",
                    "tenantId": UUID_EXAMPLE,
                }
            ]
        }
    )


class FeatureToggleStringValue(_Resolved):
    valueType: Literal["string"] = "string"
    value: str


class FeatureToggleNumberValue(_Resolved):
    valueType: Literal["number"] = "number"
    value: float


class FeatureToggleJsonValue(_Resolved):
    valueType: Literal["json"] = "json"
    value: Any


# --- global definitions ----------------------------------------------------------------------


class FeatureToggleListQuery(PageQuery):
    pageSize: int = Field(50, ge=1, le=200, description="Items per page (max 200)")
    search: text(200) = Field(
        "", description="Case-insensitive search across identifier, name, description and category"
    )
    type: ToggleType | None = Field(None, description="Filter by toggle type")
    category: text(120) = Field("", description="Filter by category (case-insensitive partial match)")
    name: text(200) = Field("", description="Filter by name (case-insensitive partial match)")
    identifier: text(120) = Field("", description="Filter by identifier (case-insensitive partial match)")
    sortField: SORT_FIELDS | None = None


class FeatureToggle(Model):
    """A global toggle definition."""

    id: Id
    identifier: str
    name: str
    description: str | None
    category: str | None
    type: ToggleType
    defaultValue: Any
    createdAt: datetime
    updatedAt: datetime

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": UUID_EXAMPLE,
                    "identifier": "string",
                    "name": "string",
                    "description": None,
                    "category": None,
                    "type": "boolean",
                    "defaultValue": None,
                    "createdAt": "2026-11-22T10:00:00.000Z",
                    "updatedAt": "2026-11-22T10:00:00.000Z",
                }
            ]
        }
    )


class FeatureToggleCreate(Model):
    """Body of ``POST /feature_toggles/global``. ``defaultValue`` must match ``type``
    (boolean: default false)."""

    identifier: Identifier
    name: text(200, 1)
    description: text(1000) | None = None
    category: text(120) | None = None
    type: ToggleType
    defaultValue: Any = Field(None, description="A JSON value of the toggle's type")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "identifier": "string",
                    "name": "string",
                    "description": None,
                    "category": None,
                    "type": "boolean",
                    "defaultValue": None,
                }
            ]
        }
    )


class FeatureToggleUpdate(Model):
    """Body of ``PUT /feature_toggles/global``: the fields sent change. ``identifier`` and
    ``type`` cannot change (sending another value is a 400)."""

    id: Id
    identifier: text(120) | None = None
    name: text(200, 1) = omissible()
    description: text(1000) | None = None
    category: text(120) | None = None
    type: ToggleType | None = None
    defaultValue: Any = Field(None, description="A JSON value of the toggle's type")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"id": UUID_EXAMPLE, "description": None, "category": None, "defaultValue": None}]
        }
    )


class FeatureToggleId(Model):
    id: Id

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": UUID_EXAMPLE}]})


class FeatureToggleDeleteQuery(Model):
    id: Id = Field(description="Feature toggle identifier")


# --- overrides -------------------------------------------------------------------------------


class OverrideTenantQuery(Model):
    tenantId: Id | None = Field(None, description="Super admins only: another tenant's overrides (default: own)")


class FeatureToggleOverrideListQuery(PageQuery, OverrideTenantQuery):
    pageSize: int = Field(50, ge=1, le=200, description="Items per page (max 200)")
    category: text(120) = ""
    name: text(200) = ""
    identifier: text(120) = ""
    sortField: SORT_FIELDS | None = None


class FeatureToggleOverrideItem(Model):
    """A live toggle and this tenant's override of it (``id`` null: it inherits)."""

    id: Id | None
    toggleId: Id
    overrideState: Literal["enabled", "disabled", "override", "inherit"]
    identifier: str
    name: str
    category: str | None
    defaultState: bool | None = Field(description="The default of a boolean toggle (null for other types)")
    tenantName: str | None
    tenantId: Id
    type: ToggleType
    defaultValue: Any
    overrideValue: Any
    isOverride: bool


class FeatureToggleOverrideList(Page[FeatureToggleOverrideItem]):
    isSuperAdmin: bool


class FeatureToggleOverride(Model):
    """``GET /feature_toggles/global/{id}/override``: the caller's tenant's override (or, for a
    super admin, the ``tenantId`` named)."""

    id: Id | None = Field(description="The override; null while the tenant inherits the default")
    tenantName: str
    tenantId: Id
    toggleType: ToggleType
    toggleId: Id
    isOverride: bool
    overrideState: Literal["enabled", "disabled", "override", "inherit"]
    value: Any

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": UUID_EXAMPLE,
                    "tenantName": "string",
                    "tenantId": UUID_EXAMPLE,
                    "toggleType": "boolean",
                    "toggleId": UUID_EXAMPLE,
                    "isOverride": True,
                    "overrideState": "enabled",
                    "value": True,
                }
            ]
        }
    )


class ChangeOverrideState(Model):
    """Body of ``PUT /feature_toggles/overrides``: override (``isOverride`` true; a boolean
    toggle without ``overrideValue`` is switched on) or inherit the default again."""

    toggleId: Id
    isOverride: bool
    overrideValue: Any = Field(None, description="A JSON value of the toggle's type")
    tenantId: Id | None = Field(None, description="Super admins only; default: the caller's tenant")

    model_config = ConfigDict(json_schema_extra={"examples": [{"toggleId": UUID_EXAMPLE, "isOverride": True}]})


class ChangeOverrideStateResponse(Model):
    ok: Literal[True] = True
    overrideToggleId: Id | None

    model_config = ConfigDict(json_schema_extra={"examples": [{"ok": True, "overrideToggleId": None}]})
