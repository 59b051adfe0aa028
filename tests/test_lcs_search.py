"""Search (seed 001 #15, #17, #18, #20, #21) and bulk (#22) of the lcs module: contract
(fields, paging headers, ``value``/``values``, boolean spellings), bad input → 400 in the
family-B envelope, tenant isolation, and the bulk command's transaction and guards."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from models import HandlingList, Parcel, ScanEvent, Shipment, ShipmentItem, db
from schemas.lcs_lists import LcsHandlingListUpdate, LcsHandlingModel, LcsHandlingModelShipments
from schemas.lcs_parcels import LcsParcelCreateModel
from schemas.lcs_search import LcsBulkItemsCommand, LcsItemSearchConstraint
from schemas.lcs_shipments import LcsShipmentModel
from services import roles, users
from services.acl import Actor
from services.errors import Conflict, ValidationFailed
from services.logistics import item_search, lists, parcels, shipments
from tests.support import LISTED_SHIPMENT_KEYS, PARCEL_KEYS, PASSWORD, SYSTEM, api_token, bearer, new_organization

GROUPED_ITEM = {
    "ids",
    "sku",
    "quantity",
    "hs_code",
    "description",
    "references",
    "lists",
    "parcels",
    "positions",
    "handled_ids",
    "boxed_ids",
    "listed_ids",
    "finished_ids",
    "missing_ids",
    "shipment_id",
    "totals",
}
LIST_ITEM = {"ids", "handled_ids", "shipment_id", "sku", "description", "position", "quantity", "sorting_label", "rank"}
PARCEL_ITEM = {"id", "sku", "quantity", "description"}

SEARCHES = [
    "/lcs/search/shipments",
    "/lcs/search/parcels",
    "/lcs/search/shipments/items",
    "/lcs/search/lists/items",
    "/lcs/search/parcels/items",
]


class Floor:
    """One tenant's warehouse: records made through the services, a staff token for HTTP."""

    def __init__(self, app, client, tenant_id, email):
        self.app, self.client, self.tenant = app, client, tenant_id
        with app.app_context():
            staff_role = roles.seed_default_roles(tenant_id)[roles.WAREHOUSE_STAFF]
            db.session.commit()
            users.create_user(SYSTEM, email=email, password=PASSWORD, role_ids=[staff_role.id], tenant_id=tenant_id)
        self.headers = {**bearer(api_token(client, email)), "Accept": "application/json"}

    def shipment(self, items, **data) -> dict:
        with self.app.app_context():
            s = shipments.create_shipment(SYSTEM, LcsShipmentModel(tenant_id=self.tenant, items=items, **data))
            units = db.session.scalars(
                sa.select(ShipmentItem).where(ShipmentItem.shipment_id == s.id).order_by(ShipmentItem.sequence)
            ).all()
            return {
                "id": str(s.id),
                "number": s.number,
                "units": {sku: [str(x.id) for x in units if x.sku == sku] for sku in {x.sku for x in units}},
                "all": [str(x.id) for x in units],
            }

    def handling_list(self, *shipment_ids, labels=None) -> dict:
        with self.app.app_context():
            hl = lists.create_list(
                SYSTEM,
                LcsHandlingModel(
                    shipments=[LcsHandlingModelShipments(id=sid, label=(labels or {}).get(sid)) for sid in shipment_ids]
                ),
            )
            return {"id": str(hl.id), "number": hl.number}

    def parcel(self, shipment_id, item_ids=()) -> dict:
        with self.app.app_context():
            p = parcels.create_parcel(
                SYSTEM, LcsParcelCreateModel(shipment_id=shipment_id, item_ids=list(item_ids), weight=900)
            )
            return {"id": str(p.id), "number": p.number}

    def post(self, path, constraints=None, *, page=None, size=None, body=None, api=False):
        headers = dict(self.headers)
        if page is not None:
            headers["x-page"] = str(page)
        if size is not None:
            headers["x-page-size"] = str(size)
        payload = body if body is not None else {"constraints": constraints or []}
        return self.client.post(("/api" if api else "") + path, json=payload, headers=headers)

    def bulk(self, parameters, constraints, command="set_parameters"):
        return self.client.put(
            "/lcs/bulk/items",
            headers=self.headers,
            json={"command": command, "parameters": parameters, "constraints": constraints},
        )

    def unit(self, unit_id) -> ShipmentItem:
        with self.app.app_context():
            unit = db.session.get(ShipmentItem, uuid.UUID(unit_id))
            db.session.expunge(unit)
            return unit


def c(key, *values, alias="value", operator="in"):
    return {"key": key, "operator": operator, alias: list(values)}


def bulk_command(parameters, constraints) -> LcsBulkItemsCommand:
    return LcsBulkItemsCommand.model_validate(
        {"command": "set_parameters", "parameters": parameters, "constraints": constraints}
    )


@pytest.fixture()
def floor(app, client, tenant):
    return Floor(app, client, tenant, "picker@acme.test")


@pytest.fixture()
def other(app, client, make):
    return Floor(app, client, make.tenant("Other Freight"), "picker@other.test")


