"""Undo and redo of admin commands (seed 000 POST …/actions/undo {undoToken}, …/redo {logId}):
every undoable kind, the conflict when the record changed since, the grant boundary and
scope, and the contract's refusals (never a 500)."""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from models import (
    AttachmentPartition,
    AuditLog,
    BusinessRule,
    FeatureToggle,
    Location,
    Method,
    Organization,
    Product,
    Role,
    StoragePlan,
    User,
    db,
)
from services import roles
from tests.support import (
    BROWSER,
    HX,
    PASSWORD,
    SYSTEM,
    api_token,
    bearer,
    browser_login,
    expect,
    new_page,
    new_user,
    open_and_sign_in,
    tenant_admin,
    with_features,
)

BASE = "/api/audit_logs/audit-logs/actions"
UNDO, REDO = f"{BASE}/undo", f"{BASE}/redo"


def entries(app, kind, resource_id=None):
    """The entries of ``kind`` (of one record), newest first."""
    with app.app_context():
        stmt = sa.select(AuditLog).where(AuditLog.resource_kind == kind)
        if resource_id is not None:
            stmt = stmt.where(AuditLog.resource_id == str(resource_id))
        rows = db.session.scalars(stmt.order_by(AuditLog.created_at.desc(), AuditLog.id.desc())).all()
        return [
            {
                "id": r.id,
                "token": r.undo_token,
                "state": r.execution_state,
                "action": r.action_type,
                "context": r.context,
            }
            for r in rows
        ]


def last(app, kind, resource_id=None, action=None) -> dict:
    rows = [e for e in entries(app, kind, resource_id) if action is None or e["action"] == action]
    return rows[0]


def undo(client, h, token, status=200):
    r = client.post(UNDO, json={"undoToken": token}, headers=h)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def redo(client, h, log_id, status=200):
    r = client.post(REDO, json={"logId": str(log_id)}, headers=h)
    assert r.status_code == status, r.get_json()
    return r.get_json()


@pytest.fixture()
def h(app, client, tenant):
    return bearer(api_token(client, tenant_admin(app, tenant, "ta@acme.test")))


def role_names(client, h) -> set[str]:
    return {r["name"] for r in client.get("/api/auth/roles?pageSize=100", headers=h).get_json()["items"]}


def role_acl(client, h, role_id) -> dict:
    return client.get(f"/api/auth/roles/acl?roleId={role_id}", headers=h).get_json()


# --- roles and role ACLs ------------------------------------------------------------------


def test_role_create_rename_acl_and_delete_are_undone_and_redone(app, client, h):
    role_id = client.post("/api/auth/roles", json={"name": "Packing"}, headers=h).get_json()["id"]
    created = last(app, "role", role_id, "create")
    assert created["token"] and created["state"] == "done"
    listed = client.get(f"{BASE}?resourceId={role_id}&undoableOnly=true", headers=h).get_json()
    assert [i["undoToken"] for i in listed["items"]] == [created["token"]]

    assert undo(client, h, created["token"]) == {"ok": True, "logId": str(created["id"])}
    assert "Packing" not in role_names(client, h)
    assert last(app, "role", role_id, "create")["state"] == "undone"
    removal = last(app, "role", role_id, "delete")
    assert removal["context"] == {"undoOf": str(created["id"])}
    again = undo(client, h, created["token"], 400)
    assert "already undone" in again["error"]

    out = redo(client, h, created["id"])
    assert out["ok"] is True and out["logId"] == str(created["id"]) and out["undoToken"]
    assert out["undoToken"] != created["token"]
    assert "Packing" in role_names(client, h)
    redo(client, h, created["id"], 400)  # not undone any more

    client.put("/api/auth/roles", json={"id": role_id, "name": "Packing desk"}, headers=h)
    undo(client, h, last(app, "role", role_id, "edit")["token"])
    assert "Packing" in role_names(client, h) and "Packing desk" not in role_names(client, h)

    body = {"roleId": role_id, "features": ["auth.roles.list", "lcs.shipments.read"], "organizations": None}
    assert client.put("/api/auth/roles/acl", json=body, headers=h).status_code == 200
    undo(client, h, last(app, "role_acl", role_id)["token"])
    assert role_acl(client, h, role_id)["features"] == []
    redo(client, h, _undone(app, "role_acl", role_id))
    assert role_acl(client, h, role_id)["features"] == ["auth.roles.list", "lcs.shipments.read"]

    assert client.delete(f"/api/auth/roles?id={role_id}", headers=h).status_code == 200
    undo(client, h, last(app, "role", role_id, "delete")["token"])
    assert role_acl(client, h, role_id)["features"] == ["auth.roles.list", "lcs.shipments.read"]
    assert "Packing" in role_names(client, h)


