"""API key routes (seed 000 ``/api_keys/keys``). One view per operation answers JSON, the
whole page, or the changed fragment (see ``web.negotiate.respond``)."""

from __future__ import annotations

from flask import request, url_for

from blueprints.api_keys import bp
from models import ApiKey, Organization, Role, db, utcnow
from schemas.api_keys import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyDeleted,
    ApiKeyDeleteQuery,
    ApiKeyListItem,
    ApiKeyListQuery,
)
from schemas.base import Page
from services import access_log, api_keys, boundaries
from services.acl import in_tenant
from services.roles import visible_roles
from web.access import current_actor, requires
from web.contract import operation, submitted
from web.forms import show_again
from web.negotiate import empty, respond
from web.pagination import paginate_a

TEMPLATE = "api_keys/keys.html"
SORT_FIELDS = {
    "name": ApiKey.name,
    "createdAt": ApiKey.created_at,
    "lastUsedAt": ApiKey.last_used_at,
    "expiresAt": ApiKey.expires_at,
}


def _list_body(actor, query: ApiKeyListQuery | None = None) -> dict:
    body, _ = paginate_a(
        api_keys.visible_keys(actor),
        serialize=api_keys.key_row,
        sort_fields=SORT_FIELDS,
        default_sort="name",
        search_columns=(ApiKey.name, ApiKey.description, ApiKey.key_prefix),
        query=query or ApiKeyListQuery(),
    )
    return body


def _assignable_roles(actor) -> list[Role]:
    """Roles of the actor's tenant it may hand to a key (never wider than its own grants)."""
    tenant_id = getattr(actor.principal, "tenant_id", None)
    roles = db.session.scalars(visible_roles(actor).where(in_tenant(Role, tenant_id)).order_by(Role.name))
    return [role for role in roles if boundaries.may_assign(actor, role)]


def _screen(actor, body: dict, **extra) -> dict:
    """Everything the page and its fragments need besides the list body."""
    grants = actor.grants
    can_create = grants.allows(["api_keys.create"])
    tenant_id = getattr(actor.principal, "tenant_id", None)
    organizations = (
        list(
            db.session.scalars(
                actor.scope.select(Organization).where(Organization.tenant_id == tenant_id).order_by(Organization.name)
            )
        )
        if can_create
        else []
    )
    now = utcnow()
    expired = {
        str(k["id"]) for k in body["items"] if k["expiresAt"] is not None and api_keys.as_utc(k["expiresAt"]) <= now
    }
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    ctx = {
        "data": body,
        "can_create": can_create,
        "can_delete": grants.allows(["api_keys.delete"]),
        "roles": _assignable_roles(actor) if can_create else [],
        "organizations": organizations,
        "expired": expired,
        "query": query,
        "search": request.args.get("search", ""),
        "form": {},
        "selected_roles": set(),
    }
    ctx.update(extra)
    return ctx


def _form_context() -> dict:
    """The page around a refused create form, its role boxes ticked as they were sent."""
    actor = current_actor()
    roles = submitted().get("roles", [])
    return _screen(actor, _list_body(actor), selected_roles=set(roles if isinstance(roles, list) else [roles]))


# roles wider than the caller's (403) or unknown (404) are fixed in the form too
_form_error = show_again(TEMPLATE, "keys_main", context=_form_context, statuses=(400, 403, 404, 409, 422))


@bp.get("/keys")
@requires("api_keys.view")
@operation(query=ApiKeyListQuery, responses={200: Page[ApiKeyListItem]})
def list_keys(query: ApiKeyListQuery):
    """List API keys.

    Paginated keys of the caller's scope (tenant and organizations; revoked keys are
    hidden), with their roles and organization. ``search`` matches name, description and
    prefix. The secret is never listed.
    """
    actor = current_actor()
    body = _list_body(actor, query)
    access_log.record_rows(actor, "api_key", body["items"], tenant_id=getattr(actor.principal, "tenant_id", None))
    return respond(body, template=TEMPLATE, block="results", context=_screen(actor, body))


@bp.post("/keys")
@requires("api_keys.create")
@operation(body=ApiKeyCreate, responses={201: ApiKeyCreated}, summary="Create API key", form_error=_form_error)
def create_key(body: ApiKeyCreate):
    """Create API key.

    A key may do what its roles allow (roles wider than the caller are refused). Answers
    201 with the key and its ``secret`` — returned only here, never again.
    """
    actor = current_actor()
    key, secret = api_keys.create_key(actor, body)
    created = api_keys.created_body(key, secret)
    no_store = {"Cache-Control": "no-store"}
    return respond(
        created,
        template=TEMPLATE,
        block="keys_main",
        status=201,
        headers=no_store,
        context=lambda: _screen(actor, _list_body(actor), created=created),
        toast=f"API key {key.name} created",
    )


@bp.delete("/keys")
@requires("api_keys.delete")
@operation(query=ApiKeyDeleteQuery, responses={200: ApiKeyDeleted})
def revoke_key(query: ApiKeyDeleteQuery):
    """Delete API key.

    Revokes the key ``?id=``: it stops authenticating at once and leaves the list. A key
    of another tenant or outside the caller's organizations is a 404.
    """
    key = api_keys.revoke_key(current_actor(), query.id)
    return empty({"success": True}, page=url_for("api_keys.list_keys"), toast=f"API key {key.name} revoked")
