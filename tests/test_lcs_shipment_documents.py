"""The last two seed shipment routes — PUT /lcs/shipments/{id}/positions (refresh from the
location's SKU positions, open lists re-ranked) and POST /lcs/shipments/{id}/invoice (the
commercial invoice PDF for customs) — the products' customs fields behind the invoice, and
the shipment status shown on the shipments table and the shipment page."""

import io
import re
import uuid

import pytest

from models import Attachment, AttachmentPartition, db
from services import roles as roles_svc
from services.logistics.products import money
from services.logistics.shipments import status_of
from tests.support import (
    BROWSER,
    TO,
    api_token,
    bearer,
    browser_login,
    new_list,
    new_shipment,
    parcel,
    pdftotext,
    scan,
    shipment,
)


@pytest.fixture(autouse=True)
def _files(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENTS_ROOT", str(tmp_path / "files"))
    monkeypatch.setitem(app.config, "TASKS_EAGER", True)


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


@pytest.fixture()
def hx(client, admin):
    """A signed-in browser's htmx headers."""
    return {**BROWSER, "HX-Request": "true", "X-CSRFToken": browser_login(client, admin)}


@pytest.fixture()
def other_h(make, client):
    """An administrator of another tenant."""
    other = make.tenant("Other")
    make.member(other, "boss@other.test", roles_svc.ADMINISTRATOR)
    return bearer(api_token(client, "boss@other.test"))


def ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:600])
    return r.get_json()


# --- PUT /lcs/shipments/{id}/positions ---------------------------------------------------------


def location(client, h, places: dict[str, str]) -> str:
    """A location with positions A-01 < B-01 < C-01 in walk order and ``places`` (SKU → code)."""
    loc = ok(client.post("/lcs/locations", json={"name": "DC Rotterdam"}, headers=h))["id"]
    ok(client.put(f"/lcs/locations/{loc}/positions", json=["A-01", "B-01", "C-01"], headers=h))
    place(client, h, loc, places)
    return loc


def place(client, h, loc, places: dict[str, str]) -> None:
    body = [{"sku": sku, "position": code} for sku, code in places.items()]
    assert ok(client.put(f"/lcs/locations/{loc}/skus", json=body, headers=h))["failed"] == 0


def located_shipment(client, h, loc):
    return new_shipment(
        client,
        h,
        items=[{"sku": "SKU-A", "quantity": 2, "description": "Mug"}, {"sku": "SKU-B", "description": "Plate"}],
        addressing={"to": {"address": TO}, "from": {"entity_type": "location", "entity_id": loc}},
    )


def positions(client, h, s) -> list[tuple[str, str | None, bool]]:
    return [
        (u["sku"], u["position"], u["is_handled"])
        for u in ok(client.get(f"/lcs/shipments/{s['id']}", headers=h))["items"]
    ]


def walk(client, h, list_id) -> list[tuple[str, str, int]]:
    return [
        (i["position"], i["sku"], i["quantity"]) for i in ok(client.get(f"/lcs/lists/{list_id}", headers=h))["items"]
    ]


