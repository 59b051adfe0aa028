"""user scan feedback: a user's own switch for scan sounds and vibration

Revision ID: 0012_user_scan_feedback
Revises: 0011_short_picks
Create Date: 2026-12-04 15:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012_user_scan_feedback"
down_revision = "0011_short_picks"
branch_labels = None
depends_on = None


def upgrade():
    # Existing users keep what they had: feedback on.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scan_feedback", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    # Without the column every user gets the tenant's choice alone (lcs.scan.sound).
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("scan_feedback")
