"""The condition language of business rules (spec/business-rules.md, "Condition expression").

The shape of an expression (groups, conditions, limits) is declared once, as the recursive
model ``schemas.business_rules.ConditionExpression``, which refuses a malformed one at save
time with the path of the bad node; ``check_value`` is what a value means to its operator.
``compile_expression(expr)`` turns a valid expression into nested Python closures that the
engine caches, so evaluating a rule is a few function calls — no parsing, no ``eval``.

Semantics (all written down here, tested in tests/test_rules_engine.py):

* Group ``{"operator": "AND"|"OR"|"NOT", "rules": [...]}``; an empty group is true; ``NOT``
  negates the AND of its children. A ``null`` expression is true.
* Condition ``{"field": path, "operator": op, "value": v}`` or with ``"valueField": path``
  (compares two fields of the record). Paths are dotted with ``[n]`` indexes
  (``items[0].sku``, ``items.0.sku``); ``.length`` of a list or text is its size. Only plain
  JSON objects/arrays are walked — never attributes — and ``__x`` / ``constructor`` /
  ``prototype`` segments are refused. A missing field is ``null``.
* Equality: two nulls are equal, null equals nothing else; a boolean side compares as a
  boolean (``"true"``/``"false"``/``1``/``0`` coerce); when either side is a number both
  compare as numbers (``"10" = 10``); two ISO dates compare as instants; else exact
  (case-sensitive) equality.
* Ordering (``> >= < <=``): false when either side is null or the sides cannot be compared;
  numbers numerically when either side is a number (or both are numeric text), ISO dates as
  instants (a date alone is midnight UTC), text by code point.
* ``IN``/``NOT_IN``: the value is a list (text is split on commas at save time); a list
  field is IN when any of its elements is. ``CONTAINS``/``NOT_CONTAINS``: element of a
  list, substring of a text, key of an object. ``STARTS_WITH``/``ENDS_WITH``: on text
  (numbers and booleans as their JSON text). ``IS_EMPTY``: null, blank text, ``[]``, ``{}``
  (``0`` and ``false`` are not empty).
* ``MATCHES``: a regular expression (search semantics, RE2 syntax) of at most 200
  characters; RE2 matches in linear time, so no pattern can backtrack catastrophically.
  What RE2 refuses (back-references, lookaround, invalid syntax) is refused at save time.
  It runs on at most 10 000 characters of input (longer input does not match).
* Values may be templates: ``{{now}}`` (ISO-8601 UTC), ``{{today}}`` (``YYYY-MM-DD``),
  ``{{user.id}}``, ``{{tenant.id}}``, ``{{organization.id}}`` (any path under them).
* Limits: at most 10 nested groups, 50 children per group, 1 000 nodes in all, field paths
  of at most 200 characters.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache

import re2

OPERATORS = (
    "=",
    "==",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "IN",
    "NOT_IN",
    "CONTAINS",
    "NOT_CONTAINS",
    "STARTS_WITH",
    "ENDS_WITH",
    "MATCHES",
    "IS_EMPTY",
    "IS_NOT_EMPTY",
)
GROUP_OPERATORS = ("AND", "OR", "NOT")
UNARY = ("IS_EMPTY", "IS_NOT_EMPTY")
ORDERING = (">", ">=", "<", "<=")

MAX_DEPTH = 10
MAX_CHILDREN = 50
MAX_NODES = 1000
MAX_PATH = 200
MAX_PATTERN = 200
MAX_MATCH_INPUT = 10_000
MAX_LIST_VALUES = 1000
TEMPLATE_ROOTS = ("user", "tenant", "organization")


class EvaluationError(RuntimeError):
    """Evaluation could not finish (e.g. a broken stored expression): the rule's result is ERROR."""


# --- field paths ---------------------------------------------------------------------------

_SEGMENT = re.compile(r"([A-Za-z_$][A-Za-z0-9_$-]*|\d+)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")
FORBIDDEN_SEGMENTS = frozenset({"constructor", "prototype"})


