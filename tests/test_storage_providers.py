"""The S3 storage provider (seed 000 ``/storage-providers/s3/*``) against moto's S3 server on
loopback: each of the five operations, its bad input (4xx in the envelope, never a 500), tenant
isolation, the attachment rules on uploads, the page and its htmx interactions, and a browser."""

from __future__ import annotations

import io
import os
import urllib.request

import pytest

from tests.support import (
    BROWSER,
    MISSING_FEATURES,
    api_token,
    bearer,
    browser_login,
    png,
    refusal,
    tenant_admin,
    with_features,
)

S3 = "/api/storage-providers/s3"
HX = {"HX-Request": "true"}
PE = b"MZ\x90\x00" + b"\x00" * 60


@pytest.fixture()
def h(client, app, tenant, s3_bucket, files_root):
    return bearer(api_token(client, tenant_admin(app, tenant, "boss@acme.test")))


@pytest.fixture()
def other(client, app, make, s3_bucket):
    t = make.tenant("Other Co")
    return bearer(api_token(client, tenant_admin(app, t, "boss@other.test")))


def put(client, h, content=b"stock,12\n", name="stock.csv", key=None):
    data = {"file": (io.BytesIO(content), name)}
    if key is not None:
        data["key"] = key
    return client.post(f"{S3}/upload", data=data, headers=h, content_type="multipart/form-data")


def test_upload_list_download_sign_delete(client, h, tenant, s3_bucket, s3_server):
    r = put(client, h, key="exports/2026-12/stock.csv")
    assert r.status_code == 201, r.get_json()
    item = r.get_json()
    assert item["key"] == "exports/2026-12/stock.csv" and item["bucket"] == s3_bucket and item["size"] == 9
    assert item["contentType"] == "text/plain" and len(item["checksum"]) == 64
    assert item["url"] == f"{S3}/download?key=exports/2026-12/stock.csv"
    # Stored in the tenant's own area of the bucket.
    assert s3_server.keys(s3_bucket) == [f"storage/{tenant}/exports/2026-12/stock.csv"]

    default_key = put(client, h, content=png(), name="../../Dock photo.png").get_json()
    assert default_key["key"].startswith("uploads/") and default_key["key"].endswith("/Dock_photo.png")
    assert default_key["contentType"] == "image/png"

    listed = client.get(f"{S3}/list", headers=h).get_json()
    assert {f["key"] for f in listed["files"]} == {item["key"], default_key["key"]}
    assert listed["truncated"] is False and listed["nextContinuationToken"] is None
    assert {"size", "lastModified", "etag"} <= set(listed["files"][0])
    only = client.get(f"{S3}/list", query_string={"prefix": "exports/"}, headers=h).get_json()
    assert [f["key"] for f in only["files"]] == [item["key"]]
    first = client.get(f"{S3}/list", query_string={"maxKeys": 1}, headers=h).get_json()
    assert len(first["files"]) == 1 and first["truncated"] and first["nextContinuationToken"]
    rest = client.get(
        f"{S3}/list", query_string={"maxKeys": 1, "continuationToken": first["nextContinuationToken"]}, headers=h
    ).get_json()
    assert len(rest["files"]) == 1 and rest["files"][0]["key"] != first["files"][0]["key"]

    got = client.get(item["url"], headers=h)
    assert got.status_code == 200 and got.is_streamed and got.data == b"stock,12\n"
    assert (
        got.headers["Content-Disposition"].startswith("attachment")
        and "stock.csv" in got.headers["Content-Disposition"]
    )
    assert got.mimetype == "text/plain" and got.headers["X-Content-Type-Options"] == "nosniff"

    signed = client.post(f"{S3}/signed-url", json={"key": item["key"], "expiresIn": 60}, headers=h)
    assert signed.status_code == 201
    body = signed.get_json()
    assert body["expiresIn"] == 60 and body["expiresAt"].endswith("Z") and body["url"].startswith(s3_server.endpoint)
    with urllib.request.urlopen(body["url"]) as fetched:
        assert fetched.read() == b"stock,12\n" and fetched.headers["Content-Disposition"].startswith("attachment")

    assert client.delete(f"{S3}/delete", json={"key": item["key"]}, headers=h).status_code == 204
    assert client.delete(f"{S3}/delete", query_string={"key": default_key["key"]}, headers=h).status_code == 204
    assert s3_server.keys(s3_bucket) == []
    assert client.get(f"{S3}/list", headers=h).get_json()["files"] == []


