"""Storage plans (seed 004 /api/v1/plans): exactly one default, the default cannot be unset
or deleted, deleting a plan moves its users to the default, new users get the default, the
quota cycle (blocked at quota, reading and deleting still work, allowed again below it),
audit rows, tenant isolation and the screens."""

from __future__ import annotations

import io
import os

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import AuditLog, StoragePlan, db
from schemas.plans import PlanCreate
from services import plans
from tests.support import (
    BROWSER,
    MISSING_FEATURES,
    SYSTEM,
    api_token,
    bearer,
    browser_login,
    refusal,
    tenant_admin,
    with_features,
)

pytestmark = pytest.mark.usefixtures("files_root")  # every stored byte lands in a scratch directory

PLANS = "/api/v1/plans"
HX = {"HX-Request": "true"}
MB = 1024 * 1024


@pytest.fixture()
def h(client, app, tenant):
    return bearer(api_token(client, tenant_admin(app, tenant, "boss@acme.test")))


@pytest.fixture()
def other(client, app, make):
    return bearer(api_token(client, tenant_admin(app, make.tenant("Other Co"), "boss@other.test")))


def defaults(client, h) -> list[dict]:
    return [p for p in client.get(PLANS, headers=h).get_json()["items"] if p["default"]]


def create(client, h, **fields) -> dict:
    r = client.post(PLANS, json=fields, headers=h)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def user_id(app, email):
    from models import User

    with app.app_context():
        return str(db.session.scalar(sa.select(User.id).where(User.email == email)))


def test_default_plan_exists_from_first_use(client, h):
    body = client.get(PLANS, headers=h).get_json()
    assert body["total"] == 1 and body["page"] == 1
    (plan,) = body["items"]
    assert plan["default"] is True and plan["name"] == "Standard" and plan["quota"] == 1024
    assert set(plan) == {"id", "name", "description", "quota", "default"}
    assert client.get(f"{PLANS}/{plan['id']}", headers=h).get_json() == plan


def test_create_update_and_the_single_default(client, h, app, tenant):
    standard = defaults(client, h)[0]
    bronze = create(client, h, name="Bronze", quota=100, description="Small")
    assert bronze["default"] is False and bronze["quota"] == 100 and bronze["description"] == "Small"
    gold = create(client, h, name="Gold", quota=5000, default=True)
    assert gold["default"] is True
    assert [p["id"] for p in defaults(client, h)] == [gold["id"]]

    moved = client.put(f"{PLANS}/{bronze['id']}", json={"default": True, "quota": 150}, headers=h)
    assert moved.status_code == 200 and moved.get_json()["default"] is True and moved.get_json()["quota"] == 150
    assert [p["id"] for p in defaults(client, h)] == [bronze["id"]]
    assert client.get(f"{PLANS}/{gold['id']}", headers=h).get_json()["default"] is False

    unset = client.put(f"{PLANS}/{bronze['id']}", json={"default": False}, headers=h)
    assert unset.status_code == 400 and "default" in unset.get_json()["error"]
    assert [p["id"] for p in defaults(client, h)] == [bronze["id"]]
    assert (
        client.put(f"{PLANS}/{gold['id']}", json={"default": False, "name": "Gold+"}, headers=h).get_json()["name"]
        == "Gold+"
    )
    assert (
        client.put(f"{PLANS}/{standard['id']}", json={"description": None}, headers=h).get_json()["description"] is None
    )

    with app.app_context():
        kinds = [
            (a.action_type, a.resource_id)
            for a in db.session.scalars(
                sa.select(AuditLog).where(AuditLog.resource_kind == "storage_plan", AuditLog.tenant_id == tenant)
            )
        ]
    assert ("create", bronze["id"]) in kinds and ("create", gold["id"]) in kinds and ("edit", gold["id"]) in kinds
    assert ("create", standard["id"]) in kinds  # the default, created by the system


@pytest.mark.parametrize(
    "body",
    [
        {"quota": 10},
        {"name": "", "quota": 10},
        {"name": "x" * 121, "quota": 10},
        {"name": "Neg", "quota": -1},
        {"name": "Str", "quota": "lots"},
        {"name": "Float", "quota": 1.5},
        {"name": "Bool", "quota": True},
        {"name": "NoQuota"},
        {"name": "Flag", "quota": 1, "default": "maybe"},
        {"name": "Desc", "quota": 1, "description": "x" * 501},
    ],
)
def test_plan_validation(client, h, body):
    r = client.post(PLANS, json=body, headers=h)
    assert r.status_code == 400 and r.get_json()["details"], body


