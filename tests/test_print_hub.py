"""The print hub end to end: Wharf served over HTTP, the real agent as its own process (Debian's
plain python3 when present, isolated from the venv: the standard library is all it needs), and
printers on loopback — a JetDirect listener, and a CUPS queue for IPP."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from printhub.agent import Agent
from tests.printers import CupsServer, JetDirectPrinter, missing_cups_programs
from tests.support import api_token, bearer, parcel, picked_shipment

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3" if shutil.which("/usr/bin/python3") else sys.executable


@pytest.fixture()
def h(client, admin):
    return bearer(api_token(client, admin))


@pytest.fixture()
def printer():
    jetdirect = JetDirectPrinter()
    yield jetdirect
    jetdirect.close()


@pytest.fixture()
def agents(tmp_path):
    """Start agent processes; all are killed at the end."""
    started: list[subprocess.Popen] = []

    def start(server: str, secret: str) -> subprocess.Popen:
        code = "import sys; sys.path.insert(0, sys.argv.pop(1)); from printhub.agent import main; main()"
        args = [PYTHON, "-I", "-c", code, str(ROOT), "--server", server, "--secret", secret]
        args += ["--state-dir", str(tmp_path / "hub-state"), "--wait", "1"]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def hub_with_printer(client, h, interface: str, address: str, encoding: str = "zpl") -> tuple[dict, dict]:
    hub = client.post("/spl/hubs", json={"name": "Dock hub"}, headers=h).get_json()
    body = {
        "name": "Bench printer",
        "hub_id": hub["id"],
        "default_encoding": encoding,
        "connection": {"interface": interface, "address": address},
    }
    r = client.post("/spl/printers", json=body, headers=h)
    assert r.status_code == 200, r.get_json()
    return hub, r.get_json()


def submit(client, h, printer_id, data: bytes, media="application/zpl") -> dict:
    job = "data:" + media + ";base64," + base64.b64encode(data).decode()
    r = client.post("/spl/queue", json={"job": job, "tag": printer_id, "description": "Test job"}, headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def wait_for_status(client, h, job_id, status, timeout=20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        row = client.get(f"/spl/queue/{job_id}", headers=h).get_json()
        if row["status"] == status:
            return row
        assert time.monotonic() < deadline, f"job still {row['status']} ({row.get('error')}), expected {status}"
        time.sleep(0.1)


def wait_for_logs(client, h, hub_id, count, timeout=10.0) -> list[dict]:
    """The hub's log once it holds ``count`` entries (it never holds more in these tests)."""
    deadline = time.monotonic() + timeout
    while True:
        logs = client.get(f"/spl/hubs/{hub_id}/logs", headers=h).get_json()
        if len(logs) >= count:
            assert len(logs) == count, logs
            return logs
        assert time.monotonic() < deadline, f"{len(logs)} log entries, expected {count}: {logs}"
        time.sleep(0.1)


def test_raw_zpl_arrives_byte_for_byte(client, h, live_server, printer, agents):
    hub, p = hub_with_printer(client, h, "network", printer.address)
    data = "^XA^CI28^FO50,50^A0N,40^FDGrüße ^FS^XZ".encode() + bytes(range(256))
    job = submit(client, h, p["id"], data)
    agents(live_server, hub["secret"])
    assert printer.wait_for_jobs(1) == [data]
    assert wait_for_status(client, h, job["id"], "printed")["printed_at"]
    status = client.get(f"/spl/hubs/{hub['id']}/status", headers=h).get_json()
    assert (
        status["is_online"]
        and status["image"]["version"] == "1.0"
        and status["network"]["remote_ip_address"] == "127.0.0.1"
    )
    assert client.get(f"/spl/hubs/{hub['id']}/network", headers=h).get_json(), "the agent reports its network"


def test_a_parcels_label_arrives_as_zpl(client, h, live_server, printer, agents):
    hub, p = hub_with_printer(client, h, "network", printer.address)
    agents(live_server, hub["secret"])
    label = parcel(client, h, picked_shipment(client, h))
    r = client.post(f"/lcs/parcels/{label['id']}/print", json={"printer_id": p["id"]}, headers=h)
    assert r.status_code == 204
    [received] = printer.wait_for_jobs(1)
    text = received.decode()
    assert "^XA" in text and text.rstrip().endswith("^XZ") and f">;>800{label['number']}" in text
    wait_for_status(client, h, r.headers["x-job-id"], "printed")