class TestRefreshPositions:
    def test_open_units_take_the_new_positions_and_the_open_list_reranks(self, client, h):
        loc = location(client, h, {"SKU-A": "C-01", "SKU-B": "A-01"})
        s = located_shipment(client, h, loc)
        list_id = new_list(client, h, s["id"])
        assert walk(client, h, list_id) == [("A-01", "SKU-B", 1), ("C-01", "SKU-A", 2)]
        assert scan(client, h, list_id, "SKU-B")["status"] in ("ok", "done")  # SKU-B picked at A-01

        place(client, h, loc, {"SKU-A": "A-01", "SKU-B": "C-01"})  # the stock moved
        r = client.put(f"/lcs/shipments/{s['id']}/positions", headers=h)
        assert r.status_code == 204 and r.data == b""
        # SKU-A (open) moved to A-01; SKU-B was picked at A-01 and keeps that
        assert positions(client, h, s) == [("SKU-A", "A-01", False), ("SKU-A", "A-01", False), ("SKU-B", "A-01", True)]
        assert walk(client, h, list_id) == [("A-01", "SKU-A", 2), ("A-01", "SKU-B", 1)]
        detail = ok(client.get(f"/lcs/lists/{list_id}", headers=h))
        assert [i["rank"] for i in detail["items"]] == [0, 1]

    def test_a_new_walk_order_reranks_the_list(self, client, h):
        loc = location(client, h, {"SKU-A": "C-01", "SKU-B": "A-01"})
        s = located_shipment(client, h, loc)
        list_id = new_list(client, h, s["id"])
        ok(client.put(f"/lcs/locations/{loc}/positions", json=["C-01", "B-01", "A-01"], headers=h))
        assert walk(client, h, list_id) == [("A-01", "SKU-B", 1), ("C-01", "SKU-A", 2)]  # not yet
        ok(client.put(f"/lcs/shipments/{s['id']}/positions", headers=h), 204)
        assert walk(client, h, list_id) == [("C-01", "SKU-A", 2), ("A-01", "SKU-B", 1)]

    def test_unknown_skus_keep_their_position_and_packed_units_are_left(self, client, h):
        loc = location(client, h, {"SKU-A": "B-01"})
        s = located_shipment(client, h, loc)
        assert positions(client, h, s) == [("SKU-A", None, False), ("SKU-A", None, False), ("SKU-B", None, False)]
        ok(client.put(f"/lcs/shipments/{s['id']}/positions", headers=h), 204)
        assert positions(client, h, s) == [("SKU-A", "B-01", False), ("SKU-A", "B-01", False), ("SKU-B", None, False)]
        list_id = new_list(client, h, s["id"])
        scan(client, h, list_id, "SKU-A")
        first = next(u for u in ok(client.get(f"/lcs/shipments/{s['id']}", headers=h))["items"] if u["is_handled"])
        parcel(client, h, s, units=[first["id"]])  # one SKU-A picked and packed at B-01
        place(client, h, loc, {"SKU-A": "C-01", "SKU-B": "A-01"})
        assert client.put(f"/lcs/shipments/{s['id']}/positions", headers=h).status_code == 204
        assert positions(client, h, s) == [("SKU-A", "B-01", True), ("SKU-A", "C-01", False), ("SKU-B", "A-01", False)]

    def test_refusals(self, client, h, other_h):
        loc = location(client, h, {"SKU-A": "A-01"})
        s = located_shipment(client, h, loc)
        assert client.put(f"/lcs/shipments/{s['id']}/positions", headers=other_h).status_code == 404
        assert positions(client, h, s)[0] == ("SKU-A", None, False)  # the other tenant changed nothing
        assert client.put("/lcs/shipments/not-a-uuid/positions", headers=h).status_code == 404
        assert client.delete(f"/lcs/shipments/{s['id']}", headers=h).status_code == 204
        r = client.put(f"/lcs/shipments/{s['id']}/positions", headers=h)
        assert r.status_code == 400 and "canceled" in r.get_json()["message"]

    def test_page_button_and_htmx_fragment(self, client, h, hx):
        loc = location(client, h, {"SKU-A": "C-01", "SKU-B": "B-01"})
        s = located_shipment(client, h, loc)
        page = client.get(f"/lcs/shipments/{s['id']}", headers=BROWSER).get_data(as_text=True)
        assert f'hx-put="/lcs/shipments/{s["id"]}/positions"' in page and "Refresh positions" in page
        r = client.put(f"/lcs/shipments/{s['id']}/positions", headers={**hx, "HX-Target": "shipment-units"})
        fragment = r.get_data(as_text=True)
        assert r.status_code == 200 and fragment.lstrip().startswith('<div id="shipment-units"')
        assert "<html" not in fragment and fragment.count("C-01") == 2 and "B-01" in fragment
        assert "Positions refreshed (units moved: 3)" in r.headers["HX-Trigger"]


# --- POST /lcs/shipments/{id}/invoice -------------------------------------------------------------


