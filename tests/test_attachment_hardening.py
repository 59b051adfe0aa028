"""Security issue #12: anonymous image transforms are bounded (size ladder, cache budget,
per-IP throttle, reduced-scale decoding), file names lose Unicode format characters on
upload and rename, and a tenant admin's rename is no oracle for other tenants' names."""

from __future__ import annotations

import io
import os

import pytest
import sqlalchemy as sa
from PIL import Image, JpegImagePlugin

from models import Tenant, User, db
from services import attachments
from tests.support import PASSWORD, api_token, bearer, png, stored_files, uploaded

# Every stored byte lands in a scratch directory or a fresh bucket; each test runs on both drivers.
pytestmark = pytest.mark.usefixtures("storage_backend")

TENANTS = "/api/directory/tenants"


def tenant_admin(client, make, tenant) -> dict:
    """Bearer headers of a tenant admin (the seeded "Administrator" role, not super admin)."""
    make.member(tenant, "boss@acme.test", "Administrator")
    return bearer(api_token(client, "boss@acme.test"))


@pytest.fixture()
def h(client, make, tenant):
    return tenant_admin(client, make, tenant)


def cached(root) -> list:
    """Resized copies, wherever the code keeps them (the image cache, or a partition's cache/)."""
    return [p for p in stored_files(root) if ".image-cache" in p.parts or "cache" in p.parts]


def noise_png(width: int, height: int) -> bytes:
    """Incompressible pixels, so every variant has a size worth budgeting."""
    buf = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buf, "PNG")
    return buf.getvalue()


def big_jpeg(width=4000, height=3000) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (90, 140, 30)).save(buf, "JPEG", quality=60)
    return buf.getvalue()


def size_of(response) -> tuple[int, int]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return Image.open(io.BytesIO(response.data)).size


# --- M3: sizes snap to the ladder --------------------------------------------------------------------


def test_requested_sizes_snap_up_to_the_ladder(client, h, files_root):
    item = uploaded(client, h, content=png(1000, 800), partition="publicMedia")
    url = item["imageUrl"]
    odd = [client.get(url, query_string={"width": w}) for w in (131, 250)]
    assert [size_of(r) for r in odd] == [(256, 205), (256, 205)]
    assert odd[0].headers["ETag"] == odd[1].headers["ETag"] and odd[0].data == odd[1].data
    assert len(cached(files_root)) == 1  # two odd widths, one variant

    assert size_of(client.get(url, query_string={"width": 64})) == (64, 51)  # a step stays itself
    assert size_of(client.get(url, query_string={"height": 1})) == (80, 64)
    assert size_of(client.get(url, query_string={"width": 3999})) == (1000, 800)  # 2048, never enlarged
    cover = client.get(url, query_string={"width": 300, "height": 200, "cropType": "cover"})
    assert size_of(cover) == (512, 256)
    # cropType still accepted with one side; it is the same picture as contain, so the same file.
    assert client.get(url, query_string={"width": 250, "cropType": "cover"}).data == odd[0].data
    assert len(cached(files_root)) == 5
    # The seed's parameter contract is unchanged.
    assert client.get(url, query_string={"width": 4001}).status_code == 400
    assert client.get(url, query_string={"cropType": "stretch"}).status_code == 400
    assert attachments.SIZE_LADDER == (64, 128, 256, 512, 1024, 2048)


# --- M3: the cache has a byte budget -------------------------------------------------------------------


