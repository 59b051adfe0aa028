"""The access matrix, generated from the URL map: every protected JSON endpoint × five
callers. Each endpoint needs a sample request below; a new route without one fails here."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa

from models import Scope, Task, User, db
from schemas.api_keys import ApiKeyCreate
from schemas.attachments import AttachmentPartitionCreate
from schemas.business_rules import BusinessRuleCreate, RuleExecuteRequest, RuleSetCreate, RuleSetMemberCreate
from schemas.feature_toggles import FeatureToggleCreate
from schemas.lcs_lists import LcsHandlingModel, LcsHandlingModelShipments
from schemas.lcs_parcels import LcsParcelCreateModel
from schemas.lcs_shipments import LcsShipmentItemModel, LcsShipmentModel
from schemas.plans import PlanCreate
from services import roles
from tests.support import PASSWORD, SYSTEM, Factory, object_grant, protected_operations, with_features


@dataclass
class Sample:
    query: dict = field(default_factory=dict)
    json: dict | None = None
    record: bool = False  # targets a tenant-A record: another tenant's admin must get 404
    path: dict = field(default_factory=dict)  # values for the rule's <converters>
    data: dict | None = None  # form / multipart body (e.g. a file upload)
    holds: tuple = ()  # features the body hands out, which the "exact" caller must hold too
    expect: dict = field(default_factory=dict)  # caller name -> status, where the body decides


class World:
    """Tenant A holds the records; tenant B has its own admin; a super admin lives in 'Default'."""

    def __init__(self, app):
        self.app, make = app, Factory(app)
        self.a, self.b, default = (make.tenant(n) for n in ("Tenant A", "Tenant B", "Default"))
        self.hq = make.organization(self.a, "HQ", "hq")
        make.member(self.b, "admin@b.test", roles.ADMINISTRATOR)
        make.user(self.a, "plain@a.test")
        make.user(default, "root@d.test", super_admin=True)
        self.counter = 0

    def fresh_role(self) -> str:
        with self.app.app_context():
            self.counter += 1
            return str(roles.create_role(SYSTEM, f"Role {self.counter}", tenant_id=self.a).id)

    def fresh_undo_token(self) -> str:
        """The undo token of a fresh tenant-A role's creation."""
        from models import AuditLog

        role_id = self.fresh_role()
        with self.app.app_context():
            return db.session.scalar(
                sa.select(AuditLog.undo_token).where(AuditLog.resource_id == role_id, AuditLog.action_type == "create")
            )

    def fresh_undone(self) -> str:
        """The id of an undone entry (a tenant-A role's creation, undone): redoable."""
        from models import AuditLog
        from services import undo

        token = self.fresh_undo_token()
        with self.app.app_context():
            return (
                str(undo.undo(SYSTEM, token).id)
                if db.session.scalar(sa.select(AuditLog.id).where(AuditLog.undo_token == token))
                else ""
            )

    def fresh_user(self) -> str:
        self.counter += 1
        return str(Factory(self.app).user(self.a, f"u{self.counter}@a.test"))

    def fresh_org(self) -> str:
        self.counter += 1
        return str(Factory(self.app).organization(self.a, f"Org {self.counter}", f"org-{self.counter}"))

    def fresh_tenant(self) -> str:
        self.counter += 1
        return str(Factory(self.app).tenant(f"Spare {self.counter}"))

    def fresh_key(self) -> str:
        from services import api_keys

        with self.app.app_context():
            self.counter += 1
            return str(
                api_keys.create_key(
                    SYSTEM, ApiKeyCreate(name=f"Key {self.counter}", description=None, roles=[], tenantId=self.a)
                )[0].id
            )

    def fresh_toggle(self, kind: str = "boolean", value=True) -> tuple[str, str]:
        """A new global toggle: (id, identifier)."""
        from services import toggles

        with self.app.app_context():
            self.counter += 1
            t = toggles.create_toggle(
                SYSTEM,
                FeatureToggleCreate(identifier=f"matrix.t{self.counter}", name="Matrix", type=kind, defaultValue=value),
            )
            return str(t.id), t.identifier

    def fresh_attachment(self) -> str:
        """A small text file on a tenant-A shipment record."""
        import io
        import tempfile

        from services import attachments

        with self.app.app_context():
            self.app.config.setdefault("ATTACHMENTS_ROOT", None)
            if not self.app.config["ATTACHMENTS_ROOT"]:
                self.app.config["ATTACHMENTS_ROOT"] = tempfile.mkdtemp(prefix="wharf-matrix-files-")
            self.counter += 1
            return str(
                attachments.store(
                    SYSTEM,
                    attachments.Upload("note.txt", io.BytesIO(b"matrix")),
                    entity_id="lcs:shipment",
                    record_id=f"r{self.counter}",
                    tenant_id=self.a,
                ).id
            )

    def s3_object(self) -> str:
        """A key in tenant A's area of the S3 storage provider (``s3_bucket`` configures it)."""
        import io

        from services import storage

        with self.app.app_context():
            self.counter += 1
            key = f"matrix/{self.counter}.txt"
            storage.S3Driver(storage.s3_settings(None), prefix=f"storage/{self.a}").write(key, io.BytesIO(b"matrix"))
            return key

    def fresh_partition(self) -> str:
        from services import attachments

        with self.app.app_context():
            self.counter += 1
            return str(
                attachments.create_partition(
                    SYSTEM, AttachmentPartitionCreate(code=f"matrix{self.counter}", title="Matrix", tenantId=self.a)
                ).id
            )

    def fresh_plan(self) -> str:
        from services import plans

        with self.app.app_context():
            self.counter += 1
            return str(plans.create_plan(SYSTEM, PlanCreate(name=f"Plan {self.counter}", quota=10, tenantId=self.a)).id)

    def upload_body(self) -> dict:
        import io

        self.fresh_attachment()  # also points ATTACHMENTS_ROOT at a scratch directory
        return {"entityId": "lcs:shipment", "recordId": "r1", "file": (io.BytesIO(b"upload"), "matrix.txt")}

    def floor_shipment(self, quantity: int = 2) -> str:
        from services.logistics import shipments

        with self.app.app_context():
            return str(
                shipments.create_shipment(
                    SYSTEM,
                    LcsShipmentModel(
                        tenant_id=self.a,
                        items=[LcsShipmentItemModel(sku="MX-1", quantity=quantity, description="Matrix unit")],
                    ),
                ).id
            )

    def floor_list(self) -> tuple[str, list[str]]:
        """A new list over a new shipment: (list id, unit ids)."""
        from services.logistics import lists

        sid = self.floor_shipment()
        with self.app.app_context():
            hl = lists.create_list(SYSTEM, LcsHandlingModel(shipments=[LcsHandlingModelShipments(id=sid)]))
            units = [str(u["ids"][0]) for u in lists.grouped(hl)] + [
                str(i) for g in lists.grouped(hl) for i in g["ids"][1:]
            ]
            return str(hl.id), units

    def floor_units(self, shipment_id: str) -> list[str]:
        import sqlalchemy as sa

        from models import ShipmentItem

        with self.app.app_context():
            return [
                str(i)
                for i in db.session.scalars(
                    sa.select(ShipmentItem.id).where(ShipmentItem.shipment_id == uuid.UUID(shipment_id))
                )
            ]

    def floor_parcel(self, packed: bool = False, in_transit: bool = False) -> tuple[str, str]:
        """(parcel id, shipment id): a parcel of a new shipment, optionally packed / shipped."""
        from services.logistics import parcels

        sid = self.floor_shipment()
        items = self.floor_units(sid) if packed or in_transit else []
        with self.app.app_context():
            pid = str(
                parcels.create_parcel(SYSTEM, LcsParcelCreateModel(shipment_id=sid, weight=500, item_ids=items)).id
            )
            if in_transit:
                parcels.mark_transit(SYSTEM, pid)
            return pid, sid

    def ref_location(self) -> str:
        """A tenant-A location with position A1 holding SKU S1 (logistics reference data)."""
        from schemas.lcs_reference import LcsFulfilmentLocationModel, LcsLocationSkuModel
        from services.logistics import locations

        with self.app.app_context():
            self.counter += 1
            loc = locations.create_location(
                SYSTEM, LcsFulfilmentLocationModel(name=f"Loc {self.counter}"), tenant_id=self.a
            )
            locations.reorder_positions(SYSTEM, loc.id, ["A1"])
            locations.set_skus(SYSTEM, loc.id, [LcsLocationSkuModel(sku="S1", position="A1")])
            return str(loc.id)

    def ref_method(self) -> str:
        from schemas.lcs_reference import LcsMethodModel
        from services.logistics import methods

        with self.app.app_context():
            self.counter += 1
            return str(
                methods.create_method(
                    SYSTEM, LcsMethodModel(carrier_code="mx", name=f"Method {self.counter}"), tenant_id=self.a
                ).id
            )

    def ref_product(self) -> str:
        from schemas.lcs_reference import LcsProductModel
        from services.logistics import products

        with self.app.app_context():
            self.counter += 1
            return str(products.create_product(SYSTEM, LcsProductModel(sku=f"MX-P{self.counter}"), tenant_id=self.a).id)

    # business rules (blueprints/business_rules): records of tenant A; the rules listen to an
    # entity no event fires, so they never get in the way of the floor samples.
    def fresh_rule(self) -> str:
        from services.rules import store

        with self.app.app_context():
            self.counter += 1
            return str(
                store.create_rule(
                    SYSTEM,
                    BusinessRuleCreate(
                        tenantId=self.a,
                        ruleId=f"matrix-{self.counter}",
                        ruleName="Matrix rule",
                        ruleType="GUARD",
                        entityType="matrix.thing",
                        conditionExpression={"field": "n", "operator": ">", "value": 1},
                    ),
                ).id
            )

    def fresh_set(self) -> str:
        from services.rules import store

        with self.app.app_context():
            self.counter += 1
            return str(
                store.create_set(
                    SYSTEM, RuleSetCreate(tenantId=self.a, setId=f"matrix-set-{self.counter}", setName="Matrix set")
                ).id
            )

    def fresh_member(self) -> tuple[str, str]:
        from services.rules import store

        set_id, rule_id = self.fresh_set(), self.fresh_rule()
        with self.app.app_context():
            return set_id, str(store.add_member(SYSTEM, set_id, RuleSetMemberCreate(ruleId=rule_id)).id)

    def fresh_rule_log(self) -> str:
        from models import RuleExecutionLog
        from services.rules import store

        rule_id = uuid.UUID(self.fresh_rule())
        with self.app.app_context():
            store.execute(SYSTEM, RuleExecuteRequest(tenantId=self.a, entityType="matrix.thing", data={"n": 2}))
            logs = Scope(self.a).select(RuleExecutionLog).where(RuleExecutionLog.rule_id == rule_id)
            return str(db.session.scalars(logs).first().id)

    def exact_user(self, features) -> str:
        """A tenant-A user whose override holds exactly ``features``."""
        self.counter += 1
        return with_features(self.app, self.a, f"exact{self.counter}@a.test", features)

    def objects(self) -> set[tuple[str, uuid.UUID]]:
        """Every tenant-A record object grants can name, as (kind, id)."""
        from services.object_permissions import KINDS

        with self.app.app_context():
            return {
                (kind.name, oid)
                for kind in KINDS.values()
                for oid in db.session.scalars(sa.select(kind.model.id).where(kind.model.tenant_id == self.a))
            }

    def fresh_group(self, member: bool = False) -> str:
        from services import user_groups

        with self.app.app_context():
            self.counter += 1
            group = user_groups.create_group(SYSTEM, f"Group {self.counter}", tenant_id=self.a)
            if member:
                user_groups.add_member(SYSTEM, group.id, self.fresh_user())
            return str(group.id)

    def fresh_grant(self) -> str:
        """An object grant: a fresh group denied a fresh shipment on lcs.shipments.read."""
        from services import object_grants

        group, shipment = self.fresh_group(), self.floor_shipment()
        with self.app.app_context():
            return str(
                object_grants.give(
                    SYSTEM, permission_name="lcs.shipments.read", object_id=shipment, can_do=False, group_id=group
                ).id
            )

    def granted_user(self, features, objects, *, inside: bool) -> str:
        """A tenant-A user whose object grants decide ``objects`` for every restrictable
        feature of ``features``: ``inside`` — it holds none of them, each is allowed on the
        objects; else it holds them all, each denied on the objects. Other features it holds."""
        from services.object_permissions import kinds_for

        restrictable = [f for f in features if kinds_for(f)]
        email = self.exact_user([f for f in features if not (inside and f in restrictable)])
        with self.app.app_context():
            user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
        for feature in restrictable:
            for kind, oid in objects:
                if kind in kinds_for(feature):
                    object_grant(self.app, self.a, feature, oid, kind, inside, user_id=user_id)
        return email


