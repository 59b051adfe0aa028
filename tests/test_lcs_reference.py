"""Logistics reference data (seed 001 lcs, family B): locations, positions and walk order,
SKUs per position, shipping methods, products with barcodes and CSV/JSON import; the
lookups shipments and the scan station use; the three renderings of the screens."""

import io
import json
import re
import threading
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa

from models import AuditLog, Position, Product, ProductBarcode, Scope, db
from services import roles as roles_svc
from services.errors import DomainError
from services.logistics import locations, methods, product_import
from tests.support import BROWSER, SYSTEM, Factory, api_token, bearer, browser_login

L, M, P = "/lcs/locations", "/lcs/methods", "/lcs/products"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
JSON = {"Accept": "application/json"}
HX = {"HX-Request": "true", "Accept": "*/*"}


def _user(app, tenant_id, email, role_name):
    Factory(app).member(tenant_id, email, role_name)


@pytest.fixture()
def boss(app, client, tenant):
    """A tenant administrator (all features, not super admin) as bearer headers."""
    _user(app, tenant, "boss@acme.test", roles_svc.ADMINISTRATOR)
    return {**bearer(api_token(client, "boss@acme.test")), **JSON}


@pytest.fixture()
def rival(app, client, make):
    """The administrator of another tenant."""
    other = make.tenant("Rival Freight")
    _user(app, other, "boss@rival.test", roles_svc.ADMINISTRATOR)
    return {**bearer(api_token(client, "boss@rival.test")), **JSON}


@pytest.fixture()
def picker(app, client, tenant):
    """Warehouse staff: reads reference data, may not change it."""
    _user(app, tenant, "picker@acme.test", roles_svc.WAREHOUSE_STAFF)
    return {**bearer(api_token(client, "picker@acme.test")), **JSON}


def _ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:600])
    return r.get_json()


def _envelope(r, status, **errors):
    """Assert the family-B error envelope; ``errors`` are kind → expected field paths."""
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:600])
    body = r.get_json()
    assert set(body) == {"code", "message", "reference", "errors"} and body["code"] == status
    assert body["reference"] == r.headers["x-request-id"] and body["message"]
    for kind, paths in errors.items():
        assert set(paths) <= set(body["errors"].get(kind.replace("_", " "), [])), body
    return body


def _location(client, h, **body):
    return _ok(client.post(L, json={"name": "Main warehouse", **body}, headers=h))


def _audit(app, kind):
    with app.app_context():
        return [
            (a.action_type, a.resource_id)
            for a in db.session.scalars(
                sa.select(AuditLog).where(AuditLog.resource_kind == kind).order_by(AuditLog.created_at)
            )
        ]


# --- locations ------------------------------------------------------------------------------------


def test_location_contract(app, client, boss):
    loc = _location(client, boss, reference="WH-1", address_id="addr-1", is_disabled=False)
    assert list(loc)[:7] == ["id", "name", "reference", "address_id", "address", "is_disabled", "organization_id"]
    assert loc["name"] == "Main warehouse" and loc["reference"] == "WH-1" and loc["address_id"] == "addr-1"
    assert loc["is_disabled"] is False and ISO.match(loc["created_at"]) and ISO.match(loc["updated_at"])
    assert _ok(client.get(f"{L}/{loc['id']}", headers=boss)) == loc
    assert _ok(client.get(f"/api{L}/{loc['id']}", headers=boss))["id"] == loc["id"]  # also under /api

    changed = _ok(
        client.put(
            f"{L}/{loc['id']}",
            json={
                "is_disabled": True,
                "address": {
                    "street": "Kade",
                    "house_number": "1",
                    "postal_code": "1011 AB",
                    "city": "Amsterdam",
                    "country_code": "nl",
                },
            },
            headers=boss,
        )
    )
    assert changed["is_disabled"] is True and changed["name"] == "Main warehouse"  # absent fields keep their value
    assert changed["address"]["country_code"] == "NL" and changed["address_id"] == "addr-1"

    second = _location(client, boss, name="Annex", address={"city": "Utrecht"})
    assert second["address_id"] and second["address"] == {"city": "Utrecht"}  # an inline address gets an id
    r = client.get(L, headers=boss)
    assert [x["name"] for x in _ok(r)] == ["Annex", "Main warehouse"]
    assert r.headers["x-count"] == "2" and r.headers["x-page"] == "1" and r.headers["x-page-size"] == "25"
    assert [x["name"] for x in _ok(client.get(f"{L}?is_disabled=1", headers=boss))] == ["Main warehouse"]
    assert [x["name"] for x in _ok(client.get(f"{L}?is_disabled=0", headers=boss))] == ["Annex"]
    assert [x["name"] for x in _ok(client.get(f"{L}?address_id=addr-1", headers=boss))] == ["Main warehouse"]
    _envelope(client.get(f"{L}?is_disabled=maybe", headers=boss), 400, invalid_value=["is_disabled"])

    r = client.delete(f"{L}/{loc['id']}", headers=boss)
    assert r.status_code == 204 and r.data == b""
    _envelope(client.get(f"{L}/{loc['id']}", headers=boss), 404)
    _envelope(client.delete(f"{L}/{loc['id']}", headers=boss), 404)
    assert [x["name"] for x in _ok(client.get(L, headers=boss))] == ["Annex"]
    assert [a for a, _ in _audit(app, "lcs_location")] == ["create", "edit", "create", "delete"]


def test_location_paging_headers(client, boss):
    for i in range(5):
        _location(client, boss, name=f"Loc {i}")
    r = client.get(L, headers={**boss, "x-page": "2", "X-Page-Size": "2"})
    assert [x["name"] for x in _ok(r)] == ["Loc 2", "Loc 3"] and r.headers["x-count"] == "5"
    for bad in ({"x-page": "0"}, {"x-page-size": "101"}, {"x-page-size": "two"}):
        body = _envelope(client.get(L, headers={**boss, **bad}), 400)
        assert body["errors"]["invalid value"] == [next(iter(bad))]


@pytest.mark.parametrize(
    "body, kind, path",
    [
        ({}, "required", "name"),
        ({"name": "  "}, "required", "name"),  # blank is not sent
        ({"name": 5}, "invalid value", "name"),
        ({"name": "x" * 201}, "invalid value", "name"),
        ({"name": "A\x00"}, "invalid value", "name"),
        ({"name": "A", "is_disabled": "maybe"}, "invalid value", "is_disabled"),
        ({"name": "A", "address": "Kade 1"}, "invalid value", "address"),
        ({"name": "A", "address": {"country_code": "NLD"}}, "invalid value", "address.country_code"),
        ({"name": "A", "address": {"planet": "Mars"}}, "invalid value", "address.planet"),
        ({"name": "A", "organization_id": "not-a-uuid"}, "invalid value", "organization_id"),
        ({"name": "A", "organization_id": "00000000-0000-4000-8000-000000000000"}, "invalid value", "organization_id"),
    ],
)
def test_location_validation(client, boss, body, kind, path):
    _envelope(client.post(L, json=body, headers=boss), 400, **{kind.replace(" ", "_"): [path]})
    assert _ok(client.get(L, headers=boss)) == []  # nothing half-written


