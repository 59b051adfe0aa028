"""Authentication & accounts (seed 000 ``/auth``, lines 15–787; spec identity-acl.md).

The seed names no schemas for these operations: models are named after the operation.
Users (``/auth/users``, ``/auth/users/acl``) are not among the seed's listed endpoints;
their models follow the roles' shapes and the spec's table.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from schemas.base import Id, Model, OptionalId, PageQuery, text
from services.accounts import LOCALES
from services.auth import MIN_PASSWORD_LENGTH, is_email
from services.password_reset import MAX_TOKEN_LENGTH

# --- field types -----------------------------------------------------------------------------


def _one_line(value: str) -> str:
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("must not contain control characters or line breaks")
    return value


def line(max_length: int, min_length: int = 0):
    """A stripped single-line ``Text`` (names): no control character at all, not even a tab."""
    return Annotated[text(max_length, min_length), AfterValidator(_one_line)]


def _email(value: str) -> str:
    value = value.lower()
    if not is_email(value):
        raise ValueError("must be an email address")
    return value


Email = Annotated[text(320, 1, json_schema_extra={"format": "email"}), AfterValidator(_email)]
"""An email address, stripped and lower-cased (emails are stored lower-cased)."""

Password = text(200, MIN_PASSWORD_LENGTH, strip=False)
"""A new password: 8 to 200 characters, kept exactly as typed."""


def _blank_is_none(value):
    return None if value == "" else value


def blank_is_none(kind):
    """``kind`` or None, where an empty value counts as not given: a browser form sends its
    empty inputs (the new-password field left empty keeps the password)."""
    return Annotated[kind | None, BeforeValidator(_blank_is_none)]


LocaleCode = Annotated[
    Literal[tuple(LOCALES)],
    Field(
        description="A language Wharf's pages are shipped in: " + ", ".join(f"{k} ({v})" for k, v in LOCALES.items())
    ),
]

FEATURE_ID = r"^(\*|[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?)$"
FeatureId = Annotated[
    str,
    Field(max_length=128, pattern=FEATURE_ID, description="A dotted feature id such as auth.roles.list, auth.* or *"),
]

# --- sign-in, tokens, sign-out ---------------------------------------------------------------


class LoginRequest(Model):
    """Body of ``POST /auth/login`` (form-encoded as in the seed, or JSON)."""

    email: Email
    password: text(1024, 1, strip=False)
    tenantId: Id | None = Field(None, description="Needed when the email signs in to several tenants")
    next: SkipJsonSchema[text(2000)] = ""  # the sign-in page's hidden field: where a browser goes next

    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "user@example.com", "password": "string"}]})


class LoginResponse(Model):
    ok: Literal[True] = True
    token: str = Field(description="Access token (Authorization: Bearer)")
    redirect: str | None = None
    refreshToken: str = Field(description="Exchange at POST /auth/session/refresh; works once")
    expiresIn: int = Field(description="Lifetime of the access token in seconds")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"ok": True, "token": "string", "redirect": None, "refreshToken": "string", "expiresIn": 900}]
        }
    )


class RefreshRequest(Model):
    refreshToken: text(512, 1)

    model_config = ConfigDict(json_schema_extra={"examples": [{"refreshToken": "string"}]})


class SessionRefreshQuery(Model):
    redirect: text(2000) = Field(
        "", description="Where to go afterwards: a path of this site, or an absolute URL of it (others go to /)"
    )


class RefreshResponse(Model):
    ok: Literal[True] = True
    accessToken: str
    expiresIn: int
    refreshToken: str = Field(description="The next refresh token: the one presented stops working")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"ok": True, "accessToken": "string", "expiresIn": 1, "refreshToken": "string"}]
        }
    )


# --- locale (seed 000 lines 159-221) -----------------------------------------------------------


class LocaleQuery(Model):
    """``GET /auth/locale?locale=…&redirect=…``"""

    locale: LocaleCode
    redirect: text(2000) = Field(
        "", description="Where to go afterwards: a path of this site, or an absolute URL of it (others go to /)"
    )


class LocaleRequest(Model):
    """Body of ``POST /auth/locale`` (JSON, or the page's language menu as a form)."""

    locale: LocaleCode
    next: SkipJsonSchema[text(2000)] = ""  # the menu's hidden field: the page it was used on

    model_config = ConfigDict(json_schema_extra={"examples": [{"locale": "en"}]})


# --- profile ---------------------------------------------------------------------------------


class Profile(Model):
    """``GET /auth/profile``: the seed's ``email`` and ``roles`` and the rest of the own record."""

    email: str
    roles: list[str]
    id: Id
    name: str
    tenantId: Id
    tenantName: str
    organizationId: Id | None
    isSuperAdmin: bool
    lastLoginAt: datetime | None
    scanFeedback: bool = Field(
        description="Sound and vibration on every scan (Wharf); off silences this user's stations"
    )
    locale: LocaleCode | None = Field(
        None, description="The language of this user's pages (Wharf); null follows the browser"
    )

    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "user@example.com", "roles": ["string"]}]})


