"""Toggle routes: check endpoints for every signed-in caller, global definitions for super
admins, overrides for tenant admins. JSON per seed 000; pages and fragments for people."""

from __future__ import annotations

import uuid

import orjson
import sqlalchemy as sa
from flask import request, url_for
from flask_login import current_user

from blueprints.feature_toggles import bp
from models import FeatureToggle, db
from schemas.base import Page
from schemas.feature_toggles import (
    ChangeOverrideState,
    ChangeOverrideStateResponse,
    FeatureToggleCheckQuery,
    FeatureToggleCreate,
    FeatureToggleDeleteQuery,
    FeatureToggleEnabled,
    FeatureToggleId,
    FeatureToggleJsonValue,
    FeatureToggleListQuery,
    FeatureToggleNumberValue,
    FeatureToggleOverride,
    FeatureToggleOverrideList,
    FeatureToggleOverrideListQuery,
    FeatureToggleStringValue,
    FeatureToggleUpdate,
    OverrideTenantQuery,
)
from schemas.feature_toggles import FeatureToggle as ToggleOut
from services import directory, toggles
from services.errors import NotFound, ValidationFailed
from web.access import current_actor, requires
from web.contract import operation, submitted
from web.forms import form_message, show_again
from web.negotiate import empty, respond, response_mode, see_other
from web.pagination import contains_ci, paginate_a

GLOBAL = "feature_toggles/global.html"
EDIT = "feature_toggles/edit.html"
OVERRIDES = "feature_toggles/overrides.html"


def _tenant_id():
    return current_user.tenant_id


def _typed(kind: str, value, path: str):
    """A form sends every value as text: read it as a value of the toggle type (JSON
    clients send typed values, checked as they are by the service)."""
    if request.is_json or not isinstance(value, str):
        return value
    text = value.strip()
    try:
        if kind == "boolean":
            return {"true": True, "on": True, "1": True, "false": False, "off": False, "0": False}[text.lower()]
        return orjson.loads(text) if kind in ("number", "json") else value
    except (KeyError, orjson.JSONDecodeError):
        raise ValidationFailed(
            f"{path} must be a valid {kind} value",
            details=[{"path": [path], "message": f"must be a valid {kind} value"}],
        ) from None


# --- check --------------------------------------------------------------------------------


def _check(kind: str, query: FeatureToggleCheckQuery):
    found = toggles.check(query.identifier, _tenant_id(), kind)
    common = {
        "source": found.source,
        "toggleId": found.toggle_id,
        "identifier": found.identifier,
        "tenantId": _tenant_id(),
    }
    if kind == "boolean":
        return respond({"enabled": bool(found.value), **common})
    return respond({"valueType": kind, "value": found.value, **common})


def _check_route(kind: str, model, summary: str, doc: str) -> None:
    """Declare ``GET /check/<kind>``: the four check routes differ only in the value type."""

    def view(query: FeatureToggleCheckQuery):
        return _check(kind, query)

    view.__name__, view.__doc__ = f"check_{kind}", doc
    bp.get(f"/check/{kind}")(
        requires()(operation(query=FeatureToggleCheckQuery, responses={200: model}, summary=summary)(view))
    )


_check_route(
    "boolean",
    FeatureToggleEnabled,
    "Check if feature is enabled",
    "Whether a boolean toggle is enabled for the caller's tenant (404 unknown, 400 other type).",
)
_check_route(
    "string", FeatureToggleStringValue, "Get string config", "The string value of a toggle for the caller's tenant."
)
_check_route(
    "number", FeatureToggleNumberValue, "Get number config", "The number value of a toggle for the caller's tenant."
)
_check_route("json", FeatureToggleJsonValue, "Get json config", "The JSON value of a toggle for the caller's tenant.")


# --- global definitions -------------------------------------------------------------------

SORT = {
    "identifier": FeatureToggle.identifier,
    "name": FeatureToggle.name,
    "category": FeatureToggle.category,
    "type": FeatureToggle.type,
    "createdAt": FeatureToggle.created_at,
    "updatedAt": FeatureToggle.updated_at,
}


def _filtered(stmt, query):
    for key, column in (
        ("category", FeatureToggle.category),
        ("name", FeatureToggle.name),
        ("identifier", FeatureToggle.identifier),
    ):
        if getattr(query, key):
            stmt = stmt.where(contains_ci(column, getattr(query, key)))
    return stmt


def _can_manage_global(actor) -> bool:
    return actor.is_super_admin and actor.grants.allows(["feature_toggles.global.manage"])


