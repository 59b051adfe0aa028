"""short picks: why a unit was marked missing at the station, and why a list did not finish

Revision ID: 0011_short_picks
Revises: 0010_refresh_rotation
Create Date: 2026-12-04 15:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011_short_picks"
down_revision = "0010_refresh_rotation"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("lcs_scan_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
    with op.batch_alter_table("lcs_lists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("finish_blocked", sa.String(length=500), nullable=True))


def downgrade():
    # The reasons of past short picks and a pending refusal's message are lost; units stay missing.
    with op.batch_alter_table("lcs_lists", schema=None) as batch_op:
        batch_op.drop_column("finish_blocked")
    with op.batch_alter_table("lcs_scan_events", schema=None) as batch_op:
        batch_op.drop_column("reason")
