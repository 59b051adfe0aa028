"""Attachments and storage partitions (seed 000 ``/attachments``): no HTTP in here.

- Partitions: per tenant; the defaults (``privateAttachments``, ``publicMedia``,
  ``documents``) are created on first use and cannot be deleted; ``code`` is unique and
  immutable; a partition holding files cannot be deleted.
- Files: the MIME type is sniffed from the bytes (the client's claim is ignored), the
  file name is sanitised display text (storage keys are generated), executables are
  refused (by any extension of the name and by magic bytes), images are checked against
  decompression bombs before anything is stored, and bytes are written atomically before
  the row is committed — a failure leaves neither behind.
- Storage: a partition's driver (``local`` or ``s3``) and its settings change only while it
  holds no files; ``migrate`` moves files from one partition (and driver) to another.
- Reads: a public partition's file is anyone's; a private one needs a signed-in caller of
  the same tenant (and visible organization) holding ``attachments.view``.
- Resized images: anyone may ask for any size of a public image, and each new size costs a
  decode of the original, so sizes snap to a short ladder (a handful of variants per
  image), the cache of variants has a byte budget, and anonymous cache misses are
  throttled per IP.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import shutil
import tempfile
import unicodedata
import urllib.parse
import uuid
from dataclasses import dataclass

import filetype
import sqlalchemy as sa
from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from models import Attachment, AttachmentPartition, AttachmentTag, Scope, db
from schemas.attachments import (
    AttachmentMetadataUpdate,
    AttachmentPartitionCreate,
    AttachmentPartitionUpdate,
    AttachmentTransfer,
)
from services import auth, plans, storage, undo
from services.acl import Actor
from services.commands import Audited, after_commit, audited, command, lock, on_rollback, unless_taken
from services.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound, Unauthorized, ValidationFailed

FALLBACK_PARTITION = "privateAttachments"
DEFAULT_PARTITIONS = {
    # code: (title, description, is_public)
    "privateAttachments": (
        "Private attachments",
        "Files only signed-in users of the tenant can open (the fallback)",
        False,
    ),
    "publicMedia": ("Public media", "Files anyone with the link can open", True),
    "documents": ("Documents", "Generated labels, slips and other documents", False),
}

# Raster formats Pillow decodes: checked for bombs on upload, resizable when served.
RASTER = {
    "image/jpeg": ("JPEG", "jpg"),
    "image/png": ("PNG", "png"),
    "image/gif": ("PNG", "png"),
    "image/webp": ("WEBP", "webp"),
    "image/bmp": ("PNG", "png"),
    "image/tiff": ("PNG", "png"),
    "image/x-icon": ("PNG", "png"),
}
# Types a browser may show inline; anything else is served as a download.
INLINE_SAFE = {
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/avif",
    "image/x-icon",
    "application/pdf",
    "text/plain",
    "video/mp4",
    "video/webm",
    "audio/mpeg",
    "audio/ogg",
    "audio/wav",
}
ACTIVE = {
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "application/xml",
    "text/xml",
    "application/javascript",
    "text/javascript",
}
# The only widths/heights a resized image gets: a request snaps up to the next step.
SIZE_LADDER = (64, 128, 256, 512, 1024, 2048)


class StorageUnavailable(DomainError):
    status = 500
    default_message = "Partition misconfigured"


class FileTooLarge(DomainError):
    status = 413
    default_message = "File too large"


class ExecutableRefused(DomainError):
    status = 415
    default_message = "Executable files are not accepted"


# Refused uploads, as Open Mercato refuses them (any dotted part of the name counts:
# "invoice.exe.pdf" is refused too), plus Unix shells and interpreters.
EXECUTABLE_EXTENSIONS = frozenset(
    [
        "app",
        "apk",
        "bat",
        "cmd",
        "com",
        "cpl",
        "dll",
        "exe",
        "hta",
        "jar",
        "js",
        "jse",
        "lnk",
        "msi",
        "msp",
        "pif",
        "ps1",
        "psm1",
        "reg",
        "scr",
        "sh",
        "bash",
        "zsh",
        "csh",
        "ksh",
        "vb",
        "vbe",
        "vbs",
        "wsf",
        "wsh",
        "gadget",
        "msc",
        "scf",
    ]
)
# Magic numbers of executables: PE/DOS ("MZ"), ELF, Mach-O (both byte orders, 32/64 bit and
# universal binaries) and a script's "#!" line.
EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
)


def refuse_executable(file_name: str | None, head: bytes) -> None:
    """415 when the name has an executable extension or the bytes start like a program."""
    name = unicodedata.normalize("NFC", file_name or "")
    parts = [p for p in re.split(r"[\\/]", name)[-1].split(".") if p][1:]
    extensions = {re.sub(r"[^a-z0-9]", "", p.lower()) for p in parts}
    if extensions & EXECUTABLE_EXTENSIONS:
        bad = min(extensions & EXECUTABLE_EXTENSIONS)
        raise ExecutableRefused(
            f"Executable files are not accepted (.{bad})",
            details=[{"path": ["file"], "message": f"is an executable (.{bad}): not accepted"}],
        )
    if head.removeprefix(b"\xef\xbb\xbf").startswith(EXECUTABLE_MAGIC):
        raise ExecutableRefused(
            "Executable files are not accepted (the content is a program)",
            details=[{"path": ["file"], "message": "is a program or a script (by its content): not accepted"}],
        )


# --- partitions ------------------------------------------------------------------------------


def partition_row(p: AttachmentPartition) -> dict:
    return {
        "id": p.id,
        "code": p.code,
        "title": p.title,
        "description": p.description,
        "isPublic": p.is_public,
        "requiresOcr": p.requires_ocr,
        "ocrModel": p.ocr_model,
        "configJson": p.config_json,
        "storageDriver": p.storage_driver,
        "createdAt": p.created_at,
        "updatedAt": p.updated_at,
        "envKey": storage.env_key(p.code, p.storage_driver),
        "isDefault": p.code in DEFAULT_PARTITIONS,
    }


def _partition_snapshot(p: AttachmentPartition) -> dict:
    row = partition_row(p)
    return {
        k: row[k]
        for k in (
            "id",
            "code",
            "title",
            "description",
            "isPublic",
            "requiresOcr",
            "ocrModel",
            "configJson",
            "storageDriver",
        )
    }


PARTITION = Audited("attachment_partition", _partition_snapshot, "partition", name=lambda p: p.code)
CODE_TAKEN = "Partition code already exists"


@command()
def ensure_partitions(tenant_id) -> None:
    """Create the tenant's missing default partitions (a concurrent request may have made
    them first: then theirs are kept)."""
    scope = Scope(tenant_id)
    have = set(
        db.session.scalars(
            scope.select(AttachmentPartition)
            .where(AttachmentPartition.code.in_(DEFAULT_PARTITIONS))
            .with_only_columns(AttachmentPartition.code)
        )
    )
    missing = [c for c in DEFAULT_PARTITIONS if c not in have]
    driver = current_app.config.get("ATTACHMENTS_DRIVER") or "local"  # WHARF_ATTACHMENTS_DRIVER

    def create() -> None:
        for code in missing:
            title, description, is_public = DEFAULT_PARTITIONS[code]
            p = AttachmentPartition(
                tenant_id=tenant_id,
                code=code,
                title=title,
                description=description,
                is_public=is_public,
                storage_driver=driver,
            )
            with audited(None, "create", PARTITION, p, label=f"Create default partition {code}"):
                db.session.add(p)

    if missing:
        unless_taken(create)


def partitions_select(tenant_id, actor: Actor | None = None) -> sa.Select:
    """Partitions of ``tenant_id`` (a super admin may act in any), narrowed by the object
    grants of ``actor``'s features: a partition it is kept out of is not there for it."""
    return Scope(tenant_id, objects=actor.scope.objects if actor else None).select(AttachmentPartition)


