"""Feature toggles: the seed 000 contract, tenant isolation, reservation, types, screens."""

import pytest

from models import db
from services import roles as roles_svc
from services import toggles
from tests.support import BROWSER, api_token, bearer, browser_login, refusal

G = "/api/feature_toggles/global"


@pytest.fixture()
def tenant_admin(make, tenant):
    make.member(tenant, "boss@acme.test", roles_svc.ADMINISTRATOR)
    return "boss@acme.test"


@pytest.fixture()
def root(client, admin):
    return bearer(api_token(client, admin))


@pytest.fixture()
def boss(client, tenant_admin):
    return bearer(api_token(client, tenant_admin))


def _create(client, root, **body):
    r = client.post(G, json={"name": "T", "type": "boolean", "defaultValue": False, **body}, headers=root)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_global_crud_contract(client, root):
    tid = _create(client, root, identifier="lcs.labels.zpl", description="ZPL labels", category="Labels")
    listing = client.get(f"{G}?search=zpl", headers=root).get_json()
    assert listing["total"] == 1 and set(listing) >= {"items", "total", "page", "pageSize", "totalPages"}
    item = listing["items"][0]
    assert {k: item[k] for k in ("id", "identifier", "name", "description", "category", "type", "defaultValue")} == {
        "id": tid,
        "identifier": "lcs.labels.zpl",
        "name": "T",
        "description": "ZPL labels",
        "category": "Labels",
        "type": "boolean",
        "defaultValue": False,
    }
    assert client.get(f"{G}/{tid}", headers=root).get_json()["identifier"] == "lcs.labels.zpl"
    r = client.put(G, json={"id": tid, "description": None, "category": "Printing", "defaultValue": True}, headers=root)
    assert r.status_code == 200 and r.get_json() == {"id": tid}
    assert client.get(f"{G}/{tid}", headers=root).get_json()["defaultValue"] is True
    assert client.delete(f"{G}?id={tid}", headers=root).get_json() == {"id": tid}
    assert client.get(f"{G}/{tid}", headers=root).status_code == 404
    assert client.delete(f"{G}?id={tid}", headers=root).status_code == 404
    assert client.delete(G, headers=root).status_code == 400


def test_list_filters_sort_and_bounds(client, root):
    _create(client, root, identifier="a.one", category="Scanning")
    _create(client, root, identifier="b.two", type="number", defaultValue=2, category="Lists")
    assert [i["identifier"] for i in client.get(f"{G}?type=number", headers=root).get_json()["items"]] == ["b.two"]
    assert [i["identifier"] for i in client.get(f"{G}?category=scan", headers=root).get_json()["items"]] == ["a.one"]
    assert (
        client.get(f"{G}?sortField=identifier&sortDir=desc", headers=root).get_json()["items"][0]["identifier"]
        == "b.two"
    )
    assert client.get(f"{G}?pageSize=200", headers=root).status_code == 200
    for bad in ("pageSize=201", "type=float", "sortField=secret"):
        assert client.get(f"{G}?{bad}", headers=root).status_code == 400


@pytest.mark.parametrize(
    "body, field",
    [
        ({"identifier": "Bad-Upper"}, "identifier"),
        ({"identifier": "1abc"}, "identifier"),
        ({"identifier": ""}, "identifier"),
        ({"type": "float"}, "type"),
        ({"type": "boolean", "defaultValue": "yes"}, "defaultValue"),
        ({"type": "number", "defaultValue": "3"}, "defaultValue"),
        ({"type": "number", "defaultValue": True}, "defaultValue"),
        ({"type": "string", "defaultValue": 5}, "defaultValue"),
        ({"type": "json", "defaultValue": None}, "defaultValue"),
        ({"name": ""}, "name"),
    ],
)
def test_create_validation(client, root, body, field):
    r = client.post(
        G, json={"identifier": "ok.id", "name": "N", "type": "boolean", "defaultValue": False, **body}, headers=root
    )
    assert r.status_code == 400 and r.get_json()["details"][0]["path"] == [field]
    assert client.get(G, headers=root).get_json()["total"] == 0  # nothing half-written


def test_identifier_and_type_are_immutable_and_reserved_after_delete(client, root):
    tid = _create(client, root, identifier="keep.me")
    assert client.put(G, json={"id": tid, "identifier": "other.id"}, headers=root).status_code == 400
    assert client.put(G, json={"id": tid, "type": "string"}, headers=root).status_code == 400
    assert client.put(G, json={"id": tid, "defaultValue": "on"}, headers=root).status_code == 400
    client.delete(f"{G}?id={tid}", headers=root)
    r = client.post(G, json={"identifier": "keep.me", "name": "Again", "type": "boolean"}, headers=root)
    assert r.status_code == 400 and "reserved" in r.get_json()["error"]


