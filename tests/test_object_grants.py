"""Giving object grants (``POST``/``DELETE /api/permissions``), user groups, their boundaries,
the ACL editor's exceptions section with its typeahead — JSON, htmx and pages."""

from __future__ import annotations

import uuid

import pytest

from schemas.permissions import GivenPermission
from tests.support import (
    ADDRESS,
    BROWSER,
    HX,
    api_token,
    bearer,
    browser_login,
    expect,
    marker_survived,
    new_list,
    new_shipment,
    open_and_sign_in,
    set_marker,
    tenant_admin,
    user_id_of,
    with_features,
)

SEED_KEYS = set(GivenPermission.model_fields)  # seed 002 givenPermissions


@pytest.fixture()
def lead(app, client, tenant):
    return bearer(api_token(client, tenant_admin(app, tenant, "lead@acme.test")))


def _grant(client, h, **body):
    return client.post("/api/permissions", json=body, headers=h)


def test_give_and_take_back_through_the_api(app, client, tenant, lead):
    s = new_shipment(client, lead, addressing=ADDRESS)
    clerk = with_features(app, tenant, "clerk@acme.test", ["lcs.shipments.read"])
    ch = bearer(api_token(client, clerk))
    uid = str(user_id_of(app, clerk))
    r = _grant(client, lead, permissionName="lcs.shipments.read", subjectUserId=uid, objectId=s["id"], canDo=False)
    assert r.status_code == 201, r.get_json()
    grant = r.get_json()
    assert set(grant) == SEED_KEYS and grant["objectId"] == s["id"] and grant["canDo"] is False
    assert client.get(f"/lcs/shipments/{s['id']}", headers=ch).status_code == 404
    assert client.get("/permissions/lcs.shipments.read", headers=ch).get_json() == {
        "canDo": True,
        "exceptions": [s["id"]],
    }
    again = _grant(client, lead, permissionName="lcs.shipments.read", subjectUserId=uid, objectId=s["id"], canDo=False)
    assert again.status_code == 409
    listed = client.get(f"/api/auth/object-grants?subjectUserId={uid}", headers=lead).get_json()
    assert [g["id"] for g in listed["items"]] == [grant["id"]] and listed["items"][0][
        "label"
    ] == f"Shipment {s['number']}"
    audit = client.get("/api/audit_logs/audit-logs/actions?resourceKind=permission", headers=lead).get_json()
    assert [e["resourceId"] for e in audit["items"]] == [grant["id"]]
    assert client.delete(f"/api/permissions/{grant['id']}", headers=lead).get_json() == {"ok": True}
    assert client.get(f"/lcs/shipments/{s['id']}", headers=ch).status_code == 200
    assert client.delete(f"/api/permissions/{grant['id']}", headers=lead).status_code == 404


def test_refusals(app, client, tenant, lead):
    s = new_shipment(client, lead, addressing=ADDRESS)
    uid = str(user_id_of(app, with_features(app, tenant, "clerk@acme.test", ["lcs.shipments.read"])))
    base = {"permissionName": "lcs.shipments.read", "subjectUserId": uid, "objectId": s["id"], "canDo": False}
    for wrong, path in (
        ({"permissionName": "lcs.*"}, "permissionName"),
        ({"permissionName": "auth.acl.manage"}, "permissionName"),
    ):
        r = _grant(client, lead, **{**base, **wrong})
        assert r.status_code in (400, 422) and r.get_json()["details"][0]["path"] == [path], r.get_json()
    r = _grant(client, lead, **{**base, "roleId": str(uuid.uuid4())})
    assert r.status_code in (400, 422) and "exactly one" in r.get_json()["message"]
    assert _grant(client, lead, **{**base, "objectId": str(uuid.uuid4())}).status_code == 404
    assert _grant(client, lead, **{**base, "subjectUserId": str(uuid.uuid4())}).status_code == 404
    # a stale editor: someone changed the subject's grants since
    assert _grant(client, lead, **{**base, "grantsVersion": "0" * 16}).status_code == 409


