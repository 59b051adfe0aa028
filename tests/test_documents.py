"""PDF documents: parcel labels (content, page size, a GS1-128 that scans from the printed
page), packing slips, pick lists, batch labels, POST /cnt/html(/inline), the labelling
rules, and the restricted URL fetcher (no SSRF)."""

import base64
import re
import socket
import subprocess
import threading
import uuid

import pytest
from PIL import Image
from pyzbar import pyzbar

from models import Attachment, db
from services import documents, events
from services.events import Blocked
from tests.support import (
    BROWSER,
    MISSING_FEATURES,
    api_token,
    b64,
    bearer,
    browser_login,
    parcel,
    pdftotext,
    refusal,
    shipment,
)


@pytest.fixture(autouse=True)
def _files(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENTS_ROOT", str(tmp_path / "files"))
    monkeypatch.setitem(app.config, "TASKS_EAGER", True)


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


def method(client, h, **extra):
    r = client.post("/lcs/methods", json={"carrier_code": "postnl", "name": "PostNL Standard", **extra}, headers=h)
    assert r.status_code in (200, 201), r.get_json()
    return r.get_json()["id"]


def max_weight_rule(client, h):
    """Enable the shipped "parcel over method max weight" rule (the max-weight policy is a rule)."""
    client.post("/api/business_rules/rules/examples", headers=h)
    rules = client.get("/api/business_rules/rules?pageSize=100", headers=h).get_json()["items"]
    rule = next(r for r in rules if r["ruleId"] == "parcel-max-weight")
    r = client.put("/api/business_rules/rules", json={"id": rule["id"], "enabled": True}, headers=h)
    assert r.status_code == 200, r.get_json()


def request_label(client, h, parcel_id):
    r = client.post(f"/lcs/parcels/{parcel_id}/label", headers=h)
    assert r.status_code == 204, r.get_json()
    assert r.data == b""
    return r.headers["x-task-id"]


def pdf_pages_png(pdf: bytes, tmp_path, dpi=300) -> list[Image.Image]:
    path = tmp_path / "scan.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(path), str(tmp_path / "page")], check=True)
    return [Image.open(p) for p in sorted(tmp_path.glob("page-*.png"))]


def media_boxes(pdf: bytes, tmp_path=None) -> list[tuple[float, float]]:
    """Each page's MediaBox (width, height) in points, as poppler's ``pdfinfo -box`` reads it."""
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "boxes.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdfinfo", "-box", "-f", "1", "-l", "1000", str(path)], capture_output=True, check=True, text=True
    ).stdout
    return [(float(w), float(hh)) for w, hh in re.findall(r"MediaBox:\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s+([\d.]+)", out)]


