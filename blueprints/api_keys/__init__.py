"""API keys (seed 000 /api_keys): machine credentials bound to roles."""

from flask import Blueprint

from web.access import registry

bp = Blueprint("api_keys", __name__)

registry.declare(
    "api_keys",
    "API keys",
    [
        ("api_keys.view", "View API keys"),
        ("api_keys.create", "Create API keys"),
        ("api_keys.delete", "Revoke API keys"),
    ],
)
registry.add_nav("API keys", "api_keys.list_keys", group="Administration", order=60)

from blueprints.api_keys import views  # noqa: F401  (registers routes)
