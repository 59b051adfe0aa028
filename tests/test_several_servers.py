"""Issue #20, several servers: Wharf deployed as the README describes it — two gunicorn servers
and one RQ worker on one PostgreSQL, one Redis and shared file storage. Whatever one server
writes, the other serves at once: a scan, an ACL change (enforced on the very next request),
and a label whose task one server enqueues and the worker renders."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from services import roles
from tests.support import PASSWORD, Factory, new_list, new_shipment, parcel, redis_or_skip, scan, tenant_admin

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/11"  # a database of its own: the worker takes only these jobs
DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = pytest.mark.skipif(
    not DATABASE_URL.startswith(("postgres://", "postgresql")),
    reason="several servers share one PostgreSQL (the CI's PostgreSQL run has it); SQLite is one machine's file",
)


class Remote:
    """A server over HTTP, with the test client's ``get/post/put`` and ``get_json`` (so the
    helpers of tests/support.py drive it)."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()

    def request(self, method: str, path: str, **kwargs):
        r = self.http.request(method, self.base + path, timeout=30, **kwargs)
        r.get_json = r.json
        return r

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def token(self, email: str) -> dict:
        r = self.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def deployment(app, tmp_path):
    """Two servers (two sync workers each) and a worker, all reading one environment."""
    redis = redis_or_skip(REDIS_URL)
    redis.flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "several-servers-share-one-secret-key",
        "WHARF_ATTACHMENTS_ROOT": str(tmp_path / "files"),  # the shared storage
    }
    started: list[subprocess.Popen] = []
    servers = []
    log = (tmp_path / "processes.log").open("w")
    try:
        for _ in range(2):
            port = free_port()
            cmd = [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}"]
            cmd += ["--log-level", "warning", "app:create_app()"]
            started.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log))
            servers.append(Remote(f"http://127.0.0.1:{port}"))
        worker = [sys.executable, "-m", "flask", "--app", "app", "worker"]
        started.append(subprocess.Popen(worker, cwd=ROOT, env=env, stdout=log, stderr=log))
        deadline = time.monotonic() + 60
        for server in servers:
            while True:
                try:
                    if server.get("/healthz").status_code == 200:
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, (tmp_path / "processes.log").read_text()[-2000:]
                time.sleep(0.2)
        yield servers
    finally:
        for proc in started:
            proc.terminate()
        for proc in started:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        redis.flushdb()


@pytest.fixture()
def people(app, tenant):
    boss = tenant_admin(app, tenant, "boss@acme.test")
    Factory(app).member(tenant, "pia@acme.test", roles.WAREHOUSE_STAFF)
    return boss, "pia@acme.test"


def test_a_scan_on_one_server_is_seen_on_the_other_at_once(deployment, people):
    one, other = deployment
    boss, picker = people
    h_boss, h_picker = one.token(boss), one.token(picker)
    s = new_shipment(one, h_boss)
    list_id = new_list(one, h_boss, s["id"])
    before = other.get(f"/lcs/lists/{list_id}/station", headers={**h_picker, "Accept": "application/json"})
    assert before.status_code == 200 and before.json()["progress"]["handled"] == 0
    etag = before.headers["ETag"]
    assert scan(one, h_picker, list_id, "SKU-A")["status"] == "ok"
    after = other.get(
        f"/lcs/lists/{list_id}/station", headers={**h_picker, "Accept": "application/json", "If-None-Match": etag}
    )
    assert after.status_code == 200 and after.json()["progress"]["handled"] == 1  # not a stale 304
    # the token one server signed is good on the other
    assert scan(other, h_picker, list_id, "SKU-A")["status"] == "ok"
    assert one.get(f"/lcs/lists/{list_id}/station", headers=h_picker).json()["progress"]["handled"] == 2


def test_an_acl_change_on_one_server_holds_on_the_other_at_its_next_request(deployment, people):
    one, other = deployment
    boss, picker = people
    h_boss, h_picker = one.token(boss), other.token(picker)
    list_id = new_list(one, h_boss, new_shipment(one, h_boss)["id"])
    for _ in range(4):  # both workers of the other server have the picker's grants in their caches
        assert other.get(f"/lcs/lists/{list_id}/station", headers=h_picker).status_code == 200
    staff = next(
        r for r in one.get("/api/auth/roles", headers=h_boss).json()["items"] if r["name"] == "Warehouse staff"
    )
    acl = one.get(f"/api/auth/roles/acl?roleId={staff['id']}", headers=h_boss).json()
    kept = [f for f in acl["features"] if not f.startswith("lcs.")]
    body = {"roleId": staff["id"], "features": kept, "organizations": acl["organizations"]}
    assert one.put("/api/auth/roles/acl", json=body, headers=h_boss).status_code == 200
    for _ in range(4):  # whichever worker answers
        r = other.post(f"/lcs/lists/{list_id}/scan", json={"code": "SKU-A"}, headers=h_picker)
        assert r.status_code == 403, r.text


def test_a_label_one_server_enqueues_is_rendered_by_the_worker_and_served_by_the_other(deployment, people):
    one, other = deployment
    boss, _ = people
    h = one.token(boss)
    s = new_shipment(one, h)
    p = parcel(one, h, s)
    r = one.post(f"/lcs/parcels/{p['id']}/label", headers=h)
    assert r.status_code == 204, r.text
    task_id = r.headers["x-task-id"]
    deadline = time.monotonic() + 60
    while (task := other.get(f"/mes/tasks/{task_id}", headers=h).json())["status"] != "done":
        assert task["status"] in ("queued", "running") and time.monotonic() < deadline, task
        time.sleep(0.2)
    pdf = other.get(f"/lcs/parcels/{p['id']}/label.pdf", headers=h)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
