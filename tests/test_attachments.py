"""Attachments and storage partitions (seed 000 /attachments): partition invariants, uploads,
access to private and public files, stored-XSS and path-traversal attempts, size limits,
decompression bombs, resizing, the library, the three renderings, and a browser upload.

Every test runs on both drivers (``storage_backend``: local directories, and an S3 server —
moto's, on loopback); the few about the local driver itself run on it alone."""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import zlib

import pytest
import sqlalchemy as sa
from PIL import Image

from models import Attachment, AuditLog, db
from services import attachments, storage
from tests.support import (
    ATTACHMENTS as API,
)
from tests.support import (
    BROWSER,
    CSRF_MISSING,
    MISSING_FEATURES,
    SYSTEM,
    api_token,
    bearer,
    browser_login,
    png,
    refusal,
    stored_files,
    tenant_admin,
    upload,
    uploaded,
    with_features,
)

# Every stored byte lands in a scratch directory or a fresh bucket; each test runs on both drivers.
pytestmark = pytest.mark.usefixtures("storage_backend")
LOCAL_ONLY = pytest.mark.parametrize("storage_backend", ["local"], indirect=True)

PARTITIONS = "/api/attachments/partitions"
HX = {"HX-Request": "true"}


# --- helpers ------------------------------------------------------------------------------------


