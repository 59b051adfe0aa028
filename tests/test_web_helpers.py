"""The web patterns written once in web/: the form shown again (show_again, field_errors,
field_error), the block chosen by HX-Target, empty answers, redirects after a write,
per-request htmx details and response mode, navigation derived from @requires, and the
lcs pages that re-fetch their state instead of reloading."""

import json

import pytest
from flask import Flask

from models import User, db
from services import roles as roles_svc
from services import users as users_svc
from services.acl import EVERYTHING, Actor
from services.errors import NotFound, ValidationFailed
from tests.support import BROWSER, api_token, bearer, browser_login
from web.access import FeatureRegistry, access_of, nav_features, public, registry, requires
from web.forms import field_error, field_errors, show_again
from web.htmx import htmx_details
from web.negotiate import empty, respond, response_mode, see_other

HX = {"HX-Request": "true"}
JSON = {"Accept": "application/json"}
INVALID = ValidationFailed(
    "Invalid input",
    details=[
        {"path": ["email"], "message": "must be an email address"},
        {"path": ["address", "city"], "message": "is required"},
        {"path": ["barcodes", 0], "message": "is too long"},
        {"path": ["barcodes", 1], "message": "is taken"},
    ],
)


# --- field messages ----------------------------------------------------------------------------


def test_field_errors_keys_messages_by_dotted_path():
    assert field_errors(INVALID.details) == {
        "email": ["must be an email address"],
        "address.city": ["is required"],
        "barcodes.0": ["is too long"],
        "barcodes.1": ["is taken"],
    }
    assert field_errors([{"message": "body is empty"}]) == {"_": ["body is empty"]}


def test_field_error_shows_a_field_and_its_parts_escaped():
    errs = {**field_errors(INVALID.details), "name": ["<b>bold</b>"], "names": ["not mine"]}
    assert str(field_error(errs, "barcodes")) == (
        '<small class="field-error">is too long</small><small class="field-error">is taken</small>'
    )
    assert str(field_error(errs, "address.city")) == '<small class="field-error">is required</small>'
    assert str(field_error(errs, "name")) == '<small class="field-error">&lt;b&gt;bold&lt;/b&gt;</small>'
    assert str(field_error(errs, "address.street")) == "" and str(field_error(None, "name")) == ""


# --- show_again ----------------------------------------------------------------------------------


def test_show_again_renders_the_block_with_messages_and_what_was_typed(app):
    hook = show_again("auth/login.html", "login_form", context=lambda: {"extra": 1})
    with app.test_request_context("/auth/login", method="POST", headers=HX):
        resp = hook(INVALID, {"email": "nope", "address.city": ""})
        html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "<html" not in html and 'id="login-form"' in html  # the block, not the page
    assert 'class="field-error">must be an email address' in html and 'value="nope"' in html


def test_show_again_hands_context_the_view_args_and_nests_dotted_names(app, monkeypatch):
    seen = {}

    def capture(*args, **kwargs):
        seen.update(kwargs["context"])
        return "rendered"

    monkeypatch.setattr("web.forms.respond", capture)
    hook = show_again("x.html", "b", context=lambda location_id: {"loc": location_id})
    with app.test_request_context("/lcs/locations/1", method="PUT", headers=HX):
        from flask import request

        request.view_args = {"location_id": "L-1"}
        assert hook(INVALID, {"name": "Dock", "address.city": "Ghent"}) == "rendered"
    assert seen["loc"] == "L-1" and seen["form"] == {"name": "Dock", "address": {"city": "Ghent"}}
    assert seen["error"] == "Invalid input" and seen["errors"]["address.city"] == ["is required"]


def test_show_again_raises_what_a_person_cannot_fix_in_the_form(app):
    with app.test_request_context("/x", method="POST", headers=HX):
        with pytest.raises(NotFound):  # 404 is not among the default statuses
            show_again("auth/login.html", "login_form")(NotFound("gone"), {})
        with pytest.raises(ValidationFailed):  # context None: no record to show the form of
            show_again("auth/login.html", "login_form", context=lambda: None)(INVALID, {})
        shown = show_again("auth/login.html", "login_form", statuses=(404,))(NotFound("gone"), {})
        assert shown.status_code == 422


def test_show_again_status_none_keeps_the_refusals_status_and_headers(app):
    throttled = ValidationFailed("Too many attempts")
    throttled.status, throttled.headers = 429, {"Retry-After": "60"}
    with app.test_request_context("/auth/login", method="POST", headers=HX):
        resp = show_again("auth/login.html", "login_form", status=None, statuses=None)(throttled, {})
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "60"


# --- respond(targets=, toast=, trigger=), empty, see_other ----------------------------------------


