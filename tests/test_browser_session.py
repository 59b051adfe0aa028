"""Browser sign-in: cookie sessions, CSRF, htmx redirects on expiry."""

import sqlalchemy as sa

from models import AuthSession, db, utcnow
from tests.support import BROWSER, CSRF_MISSING, PASSWORD, browser_login, csrf_from, refusal


def test_page_without_session_redirects_to_sign_in(client):
    r = client.get("/auth/profile", headers=BROWSER)
    assert r.status_code == 302
    assert r.headers["Location"] == "/auth/login?next=/auth/profile"


def test_htmx_without_session_gets_hx_redirect_not_a_swap(client):
    r = client.get("/auth/profile", headers={"HX-Request": "true", "HX-Current-URL": "http://h/auth/profile"})
    assert r.status_code == 401
    assert r.headers["HX-Redirect"].startswith("/auth/login?next=")
    assert "<form" not in r.get_data(as_text=True)


def test_sign_in_page_then_dashboard(client, admin):
    browser_login(client, admin)
    page = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert "Good to see you, Ada Admin" in page
    assert 'href="/auth/profile"' in page


def test_session_id_rotates_at_login(client, admin, app):
    page = client.get("/auth/login", headers=BROWSER)
    before = client.get_cookie("wharf_session").value
    token = csrf_from(page.get_data(as_text=True))
    client.post("/auth/login", headers=BROWSER, data={"email": admin, "password": PASSWORD, "csrf_token": token})
    after = client.get_cookie("wharf_session").value
    assert before != after
    # The pre-login CSRF token no longer works: the session was started afresh.
    r = client.put("/auth/profile", headers={**BROWSER, "X-CSRFToken": token}, data={"name": "x"})
    assert "CSRF check failed" in refusal(r, 400)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuthSession)) == 1


def test_browser_write_without_csrf_token_is_refused(client, admin):
    csrf = browser_login(client, admin)
    r = client.put("/auth/profile", headers=BROWSER, data={"name": "Hacked"})
    assert CSRF_MISSING in refusal(r, 400)
    # JSON callers riding the same cookie are refused too (envelope A).
    r = client.put("/api/auth/profile", json={"name": "Hacked"})
    assert r.status_code == 400 and "CSRF" in r.get_json()["error"]
    # With the token (as htmx sends it via hx-headers) the write goes through.
    r = client.put("/auth/profile", headers={"HX-Request": "true", "X-CSRFToken": csrf}, data={"name": "Ada"})
    assert r.status_code == 200
    assert "wharf:toast" in r.headers["HX-Trigger"]


def test_login_form_post_without_csrf_is_refused(client, admin):
    client.get("/auth/login", headers=BROWSER)
    r = client.post("/auth/login", headers=BROWSER, data={"email": admin, "password": PASSWORD})
    assert CSRF_MISSING in refusal(r, 400)
    assert client.get("/", headers=BROWSER).status_code == 302


def test_bearer_header_ignores_cookie_session(client, admin):
    browser_login(client, admin)
    r = client.get("/api/auth/profile", headers={"Authorization": "Bearer junk"})
    assert r.status_code == 401


def test_htmx_login_failure_rerenders_form_and_success_redirects(client, admin):
    page = client.get("/auth/login", headers=BROWSER)
    token = csrf_from(page.get_data(as_text=True))
    hx = {"HX-Request": "true", "X-CSRFToken": token}
    bad = client.post("/auth/login", headers=hx, data={"email": admin, "password": "wrong-pass"})
    assert bad.status_code == 401
    html = bad.get_data(as_text=True)
    assert html.lstrip().startswith('<form id="login-form"') and "Invalid email or password" in html
    good = client.post("/auth/login", headers=hx, data={"email": admin, "password": PASSWORD, "next": "/auth/profile"})
    assert good.status_code == 200 and good.headers["HX-Redirect"] == "/auth/profile"


def test_open_redirect_is_refused(client, admin):
    page = client.get("/auth/login", headers=BROWSER)
    token = csrf_from(page.get_data(as_text=True))
    r = client.post(
        "/auth/login",
        headers=BROWSER,
        data={"email": admin, "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
    )
    assert r.status_code == 303 and r.headers["Location"] == "/"


def test_expired_session_on_htmx_request(client, admin, app):
    csrf = browser_login(client, admin)
    with app.app_context():
        db.session.execute(sa.update(AuthSession).values(expires_at=utcnow()))
        db.session.commit()
    r = client.put(
        "/auth/profile",
        headers={"HX-Request": "true", "X-CSRFToken": csrf, "HX-Current-URL": "http://localhost/auth/profile"},
        data={"name": "x"},
    )
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/auth/login")


def test_logout_clears_session_everywhere(client, admin, app):
    csrf = browser_login(client, admin)
    cookie = client.get_cookie("wharf_session").value
    r = client.post("/auth/logout", headers={"HX-Request": "true", "X-CSRFToken": csrf})
    assert r.headers["HX-Redirect"] == "/auth/login"
    assert client.get("/", headers=BROWSER).status_code == 302
    # Replaying the old cookie does not bring the session back.
    client.set_cookie("wharf_session", cookie)
    assert client.get("/", headers=BROWSER).status_code == 302


def test_profile_page_htmx_validation_error_is_422_fragment(client, admin):
    csrf = browser_login(client, admin)
    r = client.put(
        "/auth/profile",
        headers={"HX-Request": "true", "X-CSRFToken": csrf},
        data={"email": "other@acme.test", "currentPassword": "wrong-pass"},
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith('<form id="profile-form"') and "is incorrect" in html
