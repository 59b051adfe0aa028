"""print spooler (seed 001 /spl, issue 17): hubs, their logs, printers, the job queue, pack
stations, a tenant's ZPL label template, and each person's default printer

Revision ID: 0017_print_spooler
Revises: 0016_parcel_label_blocked
Create Date: 2026-12-04 21:41:48.584078

"""

import sqlalchemy as sa
from alembic import op

revision = "0017_print_spooler"
down_revision = "0016_parcel_label_blocked"
branch_labels = None
depends_on = None


STAFF_ROLE, STAFF_PRINTS = "Warehouse staff", ("spl.print",)
roles = sa.table("roles", sa.column("id"), sa.column("name"))
role_acls = sa.table("role_acls", sa.column("id"), sa.column("role_id"), sa.column("features", sa.JSON))


def _staff_features(change) -> None:
    """The built-in Warehouse staff role prints (its labels go to the bench's printer)."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(role_acls.c.id, role_acls.c.features)
        .select_from(role_acls.join(roles, roles.c.id == role_acls.c.role_id))
        .where(roles.c.name == STAFF_ROLE)
    ).all()
    for row_id, features in rows:
        new = change(list(features or []))
        if new != features:
            conn.execute(role_acls.update().where(role_acls.c.id == row_id).values(features=new))


def upgrade():
    op.create_table(
        "spl_hubs",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("network", sa.JSON(), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=True),
        sa.Column("remote_ip_address", sa.String(length=64), nullable=True),
        sa.Column("version", sa.String(length=40), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_spl_hubs_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spl_hubs")),
        sa.UniqueConstraint("uuid", name=op.f("uq_spl_hubs_uuid")),
    )
    with op.batch_alter_table("spl_hubs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spl_hubs_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "spl_label_templates",
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_spl_label_templates_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spl_label_templates")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_spl_label_templates_tenant_id")),
    )
    with op.batch_alter_table("spl_label_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spl_label_templates_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "spl_hub_logs",
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("message", sa.String(length=2000), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("is_resolved", sa.Boolean(), nullable=False),
        sa.Column("job_reference", sa.String(length=120), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["hub_id"], ["spl_hubs.id"], name=op.f("fk_spl_hub_logs_hub_id_spl_hubs")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_spl_hub_logs_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spl_hub_logs")),
    )
    with op.batch_alter_table("spl_hub_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spl_hub_logs_hub_id"), ["hub_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_spl_hub_logs_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "spl_printers",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("default_encoding", sa.String(length=16), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("connection", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("inbox_id", sa.String(length=120), nullable=True),
        sa.Column("last_printed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["hub_id"], ["spl_hubs.id"], name=op.f("fk_spl_printers_hub_id_spl_hubs")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_spl_printers_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spl_printers")),
    )
    with op.batch_alter_table("spl_printers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spl_printers_hub_id"), ["hub_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_spl_printers_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "spl_jobs",
        sa.Column("job", sa.Text(), nullable=False),
        sa.Column("tag", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("printer_id", sa.Uuid(), nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("schedule_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("reprint_of", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["hub_id"], ["spl_hubs.id"], name=op.f("fk_spl_jobs_hub_id_spl_hubs")),
        sa.ForeignKeyConstraint(["printer_id"], ["spl_printers.id"], name=op.f("fk_spl_jobs_printer_id_spl_printers")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_spl_jobs_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spl_jobs")),
        sa.UniqueConstraint("tenant_id", "reference", name=op.f("uq_spl_jobs_tenant_id_reference")),
    )
    with op.batch_alter_table("spl_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spl_jobs_hub_id"), ["hub_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_spl_jobs_printer_id"), ["printer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_spl_jobs_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_spl_jobs_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "spl_stations",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("printer_id", sa.Uuid(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["printer_id"], ["spl_printers.id"], name=op.f("fk_spl_stations_printer_id_spl_printers")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_spl_stations_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spl_stations")),
    )
    with op.batch_alter_table("spl_stations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spl_stations_printer_id"), ["printer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_spl_stations_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "uq_spl_stations_live_code",
            ["tenant_id", "code"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("default_printer_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_users_default_printer_id_spl_printers"), "spl_printers", ["default_printer_id"], ["id"]
        )

    _staff_features(lambda f: [*f, *(p for p in STAFF_PRINTS if p not in f)])


def downgrade():
    _staff_features(lambda f: [p for p in f if p not in STAFF_PRINTS])
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_default_printer_id_spl_printers"), type_="foreignkey")
        batch_op.drop_column("default_printer_id")

    with op.batch_alter_table("spl_stations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_spl_stations_live_code",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_spl_stations_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_spl_stations_printer_id"))

    op.drop_table("spl_stations")
    with op.batch_alter_table("spl_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spl_jobs_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_spl_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_spl_jobs_printer_id"))
        batch_op.drop_index(batch_op.f("ix_spl_jobs_hub_id"))

    op.drop_table("spl_jobs")
    with op.batch_alter_table("spl_printers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spl_printers_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_spl_printers_hub_id"))

    op.drop_table("spl_printers")
    with op.batch_alter_table("spl_hub_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spl_hub_logs_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_spl_hub_logs_hub_id"))

    op.drop_table("spl_hub_logs")
    with op.batch_alter_table("spl_label_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spl_label_templates_tenant_id"))

    op.drop_table("spl_label_templates")
    with op.batch_alter_table("spl_hubs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spl_hubs_tenant_id"))

    op.drop_table("spl_hubs")