def jpeg(width=64, height=48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture()
def h(client, app, tenant):
    return bearer(api_token(client, tenant_admin(app, tenant, "boss@acme.test")))


@pytest.fixture()
def other(client, app, make):
    """Bearer headers of the administrator of another tenant."""
    t = make.tenant("Other Co")
    return bearer(api_token(client, tenant_admin(app, t, "boss@other.test")))


# --- partitions ---------------------------------------------------------------------------------


def test_default_partitions_are_created_on_first_use(client, h, app, tenant, storage_backend):
    items = client.get(PARTITIONS, headers=h).get_json()["items"]
    by_code = {p["code"]: p for p in items}
    assert set(by_code) == {"privateAttachments", "publicMedia", "documents"}
    assert by_code["publicMedia"]["isPublic"] is True and by_code["privateAttachments"]["isPublic"] is False
    assert by_code["documents"]["isPublic"] is False
    assert {p["storageDriver"] for p in items} == {storage_backend.driver}  # WHARF_ATTACHMENTS_DRIVER
    assert by_code["privateAttachments"]["envKey"] == (
        "WHARF_ATTACHMENTS_S3_PRIVATE_ATTACHMENTS"
        if storage_backend.driver == "s3"
        else "WHARF_ATTACHMENTS_ROOT_PRIVATE_ATTACHMENTS"
    )
    assert {"id", "title", "description", "requiresOcr", "ocrModel", "configJson", "createdAt", "updatedAt"} <= set(
        by_code["documents"]
    )
    # Asking again creates nothing new.
    assert len(client.get(PARTITIONS, headers=h).get_json()["items"]) == 3
    with app.app_context():
        created = db.session.scalar(
            sa.select(sa.func.count(AuditLog.id)).where(
                AuditLog.resource_kind == "attachment_partition", AuditLog.tenant_id == tenant
            )
        )
    assert created == 3


def test_partition_invariants(client, h, app, tenant):
    r = client.post(PARTITIONS, json={"code": "damagePhotos", "title": "Damage photos", "isPublic": False}, headers=h)
    assert r.status_code == 201, r.get_json()
    item = r.get_json()["item"]
    assert item["code"] == "damagePhotos" and item["envKey"] == "WHARF_ATTACHMENTS_ROOT_DAMAGE_PHOTOS"

    dup = client.post(PARTITIONS, json={"code": "damagePhotos", "title": "Again"}, headers=h)
    assert dup.status_code == 409 and dup.get_json()["error"] == "Partition code already exists"
    assert client.post(PARTITIONS, json={"code": "privateAttachments", "title": "x"}, headers=h).status_code == 409
    for bad in ("a", "has space", "x" * 61, "../etc", None):
        assert client.post(PARTITIONS, json={"code": bad, "title": "Bad"}, headers=h).status_code == 400, bad
    assert client.post(PARTITIONS, json={"code": "okCode"}, headers=h).status_code == 400  # title required
    assert (
        client.post(PARTITIONS, json={"code": "ftpOne", "title": "FTP", "storageDriver": "ftp"}, headers=h).status_code
        == 400
    )

    changed = client.put(PARTITIONS, json={"id": item["id"], "code": "renamed", "title": "x"}, headers=h)
    assert changed.status_code == 400 and "cannot be changed" in changed.get_json()["error"]
    ok = client.put(
        PARTITIONS, json={"id": item["id"], "code": "damagePhotos", "title": "Damage", "requiresOcr": True}, headers=h
    )
    assert ok.status_code == 200 and ok.get_json()["item"]["title"] == "Damage" and ok.get_json()["item"]["requiresOcr"]
    assert (
        client.put(PARTITIONS, json={"id": "00000000-0000-4000-8000-000000000000", "title": "x"}, headers=h).status_code
        == 404
    )

    defaults = {p["code"]: p["id"] for p in client.get(PARTITIONS, headers=h).get_json()["items"]}
    for code in ("privateAttachments", "publicMedia", "documents"):
        r = client.delete(PARTITIONS, query_string={"id": defaults[code]}, headers=h)
        assert r.status_code == 400, code
    assert (
        client.put(PARTITIONS, json={"id": defaults["privateAttachments"], "isPublic": True}, headers=h).status_code
        == 400
    )

    uploaded(client, h, partition="damagePhotos")
    in_use = client.delete(PARTITIONS, query_string={"id": item["id"]}, headers=h)
    assert in_use.status_code == 409 and in_use.get_json()["error"] == "Partition in use"

    empty = client.post(PARTITIONS, json={"code": "spare", "title": "Spare"}, headers=h).get_json()["item"]
    assert client.delete(PARTITIONS, query_string={"id": empty["id"]}, headers=h).get_json() == {"ok": True}
    assert client.delete(PARTITIONS, query_string={"id": empty["id"]}, headers=h).status_code == 404
    assert client.delete(PARTITIONS, headers=h).status_code == 400

    with app.app_context():
        actions = [
            (a.action_type, a.resource_id)
            for a in db.session.scalars(
                sa.select(AuditLog).where(
                    AuditLog.resource_kind == "attachment_partition", AuditLog.actor_user_id.is_not(None)
                )
            )
        ]
    assert ("create", item["id"]) in actions and ("edit", item["id"]) in actions and ("delete", empty["id"]) in actions


def test_partitions_are_per_tenant(client, h, other):
    client.post(PARTITIONS, json={"code": "mine", "title": "Mine"}, headers=h)
    theirs = {p["code"] for p in client.get(PARTITIONS, headers=other).get_json()["items"]}
    assert "mine" not in theirs
    mine_id = next(p["id"] for p in client.get(PARTITIONS, headers=h).get_json()["items"] if p["code"] == "mine")
    assert client.put(PARTITIONS, json={"id": mine_id, "title": "Taken"}, headers=other).status_code == 404
    assert client.delete(PARTITIONS, query_string={"id": mine_id}, headers=other).status_code == 404
    # The same code may exist in another tenant.
    assert client.post(PARTITIONS, json={"code": "mine", "title": "Theirs"}, headers=other).status_code == 201


@LOCAL_ONLY
def test_partition_env_key_moves_its_directory(client, h, tmp_path, monkeypatch, files_root):
    client.post(PARTITIONS, json={"code": "damage-photos", "title": "Damage"}, headers=h)
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv(storage.env_key("damage-photos"), str(elsewhere))
    assert storage.env_key("damage-photos") == "WHARF_ATTACHMENTS_ROOT_DAMAGE_PHOTOS"
    item = uploaded(client, h, partition="damage-photos")
    assert len(stored_files(elsewhere)) == 1 and not stored_files(files_root)
    assert client.get(item["url"], headers=h).data == png()


# --- the storage driver ---------------------------------------------------------------------------


class Exploding(io.BytesIO):
    def read(self, size=-1):
        data = super().read(4)
        if not data or self.tell() > 8:
            raise OSError("connection lost")
        return data


@LOCAL_ONLY
def test_local_driver_writes_atomically_and_stays_in_its_root(tmp_path):
    driver = storage.LocalDriver(tmp_path / "root")
    assert driver.write("t/files/ab/one", io.BytesIO(b"hello")) == 5
    assert driver.open("t/files/ab/one").read() == b"hello"
    with pytest.raises(OSError):
        driver.write("t/files/ab/two", Exploding(b"0123456789abcdef"))
    assert not driver.exists("t/files/ab/two")
    assert sorted(p.name for p in (tmp_path / "root/t/files/ab").iterdir()) == ["one"]  # no temp file left
    for key in ("../escape", "/etc/passwd", "a/../../b", "a//b", ".hidden", "a\\b", ""):
        with pytest.raises(storage.StorageError):
            driver.write(key, io.BytesIO(b"x"))
    driver.delete("t/files/ab/one")
    assert not driver.exists("t/files/ab/one")


@LOCAL_ONLY
def test_failed_database_write_leaves_no_file(app, tenant, files_root, monkeypatch):
    written = []
    real_write = storage.LocalDriver.write

    def spy(self, key, stream):
        written.append(self._path(key))
        return real_write(self, key, stream)

    with app.app_context():
        attachments.ensure_partitions(tenant)

        def boom():
            raise RuntimeError("database went away")

        monkeypatch.setattr(storage.LocalDriver, "write", spy)
        monkeypatch.setattr(db.session, "commit", boom)
        with pytest.raises(RuntimeError):
            attachments.store(
                SYSTEM,
                attachments.Upload("a.png", io.BytesIO(png())),
                entity_id="lcs:shipment",
                record_id="S1",
                tenant_id=tenant,
            )
        monkeypatch.undo()
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
    assert len(written) == 1 and not written[0].exists()  # written, then removed
    assert not stored_files(files_root)


# --- upload, list, sniffing ---------------------------------------------------------------------------


def test_upload_and_list_newest_first(client, h, storage_backend):
    first = uploaded(client, h, name="first.png")
    second = uploaded(client, h, content=jpeg(), name="second.jpg")
    uploaded(client, h, name="elsewhere.png", record="S2")
    assert set(first) >= {"id", "url", "fileName", "fileSize", "content"}
    assert first["fileSize"] == len(png()) and first["checksum"] == hashlib.sha256(png()).hexdigest()
    assert first["url"] == f"/api/attachments/file/{first['id']}"

    body = client.get(API, query_string={"entityId": "lcs:shipment", "recordId": "S1"}, headers=h).get_json()
    assert [i["id"] for i in body["items"]] == [second["id"], first["id"]]
    assert body["total"] == 2 and body["page"] == 1
    item = body["items"][0]
    assert item["mimeType"] == "image/jpeg" and item["fileName"] == "second.jpg" and item["createdAt"].endswith("Z")
    assert item["partitionCode"] == "privateAttachments" and item["thumbnailUrl"]
    # Files are stored under generated keys, never under the uploaded name.
    names = storage_backend.names()
    assert len(names) == 3 and not any(n.endswith((".png", ".jpg")) for n in names)


def test_list_needs_entity_and_record(client, h):
    assert client.get(API, headers=h).status_code == 400
    assert client.get(API, query_string={"entityId": "lcs:shipment"}, headers=h).status_code == 400
    assert client.get(API, query_string={"entityId": "not an entity", "recordId": "1"}, headers=h).status_code == 400


def test_upload_validation(client, h):
    assert client.post(API, data={"entityId": "lcs:shipment", "recordId": "S1"}, headers=h).status_code == 400
    assert upload(client, h, entity="bad entity").status_code == 400
    assert upload(client, h, record="").status_code == 400
    assert upload(client, h, content=b"").status_code == 400
    r = upload(client, h, partition="noSuchPartition")
    assert r.status_code == 400 and r.get_json()["error"] == "Unknown partition"


def test_mime_type_is_sniffed_from_content(client, h):
    item = uploaded(client, h, content=png(), name="innocent.txt", content_type="text/plain")
    assert item["mimeType"] == "image/png"
    text = uploaded(client, h, content=b"hello, warehouse\n", name="note.png", content_type="image/png")
    assert text["mimeType"] == "text/plain" and text["content"] == "hello, warehouse\n"
    assert attachments.sniff_mime(b"%PDF-1.7\n...") == "application/pdf"
    assert attachments.sniff_mime(b"\xef\xbb\xbf  <!DOCTYPE html><p>x") == "text/html"
    assert (
        attachments.sniff_mime(b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>') == "image/svg+xml"
    )
    assert attachments.sniff_mime(b"\x00\x01\x02binary") == "application/octet-stream"


# --- executables ----------------------------------------------------------------------------------------

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
PE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"This program cannot be run in DOS mode."
MACH_O = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 24


@pytest.mark.parametrize(
    "name,content",
    [
        ("setup.exe", PE),
        ("invoice.pdf", PE),  # the bytes decide, whatever the name says
        ("tool", ELF),
        ("photo.png", MACH_O),
        ("notes.txt", b"#!/bin/sh\nrm -rf /\n"),
        ("notes.txt", b"\xef\xbb\xbf#!/usr/bin/env python3\n"),
        ("run.bat", b"@echo off\r\n"),
        ("deploy.sh", b"echo hi\n"),
        ("Report.PDF.Exe", b"%PDF-1.7\n"),  # any case
        ("invoice.exe.pdf", b"%PDF-1.7\n"),  # a hidden inner extension
        ("macro.vbs", b"MsgBox 1"),
        ("script.ps1", b"Write-Host 1"),
        ("app.js", b"alert(1)"),
    ],
)
def test_executables_are_refused(client, h, storage_backend, name, content):
    r = upload(client, h, content=content, name=name)
    assert r.status_code == 415, r.get_json()
    body = r.get_json()
    assert body["error"].startswith("Executable files are not accepted") and body["details"][0]["path"] == ["file"]
    assert not storage_backend.files()


def test_executable_refusal_reaches_people_in_the_panel(client, admin):
    csrf = browser_login(client, admin)
    r = client.post(
        "/attachments",
        data={"entityId": "lcs:parcel", "recordId": "P1", "csrf_token": csrf, "file": (io.BytesIO(PE), "x.exe")},
        headers={**BROWSER, **HX},
        content_type="multipart/form-data",
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "file is an executable (.exe): not accepted" in html and "<html" not in html


def test_documents_that_only_look_close_are_accepted(client, h):
    for name, content in (
        ("shell-notes.txt", b"the shebang line starts with #! but not here\n"),
        ("manifest.json", b'{"script": "run.sh"}'),
        ("photo.jpg", png()),
    ):
        assert upload(client, h, content=content, name=name).status_code == 200, name


# --- access to files --------------------------------------------------------------------------------


def test_private_file_needs_a_signed_in_user_of_the_tenant(client, h, other, app, tenant):
    item = uploaded(client, h)
    anon = client.get(item["url"], headers={"Accept": "application/json"})
    assert anon.status_code == 401 and "error" in anon.get_json()
    assert (
        client.get(
            item["url"].replace("/file/", "/image/") + "/photo", headers={"Accept": "application/json"}
        ).status_code
        == 401
    )
    assert client.get(item["url"], headers=other).status_code == 404
    assert client.get(item["thumbnailUrl"], headers=other).status_code == 404
    assert client.get(f"/api/attachments/library/{item['id']}", headers=other).status_code == 404
    listed = client.get(API, query_string={"entityId": "lcs:shipment", "recordId": "S1"}, headers=other).get_json()
    assert listed["items"] == []

    r = client.get(item["url"], headers=h)
    assert r.status_code == 200 and r.data == png() and r.mimetype == "image/png"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Disposition"].startswith("inline")
    assert "private" in r.headers["Cache-Control"]
    dl = client.get(item["url"], query_string={"download": "1"}, headers=h)
    assert (
        dl.headers["Content-Disposition"].startswith("attachment") and "photo.png" in dl.headers["Content-Disposition"]
    )

    featureless = bearer(api_token(client, with_features(app, tenant, "nobody@acme.test", [])))
    assert refusal(client.get(item["url"], headers=featureless), 403) == MISSING_FEATURES
    viewer = bearer(api_token(client, with_features(app, tenant, "viewer@acme.test", ["attachments.view"])))
    assert client.get(item["url"], headers=viewer).status_code == 200
    assert client.get("/api/attachments/file/00000000-0000-4000-8000-000000000000", headers=h).status_code == 404
    assert client.get("/api/attachments/file/not-a-uuid", headers=h).status_code == 404


def test_public_file_is_readable_by_anyone(client, h):
    item = uploaded(client, h, partition="publicMedia")
    r = client.get(item["url"])
    assert r.status_code == 200 and r.data == png() and r.headers["X-Content-Type-Options"] == "nosniff"
    assert "public" in r.headers["Cache-Control"]
    thumb = client.get(item["thumbnailUrl"])
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.data)).size == (30, 30)


def test_browser_session_reads_private_file(client, admin):
    csrf = browser_login(client, admin)
    r = client.post(
        "/attachments",
        data={
            "entityId": "lcs:parcel",
            "recordId": "P1",
            "csrf_token": csrf,
            "file": (io.BytesIO(png()), "parcel.png"),
        },
        headers={**BROWSER, **HX},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    html = r.get_data(as_text=True)
    assert "parcel.png" in html and "<html" not in html
    url = next(part for part in html.split('"') if part.startswith("/api/attachments/image/"))
    assert client.get(url.replace("&amp;", "&")).status_code == 200


@pytest.mark.parametrize(
    "name,content,partition",
    [
        ("evil.html", b"<html><body><script>alert(document.cookie)</script></body></html>", None),
        ("evil.png", b"<!DOCTYPE html><script>alert(1)</script>", None),
        (
            "evil.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>',
            None,
        ),
        ("evil.html", b"<html><script>alert(1)</script></html>", "publicMedia"),
    ],
)
def test_stored_xss_is_never_rendered_inline(client, h, name, content, partition):
    item = uploaded(client, h, name=name, content=content, content_type="image/png", partition=partition)
    assert item["mimeType"] in ("text/html", "image/svg+xml")
    for headers in (h, {} if partition else h):
        r = client.get(item["url"], headers=headers)
        assert r.status_code == 200
        assert r.headers["Content-Disposition"].startswith("attachment")
        assert r.mimetype == "application/octet-stream"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in r.headers["Content-Security-Policy"]
    assert client.get(item["url"].replace("/file/", "/image/"), headers=h).status_code == 400


def test_public_svg_is_inline_but_sandboxed(client, h):
    item = uploaded(
        client,
        h,
        name="logo.svg",
        partition="publicMedia",
        content=b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>',
    )
    r = client.get(item["url"])
    assert r.mimetype == "image/svg+xml" and r.headers["Content-Disposition"].startswith("inline")
    assert (
        "sandbox" in r.headers["Content-Security-Policy"] and "script-src" not in r.headers["Content-Security-Policy"]
    )


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\evil.png", "evil.png"),
        ("/absolute/path/photo.jpg", "photo.jpg"),
        ("..", "file.png"),
        ("a\x00b<script>.png", "a_b_script_.png"),
        ("   .hidden.png", "hidden.png"),
        ("x" * 300 + ".png", "x" * 196 + ".png"),
    ],
)
def test_file_names_are_sanitised(raw, expected):
    assert attachments.sanitize_file_name(raw, "image/png") == expected


