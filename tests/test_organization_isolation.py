"""Organization isolation as Open Mercato's own tests expect it (issue 18): data is read and
written in the caller's selected organization — by default the home organization and its
children; all organizations at once only for callers allowed to view all."""

from __future__ import annotations

import io

import pytest

from models import db
from services import roles
from services.acl import SYSTEM
from tests.support import BROWSER, HX, api_token, bearer, browser_login, png

SWITCH = "/api/directory/organization-switcher"


@pytest.fixture()
def world(app, client, make, tenant, files_root):
    a = make.organization(tenant, "Org A", "org-a")
    a1 = make.organization(tenant, "Org A1", "org-a1", parent_id=a)
    b = make.organization(tenant, "Org B", "org-b")
    c = make.organization(tenant, "Org C", "org-c")
    with app.app_context():
        employee = roles.create_role(SYSTEM, "Employee", tenant_id=tenant)
        roles.update_role_acl(
            SYSTEM,
            employee.id,
            features=["attachments.view", "attachments.manage", "business_rules.*"],
            is_super_admin=False,
            organizations=None,
        )
        admin_role = roles.seed_default_roles(tenant)[roles.ADMINISTRATOR]
        db.session.commit()
        role_ids = {"employee": employee.id, "admin": admin_role.id}
    make.user(tenant, "admin-a@acme.test", role_ids=[role_ids["admin"]], organization_id=a)
    make.user(tenant, "emp-a@acme.test", role_ids=[role_ids["employee"]], organization_id=a)
    make.user(tenant, "emp-b@acme.test", role_ids=[role_ids["employee"]], organization_id=b)
    make.user(tenant, "user-c@acme.test", role_ids=[role_ids["employee"]], organization_id=c)
    return {"a": str(a), "a1": str(a1), "b": str(b), "c": str(c), "h": lambda email: bearer(api_token(client, email))}


def _rule(client, h, rule_id, organization_id):
    body = {
        "ruleId": rule_id,
        "ruleName": rule_id,
        "ruleType": "GUARD",
        "entityType": "matrix.thing",
        "organizationId": organization_id,
    }
    r = client.post("/api/business_rules/rules", json=body, headers=h)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_employee_of_b_cannot_read_a_private_attachment_of_a(client, world):
    ha = world["h"]("emp-a@acme.test")
    data = {"entityId": "lcs:shipment", "recordId": "S1", "file": (io.BytesIO(png()), "contract.png")}
    up = client.post("/api/attachments", data=data, headers=ha, content_type="multipart/form-data")
    assert up.status_code in (200, 201), up.get_json()
    file_id = up.get_json()["item"]["id"]
    assert client.get(f"/api/attachments/file/{file_id}", headers=ha).status_code == 200
    hb = world["h"]("emp-b@acme.test")
    assert client.get(f"/api/attachments/file/{file_id}", headers=hb).status_code == 404
    listed = client.get("/api/attachments?entityId=lcs:shipment&recordId=S1", headers=hb).get_json()
    assert listed["items"] == []


def test_user_of_c_cannot_list_update_or_execute_a_rule_of_a(client, world):
    rule = _rule(client, world["h"]("admin-a@acme.test"), "a-only", world["a"])
    hc = world["h"]("user-c@acme.test")
    listed = client.get("/api/business_rules/rules", headers=hc).get_json()
    assert listed["total"] == 0 and listed["items"] == []
    assert client.get(f"/api/business_rules/rules/{rule}", headers=hc).status_code == 404
    assert client.put("/api/business_rules/rules", json={"id": rule, "ruleName": "x"}, headers=hc).status_code == 404
    assert client.post(f"/api/business_rules/execute/{rule}", json={"data": {}}, headers=hc).status_code == 404
    # the employee of A (home A) reaches it, and a rule of A's child organization too
    ha = world["h"]("emp-a@acme.test")
    child = _rule(client, world["h"]("admin-a@acme.test"), "a1-only", world["a1"])
    assert {r["id"] for r in client.get("/api/business_rules/rules", headers=ha).get_json()["items"]} == {rule, child}


