"""Stored rules, rule sets, members and execution logs; manual execution and the dry run
of the editor's "try it" panel. No HTTP here.

Every create/update/delete stages an audit row and bumps the tenant's rule stamp in the same
transaction (so every process recompiles), then commits. Reads take the actor's scope: a
record of another tenant is "not found" (404).
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models import (BusinessRule, HandlingList, Organization, Parcel, RuleExecutionLog, RuleSet, RuleSetMember,
                    Scope, Shipment, db, utcnow)
from services import audit
from services.acl import Actor
from services.audit_query import parse_timestamp
from services.errors import BadRequest, Conflict, NotFound, ValidationFailed
from services.rules import actions as act
from services.rules import conditions as cond
from services.rules import engine, listener

RULE_TYPES = engine.RULE_TYPES
EXECUTION_RESULTS = ("SUCCESS", "FAILURE", "ERROR")
KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
ENTITY = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]*$")
TRUE, FALSE = ("true", "1", "on", "yes"), ("false", "0", "off", "no")


def invalid(path, message: str) -> ValidationFailed:
    path = path if isinstance(path, list) else [path]
    where = ".".join(str(p) for p in path)
    return ValidationFailed(f"{where}: {message}", details=[{"path": path, "message": message}])


def parse_uuid(value, path: str, *, required: bool = True) -> uuid.UUID | None:
    if value in (None, ""):
        if required:
            raise invalid(path, "is required")
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise invalid(path, "must be a UUID") from None


# --- field readers (JSON values, or text from HTML forms) ---------------------------------------

class Reader:
    def __init__(self, data: dict, from_form: bool):
        self.data = data
        self.form = from_form

    def has(self, key: str) -> bool:
        return key in self.data

    def text(self, key: str, limit: int, *, required: bool = False, pattern: re.Pattern | None = None,
             pattern_hint: str = "") -> str | None:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise invalid(key, "is required")
            return None
        if not isinstance(value, str):
            raise invalid(key, "must be text")
        value = value.strip()
        if len(value) > limit:
            raise invalid(key, f"must be at most {limit} characters")
        if pattern is not None and not pattern.match(value):
            raise invalid(key, pattern_hint or "has an invalid format")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if isinstance(value, list):  # checkbox with a hidden "false" before it: last wins
            value = value[-1] if value else default
        if isinstance(value, bool):
            return value
        if self.form and isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
            return value.strip().lower() in TRUE
        if value is None:
            return default
        raise invalid(key, "must be true or false")

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.data.get(key, default)
        if value is None or (self.form and value == ""):
            return default
        if self.form and isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise invalid(key, "must be an integer") from None
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise invalid(key, f"must be an integer between {low} and {high}")
        return value

    def when(self, key: str) -> datetime | None:
        value = self.data.get(key)
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise invalid(key, "must be an ISO-8601 timestamp")
        try:
            return parse_timestamp(value, key)
        except ValidationFailed:
            raise invalid(key, "must be an ISO-8601 timestamp") from None

    def json(self, key: str):
        """A JSON value; HTML forms send it as text (the visual builders serialize to it)."""
        value = self.data.get(key)
        if self.form and isinstance(value, str):
            if not value.strip():
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise invalid(key, "must be valid JSON") from None
        return value


def _check_expression(value, key: str):
    try:
        return cond.validate(value, [key])
    except cond.ExpressionError as e:
        raise ValidationFailed(str(e), details=[{"path": e.path, "message": e.message}]) from None


def _check_actions(value, key: str):
    try:
        return act.validate_actions(value, key)
    except cond.ExpressionError as e:
        raise ValidationFailed(str(e), details=[{"path": e.path, "message": e.message}]) from None


# --- serialization ---------------------------------------------------------------------------------

def rule_item(r: BusinessRule) -> dict:
    return {"id": r.id, "ruleId": r.rule_id, "ruleName": r.rule_name, "description": r.description,
            "ruleType": r.rule_type, "ruleCategory": r.rule_category, "entityType": r.entity_type,
            "eventType": r.event_type, "enabled": r.enabled, "priority": r.priority, "version": r.version,
            "effectiveFrom": r.effective_from, "effectiveTo": r.effective_to, "tenantId": r.tenant_id,
            "organizationId": r.organization_id, "createdAt": r.created_at, "updatedAt": r.updated_at}


def rule_detail(r: BusinessRule) -> dict:
    return {**rule_item(r), "conditionExpression": r.condition_expression, "successActions": r.success_actions,
            "failureActions": r.failure_actions, "createdBy": r.created_by, "updatedBy": r.updated_by}


def rule_snapshot(r: BusinessRule) -> dict:
    out = {k: v for k, v in rule_detail(r).items() if k not in ("createdAt", "updatedAt")}
    return {**out, "deletedAt": r.deleted_at}


def set_item(s: RuleSet) -> dict:
    return {"id": s.id, "setId": s.set_id, "setName": s.set_name, "description": s.description, "enabled": s.enabled,
            "tenantId": s.tenant_id, "organizationId": s.organization_id, "createdBy": s.created_by,
            "updatedBy": s.updated_by, "createdAt": s.created_at, "updatedAt": s.updated_at}


def member_row(m: RuleSetMember) -> dict:
    return {"id": m.id, "ruleId": m.rule_id, "ruleName": m.rule.rule_name, "ruleType": m.rule.rule_type,
            "ruleKey": m.rule.rule_id, "ruleEnabled": m.rule.enabled, "sequence": m.sequence, "enabled": m.enabled}


def live_members(s: RuleSet) -> list[RuleSetMember]:
    return [m for m in s.members if m.rule.deleted_at is None]


def set_detail(s: RuleSet) -> dict:
    return {**set_item(s), "members": [member_row(m) for m in live_members(s)]}


def set_snapshot(s: RuleSet) -> dict:
    out = {k: v for k, v in set_item(s).items() if k not in ("createdAt", "updatedAt")}
    return {**out, "deletedAt": s.deleted_at}


def log_item(entry: RuleExecutionLog) -> dict:
    return {"id": entry.id, "ruleId": entry.rule_id, "ruleName": entry.rule.rule_name,
            "ruleType": entry.rule.rule_type, "entityId": entry.entity_id, "entityType": entry.entity_type,
            "eventType": entry.event_type, "executionResult": entry.execution_result,
            "inputContext": entry.input_context, "outputContext": entry.output_context,
            "errorMessage": entry.error_message, "executionTimeMs": entry.execution_time_ms,
            "executedAt": entry.executed_at, "tenantId": entry.tenant_id, "organizationId": entry.organization_id,
            "executedBy": entry.executed_by}


def log_detail(entry: RuleExecutionLog) -> dict:
    r = entry.rule
    out = {k: v for k, v in log_item(entry).items() if k not in ("ruleId", "ruleName", "ruleType")}
    return {"id": entry.id, "rule": {"id": r.id, "ruleId": r.rule_id, "ruleName": r.rule_name, "ruleType": r.rule_type,
                                     "entityType": r.entity_type}, **{k: v for k, v in out.items() if k != "id"}}


# --- rules ---------------------------------------------------------------------------------------

def _who(actor: Actor) -> str | None:
    p = actor.principal
    return str(p.id) if p is not None else None


def _organization(actor: Actor, tenant_id, value) -> uuid.UUID | None:
    org_id = parse_uuid(value, "organizationId", required=False)
    if org_id is None:
        return None
    found = db.session.scalars(Scope(tenant_id).select(Organization).where(Organization.id == org_id)).first()
    if found is None or not actor.grants.organization_visible(org_id):
        raise invalid("organizationId", "is not an organization of the tenant")
    return org_id


def get_rule(actor: Actor, rule_id) -> BusinessRule:
    return actor.scope.get(BusinessRule, rule_id, "Business rule")


# The readable keys of rules and sets: their column and the 409 when one is taken.
_KEYS = {"ruleId": (BusinessRule.rule_id, "A rule with ruleId '{}' already exists"),
         "setId": (RuleSet.set_id, "A rule set with setId '{}' already exists")}


def _read_key(r: Reader, field: str) -> str:
    return r.text(field, 50, required=True, pattern=KEY,
                  pattern_hint="must start with a letter or digit and use letters, digits, _ . : -")


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


def _apply_rule_fields(rule: BusinessRule, r: Reader, *, creating: bool) -> None:
    def given(key):
        return creating or r.has(key)

    if given("ruleName"):
        rule.rule_name = r.text("ruleName", 200, required=True)
    if given("description"):
        rule.description = r.text("description", 5000)
    if given("ruleType"):
        kind = r.text("ruleType", 16, required=True)
        if kind not in RULE_TYPES:
            raise invalid("ruleType", f"must be one of {', '.join(RULE_TYPES)}")
        rule.rule_type = kind
    if given("ruleCategory"):
        rule.rule_category = r.text("ruleCategory", 50)
    if given("entityType"):
        rule.entity_type = r.text("entityType", 50, required=True, pattern=ENTITY,
                                  pattern_hint="must be an entity type such as lcs.parcel")
    if given("eventType"):
        rule.event_type = r.text("eventType", 50, pattern=ENTITY, pattern_hint="must be an event name such as labeling")
    if given("enabled"):
        rule.enabled = r.boolean("enabled", True)
    if given("priority"):
        rule.priority = r.integer("priority", 100, 0, 9999)
    if r.has("version") and r.data.get("version") not in (None, ""):
        r.integer("version", 1, 1, 2**31 - 1)  # accepted for the seed's shape; the server counts versions
    if given("effectiveFrom"):
        rule.effective_from = r.when("effectiveFrom")
    if given("effectiveTo"):
        rule.effective_to = r.when("effectiveTo")
    start, end = engine._aware(rule.effective_from), engine._aware(rule.effective_to)
    if start is not None and end is not None and end <= start:
        raise invalid("effectiveTo", "must be later than effectiveFrom")
    if given("conditionExpression"):
        rule.condition_expression = _check_expression(r.json("conditionExpression"), "conditionExpression")
    for key, attr in (("successActions", "success_actions"), ("failureActions", "failure_actions")):
        if given(key):
            setattr(rule, attr, _check_actions(r.json(key), key))


def create_rule(actor: Actor, data: dict, *, from_form: bool = False) -> BusinessRule:
    if not isinstance(data, dict):
        raise ValidationFailed("Request body must be a JSON object")
    r = Reader(data, from_form)
    tenant_id = actor.tenant_for_new(data.get("tenantId"))
    key = _read_key(r, "ruleId")
    rule = BusinessRule(tenant_id=tenant_id, rule_id=key, version=1, created_by=_who(actor), updated_by=_who(actor))
    _apply_rule_fields(rule, r, creating=True)
    rule.organization_id = _organization(actor, tenant_id, data.get("organizationId"))
    _require_free_key("ruleId", tenant_id, key)
    db.session.add(rule)
    _flush_unique(_taken("ruleId", key))
    audit.record(actor, action="create", kind="business_rule", resource_id=rule.id, tenant_id=tenant_id,
                 after=rule_snapshot(rule), label=f"Create business rule {key}", organization_id=rule.organization_id)
    engine.bump(tenant_id)
    db.session.commit()
    return rule


def _flush_unique(message: str) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(message) from None


def update_rule(actor: Actor, data: dict, *, from_form: bool = False) -> BusinessRule:
    if not isinstance(data, dict):
        raise ValidationFailed("Request body must be a JSON object")
    rule = get_rule(actor, parse_uuid(data.get("id"), "id"))
    before = rule_snapshot(rule)
    r = Reader(data, from_form)
    if r.has("ruleId"):
        key = _read_key(r, "ruleId")
        if key != rule.rule_id:
            _require_free_key("ruleId", rule.tenant_id, key, rule.id)
        rule.rule_id = key
    _apply_rule_fields(rule, r, creating=False)
    if r.has("organizationId"):
        rule.organization_id = _organization(actor, rule.tenant_id, data.get("organizationId"))
    after = rule_snapshot(rule)
    if after != before:
        rule.version = (rule.version or 1) + 1
        rule.updated_by = _who(actor)
        _flush_unique(_taken("ruleId", rule.rule_id))
        audit.record(actor, action="edit", kind="business_rule", resource_id=rule.id, tenant_id=rule.tenant_id,
                     before=before, after=rule_snapshot(rule), label=f"Edit business rule {rule.rule_id}",
                     organization_id=rule.organization_id)
        engine.bump(rule.tenant_id)
    db.session.commit()
    return rule


def set_enabled(actor: Actor, rule_id, enabled: bool) -> BusinessRule:
    """The list's inline switch."""
    return update_rule(actor, {"id": str(rule_id), "enabled": bool(enabled)})


