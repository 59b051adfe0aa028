"""API keys: machine credentials whose grants are the union of their roles' ACLs.

The secret is ``<keyPrefix>.<random>``; only the prefix (shown in lists, used for lookup)
and a SHA-256 of the whole secret are stored. It is returned once, by ``create_key``.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from models import ApiKey, ApiKeyRole, Role, db, utcnow
from services import audit
from services.errors import ValidationFailed

PREFIX = "whk_"


class ApiKeyPrincipal:
    """What ``current_user`` is for a request authenticated by an API key."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_api_key = True
    email = None

    def __init__(self, key: ApiKey):
        self.key = key
        self.id = key.id
        self.tenant_id = key.tenant_id
        self.tenant = key.tenant
        self.organization_id = key.organization_id
        self.name = key.name

    def get_id(self) -> str:
        return f"key:{self.id}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def snapshot(key: ApiKey) -> dict:
    return {"id": key.id, "name": key.name, "description": key.description, "keyPrefix": key.key_prefix,
            "organizationId": key.organization_id, "expiresAt": key.expires_at,
            "roles": sorted(str(r.id) for r in key.roles), "deletedAt": key.deleted_at}


def create_key(actor, *, name: str, description: str | None, role_ids: list, organization_id=None,
               expires_at: datetime | None = None, tenant_id=None) -> tuple[ApiKey, str]:
    """Create a key in the actor's tenant; roles must be visible to the actor. One commit."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("name is required", details=[{"path": ["name"], "message": "is required"}])
    if expires_at is not None and expires_at.replace(tzinfo=expires_at.tzinfo or utcnow().tzinfo) <= utcnow():
        raise ValidationFailed("expiresAt must be in the future", details=[{"path": ["expiresAt"], "message": "must be in the future"}])
    tenant_id = tenant_id or actor.principal.tenant_id
    roles = [actor.scope.get(Role, rid) for rid in dict.fromkeys(role_ids or [])]
    if any(r.tenant_id != tenant_id for r in roles):
        raise ValidationFailed("roles must belong to the key's tenant", details=[{"path": ["roles"], "message": "other tenant"}])
    for role in roles:
        actor.require_can_assign(role)
    prefix = PREFIX + secrets.token_hex(4)
    secret = f"{prefix}.{secrets.token_urlsafe(32)}"
    key = ApiKey(tenant_id=tenant_id, name=name, description=description, key_prefix=prefix,
                 secret_hash=_digest(secret), organization_id=organization_id,
                 created_by_id=None if actor.principal.is_api_key else actor.principal.id,
                 expires_at=expires_at)
    db.session.add(key)
    db.session.flush()
    for role in roles:
        db.session.add(ApiKeyRole(tenant_id=tenant_id, api_key_id=key.id, role_id=role.id))
    db.session.flush()
    db.session.refresh(key)
    audit.record(actor, action="create", kind="api_key", resource_id=key.id, tenant_id=tenant_id,
                 after=snapshot(key), label=f"Create API key {name}")
    db.session.commit()
    return key, secret


def revoke_key(actor, key_id) -> None:
    key = actor.scope.get(ApiKey, key_id)
    before = snapshot(key)
    key.soft_delete()
    audit.record(actor, action="delete", kind="api_key", resource_id=key.id, tenant_id=key.tenant_id,
                 before=before, after=snapshot(key), label=f"Revoke API key {key.name}")
    db.session.commit()


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
    if key.expires_at is not None and _aware(key.expires_at) <= now:
        return None
    if key.last_used_at is None or _aware(key.last_used_at) < now - timedelta(minutes=1):
        key.last_used_at = now  # at most one write a minute per key
        db.session.commit()
    return ApiKeyPrincipal(key)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=utcnow().tzinfo)
