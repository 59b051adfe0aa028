"""Issue 16 items 12 and 14 in a real browser, at the viewport where they were found (1366 x 800):
the audit diff of a list field, and the Files library's Record column and filter button."""

import pytest
import sqlalchemy as sa

from models import AuditLog, User, db
from services import record_labels, roles
from services.acl import SYSTEM, Actor
from tests.support import (
    HX,
    api_token,
    bearer,
    browser_login,
    expect,
    open_and_sign_in,
    parcel,
    picked_shipment,
    uploaded,
)

pytestmark = pytest.mark.browser
AUDIT_PAGE = "/audit_logs/audit-logs/actions"
LIBRARY = "/attachments/library"
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


def _files_on_records(client, admin):
    """A photo on a shipment, one on its parcel and one on a record Wharf has no page for."""
    h = bearer(api_token(client, admin))
    s = picked_shipment(client, h)
    p = parcel(client, h, s)
    uploaded(client, h, name="dock.png", entity="lcs:shipment", record=s["id"])
    uploaded(client, h, name="box.png", entity="lcs:parcel", record=p["id"])
    uploaded(client, h, name="misc.png", entity="cnt:file", record="X1")
    return s, p


def test_files_library_names_the_record_and_links_its_page(app, client, admin, live_server, page):
    """Item 14: the Record column shows S-000001 / the parcel's SSCC (linking to the shipment page),
    not the entity type; the Filter button is no wider than its label needs."""
    s, p = _files_on_records(client, admin)
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + LIBRARY)
    shipment_cell = page.locator("tr", has_text="dock.png").locator("td.record-cell")
    expect(shipment_cell.locator("a")).to_have_text(s["number"])
    expect(shipment_cell.locator("a")).to_have_attribute("href", f"/lcs/shipments/{s['id']}")
    parcel_cell = page.locator("tr", has_text="box.png").locator("td.record-cell")
    expect(parcel_cell.locator("a")).to_have_text(p["number"])
    expect(parcel_cell.locator("a")).to_have_attribute("href", f"/lcs/shipments/{s['id']}")
    expect(page.locator("tr", has_text="misc.png").locator("td.record-cell")).to_contain_text("cnt:file")
    button = page.locator("#library-filters button[type=submit]").bounding_box()
    search = page.locator("#library-search").bounding_box()
    assert button["width"] < 120 and button["height"] <= search["height"] + 4, button
    page.screenshot(path=f"{SHOTS}/files-library-1366.png", full_page=True)
    shipment_cell.locator("a").click()
    expect(page.locator("h1")).to_contain_text(s["number"])


def test_record_labels_resolve_a_page_of_records_in_one_query(app, client, admin):
    s, p = _files_on_records(client, admin)
    with app.app_context():
        actor = Actor.of(db.session.scalars(sa.select(User).where(User.email == admin)).one())
        actor.scope.select(User)  # grants and scope are loaded before counting
        statements = []
        listener = lambda *args: statements.append(args[2])
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            found = record_labels.resolve(
                actor, [("lcs:shipment", s["id"]), ("lcs:parcel", p["id"]), ("cnt:file", "X1"), ("lcs:list", "junk")]
            )
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1
    assert {k: v.label for k, v in found.items()} == {
        ("lcs:shipment", s["id"]): s["number"],
        ("lcs:parcel", p["id"]): p["number"],
    }


def test_library_fragment_shows_record_numbers(client, admin):
    s, p = _files_on_records(client, admin)
    browser_login(client, admin)
    html = client.get(LIBRARY, headers={**HX, "HX-Target": "library-results"}).get_data(as_text=True)
    assert "<html" not in html and f'<a href="/lcs/shipments/{s["id"]}">{s["number"]}</a>' in html
    assert f">{p['number']}</a>" in html and "<code>lcs:shipment</code>" not in html