def delete_rule(actor: Actor, rule_id) -> BusinessRule:
    rule = get_rule(actor, parse_uuid(rule_id, "id"))
    before = rule_snapshot(rule)
    rule.soft_delete()
    rule.version = (rule.version or 1) + 1
    rule.updated_by = _who(actor)
    db.session.execute(sa.delete(RuleSetMember).where(RuleSetMember.rule_id == rule.id))
    audit.record(actor, action="delete", kind="business_rule", resource_id=rule.id, tenant_id=rule.tenant_id,
                 before=before, after=rule_snapshot(rule), label=f"Delete business rule {rule.rule_id}",
                 organization_id=rule.organization_id)
    engine.bump(rule.tenant_id)
    db.session.commit()
    return rule


# --- sets and members ---------------------------------------------------------------------------

def get_set(actor: Actor, set_id) -> RuleSet:
    return actor.scope.get(RuleSet, set_id, "Rule set")


def create_set(actor: Actor, data: dict, *, from_form: bool = False) -> RuleSet:
    if not isinstance(data, dict):
        raise ValidationFailed("Request body must be a JSON object")
    r = Reader(data, from_form)
    tenant_id = actor.tenant_for_new(data.get("tenantId"))
    key = _read_key(r, "setId")
    s = RuleSet(tenant_id=tenant_id, set_id=key, set_name=r.text("setName", 200, required=True),
                description=r.text("description", 5000), enabled=r.boolean("enabled", True),
                created_by=_who(actor), updated_by=_who(actor))
    s.organization_id = _organization(actor, tenant_id, data.get("organizationId"))
    _require_free_key("setId", tenant_id, key)
    db.session.add(s)
    _flush_unique(_taken("setId", key))
    audit.record(actor, action="create", kind="business_rule_set", resource_id=s.id, tenant_id=tenant_id,
                 after=set_snapshot(s), label=f"Create rule set {key}", organization_id=s.organization_id)
    engine.bump(tenant_id)
    db.session.commit()
    return s


