"""The JSON endpoints of seed 000 /business_rules (family A) — the same routes serve the rule
list, the editor, rule sets and the execution log to browsers (pages and htmx fragments)."""

from __future__ import annotations

from flask import request, url_for
from sqlalchemy.orm import contains_eager

from blueprints.business_rules import bp
from models import BusinessRule, RuleExecutionLog, RuleSet, db
from schemas.base import Created, Ok, Page
from schemas.business_rules import (
    BusinessRuleCreate,
    BusinessRuleDeleteQuery,
    BusinessRuleDetail,
    BusinessRuleListItem,
    BusinessRuleListQuery,
    BusinessRuleUpdate,
    ExamplesCreated,
    RuleExecuteOneRequest,
    RuleExecuteOneResponse,
    RuleExecuteRequest,
    RuleExecuteResponse,
    RuleExecutionLogDetail,
    RuleExecutionLogItem,
    RuleExecutionLogListQuery,
    RuleSetCreate,
    RuleSetDeleteQuery,
    RuleSetDetail,
    RuleSetListItem,
    RuleSetListQuery,
    RuleSetMemberCreate,
    RuleSetMemberDeleteQuery,
    RuleSetMemberUpdate,
    RuleSetUpdate,
)
from services import users
from services.errors import DomainError
from services.rules import engine, examples, store
from services.rules import fields as known
from web.access import current_actor, requires
from web.contract import operation, submitted
from web.forms import show_again
from web.htmx import htmx_details, toast
from web.negotiate import empty, respond, response_mode, see_other
from web.pagination import contains_ci, paginate_a
from web.records import record_links

EXECUTION_PAGE = "business_rules/execution.html"


def _html() -> bool:
    return response_mode() != "json"


def _can(*features: str) -> bool:
    return current_actor().grants.allows(features)


# --- rules ---------------------------------------------------------------------------------------

RULE_SORT = {
    "ruleId": BusinessRule.rule_id,
    "ruleName": BusinessRule.rule_name,
    "ruleType": BusinessRule.rule_type,
    "entityType": BusinessRule.entity_type,
    "eventType": BusinessRule.event_type,
    "priority": BusinessRule.priority,
    "enabled": BusinessRule.enabled,
    "createdAt": BusinessRule.created_at,
    "updatedAt": BusinessRule.updated_at,
}


def _rules_list(query: BusinessRuleListQuery):
    stmt = current_actor().scope.select(BusinessRule)
    if query.id is not None:
        stmt = stmt.where(BusinessRule.id == query.id)
    if query.ruleId:
        stmt = stmt.where(contains_ci(BusinessRule.rule_id, query.ruleId))
    if query.ruleType is not None:
        stmt = stmt.where(BusinessRule.rule_type == query.ruleType)
    for value, column in (
        (query.entityType, BusinessRule.entity_type),
        (query.eventType, BusinessRule.event_type),
        (query.ruleCategory, BusinessRule.rule_category),
    ):
        if value:
            stmt = stmt.where(column == value)
    if query.enabled is not None:
        stmt = stmt.where(BusinessRule.enabled.is_(query.enabled))
    body, page = paginate_a(
        stmt,
        serialize=store.rule_item,
        sort_fields=RULE_SORT,
        default_sort="priority",
        default_dir="desc",
        tiebreak=BusinessRule.rule_id.asc(),
        query=query,
        search_columns=[BusinessRule.rule_name, BusinessRule.rule_id, BusinessRule.description],
    )
    return body, {
        "rules": body["items"],
        "page": page,
        "args": request.args,
        "rule_types": store.RULE_TYPES,
        "entity_types": known.ENTITY_TYPES,
        "can_manage": _can("business_rules.manage"),
    }


@bp.get("/rules")
@requires("business_rules.view")
@operation(query=BusinessRuleListQuery, responses={200: Page[BusinessRuleListItem]})
def rules(query: BusinessRuleListQuery):
    """List business rules.

    Filters id, search, ruleId, ruleType, entityType, eventType, enabled, ruleCategory;
    sorted by priority (desc) then ruleId unless sortField/sortDir say otherwise.
    """
    body, ctx = _rules_list(query)
    return respond(body, template="business_rules/rules.html", context=ctx, targets={"rule-table": "rule_table"})


