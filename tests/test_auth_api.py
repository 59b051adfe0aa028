"""Sign-in for API clients: the seed 000 /auth contract."""

from datetime import timedelta

import jwt
import pytest
import sqlalchemy as sa

from models import LoginAttempt, db, utcnow
from tests.support import PASSWORD, api_token, bearer


def test_profile_without_credentials_is_401_json(client):
    r = client.get("/api/auth/profile")
    assert r.status_code == 401
    assert r.get_json() == {"error": "Authentication required"}


def test_form_encoded_login_token_works_as_bearer(client, admin):
    r = client.post(
        "/api/auth/login", data=f"email={admin}&password={PASSWORD}", content_type="application/x-www-form-urlencoded"
    )
    assert r.status_code == 200
    body = r.get_json()
    assert body["ok"] is True and body["redirect"] is None
    assert body["token"] and body["refreshToken"] and body["expiresIn"] > 0
    assert "Set-Cookie" not in r.headers  # API sign-in creates no browser session
    me = client.get("/api/auth/profile", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.get_json()["email"] == admin
    assert "password" not in str(me.get_json()).lower()


def test_json_login_and_case_insensitive_email(client, admin):
    r = client.post("/api/auth/login", json={"email": admin.upper(), "password": PASSWORD})
    assert r.status_code == 200 and r.get_json()["ok"] is True


@pytest.mark.parametrize(
    "payload, missing",
    [
        ({"password": PASSWORD}, ["email"]),
        ({"email": "a@b.c"}, ["password"]),
        ({}, ["email", "password"]),
    ],
)
def test_login_missing_fields_is_400(client, payload, missing):
    r = client.post("/api/auth/login", json=payload)
    assert r.status_code == 400
    body = r.get_json()
    assert body["ok"] is False and body["error"]
    assert [d["path"][0] for d in body["details"]] == missing


def test_wrong_password_and_unknown_user_look_the_same(client, admin):
    a = client.post("/api/auth/login", data={"email": admin, "password": "nope-nope"})
    b = client.post("/api/auth/login", data={"email": "ghost@acme.test", "password": "nope-nope"})
    assert a.status_code == b.status_code == 401
    assert a.get_json() == b.get_json() == {"ok": False, "error": "Invalid email or password"}


def test_sixth_wrong_password_is_429_with_retry_after(client, admin, app):
    for _ in range(5):
        assert client.post("/api/auth/login", data={"email": admin, "password": "wrong-pass"}).status_code == 401
    r = client.post("/api/auth/login", data={"email": admin, "password": "wrong-pass"})
    assert r.status_code == 429
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= 15 * 60
    assert r.get_json()["retryAfterSeconds"] == retry and r.get_json()["error"]
    # Even the right password is refused while throttled.
    assert client.post("/api/auth/login", data={"email": admin, "password": PASSWORD}).status_code == 429
    # Another IP is not throttled for the same email.
    ok = client.post(
        "/api/auth/login", data={"email": admin, "password": PASSWORD}, environ_base={"REMOTE_ADDR": "10.9.8.7"}
    )
    assert ok.status_code == 200
    # Once the failures age out of the 15-minute window, sign-in works again.
    with app.app_context():
        db.session.execute(sa.update(LoginAttempt).values(created_at=utcnow() - timedelta(minutes=16)))
        db.session.commit()
    assert client.post("/api/auth/login", data={"email": admin, "password": PASSWORD}).status_code == 200


def test_success_resets_failure_count(client, admin):
    for _ in range(4):
        client.post("/api/auth/login", data={"email": admin, "password": "wrong-pass"})
    assert client.post("/api/auth/login", data={"email": admin, "password": PASSWORD}).status_code == 200
    for _ in range(4):
        assert client.post("/api/auth/login", data={"email": admin, "password": "wrong-pass"}).status_code == 401


def test_refresh_issues_new_access_token(client, admin):
    login = client.post("/api/auth/login", json={"email": admin, "password": PASSWORD}).get_json()
    r = client.post("/api/auth/session/refresh", json={"refreshToken": login["refreshToken"]})
    assert r.status_code == 200
    body = r.get_json()
    assert body["ok"] is True and body["expiresIn"] > 0
    assert client.get("/api/auth/profile", headers=bearer(body["accessToken"])).status_code == 200


@pytest.mark.parametrize("payload, status", [({}, 400), ({"refreshToken": "forged"}, 401)])
def test_refresh_bad_input(client, payload, status):
    r = client.post("/api/auth/session/refresh", json=payload)
    assert r.status_code == status and r.get_json()["ok"] is False


def test_logout_revokes_token_and_refresh(client, admin):
    login = client.post("/api/auth/login", json={"email": admin, "password": PASSWORD}).get_json()
    r = client.post("/api/auth/logout", headers=bearer(login["token"]))
    assert r.status_code == 201 and r.get_json() == {"ok": True}
    assert client.get("/api/auth/profile", headers=bearer(login["token"])).status_code == 401
    assert client.post("/api/auth/session/refresh", json={"refreshToken": login["refreshToken"]}).status_code == 401


def test_get_logout_for_api_clients(client, admin):
    token = api_token(client, admin)
    r = client.get("/api/auth/logout", headers=bearer(token))
    assert r.status_code == 200 and r.get_json() == {"ok": True}


def test_expired_or_tampered_tokens_are_refused(client, admin, app):
    token = api_token(client, admin)
    claims = jwt.decode(token, options={"verify_signature": False})
    expired = jwt.encode({**claims, "exp": 1}, app.config["SECRET_KEY"], algorithm="HS256")
    forged = jwt.encode(claims, "another-key-of-a-proper-length-32b", algorithm="HS256")
    for bad in (expired, forged, token + "x", "not-a-jwt"):
        assert client.get("/api/auth/profile", headers=bearer(bad)).status_code == 401


def test_token_in_query_string_is_ignored(client, admin):
    token = api_token(client, admin)
    assert client.get(f"/api/auth/profile?token={token}").status_code == 401
    assert client.get(f"/api/auth/profile?access_token={token}").status_code == 401


def test_deactivated_user_loses_access_immediately(client, admin, app):
    token = api_token(client, admin)
    from models import User

    with app.app_context():
        db.session.execute(sa.update(User).values(is_active=False))
        db.session.commit()
    assert client.get("/api/auth/profile", headers=bearer(token)).status_code == 401
    assert client.post("/api/auth/login", json={"email": admin, "password": PASSWORD}).status_code == 401


def test_same_email_in_two_tenants_needs_tenant_id(client, make):
    t1, t2 = make.tenant("One"), make.tenant("Two")
    make.user(t1, "dup@x.test")
    make.user(t2, "dup@x.test")
    r = client.post("/api/auth/login", json={"email": "dup@x.test", "password": PASSWORD})
    assert r.status_code == 400 and "tenantId" in r.get_json()["error"]
    r = client.post("/api/auth/login", json={"email": "dup@x.test", "password": PASSWORD, "tenantId": str(t2)})
    assert r.status_code == 200
    me = client.get("/api/auth/profile", headers=bearer(r.get_json()["token"])).get_json()
    assert me["tenantId"] == str(t2)
    bad = client.post("/api/auth/login", json={"email": "dup@x.test", "password": PASSWORD, "tenantId": "nope"})
    assert bad.status_code == 400


class TestProfileUpdate:
    def test_name_change(self, client, admin):
        token = api_token(client, admin)
        r = client.put("/api/auth/profile", json={"name": "Ada L."}, headers=bearer(token))
        assert r.status_code == 200 and r.get_json() == {"ok": True, "email": admin}
        assert client.get("/api/auth/profile", headers=bearer(token)).get_json()["name"] == "Ada L."

    def test_email_change_needs_current_password(self, client, admin):
        token = api_token(client, admin)
        r = client.put("/api/auth/profile", json={"email": "new@acme.test"}, headers=bearer(token))
        assert r.status_code == 400 and r.get_json()["details"][0]["path"] == ["currentPassword"]
        r = client.put(
            "/api/auth/profile", json={"email": "New@Acme.test", "currentPassword": PASSWORD}, headers=bearer(token)
        )
        assert r.status_code == 200 and r.get_json()["email"] == "new@acme.test"

    def test_email_taken_is_409_and_nothing_changes(self, client, admin, staff):
        token = api_token(client, admin)
        r = client.put(
            "/api/auth/profile",
            json={"email": staff, "name": "Changed", "currentPassword": PASSWORD},
            headers=bearer(token),
        )
        assert r.status_code == 409
        me = client.get("/api/auth/profile", headers=bearer(token)).get_json()
        assert me["email"] == admin and me["name"] == "Ada Admin"

    def test_password_change_signs_out_other_sessions(self, client, admin, app):
        first = api_token(client, admin)
        second = api_token(client, admin)
        r = client.put(
            "/api/auth/profile",
            json={"password": "a-brand-new-pass", "currentPassword": PASSWORD},
            headers=bearer(second),
        )
        assert r.status_code == 200
        assert client.get("/api/auth/profile", headers=bearer(first)).status_code == 401
        assert client.get("/api/auth/profile", headers=bearer(second)).status_code == 200
        assert client.post("/api/auth/login", json={"email": admin, "password": "a-brand-new-pass"}).status_code == 200

    @pytest.mark.parametrize(
        "payload", [{"email": "not-an-email"}, {"password": "short", "currentPassword": PASSWORD}, {"name": "x" * 201}]
    )
    def test_invalid_input_is_400_with_details(self, client, admin, payload):
        token = api_token(client, admin)
        r = client.put("/api/auth/profile", json=payload, headers=bearer(token))
        assert r.status_code == 400
        assert r.get_json()["details"]

    def test_malformed_json_is_400_not_500(self, client, admin):
        token = api_token(client, admin)
        r = client.put("/api/auth/profile", data="{not json", content_type="application/json", headers=bearer(token))
        assert r.status_code == 400
        assert "error" in r.get_json()


# --- contract (seed 000 /auth): input of any shape is a 400 in the seed's envelope -------------

DEEP = '{"email": ' + "[" * 2000 + "]" * 2000 + ', "password": "x"}'


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "{not json", "content_type": "application/json"},
        {"json": {"refreshToken": 1}},
        {"json": {"refreshToken": ["a"]}},
        {"json": {"refreshToken": ""}},
        {"json": ["a"]},
        {"data": DEEP, "content_type": "application/json"},
    ],
)
def test_refresh_with_any_bad_body_is_400_ok_false(client, kwargs):
    r = client.post("/api/auth/session/refresh", **kwargs)
    assert r.status_code == 400
    assert r.get_json()["ok"] is False and r.get_json()["error"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"email": ["a"], "password": "x"}},
        {"json": {"email": 1.5, "password": "x"}},
        {"json": {"email": "a@b.test", "password": {"p": 1}}},
        {"json": {"email": "a@b.test\x00", "password": "x"}},
        {"data": DEEP, "content_type": "application/json"},
        {"data": '{"email": ' + "[" * 500 + "]" * 500 + ', "password": "x"}', "content_type": "application/json"},
    ],
)
def test_login_with_any_bad_body_is_400_ok_false(client, kwargs):
    r = client.post("/api/auth/login", **kwargs)
    assert r.status_code == 400
    assert r.get_json()["ok"] is False and r.get_json()["error"]


