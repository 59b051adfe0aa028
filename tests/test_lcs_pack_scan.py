"""Pack by scan (issue 15): ``POST /lcs/shipments/{id}/pack/scan`` moves one picked unit of
what was scanned into the shipment's open parcel, ``POST /lcs/parcels/{id}/close`` weighs
and labels it, and the pack station page works scan-first — JSON, htmx fragment and page."""

import json
import os
from pathlib import Path

import pytest

from services import roles as roles_svc
from tests.support import (
    BROWSER,
    api_token,
    bearer,
    browser_login,
    expect,
    new_shipment,
    open_and_sign_in,
    pack_scan,
    picked_shipment,
)

ITEMS = [{"sku": "SKU-A", "quantity": 2, "description": "Mug"}, {"sku": "SKU-B", "quantity": 1, "description": "Plate"}]
GTIN = "04006381333931"  # GS1 (01) of SKU-B's EAN-13 barcode 4006381333931


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


@pytest.fixture()
def packer(make, tenant):
    make.member(tenant, "pack@acme.test", roles_svc.WAREHOUSE_STAFF)
    return "pack@acme.test"


@pytest.fixture()
def s(client, h):
    return picked_shipment(client, h, ITEMS)


def _units(client, h, sid) -> list[dict]:
    return client.get(f"/lcs/shipments/{sid}", headers=h).get_json()["items"]


def _barcode(client, h, sku, code):
    r = client.post("/lcs/products", json={"sku": sku, "barcodes": [code]}, headers=h)
    assert r.status_code in (200, 201), r.get_json()


