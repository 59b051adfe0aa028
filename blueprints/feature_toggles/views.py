"""Toggle routes: check endpoints for every signed-in caller, global definitions for super
admins, overrides for tenant admins. JSON per seed 000; pages and fragments for people."""
from __future__ import annotations

import sqlalchemy as sa
from flask import request
from flask_login import current_user

from blueprints.auth.forms import ApiForm
from blueprints.feature_toggles import bp
from models import FeatureToggle, Tenant, db
from services import toggles
from services.errors import DomainError, ValidationFailed
from web.access import current_actor, requires
from web.forms import as_bool, request_data
from web.htmx import toast
from web.negotiate import respond, response_mode
from web.openapi import documented
from web.pagination import paginate_a
from wtforms import BooleanField, StringField


class ToggleForm(ApiForm):
    id = StringField("Toggle id (updates)")
    identifier = StringField("Identifier ^[a-z][a-z0-9_.-]*$ (immutable)")
    name = StringField("Name")
    description = StringField("Description")
    category = StringField("Category")
    type = StringField("Type: boolean | string | number | json (immutable)")
    defaultValue = StringField("Default value (JSON value matching the type)")


class OverrideForm(ApiForm):
    toggleId = StringField("Toggle id")
    isOverride = BooleanField("Override (false = inherit the default)")
    overrideValue = StringField("Override value (JSON value matching the type; booleans default to true)")
    tenantId = StringField("Tenant id (super admins)")


def _tenant_id():
    return current_user.tenant_id


# --- check --------------------------------------------------------------------------------

def _check(kind: str):
    found = toggles.check(request.args.get("identifier"), _tenant_id(), kind)
    common = {"source": found.source, "toggleId": found.toggle_id, "identifier": found.identifier,
              "tenantId": _tenant_id()}
    if kind == "boolean":
        return respond({"enabled": bool(found.value), **common})
    return respond({"valueType": kind, "value": found.value, **common})


@bp.get("/check/boolean")
@requires()
def check_boolean():
    """Whether a boolean toggle is enabled for the caller's tenant (404 unknown, 400 other type)."""
    return _check("boolean")


@bp.get("/check/string")
@requires()
def check_string():
    """The string value of a toggle for the caller's tenant."""
    return _check("string")


@bp.get("/check/number")
@requires()
def check_number():
    """The number value of a toggle for the caller's tenant."""
    return _check("number")


@bp.get("/check/json")
@requires()
def check_json():
    """The JSON value of a toggle for the caller's tenant."""
    return _check("json")


# --- global definitions -------------------------------------------------------------------

SORT = {"identifier": FeatureToggle.identifier, "name": FeatureToggle.name, "category": FeatureToggle.category,
        "type": FeatureToggle.type, "createdAt": FeatureToggle.created_at, "updatedAt": FeatureToggle.updated_at}


def _like(column, value):
    return sa.func.lower(column).contains(value.lower(), autoescape=True)


def _global_list(**extra):
    args = request.args
    stmt = toggles.live_toggles()
    if args.get("type"):
        if args["type"] not in toggles.TYPES:
            raise ValidationFailed("Invalid type", details=[{"path": ["type"], "message": "must be boolean, string, number or json"}])
        stmt = stmt.where(FeatureToggle.type == args["type"])
    for key, column in (("category", FeatureToggle.category), ("name", FeatureToggle.name),
                        ("identifier", FeatureToggle.identifier)):
        if args.get(key):
            stmt = stmt.where(_like(column, args[key]))
    body, page = paginate_a(stmt, serialize=toggles.serialize, sort_fields=SORT, default_sort="identifier",
                            search_columns=[FeatureToggle.identifier, FeatureToggle.name, FeatureToggle.description,
                                            FeatureToggle.category], max_size=200)
    categories = db.session.scalars(sa.select(FeatureToggle.category).where(
        FeatureToggle.deleted_at.is_(None), FeatureToggle.category.is_not(None)).distinct().order_by(FeatureToggle.category)).all()
    return body, {"toggles": body["items"], "page": page, "args": args, "categories": categories,
                  "types": toggles.TYPES, "can_manage": current_actor().is_super_admin and current_actor().grants.allows(
                      ["feature_toggles.global.manage"]), **extra}


