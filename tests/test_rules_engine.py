"""Business rules without HTTP: the condition language (every operator with its coercions,
dates, empty values, the regex guard), group logic, templates, limits, actions, and the
engine (discovery order, windows, sets, the 100-rule cap, the cross-process cache, dry
runs, redacted logs, SET_FIELD reaching the stored record)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pydantic import TypeAdapter, ValidationError

from models import BusinessRule, CacheVersion, RuleExecutionLog, Scope, Shipment, db
from schemas.business_rules import (
    BusinessRuleCreate,
    BusinessRuleUpdate,
    ConditionExpression,
    RuleActions,
    RuleSetCreate,
    RuleSetMemberCreate,
    RuleSetMemberUpdate,
    RuleSetUpdate,
)
from schemas.lcs_parcels import LcsParcelCreateModel
from schemas.lcs_shipments import LcsShipmentItemModel, LcsShipmentModel
from services import events
from services.acl import Actor
from services.commands import command
from services.rules import actions as act
from services.rules import conditions as c
from services.rules import engine, listener, store
from tests.support import SYSTEM

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
EXPRESSION = TypeAdapter(ConditionExpression)
ACTIONS = TypeAdapter(RuleActions)


def refused(adapter: TypeAdapter, value) -> tuple[list, str]:
    """(path, message) of the first problem the declared model finds in ``value``."""
    with pytest.raises(ValidationError) as e:
        adapter.validate_python(value)
    first = e.value.errors(include_url=False)[0]
    return list(first["loc"]), first["msg"]


def env(**kw) -> c.Env:
    return c.Env(
        now=NOW,
        user=kw.get("user", {"id": "u-1", "email": "ann@x.test"}),
        tenant=kw.get("tenant", {"id": "t-1"}),
        organization=kw.get("organization", {"id": "o-1"}),
    )


def holds(expr, data) -> bool:
    EXPRESSION.validate_python(expr)
    return c.compile_expression(expr)(data, env())


def cond(field, op, value=None, **extra) -> dict:
    node = {"field": field, "operator": op, **extra}
    if value is not None or op not in c.UNARY:
        node.setdefault("value", value)
    return node


# --- operators ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "left, right, expected",
    [
        (10, 10, True),
        (10, "10", True),
        ("10.0", 10, True),
        (10, "ten", False),
        ("abc", "abc", True),
        ("abc", "ABC", False),
        (None, None, True),
        (None, 0, False),
        (0, None, False),
        ("", None, False),
        (True, "true", True),
        (False, "false", True),
        (True, 1, True),
        (False, 0, True),
        (True, "yes", False),
        ("2026-11-22", "2026-11-22T00:00:00Z", True),
        ("2026-11-22T10:00:00+01:00", "2026-11-22T09:00:00Z", True),
        ([1, 2], [1, 2], True),
        ({"a": 1}, {"a": 1}, True),
        (1.5, "1.5", True),
    ],
)
def test_equality_coercions(left, right, expected):
    for op in ("=", "=="):
        assert c.apply_operator(op, left, right) is expected
    assert c.apply_operator("!=", left, right) is (not expected)


@pytest.mark.parametrize(
    "left, op, right, expected",
    [
        (5, ">", 3, True),
        (5, ">", 5, False),
        (5, ">=", 5, True),
        (3, "<", 5, True),
        (5, "<=", 5, True),
        ("10", ">", 9, True),
        (9, "<", "10", True),
        ("10", ">", "9", True),  # numeric text compares as numbers
        ("b", ">", "a", True),
        ("apple", "<", "banana", True),
        ("2026-11-23", ">", "2026-11-22T23:59:59Z", True),
        ("2026-11-22T10:00:00Z", ">=", "2026-11-22", True),
        (datetime(2026, 1, 1, tzinfo=UTC), "<", "2026-06-01", True),
        (None, ">", 1, False),
        (None, "<", 1, False),
        (1, ">", None, False),
        (1, "<=", None, False),
        (5, ">", "abc", False),
        (True, ">", 0, False),
        ([1], ">", 0, False),
        (2.5, ">", 2, True),
    ],
)
def test_ordering_coercions_and_empty_sides(left, op, right, expected):
    assert c.apply_operator(op, left, right) is expected


def test_in_and_not_in():
    assert c.apply_operator("IN", "NL", ["NL", "BE"]) and not c.apply_operator("IN", "DE", ["NL", "BE"])
    assert c.apply_operator("IN", 1, ["1", 2])  # coercion per element
    assert c.apply_operator("IN", ["x", "NL"], ["NL"])  # a list field: any element
    assert not c.apply_operator("IN", "NL", "NL,BE")  # only lists at run time …
    assert holds(cond("country", "IN", "NL, BE"), {"country": "BE"})  # … text is split at compile time
    assert c.apply_operator("NOT_IN", "DE", ["NL"]) and c.apply_operator("NOT_IN", None, ["NL"])
    assert not c.apply_operator("IN", None, ["NL"]) and c.apply_operator("IN", None, [None])


def test_contains_starts_ends():
    assert c.apply_operator("CONTAINS", ["a", "b"], "b") and c.apply_operator("CONTAINS", [1, 2], "2")
    assert c.apply_operator("CONTAINS", "fragile glass", "glass") and not c.apply_operator("CONTAINS", "Glass", "glass")
    assert c.apply_operator("CONTAINS", {"hazmat": True}, "hazmat") and not c.apply_operator("CONTAINS", 12, 1)
    assert not c.apply_operator("CONTAINS", None, "x") and c.apply_operator("NOT_CONTAINS", None, "x")
    assert c.apply_operator("NOT_CONTAINS", ["a"], "b") and not c.apply_operator("NOT_CONTAINS", "abc", "b")
    assert c.apply_operator("STARTS_WITH", "S-000001", "S-") and c.apply_operator("STARTS_WITH", 12345, "12")
    assert c.apply_operator("ENDS_WITH", "parcel.pdf", ".pdf") and c.apply_operator("ENDS_WITH", 2.0, "2")
    assert not c.apply_operator("STARTS_WITH", None, "S") and not c.apply_operator("ENDS_WITH", "x", None)
    assert c.apply_operator("STARTS_WITH", True, "tr")  # booleans as JSON text


def test_is_empty_and_is_not_empty():
    for empty in (None, "", "   ", [], {}):
        assert c.apply_operator("IS_EMPTY", empty, None) and not c.apply_operator("IS_NOT_EMPTY", empty, None)
    for full in (0, False, "x", [0], {"a": None}):
        assert c.apply_operator("IS_NOT_EMPTY", full, None) and not c.apply_operator("IS_EMPTY", full, None)
    assert holds({"field": "missing.deep", "operator": "IS_EMPTY"}, {})  # a missing field is empty


def test_matches_uses_search_and_guards_input():
    assert holds(cond("sku", "MATCHES", r"^MUG-[A-Z]+$"), {"sku": "MUG-BLUE"})
    assert holds(cond("note", "MATCHES", "glass"), {"note": "fragile glass inside"})
    assert not holds(cond("sku", "MATCHES", r"^\d+$"), {"sku": None})
    assert not holds(cond("note", "MATCHES", "a"), {"note": "a" * (c.MAX_MATCH_INPUT + 1)})  # too long: no match
    assert holds(cond("n", "MATCHES", r"^\d{3}$"), {"n": 123})  # numbers as text


@pytest.mark.parametrize(
    "pattern, reason",
    [
        (r"(a)\1", "back-references"),
        (r"(?P<x>a)(?P=x)", "back-references"),
        (r"(?=a)b", "lookaround"),
        (r"(?<!a)b", "lookaround"),
        ("x" * (c.MAX_PATTERN + 1), "at most"),
        ("([a-z]", "not a valid regular expression"),
        ("a{1001}", "not a valid regular expression"),
        ("\ud800", "Unicode"),
        ("", "non-empty"),
    ],
)
def test_matches_refuses_what_re2_cannot_run_at_save_time(pattern, reason):
    path, message = refused(EXPRESSION, {"operator": "AND", "rules": [cond("sku", "MATCHES", pattern)]})
    assert path == ["rules", 0, "value"] and reason in message


@pytest.mark.parametrize("pattern", ["(a+)+$", r"^(\w+\s?)*$", "(a|aa)*c", "(a|a)+y", "(a{1,3})*b$"])
def test_catastrophic_patterns_run_in_linear_time(pattern):
    """Each of these takes a backtracking engine (Python's ``re``) exponential time on this
    input; RE2 answers at once, and correctly: none of them matches."""
    c.safe_pattern(pattern)
    started = time.perf_counter()
    assert not holds(cond("code", "MATCHES", pattern), {"code": "a" * 50 + "!"})
    assert not c.matches("a" * c.MAX_MATCH_INPUT, pattern + "z")
    assert time.perf_counter() - started < 0.5


def test_matches_safe_patterns_pass_and_runtime_patterns_are_checked_too():
    for ok in (r"^(SKU|PRD)-\d+$", "(ab|cd)+", r"^\d{4}[A-Z]{2}$", "[a-z]+@[a-z]+", r"(?i)^mug-\p{L}+$"):
        c.safe_pattern(ok)
    data = {"code": "aa", "pattern": r"(a)\1"}
    assert not holds({"field": "code", "operator": "MATCHES", "valueField": "pattern"}, data)  # refused: no match
    assert holds({"field": "code", "operator": "MATCHES", "valueField": "p"}, {"code": "aa", "p": "^a+$"})


def test_matches_survives_text_that_is_not_valid_unicode():
    assert holds(cond("note", "MATCHES", "y$"), {"note": "x\udc00y"})  # a lone surrogate from JSON


# --- paths, values from another field ----------------------------------------------------------


def test_paths_indexes_lengths_and_value_field():
    data = {
        "items": [{"sku": "A", "qty": 2}, {"sku": "B"}],
        "name": "abc",
        "weight": 900,
        "method": {"max_weight": 1000},
        "codes": {"0": "zero"},
    }
    assert holds(cond("items[0].sku", "=", "A"), data) and holds(cond("items.1.sku", "=", "B"), data)
    assert holds(cond("items.length", "=", 2), data) and holds(cond("name.length", ">", 2), data)
    assert holds(cond("items[5].sku", "IS_EMPTY"), data) and holds(cond("codes.0", "=", "zero"), data)
    assert holds({"field": "weight", "operator": "<=", "valueField": "method.max_weight"}, data)
    assert not holds({"field": "weight", "operator": ">", "valueField": "method.max_weight"}, data)
    assert holds({"field": "weight", "operator": "!=", "valueField": "nothing.here"}, data)


def test_only_plain_data_is_walked():
    class Secretive:
        password = "hunter2"

    assert c.resolve({"obj": Secretive()}, ("obj", "password")) is None
    assert c.resolve({"id": uuid.UUID(int=1)}, ("id",)) == str(uuid.UUID(int=1))


@pytest.mark.parametrize(
    "path, message",
    [
        ("a.__proto__.b", "not allowed"),
        ("__class__", "not allowed"),
        ("x.constructor", "not allowed"),
        ("prototype", "not allowed"),
        ("a..b", "not a field name"),
        ("", "non-empty"),
        ("a b", "not a field name"),
        ("x" * 201, "at most 200"),
        ("items[x]", "not a field name"),
    ],
)
def test_bad_field_paths_are_refused_with_the_node_path(path, message):
    where, why = refused(EXPRESSION, {"operator": "OR", "rules": [cond("ok", "=", 1), cond(path, "=", 1)]})
    assert where == ["rules", 1, "field"] and message in why
    if path:  # an empty valueField means "compare with value"
        assert refused(EXPRESSION, {"field": "ok", "operator": "=", "valueField": path})[0] == ["valueField"]


# --- group logic -----------------------------------------------------------------------------------


def test_group_logic():
    t, f = cond("x", "=", 1), cond("x", "=", 2)
    data = {"x": 1}
    assert holds({"operator": "AND", "rules": [t, t]}, data) and not holds({"operator": "AND", "rules": [t, f]}, data)
    assert holds({"operator": "OR", "rules": [f, t]}, data) and not holds({"operator": "OR", "rules": [f, f]}, data)
    assert holds({"operator": "NOT", "rules": [f]}, data) and not holds({"operator": "NOT", "rules": [t]}, data)
    assert holds({"operator": "NOT", "rules": [t, f]}, data)  # NOT negates the AND of its children
    assert not holds({"operator": "NOT", "rules": [t, t]}, data)
    for op in ("AND", "OR", "NOT"):
        assert holds({"operator": op, "rules": []}, data)  # an empty group is true
    assert c.compile_expression(None)(data, env()) is True  # no condition: true
    assert holds(t, data)  # a condition alone at the root
    nested = {"operator": "AND", "rules": [t, {"operator": "OR", "rules": [f, {"operator": "NOT", "rules": [f]}]}]}
    assert holds(nested, data)


def test_trace_records_every_node():
    expr = {"operator": "OR", "rules": [cond("x", "=", 1), cond("y", ">", 5)]}
    e = env()
    e.trace = []
    assert c.compile_expression(expr, trace=True)({"x": 1, "y": 2}, e)
    assert [(n["path"], n["result"]) for n in e.trace] == [("rules.0", True), ("rules.1", False), ("", True)]
    assert e.trace[1]["left"] == 2 and e.trace[1]["right"] == 5


# --- templates ---------------------------------------------------------------------------------------


def test_templates():
    data = {"ship_at": "2026-11-21T08:00:00Z", "owner": "u-1", "tenant": "t-1", "day": "2026-11-22", "org": "o-1"}
    assert holds(cond("ship_at", "<", "{{now}}"), data) and holds(cond("day", "=", "{{today}}"), data)
    assert holds(cond("owner", "=", "{{ user.id }}"), data) and holds(cond("tenant", "=", "{{tenant.id}}"), data)
    assert holds(cond("org", "=", "{{organization.id}}"), data)
    assert not holds(cond("ship_at", ">", "{{now}}"), data)
    assert holds(cond("deadline", "IS_EMPTY"), data)
    later = c.Env(now=NOW + timedelta(days=2))
    assert c.compile_expression(cond("day", "<", "{{today}}"))(data, later)  # evaluated per event, not at save


@pytest.mark.parametrize("template", ["{{yesterday}}", "{{user}}", "{{secret.key}}", "{{user.__class__}}"])
def test_unknown_templates_are_refused(template):
    assert refused(EXPRESSION, cond("x", "=", template))[0] == ["value"]


# --- limits and malformed nodes ----------------------------------------------------------------------


def _nested(depth: int) -> dict:
    node = cond("x", "=", 1)
    for _ in range(depth):
        node = {"operator": "AND", "rules": [node]}
    return node


def test_depth_limit():
    EXPRESSION.validate_python(_nested(c.MAX_DEPTH))
    path, message = refused(EXPRESSION, _nested(c.MAX_DEPTH + 1))
    assert path == ["rules", 0] * c.MAX_DEPTH and "deeper" in message


def test_absurd_nesting_is_refused_before_the_models_recurse():
    path, message = refused(EXPRESSION, _nested(5000))
    assert path == [] and "deeper than 64" in message


def test_children_and_node_limits():
    EXPRESSION.validate_python({"operator": "OR", "rules": [cond("x", "=", i) for i in range(c.MAX_CHILDREN)]})
    path, message = refused(
        EXPRESSION, {"operator": "OR", "rules": [cond("x", "=", i) for i in range(c.MAX_CHILDREN + 1)]}
    )
    assert path == ["rules"] and "at most 50" in message
    wide = {
        "operator": "AND",
        "rules": [{"operator": "OR", "rules": [cond("x", "=", i) for i in range(50)]} for _ in range(25)],
    }
    assert "1000 nodes" in refused(EXPRESSION, wide)[1]


@pytest.mark.parametrize(
    "expr, path, message",
    [
        ([], [], "must be a group"),
        ({"operator": "AND"}, [], "must be a group"),
        ({"operator": "XOR", "rules": []}, ["operator"], "'AND', 'OR' or 'NOT'"),
        ({"operator": "AND", "rules": {}}, ["rules"], "valid list"),
        ({"operator": "AND", "rules": ["x"]}, ["rules", 0], "must be a group"),
        ({"field": "x", "operator": "LIKE", "value": 1}, ["operator"], "'STARTS_WITH'"),
        ({"field": "x", "operator": "="}, [], "value is required"),
        ({"field": "x", "operator": ">", "value": [1]}, ["value"], "number, text or boolean"),
        ({"field": "x", "operator": ">", "value": None}, ["value"], "cannot be null"),
        ({"field": "x", "operator": "IN", "value": {"a": 1}}, ["value"], "must be a list"),
        ({"field": "x", "operator": "IN", "value": [[1]]}, ["value"], "numbers, text, booleans"),
        ({"field": "x", "operator": "MATCHES", "value": "{{now}}"}, ["value"], "literal regular expression"),
    ],
)
def test_malformed_nodes_name_their_path(expr, path, message):
    where, why = refused(EXPRESSION, expr)
    assert where == path and message in why


# --- actions --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "actions, path, message",
    [
        ({}, [], "valid list"),
        (["x"], [0], "must be an object"),
        ([{"type": "EXPLODE"}], [0, "type"], "must be one of"),
        ([{"type": "CALL_WEBHOOK", "config": {"url": "http://10.0.0.1/"}}], [0, "type"], "later phase"),
        ([{"type": "SHOW_ERROR", "config": {}}], [0, "config", "message"], "Field required"),
        ([{"type": "SHOW_ERROR", "config": {"message": "  "}}], [0, "config", "message"], "is required"),
        ([{"type": "SET_FIELD", "config": {"field": "__proto__", "value": 1}}], [0, "config", "field"], "not allowed"),
        ([{"type": "SET_FIELD", "config": {"field": "x"}}], [0, "config", "value"], "Field required"),
        (
            [{"type": "SET_FIELD", "config": {"field": "x", "value": "{{yesterday}}"}}],
            [0, "config", "value"],
            "unknown template",
        ),
        (
            [{"type": "EMIT_EVENT", "config": {"eventName": "no spaces allowed"}}],
            [0, "config", "eventName"],
            "match pattern",
        ),
        ([{"type": "LOG", "config": {"level": "loud"}}], [0, "config", "level"], "'debug', 'info', 'warn' or 'error'"),
    ],
)
def test_action_validation_names_the_node(actions, path, message):
    where, why = refused(ACTIONS, actions)
    assert where == path and message in why


def test_log_levels_are_open_mercatos_and_warning_reads_as_warn():
    """Seed fix: Open Mercato's levels are debug/info/warn/error; ``warning`` is an alias."""
    for level, stored in (("warn", "warn"), ("warning", "warn"), ("debug", "debug"), ("error", "error")):
        action = ACTIONS.validate_python([{"type": "LOG", "config": {"level": level, "message": "m"}}])[0]
        assert action.model_dump(exclude_unset=True) == {"type": "LOG", "config": {"level": stored, "message": "m"}}


def test_actions_outcome_and_interpolation():
    record = {"number": "P1", "weight": 25000, "method": {"name": "PostNL", "max_weight": 23000}}
    out = act.run_actions(
        [
            {
                "type": "SHOW_ERROR",
                "config": {"message": "{{number}}: {{weight}} g > {{method.max_weight}} g ({{method.name}})"},
            },
            {"type": "SHOW_WARNING", "config": {"message": "by {{user.id}} on {{today}}; {{unknown.path}}"}},
            {"type": "SHOW_INFO", "config": {"message": "info"}},
            {"type": "SET_FIELD", "config": {"field": "checked_at", "value": "{{now}}"}},
            {"type": "EMIT_EVENT", "config": {"eventName": "parcel.overweight", "payload": {"n": "{{number}}"}}},
            {"type": "BLOCK_TRANSITION", "config": {"message": "stop"}},
            {"type": "ALLOW_TRANSITION"},
            {"type": "LOG", "config": {"message": "seen {{number}}", "level": "warn"}},
        ],
        record,
        env(),
    )
    assert out.errors == ["P1: 25000 g > 23000 g (PostNL)"]
    assert out.warnings == ["by u-1 on 2026-11-22; {{unknown.path}}"] and out.infos == ["info"]
    assert out.set_fields == [(("checked_at",), "2026-11-22T10:00:00.000Z")]
    assert out.emits == [("parcel.overweight", {"n": "P1"})] and out.blocked and out.block_messages == ["stop"]
    assert out.logs == [("warn", "seen P1")] and all(r["success"] for r in out.results)


# --- the engine (database) ----------------------------------------------------------------------


def make_rule(
    tenant,
    rule_id,
    *,
    entity="lcs.parcel",
    event="labeling",
    rule_type="GUARD",
    priority=100,
    expr=None,
    success=None,
    failure=None,
    enabled=True,
    **extra,
) -> BusinessRule:
    return store.create_rule(
        SYSTEM,
        BusinessRuleCreate(
            tenantId=tenant,
            ruleId=rule_id,
            ruleName=f"Rule {rule_id}",
            ruleType=rule_type,
            entityType=entity,
            eventType=event,
            priority=priority,
            enabled=enabled,
            conditionExpression=expr,
            successActions=success,
            failureActions=failure,
            **extra,
        ),
    )


def run(tenant, data, *, entity="lcs.parcel", event="labeling", dry_run=False):
    rules, skipped = engine.discover(tenant, entity, event)
    return engine.run_rules(rules, data, engine.env_for(None, tenant), dry_run=dry_run, skipped=skipped)


def test_discovery_order_events_and_windows(ctx, tenant):
    make_rule(tenant, "b-low", priority=10)
    make_rule(tenant, "c-high", priority=900)
    make_rule(tenant, "a-high", priority=900)
    make_rule(tenant, "any-event", priority=50, event=None)
    make_rule(tenant, "other-event", event="shipping")
    make_rule(tenant, "other-entity", entity="lcs.list")
    make_rule(tenant, "off", enabled=False)
    make_rule(tenant, "future", effectiveFrom=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    make_rule(tenant, "past", effectiveFrom="2020-01-01T00:00:00Z", effectiveTo="2021-01-01T00:00:00Z")
    make_rule(tenant, "current", priority=1, effectiveFrom="2020-01-01T00:00:00Z", effectiveTo="2999-01-01T00:00:00Z")
    rules, skipped = engine.discover(tenant, "lcs.parcel", "labeling")
    assert [r.rule_id for r in rules] == ["a-high", "c-high", "any-event", "b-low", "current"] and skipped == 0
    assert [r.rule_id for r in engine.discover(tenant, "lcs.parcel", "shipping")[0]] == ["other-event", "any-event"]
    other = engine.discover(uuid.uuid4(), "lcs.parcel", "labeling")[0]
    assert other == []  # another tenant's rules never run


def test_disabled_sets_and_members_hold_their_rules_back(ctx, tenant):
    r1, r2, r3 = (make_rule(tenant, k) for k in ("r1", "r2", "r3"))
    on = store.create_set(SYSTEM, RuleSetCreate(tenantId=tenant, setId="on", setName="On"))
    off = store.create_set(SYSTEM, RuleSetCreate(tenantId=tenant, setId="off", setName="Off", enabled=False))
    store.add_member(SYSTEM, on.id, RuleSetMemberCreate(ruleId=r1.id))
    m2 = store.add_member(SYSTEM, on.id, RuleSetMemberCreate(ruleId=r2.id, enabled=False))
    store.add_member(SYSTEM, off.id, RuleSetMemberCreate(ruleId=r3.id))
    assert [r.rule_id for r in engine.discover(tenant, "lcs.parcel", "labeling")[0]] == ["r1"]
    store.update_member(SYSTEM, on.id, RuleSetMemberUpdate(memberId=m2.id, enabled=True))
    store.update_set(SYSTEM, RuleSetUpdate(id=off.id, enabled=True))
    assert [r.rule_id for r in engine.discover(tenant, "lcs.parcel", "labeling")[0]] == ["r1", "r2", "r3"]
    store.update_set(SYSTEM, RuleSetUpdate(id=on.id, enabled=False))
    assert [r.rule_id for r in engine.discover(tenant, "lcs.parcel", "labeling")[0]] == ["r3"]
    store.delete_set(SYSTEM, on.id)  # a deleted set no longer holds anything back
    assert [r.rule_id for r in engine.discover(tenant, "lcs.parcel", "labeling")[0]] == ["r1", "r2", "r3"]


def test_at_most_100_rules_run(ctx, tenant):
    db.session.add_all(
        [
            BusinessRule(
                tenant_id=tenant,
                rule_id=f"r{i:03d}",
                rule_name="bulk",
                rule_type="ACTION",
                entity_type="lcs.parcel",
                event_type="labeling",
                priority=100,
                version=1,
            )
            for i in range(101)
        ]
    )
    engine.bump(tenant)
    db.session.commit()
    rules, skipped = engine.discover(tenant, "lcs.parcel", "labeling")
    assert len(rules) == 100 and skipped == 1 and rules[-1].rule_id == "r099"
    result = engine.run_rules(rules, {}, engine.env_for(None, tenant), skipped=skipped)
    assert len(result.runs) == 100 and "only the first 100" in result.errors[0]


def test_a_rule_changed_by_another_process_is_applied_on_the_next_run(ctx, tenant):
    make_rule(tenant, "w", expr=cond("weight", "<", 10))
    assert not run(tenant, {"weight": 500}).allowed
    assert not run(tenant, {"weight": 500}).allowed  # again (from the compiled cache, if any)
    # Another worker changes the rule in the database and bumps the stamp (no message to us):
    db.session.execute(
        sa.update(BusinessRule)
        .where(BusinessRule.rule_id == "w")
        .values(condition_expression=cond("weight", "<", 1000))
    )
    db.session.execute(
        sa.update(CacheVersion)
        .where(CacheVersion.name == engine.cache_name(tenant))
        .values(version=CacheVersion.version + 1)
    )
    db.session.commit()
    assert run(tenant, {"weight": 500}).allowed  # the new condition, compiled again


def test_allowed_means_every_guard_passed(ctx, tenant):
    make_rule(tenant, "guard-ok", expr=cond("weight", "<", 1000))
    make_rule(
        tenant,
        "check",
        rule_type="VALIDATION",
        expr=cond("weight", "<", 10),
        failure=[{"type": "SHOW_ERROR", "config": {"message": "light parcels only"}}],
    )
    result = run(tenant, {"weight": 500})
    assert result.allowed and result.messages["errors"] == ["light parcels only"]  # not a GUARD: no block
    make_rule(
        tenant,
        "guard-no",
        expr=cond("weight", "<", 100),
        failure=[{"type": "SHOW_ERROR", "config": {"message": "{{weight}} g is too heavy"}}],
    )
    result = run(tenant, {"weight": 500})
    assert (
        not result.allowed
        and result.blocked_rule_ids == ["guard-no"]
        and result.block_messages == ["500 g is too heavy"]
    )
    assert {r.rule.rule_id: r.result for r in result.runs} == {
        "guard-ok": "SUCCESS",
        "check": "FAILURE",
        "guard-no": "FAILURE",
    }


def test_block_transition_and_errors_block(ctx, tenant):
    make_rule(
        tenant,
        "stop",
        rule_type="ACTION",
        expr=cond("position", "=", "HAZMAT"),
        success=[{"type": "BLOCK_TRANSITION", "config": {"message": "no hazmat on this lane"}}],
    )
    assert run(tenant, {"position": "DOCK-1"}).allowed
    blocked = run(tenant, {"position": "HAZMAT"})
    assert not blocked.allowed and blocked.block_messages == ["no hazmat on this lane"]
    rule = make_rule(tenant, "broken", expr=cond("weight", "=", 1))
    db.session.execute(
        sa.update(BusinessRule).where(BusinessRule.id == rule.id).values(condition_expression={"operator": "BOOM"})
    )
    engine.bump(tenant)
    db.session.commit()
    result = run(tenant, {"position": "DOCK-1"})
    broken = next(r for r in result.runs if r.rule.rule_id == "broken")
    assert broken.result == "ERROR" and "invalid condition" in broken.error and not result.allowed


def test_dry_run_applies_nothing_and_logs_nothing(app, client, tenant, make):
    from tests.support import api_token, bearer

    make.user(tenant, "boss@acme.test", super_admin=True)
    h = bearer(api_token(client, "boss@acme.test"))
    with app.app_context():
        make_rule(
            tenant,
            "stamp",
            rule_type="ACTION",
            success=[{"type": "SET_FIELD", "config": {"field": "checked", "value": True}}],
        )
    body = {"entityType": "lcs.parcel", "eventType": "labeling", "data": {"weight": 1}, "dryRun": True}
    r = client.post("/api/business_rules/execute", json=body, headers=h)
    assert r.status_code == 200 and r.get_json()["data"] == {"weight": 1}
    assert r.get_json()["executedRules"][0]["actions"][0]["field"] == "checked"  # reported, not applied
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(RuleExecutionLog.id))) == 0
    r = client.post("/api/business_rules/execute", json={**body, "dryRun": False}, headers=h)
    assert r.get_json()["data"] == {"weight": 1, "checked": True}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(RuleExecutionLog.id))) == 1


