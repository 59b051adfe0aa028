"""Native ZPL parcel labels (issue 17): the 4 × 6 in label as ZPL II text for thermal printers,
not a bitmap of the PDF. Same data as the PDF label (``documents.label_fields``).

- One Jinja template lays out for 203 and 300 dpi: it places everything in millimetres through
  ``dots(mm)``, and ``width``/``height`` are the label's size in dots (``^PW``/``^LL``).
- Data never becomes a command: every ``{{ … }}`` is escaped (the environment's ``finalize``),
  ``^``, ``~`` and ``_`` becoming ``_5E``/``_7E``/``_5F``, which the ``^FH_`` the template puts
  before each ``^FD`` decodes; control characters become spaces. ``zpl_lines`` joins lines for
  one ``^FB`` block with its line break ``\\&``. Text is UTF-8 (``^CI28``): send
  ``render_label(...).encode()``.
- A tenant may override the template: it runs in Jinja's sandbox with ``StrictUndefined``, and
  ``validate_template`` refuses before saving what would not render, would not be one label,
  would print escapes as text, or would reconfigure the printer. The shipped
  ``templates/documents/label.zpl`` stays the fallback.
"""

from __future__ import annotations

import logging
import re
import traceback
from functools import lru_cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from services import barcodes
from services.logistics.numbers import DEFAULT_GS1_PREFIX, gs1_check_digit

log = logging.getLogger("wharf.zpl")

DPI = (203, 300)
LABEL_MM = (101.6, 152.4)  # 4 × 6 in
TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "documents" / "label.zpl"

# Commands that change the printer itself (saved settings, network, password, reset, the
# command prefixes our escaping relies on): a label template has no business sending them
# to a printer the whole warehouse shares.
_CONFIG_COMMANDS = re.compile(r"[\^~](JU|JR|ID|KP|KN|N[BCDINPSTW]|SC|SZ|CC|CD|CT)", re.IGNORECASE)


class ZplText(str):
    """Field data already escaped: ``finalize`` passes it through unchanged."""


_CONTROL = {c: " " for c in (*range(32), *range(127, 160))}
_ESCAPES = str.maketrans({"^": "_5E", "~": "_7E", "_": "_5F", **_CONTROL})
_BLOCK_ESCAPES = str.maketrans({"^": "_5E", "~": "_7E", "_": "_5F", "\\": "\\\\", **_CONTROL})


def escape(value) -> ZplText:
    """Field data for a ``^FH_^FD`` field: no character of it can start a command."""
    if isinstance(value, ZplText):
        return value
    return ZplText(str(value).translate(_ESCAPES))


def lines(values) -> ZplText:
    """Lines for one ``^FB`` block: each escaped (and a backslash doubled, ``^FB``'s own
    escape, so data cannot break a line), joined by ``\\&``, ``^FB``'s line break."""
    if isinstance(values, str):
        values = [values]
    return ZplText("\\&".join(str(v).translate(_BLOCK_ESCAPES) for v in values))


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(TEMPLATE.parent),
        undefined=StrictUndefined,
        finalize=escape,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["zpl"] = escape
    env.filters["zpl_lines"] = lines
    return env


_env = _environment()


@lru_cache(maxsize=64)
def _compiled(text: str):
    """A tenant's template, compiled once per distinct text (labels are printed by the hundred)."""
    return _env.from_string(text)


def _context(fields: dict, dpi: int) -> dict:
    def dots(mm: float) -> int:
        return round(mm * dpi / 25.4)

    return {**fields, "dpi": dpi, "dots": dots, "width": dots(LABEL_MM[0]), "height": dots(LABEL_MM[1])}


def render_label(fields: dict, dpi: int = 203, template: str | None = None) -> str:
    """The ZPL of one parcel label (``fields`` as ``documents.label_fields`` gives them);
    ``template`` is a tenant's override text, the shipped template when None or when the
    override fails on this parcel's data (a label on the floor beats a failed print job)."""
    if dpi not in DPI:
        raise ValueError(f"dpi must be one of {DPI}, not {dpi}")
    context = _context(fields, dpi)
    if template is not None:
        try:
            return _compiled(template).render(context)
        except Exception:  # validated when saved; a parcel still gets the shipped label
            log.warning("tenant label template failed; printing the shipped one", exc_info=True)
    return _env.get_template(TEMPLATE.name).render(context)


