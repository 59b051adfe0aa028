"""Issue 16 items 12 and 14 in a real browser, at the viewport where they were found (1366 x 800):
the audit diff of a list field, and the Files library's Record column and filter button."""

import pytest
import sqlalchemy as sa

from models import AuditLog, db
from services import roles
from services.acl import SYSTEM
from tests.support import expect, open_and_sign_in

pytestmark = pytest.mark.browser
AUDIT_PAGE = "/audit_logs/audit-logs/actions"
SHOTS = "/tmp/shots-t"


def test_audit_diff_lists_added_and_removed_items_and_all_organizations(app, tenant, admin, live_server, page):
    """Item 12: a role's features read as "+ added / − removed", and a null organizations as all of them."""
    with app.app_context():
        role = roles.create_role(SYSTEM, "Clerks", tenant_id=tenant)
        roles.update_role_acl(
            SYSTEM, role.id, features=["auth.users.list", "auth.roles.list"], is_super_admin=False, organizations=None
        )
        roles.update_role_acl(
            SYSTEM,
            role.id,
            features=["auth.users.list", "audit_logs.view_self"],
            is_super_admin=False,
            organizations=None,
        )
        first, second = (
            str(i)
            for i in db.session.scalars(
                sa.select(AuditLog.id)
                .where(AuditLog.resource_kind == "role_acl", AuditLog.resource_id == str(role.id))
                .order_by(AuditLog.created_at, AuditLog.id)
            )
        )
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}{AUDIT_PAGE}?id={first}")
    features = page.locator("#audit-entry tr", has=page.locator("th code", has_text="features"))
    expect(features.locator("li.diff-added")).to_have_text(["+ auth.users.list", "+ auth.roles.list"])
    expect(features.locator("li.diff-removed")).to_have_count(0)
    expect(features).not_to_contain_text("[")
    organizations = page.locator("#audit-entry tr", has=page.locator("th code", has_text="organizations"))
    expect(organizations.locator("td").first).to_have_text("all organizations")
    expect(organizations.locator("td").last).to_have_text("all organizations")

    page.goto(f"{live_server}{AUDIT_PAGE}?id={second}")
    features = page.locator("#audit-entry tr", has=page.locator("th code", has_text="features"))
    expect(features.locator("li.diff-added")).to_have_text(["+ audit_logs.view_self"])
    expect(features.locator("li.diff-removed")).to_have_text(["− auth.roles.list"])
    expect(features).not_to_contain_text("auth.users.list")  # unchanged items are not repeated
    page.screenshot(path=f"{SHOTS}/audit-diff-1366.png", full_page=True)