def _global_list(query: FeatureToggleListQuery | None = None, **extra):
    query = query or FeatureToggleListQuery()
    stmt = _filtered(toggles.live_toggles(), query)
    if query.type:
        stmt = stmt.where(FeatureToggle.type == query.type)
    body, page = paginate_a(
        stmt,
        serialize=toggles.serialize,
        sort_fields=SORT,
        default_sort="identifier",
        search_columns=[
            FeatureToggle.identifier,
            FeatureToggle.name,
            FeatureToggle.description,
            FeatureToggle.category,
        ],
        query=query,
    )
    categories = db.session.scalars(
        sa.select(FeatureToggle.category)
        .where(FeatureToggle.deleted_at.is_(None), FeatureToggle.category.is_not(None))
        .distinct()
        .order_by(FeatureToggle.category)
    ).all()
    return body, {
        "toggles": body["items"],
        "page": page,
        "args": query.model_dump(exclude_unset=True),
        "categories": categories,
        "types": toggles.TYPES,
        "can_manage": _can_manage_global(current_actor()),
        **extra,
    }


def _edited_toggle() -> dict | None:
    """The toggle whose edit form was refused (its id is in the form); None: no such toggle."""
    try:
        return {"item": toggles.serialize(toggles.get_toggle(uuid.UUID(str(submitted().get("id")))))}
    except (ValueError, NotFound):
        return None


_create_form_error = show_again(GLOBAL, "create_form", context=lambda: _global_list()[1], message=form_message)
_update_form_error = show_again(EDIT, "edit_form", context=_edited_toggle, message=form_message)


@bp.get("/global")
@requires("feature_toggles.view")
@operation(query=FeatureToggleListQuery, responses={200: Page[ToggleOut]}, summary="List global feature toggles")
def global_list(query: FeatureToggleListQuery):
    """Global toggles; filters search, type, category, name, identifier; sort; pageSize ≤ 200."""
    body, ctx = _global_list(query)
    return respond(body, template=GLOBAL, context=ctx, targets={"toggle-table": "toggle_table"})


@bp.post("/global")
@requires("feature_toggles.global.manage", super_admin=True)
@operation(
    body=FeatureToggleCreate,
    responses={201: FeatureToggleId},
    summary="Create global feature toggle",
    form_error=_create_form_error,
)
def create_global(body: FeatureToggleCreate):
    """Creates a global toggle (super admins holding feature_toggles.global.manage). A
    taken identifier (also one of a deleted toggle) is a 400."""
    body = body.model_copy(update={"defaultValue": _typed(body.type, body.defaultValue, "defaultValue")})
    toggle = toggles.create_toggle(current_actor(), body)
    return respond(
        {"id": toggle.id},
        status=201,
        template=GLOBAL,
        block="create_form",
        context=lambda: _global_list(created=toggle.identifier)[1],
        toast=f"Toggle {toggle.identifier} created",
    )


@bp.put("/global")
@requires("feature_toggles.global.manage", super_admin=True)
@operation(
    body=FeatureToggleUpdate,
    responses={200: FeatureToggleId},
    summary="Update global feature toggle",
    form_error=_update_form_error,
)
def update_global(body: FeatureToggleUpdate):
    """Updates name, description, category or defaultValue (identifier and type are immutable)."""
    if "defaultValue" in body.model_fields_set:
        kind = toggles.get_toggle(body.id).type
        body = body.model_copy(update={"defaultValue": _typed(kind, body.defaultValue, "defaultValue")})
    toggle = toggles.update_toggle(current_actor(), body)
    return respond(
        {"id": toggle.id},
        template=EDIT,
        block="edit_form",
        context={"item": toggles.serialize(toggle), "saved": True},
        toast=f"Toggle {toggle.identifier} saved",
    )


@bp.delete("/global")
@requires("feature_toggles.global.manage", super_admin=True)
@operation(query=FeatureToggleDeleteQuery, responses={200: FeatureToggleId}, summary="Delete global feature toggle")
def delete_global(query: FeatureToggleDeleteQuery):
    """Soft-deletes a toggle; its identifier stays reserved."""
    toggle = toggles.delete_toggle(current_actor(), query.id)
    return empty(
        {"id": toggle.id}, page=url_for("feature_toggles.global_list"), toast=f"Toggle {toggle.identifier} deleted"
    )


