"""Helpers and factories shared by the test modules (fixtures live in conftest.py).

Accounts are made through the product's own commands with the SYSTEM actor, so every
tenant, organization, user and grant in a test is hashed, linked and audited the way a
real one is: ``new_*`` in the current app context, ``Factory`` (the ``make`` fixture) in one of its own.
No test module imports another; what two of them need lives here.
"""

from __future__ import annotations

import base64
import io
import os
import re
import subprocess
from pathlib import Path

import playwright.sync_api as playwright_sync
import pytest
from PIL import Image

from models import db
from services import directory, roles, toggles, users
from services.acl import SYSTEM
from web.access import access_of
from web.openapi import json_rules

PASSWORD = "correct-horse-battery"

# --- accounts -----------------------------------------------------------------------------------


def new_tenant(name):
    """A tenant with its default roles, created in the current app context."""
    return directory.create_tenant(SYSTEM, name=name)


def new_user(
    tenant_id, email, *, super_admin=False, password=PASSWORD, name="", role_ids=(), organization_id=None, features=()
):
    """A user of ``tenant_id``; ``features`` (or ``super_admin``) become a per-user override."""
    user = users.create_user(
        SYSTEM,
        email=email,
        password=password,
        name=name,
        role_ids=list(role_ids),
        organization_id=organization_id,
        tenant_id=tenant_id,
    )
    if super_admin or features:
        users.update_user_acl(SYSTEM, user.id, features=list(features), is_super_admin=super_admin, organizations=None)
    return user


def new_organization(tenant_id, name, slug=None, parent_id=None):
    return directory.create_organization(SYSTEM, name=name, slug=slug, parent_id=parent_id, tenant_id=tenant_id)


class Factory:
    """The same, each in an app context of its own; returns ids (the ``make`` fixture)."""

    def __init__(self, app):
        self.app = app

    def tenant(self, name="Acme"):
        with self.app.app_context():
            return new_tenant(name).id

    def user(self, tenant_id, email, **kwargs):
        with self.app.app_context():
            return new_user(tenant_id, email, **kwargs).id

    def organization(self, tenant_id, name, slug=None, parent_id=None):
        with self.app.app_context():
            return new_organization(tenant_id, name, slug, parent_id).id

    def member(self, tenant_id, email, role_name, *, password=PASSWORD, name=""):
        """A user holding one of the tenant's default roles ("Administrator", "Warehouse staff")."""
        with self.app.app_context():
            role_id = roles.seed_default_roles(tenant_id)[role_name].id
            db.session.commit()
        return self.user(tenant_id, email, password=password, name=name, role_ids=[role_id])


def tenant_admin(app, tenant_id, email) -> str:
    """A user with the tenant's Administrator role ("*", not a super admin); returns the email."""
    Factory(app).member(tenant_id, email, roles.ADMINISTRATOR)
    return email


def with_features(app, tenant_id, email, features) -> str:
    """A user holding exactly ``features`` (none: a featureless user); returns the email."""
    Factory(app).user(tenant_id, email, features=features)
    return email


# --- signing in ---------------------------------------------------------------------------------

HX = {"HX-Request": "true"}  # an htmx request (add "HX-Target" for one part of a page)
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
HX_CSRF_RE = re.compile(r'"X-CSRFToken": "([^"]+)"')


def api_token(client, email, password=PASSWORD) -> str:
    r = client.post("/api/auth/login", data={"email": email, "password": password})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def csrf_from(html: str) -> str:
    m = HX_CSRF_RE.search(html) or CSRF_RE.search(html)
    assert m, "no CSRF token in page"
    return m.group(1)


def browser_login(client, email, password=PASSWORD) -> str:
    """Sign in like a browser (form post with CSRF); returns the CSRF token for later writes."""
    page = client.get("/auth/login", headers=BROWSER)
    token = csrf_from(page.get_data(as_text=True))
    r = client.post("/auth/login", headers=BROWSER, data={"email": email, "password": password, "csrf_token": token})
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    home = client.get("/", headers=BROWSER)
    assert home.status_code == 200
    return csrf_from(home.get_data(as_text=True))


def refusal(r, status: int) -> str:
    """The message of a refusal with ``status``: the JSON envelope's (``error``, or ``message``
    in the lcs/cnt family), or the page or toast text. A status alone does not say which check
    refused."""
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    if not r.is_json:
        return r.get_data(as_text=True)
    body = r.get_json()
    return body["message"] if "code" in body else body["error"]


CSRF_MISSING = "CSRF check failed: The CSRF token is missing."
MISSING_FEATURES = "Missing required features"


