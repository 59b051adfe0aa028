"""Benchmark: the shipment list for a user with 1,000 object exceptions vs one with none.

Over HTTP against gunicorn (``--workers 4``, sync, as the README deploys it) on PostgreSQL
(the database is created if missing; every run adds its own tenant). One tenant holds
``--shipments`` shipments over 20 locations and two users holding exactly
``lcs.shipments.read``: "plain" has no object grants, "excepted" is denied ``--exceptions``
shipments one by one. ``--threads`` clients loop closed over ``GET /lcs/shipments`` — as a
browser page (session cookie, ``Accept: text/html``) and as JSON (bearer token) — in
interleaved rounds (plain, excepted, plain, …), so both variants see the same machine.
Prints requests/s, p50, p95 and errors per variant and the ratio excepted/plain (goal ≥ 0.8),
after checking once that the excepted user's ``x-count`` is exactly ``--exceptions`` lower.

    .venv/bin/python bench/object_exceptions.py --database-url postgresql://postgres@127.0.0.1:5432/wharf_bench_exceptions \\
        [--shipments 5000] [--exceptions 1000] [--threads 8] [--rounds 4] [--seconds 8]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests
import sqlalchemy as sa
from lcs_live import ensure_database  # the bench directory is on sys.path when run as a script

from app import create_app

PASSWORD = "bench-password-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def seed(url: str, n_shipments: int, n_exceptions: int) -> tuple[str, str]:
    """The tenant, its shipments (bulk rows, tallies recounted), the two users and the
    excepted user's deny grants (one executemany, one ACL version bump)."""
    from flask_migrate import upgrade

    from models import GivenPermission, Location, Shipment, db
    from services import accounts, users
    from services.acl import SYSTEM, bump_acl_version
    from services.logistics import tallies

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "b" * 48)
    app = create_app()
    run = uuid.uuid4().hex[:8]
    with app.app_context():
        upgrade()
        t = accounts.create_tenant(f"Exceptions bench {run}")
        db.session.commit()
        locations = [Location(id=uuid.uuid4(), tenant_id=t.id, name=f"DC {i}") for i in range(20)]
        db.session.add_all(locations)
        db.session.flush()
        rows = [
            {
                "id": uuid.uuid4(),
                "tenant_id": t.id,
                "number": f"B{run}-{i:06d}",
                "type": "delivery",
                "location_id": locations[i % 20].id,
                "addressing": {},
                "search_text": f"b{run}-{i:06d}",
            }
            for i in range(n_shipments)
        ]
        db.session.execute(sa.insert(Shipment), rows)
        tallies.recount(t.id)
        emails = (f"plain-{run}@b.test", f"excepted-{run}@b.test")
        ids = []
        for email in emails:
            u = users.create_user(SYSTEM, email=email, password=PASSWORD, tenant_id=t.id)
            users.update_user_acl(
                SYSTEM, u.id, features=["lcs.shipments.read"], is_super_admin=False, organizations=None
            )
            ids.append(u.id)
        grants = [
            {
                "id": uuid.uuid4(),
                "tenant_id": t.id,
                "permission_name": "lcs.shipments.read",
                "subject_user_id": ids[1],
                "subject_key": f"user:{ids[1]}",
                "object_id": r["id"],
                "object_kind": "shipment",
                "can_do": False,
            }
            for r in rows[:n_exceptions]
        ]
        if grants:
            db.session.execute(sa.insert(GivenPermission), grants)
        bump_acl_version(t.id)
        db.session.commit()
        db.session.remove()
    return emails


class Server:
    """The real app under gunicorn: 4 sync workers."""

    def __init__(self, url: str):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "b" * 48, "WHARF_ARGON2_TIME_COST": "1"}
        cmd = [sys.executable, "-m", "gunicorn", "--workers", "4", "--bind", f"127.0.0.1:{self.port}"]
        cmd += ["--chdir", str(ROOT), "--log-level", "warning", "app:create_app()"]
        self.proc = subprocess.Popen(cmd, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(self.base + "/auth/login", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("gunicorn did not come up")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def browser_session(base: str, email: str) -> requests.Session:
    s = requests.Session()
    s.headers["Accept"] = "text/html"
    token = CSRF.search(s.get(base + "/auth/login", timeout=30).text).group(1)
    r = s.post(base + "/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token}, timeout=30)
    r.raise_for_status()
    return s


def api_session(base: str, email: str) -> requests.Session:
    s = requests.Session()
    r = s.post(base + "/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    r.raise_for_status()
    s.headers.update({"Authorization": f"Bearer {r.json()['token']}", "Accept": "application/json"})
    return s


def load(sessions: list[requests.Session], url: str, seconds: float) -> tuple[list[float], int]:
    """Closed loop: each session requests ``url`` again as soon as it has its answer."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(s: requests.Session):
        mine, bad = [], 0
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                ok = s.get(url, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            mine.append(time.perf_counter() - start)
            bad += not ok
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0]


def summary(runs: list[tuple[list[float], int]], seconds: float) -> dict:
    lat = sorted(x for r, _ in runs for x in r)
    return {
        "rps": len(lat) / (seconds * len(runs)),
        "p50": statistics.median(lat) * 1000,
        "p95": lat[int(len(lat) * 0.95) - 1] * 1000,
        "errors": sum(e for _, e in runs),
        "n": len(lat),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/wharf_bench_exceptions")
    ap.add_argument("--shipments", type=int, default=5000)
    ap.add_argument("--exceptions", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=8.0)
    args = ap.parse_args()
    ensure_database(args.database_url)
    plain, excepted = seed(args.database_url, args.shipments, args.exceptions)
    server = Server(args.database_url)
    try:
        api = {who: api_session(server.base, email) for who, email in (("plain", plain), ("excepted", excepted))}
        counts = {
            who: int(s.get(server.base + "/api/lcs/shipments", timeout=30).headers["x-count"]) for who, s in api.items()
        }
        assert counts["plain"] - counts["excepted"] == args.exceptions, counts
        print(f"x-count plain {counts['plain']}, excepted {counts['excepted']} (exactly {args.exceptions} fewer)")
        for mode, make, path in (
            ("page", browser_session, "/lcs/shipments"),
            ("json", api_session, "/api/lcs/shipments"),
        ):
            pools = {
                who: [make(server.base, email) for _ in range(args.threads)]
                for who, email in (("plain", plain), ("excepted", excepted))
            }
            for pool in pools.values():
                load(pool, server.base + path, 1.0)  # warm every worker's caches
            runs: dict[str, list] = {"plain": [], "excepted": []}
            for _ in range(args.rounds):
                for who in ("plain", "excepted"):
                    runs[who].append(load(pools[who], server.base + path, args.seconds))
            result = {who: summary(r, args.seconds) for who, r in runs.items()}
            for who, s in result.items():
                print(
                    f"{mode:4} {who:8} {s['rps']:7.1f} req/s  p50 {s['p50']:6.1f} ms  p95 {s['p95']:6.1f} ms  "
                    f"errors {s['errors']}  ({s['n']} requests)"
                )
            ratio = result["excepted"]["rps"] / result["plain"]["rps"]
            print(f"{mode:4} ratio excepted/plain {ratio:.3f}  (goal ≥ 0.8)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