@bp.get("/global/<uuid:toggle_id>")
@requires("feature_toggles.view")
@operation(responses={200: ToggleOut}, summary="Fetch feature toggle by ID")
def global_detail(toggle_id):
    """One toggle's definition (the edit page for browsers)."""
    toggle = toggles.serialize(toggles.get_toggle(toggle_id))
    return respond(
        toggle,
        template=EDIT,
        block="edit_form",
        context={"item": toggle, "can_manage": _can_manage_global(current_actor())},
    )


@bp.get("/global/<uuid:toggle_id>/override")
@requires("feature_toggles.view")
@operation(query=OverrideTenantQuery, responses={200: FeatureToggleOverride}, summary="Fetch feature toggle override")
def global_override(toggle_id, query: OverrideTenantQuery):
    """The caller's tenant override of one toggle, or a super admin's ``tenantId``'s
    (browsers get the overrides page)."""
    toggle = toggles.get_toggle(toggle_id)
    tenant = toggles.override_tenant(current_actor(), query.tenantId)
    row = toggles.override_row(toggle, toggles.override_of(toggle, tenant.id), tenant)
    if response_mode() == "page":
        body, ctx = _overrides(FeatureToggleOverrideListQuery(identifier=toggle.identifier, tenantId=tenant.id))
        return respond(body, template=OVERRIDES, context=ctx)
    return respond(
        {
            "id": row["id"],
            "tenantName": tenant.name,
            "tenantId": tenant.id,
            "toggleType": toggle.type,
            "toggleId": toggle.id,
            "isOverride": row["isOverride"],
            "overrideState": row["overrideState"],
            "value": row["overrideValue"],
        },
        template=OVERRIDES,
        block="override_row",
        context={"row": row},
    )


# --- overrides ------------------------------------------------------------------------------


def _overrides(query: FeatureToggleOverrideListQuery):
    actor = current_actor()
    tenant = toggles.override_tenant(actor, query.tenantId)
    by_toggle = toggles.overrides_by_toggle(tenant.id)
    body, page = paginate_a(
        _filtered(toggles.live_toggles(), query),
        serialize=lambda t: toggles.override_row(t, by_toggle.get(t.id), tenant),
        sort_fields=SORT,
        default_sort="identifier",
        search_columns=[FeatureToggle.identifier, FeatureToggle.name],
        query=query,
    )
    body["isSuperAdmin"] = actor.is_super_admin
    return body, {
        "rows": body["items"],
        "page": page,
        "args": query.model_dump(exclude_unset=True),
        "tenant": tenant,
        # a super admin picks whose overrides to see and change
        "tenants": directory.visible_tenants_list(actor) if actor.is_super_admin else [],
        "can_manage": actor.grants.allows(["feature_toggles.manage"]),
    }


@bp.get("/overrides")
@requires("feature_toggles.view")
@operation(query=FeatureToggleOverrideListQuery, responses={200: FeatureToggleOverrideList}, summary="List overrides")
def overrides(query: FeatureToggleOverrideListQuery):
    """Every live toggle with this tenant's override state (enabled | disabled | override |
    inherit); a super admin may name another tenant (``tenantId``) and reads back what it set."""
    body, ctx = _overrides(query)
    return respond(body, template=OVERRIDES, context=ctx, targets={"override-table": "override_table"})


@bp.put("/overrides")
@requires("feature_toggles.manage")
@operation(body=ChangeOverrideState, responses={200: ChangeOverrideStateResponse}, summary="Change override state")
def set_override(body: ChangeOverrideState):
    """Overrides a toggle for the tenant, or returns it to inherit (isOverride false).
    Browsers get the toggle's row (htmx) or go back to the overrides page."""
    toggle = toggles.get_toggle(body.toggleId)
    body = body.model_copy(update={"overrideValue": _typed(toggle.type, body.overrideValue, "overrideValue")})
    override = toggles.set_override(current_actor(), body)
    data = {"ok": True, "overrideToggleId": override.id if override else None}
    if response_mode() == "page":
        return see_other(url_for("feature_toggles.overrides"), data)
    tenant = toggles.override_tenant(current_actor(), override.tenant_id if override else body.tenantId)
    row = toggles.override_row(toggle, override, tenant)
    state = {"enabled": "on", "disabled": "off", "inherit": "inherited", "override": "overridden"}[row["overrideState"]]
    return respond(
        data,
        template=OVERRIDES,
        block="override_row",
        context={"row": row, "can_manage": True},
        toast=f"{toggle.identifier}: {state}",
    )
