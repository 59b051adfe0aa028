"""Grant boundaries on every admin write (issue #12, H1/M1/M2 and the lows about users,
roles, ACLs and API keys): nobody changes a principal holding more than they hold, nobody
widens their own rights, and a tenant never loses its last administrator.

The matrix below runs every admin write over JSON as a caller that holds exactly the
feature the route requires — but less than its target — and checks both the refusal and
that the target is unchanged; a control row proves the same caller may change a target
holding less, so a test that refused everything would fail too."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from models import ApiKey, Role, User, UserAcl, UserRole, db
from schemas.api_keys import ApiKeyCreate
from schemas.lcs_shipments import LcsShipmentItemModel, LcsShipmentModel
from services import api_keys, object_grants, roles, user_groups, users
from services.logistics import shipments
from tests.support import (
    PASSWORD,
    SYSTEM,
    api_token,
    bearer,
    new_organization,
    new_tenant,
    new_user,
    protected_operations,
    refusal,
)

USER_ADMIN = [
    "auth.users.list",
    "auth.users.create",
    "auth.users.edit",
    "auth.users.delete",
    "auth.roles.list",
    "auth.roles.manage",
    "auth.acl.manage",
    "api_keys.view",
    "api_keys.create",
    "api_keys.delete",
]


@dataclass
class Floor:
    tenant: uuid.UUID
    hq: uuid.UUID
    depot: uuid.UUID
    admin_role: uuid.UUID
    staff_role: uuid.UUID
    admin: uuid.UUID
    second_admin: uuid.UUID
    plain: uuid.UUID
    clerk_role: uuid.UUID


def _role(tenant, name, features, organizations=None):
    role = roles.create_role(SYSTEM, name, tenant_id=tenant)
    roles.update_role_acl(SYSTEM, role.id, features=features, is_super_admin=False, organizations=organizations)
    return role.id


def _user(tenant, email, role_ids=(), organization_id=None):
    return new_user(tenant, email, role_ids=role_ids, organization_id=organization_id).id


@pytest.fixture()
def floor(app):
    with app.app_context():
        t = new_tenant("Boundaries").id
        hq, depot = new_organization(t, "HQ", "hq").id, new_organization(t, "Depot", "depot").id
        seeded = roles.seed_default_roles(t)
        db.session.commit()
        admin_role, staff_role = seeded[roles.ADMINISTRATOR].id, seeded[roles.WAREHOUSE_STAFF].id
        clerk_role = _role(t, "User clerk", USER_ADMIN)
        f = Floor(
            t,
            hq,
            depot,
            admin_role,
            staff_role,
            admin=_user(t, "admin@b.test", [admin_role]),
            second_admin=_user(t, "admin2@b.test", [admin_role]),
            plain=_user(t, "plain@b.test", organization_id=hq),
            clerk_role=clerk_role,
        )
        _user(t, "clerk@b.test", [clerk_role])
        return f


def _grants_snapshot(app, user_id):
    with app.app_context():
        u = db.session.get(User, user_id)
        acl = db.session.scalars(sa.select(UserAcl).where(UserAcl.user_id == user_id)).first()
        links = sorted(
            str(r) for r in db.session.scalars(sa.select(UserRole.role_id).where(UserRole.user_id == user_id))
        )
        return (
            u.email,
            u.name,
            u.password_hash,
            u.is_active,
            u.deleted_at,
            links,
            None if acl is None else (sorted(acl.features), acl.organizations),
        )


def _role_snapshot(app, role_id):
    with app.app_context():
        r = db.session.get(Role, role_id)
        return None if r is None else (r.name, sorted(r.acl.features), r.acl.organizations, r.acl.is_super_admin)


class TestAdminWritesMatrix:
    """Every admin write × a caller holding its feature but less than the target."""

    def writes(self, f, key_id, star_role, group=None, grant=None):
        admin, role = str(f.admin), str(f.admin_role)
        group, grant = str(group or uuid.uuid4()), str(grant or uuid.uuid4())
        return [
            ("rename a group the admin is in", "put", "/api/auth/groups", {"id": group, "name": "Ours"}),
            ("delete a group the admin is in", "delete", f"/api/auth/groups?id={group}", None),
            ("put the admin in a group", "post", "/api/auth/groups/members", {"groupId": group, "userId": admin}),
            (
                "take the admin out of a group",
                "delete",
                f"/api/auth/groups/members?groupId={group}&userId={admin}",
                None,
            ),
            (
                "deny the admin a record",
                "post",
                "/api/permissions",
                {"permissionName": "lcs.shipments.read", "subjectUserId": admin, "objectId": grant, "canDo": False},
            ),
            ("remove the admin's exception", "delete", f"/api/permissions/{grant}", None),
            ("edit admin's password", "put", "/api/auth/users", {"id": admin, "password": "taken-over-123"}),
            ("edit admin's email", "put", "/api/auth/users", {"id": admin, "email": "mine@b.test"}),
            ("deactivate admin", "put", "/api/auth/users", {"id": admin, "isActive": False}),
            ("rename admin", "put", "/api/auth/users", {"id": admin, "name": "pwned"}),
            ("change admin's organization", "put", "/api/auth/users", {"id": admin, "organizationId": str(f.hq)}),
            ("strip admin's roles", "put", "/api/auth/users", {"id": admin, "roles": []}),
            ("delete admin", "delete", f"/api/auth/users?id={admin}", None),
            (
                "override admin down to nothing",
                "put",
                "/api/auth/users/acl",
                {"userId": admin, "features": ["auth.users.list"], "isSuperAdmin": False, "organizations": None},
            ),
            ("rename the * role", "put", "/api/auth/roles", {"id": role, "name": "Nobody"}),
            (
                "empty the * role",
                "put",
                "/api/auth/roles/acl",
                {"roleId": role, "features": [], "isSuperAdmin": False, "organizations": None},
            ),
            ("delete an unheld * role", "delete", f"/api/auth/roles?id={star_role}", None),
            ("revoke a * key", "delete", f"/api/api_keys/keys?id={key_id}", None),
            ("mint a * key", "post", "/api/api_keys/keys", {"name": "mine", "roles": [role]}),
            ("give a user the * role", "put", "/api/auth/users", {"id": str(f.plain), "roles": [role]}),
            (
                "create a user with the * role",
                "post",
                "/api/auth/users",
                {"email": "new@b.test", "password": PASSWORD, "roles": [role]},
            ),
        ]

    def test_caller_holding_less_than_the_target_is_refused(self, app, client, floor):
        with app.app_context():
            key_id = api_keys.create_key(
                SYSTEM, ApiKeyCreate(name="Root key", description=None, roles=[floor.admin_role], tenantId=floor.tenant)
            )[0].id
            star_role = _role(floor.tenant, "Spare star", ["*"])
            group = user_groups.create_group(SYSTEM, "Admins", tenant_id=floor.tenant).id
            user_groups.add_member(SYSTEM, group, floor.admin)
            shipment = shipments.create_shipment(
                SYSTEM, LcsShipmentModel(tenant_id=floor.tenant, items=[LcsShipmentItemModel(sku="B-1", quantity=1)])
            )
            grant = object_grants.give(
                SYSTEM, permission_name="lcs.shipments.read", object_id=shipment.id, can_do=False, user_id=floor.admin
            ).id
        h = bearer(api_token(client, "clerk@b.test"))
        before = (
            _grants_snapshot(app, floor.admin),
            _grants_snapshot(app, floor.plain),
            _role_snapshot(app, floor.admin_role),
            _role_snapshot(app, star_role),
        )
        for label, method, url, body in self.writes(floor, key_id, star_role, group, grant):
            r = getattr(client, method)(url, json=body, headers=h)
            assert r.status_code == 403, (label, r.status_code, r.get_json())
            refusal = r.get_json()
            assert "hold" in refusal.get("error", refusal.get("message", "")), label
        after = (
            _grants_snapshot(app, floor.admin),
            _grants_snapshot(app, floor.plain),
            _role_snapshot(app, floor.admin_role),
            _role_snapshot(app, star_role),
        )
        assert after == before
        with app.app_context():
            assert db.session.get(ApiKey, key_id).deleted_at is None
            assert db.session.scalar(sa.select(User).where(User.email == "new@b.test")) is None
            assert db.session.scalar(sa.select(sa.func.count(ApiKey.id))) == 1
        # The admin's password still works, nobody else's does.
        assert client.post("/api/auth/login", json={"email": "admin@b.test", "password": PASSWORD}).status_code == 200
        assert (
            client.post("/api/auth/login", json={"email": "admin@b.test", "password": "taken-over-123"}).status_code
            == 401
        )

    def test_every_admin_write_is_in_the_matrix(self, app, floor):
        """Generated from the URL map: a new write about users, roles, ACLs, keys or
        memberships without a row above fails here."""
        admin_writes = set()
        for rule, method, access in protected_operations(app):
            if method != "GET" and any(
                f.split(".")[0] in ("auth", "api_keys") and f != "auth.profile" for f in access.features
            ):
                admin_writes.add((rule.endpoint, method))
        adapter = app.url_map.bind("localhost")
        covered = {
            (adapter.match(url.split("?")[0], method=m.upper())[0], m.upper())
            for _, m, url, _ in self.writes(floor, uuid.uuid4(), uuid.uuid4())
        }
        exempt = {
            ("api_auth.feature_check", "POST"),  # reads the caller's own grants, changes nothing
            ("api_auth.create_role", "POST"),
            ("api_auth.create_group", "POST"),
        }  # a new role or group holds nothing until its ACL or exceptions are set
        assert admin_writes - exempt <= covered, sorted(admin_writes - exempt - covered)

    def test_control_same_caller_changes_a_target_holding_less(self, app, client, floor):
        """The refusals above are about the target, not the caller's features."""
        h = bearer(api_token(client, "clerk@b.test"))
        with app.app_context():
            small = _role(floor.tenant, "Viewer", ["auth.users.list"])
        plain = str(floor.plain)
        assert (
            client.put(
                "/api/auth/users", json={"id": plain, "name": "Pat", "password": "new-password-1"}, headers=h
            ).status_code
            == 200
        )
        assert client.put("/api/auth/users", json={"id": plain, "roles": [str(small)]}, headers=h).status_code == 200
        assert (
            client.put(
                "/api/auth/users/acl", json={"userId": plain, "features": ["auth.users.list"]}, headers=h
            ).status_code
            == 200
        )
        assert client.put("/api/auth/roles", json={"id": str(small), "name": "Viewers"}, headers=h).status_code == 200
        assert (
            client.put(
                "/api/auth/roles/acl", json={"roleId": str(small), "features": ["auth.roles.list"]}, headers=h
            ).status_code
            == 200
        )
        made = client.post("/api/api_keys/keys", json={"name": "ok", "roles": [str(small)]}, headers=h)
        assert made.status_code == 201
        assert client.delete(f"/api/api_keys/keys?id={made.get_json()['id']}", headers=h).status_code == 200
        assert client.delete(f"/api/auth/users?id={plain}", headers=h).status_code == 200


