"""Barcodes that scan (seed 001 ``GET /cnt/barcode``): validate, encode, draw.

Encoding is done by python-barcode (EAN, Code 39, Code 128, GS1-128), segno (QR) and a
small Code 93 encoder here; drawing is done here for every type, so PNG and SVG share
one geometry: whole pixels per module, the symbology's quiet zone, exact ``w``×``h``.

Wharf validates before encoding: python-barcode silently *replaces* a wrong EAN check
digit and accepts any GS1 data, so a typo would print a valid-looking wrong code. GS1 data
is read and checked by biip (``codes.validate_gs1``), the same parser that reads scans.

``render()`` keeps the last few thousand images in memory: the same request twice does
no drawing the second time, and the ETag is computed from the request alone.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import threading
import zlib
from dataclasses import dataclass

import segno
from barcode.codex import Code39, Code128, Gs1_128
from barcode.ean import EAN8, EAN13
from cachetools import LRUCache, cached
from PIL import Image

from schemas.cnt import MAX_VALUE, BarcodeType
from services.errors import ValidationFailed
from services.logistics.codes import GS1Invalid, validate_gs1
from services.logistics.numbers import gs1_check_digit

LINEAR_HEIGHT = 80
DEFAULT_MODULE_PX = 2
QR_MODULE_PX = 4
CODE39_CHARS = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%")
GS = "\x1d"


class InvalidBarcode(ValidationFailed):
    """A value the symbology cannot carry (rendered as a family-B 400)."""


def _invalid(field: str, message: str) -> InvalidBarcode:
    return InvalidBarcode(
        f"{field} {message}", details=[{"path": [field], "message": message, "kind": "invalid value"}]
    )


@dataclass(frozen=True)
class Symbol:
    """What gets drawn: ``rows`` of module bits (one row for linear codes), the quiet zone
    in modules, what a scanner reads back (``data``) and the human-readable ``text``."""

    type: str
    rows: tuple[str, ...]
    quiet: int
    data: str
    text: str

    @property
    def linear(self) -> bool:
        return len(self.rows) == 1

    @property
    def modules(self) -> int:
        return len(self.rows[0]) + 2 * self.quiet


# --- validation and encoding ----------------------------------------------------------------------


def _ean(value: str) -> Symbol:
    if not (value.isascii() and value.isdigit()) or len(value) not in (7, 8, 12, 13):
        raise _invalid("v", "an EAN has 7–8 (EAN-8) or 12–13 (EAN-13) digits")
    body_len = 7 if len(value) in (7, 8) else 12
    body = value[:body_len]
    check = str(gs1_check_digit(body))
    if len(value) > body_len and value[-1] != check:
        raise _invalid("v", f"has a wrong check digit (expected {check})")
    code = (EAN8 if body_len == 7 else EAN13)(body)
    full = body + check
    return Symbol("ean", tuple(code.build()), 10, full, full)


def _code128(value: str) -> Symbol:
    if any(ord(c) > 126 or (ord(c) < 32) for c in value):
        raise _invalid("v", "Code 128 carries printable ASCII only")
    return Symbol("code_128", tuple(Code128(value).build()), 10, value, value)


def _code39(value: str) -> Symbol:
    bad = sorted(set(value) - CODE39_CHARS)
    if bad:
        raise _invalid("v", f"Code 39 cannot encode {''.join(bad)!r} (digits, A–Z, space and - . $ / + %)")
    return Symbol("code_39", tuple(Code39(value, add_checksum=False).build()), 10, value, value)


# Code 93: 47 symbols of 9 modules; index = the character's value for the check digits.
_C93_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"
_C93_PATTERNS = (
    "100010100",
    "101001000",
    "101000100",
    "101000010",
    "100101000",
    "100100100",
    "100100010",
    "101010000",
    "100010010",
    "100001010",
    "110101000",
    "110100100",
    "110100010",
    "110010100",
    "110010010",
    "110001010",
    "101101000",
    "101100100",
    "101100010",
    "100110100",
    "100011010",
    "101011000",
    "101001100",
    "101000110",
    "100101100",
    "100010110",
    "110110100",
    "110110010",
    "110101100",
    "110100110",
    "110010110",
    "110011010",
    "101101100",
    "101100110",
    "100110110",
    "100111010",
    "100101110",
    "111010100",
    "111010010",
    "111001010",
    "101101110",
    "101110110",
    "110101110",
    "100100110",
    "111011010",
    "111010110",
    "100110010",  # shifts ($) (%) (/) (+): values 43–46
)
_C93_START_STOP = "101011110"
_SHIFT_DOLLAR, _SHIFT_PERCENT, _SHIFT_SLASH, _SHIFT_PLUS = 43, 44, 45, 46


def _c93_full_ascii(char: str) -> list[int]:
    """Full-ASCII Code 93: characters outside the basic set become a shift + a letter."""
    if char in _C93_CHARS:
        return [_C93_CHARS.index(char)]
    o = ord(char)
    letter = lambda c: _C93_CHARS.index(c)
    if 97 <= o <= 122:
        return [_SHIFT_PLUS, letter(chr(o - 32))]
    if 1 <= o <= 26:
        return [_SHIFT_DOLLAR, letter(chr(o + 64))]
    if o == 0:
        return [_SHIFT_PERCENT, letter("U")]
    table = {
        27: "A",
        28: "B",
        29: "C",
        30: "D",
        31: "E",
        59: "F",
        60: "G",
        61: "H",
        62: "I",
        63: "J",
        91: "K",
        92: "L",
        93: "M",
        94: "N",
        95: "O",
        123: "P",
        124: "Q",
        125: "R",
        126: "S",
        127: "T",
        64: "V",
        96: "W",
    }
    if o in table:
        return [_SHIFT_PERCENT, letter(table[o])]
    if 33 <= o <= 58:  # ! " # & ' ( ) * , : and the like
        return [_SHIFT_SLASH, letter(chr(o + 32))]
    raise ValueError(char)


def _c93_check(values: list[int], max_weight: int) -> int:
    return sum(v * (i % max_weight + 1) for i, v in enumerate(reversed(values))) % 47


def _code93(value: str) -> Symbol:
    if any(ord(c) > 127 for c in value):
        raise _invalid("v", "Code 93 carries ASCII only")
    values = [v for c in value for v in _c93_full_ascii(c)]
    values.append(_c93_check(values, 20))
    values.append(_c93_check(values, 15))
    bits = _C93_START_STOP + "".join(_C93_PATTERNS[v] for v in values) + _C93_START_STOP + "1"
    return Symbol("code_93", (bits,), 10, value, value)


def gs1_text(elements: list[tuple[str, str]]) -> str:
    """Human-readable interpretation: ``(00) 008712340000000017``."""
    return " ".join(f"({ai}) {data}" for ai, data in elements)


def _gs1_128(value: str) -> Symbol:
    try:
        elements = validate_gs1(value)
    except GS1Invalid as exc:
        raise _invalid("v", str(exc)) from None
    parts, data = [], []
    for n, element in enumerate(elements):
        parts.append(ai_data := element.ai.ai + element.value)
        ends_field = element.ai.separator_required and n < len(elements) - 1
        if ends_field:
            parts.append(Gs1_128.FNC1_CHAR)  # FNC1 ends a variable-length field
        data.append(ai_data + (GS if ends_field else ""))
    pairs = [(e.ai.ai, e.value) for e in elements]
    return Symbol("gs1_128", tuple(Gs1_128("".join(parts)).build()), 10, "".join(data), gs1_text(pairs))


_MODULE_CHARS = bytes.maketrans(b"\x00\x01", b"01")


def _qr(value: str, mask: int | None = None) -> Symbol:
    try:
        qr = segno.make(value, micro=False, error="m", mask=mask)
    except segno.DataOverflowError:
        raise _invalid("v", "is too long for a QR code") from None
    rows = tuple(bytes(row).translate(_MODULE_CHARS).decode("ascii") for row in qr.matrix)  # segno: 0/1 bytes
    return Symbol("qr", rows, 4, value, value)


# --- QR codes for documents: byte mode, mask 4, a placement template per version ----------------


def qr_fast(value: str) -> Symbol:
    """A QR code with a fixed mask pattern (any of the eight is valid ISO 18004; choosing
    the best one is most of segno's time), for documents that print hundreds at once."""
    if not value or len(value) > MAX_VALUE:
        raise _invalid("v", f"must be 1–{MAX_VALUE} characters")
    return _qr(value, mask=4)


ENCODERS = {"ean": _ean, "code_128": _code128, "code_39": _code39, "code_93": _code93, "qr": _qr, "gs1_128": _gs1_128}


def encode(kind: BarcodeType, value: str, fallback: BarcodeType | None = None) -> Symbol:
    """Check ``value`` against what ``kind`` can carry and encode it; a value it cannot
    carry uses ``fallback`` when one is given (as the seed's ``f``), else raises
    ``InvalidBarcode``."""
    try:
        return ENCODERS[kind](value)
    except InvalidBarcode:
        if fallback is None or fallback == kind:
            raise
        return ENCODERS[fallback](value)
    except (ValueError, RuntimeError, KeyError) as e:  # a value the library refused after all
        if fallback is not None and fallback != kind:
            return ENCODERS[fallback](value)
        raise _invalid("v", f"cannot be encoded as {kind}") from e


# --- drawing -------------------------------------------------------------------------------------


def geometry(symbol: Symbol, width: int | None, height: int | None) -> tuple[int, int, int, int]:
    """(image width, image height, module px, bar height px) for a request's ``w``/``h``."""
    if symbol.linear:
        module = DEFAULT_MODULE_PX if width is None else width // symbol.modules
        if module < 1:
            raise _invalid("w", f"is too small: this code needs at least {symbol.modules} px")
        w = width if width is not None else symbol.modules * module
        h = height if height is not None else LINEAR_HEIGHT
        return w, h, module, h
    side = min(v for v in (width, height) if v is not None) if (width or height) else None
    module = QR_MODULE_PX if side is None else side // symbol.modules
    if module < 1:
        raise _invalid("w" if width is not None else "h", f"is too small: this code needs at least {symbol.modules} px")
    w = width if width is not None else (height if height is not None else symbol.modules * module)
    h = height if height is not None else w
    return w, h, module, h


def _bars(row: str) -> list[tuple[int, int]]:
    """Runs of dark modules as (start, length)."""
    return [(m.start(), m.end() - m.start()) for m in re.finditer("1+", row)]


def draw_png(symbol: Symbol, width: int | None = None, height: int | None = None) -> bytes:
    w, h, module, bar_h = geometry(symbol, width, height)
    n = len(symbol.rows[0])
    img = Image.new("1", (w, h), 1)
    if symbol.linear:
        strip = Image.frombytes("1", (n, 1), _packbits(symbol.rows[0]))
        strip = strip.resize((n * module, bar_h), Image.Resampling.NEAREST)
        img.paste(strip, ((w - n * module) // 2, 0))
    else:
        matrix = Image.frombytes("1", (n, len(symbol.rows)), b"".join(_packbits(r) for r in symbol.rows))
        matrix = matrix.resize((n * module, len(symbol.rows) * module), Image.Resampling.NEAREST)
        img.paste(matrix, ((w - n * module) // 2, (h - len(symbol.rows) * module) // 2))
    out = io.BytesIO()
    img.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _packbits(row: str) -> bytes:
    """A module row as a mode-"1" scanline (1 = white in PIL's bilevel images)."""
    inverted = "".join("0" if c == "1" else "1" for c in row)
    inverted += "1" * (-len(inverted) % 8)
    return int(inverted, 2).to_bytes(len(inverted) // 8, "big") if inverted else b""


def svg_path(symbol: Symbol) -> str:
    """The dark modules as one path in module units (quiet zone included in the origin)."""
    q = symbol.quiet
    if symbol.linear:
        return "".join(f"M{q + x} 0h{n}v1h-{n}z" for x, n in _bars(symbol.rows[0]))
    return "".join(f"M{q + x} {q + y}h{n}v1h-{n}z" for y, row in enumerate(symbol.rows) for x, n in _bars(row))


def draw_svg(symbol: Symbol, width: int | None = None, height: int | None = None) -> str:
    """A standalone SVG of exactly ``w``×``h`` px (same geometry as the PNG)."""
    w, h, module, bar_h = geometry(symbol, width, height)
    n = len(symbol.rows[0])
    if symbol.linear:
        x0 = (w - n * module) // 2 - symbol.quiet * module
        transform = f"translate({x0} 0) scale({module} {bar_h})"
    else:
        x0 = (w - n * module) // 2 - symbol.quiet * module
        y0 = (h - len(symbol.rows) * module) // 2 - symbol.quiet * module
        transform = f"translate({x0} {y0}) scale({module})"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'shape-rendering="crispEdges"><rect width="{w}" height="{h}" fill="#fff"/>'
        f'<path transform="{transform}" fill="#000" d="{svg_path(symbol)}"/></svg>'
    )


_GRAY = bytes.maketrans(b"01", b"\xff\x00")  # module → 8-bit gray: light white, dark black


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def module_png(symbol: Symbol) -> bytes:
    """One pixel per module, quiet zone included (a linear code: one row), 8-bit gray, for
    documents to scale up unsmoothed. Gray rather than bilevel because WeasyPrint embeds a
    gray PNG's data as it is, while it converts a mode-"1" image to RGB and encodes it twice."""
    pad = "0" * symbol.quiet
    margin = [] if symbol.linear else ["0" * symbol.modules] * symbol.quiet
    rows = margin + [pad + r + pad for r in symbol.rows] + margin
    scanlines = b"".join(b"\0" + row.encode("ascii").translate(_GRAY) for row in rows)  # filter type 0 per row
    header = struct.pack(">IIBBBBB", symbol.modules, len(rows), 8, 0, 0, 0, 0)  # 8-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(scanlines, 6))
        + _png_chunk(b"IEND", b"")
    )


def _runs(row: str) -> list[int]:
    """Alternating dark and light run lengths, from the first dark module to the last."""
    return [m.end() - m.start() for m in re.finditer("1+|0+", row.strip("0"))]


def inline_svg(symbol: Symbol, css_class: str = "barcode", style: str | None = None) -> str:
    """For print templates: scales to whatever box CSS gives it (bars stretch, never blur).

    WeasyPrint parses SVG in Python and pays per node, per path command and per number,
    and a label batch draws hundreds of these. So a linear code is ONE stroked line as
    tall as the symbol whose dash pattern is the bars and spaces (`stroke-dasharray`: bar,
    space, bar, …, in modules; butt caps): one node, one number per bar or space, and in
    the PDF a plain ``[…] d`` dash array, which every renderer draws exactly. A 2-D code
    is one ``<path>`` of row runs."""
    q = symbol.quiet
    attrs = f' class="{css_class}"' + (f' style="{style}"' if style else "")
    if symbol.linear:
        row = symbol.rows[0]
        start = q + row.index("1")
        runs = _runs(row)
        end = start + sum(runs)
        dashes = " ".join(map(str, runs + [q]))  # a last gap (never reached: the line ends) keeps the list even
        return (
            f'<svg{attrs} viewBox="0 0 {symbol.modules} 1" preserveAspectRatio="none">'
            f'<path d="M{start} .5H{end}" fill="none" stroke="#000" stroke-dasharray="{dashes}"/></svg>'
        )
    return (
        f'<svg{attrs} viewBox="0 0 {symbol.modules} {symbol.modules}" preserveAspectRatio="none" '
        f'shape-rendering="crispEdges"><path d="{svg_path(symbol)}"/></svg>'
    )


# --- the cached endpoint renderer -----------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    body: bytes
    mimetype: str
    etag: str


def etag_for(*key) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()[:32]


# Drawn images by request, bounded by their total bytes; one image larger than the whole
# budget is drawn and served but not kept. cachetools needs the lock around it.
cache: LRUCache = LRUCache(maxsize=32 * 1024 * 1024, getsizeof=lambda rendered: len(rendered.body))


@cached(cache, lock=threading.Lock())
def render(
    kind: BarcodeType,
    value: str,
    width: int | None = None,
    height: int | None = None,
    fallback: BarcodeType | None = None,
    fmt: str = "png",
) -> Rendered:
    """The endpoint's work: encoded and drawn once, then served from memory."""
    key = (kind, value, width, height, fallback, fmt)
    symbol = encode(kind, value, fallback)
    if fmt == "svg":
        return Rendered(draw_svg(symbol, width, height).encode(), "image/svg+xml", etag_for(*key))
    return Rendered(draw_png(symbol, width, height), "image/png", etag_for(*key))
