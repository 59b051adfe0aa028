"""The two example rules Wharf ships: created by ``flask seed-demo`` for the demo tenant, and
for any tenant from the rule list ("Add example rules"). The max-weight rule ships enabled (a
30 kg parcel must not get a label for a 23 kg method; a tenant may switch it off); the
missing-units rule ships disabled (whether a list may finish short is the tenant's call)."""

from __future__ import annotations

from models import BusinessRule, Scope, db
from schemas.business_rules import BusinessRuleCreate
from services.acl import Actor
from services.rules import store

EXAMPLES = [
    {
        "ruleId": "parcel-max-weight",
        "ruleName": "parcel over method max weight cannot be labelled",
        "description": "Refuses a label for a parcel heavier than its shipment's shipping method allows "
        "(methods without a maximum weight are not limited).",
        "ruleType": "GUARD",
        "ruleCategory": "packing",
        "entityType": "lcs.parcel",
        "eventType": "labeling",
        "enabled": True,
        "priority": 500,
        # GUARD passes when the condition holds: "NOT (weight > method.max_weight)".
        "conditionExpression": {
            "operator": "NOT",
            "rules": [{"field": "weight", "operator": ">", "valueField": "method.max_weight"}],
        },
        "successActions": None,
        "failureActions": [
            {
                "type": "SHOW_ERROR",
                "config": {
                    "message": "Parcel {{number}} weighs {{weight}} g, more than {{method.name}} allows "
                    "({{method.max_weight}} g): repack it or choose another method."
                },
            }
        ],
    },
    {
        "ruleId": "list-missing-units",
        "ruleName": "a handling list with missing units cannot finish",
        "description": "A list whose units were marked missing stays open until someone resolves them.",
        "ruleType": "GUARD",
        "ruleCategory": "picking",
        "entityType": "lcs.list",
        "eventType": "finishing",
        "enabled": False,
        "priority": 500,
        "conditionExpression": {
            "operator": "AND",
            "rules": [{"field": "progress.missing", "operator": "=", "value": 0}],
        },
        "successActions": None,
        "failureActions": [
            {
                "type": "SHOW_ERROR",
                "config": {
                    "message": "Handling list {{number}} has {{progress.missing}} missing unit(s): "
                    "resolve them before finishing."
                },
            }
        ],
    },
]


def ensure_examples(actor: Actor, tenant_id) -> int:
    """Create the examples the tenant does not have yet (by ruleId); returns how many."""
    have = set(
        db.session.scalars(
            Scope(tenant_id)
            .select(BusinessRule)
            .with_only_columns(BusinessRule.rule_id)
            .where(BusinessRule.rule_id.in_([e["ruleId"] for e in EXAMPLES]))
        )
    )
    created = 0
    for example in EXAMPLES:
        if example["ruleId"] not in have:
            store.create_rule(actor, BusinessRuleCreate(**example, tenantId=tenant_id))
            created += 1
    return created
