"""Error envelopes of both wire families and the paging helpers, on a throwaway blueprint."""

import pytest
from flask import Blueprint, request

from app import create_app
from models import Scope, User
from schemas.base import PageHeaders, PageQuery
from services.errors import Conflict, NotFound, ValidationFailed
from tests.support import BROWSER
from web.access import public
from web.contract import operation
from web.negotiate import respond
from web.pagination import paginate_a, paginate_b

probe = Blueprint("probe", __name__)


class ProbeQuery(PageQuery):
    tenant: str


@probe.get("/api/probe_module/users")
@public
@operation(query=ProbeQuery, responses={200: dict})
def list_a(query: ProbeQuery):
    scope = Scope(query.tenant)
    body, _ = paginate_a(
        scope.select(User),
        serialize=lambda u: {"email": u.email},
        sort_fields={"email": User.email, "createdAt": User.created_at},
        default_sort="email",
        search_columns=[User.email, User.name],
        query=query,
    )
    return respond(body)


@probe.get("/lcs/probe-users")
@public
@operation(headers=PageHeaders, responses={200: list})
def list_b(headers: PageHeaders):
    items, page_headers, _ = paginate_b(
        Scope(request.args["tenant"]).select(User).order_by(User.email),
        serialize=lambda u: {"email": u.email},
        headers=headers,
    )
    return respond(items, headers=page_headers)


@probe.route("/lcs/probe-fail", methods=["GET", "POST"])
@probe.route("/api/probe_module/fail", methods=["GET", "POST"])
@probe.route("/probe/fail", methods=["GET", "POST"])
@public
def fail():
    kind = request.args.get("kind")
    if kind == "validation":
        raise ValidationFailed(
            details=[
                {"path": ["name"], "message": "is required", "kind": "required"},
                {"path": ["weight"], "message": "must be positive"},
            ]
        )
    if kind == "conflict":
        raise Conflict("Shipment already packed")
    if kind == "boom":
        raise RuntimeError("secret internals")
    raise NotFound("Shipment not found")


@pytest.fixture(scope="module")
def probe_app(app):
    other = create_app(
        {
            **{
                k: app.config[k]
                for k in ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "ARGON2_TIME_COST", "ARGON2_MEMORY_COST")
            },
            "TESTING": True,
        }
    )
    other.register_blueprint(probe)
    return other


@pytest.fixture()
def pc(probe_app):
    return probe_app.test_client()


@pytest.fixture()
def users(make, tenant):
    for i in range(7):
        make.user(tenant, f"user{i}@acme.test", name=f"Name {i}")
    other = make.tenant("Other")
    make.user(other, "intruder@other.test")
    return tenant


def test_family_a_error_envelopes(pc):
    r = pc.get("/api/probe_module/fail")
    assert r.status_code == 404 and r.get_json() == {"error": "Shipment not found"}
    r = pc.get("/api/probe_module/fail?kind=validation")
    assert r.status_code == 400
    assert r.get_json() == {
        "error": "Validation failed",
        "details": [{"path": ["name"], "message": "is required"}, {"path": ["weight"], "message": "must be positive"}],
    }
    assert pc.get("/api/probe_module/fail?kind=conflict").status_code == 409


def test_wire_family_by_path(app):
    from web.errors import wire_family

    assert [
        wire_family(p)
        for p in ("/lcs/lists", "/api/lcs/lists", "/api/cnt/barcode", "/lcsx", "/api/auth/roles", "/auth/profile")
    ] == ["B", "B", "B", "A", "A", "A"]


def test_family_b_error_envelope(pc):
    r = pc.get("/lcs/probe-fail?kind=validation")
    body = r.get_json()
    assert r.status_code == 400
    assert body["code"] == 400 and body["message"] == "Validation failed"
    assert body["errors"] == {"required": ["name"], "invalid value": ["weight"]}
    assert body["reference"] == r.headers["x-request-id"]


def test_unexpected_error_is_a_clean_500(pc):
    r = pc.get("/api/probe_module/fail?kind=boom")
    assert r.status_code == 500
    assert "secret internals" not in r.get_data(as_text=True)
    assert r.headers["x-request-id"] in r.get_json()["error"]
    r = pc.get("/lcs/probe-fail?kind=boom")
    assert r.get_json()["code"] == 500


