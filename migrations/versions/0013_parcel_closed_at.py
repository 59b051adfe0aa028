"""parcel closed_at: a parcel whose label was requested is closed; pack-by-scan opens the next

Revision ID: 0013_parcel_closed_at
Revises: 0012_user_scan_feedback
Create Date: 2026-12-04 15:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0013_parcel_closed_at"
down_revision = "0012_user_scan_feedback"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("lcs_parcels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    # Parcels labelled before this column existed were closed when their label was requested.
    op.execute("UPDATE lcs_parcels SET closed_at = updated_at WHERE label IS NOT NULL")


def downgrade():
    with op.batch_alter_table("lcs_parcels", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