def _editor_context(rule: dict | None, **extra) -> dict:
    from blueprints.business_rules.screens import editor_context

    return editor_context(rule, **extra)


EDITOR = "business_rules/editor.html"
ALL_REFUSALS = (400, 403, 404, 409, 422)


def _edited_rule() -> dict | None:
    """The editor around a refused save; None (an ordinary error) for the list's switch or
    a rule that is gone."""
    form = submitted()
    if form.get("_view") == "row" or not form.get("id"):
        return None
    try:
        rule = store.rule_detail(store.get_rule(current_actor(), store.parse_uuid(form["id"], "id")))
    except DomainError:
        return None
    return _editor_context(rule, form=form)


_editor_error = show_again(
    EDITOR, "editor_form", context=lambda: _editor_context(None, form=submitted()), statuses=ALL_REFUSALS
)
_update_error = show_again(EDITOR, "editor_form", context=_edited_rule, statuses=ALL_REFUSALS)


def _cleared_dates(body: BusinessRuleUpdate) -> BusinessRuleUpdate:
    """The editor posts every field: an empty date input clears that date (an empty form
    value of a non-text field otherwise counts as not sent)."""
    cleared = {k: None for k in ("effectiveFrom", "effectiveTo") if submitted().get(k) == ""}
    return body.model_copy(update=cleared) if cleared else body


@bp.post("/rules")
@requires("business_rules.manage")
@operation(body=BusinessRuleCreate, responses={201: Created}, form_error=_editor_error)
def create_rule(body: BusinessRuleCreate):
    """Create business rule.

    Answers 201 ``{id}``; a malformed condition or action is a 400 naming the bad node, a
    ``ruleId`` the tenant already uses a 409.
    """
    rule = store.create_rule(current_actor(), body)
    return see_other(
        url_for("business_rules.rule", rule_id=rule.id),
        {"id": rule.id},
        status=201,
        toast=f"Rule {rule.rule_id} created",
    )


@bp.put("/rules")
@requires("business_rules.manage")
@operation(body=BusinessRuleUpdate, responses={200: Ok}, form_error=_update_error)
def update_rule(body: BusinessRuleUpdate):
    """Update business rule.

    ``id`` in the body; only the fields sent change, and the version goes up by one.
    """
    rule = store.update_rule(current_actor(), _cleared_dates(body))
    if not _html():
        return respond({"ok": True})
    if htmx_details().is_htmx and submitted().get("_view") == "row":  # the list's inline switch
        return respond(
            None,
            template="business_rules/rules.html",
            block="rule_row",
            context={"r": store.rule_item(rule), "can_manage": True},
            toast=f"{rule.rule_id} {'enabled' if rule.enabled else 'disabled'}",
        )
    return respond(
        None,
        template=EDITOR,
        block="editor_form",
        context=_editor_context(store.rule_detail(rule), saved=True),
        toast=f"Rule {rule.rule_id} saved (version {rule.version})",
    )


@bp.delete("/rules")
@requires("business_rules.manage")
@operation(query=BusinessRuleDeleteQuery, responses={200: Ok})
def delete_rule(query: BusinessRuleDeleteQuery):
    """Delete business rule.

    Soft-deletes the rule ``?id=``: it stops running everywhere at once and leaves its sets.
    """
    rule = store.delete_rule(current_actor(), query.id)
    if _html() and (not htmx_details().is_htmx or request.args.get("_view") == "editor"):
        return see_other(url_for("business_rules.rules"), toast=f"Rule {rule.rule_id} deleted")
    return empty({"ok": True}, toast=f"Rule {rule.rule_id} deleted")


@bp.get("/rules/<rule_id>")
@requires("business_rules.view")
@operation(responses={200: BusinessRuleDetail})
def rule(rule_id):
    """Fetch business rule by ID.

    The rule with its condition and actions (the editor for browsers).
    """
    found = store.rule_detail(store.get_rule(current_actor(), store.parse_uuid(rule_id, "id")))
    return respond(found, template="business_rules/editor.html", context=_editor_context(found))