class TestScanContract:
    def test_sku_opens_a_parcel_and_packs_one_picked_unit(self, client, h, s):
        r = pack_scan(client, h, s["id"], "SKU-A")
        assert r["status"] == "ok" and r["sku"] == "SKU-A" and r["message"] == "SKU-A packed"
        assert r["parcel_index"] == 1 and r["parcel_count"] == 1 and len(r["parcel_number"]) == 18
        assert r["packed"] == 1 and r["to_pack"] == 2
        units = {u["id"]: u for u in _units(client, h, s["id"])}
        assert units[r["item_id"]]["parcel_id"] == r["parcel_id"] and units[r["item_id"]]["sku"] == "SKU-A"
        again = pack_scan(client, h, s["id"], "SKU-A")
        assert again["status"] == "ok" and again["parcel_id"] == r["parcel_id"] and again["item_id"] != r["item_id"]
        assert again["packed"] == 2 and again["to_pack"] == 1

    def test_product_barcode_packs_its_sku(self, client, h, s):
        _barcode(client, h, "SKU-B", GTIN[1:])
        r = pack_scan(client, h, s["id"], GTIN[1:])
        assert r["status"] == "ok" and r["sku"] == "SKU-B"

    def test_gs1_with_symbology_prefix_packs_by_gtin(self, client, h, s):
        _barcode(client, h, "SKU-B", GTIN[1:])
        r = pack_scan(client, h, s["id"], f"]C101{GTIN}")
        assert r["status"] == "ok" and r["sku"] == "SKU-B" and r["to_pack"] == 2

    def test_unit_id_packs_that_unit(self, client, h, s):
        unit = s["items"][1]
        r = pack_scan(client, h, s["id"], unit["id"])
        assert r["status"] == "ok" and r["item_id"] == unit["id"]
        twice = pack_scan(client, h, s["id"], unit["id"])
        assert twice["status"] == "warning" and "already packed" in twice["message"] and twice["packed"] == 1

    @pytest.mark.parametrize("code", ["NOPE-404", "OTHER-SKU", "WHARF:FINISH"])
    def test_foreign_code_is_an_error_and_changes_nothing(self, client, h, s, code):
        _barcode(client, h, "OTHER-SKU", "5901234123457")  # a known product, not in this shipment
        r = pack_scan(client, h, s["id"], code)
        assert r["status"] == "error" and r["item_id"] is None and r["parcel_id"] is None
        assert r["parcel_count"] == 0 and r["packed"] == 0 and r["to_pack"] == 3
        assert client.get("/lcs/parcels", headers=h).headers["x-count"] == "0"
        assert not any(u["is_boxed"] for u in _units(client, h, s["id"]))

    def test_foreign_unit_id_is_an_error(self, client, h, s):
        other = new_shipment(client, h)
        r = pack_scan(client, h, s["id"], other["items"][0]["id"])
        assert r["status"] == "error" and "is not in shipment" in r["message"]

    def test_one_more_than_picked_is_a_warning_and_changes_nothing(self, client, h, s):
        assert [pack_scan(client, h, s["id"], "SKU-A")["status"] for _ in range(2)] == ["ok", "ok"]
        r = pack_scan(client, h, s["id"], "SKU-A")
        assert r["status"] == "warning" and "one more than was picked (2)" in r["message"]
        assert r["item_id"] is None and r["packed"] == 2 and r["parcel_count"] == 1

    def test_unpicked_units_are_not_packed(self, client, h):
        s = picked_shipment(client, h, ITEMS, pick=2)  # SKU-B is still on the shelf
        r = pack_scan(client, h, s["id"], "SKU-B")
        assert r["status"] == "warning" and "one more than was picked (0)" in r["message"]
        assert r["parcel_count"] == 0
        unit = pack_scan(client, h, s["id"], s["items"][2]["id"])
        assert unit["status"] == "warning" and "not picked yet" in unit["message"]

    def test_other_tenants_shipment_is_404(self, client, h, s, make):
        other = make.tenant("Elsewhere")
        make.member(other, "pack@else.test", roles_svc.WAREHOUSE_STAFF)
        theirs = bearer(api_token(client, "pack@else.test"))
        r = client.post(f"/lcs/shipments/{s['id']}/pack/scan", json={"code": "SKU-A"}, headers=theirs)
        assert r.status_code == 404 and r.get_json()["code"] == 404
        mine = pack_scan(client, h, s["id"], "SKU-A")
        r = client.post(f"/lcs/parcels/{mine['parcel_id']}/close", json={"weight": 500}, headers=theirs)
        assert r.status_code == 404
        assert pack_scan(client, h, s["id"], "SKU-A")["packed"] == 2  # nothing of theirs happened

    @pytest.mark.parametrize(
        "body", [{}, {"code": ""}, {"code": "   "}, {"code": 7}, {"code": "A\x01B"}, {"code": "x" * 501}]
    )
    def test_bad_body_is_refused(self, client, h, s, body):
        """Invalid input is the project's ``ValidationFailed``: 400 with the field at fault."""
        r = client.post(f"/lcs/shipments/{s['id']}/pack/scan", json=body, headers=h)
        assert r.status_code == 400 and r.get_json()["code"] == 400 and "code" in json.dumps(r.get_json())
        assert client.get("/lcs/parcels", headers=h).headers["x-count"] == "0"

    def test_canceled_shipment_is_409(self, client, h):
        s = new_shipment(client, h)
        assert client.delete(f"/lcs/shipments/{s['id']}", headers=h).status_code == 204
        r = client.post(f"/lcs/shipments/{s['id']}/pack/scan", json={"code": "SKU-A"}, headers=h)
        assert r.status_code == 409


