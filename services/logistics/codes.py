"""What a scanner typed: command barcodes, GS1 element strings, unit ids, SKUs, barcodes.

Keyboard-wedge scanners send GS1-128/DataMatrix/QR data as ``]C1``/``]d2``/``]Q3`` symbology
prefix plus element strings, with ASCII 29 (GS) ending variable-length fields. biip knows every
GS1 application identifier (length, format, check digit, date); Wharf keeps no table of
its own. From a scan we keep the GTIN (AI 01/02), SSCC (00), batch/lot (10), expiry (17)
(the lot and expiry a pick records on its unit); everything else is a plain code.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

from biip import ParseConfig, ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message

GS = "\x1d"
SYMBOLOGY = re.compile(r"^\](C1|d2|Q3|e0)")
COMMANDS = {"WHARF:FINISH": "finish", "WHARF:UNDO": "undo", "WHARF:MISSING": "missing"}
TOTE = "WHARF:TOTE:"  # a tote's own label barcode: WHARF:TOTE:<sorting label>
# A scan keeps what it can: an impossible date leaves ``expires`` empty instead of losing the scan.
_SCAN_CONFIG = ParseConfig(gs1_element_strings_verify_date=False)


class GS1Invalid(ValueError):
    """Data that is not a valid GS1 element string (the message says why, naming the AI)."""


@dataclass(frozen=True)
class Scan:
    raw: str
    command: str | None = None
    unit_id: uuid.UUID | None = None
    code: str | None = None  # SKU or product barcode candidate
    gtin: str | None = None
    sscc: str | None = None
    lot: str | None = None
    expires: date | None = None


def read_gs1(data: str) -> list[GS1ElementString]:
    """Every element string of a scan biip can read. One it cannot (an identifier nobody
    allocated, data that does not fit) is skipped, by its length where GS1 fixes one, else
    up to the next GS, so what follows is still read: one odd field loses nothing else."""
    elements: list[GS1ElementString] = []
    rest = data
    while rest := rest.lstrip(GS):
        try:
            element = GS1ElementString.extract(rest, config=_SCAN_CONFIG)
        except ParseError:
            rest = _past_unreadable(rest)
            continue
        elements.append(element)
        rest = rest[len(element) :]
    return elements


_PREDEFINED = re.compile(r"N\d\+N(\d+)")  # biip's format of a predefined-length AI, e.g. N2+N6


def _past_unreadable(rest: str) -> str:
    """Where reading resumes after an element biip refused: a known predefined-length AI
    (an impossible date in (17)) is skipped by its length, anything else up to the next GS."""
    try:
        ai = GS1ApplicationIdentifier.extract(rest)
    except ParseError:
        ai = None
    if ai is not None and not ai.separator_required and (m := _PREDEFINED.fullmatch(ai.format)):
        return rest[len(ai.ai) + int(m[1]) :]
    return rest.partition(GS)[2]


def _check_error(element: GS1ElementString) -> str | None:
    error = element.gtin_error or element.sscc_error or element.gln_error
    if error is None:
        return None
    if "check digit" in error:
        body = element.value[:-1]
        return f"({element.ai.ai}) has a wrong check digit (expected {gs1_standard_check_digit(body)})"
    return f"({element.ai.ai}) {error}"


def validate_gs1(text: str) -> list[GS1ElementString]:
    """What Wharf prints: ``(00)123…`` or ``00123…`` (GS-separated, optionally ``]C1``),
    every element known to GS1, fitting its format, with a right check digit and a real
    date. Raises ``GS1Invalid``."""
    text = SYMBOLOGY.sub("", text.strip())
    if _INNER_SPACE.search(text):  # biip would drop it: "LOT 42" must not print as LOT42
        raise GS1Invalid("has a space inside an element's data (GS1 data has none)")
    try:
        message = GS1Message.parse_hri(text) if text.startswith("(") else GS1Message.parse(text)
    except ParseError as exc:
        raise GS1Invalid(_explain(str(exc))) from None
    if not message.element_strings:
        raise GS1Invalid(_explain("it is empty"))
    for element in message.element_strings:
        if problem := _check_error(element):
            raise GS1Invalid(problem)
    return list(message.element_strings)


_INNER_SPACE = re.compile(r"[^\s)]\s+[^\s(]")  # spaces around "(ai)" as in printed text are fine
_NO_FIT = re.compile(r"^Failed to match '(?P<data>.*)' with GS1 AI \((?P<ai>\d+)\) pattern")


def _explain(problem: str) -> str:
    """biip's reason in words for a person: data that does not fit an identifier's format
    names the format (``N2+N18``) instead of biip's regular expression."""
    if m := _NO_FIT.match(problem):
        ai = GS1ApplicationIdentifier.extract(m["ai"])
        return f"({ai.ai}) {ai.data_title} must be {ai.format} (GS1 format), not {m['data'][len(ai.ai) :]!r}"
    return f"is not a GS1 element string such as (00)106141411234567897: {problem}"


def _scan_of(raw: str, elements: list[GS1ElementString]) -> Scan:
    by_ai = {e.ai.ai: e for e in elements}
    gtin = next((by_ai[ai].value for ai in ("01", "02") if ai in by_ai), None)
    sscc = by_ai.get("00")
    lot = by_ai.get("10")
    return Scan(
        raw,
        gtin=gtin,
        code=gtin,
        sscc=sscc and sscc.value,
        lot=lot and lot.value,
        expires=by_ai["17"].date if "17" in by_ai else None,
    )


def parse(raw: str) -> Scan:
    text = (raw or "").strip().replace("\r", "").replace("\n", "")
    upper = text.upper()
    if upper in COMMANDS:
        return Scan(raw, command=COMMANDS[upper])
    if upper.startswith(TOTE) and len(text) > len(TOTE):
        return Scan(raw, command="tote", code=text[len(TOTE) :].strip())
    try:
        return Scan(raw, unit_id=uuid.UUID(text))
    except ValueError:
        pass
    prefixed = SYMBOLOGY.match(text)
    if prefixed or GS in text or re.fullmatch(r"(00\d{18}|0[12]\d{14}.*)", text):
        elements = read_gs1(text[prefixed.end() :] if prefixed else text)
        if elements:
            return _scan_of(raw, elements)
    return Scan(raw, code=text)


def gtin_variants(gtin: str) -> list[str]:
    """A GTIN-14 as printed forms: itself, EAN-13 (drop a leading 0), UPC-A (drop two)."""
    variants = [gtin]
    stripped = gtin
    while stripped.startswith("0") and len(stripped) > 8:
        stripped = stripped[1:]
        variants.append(stripped)
    return variants