def test_location_bad_bodies_and_unknown_ids(client, boss):
    _envelope(client.post(L, data="{nope", content_type="application/json", headers=boss), 400)
    _envelope(client.post(L, json=["Main"], headers=boss), 400, invalid_value=["body"])
    loc = _location(client, boss)
    _envelope(client.put(f"{L}/{loc['id']}", json={"name": ""}, headers=boss), 400, required=["name"])
    _envelope(client.put(f"{L}/{loc['id']}", json={"name": None}, headers=boss), 400, invalid_value=["name"])
    _envelope(client.post(L, headers=boss), 400, required=["body"])
    assert _ok(client.get(f"{L}/{loc['id']}", headers=boss))["name"] == "Main warehouse"
    unknown = "00000000-0000-4000-8000-000000000000"
    for method, path in (
        ("GET", ""),
        ("PUT", ""),
        ("DELETE", ""),
        ("GET", "/positions"),
        ("PUT", "/positions"),
        ("DELETE", "/positions"),
        ("GET", "/positions/A1"),
        ("POST", "/positions/search"),
        ("GET", "/skus"),
        ("PUT", "/skus"),
    ):
        body = {"name": "x"} if path == "" else ([] if method != "GET" else None)
        _envelope(client.open(f"{L}/{unknown}{path}", method=method, json=body, headers=boss), 404)
    assert client.get(f"{L}/not-a-uuid", headers=boss).status_code == 404


def test_other_tenant_sees_nothing(client, boss, rival):
    loc = _location(client, boss)
    _ok(client.put(f"{L}/{loc['id']}/positions", json=["A1"], headers=boss))
    method = _ok(
        client.post(
            M,
            json={
                "carrier_code": "dhl",
                "name": "DHL",
                "is_enabled": True,
                "countries": [{"code": "NL", "amount": 495}],
            },
            headers=boss,
        )
    )
    product = _ok(client.post(P, json={"sku": "SKU-1", "barcodes": ["871"]}, headers=boss))
    assert _ok(client.get(L, headers=rival)) == [] and _ok(client.get(M, headers=rival)) == []
    assert _ok(client.get(P, headers=rival)) == [] and _ok(client.get(f"{M}?country_code=NL", headers=rival)) == []
    for method_, url, body in (
        ("GET", f"{L}/{loc['id']}", None),
        ("PUT", f"{L}/{loc['id']}", {"name": "Mine"}),
        ("DELETE", f"{L}/{loc['id']}", None),
        ("GET", f"{L}/{loc['id']}/positions", None),
        ("PUT", f"{L}/{loc['id']}/positions", ["B1"]),
        ("DELETE", f"{L}/{loc['id']}/positions", ["A1"]),
        ("GET", f"{L}/{loc['id']}/positions/A1", None),
        ("POST", f"{L}/{loc['id']}/positions/search", ["X"]),
        ("GET", f"{L}/{loc['id']}/skus", None),
        ("PUT", f"{L}/{loc['id']}/skus", [{"sku": "X", "position": "A1"}]),
        ("GET", f"{M}/{method['id']}", None),
        ("PUT", f"{M}/{method['id']}", {"name": "Mine"}),
        ("DELETE", f"{M}/{method['id']}", None),
        ("GET", f"{P}/{product['id']}", None),
        ("PUT", f"{P}/{product['id']}", {"sku": "Mine"}),
        ("DELETE", f"{P}/{product['id']}", None),
    ):
        _envelope(client.open(url, method=method_, json=body, headers=rival), 404)
    search = {"constraints": [{"key": "ids", "operator": "in", "values": [loc["id"]]}]}
    assert _ok(client.post("/lcs/search/locations", json=search, headers=rival)) == []
    # the same SKU and barcode are free in another tenant
    _ok(client.post(P, json={"sku": "SKU-1", "barcodes": ["871"]}, headers=rival))
    assert _ok(client.get(f"{L}/{loc['id']}/positions", headers=boss))[0]["code"] == "A1"  # untouched


def test_reads_need_read_features_and_writes_need_write(client, boss, picker):
    loc = _location(client, boss)
    assert client.get(L, headers=picker).status_code == 200
    assert client.get(f"{L}/{loc['id']}/skus", headers=picker).status_code == 200
    assert client.get(M, headers=picker).status_code == 200 and client.get(P, headers=picker).status_code == 200
    for method, url, body in (
        ("POST", L, {"name": "x"}),
        ("PUT", f"{L}/{loc['id']}", {"name": "x"}),
        ("PUT", f"{L}/{loc['id']}/positions", ["A"]),
        ("PUT", f"{L}/{loc['id']}/skus", []),
        ("POST", M, {"carrier_code": "x", "name": "x"}),
        ("POST", P, {"sku": "x"}),
        ("POST", f"{P}/import", [{"sku": "x"}]),
    ):
        _envelope(client.open(url, method=method, json=body, headers=picker), 403)
    _envelope(client.get(L, headers=JSON), 401)


# --- the declared contract against the seed ----------------------------------------------------

LOCATION = {"id", "name", "reference", "address_id", "is_disabled", "created_at", "updated_at"}
POSITION = {"code", "sorting", "skus", "created_at"}
SKU = {"sku", "position", "created_at"}
METHOD = {
    "id",
    "carrier_code",
    "name",
    "label",
    "description",
    "max_weight",
    "countries",
    "delivery_during",
    "is_configured",
    "is_same_day",
    "is_sunday",
    "is_carrier_location",
    "is_neighbour_allowed",
    "provider_method_id",
    "provider",
    "is_enabled",
    "priority",
}
LID = "/api/lcs/locations/{location_id}"
SEED_OPERATIONS = {  # (path, method) → (the one success status, the fields of the seed's example, paged)
    ("/api/lcs/locations", "get"): (200, LOCATION, True),
    ("/api/lcs/locations", "post"): (200, LOCATION, False),  # seed 001 has no 201: creates answer 200
    (LID, "get"): (200, LOCATION, False),
    (LID, "put"): (200, LOCATION, False),
    (f"{LID}/positions", "get"): (200, POSITION, True),
    (f"{LID}/positions", "put"): (200, {"success"}, False),
    (f"{LID}/positions", "delete"): (200, {"success"}, False),
    (f"{LID}/positions/{{code}}", "get"): (200, POSITION, False),
    (f"{LID}/positions/search", "post"): (200, SKU, True),
    (f"{LID}/skus", "get"): (200, SKU, False),
    (f"{LID}/skus", "put"): (200, {"success", "failed"}, False),
    ("/api/lcs/search/locations", "post"): (200, LOCATION, True),
    ("/api/lcs/methods", "get"): (200, METHOD, False),
    ("/api/lcs/methods/{method_id}", "get"): (200, METHOD, False),
    ("/api/lcs/search/methods", "post"): (200, METHOD, True),
}