def assert_envelope(r, status=400):
    assert r.status_code == status, r.get_data(as_text=True)
    body = r.get_json()
    assert set(body) == {"code", "message", "reference", "errors"} and body["code"] == status
    assert body["reference"] and body["reference"] == r.headers.get("x-request-id", body["reference"])
    return body


# --- shipments -----------------------------------------------------------------------------------


def test_search_shipments_contract_and_paging(floor, other):
    a = floor.shipment(
        [{"sku": "MUG", "quantity": 2}],
        order_id="ORD-1",
        addressing={
            "to": {"entity_type": "location", "entity_id": "loc-7"},
            "from": {"address": {"name": "Ada", "city": "Delft", "country_code": "NL"}},
        },
    )
    b = floor.shipment([{"sku": "CAP"}], is_outbound=False, prior_shipments=[a["id"].upper()])
    d = floor.shipment([{"sku": "MUG"}], order_id="ORD-3")
    other.shipment([{"sku": "MUG"}])

    r = floor.post("/lcs/search/shipments")
    assert r.status_code == 200 and r.headers["x-count"] == "3" and r.headers["x-page"] == "1"
    rows = r.get_json()
    assert [x["id"] for x in rows] == [d["id"], b["id"], a["id"]]  # newest first
    assert LISTED_SHIPMENT_KEYS <= set(rows[0])
    assert rows[2]["number"] == a["number"] and rows[2]["secret"] is None and rows[1]["prior_shipments"]

    def ids(*constraints, **kw):
        res = floor.post("/lcs/search/shipments", list(constraints), **kw)
        assert res.status_code == 200, res.get_json()
        return [x["id"] for x in res.get_json()]

    assert ids(c("ids", a["id"])) == ids(c("ids", a["id"], alias="values")) == [a["id"]]
    assert ids(c("is_outbound", "false")) == ids(c("is_outbound", "0")) == [b["id"]]
    assert (
        ids(c("is_outbound", "true")) == ids(c("is_outbound", "1")) == ids(c("is_outbound", True)) == [d["id"], a["id"]]
    )
    assert ids(c("to_id", "loc-7")) == ids(c("to_type", "location")) == [a["id"]]
    assert ids(c("from_type", "address")) == [a["id"]] and ids(c("from_id", "loc-7")) == []
    assert ids(c("prior_ids", a["id"])) == [b["id"]]
    assert ids(c("secret", "s3cr3t")) == []
    assert ids(c("order_id", "ORD-1", "ORD-3")) == [d["id"], a["id"]]
    assert ids(c("number", a["number"])) == [a["id"]]
    assert ids(c("number", "S-", operator="prefix")) == [d["id"], b["id"], a["id"]]
    assert ids(c("ids", a["id"], d["id"]), c("order_id", "ORD-3")) == [d["id"]]  # constraints AND
    assert ids(c("ids", a["id"], operator="not_in"), c("is_outbound", "1")) == [d["id"]]

    # paging: x-count is the total, x-page echoes the page
    r = floor.post("/lcs/search/shipments", size=2)
    assert len(r.get_json()) == 2 and r.headers["x-count"] == "3"
    r = floor.post("/lcs/search/shipments", page=2, size=2)
    assert [x["id"] for x in r.get_json()] == [a["id"]] and r.headers["x-page"] == "2" and r.headers["x-count"] == "3"
    assert_envelope(floor.post("/lcs/search/shipments", size=101))
    assert_envelope(floor.post("/lcs/search/shipments", page=0))
    # also under /api; {} means "no constraints", no body at all is a 400
    assert floor.post("/lcs/search/shipments", api=True).headers["x-count"] == "3"
    r = floor.client.post("/lcs/search/shipments", json={}, headers=floor.headers)
    assert r.status_code == 200 and r.headers["x-count"] == "3"
    assert_envelope(floor.client.post("/lcs/search/shipments", headers=floor.headers))


def test_search_shipments_derived_flags(floor):
    a = floor.shipment([{"sku": "MUG", "quantity": 2}])
    b = floor.shipment([{"sku": "CAP"}])
    floor.handling_list(a["id"])

    def ids(*constraints):
        return [x["id"] for x in floor.post("/lcs/search/shipments", list(constraints)).get_json()]

    assert ids(c("is_listed", "true")) == [a["id"]]
    assert ids(c("is_listed", "false")) == ids(c("is_editable", "1")) == [b["id"]]
    assert ids(c("is_handled", "true")) == []
    assert floor.bulk({"is_handled": True}, [c("shipment_ids", a["id"])]).status_code == 204
    assert ids(c("is_handled", "true")) == [a["id"]] and ids(c("is_boxed", "true")) == []
    row = floor.post("/lcs/search/shipments", [c("ids", a["id"])]).get_json()[0]
    assert row["is_listed"] is True and row["is_editable"] is False and row["list_id"]


# --- parcels -------------------------------------------------------------------------------------


