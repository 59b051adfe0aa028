"""Storage plans (seed 004 ``/api/v1/plans``): quotas users are on, and each user's usage."""

from flask import Blueprint

from web.access import registry

bp = Blueprint("plans", __name__)

registry.declare(
    "plans",
    "Storage plans",
    [
        ("plans.view", "View storage plans and users' storage usage"),
        ("plans.manage", "Create, edit, delete and assign storage plans"),
    ],
)
registry.add_nav("Storage plans", "plans.plans", group="Administration", order=310)

from blueprints.plans import views  # noqa: F401  (registers routes)
