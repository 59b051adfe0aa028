"""Business rules (seed 000 /business_rules, wire family A): rules, rule sets, execution logs,
manual execution, and the screens (rule list, visual editor with "try it", sets, log).

The engine listens to the domain events (services.events) because ``create_app`` wires it.
"""

import json

from flask import Blueprint

from services.rules import listener
from web.access import registry

bp = Blueprint("business_rules", __name__)
# Screen-only routes (the new-rule page, the builder's fragments): mounted for browsers only.
pages_bp = Blueprint("business_rules_pages", __name__)

registry.declare(
    "business_rules",
    "Business rules",
    [
        ("business_rules.view", "View business rules and rule sets"),
        ("business_rules.manage", "Create, change and delete business rules"),
        ("business_rules.manage_sets", "Manage rule sets and their members"),
        ("business_rules.execute", "Execute and dry-run rules"),
        ("business_rules.view_logs", "View rule execution logs"),
    ],
)
registry.add_nav("Business rules", "business_rules.rules", group="Administration", order=320)


@bp.after_app_request
def _rule_messages(response):
    """Warnings and infos of rules that ran during this request, where the person acted:
    a toast for htmx (scan and pack stations), ``x-rule-warnings`` for API clients."""
    from web.htmx import htmx_details, toast

    messages = listener.pending_messages()
    if not messages or response.status_code >= 400:
        return response
    if htmx_details().is_htmx:
        level = "warning" if any(lvl == "warning" for lvl, _ in messages) else "info"
        return toast(response, " · ".join(dict.fromkeys(m for _, m in messages)), level)
    warnings = [m for lvl, m in messages if lvl == "warning"]
    infos = [m for lvl, m in messages if lvl == "info"]
    if warnings:
        response.headers["x-rule-warnings"] = json.dumps(warnings)
    if infos:
        response.headers["x-rule-infos"] = json.dumps(infos)
    return response


from blueprints.business_rules import screens, views  # noqa: F401  (registers routes)