def test_search_parcels_contract(app, floor, other):
    a = floor.shipment([{"sku": "MUG", "quantity": 3}])
    b = floor.shipment([{"sku": "CAP"}])
    p1 = floor.parcel(a["id"], a["units"]["MUG"][:2])
    p2 = floor.parcel(b["id"], b["all"])
    with app.app_context():
        parcels.mark_transit(SYSTEM, p2["id"])
        parcels.mark_finished(SYSTEM, p2["id"])
    op = other.parcel(other.shipment([{"sku": "MUG"}])["id"])

    r = floor.post("/lcs/search/parcels", [c("ids", p1["id"], alias="values")])
    assert r.status_code == 200 and r.headers["x-count"] == "1"
    row = r.get_json()[0]
    assert PARCEL_KEYS <= set(row) and row["count"] == 2 and row["shipment_id"] == a["id"]
    assert row["items"] == [{"id": a["units"]["MUG"][0], "sku": "MUG", "quantity": 2, "description": ""}]

    def ids(*constraints):
        return [x["id"] for x in floor.post("/lcs/search/parcels", list(constraints)).get_json()]

    assert ids() == [p2["id"], p1["id"]]
    assert ids(c("is_delivered", "true")) == ids(c("is_finished", "1")) == ids(c("is_in_transit", True)) == [p2["id"]]
    assert ids(c("is_delivered", "0")) == [p1["id"]]
    assert ids(c("shipment_ids", a["id"])) == [p1["id"]]
    assert ids(c("ids", op["id"])) == []  # another tenant's parcel matches nothing
    assert floor.post("/lcs/search/parcels", size=1, page=2).get_json()[0]["id"] == p1["id"]


# --- grouped item searches -----------------------------------------------------------------------


def test_search_shipment_items_grouped(floor, other):
    refs = [{"order_item_id": "oi-1"}, {"order_item_id": "oi-2"}]
    a = floor.shipment(
        [
            {
                "sku": "MUG",
                "quantity": 3,
                "position": "A1.01",
                "hs_code": "6912",
                "description": "Mug",
                "references": refs,
            },
            {"sku": "CAP", "quantity": 1, "description": "Cap"},
        ]
    )
    b = floor.shipment([{"sku": "MUG", "quantity": 1}])
    other.shipment([{"sku": "MUG", "quantity": 2}])
    hl = floor.handling_list(a["id"])
    mug = a["units"]["MUG"]
    parcel = floor.parcel(a["id"], mug[:1])
    assert floor.bulk({"is_handled": True}, [c("ids", *mug[:2])]).status_code == 204
    assert floor.bulk({"is_missing": True}, [c("ids", *a["units"]["CAP"])]).status_code == 204

    r = floor.post("/lcs/search/shipments/items")
    assert r.status_code == 200 and r.headers["x-count"] == "3" and r.headers["x-page"] == "1"
    rows = r.get_json()
    assert [(x["shipment_id"], x["sku"]) for x in rows] == [(b["id"], "MUG"), (a["id"], "MUG"), (a["id"], "CAP")]
    g = rows[1]
    assert set(g) == GROUPED_ITEM
    assert g["ids"] == mug and g["quantity"] == 3 and g["hs_code"] == "6912" and g["description"] == "Mug"
    assert g["references"] == [
        {"order_item_id": "oi-1", "claim_item_id": None},
        {"order_item_id": "oi-2", "claim_item_id": None},
    ]
    assert g["lists"] == [{"id": hl["id"], "item_ids": mug}]
    assert g["parcels"] == [{"id": parcel["id"], "item_ids": mug[:1]}]
    assert g["positions"] == [{"code": "A1.01", "item_ids": mug}]
    assert g["handled_ids"] == mug[:2] and g["boxed_ids"] == mug[:1] and g["listed_ids"] == mug
    assert g["finished_ids"] == [] and g["missing_ids"] == []
    assert g["totals"] == {"boxed": 1, "handled": 2, "finished": 0, "missing": 0, "listed": 3}
    assert rows[2]["missing_ids"] == a["units"]["CAP"] and rows[2]["totals"]["missing"] == 1

    def groups(*constraints):
        res = floor.post("/lcs/search/shipments/items", list(constraints))
        assert res.status_code == 200, res.get_json()
        return [(x["sku"], x["quantity"]) for x in res.get_json()]

    # a group holds the matching units only
    assert groups(c("shipment_ids", a["id"]), c("is_handled", "false")) == [("MUG", 1), ("CAP", 1)]
    assert groups(c("is_handled", "1")) == [("MUG", 2)]
    assert groups(c("is_boxed", "true")) == [("MUG", 1)] and groups(c("is_in_transit", "true")) == []
    assert groups(c("is_labeled", "false"), c("skus", "CAP")) == [("CAP", 1)]
    assert groups(c("is_listed", "0")) == [("MUG", 1)]
    assert groups(c("list_ids", hl["id"], alias="values"), c("is_missing", "true")) == [("CAP", 1)]
    assert groups(c("parcel_ids", parcel["id"])) == [("MUG", 1)]
    assert groups(c("position", "A1.01")) == [("MUG", 3)]
    assert groups(c("is_outbound", "false")) == [] and groups(c("is_serviced", "false"), c("is_finished", "0"))
    assert groups(c("skus", "MUG", alias="values")) == [("MUG", 1), ("MUG", 3)]
    # paging counts groups, not units
    r = floor.post("/lcs/search/shipments/items", size=2, page=2)
    assert r.headers["x-count"] == "3" and [x["sku"] for x in r.get_json()] == ["CAP"]


