"""Progress jobs (seed 000 /progress): Wharf's running tasks and the jobs integrations report,
a Floor → Jobs page to watch and cancel them, and the header's running-jobs indicator.
Mounted at /api/progress and /progress."""

from flask import Blueprint

from web.access import registry

bp = Blueprint("progress", __name__)

registry.declare(
    "progress",
    "Progress jobs",
    [
        ("progress.view", "See running jobs (labels, batch PDFs, integrations' imports)"),
        ("progress.create", "Create progress jobs (integrations)"),
        ("progress.update", "Report progress of jobs (integrations)"),
        ("progress.cancel", "Cancel running jobs"),
    ],
)
registry.add_nav("Jobs", "progress.jobs", group="Floor", order=65)

from blueprints.progress import views  # noqa: F401  (registers routes)
