"""``flask --app app …`` commands: init, create-admin, seed-demo, worker."""

from __future__ import annotations

import uuid
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from models import Hub, Organization, Scope, Tenant, User, db
from printhub.agent import run_agent
from schemas.spl import SplHubModel, SplPrinterModel, SplStationModel
from services import directory, roles, toggles, users
from services.acl import SYSTEM
from services.commands import command
from services.errors import DomainError
from services.printing import hubs, printers, stations

DEFAULT_TENANT = "Default"
DEMO_TENANT = "Demo Warehouse"
DEMO_USERS = [
    # (email, password, name, role)
    ("admin@demo.wharf.test", "wharf-admin-demo", "Dana Admin", roles.ADMINISTRATOR),
    ("picker@demo.wharf.test", "wharf-picker-demo", "Pat Picker", roles.WAREHOUSE_STAFF),
]


def tenant_named(name: str) -> Tenant:
    """The live tenant with this id, or called ``name``, created when there is none. Names
    are not unique (a tenant admin may rename their tenant to anything), so several matches
    are refused, not guessed: ``create-admin`` must never put a super admin in the wrong
    tenant (give the tenant's id instead)."""
    live = sa.select(Tenant).where(Tenant.deleted_at.is_(None))
    try:
        by_id = db.session.scalars(live.where(Tenant.id == uuid.UUID(name))).first()
    except ValueError:
        by_id = None
    if by_id is not None:
        return by_id
    found = db.session.scalars(live.where(Tenant.name == name).limit(2)).all()
    if len(found) > 1:
        raise click.ClickException(f"Several tenants are named {name!r}: give the tenant's id instead")
    return found[0] if found else directory.create_tenant(SYSTEM, name=name)


def _existing_tenant(name: str) -> Tenant:
    """The live tenant with this id or (unique) name; never creates one."""
    live = sa.select(Tenant).where(Tenant.deleted_at.is_(None))
    try:
        found = db.session.scalars(live.where(Tenant.id == uuid.UUID(name))).all()
    except ValueError:
        found = db.session.scalars(live.where(Tenant.name == name).limit(2)).all()
    if len(found) != 1:
        raise click.ClickException(f"No single tenant {name!r}: give the tenant's id")
    return found[0]


DEMO_PRODUCTS = [
    # (sku, description, barcode, position, walk order)
    ("MUG-BLUE", "Enamel mug, blue", "4006381333931", "A-01-1", 1),
    ("MUG-RED", "Enamel mug, red", "4006381333948", "A-01-2", 2),
    ("TEA-EARL", "Earl Grey, 100 g", "8710398503968", "B-04-1", 3),
    ("KETTLE-S", "Stove kettle, steel", "5012345678900", "C-12-3", 4),
]
# The demo location's own address: the return (sender) address on its labels.
DEMO_LOCATION_ADDRESS = {
    "name": "Wharf Demo Rotterdam DC",
    "street": "Waalhaven Zuidzijde",
    "house_number": "21",
    "postal_code": "3089 JH",
    "city": "Rotterdam",
    "country_code": "NL",
}

DEMO_ADDRESSES = [
    {
        "name": "Anne de Vries",
        "street": "Damrak",
        "house_number": "1",
        "postal_code": "1012LG",
        "city": "Amsterdam",
        "country_code": "NL",
    },
    {
        "name": "Jonas Peeters",
        "street": "Meir",
        "house_number": "50",
        "postal_code": "2000",
        "city": "Antwerpen",
        "country_code": "BE",
    },
    {
        "name": "Clara Schmidt",
        "street": "Hauptstraße",
        "house_number": "7",
        "postal_code": "10115",
        "city": "Berlin",
        "country_code": "DE",
    },
]


