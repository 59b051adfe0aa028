"""The OpenAPI document is generated from the route map and covers every JSON route."""
import re

from web.contract import operation_of
from web.openapi import openapi_path, resolve


def test_every_json_route_is_declared_and_in_the_document(app, client):
    """Read from the URL map itself (not the generator): every route under /api/ that is
    not a page declares its operation with a success response, and the document lists
    every (path, method) Flask serves there."""
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    served = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not rule.rule.startswith("/api/") or getattr(view, "_page_only", False):
            continue
        spec = operation_of(view)
        assert spec is not None, f"{rule.endpoint} declares no @operation"
        assert any(200 <= code < 400 for code in spec.responses), f"{rule.endpoint} declares no success response"
        path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule)
        served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served == documented


def test_document_carries_access_and_bodies(client):
    doc = client.get("/api/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    login = doc["paths"]["/api/auth/login"]["post"]
    assert login["security"] == []
    props = resolve(login["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"], schemas)["properties"]
    assert {"email", "password"} <= set(props) and "next" not in props
    profile = doc["paths"]["/api/auth/profile"]
    assert profile["get"]["security"] == [{"bearerAuth": []}, {"apiKey": []}]
    assert "currentPassword" in resolve(profile["put"]["requestBody"]["content"]["application/json"]["schema"],
                                        schemas)["properties"]
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
    tags = {op["tags"][0] for path, ops in doc["paths"].items() if path.startswith("/api/v1/plans")
            for op in ops.values()}
    assert tags == {"plans"}


def test_paging_parameters_follow_the_helper_a_view_calls(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    shipments = paths["/api/lcs/shipments"]["get"]
    assert {(p["name"], p["in"]) for p in shipments["parameters"]} >= {("x-page", "header"), ("x-page-size", "header")}
    assert set(shipments["responses"]["200"]["headers"]) == {"x-count", "x-page", "x-page-size"}
    users = paths["/api/auth/users"]["get"]
    assert {p["name"] for p in users["parameters"] if p["in"] == "query"} >= {"page", "pageSize", "search", "sortDir"}
    assert not any(p["in"] == "header" for p in paths["/api/auth/users"]["post"]["parameters"])


def test_document_validates_as_openapi_3_1(client):
    from openapi_spec_validator import validate
    doc = client.get("/api/openapi.json").get_json()
    validate(doc)  # raises on any structural error
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