def test_transform_cache_stays_within_its_budget_evicting_least_recently_used(client, h, app, files_root, monkeypatch):
    content = noise_png(300, 300)
    items = [uploaded(client, h, content=content, name=f"p{i}.png") for i in range(8)]
    first = client.get(items[0]["imageUrl"], query_string={"width": 128}, headers=h)
    variant = len(first.data)  # every item's 128-pixel copy has this size (same pixels)
    budget = 3 * variant + variant // 2
    monkeypatch.setitem(app.config, "IMAGE_CACHE_MAX_BYTES", budget)

    def total() -> int:
        return sum(p.stat().st_size for p in cached(files_root))

    for i, item in enumerate(items[1:], start=1):
        assert client.get(item["imageUrl"], query_string={"width": 128}, headers=h).status_code == 200
        assert total() <= budget, f"over budget after {i + 1} variants"
    survivors = cached(files_root)
    assert len(survivors) == 3

    # Least recently used goes first: date the three survivors, then use the oldest once.
    for age, path in enumerate(survivors):
        os.utime(path, (1_000_000 + age, 1_000_000 + age))
    by_hex = {i["id"].replace("-", ""): i for i in items}
    oldest = survivors[0]
    assert (
        client.get(by_hex[oldest.parent.name]["imageUrl"], query_string={"width": 128}, headers=h).status_code == 200
    )  # a cache hit: now the most recently used
    evicted = next(i for hex_id, i in by_hex.items() if hex_id not in {p.parent.name for p in survivors})
    assert client.get(evicted["imageUrl"], query_string={"width": 128}, headers=h).status_code == 200
    left = cached(files_root)
    assert total() <= budget and len(left) == 3 and oldest in left and survivors[1] not in left


# --- M3: anonymous cache misses are throttled per IP ---------------------------------------------------


def test_anonymous_transforms_are_limited_per_ip_but_not_hits_or_signed_in_users(client, h, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMAGE_TRANSFORMS_PER_MINUTE", 3)
    item = uploaded(client, h, content=png(1000, 800), partition="publicMedia")
    url = item["imageUrl"]
    for width in (64, 128, 256):
        assert client.get(url, query_string={"width": width}).status_code == 200
    refused = client.get(url, query_string={"width": 512}, headers={"Accept": "application/json"})
    assert refused.status_code == 429 and "error" in refused.get_json()
    assert 1 <= int(refused.headers["Retry-After"]) <= 61

    assert client.get(url, query_string={"width": 100}).status_code == 200  # snaps to 128: cached
    assert client.get(url).status_code == 200  # the original needs no decode
    assert client.get(item["url"]).status_code == 200
    assert client.get(url, query_string={"width": 512}, headers=h).status_code == 200  # signed in
    assert client.get(url, query_string={"width": 1024}, headers=h).status_code == 200
    assert client.get(url, query_string={"width": 512}).status_code == 200  # now cached
    other_ip = client.get(url, query_string={"height": 64}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert other_ip.status_code == 200
    assert client.get(url, query_string={"height": 128}).status_code == 429


def test_default_anonymous_limit_is_thirty_a_minute(client, h, app):
    """Thirty distinct variants asked of one image (keys, not pixels, make a variant): the 31st is refused."""
    item = uploaded(client, h, content=png(100, 100), partition="publicMedia")
    ladder = attachments.SIZE_LADDER
    asks = (
        [{"width": w} for w in ladder]
        + [{"height": x} for x in ladder]
        + [{"width": w, "height": x} for w in ladder for x in ladder]
    )
    codes = [client.get(item["imageUrl"], query_string=q).status_code for q in asks[:31]]
    assert codes == [200] * 30 + [429]


# --- M3: large originals are decoded at reduced scale -------------------------------------------------


def test_large_jpeg_is_decoded_at_reduced_scale(client, h, monkeypatch):
    item = uploaded(client, h, content=big_jpeg(), name="dock.jpg", partition="publicMedia")
    decoded = []
    real_load = JpegImagePlugin.JpegImageFile.load

    def spy(self):
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy)
    assert size_of(client.get(item["imageUrl"], query_string={"width": 256})) == (256, 192)
    cover = client.get(item["imageUrl"], query_string={"width": 128, "height": 128, "cropType": "cover"})
    assert size_of(cover) == (128, 128)
    assert decoded and max(w for w, _ in decoded) <= 1024, decoded  # never the 4000-pixel bitmap


# --- file names: Unicode format characters -------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("\u202egnp.exe", "gnp.exe"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("pho\u200bto.png", "photo.png"),
        ("\ufeffreport.pdf", "report.pdf"),
        ("a\u2066b\u2069c\u200e.png", "abc.png"),
        ("\u202e\u200b", "file.png"),
        ("bad\x9bname.png", "bad_name.png"),  # a C1 control character (CSI)
    ],
)
def test_sanitiser_strips_format_characters(raw, expected):
    assert attachments.sanitize_file_name(raw, "image/png") == expected


