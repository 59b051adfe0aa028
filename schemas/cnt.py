"""Content (seed 001 ``/cnt``): barcodes (lines 10262–10330) and HTML → PDF (21993–22180;
schemas ``CntHtmlToPdfRequest``, ``CntHtmlToInlinePdfRequest``, ``CntPdf``, 99304–99420)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from schemas.base import Id, Model, text

# --- barcodes ---------------------------------------------------------------------------------

BarcodeType = Literal["ean", "code_128", "code_39", "code_93", "qr", "gs1_128"]
MAX_VALUE = 1000
MAX_PIXELS = 4000
Pixels = Annotated[int, Field(ge=1, le=MAX_PIXELS)]


class BarcodeQuery(Model):
    """``GET /cnt/barcode``. ``gs1_128`` and ``format`` are Wharf's. ``v`` is not ``Text``:
    a GS1 element string carries the GS separator (a control character), and nothing
    stores it."""

    t: BarcodeType = Field(description="Type of barcode (EAN-13, or EAN-8 for 7–8 digits)")
    v: str = Field(min_length=1, max_length=MAX_VALUE, description="Value of the barcode")
    w: Pixels | None = Field(None, description="Width of the barcode in pixels")
    h: Pixels | None = Field(None, description="Height of the barcode in pixels")
    f: BarcodeType | None = Field(None, description="Fallback for a value the type cannot carry")
    format: Literal["png", "svg"] = Field("png", description="png, or svg (what Wharf's pages embed)")


# --- HTML → PDF ---------------------------------------------------------------------------------

MAX_MM = 2000
Millimetres = Annotated[int, Field(ge=0, le=MAX_MM)]
PageSize = Literal["a3", "a4", "a5", "a6", "letter", "legal", "tabloid", "custom"]


def _base64_html(value: str) -> str:
    """``content`` is base64 HTML; the model holds the HTML (UTF-8, else Latin-1)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class CntPageSize(Model):
    """A named size, or ``custom`` with ``width`` × ``height`` in mm. Without a name: custom
    when a width or height is given, else A4."""

    predefined: PageSize | None = None
    width: Annotated[int, Field(ge=1, le=MAX_MM, description="Size in mm")] | None = None
    height: Annotated[int, Field(ge=1, le=MAX_MM, description="Size in mm")] | None = None

    @model_validator(mode="after")
    def _custom_has_both(self):
        if self.name == "custom" and (self.width is None or self.height is None):
            raise ValueError("a custom size needs width and height")
        return self

    @property
    def name(self) -> str:
        return self.predefined or ("custom" if self.width or self.height else "a4")


class CntMargin(Model):
    """Page margins in mm (0 unless sent, as the seed says)."""

    top: Millimetres = 0
    bottom: Millimetres = 0
    left: Millimetres = 0
    right: Millimetres = 0


class CntHtmlToInlinePdfRequest(Model):
    """Body of ``POST /cnt/html/inline``. WeasyPrint runs no scripts, so ``wait_delay`` and
    ``wait_timeout`` (seconds) are accepted and need not be waited for."""

    size: CntPageSize = Field(default_factory=CntPageSize)
    margin: CntMargin = Field(default_factory=CntMargin)
    content: Annotated[str, AfterValidator(_base64_html)] = Field(description="The HTML, base64")
    wait_delay: Annotated[int, Field(ge=0, le=600)] = 2
    wait_timeout: Annotated[int, Field(ge=0, le=600)] = 10

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "size": {"predefined": "a4", "width": None, "height": None},
                    "margin": {"top": 10, "bottom": 10, "left": 10, "right": 10},
                    "content": "PGgxPkhlbGxvIFdoYXJmPC9oMT4=",
                    "wait_delay": 2,
                    "wait_timeout": 10,
                }
            ]
        }
    )


class CntHtmlToPdfRequest(CntHtmlToInlinePdfRequest):
    """Body of ``POST /cnt/html``: the PDF is stored under ``path`` as ``filename``. Every
    call stores a new file, so ``method`` (upsert, resolve, strict) changes nothing."""

    path: text(200) = ""
    filename: text(200) = ""
    method: Literal["upsert", "resolve", "strict"] | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "path": "/invoices/2026",
                    "filename": "invoice-1.pdf",
                    "size": {"predefined": "custom", "width": 100, "height": 150},
                    "margin": {"top": 5, "bottom": 5, "left": 5, "right": 5},
                    "method": "upsert",
                    "content": "PGgxPkludm9pY2U8L2gxPg==",
                    "wait_delay": 2,
                    "wait_timeout": 10,
                }
            ]
        }
    )


class CntPdf(Model):
    """The reference to the stored PDF (``/api/attachments`` serves ``url``)."""

    id: Id
    filename: str
    label: str
    dir: str
    type: Literal["file"]
    mime: str
    url: str
    is_public: bool
    is_listed: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