class TestParcelLabel:
    def test_label_task_stores_the_pdf_and_fills_the_parcel(self, app, client, h, tmp_path):
        s = shipment(client, h, method(client, h, max_weight=5000))
        p = parcel(client, h, s, tracking_code="3SABC123", tracking_url="https://track.example/3SABC123")
        task_id = request_label(client, h, p["id"])
        t = client.get(f"/mes/tasks/{task_id}", headers=h).get_json()
        assert t["status"] == "done" and t["progress"] == 100, t
        row = client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()
        label = row["label"]
        assert set(label) == {"file_id", "reference", "label_text", "requested_at"}
        assert label["file_id"] == t["result"] and label["reference"] == "3SABC123"
        assert label["label_text"] == f"(00) {p['number']}"
        with app.app_context():
            att = db.session.get(Attachment, uuid.UUID(label["file_id"]))
            assert att.partition.code == "documents" and att.mime_type == "application/pdf"
            assert att.entity_id == "lcs:parcel" and att.record_id == p["id"]
        assert client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json()["is_labeled"] is True

        pdf = client.get(f"/lcs/parcels/{p['id']}/label.pdf", headers=h)
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        body = pdf.data
        # 100 × 150 mm: 283.46 × 425.2 pt
        assert [(round(w, 2), round(hh, 2)) for w, hh in media_boxes(body)] == [(283.46, 425.2)]
        text = pdftotext(body, tmp_path)
        for needle in (
            "Ann Jansen",
            "Damrak 1",
            "1012LG Amsterdam",
            "Acme Logistics",
            s["number"],
            "ORD-7",
            f"(00) {p['number']}",
            "Parcel 1 of 1",
            "1.25 kg",
            "PostNL Standard",
            "3SABC123",
        ):
            assert needle in text, (needle, text)
        # The printed page scans: GS1-128 with AI 00 + SSCC, and the tracking QR code.
        found = {(r.type, r.data) for r in pyzbar.decode(pdf_pages_png(body, tmp_path)[0])}
        assert ("CODE128", ("00" + p["number"]).encode()) in found
        assert ("QRCODE", b"https://track.example/3SABC123") in found

    def test_parcel_n_of_m_and_no_qr_without_tracking(self, client, h, tmp_path):
        s = shipment(client, h)
        first = parcel(client, h, s, units=[s["items"][0]["id"]], weight=400)
        second = parcel(client, h, s, units=[s["items"][1]["id"]], weight=600)
        request_label(client, h, second["id"])
        body = client.get(f"/lcs/parcels/{second['id']}/label.pdf", headers=h).data
        text = pdftotext(body, tmp_path)
        assert "Parcel 2 of 2" in text and "600 g" in text and "No shipping method" in text
        # issue 16 item 15: the recipient has its "TO" caption (as the sender its "FROM")
        assert re.search(r"^FROM\b", text, re.MULTILINE) and re.search(r"^TO\s*\n\s*Ann Jansen", text, re.MULTILINE), (
            text
        )
        codes = {r.type for r in pyzbar.decode(pdf_pages_png(body, tmp_path)[0])}
        assert codes == {"CODE128"}
        assert client.get(f"/lcs/parcels/{first['id']}/label.pdf", headers=h).status_code == 409  # not labelled yet

    def test_over_max_weight_is_refused_with_a_clear_message(self, client, h):
        max_weight_rule(client, h)
        s = shipment(client, h, method(client, h, max_weight=1000))
        p = parcel(client, h, s, weight=1500)
        r = client.post(f"/lcs/parcels/{p['id']}/label", headers=h)
        assert r.status_code == 422
        body = r.get_json()
        assert body["errors"] == {"blocked by rule": ["parcel-max-weight"]} and "1500 g" in body["message"]
        assert "1000 g" in body["message"] and "PostNL Standard" in body["message"]
        assert "x-task-id" not in r.headers
        assert client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()["label"]["file_id"] is None

    def test_needs_weight_and_units(self, client, h):
        s = shipment(client, h)
        empty = parcel(client, h, s, units=[], weight=100)
        assert client.post(f"/lcs/parcels/{empty['id']}/label", headers=h).get_json()["errors"] == {
            "invalid value": ["items"]
        }
        r = client.post("/lcs/parcels", json={"shipment_id": s["id"], "item_ids": [s["items"][0]["id"]]}, headers=h)
        unweighed = r.get_json()["id"]
        r = client.post(f"/lcs/parcels/{unweighed}/label", headers=h)
        assert r.status_code == 422 and "weigh" in r.get_json()["message"]

    def test_a_business_rule_can_block_labelling_and_hears_labeled(self, client, h):
        seen = []

        def listener(entity, event, data, context):
            seen.append((entity, event))
            if event == "labeling" and data["weight"] > 2000:
                raise Blocked("Parcels over 2 kg need a supervisor", rule_ids=["heavy"])

        events.subscribe("before", listener)
        events.subscribe("after", listener)
        try:
            s = shipment(client, h)
            heavy = parcel(client, h, s, units=[s["items"][0]["id"]], weight=2500)
            light = parcel(client, h, s, units=[s["items"][1]["id"]], weight=500)
            r = client.post(f"/lcs/parcels/{heavy['id']}/label", headers=h)
            assert r.status_code == 422 and r.get_json()["message"] == "Parcels over 2 kg need a supervisor"
            request_label(client, h, light["id"])
            assert ("lcs.parcel", "labeling") in seen and ("lcs.parcel", "labeled") in seen
        finally:
            events._listeners["before"].remove(listener)
            events._listeners["after"].remove(listener)

    def test_other_tenant_gets_404(self, make, client, h):
        s = shipment(client, h)
        p = parcel(client, h, s)
        other = make.tenant("Other")
        make.user(other, "o@other.test", super_admin=False)
        from services import roles as roles_svc

        make.member(other, "boss@other.test", roles_svc.ADMINISTRATOR)
        oh = bearer(api_token(client, "boss@other.test"))
        assert client.post(f"/lcs/parcels/{p['id']}/label", headers=oh).status_code == 404
        task_id = request_label(client, h, p["id"])
        assert client.get(f"/mes/tasks/{task_id}", headers=oh).status_code == 404
        assert client.get(f"/lcs/parcels/{p['id']}/label.pdf", headers=oh).status_code == 404


