"""Issue #19, locale (seed 000 ``/auth/locale``, lines 159-221): the language cookie and its
redirect, the user's saved choice, how a request's language is chosen, dates, numbers and
money written the locale's way, the page's language menu (htmx, no reload), and a catalog
that covers every marked string."""

from __future__ import annotations

import io
import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from models import User, db
from tests.support import (
    BROWSER,
    CSRF_MISSING,
    HX,
    api_token,
    bearer,
    browser_login,
    expect,
    marker_survived,
    open_and_sign_in,
    refusal,
    set_marker,
)
from web import i18n

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "translations" / "nl" / "LC_MESSAGES"
COOKIE = "wharf_locale"


def cookie_of(client) -> str | None:
    found = client.get_cookie(COOKIE)
    return found.value if found else None


def saved_locale(app, email) -> str | None:
    with app.app_context():
        return db.session.scalars(db.select(User.locale).where(User.email == email)).one()


# --- the seed's two routes ----------------------------------------------------------------------


def test_post_sets_the_cookie_and_answers_ok(client):
    r = client.post("/api/auth/locale", json={"locale": "nl"})
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    assert cookie_of(client) == "nl"
    header = r.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Max-Age=31536000" in header


@pytest.mark.parametrize(
    "body",
    [{"locale": "xx"}, {"locale": "NL"}, {"locale": ""}, {"locale": 7}, {}],
)
def test_post_refuses_an_unknown_locale_or_a_malformed_body_with_400(client, body):
    r = client.post("/api/auth/locale", json=body)
    assert r.status_code == 400 and r.get_json()["error"]
    assert cookie_of(client) is None


def test_post_refuses_a_body_that_is_not_json_with_400(client):
    r = client.post("/api/auth/locale", data="locale=nl{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and cookie_of(client) is None


def test_get_sets_the_cookie_and_redirects_to_a_page_of_this_site(client):
    r = client.get("/api/auth/locale?locale=nl&redirect=/lcs/shipments?state=open")
    assert r.status_code == 302 and r.headers["Location"] == "/lcs/shipments?state=open"
    assert cookie_of(client) == "nl"
    # an absolute URL of this very origin is kept as its path
    r = client.get("/auth/locale?locale=en&redirect=http://localhost/lcs/lists")
    assert r.status_code == 302 and r.headers["Location"] == "/lcs/lists"
    assert cookie_of(client) == "en"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", ""]
)
def test_get_never_redirects_off_site(client, target):
    r = client.get("/auth/locale", query_string={"locale": "nl", "redirect": target})
    assert r.status_code == 302 and r.headers["Location"] == "/"


@pytest.mark.parametrize("query", ["locale=xx", "locale=", "", "locale=nl&locale=xx"])
def test_get_refuses_an_unknown_or_missing_locale_with_400(client, query):
    r = client.get(f"/api/auth/locale?{query}")
    assert r.status_code == 400 and r.get_json()["error"]
    assert cookie_of(client) is None


def test_the_routes_are_in_the_api_document(client):
    doc = client.get("/api/openapi.json").get_json()
    get, post = doc["paths"]["/api/auth/locale"]["get"], doc["paths"]["/api/auth/locale"]["post"]
    assert {p["name"]: p["required"] for p in get["parameters"]} == {"locale": True, "redirect": False}
    assert "302" in get["responses"] and {"200", "400"} <= set(post["responses"])
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert "next" not in json.dumps(doc["components"]["schemas"].get(body.get("$ref", "#/x").rsplit("/", 1)[-1], body))


# --- whose choice counts ------------------------------------------------------------------------


