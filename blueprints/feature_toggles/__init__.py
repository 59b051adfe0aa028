"""Feature toggles (seed 000 /feature_toggles): global definitions and tenant overrides."""

from flask import Blueprint

from web.access import registry

bp = Blueprint("feature_toggles", __name__)

registry.declare(
    "feature_toggles",
    "Feature toggles",
    [
        ("feature_toggles.view", "View feature toggles"),
        ("feature_toggles.manage", "Override toggles for the tenant"),
        ("feature_toggles.global.manage", "Change global toggle definitions (super admins)"),
    ],
)
registry.add_nav("Feature toggles", "feature_toggles.overrides", group="Administration", order=300)

from blueprints.feature_toggles import views  # noqa: F401  (registers routes)
