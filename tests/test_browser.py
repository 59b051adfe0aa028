"""End-to-end checks in a real browser: Debian's Chromium driven by Playwright against
the ``live_server`` fixture (werkzeug on 127.0.0.1). Run only these with ``-m browser``."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.support import (
    ARTIFACTS,
    PASSWORD,
    SYSTEM,
    expect,
    marker_survived,
    new_page,
    open_and_sign_in,
    set_marker,
    sign_in,
    url_is,
)

pytestmark = pytest.mark.browser


def test_sign_in_lands_on_dashboard(page, live_server, admin):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    page.goto(live_server + "/")
    expect(page).to_have_url(url_is(live_server, "/auth/login?next=/"))
    expect(page.locator("h1")).to_have_text("Sign in")

    sign_in(page, live_server, admin)
    expect(page).to_have_url(url_is(live_server, "/"))
    expect(page.locator("h1")).to_contain_text("Good to see you")
    expect(page.locator("h1")).to_contain_text("Ada Admin")

    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Profile", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Dashboard", exact=True)).to_have_attribute("aria-current", "page")
    expect(page.locator(".who")).to_have_text("Ada Admin")

    assert requests, "no requests recorded"
    foreign = [u for u in requests if not u.startswith(live_server + "/")]
    assert not foreign, f"requests left the local server: {foreign}"


def test_wrong_password_shows_inline_error_without_reload(page, live_server, admin):
    page.goto(live_server + "/auth/login")
    expect(page.locator("#login-form")).to_be_visible()
    # htmx must be wired up before we rely on it intercepting the submit.
    page.wait_for_function("window.htmx !== undefined")
    set_marker(page)

    page.fill("input[name=email]", admin)
    page.fill("input[name=password]", "definitely-wrong-password")
    page.click('button:has-text("Sign in")')

    alert = page.locator("#login-form .alert[role=alert]")
    expect(alert).to_have_text("Invalid email or password")
    expect(page).to_have_url(url_is(live_server, "/auth/login"))
    assert marker_survived(page), "the page reloaded instead of swapping the form"
    # The form is still usable and keeps the email that was typed.
    expect(page.locator("input[name=email]")).to_have_value(admin)
    expect(page.locator('button:has-text("Sign in")')).to_be_enabled()
    assert page.locator("#login-form").count() == 1


def test_profile_save_via_htmx(page, live_server, admin):
    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + "/auth/profile")
    expect(page.locator("h1")).to_have_text("Your profile")
    page.wait_for_function("window.htmx !== undefined")
    expect(page.locator("input[name=name]")).to_have_value("Ada Admin")
    set_marker(page)

    page.fill("input[name=name]", "Ada Lovelace")
    page.click('button:has-text("Save")')

    expect(page.locator("#toasts")).to_contain_text("Profile saved")
    expect(page.locator("#profile-form .ok")).to_have_text("Saved.")
    expect(page.locator("input[name=name]")).to_have_value("Ada Lovelace")
    expect(page).to_have_url(url_is(live_server, "/auth/profile"))
    assert marker_survived(page), "the page reloaded instead of swapping the form"

    page.reload()
    expect(page.locator(".who")).to_have_text("Ada Lovelace")
    expect(page.locator("input[name=name]")).to_have_value("Ada Lovelace")
    assert not marker_survived(page)


def test_expired_session_on_htmx_request_navigates_to_sign_in(page, live_server, app, admin):
    from models import AuthSession, db, utcnow

    open_and_sign_in(page, live_server, admin)
    page.goto(live_server + "/auth/profile")
    expect(page.locator("#profile-form")).to_be_visible()
    page.wait_for_function("window.htmx !== undefined")

    with app.app_context():
        db.session.execute(sa.update(AuthSession).values(revoked_at=utcnow()))
        db.session.commit()
        db.session.remove()

    page.fill("input[name=name]", "Should Not Save")
    with page.expect_response(lambda r: r.request.method == "PUT" and "/auth/profile" in r.url) as put:
        page.click('button:has-text("Save")')
    resp = put.value
    assert resp.request.headers.get("hx-request") == "true", "Save did not go through htmx"
    assert resp.status == 401, f"expected 401 for a revoked session, got {resp.status}"
    assert "/auth/login" in (resp.headers.get("hx-redirect") or ""), resp.headers

    page.wait_for_url(re.compile(re.escape(live_server) + r"/auth/login(\?.*)?$"))
    expect(page.locator("h1")).to_have_text("Sign in")
    # A real navigation: exactly one sign-in form, no profile form left, no nested page.
    assert page.locator("#login-form").count() == 1
    assert page.locator("#profile-form").count() == 0
    assert page.locator("header.topbar").count() == 1
    assert "/auth/profile" in page.url, f"next= should point back to the profile page: {page.url}"
    with app.app_context():
        from models import User

        name = db.session.scalar(sa.select(User.name).where(User.email == admin))
        db.session.remove()
    assert name == "Ada Admin", "a request on a revoked session changed the profile"


def _assert_no_horizontal_overflow(page, width: int):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} overflows: scrollWidth {scroll_width} > {width}"


def test_mobile_width_has_no_horizontal_overflow(mobile_page, browser, live_server, admin):
    page = mobile_page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    page.goto(live_server + "/auth/login")
    expect(page.locator("#login-form")).to_be_visible()
    _assert_no_horizontal_overflow(page, 360)
    page.screenshot(path=str(ARTIFACTS / "login-360.png"), full_page=True)

    sign_in(page, live_server, admin)
    expect(page.locator("h1")).to_contain_text("Good to see you")
    _assert_no_horizontal_overflow(page, 360)
    page.screenshot(path=str(ARTIFACTS / "dashboard-360.png"), full_page=True)

    context, wide = new_page(browser, viewport={"width": 1280, "height": 800})
    try:
        open_and_sign_in(wide, live_server, admin)
        _assert_no_horizontal_overflow(wide, 1280)
        wide.screenshot(path=str(ARTIFACTS / "dashboard-1280.png"), full_page=True)
    finally:
        context.close()


def test_acl_editor_removal_is_enforced_on_next_request(app, browser, live_server, tenant, admin):
    """An admin unticks a feature in the ACL editor; the affected user's next request is refused."""
    from models import db
    from services import roles, users

    with app.app_context():
        clerk = roles.create_role(SYSTEM, "Clerk", tenant_id=tenant)
        roles.update_role_acl(
            SYSTEM, clerk.id, features=["auth.users.list", "auth.roles.list"], is_super_admin=False, organizations=None
        )
        users.create_user(SYSTEM, email="clerk@acme.test", password=PASSWORD, role_ids=[clerk.id], tenant_id=tenant)
        role_id = str(clerk.id)
        db.session.remove()
    admin_ctx, admin_page = new_page(browser)
    clerk_ctx, clerk_page = new_page(browser)
    try:
        open_and_sign_in(clerk_page, live_server, "clerk@acme.test")
        clerk_page.goto(live_server + "/auth/users")
        expect(clerk_page.locator("h1")).to_have_text("Users")

        open_and_sign_in(admin_page, live_server, admin)
        admin_page.goto(f"{live_server}/auth/roles/acl?roleId={role_id}")
        box = admin_page.locator('input[name=features][value="auth.users.list"]')
        expect(box).to_be_checked()
        admin_page.evaluate("window.__marker = 1")
        box.uncheck()
        admin_page.click('button:has-text("Save permissions")')
        expect(admin_page.locator("#acl-form .ok")).to_have_text("Saved.")
        expect(admin_page.locator("#toasts")).to_contain_text("Permissions saved")
        assert admin_page.evaluate("window.__marker") == 1  # saved via htmx, no reload
        expect(admin_page.locator('input[name=features][value="auth.users.list"]')).not_to_be_checked()

        response = clerk_page.goto(live_server + "/auth/users")
        assert response.status == 403
        expect(clerk_page.locator("h1")).to_have_text("403")
        clerk_page.goto(live_server + "/auth/roles")  # the other grant still works
        expect(clerk_page.locator("h1")).to_have_text("Roles")
    finally:
        admin_ctx.close()
        clerk_ctx.close()


