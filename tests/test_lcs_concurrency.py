"""Real concurrency on the warehouse floor (issue 6, Acceptance): several threads hammer the
same units, the same SKU through the scan endpoint, the same list and the same shipment over
real HTTP (the ``live_server`` fixture: threaded werkzeug). On SQLite the database serialises
the writers; on PostgreSQL (``DATABASE_URL``, as in CI) the transactions really overlap.

Invariants checked after every storm: no 5xx, no unit handled twice (one "handled"
ScanEvent per unit), no lost update, the list finished once, a shipment on at most one
active list, and the derived flags / progress counts agree with the units.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest
import sqlalchemy as sa

from models import HandlingList, ScanEvent, Shipment, ShipmentItem, db
from schemas.lcs_lists import LcsHandlingModel, LcsHandlingModelShipments
from schemas.lcs_shipments import LcsShipmentItemModel, LcsShipmentModel
from services import roles, users
from services.logistics import lists as list_svc
from services.logistics import shipments as shipment_svc
from tests.support import PASSWORD, SYSTEM, new_tenant

THREADS = 8
ADDRESS = {
    "to": {
        "address": {
            "name": "Dock Customer",
            "street": "Quay 1",
            "postal_code": "1011 AB",
            "city": "Amsterdam",
            "country_code": "NL",
        }
    }
}


# --- HTTP plumbing ------------------------------------------------------------------------------


def _http(base, method, path, body=None, token=None):
    """(status, json-or-None, started, ended) — never raises for HTTP errors."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers={
            "Accept": "application/json",
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    ended = time.perf_counter()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode(errors="replace")[:300]
    return status, payload, started, ended


def _storm(n_threads, work):
    """Run ``work(i)`` (a list of results) in n threads released together by a barrier."""
    barrier = threading.Barrier(n_threads)
    results: list[list] = [[] for _ in range(n_threads)]
    errors: list[BaseException] = []

    def run(i):
        try:
            barrier.wait(timeout=20)
            results[i] = work(i)
        except BaseException as e:  # noqa: BLE001 — surfaced below: a thread must not fail silently
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    assert not errors, errors
    return results


def _no_5xx(flat):
    bad = [(s, b) for s, b, *_ in flat if s >= 500]
    assert not bad, f"server errors: {bad[:3]}"


# --- data ------------------------------------------------------------------------------------------


@pytest.fixture()
def floor(app, live_server, tenant):
    """Two warehouse-staff pickers with bearer tokens, and helpers to make shipments and lists."""
    with app.app_context():
        staff_role = roles.seed_default_roles(tenant)[roles.WAREHOUSE_STAFF]
        db.session.commit()
        for n in (1, 2):
            users.create_user(
                SYSTEM, email=f"picker{n}@acme.test", password=PASSWORD, role_ids=[staff_role.id], tenant_id=tenant
            )
        db.session.remove()
    tokens = []
    for n in (1, 2):
        status, body, *_ = _http(
            live_server, "POST", "/api/auth/login", {"email": f"picker{n}@acme.test", "password": PASSWORD}
        )
        assert status == 200, body
        tokens.append(body["token"])

    class Floor:
        base = live_server

        def token(self, i):
            return tokens[i % len(tokens)]

        def shipment(self, items):
            with app.app_context():
                s = shipment_svc.create_shipment(
                    SYSTEM,
                    LcsShipmentModel(
                        tenant_id=tenant,
                        addressing=ADDRESS,
                        items=[
                            LcsShipmentItemModel(sku=sku, quantity=qty, description=f"{sku} widget")
                            for sku, qty in items
                        ],
                    ),
                )
                sid = s.id
                db.session.remove()
            return sid

        def make_list(self, shipment_ids):
            with app.app_context():
                hl = list_svc.create_list(
                    SYSTEM, LcsHandlingModel(shipments=[LcsHandlingModelShipments(id=s) for s in shipment_ids])
                )
                lid = hl.id
                db.session.remove()
            return lid

        def units(self, list_id):
            with app.app_context():
                rows = db.session.execute(
                    sa.select(ShipmentItem.id, ShipmentItem.sku, ShipmentItem.is_handled)
                    .where(ShipmentItem.list_id == list_id)
                    .order_by(ShipmentItem.rank)
                ).all()
                db.session.remove()
            return rows

        def events(self, list_id, kind, code=None):
            with app.app_context():
                stmt = sa.select(ScanEvent.item_id).where(ScanEvent.list_id == list_id, ScanEvent.kind == kind)
                if code is not None:
                    stmt = stmt.where(ScanEvent.code == code)
                rows = db.session.scalars(stmt).all()
                db.session.remove()
            return rows

        def get(self, path):
            status, body, *_ = _http(live_server, "GET", path, token=tokens[0])
            assert status == 200, (path, status, body)
            return body

    return Floor()


