"""The ``s3`` attachment driver against a server speaking the S3 protocol over HTTP on loopback
(moto's, tests/s3server.py): partitions with their own bucket settings, streamed multipart
uploads and downloads, signed download URLs, two Wharf instances sharing one bucket, and
``flask attachments migrate`` moving files between the local and the S3 driver."""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
import uuid

import pytest
import sqlalchemy as sa

from app import create_app
from models import Attachment, AttachmentPartition, db
from services import attachments, storage
from tests.support import (
    ATTACHMENTS,
    SYSTEM,
    api_token,
    bearer,
    png,
    stored_files,
    tenant_admin,
    upload,
    uploaded,
)

PARTITIONS = "/api/attachments/partitions"


@pytest.fixture()
def h(client, app, tenant):
    return bearer(api_token(client, tenant_admin(app, tenant, "boss@acme.test")))


@pytest.fixture()
def s3(app, files_root, s3_bucket, s3_server, monkeypatch):
    """Default partitions on S3 (``WHARF_ATTACHMENTS_DRIVER=s3``) in a fresh bucket."""
    monkeypatch.setitem(app.config, "ATTACHMENTS_DRIVER", "s3")
    return s3_server


def _partition(client, h, code, **fields) -> dict:
    r = client.post(PARTITIONS, json={"code": code, "title": code, **fields}, headers=h)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["item"]


# --- partitions on S3 -----------------------------------------------------------------------------


def test_s3_partition_settings_are_checked(client, h, app, s3_server, files_root, monkeypatch):
    """Without WHARF_S3_BUCKET an S3 partition must name its bucket; malformed settings are a
    400 naming the field, never a partition that fails at the first upload."""
    for key in ("S3_BUCKET", "S3_ENDPOINT_URL"):
        monkeypatch.setitem(app.config, key, None)
    r = client.post(PARTITIONS, json={"code": "noBucket", "title": "x", "storageDriver": "s3"}, headers=h)
    assert r.status_code == 400 and r.get_json()["details"][0]["path"] == ["configJson", "bucket"]
    for bad in (
        {"bucket": "UPPER_case"},
        {"bucket": "ok-bucket", "endpointUrl": "ftp://x"},
        {"bucket": "ok-bucket", "prefix": "../up"},
        {"bucket": "ok-bucket", "signedUrlSeconds": 99999},
        {"bucket": "ok-bucket", "accessKey": "secrets never go here"},
    ):
        r = client.post(
            PARTITIONS, json={"code": "badS3", "title": "x", "storageDriver": "s3", "configJson": bad}, headers=h
        )
        assert r.status_code == 400 and r.get_json()["details"][0]["path"][0] == "configJson", bad
    s3_server.create_bucket("own-bucket")
    monkeypatch.setenv("WHARF_ATTACHMENTS_S3_DAMAGE_S3_ACCESS_KEY_ID", "wharf-test-access")
    monkeypatch.setenv("WHARF_ATTACHMENTS_S3_DAMAGE_S3_SECRET_ACCESS_KEY", "wharf-test-secret")
    item = _partition(
        client,
        h,
        "damageS3",
        storageDriver="s3",
        configJson={"bucket": "own-bucket", "prefix": "wharf/prod", "endpointUrl": s3_server.endpoint},
    )
    assert item["storageDriver"] == "s3" and item["envKey"] == "WHARF_ATTACHMENTS_S3_DAMAGE_S3"
    file = uploaded(client, h, partition="damageS3")
    keys = s3_server.keys("own-bucket")
    assert len(keys) == 1 and keys[0].startswith("wharf/prod/damageS3/") and file["id"].replace("-", "") in keys[0]
    assert client.get(file["url"], headers=h).data == png()
    assert not stored_files(files_root)

    # Holding files, the partition keeps its storage (the files would be left behind).
    moved = client.put(PARTITIONS, json={"id": item["id"], "storageDriver": "local"}, headers=h)
    assert moved.status_code == 409 and "migrate" in moved.get_json()["error"]
    rebucket = client.put(
        PARTITIONS, json={"id": item["id"], "configJson": {"bucket": "another-one"}}, headers=h
    ).status_code
    assert rebucket == 409
    assert client.put(PARTITIONS, json={"id": item["id"], "title": "Damage (S3)"}, headers=h).status_code == 200
    assert client.delete(ATTACHMENTS, query_string={"id": file["id"]}, headers=h).status_code == 200
    assert s3_server.keys("own-bucket") == []
    s3_server.empty_bucket("own-bucket")