def update_set(actor: Actor, data: dict, *, from_form: bool = False) -> RuleSet:
    if not isinstance(data, dict):
        raise ValidationFailed("Request body must be a JSON object")
    s = get_set(actor, parse_uuid(data.get("id"), "id"))
    before = set_snapshot(s)
    r = Reader(data, from_form)
    if r.has("setId"):
        key = _read_key(r, "setId")
        if key != s.set_id:
            _require_free_key("setId", s.tenant_id, key, s.id)
        s.set_id = key
    if r.has("setName"):
        s.set_name = r.text("setName", 200, required=True)
    if r.has("description"):
        s.description = r.text("description", 5000)
    if r.has("enabled"):
        s.enabled = r.boolean("enabled", True)
    after = set_snapshot(s)
    if after != before:
        s.updated_by = _who(actor)
        _flush_unique(_taken("setId", s.set_id))
        audit.record(actor, action="edit", kind="business_rule_set", resource_id=s.id, tenant_id=s.tenant_id,
                     before=before, after=set_snapshot(s), label=f"Edit rule set {s.set_id}",
                     organization_id=s.organization_id)
        engine.bump(s.tenant_id)
    db.session.commit()
    return s


def delete_set(actor: Actor, set_id) -> RuleSet:
    s = get_set(actor, parse_uuid(set_id, "id"))
    before = set_snapshot(s)
    s.soft_delete()
    s.updated_by = _who(actor)
    audit.record(actor, action="delete", kind="business_rule_set", resource_id=s.id, tenant_id=s.tenant_id,
                 before=before, after=set_snapshot(s), label=f"Delete rule set {s.set_id}",
                 organization_id=s.organization_id)
    engine.bump(s.tenant_id)
    db.session.commit()
    return s


