"""Issue 16, items 2b, 2c, 2d and 7's lists filter, in a real browser: the handling lists filter
swaps the page's content (not a blank), starts at "Open" for people, a scan typed right after the
menu closes lands, and an expired session at the station sends the picker to sign in and back."""

from __future__ import annotations

import pytest

from services import roles
from tests.support import (
    BROWSER,
    api_token,
    bearer,
    browser_login,
    expect,
    new_list,
    new_shipment,
    open_and_sign_in,
    refusal,
    sign_in,
    url_is,
)

pytestmark = pytest.mark.browser

PICKER = "pick@acme.test"
SHOTS = "/tmp/shots-s"


@pytest.fixture()
def floor(client, make, tenant, admin):
    """Admin's API headers and a signed-up picker."""
    make.member(tenant, PICKER, roles.WAREHOUSE_STAFF)
    return bearer(api_token(client, admin))


def one_list(client, h, sku="SKU-A", quantity=3) -> str:
    s = new_shipment(client, h, items=[{"sku": sku, "quantity": quantity, "description": "Widget"}])
    return new_list(client, h, s["id"])


def open_station(page, live_server, list_id):
    open_and_sign_in(page, live_server, PICKER)
    page.goto(f"{live_server}/lcs/lists/{list_id}/station")
    page.wait_for_function("window.htmx !== undefined")


def test_lists_filter_keeps_the_page_and_starts_at_open(page, client, floor, live_server):
    """2b at 1366 px: choosing a state swaps the lists in, the top bar and heading stay."""
    open_id = one_list(client, floor)
    open_and_sign_in(page, live_server, PICKER)
    page.goto(f"{live_server}/lcs/lists")
    state = page.get_by_label("State")
    page.locator("html").evaluate("el => el.dataset.marker = '1'")
    state.select_option("")
    expect(page.locator("h1")).to_have_text("Handling lists")
    expect(page.locator(f"a[href$='/lcs/lists/{open_id}']")).to_be_visible()
    state.select_option("open")
    expect(page.locator("h1")).to_have_text("Handling lists")
    expect(page.locator(f"a[href$='/lcs/lists/{open_id}']")).to_be_visible()
    expect(page.locator("label.navbutton")).to_be_attached()
    assert page.locator("main#main").count() == 1
    assert page.locator("html").evaluate("el => el.dataset.marker") == "1"  # swapped, not reloaded
    page.screenshot(path=f"{SHOTS}/lists-filter-1366.png")


