"""Directory (seed 000 /directory): tenants, the organization tree and the organization
switcher — JSON contract, htmx fragments and pages, and the tree logic in the service."""

import json
import uuid

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from models import AuditLog, Organization, Role, Tenant, db
from schemas.directory import OrganizationCreate
from services import directory, roles, users
from services.acl import Actor, Grants
from services.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailed
from tests.support import (
    BROWSER,
    MISSING_FEATURES,
    PASSWORD,
    SYSTEM,
    api_token,
    bearer,
    browser_login,
    new_tenant,
    refusal,
)

ORGS = "/api/directory/organizations"
TENANTS = "/api/directory/tenants"
SWITCHER = "/api/directory/organization-switcher"
HX = {"HX-Request": "true"}


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture()
def h(client, admin):
    """Bearer headers of the super admin (tenant "Acme Logistics")."""
    return bearer(api_token(client, admin))


def tenant_admin(app, tenant_id, email) -> str:
    """A user holding the tenant's default Administrator role ("*", not super admin)."""
    with app.app_context():
        role = roles.seed_default_roles(tenant_id)[roles.ADMINISTRATOR]
        db.session.commit()
        users.create_user(SYSTEM, email=email, password=PASSWORD, role_ids=[role.id], tenant_id=tenant_id)
    return email


@pytest.fixture()
def ta(client, app, tenant):
    """Bearer headers of a tenant admin of the ``tenant`` fixture."""
    return bearer(api_token(client, tenant_admin(app, tenant, "boss@acme.test")))


def create_org(client, headers, **body) -> str:
    r = client.post(ORGS, json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    assert set(r.get_json()) == {"id"}
    return r.get_json()["id"]


def org_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Organization.id)))


def audit_rows(app, kind=None) -> list[AuditLog]:
    with app.app_context():
        stmt = sa.select(AuditLog).order_by(AuditLog.created_at)
        if kind:
            stmt = stmt.where(AuditLog.resource_kind == kind)
        rows = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return rows


def items_by_name(body) -> dict:
    return {i["name"]: i for i in body["items"]}


# --- organizations: JSON contract ----------------------------------------------------------


def test_create_and_list_have_seed_fields(client, h, tenant):
    hq = create_org(client, h, name="Headquarters", slug="hq")
    dc = create_org(client, h, name="Rotterdam DC", parentId=hq)
    r = client.get(ORGS, headers=h)
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == {"items", "total", "page", "pageSize", "totalPages"}
    assert (body["total"], body["page"], body["pageSize"], body["totalPages"]) == (2, 1, 50, 1)
    item = items_by_name(body)["Rotterdam DC"]
    assert {
        "id",
        "name",
        "slug",
        "parentId",
        "parentName",
        "tenantId",
        "tenantName",
        "rootId",
        "treePath",
        "depth",
    } <= set(item)
    assert item == {
        **item,
        "id": dc,
        "slug": "rotterdam-dc",
        "parentId": hq,
        "parentName": "Headquarters",
        "tenantId": str(tenant),
        "tenantName": "Acme Logistics",
        "rootId": hq,
        "treePath": f"{hq}/{dc}",
        "depth": 1,
        "pathLabel": "Headquarters / Rotterdam DC",
    }
    root = items_by_name(body)["Headquarters"]
    assert (root["parentId"], root["parentName"], root["rootId"], root["treePath"], root["depth"]) == (
        None,
        None,
        hq,
        hq,
        0,
    )


def test_update_and_delete_answer_ok(client, h):
    hq = create_org(client, h, name="HQ")
    r = client.put(ORGS, json={"id": hq, "name": "Head office", "slug": "head-office"}, headers=h)
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    item = client.get(ORGS, headers=h).get_json()["items"][0]
    assert (item["name"], item["slug"]) == ("Head office", "head-office")
    # DELETE with the id in a JSON body, as the seed shows…
    r = client.delete(ORGS, json={"id": hq}, headers=h)
    assert r.status_code == 200 and r.get_json() == {"ok": True}
    assert client.get(ORGS, headers=h).get_json()["total"] == 0
    # …or in the query string.
    other = create_org(client, h, name="Other")
    assert client.delete(ORGS, query_string={"id": other}, headers=h).get_json() == {"ok": True}
    assert client.delete(ORGS, query_string={"id": other}, headers=h).status_code == 404


def test_slug_is_generated_and_made_unique_but_explicit_duplicates_are_409(client, h, app):
    a = create_org(client, h, name="Zürich Cross-Dock!")
    b = create_org(client, h, name="Zürich Cross-Dock!")
    slugs = {i["id"]: i["slug"] for i in client.get(ORGS, headers=h).get_json()["items"]}
    assert slugs == {a: "zurich-cross-dock", b: "zurich-cross-dock-2"}
    before, audits = org_count(app), len(audit_rows(app))
    r = client.post(ORGS, json={"name": "Another", "slug": "zurich-cross-dock"}, headers=h)
    assert r.status_code == 409
    assert "slug" in r.get_json()["error"] and r.get_json()["details"][0]["path"] == ["slug"]
    r = client.put(ORGS, json={"id": b, "slug": "zurich-cross-dock"}, headers=h)
    assert r.status_code == 409
    assert org_count(app) == before and len(audit_rows(app)) == audits  # nothing half-written


def test_slug_of_a_deleted_organization_stays_reserved(client, h):
    gone = create_org(client, h, name="Gone", slug="gone")
    client.delete(ORGS, query_string={"id": gone}, headers=h)
    r = client.post(ORGS, json={"name": "Gone again", "slug": "gone"}, headers=h)
    assert r.status_code == 409 and "deleted" in r.get_json()["error"]
    assert create_org(client, h, name="Gone") and True  # a generated slug steps around it