def _member_snapshot(m: RuleSetMember) -> dict:
    return {"id": m.id, "setId": m.rule_set_id, "ruleId": m.rule_id, "sequence": m.sequence, "enabled": m.enabled}


def add_member(actor: Actor, set_id, data: dict, *, from_form: bool = False) -> RuleSetMember:
    if not isinstance(data, dict):
        raise ValidationFailed("Request body must be a JSON object")
    s = get_set(actor, set_id)
    r = Reader(data, from_form)
    rule_key = parse_uuid(data.get("ruleId"), "ruleId")
    rule = db.session.scalars(actor.scope.select(BusinessRule).where(
        BusinessRule.id == rule_key, BusinessRule.tenant_id == s.tenant_id)).first()
    if rule is None:
        raise NotFound("Business rule not found")
    if db.session.scalar(sa.select(RuleSetMember.id).where(RuleSetMember.rule_set_id == s.id,
                                                           RuleSetMember.rule_id == rule.id)):
        raise Conflict(f"Rule {rule.rule_id} is already in set {s.set_id}")
    default_sequence = (db.session.scalar(sa.select(sa.func.max(RuleSetMember.sequence))
                                          .where(RuleSetMember.rule_set_id == s.id)) or 0) + (1 if s.members else 0)
    m = RuleSetMember(tenant_id=s.tenant_id, rule_set_id=s.id, rule_id=rule.id,
                      sequence=r.integer("sequence", default_sequence, 0, 1_000_000), enabled=r.boolean("enabled", True))
    db.session.add(m)
    _flush_unique(f"Rule {rule.rule_id} is already in set {s.set_id}")
    audit.record(actor, action="create", kind="business_rule_set_member", resource_id=m.id, tenant_id=s.tenant_id,
                 after=_member_snapshot(m), label=f"Add rule {rule.rule_id} to set {s.set_id}")
    engine.bump(s.tenant_id)
    db.session.commit()
    return m


