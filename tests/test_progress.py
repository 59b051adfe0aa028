"""Progress jobs (seed 000 /progress, issue #19): the contract of every endpoint with its bad
input, jobs integrations report next to Wharf's own tasks, cooperative cancel of a running
task, what an object grant hides, the migration's grant, and the Jobs page, its htmx parts
and the header's indicator."""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from models import Task, db, utcnow
from services import tasks
from tests.support import (
    BROWSER,
    HX,
    api_token,
    bearer,
    browser_login,
    expect,
    marker_survived,
    new_list,
    object_grant,
    open_and_sign_in,
    parcel,
    set_marker,
    shipment,
    tenant_admin,
    url_is,
    user_id_of,
    with_features,
)

GATES: dict[str, threading.Event] = {}
SEED_FIELDS = {
    "id",
    "jobType",
    "name",
    "description",
    "status",
    "progressPercent",
    "processedCount",
    "totalCount",
    "etaSeconds",
    "cancellable",
    "startedAt",
    "finishedAt",
    "errorMessage",
    "createdAt",
    "tenantId",
    "organizationId",
}


@tasks.task("test.progress.batch")
def batch(ctx, gate, documents):
    """A batch that waits at its second document until the test lets it go on."""
    for n in range(documents):
        ctx.progress(n, documents)
        if n == 1:
            GATES[gate].wait(10)
    return "all written"


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


def create(client, h, **body) -> str:
    r = client.post("/api/progress/jobs", json={"jobType": "erp.import", "name": "Import orders", **body}, headers=h)
    assert r.status_code == 201, r.get_json()
    assert set(r.get_json()) == {"id"}
    return r.get_json()["id"]


