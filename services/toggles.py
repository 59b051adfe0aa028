"""Feature toggles: global definitions, per-tenant overrides and the one resolver
(override → default) that the API, templates and Wharf's own code all use."""

from __future__ import annotations

import math
import typing
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from models import FeatureToggle, FeatureToggleOverride, Scope, Tenant, db
from models.scope import get_visible
from schemas.feature_toggles import ChangeOverrideState, FeatureToggleCreate, FeatureToggleUpdate, ToggleType
from services import cache_versions, undo
from services.acl import Actor
from services.commands import Audited, audited, command, lock, row_snapshot
from services.errors import BadRequest, NotFound, ValidationFailed

TYPES = typing.get_args(ToggleType)
CACHE = cache_versions.prefetch("feature_toggles")

# Toggles Wharf's own screens read (created by `flask init` and `seed-demo`).
BUILTIN = [
    {
        "identifier": "lcs.scan.sound",
        "name": "Scan sounds",
        "category": "Scanning",
        "type": "boolean",
        "defaultValue": True,
        "description": "Play a sound on every scan (success and error tones).",
    },
    {
        "identifier": "lcs.scan.confirm_quantity",
        "name": "Confirm quantities by a second scan",
        "category": "Scanning",
        "type": "boolean",
        "defaultValue": False,
        "description": "A line with a quantity above 1 needs a second scan of the same item to confirm.",
    },
    {
        "identifier": "lcs.scan.confirm_tote",
        "name": "Confirm the tote by a scan",
        "category": "Scanning",
        "type": "boolean",
        "defaultValue": False,
        "description": "On a list of several shipments, each picked item is confirmed by scanning its tote's label.",
    },
    {
        "identifier": "lcs.lists.bulk_actions",
        "name": "Bulk actions on lists",
        "category": "Lists",
        "type": "boolean",
        "defaultValue": True,
        "description": "Show select-all and bulk actions on shipment and handling lists.",
    },
]


def _invalid(path: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{path} {message}", details=[{"path": [path], "message": message}])


def check_value(kind: str, value, path: str = "defaultValue"):
    """``value`` if it is a value of the toggle type ``kind``, else a 400 on ``path``: the
    type of an update or an override is the stored toggle's, so no request model knows it."""
    if kind == "boolean" and not isinstance(value, bool):
        raise _invalid(path, "must be true or false")
    if kind == "string" and not isinstance(value, str):
        raise _invalid(path, "must be a string")
    if kind == "number" and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
    ):
        raise _invalid(path, "must be a finite number")
    if kind == "json" and value is None:
        raise _invalid(path, "must be a JSON value")
    return value


def serialize(t: FeatureToggle) -> dict:
    return {
        "id": t.id,
        "identifier": t.identifier,
        "name": t.name,
        "description": t.description,
        "category": t.category,
        "type": t.type,
        "defaultValue": t.default_value,
        "createdAt": t.created_at,
        "updatedAt": t.updated_at,
    }


def snapshot(t: FeatureToggle) -> dict:
    return row_snapshot(serialize(t), t)


TOGGLE = Audited("feature_toggle", snapshot, "toggle", name=lambda t: t.identifier)


def live_toggles() -> sa.Select:
    return sa.select(FeatureToggle).where(FeatureToggle.deleted_at.is_(None))


def get_toggle(toggle_id: uuid.UUID) -> FeatureToggle:
    return get_visible(live_toggles(), FeatureToggle, toggle_id, "Feature toggle")


def _lock_toggle(toggle_id: uuid.UUID) -> FeatureToggle:
    return lock(live_toggles(), FeatureToggle, toggle_id, "Feature toggle")


IDENTIFIER_TAKEN = "Identifier already exists (deleted toggles keep theirs reserved)"


@command(IDENTIFIER_TAKEN)
def create_toggle(actor: Actor, body: FeatureToggleCreate) -> FeatureToggle:
    """A new global toggle. The identifier is unique for ever (a deleted toggle keeps
    its): taken is a 400, as the seed answers."""
    if db.session.scalar(sa.select(FeatureToggle.id).where(FeatureToggle.identifier == body.identifier)):
        raise BadRequest(IDENTIFIER_TAKEN, details=[{"path": ["identifier"], "message": "is taken"}])
    default = False if body.defaultValue is None and body.type == "boolean" else body.defaultValue
    toggle = FeatureToggle(
        identifier=body.identifier,
        name=body.name,
        description=body.description or None,
        category=body.category or None,
        type=body.type,
        default_value=check_value(body.type, default),
    )
    with audited(actor, "create", TOGGLE, toggle, tenant_id=_audit_tenant(actor)):
        db.session.add(toggle)
    cache_versions.bump(CACHE)
    return toggle


