"""Another tenant's toggle overrides (Open Mercato's test: a super admin who writes another
tenant's override can read it back with ``GET /feature_toggles/overrides?tenantId=…``).
Before, the write went to the named tenant while every read showed the caller's own; and a
tenant admin naming another tenant silently changed its own. Now reads and writes name the
same tenant, and only super admins may name another one (anyone else: 404)."""

import uuid

import pytest
import sqlalchemy as sa

from models import Tenant, db, utcnow
from services import roles as roles_svc
from tests.support import BROWSER, api_token, bearer, browser_login

G = "/api/feature_toggles/global"
OVERRIDES = "/api/feature_toggles/overrides"


@pytest.fixture()
def root(client, admin):
    return bearer(api_token(client, admin))


@pytest.fixture()
def globex(make):
    return make.tenant("Globex")


@pytest.fixture()
def boss(client, make, tenant):
    make.member(tenant, "boss@acme.test", roles_svc.ADMINISTRATOR)
    return bearer(api_token(client, "boss@acme.test"))


@pytest.fixture()
def flag(client, root):
    r = client.post(
        G, json={"identifier": "lcs.labels.zpl", "name": "ZPL", "type": "boolean", "defaultValue": True}, headers=root
    )
    assert r.status_code == 201
    return r.get_json()["id"]


def _row(client, headers, **query) -> dict:
    r = client.get(OVERRIDES, query_string=query, headers=headers)
    assert r.status_code == 200, r.get_json()
    [row] = r.get_json()["items"]
    return row


def test_super_admin_reads_back_another_tenants_override(client, make, root, flag, tenant, globex):
    r = client.put(
        OVERRIDES,
        json={"toggleId": flag, "isOverride": True, "overrideValue": False, "tenantId": str(globex)},
        headers=root,
    )
    assert r.status_code == 200 and r.get_json()["overrideToggleId"]
    theirs = _row(client, root, tenantId=str(globex))
    assert theirs["overrideState"] == "disabled" and theirs["isOverride"] is True
    assert theirs["tenantId"] == str(globex) and theirs["tenantName"] == "Globex"
    assert theirs["id"] == r.get_json()["overrideToggleId"]
    # the super admin's own tenant is untouched, and is still the default
    mine = _row(client, root)
    assert mine["overrideState"] == "inherit" and mine["tenantId"] == str(tenant)
    one = client.get(f"{G}/{flag}/override", query_string={"tenantId": str(globex)}, headers=root).get_json()
    assert one["tenantId"] == str(globex) and one["overrideState"] == "disabled" and one["value"] is False
    assert client.get(f"{G}/{flag}/override", headers=root).get_json()["overrideState"] == "inherit"
    # and Globex's people get the override
    make.member(globex, "boss@globex.test", roles_svc.ADMINISTRATOR)
    theirs_h = bearer(api_token(client, "boss@globex.test"))
    check = client.get("/api/feature_toggles/check/boolean?identifier=lcs.labels.zpl", headers=theirs_h).get_json()
    assert check["enabled"] is False and check["source"] == "override"

    back = client.put(OVERRIDES, json={"toggleId": flag, "isOverride": False, "tenantId": str(globex)}, headers=root)
    assert back.get_json() == {"ok": True, "overrideToggleId": None}
    assert _row(client, root, tenantId=str(globex))["overrideState"] == "inherit"


def test_tenant_admin_cannot_name_another_tenant(client, root, boss, flag, tenant, globex):
    client.put(OVERRIDES, json={"toggleId": flag, "isOverride": True, "tenantId": str(globex)}, headers=root)
    assert client.get(OVERRIDES, query_string={"tenantId": str(globex)}, headers=boss).status_code == 404
    r = client.get(f"{G}/{flag}/override", query_string={"tenantId": str(globex)}, headers=boss)
    assert r.status_code == 404 and r.get_json()["error"] == "Tenant not found"
    r = client.put(
        OVERRIDES,
        json={"toggleId": flag, "isOverride": True, "overrideValue": False, "tenantId": str(globex)},
        headers=boss,
    )
    assert r.status_code == 404
    # nothing changed anywhere: Globex keeps the super admin's override, Acme still inherits
    assert _row(client, root, tenantId=str(globex))["overrideState"] == "enabled"
    assert _row(client, boss)["overrideState"] == "inherit"
    # naming its own tenant is fine
    assert _row(client, boss, tenantId=str(tenant))["tenantId"] == str(tenant)
    ok = client.put(
        OVERRIDES,
        json={"toggleId": flag, "isOverride": True, "overrideValue": False, "tenantId": str(tenant)},
        headers=boss,
    )
    assert ok.status_code == 200 and _row(client, boss)["overrideState"] == "disabled"


def test_bad_or_unknown_tenant(app, client, root, flag, globex):
    assert client.get(OVERRIDES, query_string={"tenantId": "nope"}, headers=root).status_code == 400
    assert client.get(f"{G}/{flag}/override", query_string={"tenantId": "nope"}, headers=root).status_code == 400
    unknown = str(uuid.uuid4())
    assert client.get(OVERRIDES, query_string={"tenantId": unknown}, headers=root).status_code == 404
    r = client.put(OVERRIDES, json={"toggleId": flag, "isOverride": True, "tenantId": unknown}, headers=root)
    assert r.status_code == 404
    with app.app_context():
        db.session.execute(sa.update(Tenant).where(Tenant.id == globex).values(deleted_at=utcnow()))
        db.session.commit()
    assert client.get(OVERRIDES, query_string={"tenantId": str(globex)}, headers=root).status_code == 404
    r = client.put(OVERRIDES, json={"toggleId": flag, "isOverride": True, "tenantId": str(globex)}, headers=root)
    assert r.status_code == 404


def test_super_admins_page_picks_the_tenant(client, admin, flag, tenant, globex):
    csrf = browser_login(client, admin)
    page = client.get("/feature_toggles/overrides", headers=BROWSER).get_data(as_text=True)
    assert 'id="override-tenant"' in page and "Globex" in page and "Feature toggles for Acme Logistics" in page
    # picking Globex (htmx replaces the page's content) shows and changes Globex's overrides
    hx = {"HX-Request": "true", "HX-Target": "main", "X-CSRFToken": csrf}
    picked = client.get("/feature_toggles/overrides", query_string={"tenantId": str(globex)}, headers=hx)
    html = picked.get_data(as_text=True)
    assert picked.status_code == 200 and "<!doctype" not in html.lower()
    assert "Feature toggles for Globex" in html and f'"tenantId": "{globex}"' in html
    flipped = client.put(
        "/feature_toggles/overrides",
        headers={"HX-Request": "true", "X-CSRFToken": csrf},
        data={"toggleId": flag, "tenantId": str(globex), "isOverride": "true", "overrideValue": "false"},
    )
    row = flipped.get_data(as_text=True)
    assert flipped.status_code == 200 and 'data-state="disabled"' in row and f'"tenantId": "{globex}"' in row
    api = bearer(api_token(client.application.test_client(), admin))
    assert _row(client.application.test_client(), api, tenantId=str(globex))["overrideState"] == "disabled"
    assert _row(client.application.test_client(), api)["overrideState"] == "inherit"


def test_tenant_admins_page_has_no_picker(client, make, tenant, flag):
    make.member(tenant, "boss@acme.test", roles_svc.ADMINISTRATOR)
    browser_login(client, "boss@acme.test")
    page = client.get("/feature_toggles/overrides", headers=BROWSER).get_data(as_text=True)
    assert "lcs.labels.zpl" in page and 'id="override-tenant"' not in page