class TestOtherDocuments:
    def test_packing_slip_task_and_download(self, client, h, tmp_path):
        s = shipment(client, h)
        p = parcel(client, h, s)
        r = client.post(f"/lcs/parcels/{p['id']}/slip", headers=h)
        assert r.status_code == 204 and r.headers["x-task-id"]
        t = client.get(f"/mes/tasks/{r.headers['x-task-id']}", headers=h).get_json()
        assert t["status"] == "done"
        assert client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()["file_id"] == t["result"]
        body = client.get(f"/lcs/parcels/{p['id']}/slip.pdf", headers=h).data
        ((w, hh),) = media_boxes(body)
        assert (round(w), round(hh)) == (595, 842)  # A4
        text = pdftotext(body, tmp_path)
        assert "Packing slip" in text and s["number"] in text and "Ann Jansen" in text
        assert re.search(r"SKU-A\s+Mug\s+2", text) and re.search(r"SKU-B\s+Plate\s+1", text)
        found = {(r.type, r.data) for r in pyzbar.decode(pdf_pages_png(body, tmp_path)[0])}
        assert ("CODE128", s["number"].encode()) in found
        a5 = client.get(f"/lcs/parcels/{p['id']}/slip.pdf?size=a5", headers=h).data
        assert [(round(x), round(y)) for x, y in media_boxes(a5)] == [(420, 595)]

    def test_pick_list_walk_order_line_barcodes_and_commands(self, client, h, tmp_path):
        s = shipment(
            client,
            h,
            items=[
                {"sku": "SKU-Z", "quantity": 1, "position": "A1", "description": "Zebra"},
                {"sku": "SKU-Y", "quantity": 3, "position": "A2", "description": "Yak"},
            ],
        )
        r = client.post("/lcs/lists", json={"shipments": [{"id": s["id"], "label": "T1"}]}, headers=h)
        list_id = r.get_json()["id"]
        html = client.get(f"/lcs/lists/{list_id}/picklist.pdf?format=html", headers=h)
        assert html.mimetype == "text/html" and "WHARF:FINISH" in html.get_data(as_text=True)
        body = client.get(f"/lcs/lists/{list_id}/picklist.pdf", headers=h).data
        text = pdftotext(body, tmp_path)
        assert "Pick list HL-" in text and "Zebra" in text and "Yak" in text
        assert text.index("SKU-Z") < text.index("SKU-Y")  # walk order
        found = {(r.type, r.data) for r in pyzbar.decode(pdf_pages_png(body, tmp_path, dpi=300)[0])}
        assert {
            ("CODE128", b"SKU-Z"),
            ("CODE128", b"SKU-Y"),
            ("CODE128", b"WHARF:FINISH"),
            ("CODE128", b"WHARF:UNDO"),
            ("CODE128", b"WHARF:MISSING"),
        } <= found

    def test_batch_labels_one_pdf_one_page_each_with_progress(self, app, client, h, tmp_path):
        s1, s2 = shipment(client, h), shipment(client, h)
        r = client.post("/lcs/lists", json={"shipments": [{"id": s1["id"]}, {"id": s2["id"]}]}, headers=h)
        list_id = r.get_json()["id"]
        assert client.get(f"/lcs/lists/{list_id}/labels.pdf", headers=h).status_code == 409
        parcels = [
            parcel(client, h, s1, units=[s1["items"][0]["id"]], weight=300),
            parcel(client, h, s1, units=[s1["items"][1]["id"]], weight=300),
            parcel(client, h, s2, weight=900),
        ]
        r = client.post(f"/lcs/lists/{list_id}/labels", headers=h)
        assert r.status_code == 204
        t = client.get(f"/mes/tasks/{r.headers['x-task-id']}", headers=h).get_json()
        assert t["status"] == "done" and t["total"] == 4 and t["done"] == 4
        stored = client.get(f"/mes/tasks/{t['id']}/file", headers=h)
        assert stored.mimetype == "application/pdf" and len(media_boxes(stored.data)) == 3
        for p in parcels:
            assert client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()["label"]["file_id"] == t["result"]
        body = client.get(f"/lcs/lists/{list_id}/labels.pdf", headers=h).data
        pages = pdf_pages_png(body, tmp_path, dpi=200)
        assert len(pages) == 3
        for page, p in zip(pages, parcels):
            assert ("CODE128", ("00" + p["number"]).encode()) in {(r.type, r.data) for r in pyzbar.decode(page)}

    def test_batch_is_refused_as_a_whole_naming_the_parcel(self, client, h):
        max_weight_rule(client, h)
        s = shipment(client, h, method(client, h, max_weight=1000))
        r = client.post("/lcs/lists", json={"shipments": [{"id": s["id"]}]}, headers=h)
        ok = parcel(client, h, s, units=[s["items"][0]["id"]], weight=500)
        heavy = parcel(client, h, s, units=[s["items"][1]["id"]], weight=5000)
        r = client.post(f"/lcs/lists/{r.get_json()['id']}/labels", headers=h)
        assert r.status_code == 422 and heavy["number"] in r.get_json()["message"]
        assert client.get(f"/lcs/parcels/{ok['id']}", headers=h).get_json()["label"]["file_id"] is None