def test_seed_contract_duplicate_identifier_and_missing_type_are_400(client, root):
    """Seed 000 and Open Mercato answer a taken identifier with 400 (not 409), and a
    toggle without ``type`` is refused, not made a boolean."""
    _create(client, root, identifier="dup.me")
    dup = client.post(G, json={"identifier": "dup.me", "name": "Again", "type": "boolean"}, headers=root)
    assert dup.status_code == 400 and dup.get_json()["details"] == [{"path": ["identifier"], "message": "is taken"}]
    untyped = client.post(G, json={"identifier": "no.type", "name": "N", "defaultValue": False}, headers=root)
    assert untyped.status_code == 400 and untyped.get_json()["details"][0]["path"] == ["type"]
    assert client.get(f"{G}?identifier=no.type", headers=root).get_json()["total"] == 0


def test_tenant_admin_cannot_change_global_definitions(client, root, boss):
    tid = _create(client, root, identifier="x.y")
    assert (
        refusal(client.post(G, json={"identifier": "p.q", "name": "N", "type": "boolean"}, headers=boss), 403)
        == "Only super admins may do this"
    )
    assert (
        refusal(client.put(G, json={"id": tid, "defaultValue": True}, headers=boss), 403)
        == "Only super admins may do this"
    )
    assert refusal(client.delete(f"{G}?id={tid}", headers=boss), 403) == "Only super admins may do this"
    assert client.get(G, headers=boss).status_code == 200  # reading is fine


def test_check_endpoints(client, root, boss):
    _create(client, root, identifier="b.flag", defaultValue=True)
    _create(client, root, identifier="s.text", type="string", defaultValue="zpl")
    _create(client, root, identifier="n.count", type="number", defaultValue=2.5)
    _create(client, root, identifier="j.conf", type="json", defaultValue={"printer": "zebra", "dpi": [203, 300]})
    r = client.get("/api/feature_toggles/check/boolean?identifier=b.flag", headers=boss).get_json()
    assert (
        r["enabled"] is True
        and r["source"] == "default"
        and r["identifier"] == "b.flag"
        and r["tenantId"]
        and r["toggleId"]
    )
    assert client.get("/api/feature_toggles/check/string?identifier=s.text", headers=boss).get_json()["value"] == "zpl"
    n = client.get("/api/feature_toggles/check/number?identifier=n.count", headers=boss).get_json()
    assert n["value"] == 2.5 and n["valueType"] == "number"
    j = client.get("/api/feature_toggles/check/json?identifier=j.conf", headers=boss).get_json()
    assert j["value"] == {"printer": "zebra", "dpi": [203, 300]} and j["valueType"] == "json"
    assert client.get("/api/feature_toggles/check/number?identifier=b.flag", headers=boss).status_code == 400
    assert client.get("/api/feature_toggles/check/boolean?identifier=missing.one", headers=boss).status_code == 404
    assert client.get("/api/feature_toggles/check/boolean", headers=boss).status_code == 400
    assert client.get("/api/feature_toggles/check/boolean?identifier=b.flag").status_code == 401


def test_overrides_per_tenant_and_isolation(app, client, root, boss, make):
    tid = _create(client, root, identifier="lcs.scan.sound", defaultValue=True)
    other = make.tenant("Globex")
    make.member(other, "boss@globex.test", roles_svc.ADMINISTRATOR)
    globex = bearer(api_token(client, "boss@globex.test"))
    r = client.put(
        "/api/feature_toggles/overrides",
        json={"toggleId": tid, "isOverride": True, "overrideValue": False},
        headers=boss,
    )
    assert r.status_code == 200 and r.get_json()["ok"] is True and r.get_json()["overrideToggleId"]
    check = "/api/feature_toggles/check/boolean?identifier=lcs.scan.sound"
    assert client.get(check, headers=boss).get_json() | {} == client.get(check, headers=boss).get_json()
    assert client.get(check, headers=boss).get_json()["enabled"] is False
    assert client.get(check, headers=boss).get_json()["source"] == "override"
    assert client.get(check, headers=globex).get_json() | {"tenantId": None} == {
        "enabled": True,
        "source": "default",
        "toggleId": tid,
        "identifier": "lcs.scan.sound",
        "tenantId": None,
    }
    listing = client.get("/api/feature_toggles/overrides", headers=globex).get_json()
    assert listing["items"][0]["overrideState"] == "inherit" and listing["isSuperAdmin"] is False
    mine = client.get("/api/feature_toggles/overrides", headers=boss).get_json()["items"][0]
    assert (
        mine["overrideState"] == "disabled" and mine["defaultState"] is True and mine["tenantName"] == "Acme Logistics"
    )
    detail = client.get(f"/api/feature_toggles/global/{tid}/override", headers=boss).get_json()
    assert detail["toggleType"] == "boolean" and detail["tenantName"] == "Acme Logistics" and detail["id"]
    # Seed body without overrideValue enables; isOverride false returns to inherit.
    assert (
        client.put(
            "/api/feature_toggles/overrides", json={"toggleId": tid, "isOverride": True}, headers=globex
        ).status_code
        == 200
    )
    assert client.get(check, headers=globex).get_json()["enabled"] is True
    r = client.put("/api/feature_toggles/overrides", json={"toggleId": tid, "isOverride": False}, headers=boss)
    assert r.get_json() == {"ok": True, "overrideToggleId": None}
    assert client.get(check, headers=boss).get_json()["source"] == "default"