def seed_floor(tenant_id) -> int:
    """A location with walk-ordered positions, a method, products and open shipments (once)."""
    from models import Location, Shipment
    from schemas.lcs_reference import LcsFulfilmentLocationModel, LcsLocationSkuModel, LcsMethodModel, LcsProductModel
    from schemas.lcs_shipments import LcsShipmentModel
    from services.logistics import locations, methods, products, shipments

    scope = Scope(tenant_id)
    if db.session.scalars(scope.select(Location)).first() is not None:
        return db.session.scalar(sa.select(sa.func.count()).select_from(scope.select(Shipment).subquery()))
    location = locations.create_location(
        SYSTEM,
        LcsFulfilmentLocationModel(name="Rotterdam DC", reference="RTM", address=DEMO_LOCATION_ADDRESS),
        tenant_id=tenant_id,
    )
    locations.add_positions(SYSTEM, location.id, [p[3] for p in DEMO_PRODUCTS])
    locations.set_skus(SYSTEM, location.id, [LcsLocationSkuModel(sku=p[0], position=p[3]) for p in DEMO_PRODUCTS])
    method = methods.create_method(
        SYSTEM,
        LcsMethodModel(
            carrier_code="postnl",
            name="PostNL Standard",
            max_weight=23000,
            countries=[{"code": c, "amount": 695} for c in ("NL", "BE", "DE")],
            is_enabled=True,  # its labels print: shown as enabled, not "disabled"
        ),
        tenant_id=tenant_id,
    )
    for sku, description, barcode, _, _ in DEMO_PRODUCTS:
        products.create_product(
            SYSTEM,
            LcsProductModel(sku=sku, description=description, barcodes=[barcode], weight=400),
            tenant_id=tenant_id,
        )
    count = 0
    for i, address in enumerate(DEMO_ADDRESSES * 2):
        items = [
            {
                "sku": DEMO_PRODUCTS[(i + k) % 4][0],
                "description": DEMO_PRODUCTS[(i + k) % 4][1],
                "quantity": 1 + (i + k) % 2,
            }
            for k in range(2)
        ]
        shipments.create_shipment(
            SYSTEM,
            LcsShipmentModel(
                tenant_id=tenant_id,
                method_id=method.id,
                items=items,
                order_id=f"WEB-{1001 + i}",
                # sent from the demo location: its address is the labels' return address
                addressing={
                    "to": {"address": address},
                    "from": {"entity_type": "location", "entity_id": str(location.id)},
                },
            ),
        )
        count += 1
    return count


@command()
def seed_printing(tenant_id) -> str | None:
    """A hub, a ZPL printer on 127.0.0.1:9100 and the pack station PACK-1 using it (once);
    the hub's secret when it was created now (it is shown nowhere else)."""
    scope = Scope(tenant_id)
    if db.session.scalars(scope.select(Hub)).first() is not None:
        return None
    hub, secret = hubs.create_hub(
        SYSTEM, SplHubModel(name="Dock hub", description="Outbound, benches 1–4"), tenant_id=tenant_id
    )
    body = {
        "name": "Bench 1 Zebra",
        "hub_id": hub.id,
        "connection": {"interface": "network", "address": "127.0.0.1:9100"},
    }
    zebra = printers.create_printer(SYSTEM, SplPrinterModel(**body))
    stations.create_station(
        SYSTEM, SplStationModel(name="Bench 1", code="PACK-1", printer_id=zebra.id), tenant_id=tenant_id
    )
    return secret


@command()
def _demo_tenant() -> tuple[Tenant, Organization, dict]:
    """The demo tenant, its two organizations and its default roles (made once)."""
    tenant = tenant_named(DEMO_TENANT)
    scope = Scope(tenant.id)
    hq = db.session.scalars(scope.select(Organization).where(Organization.slug == "hq")).first()
    if hq is None:
        hq = directory.create_organization(SYSTEM, name="Headquarters", slug="hq", tenant_id=tenant.id)
        directory.create_organization(
            SYSTEM, name="Rotterdam DC", slug="rotterdam-dc", parent_id=hq.id, tenant_id=tenant.id
        )
    return tenant, hq, roles.seed_default_roles(tenant.id)


