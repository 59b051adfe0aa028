"""Who picks what (issue 15): "start next list", assigning lists from the list page, the
picker's dashboard, and making lists in waves — each as JSON, htmx fragment and page."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from models import HandlingList, Shipment, db
from schemas.api_keys import ApiKeyCreate
from schemas.business_rules import BusinessRuleCreate
from services import api_keys
from services import roles as roles_svc
from services.logistics import assignment
from services.rules import store
from tests.support import (
    BROWSER,
    SYSTEM,
    api_token,
    bearer,
    browser_login,
    expect,
    new_list,
    new_shipment,
    open_and_sign_in,
    refusal,
    scan,
    url_is,
)

HX = {"HX-Request": "true"}


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


@pytest.fixture()
def crew(make, tenant):
    """Three warehouse-staff pickers of the tenant: email → user id."""
    return {
        email: str(make.member(tenant, email, roles_svc.WAREHOUSE_STAFF, name=name))
        for email, name in (("p1@acme.test", "Pia One"), ("p2@acme.test", "Piet Two"), ("p3@acme.test", "Pam Three"))
    }


@pytest.fixture()
def ph(client, crew):
    """Bearer headers per picker email."""
    return {email: bearer(api_token(client, email)) for email in crew}


def _list(client, h, due_at=None, items=None):
    s = new_shipment(client, h, items=items or [{"sku": "SKU-A", "quantity": 1}])
    body = {"shipments": [{"id": s["id"]}], **({"due_at": due_at} if due_at else {})}
    r = client.post("/lcs/lists", json=body, headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["id"]


def _next(client, headers):
    return client.post("/lcs/lists/next", headers=headers)


def _sub(client, h, list_id):
    return client.get(f"/lcs/lists/{list_id}", headers=h).get_json()["sub"]


# --- start next list --------------------------------------------------------------------------------


class TestNext:
    def test_assigned_list_comes_first(self, client, h, ph, crew):
        early = _list(client, h, due_at="2026-12-01T08:00:00Z")
        mine = _list(client, h, due_at="2026-12-09T08:00:00Z")
        me = crew["p1@acme.test"]
        assert client.put(f"/lcs/lists/{mine}/state", json={"sub": me}, headers=h).status_code == 204
        r = _next(client, ph["p1@acme.test"])
        assert r.status_code == 200 and r.get_json()["id"] == mine and r.get_json()["sub"] == me
        assert _sub(client, h, early) is None

    def test_oldest_due_unassigned_then_nulls_last_then_nothing(self, client, h, ph, crew):
        undated = _list(client, h)  # made first, but without a due date: last
        later = _list(client, h, due_at="2026-12-10T08:00:00Z")
        sooner = _list(client, h, due_at="2026-12-05T08:00:00Z")
        p1, p2, p3 = (ph[e] for e in ("p1@acme.test", "p2@acme.test", "p3@acme.test"))
        first = _next(client, p1).get_json()
        assert first["id"] == sooner and first["sub"] == crew["p1@acme.test"]
        assert set(first) >= {"items", "sorting_labels", "is_cancelled"}  # the LcsHandlingList detail shape
        assert _next(client, p1).get_json()["id"] == sooner  # pressing again: still their list
        assert _next(client, p2).get_json()["id"] == later
        assert _next(client, p3).get_json()["id"] == undated
        assert _sub(client, h, undated) == crew["p3@acme.test"]
        none = _next(client, h)  # the admin (a super admin) also picks: nothing is left
        assert none.status_code == 204 and none.get_data() == b""

    def test_held_finished_and_cancelled_lists_are_skipped(self, client, h, ph, crew):
        p1 = ph["p1@acme.test"]
        held = _list(client, h, due_at="2026-12-01T08:00:00Z")
        assert client.put(f"/lcs/lists/{held}/state", json={"is_on_hold": True}, headers=h).status_code == 204
        done = _list(client, h, due_at="2026-12-01T08:00:00Z")
        assert scan(client, h, done, "SKU-A")["status"] == "done"  # its last unit finishes it
        gone = _list(client, h, due_at="2026-12-01T08:00:00Z")
        assert client.delete(f"/lcs/lists/{gone}", headers=h).status_code == 204
        my_held = _list(client, h, due_at="2026-12-01T08:00:00Z")
        client.put(f"/lcs/lists/{my_held}/state", json={"sub": crew["p1@acme.test"]}, headers=h)
        client.put(f"/lcs/lists/{my_held}/state", json={"is_on_hold": True}, headers=h)
        assert _next(client, p1).status_code == 204
        assert {_sub(client, h, i) for i in (held, done, gone)} == {None}
        fresh = _list(client, h, due_at="2026-12-20T08:00:00Z")
        assert _next(client, p1).get_json()["id"] == fresh  # their held list stays held; a new one is taken

    def test_another_tenants_lists_are_never_taken(self, app, client, make, ph):
        other = make.tenant("Other Docks")
        make.member(other, "boss@other.test", roles_svc.ADMINISTRATOR)
        oh = bearer(api_token(client, "boss@other.test"))
        theirs = _list(client, oh, due_at="2026-11-01T08:00:00Z")
        assert _next(client, ph["p1@acme.test"]).status_code == 204
        assert _sub(client, oh, theirs) is None

    def test_an_api_key_is_no_picker(self, app, client, tenant, h):
        _list(client, h)
        with app.app_context():
            staff_role = roles_svc.seed_default_roles(tenant)[roles_svc.WAREHOUSE_STAFF]
            _, secret = api_keys.create_key(
                SYSTEM, ApiKeyCreate(name="scanner", description=None, roles=[staff_role.id], tenantId=tenant)
            )
        assert "API key is no picker" in refusal(_next(client, bearer(secret)), 400)

    def test_htmx_and_page_go_to_the_station(self, client, h, crew):
        list_id = _list(client, h)
        csrf = browser_login(client, "p1@acme.test")
        r = client.post("/lcs/lists/next", headers={**BROWSER, **HX, "X-CSRFToken": csrf})
        assert r.status_code == 200 and r.headers["HX-Redirect"] == f"/lcs/lists/{list_id}/station"
        page = client.post("/lcs/lists/next", headers=BROWSER, data={"csrf_token": csrf})
        assert page.status_code == 303 and page.headers["Location"].endswith(f"/lcs/lists/{list_id}/station")

    def test_nothing_waiting_told_to_people(self, client, crew):
        csrf = browser_login(client, "p1@acme.test")
        r = client.post("/lcs/lists/next", headers={**BROWSER, **HX, "X-CSRFToken": csrf})
        assert r.status_code == 200 and "No handling list is waiting" in r.headers["HX-Trigger"]
        page = client.post("/lcs/lists/next", headers=BROWSER, data={"csrf_token": csrf})
        assert page.status_code == 303 and page.headers["Location"].endswith("/")
        home = client.get("/", headers=BROWSER).get_data(as_text=True)
        assert "No handling list is waiting" in home


def test_eight_pickers_at_once_get_eight_different_lists(app, client, h, make, tenant):
    """Eight pickers press "Start next list" together (threads released by a barrier, each
    its own user and token); on PostgreSQL the transactions really overlap."""
    lists = [_list(client, h, due_at=f"2026-12-{d:02d}T08:00:00Z") for d in range(1, 11)]
    tokens = []
    for n in range(8):
        email = f"rush{n}@acme.test"
        make.member(tenant, email, roles_svc.WAREHOUSE_STAFF)
        tokens.append(bearer(api_token(client, email)))
    barrier = threading.Barrier(8)
    got: list = [None] * 8

    def press(i):
        barrier.wait(timeout=20)
        r = app.test_client().post("/lcs/lists/next", headers={**tokens[i], "Accept": "application/json"})
        got[i] = (r.status_code, r.get_json())

    threads = [threading.Thread(target=press, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(g is not None and g[0] == 200 for g in got), got
    taken = [g[1]["id"] for g in got]
    assert len(set(taken)) == 8 and set(taken) == set(lists[:8])  # the eight due first, each once
    with app.app_context():
        subs = db.session.scalars(sa.select(HandlingList.sub).where(HandlingList.sub.is_not(None))).all()
    assert len(subs) == len(set(subs)) == 8


# --- assigning from the list page ---------------------------------------------------------------------


class TestAssign:
    def test_json_assign_reassign_unassign(self, client, h, crew):
        list_id = _list(client, h)
        p1, p2 = crew["p1@acme.test"], crew["p2@acme.test"]
        assert client.put(f"/lcs/lists/{list_id}/state", json={"sub": p1}, headers=h).status_code == 204
        assert _sub(client, h, list_id) == p1
        assert client.put(f"/lcs/lists/{list_id}/state", json={"sub": p2}, headers=h).status_code == 204
        assert _sub(client, h, list_id) == p2
        assert client.put(f"/lcs/lists/{list_id}/state", json={"sub": None}, headers=h).status_code == 204
        assert _sub(client, h, list_id) is None

    def test_foreign_featureless_and_unknown_users_are_refused(self, client, h, make, tenant, crew):
        list_id = _list(client, h)
        other = make.tenant("Other Docks")
        stranger = str(make.member(other, "picker@other.test", roles_svc.WAREHOUSE_STAFF))
        clerk = str(make.user(tenant, "clerk@acme.test"))  # no features
        for sub in (stranger, clerk, "user-7", str(uuid.uuid4())):
            r = client.put(f"/lcs/lists/{list_id}/state", json={"sub": sub, "is_on_hold": True}, headers=h)
            assert r.status_code == 422 and r.get_json()["errors"] == {"invalid value": ["sub"]}, r.get_json()
        detail = client.get(f"/lcs/lists/{list_id}", headers=h).get_json()
        assert detail["sub"] is None and detail["is_on_hold"] is False  # nothing changed

    def test_page_offers_the_tenants_pickers_and_htmx_form_assigns(self, client, h, make, tenant, crew):
        list_id = _list(client, h)
        make.user(tenant, "clerk@acme.test", name="Clerk Kent")  # no features: not offered
        csrf = browser_login(client, "p1@acme.test")
        page = client.get(f"/lcs/lists/{list_id}", headers=BROWSER).get_data(as_text=True)
        assert "Assigned to <strong>nobody</strong>" in page
        assert all(name in page for name in ("Pia One", "Piet Two", "Pam Three")) and "Clerk Kent" not in page
        hx = {**BROWSER, **HX, "X-CSRFToken": csrf}
        r = client.put(f"/lcs/lists/{list_id}/state", headers=hx, data={"sub": crew["p2@acme.test"]})
        assert r.status_code == 204
        assert "lcs:list-changed" in r.headers["HX-Trigger"] and "assigned to Piet Two" in r.headers["HX-Trigger"]
        state = client.get(f"/lcs/lists/{list_id}", headers={**hx, "HX-Target": "list-state"}).get_data(as_text=True)
        assert state.lstrip().startswith('<div id="list-state"') and "Assigned to <strong>Piet Two</strong>" in state
        assert "Unassign" in state
        table = client.get("/lcs/lists", headers=BROWSER).get_data(as_text=True)
        assert '<td class="picker wide-only">Piet Two</td>' in table
        r = client.put(f"/lcs/lists/{list_id}/state", headers=hx, data={"sub": ""})  # the Unassign button
        assert r.status_code == 204 and "unassigned" in r.headers["HX-Trigger"]
        assert _sub(client, h, list_id) is None
        refused = client.put(f"/lcs/lists/{list_id}/state", headers=hx, data={"sub": "user-7"})
        assert refused.status_code == 422 and "may pick" in refused.get_data(as_text=True)


# --- the dashboard ------------------------------------------------------------------------------------


class TestDashboard:
    def test_json_carries_my_lists_with_progress_and_floor_counts(self, client, h, ph, crew):
        list_id = _list(client, h, items=[{"sku": "SKU-A", "quantity": 2}])
        _list(client, h)
        new_shipment(client, h)  # waiting to be listed
        p1 = ph["p1@acme.test"]
        before = client.get("/", headers=p1).get_json()
        assert before["canPick"] is True and before["myLists"] == []
        assert before["floor"] == {"shipmentsToList": 1, "listsWaiting": 2, "listsInProgress": 0, "listsOnHold": 0}
        assert _next(client, p1).get_json()["id"] == list_id
        scan(client, p1, list_id, "SKU-A")
        mine = client.get("/", headers=p1).get_json()["myLists"]
        assert [m["id"] for m in mine] == [list_id]
        assert mine[0]["progress"] == {"total": 2, "handled": 1, "missing": 0, "open": 1, "percent": 50}
        assert mine[0]["is_in_progress"] is True and mine[0]["shipments"] == 1

    def test_picker_page_shows_start_next_and_my_lists(self, client, h, ph):
        list_id = _list(client, h)
        number = client.get(f"/lcs/lists/{list_id}", headers=h).get_json()["number"]
        _next(client, ph["p1@acme.test"])
        browser_login(client, "p1@acme.test")
        home = client.get("/", headers=BROWSER).get_data(as_text=True)
        assert "Start next list" in home and "My lists" in home and number in home
        assert f'href="/lcs/lists/{list_id}/station"' in home
        assert 'class="tile"' not in home  # the navigation is not repeated as tiles

    def test_featureless_user_sees_neither_button_nor_counts(self, client, staff):
        browser_login(client, staff)
        home = client.get("/", headers=BROWSER).get_data(as_text=True)
        assert "Start next list" not in home and "On the floor" not in home
        assert "No modules are open to you yet" in home
        data = client.get("/", headers=bearer(api_token(client, staff))).get_json()
        assert data["canPick"] is False and data["myLists"] == []
        assert set(data["floor"].values()) == {None}


# --- waves ------------------------------------------------------------------------------------------


def _ship(client, h, units, day, **extra):
    return new_shipment(
        client, h, items=[{"sku": "SKU-W", "quantity": units}], ship_at=f"2026-12-{day:02d}T09:00:00Z", **extra
    )


def _members(client, h, created):
    """Per created list: its shipments' ids with their sorting labels, in list order."""
    out = []
    for row in created:
        detail = client.get(f"/lcs/lists/{row['id']}", headers=h).get_json()
        out.append([(lab["shipment_id"], lab["label"]) for lab in detail["sorting_labels"]])
    return out


