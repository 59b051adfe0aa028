"""Access evaluation — the one function every route, nav item, feature check and API key
goes through (spec/identity-acl.md, "Evaluation").

Grants are cached per (principal, tenant) in each process and stamped with the tenant's
``acl_version``; any ACL, role or membership change bumps that column in the same
transaction, so every worker recomputes on its next request — no restart, no pub/sub.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from models import ApiKeyRole, RoleAcl, Scope, Tenant, UserAcl, UserRole, db
from services.cache_versions import VersionedCache
from services.errors import ValidationFailed


def grant_matches(grant: str, required: str) -> bool:
    """``*`` matches everything; ``a.*`` and nested ``a.b.*`` match by prefix; else equality."""
    if grant == "*" or grant == required:
        return True
    return grant.endswith(".*") and required.startswith(grant[:-1])


@dataclass(frozen=True)
class Grants:
    is_super_admin: bool
    features: frozenset[str]
    organizations: frozenset[uuid.UUID] | None  # None = every organization

    def allows(self, required: Iterable[str]) -> bool:
        """True when **all** of ``required`` are granted."""
        if self.is_super_admin:
            return True
        return all(any(grant_matches(g, r) for g in self.features) for r in required)

    def organization_visible(self, organization_id) -> bool:
        return self.organizations is None or organization_id is None or organization_id in self.organizations


NOTHING = Grants(False, frozenset(), frozenset())
# A print hub's agent (services.printing.hubs): read its printers and jobs, report them.
HUB = Grants(False, frozenset({"spl.read", "spl.print", "spl.agent"}), None)
EVERYTHING = Grants(True, frozenset({"*"}), None)


def _orgs(values) -> frozenset[uuid.UUID] | None:
    """Granted organization ids widened to their descendants (a grant covers the subtree)."""
    if values is None:
        return None
    roots = [uuid.UUID(str(v)) for v in values]
    if not roots:
        return frozenset()
    from models import Organization

    subtree = sa.or_(*(Organization.tree_path.like(f"%{r}%") for r in roots))
    return frozenset(roots) | frozenset(db.session.scalars(sa.select(Organization.id).where(subtree)))


def union_of(acls: list) -> Grants:
    if not acls:
        return NOTHING
    features = frozenset(f for a in acls for f in (a.features or []))
    organizations = (
        None
        if any(a.organizations is None for a in acls)
        else frozenset().union(*(_orgs(a.organizations) for a in acls))
    )
    return Grants(any(a.is_super_admin for a in acls), features, organizations)


def in_tenant(model, tenant_id) -> sa.ColumnElement:
    """Rows of ``tenant_id`` and the global ones (roles and role ACLs without a tenant)."""
    return sa.or_(model.tenant_id == tenant_id, model.tenant_id.is_(None))


def _role_acls(tenant_id, role_ids_stmt) -> list[RoleAcl]:
    return list(
        db.session.scalars(sa.select(RoleAcl).where(in_tenant(RoleAcl, tenant_id), RoleAcl.role_id.in_(role_ids_stmt)))
    )


def compute_grants(principal) -> Grants:
    """Evaluate from the database: super admin → everything; a user ACL replaces role
    ACLs; otherwise the union of the roles' ACLs (an API key has only roles)."""
    tenant_id = principal.tenant_id
    if getattr(principal, "is_api_key", False):
        role_ids = sa.select(ApiKeyRole.role_id).where(ApiKeyRole.api_key_id == principal.id)
        return union_of(_role_acls(tenant_id, role_ids))
    role_ids = sa.select(UserRole.role_id).where(UserRole.user_id == principal.id)
    from_roles = union_of(_role_acls(tenant_id, role_ids))
    user_acl = db.session.scalars(
        sa.select(UserAcl).where(UserAcl.user_id == principal.id, UserAcl.tenant_id == tenant_id)
    ).first()
    if from_roles.is_super_admin or (user_acl and user_acl.is_super_admin):
        return EVERYTHING
    if user_acl is not None:
        return Grants(False, frozenset(user_acl.features or []), _orgs(user_acl.organizations))
    return from_roles