def test_logs_redact_secrets(ctx, tenant):
    make_rule(tenant, "r", expr=cond("weight", ">", 0))
    data = {
        "weight": 5,
        "password": "hunter2",
        "api_key": "k",
        "nested": {"accessToken": "t", "client_secret": "s", "list": [{"Authorization": "Bearer x", "ok": 1}]},
        "note": "fine",
    }
    result = run(tenant, data)
    rows = engine.log_rows(
        result, tenant_id=tenant, entity_type="lcs.parcel", entity_id="p1", event_type="labeling", record=data
    )
    engine.write_logs(rows)
    db.session.commit()
    entry = db.session.scalars(Scope(tenant).select(RuleExecutionLog)).one()
    logged = entry.input_context["data"]
    assert logged["password"] == logged["api_key"] == "[REDACTED]" and logged["note"] == "fine"
    assert logged["nested"]["accessToken"] == logged["nested"]["client_secret"] == "[REDACTED]"
    assert logged["nested"]["list"][0] == {"Authorization": "[REDACTED]", "ok": 1}
    assert entry.execution_result == "SUCCESS" and entry.entity_id == "p1" and entry.execution_time_ms >= 0
    assert "hunter2" not in str(entry.input_context) + str(entry.output_context)


def test_the_model_refuses_a_malformed_rule_at_the_node(ctx, tenant):
    """Services take the declared models only: a script's malformed rule fails when the model
    is built (at the offending node), before any service or the database sees it."""
    with pytest.raises(ValidationError) as e:
        make_rule(
            tenant, "bad", expr={"operator": "AND", "rules": [cond("ok", "=", 1), {"field": "x", "operator": "~"}]}
        )
    assert [err["loc"] for err in e.value.errors()] == [("conditionExpression", "rules", 1, "operator")]
    with pytest.raises(ValidationError) as e:
        make_rule(tenant, "bad2", failure=[{"type": "SHOW_ERROR"}])
    assert e.value.errors()[0]["loc"] == ("failureActions", 0, "config")
    assert db.session.scalar(sa.select(sa.func.count(BusinessRule.id))) == 0