def _get_member(s: RuleSet, member_id) -> RuleSetMember:
    mid = parse_uuid(member_id, "memberId")
    m = db.session.scalars(sa.select(RuleSetMember).where(RuleSetMember.id == mid,
                                                          RuleSetMember.rule_set_id == s.id)).first()
    if m is None:
        raise NotFound("Member not found")
    return m


def update_member(actor: Actor, set_id, data: dict, *, from_form: bool = False) -> RuleSetMember:
    """``{memberId, sequence?, enabled?}``; Wharf also takes ``move: up|down`` (renumbers 0..n)."""
    if not isinstance(data, dict):
        raise ValidationFailed("Request body must be a JSON object")
    s = get_set(actor, set_id)
    m = _get_member(s, data.get("memberId"))
    r = Reader(data, from_form)
    before = _member_snapshot(m)
    move = data.get("move")
    if move not in (None, ""):
        if move not in ("up", "down"):
            raise invalid("move", "must be up or down")
        ordered = live_members(s)
        i = ordered.index(m) if m in ordered else -1
        j = i - 1 if move == "up" else i + 1
        if i >= 0 and 0 <= j < len(ordered):
            ordered[i], ordered[j] = ordered[j], ordered[i]
        for n, member in enumerate(ordered):
            member.sequence = n
    if r.has("sequence"):
        m.sequence = r.integer("sequence", m.sequence, 0, 1_000_000)
    if r.has("enabled"):
        m.enabled = r.boolean("enabled", True)
    db.session.flush()
    audit.record(actor, action="edit", kind="business_rule_set_member", resource_id=m.id, tenant_id=s.tenant_id,
                 before=before, after=_member_snapshot(m), label=f"Edit member of rule set {s.set_id}")
    engine.bump(s.tenant_id)
    db.session.commit()
    return m


def remove_member(actor: Actor, set_id, member_id) -> None:
    s = get_set(actor, set_id)
    m = _get_member(s, member_id)
    before = _member_snapshot(m)
    s.members.remove(m)
    db.session.delete(m)
    audit.record(actor, action="delete", kind="business_rule_set_member", resource_id=before["id"],
                 tenant_id=s.tenant_id, before=before, label=f"Remove a rule from set {s.set_id}")
    engine.bump(s.tenant_id)
    db.session.commit()


# --- logs ----------------------------------------------------------------------------------------

def get_log(actor: Actor, log_id) -> RuleExecutionLog:
    return actor.scope.get(RuleExecutionLog, parse_uuid(log_id, "id"), "Log entry")


# --- manual execution and dry runs ---------------------------------------------------------------

def _execution_tenant(actor: Actor, data: dict):
    return actor.tenant_for_new(data.get("tenantId"))


