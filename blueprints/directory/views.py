"""Directory routes (seed 000 /directory). Each view answers JSON (the seed contract), the
page, or — for htmx — the block of the page that changed.

HTML flow: creates and inline edits re-render their own form (422 with the messages when
the input is refused) and fire ``directory-*-changed`` so the list reloads itself with the
current search; deletes answer with the refreshed list block.
"""

from __future__ import annotations

import uuid

from flask import request

from blueprints.directory import bp
from models import Organization
from schemas.base import Created, Ok, Page
from schemas.directory import (
    DirectoryDeleteBody,
    DirectoryDeleteQuery,
    OrganizationCreate,
    OrganizationDeleteQuery,
    OrganizationListQuery,
    OrganizationLookup,
    OrganizationLookupQuery,
    OrganizationOptions,
    OrganizationPage,
    OrganizationSwitch,
    OrganizationSwitcher,
    OrganizationTree,
    OrganizationUpdate,
    SwitcherQuery,
    TenantCreate,
    TenantListItem,
    TenantListQuery,
    TenantLookup,
    TenantLookupQuery,
    TenantUpdate,
)
from services import directory
from services.directory import UNSET
from services.errors import NotFound, ValidationFailed
from web.access import current_actor, public, requires
from web.contract import operation, submitted
from web.forms import show_again
from web.negotiate import respond, response_mode
from web.pagination import paginate_a

# Refusals shown next to the form that caused them (HTML: invalid, a parent not found, taken);
# 403s and the rest go to the toast.
FORM_STATUSES = (400, 404, 409, 422)
ORGS_CHANGED = "directory-orgs-changed"
TENANTS_CHANGED = "directory-tenants-changed"
ORGS_PAGE = "directory/organizations.html"
TENANTS_PAGE = "directory/tenants.html"


# --- request input ------------------------------------------------------------------------


def _delete_id(query: DirectoryDeleteQuery, body: DirectoryDeleteBody | None) -> uuid.UUID:
    """``?id=`` (pages, the conventions) or the JSON body ``{"id": …}`` the seed shows."""
    if query.id is not None:
        return query.id
    if body is None:
        raise ValidationFailed(
            "id is required", details=[{"path": ["id"], "message": "is required", "kind": "required"}]
        )
    return body.id


def _edited(get):
    """The record a refused inline edit is about (None: not one the actor may see)."""
    try:
        return get(current_actor(), uuid.UUID(str(submitted().get("id"))))
    except (ValueError, NotFound):
        return None


def _edit_context(get, context):
    """The context of a refused inline edit's form: ``context(record)``, None without a record."""
    record = _edited(get)
    return None if record is None else {**context(record), "edit_id": record.id}


# --- tenants --------------------------------------------------------------------------------


def _tenant_list(query: TenantListQuery) -> dict:
    body, _ = paginate_a(
        directory.tenants_select(current_actor(), tenant_id=query.id, is_active=query.isActive),
        serialize=directory.tenant_row,
        sort_fields=directory.TENANT_SORT_FIELDS,
        default_sort="name",
        search_columns=directory.TENANT_SEARCH_COLUMNS,
        query=query,
    )
    return body


def _tenant_context(actor, body: dict | None = None, search: str = "", **extra) -> dict:
    if body is None:
        body = _tenant_list(TenantListQuery(search=search))
    return {
        "data": body,
        "search": search,
        "can_manage": actor.grants.allows(["directory.tenants.manage"]),
        "is_super_admin": actor.is_super_admin,
        "own_tenant_id": getattr(actor.principal, "tenant_id", None),
        "errors": {},
        **extra,
    }


_tenant_create_error = show_again(
    TENANTS_PAGE, "tenant_create_form", statuses=FORM_STATUSES, context=lambda: _tenant_context(current_actor())
)
_tenant_edit_error = show_again(
    TENANTS_PAGE,
    "tenant_edit_form",
    statuses=FORM_STATUSES,
    context=lambda: _edit_context(
        directory.get_tenant, lambda t: _tenant_context(current_actor(), t=directory.tenant_row(t))
    ),
)


@bp.get("/tenants")
@requires("directory.tenants.view")
@operation(query=TenantListQuery, responses={200: Page[TenantListItem]})
def tenants(query: TenantListQuery):
    """List tenants

    Tenants visible to the caller (super admins: every tenant; others: their own), with
    ``search``, ``id``, ``isActive``, sorting and paging.
    """
    actor = current_actor()
    body = _tenant_list(query)
    return respond(
        body, template=TENANTS_PAGE, block="tenant_list", context=_tenant_context(actor, body, search=query.search)
    )


@bp.post("/tenants")
@requires("directory.tenants.manage", super_admin=True)
@operation(body=TenantCreate, responses={201: Created}, summary="Create tenant", form_error=_tenant_create_error)
def create_tenant(body: TenantCreate):
    """Creates a new tenant (with its default roles) and returns its identifier. Super admins only."""
    actor = current_actor()
    tenant = directory.create_tenant(actor, name=body.name, is_active=body.isActive)
    return respond(
        {"id": tenant.id},
        status=201,
        template=TENANTS_PAGE,
        block="tenant_create_form",
        context=lambda: _tenant_context(actor, created=tenant),
        toast=f"Tenant {tenant.name} created",
        trigger=TENANTS_CHANGED,
    )


