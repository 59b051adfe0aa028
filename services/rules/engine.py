"""The rule engine: discovery, evaluation, actions and execution logs.

Discovery reads a per-process cache of *compiled* rules per tenant, stamped with the
``business_rules:<tenant>`` version (services.cache_versions) that every rule, set or
member change bumps in its transaction — so every worker recompiles on its next request
and a quiet event costs one memoized stamp read. Rules run ordered ``priority DESC,
ruleId ASC``, at most 100 per event (the rest are skipped and reported). A rule runs when it
is enabled, not deleted, inside its effective window, and in no disabled set (nor disabled
as a member of a set).

``allowed`` is true when every GUARD rule's condition held and no BLOCK_TRANSITION action
ran. A dry run evaluates and reports what the actions would do, applies nothing and writes
no log. Evaluation never raises: a broken rule is an ERROR result (a GUARD in error blocks).
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from pydantic import TypeAdapter, ValidationError

from models import BusinessRule, RuleExecutionLog, RuleSet, RuleSetMember, Scope, db, utcnow
from models.base import aware
from schemas.business_rules import ConditionExpression
from services import cache_versions
from services.rules import actions as act
from services.rules import conditions as cond

log = logging.getLogger("wharf.rules")

MAX_RULES = 100


def cache_name(tenant_id) -> str:
    return f"business_rules:{tenant_id}"


def bump(tenant_id) -> None:
    """Invalidate every process's compiled rules of ``tenant_id`` (commit with the change)."""
    cache_versions.bump(cache_name(tenant_id))


# --- compiled rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class CompiledRule:
    id: uuid.UUID
    rule_id: str
    rule_name: str
    rule_type: str
    entity_type: str
    event_type: str | None
    priority: int
    organization_id: uuid.UUID | None
    effective_from: datetime | None
    effective_to: datetime | None
    expression: object
    evaluate: cond.Evaluator
    success_actions: tuple
    failure_actions: tuple
    compile_error: str | None = None

    def in_window(self, now: datetime) -> bool:
        start, end = aware(self.effective_from), aware(self.effective_to)
        return (start is None or start <= now) and (end is None or now < end)


def _broken(message: str) -> cond.Evaluator:
    def evaluate(data, env):
        raise cond.EvaluationError(message)

    return evaluate


_EXPRESSION = TypeAdapter(ConditionExpression)


def compile_rule(rule: BusinessRule) -> CompiledRule:
    """Compile one stored rule; a rule that no longer validates (the declared shape of a
    condition) compiles to an ERROR."""
    error = None
    try:
        _EXPRESSION.validate_python(rule.condition_expression)
        evaluate = cond.compile_expression(rule.condition_expression)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        error = f"invalid condition: {'.'.join(map(str, first['loc'])) or '(root)'}: {first['msg']}"
        evaluate = _broken(error)
    except (ValueError, TypeError, KeyError) as e:
        error = f"invalid condition: {e}"
        evaluate = _broken(error)
    return CompiledRule(
        id=rule.id,
        rule_id=rule.rule_id,
        rule_name=rule.rule_name,
        rule_type=rule.rule_type,
        entity_type=rule.entity_type,
        event_type=rule.event_type,
        priority=rule.priority,
        organization_id=rule.organization_id,
        effective_from=rule.effective_from,
        effective_to=rule.effective_to,
        expression=rule.condition_expression,
        evaluate=evaluate,
        success_actions=tuple(rule.success_actions or ()),
        failure_actions=tuple(rule.failure_actions or ()),
        compile_error=error,
    )


def order_key(rule) -> tuple:
    return (-rule.priority, rule.rule_id)


@dataclass(frozen=True)
class TenantRules:
    by_entity: dict  # entity type → tuple[CompiledRule] in execution order


# Compiled rules per tenant, valid while the tenant's stamp is unchanged.
cache = cache_versions.VersionedCache(size=2048)


def disabled_by_sets(tenant_id) -> set:
    """Rule ids switched off by a disabled set or a disabled membership."""
    rows = db.session.execute(
        sa.select(RuleSetMember.rule_id)
        .join(RuleSet, RuleSet.id == RuleSetMember.rule_set_id)
        .where(
            RuleSet.tenant_id == tenant_id,
            RuleSet.deleted_at.is_(None),
            sa.or_(RuleSet.enabled.is_(False), RuleSetMember.enabled.is_(False)),
        )
    ).scalars()
    return set(rows)


def tenant_rules(tenant_id) -> TenantRules:
    key = str(tenant_id)
    return cache.get_or_build(key, cache_versions.current(cache_name(tenant_id)), lambda: _compile_tenant(tenant_id))


