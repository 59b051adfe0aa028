"""Stored rules, rule sets, members and execution logs; manual execution and the dry run
of the editor's "try it" panel. No HTTP here.

Every create/update/delete is a command (``services.commands``): it stages an audit row and
bumps the tenant's rule stamp in the same transaction (so every process recompiles). Reads take the actor's scope: a
record of another tenant is "not found" (404).
"""

from __future__ import annotations

import uuid
from typing import get_args

import sqlalchemy as sa

from models import (
    BusinessRule,
    HandlingList,
    Organization,
    Parcel,
    RuleExecutionLog,
    RuleSet,
    RuleSetMember,
    Scope,
    Shipment,
    db,
    utcnow,
)
from models.base import aware
from schemas.business_rules import (
    BusinessRuleCreate,
    BusinessRuleUpdate,
    ExecutionResult,
    RuleExecuteOneRequest,
    RuleExecuteRequest,
    RuleSetCreate,
    RuleSetMemberCreate,
    RuleSetMemberUpdate,
    RuleSetUpdate,
    RuleTryRequest,
    RuleType,
)
from services import undo
from services.acl import Actor
from services.commands import Audited, audited, command, lock, row_snapshot
from services.errors import BadRequest, Conflict, NotFound, ValidationFailed
from services.rules import conditions as cond
from services.rules import engine, listener
from services.rules import fields as known

RULE_TYPES = get_args(RuleType)
EXECUTION_RESULTS = get_args(ExecutionResult)


def invalid(path, message: str) -> ValidationFailed:
    path = path if isinstance(path, list) else [path]
    where = ".".join(str(p) for p in path)
    return ValidationFailed(f"{where}: {message}", details=[{"path": path, "message": message}])


def parse_uuid(value, path: str) -> uuid.UUID:
    """A record id from a URL path segment (query and body ids are declared UUIDs)."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise invalid(path, "must be a UUID") from None


def _json_of(value):
    """A validated expression or action list as stored (what was sent, normalised)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [_json_of(v) for v in value]
    return value.model_dump(mode="json", exclude_unset=True)


# --- serialization ---------------------------------------------------------------------------------


def rule_item(r: BusinessRule) -> dict:
    return {
        "id": r.id,
        "ruleId": r.rule_id,
        "ruleName": r.rule_name,
        "description": r.description,
        "ruleType": r.rule_type,
        "ruleCategory": r.rule_category,
        "entityType": r.entity_type,
        "eventType": r.event_type,
        "enabled": r.enabled,
        "priority": r.priority,
        "version": r.version,
        "effectiveFrom": r.effective_from,
        "effectiveTo": r.effective_to,
        "tenantId": r.tenant_id,
        "organizationId": r.organization_id,
        "createdAt": r.created_at,
        "updatedAt": r.updated_at,
    }


def rule_detail(r: BusinessRule) -> dict:
    return {
        **rule_item(r),
        "conditionExpression": r.condition_expression,
        "successActions": r.success_actions,
        "failureActions": r.failure_actions,
        "createdBy": r.created_by,
        "updatedBy": r.updated_by,
    }


def rule_snapshot(r: BusinessRule) -> dict:
    return row_snapshot(rule_detail(r), r)


def set_item(s: RuleSet) -> dict:
    return {
        "id": s.id,
        "setId": s.set_id,
        "setName": s.set_name,
        "description": s.description,
        "enabled": s.enabled,
        "tenantId": s.tenant_id,
        "organizationId": s.organization_id,
        "createdBy": s.created_by,
        "updatedBy": s.updated_by,
        "createdAt": s.created_at,
        "updatedAt": s.updated_at,
    }


def member_row(m: RuleSetMember) -> dict:
    return {
        "id": m.id,
        "ruleId": m.rule_id,
        "ruleName": m.rule.rule_name,
        "ruleType": m.rule.rule_type,
        "ruleKey": m.rule.rule_id,
        "ruleEnabled": m.rule.enabled,
        "sequence": m.sequence,
        "enabled": m.enabled,
    }