@pytest.mark.parametrize(
    "body, path",
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 42}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Ok", "slug": "Not A Slug!"}, "slug"),
        ({"name": "Ok", "slug": "-edge-"}, "slug"),
        ({"name": "Ok", "parentId": "not-a-uuid"}, "parentId"),
        ({"name": "Ok", "parentId": str(uuid.uuid4())}, "parentId"),
        ({"name": "Ok", "tenantId": "nope"}, "tenantId"),
    ],
)
def test_bad_create_input_is_400_with_details_and_writes_nothing(client, h, app, body, path):
    r = client.post(ORGS, json=body, headers=h)
    assert r.status_code == 400, r.get_json()
    out = r.get_json()
    assert out["error"] and path in [d["path"][0] for d in out["details"]]
    assert org_count(app) == 0 and audit_rows(app, "organization") == []


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "{broken"])
def test_body_that_is_not_a_json_object_is_400(client, h, raw):
    r = client.post(ORGS, data=raw, content_type="application/json", headers=h)
    assert r.status_code == 400 and r.get_json()["error"]


def test_form_encoded_create_works_too(client, h):
    r = client.post(ORGS, data={"name": "Form Made"}, headers=h)
    assert r.status_code == 201
    assert client.get(ORGS, headers=h).get_json()["items"][0]["slug"] == "form-made"


def test_reparent_rewrites_the_whole_subtree(client, h):
    a = create_org(client, h, name="A")
    b = create_org(client, h, name="B", parentId=a)
    c = create_org(client, h, name="C", parentId=b)
    other = create_org(client, h, name="Other")
    assert client.put(ORGS, json={"id": b, "parentId": other}, headers=h).status_code == 200
    rows = items_by_name(client.get(ORGS, headers=h).get_json())
    assert rows["B"]["treePath"] == f"{other}/{b}" and rows["B"]["parentName"] == "Other"
    assert rows["C"]["treePath"] == f"{other}/{b}/{c}" and rows["C"]["rootId"] == other
    assert rows["C"]["depth"] == 2
    # parentId null moves it to the top level; omitting parentId keeps it where it is.
    assert client.put(ORGS, json={"id": b, "parentId": None}, headers=h).status_code == 200
    assert client.put(ORGS, json={"id": b, "name": "B2"}, headers=h).status_code == 200
    rows = items_by_name(client.get(ORGS, headers=h).get_json())
    assert rows["B2"]["treePath"] == b and rows["B2"]["parentId"] is None
    assert rows["C"]["treePath"] == f"{b}/{c}" and rows["C"]["depth"] == 1


def test_an_organization_cannot_become_its_own_ancestor(client, h, app):
    a = create_org(client, h, name="A")
    b = create_org(client, h, name="B", parentId=a)
    c = create_org(client, h, name="C", parentId=b)
    for target, parent in ((a, a), (a, c), (b, c)):
        r = client.put(ORGS, json={"id": target, "parentId": parent, "name": "Renamed"}, headers=h)
        assert r.status_code == 400, (target, parent, r.get_json())
        assert r.get_json()["details"][0]["path"] == ["parentId"]
    rows = items_by_name(client.get(ORGS, headers=h).get_json())
    assert set(rows) == {"A", "B", "C"}  # the rename in the refused request did not stick
    assert rows["C"]["treePath"] == f"{a}/{b}/{c}"
    assert [r.action_type for r in audit_rows(app, "organization")] == ["create"] * 3


def test_delete_is_refused_while_live_children_exist(client, h, app):
    a = create_org(client, h, name="A")
    b = create_org(client, h, name="B", parentId=a)
    r = client.delete(ORGS, json={"id": a}, headers=h)
    assert r.status_code == 400 and "child" in r.get_json()["error"]
    assert client.delete(ORGS, json={"id": b}, headers=h).status_code == 200
    assert client.delete(ORGS, json={"id": a}, headers=h).status_code == 200
    with app.app_context():  # soft: rows stay, marked deleted
        assert all(o.deleted_at is not None for o in db.session.scalars(sa.select(Organization)))


def test_delete_is_refused_while_it_is_a_users_home(client, h, app, tenant):
    from services import users as users_svc

    a = create_org(client, h, name="Depot")
    with app.app_context():
        uid = users_svc.create_user(
            SYSTEM, email="d@acme.test", password="correct-horse-battery", organization_id=a, tenant_id=tenant
        ).id
    r = client.delete(ORGS, json={"id": a}, headers=h)
    assert r.status_code == 400 and "1 user belong" in r.get_json()["error"]
    assert a in items_by_name(client.get(ORGS, headers=h).get_json())["Depot"]["id"]
    with app.app_context():
        users_svc.delete_user(SYSTEM, uid)
    assert client.delete(ORGS, json={"id": a}, headers=h).status_code == 200  # a deleted user does not hold it


def test_delete_without_id_is_400(client, h):
    r = client.delete(ORGS, headers=h)
    assert r.status_code == 400 and r.get_json()["details"][0]["path"] == ["id"]


def test_every_write_is_audited_with_snapshots(client, h, app, admin):
    a = create_org(client, h, name="A")
    client.put(ORGS, json={"id": a, "name": "A2"}, headers=h)
    client.delete(ORGS, json={"id": a}, headers=h)
    create, edit, delete = audit_rows(app, "organization")
    assert (create.action_type, edit.action_type, delete.action_type) == ("create", "edit", "delete")
    assert create.snapshot_before is None and create.snapshot_after["name"] == "A"
    assert edit.snapshot_before["name"] == "A" and edit.snapshot_after["name"] == "A2"
    assert edit.changes == {"name": {"from": "A", "to": "A2"}}
    assert delete.snapshot_after["deletedAt"] is not None and delete.resource_id == a
    assert create.actor_name == admin


