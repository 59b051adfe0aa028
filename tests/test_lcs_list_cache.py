"""The shipment list's fast path: the tally behind ``x-count``, the one-statement page (every
kind of floor write shows on the next read, whichever process wrote it), and the session
principal that signs in list requests (it follows user and tenant changes)."""

import uuid

import jwt
import pytest
import sqlalchemy as sa

from models import Scope, Shipment, ShipmentTally, db
from schemas.lcs_shipments import LcsShipmentItemModel, LcsShipmentModel
from services import auth, directory
from services import roles as roles_svc
from services import users as users_svc
from services.acl import Actor
from services.logistics import shipments, tallies
from tests.support import BROWSER, PASSWORD, SYSTEM, api_token, bearer, browser_login, new_list, new_shipment, scan


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


def listed(client, h, **headers):
    r = client.get("/lcs/shipments", headers={**h, **headers})
    assert r.status_code == 200, r.get_json()
    return r


class TestTally:
    def test_count_is_the_tally_and_matches_the_rows(self, client, h, ctx):
        assert listed(client, h).headers["x-count"] == "0"
        for _ in range(3):
            new_shipment(client, h)
        assert listed(client, h).headers["x-count"] == "3"
        assert db.session.scalar(sa.select(sa.func.sum(ShipmentTally.shipments))) == 3
        assert db.session.scalar(sa.select(sa.func.count(Shipment.id))) == 3

    def test_failed_create_leaves_the_tally_alone(self, client, h, ctx):
        new_shipment(client, h)
        assert (
            client.post("/lcs/shipments", json={"items": [{"sku": "A", "quantity": 0}]}, headers=h).status_code == 400
        )
        assert listed(client, h).headers["x-count"] == "1"
        assert db.session.scalar(sa.select(sa.func.sum(ShipmentTally.shipments))) == 1

    def test_page_past_the_end_still_reports_the_total(self, client, h):
        for _ in range(2):
            new_shipment(client, h)
        r = listed(client, h, **{"x-page": "5", "x-page-size": "1"})
        assert r.get_json() == [] and r.headers["x-count"] == "2" and r.headers["x-page"] == "5"

    def test_organization_scope_counts_its_organizations_and_unassigned(self, app, make, tenant, ctx):
        north = directory.create_organization(SYSTEM, name="North", tenant_id=tenant)
        south = directory.create_organization(SYSTEM, name="South", tenant_id=tenant)
        db.session.commit()
        for org, n in ((north, 2), (south, 3), (None, 1)):
            user = users_svc.create_user(
                SYSTEM,
                email=f"u{uuid.uuid4().hex[:6]}@acme.test",
                password=PASSWORD,
                organization_id=org.id if org else None,
                tenant_id=tenant,
            )
            actor = Actor.of(user)
            for _ in range(n):
                shipments.create_shipment(actor, LcsShipmentModel(items=[LcsShipmentItemModel(sku="A")]))
        whole, north_only = Scope(tenant), Scope(tenant, frozenset({north.id}))
        assert tallies.total(whole) == 6
        assert tallies.total(north_only) == 3  # North's two and the unassigned one
        for scope in (whole, north_only):  # the tally agrees with counting the rows in scope
            assert tallies.total(scope) == db.session.scalar(
                sa.select(sa.func.count()).select_from(scope.select(Shipment).subquery())
            )
            page = shipments.list_page(SYSTEM if scope is whole else _scoped(scope), 1, 25)
            assert page.total == tallies.total(scope) == len(page.rows)

    def test_recount_rebuilds_from_the_rows(self, client, h, ctx, tenant):
        new_shipment(client, h)
        db.session.execute(sa.update(ShipmentTally).values(shipments=99))
        tallies.recount(tenant)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.sum(ShipmentTally.shipments))) == 1


def _scoped(scope):
    """An actor whose grants limit it to ``scope``'s organizations (for service-level calls)."""
    from services.acl import Grants

    principal = type("P", (), {"tenant_id": scope.tenant_id, "id": None})()
    return Actor(principal, Grants(False, frozenset({"*"}), scope.organization_ids))