class TestClose:
    def test_close_weighs_labels_and_the_next_scan_opens_parcel_two(self, client, h, s):
        first = pack_scan(client, h, s["id"], "SKU-A")
        r = client.post(f"/lcs/parcels/{first['parcel_id']}/close", json={"weight": 800}, headers=h)
        assert r.status_code == 200 and r.headers["x-task-id"]
        closed = r.get_json()
        assert closed["weight"] == 800 and closed["closed_at"] and closed["label"]["file_id"]  # eager task: done
        task = client.get(f"/mes/tasks/{r.headers['x-task-id']}", headers=h).get_json()
        assert task["status"] == "done"
        second = pack_scan(client, h, s["id"], "SKU-A")
        assert second["status"] == "ok" and second["parcel_id"] != first["parcel_id"]
        assert second["parcel_index"] == 2 and second["parcel_count"] == 2
        third = pack_scan(client, h, s["id"], "SKU-B")
        assert third["parcel_id"] == second["parcel_id"] and third["parcel_index"] == 2 and third["to_pack"] == 0
        station = client.get(f"/lcs/shipments/{s['id']}/pack", headers=h).get_json()
        assert station["open_parcel_id"] == second["parcel_id"]
        assert station["lines"] == [
            {"sku": "SKU-A", "description": "Mug", "needed": 2, "picked": 2, "packed": 2},
            {"sku": "SKU-B", "description": "Plate", "needed": 1, "picked": 1, "packed": 1},
        ]
        parcels = {p["id"]: p for p in station["parcels"]}
        assert parcels[first["parcel_id"]]["item_ids"] == [first["item_id"]]

    def test_requesting_a_label_closes_the_parcel_too(self, client, h, s):
        first = pack_scan(client, h, s["id"], "SKU-A")
        client.put(f"/lcs/parcels/{first['parcel_id']}", json={"weight": 400}, headers=h)
        assert client.post(f"/lcs/parcels/{first['parcel_id']}/label", headers=h).status_code == 204
        assert pack_scan(client, h, s["id"], "SKU-A")["parcel_index"] == 2

    def test_labelling_a_whole_list_closes_its_parcels(self, client, h, s):
        first = pack_scan(client, h, s["id"], "SKU-A")
        client.put(f"/lcs/parcels/{first['parcel_id']}", json={"weight": 400}, headers=h)
        r = client.post(f"/lcs/lists/{s['active_list_id']}/labels", headers=h)
        assert r.status_code == 204, r.get_json()
        assert client.get(f"/lcs/parcels/{first['parcel_id']}", headers=h).get_json()["closed_at"]
        assert pack_scan(client, h, s["id"], "SKU-B")["parcel_index"] == 2

    def test_closing_an_empty_parcel_is_refused_and_keeps_nothing(self, client, h, s):
        p = client.post("/lcs/parcels", json={"shipment_id": s["id"]}, headers=h).get_json()
        r = client.post(f"/lcs/parcels/{p['id']}/close", json={"weight": 300}, headers=h)
        assert r.status_code == 422 and "is empty" in r.get_json()["message"]
        after = client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()
        assert after["weight"] is None and after["closed_at"] is None
        assert pack_scan(client, h, s["id"], "SKU-A")["parcel_id"] == p["id"]  # still the open one

    @pytest.mark.parametrize("body", [{}, {"weight": 0}, {"weight": -5}, {"weight": "heavy"}, {"weight": 10**8}])
    def test_bad_weight_is_refused(self, client, h, s, body):
        p = pack_scan(client, h, s["id"], "SKU-A")
        r = client.post(f"/lcs/parcels/{p['parcel_id']}/close", json=body, headers=h)
        assert r.status_code == 400 and "weight" in json.dumps(r.get_json())
        assert client.get(f"/lcs/parcels/{p['parcel_id']}", headers=h).get_json()["closed_at"] is None


class TestScreens:
    def _hx(self, client, who):
        return {"HX-Request": "true", "X-CSRFToken": browser_login(client, who)}

    def test_page_is_scan_first_with_the_station_form(self, client, h, s, packer):
        pack_scan(client, h, s["id"], "SKU-A")
        browser_login(client, packer)
        page = client.get(f"/lcs/shipments/{s['id']}/pack", headers=BROWSER).get_data(as_text=True)
        url = f"/lcs/shipments/{s['id']}/pack/scan"
        assert 'id="scan-form"' in page and f'data-scan-url="{url}"' in page and 'hx-sync="this:queue all"' in page
        assert 'id="scan-input"' in page and "/static/js/station.js" in page
        assert "Parcel 1 of 1" in page and 'id="close-weight"' in page and "Close parcel" in page
        assert "To pack" in page and "Pack by hand" in page and "Picked, not packed (2)" in page

    def test_scan_fragment_and_sound_event(self, client, s, packer):
        hx = self._hx(client, packer)
        r = client.post(f"/lcs/shipments/{s['id']}/pack/scan", headers=hx, data={"code": "SKU-A"})
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and html.lstrip().startswith('<div id="pack-panel"')
        assert "status-ok" in html and "SKU-A packed" in html and "Parcel 1 of 1" in html
        assert json.loads(r.headers["HX-Trigger"])["wharf:scan"] == {"ok": True, "status": "ok"}
        r = client.post(f"/lcs/shipments/{s['id']}/pack/scan", headers=hx, data={"code": "NOPE"})
        html = r.get_data(as_text=True)
        assert "status-error" in html and "NOPE is not in shipment" in html and 'role="alert"' in html
        assert json.loads(r.headers["HX-Trigger"])["wharf:scan"] == {"ok": False, "status": "error"}

    def test_unreadable_scan_is_a_red_fragment(self, client, s, packer):
        r = client.post(
            f"/lcs/shipments/{s['id']}/pack/scan", headers=self._hx(client, packer), data={"code": "A\x01B"}
        )
        assert r.status_code == 200 and "Unreadable scan: nothing changed" in r.get_data(as_text=True)
        assert json.loads(r.headers["HX-Trigger"])["wharf:scan"]["status"] == "error"

    def test_close_fragment_shows_the_closed_parcel_and_its_label(self, client, h, s, packer):
        p = pack_scan(client, h, s["id"], "SKU-A")
        r = client.post(
            f"/lcs/parcels/{p['parcel_id']}/close", headers=self._hx(client, packer), data={"weight": "750"}
        )
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and html.lstrip().startswith('<div id="pack-panel"')
        assert "closed: label requested" in r.headers["HX-Trigger"]
        assert "No open parcel: the next scan opens parcel 2." in html and "750 g" in html
        assert f"/lcs/parcels/{p['parcel_id']}/label.pdf" in html  # Open label
        assert f"/mes/tasks/{r.headers['x-task-id']}" in html  # its progress loads in place