def live_members(s: RuleSet) -> list[RuleSetMember]:
    return [m for m in s.members if m.rule.deleted_at is None]


def set_detail(s: RuleSet) -> dict:
    return {**set_item(s), "members": [member_row(m) for m in live_members(s)]}


def set_snapshot(s: RuleSet) -> dict:
    return row_snapshot(set_item(s), s)


def log_item(entry: RuleExecutionLog) -> dict:
    return {
        "id": entry.id,
        "ruleId": entry.rule_id,
        "ruleName": entry.rule.rule_name,
        "ruleType": entry.rule.rule_type,
        "entityId": entry.entity_id,
        "entityType": entry.entity_type,
        "eventType": entry.event_type,
        "executionResult": entry.execution_result,
        "inputContext": entry.input_context,
        "outputContext": entry.output_context,
        "errorMessage": entry.error_message,
        "executionTimeMs": entry.execution_time_ms,
        "executedAt": entry.executed_at,
        "tenantId": entry.tenant_id,
        "organizationId": entry.organization_id,
        "executedBy": entry.executed_by,
    }


def log_detail(entry: RuleExecutionLog) -> dict:
    r = entry.rule
    out = {k: v for k, v in log_item(entry).items() if k not in ("ruleId", "ruleName", "ruleType")}
    return {
        "id": entry.id,
        "rule": {
            "id": r.id,
            "ruleId": r.rule_id,
            "ruleName": r.rule_name,
            "ruleType": r.rule_type,
            "entityType": r.entity_type,
        },
        **{k: v for k, v in out.items() if k != "id"},
    }


# --- rules ---------------------------------------------------------------------------------------


def _who(actor: Actor) -> str | None:
    p = actor.principal
    return str(p.id) if p is not None else None


def _organization(actor: Actor, tenant_id, org_id: uuid.UUID | None) -> uuid.UUID | None:
    if org_id is None:
        return None
    found = db.session.scalars(Scope(tenant_id).select(Organization).where(Organization.id == org_id)).first()
    if found is None or not actor.grants.organization_visible(org_id):
        raise invalid("organizationId", "is not an organization of the tenant")
    return org_id


def get_rule(actor: Actor, rule_id) -> BusinessRule:
    return actor.scope.get(BusinessRule, rule_id, "Business rule")


# The readable keys of rules and sets: their column and the 409 when one is taken.
_KEYS = {
    "ruleId": (BusinessRule.rule_id, "A rule with ruleId '{}' already exists"),
    "setId": (RuleSet.set_id, "A rule set with setId '{}' already exists"),
}


def _taken(field: str, key: str) -> str:
    return _KEYS[field][1].format(key)


def _require_free_key(field: str, tenant_id, key: str, except_id=None) -> None:
    """409 when a live rule or set of the tenant already uses ``key`` (``ruleId``/``setId``)."""
    column = _KEYS[field][0]
    model = column.class_
    stmt = Scope(tenant_id).select(model).with_only_columns(model.id).where(column == key)
    if except_id is not None:
        stmt = stmt.where(model.id != except_id)
    if db.session.scalar(stmt) is not None:
        raise Conflict(_taken(field, key))


# Body fields and the columns they set (the JSON ones are stored as sent, normalised).
_RULE_COLUMNS = {
    "ruleName": "rule_name",
    "description": "description",
    "ruleType": "rule_type",
    "ruleCategory": "rule_category",
    "entityType": "entity_type",
    "eventType": "event_type",
    "enabled": "enabled",
    "priority": "priority",
    "effectiveFrom": "effective_from",
    "effectiveTo": "effective_to",
}
_RULE_JSON = {
    "conditionExpression": "condition_expression",
    "successActions": "success_actions",
    "failureActions": "failure_actions",
}


