"""What a scanner typed: command barcodes, GS1 element strings, unit ids, SKUs, barcodes.

Keyboard-wedge scanners send GS1-128/DataMatrix data as ``]C1``/``]d2`` symbology prefix
plus element strings, with ASCII 29 (GS) ending variable-length fields. We pull out the
GTIN (AI 01/02), batch (10), expiry (17) and SSCC (00); everything else is a plain code.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

GS = "\x1d"
SYMBOLOGY = re.compile(r"^\](C1|d2|Q3|e0)")
COMMANDS = {"WHARF:FINISH": "finish", "WHARF:UNDO": "undo"}
# Fixed-length AIs we may meet before a variable one (length of the data part).
FIXED = {"00": 18, "01": 14, "02": 14, "11": 6, "12": 6, "13": 6, "15": 6, "16": 6, "17": 6, "20": 2}
VARIABLE = {"10", "21", "37", "400", "90"}


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


def _gs1(data: str) -> dict:
    out: dict = {}
    i = 0
    while i < len(data):
        if data[i] == GS:
            i += 1
            continue
        ai2, ai3 = data[i:i + 2], data[i:i + 3]
        if ai2 in FIXED:
            out[ai2] = data[i + 2:i + 2 + FIXED[ai2]]
            i += 2 + FIXED[ai2]
        elif ai2 in VARIABLE or ai3 in VARIABLE:
            ai = ai3 if ai3 in VARIABLE else ai2
            end = data.find(GS, i + len(ai))
            end = len(data) if end == -1 else end
            out[ai] = data[i + len(ai):end]
            i = end
        else:
            break  # not an element string we understand: stop, keep what we have
    return out


def parse(raw: str) -> Scan:
    text = (raw or "").strip().replace("\r", "").replace("\n", "")
    upper = text.upper()
    if upper in COMMANDS:
        return Scan(raw, command=COMMANDS[upper])
    try:
        return Scan(raw, unit_id=uuid.UUID(text))
    except ValueError:
        pass
    prefixed = SYMBOLOGY.match(text)
    if prefixed or GS in text or re.fullmatch(r"(00\d{18}|0[12]\d{14}.*)", text):
        body = text[prefixed.end():] if prefixed else text
        ais = _gs1(body)
        if ais:
            expires = None
            if "17" in ais and re.fullmatch(r"\d{6}", ais["17"]):
                yy, mm, dd = int(ais["17"][:2]), int(ais["17"][2:4]), int(ais["17"][4:])
                try:
                    expires = date(2000 + yy, mm, dd or 28)
                except ValueError:
                    expires = None
            gtin = ais.get("01") or ais.get("02")
            return Scan(raw, gtin=gtin, code=gtin, sscc=ais.get("00"), lot=ais.get("10"), expires=expires)
    return Scan(raw, code=text)


def gtin_variants(gtin: str) -> list[str]:
    """A GTIN-14 as printed forms: itself, EAN-13 (drop a leading 0), UPC-A (drop two)."""
    variants = [gtin]
    stripped = gtin
    while stripped.startswith("0") and len(stripped) > 8:
        stripped = stripped[1:]
        variants.append(stripped)
    return variants
