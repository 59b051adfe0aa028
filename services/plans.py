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
from sqlalchemy.exc import IntegrityError

from models import Attachment, Scope, StoragePlan, Tenant, User, UserPlan, db
from schemas.plans import PlanCreate, PlanUpdate
from services import audit
from services.acl import Actor
from services.errors import BadRequest, Conflict, DomainError, NotFound

MB = 1024 * 1024
DEFAULT_PLAN_NAME = "Standard"


class QuotaExceeded(DomainError):
    """Raised instead of storing a file for a user at or over their plan's quota."""

    status = 413
    default_message = "Storage quota reached"


def plan_row(plan: StoragePlan) -> dict:
    """The seed's plan fields: id, name, description, quota (MB), default."""
    return {"id": plan.id, "name": plan.name, "description": plan.description, "quota": plan.quota_mb,
            "default": plan.is_default}


def _snapshot(plan: StoragePlan) -> dict:
    return {**plan_row(plan), "tenantId": plan.tenant_id}


def default_plan(tenant_id) -> StoragePlan | None:
    return db.session.scalars(Scope(tenant_id).select(StoragePlan).where(StoragePlan.is_default.is_(True))).first()


def ensure_default(tenant_id) -> StoragePlan:
    """The tenant's default plan, created (and committed) on first use."""
    plan = default_plan(tenant_id)
    if plan is not None:
        return plan
    quota = int(current_app.config.get("PLANS_DEFAULT_QUOTA_MB", 1024))
    plan = Scope(tenant_id).add(StoragePlan(name=DEFAULT_PLAN_NAME, quota_mb=quota, is_default=True,
                                            description="Plan every user is on unless given another"))
    try:
        db.session.flush()
        audit.record(None, action="create", kind="storage_plan", resource_id=plan.id, tenant_id=tenant_id,
                     after=_snapshot(plan), label=f"Create default storage plan {plan.name}")
        db.session.commit()
    except IntegrityError:  # another request created it first
        db.session.rollback()
        plan = default_plan(tenant_id)
        if plan is None:
            raise
    return plan


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
        raise Conflict("A plan with this name already exists")


# --- writes (one transaction each, audited) ---------------------------------------------------

def _take_default(actor: Actor, plan: StoragePlan) -> None:
    """Move the default flag to ``plan``: the old default is unset first (same transaction)."""
    current = default_plan(plan.tenant_id)
    if current is not None and current.id != plan.id:
        before = _snapshot(current)
        current.is_default = False
        db.session.flush()
        audit.record(actor, action="edit", kind="storage_plan", resource_id=current.id, tenant_id=current.tenant_id,
                     before=before, after=_snapshot(current), label=f"Storage plan {current.name} is no longer the default")
    plan.is_default = True
    db.session.flush()


def create_plan(actor: Actor, data: PlanCreate) -> StoragePlan:
    """A plan of ``data.tenantId`` (super admins; else the actor's tenant)."""
    tenant = plan_tenant(actor, data.tenantId)
    ensure_default(tenant)
    _unique_name(tenant, data.name)
    plan = Scope(tenant).add(StoragePlan(name=data.name, description=data.description or None,
                                         quota_mb=data.quota, is_default=False))
    db.session.flush()
    if data.default:
        _take_default(actor, plan)
    audit.record(actor, action="create", kind="storage_plan", resource_id=plan.id, tenant_id=tenant,
                 after=_snapshot(plan), label=f"Create storage plan {plan.name}")
    db.session.commit()
    return plan


def update_plan(actor: Actor, plan_id, data: PlanUpdate) -> StoragePlan:
    """Change what ``data`` carries (a null ``description`` clears it)."""
    plan = get_plan(actor, plan_id)
    before = _snapshot(plan)
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
    db.session.flush()
    audit.record(actor, action="edit", kind="storage_plan", resource_id=plan.id, tenant_id=plan.tenant_id,
                 before=before, after=_snapshot(plan), label=f"Edit storage plan {plan.name}")
    db.session.commit()
    return plan


def delete_plan(actor: Actor, plan_id) -> int:
    """Delete a plan; its users move to the default plan. Returns how many moved."""
    plan = get_plan(actor, plan_id)
    if plan.is_default:
        raise BadRequest("The default plan cannot be deleted")
    moved = db.session.execute(sa.delete(UserPlan).where(UserPlan.plan_id == plan.id)).rowcount or 0
    before = _snapshot(plan)
    db.session.delete(plan)
    audit.record(actor, action="delete", kind="storage_plan", resource_id=plan.id, tenant_id=plan.tenant_id,
                 before={**before, "movedUsers": moved}, label=f"Delete storage plan {before['name']}")
    db.session.commit()
    return moved


def assign_plan(actor: Actor, user: User, plan_id) -> StoragePlan:
    """Put ``user`` on a plan of their tenant (another tenant's plan is not found)."""
    plan = get_plan(actor, plan_id)
    if plan.tenant_id != user.tenant_id:
        raise NotFound("StoragePlan not found")
    link = db.session.scalars(Scope(user.tenant_id).select(UserPlan).where(UserPlan.user_id == user.id)).first()
    before = {"userId": user.id, "planId": link.plan_id if link else None}
    if link is None:
        link = Scope(user.tenant_id).add(UserPlan(user_id=user.id, plan_id=plan.id))
    link.plan_id = plan.id
    audit.record(actor, action="assign", kind="storage_plan", resource_id=plan.id, tenant_id=user.tenant_id,
                 before=before, after={"userId": user.id, "planId": plan.id},
                 label=f"Put {user.email} on storage plan {plan.name}")
    db.session.commit()
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
    stmt = Scope(tenant_id).select(Attachment).where(Attachment.uploaded_by_id == user_id).with_only_columns(
        sa.func.coalesce(sa.func.sum(Attachment.file_size), 0))
    return int(db.session.scalar(stmt) or 0)


def usage(tenant_id, user_id) -> dict:
    plan = plan_of(tenant_id, user_id)
    used = used_bytes(tenant_id, user_id)
    quota_bytes = plan.quota_mb * MB
    percent = 100 if quota_bytes == 0 else min(100, round(used * 100 / quota_bytes))
    return {"userId": user_id, "planId": plan.id, "planName": plan.name, "quota": plan.quota_mb,
            "quotaBytes": quota_bytes, "usedBytes": used, "percent": percent, "blocked": used >= quota_bytes}


def check_can_upload(tenant_id, user_id) -> None:
    """``QuotaExceeded`` (413) when the user's stored bytes are at or above their quota."""
    if user_id is None:
        return
    u = usage(tenant_id, user_id)
    if u["blocked"]:
        raise QuotaExceeded(
            f"Storage quota reached: {human_size(u['usedBytes'])} used of {u['quota']} MB on plan "
            f"“{u['planName']}”. Delete files to upload again.", quota=u["quota"], usedBytes=u["usedBytes"])


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
