"""The lead's floor view (/lcs/floor): every number checked against seeded shipments,
lists, parcels and scan events at known times — JSON, page, htmx fragment, a real browser;
another tenant's floor never counted; ``?date=`` picks the day."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from models import Parcel, ScanEvent, Shipment, ShipmentItem, User, db
from services import roles as roles_svc
from tests.support import (
    BROWSER,
    api_token,
    bearer,
    browser_login,
    expect,
    new_list,
    new_shipment,
    open_and_sign_in,
    parcel,
    scan,
    tenant_admin,
)

DAY = date(2026, 11, 20)
SHOTS = Path("/tmp/shots-f")


def at(hh: int, mm: int = 0, ss: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=UTC)


ITEMS = [{"sku": "SKU-A", "quantity": 2, "position": "A1"}, {"sku": "SKU-B", "quantity": 1, "position": "B2"}]


@dataclass
class Floor:
    lead: str
    h: dict
    ann: uuid.UUID
    bob: uuid.UUID
    shipments: dict
    live_list: dict
    old: dict


def _events(tenant_id, list_id, user_id, *events):
    """ScanEvent rows at fixed times: (kind, time, undone?, item_id?)."""
    for kind, when, *rest in events:
        undone = rest[0] if rest else False
        item_id = rest[1] if len(rest) > 1 else None
        db.session.add(
            ScanEvent(
                tenant_id=tenant_id,
                list_id=list_id,
                user_id=user_id,
                kind=kind,
                created_at=when,
                undone=undone,
                item_id=item_id,
            )
        )


def _label(parcel_id, created: datetime, requested: datetime):
    db.session.execute(
        sa.update(Parcel)
        .where(Parcel.id == uuid.UUID(parcel_id))
        .values(created_at=created, label={"file_id": "f", "requested_at": requested.isoformat()})
    )


def _created(shipment: dict, when: datetime, **values):
    db.session.execute(
        sa.update(Shipment).where(Shipment.id == uuid.UUID(shipment["id"])).values(created_at=when, **values)
    )


def _seed_other_tenant(app, make, client):
    """Globex: a bigger, older floor on the same day — none of it may show for Acme."""
    globex = make.tenant("Globex")
    boss = tenant_admin(app, globex, "boss@globex.test")
    gh = bearer(api_token(client, boss))
    g_ship = new_shipment(client, gh, items=ITEMS)
    g_old = new_shipment(client, gh, items=ITEMS)
    g_list = new_list(client, gh, g_ship["id"])
    scan(client, gh, g_list, "SKU-A")  # a live pick on a live list of Globex
    g_parcel = parcel(client, gh, g_old)
    with app.app_context():
        boss_id = db.session.scalar(sa.select(User.id).where(User.email == boss))
        _created(g_ship, at(8))
        _created(g_old, at(8, day=DAY - timedelta(days=10)))
        _label(g_parcel["id"], at(9), at(12))
        unit = g_ship["items"][0]["id"]
        _events(
            globex,
            uuid.UUID(g_list),
            boss_id,
            *[("handled", at(9, n)) for n in range(5)],
            ("rejected", at(9, 30)),
            ("missing", at(9, 40), False, uuid.UUID(unit)),
        )
        db.session.commit()


@pytest.fixture()
def floor(app, make, tenant, client):
    """Acme's floor on DAY: one shipment in each state, two pickers with known scans."""
    make.member(tenant, "lead@acme.test", roles_svc.ADMINISTRATOR, name="Lea Lead")
    ann = make.member(tenant, "ann@acme.test", roles_svc.WAREHOUSE_STAFF, name="Ann Picker")
    bob = make.member(tenant, "bob@acme.test", roles_svc.WAREHOUSE_STAFF, name="Bob Picker")
    h = bearer(api_token(client, "lead@acme.test"))
    s = {k: new_shipment(client, h, items=ITEMS) for k in ("open", "listed", "picked", "boxed", "labeled", "transit")}
    s["canceled"] = new_shipment(client, h, items=ITEMS)
    s["due"] = new_shipment(client, h, items=ITEMS)
    old = new_shipment(client, h, items=ITEMS)
    picked_list = new_list(client, h, s["picked"]["id"])
    live_list = new_list(client, h, s["listed"]["id"])
    assert client.delete(f"/lcs/shipments/{s['canceled']['id']}", headers=h).status_code == 204
    parcel(client, h, s["boxed"])
    labeled = parcel(client, h, s["labeled"])
    transit = parcel(client, h, s["transit"])
    assert client.put(f"/lcs/lists/{live_list}/state", json={"sub": str(bob)}, headers=h).status_code == 204
    with app.app_context():
        for key, hour in zip(s, range(6, 14), strict=True):
            _created(s[key], at(hour))
        _created(s["due"], at(7, day=DAY - timedelta(days=2)), ship_at=at(15))  # due today: counted
        _created(old, at(8, day=DAY - timedelta(days=3)))  # not of the day: the oldest open one
        db.session.execute(
            sa.update(ShipmentItem)
            .where(ShipmentItem.shipment_id == uuid.UUID(s["picked"]["id"]))
            .values(is_handled=True)
        )
        _label(labeled["id"], at(10), at(10, 2))  # 120 s
        _label(transit["id"], at(23, 50, day=DAY - timedelta(days=1)), at(0, 5))  # 900 s, requested on DAY
        db.session.commit()
    assert client.put(f"/lcs/parcels/{transit['id']}/transit", headers=h).status_code == 204
    a1, a1b, b2 = (uuid.UUID(u["id"]) for u in s["picked"]["items"])
    with app.app_context():
        tid, lid = tenant, uuid.UUID(picked_list)
        _events(
            tid,
            lid,
            ann,
            ("handled", at(9, 5)),
            ("handled", at(9, 20)),
            ("rejected", at(9, 30)),
            ("missing", at(9, 40), False, a1),
            ("handled", at(9, 50)),
            ("handled", at(10, 10), True),  # undone: a scan, not a pick
            ("unhandled", at(10, 10, 5)),
            ("pending", at(10, 11)),
            ("handled", at(23, 59, 59, day=DAY - timedelta(days=1))),  # the day before
            ("handled", at(0, day=DAY + timedelta(days=1))),  # the day after
        )
        _events(
            tid,
            lid,
            bob,
            ("handled", at(10, 15)),
            ("handled", at(10, 45)),
            ("missing", at(10, 50), False, a1b),
            ("handled", at(11, 5)),
            ("rejected", at(11, 10)),
            ("rejected", at(11, 20)),
            ("handled", at(11, 25)),
            ("missing", at(11, 30), False, b2),
            ("finished", at(11, 40)),
        )
        # Bob worked on the live list, but more than an hour ago: not one of its pickers now.
        _events(tid, uuid.UUID(live_list), bob, ("pending", datetime.now(UTC) - timedelta(minutes=61)))
        db.session.commit()
    # Ann picks on the live list right now (a real scan).
    scan(client, bearer(api_token(client, "ann@acme.test")), live_list, "SKU-A")
    _seed_other_tenant(app, make, client)
    return Floor("lead@acme.test", h, ann, bob, s, {"id": live_list}, old)