def test_list_tree_options_search_ids_and_paging(client, h):
    hq = create_org(client, h, name="HQ")
    north = create_org(client, h, name="North", parentId=hq)
    create_org(client, h, name="Rotterdam", parentId=north)
    create_org(client, h, name="South", parentId=hq)
    tree = client.get(ORGS, query_string={"view": "tree"}, headers=h).get_json()["items"]
    assert [n["name"] for n in tree] == ["HQ"]
    assert [c["name"] for c in tree[0]["children"]] == ["North", "South"]
    assert tree[0]["children"][0]["children"][0]["name"] == "Rotterdam"
    # A search keeps the matches' ancestors so the tree keeps its shape.
    found = client.get(ORGS, query_string={"view": "tree", "search": "rotter"}, headers=h).get_json()["items"]
    assert found[0]["name"] == "HQ" and [c["name"] for c in found[0]["children"]] == ["North"]
    flat = client.get(ORGS, query_string={"search": "ROTT"}, headers=h).get_json()
    assert [i["name"] for i in flat["items"]] == ["Rotterdam"] and flat["total"] == 1
    by_ids = client.get(ORGS, query_string={"ids": f"{hq},{north}"}, headers=h).get_json()
    assert {i["name"] for i in by_ids["items"]} == {"HQ", "North"}
    options = client.get(ORGS, query_string={"view": "options"}, headers=h).get_json()["items"]
    assert [o["name"] for o in options] == ["HQ", "North", "Rotterdam", "South"]  # tree order
    page2 = client.get(
        ORGS, query_string={"pageSize": 1, "page": 2, "sortField": "name", "sortDir": "desc"}, headers=h
    ).get_json()
    assert (page2["total"], page2["totalPages"], [i["name"] for i in page2["items"]]) == (4, 4, ["Rotterdam"])


@pytest.mark.parametrize(
    "query, path",
    [
        ({"pageSize": 0}, "pageSize"),
        ({"pageSize": 101}, "pageSize"),
        ({"page": "x"}, "page"),
        ({"view": "bogus"}, "view"),
        ({"sortField": "secret"}, "sortField"),
        ({"ids": "a,b"}, "ids"),
        ({"tenantId": "x"}, "tenantId"),
        ({"status": "maybe"}, "status"),
    ],
)
def test_bad_list_query_is_400(client, h, query, path):
    r = client.get(ORGS, query_string=query, headers=h)
    assert r.status_code == 400
    assert r.get_json()["details"][0]["path"][0] == path  # ["ids", 0]: the first bad id


def test_another_tenants_organization_is_404_for_a_tenant_admin(client, app, make, h, ta):
    other_tenant = make.tenant("Globex")
    theirs = create_org(client, h, name="Globex HQ", tenantId=str(other_tenant))
    mine = create_org(client, ta, name="Acme HQ")
    listed = client.get(ORGS, headers=ta).get_json()
    assert [i["id"] for i in listed["items"]] == [mine]
    assert client.get(ORGS, query_string={"tenantId": str(other_tenant)}, headers=ta).get_json()["total"] == 0
    assert client.put(ORGS, json={"id": theirs, "name": "Mine now"}, headers=ta).status_code == 404
    assert client.delete(ORGS, query_string={"id": theirs}, headers=ta).status_code == 404
    r = client.post(ORGS, json={"name": "Sneaky", "parentId": theirs}, headers=ta)
    assert r.status_code == 400 and r.get_json()["details"][0]["path"] == ["parentId"]
    assert client.put(ORGS, json={"id": mine, "parentId": theirs}, headers=ta).status_code == 400
    assert client.post(ORGS, json={"name": "Elsewhere", "tenantId": str(other_tenant)}, headers=ta).status_code == 404
    # The super admin sees both tenants, and the tenant of each row.
    rows = items_by_name(client.get(ORGS, headers=h).get_json())
    assert rows["Globex HQ"]["tenantName"] == "Globex" and rows["Acme HQ"]["tenantName"] == "Acme Logistics"


def test_super_admin_cannot_mix_tenants_in_one_tree(client, h, make):
    other_tenant = make.tenant("Globex")
    acme_hq = create_org(client, h, name="Acme HQ")
    r = client.post(ORGS, json={"name": "Mixed", "parentId": acme_hq, "tenantId": str(other_tenant)}, headers=h)
    assert r.status_code == 400 and r.get_json()["details"][0]["path"] == ["parentId"]
    globex_hq = create_org(client, h, name="Globex HQ", tenantId=str(other_tenant))
    assert client.put(ORGS, json={"id": acme_hq, "parentId": globex_hq}, headers=h).status_code == 400
    # Without tenantId a child goes to its parent's tenant.
    child = create_org(client, h, name="Globex child", parentId=globex_hq)
    rows = {i["id"]: i for i in client.get(ORGS, headers=h).get_json()["items"]}
    assert rows[child]["tenantId"] == str(other_tenant)


def test_access_is_enforced(client, staff, h):
    assert client.get(ORGS).status_code == 401
    token = bearer(api_token(client, staff))
    r = client.post(ORGS, json={"name": "X"}, headers=token)
    assert r.status_code == 403 and r.get_json()["requiredFeatures"] == ["directory.organizations.manage"]
    assert refusal(client.get(TENANTS, headers=token), 403) == MISSING_FEATURES
    assert client.get(SWITCHER, headers=token).status_code == 200  # any signed-in user


# --- tenants ----------------------------------------------------------------------------------