class TestOrganizations:
    """M1: role assignment respects the assigner's organization bounds; nobody assigns
    roles to themselves."""

    @pytest.fixture()
    def hq_clerk(self, app, floor):
        with app.app_context():
            role = _role(floor.tenant, "HQ clerk", USER_ADMIN + ["lcs.shipments.read"], [str(floor.hq)])
            hq_staff = _role(floor.tenant, "HQ staff", ["lcs.shipments.read"], [str(floor.hq)])
            _user(floor.tenant, "hq@b.test", [role], organization_id=floor.hq)
        return "hq@b.test", hq_staff

    def test_cannot_self_assign_an_all_organizations_role(self, app, client, floor, hq_clerk):
        email, _ = hq_clerk
        h = bearer(api_token(client, email))
        me = client.get("/api/auth/users?search=hq@b.test", headers=h).get_json()["items"][0]
        r = client.put(
            "/api/auth/users", json={"id": me["id"], "roles": me["roleIds"] + [str(floor.staff_role)]}, headers=h
        )
        assert r.status_code == 403 and "own roles" in r.get_json()["error"]
        with app.app_context():
            user = db.session.scalar(sa.select(User).where(User.email == email))
            assert [r.name for r in user.roles] == ["HQ clerk"]

    def test_cannot_hand_out_organizations_beyond_own(self, client, floor, hq_clerk):
        email, hq_staff = hq_clerk
        h = bearer(api_token(client, email))
        wide = client.put("/api/auth/users", json={"id": str(floor.plain), "roles": [str(floor.staff_role)]}, headers=h)
        assert wide.status_code == 403 and "do not hold" in wide.get_json()["error"]
        narrow = client.put("/api/auth/users", json={"id": str(floor.plain), "roles": [hq_staff]}, headers=h)
        assert narrow.status_code == 200

    def test_nobody_changes_their_own_roles_not_even_an_admin(self, client, floor):
        h = bearer(api_token(client, "admin@b.test"))
        r = client.put("/api/auth/users", json={"id": str(floor.admin), "roles": [str(floor.staff_role)]}, headers=h)
        assert refusal(r, 403) == "You cannot change your own roles: ask another administrator"
        # ...while saving their own profile with the same roles is fine.
        same = client.put(
            "/api/auth/users", json={"id": str(floor.admin), "name": "Ada", "roles": [str(floor.admin_role)]}, headers=h
        )
        assert same.status_code == 200


