"""Documents as PDFs (spec/documents.md): parcel labels, packing slips, pick lists, batch
labels, a shipment's commercial invoice and the seed's HTML → PDF, rendered by WeasyPrint
from Jinja print templates.

- Templates live in ``templates/documents/``, each with its own ``@page`` CSS; they never
  extend the screen layout. Barcodes (``services.barcodes``) are inline SVG on slips and
  pick lists, and one-pixel-per-module PNG ``data:`` URIs scaled up unsmoothed on labels
  (printed by the hundred: an image costs WeasyPrint a fraction of any SVG); fonts are the
  system's DejaVu (Debian ``fonts-dejavu-core``): a document needs no URL at all.
- WeasyPrint's URL fetcher is ``RestrictedFetcher``: ``data:`` URIs and the app's own
  ``static/`` files, nothing else — no network address, no ``file://`` path, ever (SSRF).
- One WeasyPrint render at a time per process (``_render_lock``): its text stack is not
  thread-safe, and a warm long-lived process is what makes it fast.
- Labelling rules: a parcel needs a weight and units, may not exceed its method's
  ``max_weight``, and the ``lcs.parcel`` "labeling" event may block it (business rules).
  The check runs in the request (so the caller gets the 4xx); the PDF is rendered by a
  background task (``services.tasks``) that stores it in the ``documents`` partition.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import mimetypes
import threading
import uuid
from collections import OrderedDict
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import sqlalchemy as sa
from flask import current_app, render_template
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from models import (
    Attachment,
    HandlingList,
    Location,
    Parcel,
    Product,
    Scope,
    Shipment,
    ShipmentItem,
    Tenant,
    db,
    utcnow,
)
from schemas.cnt import CntHtmlToInlinePdfRequest, CntHtmlToPdfRequest
from schemas.lcs_documents import SlipSize
from services import attachments, barcodes, events, tasks
from services.acl import SYSTEM, Actor
from services.commands import after_commit, command
from services.errors import BadRequest, Conflict, DomainError, NotFound
from services.logistics import lists
from services.logistics.lists import get_list
from services.logistics.parcels import get_parcel, mark_closed
from services.logistics.products import money
from services.logistics.shipments import get_shipment

log = logging.getLogger("wharf.documents")
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # one INFO line per page otherwise

PARTITION = "documents"
INVOICE_ENTITY = "lcs:shipment"  # invoices are filed with the shipment (its file panel lists them)
# The origin print templates resolve relative URLs against. ``.invalid`` never resolves, and
# the fetcher maps it to ``static/`` without any network access.
ORIGIN = "https://wharf.invalid"
BASE_URL = ORIGIN + "/"
MAX_DATA_URI = 10 * 1024 * 1024


# --- rendering --------------------------------------------------------------------------------


class FetchRefused(ValueError):
    """The restricted fetcher does not serve this URL."""


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class DataResponse(URLFetcherResponse):
        """A ``data:`` URI (RFC 2397, decoded as urllib's ``DataHandler`` does). Its email
        headers are built only if something asks for them: a label batch fetches a QR
        code per label, and the header machinery costs more than decoding the PNG."""

        def __init__(self, url: str):
            mediatype, sep, data = url[5:].partition(",")
            if not sep:
                raise ValueError("no comma")
            body = unquote_to_bytes(data)  # even base64 data may be %-quoted
            if mediatype.endswith(";base64"):
                body = base64.decodebytes(body)
                mediatype = mediatype[:-7]
            self.url, self.status, self._file_obj = url, 200, io.BytesIO(body)
            self._mediatype = mediatype or "text/plain;charset=US-ASCII"

        @cached_property
        def headers(self):
            headers = EmailMessage()
            headers["Content-Type"] = self._mediatype
            return headers

        @property
        def content_type(self):
            main = self._mediatype.split(";", 1)[0].strip().lower()
            return main if main.count("/") == 1 else self.headers.get_content_type()

        @property
        def charset(self):
            return self.headers.get_param("charset") if ";" in self._mediatype else None

    class RestrictedFetcher(URLFetcher):
        """``data:`` URIs and files under the app's static folder; every other URL raises
        (WeasyPrint then logs a warning and leaves the resource out)."""

        def __init__(self, static_root: str | Path):
            super().__init__(allowed_protocols=("data", "https"), allow_redirects=False)
            self.static_root = Path(static_root).resolve()
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if url[:5].lower() == "data:":
                if len(url) > MAX_DATA_URI:
                    return self._refuse(url, "data: URI too large")
                try:
                    return DataResponse(url)
                except (ValueError, binascii.Error) as e:
                    return self._refuse(url, f"bad data: URI ({e})")
            parts = urlsplit(url)
            if (
                parts.scheme == "https"
                and parts.netloc == urlsplit(ORIGIN).netloc
                and parts.path.startswith("/static/")
            ):
                path = (self.static_root / unquote(parts.path[len("/static/") :])).resolve()
                if self.static_root in path.parents and path.is_file():
                    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
            return self._refuse(url, "only data: URIs and the app's static files are fetched")

        def _refuse(self, url, why):
            self.refused.append(url)
            raise FetchRefused(f"{why}: {url[:200]}")

    return RestrictedFetcher


_render_lock = threading.Lock()


def fetcher(static_root: str | Path | None = None):
    return _fetcher_class()(static_root or current_app.static_folder)


def render_pdf(html: str, *, stylesheets: list[str] | None = None, url_fetcher=None) -> bytes:
    """HTML → PDF bytes with the restricted fetcher (``stylesheets`` are CSS strings added
    as user stylesheets, e.g. the page size of ``POST /cnt/html``)."""
    from weasyprint import CSS, HTML

    url_fetcher = url_fetcher or fetcher()
    with _render_lock:
        extra = [CSS(string=s, base_url=BASE_URL, url_fetcher=url_fetcher) for s in stylesheets or []]
        return HTML(string=html, base_url=BASE_URL, url_fetcher=url_fetcher).write_pdf(stylesheets=extra)


def barcode(
    kind: str,
    value: str,
    *,
    module_mm: float | None = None,
    height_mm: float,
    css_class: str = "barcode",
    width_mm: float | None = None,
) -> Markup:
    """An inline SVG barcode sized in millimetres (``module_mm`` per module, or ``width_mm``)."""
    symbol = barcodes.encode(kind, value)
    width = width_mm if width_mm is not None else symbol.modules * (module_mm or 0.33)
    return Markup(barcodes.inline_svg(symbol, css_class, f"width:{width:.2f}mm;height:{height_mm:.2f}mm"))


def _png(symbol: barcodes.Symbol, css_class: str, style: str = "") -> Markup:
    uri = "data:image/png;base64," + base64.b64encode(barcodes.module_png(symbol)).decode("ascii")
    return Markup(f'<img class="{css_class}" src="{uri}"{style}>')  # no alt: nothing rather than text if it failed


def qr(value: str, *, size_mm: float | None = None, css_class: str = "qr") -> Markup:
    """A QR code as a one-pixel-per-module gray PNG that is scaled up without smoothing
    (``image-rendering: pixelated`` → PDF ``/Interpolate false``): a 2-D code as a vector
    path costs WeasyPrint several milliseconds per label, the image a fraction of one, and
    it still scans. Without ``size_mm`` the template's CSS for ``css_class`` sizes it."""
    size = "" if size_mm is None else f"width:{size_mm:.2f}mm;height:{size_mm:.2f}mm;"
    return _png(barcodes.qr_fast(value), css_class, size and f' style="{size}image-rendering:pixelated"')


def raster_barcode(kind: str, value: str, *, css_class: str = "barcode") -> Markup:
    """A linear code as a one-row PNG, one pixel per module (quiet zones included), for the
    template's CSS for ``css_class`` to size with ``image-rendering: pixelated``: for
    documents printed by the hundred (batch labels). The image costs WeasyPrint half what
    the cheapest SVG does (one dashed line, ``barcode()``), and /Interpolate false makes a
    printer or rasteriser snap the bars to device pixels exactly as it does vector bars."""
    return _png(barcodes.encode(kind, value), css_class)


# --- what documents show ------------------------------------------------------------------------


def address_lines(address: dict | None) -> list[str]:
    a = address or {}
    street = " ".join(str(a[k]) for k in ("street", "house_number", "addition") if a.get(k))
    city = " ".join(str(a[k]) for k in ("postal_code", "city") if a.get(k))
    lines = [a.get("name"), a.get("company"), street, city, a.get("region"), a.get("country_code"), a.get("phone")]
    return [str(line) for line in lines if line]


def _recipient(s: Shipment) -> list[str]:
    to = (s.addressing or {}).get("to") or {}
    lines = address_lines(to.get("address"))
    if not lines and to.get("entity_id"):
        lines = [f"{to.get('entity_type') or 'contact'} {to['entity_id']}"]
    return lines or ["(no address)"]


def _sender(s: Shipment) -> list[str]:
    lines = address_lines(((s.addressing or {}).get("from") or {}).get("address"))
    if not lines and s.location_id:
        loc = db.session.get(Location, s.location_id)
        if loc is not None:
            lines = [loc.name] + [line for line in address_lines(loc.address) if line != loc.name]
    if not lines:
        tenant = db.session.get(Tenant, s.tenant_id)
        lines = [tenant.name] if tenant else []
    return lines


def weight_text(grams: int | None) -> str:
    if grams is None:
        return "weight unknown"
    return f"{grams / 1000:.2f} kg" if grams >= 1000 else f"{grams} g"


def _method_text(s: Shipment) -> str:
    m = s.method
    if m is None:
        return "No shipping method"
    return " · ".join(p for p in (m.label or m.name, m.carrier_code.upper() if m.carrier_code else None) if p)


def _position(parcel: Parcel) -> tuple[int, int]:
    ids = [p.id for p in parcel.shipment.parcels]
    return (ids.index(parcel.id) + 1 if parcel.id in ids else 1), max(1, len(ids))


def sscc_text(number: str) -> str:
    return barcodes.gs1_text([("00", number)])


def label_fields(parcel: Parcel) -> dict:
    """What a parcel label says, as plain data: the PDF label (``label_context``) and the ZPL
    label (``services.zpl``) both print from this one dict, so they cannot drift apart."""
    s = parcel.shipment
    index, count = _position(parcel)
    return {
        "sender": _sender(s),
        "recipient": _recipient(s),
        "method": _method_text(s),
        "shipment_number": s.number,
        "order_id": s.order_id,
        "index": index,
        "count": count,
        "weight": weight_text(parcel.weight),
        "tracking_code": parcel.tracking_code,
        "tracking_url": parcel.tracking_url,
        "number": parcel.number,
        "sscc_text": sscc_text(parcel.number),
    }


def label_context(parcel: Parcel) -> dict:
    """``label_fields`` plus the barcode images the PDF template places."""
    fields = label_fields(parcel)
    return {
        **fields,
        "qr": qr(fields["tracking_url"]) if fields["tracking_url"] else None,  # sized by labels.html
        "barcode": raster_barcode("gs1_128", "(00)" + fields["number"]),  # sized by labels.html
    }


def labels_html(parcels: list[Parcel], title: str = "Labels") -> str:
    return render_template("documents/labels.html", labels=[label_context(p) for p in parcels], title=title)


def _lines(units: list[ShipmentItem]) -> list[dict]:
    lines: OrderedDict = OrderedDict()
    for u in units:
        line = lines.setdefault(u.sku, {"sku": u.sku, "description": u.description, "quantity": 0})
        line["quantity"] += 1
    return list(lines.values())


def slip_html(parcel: Parcel, size: SlipSize = "a4") -> str:
    s = parcel.shipment
    index, count = _position(parcel)
    units = list(
        db.session.scalars(
            sa.select(ShipmentItem).where(ShipmentItem.parcel_id == parcel.id).order_by(ShipmentItem.sequence)
        )
    )
    lines = _lines(units)
    return render_template(
        "documents/slip.html",
        shipment_number=s.number,
        order_id=s.order_id,
        index=index,
        count=count,
        sscc=parcel.number,
        recipient=_recipient(s),
        sender=_sender(s),
        lines=lines,
        total_units=sum(line["quantity"] for line in lines),
        date=utcnow().strftime("%Y-%m-%d"),
        page_size=size.upper(),
        barcode=barcode("code_128", s.number, module_mm=0.33, height_mm=12),
    )


# The station's command barcodes: "Can't find it" short-picks the current pick (reason: empty location).
COMMANDS = (("Finish list", "WHARF:FINISH"), ("Undo last scan", "WHARF:UNDO"), ("Can't find it", "WHARF:MISSING"))


def picklist_lines(hl: HandlingList) -> list[dict]:
    """The pick list's lines: one per position and SKU (what the picker takes from that shelf,
    in walk order), with the total and its split per shipment (its tote label and number)."""
    groups = lists.grouped(hl)
    numbers_of = lists.shipment_numbers({g["shipment_id"] for g in groups})
    lines: OrderedDict = OrderedDict()
    for g in groups:
        line = lines.get((g["position"], g["sku"]))
        if line is None:
            line = lines[(g["position"], g["sku"])] = {
                "rank": len(lines) + 1,
                "position": g["position"],
                "sku": g["sku"],
                "description": g["description"],
                "quantity": 0,
                "split": [],
            }
        line["quantity"] += g["quantity"]
        line["split"].append(
            {"quantity": g["quantity"], "label": g["sorting_label"], "number": numbers_of.get(g["shipment_id"])}
        )
    return list(lines.values())


def picklist_html(hl: HandlingList) -> str:
    lines = picklist_lines(hl)
    for line in lines:
        line["barcode"] = barcode("code_128", line["sku"], module_mm=0.25, height_mm=8)
    commands = [
        {"title": title, "value": value, "barcode": barcode("code_128", value, module_mm=0.3, height_mm=12)}
        for title, value in COMMANDS
    ]
    return render_template(
        "documents/picklist.html",
        number=hl.number,
        lines=lines,
        commands=commands,
        shipments=len(hl.shipments),
        units=sum(line["quantity"] for line in lines),
        due_at=hl.due_at.strftime("%Y-%m-%d %H:%M") if hl.due_at else None,
        date=utcnow().strftime("%Y-%m-%d"),
        barcode=barcode("code_128", hl.number, module_mm=0.33, height_mm=12),
    )


# --- commercial invoice ----------------------------------------------------------------------------


def invoice_number(s: Shipment) -> str:
    """One invoice per shipment: its number is the shipment's (``INV-S-000123``)."""
    return f"INV-{s.number}"


def _invoice_lines(s: Shipment) -> list[dict]:
    """The shipment's units that ship (not missing) by SKU, with the product's customs data
    (the unit's own HS code and description win: they are what the order said)."""
    units = [u for u in s.items if not u.is_missing]
    skus = sorted({u.sku for u in units})
    products = {p.sku: p for p in db.session.scalars(Scope(s.tenant_id).select(Product).where(Product.sku.in_(skus)))}
    lines: OrderedDict = OrderedDict()
    for u in units:
        p = products.get(u.sku)
        line = lines.get(u.sku)
        if line is None:
            line = lines[u.sku] = {
                "sku": u.sku,
                "description": u.description or (p.description if p else ""),
                "hs_code": u.hs_code or (p.hs_code if p else None),
                "quantity": 0,
                "unit_weight": p.weight if p else None,
                "unit_value": p.value if p else None,
                "currency": p.currency if p else None,
                "origin": p.country_of_origin if p else None,
            }
        line["quantity"] += 1
    for line in lines.values():
        line["weight"] = None if line["unit_weight"] is None else line["unit_weight"] * line["quantity"]
        line["value"] = None if line["unit_value"] is None else line["unit_value"] * line["quantity"]
    return list(lines.values())


def invoice_context(s: Shipment) -> dict:
    """What a customs officer reads: seller and buyer, one line per SKU, totals. A line
    without a weight or value is shown as unknown and the total says it is incomplete;
    values in several currencies are totalled per currency."""
    lines = _invoice_lines(s)
    values: OrderedDict = OrderedDict()
    for line in lines:
        if line["value"] is not None:
            values[line["currency"]] = values.get(line["currency"], 0) + line["value"]
        line["unit_value_text"] = money(line["unit_value"], line["currency"])
        line["value_text"] = money(line["value"], line["currency"])
        line["unit_weight_text"] = weight_text(line["unit_weight"]) if line["unit_weight"] is not None else "—"
    known = [line["weight"] for line in lines if line["weight"] is not None]
    return {
        "number": invoice_number(s),
        "date": utcnow().strftime("%Y-%m-%d"),
        "shipment_number": s.number,
        "order_id": s.order_id,
        "seller": _sender(s),
        "buyer": _recipient(s),
        "lines": lines,
        "units": sum(line["quantity"] for line in lines),
        "total_weight": weight_text(sum(known)) if known else "—",
        "weight_complete": len(known) == len(lines),
        "total_values": [money(v, c) for c, v in values.items()],
        "value_complete": all(line["value"] is not None for line in lines),
        "barcode": barcode("code_128", s.number, module_mm=0.33, height_mm=12),
    }


def invoice_html(s: Shipment) -> str:
    return render_template("documents/invoice.html", **invoice_context(s))


# --- labelling rules and requests -----------------------------------------------------------------


class NotLabelable(DomainError):
    """The parcel cannot be labelled as it is (422, with the field at fault)."""

    status = 422
    default_message = "Parcel cannot be labelled"


def _refuse(message: str, field: str) -> NotLabelable:
    return NotLabelable(message, details=[{"path": [field], "message": message, "kind": "invalid value"}])


def check_labelable(actor: Actor, parcel: Parcel) -> None:
    """Weight present and units packed; then the ``labeling`` event. The method's
    ``max_weight`` policy is the "parcel over method max weight" business rule (seeded,
    disabled until an administrator enables it), so a tenant can switch it off (issue 8)."""
    if parcel.is_in_transit:
        raise Conflict(f"Parcel {parcel.number} is in transit")
    if parcel.weight is None:
        raise _refuse(f"Parcel {parcel.number} has no weight: weigh it before requesting a label", "weight")
    units = db.session.scalar(sa.select(sa.func.count(ShipmentItem.id)).where(ShipmentItem.parcel_id == parcel.id))
    if not units:
        raise _refuse(f"Parcel {parcel.number} is empty: pack units before requesting a label", "items")
    method = parcel.shipment.method
    events.before(
        "lcs.parcel",
        "labeling",
        {
            "id": str(parcel.id),
            "number": parcel.number,
            "shipment_id": str(parcel.shipment_id),
            "weight": parcel.weight,
            "tracking_code": parcel.tracking_code,
            "method_id": str(method.id) if method else None,
            "max_weight": method.max_weight if method else None,
            "units": units,
        },
        {"actor": actor},
    )


@command()
def request_label(actor: Actor, parcel_id):
    parcel = get_parcel(actor, parcel_id)
    check_labelable(actor, parcel)
    mark_closed([parcel.id])
    return tasks.enqueue(
        actor,
        "lcs.parcel.label",
        {"parcel_id": str(parcel.id), "requested_at": utcnow().isoformat()},
        description=f"Label for parcel {parcel.number}",
        tenant_id=parcel.tenant_id,
        organization_id=parcel.shipment.organization_id,
    )


@command()
def request_slip(actor: Actor, parcel_id, size: SlipSize = "a4"):
    parcel = get_parcel(actor, parcel_id)
    return tasks.enqueue(
        actor,
        "lcs.parcel.slip",
        {"parcel_id": str(parcel.id), "size": size},
        description=f"Packing slip for parcel {parcel.number}",
        tenant_id=parcel.tenant_id,
        organization_id=parcel.shipment.organization_id,
    )


@command()
def request_invoice(actor: Actor, shipment_id):
    """``POST /lcs/shipments/{id}/invoice``: the commercial invoice, rendered by a task and
    stored with the shipment. A canceled shipment ships nothing: 400 (the seed lists no 409)."""

    s = get_shipment(actor, shipment_id)
    if s.is_canceled:
        raise BadRequest(f"Shipment {s.number} is canceled: it ships nothing to invoice")
    return tasks.enqueue(
        actor,
        "lcs.shipment.invoice",
        {"shipment_id": str(s.id)},
        description=f"Commercial invoice for shipment {s.number}",
        tenant_id=s.tenant_id,
        organization_id=s.organization_id,
    )


def list_parcels(hl: HandlingList) -> list[Parcel]:
    """Parcels of the list's shipments, in list order then packing order."""
    order = {ls.shipment_id: ls.position for ls in hl.shipments}
    shipment = selectinload(Parcel.shipment)  # labels read the shipment, its parcels and method: load them at once
    parcels = list(
        db.session.scalars(
            sa.select(Parcel)
            .where(Parcel.shipment_id.in_(list(order)))
            .options(shipment.selectinload(Shipment.parcels), shipment.selectinload(Shipment.method))
        )
    )
    return sorted(parcels, key=lambda p: (order[p.shipment_id], p.created_at, p.number))


@command()
def request_list_labels(actor: Actor, list_id):
    """Label every parcel of a handling list in one batch PDF (all checked first: one
    refused parcel refuses the batch, naming it)."""

    hl = get_list(actor, list_id)
    parcels = [p for p in list_parcels(hl) if not p.is_in_transit]
    if not parcels:
        raise Conflict(f"Handling list {hl.number} has no parcels to label")
    for p in parcels:
        check_labelable(actor, p)
    mark_closed([p.id for p in parcels])
    return tasks.enqueue(
        actor,
        "lcs.list.labels",
        {"list_id": str(hl.id), "parcel_ids": [str(p.id) for p in parcels], "requested_at": utcnow().isoformat()},
        description=f"Labels for handling list {hl.number} ({len(parcels)} parcels)",
        total=len(parcels) + 1,
        tenant_id=hl.tenant_id,
        organization_id=hl.organization_id,
        cancellable=True,
    )


# --- storing ----------------------------------------------------------------------------------------


def store_pdf(tenant_id, pdf: bytes, filename: str, entity_id: str, record_id: str) -> Attachment:
    """A generated PDF as an attachment in the tenant's ``documents`` partition."""
    return attachments.store(
        SYSTEM,
        attachments.Upload(filename, io.BytesIO(pdf)),
        entity_id=entity_id,
        record_id=record_id,
        partition_code=PARTITION,
        tenant_id=tenant_id,
    )


def stored_pdf(tenant_id, file_id) -> Attachment | None:
    """The stored document ``file_id`` of this tenant, if it is still there."""
    try:
        key = uuid.UUID(str(file_id))
    except (ValueError, TypeError):
        return None
    return db.session.scalars(
        sa.select(Attachment).where(Attachment.id == key, Attachment.tenant_id == tenant_id)
    ).first()


def _label_value(parcel: Parcel, file_id, requested_at: str) -> dict:
    return {
        "file_id": str(file_id),
        "reference": parcel.tracking_code or parcel.number,
        "label_text": sscc_text(parcel.number),
        "requested_at": requested_at,
    }


@command()
def _set_labels(actor: Actor, parcels: list[Parcel], file_id, requested_at: str) -> None:
    """Record a stored label PDF on its parcels; their "labeled" events run once it is durable."""
    for p in parcels:
        db.session.execute(
            sa.update(Parcel)
            .where(Parcel.id == p.id)
            .values(label=_label_value(p, file_id, requested_at), updated_at=utcnow())
        )
        labeled = {"id": str(p.id), "number": p.number, "file_id": str(file_id)}
        after_commit(lambda labeled=labeled: events.after("lcs.parcel", "labeled", labeled, {"actor": actor}))


@command()
def _set_slip(parcel: Parcel, file_id) -> None:
    db.session.execute(
        sa.update(Parcel).where(Parcel.id == parcel.id).values(file_id=str(file_id), updated_at=utcnow())
    )


@tasks.task("lcs.parcel.label")
def label_task(ctx: tasks.TaskContext, parcel_id: str, requested_at: str) -> str:
    parcel = db.session.get(Parcel, uuid.UUID(parcel_id))
    if parcel is None or parcel.tenant_id != ctx.tenant_id:
        raise NotFound("Parcel not found")
    pdf = render_pdf(labels_html([parcel], f"Label {parcel.number}"))
    att = store_pdf(parcel.tenant_id, pdf, f"label-{parcel.number}.pdf", "lcs:parcel", str(parcel.id))
    _set_labels(ctx.actor(), [parcel], att.id, requested_at)
    return str(att.id)


@tasks.task("lcs.parcel.slip")
def slip_task(ctx: tasks.TaskContext, parcel_id: str, size: str = "a4") -> str:
    parcel = db.session.get(Parcel, uuid.UUID(parcel_id))
    if parcel is None or parcel.tenant_id != ctx.tenant_id:
        raise NotFound("Parcel not found")
    pdf = render_pdf(slip_html(parcel, size))
    att = store_pdf(
        parcel.tenant_id,
        pdf,
        f"packing-slip-{parcel.shipment.number}-{parcel.number}.pdf",
        "lcs:parcel",
        str(parcel.id),
    )
    _set_slip(parcel, att.id)
    return str(att.id)


@tasks.task("lcs.shipment.invoice")
def invoice_task(ctx: tasks.TaskContext, shipment_id: str) -> str:
    s = db.session.get(Shipment, uuid.UUID(shipment_id))
    if s is None or s.tenant_id != ctx.tenant_id:
        raise NotFound("Shipment not found")
    pdf = render_pdf(invoice_html(s))
    att = store_pdf(s.tenant_id, pdf, f"{invoice_number(s)}.pdf", INVOICE_ENTITY, str(s.id))
    return str(att.id)


def stored_invoice(s: Shipment) -> Attachment | None:
    """The shipment's latest stored invoice (the task files it with the shipment)."""
    return db.session.scalars(
        sa.select(Attachment)
        .where(
            Attachment.tenant_id == s.tenant_id,
            Attachment.entity_id == INVOICE_ENTITY,
            Attachment.record_id == str(s.id),
            Attachment.file_name == f"{invoice_number(s)}.pdf",
        )
        .order_by(Attachment.created_at.desc())
    ).first()


@tasks.task("lcs.list.labels")
def list_labels_task(ctx: tasks.TaskContext, list_id: str, parcel_ids: list[str], requested_at: str) -> str:
    """Progress per document: each label laid out counts one, the PDF itself the last. A
    cancel stops it between labels or before the PDF is stored (nothing is written then)."""
    hl = db.session.get(HandlingList, uuid.UUID(list_id))
    if hl is None or hl.tenant_id != ctx.tenant_id:
        raise NotFound("Handling list not found")
    parcels = [
        p
        for p in (db.session.get(Parcel, uuid.UUID(pid)) for pid in parcel_ids)
        if p is not None and p.tenant_id == ctx.tenant_id
    ]
    total = len(parcels) + 1
    contexts = []
    for n, p in enumerate(parcels, start=1):
        contexts.append(label_context(p))
        ctx.progress(n, total)
    html = render_template("documents/labels.html", labels=contexts, title=f"Labels {hl.number}")
    pdf = render_pdf(html)
    ctx.progress(len(parcels), total)  # the last chance to stop: nothing is stored yet
    att = store_pdf(hl.tenant_id, pdf, f"labels-{hl.number}.pdf", "lcs:list", str(hl.id))
    _set_labels(ctx.actor(), parcels, att.id, requested_at)
    return str(att.id)


# --- POST /cnt/html ---------------------------------------------------------------------------------

PAGE_SIZES = {
    "a3": "A3",
    "a4": "A4",
    "a5": "A5",
    "a6": "A6",
    "letter": "letter",
    "legal": "legal",
    "tabloid": "11in 17in",
}


def page_css(data: CntHtmlToInlinePdfRequest) -> str:
    """The requested size and margins (mm) as an ``@page`` rule that wins over the document's own."""
    size = data.size
    page = f"{size.width}mm {size.height}mm" if size.name == "custom" else PAGE_SIZES[size.name]
    m = data.margin
    return f"@page {{ size: {page} !important; margin: {m.top}mm {m.right}mm {m.bottom}mm {m.left}mm !important; }}"


def html_to_pdf(data: CntHtmlToInlinePdfRequest) -> bytes:
    return render_pdf(data.content, stylesheets=[page_css(data)])


def html_to_stored_pdf(actor: Actor, data: CntHtmlToPdfRequest) -> tuple[Attachment, str]:
    """``POST /cnt/html``: render, store in ``documents`` (record = the ``path``); (file, dir)."""
    pdf = html_to_pdf(data)
    directory = "/" + "/".join(p for p in data.path.split("/") if p not in ("", ".", ".."))
    record = "".join(c if c.isalnum() or c in "_.:@-" else ":" for c in directory.strip("/"))[:120] or "root"
    name = attachments.sanitize_file_name(data.filename or "document.pdf", "application/pdf")
    name = name if name.lower().endswith(".pdf") else name + ".pdf"
    att = attachments.store(
        actor,
        attachments.Upload(name, io.BytesIO(pdf)),
        entity_id="cnt:file",
        record_id=record,
        partition_code=PARTITION,
    )
    return att, directory
