"""Keyset paging: (tenant_id, created_at, id) indexes for the newest-first family B lists

A page that starts after a row (``x-page`` token) is one index range in the list's order;
the shipments index replaces the (tenant_id, created_at) one, which it covers.

Revision ID: 0025_keyset_indexes
Revises: 0024_user_locale
Create Date: 2026-12-05 22:10:00

"""

from alembic import op

revision = "0025_keyset_indexes"
down_revision = "0024_user_locale"
branch_labels = None
depends_on = None

NEWEST = ("tenant_id", "created_at", "id")


def upgrade():
    op.create_index("ix_lcs_shipments_tenant_newest", "lcs_shipments", list(NEWEST))
    op.drop_index("ix_lcs_shipments_tenant_created", table_name="lcs_shipments")
    op.create_index("ix_lcs_lists_tenant_newest", "lcs_lists", list(NEWEST))
    op.create_index("ix_lcs_parcels_tenant_newest", "lcs_parcels", list(NEWEST))


def downgrade():
    op.drop_index("ix_lcs_parcels_tenant_newest", table_name="lcs_parcels")
    op.drop_index("ix_lcs_lists_tenant_newest", table_name="lcs_lists")
    op.create_index("ix_lcs_shipments_tenant_created", "lcs_shipments", ["tenant_id", "created_at"])
    op.drop_index("ix_lcs_shipments_tenant_newest", table_name="lcs_shipments")