def _grants_of_roles(tenant_id, role_ids: frozenset) -> Grants:
    """What holding exactly ``role_ids`` grants in ``tenant_id`` (no user ACL of one's own)."""
    grants = union_of(_role_acls(tenant_id, list(role_ids))) if role_ids else NOTHING
    return EVERYTHING if grants.is_super_admin else grants


# Grants valid while the tenant's acl_version is unchanged: per role set for a signed-in user
# whose session check read their roles (a floor of pickers sharing one role computes them once
# per ACL change, not once per picker: with an ACL saved every 10 s that was every other
# request), else per (principal, tenant).
cache = VersionedCache()


def grants_for(principal) -> Grants:
    """The principal's grants in its tenant, from the cache when the tenant's version matches."""
    if principal is None or not getattr(principal, "is_authenticated", False):
        return NOTHING
    if getattr(principal, "is_hub", False):
        return HUB
    version = principal.acl_version
    tenant_id, role_set = principal.tenant_id, getattr(principal, "role_set", None)
    if role_set is not None:
        return cache.get_or_build(
            ("roles", tenant_id, role_set), version, lambda: _grants_of_roles(tenant_id, role_set)
        )
    key = ("key" if getattr(principal, "is_api_key", False) else "user", principal.id, tenant_id)
    return cache.get_or_build(key, version, lambda: compute_grants(principal))


def has_features(principal, required: Iterable[str]) -> bool:
    """Whether ``principal`` may open what needs ``required`` (object grants included)."""
    return Actor.of(principal).allows(tuple(required))


def bump_acl_version(tenant_id) -> None:
    """Invalidate every worker's cached grants for ``tenant_id`` (commit with the change)."""
    db.session.execute(sa.update(Tenant).where(Tenant.id == tenant_id).values(acl_version=Tenant.acl_version + 1))
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is not None:
        db.session.expire(tenant, ["acl_version"])


def is_super_admin(principal) -> bool:
    return grants_for(principal).is_super_admin


# --- grant boundaries -----------------------------------------------------------------


@dataclass(frozen=True)
class Sanitized:
    features: list[str]
    is_super_admin: bool
    organizations: list[str] | None
    sanitized: bool


def sanitize_grant(
    actor: Grants, features: Iterable[str], is_super_admin: bool, organizations: Iterable | None
) -> Sanitized:
    """Strip what ``actor`` may not hand out: super admin, ``*``, features or wildcards it
    does not hold, organizations beyond its own. ``sanitized`` says whether anything went."""
    wanted = list(dict.fromkeys(features))
    if actor.is_super_admin:
        orgs = None if organizations is None else [str(o) for o in organizations]
        return Sanitized(wanted, bool(is_super_admin), orgs, False)
    kept = [f for f in wanted if f != "*" and holds(actor, f)]
    orgs_in = None if organizations is None else [str(o) for o in organizations]
    if actor.organizations is None:
        orgs_out = orgs_in
    elif orgs_in is None:
        orgs_out = sorted(str(o) for o in actor.organizations)
    else:
        orgs_out = [o for o in orgs_in if uuid.UUID(o) in actor.organizations]
    sanitized = bool(is_super_admin) or len(kept) != len(wanted) or orgs_out != orgs_in
    return Sanitized(kept, False, orgs_out, sanitized)


def holds(actor: Grants, grant: str) -> bool:
    """A feature is held when a grant matches it; a wildcard when a grant is at least as wide."""
    if grant.endswith(".*"):
        prefix = grant[:-1]
        return any(h == "*" or h == grant or (h.endswith(".*") and prefix.startswith(h[:-1])) for h in actor.features)
    return actor.allows([grant])


