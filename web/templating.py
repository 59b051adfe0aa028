"""Jinja globals, filters and tests shared by every template."""

from __future__ import annotations

from flask import Flask
from flask_login import current_user

from models.base import iso_utc
from services import toggles
from services.acl import grant_matches
from web.access import registry
from web.forms import field_error


def _wildcard_covers(grant: str, feature_id: str) -> bool:
    return grant.endswith(".*") and grant_matches(grant, feature_id)


def _known_grant(grant: str, modules) -> bool:
    """Grants the ACL editor shows as a checkbox (others are kept as hidden inputs). ``*`` has
    no checkbox of its own (it greys every card), so it rides along hidden: saving keeps it."""
    return any(grant == m["id"] + ".*" or any(f.id == grant for f in m["features"]) for m in modules)


def toggle(identifier: str, default=None):
    """``{{ toggle("lcs.scan.sound", true) }}``: the toggle's value for the signed-in tenant."""
    if not getattr(current_user, "is_authenticated", False):
        return default
    return toggles.value_for(identifier, current_user.tenant_id, default)


def scan_feedback() -> bool:
    """``{{ scan_feedback() }}``: sound and vibration at the scan stations — the tenant's
    lcs.scan.sound toggle and the user's own switch (profile) must both allow it."""
    return bool(toggle("lcs.scan.sound", True)) and getattr(current_user, "scan_feedback", True)


def granted(*features: str) -> bool:
    """``{% if granted("attachments.view") %}``: does the signed-in caller hold these features?"""
    from web.access import current_actor

    return bool(getattr(current_user, "is_authenticated", False)) and current_actor().grants.allows(features)


def super_admin() -> bool:
    """``{% if super_admin() %}``: is the signed-in caller a super admin?"""
    from web.access import current_actor

    return bool(getattr(current_user, "is_authenticated", False)) and current_actor().is_super_admin


def init_templating(app: Flask) -> None:
    registry.check_nav(app)  # after the blueprints: every link's endpoint exists
    shared = app.jinja_env.get_template("macros/forms.html").module
    app.jinja_env.globals.update(
        {name: getattr(shared, name) for name in ("error_list", "delete_row", "empty_row", "form_status", "counted")}
    )
    app.jinja_env.globals.update(
        nav_items=registry.nav_for,
        nav_areas=registry.nav_areas,
        toggle=toggle,
        scan_feedback=scan_feedback,
        granted=granted,
        super_admin=super_admin,
        field_error=field_error,
    )
    app.jinja_env.filters["isotime"] = iso_utc
    app.jinja_env.tests["wildcard_covers"] = _wildcard_covers
    app.jinja_env.tests["known_grant"] = _known_grant