def job(client, h, job_id) -> dict:
    r = client.get(f"/api/progress/jobs/{job_id}", headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def listed(client, h, **query) -> list[dict]:
    r = client.get("/api/progress/jobs", query_string=query, headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["items"]


def stored(app, job_id) -> Task:
    with app.app_context():
        t = db.session.get(Task, uuid.UUID(str(job_id)))
        db.session.expunge(t)
        return t


def wharf_task(app, tenant, name="test.progress.batch", **fields) -> str:
    with app.app_context():
        t = Task(
            tenant_id=tenant, name=name, description="A batch of labels", params=fields.pop("params", {}), **fields
        )
        db.session.add(t)
        db.session.commit()
        return str(t.id)


class TestContract:
    def test_create_report_and_finish_a_job(self, client, h):
        job_id = create(client, h, totalCount=200, cancellable=True, description="From the ERP")
        body = job(client, h, job_id)
        assert SEED_FIELDS <= set(body)
        assert body["status"] == "pending" and body["name"] == "Import orders" and body["jobType"] == "erp.import"
        assert body["description"] == "From the ERP" and body["totalCount"] == 200 and body["cancellable"] is True
        assert body["startedAt"] is None and body["createdAt"].endswith("Z")

        r = client.put(f"/api/progress/jobs/{job_id}", json={"processedCount": 50}, headers=h)
        assert r.status_code == 200 and r.get_json() == {"ok": True, "progressPercent": 25, "status": "running"}
        body = job(client, h, job_id)
        assert body["status"] == "running" and body["processedCount"] == 50 and body["startedAt"]
        assert body["etaSeconds"] is None  # no pace yet on the first report

        r = client.put(f"/api/progress/jobs/{job_id}", json={"processedCount": 100, "etaSeconds": 60}, headers=h)
        assert r.get_json()["progressPercent"] == 50 and job(client, h, job_id)["etaSeconds"] == 60
        r = client.put(f"/api/progress/jobs/{job_id}", json={"progressPercent": 70}, headers=h)
        assert r.get_json()["progressPercent"] == 70

        r = client.put(f"/api/progress/jobs/{job_id}", json={"status": "completed"}, headers=h)
        assert r.get_json() == {"ok": True, "progressPercent": 100, "status": "completed"}
        body = job(client, h, job_id)
        assert body["status"] == "completed" and body["processedCount"] == 200 and body["finishedAt"]
        assert client.get(f"/progress/jobs/{job_id}", headers=h).get_json() == body  # also without /api

    def test_a_failed_job_keeps_its_message(self, client, h):
        job_id = create(client, h)
        r = client.put(
            f"/api/progress/jobs/{job_id}", json={"status": "failed", "errorMessage": "ERP said 503"}, headers=h
        )
        assert r.status_code == 200 and r.get_json()["status"] == "failed"
        body = job(client, h, job_id)
        assert body["errorMessage"] == "ERP said 503" and body["finishedAt"] and body["totalCount"] is None

    def test_list_filters_and_pages(self, client, h):
        running = create(client, h, jobType="erp.import", name="Orders")
        client.put(f"/api/progress/jobs/{running}", json={"status": "running"}, headers=h)
        done = create(client, h, jobType="erp.export", name="Stock")
        client.put(f"/api/progress/jobs/{done}", json={"status": "completed"}, headers=h)
        pending = create(client, h, jobType="erp.import", name="Returns", parentJobId=running)

        r = client.get("/api/progress/jobs", headers=h)
        body = r.get_json()
        assert {"items", "total", "totalPages"} <= set(body) and body["total"] == 2  # ended jobs only when asked
        assert [i["id"] for i in body["items"]] == [pending, running]  # newest first
        assert {i["id"] for i in listed(client, h, includeCompleted="true")} == {running, done, pending}
        assert [i["id"] for i in listed(client, h, status="completed")] == [done]
        assert {i["id"] for i in listed(client, h, status="pending,running")} == {running, pending}
        assert {i["id"] for i in listed(client, h, jobType="erp.import")} == {running, pending}
        assert [i["id"] for i in listed(client, h, parentJobId=running)] == [pending]
        assert [i["id"] for i in listed(client, h, includeCompleted="true", ids=f"{done},{pending}")] == [pending, done]
        assert [i["id"] for i in listed(client, h, search="stoc", includeCompleted="true")] == [done]
        assert [i["id"] for i in listed(client, h, completedSince=(utcnow() - timedelta(minutes=1)).isoformat())] == [
            done
        ]
        assert listed(client, h, completedSince=(utcnow() + timedelta(minutes=1)).isoformat()) == []
        oldest = listed(client, h, includeCompleted="true", sortField="createdAt", sortDir="asc", pageSize=1)
        assert [i["id"] for i in oldest] == [running]
        page2 = client.get("/api/progress/jobs", query_string={"pageSize": 1, "page": 2}, headers=h).get_json()
        assert page2["total"] == 2 and page2["totalPages"] == 2 and [i["id"] for i in page2["items"]] == [running]

    def test_active_lists_top_level_running_jobs_and_the_just_ended(self, client, h):
        top = create(client, h, name="Top")
        create(client, h, name="Part", parentJobId=top)
        ended = create(client, h, name="Ended")
        client.put(f"/api/progress/jobs/{ended}", json={"status": "completed"}, headers=h)
        body = client.get("/api/progress/active", headers=h).get_json()
        assert [j["id"] for j in body["active"]] == [top]
        assert [j["id"] for j in body["recentlyCompleted"]] == [ended]
        assert client.get("/progress/active", headers=h).get_json() == body


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"jobType": "x"},
            {"jobType": "", "name": "x"},
            {"jobType": "x", "name": " "},
            {"jobType": "x", "name": "n" * 256},
            {"jobType": "x", "name": "x", "totalCount": 0},
            {"jobType": "x", "name": "x", "totalCount": 2**40},
            {"jobType": "x", "name": "x", "cancellable": "maybe"},
            {"jobType": "x", "name": "x", "parentJobId": "nope"},
            {"jobType": "x\x00", "name": "x"},
        ],
    )
    def test_bad_bodies_are_400(self, client, h, body):
        r = client.post("/api/progress/jobs", json=body, headers=h)
        assert r.status_code == 400 and r.get_json()["error"], r.get_json()

    def test_not_json_is_400(self, client, h):
        r = client.post("/api/progress/jobs", data="{", headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 400
        assert client.post("/api/progress/jobs", json=["x"], headers=h).status_code == 400

    def test_a_parent_out_of_sight_is_400(self, app, client, tenant, make):
        h = bearer(api_token(client, tenant_admin(app, tenant, "boss@acme.test")))
        other = make.tenant("Elsewhere")
        foreign = wharf_task(app, other)
        for parent in (str(uuid.uuid4()), foreign):
            r = client.post("/api/progress/jobs", json={"jobType": "x", "name": "x", "parentJobId": parent}, headers=h)
            assert r.status_code == 400 and r.get_json()["details"][0]["path"] == ["parentJobId"]

    def test_unknown_ids_are_404(self, client, h):
        unknown = uuid.uuid4()
        assert client.get(f"/api/progress/jobs/{unknown}", headers=h).status_code == 404
        assert client.get("/api/progress/jobs/nope", headers=h).status_code == 404
        assert client.put(f"/api/progress/jobs/{unknown}", json={"processedCount": 1}, headers=h).status_code == 404
        assert client.delete(f"/api/progress/jobs/{unknown}", headers=h).status_code == 404
        assert client.get(f"/api/progress/jobs/{unknown}", headers=h).get_json() == {"error": "Job not found"}

    @pytest.mark.parametrize(
        "body",
        [
            {"progressPercent": 101},
            {"progressPercent": -1},
            {"processedCount": "many"},
            {"processedCount": None},
            {"totalCount": 0},
            {"etaSeconds": -5},
            {"status": "pending"},
            {"status": "cancelled"},
            {"errorMessage": "x" * 2001},
        ],
    )
    def test_bad_reports_are_400(self, client, h, body):
        job_id = create(client, h)
        r = client.put(f"/api/progress/jobs/{job_id}", json=body, headers=h)
        assert r.status_code == 400, r.get_json()
        assert job(client, h, job_id)["status"] == "pending"

    def test_more_processed_than_the_total_is_422(self, client, h):
        job_id = create(client, h, totalCount=10)
        r = client.put(f"/api/progress/jobs/{job_id}", json={"processedCount": 11}, headers=h)
        assert r.status_code == 422 and r.get_json()["details"][0]["path"] == ["processedCount"]
        assert job(client, h, job_id)["processedCount"] == 0  # nothing of it was kept

    def test_ended_jobs_and_wharfs_own_tasks_take_no_reports(self, app, client, h, tenant):
        job_id = create(client, h)
        client.put(f"/api/progress/jobs/{job_id}", json={"status": "completed"}, headers=h)
        r = client.put(f"/api/progress/jobs/{job_id}", json={"processedCount": 1}, headers=h)
        assert r.status_code == 409 and "ended (completed)" in r.get_json()["error"]
        own = wharf_task(app, tenant, status="running")
        r = client.put(f"/api/progress/jobs/{own}", json={"processedCount": 1}, headers=h)
        assert r.status_code == 409 and "Wharf's own task" in r.get_json()["error"]

    @pytest.mark.parametrize(
        "query",
        [
            {"status": "done"},
            {"pageSize": 101},
            {"page": 0},
            {"sortField": "name"},
            {"sortDir": "up"},
            {"parentJobId": "x"},
            {"completedSince": "yesterday"},
            {"includeCompleted": "perhaps"},
        ],
    )
    def test_bad_list_parameters_are_400(self, client, h, query):
        assert client.get("/api/progress/jobs", query_string=query, headers=h).status_code == 400

    def test_more_than_200_ids_are_400(self, client, h):
        ids = ",".join(str(uuid.uuid4()) for _ in range(201))
        assert client.get("/api/progress/jobs", query_string={"ids": ids}, headers=h).status_code == 400

    def test_features(self, app, client, tenant, h):
        job_id = create(client, h)
        viewer = bearer(api_token(client, with_features(app, tenant, "viewer@acme.test", ["progress.view"])))
        assert client.get("/api/progress/jobs", headers=viewer).status_code == 200
        assert client.get("/api/progress/active", headers=viewer).status_code == 200
        assert client.post("/api/progress/jobs", json={"jobType": "x", "name": "x"}, headers=viewer).status_code == 403
        assert client.put(f"/api/progress/jobs/{job_id}", json={"processedCount": 1}, headers=viewer).status_code == 403
        assert client.delete(f"/api/progress/jobs/{job_id}", headers=viewer).status_code == 403
        nobody = bearer(api_token(client, with_features(app, tenant, "nobody@acme.test", [])))
        assert client.get("/api/progress/active", headers=nobody).status_code == 403
        assert client.get("/api/progress/active").status_code == 401


class TestCancel:
    def test_a_pending_or_reported_job_is_cancelled_at_once(self, client, h):
        pending = create(client, h, cancellable=True)
        r = client.delete(f"/api/progress/jobs/{pending}", headers=h)
        assert r.status_code == 204 and r.data == b""
        body = job(client, h, pending)
        assert body["status"] == "cancelled" and body["finishedAt"] and body["cancelRequestedAt"]
        running = create(client, h, cancellable=True)
        client.put(f"/api/progress/jobs/{running}", json={"processedCount": 3}, headers=h)
        assert client.delete(f"/api/progress/jobs/{running}", headers=h).status_code == 204
        r = client.put(f"/api/progress/jobs/{running}", json={"processedCount": 4}, headers=h)
        assert r.status_code == 409 and "cancelled" in r.get_json()["error"]  # how the integration learns it

    def test_not_cancellable_or_ended_is_409(self, client, h):
        fixed = create(client, h)
        r = client.delete(f"/api/progress/jobs/{fixed}", headers=h)
        assert r.status_code == 409 and "cannot be cancelled" in r.get_json()["error"]
        ended = create(client, h, cancellable=True)
        client.put(f"/api/progress/jobs/{ended}", json={"status": "completed"}, headers=h)
        r = client.delete(f"/api/progress/jobs/{ended}", headers=h)
        assert r.status_code == 409 and "has already ended" in r.get_json()["error"]
        assert client.delete(f"/api/progress/jobs/{fixed}", headers=h).status_code == 409
        assert job(client, h, fixed)["status"] == "pending"

    def test_a_queued_task_never_runs(self, app, client, h, tenant):
        queued = wharf_task(app, tenant, cancellable=True, params={"gate": "q", "documents": 3})
        assert client.delete(f"/api/progress/jobs/{queued}", headers=h).status_code == 204
        tasks.run(queued, app)  # the runner's claim finds it cancelled
        t = stored(app, queued)
        assert t.status == "cancelled" and t.started_at is None and t.result is None

    def test_a_running_task_stops_at_its_next_document(self, app, client, h, tenant):
        GATES["c"] = threading.Event()
        running = wharf_task(app, tenant, cancellable=True, params={"gate": "c", "documents": 5})
        worker = threading.Thread(target=tasks.run, args=(running, app))
        worker.start()
        try:
            deadline = time.monotonic() + 10
            while stored(app, running).done < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert client.delete(f"/api/progress/jobs/{running}", headers=h).status_code == 204
            body = job(client, h, running)
            assert body["status"] == "running" and body["cancelRequestedAt"]  # it stops where it may
            r = client.delete(f"/api/progress/jobs/{running}", headers=h)
            assert r.status_code == 204  # asked again: still stopping
        finally:
            GATES["c"].set()
            worker.join(10)
        t = stored(app, running)
        assert t.status == "cancelled" and t.result is None and t.done == 1 and t.completed_at is not None
        assert job(client, h, running)["status"] == "cancelled"

    def test_a_task_that_is_not_cancellable_runs_on(self, app, client, h, tenant):
        GATES["n"] = threading.Event()
        GATES["n"].set()
        own = wharf_task(app, tenant, params={"gate": "n", "documents": 2}, status="running", started_at=utcnow())
        assert client.delete(f"/api/progress/jobs/{own}", headers=h).status_code == 409

    def test_wharfs_label_batch_is_listed_and_cancellable(self, client, h, files_root):
        s = shipment(client, h)
        list_id = new_list(client, h, s["id"])
        p = parcel(client, h, s)
        r = client.post(f"/lcs/lists/{list_id}/labels", headers=h)
        assert r.status_code == 204, r.get_json()
        batch_job = job(client, h, r.headers["x-task-id"])
        assert batch_job["jobType"] == "lcs.list.labels" and batch_job["cancellable"] is True
        assert batch_job["status"] == "completed" and batch_job["progressPercent"] == 100
        assert batch_job["name"].startswith("Labels for handling list") and batch_job["totalCount"] == 2
        assert listed(client, h, jobType="lcs.list.labels", includeCompleted="true") == [batch_job]
        r = client.post(f"/lcs/parcels/{p['id']}/label", headers=h)
        assert job(client, h, r.headers["x-task-id"])["cancellable"] is False  # one label: quicker done than stopped


class TestReaper:
    def test_a_silent_reported_job_is_declared_failed(self, app, client, h):
        job_id = create(client, h)
        client.put(f"/api/progress/jobs/{job_id}", json={"processedCount": 1}, headers=h)
        with app.app_context():
            db.session.execute(
                sa.update(Task).where(Task.id == uuid.UUID(job_id)).values(updated_at=utcnow() - timedelta(hours=1))
            )
            db.session.commit()
        assert listed(client, h) == []  # the list declared it failed
        body = job(client, h, job_id)
        assert body["status"] == "failed" and body["errorMessage"].startswith("No progress reported for")


class TestVisibility:
    def test_another_tenants_jobs_are_404(self, app, client, h, make):
        job_id = create(client, h, cancellable=True)
        other = make.tenant("Elsewhere")
        outsider = bearer(api_token(client, with_features(app, other, "out@else.test", ["progress.*"])))
        assert client.get(f"/api/progress/jobs/{job_id}", headers=outsider).status_code == 404
        assert (
            client.put(f"/api/progress/jobs/{job_id}", json={"processedCount": 1}, headers=outsider).status_code == 404
        )
        assert client.delete(f"/api/progress/jobs/{job_id}", headers=outsider).status_code == 404
        assert client.get("/api/progress/jobs", headers=outsider).get_json()["items"] == []

    def test_a_task_of_a_list_an_object_grant_hides_is_hidden(self, app, client, h, tenant):
        hidden, seen = (new_list(client, h, shipment(client, h)["id"]) for _ in range(2))
        lead = with_features(app, tenant, "lead@acme.test", ["progress.view", "lcs.handling.read"])
        object_grant(app, tenant, "lcs.handling.read", hidden, "handling_list", False, user_id=user_id_of(app, lead))
        hidden_job, seen_job = (
            wharf_task(
                app, tenant, name="lcs.list.labels", params={"list_id": list_id}, status="running", started_at=utcnow()
            )
            for list_id in (hidden, seen)
        )
        lh = bearer(api_token(client, lead))
        assert [j["id"] for j in listed(client, lh)] == [seen_job]
        assert client.get("/api/progress/jobs", headers=lh).get_json()["total"] == 1  # the count agrees
        assert [j["id"] for j in client.get("/api/progress/active", headers=lh).get_json()["active"]] == [seen_job]
        assert client.get(f"/api/progress/jobs/{hidden_job}", headers=lh).status_code == 404
        assert client.get(f"/api/mes/tasks/{hidden_job}", headers=lh).status_code == 404
        assert job(client, lh, seen_job)["id"] == seen_job
        assert {j["id"] for j in listed(client, h)} == {hidden_job, seen_job}  # the administrator sees both


class TestOrganizations:
    def test_a_job_belongs_to_the_organization_its_creator_works_in(self, app, client, make, tenant):
        a, b = make.organization(tenant, "Org A", "org-a"), make.organization(tenant, "Org B", "org-b")
        feats = ["progress.view", "progress.create", "progress.update"]
        make.user(tenant, "ann@acme.test", features=feats, organization_id=a)
        make.user(tenant, "bob@acme.test", features=feats, organization_id=b)
        ann, bob = (bearer(api_token(client, f"{who}@acme.test")) for who in ("ann", "bob"))
        job_id = create(client, ann)
        part = create(client, ann, parentJobId=job_id)
        assert job(client, ann, job_id)["organizationId"] == str(a) == job(client, ann, part)["organizationId"]
        assert client.get(f"/api/progress/jobs/{job_id}", headers=bob).status_code == 404
        assert client.put(f"/api/progress/jobs/{job_id}", json={"processedCount": 1}, headers=bob).status_code == 404
        assert listed(client, bob) == [] and client.get("/api/progress/active", headers=bob).get_json()["active"] == []
        r = client.post("/api/progress/jobs", json={"jobType": "x", "name": "x", "parentJobId": job_id}, headers=bob)
        assert r.status_code == 400


class TestPages:
    def test_jobs_page_table_fragment_and_cancel_button(self, app, client, admin, h):
        job_id = create(client, h, name="Import orders", cancellable=True, totalCount=10)
        client.put(f"/api/progress/jobs/{job_id}", json={"processedCount": 4}, headers=h)
        fixed = create(client, h, name="Sync stock")
        csrf = browser_login(client, admin)
        page = client.get("/progress/jobs", headers=BROWSER).get_data(as_text=True)
        assert "<html" in page and "Import orders" in page and "Sync stock" in page and "4 of 10" in page
        assert f'hx-delete="/progress/jobs/{job_id}"' in page and f'hx-delete="/progress/jobs/{fixed}"' not in page
        assert 'hx-trigger="every 3s' in page  # the table refreshes itself
        assert f'<a href="/progress/jobs/{job_id}">Import orders</a>' in page  # an integration's job: its own page

        table = client.get("/progress/jobs", headers={**BROWSER, **HX, "HX-Target": "jobs-table"})
        fragment = table.get_data(as_text=True)
        assert (
            table.status_code == 200
            and "<html" not in fragment
            and fragment.lstrip().startswith('<div id="jobs-table"')
        )

        r = client.delete(f"/progress/jobs/{job_id}", headers={**BROWSER, **HX, "X-CSRFToken": csrf})
        row = r.get_data(as_text=True)
        assert r.status_code == 200 and row.lstrip().startswith(f'<tr id="job-{job_id}"') and "cancelled" in row
        assert "hx-delete" not in row and "wharf:toast" in r.headers["HX-Trigger"]
        assert job(client, h, job_id)["status"] == "cancelled"
        refused = client.delete(f"/progress/jobs/{fixed}", headers={**BROWSER, **HX, "X-CSRFToken": csrf})
        assert refused.status_code == 409 and "cannot be cancelled" in refused.get_data(as_text=True)

        one = client.get(f"/progress/jobs/{fixed}", headers=BROWSER).get_data(as_text=True)
        assert "<html" in one and "← Jobs" in one and "Sync stock" in one

    def test_the_header_indicator(self, app, client, admin, h, tenant):
        csrf = browser_login(client, admin)
        home = client.get("/", headers=BROWSER).get_data(as_text=True)
        assert 'id="jobs-indicator"' in home and 'hx-get="/progress/active"' in home
        assert client.get("/progress/active", headers={**BROWSER, **HX}).get_data(as_text=True).strip() == ""
        create(client, h, name="Import orders")
        badge = client.get("/progress/active", headers={**BROWSER, **HX}).get_data(as_text=True)
        assert "1 job running" in badge and 'href="/progress/jobs"' in badge and "Import orders" in badge
        assert csrf

    def test_no_indicator_without_progress_view(self, app, client, tenant):
        browser_login(client, with_features(app, tenant, "plain@acme.test", ["lcs.shipments.read"]))
        assert 'id="jobs-indicator"' not in client.get("/", headers=BROWSER).get_data(as_text=True)


def test_migration_gives_pickers_progress_view(tmp_path):
    """0022: every role or user ACL that picks (lcs.handling.write) sees running jobs; others
    are left alone; downgrade takes it back."""
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from models import Role, RoleAcl
    from services.accounts import create_tenant  # unaudited: audit_logs has columns of later migrations

    scratch = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db", "SECRET_KEY": "x"})
    with scratch.app_context():
        upgrade(revision="0021_global_roles")
        tenant = create_tenant("Acme")
        made = {}
        for name, features in (("Pickers", ["lcs.handling.write"]), ("Readers", ["lcs.shipments.read"])):
            role = Role(tenant_id=tenant.id, name=name)
            db.session.add(role)
            db.session.flush()
            db.session.add(RoleAcl(tenant_id=tenant.id, role_id=role.id, features=features))
            made[name] = role.id
        db.session.commit()

        def features(name):
            db.session.expire_all()
            return db.session.scalar(sa.select(RoleAcl.features).where(RoleAcl.role_id == made[name]))

        upgrade(revision="0022_progress_jobs")
        assert features("Pickers") == ["lcs.handling.write", "progress.view"]
        assert features("Readers") == ["lcs.shipments.read"]
        downgrade(revision="0021_global_roles")
        assert features("Pickers") == ["lcs.handling.write"]


def test_a_label_batch_cancelled_while_its_pdf_renders_stores_nothing(client, h, files_root, monkeypatch):
    """The batch checks for a cancel after rendering and before storing: no PDF, no labels."""
    from services import documents

    render = documents.render_pdf

    def cancel_meanwhile(html):
        db.session.execute(
            sa.update(Task)
            .where(Task.name == "lcs.list.labels", Task.status == "running")
            .values(cancel_requested_at=utcnow())
        )
        db.session.commit()  # as a DELETE from someone else would
        return render(html)

    monkeypatch.setattr(documents, "render_pdf", cancel_meanwhile)
    s = shipment(client, h)
    list_id = new_list(client, h, s["id"])
    p = parcel(client, h, s)
    r = client.post(f"/lcs/lists/{list_id}/labels", headers=h)
    body = job(client, h, r.headers["x-task-id"])
    assert body["status"] == "cancelled" and body["cancelRequestedAt"] and body["finishedAt"]
    assert client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()["label"]["file_id"] is None
    assert client.get(f"/mes/tasks/{body['id']}/file", headers=h).status_code == 404
    assert not [f for f in files_root.rglob("*") if f.is_file()]


def external_job(app, tenant, name, **fields) -> str:
    with app.app_context():
        t = Task(tenant_id=tenant, name="erp.import", label=name, external=True, params={}, **fields)
        db.session.add(t)
        db.session.commit()
        return str(t.id)


@pytest.mark.browser
def test_jobs_in_a_browser(app, page, live_server, admin, tenant):
    """The header shows the running jobs and leads to Floor → Jobs; Cancel there swaps its row
    without a reload; the table follows what an integration reports by itself."""
    stoppable = external_job(app, tenant, "Import orders", cancellable=True)
    reported = external_job(app, tenant, "Sync stock", status="running", started_at=utcnow(), total=10)
    open_and_sign_in(page, live_server, admin)
    badge = page.locator("#jobs-indicator a.jobs-badge")
    expect(badge).to_have_text(re.compile("2 jobs running"))
    badge.click()
    page.wait_for_url(url_is(live_server, "/progress/jobs"))
    set_marker(page)
    expect(page.locator(f"#job-{reported}")).to_contain_text("Sync stock")
    expect(page.locator(f"#job-{reported} button")).to_have_count(0)  # not cancellable

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"#job-{stoppable}").get_by_role("button", name="Cancel").click()
    expect(page.locator(".toast")).to_contain_text("Import orders: cancelled")
    assert marker_survived(page)
    assert stored(app, stoppable).status == "cancelled"
    expect(page.locator(f"#job-{stoppable}")).to_have_count(0)  # the next refresh shows running jobs only

    with app.app_context():
        db.session.execute(sa.update(Task).where(Task.id == uuid.UUID(reported)).values(done=5, progress=50))
        db.session.commit()
    expect(page.locator(f"#job-{reported}")).to_contain_text("5 of 10")
    assert marker_survived(page)
