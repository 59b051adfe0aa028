"""API keys (seed 000 /api_keys/keys): create with a one-time secret, list, revoke; the
secret authenticates as a bearer token with exactly its roles' features."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import ApiKey, AuditLog, db, utcnow
from schemas.api_keys import ApiKeyCreate
from services import api_keys, roles
from tests.support import (
    BROWSER,
    CSRF_MISSING,
    MISSING_FEATURES,
    SYSTEM,
    Factory,
    api_token,
    bearer,
    browser_login,
    expect,
    new_page,
    open_and_sign_in,
    refusal,
)

KEYS = "/api/api_keys/keys"


def role_with(app, tenant_id, name, features) -> str:
    with app.app_context():
        role = roles.create_role(SYSTEM, name, tenant_id=tenant_id)
        roles.update_role_acl(SYSTEM, role.id, features=features, is_super_admin=False, organizations=None)
        return str(role.id)


def user_with(app, tenant_id, email, role_ids) -> str:
    Factory(app).user(tenant_id, email, name=email.split("@")[0], role_ids=role_ids)
    return email


def create(client, token, **body):
    return client.post(KEYS, json={"name": "CI deploy", **body}, headers=bearer(token))


@pytest.fixture()
def token(client, admin):
    return api_token(client, admin)


# --- JSON contract ------------------------------------------------------------------------


def test_create_returns_seed_fields_and_one_time_secret(client, token, app, tenant):
    viewer = role_with(app, tenant, "Key viewer", ["api_keys.view"])
    r = create(
        client,
        token,
        description="Pushes releases",
        roles=[viewer],
        expiresAt=(utcnow() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert {"id", "name", "keyPrefix", "tenantId", "organizationId", "roles", "secret"} <= set(body)
    assert body["name"] == "CI deploy" and body["description"] == "Pushes releases"
    assert body["tenantId"] == str(tenant) and body["organizationId"] is None
    assert body["roles"] == [{"id": viewer, "name": "Key viewer"}]
    assert body["secret"].startswith(body["keyPrefix"] + ".") and body["keyPrefix"].startswith("whk_")
    assert body["expiresAt"].endswith("Z")
    assert "no-store" in r.headers["Cache-Control"]
    assert "secretHash" not in body and "secret_hash" not in str(body)


def test_list_has_seed_item_fields_and_never_the_secret(client, token):
    secret = create(client, token).get_json()["secret"]
    r = client.get(KEYS, headers=bearer(token))
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == {"items", "total", "page", "pageSize", "totalPages"}
    assert body["total"] == 1
    item = body["items"][0]
    assert set(item) == {
        "id",
        "name",
        "description",
        "keyPrefix",
        "organizationId",
        "organizationName",
        "createdAt",
        "lastUsedAt",
        "expiresAt",
        "roles",
        "createdById",
        "createdByEmail",
        "suspended",
    }  # the owner: Wharf's addition
    assert secret not in r.get_data(as_text=True)
    assert secret.split(".", 1)[1] not in r.get_data(as_text=True)


def test_key_with_view_role_can_list_and_without_it_gets_403(client, token, app, tenant):
    viewer = role_with(app, tenant, "Key viewer", ["api_keys.view"])
    other = role_with(app, tenant, "Other", ["auth.users.list"])
    good = create(client, token, name="viewer", roles=[viewer]).get_json()["secret"]
    bad = create(client, token, name="no view", roles=[other]).get_json()["secret"]
    bare = create(client, token, name="no roles").get_json()["secret"]
    ok = client.get(KEYS, headers=bearer(good))
    assert ok.status_code == 200 and ok.get_json()["total"] == 3
    for secret in (bad, bare):
        denied = client.get(KEYS, headers=bearer(secret))
        assert refusal(denied, 403) == MISSING_FEATURES and denied.get_json()["requiredFeatures"] == ["api_keys.view"]
    # The key's grants are only its roles': viewing does not allow creating.
    denied = client.post(KEYS, json={"name": "x"}, headers=bearer(good))
    assert refusal(denied, 403) == MISSING_FEATURES and denied.get_json()["requiredFeatures"] == ["api_keys.create"]


def test_key_use_updates_last_used(client, token, app, tenant):
    viewer = role_with(app, tenant, "Key viewer", ["api_keys.view"])
    created = create(client, token, roles=[viewer]).get_json()
    assert created["lastUsedAt"] is None
    client.get(KEYS, headers=bearer(created["secret"]))
    item = client.get(KEYS, headers=bearer(token)).get_json()["items"][0]
    assert item["lastUsedAt"] is not None


def test_revoked_key_is_401_and_hidden(client, token, app, tenant):
    viewer = role_with(app, tenant, "Key viewer", ["api_keys.view"])
    created = create(client, token, roles=[viewer]).get_json()
    assert client.get(KEYS, headers=bearer(created["secret"])).status_code == 200
    r = client.delete(f"{KEYS}?id={created['id']}", headers=bearer(token))
    assert r.status_code == 200 and r.get_json() == {"success": True}
    assert client.get(KEYS, headers=bearer(created["secret"])).status_code == 401
    assert client.get(KEYS, headers=bearer(token)).get_json()["total"] == 0
    # Revoking twice: it no longer exists.
    assert client.delete(f"{KEYS}?id={created['id']}", headers=bearer(token)).status_code == 404


def test_expired_key_is_401(client, token, app, tenant):
    viewer = role_with(app, tenant, "Key viewer", ["api_keys.view"])
    created = create(client, token, roles=[viewer], expiresAt=(utcnow() + timedelta(hours=1)).isoformat()).get_json()
    assert client.get(KEYS, headers=bearer(created["secret"])).status_code == 200
    with app.app_context():
        db.session.execute(
            sa.update(ApiKey)
            .where(ApiKey.id == uuid.UUID(created["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    assert client.get(KEYS, headers=bearer(created["secret"])).status_code == 401


def test_wrong_secret_with_right_prefix_is_401(client, token):
    created = create(client, token).get_json()
    assert client.get(KEYS, headers=bearer(created["keyPrefix"] + ".forged")).status_code == 401


def test_delete_key_of_another_tenant_is_404(client, make, app):
    acme, globex = make.tenant("Acme"), make.tenant("Globex")
    admin_role_acme = role_with(app, acme, "Key admin", ["api_keys.*"])
    admin_role_globex = role_with(app, globex, "Key admin", ["api_keys.*"])
    user_with(app, acme, "ann@acme.test", [admin_role_acme])
    user_with(app, globex, "gus@globex.test", [admin_role_globex])
    ann, gus = api_token(client, "ann@acme.test"), api_token(client, "gus@globex.test")
    theirs = create(client, gus, name="Globex key").get_json()
    r = client.delete(f"{KEYS}?id={theirs['id']}", headers=bearer(ann))
    assert r.status_code == 404 and r.get_json()["error"]
    assert client.get(KEYS, headers=bearer(ann)).get_json()["total"] == 0
    assert client.get(KEYS, headers=bearer(gus)).get_json()["total"] == 1


@pytest.mark.parametrize("query", ["", "?id=", "?id=not-a-uuid"])
def test_delete_without_valid_id_is_400(client, token, query):
    r = client.delete(KEYS + query, headers=bearer(token))
    assert r.status_code == 400 and r.get_json()["details"][0]["path"] == ["id"]


@pytest.mark.parametrize(
    "body, path",
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"description": "no name"}, "name"),
        ({"name": "x", "expiresAt": "tomorrow"}, "expiresAt"),
        ({"name": "x", "expiresAt": "2001-01-01T00:00:00Z"}, "expiresAt"),
        ({"name": "x", "roles": "not-a-list"}, "roles"),
        ({"name": "x", "roles": ["not-a-uuid"]}, "roles"),
        ({"name": 42}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "x", "organizationId": "nope"}, "organizationId"),
    ],
)
def test_bad_input_is_400_with_details(client, token, body, path):
    r = client.post(KEYS, json=body, headers=bearer(token))
    assert r.status_code == 400, r.get_json()
    out = r.get_json()
    assert out["error"] and path in [d["path"][0] for d in out["details"]]


def test_malformed_json_is_400(client, token):
    r = client.post(KEYS, data="[1, 2", content_type="application/json", headers=bearer(token))
    assert r.status_code == 400 and r.get_json()["error"]


def test_unknown_or_foreign_role_is_404(client, token, make, app):
    other = make.tenant("Globex")
    foreign = role_with(app, other, "Globex role", ["api_keys.view"])
    for role_id in ("00000000-0000-4000-8000-000000000000", foreign):
        r = create(client, token, roles=[role_id])
        assert r.status_code == 404, r.get_json()
    assert client.get(KEYS, headers=bearer(token)).get_json()["total"] == 0


def test_tenant_admin_cannot_hand_out_wider_roles_or_pick_a_tenant(client, tenant, make, app):
    key_admin = role_with(app, tenant, "Key admin", ["api_keys.*"])
    wide = role_with(app, tenant, "Wide", ["auth.*"])
    user_with(app, tenant, "kim@acme.test", [key_admin])
    kim = api_token(client, "kim@acme.test")
    assert (
        refusal(create(client, kim, roles=[wide]), 403) == "You cannot assign a role with permissions you do not hold"
    )
    other = make.tenant("Globex")
    r = create(client, kim, tenantId=str(other))
    assert r.status_code == 201 and r.get_json()["tenantId"] == str(tenant)


def test_super_admin_role_keys_are_invisible_to_tenant_admins(client, token, tenant, app):
    with app.app_context():
        role = roles.create_role(SYSTEM, "Root", tenant_id=tenant)
        roles.update_role_acl(SYSTEM, role.id, features=[], is_super_admin=True, organizations=None)
        root_id = str(role.id)
    root_key = create(client, token, name="root key", roles=[root_id]).get_json()
    key_admin = role_with(app, tenant, "Key admin", ["api_keys.*"])
    user_with(app, tenant, "kim@acme.test", [key_admin])
    kim = api_token(client, "kim@acme.test")
    assert client.get(KEYS, headers=bearer(kim)).get_json()["total"] == 0
    assert client.delete(f"{KEYS}?id={root_key['id']}", headers=bearer(kim)).status_code == 404
    assert create(client, kim, roles=[root_id]).status_code == 404


def test_search_paging_and_sorting(client, token):
    for name in ("alpha", "beta", "gamma"):
        create(client, token, name=name, description=f"{name} integration")
    r = client.get(f"{KEYS}?search=ET", headers=bearer(token)).get_json()
    assert [i["name"] for i in r["items"]] == ["beta"]
    r = client.get(f"{KEYS}?pageSize=2&page=2&sortField=name&sortDir=desc", headers=bearer(token)).get_json()
    assert [i["name"] for i in r["items"]] == ["alpha"] and r["totalPages"] == 2
    assert client.get(f"{KEYS}?pageSize=500", headers=bearer(token)).status_code == 400
    assert client.get(f"{KEYS}?sortField=secret", headers=bearer(token)).status_code == 400


def test_create_and_revoke_are_audited_without_the_secret(client, token, app):
    created = create(client, token).get_json()
    client.delete(f"{KEYS}?id={created['id']}", headers=bearer(token))
    with app.app_context():
        logs = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.resource_kind == "api_key").order_by(AuditLog.created_at)
        ).all()
        assert [entry.action_type for entry in logs] == ["create", "delete"]
        dump = str([(entry.snapshot_before, entry.snapshot_after, entry.changes) for entry in logs])
    assert created["secret"] not in dump and created["secret"].split(".", 1)[1] not in dump


def test_declaration_rejects_past_expiry_and_service_needs_tenant_for_system_actor(app, tenant):
    from pydantic import ValidationError

    from services.errors import ValidationFailed

    with pytest.raises(ValidationError, match="must be in the future"):
        ApiKeyCreate(name="x", expiresAt=utcnow() - timedelta(minutes=1))
    with app.app_context():
        with pytest.raises(ValidationFailed):
            api_keys.create_key(SYSTEM, ApiKeyCreate(name="x", description=None, roles=[]))
        key, secret = api_keys.create_key(SYSTEM, ApiKeyCreate(name="x", description=None, roles=[], tenantId=tenant))
        assert api_keys.authenticate(secret).id == key.id


def test_staff_without_features_gets_403_and_no_nav(client, staff):
    t = api_token(client, staff)
    assert refusal(client.get(KEYS, headers=bearer(t)), 403) == MISSING_FEATURES
    assert refusal(client.post(KEYS, json={"name": "x"}, headers=bearer(t)), 403) == MISSING_FEATURES
    browser_login(client, staff)
    home = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert "/api_keys/keys" not in home


# --- screens -------------------------------------------------------------------------------


def test_full_page_has_form_list_and_nav(client, admin, token):
    create(client, token, name="Existing key")
    browser_login(client, admin)
    r = client.get("/api_keys/keys", headers=BROWSER)
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith("<!doctype html>")
    assert 'id="api-key-form"' in html and 'id="api-keys-results"' in html and "Existing key" in html
    assert 'src="/static/js/copy.js" defer' in html
    assert 'href="/api_keys/keys"' in html  # nav entry
    assert "hx-confirm=" in html and 'hx-target="closest tr"' in html


def test_search_fragment_is_the_results_block(client, admin, token):
    create(client, token, name="alpha")
    create(client, token, name="beta")
    browser_login(client, admin)
    r = client.get("/api_keys/keys?search=alp", headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "<html" not in html and '<nav class="mainnav"' not in html
    assert html.lstrip().startswith('<div id="api-keys-results">')
    assert "alpha" in html and "beta" not in html


def test_htmx_create_shows_secret_once_with_copy_button(client, admin, app, tenant):
    viewer = role_with(app, tenant, "Key viewer", ["api_keys.view"])
    csrf = browser_login(client, admin)
    r = client.post(
        "/api_keys/keys",
        data={"name": "Scanner", "roles": [viewer], "expiresAt": ""},
        headers={"HX-Request": "true", "X-CSRFToken": csrf},
    )
    assert r.status_code == 201, r.get_data(as_text=True)[:500]
    html = r.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith('<div id="api-keys">')
    assert "will not be shown again" in html and 'data-copy-target="#api-key-secret"' in html
    assert "wharf:toast" in r.headers["HX-Trigger"] and "no-store" in r.headers["Cache-Control"]
    secret = html.split('id="api-key-secret"', 1)[1].split(">", 1)[1].split("<", 1)[0].strip()
    assert secret.startswith("whk_")
    assert client.get(KEYS, headers=bearer(secret)).status_code == 200  # the shown secret works
    again = client.get("/api_keys/keys", headers=BROWSER).get_data(as_text=True)
    assert "Scanner" in again and secret not in again


def test_htmx_create_error_rerenders_form_with_message(client, admin):
    csrf = browser_login(client, admin)
    r = client.post(
        "/api_keys/keys",
        data={"name": "", "description": "kept", "expiresAt": "2001-01-01T00:00"},
        headers={"HX-Request": "true", "X-CSRFToken": csrf},
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "<html" not in html and 'class="field-error"' in html and "kept" in html
    assert "must be in the future" in html


def test_htmx_create_needs_csrf(client, admin, app):
    browser_login(client, admin)
    r = client.post("/api_keys/keys", data={"name": "x"}, headers={"HX-Request": "true"})
    assert CSRF_MISSING in refusal(r, 400) and r.headers["HX-Retarget"] == "#toasts"  # a toast says why
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ApiKey.id))) == 0  # and nothing was created


def test_htmx_revoke_answers_empty_row_swap_with_toast(client, admin, token):
    created = create(client, token).get_json()
    csrf = browser_login(client, admin)
    r = client.delete(f"/api_keys/keys?id={created['id']}", headers={"HX-Request": "true", "X-CSRFToken": csrf})
    assert r.status_code == 200 and r.get_data(as_text=True) == ""
    assert "revoked" in r.headers["HX-Trigger"]
    assert client.get(KEYS, headers=bearer(token)).get_json()["total"] == 0


def test_htmx_revoke_of_unknown_key_is_error_toast(client, admin):
    csrf = browser_login(client, admin)
    r = client.delete(
        "/api_keys/keys?id=00000000-0000-4000-8000-000000000000", headers={"HX-Request": "true", "X-CSRFToken": csrf}
    )
    assert r.status_code == 404 and r.headers["HX-Retarget"] == "#toasts"
    assert "<html" not in r.get_data(as_text=True)


def test_openapi_documents_key_routes(client):
    doc = client.get("/api/openapi.json").get_json()
    ops = doc["paths"]["/api/api_keys/keys"]
    assert {"get", "post", "delete"} <= set(ops)
    assert ops["post"]["x-required-features"] == ["api_keys.create"]
    ref = ops["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    props = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert {"name", "description", "tenantId", "organizationId", "expiresAt", "roles"} <= set(props)
    created = ops["post"]["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert "secret" in doc["components"]["schemas"][created.rsplit("/", 1)[1]]["properties"]


# --- in a real browser ------------------------------------------------------------------------


@pytest.mark.browser
def test_browser_create_copy_and_revoke(browser, live_server, admin):
    context, page = new_page(browser, permissions=["clipboard-read", "clipboard-write"])
    try:
        open_and_sign_in(page, live_server, admin)
        page.goto(live_server + "/api_keys/keys")
        page.wait_for_function("window.htmx !== undefined && window.wharfCopy === true")
        page.evaluate("window.__marker = 1")
        page.click("#api-key-new summary")  # "New API key" opens the form
        page.fill("#api-key-form input[name=name]", "Browser key")
        page.click('button:has-text("Create API key")')
        secret_el = page.locator("#api-key-secret")
        expect(secret_el).to_contain_text("whk_")
        expect(page.locator("#api-key-created")).to_contain_text("will not be shown again")
        secret = secret_el.inner_text().strip()
        page.click('button:has-text("Copy secret")')
        expect(page.locator("[data-copy-status]")).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == secret
        assert page.evaluate("window.__marker") == 1  # created through htmx, no reload

        row = page.locator("#api-keys-rows tr", has_text="Browser key")
        expect(row).to_have_count(1)
        page.once("dialog", lambda d: d.accept())
        row.get_by_role("button", name="Revoke API key Browser key").click()
        expect(row).to_have_count(0)
        expect(page.locator("#toasts")).to_contain_text("revoked")

        page.reload()
        expect(page.locator("h1")).to_have_text("API keys")
        assert page.locator("#api-key-secret").count() == 0 and secret not in page.content()
    finally:
        context.close()
