"""API key routes (seed 000 ``/api_keys/keys``). One view per operation answers JSON, the
whole page, or the changed fragment (see ``web.negotiate.respond``)."""
from __future__ import annotations

import uuid

from flask import redirect, request, url_for
from werkzeug.datastructures import MultiDict

from blueprints.api_keys import bp
from blueprints.api_keys.forms import ApiKeyForm
from models import ApiKey, Organization, Role, db, utcnow
from services import api_keys, boundaries
from services.errors import DomainError, ValidationFailed
from services.roles import visible_roles
from web.access import current_actor, requires
from web.forms import as_list, field_errors, form_details, request_data
from web.htmx import htmx_details, toast
from web.negotiate import respond, response_mode
from web.openapi import documented
from web.pagination import paginate_a

TEMPLATE = "api_keys/keys.html"
SCALAR_FIELDS = ("name", "description", "tenantId", "organizationId", "expiresAt")
SORT_FIELDS = {"name": ApiKey.name, "createdAt": ApiKey.created_at, "lastUsedAt": ApiKey.last_used_at,
               "expiresAt": ApiKey.expires_at}


def _list_body(actor) -> dict:
    body, _ = paginate_a(api_keys.visible_keys(actor), serialize=api_keys.key_row, sort_fields=SORT_FIELDS,
                         default_sort="name", search_columns=(ApiKey.name, ApiKey.description, ApiKey.key_prefix))
    return body


def _assignable_roles(actor) -> list[Role]:
    """Roles of the actor's tenant it may hand to a key (never wider than its own grants)."""
    tenant_id = getattr(actor.principal, "tenant_id", None)
    roles = db.session.scalars(visible_roles(actor).where(Role.tenant_id == tenant_id).order_by(Role.name))
    return [role for role in roles if boundaries.may_assign(actor, role)]


def _screen(actor, body: dict, **extra) -> dict:
    """Everything the page and its fragments need besides the list body."""
    grants = actor.grants
    can_create = grants.allows(["api_keys.create"])
    tenant_id = getattr(actor.principal, "tenant_id", None)
    organizations = list(db.session.scalars(
        actor.scope.select(Organization).where(Organization.tenant_id == tenant_id).order_by(Organization.name))) \
        if can_create else []
    now = utcnow()
    expired = {str(k["id"]) for k in body["items"]
               if k["expiresAt"] is not None and api_keys.as_utc(k["expiresAt"]) <= now}
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    ctx = {"data": body, "can_create": can_create, "can_delete": grants.allows(["api_keys.delete"]),
           "roles": _assignable_roles(actor) if can_create else [], "organizations": organizations,
           "expired": expired, "query": query, "search": request.args.get("search", ""),
           "form": ApiKeyForm(formdata=None), "selected_roles": set(), "utc": api_keys.as_utc}
    ctx.update(extra)
    return ctx


def _read_body() -> dict:
    """The request body (web.forms.request_data) with ``roles`` always a list of ids."""
    data = request_data()
    data["roles"] = as_list(data.get("roles", []))
    return data


def _validated(data: dict):
    """Validate the create body; all problems are reported together as one 400."""
    details = [{"path": [k], "message": "must be a string or null"}
               for k in SCALAR_FIELDS if data.get(k) is not None and not isinstance(data.get(k), str)]
    form = ApiKeyForm(formdata=MultiDict({k: data[k] for k in SCALAR_FIELDS if isinstance(data.get(k), str)}))
    if not form.validate():
        details += [d for d in form_details(form) if d["path"][0] not in {x["path"][0] for x in details}]
    roles = data.get("roles")
    if roles is None:
        roles = []
    if not isinstance(roles, list) or any(not isinstance(r, str) for r in roles):
        details.append({"path": ["roles"], "message": "must be a list of role ids"})
    else:
        for i, r in enumerate(roles):
            try:
                uuid.UUID(r)
            except ValueError:
                details.append({"path": ["roles", i], "message": "must be a role id (UUID)"})
    expires_at = None
    if isinstance(data.get("expiresAt"), str):
        try:
            expires_at = api_keys.parse_expires_at(data["expiresAt"])
        except ValidationFailed as e:
            details += e.details
    if expires_at is not None and expires_at <= utcnow():
        details.append({"path": ["expiresAt"], "message": "must be in the future"})
    if details:
        raise ValidationFailed("Could not create the API key: " + "; ".join(
            f"{'.'.join(str(p) for p in d['path'])} {d['message']}" for d in details), details=details)
    return form, roles, expires_at


