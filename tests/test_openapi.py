"""The OpenAPI document is generated from the route map and covers every JSON route."""
from web.openapi import json_rules, openapi_path, resolve


def test_every_json_route_is_documented(app, client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    missing = []
    for rule, _ in json_rules(app):
        path, _ = openapi_path(rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method.lower() not in doc["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    assert not missing


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