@pytest.mark.parametrize(
    "body, status",
    [
        ({"isOverride": True, "overrideValue": "false"}, 400),  # JSON string is not a boolean
        ({"isOverride": "maybe"}, 400),
        ({}, 400),
        ({"isOverride": True, "toggleId": "nope"}, 400),
        ({"isOverride": True, "toggleId": "00000000-0000-4000-8000-000000000000"}, 404),
    ],
)
def test_override_validation(client, root, boss, body, status):
    tid = _create(client, root, identifier="v.flag")
    r = client.put("/api/feature_toggles/overrides", json={"toggleId": tid, **body}, headers=boss)
    assert r.status_code == status


def test_override_value_type_checked(client, root, boss):
    tid = _create(client, root, identifier="n.limit", type="number", defaultValue=3)
    bad = client.put(
        "/api/feature_toggles/overrides", json={"toggleId": tid, "isOverride": True, "overrideValue": "9"}, headers=boss
    )
    assert bad.status_code == 400 and bad.get_json()["details"][0]["path"] == ["overrideValue"]
    ok = client.put(
        "/api/feature_toggles/overrides", json={"toggleId": tid, "isOverride": True, "overrideValue": 9}, headers=boss
    )
    assert ok.status_code == 200
    assert client.get("/api/feature_toggles/check/number?identifier=n.limit", headers=boss).get_json()["value"] == 9


def test_deleted_toggle_stops_resolving(client, root, boss):
    tid = _create(client, root, identifier="gone.soon", defaultValue=True)
    client.put("/api/feature_toggles/overrides", json={"toggleId": tid, "isOverride": True}, headers=boss)
    client.delete(f"{G}?id={tid}", headers=root)
    assert client.get("/api/feature_toggles/check/boolean?identifier=gone.soon", headers=boss).status_code == 404


def test_every_change_is_audited(app, client, root, boss):
    tid = _create(client, root, identifier="aud.it")
    client.put(G, json={"id": tid, "defaultValue": True}, headers=root)
    client.put(
        "/api/feature_toggles/overrides",
        json={"toggleId": tid, "isOverride": True, "overrideValue": False},
        headers=boss,
    )
    client.delete(f"{G}?id={tid}", headers=root)
    import sqlalchemy as sa

    from models import AuditLog

    with app.app_context():
        rows = list(
            db.session.scalars(sa.select(AuditLog).where(AuditLog.resource_id == tid).order_by(AuditLog.created_at))
        )
        kinds = [(r.resource_kind, r.action_type) for r in rows]
        edit, delete = rows[1], rows[3]
        # The snapshot is what a person changed: no timestamps, the deletion stamp included.
        assert "updatedAt" not in edit.snapshot_after and edit.snapshot_after["defaultValue"] is True
        assert edit.snapshot_before["deletedAt"] is None and delete.snapshot_before["deletedAt"] is None
    assert kinds == [
        ("feature_toggle", "create"),
        ("feature_toggle", "edit"),
        ("feature_toggle_override", "edit"),
        ("feature_toggle", "delete"),
    ]


def test_resolver_and_template_global(app, client, root, tenant_admin, boss):
    """Wharf's own pages read toggles: the scan-sound switch lands on <body>."""
    with app.app_context():
        assert toggles.ensure_builtin() == len(toggles.BUILTIN) and toggles.ensure_builtin() == 0
        sound = toggles.resolve("lcs.scan.sound", None)
    browser_login(client, tenant_admin)
    assert 'data-scan-sound="on"' in client.get("/", headers=BROWSER).get_data(as_text=True)
    client.application.test_client().put(
        "/api/feature_toggles/overrides",
        headers=boss,
        json={"toggleId": str(sound.toggle_id), "isOverride": True, "overrideValue": False},
    )
    assert 'data-scan-sound="off"' in client.get("/", headers=BROWSER).get_data(as_text=True)