PLAN_FIELDS = {"id", "name", "description", "quota", "default"}  # seed 004's members of a plan


def test_every_operation_answers_the_seed_plan(client, h, app):
    """Seed 004: GET and PUT answer the plan's members; create answers 201 with the plan,
    delete ``{ok, movedUsers}``."""
    r = client.post(PLANS, json={"name": "Bronze", "quota": 100}, headers=h)
    assert r.status_code == 201 and set(r.get_json()) == PLAN_FIELDS
    bronze = r.get_json()
    assert (bronze["description"], bronze["default"]) == (None, False)
    got = client.get(f"{PLANS}/{bronze['id']}", headers=h)
    assert got.status_code == 200 and got.get_json() == bronze
    put = client.put(f"{PLANS}/{bronze['id']}", json={"description": "Small", "quota": 120}, headers=h)
    assert put.status_code == 200 and put.get_json() == {**bronze, "description": "Small", "quota": 120}
    kept = client.put(f"{PLANS}/{bronze['id']}", json={"name": None, "quota": None}, headers=h)  # null: keep
    assert kept.get_json() == put.get_json()
    gone = client.delete(f"{PLANS}/{bronze['id']}", headers=h)
    assert (gone.status_code, gone.get_json()) == (200, {"ok": True, "movedUsers": 0})
    uid = user_id(app, "boss@acme.test")
    usage = client.get(f"{PLANS}/usage", query_string={"userId": uid}, headers=h).get_json()
    assert set(usage) == {"userId", "planId", "planName", "quota", "quotaBytes", "usedBytes", "percent", "blocked"}


@pytest.mark.parametrize(
    "method, path, kwargs",
    [
        ("get", PLANS, {"query_string": {"page": "9" * 30}}),
        ("get", PLANS, {"query_string": {"pageSize": "0"}}),
        ("get", PLANS, {"query_string": {"sortField": "secret"}}),
        ("get", PLANS, {"query_string": {"search": "\x00"}}),
        ("get", f"{PLANS}/usage", {"query_string": {"userId": "me"}}),
        ("post", PLANS, {"json": {"name": "Big", "quota": 10**15}}),
        ("post", PLANS, {"data": '{"name": "Huge", "quota": 1%s}' % ("0" * 30), "content_type": "application/json"}),
        ("post", PLANS, {"json": {"name": ["Big"], "quota": 1}}),
        ("post", PLANS, {"json": {"name": "Nul\x00", "quota": 1}}),
        ("post", PLANS, {"json": {"name": "Desc", "quota": 1, "description": {"a": 1}}}),
        ("post", PLANS, {"json": {"name": "Tenant", "quota": 1, "tenantId": 5}}),
        ("post", PLANS, {"data": "", "content_type": "application/json"}),
        ("post", PLANS, {"data": "[1]", "content_type": "application/json"}),
        ("put", f"{PLANS}/assignment", {"json": {"userId": "x", "planId": 1}}),
        ("put", f"{PLANS}/assignment", {"json": {}}),
    ],
)
def test_malformed_input_is_400_in_the_envelope(client, h, method, path, kwargs):
    r = getattr(client, method)(path, headers=h, **kwargs)
    assert r.status_code == 400, r.get_data(as_text=True)
    body = r.get_json()
    assert body["error"] and body["details"] and body["details"][0]["message"]


def test_a_plan_update_with_a_bad_body_is_400(client, h):
    plan = create(client, h, name="Bronze", quota=1)
    for body in ({"quota": "lots"}, {"default": "maybe"}, {"name": ""}, {"description": "x" * 501}):
        r = client.put(f"{PLANS}/{plan['id']}", json=body, headers=h)
        assert r.status_code == 400 and r.get_json()["details"][0]["path"] == [next(iter(body))], body


def test_names_unique_and_ids_scoped(client, h, other):
    plan = create(client, h, name="Bronze", quota=1)
    assert client.post(PLANS, json={"name": "bronze", "quota": 2}, headers=h).status_code == 409
    assert client.post(PLANS, json={"name": "Bronze", "quota": 2}, headers=other).status_code == 201  # other tenant
    for method in ("get", "put", "delete"):
        assert getattr(client, method)(f"{PLANS}/{plan['id']}", json={}, headers=other).status_code == 404, method
    assert client.get(f"{PLANS}/not-a-uuid", headers=h).status_code == 404
    assert client.get(f"{PLANS}/00000000-0000-4000-8000-000000000000", headers=h).status_code == 404


