"""The print hub agent: runs next to the printers (a Raspberry Pi will do), connects out to
Wharf with the hub's secret, pulls jobs (long poll) and sends their bytes to the printers.

Standard library only, so it runs from a plain Python install:
``python -m printhub --server https://wharf.example --secret whh_…`` (or, where Wharf is
installed, ``flask --app app print-hub …``).

Delivery is at least once, and a journal on disk makes a restart print nothing twice: a job
is marked ``sending`` before its bytes go out and ``sent`` once the printer took them. After
a restart Wharf hands back every job the hub held; one marked ``sent`` is only reported
printed, one marked ``sending`` (the agent died mid-job) is sent again — at most that one.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib import error, request

from printhub.transports import PrintError, ipp_printer_state, send

VERSION = "1.0"  # services.printing.hubs.AGENT_VERSION: the hub page says when an agent is older
PREFIX = "whh_"
log = logging.getLogger("wharf.printhub")


class ServerError(Exception):
    """Wharf could not be reached or refused a call (retried by the loop)."""


class Journal:
    """Job id → ``sending`` | ``sent``, kept in a JSON file replaced atomically on every change."""

    def __init__(self, path: Path):
        self.path = path
        self.states: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}

    def get(self, job_id: str) -> str | None:
        return self.states.get(job_id)

    def mark(self, job_id: str, state: str | None) -> None:
        if state is None:
            self.states.pop(job_id, None)
        else:
            self.states[job_id] = state
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump(self.states, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def hub_uuid(secret: str) -> str:
    """The hub's uuid: the secret is ``whh_<uuid hex>.<random>``."""
    head = secret.split(".", 1)[0]
    if not head.startswith(PREFIX):
        raise ValueError("not a print hub secret (it starts with whh_)")
    return str(uuid.UUID(head[len(PREFIX) :]))


def local_address() -> str | None:
    """The LAN address this machine reaches the outside with (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: routing only
            return s.getsockname()[0]
    except OSError:
        return None


def printer_state(conn: dict) -> str:
    """What an IPP printer says about itself after a refusal (" (printer stopped: paused)"), for
    the operator reading the hub's log; nothing for raw printers, which cannot say."""
    if conn["interface"] != "ipp":
        return ""
    try:
        state = ipp_printer_state(conn["address"])
    except PrintError:
        return ""
    message = state["message"] or ", ".join(state["reasons"])
    return f" (printer {state['state']}{': ' + message if message else ''})"


@dataclass
class Agent:
    server: str
    secret: str
    state_dir: Path
    wait: float = 20.0
    timeout: float = 10.0
    hub_id: str | None = None
    journal: Journal = field(init=False)

    def __post_init__(self):
        self.server = self.server.rstrip("/")
        self.uuid = hub_uuid(self.secret)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(self.state_dir / f"journal-{self.uuid}.json")

    # --- talking to Wharf -----------------------------------------------------------------

    def call(self, method: str, path: str, body=None, *, timeout: float | None = None, raw: bool = False):
        data = None if body is None else json.dumps(body).encode()
        req = request.Request(self.server + "/api" + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.secret}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with request.urlopen(req, timeout=timeout or self.timeout) as resp:
                payload = resp.read()
        except error.HTTPError as e:
            raise ServerError(f"{method} {path}: {e.code} {e.read()[:300]!r}") from None
        except (error.URLError, OSError) as e:
            raise ServerError(f"{method} {path}: {e}") from None
        if raw:
            return payload
        return json.loads(payload) if payload else None

    def register(self) -> None:
        """Find this hub by its uuid and report the network it sits on."""
        self.hub_id = self.call("GET", f"/spl/hubs/{self.uuid}/uuid")["id"]
        address = local_address()
        mac = ":".join(f"{(uuid.getnode() >> s) & 0xFF:02x}" for s in range(40, -8, -8))
        device = {"description": socket.gethostname(), "mac_address": mac, "interface": {"interface": "lan"}}
        device["interface"]["address"] = address or ""
        self.call("PUT", f"/spl/hubs/{self.hub_id}/network", [device])

    def pull(self, *, restart: bool = False) -> list[dict]:
        body = {"wait": self.wait, "restart": restart, "version": VERSION, "ip_address": local_address()}
        body["properties"] = [{"key": "hostname", "value": socket.gethostname()}]
        return self.call("POST", f"/spl/hubs/{self.hub_id}/jobs", body, timeout=self.wait + self.timeout)

    def report(self, job: dict, status: str, error_text: str | None = None, retryable: bool = True) -> None:
        body = {"status": status, "error": error_text, "retryable": retryable}
        self.call("PUT", f"/spl/queue/{job['id']}", body)

    def log(self, message: str, job: dict | None = None) -> None:
        body = {"message": message[:2000], "level": "public", "job_reference": job["reference"] if job else None}
        try:
            self.call("POST", f"/spl/hubs/{self.hub_id}/logs", body)
        except ServerError:
            log.warning("could not log to Wharf: %s", message)

    # --- printing -------------------------------------------------------------------------

    def process(self, job: dict) -> None:
        job_id = job["id"]
        if self.journal.get(job_id) != "sent":  # sent before a restart: report it, do not print it again
            data = self.call("GET", job["artifact"].removeprefix("/api"), raw=True)
            self.journal.mark(job_id, "sending")
            conn = job["connection"]
            try:
                send(conn["interface"], conn["address"], data, encoding=job["encoding"], job_name=job["description"])
            except PrintError as e:
                self.journal.mark(job_id, None)
                why = f"{e}{printer_state(conn)}"
                log.warning("job %s failed: %s", job["reference"], why)
                self.report(job, "failed", why, e.retryable)
                self.log(f"{job['description'] or job['reference']}: {why}", job)
                return
            self.journal.mark(job_id, "sent")
        self.report(job, "printed")
        self.journal.mark(job_id, None)

    def run(self, *, stop=lambda: False) -> None:
        """Pull and print until ``stop()``; a Wharf outage is waited out with a growing pause."""
        restart, pause = True, 1.0
        while not stop():
            try:
                if self.hub_id is None:
                    self.register()
                    log.info("hub %s (%s) connected to %s", self.hub_id, self.uuid, self.server)
                for job in self.pull(restart=restart):
                    self.process(job)
                restart, pause = False, 1.0
            except ServerError as e:
                log.warning("%s; trying again in %.0f s", e, pause)
                time.sleep(pause)
                pause = min(pause * 2, 30.0)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="printhub", description="Wharf print hub agent")
    parser.add_argument("--server", required=True, help="Wharf's base URL, e.g. https://wharf.example")
    parser.add_argument(
        "--secret", default=os.environ.get("WHARF_HUB_SECRET"), help="the hub's secret (or WHARF_HUB_SECRET)"
    )
    parser.add_argument("--state-dir", default=os.environ.get("WHARF_HUB_STATE", "~/.wharf-print-hub"))
    parser.add_argument("--wait", type=float, default=20.0, help="seconds a pull waits for a job")
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("--secret (or WHARF_HUB_SECRET) is required")
    run_agent(args.server, args.secret, Path(args.state_dir).expanduser(), wait=args.wait)


def run_agent(server: str, secret: str, state_dir: Path, *, wait: float = 20.0) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    Agent(server, secret, state_dir, wait=wait).run()