def test_super_admin_manages_tenants(client, h, app, tenant):
    r = client.post(TENANTS, json={"name": "Globex"}, headers=h)
    assert r.status_code == 201 and set(r.get_json()) == {"id"}
    globex = r.get_json()["id"]
    with app.app_context():  # a new tenant starts with its default roles
        names = set(db.session.scalars(sa.select(Role.name).where(Role.tenant_id == uuid.UUID(globex))))
    assert names == {roles.ADMINISTRATOR, roles.WAREHOUSE_STAFF}
    body = client.get(TENANTS, headers=h).get_json()
    assert set(body) == {"items", "total", "page", "pageSize", "totalPages"} and body["total"] == 2
    item = {i["name"]: i for i in body["items"]}["Globex"]
    assert set(item) == {"id", "name", "isActive", "createdAt", "updatedAt"} and item["isActive"] is True
    assert client.put(TENANTS, json={"id": globex, "name": "Globex Corp", "isActive": False}, headers=h).get_json() == {
        "ok": True
    }
    assert (
        client.get(TENANTS, query_string={"isActive": "false"}, headers=h).get_json()["items"][0]["name"]
        == "Globex Corp"
    )
    assert client.get(TENANTS, query_string={"search": "corp"}, headers=h).get_json()["total"] == 1
    assert client.delete(TENANTS, json={"id": globex}, headers=h).get_json() == {"ok": True}
    assert [i["name"] for i in client.get(TENANTS, headers=h).get_json()["items"]] == ["Acme Logistics"]
    kinds = [
        (a.action_type, a.snapshot_after and a.snapshot_after.get("name"))
        for a in audit_rows(app, "tenant")
        if str(a.resource_id) == globex
    ]
    assert kinds == [("create", "Globex"), ("edit", "Globex Corp"), ("delete", "Globex Corp")]


def test_tenant_rules(client, h, tenant):
    assert client.post(TENANTS, json={"name": "acme logistics"}, headers=h).status_code == 409
    r = client.post(TENANTS, json={}, headers=h)
    assert r.status_code == 400 and r.get_json()["details"][0]["path"] == ["name"]
    assert client.delete(TENANTS, json={"id": str(tenant)}, headers=h).status_code == 400  # your own tenant
    assert client.put(TENANTS, json={"id": str(uuid.uuid4()), "name": "Ghost"}, headers=h).status_code == 404
    assert client.get(TENANTS, query_string={"isActive": "perhaps"}, headers=h).status_code == 400
    assert client.get(TENANTS, query_string={"sortField": "password"}, headers=h).status_code == 400


def test_tenant_admin_sees_and_renames_only_its_own_tenant(client, h, ta, tenant, make):
    other = make.tenant("Globex")
    body = client.get(TENANTS, headers=ta).get_json()
    assert [i["id"] for i in body["items"]] == [str(tenant)]
    assert client.get(TENANTS, query_string={"id": str(other)}, headers=ta).get_json()["total"] == 0
    assert client.put(TENANTS, json={"id": str(tenant), "name": "Acme B.V."}, headers=ta).status_code == 200
    assert client.put(TENANTS, json={"id": str(other), "name": "Mine"}, headers=ta).status_code == 404
    # Deleting tenants is declared super-admin-only: refused before any lookup, whichever id.
    assert refusal(client.delete(TENANTS, json={"id": str(other)}, headers=ta), 403) == "Only super admins may do this"
    assert refusal(client.post(TENANTS, json={"name": "New"}, headers=ta), 403) == "Only super admins may do this"
    assert refusal(client.delete(TENANTS, json={"id": str(tenant)}, headers=ta), 403) == "Only super admins may do this"
    assert (
        refusal(client.put(TENANTS, json={"id": str(tenant), "isActive": False}, headers=ta), 403)
        == "Only super admins can activate or deactivate tenants"
    )
    assert client.get(TENANTS, headers=h).get_json()["total"] == 2


def test_users_of_a_deleted_tenant_cannot_sign_in(client, h, app, make):
    globex = make.tenant("Globex")
    email = tenant_admin(app, globex, "boss@globex.test")
    assert client.delete(TENANTS, json={"id": str(globex)}, headers=h).status_code == 200
    assert client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 401


# --- organization switcher ------------------------------------------------------------------


def test_switcher_shape(client, h, tenant):
    hq = create_org(client, h, name="HQ")
    create_org(client, h, name="DC", parentId=hq)
    body = client.get(SWITCHER, headers=h).get_json()
    assert set(body) == {
        "items",
        "selectedId",
        "canManage",
        "canViewAllOrganizations",
        "tenantId",
        "tenants",
        "isSuperAdmin",
    }
    assert body["items"][0]["name"] == "HQ" and body["items"][0]["children"][0]["name"] == "DC"
    assert set(body["items"][0]) == {"id", "name", "depth", "selectable", "children"}
    assert body["canManage"] is True and body["isSuperAdmin"] is True and body["tenantId"] == str(tenant)
    assert body["tenants"] == [{"id": str(tenant), "name": "Acme Logistics", "isActive": True}]


def test_switcher_of_a_user_limited_to_one_branch(client, app, h, tenant):
    hq = create_org(client, h, name="HQ")
    north = create_org(client, h, name="North", parentId=hq)
    create_org(client, h, name="North DC", parentId=north)
    create_org(client, h, name="South", parentId=hq)
    with app.app_context():
        u = users.create_user(
            SYSTEM, email="north@acme.test", password=PASSWORD, tenant_id=tenant, organization_id=north
        )
        users.update_user_acl(
            SYSTEM, u.id, features=["directory.organizations.view"], is_super_admin=False, organizations=[north]
        )
    token = bearer(api_token(client, "north@acme.test"))
    body = client.get(SWITCHER, headers=token).get_json()
    root = body["items"][0]
    assert (root["name"], root["selectable"]) == ("HQ", False)  # an ancestor, for context only
    assert [(c["name"], c["selectable"]) for c in root["children"]] == [("North", True)]
    assert root["children"][0]["children"][0]["name"] == "North DC"
    assert body["selectedId"] == north and body["canManage"] is False
    assert body["canViewAllOrganizations"] is False and body["isSuperAdmin"] is False
    # The same limit applies to the list: the branch, nothing else.
    names = {i["name"] for i in client.get(ORGS, headers=token).get_json()["items"]}
    assert names == {"North", "North DC"}


