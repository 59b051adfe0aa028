"""The S3 storage provider on its own (seed 000 ``/storage-providers/s3/*``, "S3-Compatible
Storage"): the seed lists the five operations without their fields; these follow Open Mercato's
storage provider (``key``, ``prefix``/``maxKeys``/``continuationToken``, ``{url, expiresAt}``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from schemas.base import FileUpload, Model, text

KEY_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$"
ObjectKey = text(
    300,
    1,
    pattern=KEY_PATTERN,
    description="Object key inside the tenant's area: segments of A-Z a-z 0-9 _ . - separated by /",
)


class S3ObjectItem(Model):
    key: str
    size: int
    lastModified: datetime
    etag: str


class S3ListQuery(Model):
    prefix: text(300) = Field("", pattern=r"^[A-Za-z0-9_./-]*$", description="Only keys starting with this")
    maxKeys: int = Field(100, ge=1, le=1000, description="Objects per page")
    continuationToken: text(1024) | None = Field(None, description="nextContinuationToken of the previous page")


class S3ObjectList(Model):
    files: list[S3ObjectItem]
    truncated: bool
    nextContinuationToken: str | None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "files": [
                        {
                            "key": "exports/report.csv",
                            "size": 1024,
                            "lastModified": "2026-11-22T10:00:00.000Z",
                            "etag": "0cc175b9c0f1b6a831c399e269772661",
                        }
                    ],
                    "truncated": False,
                    "nextContinuationToken": None,
                }
            ]
        }
    )


class S3Upload(Model):
    """Multipart body of ``POST /storage-providers/s3/upload``."""

    file: FileUpload
    key: ObjectKey | None = Field(None, description="Default: uploads/<random>/<file name>")


class S3Uploaded(Model):
    key: str
    bucket: str
    url: str = Field(description="Wharf's download URL of the object")
    size: int
    contentType: str = Field(description="Sniffed from the bytes")
    checksum: str = Field(description="sha256 of the bytes")


class S3KeyQuery(Model):
    key: ObjectKey


class S3DeleteQuery(Model):
    key: ObjectKey | None = Field(None, description="Or in the JSON body")


class S3KeyBody(Model):
    key: ObjectKey


class S3SignedUrlRequest(Model):
    """Body of ``POST /storage-providers/s3/signed-url``. Downloads only: a signed upload
    would skip the size limit, the quota and the executable check."""

    key: ObjectKey
    operation: Literal["download"] = "download"
    expiresIn: int = Field(300, ge=60, le=3600, description="Seconds the URL works")

    model_config = ConfigDict(json_schema_extra={"examples": [{"key": "exports/report.csv", "expiresIn": 300}]})


class S3SignedUrl(Model):
    url: str
    expiresAt: datetime
    expiresIn: int