def partitions_of(tenant_id, actor: Actor | None = None) -> list[AttachmentPartition]:
    ensure_partitions(tenant_id)
    return list(db.session.scalars(partitions_select(tenant_id, actor).order_by(AttachmentPartition.code)))


def partition_by_code(tenant_id, code: str, actor: Actor | None = None) -> AttachmentPartition:
    found = db.session.scalars(partitions_select(tenant_id, actor).where(AttachmentPartition.code == code)).first()
    if found is None:
        raise ValidationFailed(
            "Unknown partition", details=[{"path": ["partitionCode"], "message": "no such partition"}]
        )
    return found


def get_partition(actor: Actor, partition_id) -> AttachmentPartition:
    return actor.scope.get(AttachmentPartition, partition_id)


def _storage_config(driver: str, config: dict | None) -> dict | None:
    """``configJson`` as stored: an ``s3`` partition's is checked (400 naming the field when it
    is no ``S3Config`` or no bucket is set here or in ``WHARF_S3_BUCKET``) and kept as sent."""
    if driver == "s3":
        try:
            storage.validate_s3_config(config)
        except storage.StorageConfigError as e:
            raise ValidationFailed(str(e), details=e.details) from None
    return config


@command(CODE_TAKEN)
def create_partition(
    actor: Actor, body: AttachmentPartitionCreate, *, partition_id: uuid.UUID | None = None
) -> AttachmentPartition:
    """A new partition of the actor's tenant (super admins may name another: ``tenantId``);
    ``partition_id``: an undone delete brings the partition back under its old id."""
    tenant = actor.tenant_for_new(body.tenantId)
    ensure_partitions(tenant)
    taken = db.session.scalars(
        partitions_select(tenant).where(sa.func.lower(AttachmentPartition.code) == body.code.lower())
    ).first()
    if taken is not None:
        raise Conflict(CODE_TAKEN)
    p = AttachmentPartition(
        tenant_id=tenant,
        code=body.code,
        title=body.title,
        description=body.description or None,
        ocr_model=body.ocrModel or None,
        storage_driver=body.storageDriver,
        config_json=_storage_config(body.storageDriver, body.configJson),
        is_public=body.isPublic,
        requires_ocr=body.requiresOcr,
        **({"id": partition_id} if partition_id else {}),
    )
    with audited(actor, "create", PARTITION, p):
        db.session.add(p)
    return p


