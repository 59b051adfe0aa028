"""The Alembic migrations and the models describe the same schema (on SQLite and PostgreSQL:
the suite's database was built by the migrations alone, see conftest)."""

import re
import uuid

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import db
from models.base import exists_on


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": exists_on(conn.dialect.name)}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from migrations; run `flask --app app db migrate`: {diff}"


def _predicate(clause) -> str | None:
    return None if clause is None else re.sub(r"[()\s]+", " ", str(clause)).strip().lower()


def test_partial_indexes_agree(app):
    """``compare_metadata`` ignores an index's WHERE, so a unique-among-live-rows index
    (``models.base.unique_while_live``) is checked here: same predicate in model and database."""
    with app.app_context(), db.engine.connect() as conn:
        dialect = conn.dialect.name
        inspector = sa.inspect(conn)
        declared = {
            (table.name, index.name): _predicate(index.dialect_options[dialect].get("where"))
            for table in db.metadata.tables.values()
            for index in table.indexes
            if exists_on(dialect)(index, index.name, "index", False, None)
        }
        migrated = {
            (table, index["name"]): _predicate(index.get("dialect_options", {}).get(f"{dialect}_where"))
            for table in {table for table, _ in declared}
            for index in inspector.get_indexes(table)
        }
    assert any(declared.values()), "no partial index declared: the check would compare nothing"
    assert {k: v for k, v in migrated.items() if k in declared} == declared


def test_downgrade_and_upgrade_round_trip(tmp_path):
    """Every migration can be undone and replayed (on a scratch SQLite database)."""
    from flask_migrate import downgrade, upgrade

    from app import create_app

    scratch = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/scratch.db", "SECRET_KEY": "x"})
    with scratch.app_context():
        upgrade()
        downgrade(revision="base")
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": exists_on(conn.dialect.name)})
            assert compare_metadata(context, db.metadata) == []


def test_partition_feature_split_keeps_what_each_grant_could_do(tmp_path):
    """0015 (issue 16 item 11): a grant holding attachments.manage keeps managing partitions,
    except the built-in Warehouse staff role, which keeps only uploading."""
    from flask_migrate import upgrade

    from app import create_app
    from models import Role, RoleAcl, UserAcl
    from services import roles
    from services.accounts import create_tenant  # unaudited: audit_logs has columns of later migrations

    scratch = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/split.db", "SECRET_KEY": "x"})
    with scratch.app_context():
        upgrade(revision="0014_product_customs")
        tenant = create_tenant("Acme")
        staff = roles.seed_default_roles(tenant.id)[roles.WAREHOUSE_STAFF]
        lead = Role(tenant_id=tenant.id, name="Packing lead")
        db.session.add(lead)
        db.session.flush()
        db.session.add(RoleAcl(tenant_id=tenant.id, role_id=lead.id, features=["attachments.manage"]))
        # The user as 0014 knew users (the ORM's User has columns of later migrations).
        user_id = uuid.uuid4()
        users = sa.table(
            "users",
            sa.column("id", sa.Uuid()),
            sa.column("tenant_id", sa.Uuid()),
            *(sa.column(c) for c in ("email", "name", "password_hash", "is_active", "created_at", "updated_at")),
        )
        now = sa.func.current_timestamp()
        db.session.execute(
            sa.insert(users).values(
                id=user_id,
                tenant_id=tenant.id,
                email="clerk@acme.test",
                name="",
                password_hash="x",
                is_active=True,
                created_at=now,
                updated_at=now,
            )
        )
        db.session.execute(
            sa.insert(UserAcl.__table__).values(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                user_id=user_id,
                features=["attachments.view", "attachments.manage"],
                is_super_admin=False,
                created_at=now,
                updated_at=now,
            )
        )
        db.session.commit()
        upgrade()
        db.session.expire_all()

        def features(model, **by):
            return db.session.scalar(sa.select(model.features).filter_by(**by))

        assert "attachments.partitions.manage" not in features(RoleAcl, role_id=staff.id)
        assert "attachments.manage" in features(RoleAcl, role_id=staff.id)
        assert features(RoleAcl, role_id=lead.id) == ["attachments.manage", "attachments.partitions.manage"]
        assert features(UserAcl, user_id=user_id)[-1] == "attachments.partitions.manage"


def test_print_spooler_lets_the_builtin_staff_role_print(tmp_path):
    """0017 (issue 17): the built-in Warehouse staff role gains spl.print, so a
    closed parcel's label prints at the bench; other roles are left alone; downgrade takes it back."""
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from models import Role, RoleAcl
    from services.accounts import create_tenant  # unaudited: audit_logs has columns of later migrations

    scratch = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/spl.db", "SECRET_KEY": "x"})
    with scratch.app_context():
        upgrade(revision="0016_parcel_label_blocked")
        tenant = create_tenant("Acme")
        made = {}
        for name in ("Warehouse staff", "Packing lead"):  # the staff role as 0016 seeded it: no printing
            role = db.session.scalars(sa.select(Role).where(Role.tenant_id == tenant.id, Role.name == name)).first()
            if role is None:
                role = Role(tenant_id=tenant.id, name=name)
                db.session.add(role)
                db.session.flush()
                db.session.add(RoleAcl(tenant_id=tenant.id, role_id=role.id, features=[]))
                db.session.flush()
            db.session.execute(
                sa.update(RoleAcl).where(RoleAcl.role_id == role.id).values(features=["lcs.handling.write"])
            )
            made[name] = role.id
        db.session.commit()

        def features(name):
            db.session.expire_all()
            return db.session.scalar(sa.select(RoleAcl.features).where(RoleAcl.role_id == made[name]))

        upgrade(revision="0017_print_spooler")  # later revisions grant more to pickers (0022: progress.view)
        assert features("Warehouse staff") == ["lcs.handling.write", "spl.print"]
        assert features("Packing lead") == ["lcs.handling.write"]
        downgrade(revision="0016_parcel_label_blocked")
        assert features("Warehouse staff") == ["lcs.handling.write"]
