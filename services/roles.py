"""Roles and role ACLs (seed 000 /auth/roles, /auth/roles/acl)."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime

import sqlalchemy as sa

from models import ApiKeyRole, Organization, Role, RoleAcl, Tenant, UserRole, db
from models.base import iso_utc
from models.scope import get_visible
from services import boundaries, undo
from services.acl import Actor, Sanitized, bump_acl_version, in_tenant, is_declared, sanitize_grant
from services.commands import Audited, audited, command, lock
from services.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed

# Roles every tenant starts with (spec: identity-acl.md, issue 3).
ADMINISTRATOR = "Administrator"
WAREHOUSE_STAFF = "Warehouse staff"
DEFAULT_ROLES = {
    ADMINISTRATOR: ["*"],  # everything in the tenant, never super admin
    # read on logistics, write on handling (lists and parcels) — spec/logistics.md "Features"
    # plus attachments: staff photograph damage and proof of delivery on shipments and parcels.
    WAREHOUSE_STAFF: [
        "lcs.shipments.read",
        "lcs.handling.read",
        "lcs.handling.write",
        "lcs.locations.read",
        "lcs.methods.read",
        "lcs.products.read",
        "attachments.view",
        "attachments.manage",
        # printing: labels go to the bench's printer when a parcel is closed (hubs, printers and
        # the queue stay the leads' and administrators', with spl.read)
        "spl.print",
        # the running-jobs indicator and Floor → Jobs: how far a batch of labels got
        "progress.view",
    ],
}


def _roles_of(actor: Actor) -> sa.Select:
    """The roles table as the actor's tenant sees it: its own roles and the global ones."""
    stmt = sa.select(Role)
    return stmt if actor.is_super_admin else stmt.where(in_tenant(Role, actor.principal.tenant_id))


def visible_roles(actor: Actor) -> sa.Select:
    """Roles the actor may see: its tenant's and the global ones (super admins: all), minus
    super-admin roles unless it is one."""
    stmt = _roles_of(actor)
    if not actor.is_super_admin:
        stmt = stmt.outerjoin(RoleAcl, RoleAcl.role_id == Role.id).where(
            sa.or_(RoleAcl.id.is_(None), RoleAcl.is_super_admin.is_(False))
        )
    return stmt


def get_role(actor: Actor, role_id) -> Role:
    return get_visible(visible_roles(actor), Role, role_id)


GLOBAL_ONLY_SUPER = "Global roles are managed by super admins"


def bump_for(role: Role) -> None:
    """Invalidate cached grants where the role applies: its tenant, or every tenant."""
    if role.tenant_id is not None:
        bump_acl_version(role.tenant_id)
    else:
        db.session.execute(sa.update(Tenant).values(acl_version=Tenant.acl_version + 1))


def role_row(role: Role, tenant_id=None) -> dict:
    """The list's row; ``tenant_id`` counts a global role's holders in that tenant only."""
    holders = sa.select(sa.func.count(UserRole.id)).where(UserRole.role_id == role.id)
    if tenant_id is not None:
        holders = holders.where(UserRole.tenant_id == tenant_id)
    return {
        "id": role.id,
        "name": role.name,
        "usersCount": db.session.scalar(holders) or 0,
        "tenantId": role.tenant_id,
        "tenantName": role.tenant.name if role.tenant else None,
        "global": role.tenant_id is None,
        "updatedAt": role.updated_at,
    }


def snapshot(role: Role) -> dict:
    acl = role.acl
    return {
        "id": role.id,
        "name": role.name,
        "tenantId": role.tenant_id,
        "features": list(acl.features) if acl else [],
        "isSuperAdmin": bool(acl and acl.is_super_admin),
        "organizations": acl.organizations if acl else None,
    }


NAME_TAKEN = "A role with this name already exists"
ROLE = Audited("role", snapshot, "role")
ROLE_ACL = Audited("role_acl", snapshot, "permissions of")


def _name_key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _ensure_unique(tenant_id, name: str, exclude_id=None) -> None:
    """Role names are unique per tenant whatever their case, in every script: compared in
    Python (SQL ``lower()`` folds only ASCII on SQLite); a tenant has few roles."""
    key = _name_key(name)
    # a tenant role may not take a global role's name, nor a global role one of its fellows'
    same = (
        Role.tenant_id.is_(None) if tenant_id is None else sa.or_(Role.tenant_id == tenant_id, Role.tenant_id.is_(None))
    )
    taken = db.session.execute(sa.select(Role.id, Role.name).where(same))
    if any(_name_key(other) == key and role_id != exclude_id for role_id, other in taken):
        raise Conflict(NAME_TAKEN)


