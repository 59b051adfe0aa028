"""Two server processes on one database agree on permissions the moment a change is saved
(the per-process grant cache is stamped with the tenant's acl_version)."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from models import db
from schemas.feature_toggles import FeatureToggleCreate
from services import roles, users
from tests.support import PASSWORD, SYSTEM, new_tenant, new_user

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={
            "Accept": "application/json",
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


@pytest.fixture()
def two_workers(app):
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "WHARF_ARGON2_TIME_COST": "1",
        "WHARF_ARGON2_MEMORY_KIB": "1024",
    }
    ports = [_free_port(), _free_port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(p)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in ports
    ]
    try:
        for p in ports:
            deadline = time.time() + 20
            while True:
                try:
                    if _http("GET", f"http://127.0.0.1:{p}/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                assert time.time() < deadline, "worker did not start"
                time.sleep(0.1)
        yield [f"http://127.0.0.1:{p}" for p in ports]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def test_acl_change_in_one_worker_is_enforced_by_the_other(app, two_workers):
    with app.app_context():
        t = new_tenant("Shared")
        clerk = roles.create_role(SYSTEM, "Clerk", tenant_id=t.id)
        roles.update_role_acl(SYSTEM, clerk.id, features=["auth.users.list"], is_super_admin=False, organizations=None)
        users.create_user(SYSTEM, email="clerk@s.test", password=PASSWORD, role_ids=[clerk.id], tenant_id=t.id)
        new_user(t.id, "root@s.test", super_admin=True)
        role_id = str(clerk.id)
    a, b = two_workers
    clerk_token = _http("POST", f"{a}/api/auth/login", {"email": "clerk@s.test", "password": PASSWORD})[1]["token"]
    root_token = _http("POST", f"{a}/api/auth/login", {"email": "root@s.test", "password": PASSWORD})[1]["token"]
    assert _http("GET", f"{b}/api/auth/users", token=clerk_token)[0] == 200  # B caches the grants
    assert _http("GET", f"{a}/api/auth/users", token=clerk_token)[0] == 200  # so does A
    status, body = _http("PUT", f"{a}/api/auth/roles/acl", {"roleId": role_id, "features": []}, token=root_token)
    assert status == 200 and body == {"ok": True, "sanitized": False}
    assert _http("GET", f"{b}/api/auth/users", token=clerk_token)[0] == 403
    assert _http("GET", f"{a}/api/auth/users", token=clerk_token)[0] == 403
    # And back: granting again is seen by both at once.
    _http("PUT", f"{b}/api/auth/roles/acl", {"roleId": role_id, "features": ["auth.users.*"]}, token=root_token)
    assert _http("GET", f"{a}/api/auth/users", token=clerk_token)[0] == 200


def _tenant_administrator(name: str, email: str) -> None:
    """A tenant and one Administrator in it (call inside an app context)."""
    t = new_tenant(name)
    admin_role = roles.seed_default_roles(t.id)[roles.ADMINISTRATOR]
    db.session.commit()
    users.create_user(SYSTEM, email=email, password=PASSWORD, role_ids=[admin_role.id], tenant_id=t.id)


def test_toggle_override_in_one_worker_is_seen_by_the_other(app, two_workers):
    from services import toggles

    with app.app_context():
        _tenant_administrator("Toggled", "boss@t.test")
        toggle_id = str(
            toggles.create_toggle(
                SYSTEM,
                FeatureToggleCreate(identifier="lcs.scan.sound", name="Sound", type="boolean", defaultValue=True),
            ).id
        )
    a, b = two_workers
    token = _http("POST", f"{a}/api/auth/login", {"email": "boss@t.test", "password": PASSWORD})[1]["token"]
    check = "/api/feature_toggles/check/boolean?identifier=lcs.scan.sound"
    assert _http("GET", b + check, token=token)[1]["enabled"] is True  # B caches the resolution
    status, _ = _http(
        "PUT",
        f"{a}/api/feature_toggles/overrides",
        {"toggleId": toggle_id, "isOverride": True, "overrideValue": False},
        token=token,
    )
    assert status == 200
    answer = _http("GET", b + check, token=token)[1]
    assert answer["enabled"] is False and answer["source"] == "override"
    _http("PUT", f"{b}/api/feature_toggles/overrides", {"toggleId": toggle_id, "isOverride": False}, token=token)
    assert _http("GET", a + check, token=token)[1] == {**answer, "enabled": True, "source": "default"}


def test_shipment_list_cached_by_one_worker_follows_writes_in_the_other(app, two_workers):
    """B caches a page of shipments; A cancels that one and creates another: B's next answer
    shows both changes (the ``lcs.floor`` stamp is bumped in A's transactions)."""
    with app.app_context():
        _tenant_administrator("Floor", "lead@f.test")
    a, b = two_workers
    token = _http("POST", f"{a}/api/auth/login", {"email": "lead@f.test", "password": PASSWORD})[1]["token"]
    status, first = _http("POST", f"{a}/lcs/shipments", {"items": [{"sku": "MUG", "quantity": 1}]}, token=token)
    assert status == 200
    assert [s["id"] for s in _http("GET", f"{b}/lcs/shipments", token=token)[1]] == [first["id"]]  # cached by B
    assert _http("DELETE", f"{a}/lcs/shipments/{first['id']}", token=token)[0] == 204
    status, second = _http("POST", f"{a}/lcs/shipments", {"items": [{"sku": "CUP", "quantity": 1}]}, token=token)
    rows = _http("GET", f"{b}/lcs/shipments", token=token)[1]
    assert [s["id"] for s in rows] == [second["id"], first["id"]]
    assert rows[1]["is_canceled"] is True and rows[0]["is_canceled"] is False
