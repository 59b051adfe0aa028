"""Shipping methods (seed 001 ``LcsMethod``) and Wharf's writes of them (the seed only
reads them). The seed fields without a column (``delivery_during``, the ``is_*`` options,
``provider``, ``provider_method_id``) live in ``Method.extra``.

No HTTP here; input arrives validated (``schemas.lcs_reference``)."""

from __future__ import annotations

import sqlalchemy as sa

from models import Method, Scope, db
from schemas.lcs_reference import LcsMethodModel
from services import undo
from services.acl import Actor
from services.commands import Audited, audited, command, lock

EXTRA = (
    "delivery_during",
    "is_configured",
    "is_same_day",
    "is_sunday",
    "is_carrier_location",
    "is_neighbour_allowed",
    "provider_method_id",
    "provider",
)
FLAGS = tuple(k for k in EXTRA if k.startswith("is_"))


def method_row(m: Method) -> dict:
    """``LcsMethod`` in the seed's field order."""
    extra = m.extra or {}
    return {
        "id": m.id,
        "carrier_code": m.carrier_code,
        "name": m.name,
        "label": m.label,
        "description": m.description,
        "max_weight": m.max_weight,
        "countries": [{"code": c["code"], "amount": c.get("amount", 0)} for c in m.countries or []],
        "delivery_during": extra.get("delivery_during"),
        **{flag: bool(extra.get(flag, False)) for flag in FLAGS},
        "provider_method_id": extra.get("provider_method_id"),
        "provider": extra.get("provider") or "default",
        "is_enabled": m.is_enabled,
        "priority": m.priority,
    }


def _method_snapshot(m: Method) -> dict:
    return method_row(m) | {"deleted_at": m.deleted_at}


METHOD = Audited("lcs_method", _method_snapshot, "method")


def methods_query(scope: Scope) -> sa.Select:
    """Live methods, first by ``priority`` (lower first), then name."""
    return scope.select(Method).order_by(Method.priority, Method.name, Method.id)


def get_method(scope: Scope, method_id) -> Method:
    return scope.get(Method, method_id)


def _apply(m: Method, data: LcsMethodModel, fields) -> None:
    """Copy ``fields`` of ``data`` onto the method (blank texts stored as null)."""
    extra = dict(m.extra or {})
    for key in fields:
        value = None if getattr(data, key) == "" else getattr(data, key)
        if key == "countries":
            m.countries = [c.model_dump() for c in value or []]
        elif key in EXTRA:
            extra[key] = value
        else:
            setattr(m, key, value)
    m.extra = extra


@command()
def create_method(actor: Actor, data: LcsMethodModel, *, tenant_id=None) -> Method:
    """A shipping method with the seed's defaults: not enabled, ``priority`` 100, ``provider`` default."""
    m = Method(tenant_id=actor.tenant_for_new(tenant_id))
    _apply(m, data, type(data).model_fields)
    with audited(actor, "create", METHOD, m):
        db.session.add(m)
    return m


@command()
def update_method(actor: Actor, method_id, data: LcsMethodModel) -> Method:
    """Changes the fields sent; ``countries`` replaces the whole list."""
    m = lock(actor.scope, Method, method_id)
    with audited(actor, "edit", METHOD, m):
        _apply(m, data, data.model_fields_set)
    return m


@command()
def delete_method(actor: Actor, method_id) -> Method:
    """Soft delete: gone from lists; shipments that used it keep their link."""
    m = lock(actor.scope, Method, method_id)
    with audited(actor, "delete", METHOD, m):
        m.soft_delete()
    return m


def enabled_for_country(scope: Scope, country_code: str) -> list[Method]:
    """Enabled methods that list ``country_code`` (two capitals), in priority order."""
    return [
        m
        for m in db.session.scalars(methods_query(scope).where(Method.is_enabled.is_(True)))
        if any(c.get("code") == country_code for c in m.countries or [])
    ]


# --- undo (services.undo): methods come back through the commands above -------------------


undo.register_soft_deleted(
    METHOD, Method, LcsMethodModel, features=("lcs.methods.write",), update=update_method, delete=delete_method
)
