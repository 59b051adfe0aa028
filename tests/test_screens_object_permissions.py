"""Issue 18's three use cases in a real browser: a clerk who reads shipments of every location
but one, a temporary picker who works only one handling list (at 360 px, at the station), and
a lead who edits every business rule except the compliance set."""

from __future__ import annotations

import pytest

from tests.support import (
    ADDRESS,
    TO,
    api_token,
    bearer,
    expect,
    marker_survived,
    new_list,
    new_shipment,
    object_grant,
    open_and_sign_in,
    set_marker,
    tenant_admin,
    user_id_of,
    with_features,
)

pytestmark = pytest.mark.browser
SHOTS = "/tmp/shots-perm"


@pytest.fixture()
def lead(app, client, tenant):
    return bearer(api_token(client, tenant_admin(app, tenant, "lead@acme.test")))


def test_clerk_sees_every_location_but_one(app, client, tenant, lead, desktop_page, live_server):
    locs = [client.post("/lcs/locations", json={"name": n}, headers=lead).get_json()["id"] for n in ("North", "South")]
    kept, hidden = (
        new_shipment(
            client, lead, addressing={"from": {"entity_type": "location", "entity_id": loc}, "to": {"address": TO}}
        )
        for loc in locs
    )
    clerk = with_features(app, tenant, "clerk@acme.test", ["lcs.shipments.read"])
    object_grant(app, tenant, "lcs.shipments.read", locs[1], "location", False, user_id=user_id_of(app, clerk))

    page = desktop_page
    open_and_sign_in(page, live_server, clerk)
    page.goto(f"{live_server}/lcs/shipments")
    expect(page.get_by_text(kept["number"]).first).to_be_visible()
    expect(page.get_by_text(hidden["number"])).to_have_count(0)
    r = page.goto(f"{live_server}/lcs/shipments/{hidden['id']}")
    assert r.status == 404
    page.goto(f"{live_server}/permissions")
    expect(page.locator("#permission-records")).to_contain_text("Location South")
    set_marker(page)
    page.fill("input[name=search]", "handling")
    expect(page.locator("#permission-records")).to_contain_text("No permission matches")
    assert marker_survived(page)
    page.goto(f"{live_server}/permissions/lcs.shipments.read")
    expect(page.locator("#permission-check")).to_contain_text("everywhere except these records")
    page.screenshot(path=f"{SHOTS}/clerk-permission-desktop.png", full_page=True)


def test_temporary_picker_works_one_list_at_360(app, client, tenant, lead, mobile_page, live_server):
    mine = new_shipment(client, lead, items=[{"sku": "MUG", "quantity": 1, "description": "Mug"}], addressing=ADDRESS)
    other = new_shipment(client, lead, items=[{"sku": "MUG", "quantity": 1, "description": "Mug"}], addressing=ADDRESS)
    hl42, other_list = new_list(client, lead, mine["id"]), new_list(client, lead, other["id"])
    numbers = {hl["id"]: hl["number"] for hl in client.get("/lcs/lists", headers=lead).get_json()}
    picker = with_features(app, tenant, "temp@acme.test", [])
    for feature in ("lcs.handling.read", "lcs.handling.write"):
        object_grant(app, tenant, feature, hl42, "handling_list", True, user_id=user_id_of(app, picker))

    page = mobile_page
    open_and_sign_in(page, live_server, picker)
    page.goto(f"{live_server}/lcs/lists")
    expect(page.get_by_text(numbers[hl42]).first).to_be_visible()
    expect(page.get_by_text(numbers[other_list])).to_have_count(0)
    page.screenshot(path=f"{SHOTS}/picker-lists-360.png", full_page=True)
    assert page.goto(f"{live_server}/lcs/lists/{other_list}/station").status == 404
    page.goto(f"{live_server}/lcs/lists/{hl42}/station")
    page.wait_for_function("window.htmx !== undefined")
    page.locator("#scan-input").fill(mine["items"][0]["id"])
    page.keyboard.press("Enter")
    expect(page.locator(".station-message")).to_contain_text("MUG")
    page.screenshot(path=f"{SHOTS}/picker-station-360.png", full_page=True)


def test_lead_edits_every_rule_but_the_compliance_set(app, client, tenant, lead, desktop_page, live_server):
    def rule(rule_id):
        body = {"ruleId": rule_id, "ruleName": rule_id, "ruleType": "GUARD", "entityType": "lcs.parcel"}
        return client.post("/api/business_rules/rules", json=body, headers=lead).get_json()["id"]

    free, bound = rule("weight-limit"), rule("hazmat-check")
    compliance = client.post(
        "/api/business_rules/sets", json={"setId": "compliance", "setName": "Compliance"}, headers=lead
    ).get_json()["id"]
    client.post(f"/api/business_rules/sets/{compliance}/members", json={"ruleId": bound}, headers=lead)
    editor = with_features(app, tenant, "editor@acme.test", ["business_rules.view", "business_rules.manage"])
    object_grant(app, tenant, "business_rules.manage", compliance, "rule_set", False, user_id=user_id_of(app, editor))

    page = desktop_page
    open_and_sign_in(page, live_server, editor)
    page.goto(f"{live_server}/business_rules/rules/{bound}")
    expect(page.locator("#rule-read-only")).to_be_visible()
    expect(page.get_by_role("button", name="Save rule")).to_have_count(0)
    page.goto(f"{live_server}/business_rules/rules/{free}")
    page.fill("input[name=ruleName]", "Weight limit (lead)")
    set_marker(page)
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator("#rule-editor")).to_contain_text("Saved")
    assert marker_survived(page)
