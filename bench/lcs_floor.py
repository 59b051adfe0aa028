"""Benchmark: the warehouse floor (issue 6) against a bare Flask endpoint in the same run.

(a) Server time of one scan (``POST /lcs/lists/<id>/scan`` with a bearer token, JSON) on a
    500-unit handling list: p50/p95 in ms over ``--scans`` scans, each one picking a unit,
    interleaved with requests to a trivial ``@public`` JSON route (the bare baseline); then
    the pack scan (``POST /lcs/shipments/<id>/pack/scan``, issue 15) of every unit just
    picked, shipment by shipment (20 units each, one parcel per shipment filling up).
(b) ``GET /lcs/shipments`` (default page size) with ``--shipments`` shipments (two units
    each) in the database: requests/s and the ratio to the bare endpoint, interleaved rounds.
    Pages are cached per process until the ``lcs.floor`` stamp moves, so (b) also reports
    the list with its cache emptied before every request: the cost after every floor write.

Everything runs in-process through the Flask test client on a scratch SQLite database.
Goals (issue 6): scan p95 < 25 ms on SQLite; list throughput ≥ 30 % of the bare endpoint.
For orientation (b) also reports the same trivial view behind bearer sign-in
(``@requires()``), which separates the cost of authentication from the list's own cost.
When a goal is missed (or with ``--profile``) it prints a cProfile of that path and a
diagnosis: scans with the garbage collector off and the per-call cost of the station's
read helpers; for the list, the wall time of every SQL statement and SQLite's query plans.

    .venv/bin/python bench/lcs_floor.py [--scans 400] [--shipments 100000] [--requests 200] [--rounds 7] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import logging
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask import jsonify
from flask_migrate import upgrade

from app import create_app
from models import Counter, HandlingList, Shipment, ShipmentItem, db, utcnow
from schemas.lcs_lists import LcsHandlingModel, LcsHandlingModelShipments
from schemas.lcs_shipments import LcsShipmentItemModel, LcsShipmentModel
from services import accounts, roles, users
from services.acl import SYSTEM
from services.logistics import lists, shipments, tallies
from web.access import public, requires

PASSWORD = "bench-password-1"
LIST_UNITS = 500
SKUS = 50  # 10 units of each SKU on the list: 400 scans never run out of a SKU
SCAN_GOAL_MS = 25.0
LIST_GOAL_RATIO = 0.30


def bare():
    return jsonify({"ok": True})


def build(tmp: str):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
            "SECRET_KEY": "b" * 48,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
        }
    )
    app.add_url_rule("/bench/bare", "bench_bare", public(bare))
    # Secondary baseline: the same trivial view behind bearer sign-in (no feature check), to
    # tell the cost of authentication apart from the cost of the list itself.
    app.add_url_rule("/bench/bare-auth", "bench_bare_auth", requires()(bare))
    logging.getLogger("wharf.request").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
        logging.getLogger("wharf.request").setLevel(logging.WARNING)
        t = accounts.create_tenant("Bench")
        db.session.commit()
        staff = roles.seed_default_roles(t.id)[roles.WAREHOUSE_STAFF]
        db.session.commit()
        users.create_user(SYSTEM, email="picker@b.test", password=PASSWORD, role_ids=[staff.id], tenant_id=t.id)
        tenant_id = t.id
    client = app.test_client()
    r = client.post("/api/auth/login", json={"email": "picker@b.test", "password": PASSWORD})
    assert r.status_code == 200, r.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {r.get_json()['token']}", "Accept": "application/json"}
    return app, client, headers, tenant_id


def make_list(app, tenant_id, units: int = LIST_UNITS, per_shipment: int = 20):
    """A handling list of ``units`` units: shipments of ``per_shipment`` units over SKUS SKUs."""
    ids, n = [], 0
    with app.app_context():
        while n < units:
            items = []
            for _ in range(min(per_shipment, units - n)):
                items.append(
                    LcsShipmentItemModel(sku=f"SKU-{n % SKUS:03d}", quantity=1, description=f"Widget {n % SKUS}")
                )
                n += 1
            ids.append(shipments.create_shipment(SYSTEM, LcsShipmentModel(tenant_id=tenant_id, items=items)).id)
        hl = lists.create_list(SYSTEM, LcsHandlingModel(shipments=[LcsHandlingModelShipments(id=i) for i in ids]))
        return hl.id


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def pct(values, p) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def scan_bench(app, client, headers, tenant_id, n_scans: int, warm: bool = True):
    if warm:
        warm_list = make_list(app, tenant_id, units=100)
        for i in range(50):  # warm both paths (grant cache, templates, statement cache)
            client.post(f"/lcs/lists/{warm_list}/scan", json={"code": f"SKU-{i % SKUS:03d}"}, headers=headers)
            client.get("/bench/bare", headers=headers)
    list_id = make_list(app, tenant_id)
    scan_ms, bare_ms, statuses = [], [], {}

    def scan(i):
        r = client.post(f"/lcs/lists/{list_id}/scan", json={"code": f"SKU-{i % SKUS:03d}"}, headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)
        status = r.get_json()["status"]
        statuses[status] = statuses.get(status, 0) + 1

    def bare_get():
        r = client.get("/bench/bare", headers=headers)
        assert r.status_code == 200

    for i in range(n_scans):
        bare_ms.append(timed(bare_get))
        scan_ms.append(timed(lambda i=i: scan(i)))
    assert statuses == {"ok": n_scans}, statuses
    return scan_ms, bare_ms, list_id


def pack_bench(app, client, headers, list_id) -> list[float]:
    """Pack every picked unit of the list by scanning its SKU at its shipment's pack station."""
    with app.app_context():
        picked = db.session.execute(
            sa.select(ShipmentItem.shipment_id, ShipmentItem.sku)
            .where(ShipmentItem.list_id == list_id, ShipmentItem.is_handled.is_(True))
            .order_by(ShipmentItem.shipment_id, ShipmentItem.sequence)
        ).all()
        db.session.remove()
    pack_ms, statuses = [], {}

    def pack(shipment_id, sku):
        r = client.post(f"/lcs/shipments/{shipment_id}/pack/scan", json={"code": sku}, headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)
        status = r.get_json()["status"]
        statuses[status] = statuses.get(status, 0) + 1

    for shipment_id, sku in picked:
        pack_ms.append(timed(lambda shipment_id=shipment_id, sku=sku: pack(shipment_id, sku)))
    assert statuses == {"ok": len(picked)}, statuses
    return pack_ms


