"""Access administration (seed 000 /auth): features, feature-check, admin nav, roles,
role ACLs, users and user ACL overrides. JSON for API clients, pages and fragments for people."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_login import current_user

from blueprints.auth import bp, pages_bp
from blueprints.auth.views import ok_false
from models import Organization, Role, User, UserRole, db
from schemas.auth import (
    AclSaved,
    AclUpdate,
    AdminNav,
    FeatureCatalog,
    FeatureCheckRequest,
    FeatureCheckResult,
    RoleAcl,
    RoleAclQuery,
    RoleAclUpdate,
    RoleCreate,
    RoleDeleteQuery,
    RoleListItem,
    RoleListQuery,
    RoleUpdate,
    UserAcl,
    UserAclQuery,
    UserAclUpdate,
    UserCreate,
    UserIdQuery,
    UserListItem,
    UserListQuery,
    UserUpdate,
)
from schemas.base import Created, Ok, Page
from services import access_log, boundaries
from services import roles as roles_svc
from services import users as users_svc
from services.acl import in_tenant
from web.access import current_actor, registry, requires
from web.contract import operation
from web.forms import show_again
from web.negotiate import empty, respond, response_mode, see_other
from web.pagination import paginate_a

registry.add_nav("Users", "auth.users", group="Administration", order=100)
registry.add_nav("Roles", "auth.roles", group="Administration", order=110)


# --- features, feature-check, nav ---------------------------------------------------------


@bp.get("/features")
@requires("auth.acl.manage")
@operation(responses={200: FeatureCatalog}, summary="List declared feature flags")
def features():
    """All declared features with their modules."""
    return respond(
        {
            "items": [{"id": f.id, "title": f.title, "module": f.module} for f in registry.features.values()],
            "modules": [{"id": m.id, "title": m.title} for m in registry.modules.values()],
        }
    )


@bp.post("/feature-check")
@ok_false
@requires()
@operation(
    body=FeatureCheckRequest, responses={200: FeatureCheckResult}, summary="Check feature grants for the current user"
)
def feature_check(body: FeatureCheckRequest):
    """Which of the requested features (1–50 ids of at most 128 characters) the caller
    holds; ``ok`` is true only when it holds every one of them."""
    grants = current_actor().grants
    return respond(
        {
            "ok": grants.allows(body.features),
            "granted": [f for f in body.features if grants.allows([f])],
            "userId": current_user.id,
        }
    )


@bp.get("/admin/nav")
@requires()
@operation(responses={200: AdminNav}, summary="Resolve backend chrome bootstrap payload")
def admin_nav():
    """Navigation groups and items the caller may open, with its granted features and roles."""
    groups: dict[str, list] = {}
    for item in registry.nav_for(current_user):
        groups.setdefault(item.group, []).append({"href": url_for(item.endpoint), "title": item.title})
    grants = current_actor().grants
    roles = [] if getattr(current_user, "is_api_key", False) else [r.name for r in current_user.roles]
    return respond(
        {
            "groups": [{"name": g, "items": items} for g, items in groups.items()],
            "settingsSections": [],
            "settingsPathPrefixes": [],
            "profileSections": [],
            "profilePathPrefixes": [],
            "grantedFeatures": sorted(grants.features) if not grants.is_super_admin else ["*"],
            "roles": roles,
        }
    )


# --- roles -----------------------------------------------------------------------------

ROLES = "auth/roles.html"


def _roles_page(query: RoleListQuery, **extra):
    actor = current_actor()
    stmt = roles_svc.visible_roles(actor)
    if query.id is not None:
        stmt = stmt.where(Role.id == query.id)
    if query.tenantId is not None and actor.is_super_admin:
        stmt = stmt.where(Role.tenant_id == query.tenantId)
    body, page = paginate_a(
        stmt,
        serialize=lambda role: roles_svc.role_row(role, None if actor.is_super_admin else actor.principal.tenant_id),
        sort_fields={"name": Role.name, "createdAt": Role.created_at},
        default_sort="name",
        search_columns=[Role.name],
        query=query,
    )
    return body, {"roles": body["items"], "page": page, "search": query.search, **extra}


_role_form_error = show_again(ROLES, "roles_section", context=lambda: _roles_page(RoleListQuery())[1])


@bp.get("/roles")
@requires("auth.roles.list")
@operation(query=RoleListQuery, responses={200: Page[RoleListItem]}, summary="List roles")
def roles(query: RoleListQuery):
    """Roles of the current tenant with their user counts (super admins: every tenant)."""
    body, ctx = _roles_page(query)
    return respond(body, template=ROLES, context=ctx, targets={"roles-table": "roles_table"})


@bp.post("/roles")
@requires("auth.roles.manage")
@operation(body=RoleCreate, responses={201: Created}, summary="Create role", form_error=_role_form_error)
def create_role(body: RoleCreate):
    """Creates a role in the current tenant (super admins may pass tenantId). Names are
    unique per tenant whatever their case (409)."""
    role = roles_svc.create_role(current_actor(), body.name, tenant_id=body.tenantId)
    return respond(
        {"id": role.id},
        status=201,
        template=ROLES,
        block="roles_section",
        context=lambda: _roles_page(RoleListQuery())[1],
        toast=f"Role {role.name} created",
    )


@bp.put("/roles")
@requires("auth.roles.manage")
@operation(body=RoleUpdate, responses={200: Ok}, summary="Update role")
def update_role(body: RoleUpdate):
    """Renames a role (``name``); the seed's body ``{id}`` alone changes nothing."""
    role = roles_svc.rename_role(current_actor(), body.id, body.name)
    if response_mode() == "page":
        return see_other(url_for("auth.roles"))
    return respond(
        {"ok": True}, template=ROLES, block="role_row", context={"role": roles_svc.role_row(role)}, toast="Role saved"
    )