def test_declared_operations_follow_the_seed(client):
    """Every seed operation declares the seed's one success status and a response model
    that requires every field of the seed's example; lists declare the paging headers."""
    doc = client.get("/api/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    for (path, method), (status, fields, paged) in SEED_OPERATIONS.items():
        op = doc["paths"][path][method]
        assert [c for c in op["responses"] if c.startswith("2")] == [str(status)], (path, method)
        schema = op["responses"][str(status)]["content"]["application/json"]["schema"]
        schema = schema.get("items", schema)
        model = schemas[schema["$ref"].rsplit("/", 1)[1]]
        assert fields <= set(model["required"]), (path, method, fields - set(model["required"]))
        if paged:
            assert {("x-page", "header"), ("x-page-size", "header")} <= {(p["name"], p["in"]) for p in op["parameters"]}
            assert {"x-count", "x-page"} <= set(op["responses"]["200"]["headers"])
    wharf = {
        ("/api/lcs/locations/{location_id}", "delete"),
        ("/api/lcs/methods/{method_id}", "delete"),
        ("/api/lcs/products/{product_id}", "delete"),
    }
    for path, method in wharf:  # Wharf's deletes answer like the seed's: 204, no body
        assert [c for c in doc["paths"][path][method]["responses"] if c.startswith("2")] == ["204"]


def test_answers_carry_the_seed_fields_and_timestamps(client, boss):
    loc = _location(client, boss)
    _ok(client.put(f"{L}/{loc['id']}/positions", json=["A3.32435"], headers=boss))
    _ok(
        client.put(
            f"{L}/{loc['id']}/skus",
            json=[{"sku": "SKU-1", "position": "A3.32435", "created_at": "2026-11-22T10:00:00.000Z"}],
            headers=boss,
        )
    )
    method = _ok(client.post(M, json={"carrier_code": "c", "name": "C"}, headers=boss))
    for body, fields in (
        (loc, LOCATION),
        (_ok(client.get(f"{L}/{loc['id']}/positions/A3.32435", headers=boss)), POSITION),
        (_ok(client.get(f"{L}/{loc['id']}/skus", headers=boss))[0], SKU),
        (method, METHOD),
    ):
        assert fields <= set(body)
        assert all(ISO.match(body[k]) for k in ("created_at", "updated_at") if k in body)


# --- positions and walk order ---------------------------------------------------------------------


def _codes(client, h, loc_id):
    rows = _ok(client.get(f"{L}/{loc_id}/positions", headers={**h, "x-page-size": "100"}))
    assert [r["sorting"] for r in rows] == list(range(1, len(rows) + 1))  # always 1..n
    return [r["code"] for r in rows]


def test_positions_reorder_delete_and_one(app, client, boss):
    loc = _location(client, boss)["id"]
    assert _ok(client.put(f"{L}/{loc}/positions", json=["B1", "A1", "C1"], headers=boss)) == {"success": 3}
    assert _codes(client, boss, loc) == ["B1", "A1", "C1"]
    # listed codes go first in the given order, the others keep their relative order after them
    assert _ok(client.put(f"{L}/{loc}/positions", json=["C1", "D1"], headers=boss)) == {"success": 2}
    assert _codes(client, boss, loc) == ["C1", "D1", "B1", "A1"]
    r = client.get(f"{L}/{loc}/positions", headers={**boss, "x-page": "2", "x-page-size": "3"})
    assert [p["code"] for p in _ok(r)] == ["A1"] and r.headers["x-count"] == "4" and r.headers["x-page"] == "2"

    one = _ok(client.get(f"{L}/{loc}/positions/D1", headers=boss))
    assert set(one) == {"code", "sorting", "skus", "created_at"} and one["sorting"] == 2 and one["skus"] == []
    _envelope(client.get(f"{L}/{loc}/positions/ZZ", headers=boss), 404)

    assert _ok(client.put(f"{L}/{loc}/positions", json=["C1", "D1", "B1", "A1", "R/2"], headers=boss)) == {"success": 5}
    assert _ok(client.get(f"{L}/{loc}/positions/R/2", headers=boss))["sorting"] == 5  # codes may hold a slash
    assert _ok(client.open(f"{L}/{loc}/positions", method="DELETE", json=["D1", "R/2", "nope"], headers=boss)) == {
        "success": 2
    }
    assert _codes(client, boss, loc) == ["C1", "B1", "A1"]
    for bad in ({"codes": ["A1"]}, ["A 1"], [""], [5], ["x" * 65]):
        _envelope(client.put(f"{L}/{loc}/positions", json=bad, headers=boss), 400)
    _envelope(client.open(f"{L}/{loc}/positions", method="DELETE", json="A1", headers=boss), 400)
    assert _codes(client, boss, loc) == ["C1", "B1", "A1"]
    with app.app_context():
        assert locations.walk_order(Scope(None), loc) == {"C1": 1, "B1": 2, "A1": 3}
    assert len(_audit(app, "lcs_location_positions")) == 4


def test_move_position_service(app, client, boss, tenant):
    loc = _location(client, boss)["id"]
    _ok(client.put(f"{L}/{loc}/positions", json=["A", "B", "C"], headers=boss))
    with app.app_context():
        locations.move_position(SYSTEM, loc, "C", "up")
        assert list(locations.walk_order(Scope(tenant), loc)) == ["A", "C", "B"]
        locations.move_position(SYSTEM, loc, "A", "up")  # already first: stays
        locations.move_position(SYSTEM, loc, "A", "bottom")
        assert list(locations.walk_order(Scope(tenant), loc)) == ["C", "B", "A"]
        locations.move_position(SYSTEM, loc, "C", "down")
        assert list(locations.walk_order(Scope(tenant), loc)) == ["B", "C", "A"]
        with pytest.raises(DomainError) as missing:
            locations.move_position(SYSTEM, loc, "Q", "up")
        assert missing.value.status == 404
    # the page's walk-order editor, one step at a time
    assert _ok(
        client.put(f"{L}/{loc}/walk", json={"action": "move", "code": "A", "direction": "top"}, headers=boss)
    ) == {"success": 1}
    assert _ok(client.put(f"{L}/{loc}/walk", json={"action": "add", "codes": ["D", "B"]}, headers=boss)) == {
        "success": 1
    }
    assert _ok(
        client.put(f"{L}/{loc}/walk", json={"action": "skus", "position": "D", "skus": ["S1", "S2"]}, headers=boss)
    ) == {"success": 2}
    assert _ok(client.put(f"{L}/{loc}/walk", json={"action": "remove", "code": "B"}, headers=boss)) == {"success": 1}
    assert _codes(client, boss, loc) == ["A", "C", "D"]
    for bad, path in (
        ({"action": "move", "code": "C", "direction": "sideways"}, "move.direction"),
        ({"action": "fly", "code": "C"}, "body"),
        ({"action": "add"}, "add.codes"),
        ({"action": "add", "codes": ["x" * 65]}, "add.codes.0"),
        ({"code": "C"}, "body"),
    ):
        body = _envelope(client.put(f"{L}/{loc}/walk", json=bad, headers=boss), 400)
        assert path in [p for paths in body["errors"].values() for p in paths], body


def test_skus_per_position_and_lookups(app, client, boss, tenant, make):
    loc = _location(client, boss)["id"]
    _ok(client.put(f"{L}/{loc}/positions", json=["A1", "B1"], headers=boss))
    body = [
        {"sku": "S1", "position": "A1"},
        {"sku": "S2", "position": "B1"},
        {"sku": "S3", "position": "A1"},
        {"sku": "S4", "position": "NOPE"},
    ]
    assert _ok(client.put(f"{L}/{loc}/skus", json=body, headers=boss)) == {"success": 3, "failed": 1}
    rows = _ok(client.get(f"{L}/{loc}/skus", headers=boss))
    assert [(r["sku"], r["position"]) for r in rows] == [("S1", "A1"), ("S3", "A1"), ("S2", "B1")]
    assert set(rows[0]) == {"sku", "position", "created_at"} and ISO.match(rows[0]["created_at"])
    assert [s["sku"] for s in _ok(client.get(f"{L}/{loc}/positions/A1", headers=boss))["skus"]] == ["S1", "S3"]

    # a SKU sits in one position per location: assigning it again moves it; "" removes it
    assert _ok(
        client.put(
            f"{L}/{loc}/skus", json=[{"sku": "S1", "position": "B1"}, {"sku": "S3", "position": ""}], headers=boss
        )
    ) == {"success": 2, "failed": 0}
    assert [(r["sku"], r["position"]) for r in _ok(client.get(f"{L}/{loc}/skus", headers=boss))] == [
        ("S2", "B1"),
        ("S1", "B1"),
    ]
    # entries that are no {sku, position} are refused whole (nothing moves)
    _envelope(client.put(f"{L}/{loc}/skus", json={"sku": "S1"}, headers=boss), 400)
    for bad, kind, path in (
        ([{"position": "A1"}], "required", "0.sku"),
        (["junk"], "invalid value", "0"),
        ([{"sku": "S5", "position": 7}], "invalid value", "0.position"),
    ):
        _envelope(client.put(f"{L}/{loc}/skus", json=bad, headers=boss), 400, **{kind.replace(" ", "_"): [path]})

    r = client.post(f"{L}/{loc}/positions/search", json=["S1", "S9"], headers=boss)
    assert [(x["sku"], x["position"]) for x in _ok(r)] == [("S1", "B1")] and r.headers["x-count"] == "1"
    assert len(_ok(client.post(f"{L}/{loc}/positions/search", json=["B1"], headers=boss))) == 2  # by position code
    _envelope(client.post(f"{L}/{loc}/positions/search", json={"skus": ["S1"]}, headers=boss), 400)
    _envelope(client.post(f"{L}/{loc}/positions/search", json=[3], headers=boss), 400)

    # walk order after a reorder moves the SKUs' rank with their position
    _ok(client.put(f"{L}/{loc}/positions", json=["B1", "A1"], headers=boss))
    with app.app_context():
        scope = Scope(tenant)
        assert locations.sku_positions(scope, loc) == {"S2": ("B1", 1), "S1": ("B1", 1)}
        assert locations.sku_positions(scope, None) == {"S2": ("B1", 1), "S1": ("B1", 1)}  # any location
        assert locations.walk_order(scope, loc) == {"B1": 1, "A1": 2}
        assert locations.walk_order(scope, "garbage") == {} and locations.sku_positions(scope, "garbage") == {}
        assert locations.walk_order(Scope(make.tenant("Elsewhere")), loc) == {}  # another tenant: nothing
    deleting = client.open(f"{L}/{loc}/positions", method="DELETE", json=["B1"], headers=boss)
    assert _ok(deleting) == {"success": 1} and _ok(client.get(f"{L}/{loc}/skus", headers=boss)) == []
    assert [a for a, _ in _audit(app, "lcs_location_skus")] == ["assign", "assign"]


def test_sku_objects_in_storage_are_read(app, client, boss, tenant):
    """``Position.skus`` holds plain strings; ``{"sku": …}`` objects written elsewhere still resolve."""
    loc = _location(client, boss)["id"]
    _ok(client.put(f"{L}/{loc}/positions", json=["A1"], headers=boss))
    with app.app_context():
        p = db.session.scalars(Scope(tenant).select(Position)).one()
        p.skus = [{"sku": "LEGACY"}]
        db.session.commit()
        assert locations.sku_positions(Scope(tenant), loc) == {"LEGACY": ("A1", 1)}
    assert _ok(client.get(f"{L}/{loc}/skus", headers=boss))[0]["sku"] == "LEGACY"
    assert _ok(client.put(f"{L}/{loc}/skus", json=[{"sku": "NEW", "position": "A1"}], headers=boss))["success"] == 1
    assert [r["sku"] for r in _ok(client.get(f"{L}/{loc}/skus", headers=boss))] == ["LEGACY", "NEW"]


# --- search endpoints -----------------------------------------------------------------------------


def test_search_locations(client, boss):
    a = _location(client, boss, name="Alpha")
    b = _location(client, boss, name="Beta", is_disabled=True)
    _location(client, boss, name="Gamma")
    S = "/lcs/search/locations"
    r = client.post(
        S, json={"constraints": [{"key": "ids", "operator": "in", "values": [a["id"], b["id"]]}]}, headers=boss
    )
    assert [x["name"] for x in _ok(r)] == ["Alpha", "Beta"] and r.headers["x-count"] == "2"
    assert [
        x["name"]
        for x in _ok(
            client.post(
                S, json={"constraints": [{"key": "is_disabled", "operator": "in", "value": ["true"]}]}, headers=boss
            )
        )
    ] == ["Beta"]  # value alias
    assert [
        x["name"]
        for x in _ok(
            client.post(
                S, json={"constraints": [{"key": "ids", "operator": "not_in", "values": [a["id"]]}]}, headers=boss
            )
        )
    ] == ["Beta", "Gamma"]
    assert [
        x["name"]
        for x in _ok(
            client.post(
                S, json={"constraints": [{"key": "name", "operator": "prefix", "values": ["Ga"]}]}, headers=boss
            )
        )
    ] == ["Gamma"]
    assert len(_ok(client.post(S, json={}, headers=boss))) == 3  # no constraints: everything
    _envelope(client.post(S, headers=boss), 400, required=["body"])  # but a body is required
    assert len(_ok(client.post(S, json={"constraints": []}, headers={**boss, "x-page-size": "1"}))) == 1
    for bad in (
        {"constraints": [{"key": "secret", "values": ["x"]}]},
        {"constraints": [{"key": "ids", "operator": "like", "values": ["x"]}]},
        {"constraints": [{"key": "ids", "values": ["not-a-uuid"]}]},
        {"constraints": [{"key": "is_disabled", "values": ["maybe"]}]},
        {"constraints": [{"key": "ids", "values": []}]},
        {"constraints": "ids"},
        ["ids"],
    ):
        _envelope(client.post(S, json=bad, headers=boss), 400)
    _envelope(client.post(S, data="{", content_type="application/json", headers=boss), 400)


def test_search_methods(client, boss):
    dhl = _ok(
        client.post(M, json={"carrier_code": "dhl", "name": "DHL", "is_enabled": True, "priority": 5}, headers=boss)
    )
    _ok(client.post(M, json={"carrier_code": "ups", "name": "UPS"}, headers=boss))
    S = "/lcs/search/methods"
    r = client.post(S, json={"constraints": [{"key": "ids", "operator": "in", "values": [dhl["id"]]}]}, headers=boss)
    assert [m["name"] for m in _ok(r)] == ["DHL"] and r.headers["x-count"] == "1"
    assert [
        m["name"]
        for m in _ok(
            client.post(
                S, json={"constraints": [{"key": "is_enabled", "operator": "in", "values": ["0"]}]}, headers=boss
            )
        )
    ] == ["UPS"]
    assert [
        m["name"]
        for m in _ok(
            client.post(
                S, json={"constraints": [{"key": "priority", "operator": "lte", "values": ["10"]}]}, headers=boss
            )
        )
    ] == ["DHL"]
    for bad in (
        {"constraints": [{"key": "country", "values": ["NL"]}]},
        {"constraints": [{"key": "priority", "operator": "gt", "values": ["high"]}]},
        {"constraints": [{"operator": "in", "values": ["x"]}]},
    ):
        _envelope(client.post(S, json=bad, headers=boss), 400)


def test_search_keys_are_declared_once():
    """The constraint models admit exactly the keys the views map to columns."""
    from typing import get_args

    from blueprints.lcs import locations as location_views
    from blueprints.lcs import methods as method_views
    from schemas.lcs_reference import LcsLocationSearchConstraint, LcsShipmentMethodSearchConstraint

    for model, fields in (
        (LcsLocationSearchConstraint, location_views.SEARCH_FIELDS),
        (LcsShipmentMethodSearchConstraint, method_views.SEARCH_FIELDS),
    ):
        assert set(get_args(model.model_fields["key"].annotation)) == set(fields)


# --- methods --------------------------------------------------------------------------------------

SEED_METHOD_FIELDS = [
    "id",
    "carrier_code",
    "name",
    "label",
    "description",
    "max_weight",
    "countries",
    "delivery_during",
    "is_configured",
    "is_same_day",
    "is_sunday",
    "is_carrier_location",
    "is_neighbour_allowed",
    "provider_method_id",
    "provider",
    "is_enabled",
    "priority",
]


def test_method_contract_and_defaults(app, client, boss):
    m = _ok(client.post(M, json={"carrier_code": "postnl", "name": "PostNL standard"}, headers=boss))
    assert list(m) == SEED_METHOD_FIELDS
    assert m["is_enabled"] is False and m["priority"] == 100 and m["provider"] == "default"  # the seed's defaults
    assert m["is_configured"] is False and m["countries"] == [] and m["max_weight"] is None
    full = _ok(
        client.post(
            M,
            json={
                "carrier_code": "dhl",
                "name": "DHL Parcel",
                "label": "DHL",
                "description": "Next day",
                "max_weight": 31500,
                "countries": [{"code": "nl", "amount": 495}, {"code": "BE"}],
                "delivery_during": "evening",
                "is_same_day": True,
                "is_neighbour_allowed": True,
                "provider": "sendcloud",
                "provider_method_id": "sc-8",
                "is_enabled": True,
                "priority": 1,
            },
            headers=boss,
        )
    )
    assert full["countries"] == [{"code": "NL", "amount": 495}, {"code": "BE", "amount": 0}]
    assert full["delivery_during"] == "evening" and full["is_same_day"] is True and full["is_sunday"] is False
    assert full["provider"] == "sendcloud" and full["provider_method_id"] == "sc-8" and full["max_weight"] == 31500
    assert _ok(client.get(f"{M}/{full['id']}", headers=boss)) == full
    assert _ok(client.get(f"{M}/{full['id']}?country_code=NL&channel_id=x", headers=boss)) == full

    r = client.get(M, headers=boss)
    assert [x["name"] for x in _ok(r)] == ["DHL Parcel", "PostNL standard"] and r.headers["x-count"] == "2"  # priority
    changed = _ok(
        client.put(
            f"{M}/{m['id']}",
            json={"is_enabled": True, "countries": [{"code": "DE", "amount": 900}], "is_sunday": True},
            headers=boss,
        )
    )
    assert changed["is_enabled"] and changed["countries"] == [{"code": "DE", "amount": 900}] and changed["is_sunday"]
    assert changed["name"] == "PostNL standard" and changed["priority"] == 100
    r = client.delete(f"{M}/{m['id']}", headers=boss)
    assert r.status_code == 204 and r.data == b""
    _envelope(client.get(f"{M}/{m['id']}", headers=boss), 404)
    _envelope(client.put(f"{M}/{m['id']}", json={"name": "x"}, headers=boss), 404)
    _envelope(client.get(f"{M}/00000000-0000-4000-8000-000000000000", headers=boss), 404)
    assert [a for a, _ in _audit(app, "lcs_method")] == ["create", "create", "edit", "delete"]


def test_methods_by_country(app, client, boss, tenant):
    def make(name, enabled, countries, priority=100):
        return _ok(
            client.post(
                M,
                json={
                    "carrier_code": "c",
                    "name": name,
                    "is_enabled": enabled,
                    "priority": priority,
                    "countries": [{"code": c, "amount": 100} for c in countries],
                },
                headers=boss,
            )
        )

    make("NL+BE late", True, ["NL", "BE"], 50)
    make("NL first", True, ["NL"], 10)
    make("NL disabled", False, ["NL"])
    make("DE only", True, ["DE"])
    assert [m["name"] for m in _ok(client.get(f"{M}?country_code=NL", headers=boss))] == ["NL first", "NL+BE late"]
    assert [m["name"] for m in _ok(client.get(f"{M}?country_code=be", headers=boss))] == ["NL+BE late"]
    assert _ok(client.get(f"{M}?country_code=FR", headers=boss)) == []
    assert len(_ok(client.get(f"{M}?channel_id=web", headers=boss))) == 4
    _envelope(client.get(f"{M}?country_code=NLD", headers=boss), 400, invalid_value=["country_code"])
    with app.app_context():
        assert [m.name for m in methods.enabled_for_country(Scope(tenant), "NL")] == ["NL first", "NL+BE late"]


@pytest.mark.parametrize(
    "body, kind, path",
    [
        ({"carrier_code": None}, "invalid value", "carrier_code"),
        ({"name": " "}, "required", "name"),
        ({"countries": "NL"}, "invalid value", "countries"),
        ({"countries": [{"code": "Netherlands"}]}, "invalid value", "countries.0.code"),
        ({"countries": [{"amount": 5}]}, "required", "countries.0.code"),
        ({"countries": [{"code": "NL"}, {"code": "nl"}]}, "invalid value", "countries"),
        ({"countries": [{"code": "NL", "amount": -1}]}, "invalid value", "countries.0.amount"),
        ({"countries": [{"code": "NL", "amount": "five"}]}, "invalid value", "countries.0.amount"),
        ({"countries": [{"code": "NL", "amount": 2**40}]}, "invalid value", "countries.0.amount"),
        ({"max_weight": -5}, "invalid value", "max_weight"),
        ({"max_weight": 1.5}, "invalid value", "max_weight"),
        ({"priority": "high"}, "invalid value", "priority"),
        ({"priority": 2**40}, "invalid value", "priority"),
        ({"is_enabled": "maybe"}, "invalid value", "is_enabled"),
        ({"delivery_during": "midnight"}, "invalid value", "delivery_during"),
        ({"provider": "fedex-direct"}, "invalid value", "provider"),
    ],
)
def test_method_validation(client, boss, body, kind, path):
    _envelope(
        client.post(M, json={"carrier_code": "c", "name": "n", **body}, headers=boss),
        400,
        **{kind.replace(" ", "_"): [path]},
    )
    assert _ok(client.get(M, headers=boss)) == []


# --- products -------------------------------------------------------------------------------------


def _product(client, h, sku="SKU-1", **body):
    return _ok(client.post(P, json={"sku": sku, **body}, headers=h))


def test_product_contract_and_search(app, client, boss):
    p = _product(
        client,
        boss,
        "TSHIRT-M",
        description="T-shirt blue M",
        barcodes=["8712345678906", "UPC-1"],
        hs_code="6109.10",
        weight=180,
    )
    assert list(p) == [
        *("id", "sku", "description", "barcodes", "hs_code", "weight"),
        *("value", "currency", "country_of_origin", "created_at", "updated_at"),
    ]
    assert p["barcodes"] == ["8712345678906", "UPC-1"] and p["weight"] == 180 and p["hs_code"] == "6109.10"
    _product(client, boss, "MUG", description="Mug white")
    assert _ok(client.get(f"{P}/{p['id']}", headers=boss)) == p
    r = client.get(P, headers=boss)
    assert [x["sku"] for x in _ok(r)] == ["MUG", "TSHIRT-M"] and r.headers["x-count"] == "2"
    for term, expected in (
        ("tshirt", ["TSHIRT-M"]),
        ("WHITE", ["MUG"]),
        ("5678906", ["TSHIRT-M"]),
        ("%", []),
        ("", ["MUG", "TSHIRT-M"]),
    ):
        assert [x["sku"] for x in _ok(client.get(P, query_string={"search": term}, headers=boss))] == expected
    assert len(_ok(client.get(P, headers={**boss, "x-page-size": "1", "x-page": "2"}))) == 1

    changed = _ok(client.put(f"{P}/{p['id']}", json={"barcodes": ["UPC-1", "EAN-2"], "weight": None}, headers=boss))
    assert (
        changed["barcodes"] == ["EAN-2", "UPC-1"]
        and changed["weight"] is None
        and changed["description"] == "T-shirt blue M"
    )
    r = client.delete(f"{P}/{p['id']}", headers=boss)
    assert r.status_code == 204 and r.data == b""
    _envelope(client.get(f"{P}/{p['id']}", headers=boss), 404)
    _envelope(client.delete(f"{P}/{p['id']}", headers=boss), 404)
    assert [a for a, _ in _audit(app, "lcs_product")] == ["create", "create", "edit", "delete"]


@pytest.mark.parametrize(
    "body, kind, path",
    [
        ({}, "required", "sku"),
        ({"sku": ""}, "required", "sku"),
        ({"sku": 123}, "invalid value", "sku"),
        ({"sku": "A", "weight": -1}, "invalid value", "weight"),
        ({"sku": "A", "weight": "heavy"}, "invalid value", "weight"),
        ({"sku": "A", "hs_code": "abc"}, "invalid value", "hs_code"),
        ({"sku": "A", "barcodes": 871}, "invalid value", "barcodes"),
        ({"sku": "A", "barcodes": ["871", "871"]}, "invalid value", "barcodes"),
        ({"sku": "A", "barcodes": [""]}, "required", "barcodes.0"),
        ({"sku": "A", "description": "x" * 501}, "invalid value", "description"),
    ],
)
def test_product_validation(client, boss, body, kind, path):
    _envelope(client.post(P, json=body, headers=boss), 400, **{kind.replace(" ", "_"): [path]})
    assert _ok(client.get(P, headers=boss)) == []


def test_barcodes_unique_per_tenant(app, client, boss, tenant):
    a = _product(client, boss, "A", barcodes=["111", "222"])
    b = _product(client, boss, "B")
    _envelope(client.post(P, json={"sku": "C", "barcodes": ["222"]}, headers=boss), 409, invalid_value=["barcodes.0"])
    _envelope(client.post(P, json={"sku": "C", "barcodes": ["A"]}, headers=boss), 409)  # another product's SKU
    _envelope(client.post(P, json={"sku": "111"}, headers=boss), 409, invalid_value=["sku"])  # another's barcode
    _envelope(client.post(P, json={"sku": "A"}, headers=boss), 409)  # duplicate SKU
    _envelope(client.put(f"{P}/{b['id']}", json={"barcodes": ["111"]}, headers=boss), 409)
    _envelope(client.put(f"{P}/{b['id']}", json={"sku": "A"}, headers=boss), 409)
    assert _ok(client.put(f"{P}/{a['id']}", json={"barcodes": ["222", "A"]}, headers=boss))["barcodes"] == ["222", "A"]
    # deleting frees the SKU and barcodes; creating the SKU again revives the record
    client.delete(f"{P}/{a['id']}", headers=boss)
    assert _product(client, boss, "B2", barcodes=["222"])["barcodes"] == ["222"]
    again = _product(client, boss, "A", description="back")
    assert again["id"] == a["id"] and again["barcodes"] == [] and again["description"] == "back"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProductBarcode)) == 1


