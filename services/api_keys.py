"""API keys: machine credentials whose grants are the union of their roles' ACLs.

The secret is ``<keyPrefix>.<random>``; only the prefix (shown in lists, used for lookup)
and a SHA-256 of the whole secret are stored. It is returned once, by ``create_key``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from models import ApiKey, ApiKeyRole, Organization, RoleAcl, Tenant, db, utcnow
from models.base import aware
from models.scope import get_visible
from models.tenancy import TenantFacts
from schemas.api_keys import ApiKeyCreate
from services import boundaries
from services.commands import Audited, audited, command, lock
from services.errors import NotFound, ValidationFailed
from services.roles import get_role

PREFIX = "whk_"


class MachinePrincipal(TenantFacts):
    """A caller that is no person (an API key, a print hub): signed in, never anonymous, and
    ``is_api_key``, so audit rows and ``Actor.user_id`` record no user for it."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_api_key = True
    email = None


class ApiKeyPrincipal(MachinePrincipal):
    """What ``current_user`` is for a request authenticated by an API key."""

    def __init__(self, key: ApiKey):
        self.key = key
        self.id = key.id
        self.tenant_id = key.tenant_id
        self.tenant = key.tenant
        self.organization_id = key.organization_id
        self.created_by_id = key.created_by_id
        self.name = key.name

    def get_id(self) -> str:
        return f"key:{self.id}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def snapshot(key: ApiKey) -> dict:
    return {
        "id": key.id,
        "name": key.name,
        "description": key.description,
        "keyPrefix": key.key_prefix,
        "organizationId": key.organization_id,
        "expiresAt": key.expires_at,
        "roles": sorted(str(r.id) for r in key.roles),
        "deletedAt": key.deleted_at,
    }


API_KEY = Audited("api_key", snapshot, "API key")


def visible_keys(actor) -> sa.Select:
    """Live keys in the actor's scope (tenant, organizations). Keys holding a super-admin
    role are hidden from everybody but super admins, like super-admin users and roles."""
    stmt = actor.scope.select(ApiKey).options(
        selectinload(ApiKey.roles), selectinload(ApiKey.organization), selectinload(ApiKey.created_by)
    )
    if not actor.is_super_admin:
        super_roles = (
            sa.select(ApiKeyRole.api_key_id)
            .join(RoleAcl, RoleAcl.role_id == ApiKeyRole.role_id)
            .where(RoleAcl.is_super_admin.is_(True))
        )
        stmt = stmt.where(ApiKey.id.not_in(super_roles))
    return stmt


def get_key(actor, key_id) -> ApiKey:
    """A live key the actor may see, else ``NotFound`` (other tenants, revoked, bad ids)."""
    return get_visible(visible_keys(actor), ApiKey, key_id, "API key")


def key_row(key: ApiKey) -> dict:
    """One list item (seed 000 ``GET /api_keys/keys``). Never contains the secret or its hash."""
    return {
        "id": key.id,
        "name": key.name,
        "description": key.description,
        "keyPrefix": key.key_prefix,
        "organizationId": key.organization_id,
        "organizationName": key.organization.name if key.organization else None,
        "createdAt": key.created_at,
        "lastUsedAt": key.last_used_at,
        "expiresAt": key.expires_at,
        "roles": [{"id": r.id, "name": r.name} for r in key.roles],
        "createdById": key.created_by_id,
        "createdByEmail": key.created_by.email if key.created_by is not None else None,
        "suspended": not owner_is_live(key),
    }


def owner_is_live(key: ApiKey) -> bool:
    """A key acts for the user who made it: it works only while that user may act
    (active, not deleted). Keys made by the system (CLI) have no owner."""
    owner = key.created_by
    return owner is None or (owner.is_active and owner.deleted_at is None)


def created_body(key: ApiKey, secret: str) -> dict:
    """The create response: the list fields, the tenant, and the one-time ``secret``."""
    return {**key_row(key), "tenantId": key.tenant_id, "secret": secret}


