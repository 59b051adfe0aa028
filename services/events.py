"""Domain events emitted before and after each state change (spec/business-rules.md).

``before(entity, event, data)`` runs the registered listeners, which may refuse the
operation by raising ``Blocked`` (rendered as a 422) or return warnings; ``after`` runs
once the change is committed. The business-rules module registers itself here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from services.errors import DomainError


class Blocked(DomainError):
    """A "before" listener refused the operation (a GUARD rule, say)."""

    status = 422
    default_message = "Blocked by a business rule"

    def __init__(self, message: str | None = None, *, rule_ids: list[str] | None = None):
        super().__init__(
            message,
            details=[{"path": [r], "message": "blocked by rule", "kind": "blocked by rule"} for r in (rule_ids or [])],
        )
        self.rule_ids = rule_ids or []


@dataclass
class Outcome:
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)


Listener = Callable[[str, str, dict, dict], "Outcome | None"]
_listeners: dict[str, list[Listener]] = defaultdict(list)


def subscribe(phase: str, listener: Listener) -> None:
    """``phase`` is "before" or "after"; the listener gets (entity, event, data, context)."""
    _listeners[phase].append(listener)


def _run(phase: str, entity: str, event: str, data: dict, context: dict | None) -> Outcome:
    outcome = Outcome()
    for listener in list(_listeners[phase]):
        result = listener(entity, event, data, context or {})
        if result is not None:
            outcome.warnings += result.warnings
            outcome.infos += result.infos
    return outcome


def before(entity: str, event: str, data: dict, context: dict | None = None) -> Outcome:
    return _run("before", entity, event, data, context)


def after(entity: str, event: str, data: dict, context: dict | None = None) -> Outcome:
    return _run("after", entity, event, data, context)