def test_markup_is_only_ever_a_download(client, h):
    key = put(client, h, content=b"<html><script>alert(1)</script></html>", name="x.html").get_json()["key"]
    got = client.get(f"{S3}/download", query_string={"key": key}, headers=h)
    assert got.mimetype == "application/octet-stream" and got.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in got.headers["Content-Security-Policy"]
    url = client.post(f"{S3}/signed-url", json={"key": key}, headers=h).get_json()["url"]
    with urllib.request.urlopen(url) as fetched:
        assert fetched.headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize(
    "method,path,kwargs,status",
    [
        ("get", "/list", {"query_string": {"maxKeys": 0}}, 400),
        ("get", "/list", {"query_string": {"maxKeys": 1001}}, 400),
        ("get", "/list", {"query_string": {"maxKeys": "x"}}, 400),
        ("get", "/list", {"query_string": {"prefix": "../"}}, 200),  # a prefix names no path: nothing matches
        ("get", "/list", {"query_string": {"prefix": "a b"}}, 400),
        ("get", "/download", {}, 400),
        ("get", "/download", {"query_string": {"key": "../../etc/passwd"}}, 400),
        ("get", "/download", {"query_string": {"key": "/abs"}}, 400),
        ("get", "/download", {"query_string": {"key": "a//b"}}, 400),
        ("get", "/download", {"query_string": {"key": "x" * 301}}, 400),
        ("get", "/download", {"query_string": {"key": "missing.txt"}}, 404),
        ("post", "/signed-url", {"json": {}}, 400),
        ("post", "/signed-url", {"json": {"key": "missing.txt"}}, 404),
        ("post", "/signed-url", {"json": {"key": "a.txt", "operation": "upload"}}, 400),
        ("post", "/signed-url", {"json": {"key": "a.txt", "expiresIn": 10}}, 400),
        ("post", "/signed-url", {"json": {"key": "a.txt", "expiresIn": 604800}}, 400),
        ("post", "/signed-url", {"json": {"key": ["a"]}}, 400),
        ("post", "/signed-url", {"data": "not json", "content_type": "application/json"}, 400),
        ("delete", "/delete", {}, 400),
        ("delete", "/delete", {"json": {"key": "../x"}}, 400),
        ("delete", "/delete", {"query_string": {"key": "missing.txt"}}, 404),
        ("post", "/upload", {"data": {}, "content_type": "multipart/form-data"}, 400),
        ("post", "/upload", {"json": {"key": "a.txt"}}, 400),
    ],
)
def test_bad_input_is_a_4xx_in_the_envelope(client, h, method, path, kwargs, status):
    r = getattr(client, method)(S3 + path, headers=h, **kwargs)
    assert r.status_code == status, (r.status_code, r.get_json())
    if status != 200:
        assert isinstance(r.get_json()["error"], str)


def test_uploads_follow_the_attachment_rules(client, h, app, monkeypatch, s3_bucket, s3_server):
    assert put(client, h, key="taken.txt").status_code == 201
    taken = put(client, h, key="taken.txt", content=b"other")
    assert taken.status_code == 409 and "exists" in taken.get_json()["error"]
    assert put(client, h, content=b"").status_code == 400
    exe = put(client, h, content=PE, name="report.pdf")
    assert exe.status_code == 415 and exe.get_json()["error"].startswith("Executable files are not accepted")
    assert put(client, h, name="deploy.sh", content=b"echo\n").status_code == 415
    assert put(client, h, key="bad key").status_code == 400
    monkeypatch.setitem(app.config, "ATTACHMENTS_MAX_BYTES", 2000)
    assert put(client, h, content=os.urandom(3000)).status_code == 413
    assert put(client, h, content=os.urandom(200_000)).status_code == 413  # the body limit
    assert len(s3_server.keys(s3_bucket)) == 1