def test_json_routes_asked_for_html_render_a_page(client, root, boss):
    """Seed contract (Open Mercato's pages ask with ``Accept: text/html``): the override
    routes answered 500 (a page rendered without its context); now the override page, or
    a redirect to it after a change."""
    tid = _create(client, root, identifier="html.flag", defaultValue=True)
    html = {**boss, **BROWSER}
    detail = client.get(f"/feature_toggles/global/{tid}/override", headers=html)
    assert detail.status_code == 200 and "<!doctype html>" in detail.get_data(as_text=True)
    assert "html.flag" in detail.get_data(as_text=True)
    changed = client.put("/feature_toggles/overrides", json={"toggleId": tid, "isOverride": True}, headers=html)
    assert changed.status_code == 303 and changed.location.endswith("/feature_toggles/overrides")
    assert (
        client.get("/api/feature_toggles/check/boolean?identifier=html.flag", headers=boss).get_json()["source"]
        == "override"
    )
    gone = client.delete(f"/feature_toggles/global?id={tid}", headers={**root, **BROWSER})
    assert gone.status_code == 303 and gone.location.endswith("/feature_toggles/global")


class TestScreens:
    def test_override_page_one_click_flip_and_inherit(self, client, root, tenant_admin):
        tid = _create(client.application.test_client(), root, identifier="ui.flag", defaultValue=True)
        csrf = browser_login(client, tenant_admin)
        page = client.get("/feature_toggles/overrides", headers=BROWSER).get_data(as_text=True)
        assert "<!doctype html>" in page and "ui.flag" in page and "inherited" in page
        hx = {"HX-Request": "true", "X-CSRFToken": csrf}
        flipped = client.put(
            "/feature_toggles/overrides",
            headers=hx,
            data={"toggleId": tid, "isOverride": "true", "overrideValue": "false"},
        )
        html = flipped.get_data(as_text=True)
        assert flipped.status_code == 200 and html.lstrip().startswith(f'<tr id="override-{tid}" data-state="disabled"')
        assert "wharf:toast" in flipped.headers["HX-Trigger"]
        back = client.put("/feature_toggles/overrides", headers=hx, data={"toggleId": tid, "isOverride": "false"})
        assert 'data-state="inherit"' in back.get_data(as_text=True)

    def test_global_page_create_with_typed_input(self, client, admin):
        csrf = browser_login(client, admin)
        page = client.get("/feature_toggles/global", headers=BROWSER).get_data(as_text=True)
        assert "data-type-select" in page and "data-json" in page
        hx = {"HX-Request": "true", "X-CSRFToken": csrf}
        bad = client.post(
            "/feature_toggles/global",
            headers=hx,
            data={"identifier": "cfg.printers", "name": "Printers", "type": "json", "defaultValue": "{not json"},
        )
        assert bad.status_code == 422 and "valid json" in bad.get_data(as_text=True)
        ok = client.post(
            "/feature_toggles/global",
            headers=hx,
            data={"identifier": "cfg.printers", "name": "Printers", "type": "json", "defaultValue": '{"dock": 1}'},
        )
        assert ok.status_code == 201 and "cfg.printers created" in ok.get_data(as_text=True)
        switch = client.post(
            "/feature_toggles/global",
            headers=hx,
            data={"identifier": "cfg.flag", "name": "Flag", "type": "boolean", "defaultValue": ["false", "true"]},
        )
        assert switch.status_code == 201
        frag = client.get(
            "/feature_toggles/global?search=cfg", headers={"HX-Request": "true", "HX-Target": "toggle-table"}
        )
        html = frag.get_data(as_text=True)
        assert html.lstrip().startswith('<table id="toggle-table"') and '{"dock": 1}' in html and "true" in html

    def test_edit_page_saves_via_htmx(self, client, admin, root):
        tid = _create(client.application.test_client(), root, identifier="ed.it", type="number", defaultValue=1)
        csrf = browser_login(client, admin)
        page = client.get(f"/feature_toggles/global/{tid}", headers=BROWSER).get_data(as_text=True)
        assert 'id="toggle-edit"' in page and 'type="number"' in page
        r = client.put(
            "/feature_toggles/global",
            headers={"HX-Request": "true", "X-CSRFToken": csrf},
            data={"id": tid, "name": "Edited", "defaultValue": "7"},
        )
        assert r.status_code == 200 and "Saved." in r.get_data(as_text=True)
        bad = client.put(
            "/feature_toggles/global",
            headers={"HX-Request": "true", "X-CSRFToken": csrf},
            data={"id": tid, "name": "Edited", "defaultValue": "seven"},
        )
        assert bad.status_code == 422
