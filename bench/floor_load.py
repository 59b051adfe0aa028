"""Benchmark: the outbound floor as a warehouse uses it, over HTTP (issue #20).

gunicorn (``--workers``, default 4, sync) serves Wharf on PostgreSQL (``DATABASE_URL``;
with ``REDIS_URL`` set, label tasks go to RQ: run ``flask --app app worker`` beside it). One
realistic tenant is seeded unless it already is: ``--shipments`` shipments (100,000), of which
``--lists`` (1,000) are on open handling lists of 20 units each, ``--pickers`` (200) picker
accounts, a packer and an administrator. This process drives the server from threads of its
own, open loop (requests leave on a schedule, whether or not earlier ones came back):

- pickers scan their lists' units (each picker one scan in flight at most; with 200 pickers
  at 100 scans/s each scans every 2 s);
- ``--watchers`` screens (leads, the floor view) poll a list's live station fragment every
  2 s with ``If-None-Match``, as the pages do;
- a lead reads the shipment list once a second (a random page 1–20 by number, or the next
  page of a walk by ``x-next-page`` tokens) and searches once a second (an order id, a
  shipment number, a text search, or all outbound shipments);
- ``--packers`` packers pack the lists the pickers finish, unit by unit, then give the parcel
  its weight and request its label (the label renders in a worker);
- an administrator saves a role's ACL every 10 s (each save moves the tenant's ACL version).

The scan rate ramps (``--start``, ``--step`` scans/s every ``--step-seconds``) until scan p95
passes 100 ms, errors appear or ``--max-rate`` is reached, then the highest step that kept scan
p95 under 50 ms without errors is held for ``--seconds`` and measured; when the hold misses
that (the packers and labels join only once the first lists are picked), the rate steps down
and holds again (at most four holds). Before the load, a bare
``@public`` JSON route under the same gunicorn gives the baseline (``bare_rps``, 8 client
threads, closed loop). The last line is::

    floor load: scans/s=<n> scan_p95_ms=<n> list_p95_ms=<n> pack_p95_ms=<n> errors=<n> workers=<n> rss_mb_per_worker=<n> bare_rps=<n>

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/wharf_floor .venv/bin/python bench/floor_load.py [--seconds 120]
"""

from __future__ import annotations

import argparse
import collections
import itertools
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa
import urllib3
from flask import jsonify
from floor_seed import make_list, seed_shipments, settle
from lcs_live import Server, closed_loop, ensure_database, pct

TENANT = "Floor load bench"
PASSWORD = "bench-password-1"
UNITS = 20  # per list: one shipment of SKU-000 … SKU-019, one unit each
POLL_S = 2.0
ACL_EVERY_S = 10.0
HX_LIVE = {"HX-Request": "true", "HX-Target": "station-live", "Accept": "*/*"}
JSON = {"Accept": "application/json"}
SETTINGS = {"SECRET_KEY": "b" * 48, "WHARF_ARGON2_TIME_COST": "1", "WHARF_ARGON2_MEMORY_KIB": "1024"}


def bench_app():
    """What gunicorn serves: Wharf plus the bare baseline route."""
    from app import create_app
    from web.access import public

    app = create_app()
    logging.getLogger("wharf.request").setLevel(logging.WARNING)
    app.add_url_rule("/bench/bare", "bench_bare", public(lambda: jsonify({"ok": True})))
    if out := os.environ.get("WHARF_BENCH_CPU_DIR"):
        _count_cpu(app, Path(out))
    return app


def _count_cpu(app, out: Path) -> None:
    """Each worker's CPU time per endpoint (thread time from before_request to teardown:
    sign-in, view, rendering), written to ``out/<pid>.json`` every 20 requests — where the
    server's cores go, per kind of request, under the real mix."""
    import json

    from flask import request

    per: dict[str, list] = collections.defaultdict(lambda: [0, 0.0])
    started = threading.local()
    done = itertools.count(1)

    @app.before_request
    def _start():
        started.t = time.thread_time()

    @app.teardown_request
    def _stop(_exc):
        t0 = getattr(started, "t", None)
        if t0 is None:
            return
        started.t = None
        entry = per[request.endpoint or "?"]
        entry[0] += 1
        entry[1] += time.thread_time() - t0
        if next(done) % 20 == 0:
            (out / f"{os.getpid()}.json").write_text(json.dumps(per))