def test_targets_pick_the_block_htmx_swaps(client, admin):
    h = bearer(api_token(client, admin))
    table = client.get("/lcs/locations", headers={**h, **HX, "HX-Target": "location-table"}).get_data(as_text=True)
    assert table.lstrip().startswith('<div id="location-table"')
    other = client.get("/lcs/locations", headers={**h, **HX, "HX-Target": "somewhere-else"}).get_data(as_text=True)
    assert not other.lstrip().startswith('<div id="location-table"') and 'id="location-table"' in other
    assert client.get("/lcs/locations", headers={**h, "HX-Target": "location-table"}).is_json  # JSON ignores it


def test_toast_and_trigger_are_for_people_only(app):
    for headers, expected in ((HX, True), (JSON, False)):
        with app.test_request_context("/x", headers=headers):
            resp = respond({"ok": True}, toast="Saved", trigger="thing-changed")
            events = json.loads(resp.headers.get("HX-Trigger", "{}"))
            assert ("thing-changed" in events and events["wharf:toast"]["message"] == "Saved") is expected
    with app.test_request_context("/x", headers=HX):
        resp = respond(None, toast=("Careful", "warning"))
        assert json.loads(resp.headers["HX-Trigger"])["wharf:toast"] == {"message": "Careful", "level": "warning"}


def test_empty_answers(app):
    with app.test_request_context("/x", method="DELETE", headers=JSON):
        resp = empty({"ok": True}, page="/back", toast="Deleted")
        assert resp.get_json() == {"ok": True} and "HX-Trigger" not in resp.headers
    with app.test_request_context("/x", method="DELETE", headers=JSON):
        assert empty(status=204).status_code == 204
    with app.test_request_context("/x", method="DELETE", headers=HX):
        resp = empty({"ok": True}, page="/back", toast="Deleted")
        assert resp.status_code == 200 and resp.get_data() == b""  # htmx swaps the row away
        assert "wharf:toast" in json.loads(resp.headers["HX-Trigger"])
    with app.test_request_context("/x", method="POST", headers=BROWSER):
        resp = empty({"ok": True}, page="/back")
        assert resp.status_code == 303 and resp.headers["Location"] == "/back"


def test_see_other(app):
    with app.test_request_context("/x", method="POST", headers=JSON):
        resp = see_other("/next", {"id": 7}, status=201)
        assert resp.status_code == 201 and resp.get_json() == {"id": 7} and "Location" not in resp.headers
    with app.test_request_context("/x", method="POST", headers=HX):
        resp = see_other("/next", {"id": 7}, toast="Created")
        assert resp.status_code == 200 and resp.headers["HX-Redirect"] == "/next" and resp.get_data() == b""
    with app.test_request_context("/x", method="POST", headers=BROWSER):
        resp = see_other("/next")
        assert resp.status_code == 303 and resp.headers["Location"] == "/next"


# --- once per request ---------------------------------------------------------------------------


def test_htmx_details_and_response_mode_are_computed_once_per_request(app, monkeypatch):
    calls = []
    import web.htmx
    import web.negotiate

    read, decide = web.htmx._read_details, web.negotiate._decide_mode
    monkeypatch.setattr(web.htmx, "_read_details", lambda: calls.append("htmx") or read())
    monkeypatch.setattr(web.negotiate, "_decide_mode", lambda: calls.append("mode") or decide())
    with app.app_context():  # one app context around two requests shares flask.g
        with app.test_request_context("/x", headers={**HX, "HX-Target": "a"}):
            assert htmx_details() is htmx_details() and htmx_details().target == "a"
            assert response_mode() == response_mode() == "fragment"
        with app.test_request_context("/x", headers=JSON):
            assert htmx_details().target is None and response_mode() == "json"
    assert sorted(calls) == ["htmx", "htmx", "mode", "mode"]


# --- navigation ---------------------------------------------------------------------------------


def _user_with(app, tenant, email, features):
    with app.app_context():
        role = roles_svc.create_role(Actor(None, EVERYTHING), f"only {email}", tenant_id=tenant)
        roles_svc.update_role_acl(
            Actor(None, EVERYTHING), role.id, features=list(features), is_super_admin=False, organizations=None
        )
        user_id = users_svc.create_user(
            Actor(None, EVERYTHING),
            email=email,
            password="correct-horse-9",
            name="",
            role_ids=[role.id],
            tenant_id=tenant,
        ).id
        db.session.commit()
        return user_id