@bp.delete("/roles")
@requires("auth.roles.manage")
@operation(query=RoleDeleteQuery, responses={200: Ok}, summary="Delete role")
def delete_role(query: RoleDeleteQuery):
    """Deletes a role; refused (400) while users or API keys hold it."""
    roles_svc.delete_role(current_actor(), query.id)
    return empty({"ok": True}, page=url_for("auth.roles"), toast="Role deleted")


# --- ACLs of roles and users -------------------------------------------------------------

ACL_EDITOR = "auth/acl_editor.html"


def _editor_context(subject_kind: str, subject, acl: dict) -> dict:
    actor = current_actor()
    orgs = db.session.scalars(
        actor.scope.select(Organization)
        .where(Organization.tenant_id == subject.tenant_id)
        .order_by(Organization.tree_path)
    ).all()
    modules = [
        {"id": m.id, "title": m.title, "features": [f for f in registry.features.values() if f.module == m.id]}
        for m in registry.modules.values()
    ]
    held = boundaries.role_grants(subject) if subject_kind == "role" else boundaries.user_grants(subject)
    return {
        "subject_kind": subject_kind,
        "subject": subject,
        "acl": acl,
        "modules": modules,
        "organizations": orgs,
        "can_super_admin": actor.is_super_admin,
        "can_change": boundaries.covers(actor.grants, held)
        and (subject_kind != "role" or subject.tenant_id is not None or actor.is_super_admin),
    }


def _grant(body: AclUpdate) -> dict:
    return {
        "features": body.features,
        "is_super_admin": body.isSuperAdmin,
        "organizations": body.organizations,
        "updated_at": body.updatedAt,
    }


@dataclass(frozen=True)
class _AclOwner:
    """Roles and users carry an ACL the same way: the editor reads and saves it through these."""

    kind: str
    get: Callable
    acl_of: Callable
    update: Callable


