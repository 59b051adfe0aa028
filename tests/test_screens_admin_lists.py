"""Issue 16, items 2 and 10 in a real browser: the Users table refreshes after "Create user",
list footers are swapped once, and the messages a person reads (no selection, 403, /login)."""

from __future__ import annotations

import re

import pytest

from tests.support import (
    HX,
    MISSING_FEATURES,
    PASSWORD,
    browser_login,
    expect,
    open_and_sign_in,
    sign_in,
    url_is,
    with_features,
)

pytestmark = pytest.mark.browser


def test_created_user_appears_in_table_without_reload(page, live_server, admin):
    """1366 px: the new user is in the table as soon as the toast says it was created."""
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + "/auth/users")
    page.wait_for_function("window.htmx !== undefined")
    page.locator("#user-create summary").click()
    page.fill("#user-create input[name=email]", "newbie@acme.test")
    page.fill("#user-create input[name=password]", PASSWORD)
    page.click('#user-create button:has-text("Create user")')
    expect(page.locator("#toasts")).to_contain_text("newbie@acme.test created")
    expect(page.locator("#users-table")).to_contain_text("newbie@acme.test")
    expect(page.locator("#users-table p.muted")).to_have_text("2 users")


@pytest.mark.parametrize(
    ("path", "noun", "select"),
    [
        ("/auth/users", "user", "select[name=roleId]"),
        ("/business_rules/rules", "rule", "select[name=enabled]"),
        ("/business_rules/sets", "set", "select[name=enabled]"),
    ],
)
def test_list_footer_is_not_repeated_by_filters(page, live_server, admin, path, noun, select):
    """1366 px: changing a filter three times leaves one "N things" footer."""
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + path)
    page.wait_for_function("window.htmx !== undefined")
    options = page.locator(f"form.filters {select} option")
    for index in (1, 0, 1):
        value = options.nth(index).get_attribute("value")
        with page.expect_response(lambda r: path in r.url and r.request.method == "GET"):
            page.select_option(f"form.filters {select}", value)
    page.wait_for_load_state("networkidle")
    assert page.locator("p.muted", has_text=re.compile(rf"^\d+ {noun}s?$")).count() == 1


def test_list_without_selection_says_so_once(mobile_page, live_server, admin):
    """360 px: "Create handling list" with nothing ticked names the fix once, in words."""
    page = mobile_page
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + "/lcs/shipments")
    page.wait_for_function("window.htmx !== undefined")
    page.click('button:has-text("Create handling list from selected")')
    toast = page.locator("#toasts .toast-error").last
    expect(toast).to_contain_text("Select at least one shipment")
    assert toast.inner_text().count("Select at least one shipment") == 1
    assert "is required" not in toast.inner_text()


def test_forbidden_page_names_the_page_and_whom_to_ask(mobile_page, live_server, app, tenant):
    """360 px: a signed-in user without the feature learns which page and whom to ask."""
    page = mobile_page
    email = with_features(app, tenant, "nobody@acme.test", [])
    page.goto(live_server + "/auth/login")
    sign_in(page, live_server, email)
    response = page.goto(live_server + "/auth/users")
    assert response.status == 403
    body = page.locator("main")
    expect(body).to_contain_text("Users")
    expect(body).to_contain_text("auth.users.list")
    expect(body).to_contain_text("tenant administrator")


def test_forbidden_json_keeps_the_envelope(client, app, tenant):
    """JSON clients keep the machine message and the feature ids."""
    email = with_features(app, tenant, "nobody@acme.test", [])
    browser_login(client, email)
    r = client.get("/api/auth/users")
    assert r.status_code == 403
    assert r.get_json()["error"] == MISSING_FEATURES and r.get_json()["requiredFeatures"] == ["auth.users.list"]


def test_login_path_redirects_to_sign_in_keeping_next(mobile_page, live_server, admin):
    """360 px: /login (a guess people type) reaches the sign-in form and then `next`."""
    page = mobile_page
    page.goto(live_server + "/login?next=/auth/users")
    expect(page).to_have_url(url_is(live_server, "/auth/login?next=/auth/users"))
    sign_in(page, live_server, admin, expect_path="/auth/users")
    expect(page.locator("h1")).to_have_text("Users")


def test_create_user_fragment_tells_the_table_to_refresh(client, admin):
    """htmx: the create answer fires the event the table listens to; JSON clients get only ``{id}``."""
    csrf = browser_login(client, admin)
    form = {"email": "frag@acme.test", "password": PASSWORD}
    r = client.post("/auth/users", headers={**HX, "X-CSRFToken": csrf}, data=form)
    assert r.status_code == 201 and "auth:users-changed" in r.headers["HX-Trigger"]
    table = client.get("/auth/users", headers={**HX, "HX-Target": "users-table"}).get_data(as_text=True)
    assert 'hx-trigger="auth:users-changed from:body"' in table and table.count("2 users") == 1
    api = client.post(
        "/api/auth/users", headers={"X-CSRFToken": csrf}, json={"email": "j@acme.test", "password": PASSWORD}
    )
    assert api.status_code == 201 and set(api.get_json()) == {"id"} and "HX-Trigger" not in api.headers


def test_no_selection_message_for_people_only(client, admin):
    """The fragment says it in words; the JSON contract keeps its ``required`` error."""
    csrf = browser_login(client, admin)
    frag = client.post("/lcs/lists", headers={**HX, "X-CSRFToken": csrf}, data={"due_at": ""})
    assert frag.status_code == 400 and frag.get_data(as_text=True).count("Select at least one shipment") == 1
    api = client.post("/api/lcs/lists", headers={"X-CSRFToken": csrf}, json={})
    assert api.status_code == 400 and api.get_json()["errors"] == {"required": ["shipments"]}


def test_login_alias_without_next(client):
    r = client.get("/login")
    assert r.status_code == 302 and r.headers["Location"].endswith("/auth/login")
