"""CLI commands as an operator runs them."""

import sqlalchemy as sa

from cli import DEMO_USERS
from models import AuditLog, Tenant, User, db
from services import directory
from services.acl import SYSTEM


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


def test_create_admin_by_tenant_id_when_names_repeat_and_audited(app, client):
    """Tenant names are not unique: the name is refused as ambiguous, the id is not; the
    admin is created through the audited commands (a user row and its grant, one operation)."""
    with app.app_context():
        ids = [directory.create_tenant(SYSTEM, name=f"Twin {i}").id for i in range(2)]
        db.session.execute(sa.update(Tenant).values(name="Twin").where(Tenant.id.in_(ids)))
        db.session.commit()
    runner = app.test_cli_runner()
    ambiguous = runner.invoke(args=["create-admin", "a@twin.test", "--password", "s3cret-pass", "--tenant", "Twin"])
    assert ambiguous.exit_code != 0 and "give the tenant's id" in ambiguous.output
    made = runner.invoke(args=["create-admin", "a@twin.test", "--password", "s3cret-pass", "--tenant", str(ids[1])])
    assert made.exit_code == 0 and str(ids[1]) in made.output
    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.email == "a@twin.test")).one()
        assert user.tenant_id == ids[1]
        kinds = db.session.scalars(sa.select(AuditLog.resource_kind).where(AuditLog.resource_id == str(user.id))).all()
        assert kinds and all(k == "user" or "acl" in k for k in kinds)


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


def test_prune_removes_only_what_is_dead_and_old(app, client, admin):
    from datetime import timedelta

    from models import AuthSession, LoginAttempt, utcnow

    live = client.post("/api/auth/login", data={"email": admin, "password": "correct-horse-battery"}).get_json()
    dead = client.post("/api/auth/login", data={"email": admin, "password": "correct-horse-battery"}).get_json()
    client.post("/api/auth/logout", headers={"Authorization": f"Bearer {dead['token']}"})
    with app.app_context():
        old = utcnow() - timedelta(days=40)
        db.session.execute(sa.update(AuthSession).where(AuthSession.revoked_at.is_not(None)).values(revoked_at=old))
        db.session.add(LoginAttempt(email="x@y.test", ip="1.2.3.4", created_at=old))
        db.session.add(LoginAttempt(email="x@y.test", ip="1.2.3.4"))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["prune", "--days", "30"])
    assert result.exit_code == 0 and "Pruned 1 sessions, 0 password resets, 1 throttle records." in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuthSession)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 1
    me = client.get("/api/auth/profile", headers={"Authorization": f"Bearer {live['token']}"})
    assert me.status_code == 200  # the live session survived
    assert app.test_cli_runner().invoke(args=["prune", "--days", "0"]).exit_code != 0
