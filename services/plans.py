"""Storage plans (seed 004) and per-user quotas.

Each tenant has its plans and exactly one default: the first use creates a "Standard"
default; setting ``default`` on another plan takes the flag from the old one in the same
transaction (a partial unique index makes two defaults impossible); the default can be
neither unset nor deleted. A user without an explicit plan is on the default plan, so new
users get it and deleting a plan moves its users there. A user whose attachments add up
to their plan's quota or more cannot upload until usage drops below it again.

Input arrives validated (``schemas.plans``); what stays here is scope, uniqueness and the
default-plan rules.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import current_app

from models import Attachment, Scope, StoragePlan, Tenant, User, UserPlan, db
from schemas.plans import PlanCreate, PlanUpdate
from services import undo
from services.acl import Actor
from services.commands import Audited, audited, command, lock, unless_taken
from services.errors import BadRequest, Conflict, DomainError, NotFound

MB = 1024 * 1024
DEFAULT_PLAN_NAME = "Standard"


class QuotaExceeded(DomainError):
    """Raised instead of storing a file for a user at or over their plan's quota."""

    status = 413
    default_message = "Storage quota reached"


def plan_row(plan: StoragePlan) -> dict:
    """The seed's plan fields: id, name, description, quota (MB), default."""
    return {
        "id": plan.id,
        "name": plan.name,
        "description": plan.description,
        "quota": plan.quota_mb,
        "default": plan.is_default,
    }


def _snapshot(plan: StoragePlan) -> dict:
    return {**plan_row(plan), "tenantId": plan.tenant_id}


PLAN = Audited("storage_plan", _snapshot, "storage plan")
NAME_TAKEN = "A plan with this name already exists"
# Putting a user on a plan is recorded against the plan, with the user's old and new plan.
USER_PLAN = Audited(
    "storage_plan",
    lambda link: {"userId": link.user_id, "planId": link.plan_id},
    "storage plan",
    resource=lambda link: link.plan_id,
)


def default_plan(tenant_id) -> StoragePlan | None:
    return db.session.scalars(Scope(tenant_id).select(StoragePlan).where(StoragePlan.is_default.is_(True))).first()


@command()
def ensure_default(tenant_id) -> StoragePlan:
    """The tenant's default plan, created on first use (by whichever request gets there
    first: a concurrent creator's plan is taken instead)."""
    plan = default_plan(tenant_id)
    if plan is not None:
        return plan
    quota = int(current_app.config.get("PLANS_DEFAULT_QUOTA_MB", 1024))
    plan = StoragePlan(
        tenant_id=tenant_id,
        name=DEFAULT_PLAN_NAME,
        quota_mb=quota,
        is_default=True,
        description="Plan every user is on unless given another",
    )

    def create() -> None:
        with audited(None, "create", PLAN, plan, label=f"Create default storage plan {plan.name}"):
            db.session.add(plan)

    return plan if unless_taken(create) else default_plan(tenant_id)


def plans_select(tenant_id) -> sa.Select:
    return Scope(tenant_id).select(StoragePlan)


def get_plan(actor: Actor, plan_id) -> StoragePlan:
    plan = actor.scope.get(StoragePlan, plan_id)
    return plan


def users_count(plan: StoragePlan) -> int:
    """Users explicitly on ``plan`` (the default plan also has everyone without a row)."""
    return db.session.scalar(sa.select(sa.func.count(UserPlan.id)).where(UserPlan.plan_id == plan.id)) or 0


def plan_tenant(actor: Actor, requested: uuid.UUID | None = None) -> uuid.UUID:
    """The tenant whose plans a request is about: the actor's own; super admins may name
    another, which must exist."""
    tenant_id = actor.tenant_for_new(requested)
    if requested is not None:
        tenant = db.session.get(Tenant, tenant_id)
        if tenant is None or tenant.deleted_at is not None:
            raise NotFound("Tenant not found")
    return tenant_id


def _unique_name(tenant_id, name: str, exclude_id=None) -> None:
    stmt = Scope(tenant_id).select(StoragePlan).where(sa.func.lower(StoragePlan.name) == name.lower())
    if exclude_id is not None:
        stmt = stmt.where(StoragePlan.id != exclude_id)
    if db.session.scalars(stmt).first() is not None:
        raise Conflict(NAME_TAKEN)


# --- writes (one transaction each, audited) ---------------------------------------------------


def _take_default(actor: Actor, plan: StoragePlan) -> None:
    """Move the default flag to ``plan``: the old default is unset first (same transaction)."""
    current = default_plan(plan.tenant_id)
    if current is not None and current.id != plan.id:
        with audited(actor, "edit", PLAN, current, label=f"Storage plan {current.name} is no longer the default"):
            current.is_default = False
    plan.is_default = True
    db.session.flush()


@command(NAME_TAKEN)
def create_plan(actor: Actor, data: PlanCreate, *, plan_id: uuid.UUID | None = None) -> StoragePlan:
    """A plan of ``data.tenantId`` (super admins; else the actor's tenant); ``plan_id``: an
    undone delete brings the plan back under its old id."""
    tenant = plan_tenant(actor, data.tenantId)
    ensure_default(tenant)
    _unique_name(tenant, data.name)
    plan = StoragePlan(
        tenant_id=tenant,
        name=data.name,
        description=data.description or None,
        quota_mb=data.quota,
        is_default=False,
        **({"id": plan_id} if plan_id else {}),
    )
    with audited(actor, "create", PLAN, plan):
        db.session.add(plan)
        db.session.flush()
        if data.default:
            _take_default(actor, plan)
    return plan