def test_default_cannot_be_deleted_and_deleting_moves_users(client, h, app, tenant):
    default = defaults(client, h)[0]
    r = client.delete(f"{PLANS}/{default['id']}", headers=h)
    assert r.status_code == 400 and "default" in r.get_json()["error"]

    bronze = create(client, h, name="Bronze", quota=1)
    uid = user_id(app, "boss@acme.test")
    assigned = client.put(f"{PLANS}/assignment", json={"userId": uid, "planId": bronze["id"]}, headers=h)
    assert assigned.status_code == 200 and assigned.get_json()["planId"] == bronze["id"]
    gone = client.delete(f"{PLANS}/{bronze['id']}", headers=h)
    assert gone.get_json() == {"ok": True, "movedUsers": 1}
    usage = client.get(f"{PLANS}/usage", query_string={"userId": uid}, headers=h).get_json()
    assert usage["planId"] == default["id"]
    assert client.get(f"{PLANS}/{bronze['id']}", headers=h).status_code == 404
    with app.app_context():
        deleted = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.resource_kind == "storage_plan", AuditLog.action_type == "delete")
        ).one()
        assert deleted.snapshot_before["movedUsers"] == 1


def test_new_users_get_the_default_plan(client, h, app, tenant):
    gold = create(client, h, name="Gold", quota=9, default=True)
    r = client.post("/api/auth/users", json={"email": "new@acme.test", "password": "correct-horse-battery"}, headers=h)
    assert r.status_code == 201
    usage = client.get(f"{PLANS}/usage", query_string={"userId": r.get_json()["id"]}, headers=h).get_json()
    assert (
        usage["planId"] == gold["id"] and usage["quota"] == 9 and usage["usedBytes"] == 0 and usage["blocked"] is False
    )


def test_usage_and_assignment_are_tenant_scoped(client, h, other, app):
    uid = user_id(app, "boss@acme.test")
    assert client.get(f"{PLANS}/usage", query_string={"userId": uid}, headers=other).status_code == 404
    theirs = create(client, other, name="Theirs", quota=1)
    assert client.put(f"{PLANS}/assignment", json={"userId": uid, "planId": theirs["id"]}, headers=h).status_code == 404
    assert client.get(f"{PLANS}/usage", headers=h).status_code == 400