# --- the seed contract: statuses, bodies, refusals -----------------------------------------------

SEED_ORG_ITEM = {"id", "name", "parentId", "parentName", "tenantId", "tenantName", "rootId", "treePath"}


def test_every_view_of_the_list_has_the_seed_item_fields(client, h, tenant):
    hq = create_org(client, h, name="HQ")
    dc = create_org(client, h, name="DC", parentId=hq)
    for view in ("manage", "options", "tree"):
        body = client.get(ORGS, query_string={"view": view}, headers=h).get_json()
        item = items_by_name(body)["HQ"]
        assert SEED_ORG_ITEM <= set(item), view
        assert (item["rootId"], item["treePath"], item["tenantName"]) == (hq, hq, "Acme Logistics")
    options = items_by_name(client.get(ORGS, query_string={"view": "options"}, headers=h).get_json())
    assert options["DC"] == {
        **options["DC"],
        "parentId": hq,
        "parentName": "HQ",
        "rootId": hq,
        "treePath": f"{hq}/{dc}",
        "tenantId": str(tenant),
        "depth": 1,
    }
    child = client.get(ORGS, query_string={"view": "tree"}, headers=h).get_json()["items"][0]["children"][0]
    assert (child["id"], child["parentName"], child["rootId"]) == (dc, "HQ", hq)


def test_writes_answer_the_seed_statuses_and_bodies(client, h):
    """Seed 000:12463–12800: creates 201 ``{id}``, updates and deletes 200 ``{ok: true}``;
    deletes take the seed's JSON body as well as ``?id=``."""
    r = client.post(TENANTS, json={"name": "Globex"}, headers=h)
    assert r.status_code == 201 and list(r.get_json()) == ["id"]
    globex = r.get_json()["id"]
    r = client.put(TENANTS, json={"id": globex}, headers=h)  # the seed's example body: nothing to change
    assert (r.status_code, r.get_json()) == (200, {"ok": True})
    org = create_org(client, h, name="HQ")
    r = client.put(ORGS, json={"id": org, "slug": None, "parentId": None}, headers=h)  # the seed's example body
    assert (r.status_code, r.get_json()) == (200, {"ok": True})
    assert items_by_name(client.get(ORGS, headers=h).get_json())["HQ"]["slug"] == "hq"  # null slug: kept
    for path, rid in ((ORGS, org), (TENANTS, globex)):
        r = client.delete(path, json={"id": rid}, headers=h)
        assert (r.status_code, r.get_json()) == (200, {"ok": True})


@pytest.mark.parametrize(
    "method, path, kwargs",
    [
        ("get", ORGS, {"query_string": {"page": "9" * 30}}),
        ("get", ORGS, {"query_string": {"pageSize": "1e2"}}),
        ("get", ORGS, {"query_string": {"search": "a\x00b"}}),
        ("get", ORGS, {"query_string": {"includeInactive": "sometimes"}}),
        ("get", TENANTS, {"query_string": {"page": "0"}}),
        ("get", TENANTS, {"query_string": {"id": "\x01"}}),
        ("get", TENANTS, {"query_string": {"sortDir": "sideways"}}),
        ("get", SWITCHER, {"query_string": {"tenantId": "nope"}}),
        ("post", ORGS, {"json": {"name": ["HQ"]}}),
        ("post", ORGS, {"json": {"name": True}}),
        ("post", ORGS, {"json": {"name": "HQ\x00"}}),
        ("post", ORGS, {"json": {"name": "HQ", "slug": 7}}),
        ("post", ORGS, {"json": {"name": "HQ", "parentId": 7}}),
        ("post", ORGS, {"json": {"name": "HQ", "isActive": "maybe"}}),
        ("post", ORGS, {"data": "", "content_type": "application/json"}),
        ("post", TENANTS, {"json": {"name": "x" * 201}}),
        ("post", TENANTS, {"json": {"name": "Globex", "isActive": {"a": 1}}}),
        ("put", TENANTS, {"json": {"id": 42}}),
        ("put", TENANTS, {"json": {"id": "00000000-0000-4000-8000-000000000000", "name": "\x1b[31m"}}),
        ("put", ORGS, {"json": {"name": "No id"}}),
        ("put", ORGS, {"json": {"id": "00000000-0000-4000-8000-000000000000", "slug": "Not a slug"}}),
        ("delete", ORGS, {"json": {"id": "not-a-uuid"}}),
        ("delete", ORGS, {"data": "[]", "content_type": "application/json"}),
        ("delete", TENANTS, {"query_string": {"id": "x"}}),
    ],
)
def test_malformed_input_is_400_in_the_envelope(client, h, method, path, kwargs):
    r = getattr(client, method)(path, headers=h, **kwargs)
    assert r.status_code == 400, r.get_data(as_text=True)
    body = r.get_json()
    assert body["error"] and body["details"] and body["details"][0]["message"]


def test_switcher_page_for_a_browser(client, h):
    create_org(client, h, name="HQ")
    r = client.get("/directory/organization-switcher", headers={**h, **BROWSER})
    assert r.status_code == 200 and r.mimetype == "text/html" and "HQ" in r.get_data(as_text=True)