@command()
def update_partition(actor: Actor, body: AttachmentPartitionUpdate) -> AttachmentPartition:
    """Change the fields ``body`` carries. The code never changes; a default partition
    keeps its visibility."""
    p = lock(actor.scope, AttachmentPartition, body.id)
    sent = body.model_fields_set
    if body.code and body.code != p.code:
        raise BadRequest("Partition code cannot be changed", details=[{"path": ["code"], "message": "is immutable"}])
    if "isPublic" in sent and p.code in DEFAULT_PARTITIONS and body.isPublic != DEFAULT_PARTITIONS[p.code][2]:
        raise BadRequest(
            "A default partition keeps its visibility",
            details=[{"path": ["isPublic"], "message": "cannot change on a default partition"}],
        )
    driver = body.storageDriver if "storageDriver" in sent else p.storage_driver
    config = body.configJson if "configJson" in sent else p.config_json
    if driver != p.storage_driver or (driver == "s3" and config != p.config_json):
        _storage_config(driver, config)
        if attachments_in(p):
            raise Conflict(
                "Partition in use: its storage cannot change while it holds files "
                "(move them with `flask --app app attachments migrate`)"
            )
    with audited(actor, "edit", PARTITION, p):
        if "title" in sent:
            p.title = body.title
        if "description" in sent:
            p.description = body.description or None
        if "ocrModel" in sent:
            p.ocr_model = body.ocrModel or None
        if "storageDriver" in sent:
            p.storage_driver = body.storageDriver
        if "configJson" in sent:
            p.config_json = body.configJson
        if "requiresOcr" in sent:
            p.requires_ocr = body.requiresOcr
        if "isPublic" in sent:
            p.is_public = body.isPublic
    return p


def attachments_in(p: AttachmentPartition) -> int:
    return db.session.scalar(sa.select(sa.func.count(Attachment.id)).where(Attachment.partition_id == p.id)) or 0


@command()
def delete_partition(actor: Actor, partition_id) -> None:
    p = lock(actor.scope, AttachmentPartition, partition_id)
    if p.code in DEFAULT_PARTITIONS:
        raise BadRequest("Default partitions cannot be deleted")
    if attachments_in(p):
        raise Conflict("Partition in use")
    with audited(actor, "delete", PARTITION, p):
        db.session.delete(p)


# --- file names and content sniffing ------------------------------------------------------------

_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*]+')


def sanitize_file_name(raw: str | None, mime: str = "application/octet-stream") -> str:
    """Display name of an upload or a rename: the last path segment, no control or path
    characters, no Unicode format characters (category Cf: bidi overrides, zero-width
    spaces, BOMs — "\u202egnp.exe" would display as "exe.png"), no leading dots, at most 200
    characters (extension kept). Never used as a path."""
    name = unicodedata.normalize("NFC", raw or "")
    name = "".join(c for c in name if unicodedata.category(c) != "Cf")
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE_NAME.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if not name or set(name) <= {"_", " ", "."}:
        ext = filetype.get_type(mime=mime)
        name = "file" + (f".{ext.extension}" if ext else "")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:200]
    return name


_HTML_START = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<iframe",
    b"<frameset",
    b"<div",
    b"<table",
    b"<style",
    b"<title",
    b"<a ",
    b"<a>",
    b"<b>",
    b"<p>",
    b"<p ",
    b"<br",
    b"<h1",
    b"<font",
    b"<img",
    b"<!--",
    b"<object",
    b"<embed",
    b"<form",
    b"<meta",
    b"<link",
    b"<base",
)


