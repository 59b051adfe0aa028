"""The negotiation table of api-conventions.md, request by request."""

import pytest

from tests.support import BROWSER, api_token, bearer

AXIOS = "application/json, text/plain, */*"


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({}, "json"),  # no Accept
        ({"Accept": "*/*"}, "json"),
        ({"Accept": "application/json"}, "json"),
        ({"Accept": AXIOS}, "json"),
        (BROWSER, "page"),
        ({"Accept": "text/html"}, "page"),
        ({"HX-Request": "true"}, "fragment"),  # htmx sends */*
        ({"HX-Request": "true", "Accept": "*/*"}, "fragment"),
        ({**BROWSER, "HX-Request": "true"}, "fragment"),
        ({"HX-Request": "true", "HX-Boosted": "true"}, "page"),  # boosted: whole page
        ({"HX-Request": "true", "HX-History-Restore-Request": "true"}, "page"),
        ({"HX-Request": "true", "Accept": "application/json"}, "json"),  # explicit JSON wins
    ],
)
def test_browser_path_negotiation(client, admin, headers, expected):
    token = api_token(client, admin)
    r = client.get("/auth/profile", headers={**bearer(token), **headers})
    assert r.status_code == 200
    vary = {v.strip() for v in r.headers["Vary"].split(",")}
    assert {"Accept", "HX-Request"} <= vary
    body = r.get_data(as_text=True)
    if expected == "json":
        assert r.mimetype == "application/json"
        assert r.get_json()["email"] == admin
    elif expected == "page":
        assert r.mimetype == "text/html"
        assert body.lstrip().startswith("<!doctype html>")
        assert 'id="profile-form"' in body
    else:
        assert r.mimetype == "text/html"
        assert "<html" not in body and "<nav" not in body
        assert body.lstrip().startswith('<form id="profile-form"')


@pytest.mark.parametrize("headers", [BROWSER, {"HX-Request": "true"}, {"Accept": "text/html"}])
def test_api_prefix_is_always_json(client, admin, headers):
    token = api_token(client, admin)
    r = client.get("/api/auth/profile", headers={**bearer(token), **headers})
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.get_json()["email"] == admin


def test_every_response_has_request_id_and_vary(client):
    r = client.get("/healthz")
    assert len(r.headers["x-request-id"]) == 32
    assert "HX-Request" in r.headers["Vary"]


def test_docs_page_is_html_even_under_api(client):
    r = client.get("/api/docs", headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert "/api/auth/login" in r.get_data(as_text=True)
