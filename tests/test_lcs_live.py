"""Live progress (issue 15): the list page, every station and API pollers see other pickers'
scans. The list's version is the ETag of its views; an unchanged view answers 304 before
anything is rendered."""

import re

import pytest

from services import roles as roles_svc
from tests.support import (
    ARTIFACTS,
    BROWSER,
    HX,
    api_token,
    bearer,
    browser_login,
    expect,
    new_list,
    new_page,
    new_shipment,
    open_and_sign_in,
    scan,
)


@pytest.fixture()
def pickers(make, tenant):
    for email in ("ann@acme.test", "bob@acme.test"):
        make.member(tenant, email, roles_svc.WAREHOUSE_STAFF)
    return "ann@acme.test", "bob@acme.test"


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


def _etag(client, path, headers) -> str:
    r = client.get(path, headers=headers)
    assert r.status_code == 200 and r.headers["ETag"], r.status_code
    return r.headers["ETag"]


class TestEtag:
    def test_moves_with_another_users_scan_and_not_with_an_unrelated_list(self, client, h, pickers):
        s1, s2 = new_shipment(client, h), new_shipment(client, h)
        mine, other = new_list(client, h, s1["id"]), new_list(client, h, s2["id"])
        ann, bob = (bearer(api_token(client, p)) for p in pickers)
        paths = [f"/lcs/lists/{mine}", f"/lcs/lists/{mine}/station"]
        before = {p: _etag(client, p, ann) for p in paths}

        scan(client, bob, other, "SKU-A")  # another list: nothing of mine moved
        assert {p: _etag(client, p, ann) for p in paths} == before
        for p in paths:
            r = client.get(p, headers={**ann, "If-None-Match": before[p]})
            assert r.status_code == 304 and r.data == b"" and r.headers["ETag"] == before[p]

        assert scan(client, bob, mine, "SKU-A")["status"] == "ok"  # Bob picks on Ann's list
        for p in paths:
            r = client.get(p, headers={**ann, "If-None-Match": before[p]})
            assert r.status_code == 200 and r.headers["ETag"] != before[p]
        assert client.get(paths[1], headers=ann).get_json()["progress"]["handled"] == 1

    def test_moves_with_undo_put_items_and_missing(self, client, h, pickers):
        s = new_shipment(client, h)
        lid = new_list(client, h, s["id"])
        ann = bearer(api_token(client, pickers[0]))
        path = f"/lcs/lists/{lid}"
        seen = {_etag(client, path, ann)}

        def moved():
            tag = _etag(client, path, ann)
            assert tag not in seen
            seen.add(tag)

        scan(client, ann, lid, "SKU-A")
        moved()
        assert scan(client, ann, lid, "WHARF:UNDO")["status"] == "ok"
        moved()
        unit = s["items"][0]["id"]
        r = client.put(f"/lcs/lists/{lid}/items", json=[{"id": unit, "is_handled": True}], headers=h)
        assert r.status_code == 204
        moved()
        r = client.put(
            f"/lcs/shipments/{s['id']}/items/missing", json=[{"id": s["items"][2]["id"], "is_missing": True}], headers=h
        )
        assert r.status_code == 204
        moved()
        assert client.get(path, headers=ann).get_json()["items"][-1]["sku"] == "SKU-B"
        r = client.put(f"/lcs/lists/{lid}/state", json={"is_on_hold": True}, headers=h)
        assert r.status_code == 204
        moved()

    def test_moves_when_a_shipment_leaves_the_list(self, client, h):
        s1, s2 = new_shipment(client, h), new_shipment(client, h)
        lid = new_list(client, h, s1["id"], s2["id"])
        tag = _etag(client, f"/lcs/lists/{lid}/station", h)
        assert client.delete(f"/lcs/shipments/{s2['id']}", headers=h).status_code == 204
        r = client.get(f"/lcs/lists/{lid}/station", headers={**h, "If-None-Match": tag})
        assert r.status_code == 200 and r.get_json()["progress"]["total"] == 3

    def test_a_rejected_scan_changes_nothing(self, client, h, pickers):
        lid = new_list(client, h, new_shipment(client, h)["id"])
        ann = bearer(api_token(client, pickers[0]))
        tag = _etag(client, f"/lcs/lists/{lid}/station", ann)
        assert scan(client, ann, lid, "NOPE-1")["status"] == "error"
        assert client.get(f"/lcs/lists/{lid}/station", headers={**ann, "If-None-Match": tag}).status_code == 304

    def test_another_tenants_list_is_404_even_with_its_etag(self, client, h, make):
        lid = new_list(client, h, new_shipment(client, h)["id"])
        tag = _etag(client, f"/lcs/lists/{lid}", h)
        other = make.tenant("Elsewhere")
        make.member(other, "pick@else.test", roles_svc.WAREHOUSE_STAFF)
        stranger = bearer(api_token(client, "pick@else.test"))
        assert client.get(f"/lcs/lists/{lid}", headers={**stranger, "If-None-Match": tag}).status_code == 404


