"""Shipments, handling lists, parcels and the scan station: seed 001 contract (family B),
state rules, and the three renderings."""

import re
import uuid
from datetime import date

import pytest

from models import Position, Scope, ShipmentItem, db
from services import roles as roles_svc
from services import toggles
from services.logistics import codes, numbers
from tests.support import BROWSER, SYSTEM, api_token, bearer, browser_login, new_list, new_shipment, scan


@pytest.fixture()
def picker(make, tenant):
    make.member(tenant, "pick@acme.test", roles_svc.WAREHOUSE_STAFF)
    return "pick@acme.test"


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


@pytest.fixture()
def ph(client, picker):
    return bearer(api_token(client, picker))


class TestShipments:
    def test_create_expands_units_and_numbers(self, client, h):
        s = new_shipment(client, h)
        assert s["number"] == "S-000001" and len(s["items"]) == 3
        assert {u["sku"] for u in s["items"]} == {"SKU-A", "SKU-B"} and len({u["id"] for u in s["items"]}) == 3
        assert s["addressing"]["to"]["address"]["city"] == "Amsterdam"
        assert s["is_editable"] and not s["is_listed"] and not s["is_handled"] and not s["is_canceled"]
        assert set(s) >= {
            "id",
            "number",
            "type",
            "method_id",
            "order_id",
            "addressing",
            "ship_at",
            "expected_at",
            "is_editable",
            "is_outbound",
            "is_labeled",
            "is_complete",
            "is_boxed",
            "is_handled",
            "is_listed",
            "is_finished",
            "is_in_transit",
            "is_canceled",
            "items",
            "backorders",
            "overage",
            "parcels",
        }
        assert set(s["items"][0]) >= {
            "id",
            "reference",
            "sku",
            "position",
            "order_item_id",
            "description",
            "is_listed",
            "is_handled",
            "is_boxed",
            "is_in_transit",
            "is_finished",
            "is_missing",
            "hs_code",
            "service",
        }
        assert new_shipment(client, h)["number"] == "S-000002"

    @pytest.mark.parametrize(
        "body, key, field",
        [
            ({"items": []}, "invalid value", "items"),
            ({"items": [{"quantity": 1}]}, "required", "items.0.sku"),
            ({"items": [{"sku": "A", "quantity": 0}]}, "invalid value", "items.0.quantity"),
            ({"items": [{"sku": "A", "quantity": "two"}]}, "invalid value", "items.0.quantity"),
            ({"items": [{"sku": "A"}], "type": "teleport"}, "invalid value", "type"),
            ({"items": [{"sku": "A"}], "ship_at": "tomorrow"}, "invalid value", "ship_at"),
            ({"items": [{"sku": "A"}], "method_id": str(uuid.uuid4())}, "invalid value", "method_id"),
            (
                {"items": [{"sku": "A"}], "addressing": {"to": {"address": {"country_code": "NLD"}}}},
                "invalid value",
                "addressing.to.address.country_code",
            ),
        ],
    )
    def test_create_bad_input_is_family_b_400(self, client, h, body, key, field):
        r = client.post("/lcs/shipments", json=body, headers=h)
        assert r.status_code == 400
        env = r.get_json()
        assert env["code"] == 400 and env["reference"] == r.headers["x-request-id"] and env["errors"] == {key: [field]}
        assert client.get("/lcs/shipments", headers=h).headers["x-count"] == "0"  # nothing half-written

    def test_malformed_json_and_wrong_shape(self, client, h):
        r = client.post("/lcs/shipments", data="{nope", content_type="application/json", headers=h)
        assert r.status_code == 400 and r.get_json()["code"] == 400
        assert client.post("/lcs/shipments", json=[1, 2], headers=h).status_code == 400

    def test_list_paging_headers_and_api_mount(self, client, h):
        for _ in range(3):
            new_shipment(client, h)
        r = client.get("/lcs/shipments", headers={**h, "x-page-size": "2", "x-page": "2"})
        assert r.status_code == 200 and r.headers["x-count"] == "3" and r.headers["x-page"] == "2"
        assert [s["number"] for s in r.get_json()] == ["S-000001"]  # newest first
        assert "items" not in r.get_json()[0]
        assert client.get("/api/lcs/shipments", headers=h).headers["x-count"] == "3"
        assert client.get("/lcs/shipments", headers={**h, "x-page-size": "101"}).status_code == 400

    def test_update_only_while_editable(self, client, h):
        s = new_shipment(client, h)
        r = client.put(
            f"/lcs/shipments/{s['id']}", json={"order_id": "ORD-8", "expected_at": "2026-12-01T10:00:00Z"}, headers=h
        )
        assert r.status_code == 200 and r.get_json()["order_id"] == "ORD-8"
        assert r.get_json()["expected_at"] == "2026-12-01T10:00:00.000Z"
        new_list(client, h, s["id"])
        r = client.put(f"/lcs/shipments/{s['id']}", json={"order_id": "ORD-9"}, headers=h)
        assert r.status_code == 409 and r.get_json()["code"] == 409

    def test_cancel_releases_and_refuses_in_transit(self, client, h):
        s = new_shipment(client, h)
        list_id = new_list(client, h, s["id"])
        assert client.delete(f"/lcs/shipments/{s['id']}", headers=h).status_code == 204
        row = client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json()
        assert row["is_canceled"] and not row["is_listed"]
        assert client.delete(f"/lcs/shipments/{s['id']}", headers=h).status_code == 204  # idempotent
        assert client.get(f"/lcs/lists/{list_id}", headers=h).get_json()["items"] == []
        s2 = new_shipment(client, h)
        ids = [u["id"] for u in s2["items"]]
        p = client.post(
            "/lcs/parcels", json={"shipment_id": s2["id"], "item_ids": ids, "weight": 900}, headers=h
        ).get_json()
        assert client.put(f"/lcs/parcels/{p['id']}/transit", headers=h).status_code == 204
        assert client.delete(f"/lcs/shipments/{s2['id']}", headers=h).status_code == 409

    def test_missing_backorders_overage(self, client, h):
        s = new_shipment(client, h)
        unit = s["items"][0]["id"]
        assert (
            client.put(
                f"/lcs/shipments/{s['id']}/items/missing", json=[{"id": unit, "is_missing": True}], headers=h
            ).status_code
            == 204
        )
        row = client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json()
        assert [u["is_missing"] for u in row["items"] if u["id"] == unit] == [True]
        other = new_shipment(client, h)["items"][0]["id"]
        bad = client.put(f"/lcs/shipments/{s['id']}/items/missing", json=[{"id": other, "is_missing": True}], headers=h)
        assert bad.status_code == 400 and bad.get_json()["errors"] == {"invalid value": ["0.id"]}
        assert client.put(f"/lcs/shipments/{s['id']}/items/missing", json={"id": unit}, headers=h).status_code == 400
        r = client.put(f"/lcs/shipments/{s['id']}/items/backorders", json=[{"sku": "SKU-C", "quantity": 2}], headers=h)
        assert r.status_code == 200 and r.get_json()["backorders"] == [
            {"sku": "SKU-C", "quantity": 2, "description": "", "position": None}
        ]
        r = client.put(f"/lcs/shipments/{s['id']}/items/overage", json=[{"sku": "SKU-D", "quantity": 1}], headers=h)
        assert r.get_json()["is_overcomplete"] is True
        assert (
            client.put(f"/lcs/shipments/{s['id']}/items/overage", json=[{"quantity": 1}], headers=h).status_code == 400
        )

    def test_unknown_and_other_tenant_ids_are_404(self, app, client, h, make):
        other = make.tenant("Globex")
        with app.app_context():
            from schemas.lcs_shipments import LcsShipmentItemModel, LcsShipmentModel
            from services.logistics import shipments

            theirs = str(
                shipments.create_shipment(
                    SYSTEM, LcsShipmentModel(tenant_id=other, items=[LcsShipmentItemModel(sku="X")])
                ).id
            )
        make.member(other, "boss@globex.test", roles_svc.ADMINISTRATOR)
        mine = bearer(api_token(client, "boss@globex.test"))
        own = new_shipment(client, h)["id"]
        for method, path in (
            ("get", f"/lcs/shipments/{own}"),
            ("put", f"/lcs/shipments/{own}"),
            ("delete", f"/lcs/shipments/{own}"),
            ("get", f"/lcs/shipments/{uuid.uuid4()}"),
        ):
            r = getattr(client, method)(path, json={}, headers=mine)
            assert r.status_code == 404 and r.get_json()["code"] == 404, path
        assert client.get(f"/lcs/shipments/{theirs}", headers=mine).status_code == 200
        assert client.get("/lcs/shipments/not-a-uuid", headers=h).status_code == 404