def test_lists_page_defaults_to_open_json_to_all(mobile_page, client, floor, live_server):
    """Item 7 at 360 px: the page starts at "Open"; the JSON keeps the seed's default (all lists)."""
    open_id = one_list(client, floor)
    done_id = one_list(client, floor, sku="SKU-B", quantity=1)
    r = client.delete(f"/lcs/lists/{done_id}", headers=floor)
    assert r.status_code in (200, 204), r.data
    ids = {row["id"] for row in client.get("/lcs/lists", headers=floor).get_json()}
    assert {open_id, done_id} <= ids
    page = mobile_page
    open_and_sign_in(page, live_server, PICKER)
    page.goto(f"{live_server}/lcs/lists")
    expect(page.get_by_label("State")).to_have_value("open")
    expect(page.locator(f"a[href$='/lcs/lists/{open_id}']")).to_be_visible()
    expect(page.locator(f"a[href$='/lcs/lists/{done_id}']")).to_have_count(0)
    page.get_by_label("State").select_option("")
    expect(page.locator(f"a[href$='/lcs/lists/{done_id}']")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/lists-filter-360.png")


def test_scan_right_after_the_menu_lands(mobile_page, client, floor, live_server):
    """2c at 360 px: open and close ☰ Menu (and an area menu in it); the next scan is recorded."""
    page = mobile_page
    list_id = one_list(client, floor)
    open_station(page, live_server, list_id)
    panel = page.locator("#station-panel")
    expect(panel.locator(".progress-count")).to_have_text("0/3")

    menu = page.locator("label.navbutton")
    menu.click()
    area = page.locator("details.navarea summary").first
    page.screenshot(path=f"{SHOTS}/station-menu-open-360.png")
    area.dispatch_event("click")  # at 360 px the open details box covers its own summary for Playwright's hit test
    expect(page.locator("details.navarea").first).to_have_attribute("open", "")
    menu.click()
    expect(page.locator("#scan-input")).to_be_focused()
    page.keyboard.type("SKU-A", delay=5)
    page.keyboard.press("Enter")
    expect(panel.locator(".progress-count")).to_have_text("1/3")

    menu.click()
    page.keyboard.press("Escape")
    expect(page.locator("#scan-input")).to_be_focused()
    page.keyboard.type("SKU-A", delay=5)
    page.keyboard.press("Enter")
    expect(panel.locator(".progress-count")).to_have_text("2/3")
    page.screenshot(path=f"{SHOTS}/station-after-menu-360.png")


def end_session_between_polls(page, attempts: int = 5) -> None:
    """Drop the browser's cookies as an ended session would, right after one of the station's
    2 s polls has answered and while no other request runs: an answer in flight (a poll, the
    jobs badge) carries the permanent session cookie and would set it again, and the next
    poll, signed out, would go to sign-in before the scan does."""
    running: set = set()

    def started(request):
        running.add(request)

    def ended(request):
        running.discard(request)

    hooks = {"request": started, "requestfinished": ended, "requestfailed": ended}
    for event, hook in hooks.items():
        page.on(event, hook)
    try:
        for _ in range(attempts):
            page.wait_for_event("requestfinished", timeout=5000)
            if running:
                continue
            page.context.clear_cookies()
            # An answer already on its way when we began listening (a static file, the jobs
            # badge) sets the cookie again as it lands: it must stay gone for a moment.
            page.wait_for_timeout(250)
            if not running and not page.context.cookies():
                return
        raise AssertionError(f"no quiet moment between the station's polls in {attempts} tries")
    finally:
        for event, hook in hooks.items():
            page.remove_listener(event, hook)


def test_expired_session_scan_goes_to_sign_in_and_back(mobile_page, client, floor, live_server):
    """2d at 360 px: the session is gone; a scan leads to sign-in and back to the station."""
    page = mobile_page
    list_id = one_list(client, floor)
    open_station(page, live_server, list_id)
    station = f"/lcs/lists/{list_id}/station"
    end_session_between_polls(page)
    page.locator("#scan-input").fill("SKU-A")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/auth/login" in url and "next=" in url)
    expect(page.locator("body")).not_to_contain_text("CSRF")
    page.screenshot(path=f"{SHOTS}/station-expired-360.png")
    sign_in(page, live_server, PICKER, expect_path=station)
    expect(page.locator("#scan-input")).to_be_visible()


def test_stale_csrf_token_after_expiry_goes_to_sign_in(mobile_page, client, floor, live_server):
    """2d: the session expired and a new anonymous one carries another CSRF token (tokens do not
    match): still sign-in, with next= the page the request came from."""
    page = mobile_page
    list_id = one_list(client, floor)
    open_station(page, live_server, list_id)
    end_session_between_polls(page)
    page.request.get(f"{live_server}/auth/login")  # a fresh session cookie with another token
    page.locator("#scan-input").fill("SKU-A")
    page.keyboard.press("Enter")
    page.wait_for_url(url_is(live_server, f"/auth/login?next=/lcs/lists/{list_id}/station"))


def test_ended_session_write_is_sent_to_sign_in_each_way(app, client, floor):
    """2d without a browser: htmx gets HX-Redirect (next= the page it came from, as a path), a
    plain page post a redirect, a signed-in session with a wrong token still the CSRF refusal."""
    list_id = one_list(client, floor)
    page_url = f"http://localhost/lcs/lists/{list_id}/station"
    anonymous = app.test_client()
    htmx = {"HX-Request": "true", "HX-Current-URL": page_url}
    r = anonymous.post(f"/lcs/lists/{list_id}/scan", data={"code": "SKU-A", "csrf_token": "stale"}, headers=htmx)
    assert r.status_code == 401
    assert r.headers["HX-Redirect"] == f"/auth/login?next=/lcs/lists/{list_id}/station"
    r = anonymous.post(f"/lcs/lists/{list_id}/scan", data={"code": "SKU-A", "csrf_token": "stale"}, headers=BROWSER)
    assert r.status_code == 302 and "/auth/login?next=" in r.headers["Location"]
    signed_in = app.test_client()
    browser_login(signed_in, PICKER)
    r = signed_in.post(f"/lcs/lists/{list_id}/scan", data={"code": "SKU-A", "csrf_token": "stale"}, headers=htmx)
    assert "CSRF check failed" in refusal(r, 400)