@bp.put("/tenants")
@requires("directory.tenants.manage")
@operation(body=TenantUpdate, responses={200: Ok}, summary="Update tenant", form_error=_tenant_edit_error)
def update_tenant(body: TenantUpdate):
    """Updates tenant properties such as name or activation state (activation: super admins only)."""
    actor = current_actor()
    tenant = directory.update_tenant(actor, body.id, name=body.name, is_active=body.isActive)
    return respond(
        {"ok": True},
        template=TENANTS_PAGE,
        block="tenant_edit_form",
        context=lambda: _tenant_context(actor, t=directory.tenant_row(tenant)),
        toast=f"Tenant {tenant.name} saved",
        trigger=TENANTS_CHANGED,
    )


@bp.delete("/tenants")
@requires("directory.tenants.manage", super_admin=True)
@operation(
    query=DirectoryDeleteQuery,
    body=DirectoryDeleteBody,
    body_required=False,
    responses={200: Ok},
    summary="Delete tenant",
)
def delete_tenant(query: DirectoryDeleteQuery, body: DirectoryDeleteBody | None):
    """Soft deletes the tenant identified by id (``?id=`` or a JSON body). Super admins only."""
    actor = current_actor()
    directory.delete_tenant(actor, _delete_id(query, body))
    return respond(
        {"ok": True},
        template=TENANTS_PAGE,
        block="tenant_list",
        context=lambda: _tenant_context(actor, search=query.search),
        toast="Tenant deleted",
    )


# --- organizations ----------------------------------------------------------------------------


def _filter(query: OrganizationListQuery) -> directory.OrgFilter:
    """``includeInactive=false`` means ``status=active`` when no status is asked for."""
    status = "active" if query.includeInactive is False and query.status == "all" else query.status
    return directory.OrgFilter(tenant_id=query.tenantId, search=query.search, ids=query.ids or None, status=status)


def _org_context(actor, flt: directory.OrgFilter | None = None, **extra) -> dict:
    """Everything the organizations page shows: the (filtered) tree, the parent pickers."""
    flt = flt or directory.OrgFilter()
    return {
        "rows": directory.flatten(directory.organization_tree(actor, flt)),
        "options": directory.organization_options(actor),
        "tenants": (directory.visible_tenants_list(actor) if actor.is_super_admin else []),
        "filters": flt,
        "can_manage": actor.grants.allows(["directory.organizations.manage"]),
        "is_super_admin": actor.is_super_admin,
        "own_tenant_id": getattr(actor.principal, "tenant_id", None),
        "errors": {},
        **extra,
    }


def _org_list_data(actor, query: OrganizationListQuery, flt: directory.OrgFilter) -> dict:
    if query.view == "tree":
        return {"items": directory.tree_rows(directory.organization_tree(actor, flt))}
    if query.view == "options":
        return {"items": directory.option_rows(directory.organization_tree(actor, flt))}
    body, _ = paginate_a(
        directory.organizations_select(actor, flt),
        serialize=lambda o: o,
        sort_fields=directory.SORT_FIELDS,
        default_sort="name",
        search_columns=[Organization.name, Organization.slug],
        query=query,
    )
    body["items"] = directory.organization_rows(body["items"])
    return body


_org_create_error = show_again(
    ORGS_PAGE, "org_create_form", statuses=FORM_STATUSES, context=lambda: _org_context(current_actor())
)
_org_edit_error = show_again(
    ORGS_PAGE,
    "org_edit_form",
    statuses=FORM_STATUSES,
    context=lambda: _edit_context(
        directory.get_organization, lambda o: _org_context(current_actor(), node=directory.node_of(o))
    ),
)


@bp.get("/organizations")
@requires("directory.organizations.view")
@operation(query=OrganizationListQuery, responses={200: OrganizationPage | OrganizationOptions | OrganizationTree})
def organizations(query: OrganizationListQuery):
    """List organizations

    ``view=manage`` (default): paged flat list with parent, root, tree path and depth;
    ``view=tree``: nested ``children``; ``view=options``: compact list for pickers.
    Filters: ``search`` (name or slug), ``ids`` (comma-separated), ``tenantId`` (super
    admins), ``status`` (all, active, inactive), ``includeInactive``.
    """
    actor = current_actor()
    flt = _filter(query)
    if response_mode() == "json":
        return respond(_org_list_data(actor, query, flt))
    return respond(None, template=ORGS_PAGE, block="org_list", context=_org_context(actor, flt))


