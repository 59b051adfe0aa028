"""Rule actions (spec/business-rules.md, "Actions"): their shape is declared by
``schemas.business_rules.RuleAction`` (refused at save time); the engine runs them here.

``[{"type": T, "config": {...}}]``; ``successActions`` run when the condition holds,
``failureActions`` when it does not. Running an action never touches the database: it
returns what happened (messages, field changes, events to emit) and the engine applies it —
so a dry run can show what *would* happen without doing any of it.

* ``ALLOW_TRANSITION`` / ``BLOCK_TRANSITION`` (``message``): a BLOCK_TRANSITION that runs refuses
  the operation just like a failed GUARD; ALLOW_TRANSITION is recorded (it cannot override a
  failed GUARD).
* ``LOG`` (``message``, ``level`` debug|info|warn|error): written to the ``wharf.rules`` logger.
* ``SHOW_ERROR`` / ``SHOW_WARNING`` / ``SHOW_INFO`` (``message``): shown to the person. An error
  message of a refused operation becomes the refusal's message; otherwise errors and
  warnings are shown as warnings, infos as infos.
* ``SET_FIELD`` (``field``, ``value``): sets the field of the record; on a "before" event the
  service stores the changed record. ``value`` may be a template (``{{now}}``...).
* ``EMIT_EVENT`` (``eventName``, ``payload``): published through ``services.events`` (phase
  "after", entity of the rule) once the rules ran and only if the operation is allowed.

Messages interpolate ``{{path}}`` from the record (``{{weight}}``, ``{{method.max_weight}}``)
and the templates ``{{now}}``, ``{{today}}``, ``{{user.id}}``, ``{{tenant.id}}``; an unknown
placeholder is left as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from services.rules import conditions as cond

ACTION_TYPES = (
    "ALLOW_TRANSITION",
    "BLOCK_TRANSITION",
    "LOG",
    "SHOW_ERROR",
    "SHOW_WARNING",
    "SHOW_INFO",
    "SET_FIELD",
    "EMIT_EVENT",
)
LATER = ("CALL_WEBHOOK", "NOTIFY")
LOG_LEVELS = ("debug", "info", "warn", "error")  # Open Mercato's spelling; "warning" is read as "warn"
MAX_ACTIONS = 20
MAX_MESSAGE = 1000
EVENT_NAME = r"^[A-Za-z][A-Za-z0-9_.:-]{0,99}$"
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def interpolate(template: str, record, env: cond.Env) -> str:
    """``{{path}}`` from the record or the templates; unknown placeholders stay as written."""
    if not template or "{{" not in template:
        return template or ""

    def swap(m):
        name = m.group(1)
        value = None
        try:
            value = cond.template_resolver(name)(env)
        except ValueError:
            path = name.removeprefix("data.")
            try:
                value = cond.resolve(record, cond.parse_path(path))
            except ValueError:
                value = None
        return m.group(0) if value is None else cond.as_text(value)

    return _PLACEHOLDER.sub(swap, template)


def _interpolate_payload(value, record, env):
    if isinstance(value, str):
        name = cond.template_name(value)
        if name is not None:
            try:
                return cond.template_resolver(name)(env)
            except ValueError:
                pass
        return interpolate(value, record, env)
    if isinstance(value, list):
        return [_interpolate_payload(v, record, env) for v in value]
    if isinstance(value, dict):
        return {k: _interpolate_payload(v, record, env) for k, v in value.items()}
    return value


@dataclass
class ActionOutcome:
    results: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    blocked: bool = False
    block_messages: list[str] = field(default_factory=list)
    set_fields: list[tuple] = field(default_factory=list)  # (keys, value)
    emits: list[tuple] = field(default_factory=list)  # (event name, payload)
    logs: list[tuple] = field(default_factory=list)  # (level, message)


def run_actions(actions, record, env: cond.Env) -> ActionOutcome:
    """Work out what the actions do (no side effects); the engine applies the outcome."""
    out = ActionOutcome()
    for action in actions or ():
        kind = action.get("type")
        config = action.get("config") or {}
        try:
            message = interpolate(config.get("message") or "", record, env)
            entry = {"type": kind, "success": True}
            if kind in ("SHOW_ERROR", "SHOW_WARNING", "SHOW_INFO"):
                {"SHOW_ERROR": out.errors, "SHOW_WARNING": out.warnings, "SHOW_INFO": out.infos}[kind].append(message)
                entry["message"] = message
            elif kind == "BLOCK_TRANSITION":
                out.blocked = True
                if message:
                    out.block_messages.append(message)
                entry["message"] = message or "Transition blocked"
            elif kind == "ALLOW_TRANSITION":
                entry["message"] = message or "Transition allowed"
            elif kind == "LOG":
                level = config.get("level") or "info"
                out.logs.append((level, message))
                entry.update(level=level, message=message)
            elif kind == "SET_FIELD":
                keys = cond.parse_path(config.get("field"))
                value = config.get("value")
                name = cond.template_name(value)
                value = cond.template_resolver(name)(env) if name is not None else value
                out.set_fields.append((keys, value))
                entry.update(field=config.get("field"), value=value)
            elif kind == "EMIT_EVENT":
                name = config.get("eventName", config.get("event"))
                payload = _interpolate_payload(config.get("payload") or {}, record, env)
                out.emits.append((name, payload))
                entry.update(eventName=name, payload=payload)
            else:
                raise ValueError(f"unknown action type {kind!r}")
        except Exception as e:  # noqa: BLE001 — a bad stored action must never break the operation
            entry = {"type": kind, "success": False, "error": str(e)[:500]}
        out.results.append(entry)
    return out
