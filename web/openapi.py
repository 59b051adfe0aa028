"""OpenAPI 3.1 document generated from the URL map.

Paths come from the routes themselves, security and ``x-required-features`` from the
access decorator, summaries from docstrings, and parameters, bodies and responses from
each operation's one declaration (``web.contract.operation``). Nothing is listed by hand;
a JSON route without a declaration stops the document.
"""

from __future__ import annotations

import re

from flask import Flask

from web.access import access_of

_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_TYPES = {"int": {"type": "integer"}, "uuid": {"type": "string", "format": "uuid"}, "float": {"type": "number"}}


def openapi_path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def swap(m):
        params.append(
            {
                "name": m["name"],
                "in": "path",
                "required": True,
                "schema": _TYPES.get(m["conv"] or "", {"type": "string"}),
            }
        )
        return "{" + m["name"] + "}"

    return _CONVERTER.sub(swap, rule), params


def json_rules(app: Flask):
    """Rules answering JSON: under /api/ and not page-only."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if not rule.rule.startswith("/api/") or getattr(view, "_page_only", False) or rule.endpoint == "static":
            continue
        yield rule, view


def _tag(rule: str) -> str:
    """The module a path belongs to: its first segment under /api, skipping a version
    segment (``/api/v1/plans`` is tagged "plans")."""
    segments = [s for s in rule.split("/")[2:] if s]
    if len(segments) > 1 and re.fullmatch(r"v\d+", segments[0]):
        return segments[1]
    return segments[0] if segments else "api"


class Components:
    """Named schemas of the document: each model once, under its own name."""

    def __init__(self):
        self.schemas: dict[str, dict] = {}

    def schema(self, kind) -> dict:
        from schemas.validation import adapter

        # One mode for requests and answers: answers are checked by validating them
        # (web.contract.check_response), so their schema is the validation schema too.
        schema = adapter(kind).json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            self._add(name, sub)
        title = schema.get("title")
        if schema.get("type") == "object" and title and isinstance(kind, type):
            self._add(title, schema)
            return {"$ref": f"#/components/schemas/{title}"}
        return schema

    def _add(self, name: str, schema: dict) -> None:
        known = self.schemas.setdefault(name, schema)
        if known != schema:
            raise ValueError(f"two different schemas are both named {name}: rename one model")


def _params_of(kind, where: str, components: Components) -> list[dict]:
    """One parameter per field of a query or header model."""
    schema = components.schema(kind)
    if "$ref" in schema:
        schema = components.schemas[schema["$ref"].rsplit("/", 1)[1]]
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        param = {
            "name": name,
            "in": where,
            "required": name in required,
            "schema": {k: v for k, v in prop.items() if k not in ("title", "description")},
        }
        if prop.get("description") or prop.get("title"):
            param["description"] = prop.get("description") or prop["title"]
        out.append(param)
    return out


def _declared(op: dict, spec, path: str, method: str, components: Components) -> None:
    """Fill an operation from its one declaration (``web.contract.operation``)."""
    from schemas.base import AfostoError, Binary, ErrorResponse, MindbricksError
    from web.errors import wire_family

    if spec.query is not None:
        op["parameters"] += _params_of(spec.query, "query", components)
    if spec.headers is not None:
        op["parameters"] += _params_of(spec.headers, "header", components)
    if spec.body is not None and method in {"POST", "PUT", "PATCH", "DELETE"}:
        schema = components.schema(spec.body)
        content = {media: {"schema": schema} for media in spec.documented_media}
        for name, example in spec.examples.items():
            content[spec.documented_media[0]].setdefault("examples", {})[name] = {"value": example}
        op["requestBody"] = {"required": spec.body_required, "content": content}
    error = components.schema({"B": AfostoError, "C": MindbricksError}.get(wire_family(path), ErrorResponse))
    responses = {}
    for status, r in sorted(spec.responses.items()):
        entry = {"description": r.description or _REASONS.get(status, "Success")}
        if r.model is Binary:
            entry["content"] = {r.media_type: {"schema": {"type": "string", "format": "binary"}}}
        elif r.model is not None:
            entry["content"] = {r.media_type: {"schema": components.schema(r.model)}}
        if r.headers:
            entry["headers"] = {h: {"description": d, "schema": {"type": "string"}} for h, d in r.headers.items()}
        responses[str(status)] = entry
    for status in _ERRORS:
        responses.setdefault(
            str(status), {"description": _REASONS[status], "content": {"application/json": {"schema": error}}}
        )
    op["responses"] = responses


_REASONS = {
    200: "Success",
    201: "Created",
    204: "No content",
    304: "Not modified",
    400: "Invalid input",
    401: "Not authenticated",
    403: "Missing required features",
    404: "Not found (or not yours)",
    409: "Conflict with the current state",
    413: "Request body too large",
    422: "Refused by a rule",
    429: "Too many requests",
}
_ERRORS = (400, 401, 403, 404, 409, 413, 422, 429)


def build_document(app: Flask) -> dict:
    from web.contract import operation_of

    components = Components()
    paths: dict[str, dict] = {}
    for rule, view in sorted(json_rules(app), key=lambda rv: rv[0].rule):
        path, params = openapi_path(rule.rule)
        access = access_of(view)
        spec = operation_of(view)
        doc = (view.__doc__ or "").strip()
        summary = (spec and spec.summary) or (doc.splitlines()[0] if doc else rule.endpoint)
        tag = _tag(rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op = {
                "operationId": _operation_id(rule, method),
                "summary": summary,
                "description": doc,
                "tags": [tag],
                "parameters": list(params),
                "responses": {},
            }
            if spec is None:
                raise LookupError(f"{rule.endpoint} answers JSON but declares no @operation")
            _declared(op, spec, rule.rule, method, components)
            if access is None or not access.public:
                op["security"] = [{"bearerAuth": []}, {"apiKey": []}]
                op["responses"].setdefault("401", {"description": "Not authenticated"})
            else:
                op["security"] = []
            if access and access.features:
                op["x-required-features"] = list(access.features)
                op["responses"].setdefault("403", {"description": "Missing required features"})
                op["description"] = (doc + f"\n\nRequires features: {', '.join(access.features)}").strip()
            if access and access.super_admin:
                op["x-super-admin-only"] = True
                op["description"] = (op["description"] + "\n\nSuper admins only.").strip()
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wharf API",
            "version": app.config["VERSION"],
            "description": "Warehouse outbound floor and access control. Same routes as the web UI.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Access token from POST /api/auth/login",
                },
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API key secret (whk_…) from POST /api/api_keys/keys",
                },
            },
        },
    }


def _operation_id(rule, method: str) -> str:
    """``api_keys.create_key``: the module and the view (a generated client's function
    names). The method is added where one view answers several, the path's parameters
    where one view serves two paths (an image with and without its slug)."""
    out = rule.endpoint.removeprefix("api_")
    if len(rule.methods - {"HEAD", "OPTIONS"}) > 1:
        out += f".{method.lower()}"
    if rule.defaults:  # the shorter of two paths to one view: its parameters come as defaults
        out += "_without_" + "_".join(sorted(rule.defaults))
    return out


# --- the readable reference (/api/docs) -------------------------------------------------------


def resolve(schema: dict, components: dict) -> dict:
    """A schema with its top-level ``$ref`` (or a nullable ``anyOf`` of one) followed."""
    seen = 0
    while seen < 10:
        seen += 1
        if "$ref" in schema:
            schema = components.get(schema["$ref"].rsplit("/", 1)[1], {})
        elif "anyOf" in schema and len([s for s in schema["anyOf"] if s.get("type") != "null"]) == 1:
            schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        else:
            return schema
    return schema


def type_label(schema: dict, components: dict) -> str:
    """``string (uuid)``, ``array of ApiKeyRole``, ``integer | null`` … for people."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "anyOf" in schema:
        return " | ".join(type_label(s, components) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {type_label(schema.get('items', {}), components)}"
    return kind + (f" ({schema['format']})" if schema.get("format") else "")


def example_of(schema: dict, components: dict, depth: int = 0):
    """An example value of ``schema``: its own example, else a skeleton like the seeds show."""
    if depth > 6:
        return None
    if schema.get("examples"):
        return schema["examples"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if "$ref" in schema:
        return example_of(resolve(schema, components), components, depth + 1)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return example_of(options[0], components, depth + 1) if options else None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: example_of(prop, components, depth + 1) for name, prop in schema.get("properties", {}).items()}
    if kind == "array":
        return [example_of(schema.get("items", {}), components, depth + 1)]
    return {"integer": 1, "number": 1.0, "boolean": True, "null": None}.get(
        kind,
        {
            "uuid": "00000000-0000-4000-8000-000000000000",
            "date-time": "2026-11-22T10:00:00.000Z",
            "date": "2026-11-22",
            "email": "user@example.com",
            "binary": "<file>",
        }.get(schema.get("format"), "string"),
    )


def reference(doc: dict) -> list[dict]:
    """The document regrouped for the docs page: modules, their operations, fields and examples."""
    import json

    components = doc["components"]["schemas"]
    groups: dict[str, list] = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            entry = {"method": method, "path": path, "op": op, "fields": [], "request_example": None, "responses": []}
            body = op.get("requestBody", {}).get("content", {})
            media = next(iter(body), None)
            if media:
                schema = body[media]["schema"]
                resolved = resolve(schema, components)
                required = set(resolved.get("required", []))
                entry["media_types"] = list(body)
                entry["fields"] = [
                    {
                        "name": n,
                        "type": type_label(p, components),
                        "required": n in required,
                        "description": p.get("description", ""),
                    }
                    for n, p in resolved.get("properties", {}).items()
                ]
                examples = body[media].get("examples")
                value = next(iter(examples.values()))["value"] if examples else example_of(schema, components)
                entry["request_example"] = json.dumps(value, indent=2, default=str)
            for code, r in op["responses"].items():
                content = r.get("content", {}).get("application/json")
                entry["responses"].append(
                    {
                        "code": code,
                        "description": r.get("description", ""),
                        "type": type_label(content["schema"], components) if content else "",
                        "example": json.dumps(example_of(content["schema"], components), indent=2, default=str)
                        if content and code.startswith("2")
                        else None,
                    }
                )
            groups.setdefault(op["tags"][0], []).append(entry)
    return [{"tag": tag, "operations": ops} for tag, ops in sorted(groups.items())]