def sniff_mime(head: bytes) -> str:
    """The type the bytes are, whatever the upload claimed: magic numbers first, then
    markup (HTML, SVG, XML — served as downloads), then text, else octet-stream."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n\x0c").lower()
    if text.startswith(b"<"):
        if b"<svg" in text[:4096]:
            return "image/svg+xml"
        if text.startswith(_HTML_START) or b"<html" in text[:4096] or b"<script" in text[:4096]:
            return "text/html"
        if text.startswith(b"<?xml"):
            return "application/xml"
    if b"\x00" not in head[:4096]:
        try:
            head[:4096].decode("utf-8")
            return "text/plain"
        except UnicodeDecodeError as e:
            if e.start >= len(head[:4096]) - 4:  # a character cut at the sniffing window
                return "text/plain"
    return "application/octet-stream"


def _max_pixels() -> int:
    return int(current_app.config.get("ATTACHMENTS_MAX_IMAGE_PIXELS", 50_000_000))


def _open_image(stream) -> Image.Image:
    """Open an image after checking its declared size (no pixels decoded before that)."""
    try:
        img = Image.open(stream)
        width, height = img.size
    except Image.DecompressionBombError:
        raise ValidationFailed(
            "Image refused: too many pixels (decompression bomb protection)",
            details=[{"path": ["file"], "message": "exceeds the pixel limit"}],
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ValidationFailed(
            "The image cannot be read",
            details=[{"path": ["file"], "message": f"unreadable image ({type(e).__name__})"}],
        ) from None
    frames = getattr(img, "n_frames", 1) or 1
    if width * height * min(frames, 1000) > _max_pixels() or width > 100_000 or height > 100_000:
        raise ValidationFailed(
            "Image refused: too many pixels (decompression bomb protection)",
            details=[{"path": ["file"], "message": f"{width}×{height}×{frames} exceeds {_max_pixels()} pixels"}],
        )
    return img


# --- attachments ---------------------------------------------------------------------------------


def attachment_row(a: Attachment) -> dict:
    """The seed's fields (URLs are added by the HTTP layer)."""
    return {
        "id": a.id,
        "entityId": a.entity_id,
        "recordId": a.record_id,
        "fileName": a.file_name,
        "fileSize": a.file_size,
        "mimeType": a.mime_type,
        "checksum": a.checksum,
        "partitionCode": a.partition.code,
        "partitionTitle": a.partition.title,
        "isPublic": a.partition.is_public,
        "tags": a.tags,
        "assignments": [{"type": a.entity_id, "id": a.record_id}],
        "content": a.content,
        "uploadedById": a.uploaded_by_id,
        "createdAt": a.created_at,
        "isImage": a.mime_type in RASTER,
    }


def record_select(actor: Actor, entity_id: str, record_id: str) -> sa.Select:
    """Attachments of one record in the caller's scope (no order: the caller adds it)."""
    return actor.scope.select(Attachment).where(Attachment.entity_id == entity_id, Attachment.record_id == record_id)


@dataclass
class Upload:
    """What the HTTP layer hands over: the client's file name and a readable binary stream."""

    filename: str | None
    stream: object