def test_search_list_items_grouped(app, floor):
    with app.app_context():
        from models import Location, Position

        loc = Location(tenant_id=floor.tenant, name="Main")
        db.session.add(loc)
        db.session.flush()
        db.session.add_all(
            [
                Position(tenant_id=floor.tenant, location_id=loc.id, code="B2", sorting=1, skus=["CAP"]),
                Position(tenant_id=floor.tenant, location_id=loc.id, code="A1", sorting=2, skus=["MUG"]),
            ]
        )
        db.session.commit()
    a = floor.shipment([{"sku": "MUG", "quantity": 2, "description": "Mug"}, {"sku": "CAP"}])
    b = floor.shipment([{"sku": "MUG", "quantity": 1}])
    floor.shipment([{"sku": "MUG"}])  # not on a list: never a list item
    hl = floor.handling_list(a["id"], b["id"], labels={a["id"]: "Box 1"})
    assert floor.bulk({"is_handled": True}, [c("ids", a["units"]["MUG"][0])]).status_code == 204

    r = floor.post("/lcs/search/lists/items")
    assert r.status_code == 200 and r.headers["x-count"] == "3"
    rows = r.get_json()
    assert [(x["sku"], x["shipment_id"], x["position"], x["rank"]) for x in rows] == [
        ("CAP", a["id"], "B2", 0),
        ("MUG", a["id"], "A1", 1),
        ("MUG", b["id"], "A1", 2),
    ]  # walk order
    line = rows[1]
    assert LIST_ITEM <= set(line) and line["list_id"] == hl["id"]
    assert line["ids"] == a["units"]["MUG"] and line["handled_ids"] == a["units"]["MUG"][:1]
    assert line["quantity"] == 2 and line["description"] == "Mug" and line["sorting_label"] == "Box 1"
    assert rows[2]["sorting_label"] is None

    # same lines as the list detail
    with app.app_context():
        detail = lists.detail_row(db.session.get(HandlingList, uuid.UUID(hl["id"])))["items"]
    assert [(str(d["shipment_id"]), d["sku"], d["rank"]) for d in detail] == [
        (x["shipment_id"], x["sku"], x["rank"]) for x in rows
    ]

    # filtered: the open units of each line, rank stays the line's rank on the list
    r = floor.post("/lcs/search/lists/items", [c("is_handled", "false"), c("skus", "MUG", alias="values")])
    assert [(x["quantity"], x["rank"]) for x in r.get_json()] == [(1, 1), (1, 2)]
    assert floor.post("/lcs/search/lists/items", [c("list_ids", hl["id"])], size=1, page=3).get_json()[0]["rank"] == 2


def test_search_parcel_items_grouped(floor, other):
    a = floor.shipment([{"sku": "MUG", "quantity": 3, "description": "Mug"}, {"sku": "CAP", "quantity": 2}])
    p1 = floor.parcel(a["id"], a["units"]["MUG"][:2] + a["units"]["CAP"][:1])
    p2 = floor.parcel(a["id"], a["units"]["MUG"][2:])
    other_shipment = other.shipment([{"sku": "MUG"}])
    other.parcel(other_shipment["id"], other_shipment["all"])

    r = floor.post("/lcs/search/parcels/items")
    assert r.status_code == 200 and r.headers["x-count"] == "3"
    rows = r.get_json()
    assert [(x["parcel_id"], x["sku"], x["quantity"]) for x in rows] == [
        (p2["id"], "MUG", 1),
        (p1["id"], "MUG", 2),
        (p1["id"], "CAP", 1),
    ]
    assert PARCEL_ITEM <= set(rows[1]) and rows[1]["id"] == a["units"]["MUG"][0] and rows[1]["description"] == "Mug"
    r = floor.post("/lcs/search/parcels/items", [c("parcel_ids", p1["id"], alias="values"), c("skus", "CAP")])
    assert [(x["sku"], x["quantity"]) for x in r.get_json()] == [("CAP", 1)]
    r = floor.post("/lcs/search/parcels/items", size=2, page=2)
    assert r.headers["x-count"] == "3" and len(r.get_json()) == 1


# --- bad input -----------------------------------------------------------------------------------

BAD_BODIES = {
    "unknown key": {"constraints": [{"key": "colour", "operator": "in", "value": ["red"]}]},
    "unknown operator": {"constraints": [{"key": "ids", "operator": "like", "value": [str(uuid.uuid4())]}]},
    "constraints not a list": {"constraints": {"key": "ids"}},
    "constraint not an object": {"constraints": ["ids"]},
    "malformed uuid": {"constraints": [{"key": "ids", "operator": "in", "values": ["not-a-uuid"]}]},
    "no values": {"constraints": [{"key": "ids", "operator": "in", "value": []}]},
    "body not an object": ["ids"],
}


@pytest.mark.parametrize("path", SEARCHES)
@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_search_input_is_400_envelope(floor, path, case):
    body = assert_envelope(floor.post(path, body=BAD_BODIES[case]))
    assert body["errors"].get("invalid value") or body["errors"].get("required"), body


@pytest.mark.parametrize("path", ["/lcs/search/shipments", "/lcs/search/shipments/items", "/lcs/search/parcels"])
def test_bad_boolean_and_malformed_json_are_400(floor, path):
    key = "is_in_transit" if "parcels" in path else "is_outbound"
    body = assert_envelope(floor.post(path, [c(key, "maybe")]))
    assert body["errors"] == {"invalid value": ["constraints.0.values"]}
    r = floor.client.post(path, data="{nope", headers={**floor.headers, "Content-Type": "application/json"})
    assert_envelope(r)


