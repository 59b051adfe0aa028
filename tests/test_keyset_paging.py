"""Keyset paging of the family B lists (issue #20): ``x-page`` takes a page number or the
previous answer's ``x-next-page`` token; a token continues after that page's last row, so a
walk by tokens sees every row once — also when rows share a ``created_at`` and while new
rows arrive — and a deep page is an index range, not an OFFSET (``EXPLAIN`` checked)."""

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

from models import Parcel, Scope, Shipment, ShipmentItem, db
from models.base import LIKE_ESCAPE
from services.logistics import shipments as shipments_svc
from tests.support import api_token, bearer, new_list, new_shipment


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


def _get(client, h, path, page=None, size=2, method="GET", body=None):
    headers = {**h, "x-page-size": str(size)}
    if page is not None:
        headers["x-page"] = str(page)
    r = client.open(path, method=method, headers=headers, json=body)
    assert r.status_code == 200, r.get_json()
    return r


def walk(client, h, path, size=2, method="GET", body=None) -> tuple[list[str], list]:
    """Every page by tokens: the ids in order, and the answers' x-page headers."""
    ids, pages, token = [], [], None
    for _ in range(50):
        r = _get(client, h, path, token, size, method, body)
        ids += [row["id"] for row in r.get_json()]
        pages.append(r.headers["x-page"])
        token = r.headers.get("x-next-page")
        if token is None:
            return ids, pages
    raise AssertionError("the tokens never ended")


@pytest.fixture()
def seven(client, h, ctx):
    """Seven shipments; four of them share one created_at (the id breaks the tie)."""
    ids = [new_shipment(client, h, order_id=f"ORD-{n}")["id"] for n in range(7)]
    same = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    db.session.execute(
        sa.update(Shipment).where(Shipment.id.in_([uuid.UUID(i) for i in ids[1:5]])).values(created_at=same)
    )
    db.session.commit()
    return ids


def by_numbers(client, h, path, size=2, method="GET", body=None) -> list[str]:
    ids, page = [], 1
    while rows := _get(client, h, path, page, size, method, body).get_json():
        ids += [row["id"] for row in rows]
        page += 1
    return ids


class TestShipmentList:
    def test_tokens_walk_every_row_once_in_the_numbered_order(self, client, h, seven):
        ids, pages = walk(client, h, "/lcs/shipments")
        assert sorted(ids) == sorted(seven) and len(ids) == 7
        assert ids == by_numbers(client, h, "/lcs/shipments")
        assert pages == ["1", "2", "3", "4"]  # a token's answer says which page it is

    def test_the_last_page_has_no_token_and_a_number_request_gets_one(self, client, h, seven):
        r = _get(client, h, "/lcs/shipments", 2, size=3)
        assert r.headers["x-count"] == "7" and r.headers["x-page"] == "2" and r.headers["x-next-page"]
        last = _get(client, h, "/lcs/shipments", r.headers["x-next-page"], size=3)
        assert last.headers["x-page"] == "3" and len(last.get_json()) == 1 and "x-next-page" not in last.headers
        assert "x-next-page" not in _get(client, h, "/lcs/shipments", 1, size=7).headers

    def test_a_token_does_not_shift_when_new_rows_arrive(self, client, h, seven):
        first = _get(client, h, "/lcs/shipments", 1, size=3)
        token = first.headers["x-next-page"]
        second = [row["id"] for row in _get(client, h, "/lcs/shipments", token, size=3).get_json()]
        new_shipment(client, h)  # lands on page 1: page numbers now shift by one
        assert [row["id"] for row in _get(client, h, "/lcs/shipments", token, size=3).get_json()] == second
        shifted = [row["id"] for row in _get(client, h, "/lcs/shipments", 2, size=3).get_json()]
        assert shifted != second and shifted[1:] == second[:2]

    def test_filters_and_search_keep_their_rows_across_tokens(self, client, h, seven):
        ids, _ = walk(client, h, "/lcs/shipments?search=ord-&is_canceled=false")
        assert len(ids) == 7
        client.delete(f"/lcs/shipments/{seven[2]}", headers=h)
        ids, _ = walk(client, h, "/lcs/shipments?is_canceled=false")
        assert len(ids) == 6 and seven[2] not in ids

    @pytest.mark.parametrize(
        "bad",
        ["kAAAAAAAAAAA", "k" + "x" * 20, "0", "-1", "1000001", "abc", "kW10"],
    )
    def test_a_token_the_list_did_not_answer_is_a_400(self, client, h, seven, bad):
        r = client.get("/lcs/shipments", headers={**h, "x-page": bad})
        assert r.status_code == 400, (bad, r.get_json())
        assert r.get_json()["errors"] or r.get_json()["message"]

    def test_a_token_of_another_list_is_a_400(self, client, h, seven):
        list_id = new_list(client, h, seven[0])
        new_list(client, h, seven[1])
        new_list(client, h, seven[3])
        token = _get(client, h, "/lcs/lists", 1, size=1).headers["x-next-page"]
        assert client.get("/lcs/shipments", headers={**h, "x-page": token}).status_code == 400
        assert list_id