@command()
def create_key(actor, data: ApiKeyCreate) -> tuple[ApiKey, str]:
    """Create a key; returns ``(key, secret)`` — the secret exists nowhere else. One transaction.

    The key goes to the actor's tenant (only super admins may name another; the system
    actor must). Roles and the organization must be visible to the actor and belong to
    that tenant (else 404); a role wider than the actor's own grants is refused (403).
    """
    principal = actor.principal
    if principal is None:  # system actor (CLI, tests): must say where the key goes
        if data.tenantId is None:
            raise ValidationFailed("tenantId is required", details=[{"path": ["tenantId"], "message": "is required"}])
        tenant_id = data.tenantId
    else:
        tenant_id = actor.tenant_for_new(data.tenantId)
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None or tenant.deleted_at is not None:
        raise NotFound("Tenant not found")

    organization = None
    if data.organizationId is not None:
        organization = actor.scope.get(Organization, data.organizationId)
        if organization.tenant_id != tenant_id:
            raise NotFound("Organization not found")

    roles = [get_role(actor, rid) for rid in dict.fromkeys(data.roles)]
    if any(r.tenant_id not in (tenant_id, None) for r in roles):  # global roles serve every tenant
        raise NotFound("Role not found")
    for role in roles:
        boundaries.require_can_assign(actor, role)

    prefix = PREFIX + secrets.token_hex(4)
    secret = f"{prefix}.{secrets.token_urlsafe(32)}"
    key = ApiKey(
        tenant_id=tenant_id,
        name=data.name,
        description=data.description or None,
        key_prefix=prefix,
        secret_hash=_digest(secret),
        organization_id=organization.id if organization else None,
        # a key made by a key belongs to that key's owner
        created_by_id=None
        if principal is None
        else getattr(principal, "created_by_id", None)
        if getattr(principal, "is_api_key", False)
        else principal.id,
        expires_at=data.expiresAt,
    )
    with audited(actor, "create", API_KEY, key):
        db.session.add(key)
        db.session.flush()
        for role in roles:
            db.session.add(ApiKeyRole(tenant_id=tenant_id, api_key_id=key.id, role_id=role.id))
    return key, secret


@command()
def revoke_key(actor, key_id) -> ApiKey:
    """Soft-delete a key the actor may see (404 otherwise); it stops authenticating at once."""
    key = get_key(actor, key_id)
    lock(actor.scope, ApiKey, key.id)
    boundaries.require_covers(
        actor, boundaries.key_grants(key), "You cannot revoke a key that holds permissions you do not hold"
    )
    with audited(actor, "delete", API_KEY, key, label=f"Revoke API key {key.name}"):
        key.soft_delete()
    return key


def authenticate(token: str) -> ApiKeyPrincipal | None:
    """The principal of a live key whose secret is ``token``, else None."""
    if not token.startswith(PREFIX) or "." not in token:
        return None
    prefix = token.split(".", 1)[0]
    key = db.session.scalars(sa.select(ApiKey).where(ApiKey.key_prefix == prefix)).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _digest(token)):
        return None
    now = utcnow()
    if key.deleted_at is not None or not key.tenant.is_active or key.tenant.deleted_at is not None:
        return None
    if not owner_is_live(key):
        return None
    if key.expires_at is not None and aware(key.expires_at) <= now:
        return None
    if key.last_used_at is None or aware(key.last_used_at) < now - timedelta(minutes=1):
        _touch(key, now)
    return ApiKeyPrincipal(key)


@command()
def _touch(key: ApiKey, now: datetime) -> None:
    key.last_used_at = now


def as_utc(dt: datetime | None) -> datetime | None:
    """A stored timestamp as aware UTC (SQLite hands back naive UTC, PostgreSQL any zone)."""
    return None if dt is None else aware(dt).astimezone(UTC)