@command()
def update_toggle(actor: Actor, body: FeatureToggleUpdate) -> FeatureToggle:
    """Change the fields ``body`` carries; identifier and type never change."""
    toggle = _lock_toggle(body.id)
    sent = body.model_fields_set
    if body.identifier not in (None, toggle.identifier):
        raise BadRequest("identifier cannot be changed", details=[{"path": ["identifier"], "message": "is immutable"}])
    if body.type not in (None, toggle.type):
        raise BadRequest("type cannot be changed", details=[{"path": ["type"], "message": "is immutable"}])
    with audited(actor, "edit", TOGGLE, toggle, tenant_id=_audit_tenant(actor)):
        if "name" in sent:
            toggle.name = body.name
        if "description" in sent:
            toggle.description = body.description or None
        if "category" in sent:
            toggle.category = body.category or None
        if "defaultValue" in sent:
            toggle.default_value = check_value(toggle.type, body.defaultValue)
    cache_versions.bump(CACHE)
    return toggle


@command()
def delete_toggle(actor: Actor, toggle_id) -> FeatureToggle:
    """Soft delete: overrides stop applying, the identifier stays reserved."""
    toggle = _lock_toggle(toggle_id)
    with audited(actor, "delete", TOGGLE, toggle, tenant_id=_audit_tenant(actor)):
        toggle.soft_delete()
    cache_versions.bump(CACHE)
    return toggle


def _audit_tenant(actor: Actor):
    return getattr(actor.principal, "tenant_id", None)


# --- overrides --------------------------------------------------------------------------


def override_of(toggle: FeatureToggle, tenant_id) -> FeatureToggleOverride | None:
    return db.session.scalars(
        Scope(tenant_id).select(FeatureToggleOverride).where(FeatureToggleOverride.toggle_id == toggle.id)
    ).first()


def override_state(toggle: FeatureToggle, override: FeatureToggleOverride | None) -> str:
    if override is None:
        return "inherit"
    if toggle.type == "boolean":
        return "enabled" if override.value else "disabled"
    return "override"


def override_row(toggle: FeatureToggle, override: FeatureToggleOverride | None, tenant: Tenant) -> dict:
    return {
        "id": override.id if override else None,
        "toggleId": toggle.id,
        "overrideState": override_state(toggle, override),
        "identifier": toggle.identifier,
        "name": toggle.name,
        "category": toggle.category,
        "type": toggle.type,
        "defaultState": bool(toggle.default_value) if toggle.type == "boolean" else None,
        "defaultValue": toggle.default_value,
        "overrideValue": override.value if override else None,
        "isOverride": override is not None,
        "tenantId": tenant.id,
        "tenantName": tenant.name,
    }


def overrides_by_toggle(tenant_id) -> dict:
    """The tenant's overrides keyed by toggle id (one query for a whole list)."""
    return {o.toggle_id: o for o in db.session.scalars(Scope(tenant_id).select(FeatureToggleOverride))}


def override_tenant(actor: Actor, requested: uuid.UUID | None = None) -> Tenant:
    """The tenant whose overrides a call reads or writes: the caller's own, or for a super
    admin (and the system) any live tenant it names — so what a super admin writes for another
    tenant it can read back. Anyone else naming another tenant gets a 404, as for any other
    tenant's record (it used to write its own tenant's override instead, silently)."""
    own = getattr(actor.principal, "tenant_id", None)
    wanted = requested or own
    if wanted is None:
        raise ValidationFailed("tenantId is required", details=[{"path": ["tenantId"], "message": "is required"}])
    may_name_any = actor.principal is None or actor.is_super_admin
    tenant = db.session.get(Tenant, wanted) if may_name_any or wanted == own else None
    if tenant is None or tenant.deleted_at is not None:
        raise NotFound("Tenant not found")
    return tenant


@command("The override changed at the same time; try again")
def set_override(actor: Actor, body: ChangeOverrideState) -> FeatureToggleOverride | None:
    """Override the toggle for the tenant, or (``isOverride`` false) return it to inherit."""
    toggle = _lock_toggle(body.toggleId)
    tenant = override_tenant(actor, body.tenantId).id
    spec = Audited(
        "feature_toggle_override", lambda t: _override_snapshot(t, tenant), "override", tenant=lambda t: tenant
    )
    current = override_of(toggle, tenant)
    with audited(
        actor,
        "edit",
        spec,
        toggle,
        label=lambda t: f"Override {t.identifier}: {_override_snapshot(t, tenant)['overrideState']}",
    ):
        if not body.isOverride:
            if current is not None:
                db.session.delete(current)
            current = None
        else:
            value = body.overrideValue
            if value is None and toggle.type == "boolean":
                value = True  # the seed's body is just {toggleId, isOverride}: an override enables
            value = check_value(toggle.type, value, "overrideValue")
            if current is None:
                current = FeatureToggleOverride(tenant_id=tenant, toggle_id=toggle.id)
                db.session.add(current)
            current.value = value
    cache_versions.bump(CACHE)
    return current


