"""``GET /version`` (seed 000, "API Documentation"): the deployed Wharf version, for anyone,
the same one the OpenAPI document and the docs page show."""

from pathlib import Path

from app import create_app
from tests.support import BROWSER, api_token, bearer

RELEASE = (Path(__file__).resolve().parent.parent / "VERSION").read_text().strip()


def test_version_is_the_release_for_anyone(client, admin):
    assert RELEASE
    for headers in ({}, BROWSER, bearer(api_token(client, admin))):
        r = client.get("/api/version", headers=headers)
        assert r.status_code == 200 and r.mimetype == "application/json"
        assert r.get_json() == {"version": RELEASE}


def test_version_ignores_query_and_refuses_other_methods(client):
    assert client.get("/api/version", query_string={"x": "\x00"}).get_json() == {"version": RELEASE}
    r = client.post("/api/version", json={})
    assert r.status_code == 405 and r.get_json()["error"]


def test_document_and_docs_page_show_the_same_version(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "VERSION", "2026.12.5-build.7")
    assert client.get("/api/version").get_json() == {"version": "2026.12.5-build.7"}
    assert client.get("/api/openapi.json").get_json()["info"]["version"] == "2026.12.5-build.7"
    html = client.get("/api/docs", headers=BROWSER).get_data(as_text=True)
    assert '<span id="wharf-version">2026.12.5-build.7</span>' in html


def test_a_deployment_stamps_its_own_version(monkeypatch, tmp_path):
    monkeypatch.setenv("WHARF_VERSION", " 0.19.0+abc123 ")
    stamped = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/v.db"})
    assert stamped.config["VERSION"] == "0.19.0+abc123"
    monkeypatch.setenv("WHARF_VERSION", "")
    plain = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/v.db"})
    assert plain.config["VERSION"] == RELEASE