def test_quota_applies(client, app, tenant, make, s3_bucket, files_root):
    from services import plans

    with app.app_context():
        plan = plans.ensure_default(tenant)
        plan.quota_mb = 0
        from models import db

        db.session.commit()
    hh = bearer(api_token(client, tenant_admin(app, tenant, "full@acme.test")))
    r = put(client, hh)
    assert r.status_code in (403, 413) and "quota" in r.get_json()["error"].lower()


def test_tenants_never_see_each_others_objects(client, h, other, tenant, s3_bucket, s3_server):
    key = put(client, h, key="private/plan.txt").get_json()["key"]
    assert client.get(f"{S3}/list", headers=other).get_json()["files"] == []
    assert client.get(f"{S3}/download", query_string={"key": key}, headers=other).status_code == 404
    assert client.post(f"{S3}/signed-url", json={"key": key}, headers=other).status_code == 404
    assert client.delete(f"{S3}/delete", json={"key": key}, headers=other).status_code == 404
    # The same key is theirs to use, in their own area.
    assert put(client, other, key="private/plan.txt", content=b"theirs").status_code == 201
    assert client.get(f"{S3}/download", query_string={"key": key}, headers=h).data == b"stock,12\n"
    assert len(s3_server.keys(s3_bucket)) == 2


def test_features_are_enforced(client, app, tenant, h):
    key = put(client, h).get_json()["key"]
    viewer = bearer(api_token(client, with_features(app, tenant, "viewer@acme.test", ["storage_providers.view"])))
    assert client.get(f"{S3}/list", headers=viewer).status_code == 200
    assert client.get(f"{S3}/download", query_string={"key": key}, headers=viewer).status_code == 200
    assert client.post(f"{S3}/signed-url", json={"key": key}, headers=viewer).status_code == 201
    assert refusal(put(client, viewer), 403) == MISSING_FEATURES
    assert refusal(client.delete(f"{S3}/delete", json={"key": key}, headers=viewer), 403) == MISSING_FEATURES
    nobody = bearer(api_token(client, with_features(app, tenant, "nobody@acme.test", [])))
    assert client.get(f"{S3}/list", headers=nobody).status_code == 403
    assert client.get(f"{S3}/list", headers={"Accept": "application/json"}).status_code == 401


def test_not_configured_is_a_400_and_the_page_says_how(client, app, tenant, admin, files_root, monkeypatch):
    monkeypatch.setitem(app.config, "S3_BUCKET", None)
    hh = bearer(api_token(client, tenant_admin(app, tenant, "boss@acme.test")))
    for r in (
        client.get(f"{S3}/list", headers=hh),
        put(client, hh),
        client.get(f"{S3}/download", query_string={"key": "a.txt"}, headers=hh),
        client.post(f"{S3}/signed-url", json={"key": "a.txt"}, headers=hh),
        client.delete(f"{S3}/delete", json={"key": "a.txt"}, headers=hh),
    ):
        assert r.status_code == 400 and "not configured" in r.get_json()["error"]
    browser_login(client, admin)
    page = client.get("/storage-providers/s3/list", headers=BROWSER)
    assert page.status_code == 200 and "WHARF_S3_BUCKET" in page.get_data(as_text=True)


