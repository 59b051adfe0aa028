"""Password reset (seed 000 ``POST /auth/reset``, ``POST /auth/reset/confirm``): the JSON
contract, the htmx fragments and the pages, the mail it sends and the throttles."""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
import smtplib
import stat
import threading
import typing
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import AuthSession, LoginAttempt, PasswordReset, Tenant, User, db, utcnow
from services import mail
from tests.support import BROWSER, PASSWORD, api_token, bearer, browser_login, csrf_from

ORIGIN = "https://wharf.example.test"
NEW_PASSWORD = "a-fresh-long-password"
SENT = "If an account exists for that address, a reset link is on its way."
LINK_RE = re.compile(r"(\S+)/auth/reset/([A-Za-z0-9_-]+)")


@pytest.fixture()
def outbox(app, tmp_path):
    """Mail goes to a fresh file outbox; links use ORIGIN. The app is session-wide: restore."""
    keys = ("MAIL_OUTBOX", "MAIL_SERVER", "PUBLIC_URL")
    saved = {k: app.config[k] for k in keys}
    app.config.update(MAIL_OUTBOX=str(tmp_path / "outbox"), MAIL_SERVER=None, PUBLIC_URL=ORIGIN)
    yield tmp_path / "outbox"
    app.config.update(saved)


def messages(outbox) -> list[email.message.EmailMessage]:
    if not outbox.exists():
        return []
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(outbox.glob("*.eml"))]


def token_in(message) -> str:
    origin, token = LINK_RE.search(message.get_content()).groups()
    assert origin == ORIGIN
    return token


def request_token(client, address, outbox) -> str:
    r = client.post("/api/auth/reset", data={"email": address})
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    return token_in(messages(outbox)[-1])


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def can_sign_in(client, address, password) -> bool:
    """An API sign-in from a cookie-less client (a browser's cookie would require CSRF)."""
    fresh = client.application.test_client()
    return fresh.post("/api/auth/login", json={"email": address, "password": password}).status_code == 200


# --- POST /auth/reset: the JSON contract ------------------------------------------------