class ProfileUpdate(Model):
    """Body of ``PUT /auth/profile``; a new email or password needs ``currentPassword``."""

    name: line(200) | None = None
    email: blank_is_none(Email) = None
    password: blank_is_none(Password) = None
    currentPassword: blank_is_none(text(1024, strip=False)) = None
    scanFeedback: bool | None = None
    locale: LocaleCode | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{}]})


class ProfileUpdated(Model):
    ok: Literal[True] = True
    email: str

    model_config = ConfigDict(json_schema_extra={"examples": [{"ok": True, "email": "user@example.com"}]})


# --- password reset --------------------------------------------------------------------------


class PasswordResetRequest(Model):
    email: Email

    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "user@example.com"}]})


class PasswordResetConfirm(Model):
    """API clients send the emailed ``token``; the browser form leaves it in the session."""

    token: blank_is_none(text(MAX_TOKEN_LENGTH)) = None
    password: Password

    model_config = ConfigDict(json_schema_extra={"examples": [{"token": "string", "password": "string"}]})


class PasswordResetDone(Model):
    ok: Literal[True] = True
    redirect: str

    model_config = ConfigDict(json_schema_extra={"examples": [{"ok": True, "redirect": "string"}]})


# --- features, feature check, navigation -----------------------------------------------------


class FeatureCheckRequest(Model):
    features: list[text(128, 1)] = Field(min_length=1, max_length=50)

    model_config = ConfigDict(json_schema_extra={"examples": [{"features": ["string"]}]})


class FeatureCheckResult(Model):
    ok: bool = Field(description="Whether every requested feature is granted")
    granted: list[str] = Field(description="The requested features the caller holds, in request order")
    userId: Id

    model_config = ConfigDict(json_schema_extra={"examples": [{"ok": True, "granted": ["string"], "userId": "string"}]})


class CatalogFeature(Model):
    id: str
    title: str
    module: str


class CatalogModule(Model):
    id: str
    title: str


class FeatureCatalog(Model):
    items: list[CatalogFeature]
    modules: list[CatalogModule]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [{"id": "string", "title": "string", "module": "string"}],
                    "modules": [{"id": "string", "title": "string"}],
                }
            ]
        }
    )


class NavLink(Model):
    href: str
    title: str


class NavGroup(Model):
    name: str
    items: list[NavLink]


class NavSectionItem(Model):
    id: str
    label: str
    href: str


class NavSection(Model):
    id: str
    label: str
    items: list[NavSectionItem]


class AdminNav(Model):
    groups: list[NavGroup]
    settingsSections: list[NavSection]
    settingsPathPrefixes: list[str]
    profileSections: list[NavSection]
    profilePathPrefixes: list[str]
    grantedFeatures: list[str]
    roles: list[str]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "groups": [{"name": "string", "items": [{"href": "string", "title": "string"}]}],
                    "settingsSections": [
                        {
                            "id": "string",
                            "label": "string",
                            "items": [{"id": "string", "label": "string", "href": "string"}],
                        }
                    ],
                    "settingsPathPrefixes": ["string"],
                    "profileSections": [
                        {
                            "id": "string",
                            "label": "string",
                            "items": [{"id": "string", "label": "string", "href": "string"}],
                        }
                    ],
                    "profilePathPrefixes": ["string"],
                    "grantedFeatures": ["string"],
                    "roles": ["string"],
                }
            ]
        }
    )


# --- roles -----------------------------------------------------------------------------------

RoleName = line(120, 1)


class RoleListQuery(PageQuery):
    pageSize: int = Field(50, ge=1, le=100, description="Items per page")
    sortField: Literal["name", "createdAt"] | None = None
    id: Id | None = None
    tenantId: Id | None = Field(None, description="Super admins: the roles of one tenant")