def test_flip_boolean_override_is_answered_by_check_at_once(app, browser, live_server, tenant):
    """One click on the override page flips the toggle; the check endpoint agrees immediately."""
    from models import db
    from schemas.feature_toggles import FeatureToggleCreate
    from services import roles, toggles, users

    with app.app_context():
        admin_role = roles.seed_default_roles(tenant)[roles.ADMINISTRATOR]
        db.session.commit()
        users.create_user(SYSTEM, email="boss@acme.test", password=PASSWORD, role_ids=[admin_role.id], tenant_id=tenant)
        toggle_id = str(
            toggles.create_toggle(
                SYSTEM,
                FeatureToggleCreate(identifier="lcs.scan.sound", name="Scan sounds", type="boolean", defaultValue=True),
            ).id
        )
        db.session.remove()
    ctx, page = new_page(browser)
    try:
        open_and_sign_in(page, live_server, "boss@acme.test")
        check = f"{live_server}/api/feature_toggles/check/boolean?identifier=lcs.scan.sound"

        def enabled():
            return page.evaluate(
                "url => fetch(url, {headers: {Accept: 'application/json'}}).then(r => r.json())", check
            )

        assert enabled()["enabled"] is True
        page.goto(live_server + "/feature_toggles/overrides")
        page.evaluate("window.__marker = 1")
        row = page.locator(f"#override-{toggle_id}")
        row.get_by_role("switch").click()
        expect(page.locator(f"#override-{toggle_id}")).to_have_attribute("data-state", "disabled")
        expect(page.locator(f"#override-{toggle_id}").get_by_role("switch")).to_have_text("Off")
        assert page.evaluate("window.__marker") == 1
        answer = enabled()
        assert answer["enabled"] is False and answer["source"] == "override"
        page.locator(f"#override-{toggle_id}").get_by_role("button", name="Inherit").click()
        expect(page.locator(f"#override-{toggle_id}")).to_have_attribute("data-state", "inherit")
        assert enabled()["source"] == "default"
    finally:
        ctx.close()