class TestFragments:
    def test_station_live_fragment_is_conditional_and_carries_its_etag(self, client, h, pickers):
        lid = new_list(client, h, new_shipment(client, h)["id"])
        browser_login(client, pickers[0])
        page = client.get(f"/lcs/lists/{lid}/station", headers=BROWSER)
        assert page.status_code == 200 and "ETag" not in page.headers  # a page is never conditional
        live = re.search(r'id="station-live"[^>]*data-etag="([^"]+)"', page.get_data(as_text=True)).group(1)
        hx = {**HX, "HX-Target": "station-live"}
        r = client.get(f"/lcs/lists/{lid}/station", headers={**hx, "If-None-Match": f'"{live}"'})
        assert r.status_code == 304 and r.data == b""
        # The JSON and the fragment are different representations: neither's tag fits the other.
        json_tag = _etag(client, f"/lcs/lists/{lid}/station", h)
        assert client.get(f"/lcs/lists/{lid}/station", headers={**hx, "If-None-Match": json_tag}).status_code == 200

        scan(client, bearer(api_token(client, pickers[1])), lid, "SKU-A")
        r = client.get(f"/lcs/lists/{lid}/station", headers={**hx, "If-None-Match": f'"{live}"'})
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and html.lstrip().startswith('<div id="station-live"')
        assert "1/3" in html and "station-message" not in html  # only the live part: the picker's own message stays
        assert r.headers["ETag"].strip('"') == re.search(r'data-etag="([^"]+)"', html).group(1) != live

    def test_list_live_fragment_updates_the_picked_column(self, client, h, pickers):
        s = new_shipment(client, h)
        lid = new_list(client, h, s["id"])
        browser_login(client, pickers[0])
        hx = {**HX, "HX-Target": "list-live"}
        first = client.get(f"/lcs/lists/{lid}", headers=hx)
        tag = first.headers["ETag"]
        assert "0 of 3 picked" in first.get_data(as_text=True)
        assert client.get(f"/lcs/lists/{lid}", headers={**hx, "If-None-Match": tag}).status_code == 304

        scan(client, bearer(api_token(client, pickers[1])), lid, "SKU-A")
        r = client.get(f"/lcs/lists/{lid}", headers={**hx, "If-None-Match": tag})
        html = r.get_data(as_text=True)
        assert r.status_code == 200 and html.lstrip().startswith('<div id="list-live"')
        assert "1 of 3 picked" in html
        picked = re.findall(
            r"<code>(SKU-[AB])</code>(?:<small[^>]*>[^<]*</small>)?</td>\s*<td[^>]*>[^<]*</td>\s*<td>(\d+)</td>\s*<td>(\d+)",
            html,
        )
        assert picked == [("SKU-A", "2", "1"), ("SKU-B", "1", "0")]

    def test_a_finished_list_stops_polling(self, client, h, pickers):
        s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 1}])
        lid = new_list(client, h, s["id"])
        ann = bearer(api_token(client, pickers[0]))
        assert scan(client, ann, lid, "SKU-A")["status"] == "done"  # the last unit finishes the list
        browser_login(client, pickers[0])
        for path, target in ((f"/lcs/lists/{lid}", "list-live"), (f"/lcs/lists/{lid}/station", "station-live")):
            html = client.get(path, headers={**HX, "HX-Target": target}).get_data(as_text=True)
            assert f'id="{target}"' in html and "every 2s" not in html