def _undone(app, kind, resource_id) -> uuid.UUID:
    return next(e["id"] for e in entries(app, kind, resource_id) if e["state"] == "undone")


def test_undo_of_a_record_changed_since_is_a_409_with_what_changed(app, client, h):
    role_id = client.post("/api/auth/roles", json={"name": "Dock"}, headers=h).get_json()["id"]
    client.put("/api/auth/roles", json={"id": role_id, "name": "Dock A"}, headers=h)
    first = last(app, "role", role_id, "edit")
    client.put("/api/auth/roles", json={"id": role_id, "name": "Dock B"}, headers=h)
    body = undo(client, h, first["token"], 409)
    assert body["changes"] == {"name": {"from": "Dock A", "to": "Dock B"}}
    assert "Dock B" in role_names(client, h)
    assert last(app, "role", role_id, "edit")["token"]  # the newest edit still undoes
    assert entries(app, "role", role_id)[1]["state"] == "done"  # the refused one stays done


def test_contract_refusals_are_400_never_500(client, h):
    assert undo(client, h, "no-such-token", 400)["error"]
    assert client.post(UNDO, json={}, headers=h).status_code == 400
    assert client.post(UNDO, json={"undoToken": ""}, headers=h).status_code == 400
    assert client.post(UNDO, json={"undoToken": 5}, headers=h).status_code == 400
    assert client.post(UNDO, json={"undoToken": "x" * 500}, headers=h).status_code == 400
    assert redo(client, h, uuid.uuid4(), 400)["error"]
    assert client.post(REDO, json={"logId": "nope"}, headers=h).status_code == 400


def test_undo_needs_the_feature_and_others_actions_need_the_tenant_one(app, client, make, tenant, h):
    role_id = client.post("/api/auth/roles", json={"name": "Mine"}, headers=h).get_json()["id"]
    token = last(app, "role", role_id, "create")["token"]
    viewer = with_features(
        app, tenant, "viewer@acme.test", ["audit_logs.view_self", "audit_logs.view_tenant", "auth.roles.manage"]
    )
    vh = bearer(api_token(client, viewer))
    assert client.post(UNDO, json={"undoToken": token}, headers=vh).status_code == 403  # no undo_self
    undoer = with_features(
        app, tenant, "undoer@acme.test", ["audit_logs.view_self", "audit_logs.undo_self", "auth.roles.manage"]
    )
    uh = bearer(api_token(client, undoer))
    assert undo(client, uh, token, 404)["error"]  # someone else's: out of reach without undo_tenant
    boss = with_features(
        app,
        tenant,
        "boss@acme.test",
        ["audit_logs.view_self", "audit_logs.undo_self", "audit_logs.undo_tenant", "auth.roles.manage"],
    )
    undo(client, bearer(api_token(client, boss)), token)
    assert "Mine" not in role_names(client, h)


def test_another_tenants_token_is_not_found(app, client, make, h):
    other = make.tenant("Globex")
    gh = bearer(api_token(client, tenant_admin(app, other, "ga@globex.test")))
    role_id = client.post("/api/auth/roles", json={"name": "Theirs"}, headers=gh).get_json()["id"]
    entry = last(app, "role", role_id, "create")
    assert undo(client, h, entry["token"], 404)["error"]
    undo(client, gh, entry["token"])
    assert redo(client, h, entry["id"], 404)["error"]


