"""Roles, role ACLs, users and user ACLs over JSON, htmx and full pages."""

import pytest

from models import db
from schemas.api_keys import ApiKeyCreate
from services import roles as roles_svc
from services import users as users_svc
from tests.support import BROWSER, PASSWORD, SYSTEM, api_token, bearer, browser_login, new_organization


@pytest.fixture()
def tenant_admin(make, tenant):
    """A tenant administrator (the seeded 'Administrator' role: '*' but not super admin)."""
    make.member(tenant, "boss@acme.test", roles_svc.ADMINISTRATOR, name="Tess Admin")
    return "boss@acme.test"


def _role_id(client, headers, name):
    items = client.get("/api/auth/roles", headers=headers).get_json()["items"]
    return next(r["id"] for r in items if r["name"] == name)


def test_roles_crud_contract(client, tenant_admin):
    h = bearer(api_token(client, tenant_admin))
    listing = client.get("/api/auth/roles?page=1&pageSize=50", headers=h).get_json()
    assert {"items", "total", "totalPages", "page", "pageSize"} <= set(listing)
    assert {r["name"] for r in listing["items"]} == {"Administrator", "Warehouse staff"}
    assert set(listing["items"][0]) >= {"id", "name", "usersCount", "tenantId", "tenantName"}
    r = client.post("/api/auth/roles", json={"name": "Shift lead"}, headers=h)
    assert r.status_code == 201 and set(r.get_json()) == {"id"}
    rid = r.get_json()["id"]
    assert client.post("/api/auth/roles", json={"name": "shift LEAD"}, headers=h).status_code == 409
    assert client.post("/api/auth/roles", json={"name": ""}, headers=h).status_code == 400
    assert client.put("/api/auth/roles", json={"id": rid, "name": "Lead"}, headers=h).get_json() == {"ok": True}
    assert client.get(f"/api/auth/roles?id={rid}", headers=h).get_json()["items"][0]["name"] == "Lead"
    assert client.delete(f"/api/auth/roles?id={rid}", headers=h).get_json() == {"ok": True}
    assert client.delete(f"/api/auth/roles?id={rid}", headers=h).status_code == 404
    assert client.delete("/api/auth/roles", headers=h).status_code == 400


def test_role_delete_refused_while_held(client, tenant_admin):
    h = bearer(api_token(client, tenant_admin))
    admin_role = _role_id(client, h, "Administrator")
    r = client.delete(f"/api/auth/roles?id={admin_role}", headers=h)
    assert r.status_code == 400 and r.get_json()["error"].startswith("Role cannot be deleted")


def test_role_acl_round_trip_and_conflict(client, tenant_admin):
    h = bearer(api_token(client, tenant_admin))
    rid = _role_id(client, h, "Warehouse staff")
    acl = client.get(f"/api/auth/roles/acl?roleId={rid}", headers=h).get_json()
    assert acl["isSuperAdmin"] is False and acl["organizations"] is None and "lcs.handling.write" in acl["features"]
    r = client.put(
        "/api/auth/roles/acl",
        headers=h,
        json={"roleId": rid, "features": ["lcs.*"], "organizations": None, "updatedAt": acl["updatedAt"]},
    )
    assert r.get_json() == {"ok": True, "sanitized": False}
    stale = client.put(
        "/api/auth/roles/acl", headers=h, json={"roleId": rid, "features": [], "updatedAt": acl["updatedAt"]}
    )
    assert stale.status_code == 409 and "Reload" in stale.get_json()["error"]
    assert client.get(f"/api/auth/roles/acl?roleId={rid}", headers=h).get_json()["features"] == ["lcs.*"]


@pytest.mark.parametrize(
    "payload",
    [
        {"features": "auth.*"},
        {"features": ["Bad Feature"]},
        {"features": ["x" * 130]},
        {"features": [], "organizations": ["not-a-uuid"]},
        {"features": [], "organizations": "all"},
    ],
)
def test_role_acl_bad_input_is_400(client, tenant_admin, payload):
    h = bearer(api_token(client, tenant_admin))
    rid = _role_id(client, h, "Warehouse staff")
    r = client.put("/api/auth/roles/acl", headers=h, json={"roleId": rid, **payload})
    assert r.status_code == 400 and r.get_json()["error"]


