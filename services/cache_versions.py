"""Named version stamps for per-process caches, and the cache that uses them.

A writer calls ``bump(name)`` inside its transaction; readers compare ``current(name)``
with the stamp their cached entry was built from. Every process reads the stamp from the
database (at most once per request), so all workers see a change on their next request.
"""

from __future__ import annotations

import functools
import secrets
import threading
from collections.abc import Callable, Hashable

import sqlalchemy as sa
from cachetools import LRUCache
from flask import g, has_request_context

from models import CacheVersion, db
from models.base import increment


def _memo() -> dict:
    if not has_request_context():
        return {}
    if "cache_versions" not in g:
        g.cache_versions = {}
    return g.cache_versions


# Stamps nearly every request reads (toggles): the sign-in check reads them in its own query
# (``with_stamps``) instead of one more round trip each.
PREFETCHED: set[str] = set()


def prefetch(name: str) -> str:
    """Declare ``name`` as read by most requests (call at import time); returns it."""
    PREFETCHED.add(name)
    return name


@functools.lru_cache(maxsize=1024)
def _read(name: str) -> sa.Select:
    return sa.select(CacheVersion.version).where(CacheVersion.name == name)


def with_stamps(stmt: sa.Select) -> sa.Select:
    """``stmt`` plus one column per prefetched stamp (``stamp:<name>``), for ``remember``."""
    return stmt.add_columns(*(_read(name).scalar_subquery().label(f"stamp:{name}") for name in sorted(PREFETCHED)))


def remember(row: dict) -> None:
    """Take the ``stamp:<name>`` columns out of ``row`` into this request's memo."""
    memo = _memo()
    for key in [k for k in row if k.startswith("stamp:")]:
        value = row.pop(key)
        memo[key[6:]] = None if value is None else int(value)


def current(name: str) -> int | None:
    """The stamp, or None while nothing has bumped it yet. Read through the session's
    connection (a Core select; the ORM layer would double the cost of this hot read)."""
    memo = _memo()
    if name not in memo:
        value = db.session.connection().execute(_read(name)).scalar()
        memo[name] = None if value is None else int(value)
    return memo[name]


def bump(name: str) -> None:
    """Increment the stamp; commit with the change it announces. A new stamp starts at a
    random value, so two databases (test runs, a restored copy) never share a version."""
    increment(CacheVersion, {"name": name}, "version", start=secrets.randbelow(2**30) + 1)
    _memo().pop(name, None)


class VersionedCache:
    """A per-process LRU (cachetools, bounded by entry count) whose entries are valid while
    the stamp they were built under is unchanged; a stale entry is rebuilt on its next read.
    cachetools is not thread-safe, so every access holds the lock (building does not)."""

    def __init__(self, size: int = 10_000):
        self.entries: LRUCache = LRUCache(maxsize=size)
        self.lock = threading.Lock()
        self.loads = 0  # how many entries were built (tests and benchmarks read it)

    def get(self, key: Hashable, version):
        with self.lock:
            hit = self.entries.get(key)
        return hit[1] if hit is not None and hit[0] == version else None

    def put(self, key: Hashable, version, value) -> None:
        with self.lock:
            self.entries[key] = (version, value)

    def get_or_build(self, key: Hashable, version, build: Callable):
        """The cached value, else ``build()``'s, kept under ``version``."""
        hit = self.get(key, version)
        if hit is None:
            hit = build()
            with self.lock:
                self.loads += 1
                self.entries[key] = (version, hit)
        return hit

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
