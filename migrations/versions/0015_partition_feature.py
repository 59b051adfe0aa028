"""split storage partitions out of attachments.manage: every role or user grant that holds
attachments.manage keeps managing partitions (it gains attachments.partitions.manage), except
the built-in "Warehouse staff" role, which keeps only uploading (issue 16 item 11)

Revision ID: 0015_partition_feature
Revises: 0014_product_customs
Create Date: 2026-12-04 19:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0015_partition_feature"
down_revision = "0014_product_customs"
branch_labels = None
depends_on = None

MANAGE, PARTITIONS = "attachments.manage", "attachments.partitions.manage"
STAFF_ROLE = "Warehouse staff"

roles = sa.table("roles", sa.column("id"), sa.column("name"))
role_acls = sa.table("role_acls", sa.column("id"), sa.column("role_id"), sa.column("features", sa.JSON))
user_acls = sa.table("user_acls", sa.column("id"), sa.column("features", sa.JSON))


def _rewrite(table, rows, change) -> None:
    conn = op.get_bind()
    for row_id, features in rows:
        new = change(list(features or []))
        if new != features:
            conn.execute(table.update().where(table.c.id == row_id).values(features=new))


def upgrade() -> None:
    conn = op.get_bind()

    def add(features):
        return [*features, PARTITIONS] if MANAGE in features and PARTITIONS not in features else features

    role_rows = conn.execute(
        sa.select(role_acls.c.id, role_acls.c.features)
        .select_from(role_acls.join(roles, roles.c.id == role_acls.c.role_id))
        .where(roles.c.name != STAFF_ROLE)
    ).all()
    _rewrite(role_acls, role_rows, add)
    _rewrite(user_acls, conn.execute(sa.select(user_acls.c.id, user_acls.c.features)).all(), add)


def downgrade() -> None:
    conn = op.get_bind()

    def drop(features):
        return [f for f in features if f != PARTITIONS]

    _rewrite(role_acls, conn.execute(sa.select(role_acls.c.id, role_acls.c.features)).all(), drop)
    _rewrite(user_acls, conn.execute(sa.select(user_acls.c.id, user_acls.c.features)).all(), drop)