def _view(client, h, day: date | None = DAY):
    r = client.get("/lcs/floor", query_string={"date": day.isoformat()} if day else {}, headers=h)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


EXPECTED_SHIPMENTS = {
    "total": 8,
    "open": 2,
    "listed": 1,
    "handled": 1,
    "boxed": 1,
    "labeled": 1,
    "in_transit": 1,
    "canceled": 1,
}


class TestNumbers:
    def test_every_number_of_the_day(self, client, floor):
        v = _view(client, floor.h)
        assert v["date"] == "2026-11-20"
        assert v["from"] == "2026-11-20T00:00:00.000Z" and v["to"] == "2026-11-21T00:00:00.000Z"
        assert v["shipments"] == EXPECTED_SHIPMENTS
        bob, ann = v["scans"]["pickers"]
        assert bob == {
            "user_id": str(floor.bob),
            "name": "Bob Picker",
            "picks": 4,
            "scans": 4,
            "rejected": 2,
            "error_rate": 0.3333,
            "hours": [{"hour": 10, "picks": 2}, {"hour": 11, "picks": 2}],
        }
        assert ann == {
            "user_id": str(floor.ann),
            "name": "Ann Picker",
            "picks": 3,
            "scans": 4,
            "rejected": 1,
            "error_rate": 0.2,
            "hours": [{"hour": 9, "picks": 3}],
        }
        assert {k: v["scans"][k] for k in ("picks", "scans", "rejected", "error_rate")} == {
            "picks": 7,
            "scans": 8,
            "rejected": 3,
            "error_rate": 0.2727,
        }
        assert v["short_picks"] == {
            "total": 3,
            "positions": [{"position": "A1", "count": 2}, {"position": "B2", "count": 1}],
        }
        assert v["packing"] == {"parcels": 2, "median_seconds": 510}

    def test_live_lists_and_oldest_open(self, client, floor):
        v = _view(client, floor.h)
        (live,) = v["lists"]  # the picked list never started: not in progress
        assert live["id"] == floor.live_list["id"] and live["sub"] == str(floor.bob)
        assert live["assignee"] == "Bob Picker"
        assert live["pickers"] == [{"user_id": str(floor.ann), "name": "Ann Picker"}]  # Bob: 61 min ago
        assert live["progress"] == {"total": 3, "handled": 1, "missing": 0, "percent": 33}
        oldest = v["oldest_open"]
        assert oldest["number"] == floor.old["number"] and oldest["created_at"] == "2026-11-17T08:00:00.000Z"
        generated = datetime.fromisoformat(v["generated_at"])
        expected_age = (generated - at(8, day=DAY - timedelta(days=3))).total_seconds()
        assert abs(oldest["age_seconds"] - expected_age) <= 1

    def test_today_by_default(self, client, floor):
        today = datetime.now(UTC).date()
        v = _view(client, floor.h, day=None)
        assert v["date"] == today.isoformat()
        # Only Ann's live scan is today (the seeded day is in the past); nothing of Globex.
        (ann,) = v["scans"]["pickers"]
        assert (ann["name"], ann["picks"], ann["hours"]) == (
            "Ann Picker",
            1,
            [{"hour": datetime.now(UTC).hour, "picks": 1}],
        )
        assert v["shipments"]["total"] == 0 and v["packing"] == {"parcels": 0, "median_seconds": None}

    def test_another_day(self, client, floor):
        v = _view(client, floor.h, day=DAY - timedelta(days=1))
        (ann,) = v["scans"]["pickers"]
        assert ann["picks"] == 1 and ann["hours"] == [{"hour": 23, "picks": 1}]
        assert v["shipments"]["total"] == 0 and v["short_picks"] == {"total": 0, "positions": []}
        assert v["packing"]["parcels"] == 0
        # An empty day: no numbers, but the live parts stay.
        empty = _view(client, floor.h, day=date(2020, 1, 1))
        assert empty["scans"] == {"picks": 0, "scans": 0, "rejected": 0, "error_rate": None, "pickers": []}
        assert len(empty["lists"]) == 1 and empty["oldest_open"]["number"] == floor.old["number"]

    def test_other_tenant_sees_only_its_own(self, client, floor):
        gh = bearer(api_token(client, "boss@globex.test"))
        v = _view(client, gh)
        assert v["shipments"]["total"] == 1 and v["scans"]["picks"] == 5 and v["scans"]["rejected"] == 1
        assert v["short_picks"]["total"] == 1 and v["packing"] == {"parcels": 1, "median_seconds": 3 * 3600}
        assert [hl["progress"]["handled"] for hl in v["lists"]] == [1]

    def test_a_handful_of_queries(self, app, floor):
        """Grouped in the database: the statement count does not grow with units, events,
        lists or pickers (one per figure, one for the users' names)."""
        from services.acl import Actor
        from services.logistics.floor_view import floor_view

        statements = []
        with app.app_context():
            lead = db.session.scalars(sa.select(User).where(User.email == floor.lead)).one()
            actor = Actor.of(lead)

            def record(_conn, _cursor, statement, *_rest):
                statements.append(statement)

            sa.event.listen(db.engine, "before_cursor_execute", record)
            try:
                v = floor_view(actor, DAY)
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", record)
        assert v["scans"]["picks"] == 7 and len(statements) <= 9, statements

    @pytest.mark.parametrize("bad", ["2026-13-01", "20-11-2026", "2026-11-20T10:00:00", "1763596800", "today"])
    def test_bad_date_is_refused(self, client, floor, bad):
        r = client.get("/lcs/floor", query_string={"date": bad}, headers=floor.h)
        # Invalid input is a 400 in Wharf (api-conventions.md), in the family-B envelope.
        assert r.status_code == 400, r.get_data(as_text=True)
        assert r.get_json()["errors"] == {"invalid value": ["date"]}

    def test_needs_handling_read(self, app, client, make, tenant, floor):
        from tests.support import with_features

        none = bearer(api_token(client, with_features(app, tenant, "nobody@acme.test", [])))
        assert client.get("/lcs/floor", headers=none).status_code == 403
        assert client.get("/lcs/floor").status_code == 401