@bp.get("/global")
@requires("feature_toggles.view")
def global_list():
    """Global toggles; filters search, type, category, name, identifier; sort; pageSize ≤ 200."""
    body, ctx = _global_list()
    block = "toggle_table" if request.headers.get("HX-Target") == "toggle-table" else "content"
    return respond(body, template="feature_toggles/global.html", block=block, context=ctx)


def _from_switch(data: dict, kind: str) -> dict:
    """A boolean default arrives from the HTML switch as a hidden "false" plus "true" when on."""
    if kind == "boolean" and "defaultValue" in data:
        return {**data, "defaultValue": "true" if as_bool(data["defaultValue"]) else "false"}
    return data


@bp.post("/global")
@requires("feature_toggles.global.manage", super_admin=True)
@documented(body=ToggleForm)
def create_global():
    """Creates a global toggle (super admins holding feature_toggles.global.manage)."""
    data = request_data()
    html = response_mode() != "json"
    try:
        form = not request.is_json
        payload = _from_switch(data, data.get("type") or "boolean") if form else data
        toggle = toggles.create_toggle(current_actor(), payload, from_form=form)
    except DomainError as e:
        if not html:
            raise
        _, ctx = _global_list(error=e.message, form=data)
        return respond(None, template="feature_toggles/global.html", block="create_form", context=ctx, status=422)
    _, ctx = _global_list(created=toggle.identifier)
    resp = respond({"id": toggle.id}, status=201, template="feature_toggles/global.html", block="create_form", context=ctx)
    return toast(resp, f"Toggle {toggle.identifier} created")


@bp.put("/global")
@requires("feature_toggles.global.manage", super_admin=True)
@documented(body=ToggleForm)
def update_global():
    """Updates name, description, category or defaultValue (identifier and type are immutable)."""
    data = request_data()
    html = response_mode() != "json"
    toggle_id = data.get("id")
    if not toggle_id:
        raise ValidationFailed("id is required", details=[{"path": ["id"], "message": "is required"}])
    try:
        form = not request.is_json
        payload = _from_switch(data, toggles.get_toggle(toggle_id).type) if form else data
        toggle = toggles.update_toggle(current_actor(), toggle_id, payload, from_form=form)
    except ValidationFailed as e:
        if not html:
            raise
        t = toggles.get_toggle(toggle_id)
        return respond(None, template="feature_toggles/edit.html", block="edit_form", status=422,
                       context={"item": {**toggles.serialize(t), **{k: v for k, v in data.items() if k != "id"}},
                                "error": e.message, "raw": data.get("defaultValue")})
    resp = respond({"id": toggle.id}, template="feature_toggles/edit.html", block="edit_form",
                   context={"item": toggles.serialize(toggle), "saved": True})
    return toast(resp, f"Toggle {toggle.identifier} saved")


@bp.delete("/global")
@requires("feature_toggles.global.manage", super_admin=True)
def delete_global():
    """Soft-deletes a toggle; its identifier stays reserved."""
    toggle_id = request.args.get("id")
    if not toggle_id:
        raise ValidationFailed("id is required", details=[{"path": ["id"], "message": "is required"}])
    toggle = toggles.delete_toggle(current_actor(), toggle_id)
    return toast(respond({"id": toggle.id}, template="feature_toggles/global.html", block="nothing"),
                 f"Toggle {toggle.identifier} deleted")


@bp.get("/global/<uuid:toggle_id>")
@requires("feature_toggles.view")
def global_detail(toggle_id):
    """One toggle's definition (the edit page for browsers)."""
    toggle = toggles.serialize(toggles.get_toggle(toggle_id))
    can_manage = current_actor().is_super_admin and current_actor().grants.allows(["feature_toggles.global.manage"])
    return respond(toggle, template="feature_toggles/edit.html", block="edit_form",
                   context={"item": toggle, "can_manage": can_manage})


