"""Seed 002 permission records (``givenPermissions``) and the per-permission check."""

from __future__ import annotations

from pydantic import Field

from schemas.base import Id, Model


class GivenPermission(Model):
    """One permission record reaching the caller: a feature of a role's (``roleId``) or the
    user's own ACL (``subjectUserId``), or an object grant (``objectId``) to a role, the user
    or one of its groups (``subjectUserGroupId``)."""

    id: Id
    permissionName: str
    roleId: Id | None
    subjectUserId: Id | None
    subjectUserGroupId: Id | None
    objectId: Id | None
    canDo: bool
    tenantCodename: str | None


class PermissionScope(Model):
    """``canDo: true`` — allowed everywhere except ``exceptions``; ``canDo: false`` —
    allowed nowhere except ``exceptions``."""

    canDo: bool
    exceptions: list[Id] = Field(description="Object ids (UUIDs) excepted from canDo")


class GivenPermissionCreate(Model):
    """Body of ``POST /permissions``: one object grant for exactly one subject. ``canDo``
    false excepts the record from a feature the subject holds; true opens it to a subject
    that does not hold the feature. ``grantsVersion`` (from the editor) guards stale edits."""

    permissionName: str = Field(min_length=1, max_length=128)
    roleId: Id | None = None
    subjectUserId: Id | None = None
    subjectUserGroupId: Id | None = None
    objectId: Id
    canDo: bool
    grantsVersion: str | None = Field(None, max_length=32, description="The subject's grants as the page saw them")


class PermissionDeleteQuery(Model):
    grantsVersion: str | None = Field(None, max_length=32)


class PermissionDeleted(Model):
    ok: bool


class ObjectGrantsQuery(Model):
    """Exactly one subject whose object grants to list."""

    roleId: Id | None = None
    subjectUserId: Id | None = None
    subjectUserGroupId: Id | None = None


class ObjectGrantItem(GivenPermission):
    objectKind: str
    label: str


class ObjectGrants(Model):
    items: list[ObjectGrantItem]
    grantsVersion: str


class ObjectChoicesQuery(Model):
    permissionName: str = Field(min_length=1, max_length=128)
    q: str = Field("", max_length=100, description="Part of a shipment or list number, a location's name, ...")
    pick: bool = Field(False, description="HTML answers: buttons that put a record into the grant form")


class ObjectChoice(Model):
    id: Id
    kind: str
    label: str