def endpoint_cpu(out: Path) -> dict[str, list]:
    """The workers' counts and CPU seconds per endpoint, summed."""
    import json

    total: dict[str, list] = collections.defaultdict(lambda: [0, 0.0])
    for f in out.glob("*.json"):
        try:
            for endpoint, (n, sec) in json.loads(f.read_text()).items():
                total[endpoint][0] += n
                total[endpoint][1] += sec
        except (OSError, ValueError):
            continue
    return total


def report_endpoints(before: dict, after: dict, seconds: float, top: int = 6) -> None:
    """Per endpoint in the phase: requests/s, CPU ms per request, share of a core."""
    rows = []
    for endpoint, (n, sec) in after.items():
        n0, sec0 = before.get(endpoint, (0, 0.0))
        if n - n0 > 0:
            rows.append((sec - sec0, n - n0, endpoint))
    rows.sort(reverse=True)
    print(
        "    server cpu: "
        + "  ".join(
            f"{e} {n / seconds:.0f}/s × {1000 * c / n:.1f} ms = {100 * c / seconds:.0f}%" for c, n, e in rows[:top]
        ),
        flush=True,
    )


# --- seeding -------------------------------------------------------------------------------------


def seed(url: str, n_shipments: int, n_lists: int, n_pickers: int) -> list[uuid.UUID]:
    """The tenant (made once, then reused), topped up to ``n_lists`` untouched open lists;
    returns those lists' ids."""
    from flask_migrate import upgrade

    from app import create_app
    from models import HandlingList, Shipment, ShipmentItem, Tenant, db
    from services import accounts, roles, users
    from services.acl import SYSTEM

    os.environ.update({"DATABASE_URL": url, **SETTINGS})
    app = create_app()
    logging.getLogger("wharf.request").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
        tenant = db.session.scalars(sa.select(Tenant).where(Tenant.name == TENANT)).first()
        if tenant is None:
            tenant = accounts.create_tenant(TENANT)
            db.session.commit()
            defaults = roles.seed_default_roles(tenant.id)
            db.session.commit()
            staff, admin = defaults[roles.WAREHOUSE_STAFF].id, defaults[roles.ADMINISTRATOR].id
            for i in range(n_pickers):
                users.create_user(SYSTEM, email=picker(i), password=PASSWORD, role_ids=[staff], tenant_id=tenant.id)
            users.create_user(
                SYSTEM, email="packer@floor.test", password=PASSWORD, role_ids=[staff], tenant_id=tenant.id
            )
            users.create_user(
                SYSTEM, email="admin@floor.test", password=PASSWORD, role_ids=[admin], tenant_id=tenant.id
            )
            db.session.commit()
        tenant_id = tenant.id
        have = int(db.session.scalar(sa.select(sa.func.count()).where(Shipment.tenant_id == tenant_id)))
        db.session.remove()
        if have < n_shipments - n_lists:  # a new tenant, or a bigger run than the last one
            started = time.perf_counter()
            seed_shipments(app, tenant_id, n_shipments - n_lists - have, first=have)
            print(
                f"seeded {n_shipments - n_lists - have} shipments in {time.perf_counter() - started:.0f} s", flush=True
            )
        touched = sa.select(ShipmentItem.list_id).where(
            ShipmentItem.list_id == HandlingList.id, ShipmentItem.is_handled.is_(True)
        )
        fresh = list(
            db.session.scalars(
                sa.select(HandlingList.id)
                .where(HandlingList.tenant_id == tenant_id, HandlingList.is_finished.is_(False), ~touched.exists())
                .order_by(HandlingList.number)
            )
        )
        db.session.remove()
    started = time.perf_counter()
    for _ in range(max(0, n_lists - len(fresh))):
        fresh.append(make_list(app, tenant_id, units=UNITS, per_shipment=UNITS))
    if len(fresh) > n_lists or time.perf_counter() - started > 1:
        print(f"{len(fresh)} untouched open lists ready in {time.perf_counter() - started:.0f} s", flush=True)
        settle(app)
    return fresh[:n_lists]


