"""Directory (seed 000 ``/directory``, lines 12463–12800): tenants, organizations and the
organization switcher."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, WithJsonSchema

from schemas.base import Id, Model, OptionalId, Page, PageQuery, comma_list, id_or_none, text

SLUG_MAX = 120
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _slug(value: str | None) -> str | None:
    """Lower-cased; empty means "generate from the name" (create) or "keep" (update)."""
    if not value:
        return None
    value = value.lower()
    if not _SLUG.match(value):
        raise ValueError("may contain only lower-case letters, digits and single dashes")
    return value


Slug = Annotated[text(SLUG_MAX) | None, AfterValidator(_slug)]
ParentId = Annotated[
    str | None,
    AfterValidator(id_or_none),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}],
            "description": 'Parent organization; null (or empty, a form\'s "top level") = top level',
        }
    ),
]
"""A parent organization id. Text, so a form's empty "top level" choice reaches the view as
"move to the top level" instead of "not sent"."""


# --- tenants ---------------------------------------------------------------------------------


class TenantListQuery(PageQuery):
    sortField: Literal["name", "createdAt", "updatedAt", "isActive"] | None = None
    id: Id | None = Field(None, description="Only this tenant")
    isActive: bool | None = Field(None, description="Only active (true) or inactive (false) tenants")


class TenantListItem(Model):
    id: Id
    name: str
    isActive: bool
    createdAt: datetime | None
    updatedAt: datetime | None


class TenantCreate(Model):
    """Body of ``POST /directory/tenants`` (super admins only)."""

    name: text(200, 1)
    isActive: bool = True

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "string"}]})


class TenantUpdate(Model):
    """Body of ``PUT /directory/tenants``: fields left out (or null) keep their value;
    ``isActive`` is for super admins."""

    id: Id
    name: text(200, 1) | None = None
    isActive: bool | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "00000000-0000-4000-8000-000000000000"}]})


class DirectoryDeleteQuery(Model):
    """``?id=`` of a delete (the seed's JSON body ``{"id": …}`` is read as well)."""

    id: Id | None = Field(None, description='Record to delete (or send it as the JSON body {"id": …})')
    search: text(200) = Field("", description="Pages: the list search to re-render with")


class DirectoryDeleteBody(Model):
    id: Id

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "00000000-0000-4000-8000-000000000000"}]})


# --- organizations ----------------------------------------------------------------------------


class OrganizationListQuery(PageQuery):
    sortField: Literal["name", "slug", "treePath", "createdAt", "updatedAt"] | None = None
    view: Literal["manage", "options", "tree"] = Field(
        "manage", description="manage: paged flat list; tree: nested children; options: compact list for pickers"
    )
    ids: Annotated[list[Id], BeforeValidator(comma_list)] = Field(
        default_factory=list, description="Only these organizations (comma-separated or repeated)"
    )
    tenantId: Id | None = Field(None, description="Only this tenant (super admins)")
    status: Literal["all", "active", "inactive"] = "all"
    includeInactive: bool | None = Field(None, description="false: active only (as status=active)")


class OrganizationDeleteQuery(DirectoryDeleteQuery):
    tenantId: Id | None = Field(None, description="Pages: the tenant filter to re-render with")


class OrganizationOption(Model):
    """One organization as the seed lists it (``view=options``)."""

    id: Id
    name: str
    parentId: Id | None
    parentName: str | None
    tenantId: Id
    tenantName: str | None
    rootId: Id
    treePath: str
    depth: int
    isActive: bool


class OrganizationListItem(OrganizationOption):
    """``view=manage``: also the slug, the readable path and the timestamps."""

    slug: str
    pathLabel: str
    createdAt: datetime | None
    updatedAt: datetime | None


class OrganizationPage(Page[OrganizationListItem]):
    """``view=manage`` (the default): a family A page."""


class OrganizationTreeNode(OrganizationOption):
    """``view=tree``: nested ``children``."""

    slug: str
    children: list[OrganizationTreeNode]


class OrganizationOptions(Model):
    items: list[OrganizationOption]


class OrganizationTree(Model):
    items: list[OrganizationTreeNode]


class OrganizationCreate(Model):
    """Body of ``POST /directory/organizations``."""

    name: text(200, 1)
    slug: Slug = Field(None, description="Generated from the name when empty")
    parentId: ParentId = None
    tenantId: Id | None = Field(None, description="Super admins only; default: the parent's, else the caller's")
    isActive: bool = True

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "string", "slug": None, "parentId": None}]})


class OrganizationUpdate(Model):
    """Body of ``PUT /directory/organizations``: fields left out (or null) keep their value,
    except ``parentId``, where null moves the organization to the top level."""

    id: Id
    name: text(200, 1) | None = None
    slug: Slug = None
    parentId: ParentId = None
    isActive: bool | None = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": "00000000-0000-4000-8000-000000000000", "slug": None, "parentId": None}]}
    )


# --- organization switcher ---------------------------------------------------------------------


class SwitcherQuery(Model):
    tenantId: Id | None = Field(None, description="Another tenant's tree (super admins)")


class OrganizationSwitch(Model):
    """Body of ``POST /directory/organization-switcher``: the organization to work in from
    now on (its children included); null = all organizations at once."""

    organizationId: OptionalId = None


class SwitcherItem(Model):
    id: Id
    name: str
    depth: int
    selectable: bool
    children: list[SwitcherItem]


class SwitcherTenant(Model):
    id: Id
    name: str
    isActive: bool


class OrganizationSwitcher(Model):
    items: list[SwitcherItem]
    selectedId: Id | None
    canManage: bool
    canViewAllOrganizations: bool
    tenantId: Id | None
    tenants: list[SwitcherTenant]
    isSuperAdmin: bool


# --- public lookups --------------------------------------------------------------------------


class OrganizationLookupQuery(Model):
    slug: text(SLUG_MAX, 1) = Field(description="The organization's slug")
    tenantId: Id | None = Field(
        None, description="The tenant whose organization is meant (slugs are unique per tenant)"
    )


class OrganizationLookupItem(Model):
    id: Id
    name: str
    slug: str


class OrganizationLookup(Model):
    ok: Literal[True] = True
    organization: OrganizationLookupItem

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"ok": True, "organization": {"id": "00000000-0000-4000-8000-000000000000", "name": "HQ", "slug": "hq"}}
            ]
        }
    )


class TenantLookupQuery(Model):
    tenantId: Id = Field(description="The tenant's id")


class TenantLookupItem(Model):
    id: Id
    name: str


class TenantLookup(Model):
    ok: Literal[True] = True
    tenant: TenantLookupItem

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"ok": True, "tenant": {"id": "00000000-0000-4000-8000-000000000000", "name": "Acme"}}]
        }
    )