ROLE_ACL = _AclOwner("role", roles_svc.get_role, roles_svc.acl_of, roles_svc.update_role_acl)
USER_ACL = _AclOwner("user", users_svc.get_user, users_svc.user_acl_of, users_svc.update_user_acl)


def _acl_editor(owner: _AclOwner, owner_id):
    actor = current_actor()
    subject = owner.get(actor, owner_id)
    acl = owner.acl_of(subject)
    access_log.record_reads(actor, f"{owner.kind}_acl", [(subject.id, subject.tenant_id, None)], acl)
    return respond(acl, template=ACL_EDITOR, block="acl_form", context=_editor_context(owner.kind, subject, acl))


def _acl_save(owner: _AclOwner, owner_id, body: AclUpdate):
    """Save an ACL; JSON, or the editor again with what was kept."""
    actor = current_actor()
    sanitized = owner.update(actor, owner_id, **_grant(body))
    subject = owner.get(actor, owner_id)
    return respond(
        {"ok": True, "sanitized": sanitized},
        template=ACL_EDITOR,
        block="acl_form",
        context={**_editor_context(owner.kind, subject, owner.acl_of(subject)), "saved": True, "sanitized": sanitized},
        toast=("Some grants were removed: you do not hold them", "warning") if sanitized else "Permissions saved",
    )


@bp.get("/roles/acl")
@requires("auth.acl.manage")
@operation(query=RoleAclQuery, responses={200: RoleAcl}, summary="Fetch role ACL")
def role_acl(query: RoleAclQuery):
    """The role's features, super-admin flag and organization scope (ACL editor)."""
    return _acl_editor(ROLE_ACL, query.roleId)


@bp.put("/roles/acl")
@requires("auth.acl.manage")
@operation(body=RoleAclUpdate, responses={200: AclSaved}, summary="Update role ACL")
def update_role_acl(body: RoleAclUpdate):
    """Replaces the role's features, isSuperAdmin and organizations; stripped grants → sanitized."""
    return _acl_save(ROLE_ACL, body.roleId, body)


@bp.get("/users/acl")
@requires("auth.acl.manage")
@operation(query=UserAclQuery, responses={200: UserAcl}, summary="Fetch user ACL override")
def user_acl(query: UserAclQuery):
    """The user's permission override: {hasCustomAcl, isSuperAdmin, features, organizations}."""
    return _acl_editor(USER_ACL, query.userId)


@bp.put("/users/acl")
@requires("auth.acl.manage")
@operation(body=UserAclUpdate, responses={200: AclSaved}, summary="Update user ACL override")
def update_user_acl(body: UserAclUpdate):
    """Sets the user's override (replaces role ACLs); no features and no super admin removes it."""
    return _acl_save(USER_ACL, body.userId, body)


# --- users -------------------------------------------------------------------------------

USERS = "auth/users.html"
USER_EDIT = "auth/user_edit.html"
USERS_CHANGED = "auth:users-changed"  # htmx event: the users table re-fetches itself


def _users_page(query: UserListQuery, **extra):
    actor = current_actor()
    stmt = users_svc.visible_users(actor)
    if query.id is not None:
        stmt = stmt.where(User.id == query.id)
    if query.organizationId is not None:
        stmt = stmt.where(User.organization_id == query.organizationId)
    if query.roleId is not None:
        stmt = stmt.where(User.id.in_(sa.select(UserRole.user_id).where(UserRole.role_id == query.roleId)))
    body, page = paginate_a(
        stmt,
        serialize=users_svc.user_row,
        sort_fields={
            "email": User.email,
            "name": User.name,
            "createdAt": User.created_at,
            "lastLoginAt": User.last_login_at,
        },
        default_sort="email",
        search_columns=[User.email, User.name],
        query=query,
    )
    roles = db.session.scalars(roles_svc.visible_roles(actor).order_by(Role.name)).all()
    orgs = db.session.scalars(actor.scope.select(Organization).order_by(Organization.tree_path)).all()
    filters = {
        "search": query.search,
        "organizationId": str(query.organizationId or ""),
        "roleId": str(query.roleId or ""),
    }
    return body, {
        "users": body["items"],
        "page": page,
        "roles": roles,
        "organizations": orgs,
        "filters": filters,
        **extra,
    }


