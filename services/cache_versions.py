"""Named version stamps for per-process caches.

A writer calls ``bump(name)`` inside its transaction; readers compare ``current(name)``
with the stamp their cached entry was built from. Every process reads the stamp from the
database (at most once per request), so all workers see a change on their next request.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import g, has_request_context

from models import CacheVersion, db


def _memo() -> dict:
    if not has_request_context():
        return {}
    if "cache_versions" not in g:
        g.cache_versions = {}
    return g.cache_versions


def current(name: str) -> int:
    memo = _memo()
    if name not in memo:
        memo[name] = db.session.scalar(sa.select(CacheVersion.version).where(CacheVersion.name == name)) or 0
    return memo[name]


def bump(name: str) -> None:
    """Increment the stamp (creating it on first use); commit with the change it announces."""
    updated = db.session.execute(sa.update(CacheVersion).where(CacheVersion.name == name)
                                 .values(version=CacheVersion.version + 1)).rowcount
    if not updated:
        db.session.add(CacheVersion(name=name, version=1))
        db.session.flush()
    _memo().pop(name, None)
