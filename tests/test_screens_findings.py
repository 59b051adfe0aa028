"""Issue 16 acceptance: what the screenshot walk (tests/test_screenshot_walk.py) found on pages no
numbered item named — each reproduced at the viewport where it was seen, failing before the fix."""

from __future__ import annotations

import re

import pytest

from tests.support import api_token, bearer, expect, new_shipment, open_and_sign_in

pytestmark = pytest.mark.browser
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$")


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


def test_audit_log_shows_its_first_entry_on_a_phone(client, h, admin, live_server, mobile_page):
    """360 px: eleven filter fields came before the first entry (about 1,300 px down); they fold."""
    assert client.post("/api/auth/roles", json={"name": "Clerks"}, headers=h).status_code in (200, 201)
    page = mobile_page
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + "/audit_logs/audit-logs/actions")
    first = page.locator("#audit-results tbody tr").first
    expect(first).to_contain_text("Clerks")
    assert first.bounding_box()["y"] < 740, "the first entry is below the first screen"
    expect(page.locator("#audit-results tbody tr time").first).to_have_text(STAMP)
    page.get_by_text("Filters and sorting").click()
    expect(page.locator("select[name=actionType]")).to_be_visible()


def test_audit_filters_stay_open_on_a_desktop(admin, live_server, desktop_page):
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + "/audit_logs/audit-logs/actions")
    expect(page.locator("select[name=actionType]")).to_be_visible()


def test_placeholders_do_not_read_as_values(admin, live_server, desktop_page):
    """1366 px: the product form's "PT" / "EUR" hints looked typed in."""
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + "/lcs/products")
    page.get_by_text("New product").click()
    currency = page.locator("input[name=currency]").first
    expect(currency).to_have_attribute("placeholder", "e.g. EUR")
    hint = currency.evaluate("e => getComputedStyle(e, '::placeholder').fontStyle")
    assert hint == "italic"


def test_row_checkboxes_are_boxes_not_fields(client, h, admin, live_server, desktop_page):
    """1366 px: the shipments table's checkboxes were 44 px squares (rows with one were taller)."""
    new_shipment(client, h)
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + "/lcs/shipments")
    box = page.locator("#shipment-table tbody input[type=checkbox]").first.bounding_box()
    assert box["height"] <= 24 and box["width"] <= 24, box


def test_a_files_record_is_named_as_people_know_it(client, h, admin, live_server, desktop_page, files_root):
    """1366 px: "Files of lcs:shipment 4da0717a-…" and the file's Record read S-000001 now."""
    from tests.support import uploaded

    s = new_shipment(client, h)
    item = uploaded(client, h, entity="lcs:shipment", record=s["id"], name="dent.png")
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/attachments?entityId=lcs:shipment&recordId={s['id']}")
    expect(page.locator("h1")).to_have_text(f"Files of {s['number']}")
    expect(page.locator("h1 a")).to_have_attribute("href", f"/lcs/shipments/{s['id']}")
    page.goto(f"{live_server}/attachments/library/{item['id']}")
    expect(page.locator("dl.facts")).to_contain_text(s["number"])
    expect(page.locator("dl.facts time")).to_have_text(STAMP)


def test_a_refused_pdf_leads_back_to_the_page_it_was_opened_from(client, h, admin, live_server, desktop_page):
    """1366 px: the list's labels PDF before any label answered a bare 409 that led only to the
    dashboard; it now leads back to the list as well."""
    from tests.support import new_list

    hl = new_list(client, h, new_shipment(client, h)["id"])
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/lcs/lists/{hl}")
    page.goto(f"{live_server}/lcs/lists/{hl}/labels.pdf", referer=f"{live_server}/lcs/lists/{hl}")
    expect(page.locator("main")).to_contain_text("is labelled yet")
    page.get_by_role("link", name="← Back to the page you came from").click()
    page.wait_for_url(f"{live_server}/lcs/lists/{hl}")


def test_no_delete_offered_that_would_be_refused(client, h, admin, make, tenant, live_server, desktop_page):
    """1366 px: Users offered Delete on the administrator's own account, Roles on a role its
    users still hold — both refused when pressed."""
    from services import roles

    make.member(tenant, "staff@acme.test", roles.WAREHOUSE_STAFF)
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + "/auth/users")
    own = page.locator("tr", has_text=admin)
    expect(own.get_by_role("button", name="Delete")).to_have_count(0)
    expect(own).to_contain_text("you")
    expect(page.locator("tr", has_text="staff@acme.test").get_by_role("button", name="Delete")).to_have_count(1)
    page.goto(live_server + "/auth/roles")
    held = page.locator("tr", has_text=roles.WAREHOUSE_STAFF)
    expect(held).to_contain_text("in use")
    expect(held.get_by_role("button", name=re.compile("Delete"))).to_have_count(0)


def test_a_label_task_leads_back_to_its_parcel(client, h, admin, live_server, desktop_page):
    """1366 px: the label task page had no way back to the parcel or its shipment."""
    from tests.support import parcel, picked_shipment

    s = picked_shipment(client, h)
    p = parcel(client, h, s)
    task_id = client.post(f"/lcs/parcels/{p['id']}/label", headers=h).headers["x-task-id"]
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/mes/tasks/{task_id}")
    back = page.get_by_role("link", name=f"← {p['number']}")
    expect(back).to_have_attribute("href", f"/lcs/shipments/{s['id']}")


def test_a_tenants_toggle_switch_is_on_the_phone_screen(client, h, admin, live_server, mobile_page, app, tenant):
    """360 px: the overrides table pushed the On/Off switch — the point of the page — off-screen."""
    toggle = {"identifier": "lcs.scan.confirm_quantity_long_name", "name": "Confirm quantities by a second scan"}
    r = client.post("/api/feature_toggles/global", json={**toggle, "type": "boolean", "defaultValue": False}, headers=h)
    assert r.status_code in (200, 201), r.get_json()
    page = mobile_page
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/feature_toggles/overrides?tenantId={tenant}")
    switch = page.locator("button[role=switch]").first
    box = switch.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 360, box
