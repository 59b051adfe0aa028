"""Issue 16 item 6 at 1366 × 800: the pack station says where the parcel goes and what the
method takes, suggests a weight from the catalogue, groups "pack by hand" per SKU with nothing
pre-ticked, and lets a parcel whose label a weight rule refused be corrected and labelled."""

from __future__ import annotations

import pytest

from tests.support import (
    api_token,
    bearer,
    expect,
    open_and_sign_in,
    picked_shipment,
)

pytestmark = pytest.mark.browser
SHOTS = "/tmp/shots-pack"


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


def _weight_rule(client, h):
    client.post("/api/business_rules/rules/examples", headers=h)
    rules = client.get("/api/business_rules/rules?pageSize=100", headers=h).get_json()["items"]
    rule = next(r for r in rules if r["ruleId"] == "parcel-max-weight")
    assert (
        client.put("/api/business_rules/rules", json={"id": rule["id"], "enabled": True}, headers=h).status_code == 200
    )


def test_pack_station_facts_weight_hint_and_grouped_units(client, h, admin, live_server, desktop_page):
    m = client.post(
        "/lcs/methods", json={"carrier_code": "postnl", "name": "PostNL Standard", "max_weight": 23000}, headers=h
    )
    for sku, grams in (("MUG-RED", 350), ("KETTLE", 1200)):
        client.post("/lcs/products", json={"sku": sku, "description": sku.title(), "weight": grams}, headers=h)
    s = picked_shipment(
        client,
        h,
        items=[
            {"sku": "MUG-RED", "quantity": 3, "description": "Mug"},
            {"sku": "KETTLE", "quantity": 1, "description": "Kettle"},
        ],
        method_id=m.get_json()["id"],
    )
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/lcs/shipments/{s['id']}/pack")
    facts = page.locator(".pack-facts")
    expect(facts).to_contain_text("Ship to")
    expect(facts).to_contain_text("PostNL Standard · max 23000 g")

    by_hand = page.locator("details", has_text="Pack by hand")
    by_hand.locator("summary").click()
    expect(by_hand.locator("fieldset.pack-sku")).to_have_count(2)
    expect(by_hand.locator("input[name=item_ids]:checked")).to_have_count(0)
    mugs = by_hand.locator("fieldset.pack-sku", has_text="MUG-RED")
    expect(mugs).to_contain_text("3 × MUG-RED")
    mugs.locator("input[data-select-all]").check()
    expect(by_hand.locator("input[name=item_ids]:checked")).to_have_count(3)

    page.locator("#scan-input").fill("MUG-RED")
    page.locator("#scan-input").press("Enter")
    page.locator("#scan-input").fill("KETTLE")
    page.locator("#scan-input").press("Enter")
    expect(page.locator("#weight-hint")).to_contain_text("about 1550 g")
    expect(page.locator("#weight-hint")).to_contain_text("the method takes up to 23000 g")
    page.screenshot(path=f"{SHOTS}/pack-1366.png", full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=f"{SHOTS}/pack-360.png", full_page=True)


def test_a_refused_label_can_have_its_weight_corrected(client, h, admin, live_server, desktop_page):
    _weight_rule(client, h)
    m = client.post(
        "/lcs/methods", json={"carrier_code": "postnl", "name": "PostNL Standard", "max_weight": 23000}, headers=h
    )
    s = picked_shipment(client, h, method_id=m.get_json()["id"])
    r = client.post(
        "/lcs/parcels",
        json={"shipment_id": s["id"], "weight": 30000, "item_ids": [u["id"] for u in s["items"]]},
        headers=h,
    )
    parcel = r.get_json()
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/lcs/shipments/{s['id']}/pack")
    card = page.locator(".parcel", has_text=parcel["number"])
    card.get_by_role("button", name="Request label").click()
    expect(page.locator("#toasts")).to_contain_text("30000 g")
    # the refusal stays on the parcel once the toast is gone (and through a reload)
    page.reload()
    expect(page.locator(".parcel", has_text=parcel["number"]).locator(".label-blocked")).to_contain_text("30000 g")
    assert "30000 g" in client.get(f"/lcs/parcels/{parcel['id']}", headers=h).get_json()["label_blocked"]
    # the refusal left the parcel open: its close form takes the corrected weight and labels it
    page.locator("#close-weight").fill("2100")
    page.get_by_role("button", name="Close parcel").click()
    expect(page.locator(".parcel", has_text=parcel["number"])).to_contain_text("2100 g")
    expect(page.locator(".parcel", has_text=parcel["number"]).get_by_role("link", name="Open label")).to_be_visible()
    expect(page.locator(".label-blocked")).to_have_count(0)
    assert client.get(f"/lcs/parcels/{parcel['id']}", headers=h).get_json()["weight"] == 2100


def test_a_finished_label_turns_the_parcel_into_relabel_without_a_reload(client, h, admin, live_server, desktop_page):
    """1366 px: after the label was ready the parcel still offered "Request label" until a reload."""
    s = picked_shipment(client, h)
    r = client.post(
        "/lcs/parcels",
        json={"shipment_id": s["id"], "weight": 900, "item_ids": [u["id"] for u in s["items"]]},
        headers=h,
    )
    number = r.get_json()["number"]
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/lcs/shipments/{s['id']}/pack")
    page.evaluate("window.__marker = 1")
    card = page.locator(".parcel", has_text=number)
    card.get_by_role("button", name="Request label").click()
    card = page.locator(".parcel", has_text=number)
    expect(card.get_by_role("button", name="Relabel")).to_be_visible()
    expect(card.get_by_role("link", name="Open label")).to_be_visible()
    assert page.evaluate("window.__marker === 1"), "the page reloaded"
