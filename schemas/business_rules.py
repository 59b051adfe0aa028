"""Business rules (seed 000 ``/business_rules``, lines 2642–3520): rules, rule sets and their
members, execution logs, execution, and Wharf's editor helpers (field suggestions, "try it").

The seed has no schema names; models are named after its objects. The condition language
and the actions are declared here too (spec/business-rules.md): a condition expression is a
recursive model of groups (AND/OR/NOT) over conditions, bounded in depth and size, so the
OpenAPI document says what is accepted and a malformed one is a 400 naming the bad node.
The engine checks stored rules against the same models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import orjson
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from schemas.base import Id, Model, PageQuery, UtcDatetime, omissible, text
from services.rules import actions as act
from services.rules import conditions as cond

RuleType = Literal["GUARD", "VALIDATION", "CALCULATION", "ACTION", "ASSIGNMENT"]
ExecutionResult = Literal["SUCCESS", "FAILURE", "ERROR"]
MAX_JSON_DEPTH = 64  # records, payloads and values: deeper JSON could not be answered back
MAX_INT = 2**31 - 1
EXAMPLE_ID = "00000000-0000-4000-8000-000000000000"


# --- field types ------------------------------------------------------------------------------


def _refused(loc: tuple, message: str, value) -> ValidationError:
    """A validation error at ``loc`` below the value being validated (pydantic prefixes the
    outer path), for checks that look deeper than one field."""
    return ValidationError.from_exception_data(
        "BusinessRule", [{"type": PydanticCustomError("invalid", message), "loc": loc, "input": value}]
    )


def _blank(value):
    """An empty text (what an empty form input sends) is "none"."""
    return None if isinstance(value, str) and not value.strip() else value


def _depth(value) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _json(value):
    """A JSON value, or its text (HTML forms send the builders' JSON as text); at most
    ``MAX_JSON_DEPTH`` levels deep."""
    value = _blank(value)
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ValueError("must be valid JSON") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def _field_path(value: str) -> str:
    cond.parse_path(value)
    return value


JsonObject = Annotated[dict[str, Any], BeforeValidator(_json)]
Key = Annotated[
    str,
    Field(
        min_length=1,
        max_length=50,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
        description="Letters, digits and _ . : - (starting with a letter or digit)",
    ),
]
EntityName = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z][A-Za-z0-9_.:-]*$")]
EventName = Annotated[EntityName | None, BeforeValidator(_blank)]
FieldPath = Annotated[str, Field(max_length=cond.MAX_PATH), AfterValidator(_field_path)]
OptionalText = Annotated[text(5000) | None, BeforeValidator(_blank)]
Category = Annotated[text(50) | None, BeforeValidator(_blank)]


# --- the condition language -------------------------------------------------------------------


class Condition(Model):
    """A comparison of a record's field with ``value`` (which may be a template such as
    ``{{now}}``), or with another field (``valueField``)."""

    field: FieldPath = Field(description="Dotted path with [n] indexes, e.g. items[0].sku or items.length")
    operator: Literal[cond.OPERATORS]
    value: Any = Field(None, description="Any JSON value; IN/NOT_IN take a list (or comma-separated text)")
    valueField: Annotated[FieldPath | None, BeforeValidator(_blank)] = Field(
        None, description="Compare with this field of the record instead of value"
    )

    @field_validator("value")
    @classmethod
    def _means_something_to_the_operator(cls, value, info):
        if "operator" in info.data:
            cond.check_value(value, info.data["operator"])
        return value

    @model_validator(mode="after")
    def _compared_with_something(self):
        if self.operator not in cond.UNARY and not self.valueField and "value" not in self.model_fields_set:
            raise ValueError("value is required (or give valueField)")
        return self


class ConditionGroup(Model):
    """AND, OR or NOT (the negated AND) of its rules; an empty group is true."""

    operator: Literal[cond.GROUP_OPERATORS]
    rules: list[ConditionNode] = Field(max_length=cond.MAX_CHILDREN)


def _node(value, handler):
    """A group when it has ``rules``, else a condition (errors name the node's own fields)."""
    if isinstance(value, (ConditionGroup, Condition)):
        return value
    if not isinstance(value, dict) or not ("rules" in value or "field" in value):
        raise ValueError("must be a group {operator, rules} or a condition {field, operator, value}")
    return (ConditionGroup if "rules" in value else Condition).model_validate(value)


ConditionNode = Annotated[ConditionGroup | Condition, WrapValidator(_node)]
ConditionGroup.model_rebuild()


def _bounded(value):
    """Limits checked before the recursive models run: groups nest at most ``MAX_DEPTH``
    levels, an expression has at most ``MAX_NODES`` nodes."""
    value = _json(value)
    nodes, stack = 0, [(value, (), 1)]
    while stack:
        node, path, depth = stack.pop()
        nodes += 1
        if nodes > cond.MAX_NODES:
            raise _refused((), f"the expression has more than {cond.MAX_NODES} nodes", value)
        if isinstance(node, dict) and isinstance(node.get("rules"), list):
            if depth > cond.MAX_DEPTH:
                raise _refused(path, f"groups nest deeper than {cond.MAX_DEPTH} levels", node)
            stack.extend((child, path + ("rules", i), depth + 1) for i, child in enumerate(node["rules"]))
    return value


ConditionExpression = Annotated[ConditionNode | None, BeforeValidator(_bounded)]
"""A group or a single condition; null is true."""


# --- actions ----------------------------------------------------------------------------------


def _seed_level(value):
    return "warn" if value == "warning" else value


def _known_template(value):
    name = cond.template_name(value)
    if name is not None:
        cond.template_resolver(name)
    return value


class MessageConfig(Model):
    message: text(act.MAX_MESSAGE) | None = Field(None, description="May interpolate {{field.path}} of the record")


class RequiredMessageConfig(Model):
    message: text(act.MAX_MESSAGE, 1) = Field(description="May interpolate {{field.path}} of the record")


class LogConfig(MessageConfig):
    level: Annotated[Literal[act.LOG_LEVELS], BeforeValidator(_seed_level)] = Field(
        "info", description="warning is read as warn"
    )


class SetFieldConfig(Model):
    field: FieldPath
    value: Annotated[Any, AfterValidator(_known_template)] = Field(
        description="null clears the field; may be a template"
    )


class EmitEventConfig(Model):
    eventName: str = Field(
        pattern=act.EVENT_NAME,
        validation_alias=AliasChoices("eventName", "event"),
        description="e.g. lcs.parcel.overweight",
    )
    payload: JsonObject | None = None


class TransitionAction(Model):
    """BLOCK_TRANSITION refuses the operation like a failed GUARD; ALLOW_TRANSITION is recorded."""

    type: Literal["ALLOW_TRANSITION", "BLOCK_TRANSITION"]
    config: MessageConfig | None = None


class LogAction(Model):
    type: Literal["LOG"]
    config: LogConfig | None = None


class MessageAction(Model):
    """A message for the person who acted."""

    type: Literal["SHOW_ERROR", "SHOW_WARNING", "SHOW_INFO"]
    config: RequiredMessageConfig


class SetFieldAction(Model):
    """Sets a field of the record (stored on a "before" event)."""

    type: Literal["SET_FIELD"]
    config: SetFieldConfig


class EmitEventAction(Model):
    type: Literal["EMIT_EVENT"]
    config: EmitEventConfig


_ACTIONS = {
    kind: model
    for model in (TransitionAction, LogAction, MessageAction, SetFieldAction, EmitEventAction)
    for kind in get_args(model.model_fields["type"].annotation)
}


def _action(value, handler):
    """The model of the action's ``type`` (errors name the action's own fields)."""
    if isinstance(value, BaseModel):
        return value
    if not isinstance(value, dict):
        raise ValueError("must be an object {type, config}")
    kind = value.get("type")
    if kind in act.LATER:
        raise _refused(("type",), f"{kind} is not available yet (a later phase)", kind)
    if kind not in _ACTIONS:
        raise _refused(("type",), f"must be one of {', '.join(act.ACTION_TYPES)}", kind)
    return _ACTIONS[kind].model_validate(value)


RuleAction = Annotated[
    TransitionAction | LogAction | MessageAction | SetFieldAction | EmitEventAction, WrapValidator(_action)
]


def _actions(value):
    """A JSON list of actions, or its text: a form's field arrives as a list of one text."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str) and value[0].lstrip()[:1] == "[":
        value = value[0]
    return _json(value)


RuleActions = Annotated[
    Annotated[list[RuleAction], Field(max_length=act.MAX_ACTIONS)] | None, BeforeValidator(_actions)
]


# --- rules ------------------------------------------------------------------------------------


class BusinessRuleListQuery(PageQuery):
    pageSize: int = Field(50, ge=1, le=100, description="Items per page")
    id: Id | None = None
    ruleId: text(50) = Field("", description="Part of the business key (case-insensitive)")
    ruleType: RuleType | None = None
    entityType: text(50) = ""
    eventType: text(50) = ""
    enabled: bool | None = None
    ruleCategory: text(50) = ""
    sortField: (
        Literal[
            "ruleId", "ruleName", "ruleType", "entityType", "eventType", "priority", "enabled", "createdAt", "updatedAt"
        ]
        | None
    ) = Field(None, description="Default: priority (desc), then ruleId")


class BusinessRuleListItem(Model):
    id: Id
    ruleId: str
    ruleName: str
    description: str | None
    ruleType: RuleType
    ruleCategory: str | None
    entityType: str
    eventType: str | None
    enabled: bool
    priority: int
    version: int
    effectiveFrom: datetime | None
    effectiveTo: datetime | None
    tenantId: Id
    organizationId: Id | None
    createdAt: datetime
    updatedAt: datetime


class BusinessRuleDetail(BusinessRuleListItem):
    """One rule with its condition (Wharf adds ``conditionExpression``) and actions."""

    conditionExpression: ConditionExpression
    successActions: RuleActions
    failureActions: RuleActions
    createdBy: str | None
    updatedBy: str | None


class BusinessRuleCreate(Model):
    """Body of ``POST /business_rules/rules``."""

    ruleId: Key
    ruleName: text(200, 1)
    description: OptionalText = None
    ruleType: RuleType
    ruleCategory: Category = None
    entityType: EntityName = Field(description="e.g. lcs.parcel")
    eventType: EventName = Field(None, description="e.g. labeling; null = every event of the entity")
    enabled: bool = True
    priority: int = Field(100, ge=0, le=9999, description="Higher runs first")
    version: int | None = Field(None, ge=1, le=MAX_INT, description="Accepted; the server counts versions")
    effectiveFrom: UtcDatetime | None = None
    effectiveTo: UtcDatetime | None = Field(None, description="Later than effectiveFrom")
    tenantId: Id | None = Field(None, description="Super admins only; default: the caller's tenant")
    organizationId: Id | None = None
    conditionExpression: ConditionExpression = None
    successActions: RuleActions = Field(None, description="Run when the condition holds")
    failureActions: RuleActions = Field(None, description="Run when it does not")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ruleId": "string",
                    "ruleName": "string",
                    "description": None,
                    "ruleType": "GUARD",
                    "ruleCategory": None,
                    "entityType": "string",
                    "eventType": None,
                    "enabled": True,
                    "priority": 100,
                    "version": 1,
                    "effectiveFrom": None,
                    "effectiveTo": None,
                    "tenantId": EXAMPLE_ID,
                    "organizationId": EXAMPLE_ID,
                    "createdBy": None,
                    "conditionExpression": None,
                    "successActions": None,
                    "failureActions": None,
                }
            ]
        }
    )


class BusinessRuleUpdate(Model):
    """Body of ``PUT /business_rules/rules``: ``id`` and the fields that change."""

    id: Id
    ruleId: Key = omissible()
    ruleName: text(200, 1) = omissible()
    description: OptionalText = None
    ruleType: RuleType = omissible()
    ruleCategory: Category = None
    entityType: EntityName = omissible()
    eventType: EventName = None
    enabled: bool = omissible()
    priority: int = omissible(ge=0, le=9999)
    version: int | None = Field(None, ge=1, le=MAX_INT, description="Accepted; the server counts versions")
    effectiveFrom: UtcDatetime | None = None
    effectiveTo: UtcDatetime | None = None
    organizationId: Id | None = None
    conditionExpression: ConditionExpression = None
    successActions: RuleActions = None
    failureActions: RuleActions = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "description": None,
                    "ruleCategory": None,
                    "eventType": None,
                    "enabled": True,
                    "priority": 100,
                    "version": 1,
                    "effectiveFrom": None,
                    "effectiveTo": None,
                    "conditionExpression": None,
                    "successActions": None,
                    "failureActions": None,
                    "id": EXAMPLE_ID,
                }
            ]
        }
    )


class BusinessRuleDeleteQuery(Model):
    id: Id = Field(description="Business rule identifier")


class ExamplesCreated(Model):
    created: int = Field(description="How many of the example rules were missing and are created now")


# --- sets and members -------------------------------------------------------------------------


class RuleSetListQuery(PageQuery):
    pageSize: int = Field(50, ge=1, le=100, description="Items per page")
    id: Id | None = None
    setId: text(50) = Field("", description="Part of the business key (case-insensitive)")
    enabled: bool | None = None
    sortField: Literal["setId", "setName", "enabled", "createdAt", "updatedAt"] | None = None


class RuleSetListItem(Model):
    id: Id
    setId: str
    setName: str
    description: str | None
    enabled: bool
    tenantId: Id
    organizationId: Id | None
    createdBy: str | None
    updatedBy: str | None
    createdAt: datetime
    updatedAt: datetime


class RuleSetMemberItem(Model):
    """A member: ``ruleId`` is the rule's database id; Wharf adds its key and state."""

    id: Id
    ruleId: Id
    ruleName: str
    ruleType: str
    sequence: int
    enabled: bool
    ruleKey: str
    ruleEnabled: bool


class RuleSetDetail(RuleSetListItem):
    members: list[RuleSetMemberItem] = Field(description="In sequence order")


class RuleSetCreate(Model):
    """Body of ``POST /business_rules/sets``."""

    setId: Key
    setName: text(200, 1)
    description: OptionalText = None
    enabled: bool = Field(True, description="A disabled set disables its rules")
    tenantId: Id | None = Field(None, description="Super admins only; default: the caller's tenant")
    organizationId: Id | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "setId": "string",
                    "setName": "string",
                    "description": None,
                    "enabled": True,
                    "tenantId": EXAMPLE_ID,
                    "organizationId": EXAMPLE_ID,
                    "createdBy": None,
                }
            ]
        }
    )


