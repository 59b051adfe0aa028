"""Every endpoint declares its access; the declarations are enforced."""
import pytest

from web.access import access_of, registry
from tests.conftest import api_token, bearer


def endpoints(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule, app.view_functions[rule.endpoint]


def test_every_endpoint_declares_access(app):
    missing = [r.rule for r, view in endpoints(app) if access_of(view) is None]
    assert not missing, f"endpoints without @requires/@public: {missing}"


def test_declared_features_exist_in_registry(app):
    unknown = {f for _, view in endpoints(app) for f in access_of(view).features if f not in registry.features}
    assert not unknown


def test_feature_ids_are_dotted_and_belong_to_declared_modules():
    for fid, feature in registry.features.items():
        assert fid.count(".") >= 1 and fid.split(".")[0] == feature.module
        assert feature.module in registry.modules


def _url(rule):
    args = {a: "00000000-0000-4000-8000-000000000000" for a in rule.arguments}
    return rule.rule.replace("<", "{").replace(">", "}").format(**{k.split(":")[-1]: v for k, v in args.items()}) \
        if rule.arguments else rule.rule


def test_anonymous_gets_401_on_every_protected_json_route(app, client):
    for rule, view in endpoints(app):
        if access_of(view).public:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            r = client.open(_url(rule), method=method, headers={"Accept": "application/json"})
            assert r.status_code == 401, (method, rule.rule, r.status_code)


def test_users_without_feature_are_refused_and_super_admin_passes(app, client, admin, staff, monkeypatch):
    """Until roles land, only super admins hold features: a featured route is 403 for staff."""
    from blueprints.dashboard import bp  # noqa: F401  (ensures the registry is loaded)
    from web.access import requires
    guarded = requires("auth.users.list")(lambda: {"ok": True})
    with app.test_request_context("/api/x", headers=bearer(api_token(client, staff))):
        from services.errors import Forbidden
        with pytest.raises(Forbidden) as err:
            guarded()
        assert err.value.extra["requiredFeatures"] == ["auth.users.list"]
    with app.test_request_context("/api/x", headers=bearer(api_token(client, admin))):
        assert guarded() == {"ok": True}


def test_forbidden_envelope_lists_required_features(app, client, staff):
    from services.errors import Forbidden
    from web.errors import render_error
    with app.test_request_context("/api/auth/roles"):
        e = Forbidden("Missing required features", requiredFeatures=["auth.roles.list"])
        r = render_error(e.status, e.message, extra=e.extra)
        assert r.status_code == 403
        assert r.get_json() == {"error": "Missing required features", "requiredFeatures": ["auth.roles.list"]}


def test_navigation_shows_only_what_user_may_open(app, client, staff, admin):
    class Probe:
        is_authenticated = True
        is_super_admin = False
    registry.add_nav("Secret", "dashboard.home", "auth.acl.manage", group="Test", order=999)
    try:
        titles = [n.title for n in registry.nav_for(Probe())]
        assert "Secret" not in titles and "Dashboard" in titles
        Probe.is_super_admin = True
        assert "Secret" in [n.title for n in registry.nav_for(Probe())]
    finally:
        registry.nav.pop()
