"""Admin writes are commands (``services.commands``): one transaction each, so an operation
refused after it has already changed things leaves nothing written — not in the database,
and not for the next operation of the same session to commit by accident."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import AuditLog, AuthSession, PasswordReset, User, db, utcnow
from services import auth, password_reset, roles, users
from services.errors import Conflict
from tests.support import PASSWORD, SYSTEM, api_token


@pytest.fixture()
def last_admin(app, client, make):
    """The tenant's only administrator, signed in once and holding an unused reset link."""
    tenant = make.tenant("Solo")
    boss = make.member(tenant, "boss@solo.test", roles.ADMINISTRATOR, name="Boss")
    clerk = make.member(tenant, "clerk@solo.test", roles.WAREHOUSE_STAFF, name="Clerk")
    api_token(client, "boss@solo.test")
    with app.app_context():
        db.session.add(
            PasswordReset(
                user_id=boss,
                token_hash=password_reset.token_digest("mailed-link"),
                requested_ip="127.0.0.1",
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        db.session.commit()
    return boss, clerk


def test_a_user_edit_refused_after_its_first_changes_leaves_nothing_written(app, last_admin):
    boss, clerk = last_admin
    with app.app_context():
        before = db.session.get(User, boss)
        email, name, password_hash = before.email, before.name, before.password_hash
        audit_rows = db.session.scalar(sa.select(sa.func.count(AuditLog.id)))

        # New email (voids the reset link), new password (revokes the sessions), new name — and
        # only then the deactivation, which would leave the tenant without an administrator.
        with pytest.raises(Conflict, match="without an administrator"):
            users.update_user(
                SYSTEM, boss, email="new@solo.test", name="Renamed", password="An0ther-passw0rd!", is_active=False
            )
        # The next operation of the same session commits its own change only.
        users.update_user(SYSTEM, clerk, name="Clerk Two")
        db.session.remove()

        after = db.session.get(User, boss)
        assert (after.email, after.name, after.password_hash, after.is_active) == (email, name, password_hash, True)
        assert auth.authenticate("boss@solo.test", PASSWORD, ip="10.0.0.1").id == boss
        assert (
            db.session.scalar(
                sa.select(sa.func.count(AuthSession.id)).where(
                    AuthSession.user_id == boss, AuthSession.revoked_at.is_(None)
                )
            )
            == 1
        )
        assert password_reset.find_usable("mailed-link") is not None
        assert db.session.get(User, clerk).name == "Clerk Two"
        new_rows = db.session.execute(
            sa.select(AuditLog.resource_id, AuditLog.action_label).order_by(AuditLog.created_at).offset(audit_rows)
        ).all()
        assert [tuple(r) for r in new_rows] == [(str(clerk), "Edit user clerk@solo.test")]