def test_entries_outside_the_callers_organizations_are_not_found(app, client, make, tenant, h):
    north = client.post("/api/directory/organizations", json={"name": "North"}, headers=h).get_json()["id"]
    south = client.post("/api/directory/organizations", json={"name": "South"}, headers=h).get_json()["id"]
    with app.app_context():
        role = roles.create_role(SYSTEM, "North undoers", tenant_id=tenant)
        features = ["audit_logs.*", "directory.organizations.manage"]
        roles.update_role_acl(SYSTEM, role.id, features=features, is_super_admin=False, organizations=[north])
        new_user(tenant, "nora@acme.test", role_ids=[role.id], organization_id=uuid.UUID(north))
    nh = bearer(api_token(client, "nora@acme.test"))
    entry = last(app, "organization", south, "create")
    assert entry["token"]
    assert undo(client, nh, entry["token"], 404)["error"]
    client.put("/api/directory/organizations", json={"id": north, "name": "North DC"}, headers=h)
    undo(client, nh, last(app, "organization", north, "edit")["token"])  # her own organization: in reach
    names = {o["name"] for o in client.get("/api/directory/organizations?view=manage", headers=h).get_json()["items"]}
    assert {"North", "South"} <= names and "North DC" not in names


def test_nobody_restores_a_role_holding_more_than_they_hold(app, client, tenant, h):
    role_id = client.post("/api/auth/roles", json={"name": "Everything"}, headers=h).get_json()["id"]
    wide = {"roleId": role_id, "features": ["auth.roles.list", "lcs.shipments.read"], "organizations": None}
    assert client.put("/api/auth/roles/acl", json=wide, headers=h).get_json()["sanitized"] is False
    client.put(
        "/api/auth/roles/acl",
        json={"roleId": role_id, "features": ["auth.roles.list"], "organizations": None},
        headers=h,
    )
    narrowed = last(app, "role_acl", role_id)
    lee = with_features(
        app,
        tenant,
        "lee@acme.test",
        ["audit_logs.*", "auth.roles.list", "auth.roles.manage", "auth.acl.manage"],
    )
    lh = bearer(api_token(client, lee))
    refused = undo(client, lh, narrowed["token"], 403)
    assert "do not hold" in refused["error"]
    assert role_acl(client, h, role_id)["features"] == ["auth.roles.list"]
    assert last(app, "role_acl", role_id)["state"] == "done"
    undo(client, h, narrowed["token"])  # the tenant administrator holds "*"
    with app.app_context():
        assert db.session.get(Role, uuid.UUID(role_id)).acl.features == ["auth.roles.list", "lcs.shipments.read"]


# --- every undoable kind: edit, delete and create undone and redone, and a conflict ----------


@dataclass
class Kind:
    """How the API creates, edits and deletes one kind of record, and which model columns
    (read straight from the table) show that an undo or redo landed."""

    kind: str
    model: type
    columns: tuple[str, ...]
    create: Callable
    edit: Callable
    delete: Callable
    super_admin: bool = False  # global records: only super admins change (and undo) them


def _id(r) -> str:
    assert r.status_code in (200, 201), r.get_json()
    body = r.get_json()
    return str(body["item"]["id"] if "item" in body else body["id"])


