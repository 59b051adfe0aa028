"""Issue 16, items 9b, 15 and 16 (part): the demo as a person meets it, the weight limit on by
default, the site icon and a keyboard focus ring one can see."""

from __future__ import annotations

import json

import pytest

from cli import DEMO_USERS
from tests.support import api_token, bearer, expect, open_and_sign_in, sign_in

pytestmark = pytest.mark.browser

DEMO_ADMIN, DEMO_PASSWORD = DEMO_USERS[0][0], DEMO_USERS[0][1]


@pytest.fixture()
def demo(app, client):
    """The demo tenant as ``flask seed-demo`` makes it; an API header for its administrator."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return bearer(api_token(client, DEMO_ADMIN, DEMO_PASSWORD))


def _demo_sign_in(page, base):
    page.goto(base + "/auth/login")
    sign_in(page, base, DEMO_ADMIN, DEMO_PASSWORD)


def test_demo_refuses_a_label_heavier_than_its_method_allows(client, demo, live_server, page):
    """9b, 1366 px: a 30,000 g parcel on the demo's 23,000 g method gets no label, because the
    max-weight rule ships enabled (and the rules page says so)."""
    shipment = client.get("/lcs/shipments", headers=demo).get_json()[0]
    shipment = client.get(f"/lcs/shipments/{shipment['id']}", headers=demo).get_json()
    r = client.post(
        "/lcs/parcels",
        json={"shipment_id": shipment["id"], "weight": 30000, "item_ids": [u["id"] for u in shipment["items"]]},
        headers=demo,
    )
    assert r.status_code == 200, r.get_json()
    parcel = r.get_json()

    _demo_sign_in(page, live_server)
    page.goto(live_server + "/business_rules/rules")
    expect(page.locator("tr:has-text('parcel-max-weight')")).to_have_attribute("data-enabled", "true")
    csrf = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]
    answer = page.request.post(
        f"{live_server}/lcs/parcels/{parcel['id']}/label", headers={"X-CSRFToken": csrf, "Accept": "application/json"}
    )
    assert answer.status == 422
    body = answer.json()
    assert body["errors"] == {"blocked by rule": ["parcel-max-weight"]}
    assert "30000 g, more than PostNL Standard allows (23000 g)" in body["message"]
    assert client.get(f"/lcs/parcels/{parcel['id']}", headers=demo).get_json()["label"]["requested_at"] is None


def test_demo_method_is_enabled_and_its_location_has_an_address(client, demo, live_server, page):
    """15, 1366 px: the demo's method prints labels, so it is not shown "disabled"; its
    location has an address (the labels' return address)."""
    _demo_sign_in(page, live_server)
    page.goto(live_server + "/lcs/methods")
    row = page.locator("#method-table tr:has-text('PostNL Standard')")
    expect(row).to_be_visible()
    expect(row.locator(".badge", has_text="disabled")).to_have_count(0)
    page.goto(live_server + "/lcs/locations")
    expect(page.locator("tr:has-text('Rotterdam DC')")).to_contain_text("Rotterdam")
    location = client.get("/lcs/locations", headers=demo).get_json()[0]
    address = location["address"]
    assert address["street"] and address["postal_code"] and address["city"] == "Rotterdam"
    assert address["country_code"] == "NL"
    shipment = client.get("/lcs/shipments", headers=demo).get_json()[0]
    sender = client.get(f"/lcs/shipments/{shipment['id']}", headers=demo).get_json()["addressing"]["from"]
    assert sender["entity_id"] == location["id"] and sender["address"]["street"] == address["street"]


def test_favicon_is_served(live_server, page):
    """16, 1366 px: pages name an icon, and /favicon.ico (asked for by browsers on their own)
    is no 404, signed in or not."""
    answer = page.goto(live_server + "/favicon.ico")
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    page.goto(live_server + "/auth/login")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(live_server + icon).status == 200


def _luminance(css_color: str) -> float:
    parts = css_color[css_color.index("(") + 1 : css_color.index(")")].replace("/", ",").split(",")
    channels = [float(c) / 255 for c in parts[:3]]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_keyboard_focus_ring_is_plain_on_a_blue_button(admin, live_server, page):
    """16, 1366 px: tabbing onto the blue "Sign in" button draws a solid 2–3 px ring, set off
    from the button by a white gap, in a colour that stands out against that gap and the page
    (WCAG non-text contrast, 3:1). No single colour contrasts 3:1 with both white and the
    blue, hence the two-tone ring."""
    page.goto(live_server + "/auth/login")
    page.fill("input[name=password]", "x")
    page.keyboard.press("Tab")
    button = page.locator(":focus")
    expect(button).to_have_text("Sign in")
    style = button.evaluate(
        """el => { const s = getComputedStyle(el);
            return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), offset: parseFloat(s.outlineOffset),
                    color: s.outlineColor, shadow: s.boxShadow,
                    page: getComputedStyle(el.closest('.card') || document.body).backgroundColor}; }"""
    )
    assert style["style"] == "solid" and 2 <= style["width"] <= 3 and style["offset"] >= 2, style
    assert "rgb(255, 255, 255) 0px 0px 0px 2px" in style["shadow"], style  # the gap is white
    assert _contrast(style["color"], "rgb(255, 255, 255)") >= 3, style
    assert _contrast(style["color"], style["page"]) >= 3, style
    open_and_sign_in(page, live_server, admin)  # the page works on as before