def test_admin_sees_all_then_narrows_and_widens(client, world):
    h = world["h"]("admin-a@acme.test")
    rules = {_rule(client, h, f"r-{k}", world[k]): k for k in ("a", "b", "c")}
    assert len(client.get("/api/business_rules/rules", headers=h).get_json()["items"]) == 3
    switcher = client.get(SWITCH, headers=h).get_json()
    assert switcher["selectedId"] is None and switcher["canViewAllOrganizations"] is True
    r = client.post(SWITCH, json={"organizationId": world["b"]}, headers=h)
    assert r.status_code == 200 and r.get_json()["selectedId"] == world["b"]
    seen = {rules[x["id"]] for x in client.get("/api/business_rules/rules", headers=h).get_json()["items"]}
    assert seen == {"b"}  # the selection stays with the token's sign-in
    assert client.post(SWITCH, json={"organizationId": None}, headers=h).get_json()["selectedId"] is None
    assert len(client.get("/api/business_rules/rules", headers=h).get_json()["items"]) == 3


def test_staff_work_in_their_home_and_cannot_view_all(app, client, world, make, tenant):
    hb = world["h"]("emp-b@acme.test")
    switcher = client.get(SWITCH, headers=hb).get_json()
    assert switcher["selectedId"] == world["b"] and switcher["canViewAllOrganizations"] is False
    refused = client.post(SWITCH, json={"organizationId": None}, headers=hb)
    assert refused.status_code == 403
    # the role allows every organization: B's employee may switch to A, and then reads A's rule
    rule = _rule(client, world["h"]("admin-a@acme.test"), "a-rule", world["a"])
    assert client.post(SWITCH, json={"organizationId": world["a"]}, headers=hb).status_code == 200
    assert [x["id"] for x in client.get("/api/business_rules/rules", headers=hb).get_json()["items"]] == [rule]


def test_a_role_limited_to_organizations_bounds_the_selection(app, client, world, make, tenant):
    with app.app_context():
        limited = roles.create_role(SYSTEM, "B only", tenant_id=tenant)
        roles.update_role_acl(
            SYSTEM, limited.id, features=["business_rules.view"], is_super_admin=False, organizations=[world["b"]]
        )
        db.session.commit()
        role_id = limited.id
    make.user(tenant, "b-only@acme.test", role_ids=[role_id], organization_id=world["b"])
    h = world["h"]("b-only@acme.test")
    assert client.post(SWITCH, json={"organizationId": world["a"]}, headers=h).status_code == 404
    assert client.post(SWITCH, json={"organizationId": world["b"]}, headers=h).status_code == 200


def test_the_switcher_page_and_fragment(client, world):
    token = browser_login(client, "admin-a@acme.test")
    page = client.get("/directory/organization-switcher", headers=BROWSER).get_data(as_text=True)
    assert "All organizations" in page and "Org B" in page and "Working in all organizations" in page
    r = client.post(
        "/directory/organization-switcher",
        data={"organizationId": world["b"], "csrf_token": token},
        headers={**BROWSER, **HX, "X-CSRFToken": token},
    )
    assert r.status_code == 200 and "Working in <strong>Org B</strong>" in r.get_data(as_text=True)
    rules = client.get("/business_rules/rules", headers=BROWSER)
    assert rules.status_code == 200
    assert client.get(SWITCH, headers={"Accept": "application/json"}).get_json()["selectedId"] == world["b"]


@pytest.mark.browser
def test_switching_in_the_browser(client, world, desktop_page, live_server):
    from tests.support import expect, marker_survived, open_and_sign_in, set_marker

    h = world["h"]("admin-a@acme.test")
    _rule(client, h, "rule-of-a", world["a"])
    _rule(client, h, "rule-of-b", world["b"])
    page = desktop_page
    open_and_sign_in(page, live_server, "admin-a@acme.test")
    page.goto(f"{live_server}/directory/organization-switcher")
    set_marker(page)
    page.get_by_role("button", name="Org B").click()
    expect(page.locator("#org-current")).to_contain_text("Working in Org B")
    assert marker_survived(page)
    page.goto(f"{live_server}/business_rules/rules")
    expect(page.get_by_text("rule-of-b").first).to_be_visible()
    expect(page.get_by_text("rule-of-a")).to_have_count(0)
    page.goto(f"{live_server}/directory/organization-switcher")
    page.get_by_role("button", name="All organizations").click()
    expect(page.locator("#org-current")).to_contain_text("all organizations")
    page.goto(f"{live_server}/business_rules/rules")
    expect(page.get_by_text("rule-of-a").first).to_be_visible()