KINDS = [
    Kind(
        "role",
        Role,
        ("name",),
        lambda c, h, n: _id(c.post("/api/auth/roles", json={"name": f"Role {n}"}, headers=h)),
        lambda c, h, i: c.put("/api/auth/roles", json={"id": i, "name": "Renamed"}, headers=h),
        lambda c, h, i: c.delete(f"/api/auth/roles?id={i}", headers=h),
    ),
    Kind(
        "user",
        User,
        ("email", "name", "is_active"),
        lambda c, h, n: _id(
            c.post(
                "/api/auth/users", json={"email": f"kim{n}@acme.test", "password": PASSWORD, "name": "Kim"}, headers=h
            )
        ),
        lambda c, h, i: c.put("/api/auth/users", json={"id": i, "name": "Kim B", "isActive": False}, headers=h),
        lambda c, h, i: c.delete(f"/api/auth/users?id={i}", headers=h),
    ),
    Kind(
        "organization",
        Organization,
        ("name", "slug", "is_active"),
        lambda c, h, n: _id(c.post("/api/directory/organizations", json={"name": f"Depot {n}"}, headers=h)),
        lambda c, h, i: c.put(
            "/api/directory/organizations", json={"id": i, "name": "Depot East", "isActive": False}, headers=h
        ),
        lambda c, h, i: c.delete(f"/api/directory/organizations?id={i}", headers=h),
    ),
    Kind(
        "storage_plan",
        StoragePlan,
        ("name", "description", "quota_mb"),
        lambda c, h, n: _id(c.post("/api/v1/plans", json={"name": f"Bronze {n}", "quota": 100}, headers=h)),
        lambda c, h, i: c.put(
            f"/api/v1/plans/{i}", json={"name": "Silver", "quota": 500, "description": "More"}, headers=h
        ),
        lambda c, h, i: c.delete(f"/api/v1/plans/{i}", headers=h),
    ),
    Kind(
        "business_rule",
        BusinessRule,
        ("rule_id", "rule_name", "priority", "enabled"),
        lambda c, h, n: _id(
            c.post(
                "/api/business_rules/rules",
                json={"ruleId": f"r{n}", "ruleName": "Heavy", "ruleType": "GUARD", "entityType": "lcs.parcel"},
                headers=h,
            )
        ),
        lambda c, h, i: c.put(
            "/api/business_rules/rules",
            json={"id": i, "ruleName": "Heavier", "priority": 7, "enabled": False},
            headers=h,
        ),
        lambda c, h, i: c.delete(f"/api/business_rules/rules?id={i}", headers=h),
    ),
    Kind(
        "attachment_partition",
        AttachmentPartition,
        ("code", "title", "description", "requires_ocr"),
        lambda c, h, n: _id(
            c.post("/api/attachments/partitions", json={"code": f"scans{n}", "title": "Scans"}, headers=h)
        ),
        lambda c, h, i: c.put(
            "/api/attachments/partitions", json={"id": i, "title": "Old scans", "requiresOcr": True}, headers=h
        ),
        lambda c, h, i: c.delete(f"/api/attachments/partitions?id={i}", headers=h),
    ),
    Kind(
        "lcs_location",
        Location,
        ("name", "reference", "is_disabled"),
        lambda c, h, n: _id(c.post("/api/lcs/locations", json={"name": f"Hall {n}", "reference": "H"}, headers=h)),
        lambda c, h, i: c.put(f"/api/lcs/locations/{i}", json={"name": "Hall B", "is_disabled": True}, headers=h),
        lambda c, h, i: c.delete(f"/api/lcs/locations/{i}", headers=h),
    ),
    Kind(
        "lcs_method",
        Method,
        ("carrier_code", "name", "priority", "is_enabled", "countries"),
        lambda c, h, n: _id(c.post("/api/lcs/methods", json={"carrier_code": "postnl", "name": f"Std {n}"}, headers=h)),
        lambda c, h, i: c.put(
            f"/api/lcs/methods/{i}",
            json={"name": "Express", "priority": 5, "countries": [{"code": "NL", "amount": 495}]},
            headers=h,
        ),
        lambda c, h, i: c.delete(f"/api/lcs/methods/{i}", headers=h),
    ),
    Kind(
        "lcs_product",
        Product,
        ("sku", "description", "weight"),
        lambda c, h, n: _id(
            c.post(
                "/api/lcs/products", json={"sku": f"SKU-{n}", "description": "Mug", "barcodes": [f"871{n}"]}, headers=h
            )
        ),
        lambda c, h, i: c.put(f"/api/lcs/products/{i}", json={"description": "Big mug", "weight": 450}, headers=h),
        lambda c, h, i: c.delete(f"/api/lcs/products/{i}", headers=h),
    ),
]


KINDS.append(
    Kind(
        "feature_toggle",
        FeatureToggle,
        ("identifier", "name", "default_value"),
        lambda c, h, n: _id(
            c.post(
                "/api/feature_toggles/global",
                json={"identifier": f"undo.t{n}", "name": "Beta", "type": "boolean", "defaultValue": False},
                headers=h,
            )
        ),
        lambda c, h, i: c.put(
            "/api/feature_toggles/global", json={"id": i, "name": "Beta 2", "defaultValue": True}, headers=h
        ),
        lambda c, h, i: c.delete(f"/api/feature_toggles/global?id={i}", headers=h),
        super_admin=True,
    )
)


