"""Seed-true finishing and short picks (issue 15, parts 1–2).

Seed 001 has no finish call (``PUT /lcs/lists/{id}/state`` takes ``is_on_hold`` and ``sub``):
the write that handles or marks missing the last open unit finishes the list. A GUARD rule
on ``lcs.list`` ``finishing`` keeps the list open (``finish_blocked``) without undoing the
handling. ``WHARF:MISSING`` at the station short-picks the current pick, first sending the
picker to another position that holds the SKU; the lead reads ``GET /lcs/short-picks``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from models import Location, Position, ScanEvent, Scope, db
from services import roles as roles_svc
from tests.support import (
    ARTIFACTS,
    BROWSER,
    api_token,
    bearer,
    browser_login,
    expect,
    new_list,
    new_shipment,
    open_and_sign_in,
    scan,
)


@pytest.fixture()
def picker(make, tenant):
    make.member(tenant, "pick@acme.test", roles_svc.WAREHOUSE_STAFF)
    return "pick@acme.test"


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


@pytest.fixture()
def ph(client, picker):
    return bearer(api_token(client, picker))


HX = {"HX-Request": "true"}


def _detail(client, h, list_id) -> dict:
    r = client.get(f"/lcs/lists/{list_id}", headers=h)
    assert r.status_code == 200
    return r.get_json()


def _units(client, h, shipment_id) -> list[dict]:
    return client.get(f"/lcs/shipments/{shipment_id}", headers=h).get_json()["items"]


def _events(app, list_id, kind) -> list[ScanEvent]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(ScanEvent)
            .where(ScanEvent.list_id == uuid.UUID(list_id), ScanEvent.kind == kind)
            .order_by(ScanEvent.created_at)
        ).all()
        db.session.expunge_all()
        return list(rows)


def _positions(app, tenant, *rows):
    """A location with positions (code, sorting, skus) — the walk order and where SKUs are."""
    with app.app_context():
        loc = Scope(tenant).add(Location(name="DC"))
        db.session.flush()
        for code, sorting, skus in rows:
            Scope(tenant).add(Position(location_id=loc.id, code=code, sorting=sorting, skus=skus))
        db.session.commit()


def _guard(client, h, **fields) -> str:
    """A GUARD on finishing a list: refused while any unit is missing."""
    body = {
        "ruleId": "no-missing",
        "ruleName": "No missing units",
        "ruleType": "GUARD",
        "entityType": "lcs.list",
        "eventType": "finishing",
        "conditionExpression": {"field": "progress.missing", "operator": "=", "value": 0},
        "failureActions": [{"type": "SHOW_ERROR", "config": {"message": "{{number}}: call the lead first"}}],
        **fields,
    }
    r = client.post("/api/business_rules/rules", json=body, headers=h)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


# --- the last unit finishes the list --------------------------------------------------------------


def test_last_unit_via_put_items_finishes(app, client, h, ph):
    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 2}])
    list_id = new_list(client, h, s["id"])
    first, second = (u["id"] for u in s["items"])
    put = lambda body: client.put(f"/lcs/lists/{list_id}/items", json=body, headers=ph)
    assert put([{"id": first, "is_handled": True}]).status_code == 204
    open_still = _detail(client, h, list_id)
    assert open_still["is_finished"] is False and open_still["finished_at"] is None
    assert put([{"id": second, "is_handled": True}]).status_code == 204
    done = _detail(client, h, list_id)
    assert done["is_finished"] is True and done["finished_at"] and done["is_in_progress"] is False
    assert done["finish_blocked"] is None
    assert len(_events(app, list_id, "finished")) == 1
    # a finished list refuses further handling writes, and does not finish twice
    assert put([{"id": second, "is_handled": False}]).status_code == 409
    assert client.put(f"/lcs/lists/{list_id}/state", json={"is_finished": True}, headers=ph).status_code == 409
    assert len(_events(app, list_id, "finished")) == 1


def test_last_unit_via_scan_finishes_and_the_event_follows_the_commit(app, client, h, ph):
    from services import events

    heard = []

    def listener(entity, event, data, context):
        if (entity, event) == ("lcs.list", "finished"):
            with app.app_context():  # the finish is already committed when "finished" is heard
                heard.append(_detail(client, h, data["id"])["is_finished"])

    events.subscribe("after", listener)
    try:
        s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-B", "quantity": 1}])
        list_id = new_list(client, h, s["id"])
        assert scan(client, ph, list_id, "SKU-A")["status"] == "ok"
        assert heard == []
        last = scan(client, ph, list_id, "SKU-B")
    finally:
        events._listeners["after"].remove(listener)
    assert last["status"] == "done" and last["action"] == "handled" and last["is_finished"] is True
    assert last["message"] == "SKU-B picked — HL-000001 finished"
    assert heard == [True]
    detail = _detail(client, h, list_id)
    assert detail["is_finished"] and detail["finished_at"]


def test_last_unit_marked_missing_via_the_shipment_finishes(app, client, h, ph):
    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-B", "quantity": 1}])
    list_id = new_list(client, h, s["id"])
    scan(client, ph, list_id, "SKU-A")
    b = next(u["id"] for u in s["items"] if u["sku"] == "SKU-B")
    r = client.put(f"/lcs/shipments/{s['id']}/items/missing", json=[{"id": b, "is_missing": True}], headers=h)
    assert r.status_code == 204
    detail = _detail(client, h, list_id)
    assert detail["is_finished"] is True and detail["finished_at"]
    shipment = client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json()
    assert shipment["is_handled"] is True  # the missing unit does not hold the shipment's flag back
    assert [u["is_missing"] for u in shipment["items"] if u["sku"] == "SKU-B"] == [True]
    # the API's missing unit is a short pick too (no reason given)
    [missing] = _events(app, list_id, "missing")
    assert missing.reason is None and str(missing.item_id) == b
    # re-sending what is already so is fine; taking it back on a finished list is a 409
    assert (
        client.put(
            f"/lcs/shipments/{s['id']}/items/missing", json=[{"id": b, "is_missing": True}], headers=h
        ).status_code
        == 204
    )
    found = client.put(f"/lcs/shipments/{s['id']}/items/missing", json=[{"id": b, "is_missing": False}], headers=h)
    assert found.status_code == 409 and "is finished" in found.get_json()["message"]
    assert [u["is_missing"] for u in _units(client, h, s["id"]) if u["sku"] == "SKU-B"] == [True]


def test_missing_on_an_open_list_can_be_taken_back_and_a_held_list_refuses(app, client, h, ph):
    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 2}])
    list_id = new_list(client, h, s["id"])
    a, b = (u["id"] for u in s["items"])
    missing = lambda uid, value: client.put(
        f"/lcs/shipments/{s['id']}/items/missing", json=[{"id": uid, "is_missing": value}], headers=h
    )
    assert missing(a, True).status_code == 204
    assert missing(a, False).status_code == 204  # found again: no longer a short pick
    assert [e.undone for e in _events(app, list_id, "missing")] == [True]
    assert client.put(f"/lcs/lists/{list_id}/state", json={"is_on_hold": True}, headers=h).status_code == 204
    held = missing(b, True)
    assert held.status_code == 409 and "on hold" in held.get_json()["message"]
    assert not any(u["is_missing"] for u in _units(client, h, s["id"]))
    other = new_shipment(client, h, items=[{"sku": "SKU-Z"}])["items"][0]["id"]
    stranger = missing(other, True)
    assert stranger.status_code == 400 and stranger.get_json()["errors"] == {"invalid value": ["0.id"]}


# --- a GUARD on finishing ------------------------------------------------------------------------


def test_guard_keeps_the_list_open_with_units_handled_and_says_why(app, client, h, ph, picker):
    rule = _guard(client, h)
    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-B", "quantity": 1}])
    list_id = new_list(client, h, s["id"])
    short = scan(client, ph, list_id, "WHARF:MISSING")  # SKU-A (first in walk order) is short
    assert short["action"] == "missing" and short["status"] == "ok"
    last = client.post(f"/lcs/lists/{list_id}/scan", json={"code": "SKU-B"}, headers=ph)
    body = last.get_json()
    assert last.status_code == 200 and body["action"] == "handled" and body["status"] == "warning"
    assert body["message"] == "SKU-B picked — HL-000001 not finished: HL-000001: call the lead first"
    assert body["is_finished"] is False and body["finish_blocked"] == "HL-000001: call the lead first"
    # the handling committed: the unit stays handled, the list stays open
    detail = _detail(client, h, list_id)
    assert detail["is_finished"] is False and detail["finished_at"] is None
    assert detail["finish_blocked"] == "HL-000001: call the lead first"
    assert [u["is_handled"] for u in _units(client, h, s["id"]) if u["sku"] == "SKU-B"] == [True]
    assert _events(app, list_id, "finished") == [] and len(_events(app, list_id, "handled")) == 1
    # the refusal's rule log is kept although the finish inside the scan was undone
    logs = client.get(f"/api/business_rules/logs?ruleId={rule}", headers=h).get_json()["items"]
    assert [entry["executionResult"] for entry in logs] == ["FAILURE"]
    # the list page and the station show why
    browser_login(client, picker)
    page = client.get(f"/lcs/lists/{list_id}", headers=BROWSER).get_data(as_text=True)
    assert 'class="notice finish-blocked"' in page and "HL-000001: call the lead first" in page
    station = client.get(f"/lcs/lists/{list_id}/station", headers=BROWSER).get_data(as_text=True)
    assert 'class="station-blocked"' in station and "HL-000001: call the lead first" in station
    # an explicit finish is still refused (422, nothing changes) …
    refused = client.put(f"/lcs/lists/{list_id}/state", json={"is_finished": True}, headers=ph)
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"blocked by rule": ["no-missing"]}
    # … until the rule lets it through: the message goes with the finish
    assert client.put("/api/business_rules/rules", json={"id": rule, "enabled": False}, headers=h).status_code == 200
    assert client.put(f"/lcs/lists/{list_id}/state", json={"is_finished": True}, headers=ph).status_code == 204
    done = _detail(client, h, list_id)
    assert done["is_finished"] is True and done["finish_blocked"] is None
    assert len(_events(app, list_id, "finished")) == 1


def test_guard_on_the_api_handling_write_still_answers_204(client, h, ph):
    _guard(client, h)
    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 2}])
    list_id = new_list(client, h, s["id"])
    a, b = (u["id"] for u in s["items"])
    assert (
        client.put(f"/lcs/shipments/{s['id']}/items/missing", json=[{"id": a, "is_missing": True}], headers=h)
    ).status_code == 204
    r = client.put(f"/lcs/lists/{list_id}/items", json=[{"id": b, "is_handled": True}], headers=ph)
    assert r.status_code == 204
    detail = _detail(client, h, list_id)
    assert detail["is_finished"] is False and detail["finish_blocked"] == "HL-000001: call the lead first"
    assert detail["items"][0]["handled_ids"] == [b]
    # un-picking opens the list again: the message no longer stands
    assert (
        client.put(f"/lcs/lists/{list_id}/items", json=[{"id": b, "is_handled": False}], headers=ph).status_code == 204
    )
    assert _detail(client, h, list_id)["finish_blocked"] is None


# --- short picks at the station -------------------------------------------------------------------


def test_wharf_missing_with_a_reason_over_the_api(app, client, h, ph):
    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B", "quantity": 1}])
    list_id = new_list(client, h, s["id"])
    r = client.post(f"/lcs/lists/{list_id}/scan", json={"code": "WHARF:MISSING", "reason": "damaged"}, headers=ph)
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "ok" and body["action"] == "missing"
    assert body["sku"] == "SKU-A" and body["message"] == "SKU-A: 1 marked missing (damaged)"
    assert body["progress"] == {"total": 3, "handled": 0, "missing": 1, "open": 2, "percent": 33}
    assert body["next"]["sku"] == "SKU-A" and body["next"]["left"] == 1  # the station moves on within the line
    [event] = _events(app, list_id, "missing")
    assert (event.reason, str(event.item_id)) == ("damaged", body["item_id"])
    assert [u["is_missing"] for u in _units(client, h, s["id"]) if u["id"] == body["item_id"]] == [True]
    default = scan(client, ph, list_id, "wharf:missing")  # no reason: the location was empty
    assert default["message"] == "SKU-A: 1 marked missing (empty location)"
    assert _events(app, list_id, "missing")[-1].reason == "empty_location"
    bad = client.post(f"/lcs/lists/{list_id}/scan", json={"code": "WHARF:MISSING", "reason": "lost"}, headers=ph)
    assert bad.status_code == 400
    # the last open unit short-picked: the list finishes
    last = client.post(
        f"/lcs/lists/{list_id}/scan", json={"code": "WHARF:MISSING", "reason": "wrong_item"}, headers=ph
    ).get_json()
    assert last["status"] == "done" and last["is_finished"] is True and last["progress"]["missing"] == 3
    shipment = client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json()
    assert shipment["is_handled"] is False  # nothing of it was picked: the derived flag says so


def test_short_pick_is_redirected_to_an_untried_position_first(app, client, h, ph, tenant):
    _positions(app, tenant, ("A-01", 10, ["SKU-A"]), ("B-01", 20, ["SKU-B"]), ("C-01", 30, ["SKU-A"]))
    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B", "quantity": 1}])
    list_id = new_list(client, h, s["id"])
    start = client.get(f"/lcs/lists/{list_id}/station", headers=ph).get_json()
    assert (start["next"]["position"], start["next"]["sku"], start["next"]["left"]) == ("A-01", "SKU-A", 2)
    tried = scan(client, ph, list_id, "WHARF:MISSING")
    assert tried["status"] == "warning" and tried["action"] == "redirected" and tried["message"] == "Try position C-01"
    assert (tried["next"]["position"], tried["next"]["sku"], tried["next"]["left"]) == ("C-01", "SKU-A", 2)
    assert tried["progress"]["missing"] == 0  # nothing is missing yet
    [redirect] = _events(app, list_id, "redirected")
    assert (redirect.code, redirect.reason) == ("A-01", "empty_location")
    # at C-01 one unit is there, the other is not: no position is left untried → missing
    assert scan(client, ph, list_id, "SKU-A")["status"] == "ok"
    short = scan(client, ph, list_id, "WHARF:MISSING")
    assert short["action"] == "missing" and short["progress"]["missing"] == 1
    [missing] = _events(app, list_id, "missing")
    assert missing.code == "C-01"
    assert short["next"]["sku"] == "SKU-B" and short["next"]["position"] == "B-01"


def test_station_fragment_short_pick(client, h, picker):
    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-B", "quantity": 1}])
    list_id = new_list(client, h, s["id"])
    csrf = browser_login(client, picker)
    page = client.get(f"/lcs/lists/{list_id}/station", headers=BROWSER).get_data(as_text=True)
    assert "<summary>Can't find it</summary>" in page
    assert page.count('data-scan-code="WHARF:MISSING"') == 3 and 'data-reason="wrong_item"' in page
    frag = client.post(
        f"/lcs/lists/{list_id}/scan",
        headers={**HX, "X-CSRFToken": csrf},
        data={"code": "WHARF:MISSING", "reason": "wrong_item"},
    )
    html = frag.get_data(as_text=True)
    assert frag.status_code == 200 and html.lstrip().startswith('<div id="station-panel"')
    assert "SKU-A: 1 marked missing (wrong item)" in html and "<code>SKU-B</code>" in html
    assert "<!doctype html>" not in html


# --- short picks for the lead ----------------------------------------------------------------------


def test_short_picks_report_three_ways(app, client, make, h, ph, picker, tenant):
    _positions(app, tenant, ("A-01", 10, ["SKU-A"]), ("B-01", 20, ["SKU-B"]))
    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 3}, {"sku": "SKU-B", "quantity": 2}])
    list_id = new_list(client, h, s["id"])
    for reason in ("damaged", "empty_location"):
        client.post(f"/lcs/lists/{list_id}/scan", json={"code": "WHARF:MISSING", "reason": reason}, headers=ph)
    scan(client, ph, list_id, "SKU-A")
    b = [u["id"] for u in s["items"] if u["sku"] == "SKU-B"]
    mark = lambda uid, value: client.put(
        f"/lcs/shipments/{s['id']}/items/missing", json=[{"id": uid, "is_missing": value}], headers=h
    )
    assert mark(b[1], True).status_code == mark(b[1], False).status_code == 204  # taken back: does not count
    assert mark(b[0], True).status_code == 204
    today = datetime.now(UTC).date().isoformat()
    r = client.get("/lcs/short-picks", headers=ph)
    assert r.status_code == 200
    assert r.get_json() == [
        {"day": today, "position": "A-01", "sku": "SKU-A", "count": 2, "reasons": {"damaged": 1, "empty_location": 1}},
        {"day": today, "position": "B-01", "sku": "SKU-B", "count": 1, "reasons": {"unspecified": 1}},
    ]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get("/lcs/short-picks", query_string={"since": later}, headers=ph).get_json() == []
    assert client.get("/lcs/short-picks", query_string={"days": 0}, headers=ph).status_code == 400
    # another tenant's staff sees none of it
    make.member(make.tenant("Other Co"), "pick@other.test", roles_svc.WAREHOUSE_STAFF)
    assert client.get("/lcs/short-picks", headers=bearer(api_token(client, "pick@other.test"))).get_json() == []
    browser_login(client, picker)
    page = client.get("/lcs/short-picks", headers=BROWSER).get_data(as_text=True)
    assert "<!doctype html>" in page and "<h1>Short picks</h1>" in page and "Damaged 1" in page
    frag = client.get("/lcs/short-picks?days=1", headers={**HX, "HX-Target": "short-picks"}).get_data(as_text=True)
    assert frag.lstrip().startswith('<div id="short-picks">') and "<h1>" not in frag
    assert "No reason given 1" in frag and "B-01" in frag


# --- in a browser at 360 × 740 ----------------------------------------------------------------------


@pytest.mark.browser
def test_short_pick_at_the_station_on_a_handheld(app, client, h, picker, mobile_page, live_server, tenant):
    """ "Can't find it" on the current pick: the reasons open (by touch, and by keyboard), the
    chosen reason marks one unit missing, and the station moves on to the next pick."""
    page = mobile_page
    s = new_shipment(
        client,
        h,
        items=[{"sku": "SKU-A", "quantity": 1, "description": "Mug"}, {"sku": "SKU-B", "quantity": 2}],
    )
    list_id = new_list(client, h, s["id"])
    open_and_sign_in(page, live_server, picker)
    page.goto(f"{live_server}/lcs/lists/{list_id}/station")
    page.wait_for_function("window.htmx !== undefined")
    panel = page.locator("#station-panel")
    expect(panel.locator(".pick-sku")).to_contain_text("SKU-A")
    reasons = panel.get_by_role("group", name="Why can't SKU-A be picked?")
    expect(reasons).to_be_hidden()
    panel.get_by_text("Can't find it").click()
    expect(reasons).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "station-short-pick-360.png"), full_page=True)
    reasons.get_by_role("button", name="Damaged").click()
    expect(page.locator(".station-panel.status-ok")).to_be_visible()
    expect(panel.locator(".station-message")).to_have_text("SKU-A: 1 marked missing (damaged)")
    expect(panel.locator(".pick-sku")).to_contain_text("SKU-B")  # moved on
    expect(panel.locator(".progress-count")).to_have_text("0/3")
    expect(page.locator("#scan-input")).to_be_focused()  # back to the scanner

    # by keyboard: the summary opens the reasons and focuses the first, Tab to the next, Enter
    panel.locator("summary").focus()
    page.keyboard.press("Enter")
    first = panel.get_by_role("button", name="Empty location")
    expect(first).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(panel.get_by_role("button", name="Wrong item")).to_be_focused()
    page.keyboard.press("Enter")
    expect(panel.locator(".station-message")).to_have_text("SKU-B: 1 marked missing (wrong item)")
    expect(panel.locator(".pick-sku")).to_contain_text("SKU-B × 1")
    # Escape closes the reasons without a short pick
    panel.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(first).to_be_focused()
    page.keyboard.press("Escape")
    expect(panel.get_by_role("group", name="Why can't SKU-B be picked?")).to_be_hidden()
    expect(page.locator("#scan-input")).to_be_focused()
    page.keyboard.type("SKU-B")
    page.keyboard.press("Enter")
    expect(page.locator(".station-panel.status-done")).to_be_visible()  # the last unit finished the list
    page.screenshot(path=str(ARTIFACTS / "station-short-pick-done-360.png"), full_page=True)
    with app.app_context():
        reasons_kept = db.session.scalars(
            sa.select(ScanEvent.reason)
            .where(ScanEvent.list_id == uuid.UUID(list_id), ScanEvent.kind == "missing")
            .order_by(ScanEvent.created_at)
        ).all()
        db.session.remove()
    assert reasons_kept == ["damaged", "wrong_item"]


def test_bulk_missing_agrees_with_the_station(app, client, h, ph):
    """``PUT /lcs/bulk/items`` {is_missing}: the third way to mark units missing counts toward
    finishing and in the short-picks report like the other two."""
    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-B", "quantity": 2}])
    list_id = new_list(client, h, s["id"])
    bulk = lambda missing: client.put(
        "/lcs/bulk/items",
        json={
            "command": "set_parameters",
            "parameters": {"is_missing": missing},
            "constraints": [{"key": "skus", "operator": "in", "value": ["SKU-B"]}],
        },
        headers=h,
    )
    assert bulk(True).status_code == 204
    assert bulk(False).status_code == 204  # found again: open again, no short pick left
    assert _detail(client, h, list_id)["is_finished"] is False
    assert [e.undone for e in _events(app, list_id, "missing")] == [True, True]
    assert bulk(True).status_code == 204
    assert _detail(client, h, list_id)["is_finished"] is False  # SKU-A is still to pick
    assert scan(client, ph, list_id, "SKU-A")["status"] == "done"
    assert bulk(False).status_code == 409  # the list is finished: its units no longer change
    # and the bulk write that resolves the last unit finishes a list too
    s2 = new_shipment(client, h, items=[{"sku": "SKU-C", "quantity": 1}])
    list2 = new_list(client, h, s2["id"])
    r = client.put(
        "/lcs/bulk/items",
        json={
            "command": "set_parameters",
            "parameters": {"is_handled": True},
            "constraints": [{"key": "list_ids", "operator": "in", "value": [list2]}],
        },
        headers=h,
    )
    assert r.status_code == 204 and _detail(client, h, list2)["is_finished"] is True
    [row] = client.get("/lcs/short-picks", headers=h).get_json()
    assert (row["sku"], row["count"], row["reasons"]) == ("SKU-B", 2, {"unspecified": 2})


def test_canceling_the_last_open_shipment_of_a_list_finishes_it(client, h, ph):
    s1 = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 1}])
    s2 = new_shipment(client, h, items=[{"sku": "SKU-B", "quantity": 1}])
    list_id = new_list(client, h, s1["id"], s2["id"])
    assert scan(client, ph, list_id, "SKU-A")["status"] == "ok"
    assert client.delete(f"/lcs/shipments/{s2['id']}", headers=h).status_code == 204
    detail = _detail(client, h, list_id)
    assert detail["is_finished"] is True and [i["sku"] for i in detail["items"]] == ["SKU-A"]
    # a list emptied by cancels is not "finished": there was nothing to pick
    s3 = new_shipment(client, h, items=[{"sku": "SKU-C", "quantity": 1}])
    list3 = new_list(client, h, s3["id"])
    assert client.delete(f"/lcs/shipments/{s3['id']}", headers=h).status_code == 204
    assert _detail(client, h, list3)["is_finished"] is False