# --- import ---------------------------------------------------------------------------------------


def _upload(client, h, text, mode=None, name="products.csv"):
    data = {"file": (io.BytesIO(text.encode() if isinstance(text, str) else text), name)}
    if mode:
        data["mode"] = mode
    return client.post(f"{P}/import", data=data, content_type="multipart/form-data", headers=h)


def _skus(app, tenant):
    with app.app_context():
        return sorted(db.session.scalars(Scope(tenant).select(Product).with_only_columns(Product.sku)))


def _owners(app, tenant, *codes):
    """Code → SKU of the live product it identifies (what a scan resolves to)."""
    from services.logistics.products import code_owners

    with app.app_context():
        return {code: sku for code, (_, sku) in code_owners(tenant, codes).items()}


CSV_OK = (
    "sku,description,barcodes,hs_code,weight\n"
    "A-1,Blue mug,8710000000001|8710000000002,6912.00,350\n"
    'B-2,"Plate, white",8710000000003;UPC-3,,\n'
    "\n"
    "C-3,Bowl,,,120.0\n"
)


def test_import_csv_creates_and_updates(app, client, boss, tenant):
    assert _ok(_upload(client, boss, CSV_OK)) == {"created": 3, "updated": 0, "skipped": 0, "errors": []}
    rows = {p["sku"]: p for p in _ok(client.get(P, headers=boss))}
    assert rows["A-1"]["barcodes"] == ["8710000000001", "8710000000002"] and rows["A-1"]["weight"] == 350
    assert rows["B-2"]["description"] == "Plate, white" and rows["B-2"]["barcodes"] == ["8710000000003", "UPC-3"]
    assert rows["B-2"]["weight"] is None and rows["C-3"]["weight"] == 120
    # again, with a barcode moving from A-1 to B-2 and a semicolon-separated file with a BOM
    moved = "\ufeffSKU;Barcodes;Weight\nA-1;8710000000001;400\nB-2;8710000000002|8710000000003;\n"
    assert _ok(_upload(client, boss, moved.encode("utf-8"))) == {"created": 0, "updated": 2, "skipped": 0, "errors": []}
    rows = {p["sku"]: p for p in _ok(client.get(P, headers=boss))}
    assert rows["A-1"]["barcodes"] == ["8710000000001"] and rows["A-1"]["weight"] == 400
    assert rows["A-1"]["description"] == "Blue mug"  # column absent: kept
    assert rows["B-2"]["barcodes"] == ["8710000000002", "8710000000003"]
    assert _owners(app, tenant, "8710000000002", "UPC-3") == {"8710000000002": "B-2"}
    assert len(_audit(app, "lcs_product")) == 5  # 3 creates + 2 edits, same transaction as the rows


