"""Benchmark: cost of the feature check on a guarded JSON endpoint.

Measures requests/s of ``GET /api/auth/roles`` (``@requires("auth.roles.list")``) against
the very same view mounted with the feature check disabled (``@requires()``: still signed
in, no feature evaluation), in the same run, interleaved, on a scratch SQLite database.

    .venv/bin/python bench/acl_guard.py [--requests 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade

from app import create_app
from models import db
from services import accounts, roles, users
from services.acl import EVERYTHING, Actor
from web.access import requires

PASSWORD = "bench-password-1"


def build():
    tmp = tempfile.mkdtemp(prefix="wharf-bench-")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
            "SECRET_KEY": "b" * 48,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
        }
    )
    guarded = app.view_functions["api_auth.roles"]
    app.add_url_rule("/api/bench/roles-unguarded", "bench_unguarded", requires()(guarded.__wrapped__))
    import logging

    logging.getLogger("wharf.request").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
        t = accounts.create_tenant("Bench")
        db.session.commit()
        system = Actor(None, EVERYTHING)
        clerk = roles.create_role(system, "Clerk", tenant_id=t.id)
        roles.update_role_acl(system, clerk.id, features=["auth.roles.*"], is_super_admin=False, organizations=None)
        users.create_user(system, email="bench@b.test", password=PASSWORD, role_ids=[clerk.id], tenant_id=t.id)
    client = app.test_client()
    token = client.post("/api/auth/login", json={"email": "bench@b.test", "password": PASSWORD}).get_json()["token"]
    return client, {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def rate(client, path, headers, n) -> float:
    start = time.perf_counter()
    for _ in range(n):
        r = client.get(path, headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)
    return n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    client, headers = build()
    rate(client, "/api/auth/roles", headers, 200)  # warm up both paths and the grant cache
    rate(client, "/api/bench/roles-unguarded", headers, 200)
    guarded, unguarded = [], []
    for _ in range(args.rounds):
        unguarded.append(rate(client, "/api/bench/roles-unguarded", headers, args.requests))
        guarded.append(rate(client, "/api/auth/roles", headers, args.requests))
    g, u = statistics.median(guarded), statistics.median(unguarded)
    print(f"unguarded (check disabled): {u:8.0f} req/s  (median of {args.rounds} × {args.requests})")
    print(f"guarded   (auth.roles.list): {g:8.0f} req/s")
    print(f"ratio guarded/unguarded: {g / u:.3f}  (goal ≥ 0.9)")


if __name__ == "__main__":
    main()
