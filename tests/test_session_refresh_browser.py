"""``GET /auth/session/refresh`` (seed 000, the browser's refresh): a live browser sign-in
gets another session lifetime and goes on to a page of this site; anything else is sent to
sign in. The redirect never leaves the site."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from models import AuthSession, db, utcnow
from models.base import aware
from tests.support import BROWSER, api_token, bearer, browser_login

REFRESH = "/auth/session/refresh"


def _sessions(app, kind="browser") -> list[AuthSession]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(AuthSession).where(AuthSession.kind == kind)))
        db.session.expunge_all()
        return rows


def _expire_in(app, seconds: int) -> None:
    with app.app_context():
        db.session.execute(sa.update(AuthSession).values(expires_at=utcnow() + timedelta(seconds=seconds)))
        db.session.commit()


def _login_target(r) -> str:
    """Where a refresh without a live sign-in sends the browser back to after signing in."""
    parts = urlsplit(r.headers["Location"])
    assert parts.path == "/auth/login", r.headers["Location"]
    return parse_qs(parts.query)["next"][0]


@pytest.mark.parametrize("prefix", ["", "/api"])
def test_live_sign_in_is_extended_and_redirected(app, client, admin, prefix):
    browser_login(client, admin)
    _expire_in(app, 60)
    r = client.get(prefix + REFRESH, query_string={"redirect": "/lcs/shipments?state=open"}, headers=BROWSER)
    assert r.status_code == 302
    assert r.headers["Location"] == "/lcs/shipments?state=open"
    [row] = _sessions(app)
    ttl = app.config["SESSION_LIFETIME_SECONDS"]
    assert aware(row.expires_at) > utcnow() + timedelta(seconds=ttl - 60)
    # the cookie goes out again with the new lifetime, and the sign-in still works
    assert "wharf_session=" in r.headers.get("Set-Cookie", "")
    assert client.get("/auth/profile", headers=BROWSER).status_code == 200


def test_default_target_is_the_dashboard(client, admin):
    browser_login(client, admin)
    r = client.get(REFRESH, headers=BROWSER)
    assert r.status_code == 302 and r.headers["Location"] == "/"


@pytest.mark.parametrize(
    "target, expected",
    [
        ("//evil.example/x", "/"),
        ("https://evil.example/x", "/"),
        ("http://evil.example/auth/profile", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("lcs/shipments", "/"),
        ("http://localhost/auth/profile?x=1", "/auth/profile?x=1"),  # this site, absolute
    ],
)
def test_redirect_stays_on_this_site(client, admin, target, expected):
    browser_login(client, admin)
    r = client.get(REFRESH, query_string={"redirect": target}, headers=BROWSER)
    assert r.status_code == 302 and r.headers["Location"] == expected


def test_without_a_sign_in_goes_to_login_and_back(client):
    r = client.get(REFRESH, query_string={"redirect": "/lcs/lists"}, headers=BROWSER)
    assert r.status_code == 302 and _login_target(r) == "/lcs/lists"
    # JSON clients (the seed's curl) get the same redirect, never an error
    r = client.get("/api" + REFRESH, query_string={"redirect": "https://evil.example"})
    assert r.status_code == 302 and _login_target(r) == "/"


def test_expired_or_revoked_sign_in_is_not_revived(app, client, admin):
    browser_login(client, admin)
    _expire_in(app, -5)
    r = client.get(REFRESH, query_string={"redirect": "/auth/profile"}, headers=BROWSER)
    assert _login_target(r) == "/auth/profile"
    [row] = _sessions(app)
    assert aware(row.expires_at) < utcnow()

    browser_login(client, admin)
    with app.app_context():
        db.session.execute(sa.update(AuthSession).values(revoked_at=utcnow()))
        db.session.commit()
    before = {s.id: s.expires_at for s in _sessions(app)}
    assert _login_target(client.get(REFRESH, headers=BROWSER)) == "/"
    assert {s.id: s.expires_at for s in _sessions(app)} == before


def test_api_sign_in_is_not_extended_by_the_browser_route(app, client, admin):
    """An API sign-in renews with its refresh token (POST); a bearer GET is sent to sign in."""
    token = api_token(client, admin)
    _expire_in(app, 60)
    [before] = _sessions(app, "api")
    r = client.get("/api" + REFRESH, headers=bearer(token))
    assert r.status_code == 302 and _login_target(r) == "/"
    [after] = _sessions(app, "api")
    assert after.expires_at == before.expires_at


@pytest.mark.parametrize("target", ["/a\x00b", "/x" * 1001])
def test_bad_redirect_is_a_400(client, target):
    r = client.get("/api" + REFRESH, query_string={"redirect": target})
    assert r.status_code == 400 and "error" in r.get_json()


def test_profile_page_offers_to_stay_signed_in(client, admin):
    browser_login(client, admin)
    html = client.get("/auth/profile", headers=BROWSER).get_data(as_text=True)
    assert 'id="signed-in-until"' in html
    assert f'href="{REFRESH}?redirect=/auth/profile"' in html
