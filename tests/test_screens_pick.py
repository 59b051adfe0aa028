"""Issue 16, items 4, 8 (second and third parts) and 9 at the scan station, walked at 360 px:
the same SKU at the same position for several shipments is one pick (the total, then where
each unit goes); a toggle switched while a station is open reaches it with its next poll; a
confirmed quantity takes the whole quantity; a rule that blocks finishing is one state."""

from __future__ import annotations

import uuid

import pytest

from models import HandlingList, Location, Position, Scope, db
from services import roles
from tests.support import (
    api_token,
    bearer,
    browser_login,
    expect,
    new_shipment,
    open_and_sign_in,
    override,
    pdftotext,
    scan,
)

PICKER = "pick@acme.test"
SHOTS = "/tmp/shots-b"
MUG = [{"sku": "MUG-RED", "quantity": 1, "description": "Red mug"}]


@pytest.fixture()
def h(client, make, tenant, admin):
    """Admin's API headers; a signed-up picker."""
    make.member(tenant, PICKER, roles.WAREHOUSE_STAFF)
    return bearer(api_token(client, admin))


@pytest.fixture()
def ph(client, h):
    return bearer(api_token(client, PICKER))


def shelf(app, tenant):
    """A location whose position A-01-2 holds MUG-RED (A-01-1 the kettles, walked first)."""
    with app.app_context():
        loc = Scope(tenant).add(Location(name="DC"))
        db.session.flush()
        Scope(tenant).add(Position(location_id=loc.id, code="A-01-1", sorting=1, skus=["KETTLE"]))
        Scope(tenant).add(Position(location_id=loc.id, code="A-01-2", sorting=2, skus=["MUG-RED"]))
        db.session.commit()
        return loc.id


