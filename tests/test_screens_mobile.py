"""Issue 16, item 7 at 360 px (what a phone shows first: key columns without a sideways
scroll, numbers in one piece, toasts off the buttons) and item 16's form styles at 1366 px
(one input style, one "create" pattern on every admin and catalogue list)."""

from __future__ import annotations

import pytest

from tests.support import api_token, bearer, expect, new_list, open_and_sign_in, parcel, shipment, uploaded

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


def _within_phone(page, locator):
    """The element is drawn inside the 360 px viewport and inside its table's box (a table
    scrolls inside itself): seen without a sideways scroll."""
    locator.first.wait_for()
    box = locator.first.bounding_box()
    assert box is not None and box["width"] > 0, locator
    right = locator.first.evaluate("el => (el.closest('table') || document.body).getBoundingClientRect().right")
    assert box["x"] >= 0 and box["x"] + box["width"] <= min(right, PHONE_WIDTH) + 0.5, (locator, box, right)


def _one_line(locator):
    """The text is laid out on one line (a number broken at its hyphen takes two)."""
    lines = locator.evaluate("el => el.getClientRects().length")
    height = locator.evaluate("el => el.getBoundingClientRect().height")
    line = locator.evaluate("el => parseFloat(getComputedStyle(el).lineHeight) || 24")
    assert lines == 1 and height < line * 1.5, (locator, lines, height, line)


def _phone_table(page, base, admin, path):
    open_and_sign_in(page, base, admin)
    page.goto(base + path)
    page.wait_for_function("window.htmx !== undefined")


def test_lists_show_state_and_scan_on_a_phone(client, h, admin, live_server, mobile_page):
    """7, 360 px: the Handling lists table shows each list's State and its Scan button."""
    s = shipment(client, h)
    new_list(client, h, s["id"])
    page = mobile_page
    _phone_table(page, live_server, admin, "/lcs/lists?state=open")
    _within_phone(page, page.locator("thead th", has_text="State"))
    _within_phone(page, page.locator("tbody a", has_text="Scan"))
    _one_line(page.locator("tbody td a").first)


def test_list_page_shows_qty_picked_and_label_on_a_phone(client, h, admin, live_server, mobile_page):
    """7, 360 px: a list's lines show Qty, Picked and Label; SKUs and positions are not broken."""
    s = shipment(client, h, items=[{"sku": "MUG-RED", "quantity": 2, "description": "Enamel mug, red"}])
    list_id = new_list(client, h, s["id"])
    page = mobile_page
    _phone_table(page, live_server, admin, f"/lcs/lists/{list_id}")
    for column in ("Qty", "Picked", "Label"):
        _within_phone(page, page.locator("#list-live thead th", has_text=column))
    _within_phone(page, page.locator("#list-live tbody tr").first.locator("td:visible").last)
    _one_line(page.locator("#list-live tbody code", has_text="MUG-RED").first)


def test_shipments_show_status_and_created_and_whole_numbers(client, h, admin, live_server, mobile_page):
    """7, 360 px: Shipments shows Status and Created; "S-000001" is not wrapped as "S-/000001"."""
    shipment(client, h)
    page = mobile_page
    _phone_table(page, live_server, admin, "/lcs/shipments")
    for column in ("Status", "Created"):
        _within_phone(page, page.locator("#shipment-table thead th", has_text=column))
    row = page.locator("#shipment-table tbody tr").first
    _within_phone(page, row.locator(".status"))
    _one_line(row.locator("a", has_text="S-"))


def test_files_show_partition_record_and_delete(client, h, admin, live_server, mobile_page):
    """7, 360 px: the Files library shows each file's Partition, Record and Delete, and the
    page itself does not scroll sideways."""
    s = shipment(client, h)
    uploaded(client, h, record=s["id"])
    page = mobile_page
    _phone_table(page, live_server, admin, "/attachments/library")
    for column in ("Partition", "Record"):
        _within_phone(page, page.locator("#library-results thead th", has_text=column))
    row = page.locator("#library-results tbody tr").first
    _within_phone(page, row.locator(".record-cell a"))
    _within_phone(page, row.get_by_role("button", name="Delete"))
    _one_line(row.locator(".record-cell a"))
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth + 1")


