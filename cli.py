"""``flask --app app …`` commands: init, create-admin, seed-demo."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from models import Organization, Scope, Tenant, User, db
from services import accounts, roles, toggles, users
from services.acl import EVERYTHING, Actor

DEFAULT_TENANT = "Default"
DEMO_TENANT = "Demo Warehouse"
DEMO_USERS = [
    # (email, password, name, role)
    ("admin@demo.wharf.test", "wharf-admin-demo", "Dana Admin", roles.ADMINISTRATOR),
    ("picker@demo.wharf.test", "wharf-picker-demo", "Pat Picker", roles.WAREHOUSE_STAFF),
]
SYSTEM = Actor(None, EVERYTHING)  # the CLI acts with full rights; audit rows say "system"


def tenant_named(name: str) -> Tenant:
    tenant = db.session.scalars(sa.select(Tenant).where(Tenant.name == name, Tenant.deleted_at.is_(None))).first()
    return tenant or accounts.create_tenant(name)


def register_cli(app: Flask) -> None:
    @app.cli.command("init")
    def init_command():
        """Create or upgrade the database schema (Alembic, to head)."""
        upgrade()
        created = toggles.ensure_builtin()
        click.echo("Database is at the latest migration." + (f" Created {created} built-in toggles." if created else ""))

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--tenant", default=DEFAULT_TENANT, show_default=True, help="Tenant name (created if missing).")
    def create_admin_command(email: str, password: str, tenant: str):
        """Create a super admin in TENANT."""
        try:
            t = tenant_named(tenant)
            user = accounts.create_user(Scope(t.id), email=email, password=password, name="Administrator", super_admin=True)
            db.session.commit()
        except Exception as e:  # domain errors carry a readable message
            db.session.rollback()
            raise click.ClickException(getattr(e, "message", str(e))) from e
        click.echo(f"Super admin {user.email} created in tenant '{t.name}' ({t.id}).")

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create the demo tenant with an admin and a warehouse user (idempotent)."""
        toggles.ensure_builtin()
        tenant = tenant_named(DEMO_TENANT)
        scope = Scope(tenant.id)
        hq = db.session.scalars(scope.select(Organization).where(Organization.slug == "hq")).first()
        if hq is None:
            hq = accounts.create_organization(scope, "Headquarters", "hq")
            accounts.create_organization(scope, "Rotterdam DC", "rotterdam-dc", parent=hq)
        db.session.commit()
        tenant_roles = roles.seed_default_roles(tenant.id)
        db.session.commit()
        for email, password, name, role in DEMO_USERS:
            if db.session.scalars(scope.select(User).where(User.email == email)).first() is None:
                users.create_user(SYSTEM, email=email, password=password, name=name, organization_id=hq.id,
                                  role_ids=[tenant_roles[role].id], tenant_id=tenant.id)
        click.echo(f"Demo tenant '{tenant.name}' ({tenant.id}) is ready. Sign in with:")
        for email, password, name, role in DEMO_USERS:
            click.echo(f"  {role:16} {email}  /  {password}")
