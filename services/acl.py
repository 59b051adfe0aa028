"""Access evaluation: the one function every route, nav item and API client goes through.

For now (before roles and ACLs land) super admins hold every feature and everybody else
holds none; the signature is the one the ACL module will fill in.
"""
from __future__ import annotations

from collections.abc import Iterable


def is_super_admin(user) -> bool:
    return bool(getattr(user, "is_super_admin", False))


def granted_features(user) -> list[str]:
    """The grants a user holds, as stored (wildcards unexpanded)."""
    return ["*"] if is_super_admin(user) else []


def grant_matches(grant: str, required: str) -> bool:
    """``*`` matches everything; ``a.b.*`` matches ``a.b.c`` and deeper; else equality."""
    if grant == "*" or grant == required:
        return True
    return grant.endswith(".*") and required.startswith(grant[:-1])


def has_features(user, required: Iterable[str]) -> bool:
    """True when ``user`` holds **all** of ``required``."""
    grants = granted_features(user)
    return all(any(grant_matches(g, r) for g in grants) for r in required)