def test_search_needs_features(app, client, floor, make):
    with app.app_context():
        users.create_user(SYSTEM, email="nobody@acme.test", password=PASSWORD, tenant_id=floor.tenant)
    headers = {**bearer(api_token(client, "nobody@acme.test")), "Accept": "application/json"}
    for path in SEARCHES:
        assert_envelope(client.post(path, json={}, headers=headers), 403)
        assert_envelope(client.post(path, json={}, headers={"Accept": "application/json"}), 401)
    assert_envelope(client.put("/lcs/bulk/items", json={}, headers=headers), 403)


# --- tenant isolation ---------------------------------------------------------------------------


def test_other_tenant_ids_match_nothing(floor, other):
    a = floor.shipment([{"sku": "MUG", "quantity": 2}])
    hl = floor.handling_list(a["id"])
    p = floor.parcel(a["id"], a["all"][:1])
    probes = {
        "/lcs/search/shipments": [c("ids", a["id"])],
        "/lcs/search/parcels": [c("ids", p["id"], alias="values")],
        "/lcs/search/shipments/items": [c("shipment_ids", a["id"])],
        "/lcs/search/lists/items": [c("list_ids", hl["id"])],
        "/lcs/search/parcels/items": [c("parcel_ids", p["id"])],
    }
    for path, constraints in probes.items():
        mine = floor.post(path, constraints)
        theirs = other.post(path, constraints)
        assert mine.status_code == theirs.status_code == 200
        assert len(mine.get_json()) == 1 and mine.headers["x-count"] == "1", path
        assert theirs.get_json() == [] and theirs.headers["x-count"] == "0", path
        assert other.post(path).get_json() == []  # nothing of tenant A leaks without constraints either
    # bulk from the other tenant: accepted (matches nothing), changes nothing
    assert other.bulk({"is_handled": True, "lot_number": "L1"}, [c("ids", *a["all"])]).status_code == 204
    assert other.bulk({"parcel_id": p["id"]}, [c("skus", "MUG")]).status_code == 204  # its own: no units
    assert all(not floor.unit(x).is_handled and floor.unit(x).lot_number is None for x in a["all"])
    # and its parcels are not ours to use
    mine = other.shipment([{"sku": "MUG"}])
    assert_envelope(other.bulk({"parcel_id": p["id"]}, [c("ids", *mine["all"])]))


def test_service_level_isolation(app, floor, other):
    a = floor.shipment([{"sku": "MUG", "quantity": 2}])
    with app.app_context():
        from models import User

        outsider = db.session.scalars(sa.select(User).where(User.email == "picker@other.test")).one()
        actor = Actor.of(outsider)
        assert item_search.bulk_items(actor, bulk_command({"is_finished": True}, [c("skus", "MUG")])) == 0
        ids = LcsItemSearchConstraint.model_validate(c("ids", *a["all"]))
        assert db.session.scalars(item_search.matching_units(actor, [ids])).all() == []
    assert not any(floor.unit(x).is_finished for x in a["all"])


# --- bulk ------------------------------------------------------------------------------------------


def test_bulk_sets_parameters_idempotently(app, floor):
    a = floor.shipment([{"sku": "MUG", "quantity": 3}, {"sku": "CAP"}])
    hl = floor.handling_list(a["id"])
    p = floor.parcel(a["id"])
    mug = a["units"]["MUG"]

    r = floor.bulk({"is_handled": True}, [c("list_ids", hl["id"]), c("skus", "MUG")])
    assert r.status_code == 204 and r.get_data() == b""
    assert [floor.unit(x).is_handled for x in mug] == [True, True, True] and not floor.unit(
        a["units"]["CAP"][0]
    ).is_handled
    assert floor.bulk({"is_handled": True}, [c("list_ids", hl["id"]), c("skus", "MUG")]).status_code == 204  # retry
    with app.app_context():
        kinds = db.session.scalars(sa.select(ScanEvent.kind).where(ScanEvent.list_id == uuid.UUID(hl["id"]))).all()
        assert kinds == ["handled"] * 3  # one event per unit, the retry flipped nothing
        assert db.session.get(HandlingList, uuid.UUID(hl["id"])).started_at is not None

    assert (
        floor.bulk(
            {
                "position": "C3.1",
                "lot_number": "LOT-9",
                "expires_at": "2027-01-31T00:00:00Z",
                "is_finished": True,
                "parcel_id": p["id"],
            },
            [c("ids", *mug[:2], alias="values")],
        ).status_code
        == 204
    )
    unit = floor.unit(mug[0])
    assert (unit.position, unit.lot_number, unit.is_finished, str(unit.parcel_id)) == ("C3.1", "LOT-9", True, p["id"])
    assert unit.expires_at.year == 2027 and floor.unit(mug[2]).lot_number is None
    assert floor.bulk({"parcel_id": None, "lot_number": None}, [c("ids", mug[0])]).status_code == 204
    assert floor.unit(mug[0]).parcel_id is None and floor.unit(mug[0]).lot_number is None

    assert floor.bulk({"is_handled": False}, [c("ids", mug[2])]).status_code == 204
    assert floor.bulk({"is_missing": True}, [c("ids", mug[2])]).status_code == 204
    assert floor.bulk({"is_handled": True}, [c("ids", mug[2])]).status_code == 204  # missing units stay unhandled
    assert floor.unit(mug[2]).is_missing and not floor.unit(mug[2]).is_handled
    assert floor.bulk({"is_missing": False, "is_handled": True}, [c("ids", mug[2])]).status_code == 204
    assert floor.unit(mug[2]).is_handled and not floor.unit(mug[2]).is_missing


