"""parcel label_blocked: why the last label request was refused, shown on the parcel at the
pack station until a request gets through (issue 16 item 6)

Revision ID: 0016_parcel_label_blocked
Revises: 0015_partition_feature
Create Date: 2026-12-04 20:05:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0016_parcel_label_blocked"
down_revision = "0015_partition_feature"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lcs_parcels") as batch:
        batch.add_column(sa.Column("label_blocked", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lcs_parcels") as batch:
        batch.drop_column("label_blocked")
