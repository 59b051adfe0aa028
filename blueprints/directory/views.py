"""Directory routes (seed 000 /directory). Each view answers JSON (the seed contract), the
page, or — for htmx — the block of the page that changed.

HTML flow: creates and inline edits re-render their own form (422 with the messages when
the input is refused) and fire ``directory-*-changed`` so the list reloads itself with the
current search; deletes answer with the refreshed list block.
"""
from __future__ import annotations

from flask import request
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField

from blueprints.directory import bp
from blueprints.directory.forms import (DeleteForm, OrganizationCreateForm, OrganizationUpdateForm,
                                        TenantCreateForm, TenantUpdateForm)
from models import Organization
from services import directory
from services.directory import UNSET
from services.errors import BadRequest, Conflict, NotFound, ValidationFailed
from web.access import current_actor, requires
from web.forms import field_errors, form_details, request_fields
from web.htmx import toast, trigger_client_event
from web.negotiate import respond, response_mode
from web.openapi import documented
from web.pagination import paginate_a

# Refusals shown next to the form that caused them (HTML); 403s and the rest go to the toast.
FORM_ERRORS = (ValidationFailed, BadRequest, Conflict, NotFound)
ORGS_CHANGED = "directory-orgs-changed"
TENANTS_CHANGED = "directory-tenants-changed"
ORGS_PAGE = "directory/organizations.html"
TENANTS_PAGE = "directory/tenants.html"


# --- request input ------------------------------------------------------------------------

def _checked(form_cls, payload: dict):
    """Validate ``payload`` with ``form_cls`` (types first: JSON may carry anything)."""
    form = form_cls(formdata=None)
    details, values = [], MultiDict()
    for f in form:
        value = payload.get(f.name)
        if value is None:
            continue
        if isinstance(value, str) or (isinstance(value, bool) and isinstance(f, BooleanField)):
            values[f.name] = value
        else:
            details.append({"path": [f.name], "message": "must be a string"})
    form = form_cls(formdata=values)
    if not form.validate():
        details += form_details(form)
    if details:
        raise ValidationFailed(details=details)
    return form


def _field(payload: dict, name: str):
    return payload[name] if name in payload else UNSET


def _delete_id() -> str:
    """DELETE takes the id from ``?id=`` or from the body (the seed shows a JSON body)."""
    if request.args.get("id"):
        return request.args["id"]
    return _checked(DeleteForm, request_fields()).id.data


def _form_failure(e, template: str, block: str, context: dict):
    """JSON callers get the error envelope; browsers get the form back with the messages."""
    if response_mode() == "json":
        raise e
    return respond(None, template=template, block=block, status=422,
                   context={**context, "error": e.message, "errors": field_errors(e.details)})


# --- tenants --------------------------------------------------------------------------------

def _tenant_context(actor, body: dict | None = None, **extra) -> dict:
    if body is None:
        body = _tenant_list()
    return {"data": body, "search": request.values.get("search", ""),
            "can_manage": actor.grants.allows(["directory.tenants.manage"]),
            "is_super_admin": actor.is_super_admin, "own_tenant_id": getattr(actor.principal, "tenant_id", None),
            "values": {}, "errors": {}, **extra}


def _tenant_list() -> dict:
    body, _ = paginate_a(directory.tenants_select(current_actor(), request.args), serialize=directory.tenant_row,
                         sort_fields=directory.TENANT_SORT_FIELDS, default_sort="name",
                         search_columns=directory.TENANT_SEARCH_COLUMNS)
    return body


@bp.get("/tenants")
@requires("directory.tenants.view")
def tenants():
    """List tenants

    Tenants visible to the caller (super admins: every tenant; others: their own), with
    ``search``, ``id``, ``isActive``, ``sortField`` (name, createdAt, updatedAt, isActive),
    ``sortDir`` and paging.
    """
    actor = current_actor()
    body = _tenant_list()
    return respond(body, template=TENANTS_PAGE, block="tenant_list", context=_tenant_context(actor, body))


