"""global roles: a role (and its ACL) without a tenant, assignable in every tenant (seed 000:
a role created without tenantId is global)

Revision ID: 0021_global_roles
Revises: 0020_organization_selection
Create Date: 2026-12-05 02:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0021_global_roles"
down_revision = "0020_organization_selection"
branch_labels = None
depends_on = None


def upgrade():
    for table in ("role_acls", "roles"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("tenant_id", existing_type=sa.Uuid(), nullable=True)


def downgrade():
    # Global roles cannot exist without a tenant column value: they go, with who held them.
    conn = op.get_bind()
    globals_ = sa.select(sa.column("id")).select_from(sa.table("roles")).where(sa.column("tenant_id").is_(None))
    for table, column in (
        ("user_roles", "role_id"),
        ("api_key_roles", "role_id"),
        ("given_permissions", "role_id"),
        ("role_acls", "role_id"),
    ):
        conn.execute(sa.table(table).delete().where(sa.column(column).in_(globals_)))
    conn.execute(sa.table("roles").delete().where(sa.column("tenant_id").is_(None)))
    for table in ("roles", "role_acls"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("tenant_id", existing_type=sa.Uuid(), nullable=False)