def test_path_traversal_in_the_file_name_stays_in_the_root(client, h, files_root, tmp_path, storage_backend):
    item = uploaded(client, h, name="../../../outside.png")
    assert item["fileName"] == "outside.png"
    assert not (tmp_path / "outside.png").exists() and not (files_root.parent.parent / "outside.png").exists()
    files = storage_backend.files()
    assert len(files) == 1 and not files[0].endswith("outside.png") and ".." not in files[0]
    if storage_backend.driver == "local":
        assert str(files_root) in files[0]
    assert client.get(item["url"], headers=h).data == png()


# --- limits -----------------------------------------------------------------------------------------


def test_upload_size_limit_is_413(client, h, app, monkeypatch, storage_backend):
    assert app.config["ATTACHMENTS_MAX_BYTES"] == 25 * 1024 * 1024  # the default
    monkeypatch.setitem(app.config, "ATTACHMENTS_MAX_BYTES", 2000)
    body_too_large = upload(client, h, content=os.urandom(200_000), name="big.bin")
    assert body_too_large.status_code == 413 and "error" in body_too_large.get_json()
    file_too_large = upload(client, h, content=os.urandom(3000), name="big.bin")  # within the multipart slack
    assert file_too_large.status_code == 413 and "too large" in file_too_large.get_json()["error"]
    assert not storage_backend.files()
    assert upload(client, h, content=os.urandom(1500), name="small.bin").status_code == 200
    htmx = client.post(
        "/attachments",
        data={"entityId": "lcs:shipment", "recordId": "S1", "file": (io.BytesIO(os.urandom(200_000)), "big.bin")},
        headers={**h, **HX, "Accept": "text/html"},
        content_type="multipart/form-data",
    )
    assert htmx.status_code == 413 and htmx.headers["HX-Retarget"] == "#toasts"


