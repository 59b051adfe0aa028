"""The S3 storage provider (seed 000 ``/storage-providers/s3/*``): objects by key in the
tenant's area of the provider's bucket, for files that are not attachments of a record."""

from flask import Blueprint

from blueprints.attachments import upload_body_limit
from web.access import registry

bp = Blueprint("storage_providers", __name__)
bp.url_value_preprocessor(upload_body_limit)  # uploads up to WHARF_MAX_ATTACHMENT_BYTES, as attachments

registry.declare(
    "storage_providers",
    "Storage providers",
    [
        ("storage_providers.view", "List and download objects of the S3 storage provider"),
        ("storage_providers.manage", "Upload and delete objects of the S3 storage provider"),
    ],
)
registry.add_nav("S3 storage", "storage_providers.list_objects", group="Administration", order=305)

from blueprints.storage_providers import views  # noqa: F401  (registers routes)