def execute(actor: Actor, data: dict) -> tuple[engine.Execution, dict]:
    """``POST /execute``: the rules of (entityType, eventType) on ``data``; logs unless dryRun."""
    if not isinstance(data, dict):
        raise ValidationFailed("Request body must be a JSON object")
    r = Reader(data, False)
    entity_type = r.text("entityType", 50, required=True)
    event_type = r.text("eventType", 50)
    entity_id = r.text("entityId", 64) if not isinstance(data.get("entityId"), (int, float)) else str(data["entityId"])
    dry_run = r.boolean("dryRun", False)
    record = data.get("data", {})
    if record is None:
        record = {}
    if not isinstance(record, dict):
        raise invalid("data", "must be a JSON object")
    tenant_id = _execution_tenant(actor, data)
    now = utcnow()
    rules, skipped = engine.discover(tenant_id, entity_type, event_type, now)
    env = engine.env_for(actor.principal, tenant_id, now)
    execution = engine.run_rules(rules, record, env, dry_run=dry_run, skipped=skipped)
    if not dry_run:
        engine.write_logs(engine.log_rows(execution, tenant_id=tenant_id, entity_type=entity_type,
                                          entity_id=entity_id or record.get("id"), event_type=event_type,
                                          record=record, user_id=getattr(actor.principal, "id", None)))
        db.session.commit()
    return execution, record


def execute_one(actor: Actor, rule_id, data: dict) -> engine.RuleRun:
    """``POST /execute/{ruleId}``: one rule by its database id, bypassing discovery (it must
    still be enabled and in its window, as upstream)."""
    if not isinstance(data, dict):
        raise ValidationFailed("Request body must be a JSON object")
    rule = get_rule(actor, parse_uuid(rule_id, "ruleId"))
    r = Reader(data, False)
    dry_run = r.boolean("dryRun", False)
    record = data.get("data", {})
    if record is None:
        record = {}
    if not isinstance(record, dict):
        raise invalid("data", "must be a JSON object")
    now = utcnow()
    compiled = engine.compile_rule(rule)
    if not rule.enabled:
        raise BadRequest("Rule is disabled")
    if not compiled.in_window(now):
        raise BadRequest("Rule is outside its effective window")
    env = engine.env_for(actor.principal, rule.tenant_id, now)
    execution = engine.run_rules([compiled], record, env, dry_run=dry_run)
    if not dry_run:
        entity_type = r.text("entityType", 50) or rule.entity_type
        engine.write_logs(engine.log_rows(execution, tenant_id=rule.tenant_id, entity_type=entity_type,
                                          entity_id=data.get("entityId") or record.get("id"),
                                          event_type=r.text("eventType", 50) or rule.event_type, record=record,
                                          user_id=getattr(actor.principal, "id", None)))
        db.session.commit()
    return execution.runs[0]


RECORD_MODELS = {"lcs.shipment": Shipment, "lcs.list": HandlingList, "lcs.parcel": Parcel}


def find_record(actor: Actor, entity_type: str, ref: str) -> dict:
    """A stored record (by id or number) shaped as the rules see it (the try-it panel)."""
    model = RECORD_MODELS.get(entity_type)
    if model is None:
        raise invalid("recordId", f"records can be chosen for {', '.join(RECORD_MODELS)}")
    ref = (ref or "").strip()
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


def try_rule(actor: Actor, data: dict, *, from_form: bool = False) -> tuple[engine.Execution, dict]:
    """Dry-run an *unsaved* rule (the editor's current state) on pasted JSON or a stored
    record; the result traces every condition."""
    r = Reader(data, from_form)
    draft = BusinessRule(id=uuid.uuid4(), tenant_id=actor.tenant_for_new(data.get("tenantId")),
                         rule_id=r.text("ruleId", 50) or "draft", version=1)
    fields = {k: v for k, v in data.items() if k not in ("ruleId", "tenantId", "organizationId")}
    for key, default in (("ruleName", "Draft rule"), ("ruleType", "GUARD")):
        if not isinstance(fields.get(key), str) or not fields[key].strip():
            fields[key] = default
    _apply_rule_fields(draft, Reader(fields, from_form), creating=True)
    if r.text("recordId", 200):
        record = find_record(actor, draft.entity_type, data["recordId"])
    else:
        record = r.json("sample") if from_form else data.get("sample")
        if record is None:
            record = {}
        if not isinstance(record, dict):
            raise invalid("sample", "must be a JSON object")
    compiled = engine.compile_rule(draft)
    env = engine.env_for(actor.principal, draft.tenant_id)
    return engine.run_rules([compiled], record, env, dry_run=True, trace=True), record