BAD_BULK = {
    "unknown parameter": ({"is_handled": True, "colour": "red"}, "ok"),
    "no parameters": ({}, "ok"),
    "parameters not an object": (["is_handled"], "ok"),
    "non-boolean flag": ({"is_handled": "yes"}, "ok"),
    "malformed parcel id": ({"parcel_id": "nope"}, "ok"),
    "unknown parcel": ({"parcel_id": str(uuid.uuid4())}, "ok"),
    "bad date": ({"expires_at": "tomorrow"}, "ok"),
    "handled and missing": ({"is_handled": True, "is_missing": True}, "ok"),
    "empty constraints": ({"is_handled": True}, []),
    "constraints not a list": ({"is_handled": True}, {"key": "ids"}),
    "unknown key": ({"is_handled": True}, [c("colour", "red")]),
    "unknown operator": ({"is_handled": True}, [c("skus", "MUG", operator="like")]),
    "malformed uuid": ({"is_handled": True}, [c("ids", "nope")]),
}


@pytest.mark.parametrize("case", sorted(BAD_BULK))
def test_bad_bulk_input_is_400_and_changes_nothing(floor, case):
    a = floor.shipment([{"sku": "MUG", "quantity": 2}])
    parameters, constraints = BAD_BULK[case]
    constraints = [c("shipment_ids", a["id"])] if constraints == "ok" else constraints
    assert_envelope(floor.bulk(parameters, constraints))
    assert not any(floor.unit(x).is_handled for x in a["all"])


def test_bulk_command_and_body_shape(floor):
    a = floor.shipment([{"sku": "MUG"}])
    ok = [c("shipment_ids", a["id"])]
    assert_envelope(floor.bulk({"is_handled": True}, ok, command="delete_everything"))
    r = floor.client.put(
        "/lcs/bulk/items", json={"parameters": {"is_handled": True}, "constraints": ok}, headers=floor.headers
    )
    assert assert_envelope(r)["errors"] == {"required": ["command"]}
    r = floor.client.put(
        "/lcs/bulk/items", json={"command": "set_parameters", "parameters": {"is_handled": True}}, headers=floor.headers
    )
    assert assert_envelope(r)["errors"] == {"required": ["constraints"]}
    assert_envelope(floor.client.put("/lcs/bulk/items", headers=floor.headers))
    assert_envelope(floor.client.put("/lcs/bulk/items", json=["x"], headers=floor.headers))
    assert (
        floor.client.put(
            "/api/lcs/bulk/items",
            headers=floor.headers,
            json={"command": "set_parameters", "parameters": {"is_handled": True}, "constraints": ok},
        ).status_code
        == 204
    )
    assert floor.unit(a["all"][0]).is_handled


def test_bulk_is_atomic_on_a_bad_parcel(floor):
    a = floor.shipment([{"sku": "MUG", "quantity": 2}])
    b = floor.shipment([{"sku": "MUG", "quantity": 1}])
    pa = floor.parcel(a["id"])
    # the parcel belongs to shipment a, the constraints also match b's unit → 400, nothing changed
    body = assert_envelope(
        floor.bulk({"position": "Z9", "is_finished": True, "parcel_id": pa["id"]}, [c("skus", "MUG")])
    )
    assert body["errors"] == {"invalid value": ["parameters.parcel_id"]}
    for x in a["all"] + b["all"]:
        unit = floor.unit(x)
        assert (unit.position, unit.is_finished, unit.parcel_id) == (None, False, None)
    # missing units cannot be boxed
    assert floor.bulk({"is_missing": True}, [c("ids", a["all"][0])]).status_code == 204
    assert_envelope(floor.bulk({"parcel_id": pa["id"], "position": "Z9"}, [c("shipment_ids", a["id"])]))
    assert floor.unit(a["all"][1]).position is None
    assert (
        floor.bulk({"parcel_id": pa["id"]}, [c("shipment_ids", a["id"]), c("is_missing", "false")]).status_code == 204
    )
    assert str(floor.unit(a["all"][1]).parcel_id) == pa["id"]


