"""shipment tallies: per-tenant, per-organization shipment counts for the list's x-count

Revision ID: 0008_shipment_tallies
Revises: 0007_business_rules
Create Date: 2026-11-22 15:30:00

"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0008_shipment_tallies"
down_revision = "0007_business_rules"
branch_labels = None
depends_on = None


def upgrade():
    tallies = op.create_table(
        "lcs_shipment_tallies",
        sa.Column("organization_key", sa.String(length=36), nullable=False),
        sa.Column("shipments", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_lcs_shipment_tallies_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lcs_shipment_tallies")),
        sa.UniqueConstraint(
            "tenant_id", "organization_key", name=op.f("uq_lcs_shipment_tallies_tenant_id_organization_key")
        ),
    )
    with op.batch_alter_table("lcs_shipment_tallies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lcs_shipment_tallies_tenant_id"), ["tenant_id"], unique=False)

    # Existing shipments: one tally row per (tenant, organization).
    shipments = sa.table("lcs_shipments", sa.column("tenant_id", sa.Uuid()), sa.column("organization_id", sa.Uuid()))
    groups = (
        op.get_bind()
        .execute(
            sa.select(shipments.c.tenant_id, shipments.c.organization_id, sa.func.count()).group_by(
                shipments.c.tenant_id, shipments.c.organization_id
            )
        )
        .all()
    )
    if groups:
        op.bulk_insert(
            tallies,
            [
                {"id": uuid.uuid4(), "tenant_id": t, "organization_key": str(o) if o else "", "shipments": n}
                for t, o, n in groups
            ],
        )


def downgrade():
    with op.batch_alter_table("lcs_shipment_tallies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lcs_shipment_tallies_tenant_id"))
    op.drop_table("lcs_shipment_tallies")