def test_form_encoded_request_mails_a_link_on_the_configured_origin(client, admin, outbox):
    r = client.post("/api/auth/reset", data=f"email={admin}", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    [msg] = messages(outbox)
    assert msg["To"] == admin and msg["Subject"] == "Reset your Wharf password"
    assert "Acme Logistics" in msg.get_content() and "30 minutes" in msg.get_content()
    token = token_in(msg)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    raw = next(outbox.glob("*.eml")).read_text()
    assert f"{ORIGIN}/auth/reset/{token}" in raw  # the link is whole in the file itself


def test_link_ignores_a_forged_host_header(client, admin, outbox):
    r = client.post(
        "/api/auth/reset", json={"email": admin}, headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    )
    assert r.status_code == 200
    [msg] = messages(outbox)
    assert "evil.example" not in msg.get_content()
    token_in(msg)  # asserts the configured origin


def test_json_request_matches_email_case_insensitively(client, admin, outbox):
    r = client.post("/api/auth/reset", json={"email": "  " + admin.upper()})
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    assert [m["To"] for m in messages(outbox)] == [admin]


def test_browser_path_answers_json_to_api_clients(client, admin, outbox):
    r = client.post("/auth/reset", json={"email": admin}, headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    assert len(messages(outbox)) == 1


def test_unknown_email_gets_the_same_answer_and_no_mail(client, admin, outbox, app):
    known = client.post("/api/auth/reset", data={"email": admin})
    unknown = client.post("/api/auth/reset", data={"email": "ghost@acme.test"})
    assert unknown.status_code == known.status_code == 200
    assert unknown.get_data() == known.get_data()
    assert [m["To"] for m in messages(outbox)] == [admin]
    with app.app_context():
        assert count(PasswordReset) == 1
        # The unknown address cost the same database write as the known one.
        assert count(LoginAttempt, LoginAttempt.kind == "reset", LoginAttempt.email == "ghost@acme.test") == 1


@pytest.mark.parametrize(
    "make_dead",
    [
        lambda s, uid, tid: s.execute(sa.update(User).where(User.id == uid).values(is_active=False)),
        lambda s, uid, tid: s.execute(sa.update(User).where(User.id == uid).values(deleted_at=utcnow())),
        lambda s, uid, tid: s.execute(sa.update(Tenant).where(Tenant.id == tid).values(is_active=False)),
    ],
    ids=["inactive-user", "deleted-user", "inactive-tenant"],
)
def test_accounts_that_cannot_sign_in_get_no_link(client, make, tenant, outbox, app, make_dead):
    uid = make.user(tenant, "gone@acme.test")
    with app.app_context():
        make_dead(db.session, uid, tenant)
        db.session.commit()
    r = client.post("/api/auth/reset", data={"email": "gone@acme.test"})
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    assert messages(outbox) == []
    with app.app_context():
        assert count(PasswordReset) == 0


def test_same_email_in_two_tenants_gets_one_link_per_account(client, make, outbox, app):
    one, two = make.tenant("One"), make.tenant("Two")
    make.user(one, "dup@x.test")
    make.user(two, "dup@x.test")
    assert client.post("/api/auth/reset", data={"email": "dup@x.test"}).get_json() == {"ok": True}
    sent = messages(outbox)
    assert len(sent) == 2 and {("tenant One" in m.get_content()) for m in sent} == {True, False}
    # Each link resets its own account only.
    assert (
        client.post("/api/auth/reset/confirm", data={"token": token_in(sent[0]), "password": NEW_PASSWORD}).status_code
        == 200
    )
    with app.app_context():
        hashes = db.session.scalars(sa.select(User.password_hash).where(User.email == "dup@x.test")).all()
        assert len(set(hashes)) == 2


def test_token_is_stored_only_as_its_sha256(client, admin, outbox, app):
    before = utcnow()
    token = request_token(client, admin, outbox)
    with app.app_context():
        row = db.session.scalars(sa.select(PasswordReset)).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.used_at is None and row.requested_ip == "127.0.0.1"
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=before.tzinfo)
        assert timedelta(minutes=29) < expires - before < timedelta(minutes=31)
        dump = db.session.execute(sa.text("SELECT * FROM password_resets")).all()
        assert token not in repr(dump)


def test_ttl_comes_from_config(client, admin, outbox, app):
    saved = app.config["PASSWORD_RESET_TTL_SECONDS"]
    app.config["PASSWORD_RESET_TTL_SECONDS"] = 120
    try:
        request_token(client, admin, outbox)
    finally:
        app.config["PASSWORD_RESET_TTL_SECONDS"] = saved
    assert "within 2 minutes" in messages(outbox)[0].get_content()
    with app.app_context():
        row = db.session.scalars(sa.select(PasswordReset)).one()
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=utcnow().tzinfo)
        assert timedelta(seconds=100) < expires - utcnow() <= timedelta(seconds=120)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"json": {}}, "email"),
        ({"data": {}}, "body"),  # nothing sent at all
        ({"json": {"email": ""}}, "email"),
        ({"json": {"email": "not-an-email"}}, "email"),
        ({"data": {"email": "two@@acme.test"}}, "email"),
        ({"json": {"email": 42}}, "email"),
        ({"json": {"email": ["admin@acme.test"]}}, "email"),
        ({"json": {"email": "x" * 400 + "@acme.test"}}, "email"),
        ({"data": "{not json", "content_type": "application/json"}, None),
        ({"json": ["admin@acme.test"]}, None),
    ],
)
def test_bad_request_input_is_400_and_writes_nothing(client, admin, outbox, app, kwargs, field):
    r = client.post("/api/auth/reset", **kwargs)
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"] and "ok" not in body  # the seed's 400 envelope for this route: {error}
    if field:
        assert [d["path"] for d in body["details"]] == [[field]]
    assert messages(outbox) == []
    with app.app_context():
        assert count(PasswordReset) == 0 and count(LoginAttempt) == 0


def test_unusable_public_url_is_the_seeds_500_for_every_address(client, admin, outbox, app):
    app.config["PUBLIC_URL"] = "wharf.example.test"  # no scheme: no link can be built
    for address in (admin, "ghost@acme.test"):
        r = client.post("/api/auth/reset", data={"email": address})
        assert r.status_code == 500
        assert r.get_json() == {"error": "Password reset email origin is not configured"}
    assert messages(outbox) == []
    with app.app_context():
        assert count(PasswordReset) == 0


# --- POST /auth/reset/confirm: the JSON contract -----------------------------------------