def test_html_error_page_and_htmx_error_fragment(pc):
    page = pc.get("/probe/fail?kind=conflict", headers=BROWSER)
    assert page.status_code == 409 and "<!doctype html>" in page.get_data(as_text=True)
    assert "Shipment already packed" in page.get_data(as_text=True)
    frag = pc.get("/probe/fail?kind=conflict", headers={"HX-Request": "true"})
    html = frag.get_data(as_text=True)
    assert frag.status_code == 409 and "<html" not in html and 'class="toast toast-error"' in html
    assert frag.headers["HX-Retarget"] == "#toasts" and frag.headers["HX-Reswap"] == "beforeend"


def test_werkzeug_errors_use_the_envelope(pc, client):
    assert pc.put("/api/probe_module/users").get_json() == {"error": "The method is not allowed for the requested URL."}
    big = client.post("/api/auth/login", data="x" * (17 * 1024 * 1024), content_type="text/plain")
    assert big.status_code == 413 and "error" in big.get_json()


def test_paginate_a(pc, users):
    r = pc.get(f"/api/probe_module/users?tenant={users}&pageSize=3&page=2")
    body = r.get_json()
    assert body["total"] == 7 and body["page"] == 2 and body["pageSize"] == 3 and body["totalPages"] == 3
    assert [i["email"] for i in body["items"]] == ["user3@acme.test", "user4@acme.test", "user5@acme.test"]
    desc = pc.get(f"/api/probe_module/users?tenant={users}&sortField=email&sortDir=desc").get_json()
    assert desc["items"][0]["email"] == "user6@acme.test" and desc["total"] == 7
    found = pc.get(f"/api/probe_module/users?tenant={users}&search=NAME 4").get_json()
    assert [i["email"] for i in found["items"]] == ["user4@acme.test"]
    assert pc.get(f"/api/probe_module/users?tenant={users}&search=%25").get_json()["total"] == 0


@pytest.mark.parametrize(
    "query", ["page=0", "page=x", "pageSize=0", "pageSize=101", "sortField=password_hash", "sortDir=sideways"]
)
def test_paginate_a_rejects_out_of_range(pc, users, query):
    r = pc.get(f"/api/probe_module/users?tenant={users}&{query}")
    assert r.status_code == 400 and r.get_json()["details"]


def test_paginate_b(pc, users):
    r = pc.get(f"/lcs/probe-users?tenant={users}", headers={"X-Page": "2", "X-PAGE-SIZE": "5"})
    assert r.status_code == 200
    assert [i["email"] for i in r.get_json()] == ["user5@acme.test", "user6@acme.test"]
    assert r.headers["x-count"] == "7" and r.headers["x-page"] == "2"
    default = pc.get(f"/lcs/probe-users?tenant={users}")
    assert len(default.get_json()) == 7 and default.headers["x-page"] == "1"
    bad = pc.get(f"/lcs/probe-users?tenant={users}", headers={"x-page-size": "500"})
    assert bad.status_code == 400 and bad.get_json()["errors"] == {"invalid value": ["x-page-size"]}


def test_no_write_endpoint_crashes_on_a_json_body_of_the_wrong_shape(app, client, admin):
    """Every POST/PUT/PATCH/DELETE route under /api, called by a super admin with JSON that
    is not what it expects (an array, a bare string, an object of wrong types): a 4xx in the
    module's envelope, never a 500."""
    import uuid as _uuid

    from tests.support import api_token, bearer

    h = bearer(api_token(client, admin))
    samples = {"uuid": str(_uuid.uuid4()), "int": "1", "default": "x", "string": "x", "path": "x"}
    bodies = ([1, 2], "text", {"id": 5, "name": [], "email": {}, "items": "x", "features": 7})
    crashed = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            path = rule.rule
            for arg, conv in rule._converters.items():
                kind = type(conv).__name__.replace("Converter", "").lower()
                path = path.replace(f"<{kind}:{arg}>", samples.get(kind, "x")).replace(f"<{arg}>", samples["default"])
            if "logout" in path:
                continue
            for body in bodies:
                r = client.open(path, method=method, json=body, headers=h)
                if r.status_code >= 500:
                    crashed.append((method, path, body, r.status_code))
    assert not crashed, "\n".join(f"{m} {p} {b!r} {s}" for m, p, b, s in crashed)
