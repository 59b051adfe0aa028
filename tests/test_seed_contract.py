"""Every declared response carries the keys of the seed's example for that operation
(issue #13): the seeds are the contract a client was written for."""

from __future__ import annotations

import re

from tests.seed_examples import responses
from web.openapi import resolve

SEED_OPERATIONS = (
    responses("000", 15, 3520)
    + responses("000", 12463, 12800)
    + responses("001", 22286, 30500)
    + responses("001", 10262, 10330)
    + responses("001", 21993, 22180)
    + responses("004")
)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _our_path(seed_path: str, paths: dict) -> str | None:
    """``/api_keys/keys`` → ``/api/api_keys/keys``; ``/lcs/lists/{id}`` → ``/api/lcs/lists/{list_id}``."""
    wanted = {_shape("/api" + seed_path), _shape(seed_path)}
    return next((p for p in paths if _shape(p) in wanted), None)


def missing_keys(example, schema: dict, components: dict, where: str = "") -> list[str]:
    schema = resolve(schema, components)
    if isinstance(example, list):
        if not example or schema.get("type") != "array":
            return (
                []
                if not example or "items" not in schema
                else missing_keys(example[0], schema["items"], components, where + "[]")
            )
        return missing_keys(example[0], schema.get("items", {}), components, where + "[]")
    if not isinstance(example, dict) or "properties" not in schema:
        return []
    out = []
    for key, value in example.items():
        if key not in schema["properties"]:
            out.append(f"{where}.{key}".lstrip("."))
        else:
            out += missing_keys(value, schema["properties"][key], components, f"{where}.{key}")
    return out


def test_declared_responses_carry_the_seed_examples_keys(client):
    doc = client.get("/api/openapi.json").get_json()
    components = doc["components"]["schemas"]
    problems, checked = [], 0
    for seed in SEED_OPERATIONS:
        if seed.status == 204:
            continue  # the seed shows bodies under some 204s; a 204 has none
        path = _our_path(seed.path, doc["paths"])
        op = doc["paths"].get(path, {}).get(seed.method.lower()) if path else None
        if op is None:
            continue  # an operation Wharf does not serve (yet): listed by the coverage report
        declared = op["responses"].get(str(seed.status)) or next(
            (r for code, r in op["responses"].items() if code.startswith("2")), None
        )
        content = (declared or {}).get("content", {}).get("application/json")
        if content is None and (declared or {}).get("content") and seed.example == {"file": "csv"}:
            continue  # the seed's text says "a CSV attachment"; {"file": "csv"} is its generator's stand-in
        if content is None:
            problems.append(f"{seed.method} {seed.path} ({seed.seed}:{seed.line}): no JSON response declared")
            continue
        checked += 1
        lost = missing_keys(seed.example, content["schema"], components)
        if lost:
            problems.append(f"{seed.method} {seed.path} ({seed.seed}:{seed.line}): missing {', '.join(lost)}")
    assert checked, "no seed operation matched the document"
    assert not problems, f"{len(problems)} seed responses not matched:\n" + "\n".join(problems)