def _apply_rule_fields(
    rule: BusinessRule, data: BusinessRuleCreate | BusinessRuleUpdate | RuleTryRequest, fields
) -> None:
    """Set the columns of ``fields`` (all on create, those sent on update)."""
    for key, column in _RULE_COLUMNS.items():
        if key in fields:
            setattr(rule, column, getattr(data, key))
    for key, column in _RULE_JSON.items():
        if key in fields:
            setattr(rule, column, _json_of(getattr(data, key)))
    start, end = aware(rule.effective_from), aware(rule.effective_to)
    if start is not None and end is not None and end <= start:
        raise invalid("effectiveTo", "must be later than effectiveFrom")
    _refuse_unknown_fields(rule)


def _refuse_unknown_fields(rule: BusinessRule) -> None:
    """A condition on a field the entity's record never has would read null on every run:
    refuse it when the rule is saved (or tried), naming the fields that exist. SET_FIELD may
    name a new field: ``POST /business_rules/execute`` hands the caller's data back with it."""
    readable = known.readable_fields(rule.entity_type)
    if readable is None:
        return
    for where, path in cond.field_paths(rule.condition_expression, ("conditionExpression",)):
        name = cond.parse_path(path)[0]
        if name not in readable:
            fields = ", ".join(sorted(str(f) for f in readable))
            raise invalid(list(where), f"{rule.entity_type} has no field '{name}'; its fields are {fields}")


RULE = Audited("business_rule", rule_snapshot, "business rule", name=lambda r: r.rule_id)
RULE_SET = Audited("business_rule_set", set_snapshot, "rule set", name=lambda s: s.set_id)


def _key_conflict(field: str):
    """The 409 message of a write whose ``ruleId``/``setId`` a concurrent writer took first."""
    return lambda actor, data: _taken(field, getattr(data, field) or "")


@command(_key_conflict("ruleId"))
def create_rule(actor: Actor, data: BusinessRuleCreate) -> BusinessRule:
    tenant_id = actor.tenant_for_new(data.tenantId)
    rule = BusinessRule(
        tenant_id=tenant_id, rule_id=data.ruleId, version=1, created_by=_who(actor), updated_by=_who(actor)
    )
    _apply_rule_fields(rule, data, BusinessRuleCreate.model_fields)
    rule.organization_id = _organization(actor, tenant_id, data.organizationId)
    _require_free_key("ruleId", tenant_id, data.ruleId)
    with audited(actor, "create", RULE, rule):
        db.session.add(rule)
    engine.bump(tenant_id)
    return rule


def _lock_rule(actor: Actor, rule_id) -> BusinessRule:
    return lock(actor.scope, BusinessRule, rule_id, "Business rule")


@command(_key_conflict("ruleId"))
def update_rule(actor: Actor, data: BusinessRuleUpdate) -> BusinessRule:
    """Change the fields sent; the version goes up by one when anything changed."""
    rule = _lock_rule(actor, data.id)
    sent = data.model_fields_set
    with audited(actor, "edit", RULE, rule, only_changes=True) as before:
        if "ruleId" in sent:
            if data.ruleId != rule.rule_id:
                _require_free_key("ruleId", rule.tenant_id, data.ruleId, rule.id)
            rule.rule_id = data.ruleId
        _apply_rule_fields(rule, data, sent)
        if "organizationId" in sent:
            rule.organization_id = _organization(actor, rule.tenant_id, data.organizationId)
        if rule_snapshot(rule) != before:
            rule.version = (rule.version or 1) + 1
            rule.updated_by = _who(actor)
            engine.bump(rule.tenant_id)
    return rule


@command()
def delete_rule(actor: Actor, rule_id: uuid.UUID) -> BusinessRule:
    rule = _lock_rule(actor, rule_id)
    with audited(actor, "delete", RULE, rule):
        rule.soft_delete()
        rule.version = (rule.version or 1) + 1
        rule.updated_by = _who(actor)
        db.session.execute(sa.delete(RuleSetMember).where(RuleSetMember.rule_id == rule.id))
    engine.bump(rule.tenant_id)
    return rule