@pytest.mark.browser
def test_two_pickers_see_each_others_scans(browser, live_server, client, h, pickers):
    """Two handhelds (360 × 740) on one list and a supervisor's list page: each sees the
    other's scan within 3 s, without a reload, and the scan input keeps its focus."""
    list_id = new_list(client, h, new_shipment(client, h)["id"])  # SKU-A × 2, SKU-B × 1
    ARTIFACTS.mkdir(exist_ok=True)
    contexts = []
    try:
        stations = []
        for email in pickers:
            ctx, page = new_page(browser, viewport={"width": 360, "height": 740})
            contexts.append(ctx)
            stations.append(page)
            open_and_sign_in(page, live_server, email)
            page.goto(f"{live_server}/lcs/lists/{list_id}/station")
            page.wait_for_function("window.htmx !== undefined")
            expect(page.locator(".progress-count")).to_have_text("0/3")
        ann, bob = stations

        ann.keyboard.type("SKU-A")
        ann.keyboard.press("Enter")
        expect(ann.locator(".progress-count")).to_have_text("1/3")
        expect(bob.locator(".progress-count")).to_have_text("1/3", timeout=3000)
        expect(bob.locator("#scan-input")).to_be_focused()

        bob.keyboard.type("SKU-B")
        bob.keyboard.press("Enter")
        expect(bob.locator(".station-message")).to_have_text("SKU-B picked")
        expect(ann.locator(".progress-count")).to_have_text("2/3", timeout=3000)
        expect(ann.locator(".station-message")).to_have_text("SKU-A picked")  # Ann's own feedback stays
        expect(ann.locator("#scan-input")).to_be_focused()
        ann.screenshot(path=str(ARTIFACTS / "station-live-360.png"), full_page=True)

        ctx, board = new_page(browser, viewport={"width": 1366, "height": 800})
        contexts.append(ctx)
        open_and_sign_in(board, live_server, pickers[0])
        board.goto(f"{live_server}/lcs/lists/{list_id}")
        expect(board.locator(".list-progress")).to_have_text("2 of 3 picked")
        bob.keyboard.type("SKU-A")
        bob.keyboard.press("Enter")
        expect(board.locator(".list-progress")).to_have_text("3 of 3 picked", timeout=3000)
        expect(board.locator("#list-live tbody tr").first.locator("td").nth(5)).to_have_text("2")
        board.screenshot(path=str(ARTIFACTS / "list-live-1366.png"), full_page=True)
        board.set_viewport_size({"width": 360, "height": 740})
        board.screenshot(path=str(ARTIFACTS / "list-live-360.png"), full_page=True)
        expect(ann.locator(".progress-count")).to_have_text("3/3", timeout=3000)
        ann.set_viewport_size({"width": 1366, "height": 800})
        ann.screenshot(path=str(ARTIFACTS / "station-live-1366.png"), full_page=True)
    finally:
        for ctx in contexts:
            ctx.close()


@pytest.mark.browser
def test_a_poll_in_flight_never_paints_over_a_scan(app, browser, live_server, client, h, pickers, monkeypatch):
    """A station's poll that left before the picker's own scan answers after the scan did
    (polls are held back 1 s after reading 1/3): its older progress must not replace the
    scan's 2/3, and the scan must not wait for it."""
    import time

    from flask import request

    list_id = new_list(client, h, new_shipment(client, h)["id"])  # SKU-A × 2, SKU-B × 1
    view = app.view_functions["lcs.station"]

    def slow_poll(*args, **kwargs):
        answer = view(*args, **kwargs)
        if request.headers.get("HX-Target") == "station-live":
            time.sleep(1.0)
        return answer

    monkeypatch.setitem(app.view_functions, "lcs.station", slow_poll)
    ctx, ann = new_page(browser, viewport={"width": 360, "height": 740})
    try:
        open_and_sign_in(ann, live_server, pickers[0])
        ann.goto(f"{live_server}/lcs/lists/{list_id}/station")
        ann.wait_for_function("window.htmx !== undefined")
        expect(ann.locator(".progress-count")).to_have_text("0/3")
        ann.evaluate(
            """() => {
              window.shown = [];
              new MutationObserver(() => {
                const count = document.querySelector('.progress-count');
                if (count && window.shown[window.shown.length - 1] !== count.textContent) window.shown.push(count.textContent);
              }).observe(document.querySelector('.station'), {subtree: true, childList: true});
            }"""
        )
        answered: list = []
        ann.on("response", lambda r: answered.append(r.request))
        scan(client, bearer(api_token(client, pickers[1])), list_id, "SKU-A")  # Bob: 1/3
        is_poll = lambda r: r.method == "GET" and r.headers.get("hx-target") == "station-live"
        with ann.expect_request(is_poll, timeout=5000) as in_flight:
            pass  # a poll is on its way: it reads 1/3, then takes a second to answer
        with ann.expect_response(lambda r: r.request.method == "POST") as scanned:
            ann.keyboard.type("SKU-B")
            ann.keyboard.press("Enter")
        expect(ann.locator(".station-message")).to_have_text("SKU-B picked")
        ann.wait_for_timeout(1500)
        assert in_flight.value in answered
        assert answered.index(scanned.value.request) < answered.index(in_flight.value)  # the race happened
        assert ann.evaluate("window.shown") == ["2/3"]  # the late 1/3 never showed
        expect(ann.locator(".progress-count")).to_have_text("2/3")
        expect(ann.locator("#scan-input")).to_be_focused()
    finally:
        ctx.close()
