"""The JSON endpoints of seed 000 /business_rules (family A) — the same routes serve the rule
list, the editor, rule sets and the execution log to browsers (pages and htmx fragments)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import request, url_for
from sqlalchemy.orm import contains_eager
from wtforms import BooleanField, IntegerField, StringField

from blueprints.auth.forms import ApiForm
from blueprints.business_rules import bp
from models import BusinessRule, RuleExecutionLog, RuleSet, db
from services.errors import DomainError, ValidationFailed
from services.rules import engine, examples, fields as known, store
from web.access import current_actor, requires
from web.forms import request_data
from web.htmx import client_redirect, htmx_details, toast
from web.negotiate import respond, response_mode
from web.openapi import documented
from web.pagination import paginate_a


# --- request helpers --------------------------------------------------------------------------

def _body() -> tuple[dict, bool]:
    """(payload, from_form): JSON bodies as they are, HTML form posts as text fields."""
    data = request_data()
    return data, not request.is_json


def _html() -> bool:
    return response_mode() != "json"


def _bool_filter(name: str):
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ValidationFailed(f"Invalid {name}", details=[{"path": [name], "message": "must be true or false"}])


def _uuid_filter(name: str):
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    return store.parse_uuid(raw, name)


def _choice_filter(name: str, choices) -> str | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if raw not in choices:
        raise ValidationFailed(f"Invalid {name}", details=[{"path": [name], "message": f"must be one of {', '.join(choices)}"}])
    return raw


def _can(*features: str) -> bool:
    return current_actor().grants.allows(features)


# --- forms (documentation of the JSON bodies; HTML forms post the same names) ------------------

class RuleForm(ApiForm):
    id = StringField("Rule id (updates)")
    ruleId = StringField("Business key, 1–50 characters, unique per tenant")
    ruleName = StringField("Name (≤ 200)")
    description = StringField("Description")
    ruleType = StringField("GUARD | VALIDATION | CALCULATION | ACTION | ASSIGNMENT")
    ruleCategory = StringField("Category (≤ 50)")
    entityType = StringField("Entity type, e.g. lcs.parcel")
    eventType = StringField("Event, e.g. labeling (empty = every event of the entity)")
    enabled = BooleanField("Enabled")
    priority = IntegerField("Priority 0–9999 (default 100; higher runs first)")
    version = IntegerField("Version (counted by the server)")
    effectiveFrom = StringField("Effective from (ISO-8601)")
    effectiveTo = StringField("Effective to (ISO-8601, after effectiveFrom)")
    tenantId = StringField("Tenant id (super admins)")
    organizationId = StringField("Organization id")
    conditionExpression = StringField("Condition expression (JSON group or condition)")
    successActions = StringField("Actions when the condition holds (JSON list of {type, config})")
    failureActions = StringField("Actions when it does not (JSON list of {type, config})")


class SetForm(ApiForm):
    id = StringField("Set id (updates)")
    setId = StringField("Business key, unique per tenant")
    setName = StringField("Name")
    description = StringField("Description")
    enabled = BooleanField("Enabled (a disabled set disables its rules)")
    tenantId = StringField("Tenant id (super admins)")
    organizationId = StringField("Organization id")


class MemberForm(ApiForm):
    memberId = StringField("Member id (updates)")
    ruleId = StringField("Rule id (database UUID)")
    sequence = IntegerField("Sequence")
    enabled = BooleanField("Enabled")
    move = StringField("up | down (Wharf: reorder by one place)")


class ExecuteForm(ApiForm):
    entityType = StringField("Entity type")
    eventType = StringField("Event type")
    entityId = StringField("Entity id (logged)")
    data = StringField("The record (JSON object)")
    dryRun = BooleanField("Dry run: evaluate and report, apply nothing, log nothing")


# --- rules ---------------------------------------------------------------------------------------

RULE_SORT = {"ruleId": BusinessRule.rule_id, "ruleName": BusinessRule.rule_name, "ruleType": BusinessRule.rule_type,
             "entityType": BusinessRule.entity_type, "eventType": BusinessRule.event_type,
             "priority": BusinessRule.priority, "enabled": BusinessRule.enabled,
             "createdAt": BusinessRule.created_at, "updatedAt": BusinessRule.updated_at}


def _rules_list(**extra):
    args = request.args
    stmt = current_actor().scope.select(BusinessRule)
    if (rid := _uuid_filter("id")) is not None:
        stmt = stmt.where(BusinessRule.id == rid)
    if args.get("ruleId"):
        stmt = stmt.where(sa.func.lower(BusinessRule.rule_id).contains(args["ruleId"].lower(), autoescape=True))
    if (kind := _choice_filter("ruleType", store.RULE_TYPES)) is not None:
        stmt = stmt.where(BusinessRule.rule_type == kind)
    for key, column in (("entityType", BusinessRule.entity_type), ("eventType", BusinessRule.event_type),
                        ("ruleCategory", BusinessRule.rule_category)):
        if args.get(key):
            stmt = stmt.where(column == args[key])
    if (enabled := _bool_filter("enabled")) is not None:
        stmt = stmt.where(BusinessRule.enabled.is_(enabled))
    body, page = paginate_a(stmt, serialize=store.rule_item, sort_fields=RULE_SORT, default_sort="priority",
                            default_dir="desc", tiebreak=BusinessRule.rule_id.asc(),
                            search_columns=[BusinessRule.rule_name, BusinessRule.rule_id, BusinessRule.description])
    return body, {"rules": body["items"], "page": page, "args": args, "rule_types": store.RULE_TYPES,
                  "entity_types": known.ENTITY_TYPES, "can_manage": _can("business_rules.manage"), **extra}


@bp.get("/rules")
@requires("business_rules.view")
def rules():
    """Business rules; filters id, search, ruleId, ruleType, entityType, eventType, enabled, ruleCategory;
    sorted by priority (desc) then ruleId unless sortField/sortDir say otherwise."""
    body, ctx = _rules_list()
    block = "rule_table" if htmx_details().target == "rule-table" else "content"
    return respond(body, template="business_rules/rules.html", block=block, context=ctx)


def _editor_context(rule: dict | None, **extra) -> dict:
    from blueprints.business_rules.screens import editor_context
    return editor_context(rule, **extra)


@bp.post("/rules")
@requires("business_rules.manage")
@documented(body=RuleForm, responses={"201": {"description": "Created: {id}"}, "409": {"description": "ruleId taken"}})
def create_rule():
    """Creates a rule (201 ``{id}``); a malformed condition or action is a 400 naming the bad node."""
    data, from_form = _body()
    try:
        rule = store.create_rule(current_actor(), data, from_form=from_form)
    except DomainError as e:
        if not _html():
            raise
        return respond(None, template="business_rules/editor.html", block="editor_form", status=422,
                       context=_editor_context(None, form=data, error=e.message, error_details=e.details))
    if not _html():
        return respond({"id": rule.id}, status=201)
    target = url_for("business_rules.rule", rule_id=rule.id)
    resp = client_redirect(respond(None), target) if htmx_details().is_htmx else respond(None, status=303, headers={"Location": target})
    return toast(resp, f"Rule {rule.rule_id} created")


@bp.put("/rules")
@requires("business_rules.manage")
@documented(body=RuleForm, responses={"404": {"description": "Not found"}, "409": {"description": "ruleId taken"}})
def update_rule():
    """Updates a rule (``id`` in the body; only the fields given change); its version goes up by one."""
    data, from_form = _body()
    view = data.pop("_view", None)
    if not _html():
        store.update_rule(current_actor(), data, from_form=from_form)
        return respond({"ok": True})
    if view == "row":  # the list's inline enable switch
        rule = store.update_rule(current_actor(), data, from_form=from_form)
        resp = respond({"ok": True}, template="business_rules/rules.html", block="rule_row",
                       context={"r": store.rule_item(rule), "can_manage": True})
        return toast(resp, f"{rule.rule_id} {'enabled' if rule.enabled else 'disabled'}")
    try:
        rule = store.update_rule(current_actor(), data, from_form=from_form)
    except DomainError as e:
        current = None
        if data.get("id"):
            try:
                current = store.rule_detail(store.get_rule(current_actor(), store.parse_uuid(data["id"], "id")))
            except DomainError:
                raise e from None
        return respond(None, template="business_rules/editor.html", block="editor_form", status=422,
                       context=_editor_context(current, form=data, error=e.message, error_details=e.details))
    resp = respond({"ok": True}, template="business_rules/editor.html", block="editor_form",
                   context=_editor_context(store.rule_detail(rule), saved=True))
    return toast(resp, f"Rule {rule.rule_id} saved (version {rule.version})")


@bp.delete("/rules")
@requires("business_rules.manage")
def delete_rule():
    """Soft-deletes a rule (``?id=``); it stops running everywhere at once and leaves its sets."""
    rule = store.delete_rule(current_actor(), request.args.get("id"))
    if _html() and (not htmx_details().is_htmx or request.args.get("_view") == "editor"):
        target = url_for("business_rules.rules")
        resp = client_redirect(respond(None), target) if htmx_details().is_htmx else respond(None, status=303, headers={"Location": target})
        return toast(resp, f"Rule {rule.rule_id} deleted")
    return toast(respond({"ok": True}, template="business_rules/rules.html", block="nothing"),
                 f"Rule {rule.rule_id} deleted")


@bp.get("/rules/<rule_id>")
@requires("business_rules.view")
def rule(rule_id):
    """One rule with its condition and actions (the editor for browsers)."""
    found = store.rule_detail(store.get_rule(current_actor(), store.parse_uuid(rule_id, "id")))
    return respond(found, template="business_rules/editor.html", context=_editor_context(found))


@bp.post("/rules/examples")
@requires("business_rules.manage")
def add_examples():
    """Creates Wharf's two example rules (disabled) for the caller's tenant when missing → ``{created}``."""
    actor = current_actor()
    created = examples.ensure_examples(actor, actor.tenant_for_new(None))
    if not _html():
        return respond({"created": created})
    target = url_for("business_rules.rules")
    resp = client_redirect(respond(None), target) if htmx_details().is_htmx else respond(None, status=303, headers={"Location": target})
    return toast(resp, f"{created} example rule(s) added" if created else "The example rules are already there")


# --- sets -----------------------------------------------------------------------------------------

SET_SORT = {"setId": RuleSet.set_id, "setName": RuleSet.set_name, "enabled": RuleSet.enabled,
            "createdAt": RuleSet.created_at, "updatedAt": RuleSet.updated_at}


def _sets_list(**extra):
    stmt = current_actor().scope.select(RuleSet)
    if (sid := _uuid_filter("id")) is not None:
        stmt = stmt.where(RuleSet.id == sid)
    if request.args.get("setId"):
        stmt = stmt.where(sa.func.lower(RuleSet.set_id).contains(request.args["setId"].lower(), autoescape=True))
    if (enabled := _bool_filter("enabled")) is not None:
        stmt = stmt.where(RuleSet.enabled.is_(enabled))
    body, page = paginate_a(stmt, serialize=store.set_item, sort_fields=SET_SORT, default_sort="setId",
                            search_columns=[RuleSet.set_name, RuleSet.set_id, RuleSet.description],
                            tiebreak=RuleSet.id.asc())
    return body, {"sets": body["items"], "page": page, "args": request.args,
                  "can_manage": _can("business_rules.manage_sets"), **extra}


@bp.get("/sets")
@requires("business_rules.view")
def sets():
    """Rule sets; filters id, search, setId, enabled; sortField setId | setName | enabled | createdAt | updatedAt."""
    body, ctx = _sets_list()
    block = "set_table" if htmx_details().target == "set-table" else "content"
    return respond(body, template="business_rules/sets.html", block=block, context=ctx)


@bp.post("/sets")
@requires("business_rules.manage_sets")
@documented(body=SetForm, responses={"201": {"description": "Created: {id}"}, "409": {"description": "setId taken"}})
def create_set():
    """Creates a rule set (201 ``{id}``)."""
    data, from_form = _body()
    try:
        s = store.create_set(current_actor(), data, from_form=from_form)
    except DomainError as e:
        if not _html():
            raise
        _, ctx = _sets_list(error=e.message, form=data)
        return respond(None, template="business_rules/sets.html", block="create_form", status=422, context=ctx)
    if not _html():
        return respond({"id": s.id}, status=201)
    target = url_for("business_rules.rule_set", set_id=s.id)
    resp = client_redirect(respond(None), target) if htmx_details().is_htmx else respond(None, status=303, headers={"Location": target})
    return toast(resp, f"Rule set {s.set_id} created")


@bp.put("/sets")
@requires("business_rules.manage_sets")
@documented(body=SetForm, responses={"404": {"description": "Not found"}})
def update_set():
    """Updates a rule set (``id`` in the body): name, description, enabled."""
    data, from_form = _body()
    s = store.update_set(current_actor(), data, from_form=from_form)
    resp = respond({"ok": True}, template="business_rules/set.html", block="set_panel",
                   context=_set_context(s))
    return toast(resp, f"Rule set {s.set_id} saved")


@bp.delete("/sets")
@requires("business_rules.manage_sets")
def delete_set():
    """Soft-deletes a rule set (``?id=``); its rules are no longer held back by it."""
    s = store.delete_set(current_actor(), request.args.get("id"))
    if _html() and not htmx_details().is_htmx:
        return respond(None, status=303, headers={"Location": url_for("business_rules.sets")})
    return toast(respond({"ok": True}, template="business_rules/sets.html", block="nothing"), f"Rule set {s.set_id} deleted")


def _set_context(s: RuleSet) -> dict:
    detail = store.set_detail(s)
    in_set = {m["ruleId"] for m in detail["members"]}
    candidates = []
    if _can("business_rules.manage_sets"):
        candidates = [store.rule_item(r) for r in db.session.scalars(
            current_actor().scope.select(BusinessRule).where(BusinessRule.tenant_id == s.tenant_id)
            .order_by(BusinessRule.rule_id)) if r.id not in in_set]
    return {"s": detail, "candidates": candidates, "can_manage": _can("business_rules.manage_sets")}


@bp.get("/sets/<set_id>")
@requires("business_rules.view")
def rule_set(set_id):
    """One rule set with its members in sequence order."""
    s = store.get_set(current_actor(), store.parse_uuid(set_id, "id"))
    ctx = _set_context(s)
    return respond(ctx["s"], template="business_rules/set.html", context=ctx)


@bp.post("/sets/<set_id>/members")
@requires("business_rules.manage_sets")
@documented(body=MemberForm, responses={"201": {"description": "Added: {id}"}, "404": {"description": "Set or rule not found"},
                                        "409": {"description": "Rule already in set"}})
def add_member(set_id):
    """Adds a rule to the set (201 ``{id}``); a rule already in the set is a 409."""
    data, from_form = _body()
    key = store.parse_uuid(set_id, "id")
    m = store.add_member(current_actor(), key, data, from_form=from_form)
    resp = respond({"id": m.id}, status=201 if not _html() else 200, template="business_rules/set.html",
                   block="set_panel", context=_set_context(store.get_set(current_actor(), key)))
    return toast(resp, "Rule added to the set")


@bp.put("/sets/<set_id>/members")
@requires("business_rules.manage_sets")
@documented(body=MemberForm, responses={"404": {"description": "Member not found"}})
def update_member(set_id):
    """Changes a member's ``sequence`` or ``enabled`` (``memberId`` in the body); Wharf also
    takes ``move: up|down``. A disabled member does not run while the set applies."""
    data, from_form = _body()
    key = store.parse_uuid(set_id, "id")
    store.update_member(current_actor(), key, data, from_form=from_form)
    return respond({"ok": True}, template="business_rules/set.html", block="set_panel",
                   context=_set_context(store.get_set(current_actor(), key)))


@bp.delete("/sets/<set_id>/members")
@requires("business_rules.manage_sets")
def remove_member(set_id):
    """Removes a rule from the set (``?memberId=``; hard delete)."""
    key = store.parse_uuid(set_id, "id")
    store.remove_member(current_actor(), key, request.args.get("memberId"))
    resp = respond({"ok": True}, template="business_rules/set.html", block="set_panel",
                   context=_set_context(store.get_set(current_actor(), key)))
    return toast(resp, "Rule removed from the set")


# --- logs ------------------------------------------------------------------------------------------

LOG_SORT = {"id": RuleExecutionLog.id, "ruleId": BusinessRule.rule_id, "entityType": RuleExecutionLog.entity_type,
            "executionResult": RuleExecutionLog.execution_result, "executionTimeMs": RuleExecutionLog.execution_time_ms,
            "executedAt": RuleExecutionLog.executed_at}


def _when_filter(name: str):
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    from services.audit_query import parse_timestamp
    return parse_timestamp(raw, name)


@bp.get("/logs")
@requires("business_rules.view_logs")
def logs():
    """Execution logs, newest first; filters id, ruleId (rule UUID), entityId, entityType, executionResult,
    executedBy, executedAtFrom, executedAtTo; sortField id | ruleId | entityType | executionResult |
    executionTimeMs | executedAt."""
    args = request.args
    L = RuleExecutionLog
    stmt = (current_actor().scope.select(L).join(BusinessRule, BusinessRule.id == L.rule_id)
            .options(contains_eager(L.rule)))
    if (lid := _uuid_filter("id")) is not None:
        stmt = stmt.where(L.id == lid)
    if (rid := _uuid_filter("ruleId")) is not None:
        stmt = stmt.where(L.rule_id == rid)
    for key, column in (("entityId", L.entity_id), ("entityType", L.entity_type), ("executedBy", L.executed_by)):
        if args.get(key):
            stmt = stmt.where(column == args[key])
    if (result := _choice_filter("executionResult", store.EXECUTION_RESULTS)) is not None:
        stmt = stmt.where(L.execution_result == result)
    if (start := _when_filter("executedAtFrom")) is not None:
        stmt = stmt.where(L.executed_at >= start)
    if (end := _when_filter("executedAtTo")) is not None:
        stmt = stmt.where(L.executed_at <= end)
    body, page = paginate_a(stmt, serialize=store.log_item, sort_fields=LOG_SORT, default_sort="executedAt",
                            default_dir="desc", tiebreak=L.id.asc())
    rules_by_id = {}
    if _html():
        rules_by_id = {r.id: r for r in db.session.scalars(current_actor().scope.select(BusinessRule)
                                                           .order_by(BusinessRule.rule_id))}
    block = "log_table" if htmx_details().target == "log-table" else "content"
    return respond(body, template="business_rules/logs.html", block=block,
                   context={"logs": body["items"], "page": page, "args": args, "rules_by_id": rules_by_id,
                            "results": store.EXECUTION_RESULTS, "entity_types": known.ENTITY_TYPES})


@bp.get("/logs/<log_id>")
@requires("business_rules.view_logs")
def log_entry(log_id):
    """One execution with its (redacted) input and output context."""
    entry = store.log_detail(store.get_log(current_actor(), log_id))
    return respond(entry, template="business_rules/log.html", context={"entry": entry})


# --- execution ---------------------------------------------------------------------------------------

@bp.post("/execute")
@requires("business_rules.execute")
@documented(body=ExecuteForm)
def execute():
    """Runs the rules of (entityType, eventType) on ``data`` → ``{allowed, executedRules, totalExecutionTime}``;
    ``dryRun`` evaluates and reports without applying actions or writing logs."""
    from web.forms import request_json
    execution, record = store.execute(current_actor(), request_json(dict))
    return respond({"allowed": execution.allowed,
                    "executedRules": [engine.run_summary(r) for r in execution.runs],
                    "totalExecutionTime": execution.total_time,
                    "messages": execution.messages, "blockedBy": execution.blocked_rule_ids,
                    "errors": execution.errors, "data": record})


@bp.post("/execute/<rule_id>")
@requires("business_rules.execute")
@documented(body=ExecuteForm)
def execute_rule(rule_id):
    """Runs one rule by its database id (no discovery) → ``{success, ruleId, ruleName, conditionResult,
    actionsExecuted, executionTime}``; 404 when it does not exist."""
    from web.forms import request_json
    data = request_json(dict) if request.content_length else {}
    run = store.execute_one(current_actor(), rule_id, data)
    return respond({"success": run.error is None, "ruleId": run.rule.rule_id, "ruleName": run.rule.rule_name,
                    "conditionResult": run.condition_result,
                    "actionsExecuted": ({"success": all(r["success"] for r in run.outcome.results),
                                         "results": run.outcome.results} if run.outcome else None),
                    "executionTime": run.execution_time, "error": run.error, "id": run.rule.id})