# --- HTML: pages and htmx fragments -----------------------------------------------------------


def test_full_page_and_nav(client, h, admin):
    create_org(client, h, name="Headquarters")
    r = client.get("/directory/organizations", headers={**h, **BROWSER})
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith("<!doctype html>")
    assert "Headquarters" in html and 'id="org-create-form"' in html
    assert 'hx-trigger="keyup changed delay:200ms, search"' in html
    assert 'href="/directory/organizations"' in html and 'href="/directory/tenants"' in html  # nav
    tenants_page = client.get("/directory/tenants", headers={**h, **BROWSER}).get_data(as_text=True)
    assert "Acme Logistics" in tenants_page and 'id="tenant-create-form"' in tenants_page


def test_nav_is_hidden_without_the_features(client, staff):
    html = client.get("/", headers={**bearer(api_token(client, staff)), **BROWSER}).get_data(as_text=True)
    assert "/directory/organizations" not in html and "/directory/tenants" not in html


def test_live_search_answers_the_list_fragment(client, h):
    hq = create_org(client, h, name="Headquarters")
    rotterdam = create_org(client, h, name="Rotterdam DC", parentId=hq)
    antwerp = create_org(client, h, name="Antwerp", parentId=hq)
    r = client.get("/directory/organizations", query_string={"search": "rotter"}, headers={**h, **HX})
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "<html" not in html and "<nav" not in html and "<table" in html
    assert f'<tr id="org-{rotterdam}"' in html and f'<tr id="org-{antwerp}"' not in html
    assert f'<tr id="org-{hq}" data-depth="0" class="muted"' in html  # shown as context above the match
    empty = client.get("/directory/organizations", query_string={"search": "zzz"}, headers={**h, **HX})
    assert "No organization matches" in empty.get_data(as_text=True)


def test_htmx_create_renders_form_errors_with_422_then_succeeds_with_a_toast(client, app, admin):
    csrf = browser_login(client, admin)
    hx = {**HX, "X-CSRFToken": csrf}
    r = client.post("/directory/organizations", data={"name": "", "slug": ""}, headers=hx)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith('<form id="org-create-form"') and "<html" not in html
    assert "field-error" in html and org_count(app) == 0
    r = client.post("/directory/organizations", data={"name": "Bad", "slug": "Not OK"}, headers=hx)
    assert r.status_code == 422 and 'value="Bad"' in r.get_data(as_text=True)  # input kept
    r = client.post("/directory/organizations", data={"name": "Headquarters", "slug": "", "parentId": ""}, headers=hx)
    assert r.status_code == 201
    events = json.loads(r.headers["HX-Trigger"])
    assert events["wharf:toast"]["message"] == "Organization Headquarters created"
    assert "directory-orgs-changed" in events
    assert "Created Headquarters" in r.get_data(as_text=True)
    assert org_count(app) == 1


def test_htmx_inline_edit_and_delete(client, app, admin):
    csrf = browser_login(client, admin)
    hx = {**HX, "X-CSRFToken": csrf}
    with app.app_context():
        t = db.session.scalars(sa.select(Tenant)).first()
        hq = directory.create_organization(SYSTEM, name="HQ", tenant_id=t.id)
        dc = directory.create_organization(SYSTEM, name="DC", parent_id=hq.id)
        hq_id, dc_id = str(hq.id), str(dc.id)
    # Re-parent to the top level and rename in one inline form.
    r = client.put(
        "/directory/organizations", data={"id": dc_id, "name": "Depot", "slug": "dc", "parentId": ""}, headers=hx
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith(f'<details class="org-edit" id="org-edit-{dc_id}"') and "<html" not in html
    assert "directory-orgs-changed" in r.headers["HX-Trigger"]
    with app.app_context():
        moved = db.session.get(Organization, uuid.UUID(dc_id))
        assert (moved.name, moved.parent_id, moved.tree_path) == ("Depot", None, dc_id)
    # A refused edit re-renders that row's form, open, with the message (422).
    r = client.put("/directory/organizations", data={"id": hq_id, "name": "", "slug": "hq", "parentId": ""}, headers=hx)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f'id="org-edit-{hq_id}" open' in html and "field-error" in html
    # Delete answers with the refreshed list block.
    r = client.delete("/directory/organizations", query_string={"id": dc_id}, headers=hx)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<table" in html and "Depot" not in html and "HQ" in html
    assert json.loads(r.headers["HX-Trigger"])["wharf:toast"]["message"] == "Organization deleted"


def test_htmx_refusal_goes_to_the_toast_region(client, app, admin):
    csrf = browser_login(client, admin)
    with app.app_context():
        t = db.session.scalars(sa.select(Tenant)).first()
        hq = directory.create_organization(SYSTEM, name="HQ", tenant_id=t.id)
        directory.create_organization(SYSTEM, name="DC", parent_id=hq.id)
        hq_id = str(hq.id)
    r = client.delete("/directory/organizations", query_string={"id": hq_id}, headers={**HX, "X-CSRFToken": csrf})
    assert r.status_code == 400 and r.headers["HX-Retarget"] == "#toasts"
    assert "child organizations" in r.get_data(as_text=True)


def test_htmx_writes_need_the_csrf_token(client, admin):
    browser_login(client, admin)
    r = client.post("/directory/organizations", data={"name": "No token"}, headers=HX)
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)


