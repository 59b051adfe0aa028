"""Printing from the floor: a parcel's label, or every label of a handling list, in the
printer's own language — native ZPL for a label printer (rendered from the tenant's template
or the shipped one), the PDF label for a PDF printer. With no printer named, the label goes
to the pack station bound to the session, else the person's default printer."""

from __future__ import annotations

import re

import sqlalchemy as sa
from markupsafe import escape

from models import LabelTemplate, Parcel, Printer, db
from services import documents, zpl
from services.acl import Actor
from services.commands import command
from services.errors import Conflict, ValidationFailed
from services.logistics.lists import get_list
from services.logistics.parcels import get_parcel, mark_closed
from services.printing import queue, stations
from services.printing.printers import live_printer


def tenant_template(tenant_id) -> str | None:
    return db.session.scalar(sa.select(LabelTemplate.body).where(LabelTemplate.tenant_id == tenant_id))


def with_settings(label: str, settings: dict) -> str:
    """The printer's darkness (``~SD``, before the label) and copies (``^PQ``, in each label)."""
    darkness, copies = settings.get("darkness"), int(settings.get("copies", 1))
    if copies > 1:
        label = re.sub(r"\^XZ", f"^PQ{copies}^XZ", label)
    return f"~SD{int(darkness):02d}\n{label}" if darkness is not None else label


def label_bytes(parcels: list[Parcel], printer: Printer) -> bytes:
    if printer.default_encoding == "pdf":
        return documents.render_pdf(documents.labels_html(parcels))
    settings = printer.settings or {}
    template = tenant_template(printer.tenant_id)
    dpi = int(settings.get("dpi", 203))
    labels = "".join(zpl.render_label(documents.label_fields(p), dpi=dpi, template=template) for p in parcels)
    return with_settings(labels, settings).encode()


def target_printer(actor: Actor, printer_id=None, station_id=None) -> Printer:
    if printer_id is not None:
        return live_printer(actor, printer_id)
    found = stations.station_printer(actor, station_id) or stations.default_printer_of(actor)
    if found is None:
        message = "Choose a printer: no pack station is bound to this session and you have no default printer"
        raise ValidationFailed(message, details=[{"path": ["printer_id"], "message": message, "kind": "required"}])
    return live_printer(actor, found.id)


@command()
def print_parcel(actor: Actor, parcel_id, printer_id=None, station_id=None):
    """Queue the parcel's label (checked as a label request is: weight, units, the rules)."""
    parcel = get_parcel(actor, parcel_id)
    printer = target_printer(actor, printer_id, station_id)
    documents.check_labelable(actor, parcel)
    mark_closed([parcel.id])
    return queue.enqueue(
        actor,
        printer,
        label_bytes([parcel], printer),
        job=f"lcs:parcel:{parcel.id}",
        description=f"Label for parcel {parcel.number}",
    )


def print_on_close(actor: Actor, parcel_id, station_id=None):
    """Closing a parcel prints its label where the packer stands: the bound station's printer,
    else the person's default printer; None when there is neither (the PDF label remains)."""
    found = stations.station_printer(actor, station_id) or stations.default_printer_of(actor)
    if found is None or found.disabled_at is not None:
        return None
    return print_parcel(actor, parcel_id, found.id)


@command()
def print_list(actor: Actor, list_id, printer_id=None, station_id=None):
    """Queue every label of a handling list as one job (one refused parcel refuses all)."""
    hl = get_list(actor, list_id)
    printer = target_printer(actor, printer_id, station_id)
    parcels = [p for p in documents.list_parcels(hl) if not p.is_in_transit]
    if not parcels:
        raise Conflict(f"Handling list {hl.number} has no parcels to label")
    for p in parcels:
        documents.check_labelable(actor, p)
    mark_closed([p.id for p in parcels])
    return queue.enqueue(
        actor,
        printer,
        label_bytes(parcels, printer),
        job=f"lcs:list:{hl.id}",
        description=f"Labels for handling list {hl.number} ({len(parcels)} parcels)",
    )


@command()
def test_print(actor: Actor, printer_id):
    """A test page in the printer's language: the sample label."""
    printer = live_printer(actor, printer_id)
    if printer.default_encoding == "pdf":
        data = documents.render_pdf(
            "<html><body><h1>Wharf test print</h1><p>Printer "
            + str(escape(printer.name))
            + " prints PDF.</p></body></html>"
        )
    else:
        settings = printer.settings or {}
        label = zpl.render_label(
            zpl.sample_fields(), dpi=int(settings.get("dpi", 203)), template=tenant_template(printer.tenant_id)
        )
        data = with_settings(label, settings).encode()
    return queue.enqueue(
        actor, printer, data, job=f"spl:printer:{printer.id}:test", description=f"Test print on {printer.name}"
    )


@command()
def save_template(actor: Actor, body: str) -> LabelTemplate:
    """A tenant's own ZPL label, refused with every problem found when it does not render."""
    problems = zpl.validate_template(body)
    if problems:
        raise ValidationFailed(
            "The label template does not render: " + problems[0],
            details=[{"path": ["body"], "message": p, "kind": "invalid value"} for p in problems],
        )
    tenant_id = actor.tenant_for_new()
    row = db.session.scalars(sa.select(LabelTemplate).where(LabelTemplate.tenant_id == tenant_id)).first()
    if row is None:
        row = LabelTemplate(tenant_id=tenant_id, body=body)
        db.session.add(row)
    row.body, row.updated_by = body, actor.user_id
    return row


@command()
def reset_template(actor: Actor) -> None:
    """Back to the shipped label."""
    db.session.execute(sa.delete(LabelTemplate).where(LabelTemplate.tenant_id == actor.tenant_for_new()))