def parse_path(path) -> tuple:
    """``"items[0].sku"`` → ``("items", 0, "sku")``; raises ``ValueError`` with a reason."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("must be a non-empty field path")
    if len(path) > MAX_PATH:
        raise ValueError(f"must be at most {MAX_PATH} characters")
    keys: list = []
    for raw in path.strip().split("."):
        m = _SEGMENT.fullmatch(raw)
        if not m:
            raise ValueError(f"segment '{raw[:40]}' is not a field name or index")
        name = m.group(1)
        if name.startswith("__") or name in FORBIDDEN_SEGMENTS:
            raise ValueError(f"segment '{name}' is not allowed")
        keys.append(int(name) if name.isdigit() else name)
        keys.extend(int(i) for i in _INDEX.findall(m.group(2)))
    return tuple(keys)


def _leaf(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def resolve(obj, keys: tuple):
    """Walk plain dicts/lists/text only; anything else (or a missing key) is ``None``."""
    cur = obj
    for k in keys:
        if isinstance(cur, dict):
            if isinstance(k, int):
                cur = cur.get(str(k), cur.get(k))
            else:
                cur = cur.get(k)
        elif isinstance(cur, (list, tuple)):
            if isinstance(k, int):
                cur = cur[k] if k < len(cur) else None
            elif k == "length":
                cur = len(cur)
            else:
                return None
        elif isinstance(cur, str) and k == "length":
            cur = len(cur)
        else:
            return None
        if cur is None:
            return None
    return _leaf(cur)


def _resolver(keys: tuple) -> Callable:
    if len(keys) == 1 and isinstance(keys[0], str):
        key = keys[0]

        def one(data):
            return _leaf(data.get(key)) if isinstance(data, dict) else None

        return one
    return lambda data: resolve(data, keys)


def set_path(obj: dict, keys: tuple, value) -> bool:
    """Set ``keys`` in nested dicts/lists (creating missing objects); False when impossible."""
    cur = obj
    for i, k in enumerate(keys[:-1]):
        nxt = (
            cur.get(k)
            if isinstance(cur, dict) and isinstance(k, str)
            else (cur[k] if isinstance(cur, list) and isinstance(k, int) and k < len(cur) else None)
        )
        if nxt is None:
            if not (isinstance(cur, dict) and isinstance(k, str)):
                return False
            nxt = cur[k] = {}
        if not isinstance(nxt, (dict, list)):
            return False
        cur = nxt
    last = keys[-1]
    if isinstance(cur, dict) and isinstance(last, str):
        cur[last] = value
        return True
    if isinstance(cur, list) and isinstance(last, int) and last < len(cur):
        cur[last] = value
        return True
    return False


# --- templates -------------------------------------------------------------------------------

_TEMPLATE = re.compile(r"^\{\{\s*([^{}]+?)\s*\}\}$")


@dataclass
class Env:
    """What templates see: the time of the event and who/where it happened."""

    now: datetime
    user: dict = field(default_factory=dict)
    tenant: dict = field(default_factory=dict)
    organization: dict = field(default_factory=dict)
    trace: list | None = None

    @property
    def now_iso(self) -> str:
        from models.base import iso_utc

        return iso_utc(self.now)

    @property
    def today(self) -> str:
        return self.now.astimezone(UTC).date().isoformat()


def template_name(value) -> str | None:
    """``"{{ user.id }}"`` → ``"user.id"``; None when the value is not a whole template."""
    if isinstance(value, str):
        m = _TEMPLATE.match(value)
        if m:
            return m.group(1)
    return None


def template_resolver(name: str) -> Callable[[Env], object]:
    """A function of the environment for a template name; ``ValueError`` when unknown."""
    if name == "now":
        return lambda env: env.now_iso
    if name == "today":
        return lambda env: env.today
    root, _, rest = name.partition(".")
    if root in TEMPLATE_ROOTS and rest:
        keys = parse_path(rest)
        return lambda env: resolve(getattr(env, root), keys)
    raise ValueError("unknown template; use {{now}}, {{today}}, {{user.id}}, {{tenant.id}} or {{organization.id}}")


# --- coercions -------------------------------------------------------------------------------

_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|z|[+-]\d{2}:?\d{2})?$")


def _is_number(v) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def as_number(v) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float, Decimal)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, str) and len(v) < 64 and _NUMBER.match(v):
        f = float(v)
        return f if math.isfinite(f) else None
    return None


@lru_cache(maxsize=4096)
def _parse_date_text(text: str) -> datetime | None:
    if not _ISO_DATE.match(text):
        return None
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1] in "Zz" else text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def as_date(v) -> datetime | None:
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, tzinfo=UTC)
    if isinstance(v, str) and 10 <= len(v) <= 40:
        return _parse_date_text(v)
    return None


def as_bool(v) -> bool | None:
    if isinstance(v, bool):
        return v
    if _is_number(v):
        return {1: True, 0: False}.get(v)
    if isinstance(v, str):
        return {"true": True, "1": True, "false": False, "0": False}.get(v.strip().lower())
    return None


def as_text(v) -> str:
    """JSON-ish text of a scalar: ``true``, ``5`` (not ``5.0``), ISO timestamps."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime):
        from models.base import iso_utc

        return iso_utc(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, default=str, separators=(",", ":"))
    return str(v)