SHOTS = Path(os.environ.get("WHARF_SHOTS", "/tmp/shots-b"))


@pytest.mark.browser
def test_pack_by_scan_on_a_handheld(mobile_page, live_server, client, h, s, packer):
    """360 × 740, keyboard only: scans (one wrong item turns the station red and packs
    nothing), the rest packed, then Tab to the weight, type it, Enter closes the parcel."""
    page = mobile_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    open_and_sign_in(page, live_server, packer)
    page.goto(f"{live_server}/lcs/shipments/{s['id']}/pack")
    page.wait_for_function("window.htmx !== undefined")
    scan_input, panel = page.locator("#scan-input"), page.locator("#pack-panel")
    expect(scan_input).to_be_focused()
    expect(panel).to_contain_text("the next scan opens parcel 1")

    for code in ("SKU-A", "WRONG-ITEM"):
        page.keyboard.type(code)
        page.keyboard.press("Enter")
    expect(page.locator(".station-panel.status-error")).to_be_visible()
    expect(panel.locator(".station-message")).to_contain_text("WRONG-ITEM is not in shipment")
    expect(panel.locator(".open-parcel")).to_contain_text("SKU-A × 1")
    page.screenshot(path=str(SHOTS / "pack-wrong-360.png"), full_page=True)

    for code in ("SKU-A", "SKU-B"):
        page.keyboard.type(code)
        page.keyboard.press("Enter")
    expect(panel.locator(".station-message")).to_have_text("SKU-B packed")
    expect(page.locator(".station-panel.status-ok")).to_be_visible()
    expect(panel.locator(".pack-lines tr.line-done")).to_have_count(2)
    expect(scan_input).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    page.keyboard.press("Tab")
    expect(page.locator("#close-weight")).to_be_focused()
    page.keyboard.type("900")
    page.keyboard.press("Enter")
    expect(panel).to_contain_text("No open parcel: the next scan opens parcel 2.")
    expect(panel.locator(".station-done")).to_have_text(f"✔ Everything of {s['number']} is packed.")
    expect(panel.locator(".parcel")).to_contain_text("Parcel 1 of 1")
    expect(panel.locator(".parcel")).to_contain_text("900 g")
    expect(panel.locator(".parcel .badge")).to_have_text("closed")
    expect(scan_input).to_be_focused()
    page.screenshot(path=str(SHOTS / "pack-closed-360.png"), full_page=True)
    station = client.get(f"/lcs/shipments/{s['id']}/pack", headers=h).get_json()
    assert [(p["weight"], p["count"], bool(p["closed_at"])) for p in station["parcels"]] == [(900, 3, True)]
    assert all(line["packed"] == line["needed"] for line in station["lines"])
    page.set_viewport_size({"width": 1366, "height": 800})
    page.screenshot(path=str(SHOTS / "pack-closed-1366.png"), full_page=True)
