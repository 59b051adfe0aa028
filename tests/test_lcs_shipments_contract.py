"""Seed 001 contract of shipments, parcels, printing, /cnt and /mes (issue #13): every field
of the seed's examples, in the seed's formats, and one declaration per operation in the
OpenAPI document (bodies with examples, statuses, paging and task headers)."""

import re
import uuid

import pytest

from models import Location, Scope, db
from tests.support import LISTED_SHIPMENT_KEYS, PARCEL_KEYS, api_token, b64, bearer

SEED_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ADDRESSING_SIDE = {"entity_type", "entity_id", "carrier"}
CARRIER = {"is_carrier_location", "carrier_location_reference"}
# The seed's examples (001:23553–23846): the shipment, its unit and its embedded parcel.
SHIPMENT = {
    "id",
    "number",
    "type",
    "method_id",
    "contact_id",
    "channel_id",
    "order_id",
    "addressing",
    "ship_at",
    "estimated_ship_at",
    "expected_at",
    "stack_id",
    "is_editable",
    "is_outbound",
    "is_labeled",
    "is_serviced",
    "is_complete",
    "is_overcomplete",
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
LABEL = {"file_id", "reference", "label_text", "requested_at"}


@pytest.fixture(autouse=True)
def _files(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENTS_ROOT", str(tmp_path / "files"))
    monkeypatch.setitem(app.config, "TASKS_EAGER", True)


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


@pytest.fixture()
def location(app, tenant):
    with app.app_context():
        loc = Scope(tenant).add(
            Location(
                name="DC Rotterdam",
                address={
                    "id": "adr-9",
                    "company": "Acme Logistics",
                    "street": "Havenweg",
                    "house_number": "3",
                    "postal_code": "3011AA",
                    "city": "Rotterdam",
                    "country_code": "NL",
                },
            )
        )
        db.session.commit()
        return str(loc.id)


def create(client, h, **extra):
    body = {
        "order_id": "ORD-1",
        "items": [{"sku": "MUG", "quantity": 2, "description": "Mug"}],
        "addressing": {
            "to": {
                "entity_type": "address",
                "entity_id": "adr-1",
                "carrier": {"is_carrier_location": True, "carrier_location_reference": "PNL-77"},
                "address": {"name": "Ann Jansen", "city": "Amsterdam", "country_code": "nl"},
            }
        },
        **extra,
    }
    r = client.post("/lcs/shipments", json=body, headers=h)
    assert r.status_code == 200, r.get_json()  # the seed has no 201
    return r.get_json()


def parcel(client, h, s, **extra):
    r = client.post(
        "/lcs/parcels",
        json={
            "shipment_id": s["id"],
            "item_ids": [u["id"] for u in s["items"]],
            "weight": 900,
            "length": 300,
            "width": 200,
            "height": 100,
            "tracking_code": "3SABC",
            "tracking_url": "https://track.example/3SABC",
            **extra,
        },
        headers=h,
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()


class TestShipmentShape:
    def test_detail_carries_every_seed_field_and_the_sender(self, client, h, location):
        s = create(
            client,
            h,
            addressing={
                "to": {
                    "entity_type": "address",
                    "entity_id": "adr-1",
                    "carrier": {"is_carrier_location": True, "carrier_location_reference": "PNL-77"},
                },
                "from": {"entity_type": "location", "entity_id": location},
            },
        )
        p = parcel(client, h, s)
        row = client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json()
        assert SHIPMENT <= set(row) and LISTED_SHIPMENT_KEYS <= set(row)
        to, sender = row["addressing"]["to"], row["addressing"]["from"]
        assert ADDRESSING_SIDE <= set(to) and ADDRESSING_SIDE <= set(sender)
        assert to["entity_type"] == "address" and to["entity_id"] == "adr-1"
        assert to["carrier"] == {"is_carrier_location": True, "carrier_location_reference": "PNL-77"}
        # The sender is the shipment's location, with that location's address.
        assert sender["entity_type"] == "location" and sender["entity_id"] == location
        assert set(sender["carrier"]) == CARRIER
        assert sender["address"]["company"] == "Acme Logistics" and sender["address"]["city"] == "Rotterdam"
        (embedded,) = row["parcels"]
        assert PARCEL_KEYS <= set(embedded) and embedded["id"] == p["id"]
        assert (embedded["tracking_code"], embedded["tracking_url"]) == ("3SABC", "https://track.example/3SABC")
        assert (embedded["weight"], embedded["length"], embedded["width"], embedded["height"]) == (900, 300, 200, 100)
        assert embedded["items"] == [{"id": s["items"][0]["id"], "sku": "MUG", "quantity": 2, "description": "Mug"}]
        assert embedded["count"] == 2 and set(embedded["label"]) == LABEL

    def test_list_rows_carry_the_listed_shape(self, client, h):
        create(client, h)
        (row,) = client.get("/lcs/shipments", headers=h).get_json()
        assert LISTED_SHIPMENT_KEYS <= set(row) and "items" not in row
        assert set(row["addressing"]) == {"to", "from"}
        assert ADDRESSING_SIDE <= set(row["addressing"]["from"]) and SEED_TIME.match(row["created_at"])

    def test_unknown_sender_location_is_refused(self, client, h):
        r = client.post(
            "/lcs/shipments",
            json={
                "items": [{"sku": "A"}],
                "addressing": {"from": {"entity_type": "location", "entity_id": str(uuid.uuid4())}},
            },
            headers=h,
        )
        assert r.status_code == 400 and r.get_json()["errors"] == {"invalid value": ["addressing.from.entity_id"]}

    def test_the_seeds_own_example_is_accepted(self, client, h):
        r = client.post(
            "/lcs/shipments",
            json={
                "items": [{"sku": "A"}],
                "addressing": {
                    "to": {"entity_type": "address", "entity_id": "adr-1"},
                    "from": "#/definitions/LcsShipmentAddressing",
                },
            },
            headers=h,
        )
        assert r.status_code == 200 and r.get_json()["addressing"]["from"]["entity_id"] is None


class TestUpdateKeepsWhatIsNotSent:
    def test_carrier_and_address_survive_a_partial_update(self, client, h):
        s = create(client, h)
        r = client.put(f"/lcs/shipments/{s['id']}", json={"addressing": {"to": {"entity_id": "adr-2"}}}, headers=h)
        to = r.get_json()["addressing"]["to"]
        assert r.status_code == 200 and to["entity_id"] == "adr-2" and to["entity_type"] == "address"
        assert to["carrier"] == {"is_carrier_location": True, "carrier_location_reference": "PNL-77"}
        assert to["address"]["name"] == "Ann Jansen" and to["address"]["country_code"] == "NL"
        r = client.put(f"/lcs/shipments/{s['id']}", json={"order_id": "ORD-2"}, headers=h)
        assert r.get_json()["addressing"]["to"]["carrier"]["carrier_location_reference"] == "PNL-77"
        r = client.put(f"/lcs/shipments/{s['id']}", json={"addressing": {"to": {"carrier": None}}}, headers=h)
        assert r.get_json()["addressing"]["to"]["carrier"] == {
            "is_carrier_location": False,
            "carrier_location_reference": None,
        }
        assert r.get_json()["addressing"]["to"]["entity_id"] == "adr-2"

    def test_prior_shipments_and_type(self, client, h):
        a, b = create(client, h), create(client, h)
        r = client.put(f"/lcs/shipments/{b['id']}", json={"prior_shipments": [a["id"]], "type": "collect"}, headers=h)
        assert r.get_json()["prior_shipments"] == [a["id"]] and r.get_json()["type"] == "collect"
        assert client.put(f"/lcs/shipments/{b['id']}", json={"type": None}, headers=h).get_json()["type"] == "collect"


class TestParcelLabel:
    def test_label_is_an_object_before_and_a_seed_timestamp_after(self, client, h):
        s = create(client, h)
        p = parcel(client, h, s)
        assert p["label"] == {"file_id": None, "reference": None, "label_text": None, "requested_at": None}
        r = client.post(f"/lcs/parcels/{p['id']}/label", headers=h)
        assert r.status_code == 204 and r.data == b"" and r.headers["x-task-id"]
        label = client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()["label"]
        assert set(label) == LABEL and label["file_id"] and SEED_TIME.match(label["requested_at"]), label
        listed = client.get("/lcs/parcels", headers=h).get_json()[0]["label"]
        assert listed == label


class TestStatuses:
    def test_creates_answer_200_state_changes_204_without_body(self, client, h):
        s = create(client, h)
        p = parcel(client, h, s)
        for method, path, body in (
            ("put", f"/lcs/parcels/{p['id']}", {"weight": 950}),
            ("put", f"/lcs/parcels/{p['id']}/transit", None),
            ("put", f"/lcs/parcels/{p['id']}/finished", None),
            ("put", f"/lcs/shipments/{s['id']}/items/missing", []),
            ("delete", f"/lcs/shipments/{create(client, h)['id']}", None),
        ):
            r = getattr(client, method)(path, json=body, headers=h)
            assert r.status_code == 204 and r.data == b"", path
        r = client.post("/cnt/html", json={"content": b64("<p>x</p>")}, headers=h)
        assert r.status_code == 200 and SEED_TIME.match(r.get_json()["created_at"])

    def test_task_is_the_seeds_mes_task(self, client, h):
        p = parcel(client, h, create(client, h))
        task_id = client.post(f"/lcs/parcels/{p['id']}/slip?size=a5", headers=h).headers["x-task-id"]
        t = client.get(f"/mes/tasks/{task_id}", headers=h).get_json()
        assert {"id", "name", "description", "progress", "result", "started_at", "completed_at", "expires_at"} <= set(t)
        assert SEED_TIME.match(t["started_at"]) and t["status"] == "done"
        assert client.post(f"/lcs/parcels/{p['id']}/slip?size=b4", headers=h).status_code == 400


class TestListCaching:
    def test_etag_and_304_without_body(self, client, h):
        create(client, h)
        r = client.get("/lcs/shipments", headers=h)
        again = client.get("/lcs/shipments", headers={**h, "If-None-Match": r.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
        assert client.get("/lcs/shipments?is_listed=maybe", headers=h).status_code == 400
        assert client.get("/lcs/shipments?is_listed=false&search=ord-1", headers=h).headers["x-count"] == "1"


def operation(doc, path, method):
    return doc["paths"][path][method]


class TestDocument:
    @pytest.fixture()
    def doc(self, client):
        return client.get("/api/openapi.json").get_json()

    @pytest.mark.parametrize(
        "path, schema",
        [
            ("/api/lcs/shipments", "LcsShipmentModel"),
            ("/api/lcs/parcels", "LcsParcelCreateModel"),
            ("/api/cnt/html", "CntHtmlToPdfRequest"),
        ],
    )
    def test_create_bodies_are_declared_with_the_seeds_examples(self, doc, path, schema):
        body = operation(doc, path, "post")["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{schema}"}
        assert doc["components"]["schemas"][schema]["examples"]
        assert set(operation(doc, path, "post")["responses"]) >= {"200", "400"}
        assert "201" not in operation(doc, path, "post")["responses"]

    def test_statuses_and_task_headers(self, doc):
        for path, method in (
            ("/api/lcs/parcels/{parcel_id}/label", "post"),
            ("/api/lcs/parcels/{parcel_id}/slip", "post"),
            ("/api/lcs/lists/{list_id}/labels", "post"),
        ):
            ok = operation(doc, path, method)["responses"]["204"]
            assert "content" not in ok and "x-task-id" in ok["headers"], path
        for path, method in (
            ("/api/lcs/shipments/{shipment_id}", "delete"),
            ("/api/lcs/shipments/{shipment_id}/items/missing", "put"),
            ("/api/lcs/parcels/{parcel_id}", "put"),
            ("/api/lcs/parcels/{parcel_id}/transit", "put"),
        ):
            assert "content" not in operation(doc, path, method)["responses"]["204"], path

    def test_shipment_list_declares_filters_paging_and_304(self, doc):
        op = operation(doc, "/api/lcs/shipments", "get")
        params = {(p["name"], p["in"]) for p in op["parameters"]}
        assert {
            ("search", "query"),
            ("is_handled", "query"),
            ("is_canceled", "query"),
            ("x-page", "header"),
            ("x-page-size", "header"),
        } <= params
        assert {"x-count", "x-page"} <= set(op["responses"]["200"]["headers"])
        assert "content" not in op["responses"]["304"]
