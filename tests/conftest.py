"""Shared fixtures: one app per test session on SQLite (default) or PostgreSQL
(``DATABASE_URL``), schema built by the Alembic migrations, tables emptied after each test;
accounts made through the product's commands; the Playwright browser. Plain helpers and
factories are in ``tests/support.py``."""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.serving import make_server

from app import create_app, database_url
from models import db
from tests.s3server import ACCESS_KEY as S3_ACCESS_KEY
from tests.s3server import SECRET_KEY as S3_SECRET_KEY
from tests.s3server import S3Server
from tests.support import CHROMIUM, Factory, StoredFiles, new_page, playwright_sync


def _test_db_url(tmp: str) -> str:
    return database_url(os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/wharf-test.db", tmp)


@pytest.fixture(scope="session")
def app():
    tmp = tempfile.mkdtemp(prefix="wharf-test-")
    application = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": _test_db_url(tmp),
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            "CHECK_RESPONSES": True,  # every JSON answer is checked against its declaration
        }
    )
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
        for attempt in range(3):
            try:
                with db.engine.begin() as conn:  # one transaction: a failed pass leaves nothing half-emptied
                    for table in reversed(db.metadata.sorted_tables):
                        conn.execute(table.delete())
                return
            except sa.exc.IntegrityError:
                # A browser test's last request (a poll) wrote a row (an audit entry) after its table
                # was emptied and before its tenant was: the next pass takes it too.
                if attempt == 2:
                    raise
                time.sleep(0.2)


@pytest.fixture()
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture()
def client(app):
    return app.test_client()


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


@pytest.fixture(scope="session")
def live_server(app):
    """The app served over real HTTP on a free localhost port (for the browser tests)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


# --- a real browser: Debian's Chromium through Playwright (tests marked ``browser``) ----------


@pytest.fixture(scope="module")
def browser():
    # A missing browser fails the run (CI installs it); skipping needs an explicit opt-out.
    if os.environ.get("WHARF_SKIP_BROWSER") == "1":
        pytest.skip("WHARF_SKIP_BROWSER=1")
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium (or `make chromium`)"
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context, pg = new_page(browser)
    yield pg
    context.close()


@pytest.fixture()
def mobile_page(browser):
    context, pg = new_page(browser, viewport={"width": 360, "height": 740})
    yield pg
    context.close()


@pytest.fixture()
def desktop_page(browser):
    """The administrator's desktop the issue-16 walk used (1366 × 800)."""
    context, pg = new_page(browser, viewport={"width": 1366, "height": 800})
    yield pg
    context.close()


@pytest.fixture()
def files_root(app, tmp_path, monkeypatch):
    """Every stored byte of a test lands in a scratch directory (the attachments' root)."""
    root = tmp_path / "files"
    monkeypatch.setitem(app.config, "ATTACHMENTS_ROOT", str(root))
    return root


# --- attachment storage: local directories or an S3 server ----------------------------------------


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on a free loopback port for the whole run (tests/s3server.py)."""
    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture()
def s3_bucket(app, s3_server, monkeypatch):
    """A fresh bucket on ``s3_server`` that is the storage provider's (``WHARF_S3_*``), with
    credentials in ``WHARF_S3_ACCESS_KEY_ID``/``_SECRET_ACCESS_KEY``; emptied and removed after."""
    name = f"wharf-test-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(name)
    monkeypatch.setitem(app.config, "S3_BUCKET", name)
    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setitem(app.config, "S3_REGION", "us-east-1")
    monkeypatch.setenv("WHARF_S3_ACCESS_KEY_ID", S3_ACCESS_KEY)
    monkeypatch.setenv("WHARF_S3_SECRET_ACCESS_KEY", S3_SECRET_KEY)
    yield name
    s3_server.empty_bucket(name)


@pytest.fixture(params=["local", "s3"])
def storage_backend(request, app, files_root, monkeypatch):
    """Run a test on each attachment driver: ``local`` (files under ``files_root``) or ``s3``
    (the default partitions in a fresh bucket of the test S3 server). Gives a ``Stored``:
    ``stored.files()`` lists the stored attachment bytes (not the local image cache)."""
    if request.param == "local":
        monkeypatch.setitem(app.config, "ATTACHMENTS_DRIVER", "local")
        return StoredFiles("local", files_root)
    bucket = request.getfixturevalue("s3_bucket")
    monkeypatch.setitem(app.config, "ATTACHMENTS_DRIVER", "s3")
    return StoredFiles("s3", files_root, request.getfixturevalue("s3_server"), bucket)
