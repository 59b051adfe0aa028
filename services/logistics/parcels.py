"""Parcels: SSCC-numbered boxes of one shipment's units; attach/detach with per-unit
outcome, transit and finished transitions."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa

from models import Parcel, Shipment, ShipmentItem, db, utcnow
from schemas.lcs_parcels import LcsParcelCreateModel, LcsParcelMeasures, LcsParcelModel
from schemas.validation import validate
from services import events
from services.acl import Actor
from services.commands import after_commit, command
from services.errors import Conflict, DomainError, ValidationFailed
from services.logistics import numbers

NO_LABEL = {"file_id": None, "reference": None, "label_text": None, "requested_at": None}


def get_parcel(actor: Actor, parcel_id) -> Parcel:
    return actor.scope.get(Parcel, parcel_id, "Parcel")


def parcel_rows(parcels: list[Parcel]) -> list[dict]:
    """``LcsParcel`` for many parcels with one query for all their units."""
    ids = [p.id for p in parcels]
    units: dict = {pid: [] for pid in ids}
    if ids:
        for u in db.session.scalars(
            sa.select(ShipmentItem).where(ShipmentItem.parcel_id.in_(ids)).order_by(ShipmentItem.sequence)
        ):
            units[u.parcel_id].append(u)
    return [_row(p, units[p.id]) for p in parcels]


def shipment_numbers(parcels: list[Parcel]) -> dict:
    """``{shipment_id: number}`` for these parcels' shipments, in one query (the parcels page)."""
    ids = {p.shipment_id for p in parcels}
    if not ids:
        return {}
    return {i: n for i, n in db.session.execute(sa.select(Shipment.id, Shipment.number).where(Shipment.id.in_(ids)))}


def parcel_row(p: Parcel) -> dict:
    return parcel_rows([p])[0]