def test_a_signed_in_choice_is_saved_on_the_account_and_follows_the_person(app, client, admin):
    token = api_token(client, admin)
    r = client.post("/api/auth/locale", json={"locale": "nl"}, headers=bearer(token))
    assert r.status_code == 200 and saved_locale(app, admin) == "nl"
    assert client.get("/api/auth/profile", headers=bearer(token)).get_json()["locale"] == "nl"
    # another device: no cookie, an English browser, still Dutch pages
    handheld = app.test_client()
    browser_login(handheld, admin)
    home = handheld.get("/", headers={**BROWSER, "Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="nl">' in home and "Fijn je te zien" in home


def test_the_profile_saves_the_language_too_and_refuses_an_unknown_one(app, client, admin):
    token = api_token(client, admin)
    r = client.put("/api/auth/profile", json={"locale": "nl"}, headers=bearer(token))
    assert r.status_code == 200 and saved_locale(app, admin) == "nl"
    r = client.put("/api/auth/profile", json={"locale": "xx"}, headers=bearer(token))
    assert r.status_code == 400 and saved_locale(app, admin) == "nl"
    assert client.put("/api/auth/profile", json={"name": "Ada"}, headers=bearer(token)).status_code == 200
    assert saved_locale(app, admin) == "nl"  # a save without the field keeps it


def test_an_api_key_has_no_account_to_save_on_but_gets_its_cookie(app, client, admin):
    token = api_token(client, admin)
    created = client.post("/api/api_keys/keys", json={"name": "Locale"}, headers=bearer(token)).get_json()
    r = client.post("/api/auth/locale", json={"locale": "nl"}, headers=bearer(created["secret"]))
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    assert saved_locale(app, admin) is None


@pytest.mark.parametrize(
    ("accept_language", "cookie", "expected"),
    [
        (None, None, "en"),
        ("nl-NL,nl;q=0.9,en;q=0.8", None, "nl"),
        ("de-DE,de;q=0.9", None, "en"),  # not shipped: English
        ("nl", "en", "en"),  # the cookie beats the browser
        ("en", "nl", "nl"),
        ("en", "xx", "en"),  # a cookie naming no shipped locale is ignored
    ],
)
def test_an_anonymous_page_follows_cookie_then_browser_then_english(client, accept_language, cookie, expected):
    if cookie:
        client.set_cookie(COOKIE, cookie)
    headers = {**BROWSER, **({"Accept-Language": accept_language} if accept_language else {})}
    page = client.get("/auth/login", headers=headers).get_data(as_text=True)
    assert f'<html lang="{expected}">' in page
    assert ("<h1>Inloggen</h1>" if expected == "nl" else "<h1>Sign in</h1>") in page


def test_the_account_beats_the_cookie(app, client, admin):
    csrf = browser_login(client, admin)
    r = client.post("/auth/locale", data={"locale": "nl", "csrf_token": csrf, "next": "/"}, headers=BROWSER)
    assert r.status_code == 303 and r.headers["Location"] == "/"
    client.set_cookie(COOKIE, "en")  # say another tab's cookie
    assert '<html lang="nl">' in client.get("/", headers=BROWSER).get_data(as_text=True)


# --- the page's menu -----------------------------------------------------------------------------


def test_a_browser_post_needs_its_csrf_token(client, admin):
    browser_login(client, admin)
    r = client.post("/auth/locale", data={"locale": "nl"}, headers=BROWSER)
    assert CSRF_MISSING in refusal(r, 400)
    assert cookie_of(client) is None


def test_the_menu_posts_back_to_the_page_it_was_on(app, client, admin):
    csrf = browser_login(client, admin)
    page = client.get("/lcs/shipments?is_canceled=false", headers=BROWSER).get_data(as_text=True)
    assert 'name="next" value="/lcs/shipments?is_canceled=false"' in page
    r = client.post(
        "/auth/locale",
        data={"locale": "nl", "csrf_token": csrf, "next": "/lcs/shipments?is_canceled=false"},
        headers=BROWSER,
    )
    assert r.status_code == 303 and r.headers["Location"] == "/lcs/shipments?is_canceled=false"
    assert saved_locale(app, admin) == "nl" and cookie_of(client) == "nl"


def test_htmx_loads_the_page_again_into_the_body(client, admin):
    csrf = browser_login(client, admin)
    r = client.post("/auth/locale", data={"locale": "nl", "next": "/lcs/lists"}, headers={**HX, "X-CSRFToken": csrf})
    assert r.status_code == 200 and "HX-Redirect" not in r.headers
    assert json.loads(r.headers["HX-Location"]) == {
        "path": "/lcs/lists",
        "target": "body",
        "headers": {"HX-Boosted": "true"},
    }
    assert json.loads(r.headers["HX-Trigger"])["wharf:locale"] == {"lang": "nl"}
    # what that request gets: the whole page (boosted), in Dutch
    page = client.get("/lcs/lists", headers={**HX, "HX-Boosted": "true"}).get_data(as_text=True)
    assert "<title>Picklijsten · Wharf</title>" in page or "Picklijsten" in page
    assert "<body" in page


def test_an_off_site_next_goes_home(client, admin):
    csrf = browser_login(client, admin)
    r = client.post(
        "/auth/locale", data={"locale": "nl", "csrf_token": csrf, "next": "https://evil.example/"}, headers=BROWSER
    )
    assert r.status_code == 303 and r.headers["Location"] == "/"


# --- formats -------------------------------------------------------------------------------------


MOMENT = datetime(2026, 12, 4, 18, 42, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "moment", "count", "money", "yen"),
    [
        ("en", "2026-12-04 18:42 UTC", "12,500", "1,234.50 EUR", "1,234 JPY"),
        ("nl", "4 dec 2026 18:42 UTC", "12.500", "1.234,50 EUR", "1.234 JPY"),
    ],
)
def test_dates_numbers_and_money_are_written_the_locales_way(app, locale, moment, count, money, yen):
    with app.test_request_context("/", headers={"Accept-Language": locale}):
        stamp = str(i18n.when(MOMENT))
        assert stamp == f'<time datetime="2026-12-04T18:42:00.000Z">{moment}</time>'
        assert i18n.number(12500) == count
        assert i18n.money(123450, "EUR") == money
        assert i18n.money(1234, "JPY") == yen
        assert i18n.money(None, "EUR") == "—" and str(i18n.when(None)) == "—"


def test_a_naive_moment_is_read_as_utc(app):
    with app.test_request_context("/", headers={"Accept-Language": "nl"}):
        assert "4 dec 2026 18:42 UTC" in str(i18n.when(MOMENT.replace(tzinfo=None)))


def test_outside_a_request_the_formats_are_english(app):
    """A background job renders documents with an app context only: no request, no person."""
    with app.app_context():
        rendered = app.jinja_env.from_string("{{ m|when }} {{ n|number }} {{ v|money('EUR') }}")
        assert rendered.render(m=MOMENT, n=12500, v=123450) == (
            '<time datetime="2026-12-04T18:42:00.000Z">2026-12-04 18:42 UTC</time> 12,500 1,234.50 EUR'
        )


def test_a_dutch_dashboard_counts_the_dutch_way(app, client, admin):
    csrf = browser_login(client, admin)
    client.post("/auth/locale", data={"locale": "nl", "csrf_token": csrf}, headers=BROWSER)
    home = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert "Fijn je te zien, Ada Admin" in home and "Uitloggen" in home
    assert "deze sessie begon" in home and " UTC</time>" in home


# --- the catalog ---------------------------------------------------------------------------------


def test_every_marked_string_is_in_the_catalog_and_translated(tmp_path):
    """Extract the sources as ``make translations`` does: the .pot on disk is current, and
    the Dutch .po translates every entry of it."""
    pot = tmp_path / "messages.pot"
    pybabel = ROOT / ".venv" / "bin" / "pybabel"
    program = [str(pybabel)] if pybabel.exists() else ["pybabel"]
    subprocess.run(
        [*program, "extract", "-F", "babel.cfg", "-k", "add_nav:1", "-k", "area", "--no-location"]
        + ["--sort-output", "-o", str(pot), "app.py", "blueprints", "web", "services", "templates"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    fresh = {m.id for m in read_po(pot.open("rb")) if m.id}
    committed = {m.id for m in read_po((ROOT / "translations" / "messages.pot").open("rb")) if m.id}
    assert fresh == committed, "run `make translations`"
    dutch = read_po((CATALOG / "messages.po").open("rb"))
    untranslated = [m.id for m in dutch if m.id and not (all(m.string) if isinstance(m.id, tuple) else m.string)]
    assert fresh <= {m.id for m in dutch if m.id} and untranslated == []
    assert len(fresh) > 80


def test_the_compiled_catalog_matches_its_source():
    source = read_po((CATALOG / "messages.po").open("rb"))
    compiled = read_mo(io.BytesIO((CATALOG / "messages.mo").read_bytes()))

    def entries(catalog) -> dict:
        def plain(value):
            return tuple(value) if isinstance(value, list | tuple) else value

        return {plain(m.id): plain(m.string) for m in catalog if m.id}

    assert entries(source) == entries(compiled), "run `make translations`"


def test_placeholders_survive_translation():
    dutch = read_po((CATALOG / "messages.po").open("rb"))
    for m in dutch:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = set(re.findall(r"%\(\w+\)s", ids[0]))
        for text in strings:
            assert set(re.findall(r"%\(\w+\)s", text)) == wanted, (m.id, text)


# --- in a browser --------------------------------------------------------------------------------


def test_the_menu_turns_the_page_dutch_without_a_reload(mobile_page, app, admin, live_server):
    page = mobile_page
    open_and_sign_in(page, live_server, admin)
    set_marker(page)
    page.locator("label.navbutton").click()
    page.locator(".locale-menu select").select_option("nl")
    expect(page.locator("h1")).to_contain_text("Fijn je te zien")
    assert marker_survived(page)
    assert page.evaluate("document.documentElement.lang") == "nl"
    expect(page.locator("label.navbutton")).to_contain_text("Menu")
    expect(page.locator(".signout button")).to_have_text("Uitloggen")
    page.screenshot(path=str(ROOT / "test-artifacts" / "locale-dashboard-nl-360.png"))
    # the choice stays: the next page is Dutch too, and so is a later sign-in
    page.goto(live_server + "/auth/profile")
    expect(page.locator("h1")).to_have_text("Je profiel")
    expect(page.locator("select[name=locale]").first).to_have_value("nl")
    assert saved_locale(app, admin) == "nl"


def test_the_sign_in_page_has_the_menu_too(page, live_server):
    page.goto(live_server + "/auth/login")
    set_marker(page)
    page.locator(".locale-menu select").select_option("nl")
    expect(page.locator("h1")).to_have_text("Inloggen")
    assert marker_survived(page)
    page.reload()
    expect(page.locator("h1")).to_have_text("Inloggen")  # the cookie keeps it