def test_htmx_tenant_create_and_rename(client, app, admin):
    csrf = browser_login(client, admin)
    hx = {**HX, "X-CSRFToken": csrf}
    r = client.post("/directory/tenants", data={"name": ""}, headers=hx)
    assert r.status_code == 422 and r.get_data(as_text=True).lstrip().startswith('<form id="tenant-create-form"')
    r = client.post("/directory/tenants", data={"name": "Globex"}, headers=hx)
    assert r.status_code == 201 and "directory-tenants-changed" in r.headers["HX-Trigger"]
    with app.app_context():
        globex = str(db.session.scalars(sa.select(Tenant.id).where(Tenant.name == "Globex")).one())
    r = client.put("/directory/tenants", data={"id": globex, "name": "Globex Corp"}, headers=hx)
    assert r.status_code == 200 and 'value="Globex Corp"' in r.get_data(as_text=True)
    r = client.put("/directory/tenants", data={"id": globex, "name": "Acme Logistics"}, headers=hx)
    assert r.status_code == 422 and "already exists" in r.get_data(as_text=True)
    listing = client.get("/directory/tenants", query_string={"search": "glob"}, headers=hx).get_data(as_text=True)
    assert "Globex Corp" in listing and "Acme Logistics" not in listing and "<html" not in listing


def test_tenant_admin_page_hides_super_admin_controls(client, app, tenant, make):
    make.tenant("Globex")
    browser_login(client, tenant_admin(app, tenant, "boss@acme.test"))
    html = client.get("/directory/tenants", headers=BROWSER).get_data(as_text=True)
    assert "Acme Logistics" in html and "Globex" not in html
    assert 'id="tenant-create-form"' not in html and "Deactivate" not in html


# --- the service, without HTTP ----------------------------------------------------------------


@pytest.fixture()
def world(ctx):
    return new_tenant("Acme").id


def paths(*orgs) -> list[str]:
    for o in orgs:
        db.session.refresh(o)
    return [o.tree_path for o in orgs]


def test_tree_path_on_create(world):
    root = directory.create_organization(SYSTEM, name="Root", tenant_id=world)
    kid = directory.create_organization(SYSTEM, name="Kid", parent_id=root.id)
    assert kid.tenant_id == world and kid.parent_id == root.id
    assert paths(root, kid) == [str(root.id), f"{root.id}/{kid.id}"]


def test_reparent_moves_every_descendant(world):
    a = directory.create_organization(SYSTEM, name="A", tenant_id=world)
    b = directory.create_organization(SYSTEM, name="B", parent_id=a.id)
    c = directory.create_organization(SYSTEM, name="C", parent_id=b.id)
    d = directory.create_organization(SYSTEM, name="D", parent_id=c.id)
    x = directory.create_organization(SYSTEM, name="X", tenant_id=world)
    directory.update_organization(SYSTEM, b.id, parent_id=x.id)
    assert paths(a, b, c, d) == [f"{a.id}", f"{x.id}/{b.id}", f"{x.id}/{b.id}/{c.id}", f"{x.id}/{b.id}/{c.id}/{d.id}"]
    directory.update_organization(SYSTEM, c.id, parent_id=None)
    assert paths(b, c, d) == [f"{x.id}/{b.id}", f"{c.id}", f"{c.id}/{d.id}"]
    directory.update_organization(SYSTEM, c.id, parent_id=a.id)
    assert paths(c, d) == [f"{a.id}/{c.id}", f"{a.id}/{c.id}/{d.id}"]


def test_cycles_are_refused_and_leave_nothing_behind(world):
    a = directory.create_organization(SYSTEM, name="A", tenant_id=world)
    b = directory.create_organization(SYSTEM, name="B", parent_id=a.id)
    c = directory.create_organization(SYSTEM, name="C", parent_id=b.id)
    with pytest.raises(ValidationFailed):
        directory.update_organization(SYSTEM, a.id, name="Renamed", parent_id=c.id)
    with pytest.raises(ValidationFailed):
        directory.update_organization(SYSTEM, b.id, parent_id=b.id)
    assert paths(a, b, c) == [f"{a.id}", f"{a.id}/{b.id}", f"{a.id}/{b.id}/{c.id}"]
    assert a.name == "A" and a.parent_id is None


def test_moving_keeps_deleted_descendants_consistent(world):
    a = directory.create_organization(SYSTEM, name="A", tenant_id=world)
    b = directory.create_organization(SYSTEM, name="B", parent_id=a.id)
    gone = directory.create_organization(SYSTEM, name="Gone", parent_id=b.id)
    directory.delete_organization(SYSTEM, gone.id)
    directory.update_organization(SYSTEM, b.id, parent_id=None)
    assert paths(gone) == [f"{b.id}/{gone.id}"]


def test_delete_with_live_children_is_refused(world):
    a = directory.create_organization(SYSTEM, name="A", tenant_id=world)
    b = directory.create_organization(SYSTEM, name="B", parent_id=a.id)
    with pytest.raises(BadRequest):
        directory.delete_organization(SYSTEM, a.id)
    directory.delete_organization(SYSTEM, b.id)
    directory.delete_organization(SYSTEM, a.id)
    with pytest.raises(NotFound):
        directory.get_organization(SYSTEM, a.id)


def test_slug_rules(world):
    assert directory.slugify("  Zürich Süd — Dock 7 ") == "zurich-sud-dock-7"
    assert directory.slugify("???") == "organization"
    a = directory.create_organization(SYSTEM, name="Dock", tenant_id=world)
    b = directory.create_organization(SYSTEM, name="Dock", tenant_id=world)
    assert (a.slug, b.slug) == ("dock", "dock-2")
    with pytest.raises(Conflict):
        directory.create_organization(SYSTEM, name="Other", slug="dock", tenant_id=world)
    with pytest.raises(ValidationError):  # the slug's format is the request model's
        OrganizationCreate(name="Other", slug="UPPER case")
    assert OrganizationCreate(name="Other", slug=" Upper-Case ").slug == "upper-case"
    # The same slug is fine in another tenant.
    other = new_tenant("Other")
    assert directory.create_organization(SYSTEM, name="Dock", tenant_id=other.id).slug == "dock"