class TestLastAdministrator:
    """M2: a holder of only auth.acl.manage cannot strip a * administrator, and the last
    tenant administrator never loses administration."""

    def test_acl_manager_cannot_strip_a_star_administrator(self, app, client, floor):
        with app.app_context():
            _user(
                floor.tenant,
                "acl@b.test",
                [_role(floor.tenant, "ACL only", ["auth.acl.manage", "auth.roles.list", "auth.users.list"])],
            )
        h = bearer(api_token(client, "acl@b.test"))
        before = _role_snapshot(app, floor.admin_role)
        assert (
            refusal(
                client.put("/api/auth/roles/acl", json={"roleId": str(floor.admin_role), "features": []}, headers=h),
                403,
            )
            == "You cannot change a role that holds permissions you do not hold"
        )
        assert (
            refusal(
                client.put(
                    "/api/auth/users/acl", json={"userId": str(floor.admin), "features": ["auth.users.list"]}, headers=h
                ),
                403,
            )
            == "You cannot change a user who holds permissions you do not hold"
        )
        assert _role_snapshot(app, floor.admin_role) == before
        with app.app_context():
            assert db.session.scalar(sa.select(UserAcl).where(UserAcl.user_id == floor.admin)) is None

    def test_emptying_the_administrator_role_of_the_last_admins_is_409(self, client, floor):
        h = bearer(api_token(client, "admin@b.test"))
        r = client.put(
            "/api/auth/roles/acl", json={"roleId": str(floor.admin_role), "features": ["auth.users.list"]}, headers=h
        )
        assert r.status_code == 409 and "administrator" in r.get_json()["error"]
        acl = client.get(f"/api/auth/roles/acl?roleId={floor.admin_role}", headers=h).get_json()
        assert acl["features"] == ["*"]

    def test_one_admin_may_step_another_down_but_not_the_last(self, app, client, floor):
        h = bearer(api_token(client, "admin@b.test"))
        assert (
            client.put(
                "/api/auth/users", json={"id": str(floor.second_admin), "isActive": False}, headers=h
            ).status_code
            == 200
        )
        # Only admin@ is left: a super admin overriding them down is refused too.
        root = _super_admin(app)
        rh = bearer(api_token(client, root))
        r = client.put(
            "/api/auth/users/acl", json={"userId": str(floor.admin), "features": ["auth.users.list"]}, headers=rh
        )
        assert r.status_code == 409
        assert client.delete(f"/api/auth/users?id={floor.admin}", headers=rh).status_code == 409
        assert client.put("/api/auth/users", json={"id": str(floor.admin), "roles": []}, headers=rh).status_code == 409
        # After giving the role to another user, the step down goes through.
        assert (
            client.put(
                "/api/auth/users", json={"id": str(floor.plain), "roles": [str(floor.admin_role)]}, headers=rh
            ).status_code
            == 200
        )
        assert (
            client.put(
                "/api/auth/users/acl", json={"userId": str(floor.admin), "features": ["auth.users.list"]}, headers=rh
            ).status_code
            == 200
        )

    def test_removing_an_override_cannot_hand_back_rights_the_actor_lacks(self, app, client, floor):
        """An override narrower than the user's roles is inside the actor's bounds; removing
        it would give the user the roles' * — refused."""
        with app.app_context():
            users.update_user_acl(
                SYSTEM, floor.second_admin, features=["auth.users.list"], is_super_admin=False, organizations=None
            )
        h = bearer(api_token(client, "clerk@b.test"))
        r = client.put("/api/auth/users/acl", json={"userId": str(floor.second_admin), "features": []}, headers=h)
        assert refusal(r, 403) == "You cannot remove this override: the user's roles hold permissions you do not hold"
        with app.app_context():
            assert db.session.scalar(sa.select(UserAcl).where(UserAcl.user_id == floor.second_admin)) is not None


