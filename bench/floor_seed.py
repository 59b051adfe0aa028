"""Seeding for the floor benchmarks: shipments in bulk (Core inserts, the tally recounted) and
handling lists made through the services, as the app makes them."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import sqlalchemy as sa

from models import Counter, Shipment, ShipmentItem, db, utcnow
from schemas.lcs_lists import LcsHandlingModel, LcsHandlingModelShipments
from schemas.lcs_shipments import LcsShipmentItemModel, LcsShipmentModel
from services.acl import SYSTEM
from services.logistics import lists, shipments, tallies

SKUS = 50


def make_list(app, tenant_id, units: int, per_shipment: int = 20):
    """A handling list of ``units`` units: shipments of ``per_shipment`` units over SKUS SKUs."""
    ids, n = [], 0
    with app.app_context():
        while n < units:
            items = []
            for _ in range(min(per_shipment, units - n)):
                items.append(
                    LcsShipmentItemModel(sku=f"SKU-{n % SKUS:03d}", quantity=1, description=f"Widget {n % SKUS}")
                )
                n += 1
            ids.append(shipments.create_shipment(SYSTEM, LcsShipmentModel(tenant_id=tenant_id, items=items)).id)
        hl = lists.create_list(SYSTEM, LcsHandlingModel(shipments=[LcsHandlingModelShipments(id=i) for i in ids]))
        return hl.id


def seed_shipments(app, tenant_id, count: int, units_each: int = 2, batch: int = 10_000, first: int = 0) -> float:
    """``count`` shipments with ``units_each`` units, by SQLAlchemy core executemany inserts,
    numbered ``B-<first + 1>`` on (so a tenant can be topped up), older ones created earlier."""
    start = time.perf_counter()
    base = utcnow()
    with app.app_context():
        for start_at in range(0, count, batch):
            ship_rows, unit_rows = [], []
            for i in range(start_at, min(count, start_at + batch)):
                n = first + i
                sid = uuid.uuid4()
                number = f"B-{n + 1:07d}"
                created = base - timedelta(seconds=count - i)
                ship_rows.append(
                    {
                        "id": sid,
                        "tenant_id": tenant_id,
                        "number": number,
                        "type": "delivery",
                        "is_outbound": True,
                        "addressing": {
                            "to": {
                                "address": {
                                    "name": f"Customer {n}",
                                    "postal_code": f"{1000 + n % 9000} AB",
                                    "city": "Amsterdam",
                                    "country_code": "NL",
                                }
                            }
                        },
                        "order_id": f"ORD-{n}",
                        "prior_shipments": [],
                        "backorders": [],
                        "overage": [],
                        "is_canceled": False,
                        "search_text": f"{number} ord-{n} customer {n}".lower(),
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                for seq in range(units_each):
                    unit_rows.append(
                        {
                            "id": uuid.uuid4(),
                            "tenant_id": tenant_id,
                            "shipment_id": sid,
                            "sequence": seq,
                            "sku": f"SKU-{(n + seq) % SKUS:03d}",
                            "description": "Bulk widget",
                            "service": [],
                            "rank": 0,
                            "is_handled": False,
                            "is_serviced": False,
                            "is_missing": False,
                            "is_finished": False,
                            "created_at": created,
                            "updated_at": created,
                        }
                    )
            db.session.execute(Shipment.__table__.insert(), ship_rows)
            db.session.execute(ShipmentItem.__table__.insert(), unit_rows)
            db.session.commit()
        db.session.execute(
            sa.update(Counter)
            .where(Counter.tenant_id == tenant_id, Counter.name == "shipment")
            .values(value=Counter.value + count)
        )
        tallies.recount(tenant_id)  # the bulk insert bypassed create_shipment, which keeps the tally
        db.session.commit()
    settle(app)
    return time.perf_counter() - start


def settle(app) -> None:
    """What autovacuum does on a floor that has been running a while, done at once after a
    bulk load: fresh statistics for the plans, and the visibility map that lets counts and
    deep pages read the index alone (without it the outbound search read 1M heap rows:
    190 ms instead of 30)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE lcs_shipments, lcs_shipment_items, lcs_shipment_tallies, lcs_lists"))