def test_boundaries_the_grantor_must_hold_and_reach_it(app, client, tenant, lead):
    kept, hidden = (new_shipment(client, lead, addressing=ADDRESS) for _ in range(2))
    admin = with_features(app, tenant, "acl@acme.test", ["auth.acl.manage", "lcs.shipments.read", "auth.users.list"])
    ah = bearer(api_token(client, admin))
    r = _grant(
        client,
        lead,
        permissionName="lcs.shipments.read",
        subjectUserId=str(user_id_of(app, admin)),
        objectId=hidden["id"],
        canDo=False,
    )
    assert r.status_code == 201
    target = str(user_id_of(app, with_features(app, tenant, "t@acme.test", [])))
    body = {"permissionName": "lcs.shipments.read", "subjectUserId": target, "canDo": True}
    assert _grant(client, ah, **body, objectId=kept["id"]).status_code == 201
    assert _grant(client, ah, **body, objectId=hidden["id"]).status_code == 404  # it cannot see that one
    refused = _grant(client, ah, **{**body, "permissionName": "lcs.handling.read"}, objectId=kept["id"])
    assert refused.status_code == 403 and "do not hold" in refused.get_json()["message"]


def test_groups_reach_their_members(app, client, tenant, lead):
    mine, other = (new_shipment(client, lead, addressing=ADDRESS) for _ in range(2))
    hl, other_list = new_list(client, lead, mine["id"]), new_list(client, lead, other["id"])
    temp = with_features(app, tenant, "temp@acme.test", [])
    th = bearer(api_token(client, temp))
    r = client.post("/api/auth/groups", json={"name": "Temporary pickers", "description": "Seasonal"}, headers=lead)
    assert r.status_code == 201
    gid = r.get_json()["id"]
    assert client.post("/api/auth/groups", json={"name": "temporary PICKERS"}, headers=lead).status_code == 409
    assert (
        _grant(
            client, lead, permissionName="lcs.handling.read", subjectUserGroupId=gid, objectId=hl, canDo=True
        ).status_code
        == 201
    )
    assert client.get("/lcs/lists", headers=th).status_code == 403  # not a member yet
    joined = client.post(
        "/api/auth/groups/members", json={"groupId": gid, "userId": str(user_id_of(app, temp))}, headers=lead
    )
    assert joined.status_code == 201
    assert [x["id"] for x in client.get("/lcs/lists", headers=th).get_json()] == [hl]
    assert client.get(f"/lcs/lists/{other_list}", headers=th).status_code == 404
    members = client.get(f"/api/auth/groups/members?groupId={gid}", headers=lead).get_json()
    assert [m["email"] for m in members["items"]] == [temp] and members["group"]["membersCount"] == 1
    listed = client.get("/api/auth/groups?search=seasonal", headers=lead).get_json()
    assert listed["total"] == 1 and listed["items"][0]["name"] == "Temporary pickers"
    assert client.put("/api/auth/groups", json={"id": gid, "name": "Pickers"}, headers=lead).status_code == 200
    client.delete(f"/api/auth/groups/members?groupId={gid}&userId={user_id_of(app, temp)}", headers=lead)
    assert client.get("/lcs/lists", headers=th).status_code == 403
    assert client.delete(f"/api/auth/groups?id={gid}", headers=lead).get_json() == {"ok": True}
    assert client.get("/api/auth/groups", headers=lead).get_json()["total"] == 0


