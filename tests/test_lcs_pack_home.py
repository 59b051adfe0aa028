"""The Floor area's Pack and Parcels entries (issue 15): ``GET /lcs/pack`` lists shipments
waiting to be packed, ``POST /lcs/pack/open`` opens a pack station by any code of its
shipment, and ``GET /lcs/parcels`` has a page for people — JSON, htmx fragment and page."""

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


def _open(client, h, code):
    return client.post("/lcs/pack/open", json={"code": code}, headers=h)


def _hx(client, who):
    return {"HX-Request": "true", "X-CSRFToken": browser_login(client, who)}


class TestOpen:
    def test_by_shipment_number_any_case(self, client, h, s):
        for code in (s["number"], s["number"].lower(), f"  {s['number']} "):
            r = _open(client, h, code)
            assert r.status_code == 200 and r.get_json() == {"shipment_id": s["id"], "number": s["number"]}

    def test_by_order_id_prefers_the_shipment_waiting_to_be_packed(self, client, h, s):
        new_shipment(client, h)  # the same order (ORD-7), newer, nothing picked
        assert _open(client, h, "ORD-7").get_json()["shipment_id"] == s["id"]

    def test_by_unit_id(self, client, h, s):
        assert _open(client, h, s["items"][2]["id"]).get_json()["shipment_id"] == s["id"]

    def test_by_parcel_sscc_plain_and_gs1(self, client, h, s):
        sscc = pack_scan(client, h, s["id"], "SKU-A")["parcel_number"]
        for code in (sscc, f"00{sscc}", f"]C100{sscc}"):
            assert _open(client, h, code).get_json()["shipment_id"] == s["id"], code

    @pytest.mark.parametrize("code", ["S-999999", "NOPE", "00000000000000000000", "00123"])
    def test_unknown_code_is_404(self, client, h, s, code):
        r = _open(client, h, code)
        assert r.status_code == 404 and r.get_json()["code"] == 404

    @pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": "  "}, {"code": "A\x01B"}])
    def test_bad_body_is_400(self, client, h, body):
        r = client.post("/lcs/pack/open", json=body, headers=h)
        assert r.status_code == 400 and "code" in r.get_data(as_text=True)

    def test_other_tenants_shipment_is_404(self, client, h, s, make):
        other = make.tenant("Elsewhere")
        make.member(other, "pack@else.test", roles_svc.WAREHOUSE_STAFF)
        theirs = bearer(api_token(client, "pack@else.test"))
        for code in (s["number"], s["items"][0]["id"], "ORD-7"):
            assert _open(client, theirs, code).status_code == 404, code
        assert client.get("/lcs/pack", headers=theirs).get_json() == []


class TestWaiting:
    def test_picked_not_boxed_not_canceled_oldest_first(self, client, h, s):
        second = picked_shipment(client, h, ITEMS)
        partly = picked_shipment(client, h, ITEMS, pick=2)  # SKU-B still on the shelf: not picked
        new_shipment(client, h)  # nothing picked
        boxed = picked_shipment(client, h, [{"sku": "SKU-C", "quantity": 1}])
        pack_scan(client, h, boxed["id"], "SKU-C")
        canceled = picked_shipment(client, h, [{"sku": "SKU-D", "quantity": 1}])
        assert client.delete(f"/lcs/shipments/{canceled['id']}", headers=h).status_code == 204  # picked, then canceled
        pack_scan(client, h, second["id"], "SKU-A")
        rows = client.get("/lcs/pack", headers=h).get_json()
        ids = [r["id"] for r in rows]
        assert ids[:2] == [s["id"], second["id"]]
        assert partly["id"] not in ids and boxed["id"] not in ids and canceled["id"] not in ids
        by_id = {r["id"]: r for r in rows}
        assert {k: by_id[s["id"]][k] for k in ("number", "order_id", "units", "picked", "packed")} == {
            "number": s["number"],
            "order_id": "ORD-7",
            "units": 3,
            "picked": 3,
            "packed": 0,
        }
        assert by_id[second["id"]]["packed"] == 1

    def test_page_has_the_scan_input_and_the_list(self, client, s, packer):
        browser_login(client, packer)
        r = client.get("/lcs/pack", headers=BROWSER)
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and 'id="pack-code"' in html and "autofocus" in html and 'class="scan-input' in html
        assert "Waiting to be packed (1)" in html and s["number"] in html
        assert f'href="/lcs/shipments/{s["id"]}/pack"' in html and "3 / 3" in html and "0</strong> / 3" in html
        assert 'href="/lcs/pack"' in html  # the Floor navigation entry

    def test_list_fragment(self, client, s, packer):
        hx = _hx(client, packer)
        r = client.get("/lcs/pack", headers={**hx, "HX-Target": "pack-waiting"})
        html = r.get_data(as_text=True)
        assert html.lstrip().startswith('<div id="pack-waiting"') and s["number"] in html and "<nav" not in html

    def test_open_fragment_redirects_and_unknown_is_red(self, client, s, packer):
        hx = _hx(client, packer)
        r = client.post("/lcs/pack/open", headers=hx, data={"code": s["number"]})
        assert r.status_code == 200 and r.headers["HX-Redirect"] == f"/lcs/shipments/{s['id']}/pack"
        r = client.post("/lcs/pack/open", headers=hx, data={"code": "S-999999"})
        html = r.get_data(as_text=True)
        assert r.status_code == 404 and html.lstrip().startswith('<form id="pack-open"')
        assert "status-error" in html and 'role="alert"' in html and "S-999999" in html and 'value="S-999999"' in html

    def test_open_page_post_is_303_and_unknown_the_page_again(self, client, s, packer):
        token = browser_login(client, packer)
        r = client.post("/lcs/pack/open", headers=BROWSER, data={"code": s["number"], "csrf_token": token})
        assert r.status_code == 303 and r.headers["Location"].endswith(f"/lcs/shipments/{s['id']}/pack")
        r = client.post("/lcs/pack/open", headers=BROWSER, data={"code": "NOPE", "csrf_token": token})
        html = r.get_data(as_text=True)
        assert r.status_code == 404 and "<h1>Pack</h1>" in html and "No shipment for &#39;NOPE&#39;" in html
        assert "Waiting to be packed (1)" in html


