"""The native ZPL parcel label (services/zpl.py): what the ZPL says, escaping, 203 and 300 dpi,
tenant template validation, and the acceptance: an independent offline renderer
(zpl-renderer-js, vendored in static/vendor for the template preview, run by tests/zpl/render.js) draws the ZPL,
and zbar scans the SSCC's GS1-128 and the tracking QR from the image."""

import io
import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest
import segno
from PIL import Image
from pyzbar import pyzbar

from models import Parcel, db
from services import barcodes, documents, zpl
from tests.support import ARTIFACTS, api_token, bearer, parcel, shipment

RENDERER = Path(__file__).resolve().parent / "zpl"
DOTS_PER_MM = {203: 8, 300: 12}  # what the renderer takes; the label is 812 × 1218 or 1200 × 1800 dots
SIZE = {203: (812, 1218), 300: (1200, 1800)}


def rendered(labels: list[tuple[str, int]], tmp_path) -> list[Image.Image]:
    """Each (zpl, dpi) drawn by zpl-renderer-js under node, in one process."""
    jobs = []
    for n, (text, dpi) in enumerate(labels):
        width, height = SIZE[dpi]
        dpmm = DOTS_PER_MM[dpi]
        out = tmp_path / f"label-{n}-{dpi}.png"
        jobs.append({"zpl": text, "width_mm": width / dpmm, "height_mm": height / dpmm, "dpmm": dpmm, "out": str(out)})
    subprocess.run(["node", str(RENDERER / "render.js")], input=json.dumps(jobs), text=True, check=True, timeout=120)
    return [Image.open(job["out"]).convert("L") for job in jobs]


def scanned(image: Image.Image) -> dict[str, list]:
    found: dict[str, list] = {}
    for symbol in pyzbar.decode(image):
        found.setdefault(symbol.type, []).append(symbol)
    return found