def seed_shipments(app, tenant_id, count: int, units_each: int = 2, batch: int = 10_000) -> float:
    """``count`` shipments with ``units_each`` units, by SQLAlchemy core executemany inserts."""
    start = time.perf_counter()
    base = utcnow()
    with app.app_context():
        for first in range(0, count, batch):
            ship_rows, unit_rows = [], []
            for n in range(first, min(count, first + batch)):
                sid = uuid.uuid4()
                number = f"B-{n + 1:07d}"
                created = base - timedelta(seconds=count - n)
                ship_rows.append(
                    {
                        "id": sid,
                        "tenant_id": tenant_id,
                        "number": number,
                        "type": "delivery",
                        "is_outbound": True,
                        "addressing": {
                            "to": {
                                "address": {
                                    "name": f"Customer {n}",
                                    "postal_code": f"{1000 + n % 9000} AB",
                                    "city": "Amsterdam",
                                    "country_code": "NL",
                                }
                            }
                        },
                        "order_id": f"ORD-{n}",
                        "prior_shipments": [],
                        "backorders": [],
                        "overage": [],
                        "is_canceled": False,
                        "search_text": f"{number} ord-{n} customer {n}".lower(),
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                for seq in range(units_each):
                    unit_rows.append(
                        {
                            "id": uuid.uuid4(),
                            "tenant_id": tenant_id,
                            "shipment_id": sid,
                            "sequence": seq,
                            "sku": f"SKU-{(n + seq) % SKUS:03d}",
                            "description": "Bulk widget",
                            "service": [],
                            "rank": 0,
                            "is_handled": False,
                            "is_serviced": False,
                            "is_missing": False,
                            "is_finished": False,
                            "created_at": created,
                            "updated_at": created,
                        }
                    )
            db.session.execute(Shipment.__table__.insert(), ship_rows)
            db.session.execute(ShipmentItem.__table__.insert(), unit_rows)
            db.session.commit()
        db.session.execute(
            sa.update(Counter)
            .where(Counter.tenant_id == tenant_id, Counter.name == "shipment")
            .values(value=Counter.value + count)
        )
        tallies.recount(tenant_id)  # the bulk insert bypassed create_shipment, which keeps the tally
        db.session.commit()
        total = db.session.scalar(sa.select(sa.func.count(Shipment.id)))
    assert total >= count, total
    return time.perf_counter() - start


def rate(client, path, headers, n, before=None) -> float:
    """Requests per second of ``n`` GETs (``before()`` runs ahead of each one, timed too)."""
    start = time.perf_counter()
    for _ in range(n):
        if before is not None:
            before()
        r = client.get(path, headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return n / (time.perf_counter() - start)


def profile(label: str, fn, lines: int = 25) -> None:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(r"(wharf|/work/|services|blueprints|web|models)/", lines)
    stats.sort_stats("tottime").print_stats(12)
    print(f"\n--- cProfile: {label} ---")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:12000])


def sql_breakdown(app, fn, n: int) -> None:
    """Wall time per SQL statement (first line of its text), per request."""
    spent: dict[str, list] = {}

    def before(conn, cursor, statement, parameters, context, executemany):
        context._bench_t0 = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        key = " ".join(statement.split())[:110]
        spent.setdefault(key, []).append(time.perf_counter() - context._bench_t0)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    start = time.perf_counter()
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    total = (time.perf_counter() - start) / n * 1000
    print(f"\n--- SQL per request ({total:.2f} ms per request in all) ---")
    for key, times in sorted(spent.items(), key=lambda kv: -sum(kv[1])):
        print(f"    {sum(times) / n * 1000:6.2f} ms  ×{len(times) / n:.0f}  {key}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scans", type=int, default=400)
    ap.add_argument("--shipments", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--profile", action="store_true", help="always print the cProfile of both measured paths")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="wharf-bench-lcs-")
    app, client, headers, tenant_id = build(tmp)

    # (a) one scan on a 500-unit list
    scan_ms, bare_ms, list_id = scan_bench(app, client, headers, tenant_id, args.scans)
    s50, s95, b50, b95 = pct(scan_ms, 50), pct(scan_ms, 95), pct(bare_ms, 50), pct(bare_ms, 95)
    print(f"(a) scan on a {LIST_UNITS}-unit list, {args.scans} scans (SQLite, Flask test client, bearer token)")
    print(f"    bare @public JSON : p50 {b50:6.2f} ms   p95 {b95:6.2f} ms")
    print(f"    POST …/scan       : p50 {s50:6.2f} ms   p95 {s95:6.2f} ms   (×{s50 / b50:.1f} / ×{s95 / b95:.1f} bare)")
    scan_ok = s95 < SCAN_GOAL_MS
    print(f"    goal p95 < {SCAN_GOAL_MS:.0f} ms: {'met' if scan_ok else 'MISSED'}")
    warm_list = scan_bench(app, client, headers, tenant_id, 50, warm=False)[2]
    pack_bench(app, client, headers, warm_list)  # warm the pack path as the pick path was
    pack_ms = pack_bench(app, client, headers, list_id)
    p50, p95 = pct(pack_ms, 50), pct(pack_ms, 95)
    print(f"    POST …/pack/scan  : p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   ({len(pack_ms)} units packed, same run)")

    # (b) GET /lcs/shipments with many shipments
    seconds = seed_shipments(app, tenant_id, args.shipments)
    r = client.get("/lcs/shipments", headers=headers)
    assert r.status_code == 200 and int(r.headers["x-count"]) >= args.shipments, r.headers
    page_size = len(r.get_json())
    rate(client, "/lcs/shipments", headers, 20)
    rate(client, "/bench/bare", headers, 200)
    listed, bares, authed, cold = [], [], [], []
    for _ in range(args.rounds):
        bares.append(rate(client, "/bench/bare", headers, args.requests * 5))
        authed.append(rate(client, "/bench/bare-auth", headers, args.requests * 2))
        listed.append(rate(client, "/lcs/shipments", headers, args.requests))
        # As if the floor changed between any two requests: every page is built from the database.
        cold.append(rate(client, "/lcs/shipments", headers, args.requests // 2, before=shipments._pages.clear))
    lr, br, ar, cr = (statistics.median(x) for x in (listed, bares, authed, cold))
    print(
        f"(b) GET /lcs/shipments (page of {page_size}) with {int(r.headers['x-count']):,} shipments "
        f"(seeded in {seconds:.1f} s), median of {args.rounds} rounds"
    )
    print(f"    bare @public JSON : {br:8.0f} req/s   ({1000 / br:.2f} ms per request)")
    print(f"    bare, signed in   : {ar:8.0f} req/s   (bearer session check, no feature check)")
    print(f"    GET /lcs/shipments: {lr:8.0f} req/s   ({1000 / lr:.2f} ms; the page from this process's cache)")
    print(
        f"      … page rebuilt  : {cr:8.0f} req/s   ({1000 / cr:.2f} ms; cache emptied before every request, "
        f"ratio {cr / br:.3f})"
    )
    list_ok = lr / br >= LIST_GOAL_RATIO
    print(f"    ratio list/bare: {lr / br:.3f}  (goal ≥ {LIST_GOAL_RATIO:.2f}: {'met' if list_ok else 'MISSED'})")

    if args.profile or not scan_ok:
        more = make_list(app, tenant_id)
        profile(
            "100 scans on a 500-unit list",
            lambda: [
                client.post(f"/lcs/lists/{more}/scan", json={"code": f"SKU-{i % SKUS:03d}"}, headers=headers)
                for i in range(100)
            ],
        )
        # The tail: are the slow scans garbage-collection pauses (many objects per scan)?
        gc.collect()
        gc.disable()
        try:
            no_gc, _, _ = scan_bench(app, client, headers, tenant_id, min(args.scans, 200), warm=False)
        finally:
            gc.enable()
        print(f"    scans with the garbage collector off: p50 {pct(no_gc, 50):.2f} ms   p95 {pct(no_gc, 95):.2f} ms")
        with app.app_context():
            hl = db.session.get(HandlingList, more)
            per = {
                name: timed(lambda f=f: [f(hl) for _ in range(20)]) / 20
                for name, f in (
                    ("lists.next_pick", lists.next_pick),
                    ("lists._units", lists._units),
                    ("lists.progress", lists.progress),
                )
            }
            db.session.remove()
        print("    per call on a 500-unit list: " + ", ".join(f"{k} {v:.2f} ms" for k, v in per.items()))
    if args.profile or not list_ok:
        profile("50 × GET /lcs/shipments", lambda: rate(client, "/lcs/shipments", headers, 50))
        profile(
            "50 × GET /lcs/shipments, page rebuilt each time",
            lambda: rate(client, "/lcs/shipments", headers, 50, before=shipments._pages.clear),
        )
        sql_breakdown(app, lambda: rate(client, "/lcs/shipments", headers, 50, before=shipments._pages.clear), 50)


if __name__ == "__main__":
    main()