@bp.post("/tenants")
@requires("directory.tenants.manage", super_admin=True)
@documented(body=TenantCreateForm, summary="Create tenant")
def create_tenant():
    """Creates a new tenant (with its default roles) and returns its identifier. Super admins only."""
    actor = current_actor()
    payload = request_fields()
    try:
        _checked(TenantCreateForm, payload)
        tenant = directory.create_tenant(actor, name=payload.get("name"), is_active=_field(payload, "isActive"))
    except FORM_ERRORS as e:
        return _form_failure(e, TENANTS_PAGE, "tenant_create_form", _tenant_context(actor, values=payload))
    resp = respond({"id": tenant.id}, status=201, template=TENANTS_PAGE, block="tenant_create_form",
                   context=_tenant_context(actor, created=tenant))
    return toast(trigger_client_event(resp, TENANTS_CHANGED), f"Tenant {tenant.name} created")


@bp.put("/tenants")
@requires("directory.tenants.manage")
@documented(body=TenantUpdateForm, summary="Update tenant")
def update_tenant():
    """Updates tenant properties such as name or activation state (activation: super admins only)."""
    actor = current_actor()
    payload = request_fields()
    try:
        form = _checked(TenantUpdateForm, payload)
        tenant = directory.update_tenant(actor, form.id.data, name=_field(payload, "name"),
                                         is_active=_field(payload, "isActive"))
    except FORM_ERRORS as e:
        if response_mode() == "json":
            raise
        try:
            current = directory.get_tenant(actor, payload.get("id"))
        except NotFound:
            raise e from None
        return _form_failure(e, TENANTS_PAGE, "tenant_edit_form",
                             _tenant_context(actor, t=directory.tenant_row(current), edit_id=current.id,
                                             edit_values=payload,
                                             edit_errors=field_errors(e.details), edit_error=e.message))
    resp = respond({"ok": True}, template=TENANTS_PAGE, block="tenant_edit_form",
                   context=_tenant_context(actor, t=directory.tenant_row(tenant)))
    return toast(trigger_client_event(resp, TENANTS_CHANGED), f"Tenant {tenant.name} saved")


@bp.delete("/tenants")
@requires("directory.tenants.manage", super_admin=True)
@documented(body=DeleteForm, summary="Delete tenant")
def delete_tenant():
    """Soft deletes the tenant identified by id (``?id=`` or a JSON body). Super admins only."""
    actor = current_actor()
    directory.delete_tenant(actor, _delete_id())
    resp = respond({"ok": True}, template=TENANTS_PAGE, block="tenant_list", context=_tenant_context(actor))
    return toast(resp, "Tenant deleted")


# --- organizations ----------------------------------------------------------------------------

def _org_context(actor, flt: directory.OrgFilter | None = None, **extra) -> dict:
    """Everything the organizations page shows: the (filtered) tree, the parent pickers."""
    flt = flt or directory.OrgFilter.parse(request.args)
    return {"rows": directory.flatten(directory.organization_tree(actor, flt)),
            "options": directory.organization_options(actor),
            "tenants": (directory.visible_tenants_list(actor) if actor.is_super_admin else []),
            "filters": flt, "can_manage": actor.grants.allows(["directory.organizations.manage"]),
            "is_super_admin": actor.is_super_admin, "own_tenant_id": getattr(actor.principal, "tenant_id", None),
            "values": {}, "errors": {}, **extra}


def _org_list_data(actor, flt: directory.OrgFilter, view: str) -> dict:
    if view == "tree":
        return {"items": [n.as_dict() for n in directory.organization_tree(actor, flt)]}
    if view == "options":
        rows = [n for n, _ in directory.flatten(directory.organization_tree(actor, flt)) if n.matched]
        return {"items": [{"id": n.org.id, "name": n.org.name, "parentId": n.org.parent_id,
                           "tenantId": n.org.tenant_id, "isActive": n.org.is_active, "depth": n.depth,
                           "treePath": n.org.tree_path} for n in rows]}
    body, _ = paginate_a(directory.organizations_select(actor, flt), serialize=lambda o: o,
                         sort_fields=directory.SORT_FIELDS, default_sort="name",
                         search_columns=[Organization.name, Organization.slug])
    body["items"] = directory.organization_rows(body["items"])
    return body