class _StalledThenWorking(JetDirectPrinter):
    """A printer whose first connection takes nothing (the agent is stuck mid-job), then prints."""

    def __init__(self):
        self.stalled = threading.Event()
        self.release = threading.Event()
        super().__init__()

    def finish_request(self, request, client_address):
        if not self.stalled.is_set():
            self.stalled.set()
            self.release.wait(30)  # never reads: the sender's buffers fill up
            return
        super().finish_request(request, client_address)


def test_an_agent_killed_mid_job_prints_that_job_once_after_a_restart(client, h, live_server, agents):
    stuck = _StalledThenWorking()
    try:
        hub, p = hub_with_printer(client, h, "network", stuck.address)
        data = b"^XA^FO10,10^GFA," + os.urandom(4 * 1024 * 1024).hex().encode()[: 8 * 1024 * 1024] + b"^FS^XZ"
        job = submit(client, h, p["id"], data)
        first = agents(live_server, hub["secret"])
        assert stuck.stalled.wait(20), "the agent never reached the printer"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert client.get(f"/spl/queue/{job['id']}", headers=h).get_json()["status"] == "received"
        agents(live_server, hub["secret"])  # restarted: gets back the job it held and sends it again
        assert stuck.wait_for_jobs(1, timeout=30) == [data]
        row = wait_for_status(client, h, job["id"], "printed")
        time.sleep(1.5)  # a further pull or two: nothing is printed again
        assert len(stuck.jobs) == 1 and row["attempts"] == 1
    finally:
        stuck.release.set()
        stuck.close()


def test_a_job_sent_before_a_crash_is_reported_not_printed_again(app, client, h, live_server, printer, tmp_path):
    """The journal: a job marked sent (the agent died before reporting) is only reported."""
    hub, p = hub_with_printer(client, h, "network", printer.address)
    job = submit(client, h, p["id"], b"^XA^XZ")
    agent = Agent(live_server, hub["secret"], tmp_path / "state", wait=0)
    agent.register()
    [held] = agent.pull(restart=True)
    agent.journal.mark(held["id"], "sent")  # where a crash after the printer took it leaves the journal
    restarted = Agent(live_server, hub["secret"], tmp_path / "state", wait=0)
    restarted.register()
    [again] = restarted.pull(restart=True)
    restarted.process(again)
    assert wait_for_status(client, h, job["id"], "printed") and printer.jobs == []
    assert restarted.journal.get(held["id"]) is None


def test_a_printer_that_refuses_connections_ends_failed_after_the_retries(
    app, client, h, live_server, agents, monkeypatch
):
    monkeypatch.setitem(app.config, "SPL_RETRY_DELAYS", [0.2])
    monkeypatch.setitem(app.config, "SPL_MAX_ATTEMPTS", 3)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    hub, p = hub_with_printer(client, h, "network", closed)
    job = submit(client, h, p["id"], b"^XA^XZ")
    agents(live_server, hub["secret"])
    row = wait_for_status(client, h, job["id"], "failed", timeout=30)
    assert row["attempts"] == 3 and "refused" in row["error"].lower()
    logs = wait_for_logs(client, h, hub["id"], 3)  # the hub reports the failure, then logs it
    assert all(entry["job_reference"] == job["reference"] for entry in logs)
    health = client.get(f"/spl/printers/{p['id']}", headers=h).get_json()
    assert "refused" in health["last_error"].lower() and health["jobs_waiting"] == 0


@pytest.fixture(scope="module")
def cups():
    if missing := missing_cups_programs():
        pytest.skip(f"CUPS is not installed (missing {', '.join(missing)}; .ci/run installs it)")
    behind = JetDirectPrinter()
    server = CupsServer()
    try:
        server.start()
        server.queue_uri = server.add_raw_queue("wharf-hub", f"socket://{behind.address}")
        server.behind = behind
        yield server
    finally:
        server.stop()
        server.remove()
        behind.close()


def test_the_ipp_path_prints_through_a_real_cups(client, h, live_server, agents, cups):
    hub, p = hub_with_printer(client, h, "ipp", cups.queue_uri, encoding="pdf")
    pdf = client.post("/cnt/html/inline", json={"content": base64.b64encode(b"<p>Slip</p>").decode()}, headers=h).data
    job = submit(client, h, p["id"], pdf, media="application/pdf")
    agents(live_server, hub["secret"])
    before = len(cups.behind.jobs)
    assert cups.behind.wait_for_jobs(before + 1, timeout=30)[-1] == pdf
    wait_for_status(client, h, job["id"], "printed")
