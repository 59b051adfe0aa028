"""Giving and taking back object grants (``POST``/``DELETE /api/permissions``).

Grant boundaries, written once here: the actor must hold the feature itself, reach the
record under that feature (its own exceptions apply: a lead kept out of record X cannot open
X to anybody), and reach the subject — a role it may hand out, a user it may change, or every
member and every allowed record of a group. Every change bumps the tenant's ACL version (all
workers agree at once) and is audited.
"""

from __future__ import annotations

import hashlib
import uuid

import sqlalchemy as sa

from models import GivenPermission, User, UserGroup, UserGroupMember, db
from services import boundaries
from services.acl import Actor, bump_acl_version, holds, is_declared
from services.commands import Audited, audited, command
from services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.object_permissions import KINDS, kinds_for
from services.roles import get_role
from services.users import get_user


def snapshot(g: GivenPermission) -> dict:
    return {
        "id": g.id,
        "permissionName": g.permission_name,
        "roleId": g.role_id,
        "subjectUserId": g.subject_user_id,
        "subjectUserGroupId": g.subject_user_group_id,
        "objectId": g.object_id,
        "objectKind": g.object_kind,
        "canDo": g.can_do,
    }


PERMISSION = Audited(
    "permission", snapshot, "object permission", name=lambda g: f"{g.permission_name} on {g.object_id}"
)
TAKEN = "This subject already has a permission for that record: remove it first"


def record_row(g: GivenPermission) -> dict:
    """A grant in seed 002's ``givenPermissions`` shape."""
    from models import Tenant
    from services.object_permissions import _codename

    tenant = db.session.get(Tenant, g.tenant_id)
    return {**{k: v for k, v in snapshot(g).items() if k != "objectKind"}, "tenantCodename": _codename(tenant.name)}


# --- subjects -------------------------------------------------------------------------------------


def subject_of(actor: Actor, *, role_id=None, user_id=None, group_id=None):
    """``(kind, record)`` of the one subject named (422 naming the fields otherwise; 404 when
    outside the actor's scope)."""
    named = [(k, v) for k, v in (("role", role_id), ("user", user_id), ("group", group_id)) if v]
    if len(named) != 1:
        raise ValidationFailed(
            "Name exactly one subject: roleId, subjectUserId or subjectUserGroupId",
            details=[
                {"path": [p], "message": "exactly one is required"}
                for p in ("roleId", "subjectUserId", "subjectUserGroupId")
            ],
        )
    kind, value = named[0]
    if kind == "role":
        return kind, get_role(actor, value)
    if kind == "user":
        return kind, get_user(actor, value)
    return kind, actor.scope.get(UserGroup, value, "User group")


def group_members(group: UserGroup) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(UserGroupMember, UserGroupMember.user_id == User.id)
            .where(UserGroupMember.group_id == group.id, User.deleted_at.is_(None))
        )
    )


def require_reaches_group(actor: Actor, group: UserGroup) -> None:
    """Changing a group (or joining one) hands out what it holds: the actor must reach every
    record the group is allowed and may change every member."""
    if actor.is_super_admin:
        return
    for g in db.session.scalars(
        sa.select(GivenPermission).where(GivenPermission.subject_user_group_id == group.id, GivenPermission.can_do)
    ):
        if not actor.may([g.permission_name], KINDS[g.object_kind].model, g.object_id):
            raise Forbidden("You cannot change a group that is allowed records you may not use")
    for user in group_members(group):
        boundaries.require_covers_user(
            actor, user, "You cannot change a group whose members hold permissions you do not hold"
        )


def require_reaches_subject(actor: Actor, kind: str, subject) -> None:
    if kind == "role":
        boundaries.require_can_assign(actor, subject)
    elif kind == "user":
        boundaries.require_covers_user(actor, subject)
    else:
        require_reaches_group(actor, subject)


def subject_key(kind: str, subject) -> str:
    return f"{kind}:{subject.id}"


def _subject_filter(kind: str, subject):
    column = {
        "role": GivenPermission.role_id,
        "user": GivenPermission.subject_user_id,
        "group": GivenPermission.subject_user_group_id,
    }[kind]
    return column == subject.id


def version_of(kind: str, subject) -> str:
    """A fingerprint of the subject's grants: the editor sends it back, and a change made by
    someone else since the page was opened is a 409, not a silent overwrite."""
    ids = sorted(
        str(i) for i in db.session.scalars(sa.select(GivenPermission.id).where(_subject_filter(kind, subject)))
    )
    return hashlib.sha256(",".join(ids).encode()).hexdigest()[:16]


def _check_version(kind: str, subject, expected: str | None) -> None:
    if expected and expected != version_of(kind, subject):
        raise Conflict("Someone changed these exceptions since you opened the page: reload to see theirs")


# --- records --------------------------------------------------------------------------------------


def _feature(name: str) -> tuple[str, ...]:
    kinds = kinds_for(name) if is_declared(name) and not name.endswith("*") else ()
    if not kinds:
        raise ValidationFailed(
            "This permission takes no object grants",
            details=[
                {
                    "path": ["permissionName"],
                    "message": "must be a feature of shipments, handling lists, "
                    "locations, storage partitions or business rules (no wildcard)",
                }
            ],
        )
    return kinds


