"""Attachments, the library and storage partitions (seed 000 ``/attachments``, lines 1219–1957)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, WithJsonSchema

from schemas.base import FileUpload, Id, Model, Page, PageQuery, omissible, text

UUID_EXAMPLE = "00000000-0000-4000-8000-000000000000"
MAX_TAGS, MAX_TAG_LENGTH = 20, 60
MAX_DIMENSION = 4000

EntityId = text(
    120,
    1,
    pattern=r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$",
    description="The kind of record, module:entity (e.g. lcs:shipment)",
)
RecordId = text(120, 1, pattern=r"^[A-Za-z0-9_.:@-]+$", description="Record identifier within the entity")
PartitionCode = text(60, 2, pattern=r"^[A-Za-z0-9_-]+$", description="2–60 of A-Z a-z 0-9 _ -")


def _split_tags(value):
    """Tags as a list, or comma-separated (a form's text input, the library's filter)."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        parts = [t for v in value for t in (v.split(",") if isinstance(v, str) else [v])]
        return [t.strip() if isinstance(t, str) else t for t in parts if not isinstance(t, str) or t.strip()]
    return value


Tags = Annotated[
    list[text(MAX_TAG_LENGTH, 1)],
    BeforeValidator(_split_tags),
    AfterValidator(lambda tags: list(dict.fromkeys(tags))),
    Field(max_length=MAX_TAGS),
]


def _json_object(value):
    """``configJson`` as a JSON object; a form sends it as JSON text (empty: none)."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ValueError("must be a JSON object") from None
    return value


class S3Config(Model):
    """``configJson`` of a partition whose ``storageDriver`` is ``s3`` (fields left out come
    from ``WHARF_S3_*``). Credentials are never stored here: they come from the environment,
    ``<envKey>_ACCESS_KEY_ID`` and ``<envKey>_SECRET_ACCESS_KEY`` (else ``WHARF_S3_…``, else
    the AWS SDK's own chain)."""

    bucket: str = Field(
        min_length=3,
        max_length=63,
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        description="Bucket name (S3 rules: 3–63 of a-z 0-9 . -)",
    )
    prefix: str = Field(
        "",
        max_length=200,
        pattern=r"^([A-Za-z0-9_-][A-Za-z0-9_.-]*/?)*$",
        description="Key prefix inside the bucket (e.g. wharf/prod); the partition's code follows it",
    )
    endpointUrl: str | None = Field(
        None,
        max_length=500,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="The S3 server (MinIO, Garage…); empty: AWS",
    )
    region: str = Field("us-east-1", min_length=2, max_length=40, pattern=r"^[a-z0-9-]+$")
    forcePathStyle: bool | None = Field(
        None, description="bucket in the path, not the host name (default: when endpointUrl is set)"
    )
    signedDownloads: bool = Field(
        False, description="File downloads answer a redirect to a short-lived signed URL instead of streaming"
    )
    signedUrlSeconds: int = Field(300, ge=10, le=3600, description="Lifetime of signed download URLs")

    model_config = ConfigDict(extra="forbid")


ConfigJson = Annotated[
    dict[str, Any] | None,
    BeforeValidator(_json_object),
    # Documented with the S3 partition's settings; checked as an S3Config when the partition's
    # driver is s3 (services.storage.validate_s3_config), kept as sent.
    WithJsonSchema({"anyOf": [S3Config.model_json_schema(), {"type": "object"}, {"type": "null"}]}),
]


# --- attachments of a record -------------------------------------------------------------------


class AttachmentAssignment(Model):
    """The record an attachment belongs to (``type`` is its entity id)."""

    type: EntityId
    id: RecordId
    href: text(500) | None = None
    label: text(200) | None = None


class AttachmentRecordQuery(PageQuery):
    entityId: EntityId
    recordId: RecordId
    sortField: Literal["createdAt", "fileName", "fileSize"] | None = None


class AttachmentItem(Model):
    """An attachment as listed (``url`` serves the file; images also have ``imageUrl`` and
    ``thumbnailUrl``)."""

    id: Id
    url: str
    fileName: str
    fileSize: int
    createdAt: datetime
    mimeType: str | None
    content: str | None
    entityId: str
    recordId: str
    checksum: str
    partitionCode: str
    partitionTitle: str | None
    isPublic: bool
    tags: list[str]
    assignments: list[AttachmentAssignment]
    uploadedById: Id | None
    isImage: bool
    downloadUrl: str
    imageUrl: str | None
    thumbnailUrl: str | None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": UUID_EXAMPLE,
                    "url": "/api/attachments/file/" + UUID_EXAMPLE,
                    "fileName": "string",
                    "fileSize": 1,
                    "createdAt": "2026-11-22T10:00:00.000Z",
                    "mimeType": "image/png",
                    "content": None,
                }
            ]
        }
    )


class AttachmentUpload(Model):
    """Multipart body of ``POST /attachments``."""

    entityId: EntityId
    recordId: RecordId
    file: list[FileUpload] = Field(
        min_length=1, max_length=20, description="One file, or several (a browser's file picker)"
    )
    partitionCode: PartitionCode | None = Field(None, description="Default privateAttachments")


