"""users.locale: the language a user chose for their pages (seed 000 /auth/locale)

Revision ID: 0024_user_locale
Revises: 0023_audit_undo
Create Date: 2026-12-05 19:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0024_user_locale"
down_revision = "0023_audit_undo"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("locale")