def test_the_database_refuses_a_second_default(app, tenant):
    with app.app_context():
        plans.ensure_default(tenant)
        db.session.add(StoragePlan(tenant_id=tenant, name="Rogue", quota_mb=1, is_default=True))  # past the service
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def _upload(client, headers, size: int, name: str):
    return client.post(
        "/api/attachments",
        data={"entityId": "lcs:shipment", "recordId": "S1", "file": (io.BytesIO(os.urandom(size)), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_quota_cycle(client, h, app, tenant):
    """At or over quota: uploads refused with a clear 413, reads and deletes still work, and
    uploads work again once a delete brings usage below the quota."""
    tiny = create(client, h, name="Tiny", quota=1)
    email = with_features(app, tenant, "packer@acme.test", ["attachments.view", "attachments.manage"])
    packer = bearer(api_token(client, email))
    uid = user_id(app, email)
    client.put(f"{PLANS}/assignment", json={"userId": uid, "planId": tiny["id"]}, headers=h)

    first = _upload(client, packer, 600 * 1024, "one.bin")
    assert first.status_code == 200
    second = _upload(client, packer, 600 * 1024, "two.bin")  # usage was below the quota
    assert second.status_code == 200
    usage = client.get(f"{PLANS}/usage", query_string={"userId": uid}, headers=h).get_json()
    assert usage["usedBytes"] == 1200 * 1024 and usage["blocked"] is True and usage["percent"] == 100

    blocked = _upload(client, packer, 10, "three.bin")
    assert blocked.status_code == 413
    assert "Storage quota reached" in blocked.get_json()["error"] and "Delete files" in blocked.get_json()["error"]
    # Someone else in the tenant is not affected.
    assert _upload(client, h, 10, "boss.bin").status_code == 200

    one = first.get_json()["item"]
    assert client.get(one["url"], headers=packer).status_code == 200  # reading still works
    assert client.delete("/api/attachments", query_string={"id": one["id"]}, headers=packer).get_json() == {"ok": True}
    assert client.get(f"{PLANS}/usage", query_string={"userId": uid}, headers=h).get_json()["blocked"] is False
    assert _upload(client, packer, 10, "again.bin").status_code == 200

    # Raising the quota unblocks as well; a zero quota blocks everything.
    client.put(f"{PLANS}/{tiny['id']}", json={"quota": 0}, headers=h)
    assert _upload(client, packer, 10, "zero.bin").status_code == 413
    client.put(f"{PLANS}/{tiny['id']}", json={"quota": 5}, headers=h)
    assert _upload(client, packer, 10, "five.bin").status_code == 200


def test_quota_refusal_in_the_file_panel(client, admin, app, tenant):
    csrf = browser_login(client, admin)
    uid = user_id(app, admin)
    with app.app_context():
        from services import users as users_svc

        plan = plans.create_plan(SYSTEM, PlanCreate(name="None", quota=0, tenantId=tenant))
        plans.assign_plan(SYSTEM, users_svc.get_user(SYSTEM, uid), plan.id)
    r = client.post(
        "/attachments",
        data={"entityId": "auth:user", "recordId": uid, "csrf_token": csrf, "file": (io.BytesIO(b"hello"), "a.txt")},
        headers={**BROWSER, **HX},
        content_type="multipart/form-data",
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'class="file-panel"' in html and "Storage quota reached" in html


def test_plan_screens_three_renderings(client, admin, h, app, tenant):
    csrf = browser_login(client, admin)
    hx = {**BROWSER, **HX, "X-CSRFToken": csrf}
    page = client.get("/plans", headers=BROWSER).get_data(as_text=True)
    assert page.startswith("<!doctype html>") and "Standard" in page and 'id="plan-create-form"' in page
    fragment = client.get("/plans", headers=hx).get_data(as_text=True)
    assert "<html" not in fragment and "Standard" in fragment and "<table" in fragment
    assert client.get("/plans", headers={"Accept": "application/json"}).get_json()["items"][0]["name"] == "Standard"

    bad = client.post("/plans", data={"name": "Broken", "quota": "-3", "default": "false"}, headers=hx)
    assert (
        bad.status_code == 422
        and "quota" in bad.get_data(as_text=True)
        and 'role="alert"' in bad.get_data(as_text=True)
    )
    made = client.post("/plans", data={"name": "Silver", "quota": "50", "default": ["false", "true"]}, headers=hx)
    assert made.status_code == 201 and "Created plan Silver" in made.get_data(as_text=True)
    assert "plans-changed" in made.headers["HX-Trigger"]
    silver = next(p for p in client.get(PLANS, headers=h).get_json()["items"] if p["name"] == "Silver")
    assert silver["default"] is True

    standard = next(p for p in client.get(PLANS, headers=h).get_json()["items"] if p["name"] == "Standard")
    edited = client.put(f"/plans/{standard['id']}", data={"name": "Standard", "quota": "abc"}, headers=hx)
    assert edited.status_code == 422 and "must be a whole number" in edited.get_data(as_text=True)
    saved = client.put(
        f"/plans/{standard['id']}", data={"name": "Standard", "quota": "2048", "default": ["false"]}, headers=hx
    )
    assert saved.status_code == 200 and "2048 MB" in saved.get_data(as_text=True)
    removed = client.delete(f"/plans/{standard['id']}", headers=hx)
    assert removed.status_code == 200 and "Standard" not in removed.get_data(as_text=True)

    uid = user_id(app, admin)
    bar = client.get(f"/plans/usage?userId={uid}", headers=hx).get_data(as_text=True)
    assert 'class="usage"' in bar and 'role="meter"' in bar and "<html" not in bar
    assigned = client.put("/plans/assignment", data={"userId": uid, "planId": silver["id"]}, headers=hx)
    assert assigned.status_code == 200 and "Silver" in assigned.get_data(as_text=True)
    assert client.get(f"/plans/{silver['id']}", headers=BROWSER).status_code == 200


def test_features_are_enforced(client, app, tenant):
    viewer = bearer(api_token(client, with_features(app, tenant, "v@acme.test", ["plans.view"])))
    assert client.get(PLANS, headers=viewer).status_code == 200
    r = client.post(PLANS, json={"name": "Nope", "quota": 1}, headers=viewer)
    assert r.status_code == 403 and r.get_json()["requiredFeatures"] == ["plans.manage"]
    nobody = bearer(api_token(client, with_features(app, tenant, "n@acme.test", [])))
    assert refusal(client.get(PLANS, headers=nobody), 403) == MISSING_FEATURES
