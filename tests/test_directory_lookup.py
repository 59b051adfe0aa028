"""The two public lookups of seed 000 (``GET /directory/organizations/lookup``,
``GET /directory/tenants/lookup``): anyone may call them, they answer a live record's id and
name (and slug) and nothing else, refuse bad input with a 400, unknown records with a 404,
and an IP beyond its lookups per minute with a 429 — found or not."""

import uuid

import pytest
import sqlalchemy as sa

from models import Organization, Tenant, db, utcnow
from tests.support import BROWSER, api_token, bearer

ORG = "/api/directory/organizations/lookup"
TENANT = "/api/directory/tenants/lookup"


@pytest.fixture(autouse=True)
def _generous_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "DIRECTORY_LOOKUPS_PER_MINUTE", 100)


def _set(app, model, record_id, **values):
    with app.app_context():
        db.session.execute(sa.update(model).where(model.id == record_id).values(**values))
        db.session.commit()


# --- tenants --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [TENANT, "/directory/tenants/lookup"])
def test_tenant_by_id_answers_id_and_name_only(client, tenant, path):
    r = client.get(path, query_string={"tenantId": str(tenant)})
    assert r.status_code == 200
    assert r.get_json() == {"ok": True, "tenant": {"id": str(tenant), "name": "Acme Logistics"}}


def test_tenant_lookup_needs_no_sign_in_and_ignores_one(client, tenant, admin):
    h = bearer(api_token(client, admin))
    assert client.get(TENANT, query_string={"tenantId": str(tenant)}, headers=h).get_json()["tenant"]["id"] == str(
        tenant
    )


@pytest.mark.parametrize("query", [{}, {"tenantId": ""}, {"tenantId": "acme"}, {"tenantId": "1" * 40}])
def test_tenant_lookup_bad_input_is_400(client, query):
    r = client.get(TENANT, query_string=query)
    assert r.status_code == 400 and r.get_json()["error"]


def test_unknown_deleted_or_inactive_tenant_is_404(app, client, make):
    assert client.get(TENANT, query_string={"tenantId": str(uuid.uuid4())}).status_code == 404
    gone, off = make.tenant("Gone"), make.tenant("Off")
    _set(app, Tenant, gone, deleted_at=utcnow())
    _set(app, Tenant, off, is_active=False)
    for tid in (gone, off):
        r = client.get(TENANT, query_string={"tenantId": str(tid)})
        assert r.status_code == 404 and r.get_json() == {"error": "Tenant not found"}


# --- organizations -----------------------------------------------------------------------------


def test_organization_by_slug_answers_id_name_and_slug_only(client, make, tenant):
    org = make.organization(tenant, "Rotterdam DC", "rotterdam")
    for path in (ORG, "/directory/organizations/lookup"):
        r = client.get(path, query_string={"slug": "Rotterdam"}, headers=BROWSER)  # JSON for browsers too
        assert r.status_code == 200
        assert r.get_json() == {
            "ok": True,
            "organization": {"id": str(org), "name": "Rotterdam DC", "slug": "rotterdam"},
        }


def test_same_slug_in_two_tenants(app, client, make, tenant):
    first = make.organization(tenant, "HQ", "hq")
    other_tenant = make.tenant("Other")
    second = make.organization(other_tenant, "Other HQ", "hq")
    # without a tenant: always the oldest, whichever order the database returns them in
    for _ in range(3):
        assert client.get(ORG, query_string={"slug": "hq"}).get_json()["organization"]["id"] == str(first)
    r = client.get(ORG, query_string={"slug": "hq", "tenantId": str(other_tenant)})
    assert r.get_json()["organization"]["id"] == str(second)
    r = client.get(ORG, query_string={"slug": "hq", "tenantId": str(uuid.uuid4())})
    assert r.status_code == 404


@pytest.mark.parametrize(
    "query",
    [{}, {"slug": ""}, {"slug": "x" * 121}, {"slug": "a\x00b"}, {"slug": "hq", "tenantId": "nope"}],
)
def test_organization_lookup_bad_input_is_400(client, query):
    r = client.get(ORG, query_string=query)
    assert r.status_code == 400 and r.get_json()["error"]


def test_unknown_deleted_inactive_or_orphaned_organization_is_404(app, client, make, tenant):
    assert client.get(ORG, query_string={"slug": "nowhere"}).status_code == 404
    gone = make.organization(tenant, "Gone", "gone")
    off = make.organization(tenant, "Off", "off")
    _set(app, Organization, gone, deleted_at=utcnow())
    _set(app, Organization, off, is_active=False)
    other = make.tenant("Closed")
    make.organization(other, "Closed HQ", "closed")
    _set(app, Tenant, other, deleted_at=utcnow())
    for slug in ("gone", "off", "closed"):
        r = client.get(ORG, query_string={"slug": slug})
        assert r.status_code == 404 and r.get_json() == {"error": "Organization not found"}


# --- throttling -----------------------------------------------------------------------------------


def test_lookups_per_ip_are_limited_found_or_not(app, client, make, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "DIRECTORY_LOOKUPS_PER_MINUTE", 3)
    make.organization(tenant, "HQ", "hq")
    assert client.get(ORG, query_string={"slug": "hq"}).status_code == 200
    assert client.get(ORG, query_string={"slug": "guess-1"}).status_code == 404
    assert client.get(TENANT, query_string={"tenantId": str(uuid.uuid4())}).status_code == 404
    r = client.get(ORG, query_string={"slug": "hq"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert client.get(TENANT, query_string={"tenantId": str(tenant)}).status_code == 429
    # another address has its own allowance
    r = client.get(ORG, query_string={"slug": "hq"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert r.status_code == 200