# Feature ids the modules declare (``web.access.FeatureRegistry.declare`` registers them):
# a grant naming anything else gives nothing and is a typo or a probe, so it is refused.
_declared: set[str] = set()


def register_features(ids: Iterable[str]) -> None:
    _declared.update(ids)


def is_declared(feature: str) -> bool:
    """``*``, a declared feature, or a wildcard that covers at least one declared feature."""
    if feature == "*" or feature in _declared:
        return True
    return feature.endswith(".*") and any(d.startswith(feature[:-1]) for d in _declared)


# --- the acting principal ----------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who performs an operation: principal, its grants and the scope it may see.

    ``features`` are the features it acts with (a route's ``@requires``): their object-level
    exceptions narrow ``scope``. An actor built without them sees what its grants allow."""

    principal: object
    grants: Grants
    features: tuple[str, ...] = ()
    objects: object = None  # services.object_permissions.ObjectGrants, loaded on first use

    @classmethod
    def of(cls, principal, features: Iterable[str] = ()) -> Actor:
        return cls(principal, grants_for(principal), tuple(features))

    def acting_with(self, features: Iterable[str]) -> Actor:
        """The same caller acting with other features (a navigation count, a station's lookup)."""
        return Actor(self.principal, self.grants, tuple(features), self.objects)

    @property
    def object_grants(self):
        from services import object_permissions

        if self.objects is None:
            object.__setattr__(self, "objects", object_permissions.object_grants_for(self.principal))
        return self.objects

    def allows(self, features: Iterable[str]) -> bool:
        """Each feature held, or opened on some records by an object grant (the records
        themselves are then what ``scope`` lets through)."""
        if self.grants.is_super_admin:
            return True
        return all(self.grants.allows([f]) or self.object_grants.opens(f) for f in features)

    def may(self, features: Iterable[str], model, record_id) -> bool:
        """Whether ``features`` reach the record ``record_id`` of ``model`` (object exceptions
        included): what a page asks before offering a change the route would refuse."""
        features = tuple(features)
        if not self.allows(features):
            return False
        scope = self.acting_with(features).scope
        return (
            db.session.scalar(scope.select(model).where(model.id == record_id).with_only_columns(model.id)) is not None
        )

    @property
    def is_super_admin(self) -> bool:
        return self.grants.is_super_admin

    @property
    def user_id(self):
        """The person acting (what a scan or a list's ``sub`` records); None for the system and
        for API keys, which are no one."""
        p = self.principal
        return None if p is None or getattr(p, "is_api_key", False) else p.id

    @property
    def organizations(self):
        """The organizations this actor works in: its selected one (and children), or all it
        may see (services.organization_scope), computed once."""
        if "_organizations" not in self.__dict__:
            from services import organization_scope

            found = organization_scope.effective_organizations(self.principal, self.grants)
            object.__setattr__(self, "_organizations", found)
        return self.__dict__["_organizations"]

    @property
    def scope(self):
        tenant = None if self.grants.is_super_admin else self.principal.tenant_id
        objects = None
        if self.features and not self.grants.is_super_admin and self.principal is not None:
            from services import object_permissions

            objects = object_permissions.restriction(self.grants, self.object_grants, self.features)
        return Scope(tenant, self.organizations, objects)

    def tenant_for_new(self, requested=None) -> uuid.UUID:
        """New records go to the actor's tenant; only super admins may name another."""
        if requested and (self.is_super_admin or self.principal is None):
            try:
                return uuid.UUID(str(requested))
            except ValueError:
                raise ValidationFailed(
                    "Invalid tenantId", details=[{"path": ["tenantId"], "message": "must be a UUID"}]
                ) from None
        if self.principal is None:
            raise ValidationFailed("tenantId is required", details=[{"path": ["tenantId"], "message": "is required"}])
        return self.principal.tenant_id


SYSTEM = Actor(None, EVERYTHING)  # full rights, no user: what the CLI and background jobs act as; audit says "system"
