"""Access administration (seed 000 /auth): features, feature-check, admin nav, roles,
role ACLs, users and user ACL overrides. JSON for API clients, pages and fragments for people."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import request, url_for
from flask_login import current_user

from blueprints.auth import bp, pages_bp
from blueprints.auth.forms import FeatureCheckForm, RoleAclForm, RoleForm, UserAclForm, UserForm
from models import Organization, Role, User, UserRole, db
from services import boundaries
from services import roles as roles_svc
from services import users as users_svc
from services.errors import DomainError, NotFound, ValidationFailed
from web.access import current_actor, registry, requires
from web.forms import as_bool, as_list, request_data
from web.htmx import toast
from web.negotiate import respond, response_mode
from web.openapi import documented
from web.pagination import paginate_a

registry.add_nav("Users", "auth.users", "auth.users.list", group="Administration", order=100)
registry.add_nav("Roles", "auth.roles", "auth.roles.list", group="Administration", order=110)


# --- features, feature-check, nav ---------------------------------------------------------

def feature_catalog() -> dict:
    return {"items": [{"id": f.id, "title": f.title, "module": f.module} for f in registry.features.values()],
            "modules": [{"id": m.id, "title": m.title} for m in registry.modules.values()]}


@bp.get("/features")
@requires("auth.acl.manage")
def features():
    """All declared features with their modules."""
    return respond(feature_catalog())


@bp.post("/feature-check")
@requires()
@documented(body=FeatureCheckForm)
def feature_check():
    """Which of the requested features the caller holds (≤ 50 ids, each ≤ 128 chars)."""
    wanted = request_data().get("features")
    if not isinstance(wanted, list) or not wanted or len(wanted) > 50 or not all(
            isinstance(f, str) and 0 < len(f) <= 128 for f in wanted):
        raise ValidationFailed("features must be a list of 1–50 feature ids of at most 128 characters", ok=False)
    grants = current_actor().grants
    return respond({"ok": True, "granted": [f for f in wanted if grants.allows([f])], "userId": current_user.id})


@bp.get("/admin/nav")
@requires()
def admin_nav():
    """Navigation groups and items the caller may open, with its granted features and roles."""
    groups: dict[str, list] = {}
    for item in registry.nav_for(current_user):
        groups.setdefault(item.group, []).append({"href": url_for(item.endpoint), "title": item.title})
    grants = current_actor().grants
    roles = [] if getattr(current_user, "is_api_key", False) else [r.name for r in current_user.roles]
    return respond({"groups": [{"name": g, "items": items} for g, items in groups.items()],
                    "settingsSections": [], "settingsPathPrefixes": [], "profileSections": [],
                    "profilePathPrefixes": [], "grantedFeatures": sorted(grants.features) if not grants.is_super_admin else ["*"],
                    "roles": roles})


# --- roles -----------------------------------------------------------------------------

def _roles_page(body_status=200, **extra):
    actor = current_actor()
    stmt = roles_svc.visible_roles(actor)
    if request.args.get("id"):
        stmt = stmt.where(Role.id == _uuid_or_404(request.args["id"], "Role"))
    if request.args.get("tenantId") and actor.is_super_admin:
        stmt = stmt.where(Role.tenant_id == _uuid_or_404(request.args["tenantId"], "Tenant"))
    body, page = paginate_a(stmt, serialize=roles_svc.role_row, sort_fields={"name": Role.name, "createdAt": Role.created_at},
                            default_sort="name", search_columns=[Role.name])
    return body, {"roles": body["items"], "page": page, "search": request.args.get("search", ""), **extra}


@bp.get("/roles")
@requires("auth.roles.list")
def roles():
    """Roles of the current tenant with their user counts (super admins: every tenant)."""
    body, ctx = _roles_page()
    block = "roles_table" if request.headers.get("HX-Target") == "roles-table" else "content"
    return respond(body, template="auth/roles.html", block=block, context=ctx)


@bp.post("/roles")
@requires("auth.roles.manage")
@documented(body=RoleForm)
def create_role():
    """Creates a role in the current tenant (super admins may pass tenantId)."""
    data = request_data()
    try:
        role = roles_svc.create_role(current_actor(), data.get("name"), tenant_id=data.get("tenantId"))
    except DomainError as e:
        if response_mode() == "json":
            raise
        body, ctx = _roles_page(error=e.message)
        return respond(None, template="auth/roles.html", block="roles_section", context=ctx, status=422)
    body, ctx = _roles_page()
    return toast(respond({"id": role.id}, status=201, template="auth/roles.html", block="roles_section",
                         context=ctx), f"Role {role.name} created")


@bp.put("/roles")
@requires("auth.roles.manage")
@documented(body=RoleForm)
def update_role():
    """Renames a role."""
    data = request_data()
    role = roles_svc.rename_role(current_actor(), _required_id(data, "id"), data.get("name"))
    return toast(respond({"ok": True}, template="auth/roles.html", block="role_row",
                         context={"role": roles_svc.role_row(role)}), "Role renamed")


@bp.delete("/roles")
@requires("auth.roles.manage")
def delete_role():
    """Deletes a role; refused (400) while users or API keys hold it."""
    roles_svc.delete_role(current_actor(), _required_id(request.args, "id"))
    resp = respond({"ok": True}, template="auth/roles.html", block="nothing")
    return toast(resp, "Role deleted")


# --- role ACL ----------------------------------------------------------------------------

def _editor_context(subject_kind: str, subject, acl: dict) -> dict:
    actor = current_actor()
    orgs = db.session.scalars(actor.scope.select(Organization).where(
        Organization.tenant_id == subject.tenant_id).order_by(Organization.tree_path)).all()
    modules = [{"id": m.id, "title": m.title,
                "features": [f for f in registry.features.values() if f.module == m.id]}
               for m in registry.modules.values()]
    held = boundaries.role_grants(subject) if subject_kind == "role" else boundaries.user_grants(subject)
    return {"subject_kind": subject_kind, "subject": subject, "acl": acl, "modules": modules,
            "organizations": orgs, "can_super_admin": actor.is_super_admin,
            "can_change": boundaries.covers(actor.grants, held)}


@bp.get("/roles/acl")
@requires("auth.acl.manage")
def role_acl():
    """The role's features, super-admin flag and organization scope (ACL editor)."""
    role = roles_svc.get_role(current_actor(), _required_id(request.args, "roleId"))
    acl = roles_svc.acl_of(role)
    return respond(acl, template="auth/acl_editor.html", block="acl_form", context=_editor_context("role", role, acl))