def test_version_counts_changes_and_audit_rows_are_written(ctx, tenant):
    from models import AuditLog

    rule = make_rule(tenant, "v", expr=cond("weight", "=", 1))
    assert rule.version == 1
    store.update_rule(SYSTEM, BusinessRuleUpdate(id=rule.id, priority=7))
    store.update_rule(SYSTEM, BusinessRuleUpdate(id=rule.id, priority=7))  # no change, no new version
    store.update_rule(SYSTEM, BusinessRuleUpdate(id=rule.id, enabled=False))  # the list's switch
    assert store.get_rule(SYSTEM, rule.id).version == 3
    store.delete_rule(SYSTEM, rule.id)
    actions = [
        a.action_type
        for a in db.session.scalars(
            sa.select(AuditLog).where(AuditLog.resource_kind == "business_rule").order_by(AuditLog.created_at)
        )
    ]
    assert actions == ["create", "edit", "edit", "delete"]


# --- the listener: rules on the logistics events -------------------------------------------------


@pytest.fixture()
def admin_actor(app, make, tenant):
    from models import User

    uid = make.member(tenant, "rules-admin@acme.test", "Administrator")

    def actor():
        return Actor.of(db.session.get(User, uid))

    return actor


def test_set_field_on_creating_changes_the_stored_shipment(ctx, tenant, admin_actor):
    from services.logistics import shipments

    make_rule(
        tenant,
        "channel",
        entity="lcs.shipment",
        event="creating",
        rule_type="ASSIGNMENT",
        expr=cond("order_id", "STARTS_WITH", "WEB-"),
        success=[
            {"type": "SET_FIELD", "config": {"field": "channel_id", "value": "webshop"}},
            {"type": "SET_FIELD", "config": {"field": "ship_at", "value": "2026-12-01T09:00:00Z"}},
            {"type": "SHOW_INFO", "config": {"message": "channel set for {{order_id}}"}},
        ],
    )
    s = shipments.create_shipment(
        admin_actor(), LcsShipmentModel(order_id="WEB-1", items=[LcsShipmentItemModel(sku="A")])
    )
    stored = db.session.get(Shipment, s.id)
    assert stored.channel_id == "webshop" and stored.ship_at.replace(tzinfo=UTC) == datetime(2026, 12, 1, 9, tzinfo=UTC)
    other = shipments.create_shipment(
        admin_actor(), LcsShipmentModel(order_id="POS-1", items=[LcsShipmentItemModel(sku="A")])
    )
    assert db.session.get(Shipment, other.id).channel_id is None
    logs = db.session.scalars(Scope(tenant).select(RuleExecutionLog).order_by(RuleExecutionLog.executed_at)).all()
    assert [entry.execution_result for entry in logs] == ["SUCCESS", "FAILURE"]


