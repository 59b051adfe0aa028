"""Which organizations a request works in (spec identity-acl.md rule 5a, as Open Mercato does it).

Data is read and written in the caller's *selected* organization and its children. By default
that is the home organization; callers who may view all organizations at once
(``directory.organizations.view_all``, super admins) default to all of them. The ACL's
organization list bounds what may be selected. The selection belongs to the sign-in (browser
cookie or token alike); an API key works in its own organization.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from models import AuthSession, Organization, db
from services.cache_versions import VersionedCache
from services.commands import command
from services.errors import Forbidden, NotFound

VIEW_ALL = "directory.organizations.view_all"
ALL = "all"

# Subtrees per (tenant, organization), valid while the tenant's acl_version is unchanged (every
# organization create, move and delete bumps it).
_subtrees = VersionedCache()


def may_view_all(grants) -> bool:
    return grants.is_super_admin or grants.allows([VIEW_ALL])


def subtree(principal, organization_id: uuid.UUID) -> frozenset[uuid.UUID]:
    key = (principal.tenant_id, organization_id)
    found = _subtrees.get(key, principal.acl_version)
    if found is None:
        ids = db.session.scalars(
            sa.select(Organization.id).where(
                Organization.tree_path.like(f"%{organization_id}%"), Organization.deleted_at.is_(None)
            )
        )
        found = frozenset(ids) | {organization_id}
        _subtrees.put(key, principal.acl_version, found)
    return found


def _within(organizations: frozenset | None, allowed: frozenset | None) -> frozenset | None:
    if allowed is None:
        return organizations
    return allowed if organizations is None else organizations & allowed


def selection(principal) -> str | None:
    """What the sign-in chose: an organization id, ``"all"``, or None (the default)."""
    return getattr(principal, "selected_organization", None) if not getattr(principal, "is_api_key", False) else None


def effective_organizations(principal, grants) -> frozenset[uuid.UUID] | None:
    """The organizations this request works in (None = every organization of the tenant)."""
    if principal is None or getattr(principal, "is_hub", False):
        return grants.organizations
    allowed = None if grants.is_super_admin else grants.organizations
    choice = selection(principal)
    if choice == ALL and may_view_all(grants):
        return allowed
    if choice and choice != ALL:
        try:
            chosen = uuid.UUID(choice)
        except ValueError:
            chosen = None
        if chosen is not None and (allowed is None or chosen in allowed):
            return _within(subtree(principal, chosen), allowed)
    if may_view_all(grants):
        return allowed
    home = getattr(principal, "organization_id", None)
    if home is not None and (allowed is None or home in allowed):
        return _within(subtree(principal, home), allowed)
    return allowed  # no home organization: what the ACL allows


def selected_id(principal, grants) -> uuid.UUID | None:
    """The switcher's ``selectedId``: the organization worked in, or None for all of them."""
    choice = selection(principal)
    organizations = effective_organizations(principal, grants)
    if organizations is None or (choice == ALL and may_view_all(grants)):
        return None
    if choice and choice != ALL and uuid.UUID(choice) in organizations:
        return uuid.UUID(choice)
    home = getattr(principal, "organization_id", None)
    if home is not None and home in organizations and not may_view_all(grants):
        return home
    return None


@command()
def select(actor, organization_id: uuid.UUID | None) -> None:
    """Work in ``organization_id`` (and its children) from now on in this sign-in; None =
    all organizations at once (only for callers who may view all: 403)."""
    session_id = getattr(actor.principal, "session_id", None)
    if session_id is None:
        raise Forbidden("Only a signed-in person chooses an organization; an API key works in its own")
    if organization_id is None:
        if not may_view_all(actor.grants):
            raise Forbidden("You may work in one organization at a time", requiredFeatures=[VIEW_ALL])
        value = ALL
    else:
        org = db.session.get(Organization, organization_id)
        allowed = None if actor.grants.is_super_admin else actor.grants.organizations
        if (
            org is None
            or org.deleted_at is not None
            or (not actor.is_super_admin and org.tenant_id != actor.principal.tenant_id)
            or (allowed is not None and org.id not in allowed)
        ):
            raise NotFound("Organization not found")
        value = str(org.id)
    db.session.execute(sa.update(AuthSession).where(AuthSession.id == session_id).values(selected_organization=value))
