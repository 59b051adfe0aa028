"""Issue 16, ACL editor items 1 and 2a: browser tests at the viewport where each was found (1366 x 800)."""

from __future__ import annotations

import uuid

import pytest

from tests.support import SYSTEM, expect, new_page, open_and_sign_in

pytestmark = pytest.mark.browser

LCS_FEATURES = (
    "lcs.shipments.read",
    "lcs.shipments.write",
    "lcs.handling.read",
    "lcs.handling.write",
    "lcs.locations.read",
    "lcs.locations.write",
    "lcs.methods.read",
    "lcs.methods.write",
    "lcs.products.read",
    "lcs.products.write",
)


@pytest.fixture()
def desk(browser):
    """A desktop page at the issue's 1366 x 800."""
    context, pg = new_page(browser, viewport={"width": 1366, "height": 800})
    yield pg
    context.close()


def _role(app, tenant, features) -> str:
    from models import db
    from services import roles

    with app.app_context():
        role = roles.create_role(SYSTEM, "Picker lead", tenant_id=tenant)
        roles.update_role_acl(SYSTEM, role.id, features=features, is_super_admin=False, organizations=None)
        role_id = str(role.id)
        db.session.remove()
    return role_id


def _saved_features(app, role_id) -> set[str]:
    from models import db
    from models.acl import Role

    with app.app_context():
        features = set(db.session.get(Role, uuid.UUID(role_id)).acl.features or [])
        db.session.remove()
    return features


def _open_editor(desk, live_server, admin, role_id):
    open_and_sign_in(desk, live_server, admin)
    desk.goto(f"{live_server}/auth/roles/acl?roleId={role_id}")
    expect(desk.locator("h1")).to_contain_text("Permissions of role")


def _save(desk):
    """Save and wait for this save's answer (an earlier "Saved." may still be on the form)."""
    with desk.expect_response(lambda r: r.request.method == "PUT" and "/acl" in r.url):
        desk.click('button:has-text("Save permissions")')
    expect(desk.locator("#acl-form .ok")).to_have_text("Saved.")


def _box(desk, value):
    return desk.locator(f'#acl-form input[name=features][value="{value}"]')


def test_acl_cards_do_not_overlap_or_clip_at_1366(app, desk, live_server, tenant, admin):
    role_id = _role(app, tenant, ["lcs.*"])
    _open_editor(desk, live_server, admin, role_id)
    desk.screenshot(path="/tmp/shots-p/acl-1366.png", full_page=True)
    cards = desk.evaluate(
        """() => [...document.querySelectorAll('.modules > fieldset')].map(f => {
             const r = f.getBoundingClientRect();
             const codes = [...f.querySelectorAll('code')].map(c => {
               const b = c.getBoundingClientRect(); return {right: b.right, sw: c.scrollWidth, cw: c.clientWidth}; });
             return {module: f.dataset.module, left: r.left, right: r.right, top: r.top, width: r.width, codes}; })"""
    )
    assert len(cards) > 3
    widths = {round(c["width"]) for c in cards}
    assert max(widths) - min(widths) <= 1, f"uneven card widths: {sorted(widths)}"
    for a in cards:
        for b in cards:
            if a is not b and round(a["top"]) == round(b["top"]) and a["left"] < b["left"]:
                assert a["right"] <= b["left"] + 0.5, f"{a['module']} card is drawn over {b['module']}"
        for code in a["codes"]:
            assert code["right"] <= a["right"] + 0.5, f"a feature id sticks out of the {a['module']} card"
            assert code["sw"] <= code["cw"] + 1, f"a feature id is clipped in the {a['module']} card"
    assert desk.evaluate("document.documentElement.scrollWidth") <= 1366


def test_unticking_a_saved_wildcard_shows_and_saves_the_hand_ticked_features(app, desk, live_server, tenant, admin):
    role_id = _role(app, tenant, ["lcs.*", "lcs.handling.read", "auth.users.list"])
    _open_editor(desk, live_server, admin, role_id)
    wildcard = _box(desk, "lcs.*")
    expect(wildcard).to_be_checked()
    for feature in LCS_FEATURES:
        expect(_box(desk, feature)).to_be_checked()
        expect(_box(desk, feature)).to_be_disabled()

    wildcard.uncheck()
    for feature in LCS_FEATURES:
        expect(_box(desk, feature)).to_be_enabled()
        if feature == "lcs.handling.read":
            expect(_box(desk, feature)).to_be_checked()
        else:
            expect(_box(desk, feature)).not_to_be_checked()
    _box(desk, "lcs.shipments.read").check()
    _save(desk)

    assert _saved_features(app, role_id) == {"lcs.handling.read", "lcs.shipments.read", "auth.users.list"}
    expect(_box(desk, "lcs.*")).not_to_be_checked()
    expect(_box(desk, "lcs.handling.read")).to_be_checked()
    expect(_box(desk, "lcs.shipments.read")).to_be_checked()
    expect(_box(desk, "lcs.products.read")).not_to_be_checked()


def test_a_saved_wildcard_alone_unticks_to_nothing_and_reticks_to_the_wildcard(app, desk, live_server, tenant, admin):
    role_id = _role(app, tenant, ["lcs.*"])
    _open_editor(desk, live_server, admin, role_id)
    _box(desk, "lcs.*").uncheck()
    for feature in LCS_FEATURES:
        expect(_box(desk, feature)).to_be_enabled()
        expect(_box(desk, feature)).not_to_be_checked()
    _save(desk)
    assert _saved_features(app, role_id) == set()

    _box(desk, "lcs.methods.read").check()
    _box(desk, "lcs.*").check()
    expect(_box(desk, "lcs.products.write")).to_be_checked()
    expect(_box(desk, "lcs.products.write")).to_be_disabled()
    _save(desk)
    assert _saved_features(app, role_id) == {"lcs.*"}
    _box(desk, "lcs.*").uncheck()  # the grants it replaced were saved as the wildcard alone
    expect(_box(desk, "lcs.methods.read")).not_to_be_checked()


def test_saving_a_role_that_holds_everything_keeps_it(app, desk, live_server, tenant, admin):
    """``*`` greys every card and has no box of its own: it must ride along on save, not vanish."""
    role_id = _role(app, tenant, ["*"])
    _open_editor(desk, live_server, admin, role_id)
    expect(_box(desk, "lcs.handling.read")).to_be_disabled()
    _save(desk)
    assert _saved_features(app, role_id) == {"*"}
