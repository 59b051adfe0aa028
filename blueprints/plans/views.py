"""Storage plan routes (seed 004 ``/api/v1/plans`` and ``/api/v1/plans/{planId}``), plus each
user's usage and plan assignment. JSON for API clients; the plan page and the usage bar
(``plans/usage.html``, loaded into the user edit page) for people.

HTML flow: every plan change re-renders the plan list (a moved default flag changes two
rows); refusals re-render it with the message next to the form (422).
"""

from __future__ import annotations

from blueprints.plans import bp
from models import StoragePlan, db
from schemas.base import Page
from schemas.plans import (
    Plan,
    PlanAssignment,
    PlanCreate,
    PlanDeleted,
    PlanListQuery,
    PlanUpdate,
    PlanUsage,
    UsageQuery,
)
from services import plans as plans_svc
from services import users as users_svc
from web.access import current_actor, requires
from web.contract import operation
from web.forms import show_again
from web.negotiate import respond
from web.pagination import paginate_a

PAGE = "plans/plans.html"
USAGE = "plans/usage.html"
CHANGED = "plans-changed"
FORM_STATUSES = (400, 404, 409, 422)  # refusals shown next to the form; the rest go to the toast
SORT_FIELDS = {"name": StoragePlan.name, "quota": StoragePlan.quota_mb, "createdAt": StoragePlan.created_at}


def _list_body(actor, query: PlanListQuery) -> dict:
    tenant = plans_svc.plan_tenant(actor, query.tenantId)
    plans_svc.ensure_default(tenant)
    body, _ = paginate_a(
        plans_svc.plans_select(tenant),
        serialize=plans_svc.plan_row,
        sort_fields=SORT_FIELDS,
        default_sort="name",
        search_columns=[StoragePlan.name],
        query=query,
    )
    return body


def _context(actor, body: dict | None = None, search: str = "", **extra) -> dict:
    body = body if body is not None else _list_body(actor, PlanListQuery())
    counts = {p["id"]: plans_svc.users_count(db.session.get(StoragePlan, p["id"])) for p in body["items"]}
    return {
        "data": body,
        "counts": counts,
        "can_manage": actor.grants.allows(["plans.manage"]),
        "search": search,
        "errors": {},
        "error": None,
        **extra,
    }


_create_error = show_again(PAGE, "plan_create_form", statuses=FORM_STATUSES, context=lambda: _context(current_actor()))
# the plan list with the refused row's form open
_update_error = show_again(
    PAGE, "plan_list", statuses=FORM_STATUSES, context=lambda plan_id: _context(current_actor(), edit_id=plan_id)
)


@bp.get("")
@requires("plans.view")
@operation(query=PlanListQuery, responses={200: Page[Plan]})
def plans(query: PlanListQuery):
    """List storage plans

    Every plan of the tenant (``id``, ``name``, ``description``, ``quota`` in MB,
    ``default``); the default plan is created on first use.
    """
    actor = current_actor()
    body = _list_body(actor, query)
    return respond(body, template=PAGE, block="plan_list", context=_context(actor, body, search=query.search))


@bp.post("")
@requires("plans.manage")
@operation(body=PlanCreate, responses={201: Plan}, summary="Create storage plan", form_error=_create_error)
def create_plan(body: PlanCreate):
    """Creates a plan; ``default: true`` takes the default flag from the current default."""
    actor = current_actor()
    plan = plans_svc.create_plan(actor, body)
    return respond(
        plans_svc.plan_row(plan),
        status=201,
        template=PAGE,
        block="plan_create_form",
        context=lambda: _context(actor, created=plan),
        toast=f"Plan {plan.name} created",
        trigger=CHANGED,
    )


@bp.get("/<plan_id>")
@requires("plans.view")
@operation(responses={200: Plan})
def plan(plan_id):
    """Retrieve a plan by its id."""
    actor = current_actor()
    row = plans_svc.plan_row(plans_svc.get_plan(actor, plan_id))
    return respond(
        row, template="plans/plan.html", context={"plan": row, "can_manage": actor.grants.allows(["plans.manage"])}
    )


@bp.put("/<plan_id>")
@requires("plans.manage")
@operation(body=PlanUpdate, responses={200: Plan}, summary="Modify a plan", form_error=_update_error)
def update_plan(plan_id, body: PlanUpdate):
    """Changes name, description, quota (MB) or the default flag (``default: false`` on the
    default plan is a 400: make another plan the default instead)."""
    actor = current_actor()
    plan = plans_svc.update_plan(actor, plan_id, body)
    return respond(
        plans_svc.plan_row(plan),
        template=PAGE,
        block="plan_list",
        context=lambda: _context(actor),
        toast=f"Plan {plan.name} saved",
    )


@bp.delete("/<plan_id>")
@requires("plans.manage")
@operation(responses={200: PlanDeleted})
def delete_plan(plan_id):
    """Deletes a plan (not the default: 400); its users move to the default plan."""
    actor = current_actor()
    moved = plans_svc.delete_plan(actor, plan_id)
    return respond(
        {"ok": True, "movedUsers": moved},
        template=PAGE,
        block="plan_list",
        context=lambda: _context(actor),
        toast=f"Plan deleted; {moved} user(s) moved to the default plan" if moved else "Plan deleted",
    )


# --- usage and assignment ---------------------------------------------------------------------


def _usage_context(actor, user, **extra) -> dict:
    usage = plans_svc.usage(user.tenant_id, user.id)
    can_manage = actor.grants.allows(["plans.manage"])
    options = (
        list(db.session.scalars(plans_svc.plans_select(user.tenant_id).order_by(StoragePlan.name)))
        if can_manage
        else []
    )
    return {
        "usage": usage,
        "user": user,
        "plans": options,
        "can_manage": can_manage,
        "human_size": plans_svc.human_size,
        **extra,
    }


@bp.get("/usage")
@requires("plans.view")
@operation(query=UsageQuery, responses={200: PlanUsage})
def usage(query: UsageQuery):
    """A user's storage usage (``?userId=``): plan, quota, bytes used, whether uploads are blocked."""
    actor = current_actor()
    user = users_svc.get_user(actor, query.userId)
    ctx = _usage_context(actor, user)
    return respond(ctx["usage"], template=USAGE, block="usage", context=ctx)


@bp.put("/assignment")
@requires("plans.manage")
@operation(body=PlanAssignment, responses={200: PlanUsage}, summary="Assign a storage plan to a user")
def assign(body: PlanAssignment):
    """Puts a user (``userId``) on a plan (``planId``) of their tenant; answers their usage."""
    actor = current_actor()
    user = users_svc.get_user(actor, body.userId)
    plan = plans_svc.assign_plan(actor, user, body.planId)
    ctx = _usage_context(actor, user, saved=True)
    return respond(
        ctx["usage"], template=USAGE, block="usage", context=ctx, toast=f"{user.email} is on plan {plan.name}"
    )