class RuleSetUpdate(Model):
    """Body of ``PUT /business_rules/sets``: ``id`` and the fields that change."""

    id: Id
    setId: Key = omissible()
    setName: text(200, 1) = omissible()
    description: OptionalText = None
    enabled: bool = omissible()

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"description": None, "enabled": True, "id": EXAMPLE_ID}]}
    )


class RuleSetDeleteQuery(Model):
    id: Id = Field(description="Rule set identifier")


class RuleSetMemberCreate(Model):
    ruleId: Id = Field(description="The rule's database id")
    sequence: int | None = Field(None, ge=0, le=1_000_000, description="Default: after the last member")
    enabled: bool = True

    model_config = ConfigDict(json_schema_extra={"examples": [{"ruleId": EXAMPLE_ID, "sequence": 0, "enabled": True}]})


class RuleSetMemberUpdate(Model):
    memberId: Id
    sequence: int = omissible(ge=0, le=1_000_000)
    enabled: bool = omissible(description="A disabled member does not run while the set applies")
    move: Literal["up", "down"] | None = Field(None, description="Wharf: move one place (renumbers the members)")

    model_config = ConfigDict(json_schema_extra={"examples": [{"memberId": EXAMPLE_ID}]})


class RuleSetMemberDeleteQuery(Model):
    memberId: Id = Field(description="Member identifier")