def test_tenant_admin_cannot_escalate(client, tenant_admin, admin):
    h = bearer(api_token(client, tenant_admin))
    rid = _role_id(client, h, "Warehouse staff")
    r = client.put(
        "/api/auth/roles/acl",
        headers=h,
        json={"roleId": rid, "features": ["*", "auth.users.list"], "isSuperAdmin": True},
    )
    assert r.get_json() == {"ok": True, "sanitized": True}
    acl = client.get(f"/api/auth/roles/acl?roleId={rid}", headers=h).get_json()
    assert acl["features"] == ["auth.users.list"] and acl["isSuperAdmin"] is False
    # The super admin of the same tenant is invisible and cannot be edited.
    listed = [u["email"] for u in client.get("/api/auth/users", headers=h).get_json()["items"]]
    assert admin not in listed
    root_id = client.get("/api/auth/profile", headers=bearer(api_token(client, admin))).get_json()["id"]
    assert client.put("/api/auth/users", headers=h, json={"id": root_id, "name": "pwned"}).status_code == 404
    assert client.get(f"/api/auth/users/acl?userId={root_id}", headers=h).status_code == 404


def test_features_and_nav(client, tenant_admin, staff):
    h = bearer(api_token(client, tenant_admin))
    catalog = client.get("/api/auth/features", headers=h).get_json()
    assert {"id": "auth.roles.list", "title": "List roles", "module": "auth"} in catalog["items"]
    assert {"id": "auth", "title": "Authentication & Accounts"} in catalog["modules"]
    nav = client.get("/api/auth/admin/nav", headers=h).get_json()
    assert {"groups", "settingsSections", "grantedFeatures", "roles"} <= set(nav)
    assert nav["roles"] == ["Administrator"] and nav["grantedFeatures"] == ["*"]
    staff_nav = client.get("/api/auth/admin/nav", headers=bearer(api_token(client, staff))).get_json()
    hrefs = [i["href"] for g in staff_nav["groups"] for i in g["items"]]
    assert "/auth/roles" not in hrefs and "/auth/profile" in hrefs


@pytest.mark.parametrize(
    "payload", [{}, {"features": []}, {"features": ["x"] * 51}, {"features": ["x" * 129]}, {"features": [1]}]
)
def test_feature_check_validation(client, staff, payload):
    r = client.post("/api/auth/feature-check", json=payload, headers=bearer(api_token(client, staff)))
    assert r.status_code == 400 and r.get_json()["ok"] is False


def test_users_crud_filters_and_override(client, tenant_admin):
    h = bearer(api_token(client, tenant_admin))
    staff_role = _role_id(client, h, "Warehouse staff")
    r = client.post(
        "/api/auth/users",
        headers=h,
        json={"email": "Picker@Acme.test", "password": PASSWORD, "name": "Pia", "roles": [staff_role]},
    )
    assert r.status_code == 201
    uid = r.get_json()["id"]
    assert (
        client.post("/api/auth/users", headers=h, json={"email": "picker@acme.test", "password": PASSWORD}).status_code
        == 409
    )
    assert client.post("/api/auth/users", headers=h, json={"email": "nope", "password": PASSWORD}).status_code == 400
    by_role = client.get(f"/api/auth/users?roleId={staff_role}", headers=h).get_json()
    assert [u["email"] for u in by_role["items"]] == ["picker@acme.test"]
    assert client.get("/api/auth/users?search=PIA", headers=h).get_json()["total"] == 1
    acl = client.get(f"/api/auth/users/acl?userId={uid}", headers=h).get_json()
    assert acl["hasCustomAcl"] is False
    client.put("/api/auth/users/acl", headers=h, json={"userId": uid, "features": ["auth.users.list"]})
    assert client.get(f"/api/auth/users/acl?userId={uid}", headers=h).get_json()["hasCustomAcl"] is True
    picker = bearer(api_token(client, "picker@acme.test"))
    granted = client.post(
        "/api/auth/feature-check", headers=picker, json={"features": ["auth.users.list", "lcs.handling.write"]}
    ).get_json()["granted"]
    assert granted == ["auth.users.list"]  # the override replaced the role's grants
    client.put("/api/auth/users/acl", headers=h, json={"userId": uid, "features": []})
    assert client.get(f"/api/auth/users/acl?userId={uid}", headers=h).get_json()["hasCustomAcl"] is False
    assert client.put("/api/auth/users", headers=h, json={"id": uid, "isActive": False}).status_code == 200
    assert client.get("/api/auth/profile", headers=picker).status_code == 401  # deactivation ends sessions
    assert client.delete(f"/api/auth/users?id={uid}", headers=h).get_json() == {"ok": True}
    assert client.get(f"/api/auth/users?id={uid}", headers=h).get_json()["total"] == 0