def _lock_plan(actor: Actor, plan_id) -> StoragePlan:
    return lock(actor.scope, StoragePlan, plan_id)


@command(NAME_TAKEN)
def update_plan(actor: Actor, plan_id, data: PlanUpdate) -> StoragePlan:
    """Change what ``data`` carries (a null ``description`` clears it)."""
    plan = _lock_plan(actor, plan_id)
    with audited(actor, "edit", PLAN, plan):
        if data.name is not None:
            _unique_name(plan.tenant_id, data.name, exclude_id=plan.id)
            plan.name = data.name
        if "description" in data.model_fields_set:
            plan.description = data.description or None
        if data.quota is not None:
            plan.quota_mb = data.quota
        if data.default is not None:
            if data.default:
                _take_default(actor, plan)
            elif plan.is_default:
                raise BadRequest("The default plan cannot be unset: make another plan the default instead")
    return plan


@command()
def delete_plan(actor: Actor, plan_id) -> int:
    """Delete a plan; its users move to the default plan. Returns how many moved."""
    plan = _lock_plan(actor, plan_id)
    if plan.is_default:
        raise BadRequest("The default plan cannot be deleted")
    with audited(actor, "delete", PLAN, plan) as before:
        moved = db.session.execute(sa.delete(UserPlan).where(UserPlan.plan_id == plan.id)).rowcount or 0
        before["movedUsers"] = moved
        db.session.delete(plan)
    return moved


@command()
def assign_plan(actor: Actor, user: User, plan_id) -> StoragePlan:
    """Put ``user`` on a plan of their tenant (another tenant's plan is not found)."""
    plan = get_plan(actor, plan_id)
    if plan.tenant_id != user.tenant_id:
        raise NotFound("StoragePlan not found")
    link = db.session.scalars(Scope(user.tenant_id).select(UserPlan).where(UserPlan.user_id == user.id)).first()
    link = link or UserPlan(tenant_id=user.tenant_id, user_id=user.id)
    with audited(actor, "assign", USER_PLAN, link, label=f"Put {user.email} on storage plan {plan.name}"):
        link.plan_id = plan.id
        db.session.add(link)
    return plan


# --- quota ------------------------------------------------------------------------------------


def plan_of(tenant_id, user_id) -> StoragePlan:
    link = db.session.scalars(Scope(tenant_id).select(UserPlan).where(UserPlan.user_id == user_id)).first()
    if link is not None:
        plan = db.session.get(StoragePlan, link.plan_id)
        if plan is not None:
            return plan
    return ensure_default(tenant_id)


def used_bytes(tenant_id, user_id) -> int:
    stmt = (
        Scope(tenant_id)
        .select(Attachment)
        .where(Attachment.uploaded_by_id == user_id)
        .with_only_columns(sa.func.coalesce(sa.func.sum(Attachment.file_size), 0))
    )
    return int(db.session.scalar(stmt) or 0)


def usage(tenant_id, user_id) -> dict:
    plan = plan_of(tenant_id, user_id)
    used = used_bytes(tenant_id, user_id)
    quota_bytes = plan.quota_mb * MB
    percent = 100 if quota_bytes == 0 else min(100, round(used * 100 / quota_bytes))
    return {
        "userId": user_id,
        "planId": plan.id,
        "planName": plan.name,
        "quota": plan.quota_mb,
        "quotaBytes": quota_bytes,
        "usedBytes": used,
        "percent": percent,
        "blocked": used >= quota_bytes,
    }


def check_can_upload(tenant_id, user_id) -> None:
    """``QuotaExceeded`` (413) when the user's stored bytes are at or above their quota."""
    if user_id is None:
        return
    u = usage(tenant_id, user_id)
    if u["blocked"]:
        raise QuotaExceeded(
            f"Storage quota reached: {human_size(u['usedBytes'])} used of {u['quota']} MB on plan "
            f"“{u['planName']}”. Delete files to upload again.",
            quota=u["quota"],
            usedBytes=u["usedBytes"],
        )


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


# --- undo (services.undo): plans come back through the commands above -----------------------
# (who was on a deleted plan stays on the default plan; putting a user on a plan is not undone)


def _load_plan(actor: Actor, plan_id: str, _tenant=None) -> StoragePlan | None:
    return db.session.scalars(actor.scope.select(StoragePlan).where(StoragePlan.id == uuid.UUID(plan_id))).first()


def _restore_plan(actor: Actor, plan: StoragePlan, snap: dict) -> None:
    update_plan(
        actor,
        plan.id,
        PlanUpdate(
            name=snap["name"], description=snap["description"], quota=snap["quota"], default=snap["default"] or None
        ),
    )


def _revive_plan(actor: Actor, _gone, snap: dict, _tenant) -> None:
    data = PlanCreate(
        name=snap["name"],
        description=snap["description"],
        quota=snap["quota"],
        default=snap["default"],
        tenantId=snap["tenantId"] if actor.is_super_admin else None,
    )
    create_plan(actor, data, plan_id=uuid.UUID(snap["id"]))


undo.register(
    undo.Restorer(
        PLAN,
        _load_plan,
        features=("plans.manage",),
        ignored=("movedUsers",),
        update=_restore_plan,
        remove=lambda actor, plan: delete_plan(actor, plan.id),
        revive=_revive_plan,
    )
)