@bp.get("/organizations")
@requires("directory.organizations.view")
def organizations():
    """List organizations

    ``view=manage`` (default): paged flat list with parent, root, tree path and depth;
    ``view=tree``: nested ``children``; ``view=options``: compact list for pickers.
    Filters: ``search`` (name or slug), ``ids`` (comma-separated), ``tenantId`` (super
    admins), ``status`` (all, active, inactive), ``includeInactive``.
    """
    actor = current_actor()
    flt = directory.OrgFilter.parse(request.args)
    view = (request.args.get("view") or "manage").strip().lower()
    if view not in directory.VIEWS:
        raise ValidationFailed("Invalid view", details=[{"path": ["view"],
                                                         "message": f"must be one of {', '.join(directory.VIEWS)}"}])
    if response_mode() == "json":
        return respond(_org_list_data(actor, flt, view))
    return respond(None, template=ORGS_PAGE, block="org_list", context=_org_context(actor, flt))


@bp.post("/organizations")
@requires("directory.organizations.manage")
@documented(body=OrganizationCreateForm, summary="Create organization")
def create_organization():
    """Creates a new organization within a tenant and optionally places it under a parent."""
    actor = current_actor()
    payload = request_fields()
    try:
        _checked(OrganizationCreateForm, payload)
        org = directory.create_organization(actor, name=payload.get("name"), slug=payload.get("slug"),
                                            parent_id=payload.get("parentId"), tenant_id=payload.get("tenantId"),
                                            is_active=payload.get("isActive"))
    except FORM_ERRORS as e:
        return _form_failure(e, ORGS_PAGE, "org_create_form",
                             _org_context(actor, directory.OrgFilter(), values=payload))
    resp = respond({"id": org.id}, status=201, template=ORGS_PAGE, block="org_create_form",
                   context=_org_context(actor, directory.OrgFilter(), created=org))
    return toast(trigger_client_event(resp, ORGS_CHANGED), f"Organization {org.name} created")


@bp.put("/organizations")
@requires("directory.organizations.manage")
@documented(body=OrganizationUpdateForm, summary="Update organization")
def update_organization():
    """Updates organization details and hierarchy (``parentId``: null moves it to the top level)."""
    actor = current_actor()
    payload = request_fields()
    try:
        form = _checked(OrganizationUpdateForm, payload)
        org = directory.update_organization(actor, form.id.data, name=_field(payload, "name"),
                                            slug=_field(payload, "slug"), parent_id=_field(payload, "parentId"),
                                            is_active=_field(payload, "isActive"))
    except FORM_ERRORS as e:
        if response_mode() == "json":
            raise
        try:
            current = directory.get_organization(actor, payload.get("id"))
        except NotFound:
            raise e from None
        return _form_failure(e, ORGS_PAGE, "org_edit_form",
                             _org_context(actor, directory.OrgFilter(), node=directory.node_of(current),
                                          edit_id=current.id, edit_values=payload, edit_errors=field_errors(e.details),
                                          edit_error=e.message))
    resp = respond({"ok": True}, template=ORGS_PAGE, block="org_edit_form",
                   context=_org_context(actor, directory.OrgFilter(), node=directory.node_of(org)))
    return toast(trigger_client_event(resp, ORGS_CHANGED), f"Organization {org.name} saved")


@bp.delete("/organizations")
@requires("directory.organizations.manage")
@documented(body=DeleteForm, summary="Delete organization")
def delete_organization():
    """Soft deletes an organization identified by id (``?id=`` or a JSON body); refused while it has children."""
    actor = current_actor()
    directory.delete_organization(actor, _delete_id())
    resp = respond({"ok": True}, template=ORGS_PAGE, block="org_list", context=_org_context(actor))
    return toast(resp, "Organization deleted")


@bp.get("/organization-switcher")
@requires()
def organization_switcher():
    """Load organization switcher menu

    The hierarchical menu of organizations the signed-in user may switch to within the
    active tenant (super admins may pass ``tenantId``), plus the tenants they can see.
    """
    actor = current_actor()
    data = directory.organization_switcher(actor, tenant_id=request.args.get("tenantId"),
                                           can_manage=actor.grants.allows(["directory.organizations.manage"]))
    return respond(data, template="directory/switcher.html", block="switcher", context={"data": data})
