"""Issue 16, items 5, 8 (first part) and 9a, at 1366 px: the handling list page leads to its
shipments and their pack stations and holds, resumes and assigns in place; lists can be made
with bulk actions switched off (and the shipments table then has no empty checkbox column);
cancelling a list says what happens to its picks, and the cancelled list still says it."""

from __future__ import annotations

import pytest

from services import roles, toggles
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
    with_features,
)

pytestmark = pytest.mark.browser

PICKER = "pick@acme.test"
SHOTS = "/tmp/shots-c"


@pytest.fixture()
def h(client, make, tenant, admin):
    """Admin's API headers; a picker (Warehouse staff, "Pat Picker") the lists can go to."""
    make.member(tenant, PICKER, roles.WAREHOUSE_STAFF, name="Pat Picker")
    return bearer(api_token(client, admin))


def marked(page):
    page.locator("html").evaluate("el => el.dataset.marker = '1'")


def not_reloaded(page) -> bool:
    return page.locator("html").evaluate("el => el.dataset.marker") == "1"


def test_list_page_leads_to_shipments_and_holds_and_assigns_in_place(desktop_page, client, h, admin, live_server):
    """Item 5: links to each shipment and its pack station; Hold, Resume, Assign, Unassign swap
    the state without a reload."""
    page = desktop_page
    one = new_shipment(client, h)
    two = new_shipment(client, h, items=[{"sku": "SKU-C", "quantity": 1}])
    list_id = new_list(client, h, one["id"], two["id"])
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/lcs/lists/{list_id}")
    shipments = page.locator(".list-shipments")
    for s in (one, two):
        expect(shipments.locator(f"a[href='/lcs/shipments/{s['id']}']")).to_have_text(s["number"])
        expect(shipments.locator(f"a[href='/lcs/shipments/{s['id']}/pack']")).to_be_visible()
    marked(page)
    page.get_by_role("button", name="Hold", exact=True).click()
    expect(page.locator("#list-state .badge")).to_have_text("on hold")
    assert client.get(f"/lcs/lists/{list_id}", headers=h).get_json()["is_on_hold"] is True
    page.screenshot(path=f"{SHOTS}/list-held-1366.png", full_page=True)
    page.get_by_role("button", name="Resume", exact=True).click()
    expect(page.locator("#list-state .badge")).to_have_count(0)
    expect(page.get_by_role("button", name="Hold", exact=True)).to_be_visible()
    page.select_option("select[name=sub]", label="Pat Picker")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator(".assignee")).to_have_text("Assigned to Pat Picker")
    page.get_by_role("button", name="Unassign").click()
    expect(page.locator(".assignee")).to_have_text("Assigned to nobody")
    assert not_reloaded(page)
    page.screenshot(path=f"{SHOTS}/list-page-1366.png", full_page=True)