def state(app, k: Kind, record_id) -> tuple | None:
    """The record's columns, or None once it is gone (deleted or soft-deleted)."""
    with app.app_context():
        row = db.session.execute(sa.select(k.model).where(k.model.id == uuid.UUID(record_id))).scalar_one_or_none()
        if row is None or getattr(row, "deleted_at", None) is not None:
            return None
        return tuple(getattr(row, c) for c in k.columns)


@pytest.mark.parametrize("k", KINDS, ids=[k.kind for k in KINDS])
def test_every_kind_undoes_and_redoes_edit_delete_and_create(app, client, make, tenant, h, k):
    if k.super_admin:
        make.user(tenant, "root@acme.test", super_admin=True)
        h = bearer(api_token(client, "root@acme.test"))
    rid = k.create(client, h, 1)
    created = state(app, k, rid)
    assert k.edit(client, h, rid).status_code == 200
    edited = state(app, k, rid)
    assert edited != created

    edit = last(app, k.kind, rid, "edit")
    undo(client, h, edit["token"])
    assert state(app, k, rid) == created
    redo(client, h, edit["id"])
    assert state(app, k, rid) == edited

    assert k.delete(client, h, rid).status_code in (200, 204)
    assert state(app, k, rid) is None
    undo(client, h, last(app, k.kind, rid, "delete")["token"])
    assert state(app, k, rid) == edited

    # the creation is long past: the record changed since, so undoing it is a conflict
    first = [e for e in entries(app, k.kind, rid) if e["action"] == "create"][-1]  # not a revival's
    conflict = undo(client, h, first["token"], 409)
    assert conflict["changes"] and state(app, k, rid) == edited

    fresh = k.create(client, h, 2)
    made = state(app, k, fresh)
    create = last(app, k.kind, fresh, "create")
    undo(client, h, create["token"])
    assert state(app, k, fresh) is None
    redo(client, h, create["id"])
    assert state(app, k, fresh) == made


def test_user_acl_override_is_undone_and_redone(app, client, tenant, h):
    user_id = KINDS[1].create(client, h, 9)
    grant = {"userId": user_id, "features": ["lcs.shipments.read"], "organizations": None}
    assert client.put("/api/auth/users/acl", json=grant, headers=h).status_code == 200
    acl = lambda: client.get(f"/api/auth/users/acl?userId={user_id}", headers=h).get_json()
    assert acl()["hasCustomAcl"] is True
    entry = last(app, "user_acl", user_id)
    undo(client, h, entry["token"])
    assert acl()["hasCustomAcl"] is False and acl()["features"] == []
    redo(client, h, entry["id"])
    assert acl()["features"] == ["lcs.shipments.read"]


def test_toggle_override_is_undone_and_redone(app, client, make, tenant, h):
    make.user(tenant, "root@acme.test", super_admin=True)
    toggle_id = KINDS[-1].create(client, bearer(api_token(client, "root@acme.test")), 7)
    identifier = "undo.t7"
    check = lambda: client.get(f"/api/feature_toggles/check/boolean?identifier={identifier}", headers=h).get_json()
    assert check()["enabled"] is False
    body = {"toggleId": toggle_id, "isOverride": True, "overrideValue": True}
    assert client.put("/api/feature_toggles/overrides", json=body, headers=h).status_code == 200
    assert check()["enabled"] is True
    entry = last(app, "feature_toggle_override", toggle_id)
    undo(client, h, entry["token"])
    assert check()["enabled"] is False
    redo(client, h, entry["id"])
    assert check()["enabled"] is True
    client.put("/api/feature_toggles/overrides", json={**body, "overrideValue": False}, headers=h)
    assert undo(client, h, _token_of(app, entry["id"]), 409)["changes"]


def _token_of(app, log_id) -> str:
    with app.app_context():
        return db.session.get(AuditLog, log_id).undo_token


# --- people: the toast after a save, the audit list's Undo/Redo, a plain form post -----------


