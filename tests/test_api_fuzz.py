"""Property-based tests over the whole OpenAPI document (schemathesis): every operation,
with its declared examples and generated valid and invalid input, as an administrator and
as warehouse staff,
answers without a server error and inside its declared response schema.

Bounded for CI: ``WHARF_FUZZ_EXAMPLES`` examples per operation (default 12).
Run one module with ``pytest tests/test_api_fuzz.py -k api_keys``."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from models import db
from services import roles, users
from tests.support import PASSWORD, SYSTEM, new_organization, new_tenant

EXAMPLES = int(os.environ.get("WHARF_FUZZ_EXAMPLES", "12"))
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.response_schema_conformance]


@pytest.fixture()
def callers(app, client, tmp_path, monkeypatch):
    """An administrator (the seeded ``*`` role) and a warehouse-staff user of one tenant;
    uploads land in a scratch directory."""
    monkeypatch.setitem(app.config, "ATTACHMENTS_ROOT", str(tmp_path / "attachments"))
    with app.app_context():
        tenant = new_tenant("Fuzz").id
        seeded = roles.seed_default_roles(tenant)
        db.session.commit()
        new_organization(tenant, "HQ", "hq")
        for email, role in (("admin@fuzz.test", roles.ADMINISTRATOR), ("staff@fuzz.test", roles.WAREHOUSE_STAFF)):
            users.create_user(SYSTEM, email=email, password=PASSWORD, role_ids=[seeded[role].id], tenant_id=tenant)
    out = {}
    for who in ("admin", "staff"):
        r = client.post("/api/auth/login", json={"email": f"{who}@fuzz.test", "password": PASSWORD})
        out[who] = {"Authorization": f"Bearer {r.get_json()['token']}"}
    return out


EXCLUDED = {"/api/auth/logout"}  # ends the sign-in the other cases run as
TAGS = [
    "api_keys",
    "attachments",
    "audit_logs",
    "auth",
    "business_rules",
    "cnt",
    "directory",
    "feature_toggles",
    "lcs",
    "mes",
    "plans",
    "progress",
]


@pytest.mark.parametrize("tag", TAGS)
def test_no_server_error_and_answers_as_declared(app, callers, tag):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    mine = [op for op in operations if (op.definition.raw.get("tags") or [""])[0] == tag and op.path not in EXCLUDED]
    assert mine or tag not in TAGS, f"no operations tagged {tag}"
    failures = []
    plan = [(op, mode.value, op.as_strategy(generation_mode=mode)) for op in mine for mode in MODES]
    plan += [(op, "examples", strategy) for op in mine for strategy in op.get_strategies_from_examples()]
    for op, mode, strategy in plan:

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            for who in ("admin", "staff"):
                case.call_and_validate(headers=callers[who], checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            continue  # nothing of this operation can be made invalid (e.g. a free-text path segment)
        except Exception as e:  # noqa: BLE001 - every operation's failure is collected and reported together
            failures.append(f"{op.method.upper()} {op.path} ({mode}): {str(e)[:1500]}")
    assert not failures, f"{len(failures)} of {len(mine)} operations failed:\n\n" + "\n\n".join(failures)
