"""Background tasks: GET /mes/tasks/{id} in its three renderings, the runner's guarantees
(a crash ends failed with its error, never stuck running), progress per document, the
real thread pool, and the label task run by an RQ worker on the local Redis."""

import os
import threading
import time
import uuid
from datetime import timedelta

import pytest

from models import Task, db, utcnow
from services import tasks
from tests.support import BROWSER, SYSTEM, api_token, bearer, browser_login, parcel, redis_or_skip, shipment

GATES: dict[str, threading.Event] = {}


@tasks.task("test.echo")
def echo(ctx, value):
    return value


@tasks.task("test.crash")
def crash(ctx):
    ctx.progress(1, 3)
    raise RuntimeError("printer on fire")


class Abort(BaseException):
    """Not an Exception: what SystemExit or a timeout signal look like to the runner."""


@tasks.task("test.abort")
def abort(ctx):
    raise Abort("killed")


@tasks.task("test.steps")
def steps(ctx, gate, documents):
    for n in range(1, documents + 1):
        ctx.progress(n, documents + 1)
        if n == documents // 2:
            GATES[gate].wait(10)
    return "all done"


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


def new_task(app, tenant, name="test.echo", params=None, **fields) -> str:
    with app.app_context():
        t = Task(
            tenant_id=tenant,
            name=name,
            description="A test task",
            params={"value": "x"} if params is None else params,
            **fields,
        )
        db.session.add(t)
        db.session.commit()
        return str(t.id)


def run_now(app, tenant, name, params):
    with app.app_context():
        return str(tasks.enqueue(SYSTEM, name, params, description=name, tenant_id=tenant).id)


def get(app, task_id) -> Task:
    with app.app_context():
        t = db.session.get(Task, uuid.UUID(task_id))
        db.session.expunge(t)
        return t


class TestRenderings:
    def test_json_is_the_seed_shape(self, app, client, h, tenant):
        task_id = run_now(app, tenant, "test.echo", {"value": "file-123"})
        r = client.get(f"/mes/tasks/{task_id}", headers=h)
        assert r.status_code == 200
        body = r.get_json()
        assert {"id", "name", "description", "progress", "result", "started_at", "completed_at", "expires_at"} <= set(
            body
        )
        assert body["id"] == task_id and body["result"] == "file-123" and body["progress"] == 100
        assert body["status"] == "done" and body["completed_at"].endswith("Z") and body["expires_at"]
        assert client.get(f"/api/mes/tasks/{task_id}", headers=h).get_json() == body

    def test_unknown_and_malformed_ids(self, client, h):
        r = client.get(f"/mes/tasks/{uuid.uuid4()}", headers=h)
        assert r.status_code == 404 and r.get_json()["code"] == 404
        assert client.get("/mes/tasks/nope", headers=h).status_code == 404

    def test_htmx_fragment_polls_while_running_and_stops_when_done(self, app, client, admin, tenant):
        running = new_task(app, tenant, status="running", progress=40, started_at=utcnow())
        browser_login(client, admin)
        hx = {**BROWSER, "HX-Request": "true"}
        fragment = client.get(f"/mes/tasks/{running}", headers=hx).get_data(as_text=True)
        assert 'hx-trigger="every 1s"' in fragment and f'hx-get="/mes/tasks/{running}"' in fragment
        assert 'value="40"' in fragment and "<html" not in fragment
        with app.app_context():
            db.session.get(Task, uuid.UUID(running)).status = "done"
            db.session.commit()
        final = client.get(f"/mes/tasks/{running}", headers=hx).get_data(as_text=True)
        assert "hx-trigger" not in final and "Done" in final

    def test_done_task_links_its_pdf_and_failed_shows_the_error(self, app, client, admin, h, tmp_path, monkeypatch):
        monkeypatch.setitem(app.config, "ATTACHMENTS_ROOT", str(tmp_path))
        s = shipment(client, h)
        p = parcel(client, h, s)
        task_id = client.post(f"/lcs/parcels/{p['id']}/label", headers=h).headers["x-task-id"]
        browser_login(client, admin)
        fragment = client.get(f"/mes/tasks/{task_id}", headers={**BROWSER, "HX-Request": "true"}).get_data(as_text=True)
        assert f'href="/mes/tasks/{task_id}/file"' in fragment and "Open PDF" in fragment
        assert client.get(f"/mes/tasks/{task_id}/file", headers=BROWSER).data.startswith(b"%PDF")
        failed = run_now(app, tenant_of(app, task_id), "test.crash", {})
        fragment = client.get(f"/mes/tasks/{failed}", headers={**BROWSER, "HX-Request": "true"}).get_data(as_text=True)
        assert "printer on fire" in fragment and "hx-trigger" not in fragment
        assert client.get(f"/mes/tasks/{failed}/file", headers=h).status_code == 404

    def test_full_page_for_browsers(self, app, client, admin, tenant):
        task_id = new_task(app, tenant)
        browser_login(client, admin)
        page = client.get(f"/mes/tasks/{task_id}", headers=BROWSER).get_data(as_text=True)
        assert "<html" in page and "A test task" in page and 'hx-trigger="every 1s"' in page

    def test_anonymous_is_refused(self, app, client, tenant):
        task_id = new_task(app, tenant)
        assert client.get(f"/mes/tasks/{task_id}", headers={"Accept": "application/json"}).status_code == 401


def tenant_of(app, task_id):
    return get(app, task_id).tenant_id