def test_bulk_refuses_lists_not_active_with_409(app, floor):
    a = floor.shipment([{"sku": "MUG", "quantity": 2}])
    b = floor.shipment([{"sku": "MUG"}])
    hl = floor.handling_list(a["id"])
    with app.app_context():
        lists.set_state(SYSTEM, hl["id"], LcsHandlingListUpdate(is_on_hold=True))
    body = assert_envelope(floor.bulk({"is_handled": True}, [c("skus", "MUG")]), 409)
    assert hl["number"] in body["message"] and "on hold" in body["message"]
    assert not any(floor.unit(x).is_handled for x in a["all"] + b["all"])  # b's unit untouched too

    with app.app_context():
        lists.set_state(SYSTEM, hl["id"], LcsHandlingListUpdate(is_on_hold=False))
    assert floor.bulk({"is_handled": True}, [c("list_ids", hl["id"])]).status_code == 204
    with app.app_context():  # the command that handled the last open unit finished the list (seed)
        assert lists.get_list(SYSTEM, hl["id"]).is_finished is True
    body = assert_envelope(floor.bulk({"lot_number": "L2"}, [c("list_ids", hl["id"])]), 409)
    assert hl["number"] in body["message"] and "finished" in body["message"]
    # packing follows picking: boxing the units of a finished list is allowed
    p = floor.parcel(a["id"])
    assert floor.bulk({"parcel_id": p["id"]}, [c("list_ids", hl["id"])]).status_code == 204
    assert all(str(floor.unit(x).parcel_id) == p["id"] for x in a["all"])
    # … but not into (or out of) a parcel in transit
    with app.app_context():
        parcels.mark_transit(SYSTEM, p["id"])
    assert_envelope(floor.bulk({"parcel_id": None}, [c("list_ids", hl["id"])]), 409)
    p2 = floor.parcel(b["id"], b["all"])
    with app.app_context():
        parcels.mark_transit(SYSTEM, p2["id"])
    body = assert_envelope(floor.bulk({"parcel_id": p2["id"]}, [c("ids", *b["all"])]), 409)
    assert p2["number"] in body["message"]


def test_bulk_refuses_canceled_shipments(app, floor):
    a = floor.shipment([{"sku": "MUG"}])
    with app.app_context():
        shipments.cancel_shipment(SYSTEM, a["id"])
    body = assert_envelope(floor.bulk({"is_finished": True}, [c("ids", *a["all"])]), 409)
    assert a["number"] in body["message"]


def test_bulk_service_raises_domain_errors(app, floor):
    a = floor.shipment([{"sku": "MUG"}])
    with app.app_context():
        with pytest.raises(ValidationFailed):
            item_search.bulk_items(SYSTEM, bulk_command({"parcel_id": str(uuid.uuid4())}, [c("ids", *a["all"])]))
        hl = lists.create_list(SYSTEM, LcsHandlingModel(shipments=[LcsHandlingModelShipments(id=a["id"])]))
        lists.set_state(SYSTEM, hl.id, LcsHandlingListUpdate(is_on_hold=True))
        with pytest.raises(Conflict):
            item_search.bulk_items(SYSTEM, bulk_command({"is_handled": True}, [c("ids", *a["all"])]))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Shipment)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Parcel)) == 0


def test_concurrent_bulk_handles_each_unit_once(app, floor):
    """Several callers set the same units handled at once: every unit flips once, one event each."""
    a = floor.shipment([{"sku": "MUG", "quantity": 20}])
    hl = floor.handling_list(a["id"])
    statuses, errors = [], []

    def worker():
        client = app.test_client()
        try:
            for _ in range(3):
                r = client.put(
                    "/lcs/bulk/items",
                    headers=floor.headers,
                    json={
                        "command": "set_parameters",
                        "parameters": {"is_handled": True},
                        "constraints": [c("list_ids", hl["id"])],
                    },
                )
                statuses.append(r.status_code)
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and statuses and all(s == 204 or s == 409 for s in statuses), statuses
    assert 204 in statuses
    with app.app_context():
        handled = db.session.scalar(
            sa.select(sa.func.count()).select_from(ShipmentItem).where(ShipmentItem.is_handled.is_(True))
        )
        events = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ScanEvent)
            .where(ScanEvent.list_id == uuid.UUID(hl["id"]), ScanEvent.kind == "handled")
        )
    assert handled == 20 and events == 20


def test_item_constraints_follow_the_parcel(app, floor):
    """is_labeled / is_in_transit of a unit are its parcel's."""
    a = floor.shipment([{"sku": "MUG", "quantity": 3}])
    mug = a["units"]["MUG"]
    p = floor.parcel(a["id"], mug[:2])

    def ids(*constraints):
        rows = floor.post("/lcs/search/shipments/items", list(constraints)).get_json()
        return sorted(i for row in rows for i in row["ids"])

    assert ids(c("is_labeled", "false")) == sorted(mug) and ids(c("is_labeled", "true")) == []
    with app.app_context():
        db.session.execute(
            sa.update(Parcel)
            .where(Parcel.id == uuid.UUID(p["id"]))
            .values(label={"file_id": "f1", "reference": "R", "label_text": "x", "requested_at": None})
        )
        db.session.commit()
        parcels.mark_transit(SYSTEM, p["id"])
    assert ids(c("is_labeled", "true")) == ids(c("is_in_transit", "1")) == sorted(mug[:2])
    assert ids(c("is_labeled", "false")) == ids(c("is_in_transit", "0")) == [mug[2]]
    assert [x["id"] for x in floor.post("/lcs/search/shipments", [c("is_labeled", "true")]).get_json()] == [a["id"]]