class TestLists:
    def test_create_groups_and_ranks_by_walk_order(self, app, client, h, tenant):
        with app.app_context():
            from models import Location

            loc = Scope(tenant).add(Location(name="DC"))
            db.session.flush()
            for code, sorting, skus in (("C-01", 30, ["SKU-A"]), ("A-01", 10, ["SKU-B"]), ("B-01", 20, ["SKU-C"])):
                Scope(tenant).add(Position(location_id=loc.id, code=code, sorting=sorting, skus=skus))
            db.session.commit()
        s1 = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B"}])
        s2 = new_shipment(client, h, items=[{"sku": "SKU-C", "quantity": 1}, {"sku": "SKU-A", "quantity": 1}])
        r = client.post(
            "/lcs/lists",
            json={
                "shipments": [{"id": s1["id"], "label": "Crate 1"}, {"id": s2["id"], "label": "Crate 2"}],
                "due_at": "2026-11-23T08:00:00Z",
            },
            headers=h,
        )
        created = r.get_json()
        assert (
            r.status_code == 200 and created["number"] == "HL-000001" and created["shipments"] == [s1["id"], s2["id"]]
        )
        assert created["is_assigned"] is False and created["due_at"] == "2026-11-23T08:00:00.000Z"
        detail = client.get(f"/lcs/lists/{created['id']}", headers=h).get_json()
        assert [(i["position"], i["sku"], i["quantity"], i["sorting_label"]) for i in detail["items"]] == [
            ("A-01", "SKU-B", 1, "Crate 1"),
            ("B-01", "SKU-C", 1, "Crate 2"),
            ("C-01", "SKU-A", 2, "Crate 1"),
            ("C-01", "SKU-A", 1, "Crate 2"),
        ]
        assert [i["rank"] for i in detail["items"]] == [0, 1, 2, 3]
        assert detail["sorting_labels"] == [
            {"shipment_id": s1["id"], "label": "Crate 1"},
            {"shipment_id": s2["id"], "label": "Crate 2"},
        ]
        listed = client.get("/lcs/lists", headers=h)
        assert listed.headers["x-count"] == "1" and len(listed.get_json()[0]["items"]) == 5  # one per unit
        assert client.get(f"/lcs/shipments/{s1['id']}", headers=h).get_json()["is_listed"] is True

    @pytest.mark.parametrize(
        "body, status",
        [
            ({}, 400),
            ({"shipments": []}, 400),
            ({"shipments": [{"id": "nope"}]}, 400),
            ({"shipments": [{"id": str(uuid.uuid4())}]}, 404),
            ({"shipments": [{"id": "%s"}], "due_at": "soon"}, 400),
        ],
    )
    def test_create_bad_input(self, client, h, body, status):
        sid = new_shipment(client, h)["id"]
        if body.get("shipments") and body["shipments"][0]["id"] == "%s":
            body = {**body, "shipments": [{"id": sid}]}
        assert client.post("/lcs/lists", json=body, headers=h).status_code == status

    def test_one_active_list_per_shipment_and_inbound_refused(self, client, h):
        s1, s2 = new_shipment(client, h)["id"], new_shipment(client, h)["id"]
        new_list(client, h, s1)
        r = client.post("/lcs/lists", json={"shipments": [{"id": s2}, {"id": s1}]}, headers=h)
        assert r.status_code == 409 and "S-000001" in r.get_json()["message"]
        assert client.get(f"/lcs/shipments/{s2}", headers=h).get_json()["is_listed"] is False  # rolled back
        inbound = new_shipment(client, h, is_outbound=False)["id"]
        assert client.post("/lcs/lists", json={"shipments": [{"id": inbound}]}, headers=h).status_code == 409

    def test_items_put_is_idempotent_and_checks_membership(self, app, client, h, ph):
        s = new_shipment(client, h)
        list_id = new_list(client, h, s["id"])
        unit = s["items"][0]["id"]
        for _ in range(3):  # a scanner's retry is harmless
            assert (
                client.put(
                    f"/lcs/lists/{list_id}/items", json=[{"id": unit, "is_handled": True}], headers=ph
                ).status_code
                == 204
            )
        import sqlalchemy as sa

        from models import ScanEvent

        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(ScanEvent.id)).where(ScanEvent.kind == "handled")) == 1
        detail = client.get(f"/lcs/lists/{list_id}", headers=ph).get_json()
        assert detail["is_in_progress"] and detail["started_at"]
        other = new_shipment(client, h)["items"][0]["id"]
        r = client.put(f"/lcs/lists/{list_id}/items", json=[{"id": other, "is_handled": True}], headers=ph)
        assert r.status_code == 400 and r.get_json()["errors"] == {"invalid value": ["0.id"]}
        assert (
            client.put(f"/lcs/lists/{list_id}/items", json=[{"id": unit, "is_handled": "yes"}], headers=ph).status_code
            == 400
        )
        assert client.put(f"/lcs/lists/{list_id}/items", json={"id": unit}, headers=ph).status_code == 400

    def test_hold_resume_assign_finish_cancel(self, client, h, ph):
        s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 1}])
        list_id = new_list(client, h, s["id"])
        unit = s["items"][0]["id"]
        me = client.get("/api/auth/profile", headers=ph).get_json()["id"]  # sub: a picker's user id
        assert (
            client.put(f"/lcs/lists/{list_id}/state", json={"is_on_hold": True, "sub": me}, headers=ph).status_code
            == 204
        )
        held = client.put(f"/lcs/lists/{list_id}/items", json=[{"id": unit, "is_handled": True}], headers=ph)
        assert held.status_code == 409
        assert client.post(f"/lcs/lists/{list_id}/scan", json={"code": "SKU-A"}, headers=ph).status_code == 409
        assert client.put(f"/lcs/lists/{list_id}/state", json={"is_on_hold": False}, headers=ph).status_code == 204
        open_finish = client.put(f"/lcs/lists/{list_id}/state", json={"is_finished": True}, headers=ph)
        assert open_finish.status_code == 409 and "still to pick" in open_finish.get_json()["message"]
        last = scan(client, ph, list_id, "SKU-A")  # the last open unit finishes the list (seed: no finish call)
        assert last["status"] == "done" and last["action"] == "handled" and last["is_finished"] is True
        assert client.put(f"/lcs/lists/{list_id}/state", json={"is_finished": True}, headers=ph).status_code == 409
        detail = client.get(f"/lcs/lists/{list_id}", headers=ph).get_json()
        assert detail["is_finished"] and detail["finished_at"] and detail["sub"] == me
        assert client.delete(f"/lcs/lists/{list_id}", headers=ph).status_code == 409
        s2 = new_shipment(client, h)
        l2 = new_list(client, h, s2["id"])
        assert client.delete(f"/lcs/lists/{l2}", headers=ph).status_code == 204
        assert client.get(f"/lcs/lists/{l2}", headers=ph).get_json()["is_cancelled"] is True
        assert client.get(f"/lcs/shipments/{s2['id']}", headers=h).get_json()["is_listed"] is False
        assert client.put(f"/lcs/lists/{l2}/state", json={"is_on_hold": False}, headers=ph).status_code == 409
        assert client.put(f"/lcs/lists/{l2}/state", json={"is_on_hold": "no"}, headers=ph).status_code == 400

    def test_search_lists(self, client, h):
        l1 = new_list(client, h, new_shipment(client, h)["id"])
        new_list(client, h, new_shipment(client, h)["id"])
        client.put(f"/lcs/lists/{l1}/state", json={"is_on_hold": True}, headers=h)
        r = client.post(
            "/lcs/lists/search",
            json={"constraints": [{"key": "is_on_hold", "operator": "in", "values": ["true"]}]},
            headers=h,
        )
        assert [x["id"] for x in r.get_json()] == [l1] and r.headers["x-count"] == "1"
        r = client.post(
            "/lcs/lists/search", json={"constraints": [{"key": "ids", "operator": "in", "value": [l1]}]}, headers=h
        )
        assert len(r.get_json()) == 1 and "sorting_labels" in r.get_json()[0]
        for bad in (
            {"constraints": [{"key": "colour", "values": ["x"]}]},
            {"constraints": [{"key": "ids", "operator": "like", "values": ["x"]}]},
            {"constraints": "all"},
            {"constraints": [{"key": "ids", "values": ["nope"]}]},
        ):
            r = client.post("/lcs/lists/search", json=bad, headers=h)
            assert r.status_code == 400 and r.get_json()["code"] == 400, bad

    def test_items_put_honours_each_field_sent(self, client, h, ph):
        """Seed 001:23121: ``LcsHandlingListItemUpdate.is_finished`` (and the other fields)
        change the unit; fields not sent stay as they are."""
        s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 2}])
        list_id = new_list(client, h, s["id"])
        unit, other = s["items"][0]["id"], s["items"][1]["id"]

        def units():
            return {u["id"]: u for u in client.get("/lcs/lists", headers=ph).get_json()[0]["items"]}

        r = client.put(
            f"/lcs/lists/{list_id}/items",
            headers=ph,
            json=[
                {
                    "id": unit,
                    "is_finished": True,
                    "is_serviced": True,
                    "position": "B-02",
                    "lot_number": "LOT-7",
                    "expires_at": "2027-01-31T00:00:00Z",
                }
            ],
        )
        assert r.status_code == 204 and r.get_data() == b""
        assert units()[unit]["is_finished"] is True and units()[unit]["position"] == "B-02"
        assert units()[other]["is_finished"] is False and not units()[unit]["is_handled"]
        grouped = client.post(
            "/lcs/search/shipments/items", headers=ph, json={"constraints": [{"key": "list_ids", "values": [list_id]}]}
        ).get_json()[0]
        assert grouped["finished_ids"] == [unit] and grouped["totals"]["finished"] == 1
        assert (
            client.put(f"/lcs/lists/{list_id}/items", json=[{"id": unit, "is_handled": True}], headers=ph).status_code
            == 204
        )
        assert units()[unit]["is_finished"] is True and units()[unit]["position"] == "B-02"  # not sent: kept
        assert (
            client.put(
                f"/lcs/lists/{list_id}/items", json=[{"id": unit, "is_finished": False, "position": None}], headers=ph
            ).status_code
            == 204
        )
        assert (
            units()[unit]["is_finished"] is False and units()[unit]["position"] is None and units()[unit]["is_handled"]
        )
        for bad in (
            [],
            [{"is_finished": True}],
            [{"id": unit, "is_finished": "true"}],
            [{"id": unit, "lot_number": 7}],
            [{"id": unit, "expires_at": "soon"}],
            [{"id": unit, "position": "A\x00"}],
        ):
            r = client.put(f"/lcs/lists/{list_id}/items", json=bad, headers=ph)
            assert r.status_code == 400 and r.get_json()["code"] == 400, bad

    def test_document_declares_bodies_statuses_and_paging(self, client):
        """The list operations are declared: bodies, seed statuses (no 201; 204 without a
        body), x-page/x-page-size asked and x-count/x-page answered."""
        doc = client.get("/api/openapi.json").get_json()
        paths, schemas = doc["paths"], doc["components"]["schemas"]
        items = paths["/api/lcs/lists/{list_id}/items"]["put"]
        body = items["requestBody"]["content"]["application/json"]["schema"]
        assert body["type"] == "array" and body["items"]["$ref"].endswith("/LcsHandlingListItemUpdate")
        assert set(schemas["LcsHandlingListItemUpdate"]["properties"]) == {
            "id",
            "is_handled",
            "is_serviced",
            "is_finished",
            "position",
            "lot_number",
            "expires_at",
        }
        for path, method in (
            ("/api/lcs/lists/{list_id}/items", "put"),
            ("/api/lcs/lists/{list_id}/state", "put"),
            ("/api/lcs/lists/{list_id}", "delete"),
        ):
            ok = {k: v for k, v in paths[path][method]["responses"].items() if k.startswith("2")}
            assert list(ok) == ["204"] and "content" not in ok["204"], path
        create = paths["/api/lcs/lists"]["post"]
        assert "201" not in create["responses"] and create["responses"]["200"]["content"]["application/json"]
        assert "LcsHandlingModel" in create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        for path, method in (("/api/lcs/lists", "get"), ("/api/lcs/lists/search", "post")):
            op = paths[path][method]
            assert {("x-page", "header"), ("x-page-size", "header")} <= {(p["name"], p["in"]) for p in op["parameters"]}
            assert {"x-count", "x-page"} <= set(op["responses"]["200"]["headers"]), path
        search = paths["/api/lcs/lists/search"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert search["$ref"].endswith("/LcsListSearch")


class TestScanning:
    def test_scan_by_sku_barcode_unit_and_gs1(self, app, client, h, ph, tenant):
        with app.app_context():
            from models import Product, ProductBarcode

            p = Scope(tenant).add(Product(sku="SKU-A", description="Mug"))
            db.session.flush()
            Scope(tenant).add(ProductBarcode(product_id=p.id, code="4006381333931"))
            db.session.commit()
        s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 4}, {"sku": "SKU-B", "quantity": 1}])
        list_id = new_list(client, h, s["id"])
        assert scan(client, ph, list_id, "SKU-A")["status"] == "ok"
        assert scan(client, ph, list_id, "4006381333931")["status"] == "ok"  # product barcode
        picked = scan(client, ph, list_id, "]C10104006381333931" + "17261231" + "10LOT7")  # GS1: GTIN, expiry, lot
        assert picked["status"] == "ok"
        with app.app_context():  # the pick records the lot and expiry it scanned (traceability)
            unit = db.session.get(ShipmentItem, uuid.UUID(picked["item_id"]))
            assert (unit.lot_number, unit.expires_at.date()) == ("LOT7", date(2026, 12, 31))
        remaining = [
            u
            for u in client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json()["items"]
            if not u["is_handled"] and u["sku"] == "SKU-A"
        ]
        result = scan(client, ph, list_id, remaining[0]["id"])  # a unit id
        assert result["status"] == "ok" and result["progress"] == {
            "total": 5,
            "handled": 4,
            "missing": 0,
            "open": 1,
            "percent": 80,
        }
        assert result["next"]["sku"] == "SKU-B"
        assert scan(client, ph, list_id, remaining[0]["id"])["status"] == "warning"  # same unit again: already picked
        over = scan(client, ph, list_id, "SKU-A")
        assert over["status"] == "warning" and "over-pick" in over["message"] and over["progress"]["handled"] == 4
        unknown = scan(client, ph, list_id, "ZZZ-404")
        assert unknown["status"] == "error" and unknown["progress"]["handled"] == 4
        last = scan(client, ph, list_id, "SKU-B")  # the last open unit: the list finishes with it
        assert last["status"] == "done" and last["is_finished"] and last["next"] is None
        assert last["progress"]["percent"] == 100
        assert client.post(f"/lcs/lists/{list_id}/scan", json={"code": ""}, headers=ph).status_code == 400
        assert client.post(f"/lcs/lists/{list_id}/scan", json={}, headers=ph).status_code == 400

    def test_undo_and_commands(self, client, h, ph):
        s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 2}])
        list_id = new_list(client, h, s["id"])
        scan(client, ph, list_id, "SKU-A")
        undone = scan(client, ph, list_id, "wharf:undo")
        assert undone["action"] == "undone" and undone["progress"]["handled"] == 0
        assert scan(client, ph, list_id, "WHARF:UNDO")["status"] == "warning"  # nothing left to undo
        scan(client, ph, list_id, "SKU-A")
        early = client.post(f"/lcs/lists/{list_id}/scan", json={"code": "WHARF:FINISH"}, headers=ph)
        assert early.status_code == 409 and "1 unit still to pick" in early.get_json()["message"]
        done = scan(client, ph, list_id, "SKU-A")  # the last unit finishes the list by itself
        assert done["status"] == "done" and done["is_finished"] is True
        r = client.post(f"/lcs/lists/{list_id}/scan", json={"code": "WHARF:FINISH"}, headers=ph)
        assert r.status_code == 409  # never finishes twice
        assert client.post(f"/lcs/lists/{list_id}/scan", json={"code": "WHARF:UNDO"}, headers=ph).status_code == 409

    def test_confirm_quantity_toggle_needs_a_second_scan(self, app, client, h, ph):
        with app.app_context():
            toggles.ensure_builtin()
            t = toggles.resolve("lcs.scan.confirm_quantity", None)
        client.put(
            "/api/feature_toggles/overrides",
            headers=h,
            json={"toggleId": str(t.toggle_id), "isOverride": True, "overrideValue": True},
        )
        s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 3}, {"sku": "SKU-B", "quantity": 1}])
        list_id = new_list(client, h, s["id"])
        first = scan(client, ph, list_id, "SKU-A")
        assert first["status"] == "warning" and first["action"] == "pending" and first["progress"]["handled"] == 0
        took = scan(client, ph, list_id, "SKU-A")  # the confirming scan takes the whole quantity (issue 16, 8)
        assert took["status"] == "ok" and took["progress"]["handled"] == 3
        assert scan(client, ph, list_id, "SKU-B")["status"] == "done"  # a line of one needs no confirmation

    def test_station_three_renderings(self, client, h, picker):
        s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 2}])
        list_id = new_list(client, h, s["id"])
        csrf = browser_login(client, picker)
        page = client.get(f"/lcs/lists/{list_id}/station", headers=BROWSER).get_data(as_text=True)
        assert "<!doctype html>" in page and 'id="scan-input"' in page and 'hx-sync="this:queue all"' in page
        frag = client.post(
            f"/lcs/lists/{list_id}/scan", headers={"HX-Request": "true", "X-CSRFToken": csrf}, data={"code": "SKU-A"}
        )
        html = frag.get_data(as_text=True)
        assert html.lstrip().startswith('<div id="station-panel" class="station-panel status-ok"') and "1/2" in html
        assert '"wharf:scan": {"ok": true' in frag.headers["HX-Trigger"]
        bad = client.post(
            f"/lcs/lists/{list_id}/scan", headers={"HX-Request": "true", "X-CSRFToken": csrf}, data={"code": "??"}
        )
        assert "status-error" in bad.get_data(as_text=True) and '"ok": false' in bad.headers["HX-Trigger"]
        # a refused body (nothing scanned) or a refused state (on hold): the panel in red, nothing changed
        empty = client.post(
            f"/lcs/lists/{list_id}/scan", headers={"HX-Request": "true", "X-CSRFToken": csrf}, data={"code": " "}
        )
        assert (
            empty.status_code == 200
            and "status-error" in empty.get_data(as_text=True)
            and "1/2" in empty.get_data(as_text=True)
        )
        assert client.put(f"/lcs/lists/{list_id}/state", json={"is_on_hold": True}, headers=h).status_code == 204
        held = client.post(
            f"/lcs/lists/{list_id}/scan", headers={"HX-Request": "true", "X-CSRFToken": csrf}, data={"code": "SKU-A"}
        )
        assert (
            held.status_code == 200
            and "is on hold" in held.get_data(as_text=True)
            and '"ok": false' in held.headers["HX-Trigger"]
        )