class TestParcelsPage:
    def test_label_state_words(self):
        from blueprints.lcs.parcels import label_state

        row = {"label": {"file_id": None}, "closed_at": None}
        assert label_state(row) == "none"
        assert label_state({**row, "closed_at": "2026-12-04T10:00:00Z"}) == "requested"  # the label task not done
        assert label_state({**row, "label": {"file_id": "f1"}, "closed_at": "2026-12-04T10:00:00Z"}) == "labelled"

    def test_rows_newest_first_with_label_state(self, client, h, s, packer):
        first = pack_scan(client, h, s["id"], "SKU-A")
        r = client.post(f"/lcs/parcels/{first['parcel_id']}/close", json={"weight": 800}, headers=h)
        assert r.status_code == 200
        second = pack_scan(client, h, s["id"], "SKU-B")
        browser_login(client, packer)
        html = client.get("/lcs/parcels", headers=BROWSER).get_data(as_text=True)
        assert "<h1>Parcels</h1>" in html and 'href="/lcs/parcels"' in html
        assert html.index(second["parcel_number"]) < html.index(first["parcel_number"])
        assert f'href="/lcs/shipments/{s["id"]}"' in html and s["number"] in html and "800 g" in html
        assert "label-labelled" in html and "label-none" in html
        assert "2 parcels" in html

    def test_json_unchanged(self, client, h, s):
        pack_scan(client, h, s["id"], "SKU-A")
        r = client.get("/lcs/parcels", headers=h)
        assert r.status_code == 200 and r.headers["x-count"] == "1"
        (row,) = r.get_json()
        assert row["shipment_id"] == s["id"] and row["count"] == 1 and "number" in row

    def test_pages_and_fragment(self, client, h, packer):
        for i in range(3):
            one = picked_shipment(client, h, [{"sku": f"SKU-{i}", "quantity": 1}])
            pack_scan(client, h, one["id"], f"SKU-{i}")
        numbers = [p["number"] for p in client.get("/lcs/parcels", headers=h).get_json()]
        hx = _hx(client, packer)
        r = client.get("/lcs/parcels", headers={**hx, "HX-Target": "parcel-results", "x-page": "2", "x-page-size": "2"})
        html = r.get_data(as_text=True)
        assert html.lstrip().startswith('<div id="parcel-results"') and "<h1>" not in html
        assert numbers[2] in html and numbers[0] not in html and numbers[1] not in html
        assert "Page 2 of 2" in html and "← Previous" in html and "Next →" not in html


SHOTS = Path(os.environ.get("WHARF_SHOTS", "/tmp/shots-h"))


@pytest.mark.browser
def test_type_a_shipment_number_and_enter_opens_its_pack_station(mobile_page, live_server, client, h, s, packer):
    page = mobile_page
    SHOTS.mkdir(parents=True, exist_ok=True)
    open_and_sign_in(page, live_server, packer)
    page.goto(f"{live_server}/lcs/pack")
    page.wait_for_function("window.htmx !== undefined")
    expect(page.locator("#pack-code")).to_be_focused()
    expect(page.locator("#pack-waiting")).to_contain_text(s["number"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(SHOTS / "pack-home-360.png"), full_page=True)
    page.keyboard.type("S-999999")
    page.keyboard.press("Enter")
    expect(page.locator("#pack-open .station-message")).to_contain_text("No shipment for 'S-999999'")
    expect(page.locator("#pack-code")).to_be_focused()
    page.screenshot(path=str(SHOTS / "pack-home-unknown-360.png"), full_page=True)
    page.locator("#pack-code").fill("")
    page.keyboard.type(s["number"])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/lcs/shipments/{s['id']}/pack")
    expect(page.locator("h1")).to_have_text(f"Pack station · {s['number']}")
    pack_scan(client, h, s["id"], "SKU-A")
    page.goto(f"{live_server}/lcs/parcels")
    expect(page.locator("#parcel-results tbody tr")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(SHOTS / "parcels-360.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 800})
    page.screenshot(path=str(SHOTS / "parcels-1366.png"), full_page=True)
    page.goto(f"{live_server}/lcs/pack")
    page.screenshot(path=str(SHOTS / "pack-home-1366.png"), full_page=True)
