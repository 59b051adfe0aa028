"""A generated client (issue #13): the OpenAPI document, fed to openapi-python-client at test
time, yields a Python client that drives the floor and the Open Mercato admin API over real
HTTP. Nothing generated is committed; the client is built once per session in a tmp dir."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import time
import uuid

import pytest

from services import roles as roles_svc
from tests.support import PASSWORD

BOSS = "boss@acme.test"
# openapi-python-client parses only JSON, octet-stream, multipart and text bodies; a PDF
# (``type: string, format: binary``) is a file to it once told so.
CONFIG = "content_type_overrides:\n  application/pdf: application/octet-stream\n"


@pytest.fixture(scope="session")
def wc(app, tmp_path_factory):
    """The generated package (``wharf_client_<hex>``), imported from a tmp dir."""
    root = tmp_path_factory.mktemp("generated-client")
    r = app.test_client().get("/api/openapi.json")
    assert r.status_code == 200
    doc, config = root / "openapi.json", root / "config.yaml"
    doc.write_bytes(r.data)
    config.write_text(CONFIG)
    name = f"wharf_client_{uuid.uuid4().hex[:12]}"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(doc),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(root / name),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and (root / name / "client.py").exists(), done.stdout + done.stderr
    _import_unset(root / name)
    sys.path.insert(0, str(root))
    try:
        package = importlib.import_module(name)
        yield _Generated(name, package)
    finally:
        sys.path.remove(str(root))
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]


def _import_unset(package) -> None:
    """openapi-python-client 0.29 bug #1451 (open upstream): an operation with a required body
    under several media types is annotated ``body: X | X | Unset = UNSET`` without importing
    ``Unset``, so the module fails to import (NameError). Add the import, nothing else."""
    for module in (package / "api").rglob("*.py"):
        text = module.read_text()
        if "| Unset" in text and not re.search(r"^from \.\.\.types import .*\bUnset\b", text, re.MULTILINE):
            module.write_text(
                text.replace(
                    "from ...types import Response, UNSET\n", "from ...types import Response, UNSET, Unset\n", 1
                )
            )


class _Generated:
    """``wc.op("lcs.create_shipment")`` → the generated module; ``wc.models.X`` → a model."""

    def __init__(self, name, package):
        self.name = name
        self.package = package
        self.models = importlib.import_module(f"{name}.models")
        self.types = importlib.import_module(f"{name}.types")

    def op(self, operation_id: str):
        tag, fn = operation_id.split(".", 1)
        return importlib.import_module(f"{self.name}.api.{tag}.{tag}_{fn.replace('.', '_')}")

    def client(self, base_url, token=None):
        if token is None:
            return self.package.Client(base_url=base_url, raise_on_unexpected_status=True, timeout=30)
        return self.package.AuthenticatedClient(
            base_url=base_url, token=token, raise_on_unexpected_status=True, timeout=30
        )


@pytest.fixture()
def _files(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENTS_ROOT", str(tmp_path / "files"))
    monkeypatch.setitem(app.config, "TASKS_EAGER", False)  # the label is made in the pool: the client polls


@pytest.fixture()
def boss(make, tenant):
    """A tenant administrator (seeded 'Administrator' role, not a super admin)."""
    make.member(tenant, BOSS, roles_svc.ADMINISTRATOR, name="Tess Admin")
    return BOSS


def sign_in(wc, live_server, email, password=PASSWORD):
    """The generated login operation, as an API client: a bearer token."""
    r = wc.op("auth.login").sync_detailed(
        client=wc.client(live_server), body=wc.models.LoginRequest(email=email, password=password)
    )
    assert r.status_code == 200, r.content
    assert isinstance(r.parsed, wc.models.LoginResponse) and r.parsed.token and r.parsed.expires_in > 0
    return r.parsed.token


def call(module, *args, client, body):
    """``module.sync_detailed(*args, client=client, body=body)``, checking that the client
    sent JSON: the document offers the form encoding only where the seed uses it."""
    sent = module._get_kwargs(*args, body=body)["headers"].get("Content-Type")
    assert sent == "application/json", f"{module.__name__} sends {sent}"
    return module.sync_detailed(*args, client=client, body=body)


def ok(response, status=200, kind=None):
    assert response.status_code == status, response.content
    if kind is not None:
        assert isinstance(response.parsed, kind), response.parsed
    return response.parsed


def test_floor_flow_through_the_generated_client(wc, live_server, boss, _files):
    m = wc.models
    api = wc.client(live_server, sign_in(wc, live_server, boss))

    # products (one barcode each: the scan station resolves them)
    create_product = wc.op("lcs.create_product")
    for sku, barcode, description in (("MUG-1", "4006381333931", "Mug"), ("PLATE-2", "5901234123457", "Plate")):
        p = ok(
            call(
                create_product,
                client=api,
                body=m.LcsProductModel(sku=sku, description=description, barcodes=[barcode], weight=350),
            ),
            200,
            m.LcsProduct,
        )
        assert p.sku == sku and p.barcodes == [barcode]

    # shipments
    to = m.LcsShipmentAddressing(
        address=m.ShipmentAddress(
            name="Ann Jansen",
            street="Damrak",
            house_number="1",
            postal_code="1012LG",
            city="Amsterdam",
            country_code="NL",
        )
    )
    addressing = m.LcsShipmentUpdateModelAddressing(to=to)
    create_shipment = wc.op("lcs.create_shipment")
    shipments = []
    for order, items in (
        (
            "ORD-1",
            [
                m.LcsShipmentItemModel(sku="MUG-1", quantity=2, description="Mug"),
                m.LcsShipmentItemModel(sku="PLATE-2", quantity=1),
            ],
        ),
        ("ORD-2", [m.LcsShipmentItemModel(sku="PLATE-2", quantity=2)]),
    ):
        s = ok(
            call(
                create_shipment, client=api, body=m.LcsShipmentModel(items=items, order_id=order, addressing=addressing)
            ),
            200,
            m.LcsShipment,
        )
        assert s.order_id == order and s.is_editable and not s.is_listed
        shipments.append(s)
    first, second = shipments
    assert [len(s.items) for s in shipments] == [3, 2]
    assert first.addressing.to.address.city == "Amsterdam"

    # a handling list of both
    hl = ok(
        call(
            wc.op("lcs.create_list"),
            client=api,
            body=m.LcsHandlingModel(
                shipments=[m.LcsHandlingModelShipments(id=s.id, label=f"Crate {i}") for i, s in enumerate(shipments, 1)]
            ),
        ),
        200,
        m.LcsHandlingListResponse,
    )
    assert hl.shipments == [first.id, second.id] and hl.number.startswith("HL-")
    detail = ok(wc.op("lcs.handling_list").sync_detailed(hl.id, client=api), 200, m.LcsHandlingList)
    units = {u for line in detail.items for u in line.ids}
    assert units == {u.id for s in shipments for u in s.items}

    # handle every unit: the first shipment's through the items PUT, the second's at the scan station
    r = call(
        wc.op("lcs.update_list_items"),
        hl.id,
        client=api,
        body=[m.LcsHandlingListItemUpdate(id=u.id, is_handled=True) for u in first.items],
    )
    assert r.status_code == 204 and r.content == b""
    scan = wc.op("lcs.scan")
    # by SKU, then by the product's barcode: the last unit finishes the list
    for code, status in (("PLATE-2", "ok"), ("5901234123457", "done")):
        result = ok(call(scan, hl.id, client=api, body=m.LcsScan(code=code)), 200, m.LcsScanResult)
        assert result.status.value == status, result.message
    assert result.progress.handled == result.progress.total == 5 and result.progress.open_ == 0
    assert result.next_ is None and result.is_finished and result.finish_blocked is None
    get_shipment = wc.op("lcs.shipment")
    for s in shipments:
        row = ok(get_shipment.sync_detailed(s.id, client=api), 200, m.LcsShipment)
        assert all(u.is_handled for u in row.items) and row.is_handled

    # a parcel with the first shipment's handled units and a weight
    parcel = ok(
        call(
            wc.op("lcs.create_parcel"),
            client=api,
            body=m.LcsParcelCreateModel(shipment_id=first.id, weight=1250, item_ids=[u.id for u in first.items]),
        ),
        200,
        m.LcsParcel,
    )
    assert parcel.count == 3 and parcel.weight == 1250 and parcel.label.file_id is None

    # its label: 204 + x-task-id, the task polled until done, the PDF downloaded
    r = wc.op("lcs.request_label").sync_detailed(parcel.id, client=api)
    assert r.status_code == 204 and r.content == b"", r.content
    task_id = uuid.UUID(r.headers["x-task-id"])
    get_task = wc.op("mes.task")
    deadline = time.monotonic() + 30
    while True:
        task = get_task.sync(task_id, client=api)
        assert isinstance(task, m.MesTask), task
        if task.status.value in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert task.status.value == "done" and task.progress == 100, (task.status, task.error)
    row = ok(wc.op("lcs.parcel").sync_detailed(parcel.id, client=api), 200, m.LcsParcel)
    assert row.label.file_id == task.result and row.label.label_text == f"(00) {parcel.number}"
    pdf = ok(wc.op("lcs.parcel_label_pdf").sync_detailed(parcel.id, client=api), 200, wc.types.File)
    body = pdf.payload.read()
    assert body.startswith(b"%PDF") and len(body) > 1000


def test_open_mercato_admin_flow_through_the_generated_client(wc, live_server, boss):
    m = wc.models
    api = wc.client(live_server, sign_in(wc, live_server, boss))

    role = ok(wc.op("auth.create_role").sync_detailed(client=api, body=m.RoleCreate(name="Shift lead")), 201, m.Created)
    acl = ok(wc.op("auth.role_acl").sync_detailed(client=api, role_id=role.id), 200, m.RoleAcl)
    assert acl.features == [] and acl.is_super_admin is False
    saved = ok(
        wc.op("auth.update_role_acl").sync_detailed(
            client=api,
            body=m.RoleAclUpdate(
                role_id=role.id, features=["lcs.shipments.read", "auth.users.list"], updated_at=acl.updated_at
            ),
        ),
        200,
        m.AclSaved,
    )
    assert saved.ok is True and saved.sanitized is False
    acl = ok(wc.op("auth.role_acl").sync_detailed(client=api, role_id=role.id), 200, m.RoleAcl)
    assert sorted(acl.features) == ["auth.users.list", "lcs.shipments.read"]

    user = ok(
        wc.op("auth.create_user").sync_detailed(
            client=api, body=m.UserCreate(email="lead@acme.test", password=PASSWORD, name="Lea Lead", roles=[role.id])
        ),
        201,
        m.Created,
    )
    listed = ok(wc.op("auth.users").sync_detailed(client=api, role_id=role.id), 200)
    assert [(u.id, u.email) for u in listed.items] == [(user.id, "lead@acme.test")]

    lead = wc.client(live_server, sign_in(wc, live_server, "lead@acme.test"))
    check = wc.op("auth.feature_check")
    partial = ok(
        check.sync_detailed(
            client=lead,
            body=m.FeatureCheckRequest(features=["lcs.shipments.read", "auth.users.list", "auth.roles.manage"]),
        ),
        200,
        m.FeatureCheckResult,
    )
    assert partial.ok is False and partial.user_id == user.id
    assert sorted(partial.granted) == ["auth.users.list", "lcs.shipments.read"]
    granted = check.sync(client=lead, body=m.FeatureCheckRequest(features=["lcs.shipments.read"]))
    assert isinstance(granted, m.FeatureCheckResult), granted
    assert granted.ok is True and granted.granted == ["lcs.shipments.read"]
    # what the role lacks is refused by the server, and the client reads the declared envelope
    refused = wc.op("auth.create_role").sync_detailed(client=lead, body=m.RoleCreate(name="Nope"))
    assert refused.status_code == 403 and isinstance(refused.parsed, m.ErrorResponse)
