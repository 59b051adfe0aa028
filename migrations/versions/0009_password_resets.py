"""password resets: single-use reset tokens (hashed) and a kind on the throttling records

Revision ID: 0009_password_resets
Revises: 0008_shipment_tallies
Create Date: 2026-11-23 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009_password_resets"
down_revision = "0008_shipment_tallies"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "password_resets",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_ip", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_password_resets_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_password_resets_user_id"), ["user_id"], unique=False)

    # Existing rows are failed sign-ins: the server default labels them.
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="login", nullable=False))
        batch_op.create_index("ix_login_attempts_kind_ip_at", ["kind", "ip", "created_at"], unique=False)


def downgrade():
    # Without the kind, reset records would count as failed sign-ins: drop them.
    op.execute(sa.text("DELETE FROM login_attempts WHERE kind <> 'login'"))
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_kind_ip_at")
        batch_op.drop_column("kind")

    with op.batch_alter_table("password_resets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_resets_user_id"))
    op.drop_table("password_resets")