def test_page_and_htmx(client, admin, h, s3_bucket, s3_server):
    put(client, h, key="exports/a.csv")
    csrf = browser_login(client, admin)
    hx = {**BROWSER, **HX, "X-CSRFToken": csrf}
    page = client.get("/storage-providers/s3/list", headers=BROWSER).get_data(as_text=True)
    assert "<!doctype html>" in page and "exports/a.csv" in page and 'id="s3-upload-form"' in page
    assert 'href="/storage-providers/s3/list"' in page  # in the navigation

    filtered = client.get("/storage-providers/s3/list?prefix=nothing", headers={**hx, "HX-Target": "s3-objects"})
    html = filtered.get_data(as_text=True)
    assert "<html" not in html and 'id="s3-objects"' in html and "No objects starting with nothing" in html

    up = client.post(
        "/storage-providers/s3/upload",
        data={"file": (io.BytesIO(b"count,3\n"), "count.csv"), "key": "exports/b.csv", "csrf_token": csrf},
        headers=hx,
        content_type="multipart/form-data",
    )
    html = up.get_data(as_text=True)
    assert up.status_code == 201 and "Uploaded <code>exports/b.csv</code>" in html and "<html" not in html
    assert up.headers["HX-Trigger"] and "s3-objects-changed" in up.headers["HX-Trigger"]
    refused = client.post(
        "/storage-providers/s3/upload",
        data={"file": (io.BytesIO(PE), "x.exe"), "csrf_token": csrf},
        headers=hx,
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "file is an executable (.exe): not accepted" in refused.get_data(as_text=True)

    signed = client.post("/storage-providers/s3/signed-url", data={"key": "exports/b.csv"}, headers=hx)
    html = signed.get_data(as_text=True)
    assert signed.status_code == 201 and "Signed link" in html and s3_server.endpoint in html and "<html" not in html

    gone = client.delete("/storage-providers/s3/delete?key=exports/b.csv", headers=hx)
    assert gone.status_code == 200 and gone.get_data(as_text=True) == ""
    assert "Deleted exports/b.csv" in gone.headers["HX-Trigger"]

    # Without htmx, a form post lands back on the list.
    plain = client.post(
        "/storage-providers/s3/upload",
        data={"file": (io.BytesIO(b"x\n"), "c.csv"), "key": "exports/c.csv", "csrf_token": csrf},
        headers=BROWSER,
        content_type="multipart/form-data",
    )
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/storage-providers/s3/list")


@pytest.mark.browser
def test_browser_upload_sign_and_delete(browser, live_server, app, admin, s3_bucket, s3_server, files_root):
    from tests.support import ARTIFACTS, expect, new_page, open_and_sign_in

    context, page = new_page(browser, viewport={"width": 1366, "height": 800})
    try:
        open_and_sign_in(page, live_server, admin)
        page.goto(f"{live_server}/storage-providers/s3/list")
        page.evaluate("window.__marker = 1")
        page.set_input_files(
            "#s3-upload-form input[type=file]",
            files=[{"name": "stock.csv", "mimeType": "text/csv", "buffer": b"sku,qty\nMUG,3\n"}],
        )
        page.fill("#s3-upload-form input[name=key]", "exports/stock.csv")
        page.click("#s3-upload-form button[type=submit]")
        expect(page.locator("#s3-upload-form")).to_contain_text("Uploaded exports/stock.csv")
        row = page.locator("#s3-objects tr", has_text="exports/stock.csv")
        expect(row).to_be_visible()  # the list refreshed itself (s3-objects-changed)

        row.get_by_role("button", name="Signed link").click()
        link = row.get_by_role("link", name="Signed link")
        expect(link).to_be_visible()
        assert link.get_attribute("href").startswith(s3_server.endpoint)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "s3-storage-1366.png"), full_page=True)

        page.once("dialog", lambda d: d.accept())
        row.get_by_role("button", name="Delete").click()
        expect(page.locator("#s3-objects tr", has_text="exports/stock.csv")).to_have_count(0)
        assert page.evaluate("window.__marker === 1"), "the page reloaded"
        assert s3_server.keys(s3_bucket) == []
    finally:
        context.close()