class TestParcels:
    def test_create_with_sscc_attach_detach_transit(self, client, h):
        s = new_shipment(client, h)
        ids = [u["id"] for u in s["items"]]
        r = client.post(
            "/lcs/parcels",
            json={
                "shipment_id": s["id"],
                "weight": 1200,
                "length": 300,
                "width": 200,
                "height": 100,
                "item_ids": ids[:1],
            },
            headers=h,
        )
        p = r.get_json()
        assert (
            r.status_code == 200
            and len(p["number"]) == 18
            and numbers.gs1_check_digit(p["number"][:-1]) == int(p["number"][-1])
        )
        assert p["count"] == 1 and p["items"][0]["quantity"] == 1 and p["shipment_id"] == s["id"]
        other_unit = new_shipment(client, h)["items"][0]["id"]
        r = client.post(f"/lcs/parcels/{p['id']}/items", json={"ids": ids + [other_unit]}, headers=h)
        assert r.get_json() == {"success": 2, "failed": 2}  # already packed + another shipment's unit
        second = client.post("/lcs/parcels", json={"shipment_id": s["id"]}, headers=h).get_json()
        assert client.post(f"/lcs/parcels/{second['id']}/items", json={"ids": ids}, headers=h).get_json() == {
            "success": 0,
            "failed": 3,
        }
        assert client.delete(f"/lcs/parcels/{p['id']}/items", json={"ids": ids[:1]}, headers=h).get_json() == {
            "success": 1,
            "failed": 0,
        }
        assert (
            client.post(f"/lcs/parcels/{second['id']}/items", json={"ids": ids[:1]}, headers=h).get_json()["success"]
            == 1
        )
        assert (
            client.put(
                f"/lcs/parcels/{p['id']}", json={"weight": 1300, "tracking_code": "3SABC"}, headers=h
            ).status_code
            == 204
        )
        assert client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()["tracking_code"] == "3SABC"
        assert client.put(f"/lcs/parcels/{p['id']}/finished", headers=h).status_code == 409  # not in transit yet
        assert client.put(f"/lcs/parcels/{p['id']}/transit", headers=h).status_code == 204
        assert client.put(f"/lcs/parcels/{p['id']}/transit", headers=h).status_code == 204  # idempotent
        assert client.put(f"/lcs/parcels/{p['id']}", json={"weight": 1}, headers=h).status_code == 409
        assert client.post(f"/lcs/parcels/{p['id']}/items", json={"ids": ids}, headers=h).status_code == 409
        assert client.put(f"/lcs/parcels/{p['id']}/finished", headers=h).status_code == 204
        row = client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()
        assert row["is_in_transit"] and row["is_finished"] and row["is_delivered"] and row["in_transit_at"]
        listing = client.get("/lcs/parcels", headers=h)
        assert listing.headers["x-count"] == "2"

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"shipment_id": "x"},
            {"shipment_id": "%s", "weight": -1},
            {"shipment_id": "%s", "weight": "heavy"},
            {"shipment_id": "%s", "item_ids": ["x"]},
        ],
    )
    def test_create_bad_input(self, client, h, body):
        sid = new_shipment(client, h)["id"]
        body = {k: (sid if v == "%s" else v) for k, v in body.items()}
        r = client.post("/lcs/parcels", json=body, headers=h)
        assert r.status_code in (400, 404) and r.get_json()["code"] == r.status_code
        assert client.get("/lcs/parcels", headers=h).headers["x-count"] == "0"

    def test_empty_parcel_cannot_ship_and_delete_frees_units(self, client, h):
        s = new_shipment(client, h)
        p = client.post("/lcs/parcels", json={"shipment_id": s["id"]}, headers=h).get_json()
        assert client.put(f"/lcs/parcels/{p['id']}/transit", headers=h).status_code == 409
        client.post(f"/lcs/parcels/{p['id']}/items", json={"ids": [s["items"][0]["id"]]}, headers=h)
        assert client.delete(f"/lcs/parcels/{p['id']}", headers=h).status_code == 204
        assert not client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json()["items"][0]["is_boxed"]
        assert client.get(f"/lcs/parcels/{p['id']}", headers=h).status_code == 404

    def test_pack_station_page_and_fragment(self, client, h, picker, ph):
        s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 2}])
        list_id = new_list(client, h, s["id"])
        scan(client, ph, list_id, "SKU-A")
        scan(client, ph, list_id, "SKU-A")
        csrf = browser_login(client, picker)
        page = client.get(f"/lcs/shipments/{s['id']}/pack", headers=BROWSER).get_data(as_text=True)
        assert "Picked, not packed (2)" in page
        r = client.post(
            "/lcs/parcels",
            headers={"HX-Request": "true", "X-CSRFToken": csrf},
            data={"shipment_id": s["id"], "item_ids": [u["id"] for u in s["items"]], "weight": "800"},
        )
        html = r.get_data(as_text=True)
        assert (
            r.status_code == 200
            and html.lstrip().startswith('<div id="pack-panel"')
            and "Picked, not packed (0)" in html
        )
        assert "Parcels (1)" in html and "wharf:toast" in r.headers["HX-Trigger"]