# --- sets and members ---------------------------------------------------------------------------


def get_set(actor: Actor, set_id) -> RuleSet:
    return actor.scope.get(RuleSet, set_id, "Rule set")


def _lock_set(actor: Actor, set_id) -> RuleSet:
    return lock(actor.scope, RuleSet, set_id, "Rule set")


@command(_key_conflict("setId"))
def create_set(actor: Actor, data: RuleSetCreate) -> RuleSet:
    tenant_id = actor.tenant_for_new(data.tenantId)
    s = RuleSet(
        tenant_id=tenant_id,
        set_id=data.setId,
        set_name=data.setName,
        description=data.description,
        enabled=data.enabled,
        created_by=_who(actor),
        updated_by=_who(actor),
    )
    s.organization_id = _organization(actor, tenant_id, data.organizationId)
    _require_free_key("setId", tenant_id, data.setId)
    with audited(actor, "create", RULE_SET, s):
        db.session.add(s)
    engine.bump(tenant_id)
    return s


@command(_key_conflict("setId"))
def update_set(actor: Actor, data: RuleSetUpdate) -> RuleSet:
    s = _lock_set(actor, data.id)
    sent = data.model_fields_set
    if "setId" in sent and data.setId != s.set_id:
        _require_free_key("setId", s.tenant_id, data.setId, s.id)
    with audited(actor, "edit", RULE_SET, s, only_changes=True) as before:
        for key, column in (
            ("setId", "set_id"),
            ("setName", "set_name"),
            ("description", "description"),
            ("enabled", "enabled"),
        ):
            if key in sent:
                setattr(s, column, getattr(data, key))
        if set_snapshot(s) != before:
            s.updated_by = _who(actor)
            engine.bump(s.tenant_id)
    return s


@command()
def delete_set(actor: Actor, set_id: uuid.UUID) -> RuleSet:
    s = _lock_set(actor, set_id)
    with audited(actor, "delete", RULE_SET, s):
        s.soft_delete()
        s.updated_by = _who(actor)
    engine.bump(s.tenant_id)
    return s


def _member_snapshot(m: RuleSetMember) -> dict:
    return {"id": m.id, "setId": m.rule_set_id, "ruleId": m.rule_id, "sequence": m.sequence, "enabled": m.enabled}


MEMBER = Audited("business_rule_set_member", _member_snapshot, "member")


@command("This rule is already in the set")
def add_member(actor: Actor, set_id: uuid.UUID, data: RuleSetMemberCreate) -> RuleSetMember:
    s = _lock_set(actor, set_id)
    rule = db.session.scalars(
        actor.scope.select(BusinessRule).where(BusinessRule.id == data.ruleId, BusinessRule.tenant_id == s.tenant_id)
    ).first()
    if rule is None:
        raise NotFound("Business rule not found")
    if db.session.scalar(
        sa.select(RuleSetMember.id).where(RuleSetMember.rule_set_id == s.id, RuleSetMember.rule_id == rule.id)
    ):
        raise Conflict(f"Rule {rule.rule_id} is already in set {s.set_id}")
    sequence = data.sequence
    if sequence is None:  # after the last member
        sequence = (
            db.session.scalar(sa.select(sa.func.max(RuleSetMember.sequence)).where(RuleSetMember.rule_set_id == s.id))
            or 0
        ) + (1 if s.members else 0)
    m = RuleSetMember(tenant_id=s.tenant_id, rule_set_id=s.id, rule_id=rule.id, sequence=sequence, enabled=data.enabled)
    with audited(actor, "create", MEMBER, m, label=f"Add rule {rule.rule_id} to set {s.set_id}"):
        db.session.add(m)
    engine.bump(s.tenant_id)
    return m


def _get_member(s: RuleSet, member_id: uuid.UUID) -> RuleSetMember:
    m = db.session.scalars(
        sa.select(RuleSetMember).where(RuleSetMember.id == member_id, RuleSetMember.rule_set_id == s.id)
    ).first()
    if m is None:
        raise NotFound("Member not found")
    return m