def customs_products(client, h):
    for body in (
        {
            "sku": "SKU-A",
            "hs_code": "6912.00",
            "weight": 350,
            "value": 1295,
            "currency": "eur",
            "country_of_origin": "pt",
        },
        {
            "sku": "SKU-B",
            "hs_code": "6911.10",
            "weight": 500,
            "value": 2450,
            "currency": "EUR",
            "country_of_origin": "CN",
        },
    ):
        ok(client.post("/lcs/products", json=body, headers=h))


def request_invoice(client, h, s) -> str:
    r = client.post(f"/lcs/shipments/{s['id']}/invoice", headers=h)
    assert r.status_code == 204 and r.data == b"", r.get_data(as_text=True)
    return r.headers["x-task-id"]


class TestInvoice:
    def test_task_stores_the_pdf_with_the_shipment(self, app, client, h, tmp_path):
        customs_products(client, h)
        s = shipment(client, h)
        task = ok(client.get(f"/mes/tasks/{request_invoice(client, h, s)}", headers=h))
        assert task["status"] == "done" and task["result"]
        with app.app_context():
            att = db.session.get(Attachment, uuid.UUID(task["result"]))
            assert (att.entity_id, att.record_id, att.file_name) == ("lcs:shipment", s["id"], f"INV-{s['number']}.pdf")
            partition = db.session.get(AttachmentPartition, att.partition_id)
            assert partition.code == "documents"
        r = client.get(f"/lcs/shipments/{s['id']}/invoice.pdf", headers=h)
        assert r.mimetype == "application/pdf" and r.headers["ETag"]  # the stored one
        text = pdftotext(r.data, tmp_path)
        assert "Commercial invoice" in text and f"INV-{s['number']}" in text
        assert "Acme Logistics" in text and "Rotterdam" in text  # seller: the from address
        assert "Ann Jansen" in text and "Amsterdam" in text  # buyer: the to address
        assert re.search(r"SKU-A\s+Mug\s+6912\.00\s+PT\s+2\s+350 g\s+12\.95 EUR\s+25\.90 EUR", text), text
        assert re.search(r"SKU-B\s+Plate\s+6911\.10\s+CN\s+1\s+500 g\s+24\.50 EUR\s+24\.50 EUR", text), text
        assert re.search(r"Total\s+3\s+1\.20 kg\s+50\.40 EUR", text), text
        assert "Incomplete" not in text

    def test_missing_customs_data_is_marked_and_missing_units_left_out(self, client, h, tmp_path):
        ok(client.post("/lcs/products", json={"sku": "SKU-A", "value": 500, "currency": "USD"}, headers=h))
        s = shipment(client, h)
        b = next(u for u in s["items"] if u["sku"] == "SKU-B")
        client.put(f"/lcs/shipments/{s['id']}/items/missing", json=[{"id": b["id"], "is_missing": True}], headers=h)
        html = client.get(f"/lcs/shipments/{s['id']}/invoice.pdf?format=html", headers=h).get_data(as_text=True)
        assert "SKU-A" in html and "SKU-B" not in html and "10.00 USD" in html
        assert "Incomplete: a line has no weight on its product" in html
        text = pdftotext(client.get(f"/lcs/shipments/{s['id']}/invoice.pdf", headers=h).data, tmp_path)
        assert "10.00 USD" in text  # rendered now: no invoice was requested

    def test_htmx_progress_and_page_button(self, client, h, hx):
        s = shipment(client, h)
        page = client.get(f"/lcs/shipments/{s['id']}", headers=BROWSER).get_data(as_text=True)
        assert f'hx-post="/lcs/shipments/{s["id"]}/invoice"' in page and "Request invoice" in page
        assert f"/lcs/shipments/{s['id']}/invoice.pdf" in page
        r = client.post(f"/lcs/shipments/{s['id']}/invoice", headers=hx)
        assert r.status_code == 200 and r.headers["x-task-id"]
        fragment = r.get_data(as_text=True)
        assert "<html" not in fragment and "Open PDF" in fragment
        pdf = client.get(f"/mes/tasks/{r.headers['x-task-id']}/file", headers=BROWSER)
        assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")

    def test_refusals(self, client, h, other_h):
        s = shipment(client, h)
        assert client.post(f"/lcs/shipments/{s['id']}/invoice", headers=other_h).status_code == 404
        assert client.get(f"/lcs/shipments/{s['id']}/invoice.pdf", headers=other_h).status_code == 404
        client.delete(f"/lcs/shipments/{s['id']}", headers=h)
        r = client.post(f"/lcs/shipments/{s['id']}/invoice", headers=h)
        assert r.status_code == 400 and "canceled" in r.get_json()["message"]