def test_import_bad_rows_write_nothing(app, client, boss, tenant):
    _product(client, boss, "OLD", barcodes=["555"])
    bad = (
        "sku,description,barcodes,weight\n"
        "OK-1,fine,111,10\n"
        ",no sku,,\n"  # row 2: sku required
        "OK-2,heavy,,a lot\n"  # row 3: weight
        "OK-1,again,,\n"  # row 4: duplicate sku
        "OK-3,,555,\n"  # row 5: barcode of OLD
        "OK-4,,111,\n"  # row 6: barcode of row 1
        "OK-5,,OLD,\n"
    )  # row 7: another product's SKU
    body = _envelope(_upload(client, boss, bad), 400)
    assert set(body["errors"]["required"]) == {"rows.2.sku"}
    assert set(body["errors"]["invalid value"]) == {
        "rows.3.weight",
        "rows.4.sku",
        "rows.5.barcodes",
        "rows.6.barcodes",
        "rows.7.barcodes",
    }
    assert "nothing was imported" in body["message"]
    assert _skus(app, tenant) == ["OLD"]

    result = _ok(_upload(client, boss, bad, mode="skip_invalid"))
    assert result["created"] == 1 and result["skipped"] == 6
    assert [(e["row"], e["field"]) for e in result["errors"]] == [
        (2, "sku"),
        (3, "weight"),
        (4, "sku"),
        (5, "barcodes"),
        (6, "barcodes"),
        (7, "barcodes"),
    ]
    assert _skus(app, tenant) == ["OK-1", "OLD"]


