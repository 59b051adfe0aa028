"""Issue 16 item 3: a lead enters a manual or replacement shipment in the browser (it could only
be made through the API): the "New shipment" page, its refusals inline, and its JSON choices."""

from __future__ import annotations

import re

import pytest

from tests.support import BROWSER, api_token, bearer, browser_login, csrf_from, expect, open_and_sign_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


def test_a_lead_enters_a_shipment_at_1366(client, h, admin, live_server, desktop_page):
    m = client.post("/lcs/methods", json={"carrier_code": "postnl", "name": "PostNL Standard"}, headers=h).get_json()
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + "/lcs/shipments")
    page.get_by_role("link", name="New shipment").click()
    page.wait_for_url(re.compile(r".*/lcs/shipments/new$"))
    page.fill("input[name=order_id]", "REPL-77")
    page.select_option("select[name=method_id]", m["id"])
    page.fill("input[name='addressing.to.address.name']", "Anne de Vries")
    page.fill("input[name='addressing.to.address.city']", "Delft")
    page.fill("input[name='addressing.to.address.country_code']", "NL")
    page.fill("input[name='items.0.description']", "Kettle")  # no SKU: refused inline, typed text kept
    page.click("button:has-text('Create shipment')")
    expect(page.locator("#shipment-form .field-error").first).to_be_visible()
    expect(page.locator("input[name=order_id]")).to_have_value("REPL-77")
    page.fill("input[name='items.0.sku']", "KETTLE")
    page.fill("input[name='items.0.quantity']", "2")
    page.fill("input[name='items.2.sku']", "MUG-RED")
    page.click("button:has-text('Create shipment')")
    page.wait_for_url(re.compile(r".*/lcs/shipments/[0-9a-f-]{36}$"))
    sid = page.url.rsplit("/", 1)[1]
    s = client.get(f"/lcs/shipments/{sid}", headers=h).get_json()
    assert s["order_id"] == "REPL-77" and s["method_id"] == m["id"]
    assert [u["sku"] for u in s["items"]] == ["KETTLE", "KETTLE", "MUG-RED"]
    assert s["addressing"]["to"]["address"]["city"] == "Delft"


def test_new_shipment_choices_and_the_contract_unchanged(client, h, admin):
    m = client.post("/lcs/methods", json={"carrier_code": "dhl", "name": "DHL Parcel"}, headers=h).get_json()
    loc = client.post("/lcs/locations", json={"name": "Delft DC"}, headers=h)
    choices = client.get("/lcs/shipments/new", headers=h).get_json()
    assert {"id": m["id"], "name": "DHL Parcel"} in choices["methods"]
    assert [c["name"] for c in choices["locations"]] == (["Delft DC"] if loc.status_code in (200, 201) else [])
    # a JSON client still gets the shipment with 200 (no redirect)
    r = client.post("/lcs/shipments", json={"items": [{"sku": "A", "quantity": 1}]}, headers=h)
    assert r.status_code == 200 and r.get_json()["number"].startswith("S-")
    # a plain page post goes on to the new shipment's page
    browser_login(client, admin)
    csrf = csrf_from(client.get("/lcs/shipments/new", headers=BROWSER).get_data(as_text=True))
    page = client.post("/lcs/shipments", data={"csrf_token": csrf, "items.0.sku": "B"}, headers=BROWSER)
    assert page.status_code == 303 and re.search(r"/lcs/shipments/[0-9a-f-]{36}$", page.headers["Location"])


def test_the_shipment_page_tells_its_history(client, h, admin, live_server, desktop_page, mobile_page):
    """Item 16 (part): created, put on a list, picked (by whom), packed, labelled — newest first."""
    from tests.support import new_list, new_shipment, parcel, scan

    s = new_shipment(client, h, items=[{"sku": "MUG-RED", "quantity": 1, "description": "Mug"}])
    hl = new_list(client, h, s["id"])
    scan(client, h, hl, "MUG-RED")
    p = parcel(client, h, client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json())
    assert client.post(f"/lcs/parcels/{p['id']}/label", headers=h).status_code == 204
    for page, width in ((desktop_page, 1366), (mobile_page, 360)):
        open_and_sign_in(page, live_server, admin)
        page.goto(f"{live_server}/lcs/shipments/{s['id']}")
        lines = page.locator("ol.timeline li .what")
        expect(lines.first).to_have_text(f"Label of parcel {p['number']} requested")
        texts = lines.all_inner_texts()
        assert texts[-1] == f"Shipment {s['number']} created"
        assert "MUG-RED picked" in texts and any(t.startswith("Put on handling list HL-") for t in texts)
        expect(page.locator("ol.timeline li", has_text="MUG-RED picked")).to_contain_text("Ada Admin")
        page.screenshot(path=f"/tmp/shots-pack/shipment-history-{width}.png", full_page=True)


def test_a_lead_corrects_a_shipment_while_it_is_editable(client, h, admin, live_server, desktop_page):
    """Item 3, second half: edit one while it is editable; no Edit once it is on a list."""
    from tests.support import new_list, new_shipment

    dhl = client.post("/lcs/methods", json={"carrier_code": "dhl", "name": "DHL Parcel"}, headers=h).get_json()
    s = new_shipment(client, h)
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/lcs/shipments/{s['id']}")
    page.get_by_role("link", name="Edit").click()
    page.wait_for_url(re.compile(r".*/edit$"))
    expect(page.locator("input[name=order_id]")).to_have_value("ORD-7")
    page.select_option("select[name=method_id]", dhl["id"])
    page.fill("input[name='addressing.to.address.city']", "Utrecht")
    page.fill("input[name='addressing.to.address.country_code']", "12")  # not a country: refused inline
    page.click("button:has-text('Save shipment')")
    expect(page.locator("#shipment-form .field-error").first).to_be_visible()
    expect(page.locator("input[name='addressing.to.address.city']")).to_have_value("Utrecht")
    page.fill("input[name='addressing.to.address.country_code']", "NL")
    page.click("button:has-text('Save shipment')")
    page.wait_for_url(re.compile(r".*/lcs/shipments/[0-9a-f-]{36}$"))
    saved = client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json()
    assert saved["method_id"] == dhl["id"] and saved["addressing"]["to"]["address"]["city"] == "Utrecht"
    assert saved["order_id"] == "ORD-7" and len(saved["items"]) == 3  # units untouched

    new_list(client, h, s["id"])
    page.goto(f"{live_server}/lcs/shipments/{s['id']}")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    assert client.get(f"/lcs/shipments/{s['id']}/edit", headers=h).status_code == 409