@bp.post("/organizations")
@requires("directory.organizations.manage")
@operation(
    body=OrganizationCreate, responses={201: Created}, summary="Create organization", form_error=_org_create_error
)
def create_organization(body: OrganizationCreate):
    """Creates a new organization within a tenant and optionally places it under a parent."""
    actor = current_actor()
    org = directory.create_organization(
        actor, name=body.name, slug=body.slug, parent_id=body.parentId, tenant_id=body.tenantId, is_active=body.isActive
    )
    return respond(
        {"id": org.id},
        status=201,
        template=ORGS_PAGE,
        block="org_create_form",
        context=lambda: _org_context(actor, created=org),
        toast=f"Organization {org.name} created",
        trigger=ORGS_CHANGED,
    )


@bp.put("/organizations")
@requires("directory.organizations.manage")
@operation(body=OrganizationUpdate, responses={200: Ok}, summary="Update organization", form_error=_org_edit_error)
def update_organization(body: OrganizationUpdate):
    """Updates organization details and hierarchy (``parentId``: null moves it to the top level)."""
    actor = current_actor()
    org = directory.update_organization(
        actor,
        body.id,
        name=body.name,
        slug=body.slug,
        is_active=body.isActive,
        parent_id=body.parentId if "parentId" in body.model_fields_set else UNSET,
    )
    return respond(
        {"ok": True},
        template=ORGS_PAGE,
        block="org_edit_form",
        context=lambda: _org_context(actor, node=directory.node_of(org)),
        toast=f"Organization {org.name} saved",
        trigger=ORGS_CHANGED,
    )


@bp.delete("/organizations")
@requires("directory.organizations.manage")
@operation(
    query=OrganizationDeleteQuery,
    body=DirectoryDeleteBody,
    body_required=False,
    responses={200: Ok},
    summary="Delete organization",
)
def delete_organization(query: OrganizationDeleteQuery, body: DirectoryDeleteBody | None):
    """Soft deletes an organization identified by id (``?id=`` or a JSON body); refused while it has children."""
    actor = current_actor()
    directory.delete_organization(actor, _delete_id(query, body))
    return respond(
        {"ok": True},
        template=ORGS_PAGE,
        block="org_list",
        toast="Organization deleted",
        context=lambda: _org_context(actor, directory.OrgFilter(tenant_id=query.tenantId, search=query.search)),
    )


@bp.get("/organization-switcher")
@requires()
@operation(query=SwitcherQuery, responses={200: OrganizationSwitcher})
def organization_switcher(query: SwitcherQuery):
    """Load organization switcher menu

    The hierarchical menu of organizations the signed-in user may switch to within the
    active tenant (super admins may pass ``tenantId``), plus the tenants they can see.
    """
    actor = current_actor()
    data = directory.organization_switcher(
        actor, tenant_id=query.tenantId, can_manage=actor.grants.allows(["directory.organizations.manage"])
    )
    return respond(data, template="directory/switcher.html", block="switcher", context={"data": data})


@bp.post("/organization-switcher")
@requires()
@operation(body=OrganizationSwitch, responses={200: OrganizationSwitcher})
def switch_organization(body: OrganizationSwitch):
    """Switch organization

    Work in ``organizationId`` and its children from now on in this sign-in (browser or
    token); ``null`` = all organizations at once, for callers who may see them all (403
    otherwise). An organization outside the caller's ACL is a 404. Answers the switcher.
    """
    from services import auth, organization_scope
    from services.acl import Actor

    actor = current_actor()
    organization_scope.select(actor, body.organizationId)
    actor = Actor.of(auth.live_principal(actor.principal.session_id))
    data = directory.organization_switcher(actor, can_manage=actor.grants.allows(["directory.organizations.manage"]))
    resp = respond(
        data,
        template="directory/switcher.html",
        block="switcher",
        context={"data": data},
        toast="Organization switched",
    )
    resp.headers["HX-Trigger-After-Settle"] = "wharf:organization-switched"
    return resp


# --- public lookups ---------------------------------------------------------------------------


@bp.get("/organizations/lookup")
@public
@operation(
    query=OrganizationLookupQuery, responses={200: OrganizationLookup}, summary="Public organization lookup by slug"
)
def organization_lookup(query: OrganizationLookupQuery):
    """An organization's id and name by its slug, for flows before sign-in: nothing else of it
    or its tenant. 404 when no live organization has the slug; 429 beyond the lookups per
    minute an IP may make."""
    directory.count_lookup(request.remote_addr or "unknown")
    org = directory.lookup_organization(query.slug, query.tenantId)
    return respond({"ok": True, "organization": {"id": org.id, "name": org.name, "slug": org.slug}})


@bp.get("/tenants/lookup")
@public
@operation(query=TenantLookupQuery, responses={200: TenantLookup}, summary="Public tenant lookup")
def tenant_lookup(query: TenantLookupQuery):
    """A live tenant's id and name, for sign-in links that name the tenant; 404 otherwise."""
    directory.count_lookup(request.remote_addr or "unknown")
    tenant = directory.lookup_tenant(query.tenantId)
    return respond({"ok": True, "tenant": {"id": tenant.id, "name": tenant.name}})
