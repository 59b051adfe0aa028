"""What an attachment's (entity type, record id) names, for people: the shipment's number,
the parcel's SSCC, the list's number, and the page that shows the record.

The Files library lists records of several kinds; one UNION query per page resolves all of
them (never a query per row). Records outside the caller's scope stay unresolved."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from models import db
from models.logistics import HandlingList, Parcel, Shipment
from services.acl import Actor


@dataclass(frozen=True)
class RecordLabel:
    """``endpoint`` + ``args`` build the record's page URL (the HTTP layer calls url_for);
    ``feature`` is what the page requires, so a caller without it gets the label alone."""

    label: str
    endpoint: str
    args: dict
    feature: str


# entity type -> (model, page endpoint, URL argument, column the page is keyed by, feature the page requires)
KINDS = {
    "lcs:shipment": (Shipment, "lcs.shipment", "shipment_id", Shipment.id, "lcs.shipments.read"),
    # a parcel has no page of its own: it is shown on its shipment's
    "lcs:parcel": (Parcel, "lcs.shipment", "shipment_id", Parcel.shipment_id, "lcs.shipments.read"),
    "lcs:list": (HandlingList, "lcs.handling_list", "list_id", HandlingList.id, "lcs.handling.read"),
}


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _kind(entity) -> str:
    """Attachments name kinds ``lcs:shipment``, business rules ``lcs.shipment``: one kind."""
    return str(entity or "").replace(".", ":", 1)


def resolve(actor: Actor, refs) -> dict[tuple[str, str], RecordLabel]:
    """``{(entity type, record id): RecordLabel}`` for the refs the caller may see (keyed by
    the entity type as the caller spelled it)."""
    wanted: dict[str, set[uuid.UUID]] = {}
    spelled: dict[str, set[str]] = {}
    for entity, record in refs:
        key = _uuid(record)
        if _kind(entity) in KINDS and key is not None:
            wanted.setdefault(_kind(entity), set()).add(key)
            spelled.setdefault(_kind(entity), set()).add(entity)
    if not wanted:
        return {}
    parts = []
    for entity, ids in wanted.items():
        model, _, _, page_key, _ = KINDS[entity]
        parts.append(
            actor.scope.select(model)
            .where(model.id.in_(ids))
            .with_only_columns(
                sa.literal(entity).label("entity"),
                model.id.label("id"),
                model.number.label("number"),
                page_key.label("page_key"),
            )
        )
    out = {}
    for row in db.session.execute(sa.union_all(*parts)):
        _, endpoint, arg, _, feature = KINDS[row.entity]
        for entity in spelled[row.entity]:
            out[(entity, str(row.id))] = RecordLabel(row.number, endpoint, {arg: row.page_key}, feature)
    return out
