"""Navigation by area: Floor, Catalogue and Administration menus (details/summary: no script
needed, keyboard works), each link shown only when its endpoint's @requires is held; on a
360 px handheld the ☰ menu shows the areas as headed sections."""

import re

import pytest
from flask import Flask

from services import roles
from tests.support import (
    BROWSER,
    PASSWORD,
    api_token,
    bearer,
    browser_login,
    expect,
    new_page,
    open_and_sign_in,
    with_features,
)
from web.access import FeatureRegistry, requires

SHOTS = "/tmp/shots-g"


def areas(html: str) -> dict[str, list[str]]:
    """Area → link titles of the rendered navigation."""
    nav = re.search(r'<nav class="mainnav".*?</nav>', html, re.DOTALL).group(0)
    return {
        name: re.findall(r"<a [^>]*>([^<]+)</a>", body)
        for name, body in re.findall(r'<details class="navarea" data-area="([^"]+)">(.*?)</details>', nav, re.DOTALL)
    }


FLOOR_FEATURES = [f for f in roles.DEFAULT_ROLES[roles.WAREHOUSE_STAFF] if f.startswith("lcs.")]


@pytest.fixture()
def picker(app, tenant):
    """Floor staff: the Warehouse staff role's logistics features, no attachments."""
    return with_features(app, tenant, "picker@acme.test", FLOOR_FEATURES)


@pytest.fixture()
def boss(make, tenant):
    make.member(tenant, "boss@acme.test", roles.ADMINISTRATOR, name="Bo Boss")
    return "boss@acme.test"


def test_staff_sees_floor_and_catalogue_only(client, picker):
    browser_login(client, picker)
    html = client.get("/lcs/shipments", headers=BROWSER).get_data(as_text=True)
    assert areas(html) == {
        "Floor": ["Shipments", "Handling lists", "Short picks", "Pack", "Parcels", "Floor view"],
        "Catalogue": ["Locations", "Methods", "Products"],
    }
    assert "Administration" not in html and ">Users<" not in html
    # the menu of the page shown is marked, and so is its link
    assert '<summary class="current">Floor</summary>' in html and 'aria-current="page">Shipments<' in html
    assert re.search(r'<a href="/"[^>]*>Dashboard</a>', html) and ">Profile</a>" in html  # plain links


def test_warehouse_staff_role_sees_the_file_entries_it_may_open(client, make, tenant):
    """The role also holds attachments.view and .manage: Administration shows Files (its page
    opens for it), nothing else — storage partitions need attachments.partitions.manage."""
    make.member(tenant, "clerk@acme.test", roles.WAREHOUSE_STAFF)
    browser_login(client, "clerk@acme.test")
    shown = areas(client.get("/lcs/shipments", headers=BROWSER).get_data(as_text=True))
    assert shown["Administration"] == ["Files"]


def test_a_records_page_marks_its_area(client, boss):
    h = bearer(api_token(client, boss))
    product = client.post("/lcs/products", json={"sku": "MUG"}, headers=h).get_json()
    browser_login(client, boss)
    html = client.get(f"/lcs/products/{product['id']}", headers=BROWSER).get_data(as_text=True)
    assert '<summary class="current">Catalogue</summary>' in html
    assert html.count('<summary class="current">') == 1 and 'aria-current="page"' not in html


def test_administrator_sees_all_three_areas(client, boss):
    browser_login(client, boss)
    shown = areas(client.get("/lcs/products", headers=BROWSER).get_data(as_text=True))
    assert list(shown) == ["Floor", "Catalogue", "Administration"]
    assert shown["Catalogue"] == ["Locations", "Methods", "Products"]
    assert {
        "Users",
        "Roles",
        "API keys",
        "Feature toggles",
        "Business rules",
        "Audit log",
        "Storage partitions",
    } <= set(shown["Administration"])
    assert {"Files", "Organizations", "Tenants"} <= set(shown["Administration"])
    assert not {"Shipments", "Locations"} & set(shown["Administration"])