def test_uploads_stream_in_parts_and_downloads_stream(client, h, app, s3, s3_bucket, monkeypatch):
    """A 20 MB upload goes up as a multipart upload read in bounded chunks (never whole); the
    download is a streamed response of the object's body."""
    monkeypatch.setitem(app.config, "ATTACHMENTS_MAX_BYTES", 30 * 1024 * 1024)
    reads = []
    real_read = storage._Counted.read

    def spy(self, size=-1):
        reads.append(size)
        return real_read(self, size)

    monkeypatch.setattr(storage._Counted, "read", spy)
    content = os.urandom(20 * 1024 * 1024)
    item = uploaded(client, h, content=content, name="big.bin")
    assert reads and all(0 < size <= 8 * 1024 * 1024 for size in reads)  # never "read it all"
    (key,) = s3.keys(s3_bucket)
    head = s3.client().head_object(Bucket=s3_bucket, Key=key)
    assert head["ContentLength"] == len(content) and "-3" in head["ETag"]  # three parts
    r = client.get(item["url"], headers=h)
    assert r.status_code == 200 and r.is_streamed and hashlib.sha256(r.data).hexdigest() == item["checksum"]


def test_storage_that_does_not_answer_is_a_clear_500_and_leaves_nothing(client, h, app, s3, s3_bucket, monkeypatch):
    monkeypatch.setitem(app.config, "S3_BUCKET", "no-such-bucket")
    r = upload(client, h)
    assert r.status_code == 500 and r.get_json()["error"] == "Partition misconfigured"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0


def test_failed_database_write_removes_the_object(app, tenant, s3, s3_bucket, monkeypatch):
    with app.app_context():
        attachments.ensure_partitions(tenant)

        def boom():
            raise RuntimeError("database went away")

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
    assert s3.keys(s3_bucket) == []


# --- signed download URLs ---------------------------------------------------------------------------


def test_signed_downloads_redirect_after_the_access_checks(client, h, app, s3, s3_bucket):
    _partition(client, h, "signedS3", storageDriver="s3", configJson={"signedDownloads": True, "signedUrlSeconds": 60})
    photo = uploaded(client, h, partition="signedS3")
    evil = uploaded(client, h, partition="signedS3", name="evil.html", content=b"<html><script>alert(1)</script>")

    assert client.get(photo["url"], headers={"Accept": "application/json"}).status_code == 401  # checks first
    r = client.get(photo["url"], headers=h)
    assert r.status_code == 302 and "no-store" in r.headers["Cache-Control"]
    location = r.headers["Location"]
    assert location.startswith(s3.endpoint + f"/{s3_bucket}/signedS3/") and "Expires=" in location
    with urllib.request.urlopen(location) as got:
        assert got.read() == png() and got.headers["Content-Type"] == "image/png"
        assert got.headers["Content-Disposition"].startswith("inline")

    # Markup keeps Wharf's serving rules on the bucket's answer too: a download, never HTML.
    with urllib.request.urlopen(client.get(evil["url"], headers=h).headers["Location"]) as got:
        assert got.headers["Content-Type"] == "application/octet-stream"
        assert got.headers["Content-Disposition"].startswith("attachment")
    # Resized images are still drawn (and cached) by Wharf.
    assert client.get(photo["thumbnailUrl"], headers=h).status_code == 200


# --- two instances, one bucket -------------------------------------------------------------------------


def test_two_app_instances_share_one_bucket(client, h, app, s3, s3_bucket, tmp_path):
    """Two Wharf processes (own instance folders, own local roots) on one database and one bucket:
    what one stores, the other serves and deletes — nothing depends on a local disk."""
    other = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            "CHECK_RESPONSES": True,
            "ATTACHMENTS_ROOT": str(tmp_path / "second-instance"),
            "ATTACHMENTS_DRIVER": "s3",
            **{k: app.config[k] for k in ("S3_BUCKET", "S3_ENDPOINT_URL", "S3_REGION")},
        }
    )
    second = other.test_client()
    item = uploaded(client, h, content=png(64, 64), name="shared.png")
    r = second.get(item["url"], headers=h)
    assert r.status_code == 200 and r.data == png(64, 64)
    listed = second.get(ATTACHMENTS, query_string={"entityId": "lcs:shipment", "recordId": "S1"}, headers=h)
    assert [i["id"] for i in listed.get_json()["items"]] == [item["id"]]
    thumb = second.get(item["thumbnailUrl"], headers=h)
    assert thumb.status_code == 200  # drawn from the bucket by the second instance

    theirs = uploaded(second, h, name="from-the-second.png")
    assert client.get(theirs["url"], headers=h).data == png()
    assert len(s3.keys(s3_bucket)) == 2
    assert second.delete(ATTACHMENTS, query_string={"id": item["id"]}, headers=h).get_json() == {"ok": True}
    assert client.get(item["url"], headers=h).status_code == 404
    assert len(s3.keys(s3_bucket)) == 1
    assert not stored_files(tmp_path / "second-instance" / "privateAttachments")
    with other.app_context():
        db.session.remove()


# --- moving files between drivers ------------------------------------------------------------------------