@command(NAME_TAKEN)
def create_role(actor: Actor, name: str, tenant_id=None, *, role_id: uuid.UUID | None = None) -> Role:
    """A role of ``tenant_id`` (default: the actor's tenant); a super admin naming no tenant
    creates a global role (seed 000), which every tenant may assign. ``role_id``: an undone
    delete brings the role back under its old id."""
    tenant = None if actor.is_super_admin and tenant_id is None else actor.tenant_for_new(tenant_id)
    if tenant is not None and db.session.get(Tenant, tenant) is None:
        raise NotFound("Tenant not found")
    _ensure_unique(tenant, name)
    role = Role(tenant_id=tenant, name=name, **({"id": role_id} if role_id else {}))
    role.acl = RoleAcl(tenant_id=tenant, features=[], is_super_admin=False, organizations=None)
    with audited(actor, "create", ROLE, role):
        db.session.add(role)
    return role


def _changeable_role(actor: Actor, role_id) -> Role:
    """A role the actor may see and change (its row locked until commit): one that holds
    no more than the actor does."""
    lock(_roles_of(actor), Role, role_id, "Role")
    role = get_role(actor, role_id)
    if role.tenant_id is None and not actor.is_super_admin:
        raise Forbidden(GLOBAL_ONLY_SUPER)
    boundaries.require_covers(
        actor,
        boundaries.role_grants(role),
        "You cannot change a role that holds permissions you do not hold",
        boundaries.role_objects(role),
    )
    return role


@command(NAME_TAKEN)
def rename_role(actor: Actor, role_id, name: str | None) -> Role:
    """Rename a role; without a name (the seed's body is ``{id}`` alone) nothing changes."""
    role = _changeable_role(actor, role_id)
    if name is None or name == role.name:
        return role
    _ensure_unique(role.tenant_id, name, exclude_id=role.id)
    with audited(actor, "edit", ROLE, role, label=f"Rename role to {name}"):
        role.name = name
    return role


@command()
def delete_role(actor: Actor, role_id) -> None:
    role = _changeable_role(actor, role_id)
    holders = db.session.scalar(sa.select(sa.func.count(UserRole.id)).where(UserRole.role_id == role.id))
    keys = db.session.scalar(sa.select(sa.func.count(ApiKeyRole.id)).where(ApiKeyRole.role_id == role.id))
    if holders or keys:
        raise BadRequest("Role cannot be deleted while users or API keys hold it")
    with audited(actor, "delete", ROLE, role):
        db.session.delete(role)
        bump_for(role)


def acl_of(role: Role) -> dict:
    acl = role.acl
    return {
        "roleId": role.id,
        "isSuperAdmin": bool(acl and acl.is_super_admin),
        "features": list(acl.features) if acl else [],
        "organizations": acl.organizations if acl else None,
        "updatedAt": acl.updated_at if acl else role.updated_at,
    }


def parse_organizations(value: list[uuid.UUID] | None, tenant_id) -> list[str] | None:
    """Organization ids of a grant: null (all) or live organizations of ``tenant_id``; an id
    of another tenant or of nothing is a 400, never silently kept."""
    if value is None:
        return None
    ids = [uuid.UUID(str(v)) for v in value]  # callers in code may pass them as strings
    known = (
        set(
            db.session.scalars(
                sa.select(Organization.id).where(
                    Organization.tenant_id == tenant_id, Organization.deleted_at.is_(None), Organization.id.in_(ids)
                )
            )
        )
        if ids
        else set()
    )
    unknown = [i for i, v in enumerate(ids) if v not in known]
    if unknown:
        raise ValidationFailed(
            "Unknown organization",
            details=[
                {"path": ["organizations", i], "message": "is not an organization of this tenant"} for i in unknown
            ],
        )
    return [str(i) for i in ids]


def check_fresh(current: datetime, expected: datetime | None) -> None:
    """Optimistic lock: a save based on an older ``updatedAt`` is a conflict, not an overwrite
    (compared as answered: to the millisecond)."""
    if expected is None:
        return
    if iso_utc(current) != iso_utc(expected):
        raise Conflict(
            "Someone else saved these permissions since you opened them. Reload to see their changes.",
            currentUpdatedAt=iso_utc(current),
        )