def picker(i: int) -> str:
    return f"picker-{i:03d}@floor.test"


# --- the load --------------------------------------------------------------------------------------


class Stats:
    """Latencies and errors per kind of request, per phase."""

    def __init__(self):
        self.lock = threading.Lock()
        self.lat: dict[str, list[float]] = collections.defaultdict(list)
        self.errors: collections.Counter = collections.Counter()
        self.samples: list[str] = []

    def add(self, kind: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            if ok:
                self.lat[kind].append(seconds)
            else:
                self.errors[kind] += 1
                if len(self.samples) < 5:
                    self.samples.append(f"{kind}: {detail[:200]}")

    def p95_ms(self, kind: str) -> float:
        return pct(self.lat[kind], 95) * 1000

    def total_errors(self) -> int:
        return sum(self.errors.values())


class Floor:
    """Pickers, watchers, a lead, packers and an administrator against one server."""

    def __init__(
        self, srv: Server, lists: list[uuid.UUID], n_pickers: int, n_watchers: int, n_packers: int, shipments: int
    ):
        self.srv = srv
        self.shipments = shipments
        self.reads, self.walk, self.walked = 0, None, 0
        self.pool = ThreadPoolExecutor(max_workers=96)
        self.http = urllib3.HTTPConnectionPool("127.0.0.1", srv.port, maxsize=96, block=True, timeout=10.0)
        self.headers = [srv.token(picker(i)) for i in range(n_pickers)]
        self.packer = srv.token("packer@floor.test")
        self.admin = srv.token("admin@floor.test")
        self.queue = collections.deque(lists)  # lists nobody has started
        self.current: list[list | None] = [None] * n_pickers  # [list_id, next unit index]
        self.busy = [False] * n_pickers
        self.active: collections.deque = collections.deque(maxlen=200)  # lists being picked, for watchers
        self.finished: collections.deque = collections.deque()  # (list_id, shipment ids) to pack
        self.etags: dict = {}
        self.n_watchers, self.n_packers = n_watchers, n_packers
        self.stats = Stats()
        self.stop = threading.Event()
        self.lock = threading.Lock()

    # one HTTP call, timed
    def call(self, kind: str, method: str, path: str, headers: dict, expect=(200,), json=None):
        """Through urllib3's keep-alive pool, not requests: the handhelds are other machines,
        and requests' own work cost this process twice the CPU on the two shared cores."""
        t0 = time.perf_counter()
        try:
            r = self.http.request(method, path, headers=headers, json=json, retries=False)
        except urllib3.exceptions.HTTPError as e:
            self.stats.add(kind, time.perf_counter() - t0, False, repr(e))
            return None
        ok = r.status in expect
        self.stats.add(kind, time.perf_counter() - t0, ok, f"{r.status} {method} {path} {r.data[:200]!r}")
        return r if ok else None

    # pickers
    def scan(self, i: int) -> None:
        try:
            with self.lock:
                job = self.current[i]
                if job is None:
                    if not self.queue:
                        return
                    job = self.current[i] = [self.queue.popleft(), 0]
                    self.active.append(job[0])
            list_id, unit = job
            r = self.call(
                "scan",
                "POST",
                f"/lcs/lists/{list_id}/scan",
                {**self.headers[i], **JSON},
                json={"code": f"SKU-{unit:03d}"},
            )
            if r is None:
                return
            job[1] += 1
            if job[1] >= UNITS:
                with self.lock:
                    self.current[i] = None
                    self.finished.append(list_id)
        finally:
            self.busy[i] = False

    # watchers
    def watch(self) -> None:
        with self.lock:
            if not self.active:
                return
            list_id = random.choice(self.active)
        headers = {**self.headers[0], **HX_LIVE}
        if list_id in self.etags:
            headers["If-None-Match"] = self.etags[list_id]
        r = self.call("live", "GET", f"/lcs/lists/{list_id}/station", headers, expect=(200, 304))
        if r is not None and r.headers.get("ETag"):
            self.etags[list_id] = r.headers["ETag"]

    # the lead
    def read_list(self) -> None:
        """Every other read a random page by number (1–20), else the next page of a walk by
        the answers' tokens (40 pages deep, then from the top again)."""
        self.reads += 1
        if self.reads % 2:
            page = str(random.randint(1, 20))
        else:
            page = self.walk if self.walk and self.walked < 40 else "1"
            self.walked = 0 if page == "1" else self.walked + 1
        r = self.call("list", "GET", "/lcs/shipments", {**self.admin, **JSON, "x-page": page})
        if r is not None and not self.reads % 2:
            self.walk = r.headers.get("x-next-page")

    def search(self) -> None:
        """What a lead looks up: a customer's order, a shipment number, a text search on the
        list screen, and all outbound shipments (the whole tenant: the count is the cost)."""
        n = random.randint(1, self.shipments)
        kind, value = random.choice(
            [("order_id", f"ORD-{n}"), ("number", f"B-{n:07d}"), ("text", f"ord-{n}"), ("is_outbound", "true")]
        )
        if kind == "text":
            self.call("search", "GET", f"/lcs/shipments?search={value}", {**self.admin, **JSON})
            return
        body = {"constraints": [{"key": kind, "operator": "in", "values": [value]}]}
        self.call("search", "POST", "/lcs/search/shipments", {**self.admin, **JSON}, json=body)

    # packers: closed loop, one shipment after another
    def pack_loop(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                list_id = self.finished.popleft() if self.finished else None
            if list_id is None:
                self.stop.wait(0.5)
                continue
            r = self.call("pack", "GET", f"/lcs/lists/{list_id}", {**self.packer, **JSON})
            shipment_ids = (r.json().get("shipments") or []) if r is not None else []
            for shipment_id in shipment_ids:
                parcel_id = None
                for unit in range(UNITS):
                    if self.stop.is_set():
                        return
                    r = self.call(
                        "pack",
                        "POST",
                        f"/lcs/shipments/{shipment_id}/pack/scan",
                        {**self.packer, **JSON},
                        json={"code": f"SKU-{unit:03d}"},
                    )
                    if r is not None:
                        parcel_id = r.json().get("parcel_id") or parcel_id
                    self.stop.wait(0.2)  # a packer's hands
                if parcel_id:
                    self.call(
                        "pack",
                        "PUT",
                        f"/lcs/parcels/{parcel_id}",
                        {**self.packer, **JSON},
                        json={"weight": 1250},
                        expect=(200, 204),
                    )
                    self.call(
                        "label",
                        "POST",
                        f"/lcs/parcels/{parcel_id}/label",
                        {**self.packer, **JSON},
                        expect=(200, 202, 204),
                    )

    # the administrator
    def save_acl(self, flip: list) -> None:
        r = self.call("acl", "GET", "/api/auth/roles", self.admin)
        if r is None:
            return
        items = r.json().get("items") or r.json()
        staff = next((x for x in items if x.get("name") == "Warehouse staff"), None)
        if staff is None:
            return
        acl = self.call("acl", "GET", f"/api/auth/roles/acl?roleId={staff['id']}", self.admin)
        if acl is None:
            return
        features = list(acl.json().get("features") or [])
        extra = "audit_logs.redo_self"  # harmless for pickers: moves the ACL version all the same
        features = [f for f in features if f != extra] + ([extra] if flip[0] else [])
        flip[0] = not flip[0]
        self.call(
            "acl",
            "PUT",
            "/api/auth/roles/acl",
            self.admin,
            json={"roleId": staff["id"], "features": features, "organizations": acl.json().get("organizations")},
        )

    def run(self, rate: float, seconds: float) -> Stats:
        """Everything at once for ``seconds``, scans at ``rate``/s; the phase's own stats."""
        self.stats = Stats()
        self.stop.clear()
        packers = [threading.Thread(target=self.pack_loop, daemon=True) for _ in range(self.n_packers)]
        for t in packers:
            t.start()
        schedules = {
            "scan": 1 / rate,
            "watch": POLL_S / max(1, self.n_watchers),
            "list": 1.0,
            "search": 1.0,
            "acl": ACL_EVERY_S,
        }
        due = {k: time.perf_counter() for k in schedules}
        pickers = itertools.cycle(range(len(self.headers)))
        flip = [True]
        end = time.perf_counter() + seconds
        while (now := time.perf_counter()) < end:
            kind = min(due, key=due.get)
            if due[kind] > now:
                time.sleep(min(due[kind] - now, end - now))
                continue
            due[kind] += schedules[kind]
            if kind == "scan":
                for _ in range(len(self.headers)):  # the next picker with no scan in flight
                    i = next(pickers)
                    if not self.busy[i]:
                        self.busy[i] = True
                        self.pool.submit(self.scan, i)
                        break
            elif kind == "watch":
                self.pool.submit(self.watch)
            elif kind == "list":
                self.pool.submit(self.read_list)
            elif kind == "search":
                self.pool.submit(self.search)
            else:
                self.pool.submit(self.save_acl, flip)
        self.stop.set()
        for t in packers:
            t.join(15)
        deadline = time.perf_counter() + 15  # let the calls in flight end inside this phase
        while any(self.busy) and time.perf_counter() < deadline:
            time.sleep(0.05)
        return self.stats


def _cpu_seconds(pids, children: bool = False) -> float:
    """CPU seconds of ``pids`` (with ``children``: also of their ended children, as RQ's
    work horses, one forked per job)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11 : 15 if children else 13])
    return total / tick


def cpu_now(srv: Server, worker: subprocess.Popen | None = None) -> dict:
    """CPU seconds used so far by gunicorn, PostgreSQL's processes, the label worker, this
    load generator, and the machine (all cores): where the two cores go under load."""
    postgres = [d.name for d in Path("/proc").glob("[0-9]*") if _comm(d) == "postgres"]
    busy = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    tick = os.sysconf("SC_CLK_TCK")
    return {
        "gunicorn": srv.cpu_seconds(),
        "postgres": _cpu_seconds(postgres),
        "worker": _cpu_seconds([worker.pid], children=True) if worker else 0.0,
        "client": sum(os.times()[:2]),
        "machine": (sum(map(int, busy)) - int(busy[3]) - int(busy[4])) / tick,
    }


def _comm(proc: Path) -> str:
    try:
        return (proc / "comm").read_text().strip()
    except OSError:
        return ""


def report(label: str, rate: float, seconds: float, st: Stats, cpu: dict | None = None) -> None:
    done = len(st.lat["scan"])
    used = "  cpu " + " ".join(f"{k} {v / seconds * 100:.0f}%" for k, v in cpu.items()) if cpu else ""
    print(
        f"  {label:6s} {rate:6.0f}/s asked  {done / seconds:6.1f} scans/s  scan p50 {pct(st.lat['scan'], 50) * 1000:5.1f} p95 {st.p95_ms('scan'):6.1f} ms  "
        f"live p95 {st.p95_ms('live'):6.1f}  list p95 {st.p95_ms('list'):6.1f}  search p95 {st.p95_ms('search'):6.1f}  "
        f"pack p95 {st.p95_ms('pack'):6.1f}  "
        f"label p95 {st.p95_ms('label'):6.1f}  acl p95 {st.p95_ms('acl'):6.1f}  errors {dict(st.errors) or 0}{used}",
        flush=True,
    )
    for line in st.samples:
        print("    error:", line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--shipments", type=int, default=100_000)
    ap.add_argument("--lists", type=int, default=1_000)
    ap.add_argument("--pickers", type=int, default=200)
    ap.add_argument("--watchers", type=int, default=20)
    ap.add_argument("--packers", type=int, default=4)
    ap.add_argument("--start", type=float, default=20)
    ap.add_argument("--step", type=float, default=20)
    ap.add_argument("--step-seconds", type=float, default=10)
    ap.add_argument("--max-rate", type=float, default=400)
    args = ap.parse_args()
    if not (args.database_url or "").startswith("postgresql"):
        sys.exit("floor_load.py measures PostgreSQL: set DATABASE_URL=postgresql://…")
    ensure_database(args.database_url)
    lists = seed(args.database_url, args.shipments, args.lists, args.pickers)
    env = {k: os.environ[k] for k in ("REDIS_URL",) if os.environ.get(k)}
    cpu_dir = Path(tempfile.mkdtemp(prefix="wharf-bench-cpu-"))
    srv = Server(
        args.database_url,
        app="floor_load:bench_app()",
        workers=args.workers,
        env={**env, "WHARF_BENCH_CPU_DIR": str(cpu_dir)},
    )
    worker = None
    if env:  # labels render on an RQ worker, as deployed, not in the web workers
        worker_env = {**os.environ, **SETTINGS, **env, "DATABASE_URL": args.database_url}
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker"],
            cwd=ROOT,
            env=worker_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    try:
        bare_rps, _, bare_errors = closed_loop(srv.base, "/bench/bare", {}, 5.0)
        print(
            f"bare @public JSON: {bare_rps:.0f} req/s (errors {bare_errors}), {args.workers} sync workers", flush=True
        )
        floor = Floor(srv, lists, args.pickers, args.watchers, args.packers, args.shipments - args.lists)
        floor.run(args.start, args.step_seconds)  # warm-up, not measured: connections, caches, first compiles

        def measured(label: str, rate: float, seconds: float) -> Stats:
            """One phase at ``rate`` scans/s, reported with the CPU it used, per process and per endpoint."""
            before, per = cpu_now(srv, worker), endpoint_cpu(cpu_dir)
            st = floor.run(rate, seconds)
            report(label, rate, seconds, st, {k: v - before[k] for k, v in cpu_now(srv, worker).items()})
            report_endpoints(per, endpoint_cpu(cpu_dir), seconds)
            return st

        print(f"ramp: +{args.step:.0f} scans/s every {args.step_seconds:.0f} s", flush=True)
        best, rate = None, args.start
        while rate <= args.max_rate and floor.queue:
            st = measured("ramp", rate, args.step_seconds)
            if st.total_errors() or st.p95_ms("scan") > 100:
                break
            if st.p95_ms("scan") < 50:
                best = rate
            rate += args.step
        hold = best or args.start
        for _ in range(4):  # packers join once lists finish: a rate the ramp kept may not hold with them
            st = measured("hold", hold, args.seconds)
            if (st.p95_ms("scan") < 50 and not st.total_errors()) or hold - args.step < args.start or not floor.queue:
                break
            hold -= args.step
        rss = srv.rss_mb_per_worker()
    finally:
        srv.stop()
        if worker is not None:
            worker.terminate()
            worker.wait(20)
    print(
        f"floor load: scans/s={len(st.lat['scan']) / args.seconds:.1f} scan_p95_ms={st.p95_ms('scan'):.1f} "
        f"list_p95_ms={st.p95_ms('list'):.1f} pack_p95_ms={max(st.p95_ms('pack'), st.p95_ms('label')):.1f} "
        f"errors={st.total_errors()} workers={args.workers} rss_mb_per_worker={rss:.0f} bare_rps={bare_rps:.0f}"
    )


if __name__ == "__main__":
    main()