def test_before_listener_blocks_and_after_listener_never_does(ctx, tenant, admin_actor):
    make_rule(
        tenant,
        "no-collect",
        entity="lcs.shipment",
        event="creating",
        expr=cond("type", "!=", "collect"),
        failure=[{"type": "SHOW_ERROR", "config": {"message": "collect shipments are paused"}}],
    )
    make_rule(
        tenant,
        "after",
        entity="lcs.shipment",
        event="created",
        expr=cond("number", "=", "nope"),
        failure=[{"type": "SHOW_WARNING", "config": {"message": "{{number}} created"}}],
    )

    @command()
    def create_collect_shipment():  # "before" events belong to an operation, which the refusal rolls back
        events.before("lcs.shipment", "creating", {"type": "collect", "items": []}, {"actor": admin_actor()})

    with pytest.raises(events.Blocked) as e:
        create_collect_shipment()
    assert (
        e.value.status == 422
        and e.value.message == "collect shipments are paused"
        and e.value.rule_ids == ["no-collect"]
    )
    outcome = events.after("lcs.shipment", "created", {"number": "S-9"}, {"actor": admin_actor()})
    assert outcome.warnings == ["S-9 created"]
    assert db.session.scalar(sa.select(sa.func.count(RuleExecutionLog.id))) == 2  # the refusal's log survived