class TestWaves:
    def test_cap_whole_shipments_labels_and_due_dates(self, client, h):
        s1, s2, s3, s4 = (_ship(client, h, n, d)["id"] for n, d in ((3, 1), (2, 2), (50, 3), (1, 4)))
        inbound = new_shipment(client, h, is_outbound=False)["id"]
        listed = new_shipment(client, h)["id"]
        new_list(client, h, listed)
        r = client.post("/lcs/lists/waves", json={"max_units_per_list": 5}, headers=h)
        assert r.status_code == 200, r.get_json()
        created = r.get_json()
        assert _members(client, h, created) == [[(s1, "A"), (s2, "B")], [(s3, "A")], [(s4, "A")]]
        assert [c["due_at"] for c in created] == [f"2026-12-0{d}T09:00:00.000Z" for d in (1, 3, 4)]
        assert set(created[0]) >= {"id", "number", "sub", "shipments", "is_assigned"}  # created_row shape
        shipments = {sid: client.get(f"/lcs/shipments/{sid}", headers=h).get_json() for sid in (s1, inbound)}
        assert shipments[s1]["is_listed"] and not shipments[inbound]["is_listed"]
        again = client.post("/lcs/lists/waves", json={"max_units_per_list": 5}, headers=h)
        assert again.status_code == 200 and again.get_json() == []  # nothing left to list

    def test_filters_and_max_lists(self, app, client, h, make, tenant):
        method = client.post("/lcs/methods", json={"carrier_code": "dhl", "name": "Express"}, headers=h).get_json()
        north = make.organization(tenant, "North", "north")
        early = _ship(client, h, 1, 1)["id"]
        by_method = _ship(client, h, 1, 2, method_id=method["id"])["id"]
        in_north = _ship(client, h, 1, 3)["id"]
        late = _ship(client, h, 1, 20)["id"]
        with app.app_context():
            db.session.execute(
                sa.update(Shipment).where(Shipment.id == uuid.UUID(in_north)).values(organization_id=north)
            )
            db.session.commit()

        def wave(**body):
            r = client.post("/lcs/lists/waves", json={"max_units_per_list": 1, **body}, headers=h)
            assert r.status_code == 200, r.get_json()
            return [ids for created in _members(client, h, r.get_json()) for ids, _ in created]

        assert wave(method_id=method["id"]) == [by_method]
        assert wave(organization_id=str(north)) == [in_north]
        assert wave(ship_before="2026-12-01") == [early]  # the whole day counts
        assert wave(ship_before="0001-01-01") == []
        _ship(client, h, 1, 21)
        assert wave(ship_before="9999-12-31", max_lists=1) == [late]  # the last day there is: no bound
        assert len(wave()) == 1

    def test_one_transaction_a_refused_shipment_leaves_no_list(self, app, client, h, tenant):
        ok = _ship(client, h, 1, 1)["id"]
        refused = _ship(client, h, 1, 2)["id"]
        with app.app_context():
            store.create_rule(
                SYSTEM,
                BusinessRuleCreate(
                    tenantId=tenant,
                    ruleId="no-refused",
                    ruleName="Refused shipment stays off lists",
                    ruleType="GUARD",
                    entityType="lcs.list",
                    eventType="creating",
                    conditionExpression={"field": "shipments", "operator": "NOT_CONTAINS", "value": refused},
                ),
            )
        r = client.post("/lcs/lists/waves", json={"max_units_per_list": 1}, headers=h)
        assert r.status_code == 422, r.get_json()
        assert client.get("/lcs/lists", headers=h).get_json() == []
        assert not client.get(f"/lcs/shipments/{ok}", headers=h).get_json()["is_listed"]
        alone = client.post("/lcs/lists/waves", json={"max_units_per_list": 1, "ship_before": "2026-12-01"}, headers=h)
        assert alone.status_code == 200 and len(alone.get_json()) == 1  # the rule refuses only that shipment

    def test_htmx_and_page_forms(self, client, h, crew):
        _ship(client, h, 2, 1)
        _ship(client, h, 2, 2)
        csrf = browser_login(client, "p1@acme.test")
        page = client.get("/lcs/lists", headers=BROWSER).get_data(as_text=True)
        assert "Create lists from open shipments" in page and 'name="max_units_per_list"' in page
        hx = {**BROWSER, **HX, "X-CSRFToken": csrf}
        r = client.post(
            "/lcs/lists/waves", headers=hx, data={"max_units_per_list": "2", "max_lists": "1", "ship_before": ""}
        )
        assert r.status_code == 200 and r.headers["HX-Redirect"] == "/lcs/lists?state=open"
        listed = client.get("/lcs/lists?state=open", headers=BROWSER).get_data(as_text=True)
        assert "1 handling list made: HL-000001" in listed  # the flash, shown once the redirect lands
        r = client.post(
            "/lcs/lists/waves", headers=BROWSER, data={"csrf_token": csrf, "max_units_per_list": "40", "method_id": ""}
        )
        assert r.status_code == 303 and r.headers["Location"].endswith("/lcs/lists?state=open")
        assert len(client.get("/lcs/lists", headers=h).get_json()) == 2
        none = client.post("/lcs/lists/waves", headers=hx, data={"max_units_per_list": "40"})
        assert none.status_code == 200 and "No open shipments match" in none.headers["HX-Trigger"]
        bad = client.post("/lcs/lists/waves", headers=hx, data={"max_units_per_list": "0"})
        assert bad.status_code == 400