@bp.get("/keys")
@requires("api_keys.view")
def list_keys():
    """List API keys.

    Paginated keys of the caller's scope (tenant and organizations; revoked keys are
    hidden), with their roles and organization. Query: ``page``, ``pageSize`` (≤ 100),
    ``search`` (name, description, prefix), ``sortField`` (name, createdAt, lastUsedAt,
    expiresAt), ``sortDir``. The secret is never listed.
    """
    actor = current_actor()
    body = _list_body(actor)
    return respond(body, template=TEMPLATE, block="results", context=_screen(actor, body))


@bp.post("/keys")
@requires("api_keys.create")
@documented(body=ApiKeyForm, summary="Create API key", responses={
    "201": {"description": "Created; the body carries the one-time `secret`"},
    "400": {"description": "Invalid payload"}, "404": {"description": "Unknown role or organization"}})
def create_key():
    """Create API key.

    Body: ``name`` (required), ``description``, ``tenantId`` (super admins only),
    ``organizationId``, ``roles`` (a list of role ids of the key's tenant; a key may do
    what its roles allow) and ``expiresAt`` (ISO-8601, in the future, or null). Answers
    201 with the key and its ``secret`` — returned only here, never again.
    """
    actor = current_actor()
    api = response_mode() == "json"
    data: dict = {}
    try:
        data = _read_body()
        form, roles, expires_at = _validated(data)
        key, secret = api_keys.create_key(actor, name=form.name.data, description=form.description.data,
                                          role_ids=roles, organization_id=form.organizationId.data or None,
                                          expires_at=expires_at, tenant_id=form.tenantId.data or None)
    except DomainError as e:
        if api:
            raise
        db.session.rollback()
        submitted = ApiKeyForm(formdata=MultiDict({k: v for k, v in data.items()
                                                   if k in SCALAR_FIELDS and isinstance(v, str)}))
        body = _list_body(actor)
        ctx = _screen(actor, body, form=submitted, error=e.message, errors=field_errors(e.details),
                      selected_roles={str(r) for r in (data.get("roles") or []) if isinstance(r, str)})
        return respond(None, template=TEMPLATE, block="keys_main", status=422 if e.status == 400 else e.status,
                       context=ctx)
    created = api_keys.created_body(key, secret)
    no_store = {"Cache-Control": "no-store"}
    if api:
        return respond(created, status=201, headers=no_store)
    body = _list_body(actor)
    resp = respond(created, template=TEMPLATE, block="keys_main", status=201, headers=no_store,
                   context=_screen(actor, body, created=created))
    return toast(resp, f"API key {key.name} created")


@bp.delete("/keys")
@requires("api_keys.delete")
def revoke_key():
    """Delete API key.

    Revokes the key ``?id=``: it stops authenticating at once and leaves the list. A key
    of another tenant or outside the caller's organizations is a 404. Answers
    ``{"success": true}``.
    """
    raw = (request.args.get("id") or "").strip()
    if not raw:
        raise ValidationFailed("id is required", details=[{"path": ["id"], "message": "is required"}])
    try:
        key_id = uuid.UUID(raw)
    except ValueError:
        raise ValidationFailed("id must be a UUID", details=[{"path": ["id"], "message": "must be a UUID"}]) from None
    key = api_keys.revoke_key(current_actor(), key_id)
    if response_mode() == "json":
        return respond({"success": True})
    if htmx_details().is_htmx:
        return toast(respond(None), f"API key {key.name} revoked")  # empty body: the row is swapped away
    return redirect(url_for("api_keys.list_keys"), code=303)