def test_emit_event_reaches_other_listeners_and_rules(ctx, tenant, admin_actor):
    seen = []
    events.subscribe("after", lambda entity, event, data, context: seen.append((entity, event, data)))
    try:
        make_rule(
            tenant,
            "emit",
            entity="lcs.shipment",
            event="created",
            rule_type="ACTION",
            success=[{"type": "EMIT_EVENT", "config": {"eventName": "big_order", "payload": {"n": "{{number}}"}}}],
        )
        make_rule(
            tenant,
            "chained",
            entity="lcs.shipment",
            event="big_order",
            rule_type="ACTION",
            success=[{"type": "SHOW_INFO", "config": {"message": "chained {{n}}"}}],
        )
        events.after("lcs.shipment", "created", {"number": "S-1"}, {"actor": admin_actor()})
    finally:
        events._listeners["after"].pop()
    assert ("lcs.shipment", "big_order", {"n": "S-1"}) in seen
    assert {entry.rule.rule_id for entry in db.session.scalars(Scope(tenant).select(RuleExecutionLog))} == {
        "emit",
        "chained",
    }


def test_shape_gives_rules_the_stored_record(ctx, tenant, admin_actor):
    from schemas.lcs_reference import LcsMethodModel
    from services.logistics import methods, parcels, shipments

    method = methods.create_method(
        SYSTEM, LcsMethodModel(carrier_code="pnl", name="PostNL", max_weight=23000), tenant_id=tenant
    )
    s = shipments.create_shipment(
        admin_actor(), LcsShipmentModel(method_id=method.id, items=[LcsShipmentItemModel(sku="A", quantity=2)])
    )
    p = parcels.create_parcel(admin_actor(), LcsParcelCreateModel(shipment_id=s.id, weight=25000))
    record = listener.shape("lcs.parcel", {"id": str(p.id), "weight": None}, tenant)
    assert (
        record["weight"] == 25000
        and record["method"]["max_weight"] == 23000
        and record["shipment"]["number"] == s.number
    )
    assert listener.shape("lcs.shipment", {"id": str(s.id)}, tenant)["unit_count"] == 2
    assert listener.shape("lcs.parcel", {"id": str(p.id)}, uuid.uuid4()) == {"id": str(p.id)}  # other tenant: nothing
