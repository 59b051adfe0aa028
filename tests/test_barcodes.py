"""GET /cnt/barcode: every type scans back (zbar), check digits are Wharf's, sizes are
bounded, responses are cacheable and the second identical request draws nothing."""

import io
from datetime import date

import pytest
from PIL import Image
from pyzbar import pyzbar

from services import barcodes
from services.logistics import codes
from tests.support import api_token, bearer


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


@pytest.fixture(autouse=True)
def _fresh_cache():
    barcodes.render.cache_clear()
    yield
    barcodes.render.cache_clear()


def decode(png: bytes) -> list[tuple[str, bytes]]:
    return [(r.type, r.data) for r in pyzbar.decode(Image.open(io.BytesIO(png)))]


ROUND_TRIPS = [
    ("ean", "5901234123457", "EAN13", b"5901234123457"),
    ("ean", "590123412345", "EAN13", b"5901234123457"),  # 12 digits: Wharf adds the check digit
    ("ean", "96385074", "EAN8", b"96385074"),
    ("ean", "9638507", "EAN8", b"96385074"),
    ("code_128", "SKU-4711/blue", "CODE128", b"SKU-4711/blue"),
    ("code_128", "1234567", "CODE128", b"1234567"),  # odd digit run: charset C then B
    ("code_128", "WHARF:FINISH", "CODE128", b"WHARF:FINISH"),
    ("code_39", "WHARF-39 $/+%.", "CODE39", b"WHARF-39 $/+%."),
    ("code_93", "CODE93 TEST-1.$/+%", "CODE93", b"CODE93 TEST-1.$/+%"),
    ("code_93", "full ascii: a#b", "CODE93", b"full ascii: a#b"),
    ("qr", "https://track.example/3S123?x=1&y=ü", "QRCODE", "https://track.example/3S123?x=1&y=ü".encode()),
    ("gs1_128", "(00)008712340000000018", "CODE128", b"00008712340000000018"),
    ("gs1_128", "00008712340000000018", "CODE128", b"00008712340000000018"),
    ("gs1_128", "(01)08712345678906(10)LOT42(17)261231", "CODE128", b"010871234567890610LOT42\x1d17261231"),
    # a weight (3103) and identifiers beyond the few Wharf used to list: every GS1 AI prints
    (
        "gs1_128",
        "(01)08712345678906(3103)000750(17)261231(10)LOT42(21)S1(99)X",
        "CODE128",
        b"0108712345678906310300075017261231" + b"10LOT42\x1d21S1\x1d99X",
    ),
]


class TestRoundTrip:
    @pytest.mark.parametrize("t, v, symbology, data", ROUND_TRIPS)
    def test_png_scans_back(self, client, h, t, v, symbology, data):
        r = client.get("/cnt/barcode", query_string={"t": t, "v": v}, headers=h)
        assert r.status_code == 200, r.get_json()
        assert r.mimetype == "image/png"
        assert decode(r.data) == [(symbology, data)]

    @pytest.mark.parametrize("t, v", [("code_128", "ABC-123"), ("qr", "hello"), ("ean", "5901234123457")])
    def test_explicit_sizes_are_exact_and_still_scan(self, client, h, t, v):
        r = client.get("/cnt/barcode", query_string={"t": t, "v": v, "w": 600, "h": 300}, headers=h)
        img = Image.open(io.BytesIO(r.data))
        assert img.size == (600, 300)
        assert decode(r.data)[0][1].decode() in (v, "5901234123457")

    def test_svg_has_the_same_geometry(self, client, h):
        r = client.get(
            "/cnt/barcode", query_string={"t": "code_128", "v": "ABC", "format": "svg", "w": 300, "h": 80}, headers=h
        )
        assert r.status_code == 200 and r.mimetype == "image/svg+xml"
        body = r.get_data(as_text=True)
        assert body.startswith("<svg") and 'width="300"' in body and 'height="80"' in body and "<script" not in body

    def test_api_mount(self, client, h):
        assert client.get("/api/cnt/barcode", query_string={"t": "qr", "v": "x"}, headers=h).status_code == 200