def spl_hub(w: World) -> str:
    """A tenant-A print hub."""
    from schemas.spl import SplHubModel
    from services.printing import hubs

    with w.app.app_context():
        w.counter += 1
        return str(hubs.create_hub(SYSTEM, SplHubModel(name=f"Hub {w.counter}"), tenant_id=w.a)[0].id)


def spl_printer(w: World) -> str:
    """A tenant-A ZPL printer on a new hub."""
    from schemas.spl import SplPrinterModel
    from services.printing import printers

    body = {"name": "Zebra", "hub_id": spl_hub(w), "connection": {"interface": "network", "address": "127.0.0.1"}}
    with w.app.app_context():
        return str(printers.create_printer(SYSTEM, SplPrinterModel(**body)).id)


ZPL_JOB = "data:application/zpl;base64,XlhBXkZPNTAsNTBeRkRNYXRyaXheRlNeWFo="


def spl_job(w: World) -> str:
    """A scheduled tenant-A print job."""
    from schemas.spl import SplJobModel
    from services.printing import queue

    with w.app.app_context():
        return str(queue.submit(SYSTEM, SplJobModel(job=ZPL_JOB, tag=spl_printer(w)))[0].id)


def spl_station(w: World) -> tuple[str, str]:
    """(id, code) of a tenant-A pack station with a printer."""
    from schemas.spl import SplStationModel
    from services.printing import stations

    with w.app.app_context():
        w.counter += 1
        code = f"PACK-{w.counter}"
        body = SplStationModel(name=f"Bench {w.counter}", code=code, printer_id=spl_printer(w))
        return str(stations.create_station(SYSTEM, body, tenant_id=w.a).id), code