def test_a_group_out_of_reach_cannot_be_joined(app, client, tenant, lead):
    hl = new_list(client, lead, new_shipment(client, lead, addressing=ADDRESS)["id"])
    gid = client.post("/api/auth/groups", json={"name": "List 1"}, headers=lead).get_json()["id"]
    _grant(client, lead, permissionName="lcs.handling.read", subjectUserGroupId=gid, objectId=hl, canDo=True)
    manager = with_features(app, tenant, "m@acme.test", ["auth.roles.manage", "auth.roles.list", "auth.users.list"])
    joiner = str(user_id_of(app, with_features(app, tenant, "j@acme.test", [])))
    r = client.post(
        "/api/auth/groups/members", json={"groupId": gid, "userId": joiner}, headers=bearer(api_token(client, manager))
    )
    assert r.status_code == 403 and "records you may not use" in r.get_json()["error"]


def test_editor_section_htmx_and_pages(app, client, tenant, lead):
    s = new_shipment(client, lead, addressing=ADDRESS)
    role = client.post("/api/auth/roles", json={"name": "Clerks"}, headers=lead).get_json()["id"]
    token = browser_login(client, "lead@acme.test")
    hx = {**BROWSER, **HX, "X-CSRFToken": token}
    section = client.get(f"/auth/object-grants?roleId={role}", headers=hx).get_data(as_text=True)
    assert 'id="object-grants"' in section and "No exceptions" in section
    choices = client.get(
        f"/auth/object-grants/choices?permissionName=lcs.shipments.read&q={s['number'][-3:]}&pick=true", headers=hx
    ).get_data(as_text=True)
    assert f"Shipment {s['number']}" in choices and f'value="{s["id"]}"' in choices
    page = client.get(
        f"/auth/object-grants/choices?permissionName=lcs.shipments.read&q={s['number'][-3:]}", headers=BROWSER
    ).get_data(as_text=True)
    assert (
        "<!doctype html>" in page.lower()
        and f"Shipment {s['number']}" in page
        and "<button" not in page.split('id="object-choices"')[1].split("</ul>")[0]
    )
    r = client.post(
        "/permissions",
        data={
            "permissionName": "lcs.shipments.read",
            "roleId": role,
            "objectId": s["id"],
            "canDo": "false",
            "csrf_token": token,
        },
        headers=hx,
    )
    assert (
        r.status_code == 201
        and f"Shipment {s['number']}" in r.get_data(as_text=True)
        and "denied" in r.get_data(as_text=True)
    )
    page = client.get(f"/auth/roles/acl?roleId={role}", headers=BROWSER).get_data(as_text=True)
    assert "/auth/object-grants?roleId=" in page
    gid = client.post("/api/auth/groups", json={"name": "Night shift"}, headers=lead).get_json()["id"]
    groups = client.get("/auth/groups", headers=BROWSER).get_data(as_text=True)
    assert "Night shift" in groups and "User groups" in groups
    group_page = client.get(f"/auth/groups/members?groupId={gid}", headers=BROWSER).get_data(as_text=True)
    assert "Members (0)" in group_page and "Add a member" in group_page


@pytest.mark.browser
def test_pick_an_exception_in_the_acl_editor(app, client, tenant, lead, desktop_page, live_server):
    s = new_shipment(client, lead, addressing=ADDRESS)
    role = client.post("/api/auth/roles", json={"name": "Clerks"}, headers=lead).get_json()["id"]
    page = desktop_page
    open_and_sign_in(page, live_server, "lead@acme.test")
    page.goto(f"{live_server}/auth/roles/acl?roleId={role}")
    section = page.locator("#object-grants")
    expect(section).to_contain_text("No exceptions")
    set_marker(page)
    section.locator("select[name=permissionName]").select_option("lcs.shipments.read")
    section.locator("#object-search").fill(s["number"][-4:])
    option = section.get_by_role("button", name=f"Shipment {s['number']}")
    expect(option).to_be_visible()
    option.click()
    expect(section.locator("table")).to_contain_text(f"Shipment {s['number']}")
    assert marker_survived(page)
    page.screenshot(path="/tmp/shots-perm/acl-editor-exception.png", full_page=True)
    page.reload()
    expect(page.locator("#object-grants table")).to_contain_text(f"Shipment {s['number']}")
