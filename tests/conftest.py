"""Shared fixtures: one app per test session on SQLite (default) or PostgreSQL
(``DATABASE_URL``), schema built by the Alembic migrations, tables emptied after each test."""
from __future__ import annotations

import os
import re
import tempfile
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.serving import make_server

from app import create_app, database_url
from models import Scope, db
from services import accounts

PASSWORD = "correct-horse-battery"


def _test_db_url(tmp: str) -> str:
    return database_url(os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/wharf-test.db", tmp)


@pytest.fixture(scope="session")
def app():
    tmp = tempfile.mkdtemp(prefix="wharf-test-")
    application = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": _test_db_url(tmp),
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "CHECK_RESPONSES": True,  # every JSON answer is checked against its declaration
    })
    with application.app_context():
        # Start from nothing, then build the schema the way production does: migrations.
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
    yield application


@pytest.fixture(autouse=True)
def _clean_tables(app):
    yield
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture()
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture()
def client(app):
    return app.test_client()


class Factory:
    """Creates tenants and users straight through the domain services."""

    def __init__(self, app):
        self.app = app

    def tenant(self, name="Acme"):
        with self.app.app_context():
            t = accounts.create_tenant(name)
            db.session.commit()
            return t.id

    def user(self, tenant_id, email, *, super_admin=False, password=PASSWORD, name=""):
        with self.app.app_context():
            u = accounts.create_user(Scope(tenant_id), email=email, password=password,
                                     name=name, super_admin=super_admin)
            db.session.commit()
            return u.id


    def member(self, tenant_id, email, role_name, *, password=PASSWORD, name=""):
        """A user holding one of the tenant's seeded roles ("Administrator", "Warehouse staff")."""
        from services import roles, users
        from services.acl import EVERYTHING, Actor
        with self.app.app_context():
            role = roles.seed_default_roles(tenant_id)[role_name]
            db.session.commit()
            return users.create_user(Actor(None, EVERYTHING), email=email, password=password, name=name,
                                     role_ids=[role.id], tenant_id=tenant_id).id


@pytest.fixture()
def make(app):
    return Factory(app)


@pytest.fixture()
def tenant(make):
    return make.tenant("Acme Logistics")


@pytest.fixture()
def admin(make, tenant):
    make.user(tenant, "admin@acme.test", super_admin=True, name="Ada Admin")
    return "admin@acme.test"


@pytest.fixture()
def staff(make, tenant):
    make.user(tenant, "staff@acme.test", name="Sam Staff")
    return "staff@acme.test"


def api_token(client, email, password=PASSWORD) -> str:
    r = client.post("/api/auth/login", data={"email": email, "password": password})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
HX_CSRF_RE = re.compile(r'"X-CSRFToken": "([^"]+)"')


def csrf_from(html: str) -> str:
    m = HX_CSRF_RE.search(html) or CSRF_RE.search(html)
    assert m, "no CSRF token in page"
    return m.group(1)


def browser_login(client, email, password=PASSWORD) -> str:
    """Sign in like a browser (form post with CSRF); returns the CSRF token for later writes."""
    page = client.get("/auth/login", headers=BROWSER)
    token = csrf_from(page.get_data(as_text=True))
    r = client.post("/auth/login", headers=BROWSER,
                    data={"email": email, "password": password, "csrf_token": token})
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    home = client.get("/", headers=BROWSER)
    assert home.status_code == 200
    return csrf_from(home.get_data(as_text=True))


@pytest.fixture(scope="session")
def live_server(app):
    """The app served over real HTTP on a free localhost port (for the browser tests)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