class TestScreens:
    def test_shipments_page_filters_and_list_creation(self, client, h, admin):
        a = new_shipment(client, h)
        b = new_shipment(client, h, addressing={"to": {"address": {"name": "Bob", "postal_code": "9999ZZ"}}})
        csrf = browser_login(client, admin)
        page = client.get("/lcs/shipments", headers=BROWSER).get_data(as_text=True)
        assert "S-000001" in page and "S-000002" in page and "Create handling list from selected" in page
        frag = client.get("/lcs/shipments?search=9999", headers={"HX-Request": "true", "HX-Target": "shipment-results"})
        html = frag.get_data(as_text=True)
        assert html.lstrip().startswith('<div id="shipment-results">') and "S-000002" in html and "S-000001" not in html
        assert "1 shipment<" in html  # the count is swapped with the rows it counts
        r = client.post(
            "/lcs/lists", headers={"HX-Request": "true", "X-CSRFToken": csrf}, data={"shipment": [a["id"], b["id"]]}
        )
        assert r.status_code == 200 and r.headers["HX-Redirect"].startswith("/lcs/lists/")
        listed = client.get(
            "/lcs/shipments?is_listed=true", headers={"HX-Request": "true", "HX-Target": "shipment-results"}
        )
        assert "S-000001" in listed.get_data(as_text=True)
        list_page = client.get(r.headers["HX-Redirect"], headers=BROWSER).get_data(as_text=True)
        assert "HL-000001" in list_page and "Open scan station" in list_page

    def test_shipments_page_pages_through_headers(self, client, h, admin):
        for _ in range(27):
            client.post("/lcs/shipments", json={"items": [{"sku": "A"}]}, headers=h)
        browser_login(client, admin)
        first = client.get("/lcs/shipments", headers=BROWSER).get_data(as_text=True)
        assert "27 shipments" in first and "Page 1 of 2" in first
        assert "S-000027" in first and "S-000002" not in first
        token = re.search(r'hx-headers=\'\{"x-page": "(k[\w-]+)"\}\'', first).group(1)  # Next: the page token
        for page in (token, "2"):  # the token, or the page's number
            hx = {"HX-Request": "true", "HX-Target": "shipment-results", "x-page": page}
            second = client.get("/lcs/shipments", headers=hx).get_data(as_text=True)
            assert "Page 2 of 2" in second and "S-000001" in second and "S-000027" not in second
            assert 'hx-include="#shipment-filters"' in second  # the filters ride along with the page

    def test_bulk_actions_follow_the_toggle(self, app, client, h, admin):
        new_shipment(client, h)
        with app.app_context():
            toggles.ensure_builtin()
            t = toggles.resolve("lcs.lists.bulk_actions", None)
        client.application.test_client().put(
            "/api/feature_toggles/overrides",
            headers=h,
            json={"toggleId": str(t.toggle_id), "isOverride": True, "overrideValue": False},
        )
        browser_login(client, admin)
        page = client.get("/lcs/shipments", headers=BROWSER).get_data(as_text=True)
        assert "Create handling list from selected" not in page and 'name="shipment"' not in page