# --- execution logs ---------------------------------------------------------------------------


class RuleExecutionLogListQuery(PageQuery):
    pageSize: int = Field(50, ge=1, le=100, description="Items per page")
    id: Id | None = None
    ruleId: Id | None = Field(None, description="The rule's database id")
    entityId: text(64) = ""
    entityType: text(50) = ""
    executionResult: ExecutionResult | None = None
    executedBy: text(64) = ""
    executedAtFrom: UtcDatetime | None = None
    executedAtTo: UtcDatetime | None = None
    sortField: Literal["id", "ruleId", "entityType", "executionResult", "executionTimeMs", "executedAt"] | None = Field(
        None, description="Default: executedAt (desc)"
    )


class _LogFields(Model):
    id: Id
    entityId: str | None
    entityType: str
    eventType: str | None = None
    executionResult: ExecutionResult
    inputContext: dict[str, Any] | None = Field(description="The record and event (secrets redacted)")
    outputContext: dict[str, Any] | None
    errorMessage: str | None
    executionTimeMs: float
    executedAt: datetime
    tenantId: Id
    organizationId: Id | None
    executedBy: str | None


class RuleExecutionLogItem(_LogFields):
    ruleId: Id
    ruleName: str
    ruleType: str


class RuleExecutionLogRule(Model):
    id: Id
    ruleId: str
    ruleName: str
    ruleType: str
    entityType: str


