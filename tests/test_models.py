"""Data layer: the scoping helper, soft delete, per-tenant email uniqueness, org tree."""

import uuid

import pytest
import sqlalchemy as sa

from models import Scope, Tenant, User, db
from services import accounts
from services.errors import Conflict, NotFound, ValidationFailed


@pytest.fixture()
def two_tenants(ctx):
    # The data-layer primitives are this module's subject; other modules make accounts via tests/support.py.
    a, b = accounts.create_tenant("A"), accounts.create_tenant("B")
    ua = accounts.create_user(Scope(a.id), email="one@a.test", password="long-enough-1")
    ub = accounts.create_user(Scope(b.id), email="one@b.test", password="long-enough-1")
    db.session.commit()
    return a, b, ua, ub


def test_scope_hides_other_tenants(two_tenants):
    a, _b, ua, ub = two_tenants
    assert [u.email for u in db.session.scalars(Scope(a.id).select(User))] == ["one@a.test"]
    assert Scope(a.id).get(User, ua.id) is ua
    with pytest.raises(NotFound):
        Scope(a.id).get(User, ub.id)


@pytest.mark.parametrize("bad_id", ["nope", "", None, 42, str(uuid.uuid4())])
def test_scope_get_malformed_or_unknown_id_is_not_found(two_tenants, bad_id):
    with pytest.raises(NotFound):
        Scope(two_tenants[0].id).get(User, bad_id)


def test_soft_delete_hides_but_keeps_row_and_email(two_tenants):
    a, _, ua, _ = two_tenants
    ua.soft_delete()
    db.session.commit()
    assert db.session.scalars(Scope(a.id).select(User)).all() == []
    assert len(db.session.scalars(Scope(a.id).select(User, include_deleted=True)).all()) == 1
    with pytest.raises(Conflict):
        accounts.create_user(Scope(a.id), email="ONE@a.test", password="long-enough-1")


def test_scope_refuses_non_tenant_tables():
    with pytest.raises(TypeError):
        Scope(uuid.uuid4()).select(Tenant)


def test_scope_limits_organizations(ctx):
    t = accounts.create_tenant("T")
    scope = Scope(t.id)
    hq = accounts.create_organization(scope, "HQ", "hq")
    dc = accounts.create_organization(scope, "DC", "dc", parent=hq)
    accounts.create_user(scope, email="hq@t.test", password="long-enough-1", organization=hq)
    accounts.create_user(scope, email="dc@t.test", password="long-enough-1", organization=dc)
    db.session.commit()
    limited = Scope(t.id, frozenset({dc.id}))
    assert [u.email for u in db.session.scalars(limited.select(User))] == ["dc@t.test"]
    assert dc.tree_path == f"{hq.id}/{dc.id}" and dc.tree_path.startswith(hq.tree_path)


def test_email_unique_per_tenant_case_insensitive(two_tenants):
    a, b, _, _ = two_tenants
    with pytest.raises(Conflict):
        accounts.create_user(Scope(a.id), email=" One@A.test ", password="long-enough-1")
    same_email_other_tenant = accounts.create_user(Scope(b.id), email="one@a.test", password="long-enough-1")
    assert same_email_other_tenant.tenant_id == b.id


def test_database_enforces_email_uniqueness_too(two_tenants):
    a, _, ua, _ = two_tenants
    db.session.add(User(tenant_id=a.id, email=ua.email, password_hash="x"))  # past every check: only the DB is left
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("email, password", [("not-an-email", "long-enough-1"), ("a@b.test", "short")])
def test_create_user_validates(ctx, email, password):
    t = accounts.create_tenant("T")
    with pytest.raises(ValidationFailed):
        accounts.create_user(Scope(t.id), email=email, password=password)


def test_passwords_are_argon2_hashed(two_tenants):
    ua = two_tenants[2]
    assert ua.password_hash.startswith("$argon2id$") and "long-enough-1" not in ua.password_hash


def test_timestamps_and_uuid_ids(two_tenants):
    ua = two_tenants[2]
    assert isinstance(ua.id, uuid.UUID) and ua.created_at is not None and ua.updated_at is not None
    before = ua.updated_at
    ua.name = "Renamed"
    db.session.commit()
    assert ua.updated_at >= before


def test_contains_pattern_keeps_wildcards_literal():
    import sqlalchemy as sa

    from models.base import LIKE_ESCAPE, contains_pattern

    engine = sa.create_engine("sqlite://")
    meta = sa.MetaData()
    t = sa.Table("t", meta, sa.Column("s", sa.String))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"s": v} for v in ("100%_done", "100x-done", "a/b", "ab", "a_b", "axb")])
        found = lambda text: sorted(
            conn.execute(sa.select(t.c.s).where(t.c.s.like(contains_pattern(text), escape=LIKE_ESCAPE))).scalars()
        )
        assert found("100%_") == ["100%_done"]
        assert found("a_b") == ["a_b"] and found("a/b") == ["a/b"] and found("100") == ["100%_done", "100x-done"]


def test_retry_on_deadlock_runs_the_unit_of_work_again_only_for_victims(ctx):
    import pytest
    import sqlalchemy as sa

    from models.base import retry_on_deadlock

    class Orig(Exception):
        def __init__(self, sqlstate):
            self.sqlstate = sqlstate

    def failing(sqlstate, times):
        calls = []

        @retry_on_deadlock(attempts=3)
        def work():
            calls.append(1)
            if len(calls) <= times:
                raise sa.exc.OperationalError("UPDATE …", {}, Orig(sqlstate))
            return "done"

        return work, calls

    work, calls = failing("40P01", 2)  # deadlock victim twice, then through
    assert work() == "done" and len(calls) == 3
    work, calls = failing("40P01", 3)  # still a victim on the last attempt: the error surfaces
    with pytest.raises(sa.exc.OperationalError):
        work()
    assert len(calls) == 3
    work, calls = failing("23505", 1)  # any other database error is not retried
    with pytest.raises(sa.exc.OperationalError):
        work()
    assert len(calls) == 1
