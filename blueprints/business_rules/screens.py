"""Screen helpers of the rule editor: the new-rule page, the builder's htmx fragments (a
condition row, a group, an action row), field suggestions per entity type and the "try it"
dry run of the editor's current (unsaved) state."""

from __future__ import annotations

import json

from flask import request
from jinja2 import Undefined

from blueprints.business_rules import bp, pages_bp
from models import BusinessRule
from schemas.business_rules import RuleFields, RuleFieldsQuery, RuleTryRequest, RuleTryResponse
from services.rules import actions as act
from services.rules import conditions as cond
from services.rules import engine, store
from services.rules import fields as known
from web.access import current_actor, requires
from web.contract import operation
from web.forms import show_again
from web.negotiate import empty, respond

NEW_RULE = {
    "id": None,
    "ruleId": "",
    "ruleName": "",
    "description": None,
    "ruleType": "GUARD",
    "ruleCategory": None,
    "entityType": "lcs.parcel",
    "eventType": None,
    "enabled": True,
    "priority": 100,
    "version": 1,
    "effectiveFrom": None,
    "effectiveTo": None,
    "conditionExpression": {"operator": "AND", "rules": []},
    "successActions": [],
    "failureActions": [],
}


def value_text(value) -> str:
    """How a condition value shows in the builder's text box (text as-is, the rest as JSON)."""
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def as_group(expr) -> dict:
    """The builder always edits a group at the root."""
    if expr is None:
        return {"operator": "AND", "rules": []}
    if isinstance(expr, dict) and "rules" in expr:
        return expr
    return {"operator": "AND", "rules": [expr]}


def _merge_form(rule: dict | None, form: dict | None) -> dict:
    """The editor after a failed save: what was typed over what is stored."""
    base = dict(rule or NEW_RULE)
    for key, value in (form or {}).items():
        if key in ("conditionExpression", "successActions", "failureActions") and isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else None
            except ValueError:
                continue
        base[key] = value
    return base


def _may(actor, feature: str, rule_id) -> bool:
    """The feature on this rule (a new rule: the feature itself); an object grant may except it."""
    if not rule_id:
        return actor.allows([feature])
    return actor.may([feature], BusinessRule, store.parse_uuid(str(rule_id), "id"))


def editor_context(rule: dict | None, *, form: dict | None = None, **extra) -> dict:
    item = _merge_form(rule, form) if form else dict(rule or NEW_RULE)
    entity = item.get("entityType") or "lcs.parcel"
    actor = current_actor()
    return {
        "rule": item,
        "is_new": not item.get("id"),
        "root": as_group(item.get("conditionExpression")),
        "operators": cond.OPERATORS,
        "group_operators": cond.GROUP_OPERATORS,
        "action_types": act.ACTION_TYPES,
        "rule_types": store.RULE_TYPES,
        "entity_types": known.ENTITY_TYPES,
        "fields": known.fields_for(entity),
        "events": known.events_for(entity),
        "records": store.recent_records(actor, entity),
        "value_text": value_text,
        "can_manage": _may(actor, "business_rules.manage", item.get("id")),
        "can_execute": _may(actor, "business_rules.execute", item.get("id")),
        **extra,
    }


@pages_bp.get("/rules/new")
@requires("business_rules.manage")
def new_rule():
    """The editor for a new rule."""
    ctx = editor_context(None)
    entity = request.args.get("entityType")
    if entity in known.ENTITY_TYPES:
        ctx = editor_context({**NEW_RULE, "entityType": entity})
    return respond(None, template="business_rules/editor.html", context=ctx)


# --- builder fragments --------------------------------------------------------------------------


@pages_bp.get("/builder/condition")
@requires("business_rules.view")
def builder_condition():
    """One empty condition row."""
    return respond(
        None,
        template="business_rules/_builder.html",
        block="condition_fragment",
        context={
            "node": {"field": "", "operator": "=", "value": ""},
            "operators": cond.OPERATORS,
            "value_text": value_text,
        },
    )


@pages_bp.get("/builder/group")
@requires("business_rules.view")
def builder_group():
    """One empty nested group (AND) with a first condition row."""
    return respond(
        None,
        template="business_rules/_builder.html",
        block="group_fragment",
        context={
            "node": {"operator": "AND", "rules": [{"field": "", "operator": "=", "value": ""}]},
            "operators": cond.OPERATORS,
            "group_operators": cond.GROUP_OPERATORS,
            "value_text": value_text,
            "root": False,
        },
    )


@pages_bp.get("/builder/action")
@requires("business_rules.view")
def builder_action():
    """One empty action row."""
    return respond(
        None,
        template="business_rules/_builder.html",
        block="action_fragment",
        context={
            "a": {"type": "SHOW_ERROR", "config": {"message": ""}},
            "action_types": act.ACTION_TYPES,
            "value_text": value_text,
        },
    )


@pages_bp.get("/builder/nothing")
@requires("business_rules.view")
def builder_nothing():
    """Nothing: the answer to "remove this row" (the row is swapped out)."""
    return empty()


@bp.get("/fields")
@requires("business_rules.view")
@operation(query=RuleFieldsQuery, responses={200: RuleFields})
def fields(query: RuleFieldsQuery):
    """Field suggestions.

    The events and record fields a rule of ``entityType`` sees (the editor's suggestions);
    unknown entity types have none.
    """
    entity = query.entityType
    data = {
        "entityType": entity,
        "events": known.events_for(entity),
        "fields": known.fields_for(entity),
        "entityTypes": list(known.ENTITY_TYPES),
    }
    return respond(
        data,
        template="business_rules/fields.html",
        block="suggestions",
        context={**data, "records": store.recent_records(current_actor(), entity)},
    )


TRY_PAGE = "business_rules/try.html"


# A rule or record that cannot be tried: the message where the result would show (200: htmx swaps it in).
_try_error = show_again(TRY_PAGE, "try_result", status=200, statuses=(400, 403, 404, 409, 422))


@bp.post("/try")
@requires("business_rules.execute")
@operation(body=RuleTryRequest, responses={200: RuleTryResponse}, form_error=_try_error)
def try_rule(body: RuleTryRequest):
    """Try an unsaved rule.

    Dry-runs the editor's rule (entityType, ruleType, conditionExpression, successActions,
    failureActions) on ``sample`` (a JSON object) or a stored ``recordId`` (id or number) →
    ``{allowed, executedRules: [{…, conditions: [per-node results]}], record}``. Writes nothing.
    """
    execution, record = store.try_rule(current_actor(), body)
    result = {
        "allowed": execution.allowed,
        "executedRules": [engine.run_summary(r) for r in execution.runs],
        "totalExecutionTime": execution.total_time,
        "messages": execution.messages,
        "blockedBy": execution.blocked_rule_ids,
        "record": record,
    }
    return respond(
        result,
        template=TRY_PAGE,
        block="try_result",
        context={"result": result, "run": result["executedRules"][0] if result["executedRules"] else None},
    )