class TestCntHtml:
    def test_inline_returns_the_pdf(self, client, h, tmp_path):
        r = client.post(
            "/cnt/html/inline", json={"content": b64("<h1>Hello Wharf</h1>"), "size": {"predefined": "a6"}}, headers=h
        )
        assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
        assert "Hello Wharf" in pdftotext(r.data, tmp_path)
        assert [(round(w), round(hh)) for w, hh in media_boxes(r.data)] == [(298, 420)]

    def test_custom_size_wins_over_the_documents_own(self, client, h):
        html = "<style>@page { size: A3 }</style><p>x</p>"
        r = client.post(
            "/cnt/html/inline",
            json={
                "content": b64(html),
                "size": {"predefined": "custom", "width": 100, "height": 150},
                "margin": {"top": 5, "bottom": 5, "left": 5, "right": 5},
            },
            headers=h,
        )
        assert [(round(w, 2), round(hh, 2)) for w, hh in media_boxes(r.data)] == [(283.46, 425.2)]

    def test_stored_file_reference(self, app, client, h):
        r = client.post(
            "/cnt/html",
            json={"path": "/invoices/2026", "filename": "inv-1", "content": b64("<p>Invoice</p>")},
            headers=h,
        )
        assert r.status_code == 200, r.get_json()
        ref = r.get_json()
        assert set(ref) == {
            "id",
            "filename",
            "label",
            "dir",
            "type",
            "mime",
            "url",
            "is_public",
            "is_listed",
            "metadata",
            "created_at",
            "updated_at",
        }
        assert ref["filename"] == "inv-1.pdf" and ref["dir"] == "/invoices/2026" and ref["mime"] == "application/pdf"
        assert ref["is_public"] is False
        assert client.get(ref["url"], headers=h).data.startswith(b"%PDF")

    @pytest.mark.parametrize(
        "body, key, field",
        [
            ({}, "required", "content"),
            ({"content": "%%%not base64"}, "invalid value", "content"),
            ({"content": b64("<p>x</p>"), "size": {"predefined": "b5"}}, "invalid value", "size.predefined"),
            (
                {"content": b64("<p>x</p>"), "size": {"predefined": "custom", "width": 0, "height": 10}},
                "invalid value",
                "size.width",
            ),
            ({"content": b64("<p>x</p>"), "margin": {"top": -1}}, "invalid value", "margin.top"),
            ({"content": b64("<p>x</p>"), "wait_delay": "soon"}, "invalid value", "wait_delay"),
        ],
    )
    def test_bad_bodies_are_family_b_400(self, client, h, body, key, field):
        r = client.post("/cnt/html/inline", json=body, headers=h)
        assert r.status_code == 400 and r.get_json()["errors"] == {key: [field]}

    def test_needs_the_feature(self, make, tenant, client):
        make.user(tenant, "nobody@acme.test")
        nh = bearer(api_token(client, "nobody@acme.test"))
        r = client.post("/cnt/html/inline", json={"content": b64("<p>x</p>")}, headers=nh)
        assert refusal(r, 403) == MISSING_FEATURES and r.get_json()["code"] == 403