# --- products: customs fields ---------------------------------------------------------------------


class TestProductCustoms:
    def test_json(self, client, h):
        p = ok(
            client.post(
                "/lcs/products",
                json={"sku": "MUG", "value": 1295, "currency": "eur", "country_of_origin": "pt"},
                headers=h,
            )
        )
        assert (p["value"], p["currency"], p["country_of_origin"]) == (1295, "EUR", "PT")
        p = ok(client.put(f"/lcs/products/{p['id']}", json={"currency": None, "value": 0}, headers=h))
        assert (p["value"], p["currency"], p["country_of_origin"]) == (0, None, "PT")
        for bad, path in (
            ({"value": -1}, "value"),
            ({"value": 1.5}, "value"),
            ({"currency": "EURO"}, "currency"),
            ({"country_of_origin": "PRT"}, "country_of_origin"),
        ):
            r = client.post("/lcs/products", json={"sku": "BAD", **bad}, headers=h)
            assert r.status_code == 400 and path in r.get_json()["errors"]["invalid value"], r.get_json()

    def test_form_page_and_htmx(self, client, h, hx):
        page = client.get("/lcs/products", headers=BROWSER).get_data(as_text=True)
        for name in ("value", "currency", "country_of_origin"):
            assert f'name="{name}"' in page
        form = {"sku": "MUG", "value": "1295", "currency": "eur", "country_of_origin": "pt", "weight": ""}
        r = client.post("/lcs/products", data=form, headers=hx)
        assert r.status_code == 200 and "MUG created" in r.get_data(as_text=True)
        (p,) = ok(client.get("/lcs/products", headers=h))
        assert (p["value"], p["currency"], p["country_of_origin"]) == (1295, "EUR", "PT")
        listed = client.get("/lcs/products", headers=BROWSER).get_data(as_text=True)
        assert "12.95 EUR" in listed and "origin PT" in listed
        r = client.put(
            f"/lcs/products/{p['id']}", data={"value": "", "currency": "", "country_of_origin": "CN"}, headers=hx
        )
        assert r.status_code == 200, r.get_data(as_text=True)
        p = ok(client.get(f"/lcs/products/{p['id']}", headers=h))
        assert (p["value"], p["currency"], p["country_of_origin"]) == (None, None, "CN")  # blank clears
        r = client.post("/lcs/products", data={"sku": "BAD", "currency": "EURO"}, headers=hx)
        shown = r.get_data(as_text=True)
        assert r.status_code == 422 and 'value="EURO"' in shown
        assert re.search(r'name="currency"[^>]*>\s*<small class="field-error"', shown), shown

    def test_import(self, client, h):
        csv = "sku,hs_code,weight,value,currency,origin\nMUG,6912.00,350,1295,EUR,PT\nPLATE,,,2450,usd,cn\n"
        r = client.post(
            "/lcs/products/import",
            data={"file": (io.BytesIO(csv.encode()), "p.csv")},
            content_type="multipart/form-data",
            headers=h,
        )
        assert ok(r) == {"created": 2, "updated": 0, "skipped": 0, "errors": []}
        rows = {p["sku"]: p for p in ok(client.get("/lcs/products", headers=h))}
        assert (rows["MUG"]["value"], rows["MUG"]["currency"], rows["MUG"]["country_of_origin"]) == (1295, "EUR", "PT")
        assert (rows["PLATE"]["value"], rows["PLATE"]["currency"], rows["PLATE"]["country_of_origin"]) == (
            2450,
            "USD",
            "CN",
        )
        r = client.post("/lcs/products/import", json=[{"sku": "MUG", "currency": "EU"}], headers=h)
        assert r.status_code == 400 and "rows.1.currency" in r.get_json()["errors"]["invalid value"]
        ok(client.post("/lcs/products/import", json=[{"sku": "MUG", "value": 999}], headers=h))
        mug = next(p for p in ok(client.get("/lcs/products", headers=h)) if p["sku"] == "MUG")
        assert (mug["value"], mug["currency"]) == (999, "EUR")  # absent fields kept