def _compile_tenant(tenant_id) -> TenantRules:
    off = disabled_by_sets(tenant_id)
    stored = db.session.scalars(Scope(tenant_id).select(BusinessRule).where(BusinessRule.enabled.is_(True))).all()
    by_entity: dict[str, list] = {}
    for rule in stored:
        if rule.id not in off:
            by_entity.setdefault(rule.entity_type, []).append(compile_rule(rule))
    return TenantRules({k: tuple(sorted(v, key=order_key)) for k, v in by_entity.items()})


def discover(tenant_id, entity_type: str, event_type: str | None, now: datetime | None = None) -> tuple[list, int]:
    """(rules to run in order, how many more matched beyond the limit of 100)."""
    now = now or utcnow()
    found = [
        r
        for r in tenant_rules(tenant_id).by_entity.get(entity_type, ())
        if (event_type is None or r.event_type is None or r.event_type == event_type) and r.in_window(now)
    ]
    return found[:MAX_RULES], max(0, len(found) - MAX_RULES)


# --- running ----------------------------------------------------------------------------------


@dataclass
class RuleRun:
    rule: CompiledRule
    condition_result: bool
    execution_time: float  # ms
    error: str | None = None
    outcome: act.ActionOutcome | None = None
    trace: list | None = None

    @property
    def result(self) -> str:
        return "ERROR" if self.error else ("SUCCESS" if self.condition_result else "FAILURE")

    @property
    def blocks(self) -> bool:
        failed_guard = self.rule.rule_type == "GUARD" and not self.condition_result
        return failed_guard or bool(self.outcome and self.outcome.blocked)


@dataclass
class Execution:
    allowed: bool
    runs: list[RuleRun]
    total_time: float  # ms
    skipped: int = 0
    errors: list[str] = field(default_factory=list)  # engine-level problems
    messages: dict = field(default_factory=lambda: {"errors": [], "warnings": [], "infos": []})
    block_messages: list[str] = field(default_factory=list)
    blocked_rule_ids: list[str] = field(default_factory=list)
    set_fields: list[tuple] = field(default_factory=list)
    emits: list[tuple] = field(default_factory=list)


def run_rules(
    rules,
    record,
    env: cond.Env,
    *,
    dry_run: bool = False,
    apply_fields: bool = True,
    trace: bool = False,
    skipped: int = 0,
) -> Execution:
    """Evaluate ``rules`` in order on ``record`` (mutated by SET_FIELD unless ``dry_run`` or
    not ``apply_fields``) — pure Python, no database."""
    started = time.perf_counter()
    runs: list[RuleRun] = []
    for rule in rules:
        t0 = time.perf_counter()
        error, result, steps = None, False, None
        try:
            if trace:
                steps = []
                env.trace = steps
                evaluator = (
                    cond.compile_expression(rule.expression, trace=True) if not rule.compile_error else rule.evaluate
                )
                result = bool(evaluator(record, env))
            else:
                result = bool(rule.evaluate(record, env))
        except cond.EvaluationError as e:
            error = str(e)
        except Exception as e:  # never let one rule break the operation
            log.exception("rule %s failed to evaluate", rule.rule_id)
            error = f"evaluation failed: {type(e).__name__}"
        finally:
            env.trace = None
        outcome = None
        if error is None:
            outcome = act.run_actions(rule.success_actions if result else rule.failure_actions, record, env)
            if outcome.set_fields and not dry_run and apply_fields:
                for keys, value in outcome.set_fields:
                    cond.set_path(record, keys, value)
        runs.append(RuleRun(rule, result, round((time.perf_counter() - t0) * 1000, 3), error, outcome, steps))
    execution = Execution(allowed=True, runs=runs, total_time=0.0, skipped=skipped)
    if skipped:
        execution.errors.append(f"{skipped} more rule(s) matched; only the first {MAX_RULES} ran")
    for run in runs:
        o = run.outcome
        if run.blocks:
            execution.allowed = False
            execution.blocked_rule_ids.append(run.rule.rule_id)
            own = (o.errors + o.block_messages) if o else []
            execution.block_messages.extend(
                own or [f"Blocked by rule {run.rule.rule_name}" + (f" ({run.error})" if run.error else "")]
            )
        elif o:
            execution.messages["errors"].extend(o.errors)
        if o:
            execution.messages["warnings"].extend(o.warnings)
            execution.messages["infos"].extend(o.infos)
            execution.set_fields.extend(o.set_fields)
            execution.emits.extend(o.emits)
            if not dry_run:
                for level, message in o.logs:
                    log.log(logging.getLevelName(level.upper()), "rule %s: %s", run.rule.rule_id, message)
    execution.total_time = round((time.perf_counter() - started) * 1000, 3)
    return execution