def shipped_template() -> str:
    """The shipped template's text: where a tenant's own label starts from."""
    return TEMPLATE.read_text()


def sample_fields() -> dict:
    """The label that validation renders and previews show: every field filled, a recipient
    long enough to wrap, a tracking URL with an underscore (it needs its ``^FH``)."""
    body = "0" + DEFAULT_GS1_PREFIX + "000000042"
    number = body + str(gs1_check_digit(body))
    return {
        "sender": ["Acme Logistics", "Keizersgracht 1", "1015CJ Amsterdam", "NL"],
        "recipient": [
            "Ann Jansen",
            "Jansen & Zonen Groothandel in Huishoudelijke Artikelen",
            "Coolsingel 40 b",
            "3011AD Rotterdam",
            "NL",
            "+31 10 123 4567",
        ],
        "method": "PostNL Standard · POSTNL",
        "shipment_number": "S-000042",
        "order_id": "ORD-7",
        "index": 1,
        "count": 2,
        "weight": "1.25 kg",
        "tracking_code": "3SWHARF0000042",
        "tracking_url": "https://track.example/3SWHARF0000042?ref=wharf_label",
        "number": number,
        "sscc_text": barcodes.gs1_text([("00", number)]),
    }


def _probe(fields: dict) -> dict:
    """Every text with an underscore, so each field placed without ``^FH`` shows up."""

    def mark(value):
        if isinstance(value, str):
            return value + " _"
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    return {k: v if k == "number" else mark(v) for k, v in fields.items()}


def _template_line(exc: BaseException) -> str:
    """'line N: ' of the template frame an error came from (Jinja maps its frames to lines)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"]
    return f"line {frames[-1].lineno}: " if frames else ""


def _output_problems(zpl: str) -> list[str]:
    problems = []
    text = zpl.strip()
    if not text.startswith("^XA"):
        problems.append("the label must start with ^XA")
    if not text.endswith("^XZ"):
        problems.append("the label must end with ^XZ")
    problems += [
        f"^{m.group(1).upper()} changes the printer's settings: not allowed in a label template"
        for m in _CONFIG_COMMANDS.finditer(text)
    ]
    hex_on = False  # ^FH_ (or ^FH) since the last ^FS
    for command in text.split("^")[1:]:
        name, rest = command[:2].upper(), command[2:]
        if name == "FH":
            hex_on = rest.strip()[:1] in ("", "_")
        elif name == "FS":
            hex_on = False
        elif name in ("FD", "FV") and "_5F" in rest and not hex_on:
            problems.append(f"^FD{rest[:30].strip()}… holds data without ^FH_ before it: it would print _5F as text")
    return problems


def validate_template(text: str) -> list[str]:
    """What is wrong with a tenant's label template (empty: it may be saved). It is rendered
    at both resolutions, with and without tracking, and with a probe that finds data placed
    without ``^FH``."""
    try:
        template = _env.from_string(text)
    except TemplateSyntaxError as e:
        return [f"line {e.lineno}: {e.message}"]
    sample = sample_fields()
    problems: list[str] = []
    for fields in (sample, {**sample, "tracking_code": None, "tracking_url": None}, _probe(sample)):
        for dpi in DPI:
            try:
                problems += _output_problems(template.render(_context(fields, dpi)))
            except UndefinedError as e:
                problems.append(f"{_template_line(e)}unknown variable: {e.message}")
            except SecurityError as e:
                problems.append(f"{_template_line(e)}not allowed in a label template: {e}")
            except Exception as e:  # noqa: BLE001 — a tenant template may raise anything: tell its author
                problems.append(f"{_template_line(e)}cannot render: {type(e).__name__}: {e}")
    return list(dict.fromkeys(problems))
