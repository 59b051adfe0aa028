"""product customs data: unit value (minor units) + currency and country of origin, for the
commercial invoice of a shipment

Revision ID: 0014_product_customs
Revises: 0013_parcel_closed_at
Create Date: 2026-12-04 15:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0014_product_customs"
down_revision = "0013_parcel_closed_at"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("lcs_products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("value", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("country_of_origin", sa.String(length=2), nullable=True))


def downgrade():
    with op.batch_alter_table("lcs_products", schema=None) as batch_op:
        batch_op.drop_column("country_of_origin")
        batch_op.drop_column("currency")
        batch_op.drop_column("value")
