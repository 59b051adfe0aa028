"""Global roles (issue 18, seed 000: a role created without ``tenantId`` is global): super
admins create and change them with the same editor; every tenant's admins see and assign
them but cannot change them."""

from __future__ import annotations

from tests.support import BROWSER, HX, api_token, bearer, browser_login, tenant_admin, user_id_of, with_features

ROLES = "/api/auth/roles"


def test_a_global_role_serves_every_tenant(app, client, make, tenant, admin):
    other = make.tenant("Other Logistics")
    root = bearer(api_token(client, admin))  # the `admin` fixture is a super admin
    r = client.post(ROLES, json={"name": "Auditor"}, headers=root)
    assert r.status_code == 201
    rid = r.get_json()["id"]
    acl = {"roleId": rid, "features": ["audit_logs.view_tenant"], "isSuperAdmin": False, "organizations": None}
    assert client.put(f"{ROLES}/acl", json=acl, headers=root).status_code == 200
    assert client.put(f"{ROLES}/acl", json={**acl, "organizations": []}, headers=root).status_code in (400, 422)

    checks = {}
    for t, who in ((tenant, "a"), (other, "b")):
        lead = bearer(api_token(client, tenant_admin(app, t, f"lead-{who}@x.test")))
        listed = {x["id"]: x for x in client.get(ROLES, headers=lead).get_json()["items"]}
        assert listed[rid]["global"] is True and listed[rid]["tenantId"] is None
        user = with_features(app, t, f"clerk-{who}@x.test", [])
        r = client.put("/api/auth/users", json={"id": str(user_id_of(app, user)), "roles": [rid]}, headers=lead)
        assert r.status_code == 200, r.get_json()
        checks[who] = (lead, bearer(api_token(client, user)))
        # tenant admins assign it but never change it
        refused = client.put(ROLES, json={"id": rid, "name": "Mine"}, headers=lead)
        assert refused.status_code == 403 and "super admins" in refused.get_json()["error"]
        assert client.put(f"{ROLES}/acl", json=acl, headers=lead).status_code == 403
        assert client.delete(f"{ROLES}?id={rid}", headers=lead).status_code == 403
        assert client.get(f"{ROLES}/acl?roleId={rid}", headers=lead).status_code == 200
        assert client.post(ROLES, json={"name": "auditor"}, headers=lead).status_code == 409  # a global's name
        mine = client.post(ROLES, json={"name": "Tenant only"}, headers=lead)
        assert mine.status_code == 201
        assert {x["id"]: x for x in client.get(ROLES, headers=lead).get_json()["items"]}[mine.get_json()["id"]][
            "global"
        ] is False

    for _lead, h in checks.values():
        granted = client.post("/api/auth/feature-check", json={"features": ["audit_logs.view_tenant"]}, headers=h)
        assert granted.get_json()["ok"] is True
    # a change by the super admin reaches both tenants at once
    assert client.put(f"{ROLES}/acl", json={**acl, "features": []}, headers=root).status_code == 200
    for _lead, h in checks.values():
        denied = client.post("/api/auth/feature-check", json={"features": ["audit_logs.view_tenant"]}, headers=h)
        assert denied.get_json()["ok"] is False
    assert client.delete(f"{ROLES}?id={rid}", headers=root).status_code == 400  # still held


def test_pages_show_global_roles_read_only(app, client, tenant, admin):
    root = bearer(api_token(client, admin))
    rid = client.post(ROLES, json={"name": "Auditor"}, headers=root).get_json()["id"]
    tenant_admin(app, tenant, "lead@x.test")
    browser_login(client, "lead@x.test")
    page = client.get("/auth/roles", headers=BROWSER).get_data(as_text=True)
    assert "Global" in page and "read-only" in page
    fragment = client.get("/auth/roles?search=Aud", headers={**BROWSER, **HX, "HX-Target": "roles-table"})
    assert "Global" in fragment.get_data(as_text=True)
    editor = client.get(f"/auth/roles/acl?roleId={rid}", headers=BROWSER).get_data(as_text=True)
    assert "Save permissions" not in editor