class TestOtherLists:
    def test_search_shipments_walks_by_tokens(self, client, h, seven):
        body = {"constraints": [{"key": "is_outbound", "operator": "in", "values": ["true"]}]}
        ids, pages = walk(client, h, "/lcs/search/shipments", method="POST", body=body)
        assert ids == by_numbers(client, h, "/lcs/search/shipments", method="POST", body=body)
        assert len(ids) == 7 and pages[-1] == "4"

    def test_handling_lists_and_parcels_walk_by_tokens(self, client, h, seven, ctx):
        for sid in seven[:5]:
            new_list(client, h, sid)
        ids, _ = walk(client, h, "/lcs/lists?state=open")
        assert len(set(ids)) == 5 == len(ids)
        for sid in seven[:3]:
            detail = client.get(f"/lcs/shipments/{sid}", headers=h).get_json()
            r = client.post(
                "/lcs/parcels", json={"shipment_id": sid, "item_ids": [detail["items"][0]["id"]]}, headers=h
            )
            assert r.status_code == 200, r.get_json()
        same = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
        db.session.execute(sa.update(Parcel).values(created_at=same))  # all tied: the id decides
        db.session.commit()
        ids, _ = walk(client, h, "/lcs/parcels")
        assert len(set(ids)) == 3 == len(ids) and ids == by_numbers(client, h, "/lcs/parcels")

    def test_lists_without_a_keyset_take_a_numbers_token(self, client, h, seven):
        r = client.post("/lcs/search/shipments/items", json={"constraints": []}, headers={**h, "x-page-size": "2"})
        assert r.status_code == 200, r.get_json()
        token = r.headers["x-next-page"]
        again = client.post("/lcs/search/shipments/items", json={"constraints": []}, headers={**h, "x-page": token})
        assert again.status_code == 200 and again.headers["x-page"] == "2"


class Explain(Executable, ClauseElement):
    """``EXPLAIN`` (SQLite: ``EXPLAIN QUERY PLAN``) of a statement, run with its own binds."""

    inherit_cache = False

    def __init__(self, statement):
        self.statement = statement


@compiles(Explain)
def _explain_sql(element, compiler, **kw):
    prefix = "EXPLAIN QUERY PLAN " if compiler.dialect.name == "sqlite" else "EXPLAIN "
    return prefix + compiler.process(element.statement, **kw)


def plan_of(stmt, params) -> str:
    """The plan as text. On PostgreSQL sequential scans and sorts are priced out: the tables
    of a test are tiny (any plan is as cheap as another), and the question is whether an
    index *can* serve the query as written, in its order."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off")
    rows = conn.execute(Explain(stmt), params).cursor.fetchall()  # raw: the statement's own result types do not apply
    return "\n".join(" ".join(str(c) for c in row) for row in rows)


def test_explain_a_deep_page_is_an_index_range(seven, ctx):
    """The shipment list's statement after a token: one range of the (tenant, created_at, id)
    index from the token's row — no OFFSET over the rows before it."""
    tenant_id = db.session.scalar(sa.select(Shipment.tenant_id).limit(1))
    stmt = shipments_svc._page_statement(Scope(tenant_id), False, (), keyed=True)
    params = {"limit": 26, "offset": 0, "after_at": datetime(2026, 12, 2, tzinfo=UTC), "after_id": uuid.uuid4()}
    plan = plan_of(stmt, params)
    assert "ix_lcs_shipments_tenant_newest" in plan, plan
    if db.engine.dialect.name == "postgresql":
        assert (
            "ROW(lcs_shipments.created_at, lcs_shipments.id) <"
            in plan.replace("(created_at, id)", "(lcs_shipments.created_at, lcs_shipments.id)")
            or "Index Cond" in plan
        ), plan
        assert "Seq Scan on lcs_shipments" not in plan, plan
    db.session.rollback()