def _assert_consistent(fl, list_id, shipment_ids, *, handled_units):
    """Units, events, progress and the shipments' derived flags tell the same story."""
    units = fl.units(list_id)
    handled = {u.id for u in units if u.is_handled}
    assert handled == set(handled_units)
    events = Counter(fl.events(list_id, "handled"))
    assert set(events) == handled, "a handled unit without its event, or an event without its unit"
    assert all(n == 1 for n in events.values()), f"a unit was handled twice: {events.most_common(3)}"
    station = fl.get(f"/lcs/lists/{list_id}/station")
    assert station["progress"]["total"] == len(units)
    assert station["progress"]["handled"] == len(handled)
    assert station["progress"]["open"] == len(units) - len(handled)
    detail = fl.get(f"/lcs/lists/{list_id}")
    assert sum(len(i["handled_ids"]) for i in detail["items"]) == len(handled)
    assert sum(i["quantity"] for i in detail["items"]) == len(units)
    for sid in shipment_ids:
        s = fl.get(f"/lcs/shipments/{sid}")
        mine = [u for u in s["items"] if u["list_id"] == str(list_id)]
        assert {u["id"] for u in mine if u["is_handled"]} == {str(u) for u in handled} & {u["id"] for u in mine}
        assert s["is_listed"] is True and s["active_list_id"] == str(list_id)
        assert s["is_handled"] is all(u["is_handled"] for u in s["items"] if not u["is_missing"])
        assert s["is_editable"] is False


# --- (a) the same units, PUT again and again ------------------------------------------------------


@pytest.mark.parametrize("order", ["same", "shuffled"])
def test_same_units_put_by_many_threads_are_handled_once(floor, order):
    """``same``: a scanner's retries (identical bodies); ``shuffled``: handhelds sending the
    same units in different orders."""
    fl = floor
    s1 = fl.shipment([("SKU-A", 5), ("SKU-B", 3)])
    s2 = fl.shipment([("SKU-A", 2), ("SKU-C", 2)])
    list_id = fl.make_list([s1, s2])
    units = fl.units(list_id)
    target = [u.id for u in units if u.sku in ("SKU-A", "SKU-B")]  # SKU-C stays open
    assert len(target) == 10
    rounds = 4

    def work(i):
        out = []
        rng = random.Random(i)
        for _ in range(rounds):
            ids = list(target)
            if order == "shuffled" and i % 2:
                rng.shuffle(ids)
            body = [{"id": str(u), "is_handled": True} for u in ids]
            out.append(_http(fl.base, "PUT", f"/lcs/lists/{list_id}/items", body, fl.token(i)))
        return out

    flat = [r for rs in _storm(THREADS, work) for r in rs]
    _no_5xx(flat)
    assert Counter(s for s, *_ in flat) == {204: THREADS * rounds}, Counter(s for s, *_ in flat)
    _assert_consistent(fl, list_id, [s1, s2], handled_units=target)
    assert fl.get(f"/lcs/shipments/{s1}")["is_handled"] is True
    assert fl.get(f"/lcs/shipments/{s2}")["is_handled"] is False  # SKU-C still to pick
    listed = fl.get(f"/lcs/lists/{list_id}")
    assert listed["is_in_progress"] is True and listed["started_at"] and listed["is_finished"] is False