_user_form_error = show_again(USERS, "user_create", context=lambda: _users_page(UserListQuery())[1])


@bp.get("/users")
@requires("auth.users.list")
@operation(query=UserListQuery, responses={200: Page[UserListItem]}, summary="List users")
def users(query: UserListQuery):
    """Users of the tenant; filters search, organizationId, roleId. Each read is in the access log."""
    body, ctx = _users_page(query)
    access_log.record_rows(current_actor(), "user", body["items"])
    return respond(body, template=USERS, context=ctx, targets={"users-table": "users_table"})


@bp.post("/users")
@requires("auth.users.create")
@operation(body=UserCreate, responses={201: Created}, summary="Create user", form_error=_user_form_error)
def create_user(body: UserCreate):
    """Creates a user (email unique per tenant) with roles and a home organization."""
    user = users_svc.create_user(
        current_actor(),
        email=body.email,
        password=body.password,
        name=body.name,
        organization_id=body.organizationId,
        role_ids=body.roles,
        tenant_id=body.tenantId,
    )
    return respond(
        {"id": user.id},
        status=201,
        template=USERS,
        block="user_create",
        context=lambda: _users_page(UserListQuery(), created=user.email)[1],
        toast=f"User {user.email} created",
        trigger=USERS_CHANGED,
    )


@bp.put("/users")
@requires("auth.users.edit")
@operation(body=UserUpdate, responses={200: Ok}, summary="Update user")
def update_user(body: UserUpdate):
    """Updates a user's email, name, password, organization, roles or active flag (only
    the fields sent)."""
    organization = {"organization_id": body.organizationId} if "organizationId" in body.model_fields_set else {}
    user = users_svc.update_user(
        current_actor(),
        body.id,
        email=body.email,
        name=body.name,
        password=body.password,
        role_ids=body.roles,
        is_active=body.isActive,
        **organization,
    )
    return respond(
        {"ok": True},
        template=USER_EDIT,
        block="user_form",
        context=lambda: {**_user_edit_context(user), "saved": True},
        toast="User saved",
    )


@bp.delete("/users")
@requires("auth.users.delete")
@operation(query=UserIdQuery, responses={200: Ok}, summary="Delete user")
def delete_user(query: UserIdQuery):
    """Soft-deletes a user and ends their sessions."""
    users_svc.delete_user(current_actor(), query.id)
    return empty({"ok": True}, page=url_for("auth.users"), toast="User deleted")


def _user_edit_context(user) -> dict:
    actor = current_actor()
    roles = db.session.scalars(
        roles_svc.visible_roles(actor).where(in_tenant(Role, user.tenant_id)).order_by(Role.name)
    ).all()
    return {
        "user": users_svc.user_row(user),
        "roles": roles,
        "can_change": boundaries.covers(actor.grants, boundaries.user_grants(user)),
        "editing_self": boundaries.is_self(actor, user),
        "assignable": {r.id for r in roles if boundaries.may_assign(actor, r)},
        "organizations": db.session.scalars(
            actor.scope.select(Organization)
            .where(Organization.tenant_id == user.tenant_id)
            .order_by(Organization.tree_path)
        ).all(),
    }


@pages_bp.get("/users/edit")
@requires("auth.users.edit")
@operation(query=UserIdQuery, responses={200: UserListItem})
def edit_user_page(query: UserIdQuery):
    """Edit screen of one user (HTML; JSON clients read GET /api/auth/users?id=)."""
    user = users_svc.get_user(current_actor(), query.id)
    access_log.record_rows(current_actor(), "user", [users_svc.user_row(user)])
    return respond(users_svc.user_row(user), template=USER_EDIT, context=_user_edit_context(user))