@bp.put("/roles/acl")
@requires("auth.acl.manage")
@documented(body=RoleAclForm)
def update_role_acl():
    """Replaces the role's features, isSuperAdmin and organizations; stripped grants → sanitized."""
    return _save_acl("role", "roleId", roles_svc.update_role_acl, roles_svc.get_role, roles_svc.acl_of)


def _save_acl(kind: str, id_field: str, save, load, describe):
    """Shared by the role and user ACL PUTs: save, then answer JSON or the re-rendered editor."""
    data = request_data()
    subject_id = _required_id(data, id_field)
    sanitized = save(current_actor(), subject_id, **_acl_input(data))
    subject = load(current_actor(), subject_id)
    acl = describe(subject)
    resp = respond({"ok": True, "sanitized": sanitized}, template="auth/acl_editor.html", block="acl_form",
                   context={**_editor_context(kind, subject, acl), "saved": True, "sanitized": sanitized})
    return toast(resp, "Some grants were removed: you do not hold them" if sanitized else "Permissions saved",
                 "warning" if sanitized else "success")


def _acl_input(data: dict) -> dict:
    if request.is_json:
        features = data.get("features", [])
        organizations = data.get("organizations")
    else:  # the editor form: checkboxes, an "all organizations" switch
        features = as_list(data.get("features"))
        organizations = None if as_bool(data.get("allOrganizations")) else as_list(data.get("organizations"))
    return {"features": features, "is_super_admin": as_bool(data.get("isSuperAdmin")),
            "organizations": organizations, "updated_at": data.get("updatedAt")}


# --- users -------------------------------------------------------------------------------

def _users_page(**extra):
    actor = current_actor()
    stmt = users_svc.visible_users(actor)
    args = request.args
    if args.get("id"):
        stmt = stmt.where(User.id == _uuid_or_404(args["id"], "User"))
    if args.get("organizationId"):
        stmt = stmt.where(User.organization_id == _uuid_or_404(args["organizationId"], "Organization"))
    if args.get("roleId"):
        stmt = stmt.where(User.id.in_(sa.select(UserRole.user_id).where(
            UserRole.role_id == _uuid_or_404(args["roleId"], "Role"))))
    body, page = paginate_a(stmt, serialize=users_svc.user_row,
                            sort_fields={"email": User.email, "name": User.name, "createdAt": User.created_at,
                                         "lastLoginAt": User.last_login_at},
                            default_sort="email", search_columns=[User.email, User.name])
    roles = db.session.scalars(roles_svc.visible_roles(actor).order_by(Role.name)).all()
    orgs = db.session.scalars(actor.scope.select(Organization).order_by(Organization.tree_path)).all()
    return body, {"users": body["items"], "page": page, "roles": roles, "organizations": orgs,
                  "filters": {"search": args.get("search", ""), "organizationId": args.get("organizationId", ""),
                              "roleId": args.get("roleId", "")}, **extra}