def _override_snapshot(toggle: FeatureToggle, tenant_id) -> dict:
    """What the audit trail keeps of the tenant's override of ``toggle``."""
    current = override_of(toggle, tenant_id)
    return {"overrideState": override_state(toggle, current), "value": current.value if current else None}


# --- the resolver -----------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    toggle_id: uuid.UUID
    identifier: str
    type: str
    value: object
    source: str  # "override" | "default"


# Resolutions per (identifier, tenant), valid while no toggle or override changed anywhere.
_cache = cache_versions.VersionedCache(size=10_000)
_MISSING = object()


def resolve(identifier: str, tenant_id) -> Resolution | None:
    """Override for the tenant → default → None (unknown or deleted). Cached per
    (identifier, tenant) until any toggle or override changes anywhere."""
    found = _cache.get_or_build(
        (identifier, str(tenant_id)), cache_versions.current(CACHE), lambda: _resolve(identifier, tenant_id)
    )
    return None if found is _MISSING else found


def _resolve(identifier: str, tenant_id):
    toggle = db.session.scalars(live_toggles().where(FeatureToggle.identifier == identifier)).first()
    if toggle is None:
        return _MISSING  # unknown is cached too: a stream of checks for it costs one query
    override = override_of(toggle, tenant_id) if tenant_id else None
    return Resolution(
        toggle.id,
        toggle.identifier,
        toggle.type,
        override.value if override else toggle.default_value,
        "override" if override else "default",
    )


def check(identifier: str, tenant_id, expected_type: str) -> Resolution:
    """The check endpoints: 404 when unknown, 400 on a type mismatch."""
    found = resolve(identifier, tenant_id)
    if found is None:
        raise NotFound(f"Feature toggle '{identifier}' not found")
    if found.type != expected_type:
        raise BadRequest(f"Feature toggle '{identifier}' is of type {found.type}, not {expected_type}")
    return found


def value_for(identifier: str, tenant_id, default=None):
    """For code and templates: the resolved value, or ``default`` when the toggle is unknown."""
    found = resolve(identifier, tenant_id)
    return default if found is None else found.value


@command()
def ensure_builtin() -> int:
    """Create Wharf's own toggles when missing (also if soft-deleted: the identifier is taken)."""
    created = 0
    for spec in BUILTIN:
        if db.session.scalar(sa.select(FeatureToggle.id).where(FeatureToggle.identifier == spec["identifier"])) is None:
            db.session.add(
                FeatureToggle(
                    identifier=spec["identifier"],
                    name=spec["name"],
                    category=spec["category"],
                    description=spec["description"],
                    type=spec["type"],
                    default_value=spec["defaultValue"],
                )
            )
            created += 1
    if created:
        cache_versions.bump(CACHE)
    return created


# --- undo (services.undo): toggles and overrides come back through the commands above -----


def _load_toggle(actor: Actor, toggle_id: str, _tenant=None) -> FeatureToggle | None:
    return db.session.get(FeatureToggle, uuid.UUID(toggle_id))


def _restore_toggle(actor: Actor, toggle: FeatureToggle, snap: dict) -> None:
    fields = {k: snap[k] for k in ("name", "description", "category", "defaultValue")}
    update_toggle(actor, FeatureToggleUpdate.model_validate({"id": toggle.id, **fields}))


undo.register(
    undo.Restorer(
        TOGGLE,
        _load_toggle,
        features=("feature_toggles.global.manage",),
        super_admin=True,
        update=_restore_toggle,
        remove=lambda actor, toggle: delete_toggle(actor, toggle.id),
        restore=lambda actor, toggle: undo.undelete(actor, TOGGLE, toggle),  # update then tells every cache
    )
)


@dataclass(frozen=True)
class _Override:
    """A tenant's override of a toggle, as the undo of a ``set_override`` sees it."""

    toggle: FeatureToggle
    tenant_id: uuid.UUID


OVERRIDE = Audited(
    "feature_toggle_override",
    lambda o: _override_snapshot(o.toggle, o.tenant_id),
    "override",
    tenant=lambda o: o.tenant_id,
)


def _load_override(actor: Actor, toggle_id: str, tenant_id=None) -> _Override | None:
    toggle = db.session.scalars(live_toggles().where(FeatureToggle.id == uuid.UUID(toggle_id))).first()
    return None if toggle is None or tenant_id is None else _Override(toggle, tenant_id)


def _restore_override(actor: Actor, o: _Override, snap: dict) -> None:
    inherit = snap["overrideState"] == "inherit"
    set_override(
        actor,
        ChangeOverrideState(
            toggleId=o.toggle.id,
            isOverride=not inherit,
            overrideValue=None if inherit else snap["value"],
            tenantId=o.tenant_id if actor.is_super_admin else None,
        ),
    )


undo.register(undo.Restorer(OVERRIDE, _load_override, features=("feature_toggles.manage",), update=_restore_override))