# --- page and fragment ---------------------------------------------------------------------


def _stats(html: str) -> dict:
    return dict(re.findall(r'data-stat="([\w-]+)"[^>]*>([^<]*)<', html))


def _expected_stats(old_number: str) -> dict:
    stats = {f"shipments-{k}": str(n) for k, n in EXPECTED_SHIPMENTS.items()}
    return stats | {
        "picks": "7",
        "error-rate": "27.3 %",
        "short-picks": "3",
        "pack-median": "8 min 30 s",
        "oldest-number": old_number,
    }


class TestRendering:
    def test_page(self, client, floor):
        browser_login(client, floor.lead)
        r = client.get("/lcs/floor?date=2026-11-20", headers=BROWSER)
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and "<html" in html and "<h1>Floor view</h1>" in html
        stats, expected = _stats(html), _expected_stats(floor.old["number"])
        assert {k: stats[k] for k in expected} == expected
        assert re.search(r'<tr data-picker="Bob Picker"><td>Bob Picker</td><td class="num">4</td>', html)
        assert re.search(r'<tr data-picker="Ann Picker"><td>Ann Picker</td><td class="num">3</td>', html)
        assert 'id="picks-chart"' in html and html.count("<rect ") == 3  # Ann 09h, Bob 10h and 11h
        assert "Bob Picker, 10:00–11:00: 2 picks" in html
        assert 'hx-trigger="every 30s"' in html and 'hx-get="/lcs/floor?date=2026-11-20"' in html
        assert 'value="2026-11-20"' in html
        assert "Globex" not in html and "boss@globex.test" not in html

    def test_fragment_is_the_numbers_only(self, client, floor):
        browser_login(client, floor.lead)
        r = client.get(
            "/lcs/floor?date=2026-11-20",
            headers={**BROWSER, "HX-Request": "true", "HX-Target": "floor-numbers"},
        )
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and "<html" not in html and "<h1>" not in html
        assert html.lstrip().startswith('<div id="floor-numbers"')
        stats = _stats(html)
        assert {k: stats[k] for k in _expected_stats(floor.old["number"])} == _expected_stats(floor.old["number"])
        assert "Vary" in r.headers and "HX-Request" in r.headers["Vary"]

    def test_short_picks_link_only_when_the_page_exists(self, app, client, floor):
        browser_login(client, floor.lead)
        html = client.get("/lcs/floor?date=2026-11-20", headers=BROWSER).get_data(as_text=True)
        link = 'href="/lcs/short-picks"'
        assert (link in html) == ("lcs.short_picks" in app.view_functions)