def test_audit_trail_of_admin_changes(app, client, tenant_admin):
    h = bearer(api_token(client, tenant_admin))
    rid = client.post("/api/auth/roles", json={"name": "Audited"}, headers=h).get_json()["id"]
    client.put("/api/auth/roles/acl", headers=h, json={"roleId": rid, "features": ["auth.users.list"]})
    import sqlalchemy as sa

    from models import AuditLog

    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.resource_id == rid).order_by(AuditLog.created_at)
        ).all()
        assert [r.action_type for r in rows] == ["create", "edit"]
        assert rows[1].changes == {"features": {"from": [], "to": ["auth.users.list"]}}
        assert rows[1].actor_name == tenant_admin and rows[1].snapshot_before["name"] == "Audited"


class TestScreens:
    def test_roles_page_fragment_and_acl_editor(self, client, tenant_admin):
        csrf = browser_login(client, tenant_admin)
        page = client.get("/auth/roles", headers=BROWSER).get_data(as_text=True)
        assert "<!doctype html>" in page and "Warehouse staff" in page
        frag = client.get("/auth/roles?search=ware", headers={"HX-Request": "true", "HX-Target": "roles-table"})
        html = frag.get_data(as_text=True)
        assert (
            html.lstrip().startswith('<table id="roles-table"')
            and "Warehouse staff" in html
            and "Administrator" not in html
        )
        created = client.post(
            "/auth/roles", headers={"HX-Request": "true", "X-CSRFToken": csrf}, data={"name": "Loader"}
        )
        assert created.status_code == 201 and "Loader" in created.get_data(as_text=True)
        assert "wharf:toast" in created.headers["HX-Trigger"]

    def test_acl_editor_form_save_and_stale_conflict(self, client, tenant_admin):
        csrf = browser_login(client, tenant_admin)
        h = {"HX-Request": "true", "X-CSRFToken": csrf}
        api = client.application.test_client()  # a cookie-less API client
        rid = _role_id(api, bearer(api_token(api, tenant_admin)), "Warehouse staff")
        editor = client.get(f"/auth/roles/acl?roleId={rid}", headers=BROWSER).get_data(as_text=True)
        assert 'value="auth.*"' in editor and "isSuperAdmin" not in editor  # no super-admin switch for tenant admins
        import re

        updated_at = re.search(r'name="updatedAt" value="([^"]+)"', editor).group(1)
        form = {
            "roleId": rid,
            "updatedAt": updated_at,
            "features": ["auth.*", "auth.users.list"],
            "allOrganizations": "true",
        }
        saved = client.put("/auth/roles/acl", headers=h, data=form)
        assert saved.status_code == 200 and "Saved." in saved.get_data(as_text=True)
        assert 'value="auth.users.list"' in saved.get_data(as_text=True)
        stale = client.put("/auth/roles/acl", headers=h, data=form)
        assert stale.status_code == 409 and "Someone else saved" in stale.get_data(as_text=True)
        assert stale.headers["HX-Retarget"] == "#toasts"

    def test_users_page_live_search_fragment(self, client, tenant_admin, staff):
        browser_login(client, tenant_admin)
        page = client.get("/auth/users", headers=BROWSER).get_data(as_text=True)
        assert "staff@acme.test" in page
        frag = client.get("/auth/users?search=staff", headers={"HX-Request": "true", "HX-Target": "users-table"})
        html = frag.get_data(as_text=True)
        assert html.lstrip().startswith('<div id="users-table"') and "boss@acme.test" not in html


