"""The OpenAPI document is generated from the route map and covers every JSON route."""

import re

from tests.support import api_token, bearer
from web.contract import operation_of
from web.openapi import openapi_path, resolve

# Routes under /api/ that answer HTML, not JSON (written out here, not read from the generator).
API_PAGES = {"/api/docs"}
# Negotiated routes that answer JSON to a JSON client but are not in the document, and why.
# The test fails when a new one appears, and when one listed here is documented or stops
# answering JSON without being removed from this list.
UNDOCUMENTED = {
    ("/", "GET"): "gap: the dashboard answers the signed-in user's summary as JSON",
    (
        "/auth/users/edit",
        "GET",
    ): "gap: the user-edit screen answers user_row JSON (clients read GET /api/auth/users?id=)",
    ("/healthz", "GET"): "the load balancer's probe, not part of the API",
}


def _served(rule) -> set[str]:
    return set(rule.methods) - {"HEAD", "OPTIONS"}


def test_every_json_route_is_in_the_document_and_nothing_else(app, client, admin):
    """Walked from the URL map, not from the generator: every route under /api/ (but its
    HTML pages) has its path and method in the document, each with a success response;
    every negotiated route that answers JSON (it declares an operation) is documented
    through the /api/ route of the same view; and the document lists nothing Flask does not serve."""
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()): op for path, ops in doc["paths"].items() for method, op in ops.items()}
    api_served, documented_views = set(), set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in API_PAGES:
            continue
        path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule)
        for method in _served(rule):
            api_served.add((path, method))
            assert (path, method) in documented, f"{method} {rule.rule} is served but not documented"
            op = documented[(path, method)]
            assert any(code.startswith(("2", "3")) for code in op["responses"]), f"{method} {rule.rule}: no success"
            documented_views.add((app.view_functions[rule.endpoint], method))
    assert set(documented) == api_served, f"documented but not served: {sorted(set(documented) - api_served)}"

    answers_json, h = set(), bearer(api_token(client, admin))
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.rule.startswith("/api/") or rule.endpoint == "static":
            continue  # under /api/: checked above
        if operation_of(view) is not None:  # declared: it answers JSON to a JSON client
            answers_json |= {(rule.rule, m) for m in _served(rule) if (view, m) not in documented_views}
            continue
        # Not declared: ask it, as a super admin who prefers JSON.
        assert _served(rule) == {"GET"}, f"{rule.rule} takes writes without declaring an operation"
        url = re.sub(r"<(?:[^:>]+:)?(\w+)>", "x", rule.rule)
        r = client.get(url, headers={**h, "Accept": "application/json"})
        if r.is_json and r.status_code < 300:
            answers_json.add((rule.rule, "GET"))
    assert answers_json == set(UNDOCUMENTED)


def test_document_carries_access_and_bodies(client):
    doc = client.get("/api/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    login = doc["paths"]["/api/auth/login"]["post"]
    assert login["security"] == []
    props = resolve(login["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"], schemas)[
        "properties"
    ]
    assert {"email", "password"} <= set(props) and "next" not in props
    profile = doc["paths"]["/api/auth/profile"]
    assert profile["get"]["security"] == [{"bearerAuth": []}, {"apiKey": []}]
    assert (
        "currentPassword"
        in resolve(profile["put"]["requestBody"]["content"]["application/json"]["schema"], schemas)["properties"]
    )
    assert "/api/docs" not in doc["paths"]  # the HTML page is not a JSON route


def test_path_parameters_are_converted():
    path, params = openapi_path("/api/lcs/shipments/<uuid:id>/items/<int:n>")
    assert path == "/api/lcs/shipments/{id}/items/{n}"
    assert params[0]["schema"] == {"type": "string", "format": "uuid"}
    assert params[1]["schema"] == {"type": "integer"}


def test_docs_page_lists_operations_offline(client):
    html = client.get("/api/docs").get_data(as_text=True)
    assert "POST" in html and "/api/auth/session/refresh" in html
    assert "http://" not in html and "https://" not in html  # no CDN, nothing external


def test_versioned_paths_are_tagged_by_module(client):
    doc = client.get("/api/openapi.json").get_json()
    tags = {
        op["tags"][0] for path, ops in doc["paths"].items() if path.startswith("/api/v1/plans") for op in ops.values()
    }
    assert tags == {"plans"}


def test_paging_parameters_follow_the_helper_a_view_calls(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    shipments = paths["/api/lcs/shipments"]["get"]
    assert {(p["name"], p["in"]) for p in shipments["parameters"]} >= {("x-page", "header"), ("x-page-size", "header")}
    assert set(shipments["responses"]["200"]["headers"]) == {"x-count", "x-page", "x-page-size", "x-next-page"}
    users = paths["/api/auth/users"]["get"]
    assert {p["name"] for p in users["parameters"] if p["in"] == "query"} >= {"page", "pageSize", "search", "sortDir"}
    assert not any(p["in"] == "header" for p in paths["/api/auth/users"]["post"]["parameters"])


def test_document_validates_as_openapi_3_1(client):
    from openapi_spec_validator import validate

    doc = client.get("/api/openapi.json").get_json()
    validate(doc)  # raises on any structural error
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
