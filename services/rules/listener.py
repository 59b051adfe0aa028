"""Where rules fire: the logistics before/after events (services.events) run the engine.

``register()`` subscribes once per process (the business_rules blueprint calls it at import).
For each event the listener

1. finds the tenant (the record's tenant for super admins and system callers, else the
   actor's) and the rules for (tenant, entity, event) — a cached lookup, so an event
   without rules costs nothing more;
2. builds the record the rules see: the event's ``data`` over a snapshot of the stored
   record (``shape``), e.g. a parcel with ``weight`` and ``method.max_weight``, a list with
   ``progress.missing``;
3. runs the engine; on a "before" event SET_FIELD changes are copied into ``data`` (the
   dict the service passed, which services read back — see ``create_shipment``);
4. logs every rule run. A refused "before" event rolls back the caller's open transaction
   (the operation is refused anyway), commits the logs and raises ``Blocked`` (422, family B
   ``errors: {"blocked by rule": [ruleId, ...]}``); otherwise the logs ride with the
   operation's own commit ("after" events commit them, the operation being done);
5. returns warnings/infos and remembers them for the response (``pending_messages``), so the
   scan and pack stations show them as toasts and API clients get ``x-rule-warnings``.
"""

from __future__ import annotations

import contextvars
import functools
import uuid
from datetime import datetime

import sqlalchemy as sa
from flask import g, has_request_context

from models import HandlingList, Method, Parcel, Scope, Shipment, ShipmentItem, db, utcnow
from services import events
from services.commands import command, on_rollback
from services.logistics import lists
from services.rules import conditions as cond
from services.rules import engine

MAX_EMIT_DEPTH = 3
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("business_rules_depth", default=0)
_registered = False
MODELS = {"lcs.shipment": Shipment, "lcs.list": HandlingList, "lcs.parcel": Parcel}


def register() -> None:
    global _registered
    if _registered:
        return
    events.subscribe("before", before_listener)
    events.subscribe("after", after_listener)
    _registered = True


def before_listener(entity: str, event: str, data: dict, context: dict):
    return _run("before", entity, event, data, context)


def after_listener(entity: str, event: str, data: dict, context: dict):
    return _run("after", entity, event, data, context)


@command()
def _keep_logs(rows: list[dict]) -> None:
    """Rule logs as an operation of their own: after a refused operation rolled back, or
    after a committed one (the "after" phase runs once the change is durable)."""
    engine.write_logs(rows)


# --- tenants and records ------------------------------------------------------------------------


def _uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _record_tenant(entity: str, data: dict):
    """The tenant of the record an event is about (for callers that span tenants)."""
    if data.get("tenant_id") and _uuid(data["tenant_id"]):
        return _uuid(data["tenant_id"])
    everyone = Scope(None)  # a system lookup: which tenant owns this record

    def owner(model, rid):
        return db.session.scalar(everyone.select(model).with_only_columns(model.tenant_id).where(model.id == rid))

    model = MODELS.get(entity)
    rid = _uuid(data.get("id") or data.get("parcel_id") or data.get("list_id"))
    if model is not None and rid is not None:
        found = owner(model, rid)
        if found:
            return found
    sid = _uuid(data.get("shipment_id"))
    if sid is None and isinstance(data.get("shipments"), list) and data["shipments"]:
        sid = _uuid(data["shipments"][0])
    return owner(Shipment, sid) if sid is not None else None


def tenant_for(actor, entity: str, data: dict):
    principal = getattr(actor, "principal", None)
    if principal is not None and not getattr(actor, "is_super_admin", False):
        return principal.tenant_id
    return _record_tenant(entity, data) or (principal.tenant_id if principal is not None else None)


def _method_row(m: Method | None) -> dict | None:
    if m is None:
        return None
    return {
        "id": str(m.id),
        "name": m.name,
        "carrier_code": m.carrier_code,
        "max_weight": m.max_weight,
        "is_enabled": m.is_enabled,
        "priority": m.priority,
        "countries": [c.get("code") if isinstance(c, dict) else c for c in (m.countries or [])],
    }


def _shipment_row(s: Shipment) -> dict:
    to = ((s.addressing or {}).get("to") or {}).get("address") or {}
    return {
        "id": str(s.id),
        "number": s.number,
        "type": s.type,
        "is_outbound": s.is_outbound,
        "method_id": str(s.method_id) if s.method_id else None,
        "order_id": s.order_id,
        "channel_id": s.channel_id,
        "contact_id": s.contact_id,
        "addressing": s.addressing or {},
        "country_code": to.get("country_code"),
        "ship_at": s.ship_at,
        "expected_at": s.expected_at,
        "is_canceled": s.is_canceled,
        "list_id": str(s.active_list_id) if s.active_list_id else None,
    }


def _units(shipment_id) -> list[dict]:
    rows = db.session.execute(
        sa.select(
            ShipmentItem.sku,
            ShipmentItem.is_handled,
            ShipmentItem.is_missing,
            ShipmentItem.parcel_id,
            ShipmentItem.weight,
        )
        .where(ShipmentItem.shipment_id == shipment_id)
        .order_by(ShipmentItem.sequence)
    ).all()
    return [
        {
            "sku": r.sku,
            "is_handled": r.is_handled,
            "is_missing": r.is_missing,
            "is_boxed": r.parcel_id is not None,
            "weight": r.weight,
        }
        for r in rows
    ]


def _shape_shipment(scope: Scope, data: dict) -> dict:
    record: dict = {}
    s = None
    if _uuid(data.get("id")):
        s = db.session.scalars(scope.select(Shipment).where(Shipment.id == _uuid(data["id"]))).first()
    if s is not None:
        record = _shipment_row(s)
        units = _units(s.id)
        record.update(
            items=units,
            unit_count=len(units),
            missing_units=sum(1 for u in units if u["is_missing"]),
            method=_method_row(s.method),
        )
    else:
        items = data.get("items") or []
        record["unit_count"] = len(items) if isinstance(items, list) else 0
        method_id = _uuid(data.get("method_id"))
        if method_id:
            record["method"] = _method_row(
                db.session.scalars(scope.select(Method).where(Method.id == method_id)).first()
            )
    return record


def _list_skus(hl: HandlingList) -> list[str]:
    """The distinct SKUs of the list's units, sorted (what a rule on a list's items reads)."""
    return list(
        db.session.scalars(
            sa.select(ShipmentItem.sku)
            .where(ShipmentItem.shipment_id.in_([ls.shipment_id for ls in hl.shipments]))
            .distinct()
            .order_by(ShipmentItem.sku)
        )
    )


def _shape_list(scope: Scope, data: dict) -> dict:
    hl = None
    if _uuid(data.get("id")):
        hl = db.session.scalars(scope.select(HandlingList).where(HandlingList.id == _uuid(data["id"]))).first()
    if hl is None:
        shipments = data.get("shipments")
        return {"shipment_count": len(shipments) if isinstance(shipments, list) else 0}
    p = lists.progress(hl)
    return {
        "id": str(hl.id),
        "number": hl.number,
        "sub": hl.sub,
        "is_on_hold": hl.is_on_hold,
        "is_finished": hl.is_finished,
        "is_cancelled": hl.is_cancelled,
        "due_at": hl.due_at,
        "started_at": hl.started_at,
        "shipments": [str(ls.shipment_id) for ls in hl.shipments],
        "shipment_count": len(hl.shipments),
        "skus": _list_skus(hl),
        "progress": p.as_dict(),
        "missing_units": p.missing,
        "open_units": p.open,
    }


def _shape_parcel(scope: Scope, data: dict) -> dict:
    parcel = None
    pid = _uuid(data.get("id") or data.get("parcel_id"))
    if pid:
        parcel = db.session.scalars(scope.select(Parcel).where(Parcel.id == pid)).first()
    record: dict = {}
    shipment = None
    if parcel is not None:
        count = db.session.scalar(sa.select(sa.func.count(ShipmentItem.id)).where(ShipmentItem.parcel_id == parcel.id))
        record = {
            "id": str(parcel.id),
            "number": parcel.number,
            "weight": parcel.weight,
            "length": parcel.length,
            "width": parcel.width,
            "height": parcel.height,
            "tracking_code": parcel.tracking_code,
            "position": parcel.position,
            "shipment_id": str(parcel.shipment_id),
            "is_in_transit": parcel.is_in_transit,
            "is_finished": parcel.is_finished,
            "is_labeled": parcel.label is not None,
            "count": count,
        }
        shipment = parcel.shipment
    elif _uuid(data.get("shipment_id")):
        shipment = db.session.scalars(scope.select(Shipment).where(Shipment.id == _uuid(data["shipment_id"]))).first()
    if shipment is not None:
        record["shipment"] = _shipment_row(shipment)
        record["method"] = _method_row(shipment.method)
    return record


SHAPERS = {"lcs.shipment": _shape_shipment, "lcs.list": _shape_list, "lcs.parcel": _shape_parcel}


