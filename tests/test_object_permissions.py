"""Object-level permissions (issue 18, seed 002): the three floor use cases and the storage
partition, through the API (get, list, x-count, search, documents, station) and the pages.

A record outside a caller's object grants is answered like another tenant's: 404.
"""

from __future__ import annotations

import io

import pytest

from schemas.permissions import GivenPermission
from tests.support import (
    ADDRESS,
    BROWSER,
    HX,
    TO,
    api_token,
    bearer,
    browser_login,
    new_list,
    new_shipment,
    object_grant,
    png,
    tenant_admin,
    user_id_of,
    with_features,
)


@pytest.fixture()
def lead(app, client, tenant):
    return bearer(api_token(client, tenant_admin(app, tenant, "lead@acme.test")))


def _location(client, h, name):
    r = client.post("/lcs/locations", json={"name": name}, headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["id"]


def _shipment_at(client, h, location_id):
    return new_shipment(
        client, h, addressing={"from": {"entity_type": "location", "entity_id": location_id}, "to": {"address": TO}}
    )


# --- a clerk who may read shipments of every location but one ---------------------------------------


class TestClerkAllLocationsButOne:
    @pytest.fixture()
    def world(self, app, client, tenant, lead):
        north, south = _location(client, lead, "North"), _location(client, lead, "South")
        kept, hidden = _shipment_at(client, lead, north), _shipment_at(client, lead, south)
        clerk = with_features(app, tenant, "clerk@acme.test", ["lcs.shipments.read"])
        object_grant(app, tenant, "lcs.shipments.read", south, "location", False, user_id=user_id_of(app, clerk))
        return {"kept": kept, "hidden": hidden, "south": south, "h": bearer(api_token(client, clerk))}

    def test_get_list_count_and_search_agree(self, client, world):
        h = world["h"]
        assert client.get(f"/lcs/shipments/{world['kept']['id']}", headers=h).status_code == 200
        r = client.get(f"/lcs/shipments/{world['hidden']['id']}", headers=h)
        assert r.status_code == 404 and r.get_json()["message"] == "Shipment not found"
        listed = client.get("/lcs/shipments", headers=h)
        assert [s["id"] for s in listed.get_json()] == [world["kept"]["id"]]
        assert listed.headers["x-count"] == "1"
        found = client.post("/lcs/search/shipments", json={"constraints": []}, headers=h)
        assert found.status_code == 200 and [s["id"] for s in found.get_json()] == [world["kept"]["id"]]
        assert found.headers["x-count"] == "1"
        units = client.post("/lcs/search/shipments/items", json={"constraints": []}, headers=h)
        assert {u["shipment_id"] for u in units.get_json()} == {world["kept"]["id"]}

    def test_navigation_counts_follow(self, client, world):
        home = client.get("/", headers=world["h"]).get_json()
        assert home["floor"]["shipmentsToList"] == 1

    def test_documents_follow(self, client, world):
        h = world["h"]
        assert client.get(f"/lcs/shipments/{world['hidden']['id']}/invoice.pdf", headers=h).status_code == 404

    def test_seed_routes_say_so(self, app, client, world):
        h = world["h"]
        for prefix in ("", "/api"):
            r = client.get(f"{prefix}/permissions/lcs.shipments.read", headers=h)
            assert r.status_code == 200 and r.get_json() == {"canDo": True, "exceptions": [world["south"]]}
        assert client.get("/permissions/lcs.handling.read", headers=h).get_json() == {"canDo": False, "exceptions": []}
        records = client.get("/permissions", headers=h).get_json()
        by_object = {r["objectId"]: r for r in records}
        assert set(records[0]) == set(GivenPermission.model_fields)
        assert by_object[None]["permissionName"] == "lcs.shipments.read" and by_object[None]["canDo"] is True
        assert by_object[world["south"]]["canDo"] is False and by_object[world["south"]]["roleId"] is None
        assert {r["tenantCodename"] for r in records} == {"acme-logistics"}
        # the same record ids on every call (ACL-derived records have stable ids)
        assert [r["id"] for r in client.get("/api/permissions", headers=h).get_json()] == [r["id"] for r in records]

    def test_pages_and_fragments(self, app, client, world):
        browser_login(client, "clerk@acme.test")
        page = client.get("/lcs/shipments", headers=BROWSER).get_data(as_text=True)
        assert world["kept"]["number"] in page and world["hidden"]["number"] not in page
        fragment = client.get("/lcs/shipments", headers={**BROWSER, **HX}).get_data(as_text=True)
        assert world["kept"]["number"] in fragment and world["hidden"]["number"] not in fragment
        assert client.get(f"/lcs/shipments/{world['hidden']['id']}", headers=BROWSER).status_code == 404
        mine = client.get("/permissions", headers=BROWSER).get_data(as_text=True)
        assert "lcs.shipments.read" in mine and "Location South" in mine and "denied" in mine
        check = client.get("/permissions/lcs.shipments.read", headers=BROWSER).get_data(as_text=True)
        assert "everywhere except these records" in check and "Location South" in check
        filtered = client.get("/permissions?search=handling", headers={**BROWSER, **HX}).get_data(as_text=True)
        assert "No permission matches" in filtered


# --- a temporary picker who may work only one handling list ------------------------------------------


class TestPickerOnlyOneList:
    @pytest.fixture()
    def world(self, app, client, tenant, lead):
        mine = new_shipment(client, lead, items=[{"sku": "SKU-A", "quantity": 1}], addressing=ADDRESS)
        other = new_shipment(client, lead, items=[{"sku": "SKU-A", "quantity": 1}], addressing=ADDRESS)
        hl42, other_list = new_list(client, lead, mine["id"]), new_list(client, lead, other["id"])
        picker = with_features(app, tenant, "temp@acme.test", [])
        uid = user_id_of(app, picker)
        for feature in ("lcs.handling.read", "lcs.handling.write"):
            object_grant(app, tenant, feature, hl42, "handling_list", True, user_id=uid)
        return {
            "list": hl42,
            "other": other_list,
            "unit": mine["items"][0]["id"],
            "other_unit": other["items"][0]["id"],
            "h": bearer(api_token(client, picker)),
        }

    def test_only_that_list(self, client, world):
        h = world["h"]
        listed = client.get("/lcs/lists", headers=h)
        assert listed.status_code == 200 and [hl["id"] for hl in listed.get_json()] == [world["list"]]
        assert listed.headers["x-count"] == "1"
        assert client.get(f"/lcs/lists/{world['list']}", headers=h).status_code == 200
        assert client.get(f"/lcs/lists/{world['other']}", headers=h).status_code == 404
        assert client.get(f"/lcs/lists/{world['other']}/picklist.pdf", headers=h).status_code == 404
        r = client.post(f"/lcs/lists/{world['other']}/scan", json={"code": world["other_unit"]}, headers=h)
        assert r.status_code == 404
        r = client.post(f"/lcs/lists/{world['list']}/scan", json={"code": world["unit"]}, headers=h)
        assert r.status_code == 200 and r.get_json()["status"] in ("ok", "done")

    def test_bulk_reaches_only_that_list(self, app, client, world):
        both = [world["unit"], world["other_unit"]]
        r = client.put(
            "/lcs/bulk/items",
            json={
                "command": "set_parameters",
                "parameters": {"is_handled": True},
                "constraints": [{"key": "ids", "operator": "in", "values": both}],
            },
            headers=world["h"],
        )
        assert r.status_code == 204, r.get_json()
        import uuid

        from models import ShipmentItem, db

        with app.app_context():
            handled = {str(i): db.session.get(ShipmentItem, uuid.UUID(i)).is_handled for i in both}
        assert handled == {world["unit"]: True, world["other_unit"]: False}

    def test_nothing_else(self, client, world):
        h = world["h"]
        assert client.get("/lcs/shipments", headers=h).status_code == 403
        assert client.get("/permissions/lcs.handling.write", headers=h).get_json() == {
            "canDo": False,
            "exceptions": [world["list"]],
        }

    def test_navigation_and_pages(self, client, world):
        nav = client.get("/api/auth/admin/nav", headers=world["h"]).get_json()
        titles = {i["title"] for g in nav["groups"] for i in g["items"]}
        assert "Handling lists" in titles and "Shipments" not in titles
        browser_login(client, "temp@acme.test")
        page = client.get("/lcs/lists", headers=BROWSER)
        assert page.status_code == 200
        assert client.get(f"/lcs/lists/{world['other']}", headers=BROWSER).status_code == 404


# --- a lead who may edit every business rule except the compliance set -------------------------------


class TestLeadAllRulesButCompliance:
    @pytest.fixture()
    def world(self, app, client, tenant, lead):
        def rule(rule_id):
            body = {"ruleId": rule_id, "ruleName": rule_id, "ruleType": "GUARD", "entityType": "lcs.parcel"}
            r = client.post("/api/business_rules/rules", json=body, headers=lead)
            assert r.status_code == 201, r.get_json()
            return r.get_json()["id"]

        free, bound = rule("weight-limit"), rule("hazmat-check")
        r = client.post("/api/business_rules/sets", json={"setId": "compliance", "setName": "Compliance"}, headers=lead)
        compliance = r.get_json()["id"]
        assert client.post(
            f"/api/business_rules/sets/{compliance}/members", json={"ruleId": bound}, headers=lead
        ).status_code in (200, 201)
        editor = with_features(
            app, tenant, "editor@acme.test", ["business_rules.view", "business_rules.manage", "business_rules.execute"]
        )
        uid = user_id_of(app, editor)
        object_grant(app, tenant, "business_rules.manage", compliance, "rule_set", False, user_id=uid)
        return {"free": free, "bound": bound, "h": bearer(api_token(client, editor))}

    def test_edits_all_but_the_set(self, client, world):
        h = world["h"]
        ok = client.put("/api/business_rules/rules", json={"id": world["free"], "ruleName": "Renamed"}, headers=h)
        assert ok.status_code == 200, ok.get_json()
        refused = client.put("/api/business_rules/rules", json={"id": world["bound"], "ruleName": "Nope"}, headers=h)
        assert refused.status_code == 404 and refused.get_json() == {"error": "Business rule not found"}
        assert client.delete(f"/api/business_rules/rules?id={world['bound']}", headers=h).status_code == 404
        # reading is another feature: still everywhere
        listed = client.get("/api/business_rules/rules", headers=h).get_json()
        assert {r["id"] for r in listed["items"]} == {world["free"], world["bound"]}


# --- an uploader kept out of one storage partition -------------------------------------------------


class TestUploaderOutOfOnePartition:
    def test_upload_and_read(self, app, client, tenant, lead, files_root):
        r = client.post("/api/attachments/partitions", json={"code": "contracts", "title": "Contracts"}, headers=lead)
        assert r.status_code == 201, r.get_json()
        partition = r.get_json()["item"]["id"] if "item" in r.get_json() else r.get_json()["id"]
        uploader = with_features(app, tenant, "up@acme.test", ["attachments.view", "attachments.manage"])
        uid = user_id_of(app, uploader)
        object_grant(app, tenant, "attachments.manage", partition, "storage_partition", False, user_id=uid)
        object_grant(app, tenant, "attachments.view", partition, "storage_partition", False, user_id=uid)
        h = bearer(api_token(client, uploader))

        def upload(code=None):
            data = {"entityId": "lcs:shipment", "recordId": "S1", "file": (io.BytesIO(png()), "p.png")}
            if code:
                data["partitionCode"] = code
            return client.post("/api/attachments", data=data, headers=h, content_type="multipart/form-data")

        assert upload().status_code in (200, 201)
        # answered like a partition of another tenant: there is none by that code
        refused, unknown = upload("contracts"), upload("nosuchpartition")
        assert refused.status_code == unknown.status_code == 400, refused.get_json()
        assert refused.get_json() == unknown.get_json()
        # a file already in the partition (uploaded by the lead) stays out of reach
        data = {"entityId": "lcs:shipment", "recordId": "S1", "partitionCode": "contracts"}
        data["file"] = (io.BytesIO(png()), "c.png")
        theirs = client.post("/api/attachments", data=data, headers=lead, content_type="multipart/form-data")
        assert theirs.status_code in (200, 201), theirs.get_json()
        file_id = theirs.get_json()["item"]["id"] if "item" in theirs.get_json() else theirs.get_json()["id"]
        assert client.get(f"/api/attachments/file/{file_id}", headers=h).status_code == 404
        listed = client.get("/api/attachments?entityId=lcs:shipment&recordId=S1", headers=h).get_json()
        assert file_id not in {a["id"] for a in listed["items"]}


# --- grant boundaries count records too ------------------------------------------------------------


def test_a_subject_reaching_records_the_actor_is_denied_is_out_of_its_reach(app, client, tenant, lead):
    """A user administrator denied one rule set cannot change a user who may edit it, nor
    hand out a role carrying such a grant; a user denied the same set stays within reach."""
    rset = client.post("/api/business_rules/sets", json={"setId": "compliance", "setName": "C"}, headers=lead)
    compliance = rset.get_json()["id"]
    admin_features = ["auth.users.list", "auth.users.edit", "business_rules.view", "business_rules.manage"]
    boss = with_features(app, tenant, "boss@acme.test", admin_features)
    object_grant(app, tenant, "business_rules.manage", compliance, "rule_set", False, user_id=user_id_of(app, boss))
    free = with_features(app, tenant, "free@acme.test", ["business_rules.manage"])
    fenced = with_features(app, tenant, "fenced@acme.test", ["business_rules.manage"])
    object_grant(app, tenant, "business_rules.manage", compliance, "rule_set", False, user_id=user_id_of(app, fenced))
    h = bearer(api_token(client, boss))

    refused = client.put("/api/auth/users", json={"id": str(user_id_of(app, free)), "name": "X"}, headers=h)
    assert refused.status_code == 403 and "permissions you do not hold" in refused.get_json()["error"]
    allowed = client.put("/api/auth/users", json={"id": str(user_id_of(app, fenced)), "name": "Y"}, headers=h)
    assert allowed.status_code == 200, allowed.get_json()