def test_nav_item_shows_exactly_when_its_endpoints_features_are_held(app, tenant):
    holder = _user_with(app, tenant, "loc@acme.test", ["lcs.locations.read"])
    other = _user_with(app, tenant, "meth@acme.test", ["lcs.methods.read"])
    with app.test_request_context("/"):
        assert nav_features(app, "lcs.locations") == access_of(app.view_functions["lcs.locations"]).features
        for user_id in (holder, other):
            user = db.session.get(User, user_id)
            shown = {n.endpoint for n in registry.nav_for(user)}
            for item in registry.nav:
                needed = access_of(app.view_functions[item.endpoint]).features
                held = (
                    user_id == holder
                    and set(needed) <= {"lcs.locations.read"}
                    or user_id == other
                    and set(needed) <= {"lcs.methods.read"}
                )
                assert (item.endpoint in shown) is held, item.endpoint
        assert "lcs.locations" in {n.endpoint for n in registry.nav_for(db.session.get(User, holder))}


def test_nav_item_without_requires_fails_loudly():
    app = Flask("nav-check")

    @app.get("/open")
    def open_page():
        return ""

    @app.get("/anyone")
    @public
    def anyone():
        return ""

    @app.get("/guarded")
    @requires("x.read")
    def guarded():
        return ""

    nav = FeatureRegistry()
    nav.add_nav("Guarded", "guarded")
    nav.check_nav(app)
    assert nav_features(app, "guarded") == ("x.read",)
    for endpoint in ("open_page", "anyone", "missing"):
        bad = FeatureRegistry()
        bad.add_nav("Bad", endpoint)
        with pytest.raises(LookupError, match="@requires"):
            bad.check_nav(app)
    with pytest.raises(TypeError):
        nav.add_nav("Old style", "guarded", "x.read")  # features are not declared twice


# --- lcs pages re-fetch their state instead of reloading ------------------------------------------


def _shipment(client, h):
    r = client.post(
        "/lcs/shipments", json={"type": "delivery", "is_outbound": True, "items": [{"sku": "A"}]}, headers=h
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()["id"]


def test_cancel_shipment_answers_an_event_and_a_toast_and_the_state_refetches(client, admin):
    h = bearer(api_token(client, admin))
    sid = _shipment(client, h)
    csrf = browser_login(client, admin)
    page = client.get(f"/lcs/shipments/{sid}", headers=BROWSER).get_data(as_text=True)
    assert "location.reload" not in page
    assert 'id="shipment-state"' in page and 'hx-trigger="lcs:shipment-changed from:body"' in page
    r = client.delete(f"/lcs/shipments/{sid}", headers={**HX, "X-CSRFToken": csrf})
    events = json.loads(r.headers["HX-Trigger"])
    assert r.status_code == 204 and "lcs:shipment-changed" in events
    assert events["wharf:toast"]["message"] == "Shipment canceled"
    state = client.get(f"/lcs/shipments/{sid}", headers={**HX, "HX-Target": "shipment-state"}).get_data(as_text=True)
    assert state.lstrip().startswith('<div id="shipment-state"') and ">canceled</span>" in state
    assert "Cancel shipment" not in state
    assert client.delete(f"/lcs/shipments/{_shipment(client, h)}", headers=h).headers.get("HX-Trigger") is None


def test_cancel_list_answers_an_event_and_a_toast_and_the_state_refetches(client, admin):
    h = bearer(api_token(client, admin))
    sid = _shipment(client, h)
    lid = client.post("/lcs/lists", json={"shipments": [{"id": sid, "label": "L"}]}, headers=h).get_json()["id"]
    csrf = browser_login(client, admin)
    page = client.get(f"/lcs/lists/{lid}", headers=BROWSER).get_data(as_text=True)
    assert "location.reload" not in page and 'hx-trigger="lcs:list-changed from:body"' in page
    r = client.delete(f"/lcs/lists/{lid}", headers={**HX, "X-CSRFToken": csrf})
    events = json.loads(r.headers["HX-Trigger"])
    assert r.status_code == 204 and "lcs:list-changed" in events
    assert events["wharf:toast"]["message"] == "Handling list cancelled"
    state = client.get(f"/lcs/lists/{lid}", headers={**HX, "HX-Target": "list-state"}).get_data(as_text=True)
    assert state.lstrip().startswith('<div id="list-state"') and ">cancelled</span>" in state
    assert "Cancel list" not in state


def test_no_template_or_script_reloads_the_page():
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent
    offenders = [
        str(p)
        for pattern in ("templates/**/*.html", "static/js/*.js")
        for p in root.glob(pattern)
        if "location.reload" in p.read_text()
    ]
    assert offenders == []


def test_counted_pluralises_unless_one_and_every_template_uses_it(app):
    from flask import render_template_string

    with app.test_request_context():
        said = render_template_string('{{ counted(0, "user") }}|{{ counted(1, "user") }}|{{ counted(12, "SKU") }}')
    assert said == "0 users|1 user|12 SKUs"
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent
    spelled_out = [str(p) for p in root.glob("templates/**/*.html") if "== 1 else 's'" in p.read_text()]
    assert spelled_out == [str(root / "templates/macros/forms.html")]