def test_actor_limited_to_a_branch(world):
    hq = directory.create_organization(SYSTEM, name="HQ", tenant_id=world)
    north = directory.create_organization(SYSTEM, name="North", parent_id=hq.id)
    north_dc = directory.create_organization(SYSTEM, name="North DC", parent_id=north.id)
    south = directory.create_organization(SYSTEM, name="South", parent_id=hq.id)
    user = users.create_user(SYSTEM, email="n@acme.test", password=PASSWORD, tenant_id=world)
    limited = Actor(user, Grants(False, frozenset({"*"}), frozenset({north.id})))
    visible = {o.name for o in db.session.scalars(directory.visible_organizations(limited))}
    assert visible == {"North", "North DC"}
    for hidden in (hq, south):
        with pytest.raises(NotFound):
            directory.get_organization(limited, hidden.id)
    # New organizations must land inside the branch; moving out of it is refused too.
    kid = directory.create_organization(limited, name="North Kid", parent_id=north.id)
    assert kid.tree_path.startswith(north.tree_path + "/")
    with pytest.raises(Forbidden):
        directory.create_organization(limited, name="Top", parent_id=None)
    with pytest.raises(Forbidden):
        directory.update_organization(limited, north_dc.id, parent_id=None)
    with pytest.raises(ValidationFailed):  # South is invisible, so it is no parent
        directory.update_organization(limited, north_dc.id, parent_id=south.id)
    assert paths(north_dc) == [f"{hq.id}/{north.id}/{north_dc.id}"]


def test_tenant_service_rules(world):
    user = users.create_user(SYSTEM, email="t@acme.test", password=PASSWORD, tenant_id=world)
    tenant_admin_actor = Actor(user, Grants(False, frozenset({"*"}), None))
    with pytest.raises(Forbidden):
        directory.create_tenant(tenant_admin_actor, name="Nope")
    other = directory.create_tenant(SYSTEM, name="Other")
    with pytest.raises(NotFound):
        directory.update_tenant(tenant_admin_actor, other.id, name="Mine")
    directory.update_tenant(tenant_admin_actor, world, name="Acme Renamed")
    assert db.session.get(Tenant, world).name == "Acme Renamed"
    with pytest.raises(Conflict):
        directory.update_tenant(SYSTEM, other.id, name="acme renamed")
    assert db.session.get(Tenant, other.id).name == "Other"


# --- in a real browser (run with -m browser) ---------------------------------------------------


@pytest.mark.browser
def test_organizations_screen_in_a_browser(browser, live_server, admin):
    from tests.support import ARTIFACTS, expect, marker_survived, new_page, open_and_sign_in, set_marker

    context, page = new_page(browser)

    def row_named(name):
        return page.locator("#org-list tbody tr", has=page.locator("td:first-child", has_text=name))

    try:
        open_and_sign_in(page, live_server, admin)
        nav = page.get_by_role("navigation", name="Main")
        nav.locator('details[data-area="Administration"] summary').click()  # the area menu first
        nav.get_by_role("link", name="Organizations").click()
        expect(page.locator("h1")).to_have_text("Organizations")
        page.wait_for_function("window.htmx !== undefined")
        set_marker(page)
        page.locator("#org-create summary").click()  # "New organization" opens the form
        form = page.locator("#org-create-form")
        form.locator("input[name=name]").fill("Headquarters")
        form.get_by_role("button", name="Create organization").click()
        expect(page.locator("#org-list")).to_contain_text("Headquarters")  # the list reloaded itself
        expect(page.locator("#toasts")).to_contain_text("Organization Headquarters created")
        form = page.locator("#org-create-form")
        form.locator("input[name=name]").fill("Rotterdam DC")
        form.locator("select[name=parentId]").select_option(label="Headquarters (Acme Logistics)")
        form.get_by_role("button", name="Create organization").click()
        row = row_named("Rotterdam DC")
        expect(row).to_have_attribute("data-depth", "1")
        form.locator("input[name=name]").fill("Second HQ")
        form.locator("input[name=slug]").fill("headquarters")  # taken: the server refuses (409 → 422 form)
        form.get_by_role("button", name="Create organization").click()
        expect(page.locator("#org-create-form .field-error")).to_contain_text("already used")
        expect(page.locator("#org-create-form input[name=name]")).to_have_value("Second HQ")

        page.locator("#org-search").press_sequentially("rott")
        expect(page.locator("#org-list tbody tr")).to_have_count(2)  # the match and its parent
        expect(page.locator("#org-list tr.muted")).to_contain_text("Headquarters")
        page.locator("#org-search").fill("")
        page.locator("#org-search").press("Enter")
        expect(page.locator("#org-list tr.muted")).to_have_count(0)

        row = row_named("Rotterdam DC")
        row.locator("summary").click()
        row.locator("input[name=name]").fill("Rotterdam Depot")
        row.locator("select[name=parentId]").select_option(value="")
        row.get_by_role("button", name="Save").click()
        moved = row_named("Rotterdam Depot")
        expect(moved).to_have_attribute("data-depth", "0")

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "directory-organizations.png"), full_page=True)
        page.on("dialog", lambda d: d.accept())
        row_named("Headquarters").get_by_role("button", name="Delete").click()
        expect(page.locator("#org-list")).not_to_contain_text("Headquarters")
        moved.get_by_role("button", name="Delete").click()
        expect(page.locator("#org-list")).to_contain_text("No organizations yet")
        assert marker_survived(page), "an action reloaded the page"
    finally:
        context.close()
