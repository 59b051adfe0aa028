"""Benchmark: live progress for 50 open scan stations — ETag polling vs server-sent events.

Over HTTP against gunicorn (``--workers 4``, as the README deploys it) on a PostgreSQL
database (created if missing; every run adds its own tenant). 50 stations watch 10 handling
lists (5 each) while one picker scans about once a second, round robin over the lists.

(a) Capacity, closed loop (8 client threads, sync workers): requests/s and p50/p95 of a bare
    ``@public`` JSON route (the baseline, same run), the station's live fragment answered
    ``304`` (the poll when nothing moved), the same fragment rendered (200), and the JSON
    station answered ``304``.
(b) Polling, the product: every station GETs its ``station-live`` fragment every 2 s with
    ``If-None-Match`` (sync workers). Requests/s, share of 304s, errors, CPU of gunicorn
    (all workers, % of one core), and the latency from a scan being sent to each other
    station of that list showing the new count (p50/p95/max).
(c) SSE on the same sync workers: each open stream holds a worker, so the 50 streams
    compete for 4 workers; counts how many streams ever get their first event.
(d) SSE on ``gthread`` workers (4 × 16 threads, 64 slots for 50 streams): a stream per
    station, the server checks the list's version every 0.5 s and pushes the fragment when
    it moved; CPU and latency as in (b). A gthread worker accepts connections as they come,
    not by free threads, so one worker can hold more streams than it has threads: the
    streams and requests over its count wait. (e) the same with 4 × 64 threads (a thread per
    station in every worker). The SSE route exists only in this benchmark (``bench_app``).

During (b)–(e) a prober GETs the baseline route every 100 ms: its p50/p95 and errors show
whether anyone else can still use the server.

    .venv/bin/python bench/lcs_live.py --database-url postgresql://postgres@127.0.0.1:5432/wharf_bench_live \\
        [--seconds 30] [--stations 50] [--lists 10]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import re
import signal
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
from flask import Response, jsonify, stream_with_context
from jinja2_fragments.flask import render_block

from app import create_app, database_url
from models import HandlingList, db

PASSWORD = "bench-password-1"
SKUS = 40  # units per list, one per SKU: never runs out within a run
CHECK_S = 0.5  # how often an SSE stream looks at its list's version
HEARTBEAT_S = 15.0
HANDLED = re.compile(r'data-handled="(\d+)"')
ETAG = re.compile(r'data-etag="([^"]+)"')


# --- the server side: gunicorn imports bench_app() from this module ------------------------------


def bare():
    return jsonify({"ok": True})


def events(list_id):
    """SSE: the station's live fragment whenever the list's version moves (what the htmx
    SSE extension would swap). Checks every ``CHECK_S``; between checks the database
    connection goes back to the pool, or 50 streams would need 50 connections."""
    from services.logistics import lists as svc
    from web.access import current_actor
    from web.negotiate import fragment_etag

    actor = current_actor()
    list_pk = svc.get_list(actor, list_id).id  # 404 outside the caller's scope

    def stream():
        seen, quiet = None, 0.0
        while True:
            version = db.session.scalar(sa.select(HandlingList.version).where(HandlingList.id == list_pk))
            if version != seen:
                seen, quiet = version, 0.0
                st = svc.station(actor, db.session.get(HandlingList, list_pk))
                html = render_block(
                    "lcs/station.html", "station_live", st=st.data, live=fragment_etag(st.state, "station_live")
                )
                yield "event: progress\ndata: " + html.replace("\n", "\ndata: ") + "\n\n"
            elif quiet >= HEARTBEAT_S:
                quiet = 0.0
                yield ": still here\n\n"
            db.session.remove()
            time.sleep(CHECK_S)
            quiet += CHECK_S

    return Response(stream_with_context(stream()), mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})


def bench_app():
    from web.access import public, requires

    app = create_app()
    logging.getLogger("wharf.request").setLevel(logging.WARNING)
    app.add_url_rule("/bench/bare", "bench_bare", public(bare))
    app.add_url_rule("/bench/bare-auth", "bench_bare_auth", requires()(bare))  # the cost of signing in, alone
    app.add_url_rule("/bench/lists/<uuid:list_id>/events", "bench_events", requires("lcs.handling.write")(events))
    return app


# --- setup ------------------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    target = sa.engine.make_url(database_url(url, str(ROOT / "instance")))
    name = target.database
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def seed(url: str, n_lists: int) -> tuple[list[uuid.UUID], str, str]:
    """A tenant with ``n_lists`` lists of ``SKUS`` units, a station user and a scanner."""
    from flask_migrate import upgrade

    from schemas.lcs_lists import LcsHandlingModel, LcsHandlingModelShipments
    from schemas.lcs_shipments import LcsShipmentItemModel, LcsShipmentModel
    from services import accounts, roles, users
    from services.acl import SYSTEM
    from services.logistics import lists, shipments

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "b" * 48)
    app = create_app()
    run = uuid.uuid4().hex[:8]
    with app.app_context():
        upgrade()
        t = accounts.create_tenant(f"Live bench {run}")
        db.session.commit()
        staff = roles.seed_default_roles(t.id)[roles.WAREHOUSE_STAFF]
        db.session.commit()
        emails = (f"station-{run}@b.test", f"scanner-{run}@b.test")
        for email in emails:
            users.create_user(SYSTEM, email=email, password=PASSWORD, role_ids=[staff.id], tenant_id=t.id)
        ids = []
        for _ in range(n_lists):
            items = [
                LcsShipmentItemModel(sku=f"SKU-{i:02d}", quantity=1, description=f"Widget {i}") for i in range(SKUS)
            ]
            s = shipments.create_shipment(SYSTEM, LcsShipmentModel(tenant_id=t.id, items=items))
            ids.append(lists.create_list(SYSTEM, LcsHandlingModel(shipments=[LcsHandlingModelShipments(id=s.id)])).id)
        db.session.remove()
    return ids, *emails


class Server:
    """gunicorn serving ``app`` (a ``module:factory()`` of bench/, which must answer
    ``/bench/bare``): ``workers`` sync workers, or gthread ones with ``threads``."""

    def __init__(self, url: str, threads: int = 0, *, app: str = "lcs_live:bench_app()", workers: int = 4, env=None):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}"]
        cmd += ["--chdir", str(ROOT), "--pythonpath", f"{ROOT},{ROOT / 'bench'}", "--log-level", "warning"]
        cmd += ["--worker-class", "gthread", "--threads", str(threads)] if threads else ["--worker-class", "sync"]
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": "b" * 48,
            "WHARF_ARGON2_TIME_COST": "1",
            "WHARF_ARGON2_MEMORY_KIB": "1024",
            **(env or {}),
        }
        self.log = Path(f"/tmp/wharf-bench-live-{self.port}.log")
        with self.log.open("w") as log:  # workers killed with open streams complain at length
            self.proc = subprocess.Popen([*cmd, app], env=env, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/bench/bare", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("gunicorn did not come up")

    def cpu_seconds(self) -> float:
        """utime + stime of the master and its workers (live ones; workers are not recycled)."""
        tick, total = os.sysconf("SC_CLK_TCK"), 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid == self.proc.pid or ppid == self.proc.pid:
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def rss_mb_per_worker(self) -> float:
        """Mean resident memory of the workers (children of the master), in MiB."""
        sizes = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            except OSError:
                continue
            if int(fields.get("PPid", "0").strip()) == self.proc.pid and "VmRSS" in fields:
                sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
        return statistics.mean(sizes) if sizes else float("nan")

    def token(self, email: str) -> dict:
        r = requests.post(self.base + "/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGQUIT)  # quick shutdown: open streams would hold a graceful one
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def ms(values) -> str:
    return f"p50 {pct(values, 50) * 1000:7.1f} ms  p95 {pct(values, 95) * 1000:7.1f} ms"


HX = {"HX-Request": "true", "HX-Target": "station-live", "Accept": "*/*"}


# --- (a) capacity ------------------------------------------------------------------------------------


def closed_loop(base, path, headers, seconds, threads=8, expect=200):
    lat, errors, stop = [], [0], time.monotonic() + seconds

    def work():
        s = requests.Session()
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                r = s.get(base + path, headers=headers, timeout=10)
                ok = r.status_code == expect
            except requests.RequestException:
                ok = False
            if ok:
                lat.append(time.perf_counter() - t0)
            else:
                errors[0] += 1

    workers = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(lat) / (time.perf_counter() - start), lat, errors[0]


def capacity(srv: Server, station_h: dict, list_id, seconds: float, rounds: int) -> None:
    path = f"/lcs/lists/{list_id}/station"
    frag = requests.get(srv.base + path, headers={**station_h, **HX}, timeout=10)
    js = requests.get(srv.base + path, headers={**station_h, "Accept": "application/json"}, timeout=10)
    cases = [
        ("bare @public JSON (baseline)", "/bench/bare", {}, 200),
        ("bare behind bearer sign-in", "/bench/bare-auth", station_h, 200),
        ("station fragment, 304", path, {**station_h, **HX, "If-None-Match": frag.headers["ETag"]}, 304),
        ("station fragment, 200 render", path, {**station_h, **HX}, 200),
        (
            "station JSON, 304",
            path,
            {**station_h, "Accept": "application/json", "If-None-Match": js.headers["ETag"]},
            304,
        ),
    ]
    print(f"(a) capacity, sync ×4, 8 client threads; median of {rounds} interleaved rounds × {seconds:.0f} s")
    for _, p, h, expect in cases:
        closed_loop(srv.base, p, h, 1.0, expect=expect)  # warm
    results: dict = {label: ([], [], [0]) for label, *_ in cases}
    for _ in range(rounds):  # interleaved: a noisy neighbour hits every case alike
        for label, p, h, expect in cases:
            rate, lat, errors = closed_loop(srv.base, p, h, seconds, expect=expect)
            results[label][0].append(rate)
            results[label][1].extend(lat)
            results[label][2][0] += errors
    base_rate = statistics.median(results[cases[0][0]][0])
    for label, (rates, lat, errors) in results.items():
        rate = statistics.median(rates)
        print(f"    {label:30s} {rate:7.0f} req/s  {ms(lat)}  errors {errors[0]}  ratio {rate / base_rate:.2f}")


# --- (b)–(e) live scenarios ---------------------------------------------------------------------


class Live:
    """Stations, one scanner and the baseline prober, for ``seconds``."""

    def __init__(self, srv: Server, lists, station_h, scanner_h, n_stations: int):
        self.srv, self.lists, self.station_h, self.scanner_h = srv, lists, station_h, scanner_h
        self.n = n_stations
        self.sent: dict = {lid: {} for lid in lists}  # list → handled count → time the scan was sent
        self.handled = {lid: self._handled_now(lid) for lid in lists}
        self.latency: list[float] = []
        self.statuses: dict = {}
        self.errors = 0
        self.first_event: list[float] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.probe: list[float] = []
        self.probe_errors = 0
        self.scans = self.scan_errors = 0

    def _handled_now(self, lid) -> int:
        r = requests.get(f"{self.srv.base}/lcs/lists/{lid}/station", headers=self.station_h, timeout=10)
        return r.json()["progress"]["handled"]

    def saw(self, lid, seen: int, now_handled: int, at: float) -> None:
        with self.lock:
            for n in range(seen + 1, now_handled + 1):
                if n in self.sent[lid]:
                    self.latency.append(at - self.sent[lid][n])

    def count(self, key) -> None:
        with self.lock:
            self.statuses[key] = self.statuses.get(key, 0) + 1

    def scanner(self) -> None:
        s, i = requests.Session(), 0
        while not self.stop.is_set():
            lid = self.lists[i % len(self.lists)]
            n = self.handled[lid] + 1
            self.sent[lid][n] = time.monotonic()
            try:
                r = s.post(
                    f"{self.srv.base}/lcs/lists/{lid}/scan",
                    json={"code": f"SKU-{n - 1:02d}"},
                    headers=self.scanner_h,
                    timeout=10,
                )
                ok = r.status_code == 200 and r.json()["status"] == "ok"
            except requests.RequestException:
                ok = False
            if not ok:  # no worker free (SSE on sync workers): the picker's own scan fails
                self.scan_errors += 1
                del self.sent[lid][n]
                self.stop.wait(1.0)
                continue
            self.scans += 1
            self.handled[lid] = n
            i += 1
            self.stop.wait(1.0)

    def prober(self) -> None:
        s = requests.Session()
        while not self.stop.is_set():
            t0 = time.perf_counter()
            try:
                ok = s.get(self.srv.base + "/bench/bare", timeout=5).status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                self.probe.append(time.perf_counter() - t0)
            else:
                self.probe_errors += 1
            self.stop.wait(0.1)

    def poller(self, k: int) -> None:
        lid, s = self.lists[k % len(self.lists)], requests.Session()
        url = f"{self.srv.base}/lcs/lists/{lid}/station"
        r = s.get(url, headers={**self.station_h, **HX}, timeout=10)
        etag, seen = r.headers["ETag"], int(HANDLED.search(r.text).group(1))
        assert ETAG.search(r.text).group(1) == etag.strip('"')
        self.stop.wait(random.uniform(0, 2.0))  # stations opened at different moments
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                r = s.get(url, headers={**self.station_h, **HX, "If-None-Match": etag}, timeout=10)
                self.count(r.status_code)
                if r.status_code == 200:
                    etag, now = r.headers["ETag"], int(HANDLED.search(r.text).group(1))
                    self.saw(lid, seen, now, time.monotonic())
                    seen = now
            except requests.RequestException:
                self.errors += 1
            self.stop.wait(max(0.0, 2.0 - (time.monotonic() - t0)))  # hx-trigger="every 2s"

    def listener(self, k: int) -> None:
        lid = self.lists[k % len(self.lists)]
        seen, t0 = None, time.monotonic()
        try:
            with requests.get(
                f"{self.srv.base}/bench/lists/{lid}/events",
                headers={**self.station_h, "Accept": "text/event-stream"},
                stream=True,
                timeout=(5, 60),
            ) as r:
                self.streams.append(r)
                data: list[str] = []
                for line in r.iter_lines(decode_unicode=True):
                    if line.startswith("data: "):
                        data.append(line[6:])
                    elif line == "" and data:
                        now = int(HANDLED.search("\n".join(data)).group(1))
                        self.count("event")
                        if seen is None:
                            with self.lock:
                                self.first_event.append(time.monotonic() - t0)
                        else:
                            self.saw(lid, seen, now, time.monotonic())
                        seen, data = now, []
                    if self.stop.is_set():
                        return
        except (requests.RequestException, AttributeError, ValueError):
            if not self.stop.is_set():
                self.errors += 1

    def run(self, kind: str, seconds: float) -> dict:
        self.streams: list = []
        target = self.poller if kind == "poll" else self.listener
        threads = [threading.Thread(target=target, args=(k,), daemon=True) for k in range(self.n)]
        for t in threads:
            t.start()
        time.sleep(3.0)  # stations opened (streams connected, first polls done)
        helpers = [
            threading.Thread(target=self.scanner, daemon=True),
            threading.Thread(target=self.prober, daemon=True),
        ]
        cpu0, t0 = self.srv.cpu_seconds(), time.monotonic()
        statuses0 = dict(self.statuses)
        for t in helpers:
            t.start()
        time.sleep(seconds)
        self.stop.set()
        cpu, wall = self.srv.cpu_seconds() - cpu0, time.monotonic() - t0
        for t in helpers:
            t.join(10)
        for r in list(self.streams):
            with contextlib.suppress(Exception):  # closing a socket another thread reads: any error is fine
                r.close()  # unblocks the listener threads
        deadline = time.monotonic() + 5  # listeners still waiting for a worker (sync) never return: daemons
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        requests_made = sum(v for k, v in self.statuses.items() if k != "event") - sum(
            v for k, v in statuses0.items() if k != "event"
        )
        return {"cpu": cpu / wall, "wall": wall, "requests": requests_made}


def report(label: str, live: Live, res: dict) -> None:
    print(label)
    st = ", ".join(f"{k}: {v}" for k, v in sorted(live.statuses.items(), key=str))
    print(f"    answers {st}; client errors {live.errors}; scans ok {live.scans}, failed {live.scan_errors}")
    if res["requests"]:
        print(f"    station requests/s {res['requests'] / res['wall']:6.1f}")
    if live.first_event:
        print(f"    streams with a first event: {len(live.first_event)} of {live.n}")
    print(f"    gunicorn CPU {res['cpu'] * 100:5.1f} % of one core")
    lat = live.latency
    print(
        f"    scan → other station sees it: {ms(lat)}  max {max(lat, default=float('nan')) * 1000:7.1f} ms  (n={len(lat)})"
    )
    print(f"    baseline prober meanwhile: {ms(live.probe)}  errors/timeouts {live.probe_errors}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL"), required=not os.environ.get("DATABASE_URL")
    )
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--stations", type=int, default=50)
    ap.add_argument("--lists", type=int, default=10)
    ap.add_argument("--capacity-seconds", type=float, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    assert args.database_url.startswith("postgresql"), "this benchmark runs on PostgreSQL"
    ensure_database(args.database_url)
    list_ids, station, scanner = seed(args.database_url, args.lists * 5)  # fresh lists for each scenario
    batches = [list_ids[i * args.lists : (i + 1) * args.lists] for i in range(5)]
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (a shared machine is noisy)")
    print(
        f"{args.stations} stations on {args.lists} lists, one scan/s, {args.seconds:.0f} s per scenario; gunicorn --workers 4"
    )

    srv = Server(args.database_url)
    try:
        sh, ch = srv.token(station), srv.token(scanner)
        capacity(srv, sh, batches[0][0], args.capacity_seconds, args.rounds)
        live = Live(srv, batches[1], sh, ch, args.stations)
        report("(b) ETag polling every 2 s, sync workers", live, live.run("poll", args.seconds))
        live = Live(srv, batches[2], sh, ch, args.stations)
        report("(c) SSE, sync workers (a worker per open stream)", live, live.run("sse", min(args.seconds, 15)))
    finally:
        srv.stop()
    for label, threads, batch in (("d", 16, batches[3]), ("e", 64, batches[4])):
        srv = Server(args.database_url, threads=threads)
        try:
            sh, ch = srv.token(station), srv.token(scanner)
            live = Live(srv, batch, sh, ch, args.stations)
            report(f"({label}) SSE, gthread workers 4 × {threads} threads", live, live.run("sse", args.seconds))
        finally:
            srv.stop()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
