"""Attachments (seed 000 ``/attachments``): files on records, the library, partitions."""

from flask import Blueprint, current_app, request

from web.access import registry

bp = Blueprint("attachments", __name__)

registry.declare(
    "attachments",
    "Attachments",
    [
        ("attachments.view", "View attachments and open private files"),
        ("attachments.manage", "Upload, tag, move and delete attachments"),
        ("attachments.partitions.manage", "Create, change and delete storage partitions (with attachments.manage)"),
    ],
)
# The seed's partition routes require ``attachments.manage``; they also need their own feature,
# so a role that lets staff photograph damage does not let them reconfigure storage (issue 16).
PARTITION_FEATURES = ("attachments.manage", "attachments.partitions.manage")
registry.add_nav("Files", "attachments.library", group="Administration", order=300)
registry.add_nav("Storage partitions", "attachments.partitions", group="Administration", order=300)

MULTIPART_SLACK = 64 * 1024  # boundaries and the small form fields around the file


@bp.url_value_preprocessor
def upload_body_limit(endpoint, values):
    """The upload route accepts bodies up to ``ATTACHMENTS_MAX_BYTES`` (other routes keep
    ``MAX_CONTENT_LENGTH``). URL value preprocessors run before every ``before_request``
    hook — the CSRF check reads the form, so the limit must be in place by then."""
    if endpoint and endpoint.endswith(".upload") and request.method == "POST":
        request.max_content_length = int(current_app.config["ATTACHMENTS_MAX_BYTES"]) + MULTIPART_SLACK


from blueprints.attachments import views  # noqa: F401  (registers routes)