def spl_log(w: World) -> tuple[str, str]:
    from schemas.spl import SplHubErrorModel
    from services.printing import hubs

    hub_id = spl_hub(w)
    with w.app.app_context():
        return hub_id, str(hubs.add_log(SYSTEM, hub_id, SplHubErrorModel(message="Paper out")).id)


def spl_hub_uuid(w: World) -> str:
    from models import Hub

    hub_id = spl_hub(w)
    with w.app.app_context():
        return str(db.session.get(Hub, uuid.UUID(hub_id)).uuid)


def docs_scratch(w: World) -> None:
    """Generated PDFs go to a scratch directory (the same one ``fresh_attachment`` uses)."""
    import tempfile

    if not w.app.config.get("ATTACHMENTS_ROOT"):
        w.app.config["ATTACHMENTS_ROOT"] = tempfile.mkdtemp(prefix="wharf-matrix-files-")


def docs_list_with_parcel(w: World, labeled: bool = False) -> str:
    """A tenant-A handling list whose shipment has one packed, weighed parcel (optionally labelled)."""
    from services import documents
    from services.logistics import lists, parcels

    docs_scratch(w)
    sid = w.floor_shipment()
    with w.app.app_context():
        hl = lists.create_list(SYSTEM, LcsHandlingModel(shipments=[LcsHandlingModelShipments(id=sid)]))
        pid = parcels.create_parcel(
            SYSTEM, LcsParcelCreateModel(shipment_id=sid, weight=500, item_ids=w.floor_units(sid))
        ).id
        if labeled:
            documents.request_label(SYSTEM, pid)  # TESTING: the task runs at once
        return str(hl.id)


def docs_parcel(w: World, labeled: bool = False) -> str:
    from services import documents

    docs_scratch(w)
    pid = w.floor_parcel(packed=True)[0]
    if labeled:
        with w.app.app_context():
            documents.request_label(SYSTEM, pid)
    return pid


def docs_task(w: World, with_file: bool = False) -> str:
    from services import tasks

    with w.app.app_context():
        if with_file:
            pid = docs_parcel(w, labeled=True)
            return str(db.session.scalars(sa.select(Task.id).where(Task.params["parcel_id"].as_string() == pid)).one())
        return str(tasks.enqueue(SYSTEM, "lcs.parcel.slip", {"parcel_id": docs_parcel(w)}, tenant_id=w.a).id)


def progress_job(w: World) -> str:
    """A cancellable job an integration of tenant A reports (pending: it takes reports and a cancel)."""
    with w.app.app_context():
        t = Task(tenant_id=w.a, name="matrix.import", label="Matrix import", external=True, cancellable=True, params={})
        db.session.add(t)
        db.session.commit()
        return str(t.id)