class TestFloorWrites:
    def test_the_list_shows_orm_bulk_and_savepoint_writes(self, app, client, h):
        """An ORM flush, a bulk UPDATE (as the scan station writes) and a write inside a
        savepoint, each committed by another app context, show on the next read."""
        sid = uuid.UUID(new_shipment(client, h)["id"])

        def order_id():
            return listed(client, h).get_json()[0]["order_id"]

        def bulk(value):
            db.session.execute(sa.update(Shipment).where(Shipment.id == sid).values(order_id=value))

        assert order_id() == "ORD-7"
        with app.app_context():
            db.session.get(Shipment, sid).order_id = "ORM-1"
            db.session.commit()
        assert order_id() == "ORM-1"
        with app.app_context():
            bulk("BULK-1")
            db.session.commit()
        assert order_id() == "BULK-1"
        with app.app_context():
            with db.session.begin_nested():
                bulk("SP-1")
            db.session.commit()
        assert order_id() == "SP-1"

    def test_every_write_shows_on_the_next_read(self, client, h):
        for n in range(1, 25):
            new_shipment(client, h)
            assert len(listed(client, h).get_json()) == n


class TestListReads:
    def test_the_page_follows_every_state_change(self, client, h):
        s = new_shipment(client, h, items=[{"sku": "SKU-A", "quantity": 1}])
        row = listed(client, h).get_json()[0]
        assert not row["is_listed"] and not row["is_handled"] and row["is_editable"]
        assert listed(client, h).get_json()[0] == row
        list_id = new_list(client, h, s["id"])
        row = listed(client, h).get_json()[0]
        assert row["is_listed"] and row["list_id"] == list_id and not row["is_editable"]
        assert scan(client, h, list_id, "SKU-A")["status"] == "done"  # its only unit: the list finishes too
        assert listed(client, h).get_json()[0]["is_handled"]
        r = client.post("/lcs/parcels", json={"shipment_id": s["id"], "item_ids": [s["items"][0]["id"]]}, headers=h)
        assert r.status_code == 200, r.get_json()
        assert listed(client, h).get_json()[0]["is_boxed"]
        new_shipment(client, h)
        r = listed(client, h)
        assert r.headers["x-count"] == "2" and len(r.get_json()) == 2

    def test_pollers_get_304_until_the_list_changes(self, client, h):
        new_shipment(client, h)
        first = listed(client, h)
        etag = first.headers["ETag"]
        again = client.get("/lcs/shipments", headers={**h, "If-None-Match": etag})
        assert again.status_code == 304 and again.data == b"" and again.headers["x-count"] == "1"
        other_page = client.get("/lcs/shipments", headers={**h, "If-None-Match": etag, "x-page": "2"})
        assert other_page.status_code == 200 and other_page.get_json() == []
        new_shipment(client, h)
        changed = client.get("/lcs/shipments", headers={**h, "If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["ETag"] != etag and len(changed.get_json()) == 2

    def test_pages_are_per_scope(self, client, make, h):
        new_shipment(client, h)
        other = make.tenant("Other")
        make.member(other, "boss@other.test", roles_svc.ADMINISTRATOR)
        oh = bearer(api_token(client, "boss@other.test"))
        assert listed(client, h).headers["x-count"] == "1"
        assert listed(client, oh).headers["x-count"] == "0" and listed(client, oh).get_json() == []

    def test_filters_use_their_own_statement_and_count(self, client, h):
        a = new_shipment(client, h, order_id="100%_done")
        new_shipment(client, h, order_id="100x-done")
        r = client.get("/lcs/shipments?search=100%25_", headers=h)
        assert [x["id"] for x in r.get_json()] == [a["id"]] and r.headers["x-count"] == "1"  # % and _ are literal
        r = client.get("/lcs/shipments?is_listed=false&is_canceled=false", headers=h)
        assert r.headers["x-count"] == "2"
        client.delete(f"/lcs/shipments/{a['id']}", headers=h)
        r = client.get("/lcs/shipments?is_canceled=true", headers=h)
        assert [x["id"] for x in r.get_json()] == [a["id"]] and r.headers["x-count"] == "1"

    def test_json_rows_match_the_detail(self, client, h, ctx):
        s = new_shipment(client, h)
        body = listed(client, h).get_json()
        detail = client.get(f"/lcs/shipments/{s['id']}", headers=h).get_json()
        assert {k: detail[k] for k in body[0] if k in detail} == {k: v for k, v in body[0].items() if k in detail}
        assert body[0]["created_at"].endswith("Z") and len(body[0]["created_at"]) == 24


class TestSessionPrincipal:
    def test_a_deactivated_user_is_refused_on_the_next_list_request(self, app, client, make, tenant):
        picker = make.member(tenant, "pick@acme.test", roles_svc.WAREHOUSE_STAFF)
        ph = bearer(api_token(client, "pick@acme.test"))
        assert listed(client, ph).status_code == 200  # the caller is now known to every cache
        with app.app_context():
            users_svc.update_user(SYSTEM, picker, is_active=False)
        assert client.get("/lcs/shipments", headers=ph).status_code == 401

    def test_page_header_shows_the_current_user_and_tenant_names(self, app, client, admin, tenant):
        browser_login(client, admin)
        page = client.get("/lcs/shipments", headers=BROWSER).get_data(as_text=True)
        assert 'title="Acme Logistics"' in page and "Ada Admin" in page  # the header: name and tenant
        with app.app_context():
            user = db.session.scalars(sa.select(auth.User).where(auth.User.email == admin)).one()
            users_svc.update_user(SYSTEM, user.id, name="Ada Renamed")
            directory.update_tenant(SYSTEM, tenant, name="Acme Renamed")
        page = client.get("/lcs/shipments", headers=BROWSER).get_data(as_text=True)
        assert 'title="Acme Renamed"' in page and "Ada Renamed" in page and "Ada Admin" not in page

    def test_profile_update_through_a_bearer_token_reads_back(self, client, admin):
        h = bearer(api_token(client, admin))
        r = client.put(
            "/api/auth/profile",
            json={"name": "Renamed", "email": "new@acme.test", "currentPassword": PASSWORD},
            headers=h,
        )
        assert r.status_code == 200 and r.get_json()["email"] == "new@acme.test"
        assert client.get("/api/auth/profile", headers=h).get_json()["name"] == "Renamed"

    def test_logout_ends_the_cached_token(self, client, admin):
        h = bearer(api_token(client, admin))
        assert listed(client, h).status_code == 200  # its signature is now in the verified cache
        assert client.post("/api/auth/logout", headers=h).status_code == 201  # the seed answers 201
        assert client.get("/lcs/shipments", headers=h).status_code == 401

    def test_expired_token_is_refused_even_when_cached(self, client, admin, monkeypatch):
        h = bearer(api_token(client, admin))
        assert listed(client, h).status_code == 200
        real = auth.time.time
        monkeypatch.setattr(auth.time, "time", lambda: real() + 10 * 3600)
        assert client.get("/lcs/shipments", headers=h).status_code == 401

    def test_tampered_or_foreign_tokens_are_refused(self, client, admin, app):
        token = api_token(client, admin)
        head, payload, sig = token.split(".")
        forged = f"{head}.{payload}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"
        assert client.get("/lcs/shipments", headers=bearer(forged)).status_code == 401
        claims = jwt.decode(token, options={"verify_signature": False})
        old_style = jwt.encode(claims, app.config["SECRET_KEY"], algorithm="HS256")  # the secret is no signing key
        assert client.get("/lcs/shipments", headers=bearer(old_style)).status_code == 401

    def test_principal_equality_and_row(self, app, admin, tenant):
        with app.test_request_context():
            sid = auth.start_session(
                db.session.scalars(sa.select(auth.User)).first(), kind="api", ip=None, user_agent=None
            ).session.id
            p = auth.live_principal(sid)
            assert p.email == admin and p.tenant_id == tenant and p.acl_version >= 0
            assert not hasattr(p, "__html__")
            assert p == p.user and p.user.email == admin and p.roles == p.user.roles
            assert auth.live_principal(sid, user_id=uuid.uuid4()) is None
            auth.revoke_session(sid)
            assert auth.live_principal(sid) is None
            assert auth.live_principal("not-a-uuid") is None
