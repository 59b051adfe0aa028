"""Issue 16 item 13: the rule builder refuses a field the entity's record does not have (it
would read as null on every run) and offers those it has — for lists, the SKUs on the list."""

from __future__ import annotations

import re
import uuid

import pytest

from models import Shipment, db
from services.rules import fields as known
from services.rules import listener
from tests.support import (
    api_token,
    bearer,
    expect,
    new_list,
    new_shipment,
    open_and_sign_in,
    parcel,
    picked_shipment,
    scan,
)

RULES = "/api/business_rules/rules"


def _rule(**fields) -> dict:
    return {
        "ruleId": "mugs-first",
        "ruleName": "Mugs need a second check",
        "ruleType": "GUARD",
        "entityType": "lcs.list",
        "eventType": "finishing",
        "conditionExpression": {"field": "items", "operator": "CONTAINS", "value": "MUG-RED"},
        "failureActions": [{"type": "SHOW_ERROR", "config": {"message": "Check the mugs"}}],
        **fields,
    }


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


def test_a_field_the_list_does_not_have_is_refused_naming_those_it_has(client, h):
    r = client.post(RULES, json=_rule(), headers=h)
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert "conditionExpression.field: lcs.list has no field 'items'" in error and "skus" in error
    created = client.post(
        RULES, json=_rule(conditionExpression={"field": "skus", "operator": "CONTAINS", "value": "X"}), headers=h
    )
    assert created.status_code == 201
    rid = created.get_json()["id"]
    bad = client.put(
        RULES, json={"id": rid, "conditionExpression": {"field": "weight", "operator": ">", "value": 1}}, headers=h
    )
    assert bad.status_code == 400 and "lcs.list has no field 'weight'" in bad.get_json()["error"]
    # an entity Wharf fires no events for: its callers' own data, any field
    assert client.post(RULES, json=_rule(ruleId="ext", entityType="erp.order"), headers=h).status_code == 201


def test_a_guard_on_the_skus_of_a_list_blocks_finishing(client, h):
    """A list holding MUG-RED is not finished by its last pick; one without it is."""
    s = new_shipment(client, h, items=[{"sku": "MUG-RED", "quantity": 1, "description": "Mug"}])
    other = new_shipment(client, h, items=[{"sku": "KETTLE", "quantity": 1, "description": "Kettle"}])
    rule = _rule(conditionExpression={"field": "skus", "operator": "NOT_CONTAINS", "value": "MUG-RED"})
    assert client.post(RULES, json=rule, headers=h).status_code == 201
    mugs, kettles = new_list(client, h, s["id"]), new_list(client, h, other["id"])
    answer = scan(client, h, mugs, "MUG-RED")
    assert answer["is_finished"] is False and answer["finish_blocked"] == "Check the mugs"
    assert scan(client, h, kettles, "KETTLE")["is_finished"] is True


def test_the_suggested_fields_name_everything_a_record_is_built_from(app, client, h):
    """What ``readable_fields`` lets a rule name covers every key the shapers build."""
    s = picked_shipment(client, h)
    p = parcel(client, h, s)
    hl = new_list(client, h, new_shipment(client, h)["id"])
    with app.app_context():
        tenant = db.session.get(Shipment, uuid.UUID(s["id"])).tenant_id
        for entity, rid in (("lcs.shipment", s["id"]), ("lcs.list", hl), ("lcs.parcel", p["id"])):
            record = listener.shape(entity, {"id": rid}, tenant)
            assert record, entity
            assert set(record) <= known.readable_fields(entity), (entity, set(record) - known.readable_fields(entity))


@pytest.mark.browser
def test_the_editor_refuses_items_on_a_list_and_suggests_skus(admin, desktop_page, live_server):
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + "/business_rules/rules/new")
    page.fill("input[name=ruleId]", "mugs-first")
    page.fill("input[name=ruleName]", "Mugs need a second check")
    page.select_option("select[name=entityType]", "lcs.list")
    expect(page.locator("#rule-fields option[value=skus]")).to_have_count(1)
    page.fill("input[name=eventType]", "finishing")
    root = page.locator(".cond-root")
    root.locator(":scope > .cond-head button:has-text('+ Condition')").click()
    row = root.locator(":scope > .cond-children > .cond-row").first
    row.locator(".cond-field").fill("items")
    row.locator(".cond-operator").select_option("CONTAINS")
    row.locator(".cond-value").fill("MUG-RED")
    page.click("button:has-text('Create rule')")
    expect(page.locator("#rule-editor")).to_contain_text("lcs.list has no field 'items'")
    expect(page.locator("#rule-editor")).to_contain_text("skus")
    row = page.locator(".cond-root .cond-row").first
    row.locator(".cond-field").fill("skus")
    page.click("button:has-text('Create rule')")
    page.wait_for_url(lambda url: "/business_rules/rules/" in url and url.rsplit("/", 1)[1] != "new")


@pytest.mark.browser
def test_the_execution_log_reads_as_people_speak(client, h, admin, desktop_page, live_server):
    """Walk finding (rules log, 1366): the list number instead of its uuid, "refused" for a
    guard's FAILURE, "2026-12-04 18:42 UTC" instead of raw ISO, and the runner's name."""
    s = new_shipment(client, h, items=[{"sku": "MUG-RED", "quantity": 1, "description": "Mug"}])
    rule = _rule(conditionExpression={"field": "skus", "operator": "NOT_CONTAINS", "value": "MUG-RED"})
    assert client.post(RULES, json=rule, headers=h).status_code == 201
    hl = new_list(client, h, s["id"])
    number = client.get(f"/lcs/lists/{hl}", headers=h).get_json()["number"]
    scan(client, h, hl, "MUG-RED")
    page = desktop_page
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + "/business_rules/logs")
    row = page.locator("#log-table tbody tr").first
    expect(row.get_by_role("link", name=number)).to_have_attribute("href", f"/lcs/lists/{hl}")
    expect(row.locator(".badge")).to_have_text("refused")
    expect(row.locator("time")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    row.locator("time").click()
    expect(page.locator("dl.facts")).to_contain_text("By" + "Ada Admin")
    expect(page.locator("dl.facts")).not_to_contain_text("-4")  # no uuid for the runner
