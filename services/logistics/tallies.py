"""Shipment tallies: the shipment list's ``x-count`` without ``COUNT(*)``.

Shipments are never deleted (cancel keeps the row, and the list shows canceled ones), so
the number a scope can see only grows when one is created. ``create_shipment`` adds to the
tally of its (tenant, organization) in the same transaction; the unfiltered list reads a
few tally rows. Filtered lists (search, flags) still count the rows they match.
"""

from __future__ import annotations

import sqlalchemy as sa

from models import Scope, Shipment, ShipmentTally, db
from models.base import increment


def _key(organization_id) -> str:
    return str(organization_id) if organization_id else ""


def add(tenant_id, organization_id, count: int = 1) -> None:
    """Record ``count`` new shipments (call inside the transaction that inserts them)."""
    increment(ShipmentTally, {"tenant_id": tenant_id, "organization_key": _key(organization_id)}, "shipments", count)


def total(scope: Scope) -> int:
    return int(db.session.scalar(total_select(scope)))


def total_select(scope: Scope) -> sa.Select:
    """How many shipments ``scope`` sees: the same rule as ``Scope.select`` (its tenant; its
    organizations plus shipments outside any organization)."""
    t = ShipmentTally
    stmt = sa.select(sa.func.coalesce(sa.func.sum(t.shipments), 0))
    if scope.tenant_id is not None:
        stmt = stmt.where(t.tenant_id == scope.tenant_id)
    if scope.organization_ids is not None:
        stmt = stmt.where(t.organization_key.in_([""] + [_key(o) for o in scope.organization_ids]))
    return stmt


def recount(tenant_id) -> None:
    """Rebuild one tenant's tallies from the shipments table (after bulk loads that bypass
    ``create_shipment``; the migration does the same for existing data)."""
    db.session.execute(sa.delete(ShipmentTally).where(ShipmentTally.tenant_id == tenant_id))
    groups = db.session.execute(
        sa.select(Shipment.organization_id, sa.func.count())
        .where(Shipment.tenant_id == tenant_id)
        .group_by(Shipment.organization_id)
    ).all()
    for organization_id, count in groups:
        db.session.add(ShipmentTally(tenant_id=tenant_id, organization_key=_key(organization_id), shipments=count))
    db.session.flush()
