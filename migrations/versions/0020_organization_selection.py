"""organization selection: the organization each sign-in works in (seed 000 organization
switcher); roles and user overrides that manage organizations keep seeing them all at once
(they gain directory.organizations.view_all), staff work in their home organization

Revision ID: 0020_organization_selection
Revises: 0019_signing_keys
Create Date: 2026-12-05 02:06:31.696199

"""

import sqlalchemy as sa
from alembic import op

revision = "0020_organization_selection"
down_revision = "0019_signing_keys"
branch_labels = None
depends_on = None

VIEW_ALL = "directory.organizations.view_all"
MANAGERS = {"directory.organizations.manage", "directory.organizations.*", "directory.*"}
ACLS = [sa.table(name, sa.column("id"), sa.column("features", sa.JSON)) for name in ("role_acls", "user_acls")]


def _change(change) -> None:
    conn = op.get_bind()
    for table in ACLS:
        for row_id, features in conn.execute(sa.select(table.c.id, table.c.features)).all():
            new = change(list(features or []))
            if new != list(features or []):
                conn.execute(table.update().where(table.c.id == row_id).values(features=new))


def upgrade():
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("selected_organization", sa.String(length=36), nullable=True))
    _change(lambda f: f + [VIEW_ALL] if MANAGERS & set(f) and VIEW_ALL not in f else f)


def downgrade():
    _change(lambda f: [x for x in f if x != VIEW_ALL])
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_column("selected_organization")