SAMPLES = {
    # progress jobs (blueprints/progress)
    ("api_progress.jobs", "GET"): lambda w: Sample(query={"includeCompleted": "true"}),
    ("api_progress.create_job", "POST"): lambda w: Sample(json={"jobType": "matrix.import", "name": "Matrix"}),
    ("api_progress.job", "GET"): lambda w: Sample(path={"job_id": progress_job(w)}, record=True),
    ("api_progress.update_job", "PUT"): lambda w: Sample(
        path={"job_id": progress_job(w)}, json={"processedCount": 1}, record=True
    ),
    ("api_progress.cancel_job", "DELETE"): lambda w: Sample(path={"job_id": progress_job(w)}, record=True),
    ("api_progress.active", "GET"): lambda w: Sample(),
    # documents, barcodes and tasks (blueprints/cnt, blueprints/mes, blueprints/lcs/documents.py)
    ("api_cnt.barcode", "GET"): lambda w: Sample(query={"t": "qr", "v": "matrix"}),
    ("api_cnt.html", "POST"): lambda w: (docs_scratch(w), Sample(json={"content": "PHA+eDwvcD4=", "path": "/m"}))[1],
    ("api_cnt.html_inline", "POST"): lambda w: Sample(json={"content": "PHA+eDwvcD4="}),
    ("api_mes.task", "GET"): lambda w: Sample(path={"task_id": docs_task(w)}, record=True),
    ("api_mes.task_file", "GET"): lambda w: Sample(path={"task_id": docs_task(w, with_file=True)}, record=True),
    ("api_lcs.request_label", "POST"): lambda w: Sample(path={"parcel_id": docs_parcel(w)}, record=True),
    ("api_lcs.close_parcel", "POST"): lambda w: Sample(
        path={"parcel_id": docs_parcel(w)}, json={"weight": 900}, record=True
    ),
    ("api_lcs.request_slip", "POST"): lambda w: Sample(path={"parcel_id": docs_parcel(w)}, record=True),
    ("api_lcs.request_list_labels", "POST"): lambda w: Sample(path={"list_id": docs_list_with_parcel(w)}, record=True),
    ("api_lcs.parcel_label_pdf", "GET"): lambda w: Sample(
        path={"parcel_id": docs_parcel(w, labeled=True)}, record=True
    ),
    ("api_lcs.parcel_slip_pdf", "GET"): lambda w: Sample(path={"parcel_id": docs_parcel(w)}, record=True),
    ("api_lcs.request_invoice", "POST"): lambda w: (
        docs_scratch(w),
        Sample(path={"shipment_id": w.floor_shipment()}, record=True),
    )[1],
    ("api_lcs.shipment_invoice_pdf", "GET"): lambda w: Sample(path={"shipment_id": w.floor_shipment()}, record=True),
    ("api_lcs.list_picklist_pdf", "GET"): lambda w: Sample(path={"list_id": w.floor_list()[0]}, record=True),
    ("api_lcs.list_labels_pdf", "GET"): lambda w: Sample(
        path={"list_id": docs_list_with_parcel(w, labeled=True)}, record=True
    ),
    ("api_auth.admin_nav", "GET"): lambda w: Sample(),
    ("api_auth.feature_check", "POST"): lambda w: Sample(json={"features": ["auth.roles.list"]}),
    ("api_auth.features", "GET"): lambda w: Sample(),
    ("api_auth.logout", "GET"): lambda w: Sample(),
    ("api_auth.logout", "POST"): lambda w: Sample(),
    ("api_auth.profile", "GET"): lambda w: Sample(),
    ("api_auth.update_profile", "PUT"): lambda w: Sample(json={"name": "New name"}),
    ("api_auth.roles", "GET"): lambda w: Sample(),
    ("api_auth.create_role", "POST"): lambda w: Sample(json={"name": f"Made {w.fresh_role()}"}),
    ("api_auth.update_role", "PUT"): lambda w: Sample(
        json={"id": w.fresh_role(), "name": f"Renamed {w.counter}"}, record=True
    ),
    ("api_auth.delete_role", "DELETE"): lambda w: Sample(query={"id": w.fresh_role()}, record=True),
    ("api_auth.role_acl", "GET"): lambda w: Sample(query={"roleId": w.fresh_role()}, record=True),
    ("api_auth.update_role_acl", "PUT"): lambda w: Sample(json={"roleId": w.fresh_role(), "features": []}, record=True),
    ("api_auth.users", "GET"): lambda w: Sample(),
    ("api_auth.create_user", "POST"): lambda w: Sample(
        json={"email": f"new{w.fresh_role()[:8]}@x.test", "password": PASSWORD}
    ),
    ("api_auth.update_user", "PUT"): lambda w: Sample(json={"id": w.fresh_user(), "name": "Renamed"}, record=True),
    ("api_auth.delete_user", "DELETE"): lambda w: Sample(query={"id": w.fresh_user()}, record=True),
    ("api_auth.user_acl", "GET"): lambda w: Sample(query={"userId": w.fresh_user()}, record=True),
    ("api_auth.update_user_acl", "PUT"): lambda w: Sample(json={"userId": w.fresh_user(), "features": []}, record=True),
    ("api_directory.tenants", "GET"): lambda w: Sample(),
    ("api_directory.create_tenant", "POST"): lambda w: Sample(json={"name": f"New tenant {w.fresh_role()}"}),
    ("api_directory.update_tenant", "PUT"): lambda w: Sample(json={"id": str(w.a), "name": "Tenant A"}, record=True),
    ("api_directory.delete_tenant", "DELETE"): lambda w: Sample(query={"id": w.fresh_tenant()}, record=True),
    ("api_directory.organizations", "GET"): lambda w: Sample(),
    ("api_directory.create_organization", "POST"): lambda w: Sample(json={"name": f"Made {w.fresh_role()}"}),
    ("api_directory.update_organization", "PUT"): lambda w: Sample(
        json={"id": w.fresh_org(), "name": "Renamed"}, record=True
    ),
    ("api_directory.delete_organization", "DELETE"): lambda w: Sample(query={"id": w.fresh_org()}, record=True),
    ("api_directory.organization_switcher", "GET"): lambda w: Sample(),
    # Callers without a role may work in no organization: HQ is not theirs to select.
    ("api_directory.switch_organization", "POST"): lambda w: Sample(
        json={"organizationId": str(w.hq)}, record=True, expect={"no features": 404, "exact features": 404}
    ),
    ("api_permissions.permissions", "GET"): lambda w: Sample(),
    ("api_permissions.give", "POST"): lambda w: Sample(
        json={
            "permissionName": "lcs.shipments.read",
            "subjectUserGroupId": w.fresh_group(),
            "objectId": w.floor_shipment(),
            "canDo": False,
        },
        record=True,
        holds=("lcs.shipments.read",),
    ),
    ("api_permissions.take_back", "DELETE"): lambda w: Sample(
        path={"grant_id": w.fresh_grant()}, record=True, holds=("lcs.shipments.read",)
    ),
    ("api_auth.groups", "GET"): lambda w: Sample(),
    ("api_auth.create_group", "POST"): lambda w: Sample(json={"name": f"Made {uuid.uuid4().hex[:8]}"}),
    ("api_auth.update_group", "PUT"): lambda w: Sample(
        json={"id": w.fresh_group(), "name": f"Renamed {uuid.uuid4().hex[:8]}"}, record=True
    ),
    ("api_auth.delete_group", "DELETE"): lambda w: Sample(query={"id": w.fresh_group()}, record=True),
    ("api_auth.group_members", "GET"): lambda w: Sample(query={"groupId": w.fresh_group(member=True)}, record=True),
    ("api_auth.add_member", "POST"): lambda w: Sample(
        json={"groupId": w.fresh_group(), "userId": w.fresh_user()}, record=True
    ),
    ("api_auth.remove_member", "DELETE"): lambda w: Sample(
        query={"groupId": w.fresh_group(), "userId": w.fresh_user()}, record=True
    ),
    ("api_auth.object_grants_of", "GET"): lambda w: Sample(query={"roleId": w.fresh_role()}, record=True),
    ("api_auth.object_choices", "GET"): lambda w: Sample(
        query={"permissionName": "lcs.shipments.read", "q": "S-"}, holds=("lcs.shipments.read",)
    ),
    ("api_permissions.permission", "GET"): lambda w: Sample(path={"permission_name": "lcs.shipments.read"}),
    ("api_api_keys.list_keys", "GET"): lambda w: Sample(),
    ("api_api_keys.create_key", "POST"): lambda w: Sample(json={"name": "Matrix key"}),
    ("api_api_keys.revoke_key", "DELETE"): lambda w: Sample(query={"id": w.fresh_key()}, record=True),
    ("api_audit_logs.list_actions", "GET"): lambda w: Sample(),
    ("api_audit_logs.export_actions", "GET"): lambda w: Sample(),
    ("api_audit_logs.list_access", "GET"): lambda w: Sample(),
    # someone else's action (the set-up's): the "exact" caller also needs the tenant-wide undo
    ("api_audit_logs.undo_action", "POST"): lambda w: Sample(
        json={"undoToken": w.fresh_undo_token()}, record=True, holds=("audit_logs.undo_tenant", "auth.roles.manage")
    ),
    ("api_audit_logs.redo_action", "POST"): lambda w: Sample(
        json={"logId": w.fresh_undone()}, record=True, holds=("audit_logs.undo_tenant", "auth.roles.manage")
    ),
    ("api_feature_toggles.check_boolean", "GET"): lambda w: Sample(query={"identifier": w.fresh_toggle()[1]}),
    ("api_feature_toggles.check_string", "GET"): lambda w: Sample(
        query={"identifier": w.fresh_toggle("string", "a")[1]}
    ),
    ("api_feature_toggles.check_number", "GET"): lambda w: Sample(query={"identifier": w.fresh_toggle("number", 2)[1]}),
    ("api_feature_toggles.check_json", "GET"): lambda w: Sample(
        query={"identifier": w.fresh_toggle("json", {"a": 1})[1]}
    ),
    ("api_feature_toggles.global_list", "GET"): lambda w: Sample(),
    ("api_feature_toggles.create_global", "POST"): lambda w: Sample(
        json={"identifier": f"made.t{w.fresh_role()[:8]}", "name": "Made", "type": "boolean", "defaultValue": False}
    ),
    ("api_feature_toggles.update_global", "PUT"): lambda w: Sample(json={"id": w.fresh_toggle()[0], "name": "Renamed"}),
    ("api_feature_toggles.delete_global", "DELETE"): lambda w: Sample(query={"id": w.fresh_toggle()[0]}),
    ("api_feature_toggles.global_detail", "GET"): lambda w: Sample(path={"toggle_id": w.fresh_toggle()[0]}),
    ("api_feature_toggles.global_override", "GET"): lambda w: Sample(path={"toggle_id": w.fresh_toggle()[0]}),
    ("api_feature_toggles.overrides", "GET"): lambda w: Sample(),
    ("api_lcs.shipments", "GET"): lambda w: Sample(),
    ("api_lcs.create_shipment", "POST"): lambda w: Sample(json={"items": [{"sku": "NEW-1", "quantity": 1}]}),
    ("api_lcs.shipment", "GET"): lambda w: Sample(path={"shipment_id": w.floor_shipment()}, record=True),
    ("api_lcs.edit_shipment", "GET"): lambda w: Sample(path={"shipment_id": w.floor_shipment()}, record=True),
    ("api_lcs.update_shipment", "PUT"): lambda w: Sample(
        path={"shipment_id": w.floor_shipment()}, json={"order_id": "ORD-1"}, record=True
    ),
    ("api_lcs.cancel_shipment", "DELETE"): lambda w: Sample(path={"shipment_id": w.floor_shipment()}, record=True),
    ("api_lcs.items_missing", "PUT"): lambda w: Sample(
        path={"shipment_id": (sid := w.floor_shipment())},
        json=[{"id": w.floor_units(sid)[0], "is_missing": True}],
        record=True,
    ),
    ("api_lcs.items_backorders", "PUT"): lambda w: Sample(
        path={"shipment_id": w.floor_shipment()}, json=[], record=True
    ),
    ("api_lcs.items_overage", "PUT"): lambda w: Sample(path={"shipment_id": w.floor_shipment()}, json=[], record=True),
    ("api_lcs.pack_station", "GET"): lambda w: Sample(path={"shipment_id": w.floor_shipment()}, record=True),
    ("api_lcs.pack_scan", "POST"): lambda w: Sample(
        path={"shipment_id": w.floor_shipment()}, json={"code": "SKU-A"}, record=True
    ),
    ("api_lcs.pack_home", "GET"): lambda w: Sample(),
    ("api_lcs.pack_open", "POST"): lambda w: Sample(json={"code": w.floor_units(w.floor_shipment())[0]}, record=True),
    ("api_lcs.refresh_positions", "PUT"): lambda w: Sample(path={"shipment_id": w.floor_shipment()}, record=True),
    ("api_lcs.lists", "GET"): lambda w: Sample(),
    ("api_lcs.new_list", "GET"): lambda w: w.floor_shipment() and Sample(),  # a shipment to offer
    ("api_lcs.new_shipment", "GET"): lambda w: Sample(),
    ("api_lcs.floor", "GET"): lambda w: Sample(query={"date": "2026-11-20"}),
    ("api_lcs.create_list", "POST"): lambda w: Sample(json={"shipments": [{"id": w.floor_shipment()}]}, record=True),
    ("api_lcs.search_lists", "POST"): lambda w: Sample(json={"constraints": []}),
    ("api_lcs.handling_list", "GET"): lambda w: Sample(path={"list_id": w.floor_list()[0]}, record=True),
    ("api_lcs.cancel_list", "DELETE"): lambda w: Sample(path={"list_id": w.floor_list()[0]}, record=True),
    ("api_lcs.update_list_items", "PUT"): lambda w: Sample(
        path={"list_id": (hl := w.floor_list())[0]}, json=[{"id": hl[1][0], "is_handled": True}], record=True
    ),
    ("api_lcs.list_state", "PUT"): lambda w: Sample(
        path={"list_id": w.floor_list()[0]}, json={"is_on_hold": True}, record=True
    ),
    ("api_lcs.station", "GET"): lambda w: Sample(path={"list_id": w.floor_list()[0]}, record=True),
    ("api_lcs.next_list", "POST"): lambda w: w.floor_list() and Sample(),  # a list waits (204 when none does)
    ("api_lcs.create_wave", "POST"): lambda w: w.floor_shipment() and Sample(json={"max_units_per_list": 40}),
    ("api_lcs.scan", "POST"): lambda w: Sample(path={"list_id": w.floor_list()[0]}, json={"code": "MX-1"}, record=True),
    ("api_lcs.short_picks", "GET"): lambda w: Sample(),
    ("api_lcs.parcels", "GET"): lambda w: Sample(),
    ("api_lcs.create_parcel", "POST"): lambda w: Sample(
        json={"shipment_id": w.floor_shipment(), "weight": 100}, record=True
    ),
    ("api_lcs.parcel", "GET"): lambda w: Sample(path={"parcel_id": w.floor_parcel()[0]}, record=True),
    ("api_lcs.update_parcel", "PUT"): lambda w: Sample(
        path={"parcel_id": w.floor_parcel()[0]}, json={"weight": 900}, record=True
    ),
    ("api_lcs.delete_parcel", "DELETE"): lambda w: Sample(path={"parcel_id": w.floor_parcel()[0]}, record=True),
    ("api_lcs.attach_items", "POST"): lambda w: Sample(
        path={"parcel_id": w.floor_parcel()[0]}, json={"ids": []}, record=True
    ),
    ("api_lcs.detach_items", "DELETE"): lambda w: Sample(
        path={"parcel_id": w.floor_parcel()[0]}, json={"ids": []}, record=True
    ),
    ("api_lcs.parcel_transit", "PUT"): lambda w: Sample(
        path={"parcel_id": w.floor_parcel(packed=True)[0]}, record=True
    ),
    ("api_lcs.parcel_finished", "PUT"): lambda w: Sample(
        path={"parcel_id": w.floor_parcel(in_transit=True)[0]}, record=True
    ),
    # search and bulk (blueprints/lcs/search.py): another tenant's ids match nothing (200/204, not 404)
    ("api_lcs.search_shipments", "POST"): lambda w: Sample(json={"constraints": []}),
    ("api_lcs.search_parcels", "POST"): lambda w: Sample(json={"constraints": []}),
    ("api_lcs.search_shipment_items", "POST"): lambda w: Sample(
        json={"constraints": [{"key": "shipment_ids", "operator": "in", "value": [w.floor_shipment()]}]}
    ),
    ("api_lcs.search_list_items", "POST"): lambda w: Sample(
        json={"constraints": [{"key": "list_ids", "operator": "in", "value": [w.floor_list()[0]]}]}
    ),
    ("api_lcs.search_parcel_items", "POST"): lambda w: Sample(
        json={"constraints": [{"key": "parcel_ids", "operator": "in", "values": [w.floor_parcel(packed=True)[0]]}]}
    ),
    ("api_lcs.bulk_items", "PUT"): lambda w: Sample(
        json={
            "command": "set_parameters",
            "parameters": {"is_finished": True},
            "constraints": [{"key": "ids", "operator": "in", "value": w.floor_units(w.floor_shipment())}],
        }
    ),
    ("api_feature_toggles.set_override", "PUT"): lambda w: Sample(
        json={"toggleId": w.fresh_toggle()[0], "isOverride": True}
    ),
    ("api_attachments.list_for_record", "GET"): lambda w: Sample(query={"entityId": "lcs:shipment", "recordId": "r1"}),
    ("api_attachments.upload", "POST"): lambda w: Sample(data=w.upload_body()),
    ("api_attachments.delete", "DELETE"): lambda w: Sample(query={"id": w.fresh_attachment()}, record=True),
    ("api_attachments.transfer", "POST"): lambda w: Sample(
        json={"entityId": "lcs:shipment", "attachmentIds": [w.fresh_attachment()], "toRecordId": "r2"}, record=True
    ),
    ("api_attachments.library", "GET"): lambda w: Sample(),
    ("api_attachments.library_item", "GET"): lambda w: Sample(
        path={"attachment_id": w.fresh_attachment()}, record=True
    ),
    ("api_attachments.update_library_item", "PATCH"): lambda w: Sample(
        path={"attachment_id": w.fresh_attachment()}, json={"tags": ["matrix"]}, record=True
    ),
    ("api_attachments.delete_library_item", "DELETE"): lambda w: Sample(
        path={"attachment_id": w.fresh_attachment()}, record=True
    ),
    ("api_attachments.partitions", "GET"): lambda w: Sample(),
    ("api_attachments.create_partition", "POST"): lambda w: Sample(
        json={"code": f"made{w.fresh_role()[:8]}", "title": "Made"}
    ),
    ("api_attachments.update_partition", "PUT"): lambda w: Sample(
        json={"id": w.fresh_partition(), "title": "Renamed"}, record=True
    ),
    ("api_attachments.delete_partition", "DELETE"): lambda w: Sample(query={"id": w.fresh_partition()}, record=True),
    # Objects by key live in the caller's own tenant's area: another tenant's key, even a super
    # admin's (who works in the tenant they signed into), names nothing there.
    ("api_storage_providers.list_objects", "GET"): lambda w: Sample(),
    ("api_storage_providers.upload", "POST"): lambda w: Sample(data=w.upload_body()),
    ("api_storage_providers.download", "GET"): lambda w: Sample(
        query={"key": w.s3_object()}, record=True, expect={"super admin": 404}
    ),
    ("api_storage_providers.signed_url", "POST"): lambda w: Sample(
        json={"key": w.s3_object()}, record=True, expect={"super admin": 404}
    ),
    ("api_storage_providers.delete", "DELETE"): lambda w: Sample(
        query={"key": w.s3_object()}, record=True, expect={"super admin": 404}
    ),
    ("api_plans.plans", "GET"): lambda w: Sample(),
    ("api_plans.create_plan", "POST"): lambda w: Sample(json={"name": f"Made {w.fresh_role()}", "quota": 5}),
    ("api_plans.plan", "GET"): lambda w: Sample(path={"plan_id": w.fresh_plan()}, record=True),
    ("api_plans.update_plan", "PUT"): lambda w: Sample(
        path={"plan_id": w.fresh_plan()}, json={"quota": 20}, record=True
    ),
    ("api_plans.delete_plan", "DELETE"): lambda w: Sample(path={"plan_id": w.fresh_plan()}, record=True),
    ("api_plans.usage", "GET"): lambda w: Sample(query={"userId": w.fresh_user()}, record=True),
    ("api_plans.assign", "PUT"): lambda w: Sample(
        json={"userId": w.fresh_user(), "planId": w.fresh_plan()}, record=True
    ),
    # logistics reference data (blueprints/lcs/locations.py, methods.py, products.py)
    ("api_lcs.locations", "GET"): lambda w: Sample(),
    ("api_lcs.create_location", "POST"): lambda w: Sample(json={"name": "Made"}),
    ("api_lcs.location", "GET"): lambda w: Sample(path={"location_id": w.ref_location()}, record=True),
    ("api_lcs.update_location", "PUT"): lambda w: Sample(
        path={"location_id": w.ref_location()}, json={"name": "Renamed"}, record=True
    ),
    ("api_lcs.delete_location", "DELETE"): lambda w: Sample(path={"location_id": w.ref_location()}, record=True),
    ("api_lcs.positions", "GET"): lambda w: Sample(path={"location_id": w.ref_location()}, record=True),
    ("api_lcs.reorder_positions", "PUT"): lambda w: Sample(
        path={"location_id": w.ref_location()}, json=["B1", "A1"], record=True
    ),
    ("api_lcs.edit_walk", "PUT"): lambda w: Sample(
        path={"location_id": w.ref_location()}, json={"action": "move", "code": "A1", "direction": "top"}, record=True
    ),
    ("api_lcs.delete_positions", "DELETE"): lambda w: Sample(
        path={"location_id": w.ref_location()}, json=["A1"], record=True
    ),
    ("api_lcs.position", "GET"): lambda w: Sample(path={"location_id": w.ref_location(), "code": "A1"}, record=True),
    ("api_lcs.search_positions", "POST"): lambda w: Sample(
        path={"location_id": w.ref_location()}, json=["S1"], record=True
    ),
    ("api_lcs.skus", "GET"): lambda w: Sample(path={"location_id": w.ref_location()}, record=True),
    ("api_lcs.update_skus", "PUT"): lambda w: Sample(
        path={"location_id": w.ref_location()}, json=[{"sku": "S2", "position": "A1"}], record=True
    ),
    ("api_lcs.search_locations", "POST"): lambda w: Sample(
        json={"constraints": [{"key": "is_disabled", "values": ["false"]}]}
    ),
    ("api_lcs.methods", "GET"): lambda w: Sample(query={"country_code": "NL"}),
    ("api_lcs.create_method", "POST"): lambda w: Sample(json={"carrier_code": "mx", "name": "Made"}),
    ("api_lcs.method", "GET"): lambda w: Sample(path={"method_id": w.ref_method()}, record=True),
    ("api_lcs.update_method", "PUT"): lambda w: Sample(
        path={"method_id": w.ref_method()}, json={"priority": 1}, record=True
    ),
    ("api_lcs.delete_method", "DELETE"): lambda w: Sample(path={"method_id": w.ref_method()}, record=True),
    ("api_lcs.search_methods", "POST"): lambda w: Sample(json={"constraints": []}),
    ("api_lcs.products", "GET"): lambda w: Sample(query={"search": "MX"}),
    ("api_lcs.create_product", "POST"): lambda w: Sample(json={"sku": f"NEW-{uuid.uuid4().hex[:8]}"}),
    ("api_lcs.product", "GET"): lambda w: Sample(path={"product_id": w.ref_product()}, record=True),
    ("api_lcs.update_product", "PUT"): lambda w: Sample(
        path={"product_id": w.ref_product()}, json={"weight": 5}, record=True
    ),
    ("api_lcs.delete_product", "DELETE"): lambda w: Sample(path={"product_id": w.ref_product()}, record=True),
    ("api_lcs.import_products", "POST"): lambda w: Sample(json=[{"sku": f"IMP-{uuid.uuid4().hex[:8]}", "weight": 1}]),
    # print spooler (blueprints/spl) and printing from the floor
    ("api_spl.hubs", "GET"): lambda w: Sample(),
    ("api_spl.create_hub", "POST"): lambda w: Sample(json={"name": "Made"}),
    ("api_spl.hub", "GET"): lambda w: Sample(path={"hub_id": spl_hub(w)}, record=True),
    ("api_spl.update_hub", "PUT"): lambda w: Sample(path={"hub_id": spl_hub(w)}, json={"name": "Renamed"}, record=True),
    ("api_spl.delete_hub", "DELETE"): lambda w: Sample(path={"hub_id": spl_hub(w)}, record=True),
    ("api_spl.rotate_secret", "POST"): lambda w: Sample(path={"hub_id": spl_hub(w)}, record=True),
    ("api_spl.hub_status", "GET"): lambda w: Sample(path={"hub_id": spl_hub(w)}, record=True),
    ("api_spl.hub_network", "GET"): lambda w: Sample(path={"hub_id": spl_hub(w)}, record=True),
    ("api_spl.set_hub_network", "PUT"): lambda w: Sample(
        path={"hub_id": spl_hub(w)}, json=[{"interface": {"interface": "eth0", "address": "10.0.0.2"}}], record=True
    ),
    ("api_spl.hub_logs", "GET"): lambda w: Sample(path={"hub_id": spl_hub(w)}, record=True),
    ("api_spl.add_hub_log", "POST"): lambda w: Sample(path={"hub_id": spl_hub(w)}, json={"message": "x"}, record=True),
    ("api_spl.resolve_hub_log", "POST"): lambda w: Sample(
        path=dict(zip(("hub_id", "log_id"), spl_log(w), strict=True)), record=True
    ),
    ("api_spl.hub_by_uuid", "GET"): lambda w: Sample(path={"hub_uuid": spl_hub_uuid(w)}, record=True),
    ("api_spl.pull_jobs", "POST"): lambda w: Sample(path={"hub_id": spl_hub(w)}, json={"wait": 0}, record=True),
    ("api_spl.printers", "GET"): lambda w: Sample(),
    ("api_spl.create_printer", "POST"): lambda w: Sample(
        json={
            "name": "Made",
            "hub_id": spl_hub(w),
            "connection": {"interface": "ipp", "address": "ipp://cups/printers/z"},
        },
        record=True,
    ),
    ("api_spl.printer", "GET"): lambda w: Sample(path={"printer_id": spl_printer(w)}, record=True),
    ("api_spl.update_printer", "PUT"): lambda w: Sample(
        path={"printer_id": spl_printer(w)},
        json={"name": "Renamed", "hub_id": spl_hub(w), "connection": {"interface": "network", "address": "10.0.0.9"}},
        record=True,
    ),
    ("api_spl.delete_printer", "DELETE"): lambda w: Sample(path={"printer_id": spl_printer(w)}, record=True),
    ("api_spl.printer_inbox", "PUT"): lambda w: Sample(
        path={"printer_id": spl_printer(w)}, json={"inbox_id": "in-1"}, record=True
    ),
    ("api_spl.test_print", "POST"): lambda w: Sample(path={"printer_id": spl_printer(w)}, record=True),
    ("api_spl.settings_schema", "GET"): lambda w: Sample(path={"kind": "zpl"}),
    ("api_spl.queue", "GET"): lambda w: Sample(query={"status": "scheduled"}),
    ("api_spl.add_job", "POST"): lambda w: Sample(json={"job": ZPL_JOB, "tag": spl_printer(w)}, record=True),
    ("api_spl.job", "GET"): lambda w: Sample(path={"reference": spl_job(w)}, record=True),
    ("api_spl.set_job_status", "PUT"): lambda w: Sample(
        path={"reference": spl_job(w)}, json={"status": "cancelled"}, record=True
    ),
    ("api_spl.job_artifact", "GET"): lambda w: Sample(path={"reference": spl_job(w)}, record=True),
    ("api_spl.reprint", "POST"): lambda w: Sample(path={"reference": spl_job(w)}, record=True),
    ("api_spl.redirect_job", "POST"): lambda w: Sample(
        path={"reference": spl_job(w)}, json={"printer_id": spl_printer(w)}, record=True
    ),
    ("api_spl.stations", "GET"): lambda w: Sample(),
    ("api_spl.create_station", "POST"): lambda w: Sample(json={"name": "Made", "code": f"M-{uuid.uuid4().hex[:6]}"}),
    ("api_spl.update_station", "PUT"): lambda w: Sample(
        path={"station_id": spl_station(w)[0]},
        json={"name": "Renamed", "code": f"R-{uuid.uuid4().hex[:6]}"},
        record=True,
    ),
    ("api_spl.delete_station", "DELETE"): lambda w: Sample(path={"station_id": spl_station(w)[0]}, record=True),
    ("api_spl.bind_station", "POST"): lambda w: Sample(json={"code": spl_station(w)[1]}, record=True),
    ("api_spl.default_printer", "PUT"): lambda w: Sample(json={"printer_id": spl_printer(w)}, record=True),
    ("api_spl.label_template", "GET"): lambda w: Sample(),
    ("api_spl.save_label_template", "PUT"): lambda w: Sample(
        json={"body": "^XA^FO50,50^A0N,30^FH_^FD{{ shipment_number }}^FS^XZ"}
    ),
    ("api_spl.reset_label_template", "DELETE"): lambda w: Sample(),
    ("api_lcs.print_parcel_label", "POST"): lambda w: Sample(
        path={"parcel_id": docs_parcel(w)}, json={"printer_id": spl_printer(w)}, record=True
    ),
    ("api_lcs.print_list_labels", "POST"): lambda w: Sample(
        path={"list_id": docs_list_with_parcel(w)}, json={"printer_id": spl_printer(w)}, record=True
    ),
    # business rules (blueprints/business_rules)
    ("api_business_rules.rules", "GET"): lambda w: Sample(query={"enabled": "true"}),
    ("api_business_rules.create_rule", "POST"): lambda w: Sample(
        json={
            "ruleId": f"made-{uuid.uuid4().hex[:8]}",
            "ruleName": "Made",
            "ruleType": "GUARD",
            "entityType": "matrix.thing",
            "enabled": False,
        }
    ),
    ("api_business_rules.update_rule", "PUT"): lambda w: Sample(
        json={"id": w.fresh_rule(), "ruleName": "Renamed"}, record=True
    ),
    ("api_business_rules.delete_rule", "DELETE"): lambda w: Sample(query={"id": w.fresh_rule()}, record=True),
    ("api_business_rules.rule", "GET"): lambda w: Sample(path={"rule_id": w.fresh_rule()}, record=True),
    ("api_business_rules.add_examples", "POST"): lambda w: Sample(),
    ("api_business_rules.sets", "GET"): lambda w: Sample(),
    ("api_business_rules.create_set", "POST"): lambda w: Sample(
        json={"setId": f"made-{uuid.uuid4().hex[:8]}", "setName": "Made"}
    ),
    ("api_business_rules.update_set", "PUT"): lambda w: Sample(
        json={"id": w.fresh_set(), "enabled": False}, record=True
    ),
    ("api_business_rules.delete_set", "DELETE"): lambda w: Sample(query={"id": w.fresh_set()}, record=True),
    ("api_business_rules.rule_set", "GET"): lambda w: Sample(path={"set_id": w.fresh_set()}, record=True),
    ("api_business_rules.add_member", "POST"): lambda w: Sample(
        path={"set_id": w.fresh_set()}, json={"ruleId": w.fresh_rule()}, record=True
    ),
    ("api_business_rules.update_member", "PUT"): lambda w: Sample(
        path={"set_id": (sm := w.fresh_member())[0]}, json={"memberId": sm[1], "sequence": 3}, record=True
    ),
    ("api_business_rules.remove_member", "DELETE"): lambda w: Sample(
        path={"set_id": (sm := w.fresh_member())[0]}, query={"memberId": sm[1]}, record=True
    ),
    ("api_business_rules.logs", "GET"): lambda w: Sample(query={"executionResult": "SUCCESS"}),
    ("api_business_rules.log_entry", "GET"): lambda w: Sample(path={"log_id": w.fresh_rule_log()}, record=True),
    ("api_business_rules.execute", "POST"): lambda w: Sample(
        json={"entityType": "matrix.thing", "data": {"n": 2}, "dryRun": True}
    ),
    ("api_business_rules.execute_rule", "POST"): lambda w: Sample(
        path={"rule_id": w.fresh_rule()}, json={"data": {"n": 2}, "dryRun": True}, record=True
    ),
    ("api_business_rules.fields", "GET"): lambda w: Sample(query={"entityType": "lcs.parcel"}),
    ("api_business_rules.try_rule", "POST"): lambda w: Sample(
        json={
            "entityType": "lcs.parcel",
            "ruleType": "GUARD",
            "sample": {"weight": 5},
            "conditionExpression": {"field": "weight", "operator": "<", "value": 10},
        }
    ),
}