def test_scan_station_on_a_handheld(app, browser, live_server, tenant, monkeypatch):
    """Issue 6: warehouse staff at 360 × 740 fire three scans without waiting, all three are
    handled; an unknown code turns the station red; the last unit's scan finishes the list.
    Each scan answer is held back a little (handheld on a slow Wi-Fi), so the second and
    third scans are certainly queued behind the first one."""
    import time

    from models import ScanEvent, db
    from schemas.lcs_lists import LcsHandlingModel, LcsHandlingModelShipments
    from schemas.lcs_shipments import LcsShipmentItemModel, LcsShipmentModel
    from services import roles, users
    from services.logistics import lists, shipments

    with app.app_context():
        staff_role = roles.seed_default_roles(tenant)[roles.WAREHOUSE_STAFF]
        db.session.commit()
        users.create_user(
            SYSTEM, email="picker@acme.test", password=PASSWORD, role_ids=[staff_role.id], tenant_id=tenant
        )
        s = shipments.create_shipment(
            SYSTEM,
            LcsShipmentModel(
                tenant_id=tenant,
                items=[
                    LcsShipmentItemModel(sku="SKU-A", quantity=2, description="Blue widget"),
                    LcsShipmentItemModel(sku="SKU-B", quantity=1, description="Red widget"),
                    LcsShipmentItemModel(sku="SKU-C", quantity=1, description="Green widget"),
                ],
                addressing={
                    "to": {
                        "address": {
                            "name": "Dock Customer",
                            "street": "Quay 1",
                            "postal_code": "1011 AB",
                            "city": "Amsterdam",
                            "country_code": "NL",
                        }
                    }
                },
            ),
        )
        hl = lists.create_list(SYSTEM, LcsHandlingModel(shipments=[LcsHandlingModelShipments(id=s.id)]))
        list_id, number = hl.id, hl.number
        db.session.remove()

    view = app.view_functions["lcs.scan"]

    def slow_scan(*args, **kwargs):
        time.sleep(0.25)
        return view(*args, **kwargs)

    monkeypatch.setitem(app.view_functions, "lcs.scan", slow_scan)
    ctx, page = new_page(browser, viewport={"width": 360, "height": 740})
    scans: list = []
    page.on(
        "response", lambda r: scans.append(r.status) if r.request.method == "POST" and r.url.endswith("/scan") else None
    )
    try:
        open_and_sign_in(page, live_server, "picker@acme.test")
        page.goto(f"{live_server}/lcs/lists/{list_id}/station")
        page.wait_for_function("window.htmx !== undefined")
        scan_input = page.locator("#scan-input")
        expect(scan_input).to_be_focused()
        panel = page.locator("#station-panel")
        expect(panel.locator(".progress-count")).to_have_text("0/4")
        _assert_no_horizontal_overflow(page, 360)

        # Three scans as a keyboard-wedge scanner sends them: no pause between them.
        for code in ("SKU-A", "SKU-A", "SKU-B"):
            page.keyboard.type(code)
            page.keyboard.press("Enter")
        expect(panel.locator(".progress-count")).to_have_text("3/4")
        expect(page.locator(".station-panel.status-ok")).to_be_visible()
        expect(panel.locator(".pick-sku")).to_contain_text("SKU-C")
        expect(scan_input).to_have_value("")
        expect(scan_input).to_be_focused()
        with app.app_context():
            handled = db.session.scalar(
                sa.select(sa.func.count(ScanEvent.id)).where(ScanEvent.list_id == list_id, ScanEvent.kind == "handled")
            )
            db.session.remove()
        assert handled == 3
        assert scans == [200, 200, 200]

        page.keyboard.type("NOPE-404")
        page.keyboard.press("Enter")
        expect(page.locator(".station-panel.status-error")).to_be_visible()
        expect(panel.locator(".station-message")).to_contain_text("Unknown code NOPE-404")
        expect(panel.locator(".progress-count")).to_have_text("3/4")  # nothing changed
        _assert_no_horizontal_overflow(page, 360)
        page.screenshot(path=str(ARTIFACTS / "station-error-360.png"), full_page=True)

        page.keyboard.type("SKU-C")
        page.keyboard.press("Enter")
        expect(panel.locator(".progress-count")).to_have_text("4/4")
        expect(page.locator(".station-panel.status-done")).to_be_visible()
        expect(panel.locator(".station-message")).to_have_text(f"SKU-C picked — {number} finished")
        expect(panel.locator(".station-done")).to_have_text(f"✔ {number} is finished.")
        expect(page.get_by_role("button", name="Finish list")).to_have_count(0)
        _assert_no_horizontal_overflow(page, 360)
        page.screenshot(path=str(ARTIFACTS / "station-finished-360.png"), full_page=True)
        with app.app_context():
            from models import HandlingList

            assert db.session.get(HandlingList, list_id).is_finished is True
            db.session.remove()
    finally:
        ctx.close()


