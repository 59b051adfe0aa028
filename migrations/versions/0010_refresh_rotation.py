"""refresh rotation: refresh tokens already exchanged, to recognise one used twice

Revision ID: 0010_refresh_rotation
Revises: 0009_password_resets
Create Date: 2026-11-24 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010_refresh_rotation"
down_revision = "0009_password_resets"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "used_refresh_tokens",
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["auth_sessions.id"], name=op.f("fk_used_refresh_tokens_session_id_auth_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_used_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_used_refresh_tokens_token_hash")),
    )
    with op.batch_alter_table("used_refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_used_refresh_tokens_session_id"), ["session_id"], unique=False)


def downgrade():
    # Without the table a replayed token is simply unknown (401): sessions stay as they are.
    with op.batch_alter_table("used_refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_refresh_tokens_session_id"))
    op.drop_table("used_refresh_tokens")