@bp.post("/rules/examples")
@requires("business_rules.manage")
@operation(responses={200: ExamplesCreated})
def add_examples():
    """Add the example rules.

    Creates Wharf's two example rules for the caller's tenant when missing (the max-weight
    rule enabled, the missing-units rule disabled).
    """
    actor = current_actor()
    created = examples.ensure_examples(actor, actor.tenant_for_new(None))
    return see_other(
        url_for("business_rules.rules"),
        {"created": created},
        toast=f"{created} example rule(s) added" if created else "The example rules are already there",
    )


# --- sets -----------------------------------------------------------------------------------------

SET_SORT = {
    "setId": RuleSet.set_id,
    "setName": RuleSet.set_name,
    "enabled": RuleSet.enabled,
    "createdAt": RuleSet.created_at,
    "updatedAt": RuleSet.updated_at,
}


def _sets_list(query: RuleSetListQuery, **extra):
    stmt = current_actor().scope.select(RuleSet)
    if query.id is not None:
        stmt = stmt.where(RuleSet.id == query.id)
    if query.setId:
        stmt = stmt.where(contains_ci(RuleSet.set_id, query.setId))
    if query.enabled is not None:
        stmt = stmt.where(RuleSet.enabled.is_(query.enabled))
    body, page = paginate_a(
        stmt,
        serialize=store.set_item,
        sort_fields=SET_SORT,
        default_sort="setId",
        search_columns=[RuleSet.set_name, RuleSet.set_id, RuleSet.description],
        tiebreak=RuleSet.id.asc(),
        query=query,
    )
    return body, {
        "sets": body["items"],
        "page": page,
        "args": request.args,
        "can_manage": _can("business_rules.manage_sets"),
        **extra,
    }


@bp.get("/sets")
@requires("business_rules.view")
@operation(query=RuleSetListQuery, responses={200: Page[RuleSetListItem]})
def sets(query: RuleSetListQuery):
    """List rule sets.

    Filters id, search, setId, enabled; sorted by setId unless sortField/sortDir say otherwise.
    """
    body, ctx = _sets_list(query)
    return respond(body, template="business_rules/sets.html", context=ctx, targets={"set-table": "set_table"})


_set_form_error = show_again(
    "business_rules/sets.html", "create_form", statuses=ALL_REFUSALS, context=lambda: _sets_list(RuleSetListQuery())[1]
)


@bp.post("/sets")
@requires("business_rules.manage_sets")
@operation(body=RuleSetCreate, responses={201: Created}, form_error=_set_form_error)
def create_set(body: RuleSetCreate):
    """Create rule set.

    Answers 201 ``{id}``; a ``setId`` the tenant already uses is a 409.
    """
    s = store.create_set(current_actor(), body)
    return see_other(
        url_for("business_rules.rule_set", set_id=s.id), {"id": s.id}, status=201, toast=f"Rule set {s.set_id} created"
    )


@bp.put("/sets")
@requires("business_rules.manage_sets")
@operation(body=RuleSetUpdate, responses={200: Ok})
def update_set(body: RuleSetUpdate):
    """Update rule set.

    ``id`` in the body; only the fields sent change. A disabled set disables its rules.
    """
    s = store.update_set(current_actor(), body)
    return respond(
        {"ok": True},
        template="business_rules/set.html",
        block="set_panel",
        context=lambda: _set_context(s),
        toast=f"Rule set {s.set_id} saved",
    )


@bp.delete("/sets")
@requires("business_rules.manage_sets")
@operation(query=RuleSetDeleteQuery, responses={200: Ok})
def delete_set(query: RuleSetDeleteQuery):
    """Delete rule set.

    Soft-deletes the set ``?id=``; its rules are no longer held back by it.
    """
    s = store.delete_set(current_actor(), query.id)
    return empty({"ok": True}, page=url_for("business_rules.sets"), toast=f"Rule set {s.set_id} deleted")


