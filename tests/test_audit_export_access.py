"""The action log's CSV export (seed 000 GET …/actions/export) and the access log of
sensitive reads (GET …/audit-logs/access): shapes, filters, who sees what, the screens."""

import csv
import io

import pytest

from tests.support import BROWSER, HX, api_token, bearer, browser_login, tenant_admin, with_features

BASE = "/api/audit_logs/audit-logs"
ACCESS_KEYS = {
    "id",
    "resourceKind",
    "resourceId",
    "accessType",
    "actorUserId",
    "actorUserName",
    "tenantId",
    "tenantName",
    "organizationId",
    "organizationName",
    "fields",
    "context",
    "createdAt",
}


@pytest.fixture()
def h(app, client, tenant):
    return bearer(api_token(client, tenant_admin(app, tenant, "ta@acme.test")))


def rows(r) -> list[dict]:
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == 'attachment; filename="audit-log.csv"'
    return list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))


def test_export_is_the_lists_entries_as_csv(client, h):
    for name in ("Dock", "Yard", "=HYPERLINK(1)"):
        client.post("/api/auth/roles", json={"name": name}, headers=h)
    listed = client.get(f"{BASE}/actions?resourceKind=role&actionType=create", headers=h).get_json()
    exported = rows(client.get(f"{BASE}/actions/export?resourceKind=role&actionType=create", headers=h))
    assert [r["id"] for r in exported] == [i["id"] for i in listed["items"]] and len(exported) == 3
    assert set(exported[0]) == {
        "id",
        "createdAt",
        "actorUserName",
        "actionType",
        "actionLabel",
        "resourceKind",
        "resourceId",
        "organizationName",
        "executionState",
        "changes",
    }
    assert {r["actionLabel"] for r in exported} >= {"Create role Dock", "Create role Yard"}
    assert all(r["createdAt"].endswith("Z") and r["actorUserName"] == "ta@acme.test" for r in exported)
    assert (
        '"name": {"from": null, "to": "Dock"}'
        in next(r for r in exported if r["actionLabel"].endswith("Dock"))["changes"]
    )
    formula = next(r for r in exported if "HYPERLINK" in r["actionLabel"])
    assert formula["actionLabel"] == "Create role =HYPERLINK(1)"  # not at a cell's start: kept
    assert len(rows(client.get(f"{BASE}/actions/export?limit=2&sortDir=asc", headers=h))) == 2


def test_export_cells_never_start_a_formula(client, h):
    """An organization named like a spreadsheet formula is exported quoted (CSV injection)."""
    org = client.post("/api/directory/organizations", json={"name": "=1+1", "slug": "calc"}, headers=h).get_json()["id"]
    exported = rows(client.get(f"{BASE}/actions/export?resourceId={org}", headers=h))
    assert [r["organizationName"] for r in exported] == ["'=1+1"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in exported for cell in r.values())


def test_export_refuses_bad_filters_and_is_its_callers_own(app, client, tenant, h):
    for query in ("limit=1001", "limit=0", "before=nope", "sortField=secret", "actionType=launch"):
        r = client.get(f"{BASE}/actions/export?{query}", headers=h)
        assert r.status_code == 400 and r.get_json()["error"], query
    client.post("/api/auth/roles", json={"name": "Admin's"}, headers=h)
    own = bearer(api_token(client, with_features(app, tenant, "self@acme.test", ["audit_logs.view_self"])))
    assert rows(client.get(f"{BASE}/actions/export", headers=own)) == []
    denied = bearer(api_token(client, with_features(app, tenant, "none@acme.test", [])))
    assert client.get(f"{BASE}/actions/export", headers=denied).status_code == 403


