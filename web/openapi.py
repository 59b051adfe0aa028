"""OpenAPI 3.1 document generated from the URL map.

Paths come from the routes themselves, security and ``x-required-features`` from the
access decorator, summaries from docstrings, request bodies from the WTForms forms a
view declares with ``@documented(body=...)``. Nothing is listed by hand.
"""
from __future__ import annotations

import inspect
import re

from flask import Flask
from wtforms import fields as f

from web.access import access_of

_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_TYPES = {"int": {"type": "integer"}, "uuid": {"type": "string", "format": "uuid"},
          "float": {"type": "number"}}


def documented(*, body=None, summary: str | None = None, responses: dict | None = None):
    """Attach request/response documentation to a view (read by ``build_document``)."""

    def mark(view):
        view._openapi = {"body": body, "summary": summary, "responses": responses or {}}
        return view

    return mark


def form_schema(form_cls) -> dict:
    """JSON schema of a WTForms form's fields (hidden fields are browser-only)."""
    props, required = {}, []
    fields: dict = {}
    for klass in reversed(form_cls.__mro__):  # inherited fields too; a subclass may drop one with None
        fields.update({k: v for k, v in vars(klass).items() if hasattr(v, "field_class") or v is None})
    for name, unbound in fields.items():
        field_cls = getattr(unbound, "field_class", None)
        if field_cls is None or issubclass(field_cls, f.HiddenField):
            continue
        if issubclass(field_cls, f.BooleanField):
            schema = {"type": "boolean"}
        elif issubclass(field_cls, f.IntegerField):
            schema = {"type": "integer"}
        elif issubclass(field_cls, (f.DecimalField, f.FloatField)):
            schema = {"type": "number"}
        elif issubclass(field_cls, f.EmailField):
            schema = {"type": "string", "format": "email"}
        elif issubclass(field_cls, f.PasswordField):
            schema = {"type": "string", "format": "password"}
        else:
            schema = {"type": "string"}
        label = unbound.args[0] if unbound.args else name
        schema["title"] = str(label)
        props[name] = schema
        validators = unbound.kwargs.get("validators") or []
        if any(getattr(v, "field_flags", {}).get("required") for v in validators):
            required.append(name)
    out = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def openapi_path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def swap(m):
        params.append({"name": m["name"], "in": "path", "required": True,
                       "schema": _TYPES.get(m["conv"] or "", {"type": "string"})})
        return "{" + m["name"] + "}"

    return _CONVERTER.sub(swap, rule), params


def json_rules(app: Flask):
    """Rules answering JSON: under /api/ and not page-only."""
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if not rule.rule.startswith("/api/") or getattr(view, "_page_only", False) or rule.endpoint == "static":
            continue
        yield rule, view


def _param(name: str, where: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": where, "required": False, "schema": schema, "description": description}


# The paging helpers (web.pagination) a view calls decide its paging parameters: family A
# pages by query string, family B by request headers and answers with count headers.
_PAGE_A = [_param("page", "query", {"type": "integer", "minimum": 1}, "Page number (from 1)"),
           _param("pageSize", "query", {"type": "integer", "minimum": 1, "maximum": 100}, "Items per page"),
           _param("search", "query", {"type": "string"}, "Case-insensitive text search"),
           _param("sortField", "query", {"type": "string"}, "Field to sort by"),
           _param("sortDir", "query", {"type": "string", "enum": ["asc", "desc"]}, "Sort direction")]
_PAGE_B = [_param("x-page", "header", {"type": "integer", "minimum": 1}, "Page number (from 1)"),
           _param("x-page-size", "header", {"type": "integer", "minimum": 1, "maximum": 100}, "Items per page")]
_PAGE_B_HEADERS = {h: {"description": d, "schema": {"type": "integer"}}
                   for h, d in (("x-count", "Total number of items"), ("x-page", "This page"),
                                ("x-page-size", "Items per page"))}
_PAGING = {"paginate_a": "a", "paginate_b": "b", "paginate_list_b": "b", "page_params_b": "b"}


def paging_family(view, depth: int = 2) -> str | None:
    """``"a"``/``"b"`` when the view (under its decorators), or a function of its module it
    calls, calls a paging helper — read from the names its code refers to."""
    fn = inspect.unwrap(view)
    code = getattr(fn, "__code__", None)
    names = code.co_names if code else ()
    found = {_PAGING[name] for name in names if name in _PAGING}
    if not found and depth > 1:
        module = getattr(fn, "__globals__", {})
        for name in names:
            helper = module.get(name)
            if inspect.isfunction(helper) and helper.__module__ == fn.__module__:
                family = paging_family(helper, depth - 1)
                if family:
                    found.add(family)
    return found.pop() if len(found) == 1 else None


def _tag(rule: str) -> str:
    """The module a path belongs to: its first segment under /api, skipping a version
    segment (``/api/v1/plans`` is tagged "plans")."""
    segments = [s for s in rule.split("/")[2:] if s]
    if len(segments) > 1 and re.fullmatch(r"v\d+", segments[0]):
        return segments[1]
    return segments[0] if segments else "api"


def build_document(app: Flask) -> dict:
    paths: dict[str, dict] = {}
    for rule, view in sorted(json_rules(app), key=lambda rv: rv[0].rule):
        path, params = openapi_path(rule.rule)
        access = access_of(view)
        meta = getattr(view, "_openapi", {}) or {}
        doc = (view.__doc__ or "").strip()
        summary = meta.get("summary") or (doc.splitlines()[0] if doc else rule.endpoint)
        tag = _tag(rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op = {"operationId": f"{rule.endpoint}.{method.lower()}", "summary": summary,
                  "description": doc, "tags": [tag], "parameters": list(params),
                  "responses": {"200": {"description": "Success"}, **meta.get("responses", {})}}
            family = paging_family(view)
            if family == "a" and method == "GET":
                op["parameters"] += _PAGE_A
            elif family == "b":
                op["parameters"] += _PAGE_B
                op["responses"]["200"] = {**op["responses"]["200"], "headers": _PAGE_B_HEADERS}
            if access is None or not access.public:
                op["security"] = [{"bearerAuth": []}]
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
            if meta.get("body") is not None and method in {"POST", "PUT", "PATCH"}:
                schema = form_schema(meta["body"])
                op["requestBody"] = {"content": {"application/json": {"schema": schema},
                                                 "application/x-www-form-urlencoded": {"schema": schema}}}
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Wharf API", "version": "0.1.0",
                 "description": "Warehouse outbound floor and access control. Same routes as the web UI."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }
