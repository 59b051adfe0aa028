"""Attachments (seed 000 ``/attachments``): files on records, the library, partitions."""
from flask import Blueprint, current_app, request

from services.errors import ValidationFailed
from web.access import registry

bp = Blueprint("attachments", __name__)

registry.declare("attachments", "Attachments", [
    ("attachments.view", "View attachments and open private files"),
    ("attachments.manage", "Upload, tag, move and delete attachments; manage partitions"),
])
registry.add_nav("Files", "attachments.library", "attachments.view", group="Main", order=300)
registry.add_nav("Storage partitions", "attachments.partitions", "attachments.manage",
                 group="Administration", order=300)

MULTIPART_SLACK = 64 * 1024  # boundaries and the small form fields around the file


@bp.url_value_preprocessor
def _upload_body_limit(endpoint, values):
    """The upload route accepts bodies up to ``ATTACHMENTS_MAX_BYTES`` (other routes keep
    ``MAX_CONTENT_LENGTH``). URL value preprocessors run before every ``before_request``
    hook — the CSRF check reads the form, so the limit must be in place by then."""
    if endpoint and endpoint.endswith(".upload") and request.method == "POST":
        request.max_content_length = int(current_app.config["ATTACHMENTS_MAX_BYTES"]) + MULTIPART_SLACK


@bp.before_request
def _named_parts_only():
    """A multipart part without a name (werkzeug keys it ``None``) is a 400: the body is
    read by field name (web.contract), which expects names."""
    if request.mimetype == "multipart/form-data" and (None in request.form or None in request.files):
        raise ValidationFailed("Every part of a multipart body needs a name",
                               details=[{"path": ["body"], "message": "has a part without a name"}])


from blueprints.attachments import views  # noqa: E402,F401  (registers routes)