def register_cli(app: Flask) -> None:
    @app.cli.command("init")
    def init_command():
        """Create or upgrade the database schema (Alembic, to head)."""
        upgrade()
        created = toggles.ensure_builtin()
        from services import signing_keys

        signing_keys.current_signer()  # the first signing key, so tokens verify from the start
        db.session.commit()
        click.echo(
            "Database is at the latest migration." + (f" Created {created} built-in toggles." if created else "")
        )

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option(
        "--tenant", default=DEFAULT_TENANT, show_default=True, help="Tenant id, or name (created if missing)."
    )
    def create_admin_command(email: str, password: str, tenant: str):
        """Create a super admin in TENANT."""
        try:
            t = tenant_named(tenant)
            user = users.create_super_admin(SYSTEM, email=email, password=password, tenant_id=t.id)
        except DomainError as e:
            raise click.ClickException(e.message) from e
        click.echo(f"Super admin {user.email} created in tenant '{t.name}' ({t.id}).")

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create the demo tenant with an admin and a warehouse user (idempotent)."""
        toggles.ensure_builtin()
        tenant, hq, tenant_roles = _demo_tenant()
        for email, password, name, role in DEMO_USERS:
            if db.session.scalars(Scope(tenant.id).select(User).where(User.email == email)).first() is None:
                users.create_user(
                    SYSTEM,
                    email=email,
                    password=password,
                    name=name,
                    organization_id=hq.id,
                    role_ids=[tenant_roles[role].id],
                    tenant_id=tenant.id,
                )
        shipments = seed_floor(tenant.id)
        secret = seed_printing(tenant.id)
        from services.rules.examples import ensure_examples

        ensure_examples(SYSTEM, tenant.id)  # the example business rules (max weight on)
        click.echo(f"Demo tenant '{tenant.name}' ({tenant.id}) is ready ({shipments} demo shipments). Sign in with:")
        for email, password, name, role in DEMO_USERS:
            click.echo(f"  {role:16} {email}  /  {password}")
        if secret:
            click.echo("Demo print hub created; run its agent next to a printer at 127.0.0.1:9100 with:")
            click.echo(f"  python -m printhub --server http://127.0.0.1:5000 --secret {secret}")

    @app.cli.command("prune")
    @click.option(
        "--days", default=30, show_default=True, type=click.IntRange(min=1), help="Keep anything younger than this."
    )
    def prune_command(days: int):
        """Delete dead sign-in sessions, used or expired reset tokens and old throttling records."""
        from services import auth

        gone = auth.prune(days)
        click.echo("Pruned " + ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in gone.items()) + ".")

    @app.cli.command("worker")
    @click.option("--queue", default=None, help='Queue name (default: TASKS_QUEUE, "wharf").')
    @click.option("--burst", is_flag=True, help="Run the queued jobs, then exit.")
    @click.option("--fork", is_flag=True, help="Run each job in a forked work horse (default: one warm process).")
    def worker_command(queue: str | None, burst: bool, fork: bool):
        """Run background tasks (labels, slips, batch PDFs) from Redis; needs REDIS_URL."""
        from services import tasks

        try:
            tasks.work(app, queue=queue, burst=burst, fork=fork)
        except RuntimeError as e:
            raise click.ClickException(str(e)) from e

    @app.cli.command("rotate-keys")
    @click.option(
        "--overlap",
        type=int,
        default=None,
        help="Seconds the previous keys keep verifying (default: the access-token lifetime + 5 minutes).",
    )
    def rotate_keys_command(overlap: int | None):
        """Sign access tokens with a new key; the old ones verify until the overlap ends."""
        from services import signing_keys

        done = signing_keys.rotate(overlap)
        click.echo(f"new signing key {done.new_kid}")
        for kid, until in done.retiring:
            click.echo(f"key {kid} verifies until {until.isoformat()}")
        for kid in done.deleted:
            click.echo(f"key {kid} retired and deleted")

    @app.cli.group("attachments")
    def attachments_group():
        """Attachment storage."""

    @attachments_group.command("migrate")
    @click.option("--to", "target", required=True, help="Code of the partition the files move into.")
    @click.option(
        "--from",
        "source",
        default=None,
        help="Code of the partition they leave (default: every partition on another driver with the same visibility).",
    )
    @click.option("--tenant", default=None, help="Tenant id or name (default: every tenant with partition --to).")
    @click.option("--dry-run", is_flag=True, help="Only count what would move.")
    def attachments_migrate_command(target: str, source: str | None, tenant: str | None, dry_run: bool):
        """Move attachments into partition --to, across storage drivers (local ⇄ s3): each file
        is copied, checked against its checksum, re-pointed, then deleted where it was."""
        from services import attachments

        tenant_id = None
        if tenant:
            found = _existing_tenant(tenant)
            tenant_id = found.id
        try:
            plan = attachments.migration_plan(target, source_code=source, tenant_id=tenant_id)
        except DomainError as e:
            raise click.ClickException(e.message) from e
        if dry_run:
            click.echo(f"{len(plan)} file(s) would move into {target}.")
            return
        moved = failed = copied = 0
        for attachment_id, partition_id in plan:
            try:
                copied += attachments.move_file(attachment_id, partition_id)
                moved += 1
            except DomainError as e:
                failed += 1
                click.echo(f"  {attachment_id}: {e.message}", err=True)
        click.echo(f"Moved {moved} file(s) into {target} ({copied} bytes copied), {failed} failed.")
        if failed:
            raise SystemExit(1)

    @app.cli.command("print-hub")
    @click.option("--server", required=True, help="Wharf's base URL, e.g. https://wharf.example")
    @click.option("--secret", envvar="WHARF_HUB_SECRET", required=True, help="The hub's secret (or WHARF_HUB_SECRET).")
    @click.option(
        "--state-dir", envvar="WHARF_HUB_STATE", default="~/.wharf-print-hub", help="Where the job journal lives."
    )
    @click.option("--wait", type=float, default=20.0, help="Seconds a pull waits for a job.")
    def print_hub_command(server: str, secret: str, state_dir: str, wait: float):
        """Run a print hub agent: pull this hub's jobs from SERVER and print them on the LAN."""
        run_agent(server, secret, Path(state_dir).expanduser(), wait=wait)