def find_object(actor: Actor, feature: str, object_id) -> tuple[str, object]:
    """``(kind, record)`` of ``object_id`` among the kinds ``feature`` takes, as the actor sees
    it under that feature (404 "Record not found" otherwise)."""
    try:
        oid = object_id if isinstance(object_id, uuid.UUID) else uuid.UUID(str(object_id))
    except ValueError:
        raise NotFound("Record not found") from None
    scope = actor.acting_with([feature]).scope
    for kind in _feature(feature):
        model = KINDS[kind].model
        found = db.session.scalars(scope.select(model).where(model.id == oid)).first()
        if found is not None:
            return kind, found
    raise NotFound("Record not found")


@command(TAKEN)
def give(
    actor: Actor,
    *,
    permission_name: str,
    object_id,
    can_do: bool,
    role_id=None,
    user_id=None,
    group_id=None,
    expected_version: str | None = None,
) -> GivenPermission:
    _feature(permission_name)
    if not actor.is_super_admin and not holds(actor.grants, permission_name):
        raise Forbidden("You cannot grant a permission you do not hold", requiredFeatures=[permission_name])
    kind, record = find_object(actor, permission_name, object_id)
    subject_kind, subject = subject_of(actor, role_id=role_id, user_id=user_id, group_id=group_id)
    if subject.tenant_id != record.tenant_id:
        raise NotFound("Record not found")
    require_reaches_subject(actor, subject_kind, subject)
    _check_version(subject_kind, subject, expected_version)
    taken = db.session.scalar(
        sa.select(GivenPermission.id).where(
            GivenPermission.tenant_id == record.tenant_id,
            GivenPermission.permission_name == permission_name,
            GivenPermission.subject_key == subject_key(subject_kind, subject),
            GivenPermission.object_id == record.id,
        )
    )
    if taken:
        raise Conflict(TAKEN)
    grant = GivenPermission(
        tenant_id=record.tenant_id,
        permission_name=permission_name,
        role_id=subject.id if subject_kind == "role" else None,
        subject_user_id=subject.id if subject_kind == "user" else None,
        subject_user_group_id=subject.id if subject_kind == "group" else None,
        subject_key=subject_key(subject_kind, subject),
        object_id=record.id,
        object_kind=kind,
        can_do=can_do,
        created_by_id=actor.user_id,
    )
    with audited(actor, "create", PERMISSION, grant):
        db.session.add(grant)
    bump_acl_version(record.tenant_id)
    return grant


def _subject_of_grant(actor: Actor, g: GivenPermission):
    if g.role_id:
        return "role", get_role(actor, g.role_id)
    if g.subject_user_id:
        return "user", get_user(actor, g.subject_user_id)
    return "group", actor.scope.get(UserGroup, g.subject_user_group_id, "User group")


@command()
def take_back(actor: Actor, grant_id, *, expected_version: str | None = None) -> GivenPermission:
    """Remove a grant: the same boundaries as giving it (the actor holds the feature, reaches
    the record and the subject)."""
    g = actor.scope.get(GivenPermission, grant_id, "Permission")
    if not actor.is_super_admin and not holds(actor.grants, g.permission_name):
        raise Forbidden("You cannot change a permission you do not hold", requiredFeatures=[g.permission_name])
    if not actor.is_super_admin and not actor.may([g.permission_name], KINDS[g.object_kind].model, g.object_id):
        raise NotFound("Permission not found")
    kind, subject = _subject_of_grant(actor, g)
    require_reaches_subject(actor, kind, subject)
    _check_version(kind, subject, expected_version)
    with audited(actor, "delete", PERMISSION, g):
        db.session.delete(g)
    bump_acl_version(g.tenant_id)
    return g


def grants_of(actor: Actor, kind: str, subject) -> list[GivenPermission]:
    return list(
        db.session.scalars(
            actor.scope.select(GivenPermission)
            .where(_subject_filter(kind, subject))
            .order_by(GivenPermission.permission_name, GivenPermission.created_at)
        )
    )


def object_choices(actor: Actor, feature: str, text: str, limit: int = 20) -> list[dict]:
    """Records the actor may name in a grant of ``feature`` whose label contains ``text``
    (case-insensitive), for the editor's typeahead."""
    scope = actor.acting_with([feature]).scope
    needle = f"%{text.strip().lower()}%"
    found: list[dict] = []
    for kind in _feature(feature):
        spec = KINDS[kind]
        match = sa.or_(*(sa.func.lower(sa.func.coalesce(col, "")).like(needle) for col in spec.label))
        stmt = scope.select(spec.model).where(match).order_by(spec.label[0]).limit(limit - len(found))
        for record in db.session.scalars(stmt):
            label = getattr(record, spec.label[0].key)
            found.append({"id": record.id, "kind": kind, "label": f"{spec.title} {label}"})
        if len(found) >= limit:
            break
    return found