def test_confirm_sets_the_password_and_works_once(client, admin, outbox, app):
    token = request_token(client, admin, outbox)
    r = client.post(
        "/api/auth/reset/confirm",
        data=f"token={token}&password={NEW_PASSWORD}",
        content_type="application/x-www-form-urlencoded",
    )
    assert r.status_code == 200 and r.get_json() == {"ok": True, "redirect": "/auth/login"}
    assert can_sign_in(client, admin, NEW_PASSWORD) and not can_sign_in(client, admin, PASSWORD)
    again = client.post("/api/auth/reset/confirm", json={"token": token, "password": "yet-another-password"})
    assert again.status_code == 400
    assert again.get_json()["ok"] is False and again.get_json()["error"] == "Invalid or expired reset token"
    assert can_sign_in(client, admin, NEW_PASSWORD)
    with app.app_context():
        assert db.session.scalars(sa.select(PasswordReset.used_at)).one() is not None
        assert db.session.scalars(sa.select(User.password_hash)).one().startswith("$argon2")


def test_confirm_accepts_json(client, admin, outbox):
    token = request_token(client, admin, outbox)
    r = client.post("/api/auth/reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 200 and r.get_json() == {"ok": True, "redirect": "/auth/login"}
    assert can_sign_in(client, admin, NEW_PASSWORD)


def test_confirm_ends_every_sign_in_of_the_account(client, app, admin, staff, outbox):
    login = client.post("/api/auth/login", json={"email": admin, "password": PASSWORD}).get_json()
    other = app.test_client()
    browser_login(other, admin)
    staff_token = api_token(client, staff)
    assert client.get("/api/auth/profile", headers=bearer(login["token"])).status_code == 200

    token = request_token(client, admin, outbox)
    assert client.post("/api/auth/reset/confirm", json={"token": token, "password": NEW_PASSWORD}).status_code == 200

    assert client.get("/api/auth/profile", headers=bearer(login["token"])).status_code == 401
    assert client.post("/api/auth/session/refresh", json={"refreshToken": login["refreshToken"]}).status_code == 401
    assert other.get("/auth/profile", headers=BROWSER).status_code == 302  # the cookie session died too
    assert client.get("/api/auth/profile", headers=bearer(staff_token)).status_code == 200  # others untouched
    with app.app_context():
        admin_id = db.session.scalar(sa.select(User.id).where(User.email == admin))
        assert count(AuthSession, AuthSession.user_id == admin_id, AuthSession.revoked_at.is_(None)) == 0


def test_confirm_voids_the_accounts_other_tokens(client, admin, outbox):
    first = request_token(client, admin, outbox)
    second = request_token(client, admin, outbox)
    assert first != second
    assert client.post("/api/auth/reset/confirm", json={"token": second, "password": NEW_PASSWORD}).status_code == 200
    r = client.post("/api/auth/reset/confirm", json={"token": first, "password": "yet-another-password"})
    assert r.status_code == 400 and r.get_json()["ok"] is False
    assert can_sign_in(client, admin, NEW_PASSWORD)


def test_expired_token_is_refused(client, admin, outbox, monkeypatch):
    token = request_token(client, admin, outbox)
    from services import password_reset

    monkeypatch.setattr(password_reset, "utcnow", lambda: utcnow() + timedelta(minutes=31))
    r = client.post("/api/auth/reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 400 and r.get_json()["error"] == "Invalid or expired reset token"
    monkeypatch.undo()
    assert can_sign_in(client, admin, PASSWORD)


def test_token_of_a_deactivated_account_is_refused(client, admin, outbox, app):
    token = request_token(client, admin, outbox)
    with app.app_context():
        db.session.execute(sa.update(User).values(is_active=False))
        db.session.commit()
    r = client.post("/api/auth/reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 400 and r.get_json()["ok"] is False


def test_weak_password_is_400_and_leaves_everything_as_it_was(client, admin, outbox, app):
    session_token = api_token(client, admin)
    token = request_token(client, admin, outbox)
    r = client.post("/api/auth/reset/confirm", json={"token": token, "password": "short"})
    assert r.status_code == 400
    body = r.get_json()
    assert body["ok"] is False and body["error"] and body["details"][0]["path"] == ["password"]
    too_long = client.post("/api/auth/reset/confirm", json={"token": token, "password": "x" * 201})
    assert too_long.status_code == 400 and too_long.get_json()["details"][0]["path"] == ["password"]
    # Nothing was written: the token still works, the old password and sessions too.
    with app.app_context():
        assert db.session.scalars(sa.select(PasswordReset.used_at)).one() is None
    assert client.get("/api/auth/profile", headers=bearer(session_token)).status_code == 200
    assert can_sign_in(client, admin, PASSWORD)
    assert client.post("/api/auth/reset/confirm", json={"token": token, "password": NEW_PASSWORD}).status_code == 200


@pytest.mark.parametrize(
    "kwargs, paths",
    [
        ({"json": {}}, [["password"]]),  # the token may come from the browser's session: checked after the body
        ({"data": {"password": NEW_PASSWORD}}, [["token"]]),
        ({"json": {"token": "garbage", "password": NEW_PASSWORD}}, [["token"]]),
        ({"json": {"token": "x" * 10_000, "password": NEW_PASSWORD}}, [["token"]]),
        ({"json": {"token": 123, "password": NEW_PASSWORD}}, [["token"]]),
        ({"json": {"token": ["a", "b"], "password": {"p": 1}}}, [["token"], ["password"]]),
        ({"data": "{not json", "content_type": "application/json"}, None),
        ({"json": "a string"}, None),
    ],
)
def test_bad_confirm_input_is_400_never_500(client, admin, outbox, app, kwargs, paths):
    token = request_token(client, admin, outbox)
    r = client.post("/api/auth/reset/confirm", **kwargs)
    assert r.status_code == 400
    body = r.get_json()
    assert body["ok"] is False and body["error"]
    if paths:
        assert [d["path"] for d in body["details"]] == paths
    with app.app_context():
        assert db.session.scalars(sa.select(PasswordReset.used_at)).one() is None
    assert can_sign_in(client, admin, PASSWORD)
    assert client.post("/api/auth/reset/confirm", json={"token": token, "password": NEW_PASSWORD}).status_code == 200


# --- throttling ----------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["admin@acme.test", "ghost@acme.test"], ids=["known", "unknown"])
def test_requests_per_email_and_ip_are_throttled_alike_for_known_and_unknown(client, admin, outbox, address):
    for _ in range(3):
        assert client.post("/api/auth/reset", data={"email": address}).status_code == 200
    r = client.post("/api/auth/reset", data={"email": address})
    assert r.status_code == 429
    assert r.get_json() == {
        "error": "Too many password reset requests, try again later",
        "retryAfterSeconds": int(r.headers["Retry-After"]),
    }
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    assert len(messages(outbox)) == (3 if address == admin else 0)  # the throttled request sent nothing
    # Another address from this IP, and this address from another IP, still go through.
    assert client.post("/api/auth/reset", data={"email": "other@acme.test"}).status_code == 200
    assert (
        client.post("/api/auth/reset", data={"email": address}, environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code
        == 200
    )


def test_requests_per_ip_are_throttled_whatever_the_email(client, admin, outbox, app):
    for n in range(10):
        assert client.post("/api/auth/reset", data={"email": f"probe{n}@acme.test"}).status_code == 200
    assert client.post("/api/auth/reset", data={"email": admin}).status_code == 429
    assert client.post("/api/auth/reset", data={"email": "probe99@acme.test"}).status_code == 429
    assert messages(outbox) == []
    assert (
        client.post("/api/auth/reset", data={"email": admin}, environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code
        == 200
    )
    # The window passes: requests are welcome again.
    with app.app_context():
        db.session.execute(sa.update(LoginAttempt).values(created_at=utcnow() - timedelta(minutes=16)))
        db.session.commit()
    assert client.post("/api/auth/reset", data={"email": admin}).status_code == 200


def test_reset_requests_do_not_count_as_failed_sign_ins(client, admin, outbox):
    for _ in range(3):
        client.post("/api/auth/reset", data={"email": admin})
    for _ in range(4):
        assert client.post("/api/auth/login", json={"email": admin, "password": "wrong-pass"}).status_code == 401
    assert can_sign_in(client, admin, PASSWORD)


def test_bad_tokens_from_one_ip_are_throttled(client, app, admin, outbox):
    token = request_token(client, admin, outbox)
    browser = app.test_client()  # same IP; its session cookie stays out of the API calls
    for n in range(4):
        r = client.post("/api/auth/reset/confirm", json={"token": f"guess-{n}", "password": NEW_PASSWORD})
        assert r.status_code == 400
    assert browser.get("/auth/reset/guess-link", headers=BROWSER).status_code == 400  # links count too
    r = client.post("/api/auth/reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 429 and r.get_json()["error"] and "Retry-After" in r.headers
    page = browser.get(f"/auth/reset/{token}", headers=BROWSER)
    assert page.status_code == 429 and "Too many reset confirmation attempts" in page.get_data(as_text=True)
    assert "Location" not in page.headers  # a valid link is not let through while throttled
    # Another IP is not held back by this one's guesses.
    r = client.post(
        "/api/auth/reset/confirm",
        json={"token": token, "password": NEW_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert r.status_code == 200


def test_successful_reset_lifts_the_sign_in_lockout_of_that_ip(client, admin, outbox):
    for _ in range(5):
        client.post("/api/auth/login", json={"email": admin, "password": "wrong-pass"})
    assert client.post("/api/auth/login", json={"email": admin, "password": PASSWORD}).status_code == 429
    token = request_token(client, admin, outbox)
    assert client.post("/api/auth/reset/confirm", json={"token": token, "password": NEW_PASSWORD}).status_code == 200
    assert can_sign_in(client, admin, NEW_PASSWORD)


def test_concurrent_confirmations_let_exactly_one_through(client, admin, outbox, live_server):
    """Two tokens of one account, each presented twice at the same moment over real HTTP (on
    PostgreSQL the transactions overlap): one wins, the others are refused, nothing is a 5xx."""
    import json
    import urllib.error
    import urllib.request

    tokens = [request_token(client, admin, outbox) for _ in range(2)]
    barrier, results = threading.Barrier(4), []

    def confirm(token, password):
        req = urllib.request.Request(
            live_server + "/api/auth/reset/confirm",
            method="POST",
            data=json.dumps({"token": token, "password": password}).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        barrier.wait(timeout=10)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                results.append((r.status, password))
        except urllib.error.HTTPError as e:
            results.append((e.code, password))

    threads = [threading.Thread(target=confirm, args=(tokens[i % 2], f"{NEW_PASSWORD}-{i}")) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(status for status, _ in results) == [200, 400, 400, 400], results
    [winner] = [password for status, password in results if status == 200]
    assert can_sign_in(client, admin, winner)


# --- pages and htmx fragments ----------------------------------------------------------------


def test_sign_in_page_links_to_the_reset_page(client):
    html = client.get("/auth/login", headers=BROWSER).get_data(as_text=True)
    assert 'href="/auth/reset"' in html and "Forgot password?" in html


def test_reset_page_is_a_full_page_with_an_htmx_form(client):
    r = client.get("/auth/reset", headers=BROWSER)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.startswith("<!doctype html>")
    assert 'hx-post="/auth/reset"' in html and 'name="csrf_token"' in html and 'name="email"' in html


@pytest.mark.parametrize("address", ["admin@acme.test", "ghost@acme.test"], ids=["known", "unknown"])
def test_htmx_request_swaps_in_the_same_note_for_any_address(client, admin, outbox, address):
    csrf = csrf_from(client.get("/auth/reset", headers=BROWSER).get_data(as_text=True))
    r = client.post("/auth/reset", headers={"HX-Request": "true", "X-CSRFToken": csrf}, data={"email": address})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and SENT in html
    assert "<html" not in html and 'id="reset-request"' in html  # the fragment replacing the form
    assert len(messages(outbox)) == (1 if address == admin else 0)


def test_htmx_request_with_a_bad_address_rerenders_the_form_with_the_error(client, outbox):
    csrf = csrf_from(client.get("/auth/reset", headers=BROWSER).get_data(as_text=True))
    r = client.post("/auth/reset", headers={"HX-Request": "true", "X-CSRFToken": csrf}, data={"email": "nope"})
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "<html" not in html
    assert 'class="field-error">must be an email address' in html and 'value="nope"' in html
    assert SENT not in html


def test_htmx_request_throttled_shows_the_message_in_the_form(client, outbox):
    csrf = csrf_from(client.get("/auth/reset", headers=BROWSER).get_data(as_text=True))
    hx = {"HX-Request": "true", "X-CSRFToken": csrf}
    for _ in range(3):
        client.post("/auth/reset", headers=hx, data={"email": "ghost@acme.test"})
    r = client.post("/auth/reset", headers=hx, data={"email": "ghost@acme.test"})
    assert r.status_code == 429 and "Too many password reset requests" in r.get_data(as_text=True)
    assert "Retry-After" in r.headers


def test_browser_request_without_csrf_token_is_refused(client, admin, outbox):
    client.get("/auth/reset", headers=BROWSER)
    r = client.post("/auth/reset", headers={"HX-Request": "true"}, data={"email": admin})
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    r = client.post("/auth/reset", headers=BROWSER, data={"email": admin})
    assert r.status_code == 400
    assert messages(outbox) == []


def test_plain_form_post_answers_with_the_full_page(client, admin, outbox):
    csrf = csrf_from(client.get("/auth/reset", headers=BROWSER).get_data(as_text=True))
    r = client.post("/auth/reset", headers=BROWSER, data={"email": admin, "csrf_token": csrf})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.startswith("<!doctype html>") and SENT in html
    assert len(messages(outbox)) == 1


def test_emailed_link_moves_the_token_out_of_the_url(client, admin, outbox):
    token = request_token(client, admin, outbox)
    r = client.get(f"/auth/reset/{token}", headers=BROWSER)
    assert r.status_code == 303 and r.headers["Location"] == "/auth/reset/new"
    assert r.headers["Referrer-Policy"] == "no-referrer" and "no-store" in r.headers["Cache-Control"]
    page = client.get("/auth/reset/new", headers=BROWSER)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.startswith("<!doctype html>")
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert 'hx-post="/auth/reset/confirm"' in html and 'name="password"' in html
    assert token not in html  # the token lives in the signed session, not in the page


def test_new_password_via_htmx_field_errors_then_redirect_to_sign_in(client, admin, outbox):
    token = request_token(client, admin, outbox)
    client.get(f"/auth/reset/{token}", headers=BROWSER)
    csrf = csrf_from(client.get("/auth/reset/new", headers=BROWSER).get_data(as_text=True))
    hx = {"HX-Request": "true", "X-CSRFToken": csrf}

    weak = client.post("/auth/reset/confirm", headers=hx, data={"password": "short"})
    html = weak.get_data(as_text=True)
    assert weak.status_code == 400 and "<html" not in html
    assert 'class="field-error">must be at least 8 characters' in html and 'id="reset-confirm"' in html

    ok = client.post("/auth/reset/confirm", headers=hx, data={"password": NEW_PASSWORD})
    assert ok.status_code == 200 and ok.headers["HX-Redirect"] == "/auth/login"
    sign_in = client.get("/auth/login", headers=BROWSER).get_data(as_text=True)
    assert "Your password has been changed" in sign_in
    browser_login(client, admin, NEW_PASSWORD)
    # The token left the session with the reset: the form page now says so.
    assert "invalid or has expired" in client.get("/auth/reset/new", headers=BROWSER).get_data(as_text=True)


def test_new_password_via_plain_form_post_redirects(client, admin, outbox):
    token = request_token(client, admin, outbox)
    client.get(f"/auth/reset/{token}", headers=BROWSER)
    csrf = csrf_from(client.get("/auth/reset/new", headers=BROWSER).get_data(as_text=True))
    r = client.post("/auth/reset/confirm", headers=BROWSER, data={"password": NEW_PASSWORD, "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["Location"] == "/auth/login"
    assert can_sign_in(client, admin, NEW_PASSWORD)


def test_new_password_form_post_without_csrf_is_refused(client, admin, outbox):
    token = request_token(client, admin, outbox)
    client.get(f"/auth/reset/{token}", headers=BROWSER)
    r = client.post("/auth/reset/confirm", headers={"HX-Request": "true"}, data={"password": NEW_PASSWORD})
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    assert can_sign_in(client, admin, PASSWORD)


@pytest.mark.parametrize("path", ["/auth/reset/not-a-real-token", "/auth/reset/new"])
def test_invalid_link_or_no_link_shows_a_way_to_ask_again(client, path):
    r = client.get(path, headers=BROWSER)
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and html.startswith("<!doctype html>")
    assert "invalid or has expired" in html and 'href="/auth/reset"' in html
    assert 'name="password"' not in html


def test_used_link_shows_the_expired_page(client, admin, outbox):
    token = request_token(client, admin, outbox)
    assert client.post("/api/auth/reset/confirm", json={"token": token, "password": NEW_PASSWORD}).status_code == 200
    r = client.get(f"/auth/reset/{token}", headers=BROWSER)
    assert r.status_code == 400 and "invalid or has expired" in r.get_data(as_text=True)


def test_link_used_elsewhere_meanwhile_turns_the_form_into_the_expired_note(client, app, admin, outbox):
    token = request_token(client, admin, outbox)
    client.get(f"/auth/reset/{token}", headers=BROWSER)
    csrf = csrf_from(client.get("/auth/reset/new", headers=BROWSER).get_data(as_text=True))
    assert (
        app.test_client().post("/api/auth/reset/confirm", json={"token": token, "password": NEW_PASSWORD}).status_code
        == 200
    )
    r = client.post(
        "/auth/reset/confirm",
        headers={"HX-Request": "true", "X-CSRFToken": csrf},
        data={"password": "my-own-new-password"},
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "invalid or has expired" in html and 'href="/auth/reset"' in html
    assert 'name="password"' not in html
    assert can_sign_in(client, admin, NEW_PASSWORD)


# --- documentation and access ------------------------------------------------------------------


def test_both_endpoints_are_public_and_documented(app, client):
    from web.access import access_of
    from web.openapi import resolve

    for endpoint in (
        "api_auth.reset",
        "api_auth.reset_confirm",
        "auth_pages.reset_page",
        "auth_pages.reset_link",
        "auth_pages.reset_new_page",
    ):
        assert access_of(app.view_functions[endpoint]).public
    doc = client.get("/api/openapi.json").get_json()
    reset = doc["paths"]["/api/auth/reset"]["post"]
    confirm = doc["paths"]["/api/auth/reset/confirm"]["post"]
    assert reset["security"] == [] and confirm["security"] == []
    assert reset["summary"] == "Send reset email" and confirm["summary"] == "Complete password reset"
    form = "application/x-www-form-urlencoded"
    schemas = doc["components"]["schemas"]
    assert set(resolve(reset["requestBody"]["content"][form]["schema"], schemas)["properties"]) == {"email"}
    assert set(resolve(confirm["requestBody"]["content"]["application/json"]["schema"], schemas)["properties"]) == {
        "token",
        "password",
    }
    assert "429" in reset["responses"] and "429" in confirm["responses"]


# --- the mail service ----------------------------------------------------------------------------


def test_outbox_files_are_private(client, admin, outbox):
    request_token(client, admin, outbox)
    [path] = outbox.glob("*.eml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(outbox.glob(".*.tmp"))


def test_header_injection_is_refused(app, outbox):
    with app.app_context(), pytest.raises(mail.MailError):
        mail.send("a@b.test", "Hi\r\nBcc: everyone@example.test", "text")
    assert messages(outbox) == []


class FakeSMTP:
    """Stands in for smtplib.SMTP and records the conversation."""

    sessions: typing.ClassVar[list] = []
    fail = False
    done = threading.Event()  # set when a conversation ends (or the connection is refused)

    def __init__(self, host, port, timeout=None):
        if FakeSMTP.fail:
            FakeSMTP.done.set()
            raise ConnectionRefusedError("no mail server here")
        self.log = [("connect", host, port)]
        FakeSMTP.sessions.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.log.append(("quit",))
        FakeSMTP.done.set()

    def starttls(self, context=None):
        self.log.append(("starttls",))

    def login(self, user, password):
        self.log.append(("login", user, password))

    def send_message(self, message):
        self.log.append(("send", message))


@pytest.fixture()
def smtp(app, monkeypatch):
    keys = ("MAIL_SERVER", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS", "MAIL_FROM", "PUBLIC_URL")
    saved = {k: app.config[k] for k in keys}
    app.config.update(
        MAIL_SERVER="smtp.example.test",
        MAIL_PORT=587,
        MAIL_USERNAME="wharf",
        MAIL_PASSWORD="s3cret",
        MAIL_USE_TLS=True,
        MAIL_FROM="Wharf <noreply@wharf.example.test>",
        PUBLIC_URL=ORIGIN,
    )
    FakeSMTP.sessions, FakeSMTP.fail = [], False
    FakeSMTP.done.clear()
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    yield FakeSMTP
    app.config.update(saved)


def test_smtp_transport_speaks_starttls_logs_in_and_sends(app, smtp, tmp_path):
    app.config["MAIL_OUTBOX"], saved = str(tmp_path / "unused"), app.config["MAIL_OUTBOX"]
    try:
        with app.app_context():
            mail.send("ops@acme.test", "Hello", "Line one\n").result(timeout=5)
    finally:
        app.config["MAIL_OUTBOX"] = saved
    [session] = smtp.sessions
    assert [step[0] for step in session.log] == ["connect", "starttls", "login", "send", "quit"]
    assert session.log[0] == ("connect", "smtp.example.test", 587)
    assert session.log[2] == ("login", "wharf", "s3cret")
    sent = session.log[3][1]
    assert sent["To"] == "ops@acme.test" and sent["From"] == "Wharf <noreply@wharf.example.test>"
    assert sent["Message-ID"].endswith("@wharf.example.test>") and sent.get_content() == "Line one\n"
    assert not (tmp_path / "unused").exists()  # SMTP configured: no outbox file


def test_smtp_reset_mail_carries_the_link(app, client, admin, smtp):
    assert client.post("/api/auth/reset", data={"email": admin}).get_json() == {"ok": True}
    assert smtp.done.wait(5)  # delivered on a background thread
    [session] = smtp.sessions
    message = session.log[3][1]
    assert message["To"] == admin and token_in(message)


def test_a_down_mail_server_never_reveals_the_account(app, client, admin, smtp):
    smtp.fail = True
    r = client.post("/api/auth/reset", data={"email": admin})
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    assert smtp.done.wait(5)
    with app.app_context():
        future = mail.send("ops@acme.test", "Hello", "text")
        with pytest.raises(mail.MailError):
            future.result(timeout=5)


# --- the whole flow in a real browser (Debian's Chromium, as in test_browser.py) -----------------


@pytest.mark.browser
def test_forgot_password_flow_in_a_browser(page, live_server, admin, outbox):
    from tests.support import expect

    page.goto(live_server + "/auth/login")
    page.click("text=Forgot password?")
    expect(page).to_have_url(live_server + "/auth/reset")
    page.wait_for_function("window.htmx !== undefined")
    page.evaluate("window.__marker = 1")
    page.fill("input[name=email]", admin)
    page.click('button:has-text("Send reset link")')
    expect(page.locator("#reset-request")).to_contain_text(SENT)
    assert page.evaluate("window.__marker === 1"), "the page reloaded instead of swapping the form"

    page.goto(f"{live_server}/auth/reset/{token_in(messages(outbox)[-1])}")
    expect(page).to_have_url(live_server + "/auth/reset/new")  # the token left the address bar
    page.wait_for_function("window.htmx !== undefined")
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click('button:has-text("Set new password")')
    expect(page).to_have_url(live_server + "/auth/login")  # via HX-Redirect
    expect(page.locator("#toasts")).to_contain_text("Your password has been changed")

    page.fill("input[name=email]", admin)
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click('button:has-text("Sign in")')
    expect(page).to_have_url(live_server + "/")


def test_an_unusable_public_url_stops_the_app_at_start(tmp_path):
    from app import create_app

    with pytest.raises(RuntimeError, match="WHARF_PUBLIC_URL"):
        create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
                "SECRET_KEY": "k" * 40,
                "PUBLIC_URL": "wharf.example.test",
            }
        )
    assert create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
            "SECRET_KEY": "k" * 40,
            "PUBLIC_URL": "https://wharf.example.test/base",
        }
    ).config["PUBLIC_URL"]


def test_the_form_names_whose_password_it_sets(client, admin, staff, outbox):
    """Walk finding: an administrator who opens a picker's link while signed in is told the form
    sets the picker's password, not their own."""
    token = request_token(client, staff, outbox)
    browser_login(client, admin)
    client.get(f"/auth/reset/{token}", headers=BROWSER)
    html = client.get("/auth/reset/new", headers=BROWSER).get_data(as_text=True)
    assert f"For the account <strong>{staff}</strong>" in html
    assert f"You are signed in as {admin}: this sets the other account" in html