def test_sensitive_reads_land_in_the_access_log(client, h):
    role_id = client.post("/api/auth/roles", json={"name": "Dock"}, headers=h).get_json()["id"]
    users = client.get("/api/auth/users", headers=h).get_json()["items"]
    client.get(f"/api/auth/roles/acl?roleId={role_id}", headers=h)
    client.get("/api/api_keys/keys", headers=h)
    rows(client.get(f"{BASE}/actions/export?resourceKind=role", headers=h))
    body = client.get(f"{BASE}/access?pageSize=200", headers=h).get_json()
    assert set(body) == {"items", "canViewTenant", "page", "pageSize", "total", "totalPages"}
    assert body["canViewTenant"] is True and all(set(i) == ACCESS_KEYS for i in body["items"])
    by_kind = {}
    for i in body["items"]:
        by_kind.setdefault(i["resourceKind"], []).append(i)
    assert {u["id"] for u in users} <= {i["resourceId"] for i in by_kind["user"]}
    assert "email" in by_kind["user"][0]["fields"] and by_kind["user"][0]["actorUserName"] == "ta@acme.test"
    acl = by_kind["role_acl"][0]
    assert acl["resourceId"] == role_id and "features" in acl["fields"] and acl["accessType"] == "read"
    export = next(i for i in by_kind["audit_log"] if i["accessType"] == "export")
    assert export["context"] == {"rows": 1, "filters": {"resourceKind": "role"}}
    only = client.get(f"{BASE}/access?resourceKind=role_acl", headers=h).get_json()
    assert [i["resourceId"] for i in only["items"]] == [role_id]
    exports = client.get(f"{BASE}/access?accessType=export", headers=h).get_json()
    assert exports["total"] == 1
    assert client.get(f"{BASE}/access?pageSize=1&page=2", headers=h).get_json()["page"] == 2


def test_access_log_shows_ones_own_reads_unless_tenant_viewer(app, client, tenant, h):
    client.get("/api/auth/users", headers=h)
    own = bearer(
        api_token(client, with_features(app, tenant, "sue@acme.test", ["audit_logs.view_self", "auth.users.list"]))
    )
    assert client.get(f"{BASE}/access", headers=own).get_json()["total"] == 0
    client.get("/api/auth/users", headers=own)
    mine = client.get(f"{BASE}/access", headers=own).get_json()
    assert mine["canViewTenant"] is False and mine["total"] >= 1
    assert {i["actorUserName"] for i in mine["items"]} == {"sue@acme.test"}
    everyone = client.get(f"{BASE}/access?pageSize=200", headers=h).get_json()
    assert {"sue@acme.test", "ta@acme.test"} <= {i["actorUserName"] for i in everyone["items"]}
    sue_id = mine["items"][0]["actorUserId"]
    assert {
        i["actorUserName"] for i in client.get(f"{BASE}/access?actorUserId={sue_id}", headers=h).get_json()["items"]
    } == {"sue@acme.test"}


def test_another_tenants_reads_are_invisible(app, client, make, h):
    client.get("/api/auth/users", headers=h)
    other = bearer(api_token(client, tenant_admin(app, make.tenant("Globex"), "ga@globex.test")))
    assert client.get(f"{BASE}/access", headers=other).get_json()["total"] == 0


@pytest.mark.parametrize(
    "query", ["pageSize=201", "page=0", "accessType=write", "before=yesterday", "actorUserId=me", "resourceKind=a;b"]
)
def test_access_log_bad_filters_are_400(client, h, query):
    r = client.get(f"{BASE}/access?{query}", headers=h)
    assert r.status_code == 400 and r.get_json()["error"]


def test_access_log_page_and_fragment(app, client, tenant):
    tenant_admin(app, tenant, "ta@acme.test")
    browser_login(client, "ta@acme.test")
    client.get("/auth/users", headers=BROWSER)
    page = client.get("/audit_logs/audit-logs/access", headers=BROWSER).get_data(as_text=True)
    assert "<h1>Access log</h1>" in page and "ta@acme.test" in page and 'id="access-results"' in page
    fragment = client.get("/audit_logs/audit-logs/access?resourceKind=user", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="access-results">') and "<h1>" not in fragment
    assert "<code" in fragment and "email" in fragment