def test_organization_limited_caller_sees_only_its_shipments_units(app, client, floor):
    """Units and parcels carry no organization: they follow their shipment's."""
    mine = floor.shipment([{"sku": "MUG"}])
    theirs = floor.shipment([{"sku": "CAP"}])
    floor.parcel(theirs["id"], theirs["all"])
    with app.app_context():
        north, south = (
            new_organization(floor.tenant, "North", "north"),
            new_organization(floor.tenant, "South", "south"),
        )
        for shipment, org in ((mine, north), (theirs, south)):
            db.session.execute(
                sa.update(Shipment).where(Shipment.id == uuid.UUID(shipment["id"])).values(organization_id=org.id)
            )
        db.session.commit()
        user = users.create_user(SYSTEM, email="north@acme.test", password=PASSWORD, tenant_id=floor.tenant)
        users.update_user_acl(SYSTEM, user.id, features=["lcs.*"], is_super_admin=False, organizations=[str(north.id)])
    headers = {**bearer(api_token(client, "north@acme.test")), "Accept": "application/json"}
    seen = {path: client.post(path, json={}, headers=headers).get_json() for path in SEARCHES}
    assert [x["id"] for x in seen["/lcs/search/shipments"]] == [mine["id"]]
    assert [x["ids"] for x in seen["/lcs/search/shipments/items"]] == [mine["all"]]
    assert seen["/lcs/search/parcels"] == seen["/lcs/search/parcels/items"] == []
    assert len(floor.post("/lcs/search/parcels").get_json()) == 1  # the tenant-wide picker sees it
    r = client.put(
        "/lcs/bulk/items",
        headers=headers,
        json={
            "command": "set_parameters",
            "parameters": {"is_finished": True},
            "constraints": [c("skus", "MUG", "CAP")],
        },
    )
    assert r.status_code == 204
    assert floor.unit(mine["all"][0]).is_finished and not floor.unit(theirs["all"][0]).is_finished


# --- the declaration -----------------------------------------------------------------------------


def test_document_declares_search_and_bulk(client):
    """Every ``/lcs/search/*`` (and the list search) has a request body ``{constraints:
    [{key, operator, values}]}`` whose keys are the endpoint's, the paging headers asked
    and answered; the bulk command answers 204 without a body."""
    doc = client.get("/api/openapi.json").get_json()
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    bodies = {
        "/api/lcs/search/shipments": "LcsShipmentSearch",
        "/api/lcs/search/parcels": "LcsParcelSearch",
        "/api/lcs/search/shipments/items": "LcsItemSearch",
        "/api/lcs/search/lists/items": "LcsItemSearch",
        "/api/lcs/search/parcels/items": "LcsItemSearch",
        "/api/lcs/lists/search": "LcsListSearch",
    }
    for path, name in bodies.items():
        op = paths[path]["post"]
        assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/" + name), path
        constraint = schemas[schemas[name]["properties"]["constraints"]["items"]["$ref"].rsplit("/", 1)[1]]
        assert {"key", "operator", "values"} <= set(constraint["properties"]), path
        assert constraint["properties"]["values"]["items"]["type"] == "string"
        assert {("x-page", "header"), ("x-page-size", "header")} <= {(p["name"], p["in"]) for p in op["parameters"]}
        assert {"x-count", "x-page"} <= set(op["responses"]["200"]["headers"]), path
        assert "201" not in op["responses"]
    item_keys = schemas["LcsItemSearchConstraint"]["properties"]["key"]["enum"]
    assert set(item_keys) == set(item_search.ITEM_FIELDS)
    assert set(schemas["LcsShipmentSearchConstraint"]["properties"]["key"]["enum"]) == set(item_search.SHIPMENT_FIELDS)
    assert set(schemas["LcsParcelSearchConstraint"]["properties"]["key"]["enum"]) == set(item_search.PARCEL_FIELDS)
    assert set(schemas["LcsListSearchConstraint"]["properties"]["key"]["enum"]) == set(lists.SEARCH_FIELDS)
    bulk = paths["/api/lcs/bulk/items"]["put"]
    assert bulk["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/LcsBulkItemsCommand")
    assert [k for k in bulk["responses"] if k.startswith("2")] == ["204"] and "content" not in bulk["responses"]["204"]
    assert set(schemas["LcsBulkParameters"]["properties"]) == {
        "position",
        "parcel_id",
        "is_handled",
        "is_finished",
        "is_missing",
        "lot_number",
        "expires_at",
    }


@pytest.mark.parametrize(
    "values, found",
    [(["true"], True), (["1"], True), ([True], True), (["false"], False), (["0"], False), ([False], False)],
)
def test_values_are_strings_booleans_spelled(floor, values, found):
    """``value`` or ``values``; booleans as "true"/"false"/"1"/"0" (a JSON boolean reads the same)."""
    a = floor.shipment([{"sku": "MUG"}])
    for alias in ("value", "values"):
        rows = floor.post("/lcs/search/shipments", [{"key": "is_outbound", "operator": "in", alias: values}]).get_json()
        assert ([x["id"] for x in rows] == [a["id"]]) is found, (alias, values)
    for bad in ([1], [None], [["true"]], [{"v": 1}], "true"):
        assert_envelope(floor.post("/lcs/search/shipments", [{"key": "is_outbound", "values": bad}]))