def test_money_by_minor_units():
    assert money(1295, "EUR") == "12.95 EUR"
    assert money(123456789, "USD") == "1,234,567.89 USD"
    assert money(1295, "JPY") == "1,295 JPY"
    assert money(1295, "KWD") == "1.295 KWD"
    assert money(None, "EUR") == "—"


# --- status ---------------------------------------------------------------------------------------


def test_status_of_flags():
    assert status_of({}) == "open"
    assert status_of({"is_listed": True}) == "listed"
    assert status_of({"is_listed": True, "is_handled": True}) == "picked"
    assert status_of({"is_handled": True, "is_boxed": True}) == "packed"
    assert status_of({"is_boxed": True, "is_labeled": True}) == "labeled"
    assert status_of({"is_labeled": True, "is_in_transit": True}) == "in transit"
    assert status_of({"is_in_transit": True, "is_finished": True}) == "finished"
    assert status_of({"is_listed": True, "is_canceled": True}) == "canceled"


def test_status_column_and_shipment_page(client, h, hx):
    fresh = new_shipment(client, h, items=[{"sku": "SKU-A"}])
    listed = new_shipment(client, h, items=[{"sku": "SKU-A"}])
    picked = new_shipment(client, h, items=[{"sku": "SKU-B"}])
    packed = new_shipment(client, h, items=[{"sku": "SKU-C"}])
    canceled = new_shipment(client, h, items=[{"sku": "SKU-A"}])
    new_list(client, h, listed["id"])
    picked_list = new_list(client, h, picked["id"], packed["id"])
    scan(client, h, picked_list, "SKU-B")
    scan(client, h, picked_list, "SKU-C")
    parcel(client, h, ok(client.get(f"/lcs/shipments/{packed['id']}", headers=h)))
    client.delete(f"/lcs/shipments/{canceled['id']}", headers=h)
    shipped = {}
    for word in ("labeled", "in transit", "finished"):  # packed without a list, then labelled
        shipped[word] = new_shipment(client, h, items=[{"sku": "SKU-D"}])
        p = parcel(client, h, shipped[word])
        assert client.post(f"/lcs/parcels/{p['id']}/label", headers=h).status_code == 204
        if word != "labeled":
            assert client.put(f"/lcs/parcels/{p['id']}/transit", headers=h).status_code == 204
        if word == "finished":
            assert client.put(f"/lcs/parcels/{p['id']}/finished", headers=h).status_code == 204
    expected = {
        fresh["id"]: "open",
        listed["id"]: "listed",
        picked["id"]: "picked",
        packed["id"]: "packed",
        canceled["id"]: "canceled",
        **{s["id"]: word for word, s in shipped.items()},
    }
    page = client.get("/lcs/shipments", headers=BROWSER).get_data(as_text=True)
    fragment = client.get("/lcs/shipments", headers={**hx, "HX-Target": "shipment-results"}).get_data(as_text=True)
    for html in (page, fragment):
        rows = dict(
            re.findall(r'<tr id="shipment-([0-9a-f-]+)">.*?class="status status-[a-z-]+">([a-z ]+)<', html, re.DOTALL)
        )
        assert rows == expected
    for sid, word in expected.items():
        detail = client.get(f"/lcs/shipments/{sid}", headers=BROWSER).get_data(as_text=True)
        assert f'Status <span class="status status-{word.replace(" ", "-")}">{word}</span>' in detail
    assert "status" not in ok(client.get("/lcs/shipments", headers=h))[0]  # not a seed field
