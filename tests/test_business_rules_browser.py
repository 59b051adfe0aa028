"""The rule editor in a real browser: conditions and groups added and removed as htmx
fragments, read back into JSON by static/js/rules-builder.js, dry-run with "try it", saved,
and the list's inline switch. Run with ``-m browser``."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from models import BusinessRule, db
from tests.support import expect, open_and_sign_in

pytestmark = pytest.mark.browser


def _stored(app, rule_id: str) -> BusinessRule:
    with app.app_context():
        rule = db.session.scalars(sa.select(BusinessRule).where(BusinessRule.rule_id == rule_id)).one()
        db.session.expunge(rule)
        return rule


def test_build_try_save_and_switch_a_rule(app, page, live_server, admin):
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + "/business_rules/rules/new")
    page.fill("input[name=ruleId]", "heavy-parcels")
    page.fill("input[name=ruleName]", "Heavy parcels need a method that carries them")
    page.select_option("select[name=entityType]", "lcs.parcel")
    page.fill("input[name=eventType]", "labeling")

    root = page.locator(".cond-root")
    root.locator(":scope > .cond-head button:has-text('+ Condition')").click()
    row = root.locator(":scope > .cond-children > .cond-row").first
    expect(row).to_be_visible()
    row.locator(".cond-field").fill("weight")
    row.locator(".cond-operator").select_option(">")
    row.locator(".cond-value").fill("1000")

    root.locator(":scope > .cond-head button:has-text('+ Group')").click()
    group = root.locator(":scope > .cond-children > .cond-group").first
    expect(group).to_be_visible()
    group.locator(".cond-op").select_option("NOT")
    inner = group.locator(".cond-row").first
    inner.locator(".cond-field").fill("weight")
    inner.locator(".cond-operator").select_option(">")
    inner.locator(".cond-kind").select_option("field")
    inner.locator(".cond-value").fill("method.max_weight")
    group.locator(":scope > .cond-head button:has-text('+ Condition')").click()
    extra = group.locator(".cond-row").nth(1)
    expect(extra).to_be_visible()
    extra.locator("button[title='Remove this condition']").click()  # removed again (htmx delete swap)
    expect(group.locator(".cond-row")).to_have_count(1)

    failure = page.locator("[data-actions=failure]")
    page.locator("[data-actions=failure] + button").click()
    action = failure.locator(".action-row").first
    expect(action).to_be_visible()
    action.locator(".action-type").select_option("SHOW_ERROR")
    action.locator(".action-main").fill("{{weight}} g is more than {{method.max_weight}} g")

    page.fill("textarea[name=sample]", json.dumps({"weight": 30000, "method": {"max_weight": 23000}}))
    page.click("button:has-text('Try it')")
    result = page.locator("#try-result .try-result")
    expect(result).to_have_attribute("data-allowed", "false")
    expect(result).to_contain_text("30000 g is more than 23000 g")

    page.click("button:has-text('Create rule')")
    page.wait_for_url(re.compile(r".*/business_rules/rules/[0-9a-f-]{36}$"))
    rule = _stored(app, "heavy-parcels")
    assert rule.condition_expression == {
        "operator": "AND",
        "rules": [
            {"field": "weight", "operator": ">", "value": 1000},
            {"operator": "NOT", "rules": [{"field": "weight", "operator": ">", "valueField": "method.max_weight"}]},
        ],
    }
    assert rule.failure_actions == [
        {"type": "SHOW_ERROR", "config": {"message": "{{weight}} g is more than {{method.max_weight}} g"}}
    ]
    assert rule.event_type == "labeling" and rule.enabled

    page.goto(live_server + "/business_rules/rules")
    switch = page.locator(f"#rule-{rule.id} button[role=switch]")
    expect(switch).to_have_text("On")
    switch.click()
    expect(page.locator(f"#rule-{rule.id} button[role=switch]")).to_have_text("Off")
    assert _stored(app, "heavy-parcels").enabled is False