def test_sorting_labels_run_like_spreadsheet_columns():
    assert [assignment.sorting_label(n) for n in (0, 1, 25, 26, 27, 51, 52, 701)] == [
        "A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ",
    ]  # fmt: skip


# --- in a real browser, on a handheld ----------------------------------------------------------------


@pytest.mark.browser
def test_picker_presses_start_next_list_on_a_handheld(mobile_page, live_server, client, h, crew):
    """360 × 740: the dashboard's big button takes the picker to the scan station of the
    list now theirs, which the dashboard then lists under "My lists"."""
    list_id = _list(client, h)
    page = mobile_page
    open_and_sign_in(page, live_server, "p1@acme.test")
    button = page.get_by_role("button", name="Start next list")
    expect(button).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    button.click()
    page.wait_for_url(url_is(live_server, f"/lcs/lists/{list_id}/station"))
    expect(page.locator("#scan-input")).to_be_focused()
    page.goto(live_server + "/")
    expect(page.locator(".my-list")).to_have_count(1)
    expect(page.locator(".my-list a")).to_have_attribute("href", f"/lcs/lists/{list_id}/station")


@pytest.mark.browser
def test_lead_assigns_and_unassigns_on_the_list_page(page, live_server, client, h, crew):
    """The select, Assign and Unassign work through htmx; the state block refreshes itself."""
    list_id = _list(client, h)
    open_and_sign_in(page, live_server, "p1@acme.test")
    page.goto(f"{live_server}/lcs/lists/{list_id}")
    expect(page.locator(".assignee")).to_have_text("Assigned to nobody")
    page.select_option("select[name=sub]", label="Piet Two")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator(".assignee")).to_have_text("Assigned to Piet Two")
    expect(page.locator("#toasts")).to_contain_text("assigned to Piet Two")
    page.get_by_role("button", name="Unassign").click()
    expect(page.locator(".assignee")).to_have_text("Assigned to nobody")
    assert _sub(client, h, list_id) is None