class RoleListItem(Model):
    id: Id
    name: str
    usersCount: int
    tenantId: Id | None
    tenantName: str | None
    global_: bool = Field(
        False, alias="global", description="A global role (no tenant): super admins manage it, every tenant assigns it"
    )
    updatedAt: datetime | None = None


class RoleCreate(Model):
    name: RoleName
    tenantId: Id | None = Field(None, description="Super admins only; default: the caller's tenant")

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "string"}]})


class RoleUpdate(Model):
    """Body of ``PUT /auth/roles``: the seed sends ``id`` alone; ``name`` renames."""

    id: Id
    name: RoleName | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "00000000-0000-4000-8000-000000000000"}]})


class RoleDeleteQuery(Model):
    id: Id = Field(description="Role identifier")


# --- ACLs --------------------------------------------------------------------------------------


class RoleAclQuery(Model):
    roleId: Id


class RoleAcl(Model):
    isSuperAdmin: bool
    features: list[str]
    organizations: list[Id] | None = Field(description="null: every organization")
    roleId: Id
    updatedAt: datetime | None = Field(description="Send it back with the PUT: a save based on an older one is a 409")

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"isSuperAdmin": True, "features": ["string"], "organizations": None}]}
    )


class AclUpdate(Model):
    """Replaces features, isSuperAdmin and organizations. Grants the caller does not hold
    itself are removed (the answer says ``sanitized``)."""

    features: list[FeatureId] = Field(default_factory=list)
    isSuperAdmin: bool = False
    organizations: list[Id] | None = Field(None, description="null: every organization")
    allOrganizations: bool = Field(False, description="The editor's switch: true is organizations null")
    updatedAt: datetime | None = Field(None, description="updatedAt read with the ACL (optimistic lock)")

    @model_validator(mode="after")
    def _all_organizations(self):
        if self.allOrganizations:
            self.organizations = None
        return self


class RoleAclUpdate(AclUpdate):
    roleId: Id

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"roleId": "00000000-0000-4000-8000-000000000000", "organizations": None}]}
    )


class AclSaved(Model):
    ok: Literal[True] = True
    sanitized: bool = Field(description="Some requested grants were removed: the caller does not hold them")

    model_config = ConfigDict(json_schema_extra={"examples": [{"ok": True, "sanitized": True}]})


class UserAclQuery(Model):
    userId: Id


class UserAcl(Model):
    userId: Id
    hasCustomAcl: bool = Field(description="The override replaces the user's role ACLs")
    isSuperAdmin: bool
    features: list[str]
    organizations: list[Id] | None
    updatedAt: datetime | None


class UserAclUpdate(AclUpdate):
    """No features and no super admin removes the override."""

    userId: Id


# --- users -----------------------------------------------------------------------------------


class UserListQuery(PageQuery):
    pageSize: int = Field(50, ge=1, le=100, description="Items per page")
    sortField: Literal["email", "name", "createdAt", "lastLoginAt"] | None = None
    id: Id | None = None
    organizationId: Id | None = None
    roleId: Id | None = None


class UserListItem(Model):
    id: Id
    email: str
    name: str
    tenantId: Id
    tenantName: str
    organizationId: Id | None
    organizationName: str | None
    roles: list[str]
    roleIds: list[Id]
    isActive: bool
    lastLoginAt: datetime | None
    createdAt: datetime
    updatedAt: datetime | None
    hasCustomAcl: bool


_ROLES = AliasChoices("roles", "roleIds")


class UserCreate(Model):
    email: Email
    password: Password
    name: line(200) = ""
    organizationId: OptionalId = Field(None, description="Home organization")
    roles: list[Id] = Field(default_factory=list, validation_alias=_ROLES, description="Role ids")
    tenantId: Id | None = Field(None, description="Super admins only; default: the caller's tenant")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "user@example.com", "password": "string", "name": "string", "roles": []}]
        }
    )


class UserUpdate(Model):
    """Only the fields sent change; ``organizationId`` null or "" clears it, ``roles``
    replaces the user's roles."""

    id: Id
    email: Email | None = None
    name: line(200) | None = None
    password: blank_is_none(Password) = Field(None, description="Empty: keep the password")
    organizationId: OptionalId = None
    roles: list[Id] | None = Field(None, validation_alias=_ROLES)
    isActive: bool | None = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": "00000000-0000-4000-8000-000000000000", "name": "string"}]}
    )


class UserIdQuery(Model):
    id: Id = Field(description="User identifier")