def _set_context(s: RuleSet) -> dict:
    detail = store.set_detail(s)
    in_set = {m["ruleId"] for m in detail["members"]}
    candidates = []
    if _can("business_rules.manage_sets"):
        candidates = [
            store.rule_item(r)
            for r in db.session.scalars(
                current_actor()
                .scope.select(BusinessRule)
                .where(BusinessRule.tenant_id == s.tenant_id)
                .order_by(BusinessRule.rule_id)
            )
            if r.id not in in_set
        ]
    return {"s": detail, "candidates": candidates, "can_manage": _can("business_rules.manage_sets")}


@bp.get("/sets/<set_id>")
@requires("business_rules.view")
@operation(responses={200: RuleSetDetail})
def rule_set(set_id):
    """Get rule set detail.

    The set with its members in sequence order.
    """
    s = store.get_set(current_actor(), store.parse_uuid(set_id, "id"))
    ctx = _set_context(s)
    return respond(ctx["s"], template="business_rules/set.html", context=ctx)


def _set_panel(set_key, data: dict, status: int = 200):
    return respond(
        data,
        status=status,
        template="business_rules/set.html",
        block="set_panel",
        context=_set_context(store.get_set(current_actor(), set_key)),
    )


@bp.post("/sets/<set_id>/members")
@requires("business_rules.manage_sets")
@operation(body=RuleSetMemberCreate, responses={201: Created})
def add_member(set_id, body: RuleSetMemberCreate):
    """Add rule to set.

    Answers 201 ``{id}``; a rule already in the set is a 409, a rule or set of another
    tenant a 404.
    """
    key = store.parse_uuid(set_id, "id")
    m = store.add_member(current_actor(), key, body)
    return toast(_set_panel(key, {"id": m.id}, 201 if not _html() else 200), "Rule added to the set")


@bp.put("/sets/<set_id>/members")
@requires("business_rules.manage_sets")
@operation(body=RuleSetMemberUpdate, responses={200: Ok})
def update_member(set_id, body: RuleSetMemberUpdate):
    """Update set member.

    Changes the ``sequence`` or ``enabled`` of the member ``memberId``; Wharf also takes
    ``move: up|down``. A disabled member does not run while the set applies.
    """
    key = store.parse_uuid(set_id, "id")
    store.update_member(current_actor(), key, body)
    return _set_panel(key, {"ok": True})


@bp.delete("/sets/<set_id>/members")
@requires("business_rules.manage_sets")
@operation(query=RuleSetMemberDeleteQuery, responses={200: Ok})
def remove_member(set_id, query: RuleSetMemberDeleteQuery):
    """Remove rule from set.

    Removes the member ``?memberId=`` (hard delete).
    """
    key = store.parse_uuid(set_id, "id")
    store.remove_member(current_actor(), key, query.memberId)
    return toast(_set_panel(key, {"ok": True}), "Rule removed from the set")


# --- logs ------------------------------------------------------------------------------------------

LOG_SORT = {
    "id": RuleExecutionLog.id,
    "ruleId": BusinessRule.rule_id,
    "entityType": RuleExecutionLog.entity_type,
    "executionResult": RuleExecutionLog.execution_result,
    "executionTimeMs": RuleExecutionLog.execution_time_ms,
    "executedAt": RuleExecutionLog.executed_at,
}