@command()
def store(
    actor: Actor, upload: Upload, *, entity_id: str, record_id: str, partition_code: str | None = None, tenant_id=None
) -> Attachment:
    """Check, write and record one file. The uploader's quota is checked first; the bytes
    are written before the row, and removed again if the operation does not commit."""
    principal = actor.principal
    tenant = actor.tenant_for_new(tenant_id)
    is_key = getattr(principal, "is_api_key", False)
    uploader = getattr(principal, "created_by_id", None) if is_key else getattr(principal, "id", None)
    organization_id = getattr(principal, "organization_id", None)
    ensure_partitions(tenant)
    partition = partition_by_code(tenant, partition_code or FALLBACK_PARTITION, actor)
    plans.check_can_upload(tenant, uploader)

    stream = upload.stream
    digest, size = hashlib.sha256(), 0
    stream.seek(0)
    while chunk := stream.read(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
    if size == 0:
        raise ValidationFailed("The file is empty", details=[{"path": ["file"], "message": "is empty"}])
    limit = int(current_app.config["ATTACHMENTS_MAX_BYTES"])
    if size > limit:
        raise FileTooLarge(f"File too large: the limit is {plans.human_size(limit)}")
    stream.seek(0)
    head = stream.read(8192)
    refuse_executable(upload.filename, head)
    mime = sniff_mime(head)
    if mime in RASTER:
        stream.seek(0)
        _open_image(stream)
    content = None
    if mime == "text/plain":
        stream.seek(0)
        content = stream.read(64 * 1024).decode("utf-8", errors="replace").replace("\x00", "")
    stream.seek(0)

    att_id = uuid.uuid4()
    key = f"{tenant}/files/{att_id.hex[:2]}/{att_id.hex}"
    driver = _driver_of(partition)
    try:
        driver.write(key, stream)
    except storage.StorageError as e:
        raise StorageUnavailable() from e
    on_rollback(lambda: _forget(driver, key))
    att = Scope(tenant).add(
        Attachment(
            id=att_id,
            organization_id=organization_id,
            partition_id=partition.id,
            entity_id=entity_id,
            record_id=record_id,
            file_name=sanitize_file_name(upload.filename, mime),
            mime_type=mime,
            file_size=size,
            checksum=digest.hexdigest(),
            storage_key=key,
            content=content,
            uploaded_by_id=uploader,
        )
    )
    db.session.flush()
    return att


def _forget(driver, key: str, prefixes: tuple[str, ...] = ()) -> None:
    """Remove a stored file (and derived files under ``prefixes``) once the database no longer
    names it; storage that does not answer leaves an orphan, logged, instead of failing an
    operation that has already committed or is already failing."""
    try:
        driver.delete(key)
        for prefix in prefixes:
            driver.delete_prefix(prefix)
    except (OSError, storage.StorageError):
        current_app.logger.warning("stored file not removed: %s", key, exc_info=True)


def _driver_of(partition: AttachmentPartition):
    try:
        return storage.driver_for(partition)
    except storage.StorageError as e:
        raise StorageUnavailable() from e


def get_attachment(actor: Actor, attachment_id) -> Attachment:
    return actor.scope.get(Attachment, attachment_id)


def _cache_prefix(a: Attachment) -> str:
    """Where the image cache keeps this attachment's resized copies."""
    return f"{a.id.hex[:2]}/{a.id.hex}"


@command()
def delete_attachment(actor: Actor, attachment_id) -> Attachment:
    """Remove the row, then the stored file and its resized copies."""
    att = get_attachment(actor, attachment_id)
    driver = _driver_of(att.partition)
    key, cache, legacy_cache = att.storage_key, _cache_prefix(att), f"{att.tenant_id}/cache/{att.id.hex}"
    db.session.delete(att)

    def remove_files() -> None:
        # Copies cached inside a local partition before the image cache existed go too.
        _forget(driver, key, (legacy_cache,) if isinstance(driver, storage.LocalDriver) else ())
        storage.image_cache().delete_prefix(cache)

    after_commit(remove_files)
    return att


@command()
def update_attachment(actor: Actor, attachment_id, body: AttachmentMetadataUpdate) -> Attachment:
    """PATCH: the fields ``body`` carries. ``tags`` replace the attachment's; ``fileName``
    renames it (sanitised like an upload's name); ``assignments`` (one: Wharf files an
    attachment under one record) moves it to that record."""
    att = get_attachment(actor, attachment_id)
    sent = body.model_fields_set
    if "fileName" in sent:
        refuse_executable(body.fileName, b"")  # no renaming a file into something a click runs
        att.file_name = sanitize_file_name(body.fileName, att.mime_type)
    if "assignments" in sent:
        att.entity_id, att.record_id = body.assignments[0].type, body.assignments[0].id
    if "tags" in sent:
        current = {t.tag: t for t in att.tag_rows}
        for tag, row in current.items():
            if tag not in body.tags:
                att.tag_rows.remove(row)
        db.session.flush()
        for tag in body.tags:
            if tag not in current:
                att.tag_rows.append(AttachmentTag(tenant_id=att.tenant_id, tag=tag))
    db.session.flush()
    db.session.refresh(att)
    return att


@command()
def transfer(actor: Actor, body: AttachmentTransfer) -> int:
    """Move attachments to another record of the same entity type; returns how many."""
    atts = [get_attachment(actor, i) for i in dict.fromkeys(body.attachmentIds)]
    if any(a.entity_id != body.entityId for a in atts):
        raise BadRequest("Attachments can only move between records of the same entity type")
    for a in atts:
        a.record_id = body.toRecordId
    return len(atts)


def library_select(actor: Actor, *, partition: str | None = None, tags: list[str] | None = None) -> sa.Select:
    stmt = actor.scope.select(Attachment)
    if partition:
        codes = (
            actor.scope.select(AttachmentPartition)
            .where(AttachmentPartition.code == partition)
            .with_only_columns(AttachmentPartition.id)
        )
        stmt = stmt.where(Attachment.partition_id.in_(codes))
    for tag in tags or []:
        stmt = stmt.where(Attachment.id.in_(sa.select(AttachmentTag.attachment_id).where(AttachmentTag.tag == tag)))
    return stmt


def available_tags(actor: Actor) -> list[str]:
    stmt = actor.scope.select(AttachmentTag).with_only_columns(AttachmentTag.tag).distinct().order_by(AttachmentTag.tag)
    return list(db.session.scalars(stmt))


# --- reading ---------------------------------------------------------------------------------------


def readable(attachment_id, actor: Actor | None) -> Attachment:
    """The attachment if the caller may read its file: public partition → anyone; private →
    401 anonymous, 404 outside the caller's tenant/organizations, 403 without attachments.view."""
    att = Scope(None).get(Attachment, attachment_id)  # find it first; the partition decides who may read
    if att.partition.is_public:
        return att
    if actor is None:
        raise Unauthorized("Sign in to open this file")
    reader = actor.acting_with(["attachments.view"])  # a public route: read with the feature it takes
    att = reader.scope.get(Attachment, attachment_id)
    if not reader.allows(["attachments.view"]):
        raise Forbidden("Missing required features", requiredFeatures=["attachments.view"])
    return att


def disposition(att: Attachment, download: bool) -> tuple[str, bool]:
    """(Content-Type to send, inline?) — markup is never inline from a private partition
    and HTML never inline at all; unknown types are downloads."""
    mime = att.mime_type
    if mime == "text/plain":
        mime = "text/plain; charset=utf-8"
    if att.mime_type in ACTIVE:
        inline = att.mime_type == "image/svg+xml" and att.partition.is_public and not download
        return (att.mime_type if inline else "application/octet-stream"), inline
    return mime, (not download and att.mime_type in INLINE_SAFE)


def open_file(att: Attachment):
    driver = _driver_of(att.partition)
    try:
        return driver.open(att.storage_key)
    except FileNotFoundError:
        raise NotFound("File not found") from None
    except storage.StorageError as e:
        raise StorageUnavailable() from e


def content_disposition(att: Attachment, inline: bool) -> str:
    """The header ``send_file`` would write, for a response another server sends."""
    ascii_name = att.file_name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return (
        f'{"inline" if inline else "attachment"}; filename="{ascii_name}"; '
        f"filename*=UTF-8''{urllib.parse.quote(att.file_name, safe='')}"
    )


def signed_url(att: Attachment, download: bool, seconds: int | None = None) -> tuple[str, int]:
    """(URL, lifetime) letting the bearer fetch the file straight from its S3 bucket for a
    short while, with the Content-Type and Content-Disposition Wharf would serve (markup
    stays a download). Only the caller who passed ``readable`` should get one."""
    driver = _driver_of(att.partition)
    if not isinstance(driver, storage.S3Driver):
        raise BadRequest("Signed URLs exist for files in S3 partitions only")
    mime, inline = disposition(att, download)
    seconds = seconds or driver.settings.signed_url_seconds
    try:
        return driver.signed_url(
            att.storage_key, seconds, content_type=mime, disposition=content_disposition(att, inline)
        ), seconds
    except storage.StorageError as e:
        raise StorageUnavailable() from e


def signed_download(att: Attachment, download: bool) -> str | None:
    """The signed URL a file download answers with, when its S3 partition says so
    (``signedDownloads``); None: Wharf streams the file itself."""
    if att.partition.storage_driver != "s3" or not _driver_of(att.partition).settings.signed_downloads:
        return None
    return signed_url(att, download)[0]


def _snap(value: int | None) -> int | None:
    """The smallest ladder step at least ``value`` (the largest step for anything above it)."""
    if value is None:
        return None
    return next((step for step in SIZE_LADDER if step >= value), SIZE_LADDER[-1])


@dataclass(frozen=True)
class Transform:
    """A resize on the size ladder; build it with ``transform`` so it always is one."""

    width: int | None
    height: int | None
    crop: str

    @property
    def key(self) -> str:
        """Names the variant in the cache and the ETag."""
        return f"{self.width or 0}x{self.height or 0}-{self.crop}"


def transform(width: int | None, height: int | None, crop: str = "contain") -> Transform:
    """Width and height snapped up to ``SIZE_LADDER``; ``cover`` only when both are given
    (with one side it is the same picture as ``contain``, so one cached copy)."""
    width, height = _snap(width), _snap(height)
    return Transform(width, height, crop if width and height else "contain")


def _target_size(size: tuple[int, int], width: int | None, height: int | None) -> tuple[int, int]:
    """Requested box, never larger than the original (keeps aspect when one side is given)."""
    w0, h0 = size
    if width and height:
        factor = min(1.0, w0 / width, h0 / height)
        return max(1, round(width * factor)), max(1, round(height * factor))
    if width:
        f = min(1.0, width / w0)
    else:
        f = min(1.0, height / h0)
    return max(1, round(w0 * f)), max(1, round(h0 * f))


_SIDEWAYS = {5, 6, 7, 8}  # EXIF orientations that swap width and height


def _resized(original, t: Transform) -> Image.Image:
    """The image of ``t``, decoding no more of the original than the output needs: the
    downscale runs before the EXIF rotation, through ``thumbnail``, which has a JPEG decode
    at 1/2–1/8 scale (``draft``) and reduces other formats by whole factors first; nothing
    is copied at full resolution."""
    img = _open_image(original)
    img.seek(0)
    sideways = img.getexif().get(0x0112, 1) in _SIDEWAYS

    def as_stored(size: tuple[int, int]) -> tuple[int, int]:
        return (size[1], size[0]) if sideways else size

    shown = as_stored(img.size)
    box = _target_size(shown, t.width, t.height)
    cover = t.crop == "cover" and t.width and t.height
    if cover:  # shrink until the box is covered, crop after rotating
        scale = max(box[0] / shown[0], box[1] / shown[1])
        img.thumbnail(as_stored((math.ceil(shown[0] * scale), math.ceil(shown[1] * scale))), Image.Resampling.LANCZOS)
    else:
        img.thumbnail(as_stored(box), Image.Resampling.LANCZOS)
    ImageOps.exif_transpose(img, in_place=True)
    return ImageOps.fit(img, box, Image.Resampling.LANCZOS) if cover and img.size != box else img


TRANSFORM_WINDOW_SECONDS = 60


@command()
def _count_anonymous_transform(ip: str) -> None:
    """One more decode for an anonymous caller, or 429 once ``WHARF_IMAGE_TRANSFORMS_PER_MINUTE``
    (default 30) fall inside the minute — counted in the database, so per IP across workers."""
    limit = current_app.config["IMAGE_TRANSFORMS_PER_MINUTE"]
    auth.throttle(
        "image",
        ip,
        limit=limit,
        window_seconds=TRANSFORM_WINDOW_SECONDS,
        message="Too many new image sizes requested, try again later",
    )
    auth.record_attempt("image", ip, window_seconds=TRANSFORM_WINDOW_SECONDS)


def _cache_put(key: str, data: bytes) -> None:
    """Keep a variant, then evict least recently used ones beyond ``WHARF_IMAGE_CACHE_MAX_BYTES``
    (default 256 MB). A cache that cannot be written only costs a decode next time."""
    cache = storage.image_cache()
    try:
        cache.write(key, io.BytesIO(data))
        cache.trim(current_app.config["IMAGE_CACHE_MAX_BYTES"])
    except (OSError, storage.StorageError):
        current_app.logger.warning("image cache not written: %s", key, exc_info=True)


def _seekable(stream):
    """Pillow seeks in what it decodes: a stream that cannot (an S3 body) is spooled to a
    temporary file first (in memory only while small)."""
    if getattr(stream, "seekable", lambda: False)():
        return stream
    copy = tempfile.SpooledTemporaryFile(max_size=4 << 20)  # noqa: SIM115  (the caller closes it)
    with stream:
        shutil.copyfileobj(stream, copy, storage.CHUNK)
    copy.seek(0)
    return copy


def image_variant(att: Attachment, t: Transform, *, throttle_ip: str | None = None):
    """(stream, mime) of the image, resized and cached when a size is asked for. A variant
    not in the cache counts against ``throttle_ip`` (anonymous callers) before it is drawn."""
    if att.mime_type not in RASTER:
        raise BadRequest("Not an image attachment")
    if t.width is None and t.height is None:
        return open_file(att), att.mime_type
    fmt, ext = RASTER[att.mime_type]
    mime = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}[fmt]
    cache = storage.image_cache()
    key = f"{_cache_prefix(att)}/{t.key}.{ext}"
    try:
        stream = cache.open(key)
        cache.touch(key)
        return stream, mime
    except FileNotFoundError:
        pass
    if throttle_ip is not None:
        _count_anonymous_transform(throttle_ip)
    with _seekable(open_file(att)) as original:
        try:
            out = _resized(original, t)
            if fmt == "JPEG" and out.mode not in ("RGB", "L"):
                out = out.convert("RGB")
            elif fmt in ("PNG", "WEBP") and out.mode not in ("RGB", "RGBA", "L", "LA", "P"):
                out = out.convert("RGBA")
            buf = io.BytesIO()
            out.save(buf, fmt, **({"quality": 85, "optimize": True} if fmt == "JPEG" else {}))
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            raise StorageUnavailable("Image rendering failed") from e
    _cache_put(key, buf.getvalue())
    buf.seek(0)
    return buf, mime