# --- the floor: shipments, lists, parcels -------------------------------------------------------

TO = {
    "name": "Ann Jansen",
    "street": "Damrak",
    "house_number": "1",
    "postal_code": "1012LG",
    "city": "Amsterdam",
    "country_code": "NL",
}
FROM = {
    "name": "Acme Logistics",
    "street": "Havenweg",
    "house_number": "3",
    "postal_code": "3011AA",
    "city": "Rotterdam",
    "country_code": "NL",
}
ADDRESS = {"to": {"address": TO}}


def new_shipment(client, h, items=None, **extra):
    body = {
        "type": "delivery",
        "is_outbound": True,
        "addressing": ADDRESS,
        "order_id": "ORD-7",
        "items": items or [{"sku": "SKU-A", "quantity": 2, "description": "Mug"}, {"sku": "SKU-B", "quantity": 1}],
        **extra,
    }
    r = client.post("/lcs/shipments", json=body, headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def shipment(client, h, method_id=None, items=None):
    """A shipment as documents print it: sender and receiver addresses, every item described."""
    extra = {"method_id": method_id} if method_id else {}
    return new_shipment(
        client,
        h,
        items
        or [
            {"sku": "SKU-A", "quantity": 2, "description": "Mug"},
            {"sku": "SKU-B", "quantity": 1, "description": "Plate"},
        ],
        addressing={"to": {"address": TO}, "from": {"address": FROM}},
        **extra,
    )


def override(app, client, h, identifier, value):
    """The signed-in tenant's override of one of Wharf's own toggles."""
    with app.app_context():
        toggles.ensure_builtin()
        toggle_id = toggles.resolve(identifier, None).toggle_id
    r = client.put(
        "/api/feature_toggles/overrides",
        headers=h,
        json={"toggleId": str(toggle_id), "isOverride": True, "overrideValue": value},
    )
    assert r.status_code == 200, r.get_json()


def new_list(client, h, *shipment_ids):
    r = client.post(
        "/lcs/lists", json={"shipments": [{"id": s, "label": f"L{i}"} for i, s in enumerate(shipment_ids)]}, headers=h
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()["id"]


def scan(client, h, list_id, code):
    r = client.post(f"/lcs/lists/{list_id}/scan", json={"code": code}, headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def picked_shipment(client, h, items=None, *, pick=None, **extra):
    """A shipment on a handling list whose units are picked (the first ``pick`` of them; all
    by default) by scanning their unit ids: what the pack station receives (``extra``: more of
    the shipment's body, e.g. its ``method_id``)."""
    s = new_shipment(client, h, items, **extra)
    list_id = new_list(client, h, s["id"])
    for unit in s["items"][:pick]:
        assert scan(client, h, list_id, unit["id"])["status"] in ("ok", "done")  # done: the last unit finished the list
    return client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json()


def pack_scan(client, h, shipment_id, code):
    r = client.post(f"/lcs/shipments/{shipment_id}/pack/scan", json={"code": code}, headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def parcel(client, h, s, weight=1250, units=None, **extra):
    ids = [u["id"] for u in s["items"]] if units is None else units
    r = client.post(
        "/lcs/parcels", json={"shipment_id": s["id"], "weight": weight, "item_ids": ids, **extra}, headers=h
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def pdftotext(pdf: bytes, tmp_path) -> str:
    """The PDF's text as poppler lays it out (``pdftotext -layout``)."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout


def b64(html: str) -> str:
    return base64.b64encode(html.encode()).decode()


# --- attachments --------------------------------------------------------------------------------

ATTACHMENTS = "/api/attachments"


def png(width=40, height=30, color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


def upload(
    client,
    headers,
    content=None,
    name="photo.png",
    entity="lcs:shipment",
    record="S1",
    partition=None,
    content_type="application/octet-stream",
):
    data = {
        "entityId": entity,
        "recordId": record,
        "file": (io.BytesIO(png() if content is None else content), name, content_type),
    }
    if partition:
        data["partitionCode"] = partition
    return client.post(ATTACHMENTS, data=data, headers=headers, content_type="multipart/form-data")


def uploaded(client, headers, **kwargs) -> dict:
    r = upload(client, headers, **kwargs)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["ok"] is True
    return body["item"]


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


class StoredFiles:
    """Where a test's attachment bytes went, on either driver (``storage_backend`` fixture)."""

    def __init__(self, driver: str, root: Path, server=None, bucket: str | None = None):
        self.driver, self.root, self.server, self.bucket = driver, root, server, bucket

    def files(self) -> list[str]:
        """Stored attachment files: local paths or S3 keys (the image cache is not one)."""
        if self.driver == "s3":
            return self.server.keys(self.bucket)
        return [str(p) for p in stored_files(self.root) if ".image-cache" not in p.parts]

    def names(self) -> list[str]:
        return [f.rsplit("/", 1)[-1] for f in self.files()]


# --- access ---------------------------------------------------------------------------------------


def protected_operations(app):
    """(rule, method, access) of every JSON operation that is not public."""
    for rule, view in json_rules(app):
        access = access_of(view)
        if access.public:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, access


# --- a real browser (the fixtures are in conftest.py) -------------------------------------------

expect = playwright_sync.expect
CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 10_000
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def new_page(browser, **context_options):
    context = browser.new_context(**context_options)
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    return context, context.new_page()


def url_is(base: str, path: str) -> re.Pattern:
    """A regex matching exactly ``base + path`` (ignoring a trailing fragment)."""
    return re.compile("^" + re.escape(base + path) + "(#.*)?$")


def sign_in(page, base: str, email: str, password: str = PASSWORD, *, expect_path: str = "/"):
    """Fill and submit the sign-in form on the current page, then wait for the next URL."""
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click('button:has-text("Sign in")')
    page.wait_for_url(url_is(base, expect_path))


def open_and_sign_in(page, base: str, email: str):
    page.goto(base + "/auth/login")
    sign_in(page, base, email)
    expect(page.locator("h1")).to_contain_text("Good to see you")


def settled(locator):
    """Wait until htmx has bound a swapped-in element (its ``htmx-added`` class goes when
    htmx processes it, a settle delay after the swap): an input used before that fires a
    change no hx-trigger hears (a CI flake of the file panel)."""
    expect(locator).to_be_visible()
    expect(locator).not_to_have_class(re.compile(r"\bhtmx-added\b"))
    return locator


def set_marker(page):
    page.evaluate("window.__marker = 1")


def marker_survived(page) -> bool:
    return page.evaluate("window.__marker === 1")


# The keys of the seed's LcsListedShipment and LcsParcel (the search and contract tests check them).
LISTED_SHIPMENT_KEYS = {
    "id",
    "number",
    "type",
    "method_id",
    "contact_id",
    "channel_id",
    "addressing",
    "ship_at",
    "estimated_ship_at",
    "expected_at",
    "stack_id",
    "is_editable",
    "is_outbound",
    "is_listed",
    "is_finished",
    "is_in_transit",
    "is_complete",
    "is_overcomplete",
    "is_canceled",
    "secret",
    "prior_shipments",
    "list_id",
    "created_at",
    "updated_at",
}

PARCEL_KEYS = {
    "id",
    "number",
    "weight",
    "length",
    "width",
    "height",
    "tracking_code",
    "tracking_url",
    "position",
    "label",
    "shipment_id",
    "count",
    "items",
    "is_in_transit",
    "is_delivered",
    "is_outbound",
    "is_finished",
    "file_id",
    "ship_at",
    "in_transit_at",
    "finished_at",
    "created_at",
    "updated_at",
}


# --- object grants ------------------------------------------------------------------------------


def redis_or_skip(url: str):
    """A connection to the local Redis at ``url``; without one the test is skipped, except in
    CI, which starts one (.ci/run): there it is an error."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    connection = Redis.from_url(url)
    try:
        connection.ping()
    except RedisDown:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {url} (CI starts one)")
    return connection


def user_id_of(app, email):
    import sqlalchemy as sa

    from models import User

    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == email))


def object_grant(app, tenant_id, feature, object_id, kind, can_do, *, user_id=None, role_id=None, group_id=None):
    """An object grant (a seed 002 givenPermissions record) for one subject, stored as it is
    kept (the tenant's ACL version bumped with it); returns its id."""
    import uuid as _uuid

    from models import GivenPermission
    from services.acl import bump_acl_version

    subject = f"role:{role_id}" if role_id else f"user:{user_id}" if user_id else f"group:{group_id}"
    with app.app_context():
        grant = GivenPermission(
            tenant_id=tenant_id,
            permission_name=feature,
            role_id=role_id,
            subject_user_id=user_id,
            subject_user_group_id=group_id,
            subject_key=subject,
            object_id=_uuid.UUID(str(object_id)),
            object_kind=kind,
            can_do=can_do,
        )
        db.session.add(grant)
        bump_acl_version(tenant_id)
        db.session.commit()
        return grant.id