# --- logs ---------------------------------------------------------------------------------------

SENSITIVE = re.compile(
    r"pass(word|wd)?|pwd|secret|token|api[_-]?key|authorization|credential|cookie|session|"
    r"cvv|card[_-]?number|iban|ssn",
    re.IGNORECASE,
)
MAX_LOG_DEPTH = 6
MAX_CONTEXT_CHARS = 64_000


def redact(value, depth: int = 0):
    """A JSON-safe copy with secret-looking keys replaced by ``[REDACTED]``."""
    if depth > MAX_LOG_DEPTH:
        return "[max depth]"
    if isinstance(value, dict):
        return {str(k): ("[REDACTED]" if SENSITIVE.search(str(k)) else redact(v, depth + 1)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, depth + 1) for v in value[:200]]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return cond.as_text(value)


def _bounded(context: dict) -> dict:
    import json

    text = json.dumps(context, default=str)
    if len(text) <= MAX_CONTEXT_CHARS:
        return context
    data = context.get("data")
    return {
        **{k: v for k, v in context.items() if k != "data"},
        "data": {"truncated": True, "keys": sorted(data)[:100] if isinstance(data, dict) else None},
    }


def log_rows(
    execution: Execution,
    *,
    tenant_id,
    entity_type: str,
    entity_id,
    event_type,
    record,
    user_id=None,
    organization_id=None,
) -> list[dict]:
    """Rows for ``business_rule_logs`` (one per rule run), redacted and size-bounded."""
    now = utcnow()
    input_context = _bounded(
        {"data": redact(record), "eventType": event_type, "user": {"id": str(user_id)} if user_id else None}
    )  # the same for every rule
    rows = []
    for run in execution.runs:
        o = run.outcome
        output = {
            "conditionResult": run.condition_result,
            "actionsExecuted": [
                {"type": r["type"], "success": r["success"], "error": r.get("error")} for r in (o.results if o else [])
            ],
        }
        if o and (o.errors or o.warnings or o.infos):
            output["messages"] = {"errors": o.errors, "warnings": o.warnings, "infos": o.infos}
        rows.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": uuid.UUID(str(tenant_id)),
                "organization_id": organization_id or run.rule.organization_id,
                "rule_id": run.rule.id,
                "entity_type": entity_type[:50],
                "entity_id": str(entity_id)[:64] if entity_id not in (None, "") else None,
                "event_type": (event_type or None) and event_type[:50],
                "execution_result": run.result,
                "input_context": input_context,
                "output_context": redact(output),
                "error_message": (run.error or None) and run.error[:2000],
                "execution_time_ms": run.execution_time,
                "executed_at": now,
                "executed_by": str(user_id)[:64] if user_id else None,
            }
        )
    return rows


def write_logs(rows: list[dict]) -> None:
    """Stage the rows in the current transaction (one multi-row INSERT)."""
    if rows:
        db.session.execute(sa.insert(RuleExecutionLog), rows)


# --- convenience --------------------------------------------------------------------------------


def env_for(principal, tenant_id, now: datetime | None = None) -> cond.Env:
    """The template environment for an acting principal (user or API key) in a tenant."""
    user = {}
    org_id = None
    if principal is not None:
        user = {
            "id": str(principal.id),
            "email": getattr(principal, "email", None),
            "name": getattr(principal, "name", None),
            "type": "api_key" if getattr(principal, "is_api_key", False) else "user",
        }
        org_id = getattr(principal, "organization_id", None)
    return cond.Env(
        now=now or utcnow(),
        user=user,
        tenant={"id": str(tenant_id) if tenant_id else None},
        organization={"id": str(org_id) if org_id else None},
    )


def run_summary(run: RuleRun) -> dict:
    """``executedRules[]`` of the execute endpoint (plus what Wharf adds: type, error, actions)."""
    o = run.outcome
    out = {
        "ruleId": run.rule.rule_id,
        "ruleName": run.rule.rule_name,
        "conditionResult": run.condition_result,
        "executionTime": run.execution_time,
        "id": run.rule.id,
        "ruleType": run.rule.rule_type,
        "executionResult": run.result,
        "error": run.error,
        "actions": o.results if o else [],
    }
    if run.trace is not None:
        out["conditions"] = run.trace
    return out
