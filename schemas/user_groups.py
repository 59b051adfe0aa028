"""User groups: named sets of users that object grants can be given to (issue 18)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.base import Id, Model, PageQuery, Timestamp, omissible, text


class UserGroupListQuery(PageQuery):
    sortField: Literal["name", "createdAt"] | None = None


class UserGroupItem(Model):
    id: Id
    name: str
    description: str | None
    membersCount: int
    tenantId: Id
    createdAt: Timestamp
    updatedAt: Timestamp


class UserGroupCreate(Model):
    name: text(120, 1)
    description: text(1000) | None = None


class UserGroupUpdate(Model):
    id: Id
    name: text(120, 1) = omissible()
    description: text(1000) | None = None


class UserGroupIdQuery(Model):
    id: Id = Field(description="User group identifier")


class GroupMembersQuery(Model):
    groupId: Id


class GroupMemberBody(Model):
    groupId: Id
    userId: Id


class GroupMemberDeleteQuery(Model):
    groupId: Id
    userId: Id


class GroupMember(Model):
    id: Id
    email: str
    name: str


class GroupMembers(Model):
    group: UserGroupItem
    items: list[GroupMember]