@command()
def update_member(actor: Actor, set_id: uuid.UUID, data: RuleSetMemberUpdate) -> RuleSetMember:
    """``sequence`` and ``enabled`` as sent; ``move: up|down`` swaps with the neighbour and
    renumbers the members 0..n."""
    s = _lock_set(actor, set_id)
    m = _get_member(s, data.memberId)
    with audited(actor, "edit", MEMBER, m, label=f"Edit member of rule set {s.set_id}"):
        if data.move is not None:
            ordered = live_members(s)
            i = ordered.index(m) if m in ordered else -1
            j = i - 1 if data.move == "up" else i + 1
            if i >= 0 and 0 <= j < len(ordered):
                ordered[i], ordered[j] = ordered[j], ordered[i]
            for n, member in enumerate(ordered):
                member.sequence = n
        sent = data.model_fields_set
        if "sequence" in sent:
            m.sequence = data.sequence
        if "enabled" in sent:
            m.enabled = data.enabled
    engine.bump(s.tenant_id)
    return m


@command()
def remove_member(actor: Actor, set_id: uuid.UUID, member_id: uuid.UUID) -> None:
    s = _lock_set(actor, set_id)
    m = _get_member(s, member_id)
    with audited(actor, "delete", MEMBER, m, label=f"Remove a rule from set {s.set_id}"):
        s.members.remove(m)
        db.session.delete(m)
    engine.bump(s.tenant_id)


# --- logs ----------------------------------------------------------------------------------------


def get_log(actor: Actor, log_id: uuid.UUID) -> RuleExecutionLog:
    return actor.scope.get(RuleExecutionLog, log_id, "Log entry")


# --- manual execution and dry runs ---------------------------------------------------------------


@command()
def execute(actor: Actor, data: RuleExecuteRequest) -> tuple[engine.Execution, dict]:
    """``POST /execute``: the rules of (entityType, eventType) on ``data``; logs unless dryRun."""
    record = data.data or {}
    tenant_id = actor.tenant_for_new(data.tenantId)
    now = utcnow()
    rules, skipped = engine.discover(tenant_id, data.entityType, data.eventType, now)
    env = engine.env_for(actor.principal, tenant_id, now)
    execution = engine.run_rules(rules, record, env, dry_run=data.dryRun, skipped=skipped)
    if not data.dryRun:
        engine.write_logs(
            engine.log_rows(
                execution,
                tenant_id=tenant_id,
                entity_type=data.entityType,
                entity_id=data.entityId or record.get("id"),
                event_type=data.eventType,
                record=record,
                user_id=getattr(actor.principal, "id", None),
            )
        )
    return execution, record


@command()
def execute_one(actor: Actor, rule_id: uuid.UUID, data: RuleExecuteOneRequest) -> engine.RuleRun:
    """``POST /execute/{ruleId}``: one rule by its database id, bypassing discovery (it must
    still be enabled and in its window, as upstream)."""
    rule = get_rule(actor, rule_id)
    record = data.data or {}
    now = utcnow()
    compiled = engine.compile_rule(rule)
    if not rule.enabled:
        raise BadRequest("Rule is disabled")
    if not compiled.in_window(now):
        raise BadRequest("Rule is outside its effective window")
    env = engine.env_for(actor.principal, rule.tenant_id, now)
    execution = engine.run_rules([compiled], record, env, dry_run=data.dryRun)
    if not data.dryRun:
        engine.write_logs(
            engine.log_rows(
                execution,
                tenant_id=rule.tenant_id,
                entity_type=data.entityType or rule.entity_type,
                entity_id=data.entityId or record.get("id"),
                event_type=data.eventType or rule.event_type,
                record=record,
                user_id=getattr(actor.principal, "id", None),
            )
        )
    return execution.runs[0]