def test_explain_the_first_page_reads_the_index_in_order(seven, ctx):
    tenant_id = db.session.scalar(sa.select(Shipment.tenant_id).limit(1))
    plan = plan_of(shipments_svc._page_statement(Scope(tenant_id), False, ()), {"limit": 26, "offset": 0})
    assert "ix_lcs_shipments_tenant_newest" in plan, plan
    db.session.rollback()


def test_explain_a_scan_finds_its_units_by_the_list_and_sku_index(client, h, seven, ctx):
    list_id = uuid.UUID(new_list(client, h, seven[0]))
    u = ShipmentItem
    stmt = (
        sa.select(u)
        .where(u.list_id == list_id, u.sku.in_(["SKU-A"]), u.is_handled.is_(False), u.is_missing.is_(False))
        .order_by(u.rank)
        .limit(5)
    )
    plan = plan_of(stmt, {})
    assert "Seq Scan" not in plan and "SCAN lcs_shipment_items" not in plan, plan  # an index serves it
    db.session.rollback()


def test_the_screens_next_button_follows_the_token(client, h, seven):
    """People page the same way: the htmx pager's Next sends the answer's token."""
    hx = {**h, "Accept": "text/html", "HX-Request": "true", "HX-Target": "shipment-results", "x-page-size": "3"}
    first = client.get("/lcs/shipments", headers=hx)
    token = first.headers["x-next-page"]
    html = first.get_data(as_text=True)
    assert f'"x-page": "{token}"' in html and "Page 1 of 3" in html
    second = client.get("/lcs/shipments", headers={**hx, "x-page": token}).get_data(as_text=True)
    assert "Page 2 of 3" in second and '"x-page": "1"' in second  # Previous goes back by number
    expected = [row["number"] for row in _get(client, h, "/lcs/shipments", 2, size=3).get_json()]
    assert all(number in second for number in expected)


def test_explain_the_text_search_reads_the_trigram_index(seven, ctx):
    """The list's search predicate (``search_text LIKE '%…%'``, what its count costs) on
    PostgreSQL: the GIN trigram index, not every row."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's (pg_trgm); SQLite scans")
    stmt = sa.select(sa.func.count()).where(Shipment.search_text.like(sa.bindparam("pattern"), escape=LIKE_ESCAPE))
    plan = plan_of(stmt, {"pattern": "%ord-12%"})
    assert "ix_lcs_shipments_search_trgm" in plan, plan
    db.session.rollback()


def test_explain_an_outbound_search_counts_from_an_index(seven, ctx):
    """``x-count`` of a search for outbound shipments: from the (tenant_id, is_outbound) index."""
    from types import SimpleNamespace

    from schemas.lcs_search import LcsShipmentSearchConstraint
    from services.logistics import item_search

    tenant_id = db.session.scalar(sa.select(Shipment.tenant_id).limit(1))
    outbound = LcsShipmentSearchConstraint.model_validate({"key": "is_outbound", "operator": "in", "values": ["true"]})
    stmt = item_search.shipments_select(SimpleNamespace(scope=Scope(tenant_id)), [outbound])
    if db.engine.dialect.name == "postgresql":  # a count needs no row: only an index that covers it will do
        db.session.connection().exec_driver_sql("SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off")
    plan = plan_of(sa.select(sa.func.count()).select_from(stmt.subquery()), {})
    assert "ix_lcs_shipments_tenant_outbound" in plan, plan
    db.session.rollback()
