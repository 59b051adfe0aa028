"""Audit log (seed 000 ``/audit_logs/audit-logs/actions``, lines 787–1042)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from schemas.base import MAX_PAGE, Id, Model, UtcDatetime, comma_list, text

ACTION_TYPES = ("create", "edit", "delete", "assign")
MAX_PAGE_SIZE = 200
MAX_LIMIT = 1000
MAX_OFFSET = MAX_PAGE * MAX_LIMIT  # past this an SQL OFFSET holds no rows anyway


def _lower(values: list) -> list:
    return [v.lower() if isinstance(v, str) else v for v in comma_list(values)]


def _pattern(regex: str, message: str):
    compiled = re.compile(regex)

    def check(value: str) -> str | None:
        if not value:
            return None  # a filter form's "all"
        if not compiled.fullmatch(value):
            raise ValueError(message)
        return value

    return check


ResourceKind = Annotated[
    text(64), AfterValidator(_pattern(r"[A-Za-z0-9_.:\-]{1,64}", "must be a resource kind such as role or api_key"))
]
FieldName = Annotated[
    text(128), AfterValidator(_pattern(r"[A-Za-z0-9_.\-]{1,128}", "must be field names (letters, digits, _ . -)"))
]


class ActionLogFilters(Model):
    """The filters the action-log list and its CSV export share."""

    id: Id | None = Field(None, description="One entry (browsers get its before/after view)")
    organizationId: Id | None = Field(None, description="Limit results to a specific organization")
    actorUserId: Annotated[list[Id], BeforeValidator(comma_list)] = Field(
        default_factory=list, description="Actors (tenant administrators only): one UUID or a comma-separated list"
    )
    resourceKind: ResourceKind | None = Field(None, description='Resource kind, e.g. "role", "api_key"')
    resourceId: text(64) | None = Field(None, description="Id of the specific record")
    actionType: Annotated[list[Literal[ACTION_TYPES]], BeforeValidator(_lower)] = Field(
        default_factory=list, description="create, edit, delete, assign: one or a comma-separated list"
    )
    fieldName: Annotated[list[FieldName], BeforeValidator(comma_list)] = Field(
        default_factory=list, description="Entries where one of these fields changed (comma-separated)"
    )
    includeRelated: bool = Field(False, description="Also changes of linked child records (Wharf links none)")
    undoableOnly: bool = Field(False, description="Only entries that can still be undone")
    sortField: Literal["createdAt", "action", "user"] = "createdAt"
    sortDir: Literal["asc", "desc"] = "desc"
    before: UtcDatetime | None = Field(None, description="Created before this ISO-8601 timestamp (no offset: UTC)")
    after: UtcDatetime | None = Field(None, description="Created after this ISO-8601 timestamp (no offset: UTC)")


class ActionLogQuery(ActionLogFilters):
    """Query of ``GET /audit_logs/audit-logs/actions``. ``limit``/``offset`` (the seed's
    manual paging) take precedence over ``pageSize``/``page`` when sent."""

    includeTotal: bool = Field(False, description="Wharf always answers the total")
    limit: int | None = Field(None, ge=1, le=MAX_LIMIT, description="Records to return (max 1000)")
    offset: int | None = Field(None, ge=0, le=MAX_OFFSET, description="Zero-based record offset (legacy paging)")
    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number (default 1)")
    pageSize: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description="Page size (default 50, max 200)")


class ActionLogExportQuery(ActionLogFilters):
    """Query of ``GET /audit_logs/audit-logs/actions/export``: the list's filters."""

    limit: int = Field(MAX_LIMIT, ge=1, le=MAX_LIMIT, description="Records to export (default and max 1000)")


class ActionLogItem(Model):
    """One entry as the seed lists it: ``commandId`` is the entry's id; ``undoToken`` is set
    while the action can be undone (its kind has a restorer and it is ``done``);
    ``context`` links an undo's or redo's own entries to the one they undid or redid."""

    id: Id
    commandId: Id
    actionLabel: str | None
    executionState: Literal["done", "undone", "failed"]
    actorUserId: Id | None
    actorUserName: str | None
    tenantId: Id | None
    tenantName: str | None
    organizationId: Id | None
    organizationName: str | None
    resourceKind: str | None
    resourceId: str | None
    parentResourceKind: str | None
    parentResourceId: str | None
    undoToken: str | None
    createdAt: datetime
    updatedAt: datetime
    snapshotBefore: dict[str, Any] | None
    snapshotAfter: dict[str, Any] | None
    changes: dict[str, Any] | None
    context: dict[str, Any] | None


class ActionLogPage(Model):
    items: list[ActionLogItem]
    canViewTenant: bool
    page: int
    pageSize: int
    total: int
    totalPages: int


class UndoRequest(Model):
    undoToken: text(200, 1) = Field(description="The entry's undoToken (from the action list)")


class UndoResult(Model):
    ok: bool
    logId: Id = Field(description="The entry that was undone (redo it with this id)")


class RedoRequest(Model):
    logId: Id = Field(description="An undone entry")


class RedoResult(Model):
    ok: bool
    logId: Id | None
    undoToken: str | None = Field(description="The entry's new undo token")


class AccessLogQuery(Model):
    """Query of ``GET /audit_logs/audit-logs/access``."""

    organizationId: Id | None = Field(None, description="Limit results to a specific organization")
    actorUserId: Id | None = Field(None, description="Filter by actor user id (tenant administrators only)")
    resourceKind: ResourceKind | None = Field(None, description="Resource kind, e.g. user, api_key, role_acl")
    accessType: Literal["read", "export"] | None = Field(None, description="read or export")
    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number (default 1)")
    pageSize: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description="Page size (default 50, max 200)")
    limit: int | None = Field(None, ge=1, le=MAX_LIMIT, description="Records to return instead of pageSize")
    before: UtcDatetime | None = Field(None, description="Created before this ISO-8601 timestamp (no offset: UTC)")
    after: UtcDatetime | None = Field(None, description="Created after this ISO-8601 timestamp (no offset: UTC)")


class AccessLogItem(Model):
    id: Id
    resourceKind: str
    resourceId: str
    accessType: str
    actorUserId: Id | None
    actorUserName: str | None
    tenantId: Id | None
    tenantName: str | None
    organizationId: Id | None
    organizationName: str | None
    fields: list[str]
    context: dict[str, Any] | None
    createdAt: datetime


class AccessLogPage(Model):
    items: list[AccessLogItem]
    canViewTenant: bool
    page: int
    pageSize: int
    total: int
    totalPages: int