@pytest.mark.parametrize(
    "text, path",
    [
        ("", "file"),
        ("description,weight\nx,1\n", "file"),
        (b"sku\n\xff\xfe\n", "file"),
        ("sku,sku\nA,B\n", "file"),
    ],
)
def test_import_bad_files(app, client, boss, tenant, text, path):
    body = _envelope(_upload(client, boss, text), 400)
    assert path in body["errors"].get("invalid value", []) + body["errors"].get("required", [])
    assert _skus(app, tenant) == []


def test_import_json_and_bad_requests(app, client, boss, tenant):
    U = f"{P}/import"
    assert (
        _ok(
            client.post(
                U,
                json=[{"sku": "J-1", "barcodes": ["1", "2"], "weight": 5}, {"sku": "J-2", "barcodes": "3|4"}],
                headers=boss,
            )
        )["created"]
        == 2
    )
    assert _ok(client.get(P, query_string={"search": "J-2"}, headers=boss))[0]["barcodes"] == ["3", "4"]
    body = _envelope(
        client.post(
            U, json=[{"sku": "J-3", "weigth": 5}, {"sku": "J-4", "weight": "five"}, "x", {"weight": 1}], headers=boss
        ),
        400,
    )
    assert set(body["errors"]["invalid value"]) == {"rows.1.weigth", "rows.2.weight", "rows.3.row"}
    assert body["errors"]["required"] == ["rows.4.sku"]
    _envelope(client.post(U, json={"sku": "J-5"}, headers=boss), 400)
    _envelope(client.post(U, json=[], headers=boss), 400)
    _envelope(client.post(U, headers=boss), 400, required=["body"])
    _envelope(
        client.post(U, data={"mode": "skip_invalid"}, content_type="multipart/form-data", headers=boss),
        400,
        required=["upload.file"],
    )
    _envelope(client.post(f"{U}?mode=yolo", json=[{"sku": "J-6"}], headers=boss), 400, invalid_value=["mode"])
    assert _skus(app, tenant) == ["J-1", "J-2"]


