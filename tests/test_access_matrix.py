"""The access matrix, generated from the URL map: every protected JSON endpoint × five
callers. Each endpoint needs a sample request below; a new route without one fails here."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from models import Role, Scope, db
from services import accounts, roles, users
from services.acl import EVERYTHING, Actor
from tests.conftest import PASSWORD
from web.access import access_of
from web.openapi import json_rules

SYSTEM = Actor(None, EVERYTHING)


@dataclass
class Sample:
    query: dict = field(default_factory=dict)
    json: dict | None = None
    record: bool = False  # targets a tenant-A record: another tenant's admin must get 404
    path: dict = field(default_factory=dict)  # values for the rule's <converters>


class World:
    """Tenant A holds the records; tenant B has its own admin; a super admin lives in 'Default'."""

    def __init__(self, app):
        self.app = app
        with app.app_context():
            a, b, d = (accounts.create_tenant(n) for n in ("Tenant A", "Tenant B", "Default"))
            db.session.commit()
            self.a, self.b = a.id, b.id
            self.hq = accounts.create_organization(Scope(a.id), "HQ", "hq").id
            admin_b = roles.seed_default_roles(b.id)[roles.ADMINISTRATOR].id
            db.session.commit()
            users.create_user(SYSTEM, email="admin@b.test", password=PASSWORD, role_ids=[admin_b], tenant_id=b.id)
            users.create_user(SYSTEM, email="plain@a.test", password=PASSWORD, tenant_id=a.id)
            accounts.create_user(Scope(d.id), email="root@d.test", password=PASSWORD, super_admin=True)
            db.session.commit()
        self.counter = 0

    def fresh_role(self) -> str:
        with self.app.app_context():
            self.counter += 1
            return str(roles.create_role(SYSTEM, f"Role {self.counter}", tenant_id=self.a).id)

    def fresh_user(self) -> str:
        with self.app.app_context():
            self.counter += 1
            return str(users.create_user(SYSTEM, email=f"u{self.counter}@a.test", password=PASSWORD,
                                         tenant_id=self.a).id)

    def fresh_org(self) -> str:
        with self.app.app_context():
            self.counter += 1
            org = accounts.create_organization(Scope(self.a), f"Org {self.counter}", f"org-{self.counter}")
            db.session.commit()
            return str(org.id)

    def fresh_tenant(self) -> str:
        with self.app.app_context():
            self.counter += 1
            t = accounts.create_tenant(f"Spare {self.counter}")
            db.session.commit()
            return str(t.id)

    def fresh_key(self) -> str:
        from services import api_keys
        with self.app.app_context():
            self.counter += 1
            return str(api_keys.create_key(SYSTEM, name=f"Key {self.counter}", description=None, role_ids=[],
                                           tenant_id=self.a)[0].id)

    def fresh_toggle(self, kind: str = "boolean", value=True) -> tuple[str, str]:
        """A new global toggle: (id, identifier)."""
        from services import toggles
        with self.app.app_context():
            self.counter += 1
            t = toggles.create_toggle(SYSTEM, {"identifier": f"matrix.t{self.counter}", "name": "Matrix",
                                               "type": kind, "defaultValue": value})
            return str(t.id), t.identifier

    def exact_user(self, features) -> str:
        """A tenant-A user whose override holds exactly ``features``."""
        with self.app.app_context():
            self.counter += 1
            email = f"exact{self.counter}@a.test"
            u = users.create_user(SYSTEM, email=email, password=PASSWORD, tenant_id=self.a)
            if features:
                users.update_user_acl(SYSTEM, u.id, features=list(features), is_super_admin=False, organizations=None)
            return email


SAMPLES = {
    ("api_auth.admin_nav", "GET"): lambda w: Sample(),
    ("api_auth.feature_check", "POST"): lambda w: Sample(json={"features": ["auth.roles.list"]}),
    ("api_auth.features", "GET"): lambda w: Sample(),
    ("api_auth.logout", "GET"): lambda w: Sample(),
    ("api_auth.logout", "POST"): lambda w: Sample(),
    ("api_auth.profile", "GET"): lambda w: Sample(),
    ("api_auth.update_profile", "PUT"): lambda w: Sample(json={"name": "New name"}),
    ("api_auth.roles", "GET"): lambda w: Sample(),
    ("api_auth.create_role", "POST"): lambda w: Sample(json={"name": f"Made {w.fresh_role()}"}),
    ("api_auth.update_role", "PUT"): lambda w: Sample(json={"id": w.fresh_role(), "name": f"Renamed {w.counter}"}, record=True),
    ("api_auth.delete_role", "DELETE"): lambda w: Sample(query={"id": w.fresh_role()}, record=True),
    ("api_auth.role_acl", "GET"): lambda w: Sample(query={"roleId": w.fresh_role()}, record=True),
    ("api_auth.update_role_acl", "PUT"): lambda w: Sample(json={"roleId": w.fresh_role(), "features": []}, record=True),
    ("api_auth.users", "GET"): lambda w: Sample(),
    ("api_auth.create_user", "POST"): lambda w: Sample(json={"email": f"new{w.fresh_role()[:8]}@x.test", "password": PASSWORD}),
    ("api_auth.update_user", "PUT"): lambda w: Sample(json={"id": w.fresh_user(), "name": "Renamed"}, record=True),
    ("api_auth.delete_user", "DELETE"): lambda w: Sample(query={"id": w.fresh_user()}, record=True),
    ("api_auth.user_acl", "GET"): lambda w: Sample(query={"userId": w.fresh_user()}, record=True),
    ("api_auth.update_user_acl", "PUT"): lambda w: Sample(json={"userId": w.fresh_user(), "features": []}, record=True),
    ("api_directory.tenants", "GET"): lambda w: Sample(),
    ("api_directory.create_tenant", "POST"): lambda w: Sample(json={"name": f"New tenant {w.fresh_role()}"}),
    ("api_directory.update_tenant", "PUT"): lambda w: Sample(json={"id": str(w.a), "name": "Tenant A"}, record=True),
    ("api_directory.delete_tenant", "DELETE"): lambda w: Sample(query={"id": w.fresh_tenant()}, record=True),
    ("api_directory.organizations", "GET"): lambda w: Sample(),
    ("api_directory.create_organization", "POST"): lambda w: Sample(json={"name": f"Made {w.fresh_role()}"}),
    ("api_directory.update_organization", "PUT"): lambda w: Sample(json={"id": w.fresh_org(), "name": "Renamed"}, record=True),
    ("api_directory.delete_organization", "DELETE"): lambda w: Sample(query={"id": w.fresh_org()}, record=True),
    ("api_directory.organization_switcher", "GET"): lambda w: Sample(),
    ("api_api_keys.list_keys", "GET"): lambda w: Sample(),
    ("api_api_keys.create_key", "POST"): lambda w: Sample(json={"name": "Matrix key"}),
    ("api_api_keys.revoke_key", "DELETE"): lambda w: Sample(query={"id": w.fresh_key()}, record=True),
    ("api_audit_logs.list_actions", "GET"): lambda w: Sample(),
    ("api_feature_toggles.check_boolean", "GET"): lambda w: Sample(query={"identifier": w.fresh_toggle()[1]}),
    ("api_feature_toggles.check_string", "GET"): lambda w: Sample(query={"identifier": w.fresh_toggle("string", "a")[1]}),
    ("api_feature_toggles.check_number", "GET"): lambda w: Sample(query={"identifier": w.fresh_toggle("number", 2)[1]}),
    ("api_feature_toggles.check_json", "GET"): lambda w: Sample(query={"identifier": w.fresh_toggle("json", {"a": 1})[1]}),
    ("api_feature_toggles.global_list", "GET"): lambda w: Sample(),
    ("api_feature_toggles.create_global", "POST"): lambda w: Sample(json={
        "identifier": f"made.t{w.fresh_role()[:8]}", "name": "Made", "type": "boolean", "defaultValue": False}),
    ("api_feature_toggles.update_global", "PUT"): lambda w: Sample(json={"id": w.fresh_toggle()[0], "name": "Renamed"}),
    ("api_feature_toggles.delete_global", "DELETE"): lambda w: Sample(query={"id": w.fresh_toggle()[0]}),
    ("api_feature_toggles.global_detail", "GET"): lambda w: Sample(path={"toggle_id": w.fresh_toggle()[0]}),
    ("api_feature_toggles.global_override", "GET"): lambda w: Sample(path={"toggle_id": w.fresh_toggle()[0]}),
    ("api_feature_toggles.overrides", "GET"): lambda w: Sample(),
    ("api_feature_toggles.set_override", "PUT"): lambda w: Sample(json={"toggleId": w.fresh_toggle()[0], "isOverride": True}),
}


def protected_operations(app):
    for rule, view in json_rules(app):
        access = access_of(view)
        if access.public:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method, access


def test_every_protected_endpoint_has_a_sample(app):
    missing = [f"{rule.endpoint} {method}" for rule, method, _ in protected_operations(app)
               if (rule.endpoint, method) not in SAMPLES]
    assert not missing, f"add a Sample for: {missing}"


def _call(client, rule, method, sample, headers):
    url = re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: str(sample.path[m.group(1)]), rule.rule)
    return client.open(url, method=method, query_string=sample.query, json=sample.json,
                       headers={"Accept": "application/json", **headers})


def _token(client, email):
    r = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, (email, r.get_json())
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_access_matrix(app, client):
    world = World(app)
    failures = []
    for rule, method, access in protected_operations(app):
        make_sample = SAMPLES.get((rule.endpoint, method))
        if make_sample is None:
            continue  # reported by test_every_protected_endpoint_has_a_sample
        only_super = access.super_admin  # declared super-admin-only: everybody else is refused
        callers = {
            "anonymous": ({}, 401),
            "no features": (lambda: _token(client, "plain@a.test"), 403 if access.features or only_super else 200),
            "exact features": (lambda: _token(client, world.exact_user(access.features)), 403 if only_super else 200),
            "other tenant admin": (lambda: _token(client, "admin@b.test"), 403 if only_super else 200),
            "super admin": (lambda: _token(client, "root@d.test"), 200),
        }
        for name, (headers, expected) in callers.items():
            sample = make_sample(world)
            if name == "other tenant admin" and sample.record and not only_super:
                expected = 404
            r = _call(client, rule, method, sample, headers() if callable(headers) else headers)
            ok = (200 <= r.status_code < 300) if expected == 200 else r.status_code == expected
            if not ok:
                failures.append(f"{method} {rule.rule} as {name}: {r.status_code} {r.get_data(as_text=True)[:160]}")
    assert not failures, "\n".join(failures)