def test_admin_nav_json_groups_by_area(client, picker):
    groups = client.get("/api/auth/admin/nav", headers=bearer(api_token(client, picker))).get_json()["groups"]
    assert [g["name"] for g in groups] == ["Main", "Floor", "Catalogue", "Account"]
    assert [i["href"] for i in groups[1]["items"]][:2] == ["/lcs/shipments", "/lcs/lists"]


def test_check_nav_refuses_an_unknown_group():
    app = Flask("nav-groups")

    @app.get("/guarded")
    @requires("x.read")
    def guarded():
        return ""

    good = FeatureRegistry()
    for group in ("Main", "Floor", "Catalogue", "Administration", "Account"):
        good.add_nav(group, "guarded", group=group)
    good.check_nav(app)
    bad = FeatureRegistry()
    bad.add_nav("Shipments", "guarded", group="Warehouse")
    with pytest.raises(ValueError, match="unknown group 'Warehouse'"):
        bad.check_nav(app)


# --- in a browser -----------------------------------------------------------------------------------


def test_handheld_menu_shows_headed_sections(mobile_page, live_server, picker):
    page = mobile_page
    open_and_sign_in(page, live_server, picker)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    page.get_by_role("checkbox", name="Menu").focus()  # by keyboard
    page.keyboard.press("Space")
    expect(nav).to_be_visible()
    page.keyboard.press("Space")
    expect(nav).to_be_hidden()
    page.get_by_text("☰ Menu").click()  # by touch
    expect(nav).to_be_visible()
    for area, link in (("Floor", "Shipments"), ("Floor", "Handling lists"), ("Catalogue", "Products")):
        section = nav.locator(f'details[data-area="{area}"]')
        expect(section.locator("summary")).to_be_visible()
        expect(section.get_by_role("link", name=link, exact=True)).to_be_visible()  # open without a tap
    expect(nav.locator('details[data-area="Administration"]')).to_have_count(0)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    page.screenshot(path=f"{SHOTS}/nav-360.png", full_page=True)
    nav.get_by_role("link", name="Products", exact=True).click()
    expect(page.locator("h1")).to_have_text("Products")


def test_desktop_area_menus_by_mouse_and_keyboard(browser, live_server, boss):
    context, page = new_page(browser, viewport={"width": 1366, "height": 800})
    try:
        open_and_sign_in(page, live_server, boss)
        nav = page.get_by_role("navigation", name="Main")
        floor, admin = nav.locator('details[data-area="Floor"]'), nav.locator('details[data-area="Administration"]')
        expect(floor.get_by_role("link", name="Shipments")).to_be_hidden()
        floor.locator("summary").click()
        expect(floor.get_by_role("link", name="Shipments")).to_be_visible()
        page.screenshot(path=f"{SHOTS}/nav-1366-floor.png")
        admin.locator("summary").click()  # one menu at a time
        expect(admin.get_by_role("link", name="Users")).to_be_visible()
        expect(floor.get_by_role("link", name="Shipments")).to_be_hidden()
        page.keyboard.press("Escape")
        expect(admin.get_by_role("link", name="Users")).to_be_hidden()
        expect(admin.locator("summary")).to_be_focused()
        nav.locator('details[data-area="Catalogue"] summary').focus()
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        expect(nav.get_by_role("link", name="Locations")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_contain_text("Locations")
        expect(nav.locator('details[data-area="Catalogue"] summary')).to_have_class("current")
    finally:
        context.close()


def test_menus_open_without_javascript(browser, live_server, boss):
    context, page = new_page(browser, viewport={"width": 1366, "height": 800}, java_script_enabled=False)
    try:
        page.goto(live_server + "/auth/login")
        page.fill("input[name=email]", boss)
        page.fill("input[name=password]", PASSWORD)
        page.click('button:has-text("Sign in")')
        floor = page.locator('details[data-area="Floor"]')
        floor.locator("summary").click()
        floor.get_by_role("link", name="Handling lists").click()
        expect(page.locator("h1")).to_contain_text("Handling lists")
    finally:
        context.close()