class RuleExecutionLogDetail(_LogFields):
    rule: RuleExecutionLogRule


# --- execution --------------------------------------------------------------------------------


def _id_text(value):
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else _blank(value)


EntityId = Annotated[text(64) | None, BeforeValidator(_id_text)]
"""The record's id or number (a JSON number is read as its text)."""


class RuleExecuteRequest(Model):
    """Body of ``POST /business_rules/execute``."""

    entityType: text(50, 1)
    eventType: Annotated[text(50) | None, BeforeValidator(_blank)] = Field(None, description="null = every event")
    entityId: EntityId = Field(None, description="Logged with each execution (default: data.id)")
    data: JsonObject | None = Field(None, description="The record the rules see")
    dryRun: bool = Field(False, description="Evaluate and report; apply nothing, log nothing")
    tenantId: Id | None = Field(None, description="Super admins only; default: the caller's tenant")

    model_config = ConfigDict(json_schema_extra={"examples": [{"entityType": "string", "dryRun": False}]})


class RuleExecuteOneRequest(Model):
    """Body of ``POST /business_rules/execute/{ruleId}``."""

    dryRun: bool = False
    data: JsonObject | None = None
    entityType: Annotated[text(50) | None, BeforeValidator(_blank)] = Field(
        None, description="Logged; default: the rule's"
    )
    eventType: Annotated[text(50) | None, BeforeValidator(_blank)] = Field(
        None, description="Logged; default: the rule's"
    )
    entityId: EntityId = Field(None, description="Logged (default: data.id)")

    model_config = ConfigDict(json_schema_extra={"examples": [{"dryRun": False}]})


