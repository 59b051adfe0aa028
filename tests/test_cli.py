"""CLI commands as an operator runs them."""
import sqlalchemy as sa

from cli import DEMO_USERS
from models import User, db


def test_init_is_idempotent(app):
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0 and "latest migration" in result.output


def test_create_admin_then_sign_in(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "Boss@Example.test", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    r = client.post("/api/auth/login", data={"email": "boss@example.test", "password": "s3cret-pass"})
    assert r.status_code == 200
    me = client.get("/api/auth/profile", headers={"Authorization": f"Bearer {r.get_json()['token']}"}).get_json()
    assert me["isSuperAdmin"] is True and me["tenantName"] == "Default"
    again = runner.invoke(args=["create-admin", "boss@example.test", "--password", "s3cret-pass"])
    assert again.exit_code != 0 and "already exists" in again.output
    weak = runner.invoke(args=["create-admin", "weak@example.test", "--password", "short"])
    assert weak.exit_code != 0 and "Password too short" in weak.output


def test_seed_demo_prints_working_credentials_and_is_idempotent(app, client):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    second = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and second.exit_code == 0
    for email, password, _, _ in DEMO_USERS:
        assert email in first.output and password in first.output
        assert client.post("/api/auth/login", data={"email": email, "password": password}).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == len(DEMO_USERS)


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok", "database": "ok"}