def equals(left, right) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) or isinstance(right, bool):
        a, b = as_bool(left), as_bool(right)
        return a is not None and a == b
    if _is_number(left) or _is_number(right):
        a, b = as_number(left), as_number(right)
        return a is not None and a == b
    if left == right:
        return True
    if isinstance(left, (str, date)) and isinstance(right, (str, date)):
        a, b = as_date(left), as_date(right)
        return a is not None and a == b
    return False


def compare(left, right) -> int | None:
    """-1/0/1, or None when the two cannot be ordered (the ordering operators are false)."""
    if left is None or right is None:
        return None
    if isinstance(left, bool) or isinstance(right, bool):
        if isinstance(left, bool) and isinstance(right, bool):
            return (left > right) - (left < right)
        return None
    if _is_number(left) or _is_number(right):
        a, b = as_number(left), as_number(right)
        return None if a is None or b is None else (a > b) - (a < b)
    da, db = as_date(left), as_date(right)
    if da is not None and db is not None:
        return (da > db) - (da < db)
    a, b = as_number(left), as_number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if isinstance(left, str) and isinstance(right, str):
        return (left > right) - (left < right)
    return None


def is_empty(v) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    if isinstance(v, (list, tuple, dict)):
        return len(v) == 0
    return False


def is_in(left, right) -> bool:
    if not isinstance(right, (list, tuple)):
        return False
    if isinstance(left, (list, tuple)):
        return any(equals(item, r) for item in left for r in right)
    return any(equals(left, r) for r in right)


def contains(container, value) -> bool:
    if container is None or value is None:
        return False
    if isinstance(container, (list, tuple)):
        return any(equals(item, value) for item in container)
    if isinstance(container, str):
        return as_text(value) in container
    if isinstance(container, dict):
        return isinstance(value, str) and value in container
    return False


def starts_with(text, prefix) -> bool:
    if text is None or prefix is None or isinstance(text, (list, dict)):
        return False
    return as_text(text).startswith(as_text(prefix))


def ends_with(text, suffix) -> bool:
    if text is None or suffix is None or isinstance(text, (list, dict)):
        return False
    return as_text(text).endswith(as_text(suffix))


# --- regular expressions --------------------------------------------------------------------

# RE2 matches in time linear in the input, whatever the pattern: (a+)+$ cannot backtrack.
# It refuses what needs backtracking (back-references, lookaround); that refusal is the
# save-time validation error. Errors go to the caller, not to RE2's stderr log.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_RE2_OPTIONS.never_capture = True