def _row(p: Parcel, units: list[ShipmentItem]) -> dict:
    by_sku: dict = {}
    for u in units:
        by_sku.setdefault(u.sku, {"id": u.id, "sku": u.sku, "quantity": 0, "description": u.description})
        by_sku[u.sku]["quantity"] += 1
    return {
        "id": p.id,
        "number": p.number,
        "weight": p.weight,
        "length": p.length,
        "width": p.width,
        "height": p.height,
        "tracking_code": p.tracking_code,
        "tracking_url": p.tracking_url,
        "position": p.position,
        "label": label_row(p.label),
        "shipment_id": p.shipment_id,
        "count": len(units),
        "items": list(by_sku.values()),
        "item_ids": [u.id for u in units],
        "is_in_transit": p.is_in_transit,
        "is_delivered": p.is_delivered,
        "is_outbound": p.shipment.is_outbound,
        "is_finished": p.is_finished,
        "file_id": p.file_id,
        "ship_at": p.ship_at,
        "in_transit_at": p.in_transit_at,
        "finished_at": p.finished_at,
        "closed_at": p.closed_at,
        "label_blocked": p.label_blocked,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


def label_row(label: dict | None) -> dict:
    """``LcsParcelLabel``: always the object (nulls until a label was requested)."""
    if not label:
        return dict(NO_LABEL)
    requested = label.get("requested_at")
    return {**NO_LABEL, **label, "requested_at": datetime.fromisoformat(requested) if requested else None}


@command()
def create_parcel(actor: Actor, data: LcsParcelCreateModel) -> Parcel:
    """A parcel of one shipment; its ``item_ids`` are packed at once (all or nothing)."""
    shipment = actor.scope.get(Shipment, data.shipment_id, "Shipment")
    if shipment.is_canceled:
        raise Conflict(f"Shipment {shipment.number} is canceled")
    measured = set(LcsParcelMeasures.model_fields)
    payload = {"shipment_id": str(shipment.id), **data.model_dump(include=measured, exclude_none=True)}
    events.before("lcs.parcel", "creating", payload, {"actor": actor})
    # SET_FIELD rules may set weight or dimensions: taken over as validated as the client's.
    measures = validate(LcsParcelMeasures, {k: payload.get(k) for k in measured})
    parcel = Parcel(
        tenant_id=shipment.tenant_id,
        shipment_id=shipment.id,
        number=numbers.sscc(shipment.tenant_id),
        tracking_code=data.tracking_code,
        tracking_url=data.tracking_url,
        **measures.model_dump(),
    )
    db.session.add(parcel)
    db.session.flush()
    if data.item_ids:
        outcome = _attach(parcel, data.item_ids)
        if outcome["failed"]:
            message = f"{outcome['failed']} unit(s) are not free units of this shipment"
            raise ValidationFailed(
                f"item_ids {message}", details=[{"path": ["item_ids"], "message": message, "kind": "invalid value"}]
            )
    created = {"id": str(parcel.id), "number": parcel.number}
    after_commit(lambda: events.after("lcs.parcel", "created", created, {"actor": actor}))
    return parcel


@command()
def update_parcel(actor: Actor, parcel_id, data: LcsParcelModel) -> Parcel:
    """The fields sent change (``null`` clears one); refused once in transit."""
    parcel = get_parcel(actor, parcel_id)
    if parcel.is_in_transit:
        raise Conflict("Parcel is in transit")
    values = data.model_dump(include=data.model_fields_set)
    if values:
        done = db.session.execute(
            sa.update(Parcel)
            .where(Parcel.id == parcel.id, Parcel.is_in_transit.is_(False))
            .values(**values, updated_at=utcnow())
        ).rowcount
        if not done:
            raise Conflict("Parcel is in transit")
    return parcel


@command()
def delete_parcel(actor: Actor, parcel_id) -> None:
    parcel = get_parcel(actor, parcel_id)
    if parcel.is_in_transit:
        raise Conflict("Parcel is in transit")
    db.session.execute(sa.update(ShipmentItem).where(ShipmentItem.parcel_id == parcel.id).values(parcel_id=None))
    db.session.delete(parcel)


@contextmanager
def label_refusal_noted(actor: Actor, parcel_id):
    """Around a label request: a refusal (422: over the method's weight, a rule) is kept on
    the parcel, in a transaction of its own once the request's was rolled back, so the pack
    station still says "blocked: why" after the toast is gone."""
    try:
        yield
    except DomainError as e:
        if e.status == 422:
            _note_label_refused(actor, parcel_id, e.message[:500])
        raise


@command()
def _note_label_refused(actor: Actor, parcel_id, message: str) -> None:
    parcel = get_parcel(actor, parcel_id)
    db.session.execute(sa.update(Parcel).where(Parcel.id == parcel.id).values(label_blocked=message))


def mark_closed(parcel_ids: list[uuid.UUID]) -> None:
    """A parcel is closed once its label is requested (the first request counts): packing by
    scan then opens a new one instead of adding to a box that is already taped and labelled."""
    if parcel_ids:
        db.session.execute(
            sa.update(Parcel)
            .where(Parcel.id.in_(parcel_ids), Parcel.closed_at.is_(None))
            .values(closed_at=utcnow(), updated_at=utcnow())
        )
        # a request that got through ends the last refusal
        db.session.execute(sa.update(Parcel).where(Parcel.id.in_(parcel_ids)).values(label_blocked=None))


def _attach(parcel: Parcel, ids: list[uuid.UUID]) -> dict:
    ids = list(dict.fromkeys(ids))  # a unit named twice counts once
    success = db.session.execute(
        sa.update(ShipmentItem)
        .where(
            ShipmentItem.id.in_(ids),
            ShipmentItem.shipment_id == parcel.shipment_id,
            ShipmentItem.parcel_id.is_(None),
            ShipmentItem.is_missing.is_(False),
        )
        .values(parcel_id=parcel.id, updated_at=utcnow())
    ).rowcount
    return {"success": success, "failed": len(ids) - success}


@command(retry_deadlocks=True)
def attach(actor: Actor, parcel_id, ids: list[uuid.UUID]) -> dict:
    """Units must belong to the parcel's shipment and sit in no other parcel."""
    parcel = get_parcel(actor, parcel_id)
    if parcel.is_in_transit:
        raise Conflict("Parcel is in transit")
    return _attach(parcel, ids)


@command(retry_deadlocks=True)
def detach(actor: Actor, parcel_id, ids: list[uuid.UUID]) -> dict:
    parcel = get_parcel(actor, parcel_id)
    if parcel.is_in_transit:
        raise Conflict("Parcel is in transit")
    ids = list(dict.fromkeys(ids))  # a unit named twice counts once
    success = db.session.execute(
        sa.update(ShipmentItem)
        .where(ShipmentItem.id.in_(ids), ShipmentItem.parcel_id == parcel.id)
        .values(parcel_id=None, updated_at=utcnow())
    ).rowcount
    return {"success": success, "failed": len(ids) - success}


@command()
def mark_transit(actor: Actor, parcel_id) -> None:
    parcel = get_parcel(actor, parcel_id)
    if parcel.is_in_transit:
        return  # idempotent
    count = db.session.scalar(sa.select(sa.func.count(ShipmentItem.id)).where(ShipmentItem.parcel_id == parcel.id))
    if not count:
        raise Conflict("An empty parcel cannot ship")
    events.before("lcs.parcel", "shipping", {"id": str(parcel.id), "number": parcel.number}, {"actor": actor})
    db.session.execute(
        sa.update(Parcel)
        .where(Parcel.id == parcel.id, Parcel.is_in_transit.is_(False))
        .values(is_in_transit=True, in_transit_at=utcnow(), updated_at=utcnow())
    )
    shipped = {"id": str(parcel.id)}
    after_commit(lambda: events.after("lcs.parcel", "in_transit", shipped, {"actor": actor}))


@command()
def mark_finished(actor: Actor, parcel_id) -> None:
    parcel = get_parcel(actor, parcel_id)
    if parcel.is_finished:
        return
    if not parcel.is_in_transit:
        raise Conflict("Parcel must be in transit before it can be finished")
    db.session.execute(
        sa.update(Parcel)
        .where(Parcel.id == parcel.id, Parcel.is_finished.is_(False))
        .values(is_finished=True, is_delivered=True, finished_at=utcnow(), updated_at=utcnow())
    )
    db.session.execute(sa.update(ShipmentItem).where(ShipmentItem.parcel_id == parcel.id).values(is_finished=True))