# --- moving files between partitions (and drivers) ----------------------------------------------


class _Hashing:
    """A stream that hashes what is read through it (a copy is checked against ``checksum``)."""

    def __init__(self, stream):
        self.stream, self.digest = stream, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.digest.update(chunk)
        return chunk


def migration_plan(target_code: str, *, source_code: str | None = None, tenant_id=None) -> list[tuple]:
    """(attachment id, target partition id) of every file to move into the partitions coded
    ``target_code`` (one per tenant, or ``tenant_id``'s): from the partition ``source_code``
    of the same tenant, or by default from every partition of the same visibility on another
    driver (so ``--to`` an S3 partition gathers the local private files, not the public ones)."""
    targets = db.session.scalars(
        Scope(tenant_id).select(AttachmentPartition).where(AttachmentPartition.code == target_code)
    ).all()
    if not targets:
        raise NotFound(f"No partition {target_code!r}")
    plan = []
    for target in targets:
        sources = Scope(target.tenant_id).select(AttachmentPartition).where(AttachmentPartition.id != target.id)
        if source_code:
            sources = sources.where(AttachmentPartition.code == source_code)
        else:
            sources = sources.where(
                AttachmentPartition.storage_driver != target.storage_driver,
                AttachmentPartition.is_public == target.is_public,
            )
        ids = sources.with_only_columns(AttachmentPartition.id)
        files = db.session.scalars(
            sa.select(Attachment.id).where(Attachment.partition_id.in_(ids)).order_by(Attachment.created_at)
        )
        plan += [(a, target.id) for a in files]
    return plan