def test_scans_and_puts_racing_on_a_fresh_list_handle_each_unit_once(floor):
    """One picker scans while a handheld app PUTs the same units, right at the list's start."""
    fl = floor
    s1 = fl.shipment([("SKU-M", 10)])
    list_id = fl.make_list([s1])
    ids = [u.id for u in fl.units(list_id)]

    def work(i):
        if i % 2:
            return [
                ("scan", *_http(fl.base, "POST", f"/lcs/lists/{list_id}/scan", {"code": "SKU-M"}, fl.token(i)))
                for _ in range(3)
            ]
        body = [{"id": str(u), "is_handled": True} for u in reversed(ids)]  # the app sends the last first
        return [("put", *_http(fl.base, "PUT", f"/lcs/lists/{list_id}/items", body, fl.token(i))) for _ in range(2)]

    flat = [r for rs in _storm(THREADS, work) for r in rs]
    _no_5xx([r[1:] for r in flat])
    # The write that handles the last unit finishes the list (seed): one arriving after it is a 409.
    assert all(s in (200, 204, 409) for _, s, *_ in flat), Counter(s for _, s, *_ in flat)
    scans = [b for kind, s, b, *_ in flat if kind == "scan" and s == 200]
    assert all(b["status"] in ("ok", "warning", "done") for b in scans), scans
    _assert_consistent(fl, list_id, [s1], handled_units=ids)
    picked = sum(1 for b in scans if b["action"] == "handled")
    assert len(fl.events(list_id, "handled", code="SKU-M")) == picked
    assert len(fl.events(list_id, "finished")) == 1


# --- (b) the same SKU through the scan endpoint --------------------------------------------------


@pytest.mark.parametrize("threads, k, per_thread", [(8, 12, 3), (32, 96, 4)], ids=["8x3-on-12", "32x4-on-96"])
def test_same_sku_scanned_by_many_threads_takes_each_unit_once(floor, threads, k, per_thread):
    """``threads × per_thread`` scans of one SKU with ``k`` open units: exactly k picks, the
    rest over-pick warnings — and never a warning while a unit of the SKU is still open."""
    fl = floor
    s1 = fl.shipment([("SKU-HOT", k - 5), ("SKU-COLD", 2)])
    s2 = fl.shipment([("SKU-HOT", 5)])
    list_id = fl.make_list([s1, s2])
    units = fl.units(list_id)
    hot = [u.id for u in units if u.sku == "SKU-HOT"]
    assert len(hot) == k < threads * per_thread

    def work(i):
        return [
            _http(fl.base, "POST", f"/lcs/lists/{list_id}/scan", {"code": "SKU-HOT"}, fl.token(i))
            for _ in range(per_thread)
        ]

    flat = [r for rs in _storm(threads, work) for r in rs]
    _no_5xx(flat)
    assert all(s == 200 for s, *_ in flat), Counter(s for s, *_ in flat)
    statuses = Counter(b["status"] for _, b, *_ in flat)
    # No false over-pick: a warning answered before another scan even started that still found
    # a unit means the warning was given while units were open.
    last_ok_start = max(start for _, b, start, _ in flat if b["status"] == "ok")
    early = [b["message"] for _, b, _, end in flat if b["status"] == "warning" and end < last_ok_start]
    assert not early, f"{len(early)} over-pick warning(s) while units of the SKU were still open: {early[0]}"
    assert statuses == {"ok": k, "warning": threads * per_thread - k}, statuses
    picked = [b["item_id"] for _, b, *_ in flat if b["status"] == "ok"]
    assert len(set(picked)) == k and set(picked) == {str(u) for u in hot}, "two scans took the same unit"
    for _, b, *_ in flat:
        if b["status"] == "warning":
            assert "over-pick" in b["message"]
    _assert_consistent(fl, list_id, [s1, s2], handled_units=hot)
    assert fl.get(f"/lcs/shipments/{s2}")["is_handled"] is True
    assert fl.get(f"/lcs/shipments/{s1}")["is_handled"] is False  # SKU-COLD untouched
    assert fl.get(f"/lcs/lists/{list_id}/station")["next"]["sku"] == "SKU-COLD"


