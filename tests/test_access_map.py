"""Every endpoint declares its access; the declarations are enforced."""

import re

from web.access import access_of, registry


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
    """The rule with every <converter:name> filled by a well-formed id that matches nothing."""
    return re.sub(r"<(?:[^:>]+:)?\w+>", "00000000-0000-4000-8000-000000000000", rule.rule)


def test_anonymous_gets_401_on_every_protected_json_route(app, client):
    for rule, view in endpoints(app):
        if access_of(view).public:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            r = client.open(_url(rule), method=method, headers={"Accept": "application/json"})
            assert r.status_code == 401, (method, rule.rule, r.status_code)
