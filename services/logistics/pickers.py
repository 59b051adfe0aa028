"""Who may pick a tenant's handling lists: the people a list can be assigned to.

A list's ``sub`` (seed 001 ``LcsHandlingListUpdate.sub``) is the subject of the picker's
token, i.e. the user id as a string — the same value ``services.auth`` puts in the access
token's ``sub`` claim. Only users of the list's tenant who hold ``lcs.handling.write`` and
see the list's organization can be assigned; anyone else is refused (422), so ``sub``
never names a stranger. An API key is no person and takes no lists.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from models import HandlingList, User, db
from services import acl
from services.errors import DomainError

PICK = "lcs.handling.write"


class NotAssignable(DomainError):
    """The list cannot be assigned to that ``sub`` (422, with the field at fault)."""

    status = 422
    default_message = "Handling list cannot be assigned to that user"


def sub_of(actor) -> str | None:
    """The ``sub`` an actor's lists carry: its user id; None for the system or an API key."""
    return str(actor.user_id) if actor.user_id else None


def may_pick(user: User, organization_id=None) -> bool:
    """An active user holding ``lcs.handling.write`` who sees ``organization_id``."""
    if not user.is_active or user.deleted_at is not None:
        return False
    grants = acl.grants_for(user)
    return grants.allows([PICK]) and grants.organization_visible(organization_id)


def pickers(tenant_id, organization_id=None) -> list[User]:
    """The people a list of ``tenant_id`` (in ``organization_id``) can be assigned to, by name."""
    users = db.session.scalars(
        sa.select(User)
        .where(User.tenant_id == tenant_id, User.deleted_at.is_(None), User.is_active.is_(True))
        .order_by(User.name, User.email)
    )
    return [u for u in users if may_pick(u, organization_id)]


def check_assignee(hl: HandlingList, sub: str | None) -> None:
    """Refuse a ``sub`` that is not a picker of the list's tenant (null unassigns: allowed)."""
    if sub is None:
        return
    user = None
    try:
        user = db.session.get(User, uuid.UUID(sub))
    except ValueError:
        pass
    if user is None or user.tenant_id != hl.tenant_id or not may_pick(user, hl.organization_id):
        message = f"{sub[:64]} is not a user of this tenant who may pick handling lists"
        raise NotAssignable(message, details=[{"path": ["sub"], "message": message, "kind": "invalid value"}])