def test_htmx_save_toast_offers_undo_which_reloads_the_page(app, client, tenant):
    tenant_admin(app, tenant, "ta@acme.test")
    csrf = browser_login(client, "ta@acme.test")
    hx = {**HX, "X-CSRFToken": csrf}
    r = client.post("/auth/roles", data={"name": "Shift lead"}, headers=hx)
    assert r.status_code in (200, 201)
    toast = json.loads(r.headers["HX-Trigger"])["wharf:toast"]
    role_id = next(e for e in _all(app) if e["action"] == "create" and e["kind"] == "role")["resource"]
    assert toast["undo"] == {"token": last(app, "role", role_id)["token"], "url": "/audit_logs/audit-logs/actions/undo"}
    back = client.post(toast["undo"]["url"], data={"undoToken": toast["undo"]["token"]}, headers=hx)
    assert back.status_code == 200 and back.headers["HX-Refresh"] == "true"
    page = client.get("/auth/roles", headers=BROWSER).get_data(as_text=True)
    assert "Undone: Create role Shift lead" in page
    with app.app_context():
        assert db.session.get(Role, uuid.UUID(role_id)) is None


def test_no_undo_in_the_toast_without_the_feature(app, client, tenant):
    with_features(app, tenant, "rm@acme.test", ["auth.roles.list", "auth.roles.manage"])
    hx = {**HX, "X-CSRFToken": browser_login(client, "rm@acme.test")}
    r = client.post("/auth/roles", data={"name": "Night shift"}, headers=hx)
    assert "undo" not in json.loads(r.headers["HX-Trigger"])["wharf:toast"]


def test_audit_row_undo_and_redo_swap_the_row(app, client, tenant, h):
    role_id = client.post("/api/auth/roles", json={"name": "Dock"}, headers=h).get_json()["id"]
    entry = last(app, "role", role_id, "create")
    hx = {**HX, "X-CSRFToken": browser_login(client, "ta@acme.test")}
    page = client.get("/audit_logs/audit-logs/actions", headers=BROWSER).get_data(as_text=True)
    assert f'value="{entry["token"]}"' in page and "Export CSV" in page
    row = client.post(
        "/audit_logs/audit-logs/actions/undo",
        data={"undoToken": entry["token"]},
        headers={**hx, "HX-Target": f"audit-{entry['id']}"},
    )
    html = row.get_data(as_text=True)
    assert row.status_code == 200 and html.lstrip().startswith(f'<tr id="audit-{entry["id"]}" class="undone"')
    assert ">Redo</button>" in html and ">Undo</button>" not in html
    assert "Undone: Create role Dock" in json.loads(row.headers["HX-Trigger"])["wharf:toast"]["message"]
    again = client.post(
        "/audit_logs/audit-logs/actions/redo",
        data={"logId": str(entry["id"])},
        headers={**hx, "HX-Target": f"audit-{entry['id']}"},
    )
    assert ">Undo</button>" in again.get_data(as_text=True) and "Dock" in role_names(client, h)


def test_plain_form_post_undo_goes_back_with_a_message(app, client, tenant, h):
    role_id = client.post("/api/auth/roles", json={"name": "Yard"}, headers=h).get_json()["id"]
    csrf = browser_login(client, "ta@acme.test")
    r = client.post(
        "/audit_logs/audit-logs/actions/undo",
        data={"undoToken": last(app, "role", role_id)["token"], "csrf_token": csrf},
        headers={**BROWSER, "Referer": "http://localhost/audit_logs/audit-logs/actions"},
    )
    assert r.status_code == 303
    assert "Undone: Create role Yard" in client.get(r.headers["Location"], headers=BROWSER).get_data(as_text=True)
    stale = client.post(
        "/audit_logs/audit-logs/actions/undo",
        data={"undoToken": last(app, "role", role_id, "create")["token"] or "gone", "csrf_token": csrf},
        headers=BROWSER,
    )
    assert stale.status_code == 400


def _all(app) -> list[dict]:
    with app.app_context():
        return [
            {"kind": r.resource_kind, "action": r.action_type, "resource": r.resource_id}
            for r in db.session.scalars(sa.select(AuditLog).order_by(AuditLog.created_at.desc()))
        ]