def test_shipments_screen_searches_and_pages_without_reload(app, page, live_server, tenant, admin):
    """Issue 6: the shipment list at 27 shipments: the pager and the live search swap the
    rows and the count together, in place (no navigation: a marker on ``window`` survives)."""
    from models import db
    from schemas.lcs_shipments import LcsShipmentItemModel, LcsShipmentModel
    from services.logistics import shipments

    with app.app_context():
        for n in range(27):
            name = "Zed Zwart" if n == 3 else f"Customer {n}"
            shipments.create_shipment(
                SYSTEM,
                LcsShipmentModel(
                    tenant_id=tenant,
                    items=[LcsShipmentItemModel(sku="MUG")],
                    addressing={"to": {"address": {"name": name}}},
                ),
            )
        db.session.remove()
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/lcs/shipments")
    page.wait_for_function("window.htmx !== undefined")
    page.evaluate("window.__stayed = true")
    results = page.locator("#shipment-results")
    expect(results).to_contain_text("27 shipments")
    expect(results).to_contain_text("Page 1 of 2")
    expect(results.locator("tbody tr")).to_have_count(25)

    results.get_by_role("button", name="Next →").click()
    expect(results).to_contain_text("Page 2 of 2")
    expect(results.locator("tbody tr")).to_have_count(2)
    expect(results).to_contain_text("S-000001")

    page.fill("input[name=search]", "zed")
    expect(results).to_contain_text("1 shipment")
    expect(results.locator("tbody tr")).to_have_count(1)
    expect(results).to_contain_text("S-000004")
    expect(results.get_by_role("button", name="Next →")).to_have_count(0)
    assert page.evaluate("window.__stayed") is True  # swapped in place, never reloaded


def test_cancel_shipment_updates_the_page_in_place_with_a_toast(app, page, live_server, tenant, admin):
    """Cancelling answers an event and a toast: the shipment's state re-fetches itself (the
    badge appears, the button goes), the page is not reloaded and the toast stays."""
    from models import db
    from schemas.lcs_shipments import LcsShipmentItemModel, LcsShipmentModel
    from services.acl import EVERYTHING, Actor
    from services.logistics import shipments

    with app.app_context():
        s = shipments.create_shipment(
            Actor(None, EVERYTHING), LcsShipmentModel(tenant_id=tenant, items=[LcsShipmentItemModel(sku="MUG")])
        )
        sid = s.id
        db.session.commit()
        db.session.remove()
    open_and_sign_in(page, live_server, admin)
    page.goto(f"{live_server}/lcs/shipments/{sid}")
    page.wait_for_function("window.htmx !== undefined")
    page.evaluate("window.__stayed = true")
    page.on("dialog", lambda d: d.accept())
    state = page.locator("#shipment-state")
    state.get_by_role("button", name="Cancel shipment").click()
    expect(state).to_contain_text("canceled")
    expect(state.get_by_role("button", name="Cancel shipment")).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("Shipment canceled")
    assert page.evaluate("window.__stayed") is True  # updated in place, never reloaded