def test_pack_scans_by_many_threads_pack_each_unit_once(app, floor):
    """Issue 15: packers scanning the same SKU of one shipment at once — each picked unit
    lands in exactly one parcel, one more than was picked is a warning, and the racing first
    scans open one parcel between them, not one each."""
    fl = floor
    k, threads, per_thread = 6, 8, 2
    sid = fl.shipment([("SKU-PACK", k)])
    list_id = fl.make_list([sid])
    with app.app_context():
        db.session.execute(sa.update(ShipmentItem).where(ShipmentItem.list_id == list_id).values(is_handled=True))
        db.session.commit()
        db.session.remove()

    def work(i):
        return [
            _http(fl.base, "POST", f"/lcs/shipments/{sid}/pack/scan", {"code": "SKU-PACK"}, fl.token(i))
            for _ in range(per_thread)
        ]

    flat = [r for rs in _storm(threads, work) for r in rs]
    _no_5xx(flat)
    assert all(s == 200 for s, *_ in flat), Counter(s for s, *_ in flat)
    assert Counter(b["status"] for _, b, *_ in flat) == {"ok": k, "warning": threads * per_thread - k}
    packed = [b["item_id"] for _, b, *_ in flat if b["status"] == "ok"]
    assert len(set(packed)) == k, "two scans packed the same unit"
    station = fl.get(f"/lcs/shipments/{sid}/pack")
    assert len(station["parcels"]) == 1 and sorted(station["parcels"][0]["item_ids"]) == sorted(packed)
    assert station["lines"] == [
        {"sku": "SKU-PACK", "description": "SKU-PACK widget", "needed": k, "picked": k, "packed": k}
    ]


def test_close_racing_pack_scans_never_leaves_a_unit_packed_after_the_label(app, floor):
    """A parcel closed while packers scan: every unit in it went in before it was closed
    (the label counts what is in the box), the scans after it fill parcel 2, none is lost."""
    from models import Parcel

    fl = floor
    k, threads, per_thread = 16, 5, 3  # 1 + 4 × 3 scans: every one finds a unit
    sid = fl.shipment([("SKU-BOX", k)])
    list_id = fl.make_list([sid])
    with app.app_context():
        db.session.execute(sa.update(ShipmentItem).where(ShipmentItem.list_id == list_id).values(is_handled=True))
        db.session.commit()
        db.session.remove()
    scan = {"code": "SKU-BOX"}

    def work(i):
        if i:
            return [
                _http(fl.base, "POST", f"/lcs/shipments/{sid}/pack/scan", scan, fl.token(i)) for _ in range(per_thread)
            ]
        first = _http(fl.base, "POST", f"/lcs/shipments/{sid}/pack/scan", scan, fl.token(i))
        close = _http(fl.base, "POST", f"/lcs/parcels/{first[1]['parcel_id']}/close", {"weight": 700}, fl.token(i))
        return [first, close]

    flat = [r for rs in _storm(threads, work) for r in rs]
    _no_5xx(flat)
    assert all(s == 200 for s, *_ in flat), [(s, b) for s, b, *_ in flat if s != 200]
    with app.app_context():
        parcels = db.session.scalars(
            sa.select(Parcel).where(Parcel.shipment_id == sid).order_by(Parcel.created_at)
        ).all()
        closed = [p for p in parcels if p.closed_at is not None]
        assert len(closed) == 1 and closed[0].weight == 700
        late = db.session.scalars(
            sa.select(ShipmentItem.id).where(
                ShipmentItem.parcel_id == closed[0].id, ShipmentItem.updated_at > closed[0].closed_at
            )
        ).all()
        assert not late, f"{len(late)} unit(s) packed into parcel 1 after it was closed"
        packed = db.session.scalar(
            sa.select(sa.func.count(ShipmentItem.id)).where(
                ShipmentItem.shipment_id == sid, ShipmentItem.parcel_id.is_not(None)
            )
        )
        db.session.remove()
    oks = sum(1 for _, b, *_ in flat if b.get("status") == "ok")
    assert packed == oks == 1 + (threads - 1) * per_thread
    assert len(parcels) <= 2


# --- (c) the same list finished by many threads at once ------------------------------------------


def _handled_but_open(app, list_id) -> None:
    """Every unit of the list handled while the list stays open — as a list handled before
    lists finished with their last unit (or one a rule kept open) is: only an explicit finish
    closes it."""
    with app.app_context():
        db.session.execute(sa.update(ShipmentItem).where(ShipmentItem.list_id == list_id).values(is_handled=True))
        db.session.commit()
        db.session.remove()