@command()
def move_file(attachment_id, target_partition_id) -> int:
    """Copy one file to the target partition's storage (streamed, its checksum checked), point
    the row there, and delete the old copy once that commits; returns the bytes copied.
    A failure leaves the file where it was."""
    att = lock(Scope(None), Attachment, attachment_id)
    target = Scope(att.tenant_id).get(AttachmentPartition, target_partition_id)
    if att.partition_id == target.id:
        return 0
    source, destination = _driver_of(att.partition), _driver_of(target)
    key = att.storage_key
    if source.location == destination.location:  # one place under two names: only the row moves
        att.partition_id = target.id
        return 0
    reader = _Hashing(open_file(att))
    try:
        with reader.stream:
            size = destination.write(key, reader)
    except storage.StorageError as e:
        raise StorageUnavailable() from e
    on_rollback(lambda: _forget(destination, key))
    if reader.digest.hexdigest() != att.checksum:
        raise StorageUnavailable(f"File {att.id} does not match its checksum; it stays where it is")
    att.partition_id = target.id
    after_commit(lambda: _forget(source, key))
    return size


# --- undo (services.undo): partitions come back through the commands above ----------------

_PARTITION_FIELDS = ("title", "description", "ocrModel", "storageDriver", "configJson", "requiresOcr", "isPublic")


def _load_partition(actor: Actor, partition_id: str, _tenant=None) -> AttachmentPartition | None:
    return db.session.scalars(
        actor.scope.select(AttachmentPartition).where(AttachmentPartition.id == uuid.UUID(partition_id))
    ).first()


def _restore_partition(actor: Actor, p: AttachmentPartition, snap: dict) -> None:
    fields = {k: snap[k] for k in _PARTITION_FIELDS if k != "isPublic" or snap[k] != p.is_public}
    update_partition(actor, AttachmentPartitionUpdate.model_validate({"id": p.id, **fields}))


def _revive_partition(actor: Actor, _gone, snap: dict, tenant_id) -> None:
    body = {k: snap[k] for k in ("code", *_PARTITION_FIELDS)}
    body["tenantId"] = tenant_id if actor.is_super_admin else None
    create_partition(actor, AttachmentPartitionCreate.model_validate(body), partition_id=uuid.UUID(snap["id"]))


undo.register(
    undo.Restorer(
        PARTITION,
        _load_partition,
        features=("attachments.manage", "attachments.partitions.manage"),
        update=_restore_partition,
        remove=lambda actor, p: delete_partition(actor, p.id),
        revive=_revive_partition,
    )
)