def _super_admin(app) -> str:
    with app.app_context():
        new_user(new_tenant("Platform").id, "root@platform.test", super_admin=True)
    return "root@platform.test"


class TestLows:
    def test_user_cannot_deactivate_themselves(self, client, floor):
        h = bearer(api_token(client, "admin@b.test"))
        r = client.put("/api/auth/users", json={"id": str(floor.admin), "isActive": False}, headers=h)
        assert r.status_code == 400 and "your own" in r.get_json()["error"]
        assert client.get("/api/auth/users?search=admin@b.test", headers=h).get_json()["items"][0]["isActive"] is True

    def test_role_acl_refuses_another_tenants_organization_and_unknown_features(self, app, client, floor):
        with app.app_context():
            foreign_org = str(new_organization(new_tenant("Elsewhere").id, "Theirs", "theirs").id)
            role = _role(floor.tenant, "Probe", ["auth.users.list"])
        h = bearer(api_token(client, "admin@b.test"))
        for body, path in (
            ({"organizations": [foreign_org]}, "organizations"),
            ({"organizations": [str(uuid.uuid4())]}, "organizations"),
            ({"features": ["made.up.feature"]}, "features"),
            ({"features": ["nosuchmodule.*"]}, "features"),
        ):
            payload = {"roleId": str(role), "features": ["auth.users.list"], "organizations": None, **body}
            r = client.put("/api/auth/roles/acl", json=payload, headers=h)
            assert r.status_code == 400, (body, r.get_json())
            assert r.get_json()["details"][0]["path"][0] == path
            user_payload = {"userId": str(floor.plain), **{k: v for k, v in payload.items() if k != "roleId"}}
            assert client.put("/api/auth/users/acl", json=user_payload, headers=h).status_code == 400
        assert _role_snapshot(app, role) == ("Probe", ["auth.users.list"], None, False)
        ok = client.put(
            "/api/auth/roles/acl",
            json={"roleId": str(role), "features": ["lcs.*", "auth.users.list"], "organizations": [str(floor.hq)]},
            headers=h,
        )
        assert ok.status_code == 200 and ok.get_json()["sanitized"] is False


