"""progress jobs (seed 000 /progress): the task table also holds jobs integrations report
(a name, organization, parent job, ETA, cancellable and external flags, a cancel request;
the total may be unknown); progress.view goes to every role or user ACL that picks
(lcs.handling.write), so the floor sees its running jobs

Revision ID: 0022_progress_jobs
Revises: 0021_global_roles
Create Date: 2026-12-05 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0022_progress_jobs"
down_revision = "0021_global_roles"
branch_labels = None
depends_on = None

PICK, VIEW = "lcs.handling.write", "progress.view"

role_acls = sa.table("role_acls", sa.column("id"), sa.column("features", sa.JSON))
user_acls = sa.table("user_acls", sa.column("id"), sa.column("features", sa.JSON))


def _rewrite(change) -> None:
    conn = op.get_bind()
    for table in (role_acls, user_acls):
        for row_id, features in conn.execute(sa.select(table.c.id, table.c.features)).all():
            new = change(list(features or []))
            if new != (features or []):
                conn.execute(table.update().where(table.c.id == row_id).values(features=new))


def upgrade():
    with op.batch_alter_table("mes_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("eta_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("organization_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("external", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("cancellable", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("total", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column(
            "description", existing_type=sa.String(length=500), type_=sa.String(length=1000), existing_nullable=False
        )
        batch_op.create_index(batch_op.f("ix_mes_tasks_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mes_tasks_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_mes_tasks_organization_id_organizations"), "organizations", ["organization_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_mes_tasks_parent_id_mes_tasks"), "mes_tasks", ["parent_id"], ["id"], ondelete="SET NULL"
        )

    def add(features):
        return [*features, VIEW] if PICK in features and VIEW not in features else features

    _rewrite(add)


def downgrade():
    _rewrite(lambda features: [f for f in features if f != VIEW])
    conn = op.get_bind()
    tasks = sa.table(
        "mes_tasks", sa.column("total", sa.Integer), sa.column("status"), sa.column("description", sa.String)
    )
    conn.execute(tasks.update().where(tasks.c.total.is_(None)).values(total=1))
    conn.execute(tasks.update().where(tasks.c.status == "cancelled").values(status="failed"))
    conn.execute(tasks.update().values(description=sa.func.substr(tasks.c.description, 1, 500)))
    with op.batch_alter_table("mes_tasks", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_mes_tasks_parent_id_mes_tasks"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_mes_tasks_organization_id_organizations"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_mes_tasks_parent_id"))
        batch_op.drop_index(batch_op.f("ix_mes_tasks_organization_id"))
        batch_op.alter_column(
            "description", existing_type=sa.String(length=1000), type_=sa.String(length=500), existing_nullable=False
        )
        batch_op.alter_column("total", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("cancel_requested_at")
        batch_op.drop_column("cancellable")
        batch_op.drop_column("external")
        batch_op.drop_column("parent_id")
        batch_op.drop_column("organization_id")
        batch_op.drop_column("eta_seconds")
        batch_op.drop_column("label")