class Listener:
    """A TCP socket on localhost that records every connection made to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


class TestRestrictedFetcher:
    def test_no_network_no_file_urls(self, client, h, tmp_path):
        listener = Listener()
        try:
            url = f"http://127.0.0.1:{listener.port}"
            html = f"""<html><head>
              <link rel="stylesheet" href="{url}/style.css">
              <style>@import url("{url}/import.css");
                     @font-face {{ font-family: Evil; src: url("{url}/font.woff"); }}
                     body {{ background: url("file:///etc/passwd"); font-family: Evil; }}</style></head>
              <body><p>SSRF probe</p>
              <img src="{url}/pixel.png"><img src="file:///etc/passwd"><img src="/../../../../etc/passwd">
              <object data="file:///etc/passwd"></object><embed src="{url}/embed.pdf">
              <iframe src="{url}/frame"></iframe><svg><image href="{url}/svg.png" width="10" height="10"/></svg>
              <img src="//127.0.0.1:{listener.port}/scheme-relative.png">
              </body></html>"""
            r = client.post("/cnt/html/inline", json={"content": b64(html)}, headers=h)
            assert r.status_code == 200 and r.data.startswith(b"%PDF")
            text = pdftotext(r.data, tmp_path)
            assert "SSRF probe" in text and "root:" not in text
            threading.Event().wait(0.3)
            assert listener.connections == 0
        finally:
            listener.close()
        # Sanity: the listener does see a real connection.
        probe = Listener()
        try:
            socket.create_connection(("127.0.0.1", probe.port), timeout=2).close()
            threading.Event().wait(0.3)
            assert probe.connections == 1
        finally:
            probe.close()

    def test_fetcher_serves_only_static_files_and_data_uris(self, app):
        with app.app_context():
            f = documents.fetcher()
            css = f.fetch(documents.BASE_URL + "static/css/wharf.css")
            assert css.read().strip() and css.content_type == "text/css"
            png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
            assert f.fetch(f"data:image/png;base64,{png}").read().startswith(b"\x89PNG")
            for url in (
                "http://127.0.0.1:9/",
                "https://example.com/x.css",
                "file:///etc/passwd",
                documents.BASE_URL + "static/../app.py",
                documents.BASE_URL + "static/%2e%2e/app.py",
                documents.BASE_URL + "app.py",
                "ftp://127.0.0.1/x",
                "https://wharf.invalid.evil.test/static/x",
            ):
                with pytest.raises(ValueError):
                    f.fetch(url)
            assert len(f.refused) == 8


class TestScreens:
    def test_pack_station_flow_weigh_label_progress_open(self, client, admin, h):
        s = shipment(client, h)
        csrf = browser_login(client, admin)
        hx = {**BROWSER, "HX-Request": "true", "X-CSRFToken": csrf}
        # The items must be picked to show up on the pack station: pack them through the API instead.
        p = parcel(client, h, s)
        page = client.get(f"/lcs/shipments/{s['id']}/pack", headers=BROWSER).get_data(as_text=True)
        assert f"/lcs/parcels/{p['id']}/label" in page and "Request label" in page
        r = client.post(f"/lcs/parcels/{p['id']}/label", headers=hx)
        assert r.status_code == 200 and r.headers["x-task-id"]
        fragment = r.get_data(as_text=True)
        assert "Open PDF" in fragment and "hx-trigger" not in fragment  # eager: already done
        assert f"/mes/tasks/{r.headers['x-task-id']}/file" in fragment
        pdf = client.get(f"/mes/tasks/{r.headers['x-task-id']}/file", headers=BROWSER)
        assert pdf.mimetype == "application/pdf"
        page = client.get(f"/lcs/shipments/{s['id']}/pack", headers=BROWSER).get_data(as_text=True)
        assert "Open label" in page and "Relabel" in page

    def test_refusal_is_a_toast_fragment(self, client, admin, h):
        max_weight_rule(client, h)
        s = shipment(client, h, method(client, h, max_weight=100))
        p = parcel(client, h, s, weight=900)
        csrf = browser_login(client, admin)
        r = client.post(f"/lcs/parcels/{p['id']}/label", headers={**BROWSER, "HX-Request": "true", "X-CSRFToken": csrf})
        assert r.status_code == 422 and r.headers["HX-Retarget"] == "#toasts"
        assert "more than PostNL Standard allows" in r.get_data(as_text=True)

    def test_print_buttons_on_shipment_and_list_pages(self, client, admin, h):
        s = shipment(client, h)
        p = parcel(client, h, s, units=[s["items"][0]["id"]])
        browser_login(client, admin)
        page = client.get(f"/lcs/shipments/{s['id']}", headers=BROWSER).get_data(as_text=True)
        assert f"/lcs/parcels/{p['id']}/label" in page and f"/lcs/parcels/{p['id']}/slip.pdf" in page
        s2 = shipment(client, h)
        list_id = client.post("/lcs/lists", json={"shipments": [{"id": s2["id"]}]}, headers=h).get_json()["id"]
        page = client.get(f"/lcs/lists/{list_id}", headers=BROWSER).get_data(as_text=True)
        for path in ("picklist.pdf", "labels.pdf", '/labels"'):
            assert f"/lcs/lists/{list_id}/{path.strip('/')}" in page or path in page