def test_upload_and_rename_strip_bidi_overrides(client, h):
    # "\u202egnp.exe" displays as "exe.png": refused, being an executable whatever it shows.
    refused = client.post(
        "/api/attachments",
        data={"entityId": "lcs:shipment", "recordId": "S1", "file": (io.BytesIO(png()), "\u202egnp.exe")},
        headers=h,
        content_type="multipart/form-data",
    )
    assert refused.status_code == 415 and "Executable" in refused.get_json()["error"]
    item = uploaded(client, h, name="\u202efdp.txt")
    assert item["fileName"] == "fdp.txt"
    download = client.get(item["downloadUrl"], headers=h)
    assert "\u202e" not in download.headers["Content-Disposition"]

    lib = f"/api/attachments/library/{item['id']}"
    assert client.patch(lib, json={"fileName": "invoice\u202efdp.exe"}, headers=h).status_code == 415
    assert client.patch(lib, json={"fileName": "invoice\u202efdp.pdf"}, headers=h).get_json()["ok"] is True
    assert client.get(lib, headers=h).get_json()["item"]["fileName"] == "invoicefdp.pdf"
    client.patch(lib, json={"fileName": "../../dock\u200b photo.png", "tags": ["pod"]}, headers=h)
    renamed = client.get(lib, headers=h).get_json()["item"]
    assert renamed["fileName"] == "dock photo.png" and renamed["tags"] == ["pod"]
    for bad in ("", "   ", None, 12):
        r = client.patch(lib, json={"fileName": bad}, headers=h)
        assert r.status_code == 400 and r.get_json()["details"][0]["path"] == ["fileName"], bad
    assert client.get(lib, headers=h).get_json()["item"]["fileName"] == "dock photo.png"


# --- tenant names: no cross-tenant oracle ---------------------------------------------------------------


def test_tenant_admin_rename_reveals_nothing_about_other_tenants(client, app, make, tenant):
    make.tenant("Globex")
    ta = tenant_admin(client, make, tenant)
    taken = client.put(TENANTS, json={"id": str(tenant), "name": "globex"}, headers=ta)
    free = client.put(TENANTS, json={"id": str(tenant), "name": "Nobody Has This"}, headers=ta)
    assert (taken.status_code, taken.get_json()) == (free.status_code, free.get_json()) == (200, {"ok": True})
    assert client.put(TENANTS, json={"id": str(tenant), "name": "Globex"}, headers=ta).status_code == 200
    with app.app_context():
        assert db.session.get(Tenant, tenant).name == "Globex"


def test_super_admin_keeps_the_uniqueness_check_and_the_cli_refuses_a_shared_name(client, app, make, tenant, admin):
    other = make.tenant("Globex")
    ta = tenant_admin(client, make, tenant)
    assert client.put(TENANTS, json={"id": str(tenant), "name": "Globex"}, headers=ta).status_code == 200

    # Two tenants now share the name: the CLI refuses to guess where a super admin goes.
    result = app.test_cli_runner().invoke(
        args=["create-admin", "new@ops.test", "--password", PASSWORD, "--tenant", "Globex"]
    )
    assert result.exit_code != 0 and "Several tenants are named 'Globex'" in result.output
    with app.app_context():
        assert db.session.scalars(sa.select(User).where(User.email == "new@ops.test")).first() is None

    # A super admin sees every tenant, so for them names stay unique (409, as documented).
    su = bearer(api_token(client, admin))
    r = client.post(TENANTS, json={"name": "GLOBEX"}, headers=su)
    assert r.status_code == 409 and r.get_json()["error"] == "A tenant with this name already exists"
    assert client.put(TENANTS, json={"id": str(other), "name": "Globex Corp"}, headers=su).status_code == 200
    assert client.put(TENANTS, json={"id": str(other), "name": "globex"}, headers=su).status_code == 409