def test_every_protected_endpoint_has_a_sample(app):
    missing = [
        f"{rule.endpoint} {method}"
        for rule, method, _ in protected_operations(app)
        if (rule.endpoint, method) not in SAMPLES
    ]
    assert not missing, f"add a Sample for: {missing}"


def _call(client, rule, method, sample, headers):
    url = re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: str(sample.path[m.group(1)]), rule.rule)
    return client.open(
        url,
        method=method,
        query_string=sample.query,
        json=sample.json,
        data=sample.data,
        headers={"Accept": "application/json", **headers},
    )


def _token(client, email):
    r = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, (email, r.get_json())
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_access_matrix(app, client, s3_bucket):
    world = World(app)
    failures = []
    for rule, method, access in protected_operations(app):
        make_sample = SAMPLES.get((rule.endpoint, method))
        if make_sample is None:
            continue  # reported by test_every_protected_endpoint_has_a_sample
        only_super = access.super_admin  # declared super-admin-only: everybody else is refused
        callers = {
            "anonymous": ({}, 401),
            "no features": (
                lambda _sample: _token(client, "plain@a.test"),
                403 if access.features or only_super else 200,
            ),
            "exact features": (
                lambda sample, features=access.features: _token(client, world.exact_user([*features, *sample.holds])),
                403 if only_super else 200,
            ),
            "other tenant admin": (lambda _sample: _token(client, "admin@b.test"), 403 if only_super else 200),
            "super admin": (lambda _sample: _token(client, "root@d.test"), 200),
        }
        for name, (headers, expected) in callers.items():
            sample = make_sample(world)
            if name == "other tenant admin" and sample.record and not only_super:
                expected = 404
            expected = sample.expect.get(name, expected)
            r = _call(client, rule, method, sample, headers(sample) if callable(headers) else headers)
            ok = (200 <= r.status_code < 300) if expected == 200 else r.status_code == expected
            if not ok:
                failures.append(f"{method} {rule.rule} as {name}: {r.status_code} {r.get_data(as_text=True)[:160]}")
    assert not failures, "\n".join(failures)


def test_object_grants_matrix(app, client):
    """Every protected endpoint that works on a record object grants can name × (a caller
    allowed only on the sample's records, a caller holding the features but denied them):
    2xx inside the grant, 404 — like another tenant's record — when excepted."""
    from services.object_permissions import kinds_for

    world = World(app)
    failures, checked = [], 0
    for rule, method, access in protected_operations(app):
        make_sample = SAMPLES.get((rule.endpoint, method))
        if make_sample is None or access.super_admin or not any(kinds_for(f) for f in access.features):
            continue
        for inside in (True, False):
            before = world.objects()
            sample = make_sample(world)
            new = world.objects() - before
            if not sample.record or not new:
                continue  # a create or a list: the list × count agreement test covers those
            checked += 1
            caller = world.granted_user(access.features, new, inside=inside)
            r = _call(client, rule, method, sample, _token(client, caller))
            ok = (200 <= r.status_code < 300) if inside else r.status_code == 404
            if not ok:
                name = "inside" if inside else "excepted"
                failures.append(f"{method} {rule.rule} {name}: {r.status_code} {r.get_data(as_text=True)[:160]}")
    assert checked >= 120, checked  # 124 when written: 62 endpoints, twice
    assert not failures, "\n".join(failures)