def test_warehouse_staff_api_key_reads_logistics_but_not_roles(app, client, tenant):
    """Acceptance: a key with role 'Warehouse staff' holds the logistics grants (shipments
    list lands with the logistics module) and is refused on /api/auth/roles."""
    from services import api_keys

    with app.app_context():
        staff_role = roles_svc.seed_default_roles(tenant)[roles_svc.WAREHOUSE_STAFF]
        db.session.commit()
        _, secret = api_keys.create_key(
            SYSTEM, ApiKeyCreate(name="Scanner 7", description=None, roles=[staff_role.id], tenantId=tenant)
        )
    h = bearer(secret)
    r = client.get("/api/auth/roles", headers=h)
    assert r.status_code == 403 and r.get_json()["requiredFeatures"] == ["auth.roles.list"]
    check = client.post(
        "/api/auth/feature-check",
        headers=h,
        json={"features": ["lcs.shipments.read", "lcs.handling.write", "auth.roles.list"]},
    ).get_json()
    assert check["granted"] == ["lcs.shipments.read", "lcs.handling.write"]
    assert client.get("/api/auth/profile", headers=h).status_code == 404  # a key is not a user


def test_organization_grant_covers_new_child_at_once(app, client, tenant):
    """Organization grants cover the subtree, including organizations created later."""
    with app.app_context():
        hq = new_organization(tenant, "HQ", "hq")
        hq_id = hq.id
        lead = roles_svc.create_role(SYSTEM, "Lead", tenant_id=tenant)
        roles_svc.update_role_acl(
            SYSTEM, lead.id, features=["auth.users.list"], is_super_admin=False, organizations=[str(hq.id)]
        )
        users_svc.create_user(
            SYSTEM,
            email="lead@acme.test",
            password=PASSWORD,
            role_ids=[lead.id],
            tenant_id=tenant,
            organization_id=hq.id,
        )
    h = bearer(api_token(client, "lead@acme.test"))
    assert client.get("/api/auth/users", headers=h).get_json()["total"] == 1  # warms the grant cache
    with app.app_context():
        dc = new_organization(tenant, "DC", "dc", parent_id=hq_id)
        users_svc.create_user(SYSTEM, email="dc@acme.test", password=PASSWORD, tenant_id=tenant, organization_id=dc.id)
        other = new_organization(tenant, "Elsewhere", "elsewhere")
        users_svc.create_user(
            SYSTEM, email="far@acme.test", password=PASSWORD, tenant_id=tenant, organization_id=other.id
        )
    emails = {u["email"] for u in client.get("/api/auth/users", headers=h).get_json()["items"]}
    assert emails == {"lead@acme.test", "dc@acme.test"}


def test_limited_admin_cannot_grant_what_it_lacks(app, client, tenant):
    """An ACL manager without auth.roles.manage cannot hand it out, nor a wider wildcard."""
    with app.app_context():
        mgr = roles_svc.create_role(SYSTEM, "ACL manager", tenant_id=tenant)
        roles_svc.update_role_acl(
            SYSTEM,
            mgr.id,
            features=["auth.acl.manage", "auth.roles.list", "auth.users.*"],
            is_super_admin=False,
            organizations=None,
        )
        users_svc.create_user(SYSTEM, email="mgr@acme.test", password=PASSWORD, role_ids=[mgr.id], tenant_id=tenant)
        target = roles_svc.create_role(SYSTEM, "Target", tenant_id=tenant)
        target_id = str(target.id)
    h = bearer(api_token(client, "mgr@acme.test"))
    r = client.put(
        "/api/auth/roles/acl",
        headers=h,
        json={"roleId": target_id, "features": ["auth.roles.manage", "auth.*", "auth.users.*", "auth.users.list"]},
    )
    assert r.get_json() == {"ok": True, "sanitized": True}
    acl = client.get(f"/api/auth/roles/acl?roleId={target_id}", headers=h).get_json()
    assert acl["features"] == ["auth.users.*", "auth.users.list"]


# --- contract (seed 000 /auth/roles, /auth/users) ---------------------------------------------


def test_role_update_with_id_alone_is_the_seeds_no_op(client, tenant_admin):
    """Seed 000 lines 522–560: the body is ``{"id": ...}`` and the answer ``{"ok": true}``."""
    h = bearer(api_token(client, tenant_admin))
    rid = client.post("/api/auth/roles", json={"name": "Dock"}, headers=h).get_json()["id"]
    r = client.put("/api/auth/roles", json={"id": rid}, headers=h)
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    assert client.get(f"/api/auth/roles?id={rid}", headers=h).get_json()["items"][0]["name"] == "Dock"
    assert (
        client.put("/api/auth/roles", json={"id": "00000000-0000-4000-8000-000000000000"}, headers=h).status_code == 404
    )
    assert client.put("/api/auth/roles", json={}, headers=h).status_code == 400