class TestValidation:
    @pytest.mark.parametrize(
        "t, v, field",
        [
            ("ean", "5901234123458", "v"),  # wrong check digit: python-barcode would silently "fix" it
            ("ean", "96385075", "v"),
            ("ean", "12345", "v"),
            ("ean", "59012341234A7", "v"),
            ("code_39", "lower", "v"),
            ("code_39", "ÄÖ", "v"),
            ("code_128", "tab\there", "v"),
            ("code_93", "naïve", "v"),
            ("gs1_128", "(00)008712340000000017", "v"),  # SSCC check digit
            ("gs1_128", "(00)12345", "v"),
            ("gs1_128", "(23)whatever", "v"),  # no such application identifier
            ("gs1_128", "(17)261331", "v"),  # month 13
            ("gs1_128", "(01)08712345678906(10)" + "L" * 21, "v"),  # a lot has at most 20 characters
            ("gs1_128", "", "v"),
            ("ean", "５９０１２３４１２３４５７", "v"),  # digits, but not ASCII ones
            ("nope", "1", "t"),
        ],
    )
    def test_invalid_value_is_family_b_400(self, client, h, t, v, field):
        r = client.get("/cnt/barcode", query_string={"t": t, "v": v}, headers=h)
        assert r.status_code == 400
        body = r.get_json()
        assert body["code"] == 400 and body["reference"] == r.headers["x-request-id"]
        assert body["errors"] == {"invalid value": [field]}

    @pytest.mark.parametrize(
        "v, message",
        [
            ("(00)008712340000000017", "(00) has a wrong check digit (expected 8)"),
            ("(01)08712345678906(10)A(02)08712345678907", "(02) has a wrong check digit (expected 6)"),
            ("(00)12345", "(00) SSCC must be N2+N18 (GS1 format), not '12345'"),
            ("(23)x", "Unknown GS1 Application Identifier '23'"),
            ("(01)08712345678906(10)LOT 42", "has a space inside an element's data"),
        ],
    )
    def test_gs1_refusals_say_which_element_and_why(self, client, h, v, message):
        r = client.get("/cnt/barcode", query_string={"t": "gs1_128", "v": v}, headers=h)
        assert r.status_code == 400 and message in r.get_json()["message"], r.get_json()

    def test_missing_value_is_required(self, client, h):
        r = client.get("/cnt/barcode", query_string={"t": "qr"}, headers=h)
        assert r.status_code == 400 and r.get_json()["errors"] == {"required": ["v"]}

    def test_fallback_is_used_for_an_invalid_ean(self, client, h):
        r = client.get("/cnt/barcode", query_string={"t": "ean", "v": "5901234123458", "f": "code_128"}, headers=h)
        assert r.status_code == 200 and decode(r.data) == [("CODE128", b"5901234123458")]
        assert (
            client.get("/cnt/barcode", query_string={"t": "ean", "v": "1", "f": "bogus"}, headers=h).status_code == 400
        )

    @pytest.mark.parametrize(
        "w, h_",
        [("0", None), ("4001", None), ("abc", None), ("-5", None), (None, "99999"), ("1.5", None), ("20", None)],
    )
    def test_sizes_are_bounded(self, client, h, w, h_):
        q = {"t": "code_128", "v": "ABCDEFGH"}
        if w is not None:
            q["w"] = w
        if h_ is not None:
            q["h"] = h_
        r = client.get("/cnt/barcode", query_string=q, headers=h)
        assert r.status_code == 400 and r.get_json()["code"] == 400  # 20 px is narrower than the code

    def test_signed_in_only(self, client):
        assert (
            client.get(
                "/cnt/barcode", query_string={"t": "qr", "v": "x"}, headers={"Accept": "application/json"}
            ).status_code
            == 401
        )


class TestCaching:
    def test_etag_cache_control_and_304(self, client, h):
        q = {"t": "qr", "v": "cache me", "w": 200}
        r = client.get("/cnt/barcode", query_string=q, headers=h)
        assert r.headers["ETag"] and "max-age=86400" in r.headers["Cache-Control"]
        assert "private" in r.headers["Cache-Control"]
        again = client.get("/cnt/barcode", query_string=q, headers={**h, "If-None-Match": r.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
        other = client.get("/cnt/barcode", query_string={**q, "w": 201}, headers=h)
        assert other.headers["ETag"] != r.headers["ETag"]

    def test_second_identical_request_draws_nothing(self, client, h, monkeypatch):
        calls = {"png": 0, "encode": 0}
        draw, encode = barcodes.draw_png, barcodes.encode

        def counting_draw(*a, **k):
            calls["png"] += 1
            return draw(*a, **k)

        def counting_encode(*a, **k):
            calls["encode"] += 1
            return encode(*a, **k)

        monkeypatch.setattr(barcodes, "draw_png", counting_draw)
        monkeypatch.setattr(barcodes, "encode", counting_encode)
        q = {"t": "code_128", "v": "ONCE-ONLY", "h": 60}
        first = client.get("/cnt/barcode", query_string=q, headers=h)
        second = client.get("/cnt/barcode", query_string=q, headers=h)
        assert first.status_code == second.status_code == 200 and first.data == second.data
        assert calls == {"png": 1, "encode": 1}
        assert first.headers["ETag"] == second.headers["ETag"]


class TestService:
    def test_gs1_human_readable_text(self):
        symbol = barcodes.encode("gs1_128", "(00)008712340000000018")
        assert symbol.text == "(00) 008712340000000018"

    def test_printed_gs1_reads_back_as_a_scan(self, client, h):
        """What we print is what the pick station reads: GTIN, and expiry and lot past a weight."""
        r = client.get(
            "/cnt/barcode",
            query_string={"t": "gs1_128", "v": "(01)08712345678906(3103)000750(17)261231(10)L7"},
            headers=h,
        )
        scan = codes.parse("]C1" + decode(r.data)[0][1].decode())
        assert (scan.gtin, scan.expires, scan.lot) == (
            "08712345678906",
            date(2026, 12, 31),
            "L7",
        )

    def test_inline_svg_for_documents(self):
        svg = barcodes.inline_svg(barcodes.encode("code_39", "ABC"))
        assert svg.startswith("<svg") and 'preserveAspectRatio="none"' in svg and svg.count("<path") == 1