def test_gs1_parsing_and_check_digits():
    s = codes.parse("]C1" + "0104006381333931" + "17261231" + "10" + "ABC" + codes.GS + "21" + "S1")
    assert s.gtin == "04006381333931" and s.lot == "ABC" and s.expires.isoformat() == "2026-12-31"
    # a weight before expiry and lot: nothing after it is lost
    s = codes.parse("]C1" + "0104006381333931" + "3103000750" + "17261231" + "10ABC")
    assert (s.gtin, s.code, s.expires, s.lot) == (
        "04006381333931",
        "04006381333931",
        date(2026, 12, 31),
        "ABC",
    )
    # DataMatrix prefix, GS after a variable field, day 00 = last day of the month (GS1 rule)
    s = codes.parse("]d2" + "0104006381333931" + "10L-9" + codes.GS + "17260200")
    assert (s.gtin, s.lot, s.expires) == ("04006381333931", "L-9", date(2026, 2, 28))
    # an identifier nobody allocated is skipped up to its GS; what follows is still read
    s = codes.parse("]C1" + "0104006381333931" + "2399" + codes.GS + "10LOT" + codes.GS + "17261231")
    assert (s.gtin, s.lot, s.expires) == ("04006381333931", "LOT", date(2026, 12, 31))
    # an impossible date leaves the expiry empty and keeps the rest
    s = codes.parse("]C1" + "0104006381333931" + "17261399" + "10ABC")
    assert (s.gtin, s.expires, s.lot) == ("04006381333931", None, "ABC")
    assert codes.parse("00106141411234567897").sscc == "106141411234567897"
    assert codes.parse("wharf:finish").command == "finish"
    assert codes.parse(" SKU-9 \r\n").code == "SKU-9"
    assert numbers.gs1_check_digit("10614141123456789") == 7 and numbers.gs1_check_digit("400638133393") == 1