def shape(entity: str, data: dict, tenant_id) -> dict:
    """The record rules see: the stored record's snapshot under the event's own ``data``
    (a key the event leaves out or sets to null keeps the stored value)."""
    shaper = SHAPERS.get(entity)
    base = shaper(Scope(tenant_id), data) if shaper else {}
    record = dict(base)
    for key, value in data.items():
        if value is None and key in base:
            continue
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            record[key] = {**base[key], **{k: v for k, v in value.items() if v is not None}}
        else:
            record[key] = value
    return record


def _column_kind(entity: str, keys: tuple):
    """The Python type of the stored column a top-level SET_FIELD targets (None if unknown)."""
    model = MODELS.get(entity)
    if model is None or len(keys) != 1 or not isinstance(keys[0], str):
        return None
    column = model.__table__.columns.get(keys[0])
    if column is None:
        return None
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _coerce_like(existing, value, kind=None):
    """SET_FIELD keeps the record's type (the value already there, else the stored column's):
    ISO text → datetime, numeric text → number, "true"/"false" → boolean."""
    if existing is None and kind is not None:
        existing = {datetime: datetime(2000, 1, 1), bool: False, int: 0}.get(kind)
    if isinstance(existing, datetime) and isinstance(value, str):
        return cond.as_date(value) or value
    if isinstance(existing, bool) and not isinstance(value, bool):
        coerced = cond.as_bool(value)
        return value if coerced is None else coerced
    if isinstance(existing, int) and not isinstance(existing, bool) and isinstance(value, str):
        number = cond.as_number(value)
        return int(number) if number is not None and number.is_integer() else value
    return value


# --- running ----------------------------------------------------------------------------------------


def pending_messages() -> list[tuple[str, str]]:
    """(level, message) pairs collected during this request (shown by the blueprint's hook)."""
    if not has_request_context():
        return []
    return g.setdefault("business_rule_messages", [])


def _run(phase: str, entity: str, event: str, data: dict, context: dict):
    if not isinstance(data, dict):
        return None
    actor = (context or {}).get("actor")
    tenant_id = tenant_for(actor, entity, data)
    if tenant_id is None:
        return None
    now = utcnow()
    rules, skipped = engine.discover(tenant_id, entity, event, now)
    if not rules:
        return None
    principal = getattr(actor, "principal", None)
    record = shape(entity, data, tenant_id)
    env = engine.env_for(principal, tenant_id, now)
    execution = engine.run_rules(rules, record, env, apply_fields=(phase == "before"), skipped=skipped)
    if phase == "before":
        for keys, value in execution.set_fields:
            cond.set_path(data, keys, _coerce_like(_raw(data, keys), value, _column_kind(entity, keys)))
    rows = engine.log_rows(
        execution,
        tenant_id=tenant_id,
        entity_type=entity,
        entity_id=data.get("id") or record.get("id"),
        event_type=event,
        record=record,
        user_id=getattr(principal, "id", None),
    )
    if phase == "before" and not execution.allowed:
        # The refused operation rolls back; the logs of why it was refused are kept after it.
        on_rollback(functools.partial(_keep_logs, rows))
        raise events.Blocked(
            " ".join(dict.fromkeys(execution.block_messages)) or "Blocked by a business rule",
            rule_ids=list(dict.fromkeys(execution.blocked_rule_ids)),
        )
    if phase == "before":
        engine.write_logs(rows)  # committed with the operation they let through
    else:
        _keep_logs(rows)
    warnings = execution.messages["errors"] + execution.messages["warnings"]
    infos = execution.messages["infos"]
    pending = pending_messages()
    pending.extend(("warning", w) for w in warnings)
    pending.extend(("info", i) for i in infos)
    _emit(entity, execution.emits, context)
    return events.Outcome(warnings=warnings, infos=infos)


def _raw(data, keys):
    """The value at ``keys`` without the leaf normalisation of ``resolve`` (datetimes stay)."""
    cur = data
    for k in keys:
        if isinstance(cur, dict):
            cur = cur.get(k)
        elif isinstance(cur, list) and isinstance(k, int) and k < len(cur):
            cur = cur[k]
        else:
            return None
    return cur


def _emit(entity: str, emits: list, context: dict) -> None:
    depth = _depth.get()
    if not emits or depth >= MAX_EMIT_DEPTH:
        return
    token = _depth.set(depth + 1)
    try:
        for name, payload in emits:
            events.after(entity, name, dict(payload or {}), context)
    finally:
        _depth.reset(token)
