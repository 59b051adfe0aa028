"""CSRF only where a browser session authenticates (issue #13, api-conventions.md)."""

from __future__ import annotations

import pytest

from tests.support import BROWSER, PASSWORD, api_token, bearer, browser_login, csrf_from, refusal

CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}


@pytest.mark.parametrize("as_form", [False, True])
def test_api_sign_in_with_a_cookie_in_the_jar_is_never_refused_for_csrf(client, admin, as_form):
    client.get("/api/docs")  # leaves a session cookie in the jar
    assert client.get_cookie("wharf_session") is not None
    body = {"email": admin, "password": PASSWORD}
    r = client.post("/api/auth/login", data=body) if as_form else client.post("/api/auth/login", json=body)
    assert r.status_code == 200, r.get_json()
    refreshed = client.post("/api/auth/session/refresh", json={"refreshToken": r.get_json()["refreshToken"]})
    assert refreshed.status_code == 200


def test_bearer_and_api_key_requests_ride_past_a_signed_in_cookie(client, admin):
    browser_login(client, admin)  # the jar now holds a signed-in browser session
    token = api_token(client, admin)
    r = client.put("/api/auth/profile", json={"name": "Bearer"}, headers=bearer(token))
    assert r.status_code == 200
    key = client.post("/api/api_keys/keys", json={"name": "k"}, headers=bearer(token)).get_json()["secret"]
    by_key = client.post("/api/api_keys/keys", json={"name": "k2"}, headers=bearer(key))
    assert by_key.status_code == 403 and by_key.get_json()["requiredFeatures"] == ["api_keys.create"]  # not a CSRF 400


def test_json_write_riding_a_signed_in_cookie_still_needs_the_token(client, admin):
    csrf = browser_login(client, admin)
    refused = client.put("/api/auth/profile", json={"name": "Ridden"})
    assert refused.status_code == 400 and "CSRF" in refused.get_json()["error"]
    assert client.put("/api/auth/profile", json={"name": "Ada"}, headers={"X-CSRFToken": csrf}).status_code == 200


@pytest.mark.parametrize("path", ["/auth/login", "/api/auth/login"])
def test_cross_site_sign_in_post_is_refused(client, admin, path):
    """Login CSRF: a cross-site page posting the attacker's credentials into the victim's browser."""
    token = csrf_from(client.get("/auth/login", headers=BROWSER).get_data(as_text=True))
    r = client.post(
        path, headers={**BROWSER, **CROSS_SITE}, data={"email": admin, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 400 and "Cross-site request refused" in r.get_data(as_text=True)
    assert client.get("/", headers=BROWSER).status_code == 302  # not signed in
    origin_only = client.post(
        path,
        headers={**BROWSER, "Origin": "https://evil.example"},
        data={"email": admin, "password": PASSWORD, "csrf_token": token},
    )
    assert "Cross-site request refused" in refusal(origin_only, 400)


def test_same_origin_browser_sign_in_goes_through(client, admin):
    token = csrf_from(client.get("/auth/login", headers=BROWSER).get_data(as_text=True))
    r = client.post(
        "/auth/login",
        headers={**BROWSER, "Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
        data={"email": admin, "password": PASSWORD, "csrf_token": token},
    )
    assert r.status_code == 303