class TestRunner:
    def test_crash_ends_failed_with_its_error(self, app, tenant):
        t = get(app, run_now(app, tenant, "test.crash", {}))
        assert t.status == "failed" and t.error == "RuntimeError: printer on fire"
        assert t.completed_at is not None and t.started_at is not None and t.result is None

    def test_base_exceptions_are_recorded_then_reraised(self, app, tenant):
        task_id = new_task(app, tenant, name="test.abort", params={})
        with pytest.raises(Abort):
            tasks.run(task_id, app)
        t = get(app, task_id)
        assert t.status == "failed" and "killed" in t.error

    def test_unknown_task_name_fails(self, app, tenant):
        task_id = new_task(app, tenant, name="test.nobody", params={})
        tasks.run(task_id, app)
        assert get(app, task_id).error == "LookupError: no task function named test.nobody"

    def test_a_task_runs_once(self, app, tenant):
        task_id = run_now(app, tenant, "test.echo", {"value": "once"})
        before = get(app, task_id).completed_at
        tasks.run(task_id, app)  # a second delivery (RQ retry, duplicate) is skipped
        assert get(app, task_id).completed_at == before

    def test_a_vanished_worker_is_declared_failed_when_read(self, app, client, h, tenant, monkeypatch):
        long_ago = utcnow() - timedelta(hours=2)
        running = new_task(app, tenant, status="running", started_at=long_ago)
        queued = new_task(app, tenant, created_at=long_ago - timedelta(hours=1))
        fresh = new_task(app, tenant, status="running", started_at=utcnow())
        body = client.get(f"/mes/tasks/{running}", headers=h).get_json()
        assert body["status"] == "failed" and "worker stopped" in body["error"] and body["completed_at"]
        assert client.get(f"/mes/tasks/{queued}", headers=h).get_json()["status"] == "failed"
        assert client.get(f"/mes/tasks/{fresh}", headers=h).get_json()["status"] == "running"

    def test_rq_failure_callback_marks_the_task_failed(self, app, tenant):
        task_id = new_task(app, tenant, status="running", started_at=utcnow())

        class Job:
            args = (task_id,)

        with app.app_context():
            tasks.job_failed(Job(), None, TimeoutError, TimeoutError("job exceeded 600 s"), None)
        t = get(app, task_id)
        assert t.status == "failed" and t.error == "TimeoutError: job exceeded 600 s"


class TestThreadPool:
    def test_real_pool_reports_progress_per_document(self, app, client, h, tenant, monkeypatch):
        monkeypatch.setitem(app.config, "TASKS_EAGER", False)
        monkeypatch.setitem(app.config, "REDIS_URL", None)
        gate = uuid.uuid4().hex
        GATES[gate] = threading.Event()
        try:
            task_id = run_now(app, tenant, "test.steps", {"gate": gate, "documents": 4})
            seen = wait_for(client, h, task_id, lambda b: b["done"] == 2)
            assert seen["status"] == "running" and seen["progress"] == 40 and seen["total"] == 5
            GATES[gate].set()
            final = wait_for(client, h, task_id, lambda b: b["status"] in tasks.ENDED)
            assert final["status"] == "done" and final["result"] == "all done" and final["progress"] == 100
        finally:
            GATES[gate].set()
            GATES.pop(gate, None)

    def test_label_through_the_pool(self, app, client, h, monkeypatch, tmp_path):
        monkeypatch.setitem(app.config, "ATTACHMENTS_ROOT", str(tmp_path))
        monkeypatch.setitem(app.config, "TASKS_EAGER", False)
        monkeypatch.setitem(app.config, "REDIS_URL", None)
        s = shipment(client, h)
        p = parcel(client, h, s)
        r = client.post(f"/lcs/parcels/{p['id']}/label", headers=h)
        assert r.status_code == 204
        final = wait_for(client, h, r.headers["x-task-id"], lambda b: b["status"] in tasks.ENDED)
        assert final["status"] == "done", final
        assert client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()["label"]["file_id"] == final["result"]


def wait_for(client, h, task_id, done, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/mes/tasks/{task_id}", headers=h).get_json()
        if done(body):
            return body
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not get there: {body}")


REDIS_URL = os.environ.get("WHARF_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture()
def redis_queue(app, monkeypatch):
    """A unique queue on the local Redis for this test run (removed afterwards)."""
    connection = redis_or_skip(REDIS_URL)
    name = f"wharf-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setitem(app.config, "TASKS_EAGER", False)
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "TASKS_QUEUE", name)
    queue = tasks.rq_queue(app)
    yield queue
    queue.delete(delete_jobs=True)
    for key in connection.scan_iter(f"rq:*{name}*"):
        connection.delete(key)


class TestRQ:
    def test_label_task_runs_on_an_rq_worker(self, app, client, h, redis_queue, monkeypatch, tmp_path):
        from rq import SimpleWorker

        monkeypatch.setitem(app.config, "ATTACHMENTS_ROOT", str(tmp_path))
        s = shipment(client, h)
        p = parcel(client, h, s)
        r = client.post(f"/lcs/parcels/{p['id']}/label", headers=h)
        assert r.status_code == 204
        task_id = r.headers["x-task-id"]
        assert client.get(f"/mes/tasks/{task_id}", headers=h).get_json()["status"] == "queued"
        assert redis_queue.count == 1
        with app.app_context():  # what `flask --app app worker --burst` does, in this process
            SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
        body = client.get(f"/mes/tasks/{task_id}", headers=h).get_json()
        assert body["status"] == "done", body
        label = client.get(f"/lcs/parcels/{p['id']}", headers=h).get_json()["label"]
        assert label["file_id"] == body["result"]
        assert client.get(f"/lcs/parcels/{p['id']}/label.pdf", headers=h).data.startswith(b"%PDF")
        assert redis_queue.count == 0

    def test_worker_command_needs_redis(self, app, monkeypatch):
        monkeypatch.setitem(app.config, "REDIS_URL", None)
        result = app.test_cli_runner().invoke(args=["worker", "--burst"])
        assert result.exit_code != 0 and "REDIS_URL" in result.output