RECORD_MODELS = {"lcs.shipment": Shipment, "lcs.list": HandlingList, "lcs.parcel": Parcel}


def find_record(actor: Actor, entity_type: str, ref: str) -> dict:
    """A stored record (by id or number) shaped as the rules see it (the try-it panel)."""
    model = RECORD_MODELS.get(entity_type)
    if model is None:
        raise invalid("recordId", f"records can be chosen for {', '.join(RECORD_MODELS)}")
    stmt = actor.scope.select(model)
    rid = None
    try:
        rid = uuid.UUID(ref)
    except ValueError:
        pass
    found = db.session.scalars(stmt.where(model.id == rid if rid else model.number == ref)).first()
    if found is None:
        raise NotFound(f"No {entity_type} record '{ref[:60]}'")
    return listener.shape(entity_type, {"id": str(found.id)}, found.tenant_id)


def recent_records(actor: Actor, entity_type: str, limit: int = 20) -> list[dict]:
    model = RECORD_MODELS.get(entity_type)
    if model is None:
        return []
    rows = db.session.scalars(actor.scope.select(model).order_by(model.created_at.desc()).limit(limit)).all()
    return [{"id": str(r.id), "number": r.number} for r in rows]


def try_rule(actor: Actor, data: RuleTryRequest) -> tuple[engine.Execution, dict]:
    """Dry-run an *unsaved* rule (the editor's current state) on pasted JSON or a stored
    record; the result traces every condition."""
    draft = BusinessRule(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_for_new(data.tenantId),
        rule_id=data.ruleId or "draft",
        rule_name=data.ruleName or "Draft rule",
        version=1,
    )
    _apply_rule_fields(draft, data, ("ruleType", "entityType", "eventType", *_RULE_JSON))
    record = find_record(actor, draft.entity_type, data.recordId) if data.recordId else data.sample or {}
    compiled = engine.compile_rule(draft)
    env = engine.env_for(actor.principal, draft.tenant_id)
    return engine.run_rules([compiled], record, env, dry_run=True, trace=True), record


# --- undo (services.undo): rules come back through the commands above ---------------------
# (a deleted rule's set memberships went with it and stay gone; its version keeps counting)

_RULE_FIELDS = tuple(k for k in BusinessRuleUpdate.model_fields if k not in ("id", "version"))


@command(_key_conflict("ruleId"))
def restore_rule(actor: Actor, rule_id: uuid.UUID) -> BusinessRule:
    """Bring a deleted rule back (an undone delete); its ``ruleId`` must still be free."""
    rule = db.session.scalars(
        actor.scope.select(BusinessRule, include_deleted=True).where(BusinessRule.id == rule_id)
    ).first()
    if rule is None:
        raise NotFound("Business rule not found")
    _require_free_key("ruleId", rule.tenant_id, rule.rule_id, rule.id)
    with audited(actor, "edit", RULE, rule, label=f"Restore business rule {rule.rule_id}"):
        rule.deleted_at = None
        rule.version = (rule.version or 1) + 1
        rule.updated_by = _who(actor)
    engine.bump(rule.tenant_id)
    return rule


def _load_rule(actor: Actor, rule_id: str, _tenant=None) -> BusinessRule | None:
    return db.session.scalars(
        actor.scope.select(BusinessRule, include_deleted=True).where(BusinessRule.id == uuid.UUID(rule_id))
    ).first()


def _restore_rule(actor: Actor, rule: BusinessRule, snap: dict) -> None:
    update_rule(actor, BusinessRuleUpdate.model_validate({"id": rule.id, **{k: snap[k] for k in _RULE_FIELDS}}))


undo.register(
    undo.Restorer(
        RULE,
        _load_rule,
        features=("business_rules.manage",),
        ignored=("version", "createdBy", "updatedBy"),
        update=_restore_rule,
        remove=lambda actor, rule: delete_rule(actor, rule.id),
        restore=lambda actor, rule: restore_rule(actor, rule.id),
    )
)
