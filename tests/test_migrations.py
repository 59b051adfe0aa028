"""The Alembic migrations and the models describe the same schema (on SQLite and PostgreSQL:
the suite's database was built by the migrations alone, see conftest)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from models import db


def test_models_and_migrations_agree(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from migrations; run `flask --app app db migrate`: {diff}"


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
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
