"""Authentication & accounts (seed 000 ``/auth``): sign-in, tokens, logout, profile."""

from flask import Blueprint

from web.access import registry

bp = Blueprint("auth", __name__)
pages_bp = Blueprint("auth_pages", __name__)

registry.declare(
    "auth",
    "Authentication & Accounts",
    [
        ("auth.users.list", "List users"),
        ("auth.users.create", "Create users"),
        ("auth.users.edit", "Edit users"),
        ("auth.users.delete", "Delete users"),
        ("auth.roles.list", "List roles"),
        ("auth.roles.manage", "Manage roles"),
        ("auth.acl.manage", "Manage access control lists"),
    ],
)
registry.add_nav("Profile", "auth.profile", group="Account", order=900)
registry.add_nav("User groups", "auth.groups", group="Administration", order=115)

from blueprints.auth import admin, groups, object_grants, views  # noqa: F401  (registers routes)