def _overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_toast_leaves_the_done_line_and_open_pdf_free(client, h, admin, live_server, mobile_page):
    """7, 360 px: with the "✔ Done. Open PDF" line at the bottom of the screen (where a
    document just asked for appears), a toast does not lie over it."""
    s = shipment(client, h)
    parcel(client, h, s)
    page = mobile_page
    _phone_table(page, live_server, admin, f"/lcs/shipments/{s['id']}")
    page.get_by_role("button", name="Request invoice").click()
    done = page.locator("#print-invoice p", has_text="Done")
    open_pdf = page.locator("#print-invoice").get_by_role("link", name="Open PDF")
    expect(open_pdf).to_be_visible()
    # Bring the Done line to the bottom edge: scroll it there, or (it sits higher up on a
    # short page) end the visible area just under it, as the browser's own bars do.
    bottom = done.evaluate("el => el.getBoundingClientRect().bottom")
    if bottom > 740 - 64:
        page.evaluate(f"window.scrollBy(0, {bottom} - innerHeight + 8)")
    else:
        page.set_viewport_size({"width": PHONE_WIDTH, "height": max(int(bottom) + 8, 400)})
    page.evaluate(
        """document.body.dispatchEvent(new CustomEvent("wharf:toast",
             {detail: {message: "Invoice requested", level: "success"}}))"""
    )
    toast = page.locator("#toasts .toast").last
    expect(toast).to_be_visible()
    t = toast.bounding_box()
    for target in (done, open_pdf):
        assert not _overlap(t, target.bounding_box()), (t, target.bounding_box())


# --- 1366 px: one look for forms -----------------------------------------------------------

# Every list page with a "create" form (business rules have a page of their own: the builder).
CREATE_PAGES = {
    "/auth/users": "New user",
    "/auth/roles": "New role",
    "/business_rules/sets": "New rule set",
    "/feature_toggles/global": "New toggle",
    "/attachments/partitions": "New partition",
    "/plans": "New plan",
    "/lcs/products": "New product",
    "/lcs/methods": "New method",
    "/lcs/locations": "New location",
    "/api_keys/keys": "New API key",
    "/directory/organizations": "New organization",
    "/directory/tenants": "New tenant",
}

INPUT_WEIGHTS = """() => [...document.querySelectorAll(
    'main input:not([type=checkbox]):not([type=radio]):not([type=hidden]):not([type=file]), main select, main textarea')]
    .map(el => (el.name || el.type) + ' ' + getComputedStyle(el).fontWeight)"""


def test_inputs_look_the_same_on_every_page(admin, live_server, desktop_page):
    """16, 1366 px: an input's text has one weight everywhere, inside a label (card pages)
    or not (filters)."""
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    weights = {}
    for path in [*CREATE_PAGES, "/lcs/shipments", "/attachments/library", "/auth/profile"]:
        page.goto(live_server + path)
        for entry in page.evaluate(INPUT_WEIGHTS):
            name, weight = entry.rsplit(" ", 1)
            weights.setdefault(weight, []).append(f"{path} {name}")
    assert set(weights) == {"400"}, {w: names[:6] for w, names in weights.items()}


def test_create_forms_are_one_pattern(admin, live_server, desktop_page):
    """16, 1366 px: every list page offers its create form the same way: a closed
    "▸ New X" disclosure above the list, holding the form."""
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    for path, title in CREATE_PAGES.items():
        page.goto(live_server + path)
        create = page.locator("main details.create")
        expect(create, path).to_have_count(1)
        expect(create.locator("> summary"), path).to_have_text(title)
        assert create.evaluate("el => el.open") is False, path
        assert create.locator("form button[type=submit]").count() == 1, path
        # above the list: nothing of the page's table comes before it
        assert create.evaluate(
            "el => ![...document.querySelectorAll('main table')].some(t => "
            "t.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING)"
        ), path
        create.locator("> summary").click()
        expect(create.locator("form").first, path).to_be_visible()