class TestApiKeyOwners:
    def _key(self, client, floor):
        h = bearer(api_token(client, "admin@b.test"))
        made = client.post(
            "/api/api_keys/keys", json={"name": "Integration", "roles": [str(floor.staff_role)]}, headers=h
        ).get_json()
        return h, made

    @pytest.mark.parametrize("how", ["deactivate", "delete"])
    def test_key_is_suspended_with_its_owner(self, app, client, floor, how):
        _h, made = self._key(client, floor)
        kh = bearer(made["secret"])
        assert client.get("/lcs/shipments", headers=kh).status_code == 200
        root = bearer(api_token(client, "admin2@b.test"))
        if how == "deactivate":
            assert (
                client.put(
                    "/api/auth/users", json={"id": str(floor.admin), "isActive": False}, headers=root
                ).status_code
                == 200
            )
        else:
            assert client.delete(f"/api/auth/users?id={floor.admin}", headers=root).status_code == 200
        assert client.get("/lcs/shipments", headers=kh).status_code == 401
        row = client.get("/api/api_keys/keys", headers=root).get_json()["items"][0]
        assert row["createdByEmail"] == "admin@b.test" and row["suspended"] is True
        if how == "deactivate":  # reactivated: the key works again
            client.put("/api/auth/users", json={"id": str(floor.admin), "isActive": True}, headers=root)
            assert client.get("/lcs/shipments", headers=kh).status_code == 200

    def test_list_and_page_show_each_keys_owner(self, app, client, floor):
        h, _made = self._key(client, floor)
        row = client.get("/api/api_keys/keys", headers=h).get_json()["items"][0]
        assert row["createdById"] == str(floor.admin) and row["suspended"] is False
        page = client.get("/api_keys/keys", headers={**h, "Accept": "text/html"}).get_data(as_text=True)
        assert "admin@b.test" in page

    def test_key_made_by_a_key_belongs_to_the_first_keys_owner(self, app, client, floor):
        with app.app_context():
            maker_role = _role(floor.tenant, "Key maker", ["api_keys.create", "api_keys.view"])
        h = bearer(api_token(client, "admin@b.test"))
        maker = client.post(
            "/api/api_keys/keys", json={"name": "Maker", "roles": [str(maker_role)]}, headers=h
        ).get_json()
        child = client.post(
            "/api/api_keys/keys", json={"name": "Child", "roles": [str(maker_role)]}, headers=bearer(maker["secret"])
        )
        assert child.status_code == 201
        with app.app_context():
            assert db.session.get(ApiKey, uuid.UUID(child.get_json()["id"])).created_by_id == floor.admin