def test_login_refusals_say_ok_false_but_429_is_plain(client, admin):
    assert client.post("/api/auth/login", json={"email": admin, "password": "wrong-pass"}).get_json()["ok"] is False
    for _ in range(5):
        client.post("/api/auth/login", json={"email": admin, "password": "wrong-pass"})
    throttled = client.post("/api/auth/login", json={"email": admin, "password": "wrong-pass"})
    assert throttled.status_code == 429 and "ok" not in throttled.get_json()


def test_feature_check_ok_means_every_feature_granted(client, make, tenant):
    make.member(tenant, "picker@acme.test", "Warehouse staff")
    h = bearer(api_token(client, "picker@acme.test"))
    all_held = client.post("/api/auth/feature-check", headers=h, json={"features": ["lcs.handling.write"]}).get_json()
    assert all_held["ok"] is True and all_held["granted"] == ["lcs.handling.write"]
    some = client.post(
        "/api/auth/feature-check", headers=h, json={"features": ["lcs.handling.write", "auth.roles.manage"]}
    ).get_json()
    assert some["ok"] is False and some["granted"] == ["lcs.handling.write"]
    none = client.post("/api/auth/feature-check", headers=h, json={"features": ["auth.roles.manage"]}).get_json()
    assert none["ok"] is False and none["granted"] == []


@pytest.mark.parametrize(
    "payload",
    [
        {"email": ["new@acme.test"], "currentPassword": PASSWORD},
        {"email": 1.5},
        {"name": ["x"]},
        {"name": "a\x00b"},
        {"password": 12345678},
    ],
)
def test_profile_update_with_wrong_types_is_400(client, admin, payload):
    r = client.put("/api/auth/profile", json=payload, headers=bearer(api_token(client, admin)))
    assert r.status_code == 400 and r.get_json()["details"]


@pytest.mark.parametrize("payload", [{"email": ["a@b.test"]}, {"email": 1.5}, {"email": None}])
def test_reset_request_with_wrong_types_is_400(client, payload):
    r = client.post("/api/auth/reset", json=payload)
    assert r.status_code == 400 and [d["path"] for d in r.get_json()["details"]] == [["email"]]