def test_last_units_handled_by_many_threads_at_once_finish_the_list_once(floor):
    """Each picker handles a different one of the last open units at the same moment (a scan
    or an items PUT): whoever commits last finishes the list — it cannot end up complete but
    open, nor finish twice."""
    fl = floor
    s1 = fl.shipment([(f"SKU-{n}", 1) for n in range(THREADS // 2)])
    s2 = fl.shipment([(f"SKU-{n}", 1) for n in range(THREADS // 2, THREADS)])
    list_id = fl.make_list([s1, s2])
    units = fl.units(list_id)
    assert len(units) == THREADS

    def work(i):
        if i % 2:
            return [_http(fl.base, "POST", f"/lcs/lists/{list_id}/scan", {"code": units[i].sku}, fl.token(i))]
        body = [{"id": str(units[i].id), "is_handled": True}]
        return [_http(fl.base, "PUT", f"/lcs/lists/{list_id}/items", body, fl.token(i))]

    flat = [r for rs in _storm(THREADS, work) for r in rs]
    _no_5xx(flat)
    assert Counter(s for s, *_ in flat) == {200: THREADS // 2, 204: THREADS // 2}, Counter(s for s, *_ in flat)
    assert len(fl.events(list_id, "finished")) == 1
    listed = fl.get(f"/lcs/lists/{list_id}")
    assert listed["is_finished"] is True and listed["finished_at"]
    _assert_consistent(fl, list_id, [s1, s2], handled_units=[u.id for u in units])


def test_list_finished_by_many_threads_finishes_once(app, floor):
    fl = floor
    s1 = fl.shipment([("SKU-F", 3)])
    s2 = fl.shipment([("SKU-G", 2)])
    list_id = fl.make_list([s1, s2])
    ids = [u.id for u in fl.units(list_id)]
    _handled_but_open(app, list_id)

    def work(i):
        return [_http(fl.base, "PUT", f"/lcs/lists/{list_id}/state", {"is_finished": True}, fl.token(i))]

    flat = [r for rs in _storm(THREADS, work) for r in rs]
    _no_5xx(flat)
    assert Counter(s for s, *_ in flat) == {204: 1, 409: THREADS - 1}, Counter(s for s, *_ in flat)
    for s, b, *_ in flat:
        if s == 409:
            assert b["code"] and "finished" in b["message"], b
    assert len(fl.events(list_id, "finished")) == 1
    listed = fl.get(f"/lcs/lists/{list_id}")
    assert listed["is_finished"] is True and listed["finished_at"] and listed["is_in_progress"] is False
    assert fl.get(f"/lcs/lists/{list_id}/station")["progress"]["open"] == 0
    for sid in (s1, s2):
        assert fl.get(f"/lcs/shipments/{sid}")["is_handled"] is True
    # A finished list refuses further changes (409, never 5xx).
    status, _, *_ = _http(
        fl.base, "PUT", f"/lcs/lists/{list_id}/items", [{"id": str(ids[0]), "is_handled": False}], fl.token(1)
    )
    assert status == 409
    assert {u.id for u in fl.units(list_id) if u.is_handled} == set(ids)


def test_finish_by_scan_and_by_state_race_finishes_once(app, floor):
    """``WHARF:FINISH`` scans and ``PUT …/state`` racing each other: still one finish."""
    fl = floor
    s1 = fl.shipment([("SKU-H", 2)])
    list_id = fl.make_list([s1])
    _handled_but_open(app, list_id)

    def work(i):
        if i % 2:
            return [_http(fl.base, "POST", f"/lcs/lists/{list_id}/scan", {"code": "WHARF:FINISH"}, fl.token(i))]
        return [_http(fl.base, "PUT", f"/lcs/lists/{list_id}/state", {"is_finished": True}, fl.token(i))]

    flat = [r for rs in _storm(THREADS, work) for r in rs]
    _no_5xx(flat)
    wins = [(s, b) for s, b, *_ in flat if s == 204 or (s == 200 and b["status"] == "done")]
    assert len(wins) == 1, Counter(s for s, *_ in flat)
    assert all(s == 409 for s, b, *_ in flat if (s, b) not in wins), Counter(s for s, *_ in flat)
    assert len(fl.events(list_id, "finished")) == 1


# --- (d) the same shipment put on two lists at once ------------------------------------------------


def test_shipment_claimed_by_two_lists_at_once_lands_on_one(app, floor):
    fl = floor
    for round_ in range(4):
        shared = fl.shipment([("SKU-S", 2)])
        own = [fl.shipment([("SKU-O", 1)]), fl.shipment([("SKU-P", 1)])]

        def work(i, own=own, shared=shared):
            body = {"shipments": [{"id": str(own[i])}, {"id": str(shared)}]}  # the shared one second
            return [_http(fl.base, "POST", "/lcs/lists", body, fl.token(i))]

        flat = [r for rs in _storm(2, work) for r in rs]
        _no_5xx(flat)
        assert sorted(s for s, *_ in flat) == [200, 409], flat
        ((winner_i, (_, won, *_)),) = [(i, r) for i, r in enumerate(flat) if r[0] == 200]
        _, lost, *_ = flat[1 - winner_i]
        assert "already on an active handling list" in lost["message"], lost
        list_id = won["id"]
        with app.app_context():
            active = db.session.scalars(sa.select(Shipment.active_list_id).where(Shipment.id == shared)).all()
            n_lists = db.session.scalar(sa.select(sa.func.count(HandlingList.id)))
            on_lists = db.session.scalars(
                sa.select(ShipmentItem.list_id).where(ShipmentItem.shipment_id == shared).distinct()
            ).all()
            loser_own = db.session.scalar(sa.select(Shipment.active_list_id).where(Shipment.id == own[1 - winner_i]))
            db.session.remove()
        assert [str(a) for a in active] == [list_id]
        assert [str(x) for x in on_lists] == [list_id], "units of the shipment ended up on two lists"
        assert loser_own is None, "the losing request left its other shipment claimed"
        assert n_lists == round_ + 1, "the losing request left a list behind"
        s = fl.get(f"/lcs/shipments/{shared}")
        assert s["is_listed"] is True and s["active_list_id"] == list_id and s["is_editable"] is False
        assert fl.get(f"/lcs/shipments/{own[1 - winner_i]}")["is_editable"] is True
        detail = fl.get(f"/lcs/lists/{list_id}")
        assert set(detail["shipments"]) == {str(own[winner_i]), str(shared)}
        assert sum(i["quantity"] for i in detail["items"]) == 3


def test_a_deadlock_victim_is_run_again(app):
    """Two units of work lock two rows in opposite orders: PostgreSQL aborts one of them, and
    ``retry_on_deadlock`` runs it again (it then waits for the other and succeeds)."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite takes one database-wide write lock: no row-lock deadlocks")
    from models import Counter as Row
    from models import db
    from models.base import retry_on_deadlock

    with app.app_context():
        t = new_tenant("Locks")
        db.session.add_all([Row(tenant_id=t.id, name="a", value=0), Row(tenant_id=t.id, name="b", value=0)])
        db.session.commit()
        tenant_id = t.id
    both_hold_one = threading.Barrier(2)
    runs = Counter()

    def bump(name):
        db.session.execute(
            sa.update(Row).where(Row.tenant_id == tenant_id, Row.name == name).values(value=Row.value + 1)
        )

    def work(first, second):
        @retry_on_deadlock
        def unit():
            runs[first] += 1
            bump(first)
            if runs[first] == 1:
                both_hold_one.wait(timeout=5)  # the first time, each holds its first row
            bump(second)
            db.session.commit()

        with app.app_context():
            unit()
            db.session.remove()

    threads = [threading.Thread(target=work, args=("a", "b")), threading.Thread(target=work, args=("b", "a"))]
    [t.start() for t in threads]
    [t.join(timeout=30) for t in threads]
    with app.app_context():
        values = dict(db.session.execute(sa.select(Row.name, Row.value).where(Row.tenant_id == tenant_id)).all())
        db.session.remove()
    assert values == {"a": 2, "b": 2}  # both units of work committed exactly once
    assert sorted(runs.values()) == [1, 2]  # one of them was the deadlock victim and ran again