def test_reader_sees_the_links_but_no_controls(desktop_page, client, h, app, tenant, live_server):
    """Item 5: a person who may only read lists gets the links, not Hold, Assign or Cancel."""
    page = desktop_page
    s = new_shipment(client, h)
    list_id = new_list(client, h, s["id"])
    reader = with_features(app, tenant, "reader@acme.test", ["lcs.handling.read", "lcs.shipments.read"])
    open_and_sign_in(page, live_server, reader)
    page.goto(f"{live_server}/lcs/lists/{list_id}")
    expect(page.locator(f".list-shipments a[href='/lcs/shipments/{s['id']}']")).to_be_visible()
    for name in ("Hold", "Assign", "Cancel list"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Open scan station")).to_have_count(0)


def _bulk_actions_off(client, h, app):
    with app.app_context():
        toggles.ensure_builtin()
        toggle_id = toggles.resolve("lcs.lists.bulk_actions", None).toggle_id
    r = client.put(
        "/api/feature_toggles/overrides",
        headers=h,
        json={"toggleId": str(toggle_id), "isOverride": True, "overrideValue": False},
    )
    assert r.status_code == 200, r.get_json()


def test_lists_are_made_without_bulk_actions(desktop_page, client, h, app, admin, live_server):
    """Item 8: with bulk actions off the shipments table has no empty checkbox column, and the
    Lists page still makes a list from chosen open shipments."""
    page = desktop_page
    one = new_shipment(client, h)
    two = new_shipment(client, h, items=[{"sku": "SKU-C", "quantity": 1}])
    listed = new_shipment(client, h, items=[{"sku": "SKU-D", "quantity": 1}])
    new_list(client, h, listed["id"])
    _bulk_actions_off(client, h, app)
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/lcs/shipments")
    expect(page.locator("#shipment-table thead th").first).to_have_text("Number")
    expect(page.locator("#shipment-table tbody tr").first.locator("td").first).to_have_text(listed["number"])
    page.screenshot(path=f"{SHOTS}/shipments-no-bulk-1366.png", full_page=True)

    page.goto(f"{live_server}/lcs/lists")
    page.get_by_role("link", name="New handling list").click()
    expect(page.locator("h1")).to_have_text("New handling list")
    expect(page.get_by_label(f"Select {listed['number']}")).to_have_count(0)  # already on a list
    page.get_by_label(f"Select {one['number']}").check()
    page.get_by_label(f"Select {two['number']}").check()
    page.screenshot(path=f"{SHOTS}/new-list-1366.png", full_page=True)
    page.get_by_role("button", name="Create handling list").click()
    expect(page.locator("h1")).to_contain_text("Handling list HL-")
    made = client.get("/lcs/lists", headers=h).get_json()
    assert {one["id"], two["id"]} in [set(row["shipments"]) for row in made]


def test_new_list_with_nothing_chosen_says_what_to_do(desktop_page, client, h, admin, live_server):
    """Item 8: the new-list page's refusal is the one sentence that says what to do."""
    page = desktop_page
    new_shipment(client, h)
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/lcs/lists/new")
    page.get_by_role("button", name="Create handling list").click()
    expect(page.locator("#toasts")).to_contain_text("Select at least one shipment")
    expect(page.locator("h1")).to_have_text("New handling list")


def test_cancel_says_what_happens_to_the_picks(desktop_page, client, h, admin, live_server):
    """Item 9a: the confirmation names the picked units going back to open; the cancelled list
    says how many had been picked instead of "0 of 0 picked"."""
    page = desktop_page
    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 3, "description": "Mug"}])
    list_id = new_list(client, h, s["id"])
    scan(client, h, list_id, "SKU-A")
    scan(client, h, list_id, "SKU-A")
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/lcs/lists/{list_id}")
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    page.get_by_role("button", name="Cancel list").click()
    expect(page.locator("#list-state .badge")).to_have_text("cancelled")
    assert asked and "2 picked units go back to open on " + s["number"] in asked[0], asked
    assert "the shipment leaves the list" in asked[0], asked
    expect(page.locator("#list-state")).not_to_contain_text("0 of 0 picked")
    expect(page.locator(".cancelled-summary")).to_contain_text(
        "2 of 3 units had been picked; they went back to open on their shipment"
    )
    expect(page.locator(f".list-shipments a[href='/lcs/shipments/{s['id']}']")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/list-cancelled-1366.png", full_page=True)
    page.reload()
    expect(page.locator(".cancelled-summary")).to_contain_text("2 of 3 units had been picked")
    detail = client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json()
    assert not any(u["is_handled"] for u in detail["items"])  # the seed's cancel: picks back to open


def test_new_list_json_offers_the_open_shipments_and_hold_takes_a_form(client, h):
    """The page's JSON twin: open shipments only (not listed, not canceled); the Hold button's
    form post ("true") holds, a word that is no boolean is still refused."""
    free = new_shipment(client, h)
    listed = new_shipment(client, h, items=[{"sku": "SKU-D", "quantity": 1}])
    canceled = new_shipment(client, h, items=[{"sku": "SKU-E", "quantity": 1}])
    assert client.delete(f"/lcs/shipments/{canceled['id']}", headers=h).status_code == 204
    list_id = new_list(client, h, listed["id"])
    offered = client.get("/lcs/lists/new", headers=h).get_json()
    assert [row["number"] for row in offered] == [free["number"]]
    assert offered[0]["units"] == 3 and offered[0]["ship_to"] == "Ann Jansen"
    r = client.put(f"/lcs/lists/{list_id}/state", data={"is_on_hold": "true"}, headers=h)
    assert r.status_code == 204 and client.get(f"/lcs/lists/{list_id}", headers=h).get_json()["is_on_hold"] is True
    assert client.put(f"/lcs/lists/{list_id}/state", data={"is_on_hold": "no"}, headers=h).status_code == 400


def test_cancel_with_a_packed_unit_says_it_stays(client, h, admin):
    """Item 9a: a unit already in a parcel stays on the list and packed; the question and the
    cancelled page say so, beside the picked unit that goes back to open."""
    s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 3, "description": "Mug"}])
    list_id = new_list(client, h, s["id"])
    units = [u["id"] for u in s["items"]]
    scan(client, h, list_id, units[0])
    scan(client, h, list_id, units[1])
    parcel(client, h, s, units=[units[0]])
    browser_login(client, admin)
    page = client.get(f"/lcs/lists/{list_id}", headers=BROWSER).get_data(as_text=True)
    assert (
        f"Cancel HL-000001? 1 picked unit goes back to open on {s['number']}; the shipment leaves the list and can go"
        " on another one; 1 unit already in a parcel stays packed." in page
    )
    assert client.delete(f"/lcs/lists/{list_id}", headers=h).status_code == 204
    page = " ".join(client.get(f"/lcs/lists/{list_id}", headers=BROWSER).get_data(as_text=True).split())
    assert (
        "2 of 3 units had been picked; 1 went back to open on its shipment; 1 already in a parcel stayed on the list."
        in page
    )