def bar_modules(image: Image.Image, symbol, module: int) -> str:
    """The bars across the middle of a scanned linear code, one character per module: the
    whole symbol, FNC1 included (zbar reports the data without it)."""
    y = symbol.rect.top + symbol.rect.height // 2
    row = "".join("1" if image.getpixel((x, y)) < 128 else "0" for x in range(image.width)).strip("0")
    runs = [len(m.group()) for m in re.finditer("1+|0+", row)]
    assert all(r % module == 0 for r in runs), runs  # every bar and space a whole number of modules
    return "".join(("1" if i % 2 == 0 else "0") * (r // module) for i, r in enumerate(runs))


def reference_qr(data: bytes) -> str:
    """What zbar reads from segno's QR of these bytes."""
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(buffer, kind="png", scale=4)
    buffer.seek(0)
    return pyzbar.decode(Image.open(buffer))[0].data.decode()


def untracked(fields: dict) -> dict:
    return {**fields, "tracking_code": None, "tracking_url": None}


# --- the ZPL text ---------------------------------------------------------------------------------


class TestContent:
    def test_every_field_is_on_the_label(self):
        f = zpl.sample_fields()
        text = zpl.render_label(f)
        assert text.startswith("^XA\n^CI28\n^PW812\n^LL1218\n") and text.rstrip().endswith("^XZ")
        assert text.count("^XA") == 1 and text.count("^XZ") == 1
        assert "^FDFROM   Acme Logistics, Keizersgracht 1, 1015CJ Amsterdam, NL^FS" in text
        # the recipient is one wrapping ^FB block, its lines joined by ^FB's line break
        assert "^FB748,8," in text
        assert "^FDAnn Jansen\\&Jansen & Zonen Groothandel in Huishoudelijke Artikelen\\&Coolsingel 40 b\\&" in text
        for needle in (
            "^FDPostNL Standard · POSTNL^FS",
            "^FDShipment S-000042^FS",
            "^FDOrder ORD-7^FS",
            "^FDParcel 1 of 2^FS",
            "^FD1.25 kg^FS",
            "^FDTracking 3SWHARF0000042^FS",
            f"^FD{f['sscc_text']}^FS",
        ):
            assert needle in text, needle
        # GS1-128: Code 128 started in subset C, FNC1, AI 00, the 18 digits; no printer-made text line
        assert re.search(rf"\^BY4\^BCN,\d+,N,N,N\^FD>;>800{f['number']}\^FS", text)
        # the QR of the tracking URL, its underscore escaped and decoded by ^FH_
        assert "^BQN,2,4^FH_^FDMA,https://track.example/3SWHARF0000042?ref=wharf_5Flabel^FS" in text

    def test_300_dpi_is_the_same_layout_in_more_dots(self):
        f = zpl.sample_fields()
        low, high = zpl.render_label(f, 203), zpl.render_label(f, 300)
        assert "^PW1200\n^LL1800\n" in high and "^BY6^BC" in high and "^BQN,2,6" in high
        origins = {
            dpi: [tuple(map(int, o)) for o in re.findall(r"\^FO(\d+),(\d+)", t)] for dpi, t in ((203, low), (300, high))
        }
        assert len(origins[203]) == len(origins[300]) > 15
        for dpi, (width, height) in SIZE.items():
            assert all(0 <= x < width and 0 <= y < height for x, y in origins[dpi]), dpi
        # every position in millimetres: the same to within rounding, the SSCC's (centred bars of
        # whole-dot modules: 4 dots = 0.5 mm, 6 dots = 0.51 mm) to within 0.75 mm
        for (x1, y1), (x2, y2) in zip(origins[203], origins[300], strict=True):
            assert abs(x2 / 300 - x1 / 203) * 25.4 <= 0.75 and abs(y2 / 300 - y1 / 203) * 25.4 <= 0.2

    def test_without_tracking_there_is_no_qr_and_the_bars_grow(self):
        f = zpl.sample_fields()
        text = zpl.render_label(untracked(f))
        assert "^BQ" not in text and "Tracking" not in text and "track.example" not in text
        height = {t: int(re.search(r"\^BCN,(\d+),", t).group(1)) for t in (text, zpl.render_label(f))}
        assert height[text] > height[zpl.render_label(f)]

    def test_without_an_order_there_is_no_order_line(self):
        assert "Order" not in zpl.render_label({**zpl.sample_fields(), "order_id": None})

    def test_other_resolutions_are_refused(self):
        with pytest.raises(ValueError, match="dpi"):
            zpl.render_label(zpl.sample_fields(), 600)


class TestEscaping:
    def test_data_cannot_start_a_command(self):
        f = {**zpl.sample_fields(), "method": "Evil^XZ^XA^JUF~JR_x", "recipient": ["A^FS~DG", "B"]}
        text = zpl.render_label(f)
        assert "^FDEvil_5EXZ_5EXA_5EJUF_7EJR_5Fx^FS" in text
        assert "^FDA_5EFS_7EDG\\&B" in text
        assert text.count("^XA") == 1 and text.count("^XZ") == 1 and "~" not in text
        assert zpl.validate_template(zpl.TEMPLATE.read_text()) == []  # the shipped template puts ^FH_ before data

    def test_control_characters_become_spaces(self):
        text = zpl.render_label({**zpl.sample_fields(), "method": "Post\nNL\tStandard\x1b"})
        assert "^FDPost NL Standard ^FS" in text

    def test_data_cannot_break_a_block_line(self):
        text = zpl.render_label({**zpl.sample_fields(), "recipient": ["Ann \\& Bob", "C:\\dir"]})
        assert "^FDAnn \\\\& Bob\\&C:\\\\dir^FS" in text  # a backslash doubled, ^FB's own escape

    def test_explicit_filters_do_not_escape_twice(self):
        template = "^XA^FO0,0^FH_^FD{{ method|zpl }}|{{ recipient|zpl_lines }}|{{ method|zpl|zpl }}^FS^XZ"
        text = zpl.render_label({**zpl.sample_fields(), "method": "a_b", "recipient": ["x^", "y"]}, template=template)
        assert "^FDa_5Fb|x_5E\\&y|a_5Fb^FS" in text


# --- tenant templates ------------------------------------------------------------------------------


MINIMAL = """^XA
^PW{{ width }}
^FO{{ dots(5) }},{{ dots(5) }}^A0N,{{ dots(5) }}^FH_^FD{{ recipient|first }}^FS
^XZ"""


class TestTenantTemplate:
    def test_an_override_is_rendered(self):
        assert zpl.validate_template(MINIMAL) == []
        assert (
            zpl.render_label(zpl.sample_fields(), 300, MINIMAL)
            == "^XA\n^PW1200\n^FO59,59^A0N,59^FH_^FDAnn Jansen^FS\n^XZ"
        )

    def test_an_override_that_fails_on_real_data_falls_back_to_the_shipped_label(self):
        broken = "^XA^FH_^FD{{ recipient[7] }}^FS^XZ"  # the sample has six lines, this parcel fewer
        text = zpl.render_label({**zpl.sample_fields(), "recipient": ["Ann"]}, 203, broken)
        assert text == zpl.render_label({**zpl.sample_fields(), "recipient": ["Ann"]}, 203)

    def test_syntax_errors_name_their_line(self):
        problems = zpl.validate_template("^XA\n^FO0,0\n^FH_^FD{{ weight ~ }}^FS\n^XZ")
        assert len(problems) == 1 and problems[0].startswith("line 3: "), problems
        problems = zpl.validate_template("^XA\n{% if tracking_url %}\n^FH_^FD{{ tracking_url }}^FS\n^XZ\n")
        assert len(problems) == 1 and "endif" in problems[0], problems

    def test_unknown_variables_are_refused_with_their_line(self):
        problems = zpl.validate_template("^XA\n^FO0,0^FH_^FD{{ recipeint|first }}^FS\n^XZ")
        assert problems == ["line 2: unknown variable: 'recipeint' is undefined"]

    def test_the_label_must_be_one_zpl_format(self):
        assert zpl.validate_template("^FO0,0^FDx^FS") == [
            "the label must start with ^XA",
            "the label must end with ^XZ",
        ]

    def test_data_without_fh_is_refused(self):
        problems = zpl.validate_template("^XA^FO0,0^FD{{ weight }}^FS^FO0,50^FH_^FD{{ method }}^FS^XZ")
        assert len(problems) == 1 and problems[0].startswith("^FD1.25 kg _5F") and "^FH_" in problems[0]

    def test_printer_settings_are_refused(self):
        problems = zpl.validate_template("^XA^FO0,0^FDx^FS^JUS~JR^NS,10.0.0.1^XZ")
        assert [p.split(" ")[0] for p in problems] == ["^JU", "^JR", "^NS"]

    def test_the_sandbox_keeps_templates_away_from_python(self):
        problems = zpl.validate_template("^XA{{ recipient.__class__.__mro__ }}^XZ")
        assert problems and "unsafe" in problems[0]
        problems = zpl.validate_template("^XA{% set _ = recipient.append('x') %}^XZ")
        assert problems and "not allowed" in problems[0]
        assert zpl.sample_fields()["recipient"][-1] == "+31 10 123 4567"

    def test_errors_from_either_branch_are_found(self):
        template = "^XA{% if tracking_url %}^FH_^FD{{ tracking_url }}^FS{% else %}{{ 1 // 0 }}{% endif %}^XZ"
        assert zpl.validate_template(template) == [
            "line 1: cannot render: ZeroDivisionError: integer division or modulo by zero"
        ]


# --- the acceptance: an independent renderer draws it, zbar scans it ---------------------------------


class TestRendered:
    @pytest.mark.parametrize("dpi", zpl.DPI)
    def test_sscc_and_qr_scan_from_the_rendered_label(self, dpi, tmp_path):
        url = "https://track.example/t/3SWHARF?a=1_2~3^4&stad=Zürich"
        f = {**zpl.sample_fields(), "tracking_url": url, "recipient": ["Zoë Łukasiewicz", "Straße 1", "Ærø"]}
        longer = {n: "https://track.example/" + "/".join(["3SWHARF0000042"] * n) for n in (12, 14)}  # 201, 231 chars
        labels = [f, untracked(f), *({**f, "tracking_url": u} for u in longer.values())]
        image, plain, *long = rendered([(zpl.render_label(g, dpi), dpi) for g in labels], tmp_path)
        ARTIFACTS.mkdir(exist_ok=True)
        image.save(ARTIFACTS / f"zpl-label-{dpi}.png")
        assert image.size == plain.size == SIZE[dpi]

        found = scanned(image)
        # ^ ~ _ arrive intact, and the URL's UTF-8 bytes: zbar reads a QR's bytes without an ECI
        # marker as Shift JIS, so it reads the same bytes as segno's QR of the UTF-8 URL
        assert [s.data.decode() for s in found["QRCODE"]] == [reference_qr(url.encode())]
        [sscc] = found["CODE128"]
        assert sscc.data == b"00" + f["number"].encode()
        module = round(0.5 * dpi / 25.4)
        want = barcodes.encode("gs1_128", "(00)" + f["number"]).rows[0].strip("0")  # Start C, FNC1, 00, …
        assert bar_modules(image, sscc, module) == want
        # quiet zones of at least ten modules, inside the label
        assert sscc.rect.left >= 10 * module and sscc.rect.left + sscc.rect.width <= image.width - 10 * module

        for url, label in zip(longer.values(), long, strict=True):  # smaller modules: still in the band
            [qr] = scanned(label)["QRCODE"]
            assert qr.data.decode() == url and qr.rect.top + qr.rect.height < round(110 * dpi / 25.4)

        found = scanned(plain)
        assert "QRCODE" not in found and [s.data for s in found["CODE128"]] == [b"00" + f["number"].encode()]

    def test_a_parcel_label_end_to_end(self, app, client, admin, tmp_path, monkeypatch):
        """A parcel made through the API: label_fields → ZPL at both resolutions → image → scans."""
        monkeypatch.setitem(app.config, "ATTACHMENTS_ROOT", str(tmp_path / "files"))
        h = bearer(api_token(client, admin))
        r = client.post("/lcs/methods", json={"carrier_code": "postnl", "name": "PostNL Standard"}, headers=h)
        assert r.status_code in (200, 201), r.get_json()
        s = shipment(client, h, r.get_json()["id"])
        url = "https://track.example/3SABC_123"
        p = parcel(client, h, s, tracking_code="3SABC123", tracking_url=url)
        with app.app_context():
            fields = documents.label_fields(db.session.get(Parcel, uuid.UUID(p["id"])))
            pdf_context = documents.label_context(db.session.get(Parcel, uuid.UUID(p["id"])))
        assert {k: pdf_context[k] for k in fields} == fields  # the PDF label prints the same data
        assert fields["number"] == p["number"] and fields["index"] == fields["count"] == 1

        labels = {dpi: zpl.render_label(fields, dpi) for dpi in zpl.DPI}
        for text in labels.values():
            for needle in ("Ann Jansen", "Damrak 1", "1012LG Amsterdam", "Acme Logistics", s["number"], "ORD-7"):
                assert needle in text, needle
            assert "Parcel 1 of 1" in text and "1.25 kg" in text and "PostNL Standard · POSTNL" in text
        images = rendered([(text, dpi) for dpi, text in labels.items()], tmp_path)
        for image in images:
            found = scanned(image)
            assert [x.data for x in found["CODE128"]] == [b"00" + p["number"].encode()]
            assert [x.data.decode() for x in found["QRCODE"]] == [url]