class ActionResult(Model):
    """What an action did (or would do, in a dry run)."""

    type: str | None
    success: bool
    message: str | None = None
    level: str | None = None
    field: str | None = None
    value: Any = None
    eventName: str | None = None
    payload: dict[str, Any] | None = None
    error: str | None = None


class ConditionTrace(Model):
    """One node's result in a traced dry run ("try it")."""

    path: str
    kind: Literal["group", "condition"]
    operator: str
    result: bool
    field: str | None = None
    left: Any = None
    right: Any = None
    error: str | None = None


class ExecutedRule(Model):
    ruleId: str
    ruleName: str
    conditionResult: bool
    executionTime: float = Field(description="Milliseconds")
    id: Id
    ruleType: RuleType
    executionResult: ExecutionResult
    error: str | None
    actions: list[ActionResult]
    conditions: list[ConditionTrace] | None = None


class RuleMessages(Model):
    errors: list[str]
    warnings: list[str]
    infos: list[str]


class RuleExecuteResponse(Model):
    """``allowed``: every GUARD held and no BLOCK_TRANSITION ran."""

    allowed: bool
    executedRules: list[ExecutedRule]
    totalExecutionTime: float
    messages: RuleMessages
    blockedBy: list[str] = Field(description="ruleIds of the rules that refused")
    errors: list[str]
    data: dict[str, Any] = Field(description="The record after SET_FIELD actions (unchanged in a dry run)")


class ActionsExecuted(Model):
    success: bool
    results: list[ActionResult]


class RuleExecuteOneResponse(Model):
    success: bool
    ruleId: str
    ruleName: str
    conditionResult: bool
    actionsExecuted: ActionsExecuted | None
    executionTime: float
    error: str | None
    id: Id


# --- the editor: field suggestions and "try it" -------------------------------------------------


class RuleFieldsQuery(Model):
    entityType: text(50) = ""


class RuleField(Model):
    path: str
    label: str


class RuleFields(Model):
    entityType: str
    events: list[str]
    fields: list[RuleField]
    entityTypes: list[str]


class RuleTryRequest(Model):
    """Body of ``POST /business_rules/try``: the editor's unsaved rule and a record — pasted
    (``sample``) or stored (``recordId``, an id or number)."""

    ruleId: text(50) = ""
    ruleName: text(200) = ""
    ruleType: RuleType = "GUARD"
    entityType: EntityName
    eventType: EventName = None
    conditionExpression: ConditionExpression = None
    successActions: RuleActions = None
    failureActions: RuleActions = None
    sample: JsonObject | None = None
    recordId: text(200) = ""
    tenantId: Id | None = Field(None, description="Super admins only; default: the caller's tenant")


class RuleTryResponse(Model):
    allowed: bool
    executedRules: list[ExecutedRule]
    totalExecutionTime: float
    messages: RuleMessages
    blockedBy: list[str]
    record: dict[str, Any]