def mugs_list(client, h, quantities=(2, 1, 1)) -> tuple[str, list[dict]]:
    """Three shipments each holding MUG-RED (2, 1, 1 by default), one list, totes A, B, C."""
    ships = [new_shipment(client, h, items=[{**MUG[0], "quantity": q}]) for q in quantities]
    r = client.post(
        "/lcs/lists",
        json={"shipments": [{"id": s["id"], "label": label} for s, label in zip(ships, "ABC", strict=False)]},
        headers=h,
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()["id"], ships


def open_station(page, live_server, list_id):
    open_and_sign_in(page, live_server, PICKER)
    page.goto(f"{live_server}/lcs/lists/{list_id}/station")
    page.wait_for_function("window.htmx !== undefined")


def type_scan(page, code):
    page.locator("#scan-input").fill(code)
    page.keyboard.press("Enter")


# --- item 4: pick per position --------------------------------------------------------------------


def test_next_pick_is_the_total_at_the_position_and_says_where_each_goes(app, client, h, ph, tenant):
    """The service: four mugs at A-01-2 over three shipments are one pick of four, split 2/1/1."""
    shelf(app, tenant)
    list_id, ships = mugs_list(client, h)
    first = client.get(f"/lcs/lists/{list_id}/station", headers=ph).get_json()["next"]
    assert (first["sku"], first["position"], first["left"]) == ("MUG-RED", "A-01-2", 4)
    assert [(p["sorting_label"], p["left"], p["number"]) for p in first["split"]] == [
        ("A", 2, ships[0]["number"]),
        ("B", 1, ships[1]["number"]),
        ("C", 1, ships[2]["number"]),
    ]
    picked = scan(client, ph, list_id, "MUG-RED")
    assert picked["message"] == "MUG-RED picked — put in A" and picked["next"]["left"] == 3
    assert [p["left"] for p in picked["next"]["split"]] == [1, 1, 1]
    # the seed's JSON for a list stays per unit
    listed = client.get("/lcs/lists", headers=h).get_json()[0]
    assert len(listed["items"]) == 4


def test_pick_list_pdf_groups_per_position_and_sku(app, client, h, tenant, tmp_path):
    shelf(app, tenant)
    list_id, ships = mugs_list(client, h)
    with app.app_context():
        from services import documents

        lines = documents.picklist_lines(db.session.get(HandlingList, uuid.UUID(list_id)))
    assert len(lines) == 1 and lines[0]["quantity"] == 4 and lines[0]["position"] == "A-01-2"
    assert [(p["quantity"], p["label"]) for p in lines[0]["split"]] == [(2, "A"), (1, "B"), (1, "C")]
    pdf = client.get(f"/lcs/lists/{list_id}/picklist.pdf", headers=h)
    text = pdftotext(pdf.data, tmp_path)
    assert text.count("MUG-RED") == 1, text
    assert f"2 → A · {ships[0]['number']}" in text and f"1 → C · {ships[2]['number']}" in text


@pytest.mark.browser
def test_station_and_list_page_at_360(app, mobile_page, client, h, tenant, live_server):
    """Item 4 at 360 px: the station says × 4 at A-01-2 and where each goes; after a pick
    × 3 (not "× 2" then "× 2" again); the list page names each line's shipment."""
    shelf(app, tenant)
    list_id, ships = mugs_list(client, h)
    page = mobile_page
    open_station(page, live_server, list_id)
    nxt = page.locator(".next-pick")
    expect(nxt.locator(".pick-position")).to_have_text("A-01-2")
    expect(nxt.locator(".pick-sku")).to_have_text("MUG-RED × 4")
    expect(nxt.locator(".pick-split li")).to_have_count(3)
    expect(nxt.locator(".pick-split li").first).to_contain_text("2 → A")
    page.screenshot(path=f"{SHOTS}/station-per-position-360.png")
    type_scan(page, "MUG-RED")
    expect(page.locator(".station-message")).to_have_text("MUG-RED picked — put in A")
    expect(nxt.locator(".pick-sku")).to_have_text("MUG-RED × 3")
    page.goto(f"{live_server}/lcs/lists/{list_id}")
    rows = page.locator("#list-live table").first.locator("tbody tr")
    expect(rows).to_have_count(3)
    for row, s in zip(rows.all(), ships, strict=True):
        expect(row).to_contain_text(s["number"])
    page.screenshot(path=f"{SHOTS}/list-shipment-column-360.png", full_page=True)


# --- item 8, third part: a confirmed quantity takes the whole quantity ------------------------------


def test_confirming_scan_takes_the_whole_quantity(app, client, h, ph, tenant):
    """Two kettles take two scans (the second confirms and takes both), not three; four mugs
    at one position over three shipments: two scans, and the answer says where each goes."""
    shelf(app, tenant)
    override(app, client, h, "lcs.scan.confirm_quantity", True)
    kettles = new_shipment(client, h, items=[{"sku": "KETTLE", "quantity": 2, "description": "Kettle"}])
    r = client.post("/lcs/lists", json={"shipments": [{"id": kettles["id"]}]}, headers=h)
    one = r.get_json()["id"]
    ask = scan(client, ph, one, "KETTLE")
    assert ask["action"] == "pending" and ask["message"] == "KETTLE: 2 to pick at A-01-1 — scan again to take all 2"
    took = scan(client, ph, one, "KETTLE")
    assert took["status"] == "done" and took["progress"]["handled"] == 2

    list_id, _ = mugs_list(client, h)
    assert scan(client, ph, list_id, "MUG-RED")["message"] == "MUG-RED: 4 to pick at A-01-2 — scan again to take all 4"
    took = scan(client, ph, list_id, "MUG-RED")
    assert took["status"] == "done" and took["progress"]["handled"] == 4
    assert took["message"] == "MUG-RED × 4 picked — put 2 in A, 1 in B, 1 in C — HL-000002 finished"


def test_confirmed_quantity_with_totes_to_confirm_goes_tote_by_tote(app, client, h, ph, tenant):
    """With lcs.scan.confirm_tote on as well, one confirmed scan takes one tote's units, then
    asks for that tote."""
    shelf(app, tenant)
    override(app, client, h, "lcs.scan.confirm_quantity", True)
    override(app, client, h, "lcs.scan.confirm_tote", True)
    list_id, _ = mugs_list(client, h)
    assert scan(client, ph, list_id, "MUG-RED")["action"] == "pending"
    took = scan(client, ph, list_id, "MUG-RED")
    assert took["message"] == "MUG-RED × 2 picked — scan tote A" and took["awaiting_tote"] is True
    assert scan(client, ph, list_id, "A")["action"] == "tote"
    assert scan(client, ph, list_id, "MUG-RED")["message"] == "MUG-RED picked — scan tote B"  # one left for B


@pytest.mark.browser
def test_confirm_quantity_at_360_two_scans_for_two_kettles(app, mobile_page, client, h, tenant, live_server):
    shelf(app, tenant)
    override(app, client, h, "lcs.scan.confirm_quantity", True)
    kettles = new_shipment(client, h, items=[{"sku": "KETTLE", "quantity": 2, "description": "Kettle"}])
    one = client.post("/lcs/lists", json={"shipments": [{"id": kettles["id"]}]}, headers=h).get_json()["id"]
    page = mobile_page
    open_station(page, live_server, one)
    expect(page.locator(".pick-confirm")).to_have_text("Scan once, then again to take all 2")
    type_scan(page, "KETTLE")
    expect(page.locator(".station-message")).to_contain_text("scan again to take all 2")
    type_scan(page, "KETTLE")
    expect(page.locator(".station-done")).to_contain_text("is finished")
    expect(page.locator(".progress-count")).to_have_text("2/2")
    page.screenshot(path=f"{SHOTS}/station-confirm-quantity-360.png")


# --- item 8, second part: a toggle reaches an open station ------------------------------------------


@pytest.mark.browser
def test_toggle_change_reaches_an_open_station_without_reload(app, mobile_page, client, h, tenant, live_server):
    shelf(app, tenant)
    kettles = new_shipment(client, h, items=[{"sku": "KETTLE", "quantity": 2, "description": "Kettle"}])
    one = client.post("/lcs/lists", json={"shipments": [{"id": kettles["id"]}]}, headers=h).get_json()["id"]
    page = mobile_page
    open_station(page, live_server, one)
    page.evaluate("document.documentElement.dataset.marker = '1'")
    expect(page.locator(".pick-sku")).to_have_text("KETTLE × 2")
    expect(page.locator(".pick-confirm")).to_have_count(0)
    override(app, client, h, "lcs.scan.confirm_quantity", True)
    expect(page.locator(".pick-confirm")).to_have_text("Scan once, then again to take all 2", timeout=8000)
    assert page.evaluate("document.documentElement.dataset.marker") == "1"  # polled in, not reloaded
    type_scan(page, "KETTLE")
    expect(page.locator(".station-message")).to_contain_text("scan again to take all 2")
    page.screenshot(path=f"{SHOTS}/station-toggle-live-360.png")


def test_the_station_etag_moves_with_the_scan_toggles(app, client, h, tenant):
    kettles = new_shipment(client, h, items=[{"sku": "KETTLE", "quantity": 2}])
    one = client.post("/lcs/lists", json={"shipments": [{"id": kettles["id"]}]}, headers=h).get_json()["id"]
    browser_login(client, PICKER)
    hx = {"HX-Request": "true", "HX-Target": "station-live"}
    first = client.get(f"/lcs/lists/{one}/station", headers=hx)
    etag = first.headers["ETag"]
    assert client.get(f"/lcs/lists/{one}/station", headers={**hx, "If-None-Match": etag}).status_code == 304
    override(app, client, h, "lcs.scan.confirm_tote", True)
    assert client.get(f"/lcs/lists/{one}/station", headers={**hx, "If-None-Match": etag}).status_code == 200


# --- item 9: a rule that blocks finishing is one state --------------------------------------------


@pytest.mark.browser
def test_blocked_finish_is_one_state_at_360(app, mobile_page, client, h, tenant, live_server):
    """A GUARD keeps the list open: the panel says it once (red: not finished, the rule's reason,
    what to do), never also the green "All units picked — press Finish"."""
    rule = {
        "ruleId": "no-missing",
        "ruleName": "No missing units",
        "ruleType": "GUARD",
        "entityType": "lcs.list",
        "eventType": "finishing",
        "conditionExpression": {"field": "progress.missing", "operator": "=", "value": 0},
        "failureActions": [{"type": "SHOW_ERROR", "config": {"message": "call the lead first"}}],
    }
    assert client.post("/api/business_rules/rules", json=rule, headers=h).status_code == 201
    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-B", "quantity": 1}])
    list_id = client.post("/lcs/lists", json={"shipments": [{"id": s["id"]}]}, headers=h).get_json()["id"]
    page = mobile_page
    open_station(page, live_server, list_id)
    panel = page.locator("#station-panel")
    page.get_by_text("Can't find it").click()
    page.get_by_role("button", name="Empty location").click()
    expect(panel.locator(".progress-count")).to_have_text("0/2")
    type_scan(page, "SKU-B")
    expect(panel.locator(".station-message")).to_have_text("SKU-B picked")
    for attempt in range(2):  # the pick that was refused, then Finish pressed again
        expect(panel).to_have_class("station-panel status-error")
        expect(panel.locator(".station-blocked")).to_contain_text("HL-000001 is not finished")
        expect(panel.locator(".station-blocked")).to_contain_text("What to do")
        expect(panel).not_to_contain_text("press Finish.")
        assert panel.inner_text().count("call the lead first") == 1, panel.inner_text()
        page.screenshot(path=f"{SHOTS}/station-blocked-{attempt}-360.png")
        page.get_by_role("button", name="Finish list").click()
        expect(panel.locator(".station-message")).to_have_count(0)
