"""Request bodies of the attachments routes, for the OpenAPI document (the services
validate; these forms only describe the fields)."""
from wtforms import BooleanField, FileField, StringField

from blueprints.auth.forms import ApiForm


class UploadForm(ApiForm):
    entityId = StringField("Entity identifier, e.g. lcs:shipment")
    recordId = StringField("Record identifier within the entity")
    file = FileField("The file (multipart/form-data)")
    partitionCode = StringField("Partition code (default privateAttachments)")


class TransferForm(ApiForm):
    entityId = StringField("Entity identifier the attachments belong to")
    attachmentIds = StringField("Attachment ids (JSON array)")
    toRecordId = StringField("Record to move them to")


class MetadataForm(ApiForm):
    tags = StringField("Tags (JSON array, or comma-separated in a form)")
    fileName = StringField("New display name (sanitised like an upload's)")


class PartitionForm(ApiForm):
    id = StringField("Partition id (updates)")
    code = StringField("Code: 2–60 of A-Z a-z 0-9 _ - (unique, immutable)")
    title = StringField("Title")
    description = StringField("Description")
    isPublic = BooleanField("Readable by anyone")
    requiresOcr = BooleanField("Requires OCR")
    ocrModel = StringField("OCR model")
    storageDriver = StringField("Storage driver (local)")
    configJson = StringField("Driver configuration (JSON object)")