@pytest.mark.parametrize(
    "name", ["a\x00b", "line\nbreak", "tab\there", "bell\x07", "c1\x85c", "", "   ", "x" * 121, ["Dock"], 7, None]
)
def test_role_names_must_be_printable_single_line_text(client, tenant_admin, name):
    h = bearer(api_token(client, tenant_admin))
    r = client.post("/api/auth/roles", json={"name": name}, headers=h)
    assert r.status_code == 400 and r.get_json()["details"][0]["path"] == ["name"]
    rid = _role_id(client, h, "Warehouse staff")
    assert client.put("/api/auth/roles", json={"id": rid, "name": name}, headers=h).status_code == (
        200 if name is None else 400
    )  # null: no rename


def test_role_names_are_unique_whatever_the_case_in_any_script(client, tenant_admin):
    """SQLite's lower() folds ASCII only: Ärger and ärger are still the same name."""
    h = bearer(api_token(client, tenant_admin))
    assert client.post("/api/auth/roles", json={"name": "Ärger"}, headers=h).status_code == 201
    for twin in ("ärger", "ÄRGER", "A\u0308rger"):  # the last one decomposed (A + combining diaeresis)
        r = client.post("/api/auth/roles", json={"name": twin}, headers=h)
        assert r.status_code == 409, twin
    other = client.post("/api/auth/roles", json={"name": "Straße"}, headers=h).get_json()["id"]
    assert client.put("/api/auth/roles", json={"id": other, "name": "ärger"}, headers=h).status_code == 409
    assert client.post("/api/auth/roles", json={"name": "STRASSE"}, headers=h).status_code == 409  # casefold: ß = ss
    assert client.put("/api/auth/roles", json={"id": other, "name": "STRASSE"}, headers=h).get_json() == {"ok": True}


@pytest.mark.parametrize(
    "payload",
    [
        {"email": ["a@acme.test"]},
        {"email": 1.5},
        {"email": {"a": 1}},
        {"email": "a@acme.test", "password": 12345678},
        {"email": "a@acme.test", "roles": "not-a-list"},
        {"email": "a@acme.test", "roles": ["not-a-uuid"]},
        {"email": "a@acme.test", "organizationId": "nope"},
        {"email": "a@acme.test", "name": "a\x00"},
    ],
)
def test_user_create_with_wrong_types_is_400_never_500(client, tenant_admin, payload):
    h = bearer(api_token(client, tenant_admin))
    r = client.post("/api/auth/users", json={"password": PASSWORD, **payload}, headers=h)
    assert r.status_code == 400 and r.get_json()["details"]


def test_user_update_with_wrong_types_is_400_and_fields_not_sent_stay(client, tenant_admin, staff):
    h = bearer(api_token(client, tenant_admin))
    user = client.get(f"/api/auth/users?search={staff}", headers=h).get_json()["items"][0]
    for bad in ({"email": ["x@acme.test"]}, {"isActive": "maybe"}, {"roles": [1]}, {"password": "short"}):
        assert client.put("/api/auth/users", json={"id": user["id"], **bad}, headers=h).status_code == 400
    assert client.put("/api/auth/users", json={"id": user["id"], "name": "Stan"}, headers=h).get_json() == {"ok": True}
    after = client.get(f"/api/auth/users?id={user['id']}", headers=h).get_json()["items"][0]
    assert after["name"] == "Stan" and {k: after[k] for k in ("email", "roleIds", "isActive", "organizationId")} == {
        k: user[k] for k in ("email", "roleIds", "isActive", "organizationId")
    }


def test_deletes_and_updates_answer_the_seeds_bodies(client, tenant_admin):
    h = bearer(api_token(client, tenant_admin))
    made = client.post("/api/auth/users", json={"email": "temp@acme.test", "password": PASSWORD}, headers=h)
    assert made.status_code == 201 and set(made.get_json()) == {"id"}
    uid = made.get_json()["id"]
    assert client.put("/api/auth/users", json={"id": uid, "name": "T"}, headers=h).get_json() == {"ok": True}
    assert client.delete(f"/api/auth/users?id={uid}", headers=h).get_json() == {"ok": True}
    assert client.delete("/api/auth/users?id=nope", headers=h).status_code == 400