@bp.get("/global/<uuid:toggle_id>/override")
@requires("feature_toggles.view")
def global_override(toggle_id):
    """The caller's tenant override of one toggle."""
    toggle = toggles.get_toggle(toggle_id)
    tenant = db.session.get(Tenant, _tenant_id())
    row = toggles.override_row(toggle, toggles.override_of(toggle, tenant.id), tenant)
    return respond({"id": row["id"], "tenantName": tenant.name, "tenantId": tenant.id, "toggleType": toggle.type,
                    "toggleId": toggle.id, "isOverride": row["isOverride"], "overrideState": row["overrideState"],
                    "value": row["overrideValue"]},
                   template="feature_toggles/overrides.html", block="override_row", context={"row": row})


# --- overrides ------------------------------------------------------------------------------

def _overrides(**extra):
    tenant = db.session.get(Tenant, _tenant_id())
    stmt = toggles.live_toggles()
    by_toggle = toggles.overrides_by_toggle(tenant.id)
    args = request.args
    for key, column in (("category", FeatureToggle.category), ("name", FeatureToggle.name),
                        ("identifier", FeatureToggle.identifier)):
        if args.get(key):
            stmt = stmt.where(_like(column, args[key]))

    body, page = paginate_a(stmt, serialize=lambda t: toggles.override_row(t, by_toggle.get(t.id), tenant), sort_fields=SORT,
                            default_sort="identifier", search_columns=[FeatureToggle.identifier, FeatureToggle.name],
                            max_size=200)
    body["isSuperAdmin"] = current_actor().is_super_admin
    return body, {"rows": body["items"], "page": page, "args": args, "tenant": tenant,
                  "can_manage": current_actor().grants.allows(["feature_toggles.manage"]), **extra}


@bp.get("/overrides")
@requires("feature_toggles.view")
def overrides():
    """Every live toggle with this tenant's override state (enabled | disabled | override | inherit)."""
    body, ctx = _overrides()
    block = "override_table" if request.headers.get("HX-Target") == "override-table" else "content"
    return respond(body, template="feature_toggles/overrides.html", block=block, context=ctx)


@bp.put("/overrides")
@requires("feature_toggles.manage")
@documented(body=OverrideForm)
def set_override():
    """Overrides a toggle for the tenant, or returns it to inherit (isOverride false)."""
    data = request_data()
    if not data.get("toggleId"):
        raise ValidationFailed("toggleId is required", details=[{"path": ["toggleId"], "message": "is required"}])
    if "isOverride" not in data:
        raise ValidationFailed("isOverride is required", details=[{"path": ["isOverride"], "message": "is required"}])
    is_override = data["isOverride"] if isinstance(data["isOverride"], bool) else as_bool(data["isOverride"])
    if not isinstance(data["isOverride"], bool) and request.is_json:
        raise ValidationFailed("isOverride must be a boolean", details=[{"path": ["isOverride"], "message": "must be true or false"}])
    override = toggles.set_override(current_actor(), data["toggleId"], is_override=is_override,
                                    value=data.get("overrideValue"), tenant_id=data.get("tenantId"),
                                    from_form=not request.is_json)
    toggle = toggles.get_toggle(data["toggleId"])
    tenant = db.session.get(Tenant, override.tenant_id if override else _tenant_id())
    row = toggles.override_row(toggle, override, tenant)
    resp = respond({"ok": True, "overrideToggleId": override.id if override else None},
                   template="feature_toggles/overrides.html", block="override_row",
                   context={"row": row, "can_manage": True})
    state = {"enabled": "on", "disabled": "off", "inherit": "inherited", "override": "overridden"}[row["overrideState"]]
    return toast(resp, f"{toggle.identifier}: {state}")
