"""The S3 storage provider on its own (seed 000 ``/storage-providers/s3/*``): objects by key,
without the attachment model — exports, reports, files another system picks up.

Every tenant has its own area of the provider's bucket (``WHARF_S3_*``:
``[prefix/]storage/<tenant id>/``); keys are relative to it, so a key can never name another
tenant's object. Uploads obey the attachment rules: the size limit, the uploader's storage
quota, executables refused, the type sniffed from the bytes (the client's claim is ignored);
downloads are always downloads (``Content-Disposition: attachment``), markup as
``application/octet-stream``. Signed URLs are for downloads only: an upload through a signed
URL would skip every one of those checks.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from flask import current_app

from services import attachments, plans, storage
from services.acl import Actor
from services.errors import BadRequest, Conflict, NotFound

NOT_CONFIGURED = "S3 storage is not configured (WHARF_S3_BUCKET, WHARF_S3_ENDPOINT_URL)"


def configured() -> bool:
    """Whether the provider has a bucket (``WHARF_S3_BUCKET``)."""
    try:
        storage.validate_s3_config(None)
    except storage.StorageConfigError:
        return False
    return True


def bucket() -> str:
    return storage.validate_s3_config(None).bucket


def provider(actor: Actor) -> storage.S3Driver:
    """The caller's tenant's area of the provider's bucket (400 while none is configured)."""
    tenant = actor.tenant_for_new(None)
    try:
        settings = storage.s3_settings(None)
    except storage.StorageConfigError:
        raise BadRequest(NOT_CONFIGURED) from None
    return storage.S3Driver(settings, prefix=f"storage/{tenant}")


def _unavailable(e: Exception):
    return attachments.StorageUnavailable("S3 storage did not answer") if isinstance(e, storage.StorageError) else e


def list_objects(actor: Actor, prefix: str, limit: int, token: str | None):
    try:
        return provider(actor).list(prefix, limit=limit, token=token)
    except storage.StorageError as e:
        if "InvalidArgument" in str(e) or "InvalidToken" in str(e):
            raise BadRequest("Invalid continuationToken") from None
        raise _unavailable(e) from e


def _key_from_name(name: str | None) -> str:
    """A key for an upload that names none: ``uploads/<random>/<file name made key-safe>``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", attachments.sanitize_file_name(name)).lstrip("._") or "file"
    return f"uploads/{uuid.uuid4().hex}/{safe[:120]}"


@dataclass
class Stored:
    key: str
    size: int
    content_type: str
    checksum: str


def put_object(actor: Actor, upload: attachments.Upload, key: str | None) -> Stored:
    """Check and store one file at ``key`` (409 when an object is there already)."""
    driver = provider(actor)
    tenant = actor.tenant_for_new(None)
    principal = actor.principal
    uploader = (
        getattr(principal, "created_by_id", None)
        if getattr(principal, "is_api_key", False)
        else getattr(principal, "id", None)
    )
    plans.check_can_upload(tenant, uploader)
    stream = upload.stream
    digest, size = hashlib.sha256(), 0
    stream.seek(0)
    while chunk := stream.read(storage.CHUNK):
        digest.update(chunk)
        size += len(chunk)
    if size == 0:
        raise attachments.ValidationFailed("The file is empty", details=[{"path": ["file"], "message": "is empty"}])
    limit = int(current_app.config["ATTACHMENTS_MAX_BYTES"])
    if size > limit:
        raise attachments.FileTooLarge(f"File too large: the limit is {plans.human_size(limit)}")
    stream.seek(0)
    head = stream.read(8192)
    attachments.refuse_executable(upload.filename, head)
    mime = attachments.sniff_mime(head)
    stream.seek(0)
    key = key or _key_from_name(upload.filename)
    try:
        if driver.exists(key):
            raise Conflict("An object with this key exists: delete it first or choose another key")
        driver.write(key, stream, content_type=mime)
    except storage.StorageError as e:
        raise _unavailable(e) from e
    return Stored(key, size, mime, digest.hexdigest())


@dataclass
class Fetched:
    body: BinaryIO
    size: int
    content_type: str
    file_name: str


def fetch(actor: Actor, key: str) -> Fetched:
    """The object as a stream, with the type it is served as (404 when there is none)."""
    try:
        answer = provider(actor).fetch(key)
    except FileNotFoundError:
        raise NotFound("No such object") from None
    except storage.StorageError as e:
        raise _unavailable(e) from e
    stored = (answer.get("ContentType") or "").split(";")[0].strip().lower()
    mime = stored if stored in attachments.INLINE_SAFE else "application/octet-stream"
    return Fetched(answer["Body"], answer.get("ContentLength") or 0, mime, key.rsplit("/", 1)[-1])


def signed_download(actor: Actor, key: str, seconds: int) -> tuple[str, datetime]:
    """(URL, expiry) for fetching ``key`` straight from the bucket, as a download."""
    driver = provider(actor)
    try:
        answer = driver.head(key)
        stored = (answer.get("ContentType") or "").split(";")[0].strip().lower()
        mime = stored if stored in attachments.INLINE_SAFE else "application/octet-stream"
        name = key.rsplit("/", 1)[-1]
        url = driver.signed_url(key, seconds, content_type=mime, disposition=f'attachment; filename="{name}"')
    except FileNotFoundError:
        raise NotFound("No such object") from None
    except storage.StorageError as e:
        raise _unavailable(e) from e
    return url, datetime.now(UTC) + timedelta(seconds=seconds)


def delete_object(actor: Actor, key: str) -> None:
    """Delete ``key`` (404 when there is none: a typo should not look like success)."""
    driver = provider(actor)
    try:
        driver.head(key)
        driver.delete(key)
    except FileNotFoundError:
        raise NotFound("No such object") from None
    except storage.StorageError as e:
        raise _unavailable(e) from e
