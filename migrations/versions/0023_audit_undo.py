"""audit undo and access log: undo tokens, execution state and context on action entries
(seed 000 …/actions/undo, …/redo), and the access log of sensitive reads (…/audit-logs/access)

Revision ID: 0023_audit_undo
Revises: 0022_progress_jobs
Create Date: 2026-12-05 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0023_audit_undo"
down_revision = "0022_progress_jobs"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undo_token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("execution_state", sa.String(length=16), server_default="done", nullable=False))
        batch_op.add_column(sa.Column("context", sa.JSON(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_logs_undo_token"), ["undo_token"])
    op.create_table(
        "access_logs",
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("resource_kind", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("access_type", sa.String(length=16), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_api_key_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(length=320), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_access_logs_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_logs")),
    )
    with op.batch_alter_table("access_logs", schema=None) as batch_op:
        batch_op.create_index("ix_access_logs_resource", ["resource_kind", "resource_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_logs_actor_user_id"), ["actor_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_logs_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_logs_tenant_id"), ["tenant_id"], unique=False)


def downgrade():
    op.drop_table("access_logs")
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_logs_undo_token"), type_="unique")
        batch_op.drop_column("context")
        batch_op.drop_column("execution_state")
        batch_op.drop_column("undo_token")