def require_declared(features: list[str]) -> None:
    """Every feature id of a grant names a declared feature (or a wildcard over some)."""
    unknown = [i for i, f in enumerate(features) if not is_declared(f)]
    if unknown:
        raise ValidationFailed(
            "Unknown feature id",
            details=[{"path": ["features", i], "message": f"no module declares {features[i]}"} for i in unknown],
        )


def checked_grant(
    actor: Actor,
    tenant_id,
    stored,
    features: list[str],
    is_super_admin: bool,
    organizations: list[uuid.UUID] | None,
    updated_at: datetime | None,
) -> Sanitized:
    """What a role's or user's ACL save may store: declared features and organizations of the
    tenant, cut down to the actor's own grants; a save based on an older read of the
    ``stored`` ACL (if any) is a conflict."""
    require_declared(features)
    clean = sanitize_grant(actor.grants, features, is_super_admin, parse_organizations(organizations, tenant_id))
    if stored is not None:
        check_fresh(stored.updated_at, updated_at)
    return clean


@command()
def update_role_acl(
    actor: Actor,
    role_id,
    *,
    features: list[str],
    is_super_admin: bool,
    organizations: list[uuid.UUID] | None,
    updated_at: datetime | None = None,
) -> bool:
    """Replace the role's grants (sanitized to the actor's own). Returns ``sanitized``."""
    role = _changeable_role(actor, role_id)
    if role.tenant_id is None and organizations is not None:
        raise ValidationFailed(
            "A global role applies in every tenant: its organizations must be null (all)",
            details=[{"path": ["organizations"], "message": "must be null for a global role"}],
        )
    clean = checked_grant(actor, role.tenant_id, role.acl, features, is_super_admin, organizations, updated_at)
    acl = role.acl or RoleAcl(tenant_id=role.tenant_id, role_id=role.id)
    with (
        audited(actor, "edit", ROLE_ACL, role, label=f"Change permissions of {role.name}"),
        boundaries.keeping_an_administrator(role.tenant_id),
    ):
        acl.features, acl.is_super_admin, acl.organizations = clean.features, clean.is_super_admin, clean.organizations
        role.acl = acl
        bump_for(role)
    return clean.sanitized


def seed_default_roles(tenant_id) -> dict[str, Role]:
    """Create the tenant's default roles if missing (no commit)."""
    out = {}
    for name, features in DEFAULT_ROLES.items():
        role = db.session.scalars(sa.select(Role).where(Role.tenant_id == tenant_id, Role.name == name)).first()
        if role is None:
            role = Role(tenant_id=tenant_id, name=name)
            role.acl = RoleAcl(tenant_id=tenant_id, features=list(features), is_super_admin=False, organizations=None)
            db.session.add(role)
        out[name] = role
    db.session.flush()
    return out


# --- undo (services.undo): roles come back through the commands above --------------------


def _load_role(actor: Actor, role_id: str, _tenant=None) -> Role | None:
    return db.session.scalars(visible_roles(actor).where(Role.id == uuid.UUID(role_id))).first()


def _restore_acl(actor: Actor, role: Role, snap: dict) -> None:
    sanitized = update_role_acl(
        actor,
        role.id,
        features=snap["features"],
        is_super_admin=snap["isSuperAdmin"],
        organizations=snap["organizations"],
    )
    undo.no_more_than(sanitized)


def _revive_role(actor: Actor, _gone, snap: dict, _tenant) -> None:
    role = create_role(actor, snap["name"], tenant_id=snap["tenantId"], role_id=uuid.UUID(snap["id"]))
    if snap["features"] or snap["isSuperAdmin"] or snap["organizations"] is not None:
        _restore_acl(actor, role, snap)


undo.register(
    undo.Restorer(
        ROLE,
        _load_role,
        features=("auth.roles.manage",),
        update=lambda actor, role, snap: rename_role(actor, role.id, snap["name"]),
        remove=lambda actor, role: delete_role(actor, role.id),
        revive=_revive_role,
    )
)
undo.register(undo.Restorer(ROLE_ACL, _load_role, features=("auth.acl.manage",), update=_restore_acl))