def test_import_service_releases_barcodes_between_rows(app, tenant):
    with app.app_context():
        product_import.import_products(
            SYSTEM, [{"sku": "X", "barcodes": ["b1"]}, {"sku": "Y", "barcodes": ["b2"]}], tenant_id=tenant
        )
        # swap the two barcodes in one import: each row releases what the other takes
        result = product_import.import_products(
            SYSTEM, [{"sku": "X", "barcodes": ["b2"]}, {"sku": "Y", "barcodes": ["b1"]}], tenant_id=tenant
        )
        assert (result.created, result.updated) == (0, 2)
    assert _owners(app, tenant, "b1", "b2") == {"b1": "Y", "b2": "X"}
    with app.app_context():
        # a product not in the file keeps its barcode
        with pytest.raises(DomainError) as clash:
            product_import.import_products(SYSTEM, [{"sku": "Z", "barcodes": ["b1"]}], tenant_id=tenant)
        assert clash.value.status == 400


# --- screens: the three renderings ----------------------------------------------------------------


@pytest.fixture()
def web(client, admin):
    """A signed-in browser (super admin of the test tenant) and its CSRF token."""
    return browser_login(client, admin)


@pytest.mark.parametrize("path", [L, M, P])
def test_lists_render_json_fragment_and_page(client, web, path):
    assert client.get(path, headers=JSON).get_json() == []
    fragment = client.get(path, headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and "<table" in fragment
    page = client.get(path, headers=BROWSER)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert {"Accept", "HX-Request"} <= set(page.headers["Vary"].replace(" ", "").split(","))


def test_location_screen_flow(app, client, web):
    hx = {**HX, "X-CSRFToken": web}
    r = client.post(
        L,
        data={"name": "Floor 1", "address.city": "Delft", "address.country_code": "nl", "is_disabled": "false"},
        headers=hx,
    )
    assert r.status_code == 200 and "Floor 1 created" in r.get_data(as_text=True)
    assert "lcs:locations-changed" in r.headers["HX-Trigger"]
    loc = client.get(L, headers=JSON).get_json()[0]
    assert loc["address"] == {"city": "Delft", "country_code": "NL"}
    bad = client.post(L, data={"name": "", "address.country_code": "Holland"}, headers=hx)
    assert bad.status_code == 422 and "field-error" in bad.get_data(as_text=True)
    url = f"{L}/{loc['id']}"

    page = client.get(url, headers=BROWSER).get_data(as_text=True)
    assert "<html" in page and "Walk order" in page and "Floor 1" in page
    r = client.put(f"{url}/walk", data={"action": "add", "codes": "A1, A2 B1"}, headers=hx)
    assert r.status_code == 200 and "<html" not in r.get_data(as_text=True)
    assert re.findall(r'data-code="([^"]+)"', r.get_data(as_text=True)) == ["A1", "A2", "B1"]
    r = client.put(f"{url}/walk", data={"action": "move", "code": "B1", "direction": "up"}, headers=hx)
    assert re.findall(r'data-code="([^"]+)"', r.get_data(as_text=True)) == ["A1", "B1", "A2"]
    r = client.put(f"{url}/walk", data={"action": "skus", "position": "B1", "skus": "MUG-1\nMUG-2"}, headers=hx)
    assert r.status_code == 200 and "MUG-2" in r.get_data(as_text=True)
    r = client.put(f"{url}/walk", data={"action": "remove", "code": "A1"}, headers=hx)
    assert re.findall(r'data-code="([^"]+)"', r.get_data(as_text=True)) == ["B1", "A2"]
    assert [(s["sku"], s["position"]) for s in client.get(f"{url}/skus", headers=JSON).get_json()] == [
        ("MUG-1", "B1"),
        ("MUG-2", "B1"),
    ]
    r = client.put(url, data={"name": "Floor 1", "is_disabled": "false", "address.city": ""}, headers=hx)
    assert r.status_code == 200 and client.get(url, headers=JSON).get_json()["address"] is None  # blanked: cleared
    # an error on an htmx action comes back as a toast, in place of nothing
    r = client.put(f"{url}/walk", data={"action": "move", "code": "ZZ", "direction": "up"}, headers=hx)
    assert r.status_code == 404 and r.headers["HX-Retarget"] == "#toasts"
    r = client.put(f"{url}/walk", data={"action": "add", "codes": ""}, headers=hx)
    assert r.status_code == 400 and r.headers["HX-Retarget"] == "#toasts"
    r = client.put(f"{url}/walk", data={"action": "skus", "position": "B1", "skus": ""}, headers=hx)  # empties it
    assert r.status_code == 200 and client.get(f"{url}/skus", headers=JSON).get_json() == []

    r = client.put(url, data={"name": "Floor One", "is_disabled": ["false", "true"]}, headers=hx)
    assert r.status_code == 200 and "Saved." in r.get_data(as_text=True)
    assert client.get(url, headers=JSON).get_json()["is_disabled"] is True
    fragment = client.get(f"{url}/positions", headers=hx).get_data(as_text=True)
    assert 'id="positions"' in fragment and "<html" not in fragment
    assert "B1" in client.get(f"{url}/positions/B1", headers=BROWSER).get_data(as_text=True)
    r = client.delete(f"{url}?next=list", headers=hx)
    assert r.status_code == 200 and r.headers["HX-Redirect"] == L


def test_method_screen_flow(client, web):
    hx = {**HX, "X-CSRFToken": web}
    form = {
        "carrier_code": "dhl",
        "name": "DHL",
        "priority": "3",
        "max_weight": "20000",
        "countries.0.code": "NL",
        "countries.0.amount": "495",
        "countries.1.code": "be",
        "countries.1.amount": "",
        "countries.2.code": "",
        "countries.2.amount": "",
        "is_enabled": ["false", "true"],
        "is_sunday": "false",
        "delivery_during": "",
        "provider": "default",
    }
    r = client.post(M, data=form, headers=hx)
    assert r.status_code == 200 and "DHL created" in r.get_data(as_text=True)
    m = client.get(M, headers=JSON).get_json()[0]
    assert m["countries"] == [{"code": "NL", "amount": 495}, {"code": "BE", "amount": 0}]
    assert m["is_enabled"] is True and m["is_sunday"] is False and m["priority"] == 3 and m["max_weight"] == 20000
    bad = client.post(M, data={**form, "countries.0.code": "Netherlands"}, headers=hx)
    assert bad.status_code == 422 and "countries.0.code" in bad.get_data(as_text=True)
    assert 'value="Netherlands"' in bad.get_data(as_text=True)  # what the person typed, again
    page = client.get(f"{M}/{m['id']}", headers=BROWSER).get_data(as_text=True)
    assert "<html" in page and 'value="NL"' in page and 'name="countries.0.code"' in page
    edit = {k: v for k, v in form.items() if not k.startswith("countries.")}
    r = client.put(
        f"{M}/{m['id']}",
        data={**edit, "countries.0.code": "DE", "countries.0.amount": "700", "max_weight": ""},
        headers=hx,
    )
    assert r.status_code == 200 and "Saved." in r.get_data(as_text=True)
    saved = client.get(f"{M}/{m['id']}", headers=JSON).get_json()
    assert saved["countries"] == [{"code": "DE", "amount": 700}] and saved["max_weight"] is None  # blank clears
    r = client.put(f"{M}/{m['id']}", data={**edit, "countries.0.code": "", "countries.0.amount": ""}, headers=hx)
    assert client.get(f"{M}/{m['id']}", headers=JSON).get_json()["countries"] == []
    _ok(client.put(f"{M}/{m['id']}", json={"countries": [{"code": "DE", "amount": 700}]}, headers=hx))
    assert "DHL" in client.get(f"{M}?country_code=DE", headers=hx).get_data(as_text=True)
    r = client.delete(f"{M}/{m['id']}", headers=hx)
    assert r.status_code == 200 and "deleted" in r.headers["HX-Trigger"]


def test_product_screen_flow(app, client, web):
    hx = {**HX, "X-CSRFToken": web}
    r = client.post(P, data={"sku": "MUG", "description": "Mug", "barcodes": "871\n872", "weight": "350"}, headers=hx)
    assert r.status_code == 200 and "lcs:products-changed" in r.headers["HX-Trigger"]
    p = client.get(P, headers=JSON).get_json()[0]
    assert p["barcodes"] == ["871", "872"] and p["weight"] == 350
    clash = client.post(P, data={"sku": "CUP", "barcodes": "871"}, headers=hx)
    assert clash.status_code == 422 and "already identifies product MUG" in clash.get_data(as_text=True)
    live = client.get(P, query_string={"search": "872"}, headers={**hx, "HX-Target": "product-table"})
    text = live.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="product-table"') and "MUG" in text
    assert (
        client.get(P, query_string={"search": "zzz"}, headers={**hx, "HX-Target": "product-table"})
        .get_data(as_text=True)
        .count("No products match")
        == 1
    )
    page = client.get(f"{P}/{p['id']}", headers=BROWSER).get_data(as_text=True)
    assert "<html" in page and "872" in page
    r = client.put(
        f"{P}/{p['id']}", data={"sku": "MUG", "description": "Mug XL", "barcodes": "873", "weight": ""}, headers=hx
    )
    assert r.status_code == 200 and "Saved." in r.get_data(as_text=True)
    assert client.get(f"{P}/{p['id']}", headers=JSON).get_json()["barcodes"] == ["873"]

    bad = b"sku,barcodes\nOK,1\n,2\n"
    r = client.post(
        f"{P}/import", data={"file": (io.BytesIO(bad), "p.csv")}, content_type="multipart/form-data", headers=hx
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "row-errors" in html and "nothing was imported" in html
    assert [x["sku"] for x in client.get(P, headers=JSON).get_json()] == ["MUG"]
    r = client.post(
        f"{P}/import",
        data={"file": (io.BytesIO(bad), "p.csv"), "mode": "skip_invalid"},
        content_type="multipart/form-data",
        headers=hx,
    )
    assert r.status_code == 200 and "1 created" in r.get_data(as_text=True) and "1 skipped" in r.get_data(as_text=True)
    assert [x["sku"] for x in client.get(P, headers=JSON).get_json()] == ["MUG", "OK"]


def test_html_lists_page_through_headers(app, client, web, tenant):
    with app.app_context():
        product_import.import_products(SYSTEM, [{"sku": f"P-{i:02d}"} for i in range(30)], tenant_id=tenant)
    first = client.get(P, headers=BROWSER).get_data(as_text=True)
    assert "Page 1 of 2" in first and "P-24" in first and "P-25" not in first
    token = re.search(r'hx-headers=\'\{"x-page": "(k[\w-]+)"\}\'', first).group(1)  # Next: the next page's token
    for page in (token, "2"):
        second = client.get(P, headers={**HX, "HX-Target": "product-table", "x-page": page}).get_data(as_text=True)
        assert "Page 2 of 2" in second and "P-29" in second and "P-00" not in second


@pytest.mark.parametrize("accept", [BROWSER, HX])
def test_every_operation_answers_a_browser(client, web, accept):
    """Each operation sent its JSON body by a browser (or htmx) answers a page or fragment, never a 5xx."""
    h, api = {**accept, "X-CSRFToken": web}, {**JSON, "X-CSRFToken": web}
    loc = client.post(L, json={"name": "Hall"}, headers=api).get_json()["id"]
    method = client.post(M, json={"carrier_code": "c", "name": "C"}, headers=api).get_json()["id"]
    product = client.post(P, json={"sku": "P-1"}, headers=api).get_json()["id"]
    calls = [
        ("POST", L, {"name": "Annex"}),
        ("GET", f"{L}/{loc}", None),
        ("PUT", f"{L}/{loc}", {"name": "Hall 1"}),
        ("PUT", f"{L}/{loc}/positions", ["A1", "B1"]),
        ("GET", f"{L}/{loc}/positions", None),
        ("GET", f"{L}/{loc}/positions/A1", None),
        ("PUT", f"{L}/{loc}/skus", [{"sku": "S1", "position": "A1"}]),
        ("GET", f"{L}/{loc}/skus", None),
        ("POST", f"{L}/{loc}/positions/search", ["S1"]),
        ("DELETE", f"{L}/{loc}/positions", ["B1"]),
        ("POST", "/lcs/search/locations", {"constraints": []}),
        ("POST", M, {"carrier_code": "d", "name": "D"}),
        ("GET", f"{M}/{method}", None),
        ("PUT", f"{M}/{method}", {"priority": 1}),
        ("POST", "/lcs/search/methods", {}),
        ("POST", P, {"sku": "P-2"}),
        ("GET", f"{P}/{product}", None),
        ("PUT", f"{P}/{product}", {"weight": 5}),
        ("POST", f"{P}/import", [{"sku": "P-3"}]),
        ("DELETE", f"{P}/{product}", None),
        ("DELETE", f"{M}/{method}", None),
        ("DELETE", f"{L}/{loc}", None),
    ]
    for method_, url, body in calls:
        r = client.open(url, method=method_, json=body, headers=h)
        assert r.status_code < 300 and r.mimetype == "text/html", (method_, url, r.status_code)
    for method_, url, body in (
        ("POST", L, {"name": ""}),
        ("PUT", f"{M}/{method}", {"name": ""}),
        ("POST", P, {"sku": 5}),
        ("POST", f"{P}/import", [{"sku": ""}]),
    ):
        r = client.open(url, method=method_, json=body, headers=h)
        assert r.status_code in (404, 422) and r.mimetype == "text/html", (method_, url, r.status_code)


def test_nav_lists_warehouse_entries(client, web):
    page = client.get("/", headers=BROWSER).get_data(as_text=True)
    for path in (L, M, P):
        assert f'href="{path}"' in page


# --- concurrency (real HTTP; on PostgreSQL the transactions overlap) ---------------------------------


def _http(base, method, path, body, token):
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Accept": "application/json", "Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _storm(n, work):
    barrier, results, errors = threading.Barrier(n), [None] * n, []

    def run(i):
        try:
            barrier.wait(timeout=20)
            results[i] = work(i)
        except BaseException as e:  # noqa: BLE001 — reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and not any(t.is_alive() for t in threads), errors
    return results


def test_concurrent_barcode_claims_and_reorders(app, live_server, client, boss, tenant):
    token = boss["Authorization"].split()[1]
    statuses = _storm(
        8, lambda i: _http(live_server, "POST", P, {"sku": f"RACE-{i}", "barcodes": ["8700000000000"]}, token)
    )
    assert sorted(statuses) == [200] + [409] * 7, statuses  # exactly one product gets the barcode, nobody a 5xx
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProductBarcode)) == 1

    loc = _location(client, boss)["id"]
    _ok(client.put(f"{L}/{loc}/positions", json=[f"P{i}" for i in range(10)], headers=boss))
    orders = [[f"P{(i + k) % 10}" for k in range(10)] + [f"N{i}"] for i in range(8)]
    statuses = _storm(8, lambda i: _http(live_server, "PUT", f"{L}/{loc}/positions", orders[i], token))
    assert all(s == 200 for s in statuses), statuses
    codes = _codes(client, boss, loc)  # sorting is still exactly 1..n: no interleaved renumbering
    assert sorted(codes) == sorted([f"P{i}" for i in range(10)] + [f"N{i}" for i in range(8)])
    assert codes[:11] in orders  # the last writer's order stands whole