class AttachmentUploaded(Model):
    ok: Literal[True] = True
    item: AttachmentItem
    items: list[AttachmentItem] | None = Field(None, description="Every stored file, when a browser sent several")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": True,
                    "item": {
                        "id": UUID_EXAMPLE,
                        "url": "/api/attachments/file/" + UUID_EXAMPLE,
                        "fileName": "string",
                        "fileSize": 1,
                        "content": None,
                    },
                }
            ]
        }
    )


class AttachmentIdQuery(Model):
    id: Id = Field(description="Attachment id")


class AttachmentOk(Model):
    ok: Literal[True] = True


class AttachmentTransfer(Model):
    """Body of ``POST /attachments/transfer``: move attachments to another record of the
    same entity type."""

    entityId: EntityId
    attachmentIds: list[Id] = Field(min_length=1, max_length=100)
    toRecordId: RecordId

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"entityId": "string", "attachmentIds": [UUID_EXAMPLE], "toRecordId": "string"}]
        }
    )


class AttachmentTransferred(Model):
    ok: Literal[True] = True
    updated: int


# --- library -----------------------------------------------------------------------------------


class AttachmentLibraryQuery(PageQuery):
    pageSize: int = Field(50, ge=1, le=100, description="Items per page (max 100)")
    search: text(200) = Field("", description="Search by file name (case-insensitive)")
    partition: text(60) = Field("", description="Filter by partition code")
    tags: Tags = Field(default_factory=list, description="Filter by tags (comma-separated; all must match)")
    sortField: Literal["createdAt", "fileName", "fileSize"] | None = None


class AttachmentPartitionSummary(Model):
    code: str
    title: str
    description: str | None
    isPublic: bool


class AttachmentLibrary(Page[AttachmentItem]):
    availableTags: list[str]
    partitions: list[AttachmentPartitionSummary]


class AttachmentDetail(AttachmentItem):
    customFields: dict[str, Any] | None = None


class AttachmentDetailResponse(Model):
    item: AttachmentDetail


class AttachmentMetadataUpdate(Model):
    """Body of ``PATCH /attachments/library/{id}``: the fields sent change. Wharf files an
    attachment under one record, so ``assignments`` holds one: the record it moves to."""

    tags: Tags = omissible()
    assignments: list[AttachmentAssignment] = omissible(min_length=1, max_length=1)
    fileName: text(255, 1) = omissible(description="A new display name (sanitised like an upload's)")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"tags": ["damage"], "assignments": [{"type": "lcs:shipment", "id": "S-1001"}]}]
        }
    )


class AttachmentMetadata(Model):
    id: Id
    tags: list[str]
    assignments: list[AttachmentAssignment]
    customFields: dict[str, Any] | None = None


class AttachmentMetadataUpdated(Model):
    ok: Literal[True] = True
    item: AttachmentMetadata


# --- partitions --------------------------------------------------------------------------------


class AttachmentPartition(Model):
    id: Id
    code: str
    title: str
    description: str | None
    isPublic: bool
    requiresOcr: bool
    ocrModel: str | None
    configJson: dict[str, Any] | None
    createdAt: datetime | None
    updatedAt: datetime | None
    envKey: str
    storageDriver: str
    isDefault: bool


class AttachmentPartitionListQuery(Model):
    tenantId: Id | None = Field(None, description="Super admins only; default: the caller's tenant")


class AttachmentPartitionList(Model):
    items: list[AttachmentPartition]


class AttachmentPartitionResponse(Model):
    item: AttachmentPartition


StorageDriver = Literal["local", "s3"]


class AttachmentPartitionCreate(Model):
    """Body of ``POST /attachments/partitions``; ``code`` is unique and never changes."""

    code: PartitionCode
    title: text(120, 1)
    description: text(500) | None = None
    ocrModel: text(120) | None = None
    storageDriver: StorageDriver = "local"
    configJson: ConfigJson = None
    isPublic: bool = False
    requiresOcr: bool = False
    tenantId: Id | None = Field(None, description="Super admins only; default: the caller's tenant")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "string",
                    "title": "string",
                    "description": None,
                    "ocrModel": None,
                    "storageDriver": "local",
                    "configJson": None,
                }
            ]
        }
    )


class AttachmentPartitionUpdate(Model):
    """Body of ``PUT /attachments/partitions``: the fields sent change (not ``code``)."""

    id: Id
    code: text(60) | None = Field(None, description="Must be the partition's own: codes never change")
    title: text(120, 1) = omissible()
    description: text(500) | None = None
    ocrModel: text(120) | None = None
    storageDriver: StorageDriver = omissible()
    configJson: ConfigJson = None
    isPublic: bool = omissible()
    requiresOcr: bool = omissible()

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "string",
                    "title": "string",
                    "description": None,
                    "ocrModel": None,
                    "storageDriver": "local",
                    "configJson": None,
                    "id": UUID_EXAMPLE,
                }
            ]
        }
    )


# --- serving files -----------------------------------------------------------------------------


class AttachmentFileQuery(Model):
    download: bool = Field(False, description="1: serve as a download (Content-Disposition: attachment)")


class AttachmentImageQuery(Model):
    width: int | None = Field(None, ge=1, le=MAX_DIMENSION, description="Pixels (snaps up to 64…2048)")
    height: int | None = Field(None, ge=1, le=MAX_DIMENSION, description="Pixels (snaps up to 64…2048)")
    cropType: Literal["cover", "contain"] = Field("contain", description="cover needs width and height")
