"""Benchmark: evaluating 100 enabled business rules on one event (goal: median < 5 ms).

A tenant gets 100 enabled rules on (lcs.parcel, labeling) — nested AND/OR groups, field-to-
field comparisons, IN lists, templates, text operators, a MATCHES — and one event runs them:

* ``evaluate``: discovery (the version stamp read + the compiled cache) and the evaluation of
  all 100 rules with their actions worked out — what every event pays;
* ``with logs``: the same plus writing the 100 execution-log rows and committing, as a
  "before" event that is allowed does;
* ``SELECT 1``: one database round trip measured in the same run, for scale.

    .venv/bin/python bench/rules.py [--events 500] [--rules 100]

Uses a scratch SQLite database, or ``DATABASE_URL`` (e.g. a scratch PostgreSQL database).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app, database_url
from models import db
from schemas.business_rules import BusinessRuleCreate
from services import accounts
from services.acl import SYSTEM
from services.rules import engine, store


def rule_body(i: int, tenant_id) -> BusinessRuleCreate:
    kinds = [
        {
            "operator": "AND",
            "rules": [
                {"field": "weight", "operator": ">", "value": i * 10},
                {"field": "weight", "operator": "<=", "valueField": "method.max_weight"},
                {
                    "operator": "OR",
                    "rules": [
                        {"field": "shipment.country_code", "operator": "IN", "value": ["NL", "BE", "DE"]},
                        {"field": "shipment.type", "operator": "=", "value": "collect"},
                    ],
                },
            ],
        },
        {"operator": "NOT", "rules": [{"field": "weight", "operator": ">", "valueField": "method.max_weight"}]},
        {
            "operator": "AND",
            "rules": [
                {"field": "number", "operator": "STARTS_WITH", "value": "00"},
                {"field": "shipment.order_id", "operator": "MATCHES", "value": r"^WEB-\d+$"},
                {"field": "tracking_code", "operator": "IS_NOT_EMPTY"},
            ],
        },
        {
            "operator": "OR",
            "rules": [
                {"field": "shipment.ship_at", "operator": "<", "value": "{{now}}"},
                {"field": "items", "operator": "CONTAINS", "value": "MUG-BLUE"},
                {"field": "items.length", "operator": ">=", "value": 2},
            ],
        },
    ]
    return BusinessRuleCreate(
        tenantId=tenant_id,
        ruleId=f"bench-{i:03d}",
        ruleName=f"Bench rule {i}",
        ruleType="GUARD" if i % 4 == 1 else "VALIDATION",
        entityType="lcs.parcel",
        eventType="labeling",
        priority=i % 7,
        conditionExpression=kinds[i % len(kinds)],
        successActions=[{"type": "SHOW_INFO", "config": {"message": "ok {{number}}"}}] if i % 5 == 0 else None,
        failureActions=[{"type": "SHOW_WARNING", "config": {"message": "{{number}}: {{weight}} g"}}],
    )


RECORD = {
    "id": "b7a0c7a2-0000-4000-8000-000000000001",
    "number": "008712345600000017",
    "weight": 900,
    "tracking_code": "3SABC",
    "items": ["MUG-BLUE", "TEA-EARL"],
    "method": {"name": "PostNL", "max_weight": 23000},
    "shipment": {
        "number": "S-000001",
        "type": "delivery",
        "order_id": "WEB-1001",
        "country_code": "NL",
        "ship_at": "2026-11-20T10:00:00Z",
    },
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=500)
    ap.add_argument("--rules", type=int, default=100)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="wharf-bench-")
    url = database_url(os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db", tmp)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "b" * 48})
    with app.app_context():
        upgrade()
        tenant = accounts.create_tenant(f"Bench {time.time():.0f}")
        db.session.commit()
        for i in range(args.rules):
            store.create_rule(SYSTEM, rule_body(i, tenant.id))
        env = engine.env_for(None, tenant.id)

        def evaluate(write_logs: bool) -> float:
            t0 = time.perf_counter()
            rules, skipped = engine.discover(tenant.id, "lcs.parcel", "labeling")
            record = dict(RECORD)
            result = engine.run_rules(rules, record, env, dry_run=not write_logs, skipped=skipped)
            if write_logs:
                engine.write_logs(
                    engine.log_rows(
                        result,
                        tenant_id=tenant.id,
                        entity_type="lcs.parcel",
                        entity_id=record["id"],
                        event_type="labeling",
                        record=record,
                    )
                )
                db.session.commit()
            elapsed = (time.perf_counter() - t0) * 1000
            assert len(result.runs) == args.rules, len(result.runs)
            return elapsed

        def select_one() -> float:
            t0 = time.perf_counter()
            db.session.execute(sa.text("SELECT 1")).scalar()
            return (time.perf_counter() - t0) * 1000

        for _ in range(50):  # warm up: compile the rules once, fill the caches
            evaluate(False)
            select_one()
        loads = engine.cache.loads
        bare, logged, ping = [], [], []
        for _ in range(args.events):
            bare.append(evaluate(False))
            ping.append(select_one())
        for _ in range(max(50, args.events // 5)):
            logged.append(evaluate(True))
        assert engine.cache.loads == loads, "rules were recompiled during the run"
        db.session.rollback()
    dialect = url.split(":", 1)[0]
    print(f"{args.rules} enabled rules on one event, {args.events} events, {dialect}")
    print(
        f"  evaluate (discover + 100 rules + actions): median {statistics.median(bare):6.3f} ms   "
        f"p95 {percentile(bare, 95):6.3f} ms   (goal < 5 ms)"
    )
    print(
        f"  with logs (+ 100 log rows, commit):        median {statistics.median(logged):6.3f} ms   "
        f"p95 {percentile(logged, 95):6.3f} ms"
    )
    print(
        f"  SELECT 1 round trip:                       median {statistics.median(ping):6.3f} ms   "
        f"p95 {percentile(ping, 95):6.3f} ms"
    )


if __name__ == "__main__":
    main()
