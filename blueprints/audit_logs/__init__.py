"""Audit log (seed 000 /audit_logs): who changed which admin-managed record, and how."""

from flask import Blueprint

from web.access import registry

bp = Blueprint("audit_logs", __name__)

registry.declare(
    "audit_logs",
    "Audit log",
    [
        ("audit_logs.view_self", "View own actions in the audit log"),
        ("audit_logs.view_tenant", "View everybody's actions in the tenant"),
        ("audit_logs.undo_self", "Undo own actions"),
        ("audit_logs.redo_self", "Redo own undone actions"),
        ("audit_logs.undo_tenant", "Undo and redo everybody's actions in the tenant"),
    ],
)
registry.add_nav("Audit log", "audit_logs.list_actions", group="Administration", order=70)
registry.add_nav("Access log", "audit_logs.list_access", group="Administration", order=71)

from blueprints.audit_logs import views  # noqa: F401  (registers routes)