@pytest.mark.browser
def test_browser_undo_from_the_toast_and_redo_from_the_audit_log(app, browser, live_server, tenant):
    tenant_admin(app, tenant, "ta@acme.test")
    context, page = new_page(browser)
    try:
        open_and_sign_in(page, live_server, "ta@acme.test")
        page.goto(live_server + "/auth/roles")
        page.click("#role-create summary")
        page.fill("input[name=name]", "Shift lead")
        page.press("input[name=name]", "Enter")
        toast = page.locator("#toasts .toast", has_text="Shift lead")
        toast.get_by_role("button", name="Undo").click()
        expect(page.locator("#toasts")).to_contain_text("Undone: Create role Shift lead")
        expect(page.locator("#roles-table")).not_to_contain_text("Shift lead")

        page.goto(live_server + "/audit_logs/audit-logs/actions")
        page.wait_for_function("window.htmx !== undefined")
        page.evaluate("window.__marker = 1")
        row = page.locator("#audit-results tbody tr", has_text="Create role Shift lead")
        expect(row).to_contain_text("undone")
        row.get_by_role("button", name="Redo Create role Shift lead").click()
        expect(row.get_by_role("button", name="Undo Create role Shift lead")).to_be_visible()
        assert page.evaluate("window.__marker") == 1  # the row was swapped, the page stayed
        page.goto(live_server + "/auth/roles")
        expect(page.locator("#roles-table")).to_contain_text("Shift lead")
    finally:
        context.close()


def test_nobody_undoes_a_change_of_a_user_holding_more_than_they_hold(app, client, tenant, h):
    """Undoing the rename of a ``*`` administrator changes that administrator: refused to a
    caller who holds less, like the rename itself would be."""
    boss = KINDS[1].create(client, h, 5)
    with app.app_context():
        star = db.session.scalars(sa.select(Role).where(Role.tenant_id == tenant, Role.name == "Administrator")).one()
        star_id = str(star.id)
    assert client.put("/api/auth/users", json={"id": boss, "roles": [star_id]}, headers=h).status_code == 200
    assert client.put("/api/auth/users", json={"id": boss, "name": "Boss"}, headers=h).status_code == 200
    lee = with_features(app, tenant, "lee@acme.test", ["audit_logs.*", "auth.users.list", "auth.users.edit"])
    refused = undo(client, bearer(api_token(client, lee)), last(app, "user", boss, "edit")["token"], 403)
    assert "hold" in refused["error"]
    with app.app_context():
        assert db.session.get(User, uuid.UUID(boss)).name == "Boss"


def test_an_undo_is_audited_and_can_itself_be_undone(app, client, h):
    role_id = client.post("/api/auth/roles", json={"name": "Gate"}, headers=h).get_json()["id"]
    client.put("/api/auth/roles", json={"id": role_id, "name": "Gate 2"}, headers=h)
    rename = last(app, "role", role_id, "edit")
    undo(client, h, rename["token"])
    listed = client.get(f"{BASE}?resourceId={role_id}&actionType=edit", headers=h).get_json()["items"]
    reverse, original = listed[0], listed[1]
    assert reverse["context"] == {"undoOf": str(rename["id"])} and reverse["actionLabel"] == "Undo: Rename role to Gate"
    assert reverse["changes"] == {"name": {"from": "Gate 2", "to": "Gate"}} and reverse["undoToken"]
    assert original["executionState"] == "undone" and original["undoToken"] is None
    undo(client, h, reverse["undoToken"])  # undoing the undo renames it again
    assert "Gate 2" in role_names(client, h)
    assert redo(client, h, rename["id"], 409)["changes"]  # the record is no longer as the undo left it


def test_an_api_key_undoes_what_it_did(app, client, tenant, h):
    role = client.post("/api/auth/roles", json={"name": "Key role"}, headers=h).get_json()["id"]
    features = ["audit_logs.view_self", "audit_logs.undo_self", "auth.roles.manage", "auth.roles.list"]
    client.put("/api/auth/roles/acl", json={"roleId": role, "features": features, "organizations": None}, headers=h)
    secret = client.post("/api/api_keys/keys", json={"name": "bot", "roles": [role]}, headers=h).get_json()["secret"]
    kh = {"Authorization": f"Bearer {secret}"}
    made = client.post("/api/auth/roles", json={"name": "By bot"}, headers=kh).get_json()["id"]
    token = client.get(f"{BASE}?undoableOnly=true", headers=kh).get_json()["items"][0]["undoToken"]
    assert token == last(app, "role", made)["token"]
    undo(client, kh, token)
    assert "By bot" not in role_names(client, h)
