"""Keyset paging: (tenant_id, created_at, id) indexes for the newest-first family B lists,
and a trigram index for the shipment list's text search (PostgreSQL)

A page that starts after a row (``x-page`` token) is one index range in the list's order;
the shipments index replaces the (tenant_id, created_at) one, which it covers. The list's
search (``search_text LIKE '%…%'``) reads a GIN trigram index on PostgreSQL (pg_trgm, a
trusted extension: the database's owner may create it) instead of every row; a search for
outbound (or inbound) shipments counts its ``x-count`` from a (tenant_id, is_outbound) index.

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
    op.create_index("ix_lcs_shipments_tenant_outbound", "lcs_shipments", ["tenant_id", "is_outbound"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_lcs_shipments_search_trgm",
            "lcs_shipments",
            ["search_text"],
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_lcs_shipments_search_trgm", table_name="lcs_shipments")
    op.drop_index("ix_lcs_shipments_tenant_outbound", table_name="lcs_shipments")
    op.drop_index("ix_lcs_parcels_tenant_newest", table_name="lcs_parcels")
    op.drop_index("ix_lcs_lists_tenant_newest", table_name="lcs_lists")
    op.create_index("ix_lcs_shipments_tenant_created", "lcs_shipments", ["tenant_id", "created_at"])
    op.drop_index("ix_lcs_shipments_tenant_newest", table_name="lcs_shipments")