@bp.get("/logs")
@requires("business_rules.view_logs")
@operation(query=RuleExecutionLogListQuery, responses={200: Page[RuleExecutionLogItem]})
def logs(query: RuleExecutionLogListQuery):
    """List rule execution logs.

    Newest first; filters id, ruleId (the rule's database id), entityId, entityType,
    executionResult, executedBy, executedAtFrom, executedAtTo.
    """
    L = RuleExecutionLog
    stmt = (
        current_actor().scope.select(L).join(BusinessRule, BusinessRule.id == L.rule_id).options(contains_eager(L.rule))
    )
    for value, column in ((query.id, L.id), (query.ruleId, L.rule_id), (query.executionResult, L.execution_result)):
        if value is not None:
            stmt = stmt.where(column == value)
    for value, column in (
        (query.entityId, L.entity_id),
        (query.entityType, L.entity_type),
        (query.executedBy, L.executed_by),
    ):
        if value:
            stmt = stmt.where(column == value)
    if query.executedAtFrom is not None:
        stmt = stmt.where(L.executed_at >= query.executedAtFrom)
    if query.executedAtTo is not None:
        stmt = stmt.where(L.executed_at <= query.executedAtTo)
    body, page = paginate_a(
        stmt,
        serialize=store.log_item,
        sort_fields=LOG_SORT,
        default_sort="executedAt",
        default_dir="desc",
        tiebreak=L.id.asc(),
        query=query,
    )
    context = {"logs": body["items"], "page": page, "args": request.args}
    if _html():
        context |= _log_names(body["items"])
        context["rules_by_id"] = {
            r.id: r
            for r in db.session.scalars(current_actor().scope.select(BusinessRule).order_by(BusinessRule.rule_id))
        }
    context |= {"results": store.EXECUTION_RESULTS, "entity_types": known.ENTITY_TYPES}
    return respond(body, template="business_rules/logs.html", targets={"log-table": "log_table"}, context=context)


def _log_names(entries: list[dict]) -> dict:
    """What a person reads for a run's record (S-000007, linked) and who ran it (a name)."""
    return {
        "records": record_links(current_actor(), [(e["entityType"], e["entityId"]) for e in entries]),
        "runners": users.display_names({e.get("executedBy") for e in entries if e.get("executedBy")}),
    }


@bp.get("/logs/<log_id>")
@requires("business_rules.view_logs")
@operation(responses={200: RuleExecutionLogDetail})
def log_entry(log_id):
    """Get execution log detail.

    One execution with its (redacted) input and output context.
    """
    entry = store.log_detail(store.get_log(current_actor(), store.parse_uuid(log_id, "id")))
    names = _log_names([entry]) if _html() else {}
    return respond(entry, template="business_rules/log.html", context={"entry": entry, **names})


# --- execution ---------------------------------------------------------------------------------------


@bp.post("/execute")
@requires("business_rules.execute")
@operation(body=RuleExecuteRequest, responses={200: RuleExecuteResponse}, forms=False)
def execute(body: RuleExecuteRequest):
    """Execute rules for given context.

    Runs the rules of (entityType, eventType) on ``data`` → ``{allowed, executedRules,
    totalExecutionTime}``; ``dryRun`` evaluates and reports without applying actions or
    writing logs.
    """
    execution, record = store.execute(current_actor(), body)
    result = {
        "allowed": execution.allowed,
        "executedRules": [engine.run_summary(r) for r in execution.runs],
        "totalExecutionTime": execution.total_time,
        "messages": execution.messages,
        "blockedBy": execution.blocked_rule_ids,
        "errors": execution.errors,
        "data": record,
    }
    return respond(result, template=EXECUTION_PAGE, context={"result": result, "runs": result["executedRules"]})


@bp.post("/execute/<rule_id>")
@requires("business_rules.execute")
@operation(body=RuleExecuteOneRequest, responses={200: RuleExecuteOneResponse}, forms=False)
def execute_rule(rule_id, body: RuleExecuteOneRequest):
    """Execute a specific rule by its database UUID.

    No discovery: the rule runs when it is enabled and in its window (else 400); 404 when it
    does not exist.
    """
    run = store.execute_one(current_actor(), store.parse_uuid(rule_id, "ruleId"), body)
    result = {
        "success": run.error is None,
        "ruleId": run.rule.rule_id,
        "ruleName": run.rule.rule_name,
        "conditionResult": run.condition_result,
        "actionsExecuted": (
            {"success": all(r["success"] for r in run.outcome.results), "results": run.outcome.results}
            if run.outcome
            else None
        ),
        "executionTime": run.execution_time,
        "error": run.error,
        "id": run.rule.id,
    }
    return respond(result, template=EXECUTION_PAGE, context={"result": result, "runs": [engine.run_summary(run)]})