def test_joined_flags_agree_with_the_shipment_flags(app, floor):
    """``shipments.tallied`` (the floor's grouped flags) says what ``flags_for`` says, flag
    by flag, for every seeded shipment."""
    from services.logistics.shipments import FLAGS, flags_for, tallied

    with app.app_context():
        rows = db.session.scalars(sa.select(Shipment)).all()
        ids = sa.select(Shipment.id)
        joined, flag = tallied(ids)
        grouped = {
            r[0]: dict(zip(FLAGS, r[1:], strict=True))
            for r in db.session.execute(
                sa.select(Shipment.id, *(flag(f) for f in FLAGS)).select_from(joined).where(Shipment.id.in_(ids))
            )
        }
        expected = {sid: {f: flags[f] for f in FLAGS} for sid, flags in flags_for(rows).items()}
        assert len(rows) == 11 and {sid: {f: bool(v) for f, v in g.items()} for sid, g in grouped.items()} == expected


def test_chart_stacks_pickers_in_an_hour():
    from blueprints.lcs.floor import picks_chart

    pickers = [
        {"name": "Ann", "picks": 5, "hours": [{"hour": 8, "picks": 3}, {"hour": 10, "picks": 2}]},
        {"name": "Bob", "picks": 3, "hours": [{"hour": 8, "picks": 3}]},
        {"name": "Cy", "picks": 0, "hours": []},
    ]
    chart = picks_chart(pickers)
    assert [c["label"] for c in chart["columns"]] == ["08", "09", "10"]  # the empty hour keeps its place
    assert [c["total"] for c in chart["columns"]] == [6, 0, 2] and chart["top"] == 6
    ann8, ann10, bob8 = chart["bars"]
    assert ann8["x"] == bob8["x"] and bob8["y"] + bob8["h"] == ann8["y"]  # Bob stacked on Ann
    assert ann8["h"] == bob8["h"] == 75 and ann8["y"] + ann8["h"] == ann10["y"] + ann10["h"] == chart["base"]
    assert [s["name"] for s in chart["series"]] == ["Ann", "Bob"] and ann8["colour"] != bob8["colour"]
    assert picks_chart([{"name": "Cy", "picks": 0, "hours": []}]) is None