@lru_cache(maxsize=512)
def safe_pattern(pattern: str):
    """The compiled RE2 pattern, or ``ValueError`` when it is too long or RE2 refuses it."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError("must be a non-empty regular expression")
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"must be at most {MAX_PATTERN} characters")
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it has a lone surrogate)") from None
    except re2.error as e:
        detail = e.args[0].decode("utf-8", "replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        raise ValueError(
            f"is not a valid regular expression ({detail}); back-references such as \\1 and "
            "lookaround such as (?=…) are not supported"
        ) from None


def matches(text, pattern) -> bool:
    if text is None or pattern is None:
        return False
    compiled = pattern if not isinstance(pattern, str) else _runtime_pattern(pattern)
    if compiled is None:
        return False
    subject = as_text(text)
    if len(subject) > MAX_MATCH_INPUT:
        return False
    # RE2 reads UTF-8: a lone surrogate (possible in JSON text) becomes "?" instead of an error.
    subject = subject.encode("utf-8", "replace").decode("utf-8") if not subject.isascii() else subject
    return compiled.search(subject) is not None


def _runtime_pattern(pattern: str):
    """A pattern that came from a field or template: checked like a saved one, else no match."""
    try:
        return safe_pattern(pattern)
    except ValueError:
        return None


_APPLY: dict[str, Callable] = {
    "=": equals,
    "==": equals,
    "!=": lambda a, b: not equals(a, b),
    ">": lambda a, b: (c := compare(a, b)) is not None and c > 0,
    ">=": lambda a, b: (c := compare(a, b)) is not None and c >= 0,
    "<": lambda a, b: (c := compare(a, b)) is not None and c < 0,
    "<=": lambda a, b: (c := compare(a, b)) is not None and c <= 0,
    "IN": is_in,
    "NOT_IN": lambda a, b: not is_in(a, b),
    "CONTAINS": contains,
    "NOT_CONTAINS": lambda a, b: not contains(a, b),
    "STARTS_WITH": starts_with,
    "ENDS_WITH": ends_with,
    "MATCHES": matches,
    "IS_EMPTY": lambda a, _b: is_empty(a),
    "IS_NOT_EMPTY": lambda a, _b: not is_empty(a),
}


def apply_operator(operator: str, left, right) -> bool:
    """One operator on two already-resolved values (exposed for tests and the try-it panel)."""
    return _APPLY[operator](left, right)


# --- what a value means to its operator -----------------------------------------------------


def is_group(node) -> bool:
    return isinstance(node, dict) and "rules" in node


def field_paths(node, at: tuple = ()):
    """``(location, path)`` of every record field a condition reads (``field``, ``valueField``)."""
    if is_group(node):
        for i, child in enumerate(node.get("rules") or []):
            yield from field_paths(child, (*at, "rules", i))
    elif isinstance(node, dict):
        for key in ("field", "valueField"):
            if isinstance(node.get(key), str) and node[key]:
                yield (*at, key), node[key]


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def check_value(value, operator: str) -> None:
    """Raise ``ValueError`` when ``value`` cannot be compared by ``operator`` (a template it
    does not know, an unsafe pattern, a list where a scalar belongs…). The shape of the
    expression around it is ``schemas.business_rules.ConditionExpression``."""
    name = template_name(value)
    if name is not None:
        if operator == "MATCHES":
            raise ValueError("MATCHES needs a literal regular expression, not a template")
        template_resolver(name)
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if operator in ("IN", "NOT_IN"):
        items = _split_list(value) if isinstance(value, str) else value
        if not isinstance(items, list):
            raise ValueError("must be a list (or comma-separated text)")
        if len(items) > MAX_LIST_VALUES:
            raise ValueError(f"at most {MAX_LIST_VALUES} values")
        if any(isinstance(item, (dict, list)) for item in items):
            raise ValueError("its items must be numbers, text, booleans or null")
        return
    if operator == "MATCHES":
        safe_pattern(value)
        return
    if operator in ORDERING or operator in ("CONTAINS", "NOT_CONTAINS", "STARTS_WITH", "ENDS_WITH"):
        if isinstance(value, (dict, list)):
            raise ValueError("must be a number, text or boolean")
        if value is None and operator in ORDERING:
            raise ValueError("cannot be null for an ordering operator")
        if isinstance(value, str) and len(value) > 10_000:
            raise ValueError("is too long")


# --- compilation ---------------------------------------------------------------------------

Evaluator = Callable[[object, Env], bool]


def _path_text(path: list) -> str:
    return ".".join(str(p) for p in path)


def compile_expression(expr, *, trace: bool = False) -> Evaluator:
    """Closures for a *validated* expression. ``trace`` records every node's result in
    ``env.trace`` (and evaluates every child, so the try-it panel shows them all)."""
    if expr is None:
        return lambda data, env: True
    return _compile_node(expr, [], trace)


def _compile_node(node: dict, path: list, trace: bool) -> Evaluator:
    if is_group(node):
        return _compile_group(node, path, trace)
    return _compile_condition(node, path, trace)


def _compile_group(node: dict, path: list, trace: bool) -> Evaluator:
    op = node["operator"]
    children = tuple(_compile_node(c, path + ["rules", i], trace) for i, c in enumerate(node["rules"]))
    if not trace:
        if not children:
            return lambda data, env: True
        if len(children) == 1 and op != "NOT":
            return children[0]
        if op == "AND":
            return lambda data, env: all(c(data, env) for c in children)
        if op == "OR":
            return lambda data, env: any(c(data, env) for c in children)
        return lambda data, env: not all(c(data, env) for c in children)
    where = _path_text(path)

    def traced(data, env):
        results = [c(data, env) for c in children]
        if not results:
            result = True
        elif op == "AND":
            result = all(results)
        elif op == "OR":
            result = any(results)
        else:
            result = not all(results)
        env.trace.append({"path": where, "kind": "group", "operator": op, "result": result})
        return result

    return traced


def _compile_condition(node: dict, path: list, trace: bool) -> Evaluator:
    operator = node["operator"]
    apply = _APPLY[operator]
    left = _resolver(parse_path(node["field"]))
    if operator in UNARY:
        right = None
    elif node.get("valueField") not in (None, ""):
        right = ("field", _resolver(parse_path(node["valueField"])))
    elif template_name(node.get("value")) is not None:
        right = ("env", template_resolver(template_name(node["value"])))
    else:
        value = node.get("value")
        if operator in ("IN", "NOT_IN") and isinstance(value, str):
            value = _split_list(value)
        if operator == "MATCHES":
            value = safe_pattern(value)
        right = ("const", value)

    if right is None:

        def get_right(data, env):
            return None
    elif right[0] == "const":
        const = right[1]

        def get_right(data, env):
            return const
    elif right[0] == "field":
        other = right[1]

        def get_right(data, env):
            return other(data)
    else:
        from_env = right[1]

        def get_right(data, env):
            return from_env(env)

    if not trace:
        if right is not None and right[0] == "const":
            const = right[1]
            return lambda data, env: apply(left(data), const)
        return lambda data, env: apply(left(data), get_right(data, env))

    where = _path_text(path)
    field_name = node["field"]

    def traced(data, env):
        lv, rv = left(data), get_right(data, env)
        try:
            result = apply(lv, rv)
        except EvaluationError as e:
            env.trace.append(
                {
                    "path": where,
                    "kind": "condition",
                    "field": field_name,
                    "operator": operator,
                    "left": lv,
                    "right": _shown(rv),
                    "result": False,
                    "error": str(e),
                }
            )
            raise
        env.trace.append(
            {
                "path": where,
                "kind": "condition",
                "field": field_name,
                "operator": operator,
                "left": lv,
                "right": _shown(rv),
                "result": result,
            }
        )
        return result

    return traced


def _shown(value):
    return value.pattern if hasattr(value, "pattern") and hasattr(value, "search") else value