def test_upload_limit_applies_to_the_upload_route_only(client, h, app, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENTS_MAX_BYTES", 30 * 1024 * 1024)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100_000)
    assert upload(client, h, content=os.urandom(300_000), name="ok.bin").status_code == 200
    assert client.post(PARTITIONS, data="x" * 200_000, content_type="text/plain", headers=h).status_code == 413


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` pixels (a decompression bomb's signature)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def test_decompression_bombs_are_refused(client, h, app, monkeypatch, storage_backend):
    r = upload(client, h, content=_png_header_only(60_000, 60_000), name="bomb.png")
    assert r.status_code == 400 and "decompression bomb" in r.get_json()["error"]
    monkeypatch.setitem(app.config, "ATTACHMENTS_MAX_IMAGE_PIXELS", 1000)
    assert upload(client, h, content=png(50, 50)).status_code == 400
    assert upload(client, h, content=png(20, 20)).status_code == 200
    corrupt = png()[:40]
    assert upload(client, h, content=corrupt, name="corrupt.png").status_code == 400
    assert len(storage_backend.files()) == 1


# --- images ----------------------------------------------------------------------------------------


def test_image_resizing_and_cache(client, h, files_root, storage_backend):
    item = uploaded(client, h, content=png(400, 300))
    base = item["imageUrl"]
    assert base.startswith(f"/api/attachments/image/{item['id']}/photo-png")

    def size(**params):
        r = client.get(base, query_string=params, headers=h)
        assert r.status_code == 200, r.get_json()
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        return Image.open(io.BytesIO(r.data)).size

    assert size() == (400, 300)
    # Sizes snap up to the ladder 64, 128, 256, 512, 1024, 2048 (test_attachment_hardening.py).
    assert size(width=100, height=100, cropType="cover") == (128, 128)
    assert size(width=100, height=100, cropType="contain") == (128, 96)
    assert size(width=200) == (256, 192)
    assert size(height=30) == (85, 64)
    assert size(width=4000, height=4000, cropType="cover") == (300, 300)  # never enlarged
    assert client.get(f"/api/attachments/image/{item['id']}", query_string={"width": 50}, headers=h).status_code == 200
    cached = [p for p in stored_files(files_root) if ".image-cache" in p.parts]
    assert len(cached) == 6
    size(width=100, height=100, cropType="cover")  # served from the cache
    assert len([p for p in stored_files(files_root) if ".image-cache" in p.parts]) == 6

    for bad in ({"width": 0}, {"width": 4001}, {"height": "abc"}, {"width": -5}, {"cropType": "stretch"}):
        r = client.get(base, query_string=bad, headers=h)
        assert r.status_code == 400 and "error" in r.get_json(), bad
    text = uploaded(client, h, content=b"not an image", name="notes.txt")
    assert client.get(f"/api/attachments/image/{text['id']}/notes", headers=h).status_code == 400

    assert client.delete(API, query_string={"id": item["id"]}, headers=h).get_json() == {"ok": True}
    assert not [p for p in stored_files(files_root) if item["id"].replace("-", "") in str(p)]
    assert not [k for k in storage_backend.files() if item["id"].replace("-", "") in k]


def test_exif_orientation_is_applied(client, h):
    img = Image.new("RGB", (60, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° when shown
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    item = uploaded(client, h, content=buf.getvalue(), name="phone.jpg")
    r = client.get(item["imageUrl"], query_string={"width": 20}, headers=h)
    assert Image.open(io.BytesIO(r.data)).size == (20, 60)


# --- delete, transfer, library -----------------------------------------------------------------------


def test_delete_removes_the_file(client, h, other, storage_backend):
    a, b = uploaded(client, h), uploaded(client, h, name="b.png")
    assert len(storage_backend.files()) == 2
    assert client.delete(API, query_string={"id": a["id"]}, headers=other).status_code == 404
    assert client.delete(API, query_string={"id": a["id"]}, headers=h).get_json() == {"ok": True}
    assert client.get(a["url"], headers=h).status_code == 404
    assert client.delete(API, query_string={"id": a["id"]}, headers=h).status_code == 404
    assert client.delete(API, headers=h).status_code == 400
    assert client.delete(f"/api/attachments/library/{b['id']}", headers=h).get_json() == {"ok": True}
    assert not storage_backend.files()


def test_transfer_within_the_same_entity_type(client, h, other):
    a, b = uploaded(client, h), uploaded(client, h, name="b.png")
    parcel = uploaded(client, h, entity="lcs:parcel", record="P1")
    r = client.post(
        f"{API}/transfer",
        json={"entityId": "lcs:shipment", "attachmentIds": [a["id"], b["id"]], "toRecordId": "S9"},
        headers=h,
    )
    assert r.get_json() == {"ok": True, "updated": 2}
    moved = client.get(API, query_string={"entityId": "lcs:shipment", "recordId": "S9"}, headers=h).get_json()
    assert {i["id"] for i in moved["items"]} == {a["id"], b["id"]}
    wrong = client.post(
        f"{API}/transfer",
        json={"entityId": "lcs:shipment", "attachmentIds": [parcel["id"]], "toRecordId": "S9"},
        headers=h,
    )
    assert wrong.status_code == 400
    assert (
        client.post(
            f"{API}/transfer",
            json={"entityId": "lcs:shipment", "attachmentIds": [a["id"]], "toRecordId": "S1"},
            headers=other,
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"{API}/transfer", json={"entityId": "lcs:shipment", "attachmentIds": [], "toRecordId": "S1"}, headers=h
        ).status_code
        == 400
    )


def test_library_filters_tags_and_details(client, h, other):
    a = uploaded(client, h, name="dock-door.png")
    b = uploaded(client, h, name="damage-box.jpg", content=jpeg(), partition="publicMedia")
    uploaded(client, other, name="their-damage.png")
    tagged = client.patch(f"/api/attachments/library/{a['id']}", json={"tags": ["dock", "pod"]}, headers=h).get_json()
    assert tagged["ok"] is True and tagged["item"]["tags"] == ["dock", "pod"]
    client.patch(f"/api/attachments/library/{b['id']}", json={"tags": ["damage", "pod"]}, headers=h)
    assert (
        client.patch(f"/api/attachments/library/{a['id']}", json={"tags": "not, a list"}, headers=h).status_code == 200
    )
    client.patch(f"/api/attachments/library/{a['id']}", json={"tags": ["dock", "pod"]}, headers=h)
    assert client.patch(f"/api/attachments/library/{a['id']}", json={"tags": [1, 2]}, headers=h).status_code == 400
    assert client.patch(f"/api/attachments/library/{a['id']}", json={"tags": ["x" * 61]}, headers=h).status_code == 400
    assert client.patch(f"/api/attachments/library/{a['id']}", json={"tags": ["a"]}, headers=other).status_code == 404

    lib = client.get("/api/attachments/library", headers=h).get_json()
    assert lib["total"] == 2 and [i["id"] for i in lib["items"]] == [b["id"], a["id"]]
    assert lib["availableTags"] == ["damage", "dock", "pod"]
    assert {p["code"] for p in lib["partitions"]} == {"privateAttachments", "publicMedia", "documents"}
    assert set(lib["items"][0]) >= {
        "id",
        "fileName",
        "fileSize",
        "mimeType",
        "partitionCode",
        "partitionTitle",
        "url",
        "createdAt",
        "tags",
        "assignments",
        "content",
    }

    def ids(**query):
        return [
            i["id"] for i in client.get("/api/attachments/library", query_string=query, headers=h).get_json()["items"]
        ]

    assert ids(search="DAMAGE") == [b["id"]]
    assert ids(partition="publicMedia") == [b["id"]]
    assert ids(tags="pod") == [b["id"], a["id"]]
    assert ids(tags="pod,dock") == [a["id"]]
    assert ids(sortField="fileName", sortDir="asc") == [b["id"], a["id"]]
    assert client.get("/api/attachments/library", query_string={"pageSize": 101}, headers=h).status_code == 400
    assert client.get("/api/attachments/library", query_string={"sortField": "nope"}, headers=h).status_code == 400

    detail = client.get(f"/api/attachments/library/{a['id']}", headers=h).get_json()["item"]
    assert detail["tags"] == ["dock", "pod"] and detail["assignments"] == [{"type": "lcs:shipment", "id": "S1"}]
    assert detail["customFields"] is None
    assert client.get("/api/attachments/library/00000000-0000-4000-8000-000000000000", headers=h).status_code == 404


def test_patch_honours_assignments(client, h, other):
    """Seed contract (Open Mercato TC-ATT-001): ``assignments`` in the metadata PATCH moves
    the attachment to that record, and the answer carries the item's tags and assignments."""
    a = uploaded(client, h)
    lib = f"/api/attachments/library/{a['id']}"
    r = client.patch(
        lib,
        json={
            "tags": ["phase2", "updated"],
            "assignments": [{"type": "example:todo", "id": "todo-123", "label": "Todo 123"}],
        },
        headers=h,
    )
    assert r.status_code == 200
    item = r.get_json()["item"]
    assert item["tags"] == ["phase2", "updated"] and item["assignments"][0] == {
        "type": "example:todo",
        "id": "todo-123",
    }
    assert client.get(lib, headers=h).get_json()["item"]["assignments"] == [{"type": "example:todo", "id": "todo-123"}]
    moved = client.get(API, query_string={"entityId": "example:todo", "recordId": "todo-123"}, headers=h).get_json()
    assert [i["id"] for i in moved["items"]] == [a["id"]]
    assert (
        client.get(API, query_string={"entityId": "lcs:shipment", "recordId": "S1"}, headers=h).get_json()["total"] == 0
    )
    one = {"type": "lcs:shipment", "id": "S2"}
    for bad in (
        [],
        [one, {"type": "lcs:parcel", "id": "P1"}],
        [{"type": "not an entity", "id": "x"}],
        [{"type": "a:b"}],
    ):
        assert client.patch(lib, json={"assignments": bad}, headers=h).status_code == 400, bad
    assert client.patch(lib, json={"assignments": [one]}, headers=other).status_code == 404
    assert client.get(lib, headers=h).get_json()["item"]["assignments"] == [{"type": "example:todo", "id": "todo-123"}]


def test_json_routes_asked_for_html_answer_a_page(client, h):
    """A change asked for as a whole page is answered with a redirect to the page showing
    it (never a template rendered without its context)."""
    html = {**h, **BROWSER}
    a, b, c = uploaded(client, h), uploaded(client, h, name="b.png"), uploaded(client, h, name="c.png")
    record = "/attachments?entityId=lcs:shipment&recordId=S1"
    patched = client.patch(f"/attachments/library/{a['id']}", json={"tags": ["x"]}, headers=html)
    assert patched.status_code == 303 and patched.location.endswith(f"/attachments/library/{a['id']}")
    moved = client.post(
        "/attachments/transfer",
        json={"entityId": "lcs:shipment", "attachmentIds": [b["id"]], "toRecordId": "S2"},
        headers=html,
    )
    assert moved.status_code == 303 and moved.location.endswith("recordId=S2")
    deleted = client.delete(f"/attachments?id={a['id']}", headers=html)
    assert deleted.status_code == 303 and record in deleted.location.replace("%3A", ":")
    assert client.delete(f"/attachments/library/{c['id']}", headers=html).status_code == 303
    up = client.post(
        "/attachments",
        data={"entityId": "lcs:shipment", "recordId": "S3", "file": (io.BytesIO(png()), "d.png")},
        headers=html,
        content_type="multipart/form-data",
    )
    assert up.status_code == 303 and up.location.endswith("recordId=S3")
    for path in (f"/attachments/library/{b['id']}", "/attachments/library", record, "/attachments/partitions"):
        page = client.get(path, headers=html)
        assert page.status_code == 200 and "<!doctype html>" in page.get_data(as_text=True), path


def test_features_are_enforced(client, app, tenant, h):
    item = uploaded(client, h)
    viewer = bearer(api_token(client, with_features(app, tenant, "v@acme.test", ["attachments.view"])))
    assert client.get("/api/attachments/library", headers=viewer).status_code == 200
    r = upload(client, viewer)
    assert r.status_code == 403 and r.get_json()["requiredFeatures"] == ["attachments.manage"]
    assert refusal(client.delete(API, query_string={"id": item["id"]}, headers=viewer), 403) == MISSING_FEATURES
    assert refusal(client.get(PARTITIONS, headers=viewer), 403) == MISSING_FEATURES


# --- the three renderings and the screens ------------------------------------------------------------


def test_record_list_three_renderings(client, admin, h):
    uploaded(client, h, name="pallet.png")
    browser_login(client, admin)
    q = {"entityId": "lcs:shipment", "recordId": "S1"}
    as_json = client.get("/attachments", query_string=q, headers={"Accept": "application/json"})
    assert as_json.get_json()["items"][0]["fileName"] == "pallet.png"
    fragment = client.get("/attachments", query_string=q, headers={**BROWSER, **HX})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html and 'class="file-panel"' in html
    assert "pallet.png" in html and 'capture="environment"' in html and 'accept="image/*"' in html
    assert 'hx-encoding="multipart/form-data"' in html and "hx-delete" in html
    page = client.get("/attachments", query_string=q, headers=BROWSER).get_data(as_text=True)
    assert page.startswith("<!doctype html>") and "pallet.png" in page and "file-panel.js" in page


def test_panel_upload_and_refusals_with_htmx(client, admin, app, monkeypatch):
    csrf = browser_login(client, admin)
    hx = {**BROWSER, **HX, "X-CSRFToken": csrf}
    base = {"entityId": "auth:user", "recordId": "U1"}
    empty = client.post(
        "/attachments", data={**base, "file": (io.BytesIO(b""), "")}, headers=hx, content_type="multipart/form-data"
    )
    assert empty.status_code == 422 and 'class="file-panel"' in empty.get_data(as_text=True)
    assert "file is required" in empty.get_data(as_text=True)  # an empty file input is no file
    ok = client.post(
        "/attachments",
        data={**base, "file": [(io.BytesIO(png()), "a.png"), (io.BytesIO(b""), "")]},
        headers=hx,
        content_type="multipart/form-data",
    )
    assert ok.status_code == 200 and "a.png" in ok.get_data(as_text=True) and "<img" in ok.get_data(as_text=True)
    assert "wharf:toast" in ok.headers["HX-Trigger"] and "attachments-changed" in ok.headers["HX-Trigger"]
    att_id = client.get("/api/attachments", query_string=base).get_json()["items"][0]["id"]
    deleted = client.delete(f"/attachments?id={att_id}", headers=hx)
    assert deleted.status_code == 200 and deleted.get_data(as_text=True).strip() == ""
    assert "attachments-changed" in deleted.headers["HX-Trigger"]
    no_csrf = client.post(
        "/attachments",
        data={**base, "file": (io.BytesIO(png()), "a.png")},
        headers={**BROWSER, **HX},
        content_type="multipart/form-data",
    )
    assert CSRF_MISSING in refusal(no_csrf, 400)
    assert client.get("/api/attachments", query_string=base).get_json()["items"] == []  # nothing stored


def test_library_and_partition_screens(client, admin, h, storage_backend):
    uploaded(client, h, name="label.png")
    csrf = browser_login(client, admin)
    hx = {**BROWSER, **HX, "X-CSRFToken": csrf}
    page = client.get("/attachments/library", headers=BROWSER).get_data(as_text=True)
    assert "<!doctype html>" in page and "label.png" in page and 'id="library-filters"' in page
    results = client.get("/attachments/library?search=nothing", headers={**hx, "HX-Target": "library-results"})
    assert "<html" not in results.get_data(as_text=True) and "No file matches" in results.get_data(as_text=True)

    part_page = client.get("/attachments/partitions", headers=BROWSER).get_data(as_text=True)
    assert "privateAttachments" in part_page and storage.env_key("publicMedia", storage_backend.driver) in part_page
    bad = client.post("/attachments/partitions", data={"code": "x", "title": "Too short"}, headers=hx)
    assert bad.status_code == 422 and 'role="alert"' in bad.get_data(as_text=True)
    made = client.post(
        "/attachments/partitions", data={"code": "slips", "title": "Slips", "isPublic": ["false"]}, headers=hx
    )
    assert made.status_code == 201 and "Created partition" in made.get_data(as_text=True)
    assert "partitions-changed" in made.headers["HX-Trigger"]
    dup = client.post("/attachments/partitions", data={"code": "slips", "title": "Again"}, headers=hx)
    assert dup.status_code == 422 and "already exists" in dup.get_data(as_text=True)
    in_list = client.get("/attachments/partitions", headers=hx).get_data(as_text=True)
    assert "slips" in in_list and "<html" not in in_list
    slips = next(p for p in client.get(PARTITIONS, headers=h).get_json()["items"] if p["code"] == "slips")
    refused = client.put("/attachments/partitions", data={"id": slips["id"], "title": ""}, headers=hx)
    assert refused.status_code == 422 and "title is required" in refused.get_data(as_text=True)
    assert "<details" in refused.get_data(as_text=True) and " open" in refused.get_data(as_text=True)
    saved = client.put(
        "/attachments/partitions",
        data={"id": slips["id"], "title": "Packing slips", "isPublic": ["false", "true"]},
        headers=hx,
    )
    assert saved.status_code == 200 and "Saved." in saved.get_data(as_text=True)
    assert [p["isPublic"] for p in client.get(PARTITIONS, headers=h).get_json()["items"] if p["code"] == "slips"] == [
        True
    ]
    deleted = client.delete(f"/attachments/partitions?id={slips['id']}", headers=hx)
    assert deleted.status_code == 200 and "<code>slips</code>" not in deleted.get_data(as_text=True)


def test_user_edit_page_includes_file_panel_and_usage_bar(client, admin, make, tenant):
    staff_id = make.user(tenant, "worker@acme.test")
    browser_login(client, admin)
    page = client.get(f"/auth/users/edit?id={staff_id}", headers=BROWSER).get_data(as_text=True)
    assert f"/attachments?entityId=auth:user&amp;recordId={staff_id}" in page
    assert f"/plans/usage?userId={staff_id}" in page


# --- browser ------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_browser_upload_photo_see_thumbnail_delete(browser, live_server, app, admin, files_root, storage_backend):
    """On the admin's own user page (so the usage bar counts the upload): camera input →
    thumbnail → usage bar refreshes → delete without a reload."""
    from models import User
    from tests.support import ARTIFACTS, expect, new_page, open_and_sign_in, settled

    with app.app_context():
        staff_id = db.session.scalar(sa.select(User.id).where(User.email == admin))
    context, page = new_page(browser, viewport={"width": 390, "height": 844})
    try:
        open_and_sign_in(page, live_server, admin)
        page.goto(f"{live_server}/auth/users/edit?id={staff_id}")
        panel = settled(page.locator("section.file-panel"))
        expect(panel.get_by_role("heading", name="Files")).to_be_visible()
        expect(page.locator("section.usage")).to_contain_text("0 B")
        page.evaluate("window.__marker = 1")

        page.set_input_files(
            'input[data-upload="camera"]',
            files=[{"name": "dock-photo.jpg", "mimeType": "image/jpeg", "buffer": jpeg(800, 600)}],
        )
        thumb = panel.locator("li.thumb img")
        expect(thumb).to_be_visible()
        expect(thumb).to_have_attribute("alt", "dock-photo.jpg")
        page.wait_for_function(
            "() => { const i = document.querySelector('li.thumb img');"
            " return i && i.complete && i.naturalWidth === 256; }"
        )  # views.THUMB, a ladder step
        expect(page.locator("#toasts")).to_contain_text("Uploaded dock-photo.jpg")
        expect(page.locator("section.usage")).to_contain_text(re.compile(r"\d+\.\d KB of 1024 MB used"))
        assert len(storage_backend.files()) == 1 and len(stored_files(files_root / ".image-cache")) == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "file-panel-390.png"), full_page=True)

        page.once("dialog", lambda d: d.accept())
        panel.get_by_role("button", name="Delete dock-photo.jpg").click()
        expect(panel.locator("li.thumb")).to_have_count(0)
        expect(page.locator("#toasts")).to_contain_text("Deleted dock-photo.jpg")
        expect(page.locator("section.usage")).to_contain_text("0 B of 1024 MB used")
        assert page.evaluate("window.__marker === 1"), "the page reloaded"
        assert not storage_backend.files() and not stored_files(files_root / ".image-cache")

        # Drag and drop: a file dropped on the drop zone is uploaded through the same form.
        page.evaluate("""() => {
            const dt = new DataTransfer();
            dt.items.add(new File(["pallet count: 12"], "dropped-note.txt", {type: "text/plain"}));
            const zone = document.querySelector("[data-dropzone]");
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""")
        expect(panel.locator("li.thumb")).to_have_count(1)
        expect(panel.locator("li.thumb .thumb-name")).to_have_text("dropped-note.txt")
        expect(panel.locator("li.thumb .file-type")).to_have_text("TXT")
    finally:
        context.close()