@bp.get("/users")
@requires("auth.users.list")
def users():
    """Users of the tenant; filters search, organizationId, roleId."""
    body, ctx = _users_page()
    block = "users_table" if request.headers.get("HX-Target") == "users-table" else "content"
    return respond(body, template="auth/users.html", block=block, context=ctx)


def _user_fields(data: dict) -> dict:
    fields = {"email": data.get("email"), "name": data.get("name"), "password": data.get("password") or None}
    if "organizationId" in data:
        fields["organization_id"] = data.get("organizationId") or None
    if "roles" in data or "roleIds" in data:
        fields["role_ids"] = as_list(data.get("roles", data.get("roleIds")))
    if "isActive" in data:
        fields["is_active"] = as_bool(data.get("isActive"))
    return fields


@bp.post("/users")
@requires("auth.users.create")
@documented(body=UserForm)
def create_user():
    """Creates a user (email unique per tenant) with roles and a home organization."""
    data = request_data()
    fields = _user_fields(data)
    fields.pop("is_active", None)
    try:
        user = users_svc.create_user(current_actor(), tenant_id=data.get("tenantId"), **fields)
    except DomainError as e:
        if response_mode() == "json":
            raise
        _, ctx = _users_page(error=e.message, form=data)
        return respond(None, template="auth/users.html", block="user_create", context=ctx, status=422)
    _, ctx = _users_page(created=user.email)
    return toast(respond({"id": user.id}, status=201, template="auth/users.html", block="user_create", context=ctx),
                 f"User {user.email} created")


@bp.put("/users")
@requires("auth.users.edit")
@documented(body=UserForm)
def update_user():
    """Updates a user's email, name, password, organization, roles or active flag."""
    data = request_data()
    fields = {k: v for k, v in _user_fields(data).items() if v is not None or k == "organization_id"}
    user = users_svc.update_user(current_actor(), _required_id(data, "id"), **fields)
    ctx = _user_edit_context(user)
    return toast(respond({"ok": True}, template="auth/user_edit.html", block="user_form", context={**ctx, "saved": True}),
                 "User saved")


@bp.delete("/users")
@requires("auth.users.delete")
def delete_user():
    """Soft-deletes a user and ends their sessions."""
    users_svc.delete_user(current_actor(), _required_id(request.args, "id"))
    return toast(respond({"ok": True}, template="auth/users.html", block="nothing"), "User deleted")


def _user_edit_context(user) -> dict:
    actor = current_actor()
    roles = db.session.scalars(roles_svc.visible_roles(actor).where(Role.tenant_id == user.tenant_id)
                               .order_by(Role.name)).all()
    return {"user": users_svc.user_row(user), "roles": roles,
            "can_change": boundaries.covers(actor.grants, boundaries.user_grants(user)),
            "editing_self": boundaries.is_self(actor, user),
            "assignable": {r.id for r in roles if boundaries.may_assign(actor, r)},
            "organizations": db.session.scalars(actor.scope.select(Organization).where(
                Organization.tenant_id == user.tenant_id).order_by(Organization.tree_path)).all()}


@pages_bp.get("/users/edit")
@requires("auth.users.edit")
def edit_user_page():
    """Edit screen of one user (HTML; JSON clients read GET /api/auth/users?id=)."""
    user = users_svc.get_user(current_actor(), _required_id(request.args, "id"))
    return respond(users_svc.user_row(user), template="auth/user_edit.html", context=_user_edit_context(user))


# --- user ACL ----------------------------------------------------------------------------

@bp.get("/users/acl")
@requires("auth.acl.manage")
def user_acl():
    """The user's permission override: {hasCustomAcl, isSuperAdmin, features, organizations}."""
    user = users_svc.get_user(current_actor(), _required_id(request.args, "userId"))
    acl = users_svc.user_acl_of(user)
    return respond(acl, template="auth/acl_editor.html", block="acl_form", context=_editor_context("user", user, acl))


@bp.put("/users/acl")
@requires("auth.acl.manage")
@documented(body=UserAclForm)
def update_user_acl():
    """Sets the user's override (replaces role ACLs); no features and no super admin removes it."""
    return _save_acl("user", "userId", users_svc.update_user_acl, users_svc.get_user, users_svc.user_acl_of)


# --- helpers -----------------------------------------------------------------------------

def _uuid_or_404(value, what: str):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"{what} not found") from None


def _required_id(data, key: str):
    value = data.get(key)
    if not value:
        raise ValidationFailed(f"{key} is required", details=[{"path": [key], "message": "is required"}])
    return value