class TestEditScreen:
    """The user screen says what may not be changed instead of failing on Save."""

    def test_locked_user_and_own_roles(self, app, client, floor):
        from tests.support import BROWSER, browser_login

        browser_login(client, "clerk@b.test")
        page = client.get(f"/auth/users/edit?id={floor.admin}", headers=BROWSER).get_data(as_text=True)
        assert "holds permissions you do not hold" in page and "Save user" not in page
        plain = client.get(f"/auth/users/edit?id={floor.plain}", headers=BROWSER).get_data(as_text=True)
        assert "Save user" in plain
        assert re.search(rf'value="{floor.admin_role}"\s+disabled> Administrator', plain)
        assert re.search(rf'value="{floor.clerk_role}"\s+> User clerk', plain)
        acl_page = client.get(f"/auth/roles/acl?roleId={floor.admin_role}", headers=BROWSER).get_data(as_text=True)
        assert "This role holds permissions you do not hold" in acl_page and "Save permissions" not in acl_page
        own = client.get(f"/auth/roles/acl?roleId={floor.clerk_role}", headers=BROWSER).get_data(as_text=True)
        assert "Save permissions" in own

    def test_own_roles_are_fixed_but_submitted(self, app, client, floor):
        from tests.support import BROWSER, browser_login

        csrf = browser_login(client, "admin@b.test")
        page = client.get(f"/auth/users/edit?id={floor.admin}", headers=BROWSER).get_data(as_text=True)
        assert "You cannot change your own roles" in page
        assert f'<input type="hidden" name="roles[]" value="{floor.admin_role}">' in page
        # Saving the own profile from that form keeps the roles and the active flag.
        r = client.put(
            "/auth/users",
            headers={**BROWSER, "HX-Request": "true", "X-CSRFToken": csrf},
            data={
                "id": str(floor.admin),
                "email": "admin@b.test",
                "name": "Ada",
                "password": "",
                "organizationId": "",
                "roles[]": ["", str(floor.admin_role)],
                "isActive": "true",
            },
        )
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