def test_migrate_moves_files_between_drivers(client, h, app, tenant, files_root, s3_bucket, s3_server):
    """Files uploaded to the local private partition move into an S3 partition and back: each
    copied, checked, re-pointed and removed where it was; readable throughout."""
    items = [uploaded(client, h, name=f"f{i}.png", content=png(10 + i, 10)) for i in range(3)]
    public = uploaded(client, h, partition="publicMedia", name="public.png")
    target = _partition(client, h, "privateS3", storageDriver="s3")
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["attachments", "migrate", "--to", "privateS3", "--dry-run"])
    assert dry.exit_code == 0 and "3 file(s) would move" in dry.output
    done = runner.invoke(args=["attachments", "migrate", "--to", "privateS3", "--tenant", str(tenant)])
    assert done.exit_code == 0 and "Moved 3 file(s) into privateS3" in done.output, done.output
    keys = s3_server.keys(s3_bucket)
    assert len(keys) == 3 and all(k.startswith("privateS3/") for k in keys)
    assert len(stored_files(files_root / "privateAttachments")) == 0  # the copies left behind are gone
    assert len(stored_files(files_root / "publicMedia")) == 1  # another visibility: not moved by default
    for item in items:
        got = client.get(f"/api/attachments/library/{item['id']}", headers=h).get_json()["item"]
        assert got["partitionCode"] == "privateS3" and got["checksum"] == item["checksum"]
        assert hashlib.sha256(client.get(item["url"], headers=h).data).hexdigest() == item["checksum"]
    assert client.get(public["url"]).status_code == 200

    back = runner.invoke(args=["attachments", "migrate", "--from", "privateS3", "--to", "privateAttachments"])
    assert back.exit_code == 0 and "Moved 3 file(s)" in back.output, back.output
    assert s3_server.keys(s3_bucket) == [] and len(stored_files(files_root / "privateAttachments")) == 3
    assert client.get(items[0]["url"], headers=h).data == png(10, 10)

    # A partition emptied by the move may change its storage again.
    assert client.put(PARTITIONS, json={"id": target["id"], "storageDriver": "local"}, headers=h).status_code == 200
    unknown = runner.invoke(args=["attachments", "migrate", "--to", "noSuchPartition"])
    assert unknown.exit_code != 0 and "No partition" in unknown.output


def test_a_copy_that_does_not_match_its_checksum_stays_put(client, h, app, tenant, files_root, s3_bucket, s3_server):
    item = uploaded(client, h)
    _partition(client, h, "privateS3", storageDriver="s3")
    (path,) = stored_files(files_root / "privateAttachments")
    path.write_bytes(b"changed on disk behind Wharf's back")
    result = app.test_cli_runner().invoke(args=["attachments", "migrate", "--to", "privateS3"])
    assert result.exit_code == 1 and "checksum" in result.output and "1 failed" in result.output
    assert s3_server.keys(s3_bucket) == [] and path.exists()
    with app.app_context():
        att = db.session.get(Attachment, uuid.UUID(item["id"]))
        code = db.session.get(AttachmentPartition, att.partition_id).code
    assert code == "privateAttachments"


def test_partition_screen_creates_an_s3_partition_with_htmx(client, admin, app, s3_bucket, files_root):
    from tests.support import BROWSER, browser_login

    csrf = browser_login(client, admin)
    hx = {**BROWSER, "HX-Request": "true", "X-CSRFToken": csrf}
    page = client.get("/attachments/partitions", headers=BROWSER).get_data(as_text=True)
    assert 'name="storageDriver"' in page and 'name="configJson"' in page
    form = {"code": "photosS3", "title": "Photos on S3", "storageDriver": "s3", "isPublic": "false"}
    bad = client.post("/attachments/partitions", data={**form, "configJson": '{"bucket": "Bad_Name"}'}, headers=hx)
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "configJson.bucket" in html and "<html" not in html
    ok = client.post("/attachments/partitions", data={**form, "configJson": '{"prefix": "photos"}'}, headers=hx)
    assert ok.status_code == 201 and "photosS3" in ok.get_data(as_text=True)
    listed = client.get("/attachments/partitions", headers={**hx, "HX-Target": "partition-list"})
    assert "WHARF_ATTACHMENTS_S3_PHOTOS_S3" in listed.get_data(as_text=True)


@pytest.mark.parametrize(
    "env,message",
    [
        ({"WHARF_ATTACHMENTS_DRIVER": "ftp"}, "must be local or s3"),
        ({"WHARF_ATTACHMENTS_DRIVER": "s3"}, "needs WHARF_S3_BUCKET"),
    ],
)
def test_the_default_driver_is_checked_at_start(monkeypatch, tmp_path, env, message):
    monkeypatch.delenv("WHARF_S3_BUCKET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError, match=message):
        create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})


def test_generated_labels_are_stored_in_and_served_from_s3(client, admin, app, s3, s3_bucket, monkeypatch):
    """The documents partition on S3: a parcel label made by the label task lands in the bucket
    and its PDF route streams it back from there."""
    from tests.support import parcel, shipment
    from tests.test_documents import method, request_label

    monkeypatch.setitem(app.config, "TASKS_EAGER", True)
    h = bearer(api_token(client, admin))
    p = parcel(client, h, shipment(client, h, method(client, h)))
    request_label(client, h, p["id"])
    file_id = client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()["label"]["file_id"]
    (key,) = s3.keys(s3_bucket)
    assert key.startswith("documents/") and key.endswith(file_id.replace("-", ""))
    pdf = client.get(f"/lcs/parcels/{p['id']}/label.pdf", headers=h)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
