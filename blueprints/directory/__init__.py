"""Directory (seed 000 /directory): tenants and the organization tree."""

from flask import Blueprint

from web.access import registry

bp = Blueprint("directory", __name__)

registry.declare(
    "directory",
    "Directory",
    [
        ("directory.tenants.view", "View tenants"),
        ("directory.tenants.manage", "Manage tenants"),
        ("directory.organizations.view", "View organizations"),
        ("directory.organizations.manage", "Manage organizations"),
        ("directory.organizations.view_all", "See all organizations at once (else one organization at a time)"),
    ],
)
registry.add_nav("Organizations", "directory.organizations", group="Administration", order=210)
registry.add_nav("Tenants", "directory.tenants", group="Administration", order=220)
registry.add_nav("Organization", "directory.organization_switcher", group="Account", order=905)

from blueprints.directory import views  # noqa: F401  (registers routes)
