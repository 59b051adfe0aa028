"""The audit log (seed 000 GET /audit_logs/audit-logs/actions): who sees which entries,
the filters, the response shape, and the list / before-after screens."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from models import AuditLog, User, db
from models.base import iso_utc
from schemas.api_keys import ApiKeyCreate
from schemas.audit_logs import ActionLogQuery
from services import api_keys, audit_query, roles, users
from services.acl import Actor
from services.errors import NotFound, ValidationFailed
from tests.support import (
    BROWSER,
    PASSWORD,
    SYSTEM,
    api_token,
    bearer,
    browser_login,
    expect,
    new_organization,
    new_page,
    open_and_sign_in,
)
from web.contract import validate

ACTIONS = "/api/audit_logs/audit-logs/actions"
PAGE = "/audit_logs/audit-logs/actions"
ITEM_KEYS = {
    "id",
    "commandId",
    "actionLabel",
    "executionState",
    "actorUserId",
    "actorUserName",
    "tenantId",
    "tenantName",
    "organizationId",
    "organizationName",
    "resourceKind",
    "resourceId",
    "parentResourceKind",
    "parentResourceId",
    "undoToken",
    "createdAt",
    "updatedAt",
    "snapshotBefore",
    "snapshotAfter",
    "changes",
    "context",
}
ROLE_ADMIN = ["auth.roles.list", "auth.roles.manage", "auth.acl.manage", "api_keys.*"]


def role_with(tenant_id, name, features, organizations=None) -> uuid.UUID:
    role = roles.create_role(SYSTEM, name, tenant_id=tenant_id)
    roles.update_role_acl(SYSTEM, role.id, features=features, is_super_admin=False, organizations=organizations)
    return role.id


def person(tenant_id, email, features, organizations=None) -> User:
    role = role_with(tenant_id, f"Role of {email}", features, organizations)
    return users.create_user(
        SYSTEM, email=email, password=PASSWORD, name=email.split("@")[0].title(), role_ids=[role], tenant_id=tenant_id
    )


def actor_of(email) -> Actor:
    return Actor.of(db.session.scalars(sa.select(User).where(User.email == email)).one())


def ids(body) -> list[str]:
    return [i["resourceId"] for i in body["items"]]


@pytest.fixture()
def world(app, make):
    """Acme: Tina (sees the tenant), Sam and Sue (only themselves). Globex: Gus.
    Sam creates and edits a role, Sue creates a role, Gus creates one in Globex."""
    acme, globex = make.tenant("Acme"), make.tenant("Globex")
    with app.app_context():
        person(acme, "tina@acme.test", ["audit_logs.view_self", "audit_logs.view_tenant", *ROLE_ADMIN])
        person(acme, "sam@acme.test", ["audit_logs.view_self", *ROLE_ADMIN])
        person(acme, "sue@acme.test", ["audit_logs.view_self", *ROLE_ADMIN])
        person(acme, "nobody@acme.test", ["auth.roles.list"])
        person(globex, "gus@globex.test", ["audit_logs.view_self", "audit_logs.view_tenant", *ROLE_ADMIN])
        sam = actor_of("sam@acme.test")
        packing = roles.create_role(sam, "Packing")
        roles.rename_role(sam, packing.id, "Packing desk")
        roles.update_role_acl(sam, packing.id, features=["auth.roles.list"], is_super_admin=False, organizations=None)
        dock = roles.create_role(actor_of("sue@acme.test"), "Dock")
        ship = roles.create_role(actor_of("gus@globex.test"), "Shipping")
        return {"acme": acme, "globex": globex, "packing": str(packing.id), "dock": str(dock.id), "ship": str(ship.id)}


def listed(email, **query):
    return audit_query.action_page(actor_of(email), ActionLogQuery.model_validate(query))[0]


# --- service: visibility ------------------------------------------------------------------


def test_self_only_callers_see_their_own_actions(app, world):
    with app.app_context():
        body = listed("sam@acme.test")
        assert body["canViewTenant"] is False
        assert {i["actorUserName"] for i in body["items"]} == {"Sam"}
        assert set(ids(body)) == {world["packing"]}
        assert body["total"] == 3
        # actorUserId is a tenant-administrator filter: ignored for Sam.
        sue = actor_of("sue@acme.test").principal.id
        assert listed("sam@acme.test", actorUserId=str(sue))["total"] == 3


def test_tenant_viewers_see_their_tenant_only(app, world):
    with app.app_context():
        body = listed("tina@acme.test")
        assert body["canViewTenant"] is True
        assert world["dock"] in ids(body) and world["packing"] in ids(body) and world["ship"] not in ids(body)
        assert {i["tenantName"] for i in body["items"]} == {"Acme"}
        sue = actor_of("sue@acme.test").principal.id
        sam = actor_of("sam@acme.test").principal.id
        assert ids(listed("tina@acme.test", actorUserId=str(sue))) == [world["dock"]]
        both = listed("tina@acme.test", actorUserId=f"{sue},{sam}")
        assert set(ids(both)) == {world["dock"], world["packing"]}
        gus = listed("gus@globex.test")
        assert world["ship"] in ids(gus) and {i["tenantName"] for i in gus["items"]} == {"Globex"}


def test_super_admin_sees_every_tenant(app, world):
    with app.app_context():
        body = audit_query.action_page(SYSTEM, ActionLogQuery())[0]
        assert {world["ship"], world["dock"], world["packing"]} <= set(ids(body))
        assert body["canViewTenant"] is True


def test_api_key_sees_the_actions_done_with_it(app, world):
    with app.app_context():
        role = role_with(world["acme"], "Key role", ["audit_logs.view_self", "api_keys.create"])
        _key, secret = api_keys.create_key(
            SYSTEM, ApiKeyCreate(name="bot", description=None, roles=[role], tenantId=world["acme"])
        )
        principal = api_keys.authenticate(secret)
        made, _ = api_keys.create_key(Actor.of(principal), ApiKeyCreate(name="child", description=None, roles=[]))
        body = audit_query.action_page(Actor.of(principal), ActionLogQuery())[0]
        assert ids(body) == [str(made.id)]
        assert body["items"][0]["actorUserId"] is None and body["items"][0]["actorUserName"] == "bot"


def test_entries_outside_the_callers_organizations_are_invisible(app, make, tenant):
    with app.app_context():
        north, south = new_organization(tenant, "North", "north"), new_organization(tenant, "South", "south")
        person(
            tenant, "nora@acme.test", ["audit_logs.view_self", "audit_logs.view_tenant"], organizations=[str(north.id)]
        )
        k1, _ = api_keys.create_key(
            SYSTEM, ApiKeyCreate(name="n", description=None, roles=[], tenantId=tenant, organizationId=north.id)
        )
        k2, _ = api_keys.create_key(
            SYSTEM, ApiKeyCreate(name="s", description=None, roles=[], tenantId=tenant, organizationId=south.id)
        )
        body = listed("nora@acme.test", resourceKind="api_key")
        assert ids(body) == [str(k1.id)] and body["items"][0]["organizationName"] == "North"
        assert listed("nora@acme.test", organizationId=str(south.id))["total"] == 0
        with pytest.raises(NotFound):
            audit_query.get_action(
                actor_of("nora@acme.test"),
                db.session.scalars(sa.select(AuditLog.id).where(AuditLog.resource_id == str(k2.id))).one(),
            )


# --- service: filters -----------------------------------------------------------------------


def test_filters_by_kind_resource_action_and_field(app, world):
    with app.app_context():
        t = "tina@acme.test"
        people = f"{actor_of('sam@acme.test').principal.id},{actor_of('sue@acme.test').principal.id}"
        assert set(ids(listed(t, resourceKind="role_acl", actorUserId=people))) == {world["packing"]}
        assert listed(t, resourceId=world["packing"])["total"] == 3
        assert {i["actionLabel"] for i in listed(t, actionType="edit", actorUserId=people)["items"]} == {
            "Rename role to Packing desk",
            "Change permissions of Packing desk",
        }
        assert listed(t, actionType="edit,create", resourceId=world["packing"])["total"] == 3
        assert listed(t, actionType="delete", resourceId=world["packing"])["total"] == 0
        renamed = listed(t, fieldName="name", actorUserId=people)
        assert {i["actionLabel"] for i in renamed["items"]} == {
            "Create role Packing",
            "Rename role to Packing desk",
            "Create role Dock",
        }
        assert all("name" in i["changes"] for i in renamed["items"])
        edited = listed(t, fieldName="features", actionType="edit", actorUserId=people)
        assert [i["actionLabel"] for i in edited["items"]] == ["Change permissions of Packing desk"]
        assert [i["actionLabel"] for i in listed(t, fieldName="name", actionType="edit")["items"]] == [
            "Rename role to Packing desk"
        ]
        assert listed(t, fieldName="nope")["total"] == 0
        assert listed(t, fieldName="nope,features", actionType="edit", actorUserId=people)["total"] == 1


def test_before_after_sort_and_paging(app, world):
    with app.app_context():
        t = actor_of("tina@acme.test")
        rows = db.session.scalars(audit_query.visible_actions(t)).all()
        base = datetime(2026, 1, 1, tzinfo=UTC)
        for n, row in enumerate(sorted(rows, key=lambda r: r.resource_id)):
            row.created_at = base + timedelta(days=n)
        db.session.commit()
        newest_first = listed("tina@acme.test")
        stamps = [iso_utc(i["createdAt"]) for i in newest_first["items"]]
        assert stamps == sorted(stamps, reverse=True) and len(stamps) > 3
        assert iso_utc(listed("tina@acme.test", sortDir="asc")["items"][0]["createdAt"]) == stamps[-1]
        assert listed("tina@acme.test", after="2026-01-02T12:00:00Z")["total"] == len(stamps) - 2
        assert listed("tina@acme.test", before="2026-01-02T00:00:00+00:00")["total"] == 1
        assert listed("tina@acme.test", before="2026-01-02T01:00:00+01:00")["total"] == 1
        assert listed("tina@acme.test", before="2026-01-02T00:00:01", after="2026-01-01T00:00:00")["total"] == 1
        page = listed("tina@acme.test", pageSize="2", page="2")
        assert page["page"] == 2 and page["pageSize"] == 2 and len(page["items"]) == 2
        assert page["totalPages"] == (newest_first["total"] + 1) // 2
        actions = [i["actionLabel"] for i in listed("tina@acme.test", sortField="action", sortDir="asc")["items"]]
        assert actions[0].startswith("Create") and actions[-1].startswith(("Rename", "Change"))
        assert listed("tina@acme.test", sortField="user")["items"][0]["actorUserName"]


@pytest.mark.parametrize(
    "query, path",
    [
        ({"before": "yesterday"}, "before"),
        ({"after": "2026-13-01"}, "after"),
        ({"pageSize": "201"}, "pageSize"),
        ({"pageSize": "0"}, "pageSize"),
        ({"page": "x"}, "page"),
        ({"sortField": "secret"}, "sortField"),
        ({"sortDir": "up"}, "sortDir"),
        ({"actorUserId": "me"}, "actorUserId"),
        ({"organizationId": "x"}, "organizationId"),
        ({"fieldName": "a b"}, "fieldName"),
        ({"id": "x"}, "id"),
        ({"resourceKind": "a;b"}, "resourceKind"),
    ],
)
def test_bad_filters_raise_validation_errors(query, path):
    with pytest.raises(ValidationFailed) as e:
        validate(ActionLogQuery, query, "query")
    assert e.value.details[0]["path"][0] == path


def test_max_page_size_is_200():
    assert ActionLogQuery.model_validate({"pageSize": "200"}).pageSize == 200


def test_field_diff_marks_changed_fields(app, world):
    with app.app_context():
        entry = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action_label == "Rename role to Packing desk")
        ).one()
        diff = {f["field"]: f for f in audit_query.field_diff(entry)}
        name = diff["name"]
        assert (name["before"], name["after"], name["changed"]) == ("Packing", "Packing desk", True)
        assert diff["id"]["changed"] is False and diff["id"]["before"] == diff["id"]["after"]


# --- JSON API ------------------------------------------------------------------------------


def test_json_shape_matches_the_seed(client, world):
    r = client.get(ACTIONS, headers=bearer(api_token(client, "sam@acme.test")))
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == {"items", "canViewTenant", "page", "pageSize", "total", "totalPages"}
    assert body["page"] == 1 and body["pageSize"] == 50 and body["total"] == 3 and body["canViewTenant"] is False
    item = body["items"][0]
    assert set(item) == ITEM_KEYS
    assert item["commandId"] == item["id"] and item["executionState"] == "done"
    assert item["undoToken"] and item["context"] is None and item["parentResourceKind"] is None
    assert item["tenantName"] == "Acme" and item["createdAt"].endswith("Z")
    assert item["resourceKind"] in {"role", "role_acl"}


def test_json_filter_errors_are_400(client, world):
    t = bearer(api_token(client, "tina@acme.test"))
    for query in ("before=nope", "after=31-12-2026", "pageSize=201", "sortField=field", "actorUserId=1,2"):
        r = client.get(f"{ACTIONS}?{query}", headers=t)
        assert r.status_code == 400, query
        assert r.get_json()["error"] and r.get_json()["details"]


def test_limit_and_offset_page_by_records(client, world):
    """Seed 000:866–867: ``limit`` (max 1000) and ``offset`` (zero-based) are honoured and
    take precedence over ``pageSize``/``page``."""
    t = bearer(api_token(client, "tina@acme.test"))
    everything = client.get(ACTIONS, headers=t).get_json()
    ids_all = [i["id"] for i in everything["items"]]
    assert len(ids_all) >= 4
    two = client.get(ACTIONS, query_string={"limit": 2}, headers=t).get_json()
    assert [i["id"] for i in two["items"]] == ids_all[:2]
    assert (two["pageSize"], two["page"], two["total"]) == (2, 1, everything["total"])
    shifted = client.get(ACTIONS, query_string={"limit": 2, "offset": 1, "page": 5}, headers=t).get_json()
    assert [i["id"] for i in shifted["items"]] == ids_all[1:3] and shifted["page"] == 1
    third = client.get(ACTIONS, query_string={"offset": 2, "pageSize": 2}, headers=t).get_json()
    assert [i["id"] for i in third["items"]] == ids_all[2:4] and third["page"] == 2
    assert client.get(ACTIONS, query_string={"limit": 1000}, headers=t).status_code == 200
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "ten"}):
        r = client.get(ACTIONS, query_string=bad, headers=t)
        assert r.status_code == 400 and r.get_json()["details"][0]["path"] == [next(iter(bad))], bad


def test_undoable_only(app, client, world):
    """Seed 000:868: ``undoableOnly=true`` keeps only entries that can be undone: those with
    an ``undoToken`` (their kind has a restorer) that are not undone yet."""
    t = bearer(api_token(client, "tina@acme.test"))
    everything = client.get(ACTIONS, headers=t).get_json()
    assert (
        client.get(ACTIONS, query_string={"undoableOnly": "false"}, headers=t).get_json()["total"]
        == everything["total"]
    )
    with app.app_context():  # an entry of a kind no restorer serves (API keys are revoked, not undone)
        key = db.session.scalars(
            sa.select(AuditLog)
            .where(AuditLog.resource_kind == "role", AuditLog.tenant_id == world["acme"])
            .order_by(AuditLog.created_at)
        ).first()
        key.undo_token, key.resource_kind = None, "api_key"
        db.session.commit()
    undoable = client.get(ACTIONS, query_string={"undoableOnly": "true"}, headers=t).get_json()
    listed = client.get(ACTIONS, headers=t).get_json()["items"]
    kinds = {i["resourceKind"] for i in listed if not i["undoToken"]}
    assert kinds == {"api_key", "tenant"}  # tenants are the super admin's, not undone either
    assert 0 < undoable["total"] == sum(1 for i in listed if i["undoToken"]) < everything["total"]
    assert all(i["undoToken"] for i in undoable["items"])
    token = undoable["items"][-1]["undoToken"]
    with app.app_context():
        entry = db.session.scalars(sa.select(AuditLog).where(AuditLog.undo_token == token)).one()
        entry.execution_state = "undone"
        db.session.commit()
    after = client.get(ACTIONS, query_string={"undoableOnly": "true"}, headers=t).get_json()
    assert after["total"] == undoable["total"] - 1 and token not in {i["undoToken"] for i in after["items"]}
    assert client.get(ACTIONS, query_string={"undoableOnly": "maybe"}, headers=t).status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "page=99999999999999999999",
        "pageSize=1e3",
        "offset=99999999999999999999",
        "resourceId=a%00b",
        "resourceKind=role%01",
        "fieldName=na%01me",
        "before=0001-01-01T00:00:00%2B05:00",
        "actionType=edit,%7F",
        "includeRelated=sometimes",
        "sortDir=ASC",
        "id=1",
    ],
)
def test_malformed_query_is_400_in_the_envelope(client, world, query):
    r = client.get(f"{ACTIONS}?{query}", headers=bearer(api_token(client, "tina@acme.test")))
    assert r.status_code == 400, query
    body = r.get_json()
    assert body["error"] and body["details"][0]["path"] and body["details"][0]["message"]


def test_json_id_filter_and_other_tenant(client, world, app):
    with app.app_context():
        ship_entry = str(db.session.scalars(sa.select(AuditLog.id).where(AuditLog.resource_id == world["ship"])).one())
        dock_entry = str(db.session.scalars(sa.select(AuditLog.id).where(AuditLog.resource_id == world["dock"])).one())
    tina = bearer(api_token(client, "tina@acme.test"))
    assert client.get(f"{ACTIONS}?id={ship_entry}", headers=tina).get_json()["total"] == 0
    assert [i["id"] for i in client.get(f"{ACTIONS}?id={dock_entry}", headers=tina).get_json()["items"]] == [dock_entry]


def test_access_needs_view_self(client, world):
    assert client.get(ACTIONS).status_code == 401
    r = client.get(ACTIONS, headers=bearer(api_token(client, "nobody@acme.test")))
    assert r.status_code == 403 and r.get_json()["requiredFeatures"] == ["audit_logs.view_self"]


def test_actions_through_the_api_are_recorded(client, world):
    tina = bearer(api_token(client, "tina@acme.test"))
    created = client.post("/api/api_keys/keys", json={"name": "Audited"}, headers=tina).get_json()
    body = client.get(f"{ACTIONS}?resourceKind=api_key&resourceId={created['id']}", headers=tina).get_json()
    assert body["total"] == 1
    entry = body["items"][0]
    assert entry["actorUserName"] == "Tina" and entry["snapshotBefore"] is None
    assert entry["snapshotAfter"]["name"] == "Audited" and entry["changes"]["name"] == {"from": None, "to": "Audited"}
    assert created["secret"] not in str(body)


# --- screens -------------------------------------------------------------------------------


def test_full_page_has_filters_results_and_nav(client, world):
    browser_login(client, "tina@acme.test")
    r = client.get(PAGE, headers=BROWSER)
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith("<!doctype html>")
    assert 'id="audit-filters"' in html and 'hx-push-url="true"' in html and 'hx-target="#audit-results"' in html
    assert 'id="audit-results"' in html and 'id="audit-detail"' in html
    assert "Rename role to Packing desk" in html and "Create role Dock" in html
    assert 'name="actorUserId"' in html  # tenant viewers may pick a user
    assert f'href="{PAGE}"' in html  # nav entry


def test_self_only_page_has_no_user_filter_and_no_nav_for_others(client, world, app):
    browser_login(client, "sam@acme.test")
    html = client.get(PAGE, headers=BROWSER).get_data(as_text=True)
    assert 'name="actorUserId"' not in html and "Create role Dock" not in html
    other = app.test_client()
    browser_login(other, "nobody@acme.test")
    assert f'href="{PAGE}"' not in other.get("/", headers=BROWSER).get_data(as_text=True)
    assert other.get(PAGE, headers=BROWSER).status_code == 403


def test_filter_fragment_is_the_results_block(client, world):
    browser_login(client, "tina@acme.test")
    r = client.get(f"{PAGE}?actionType=edit&resourceKind=&before=", headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith('<div id="audit-results">')
    assert "Rename role to Packing desk" in html and "Create role Dock" not in html


def test_filter_fragment_with_bad_value_is_an_error_toast(client, world):
    browser_login(client, "tina@acme.test")
    r = client.get(f"{PAGE}?before=soon", headers={"HX-Request": "true"})
    assert r.status_code == 400 and r.headers["HX-Retarget"] == "#toasts"
    assert "<html" not in r.get_data(as_text=True)


def test_detail_panel_shows_field_by_field_diff(client, world, app):
    with app.app_context():
        entry = str(
            db.session.scalars(
                sa.select(AuditLog.id).where(AuditLog.action_label == "Rename role to Packing desk")
            ).one()
        )
    browser_login(client, "sam@acme.test")
    page = client.get(PAGE, headers=BROWSER).get_data(as_text=True)
    assert f'hx-get="{PAGE}?id={entry}"' in page
    r = client.get(f"{PAGE}?id={entry}", headers={"HX-Request": "true"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith('<section class="card" id="audit-entry"')
    assert '<tr class="diff-changed"' in html and "<del>Packing</del>" in html and "<mark>Packing desk</mark>" in html
    assert html.count('class="diff-changed"') == 1  # only the name changed
    full = client.get(f"{PAGE}?id={entry}", headers=BROWSER)
    assert full.status_code == 200 and "<!doctype html>" in full.get_data(as_text=True)
    assert "<mark>Packing desk</mark>" in full.get_data(as_text=True)


def test_detail_of_someone_elses_entry_is_404(client, world, app):
    with app.app_context():
        entry = str(db.session.scalars(sa.select(AuditLog.id).where(AuditLog.resource_id == world["dock"])).one())
    browser_login(client, "sam@acme.test")
    r = client.get(f"{PAGE}?id={entry}", headers={"HX-Request": "true"})
    assert r.status_code == 404 and r.headers["HX-Retarget"] == "#toasts"
    assert client.get(f"{PAGE}?id={entry}", headers=BROWSER).status_code == 404


def test_pager_keeps_filters(client, world):
    browser_login(client, "tina@acme.test")
    html = client.get(f"{PAGE}?pageSize=1&resourceKind=role", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "page=2" in html and "resourceKind=role" in html and "pageSize=1" in html


@pytest.mark.browser
def test_browser_filter_pushes_url_and_opens_the_diff(browser, live_server, world):
    context, page = new_page(browser)
    try:
        open_and_sign_in(page, live_server, "tina@acme.test")
        page.goto(live_server + PAGE)
        page.wait_for_function("window.htmx !== undefined")
        page.evaluate("window.__marker = 1")
        expect(page.locator("#audit-results")).to_contain_text("Create role Dock")
        page.select_option("select[name=actionType]", "edit")
        expect(page).to_have_url(re.compile(r"actionType=edit"))
        expect(page.locator("#audit-results")).not_to_contain_text("Create role Dock")
        row = page.locator("#audit-results tbody tr", has_text="Rename role to Packing desk")
        row.get_by_role("link", name="Before and after of this entry").click()
        panel = page.locator("#audit-detail #audit-entry")
        expect(panel.locator("tr.diff-changed")).to_have_count(1)
        expect(panel.locator("mark")).to_have_text("Packing desk")
        assert page.evaluate("window.__marker") == 1  # filtered and opened through htmx
        page.reload()  # the pushed URL reproduces the filtered list
        expect(page.locator("select[name=actionType]")).to_have_value("edit")
        expect(page.locator("#audit-results")).not_to_contain_text("Create role Dock")
    finally:
        context.close()