def test_duration_for_people():
    from blueprints.lcs.floor import duration

    assert [duration(s) for s in (None, 0, 59, 95, 3600, 3725, 90000)] == [
        "—",
        "0 s",
        "59 s",
        "1 min 35 s",
        "1 h",
        "1 h 2 min",
        "1 d 1 h",
    ]


# --- a real browser --------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [(1366, 800), (360, 740)], ids=["desktop", "handheld"])
def test_floor_view_in_a_browser(live_server, browser, floor, viewport):
    from tests.support import new_page

    context, page = new_page(browser, viewport={"width": viewport[0], "height": viewport[1]})
    try:
        open_and_sign_in(page, live_server, floor.lead)
        page.goto(f"{live_server}/lcs/floor?date=2026-11-20")
        expect(page.locator("h1")).to_have_text("Floor view")
        for key, value in _expected_stats(floor.old["number"]).items():
            expect(page.locator(f'[data-stat="{key}"]')).to_have_text(value)
        expect(page.locator("svg#picks-chart rect")).to_have_count(3)
        assert page.locator("svg#picks-chart").bounding_box()["width"] <= viewport[0]
        # The page does not scroll sideways on a handheld.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"floor-{viewport[0]}.png"), full_page=True)
        # Refresh swaps the numbers in place (no reload): a marker on window survives.
        page.evaluate("window.__marker = 1")
        stamp = page.locator(".floor-stamp time")
        before = stamp.get_attribute("datetime")
        page.wait_for_timeout(1100)
        page.click("#floor-numbers button:has-text('Refresh')")
        expect(stamp).not_to_have_attribute("datetime", before)
        assert page.evaluate("window.__marker === 1")
        expect(page.locator('[data-stat="picks"]')).to_have_text("7")
        # The oldest open shipment links to its page.
        page.click('[data-stat="oldest-number"]')
        expect(page.locator("h1")).to_contain_text(floor.old["number"])
    finally:
        context.close()
