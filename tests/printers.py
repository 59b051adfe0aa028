"""Printers for the print-hub tests: a JetDirect printer on loopback and a CUPS scheduler of the
test's own (Debian's cupsd with a private configuration, so no system CUPS state is read or changed).

Both are real network peers: the JetDirect printer is a TCP server that keeps each connection's
bytes as one job; the CUPS queues are raw queues whose device is such a printer, reached through
CUPS' own socket backend. A raw queue on a file:// device would be simpler but writes nothing:
cupsd runs no filter for a raw job, and a file device is written only by the last filter.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from pathlib import Path

# --- JetDirect ----------------------------------------------------------------------------------


class _JobHandler(socketserver.BaseRequestHandler):
    def handle(self):
        chunks = []
        while chunk := self.request.recv(65536):
            chunks.append(chunk)
        self.server.received(b"".join(chunks))


class JetDirectPrinter(socketserver.ThreadingTCPServer):
    """A raw-TCP (port 9100 style) printer on a free loopback port; each connection read to its
    end is one job in ``jobs``. Closes its end once the sender has shut down its own, as printers do."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str = "127.0.0.1"):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, 0), _JobHandler)
        self.jobs: list[bytes] = []
        self._arrived = threading.Condition()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def received(self, job: bytes):
        with self._arrived:
            self.jobs.append(job)
            self._arrived.notify_all()

    def wait_for_jobs(self, count: int, timeout: float = 15.0) -> list[bytes]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.jobs) >= count, timeout):
                raise AssertionError(f"{len(self.jobs)} job(s) arrived in {timeout}s, expected {count}")
            return list(self.jobs)

    def close(self):
        self.shutdown()
        self.server_close()


# --- CUPS ---------------------------------------------------------------------------------------

CUPS_PROGRAMS = ("cupsd", "lpadmin", "cupsdisable", "cupsreject", "ipptool")
_SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def missing_cups_programs() -> list[str]:
    """The CUPS programs the tests need that are not installed (Debian: cups, cups-client, cups-ipp-utils)."""
    return [name for name in CUPS_PROGRAMS if not shutil.which(name, path=_SBIN_PATH)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CUPSD_CONF = """\
Listen 127.0.0.1:{port}
Browsing No
WebInterface No
DefaultShared No
LogLevel info
DefaultAuthType None
<Location />
  Order allow,deny
  Allow 127.0.0.1
</Location>
<Policy default>
  JobPrivateAccess all
  JobPrivateValues none
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""

CUPS_FILES_CONF = """\
ServerRoot {root}/etc
StateDir {root}/run
CacheDir {root}/cache
RequestRoot {root}/spool
TempDir {root}/spool/tmp
AccessLog {root}/log/access_log
ErrorLog {root}/log/error_log
PageLog {root}/log/page_log
"""


class CupsServer:
    """cupsd in the foreground on a free loopback port, configured, spooled and logged under a
    directory of its own; anyone on loopback may administer it (it holds nothing else)."""

    def __init__(self):
        # cupsd runs backends as the lp user, who must reach the spool: a world-traversable root.
        self.root = Path(tempfile.mkdtemp(prefix="wharf-cups-"))
        self.root.chmod(0o755)
        for sub in ("etc", "run", "cache", "spool/tmp", "log"):
            (self.root / sub).mkdir(parents=True)
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, attempts: int = 3):
        """Start cupsd and wait until it answers; a port taken between choosing and binding is retried."""
        for _ in range(attempts):
            self.port = _free_port()
            (self.root / "etc/cupsd.conf").write_text(CUPSD_CONF.format(port=self.port))
            (self.root / "etc/cups-files.conf").write_text(CUPS_FILES_CONF.format(root=self.root))
            self.process = subprocess.Popen(
                [
                    shutil.which("cupsd", path=_SBIN_PATH),
                    "-f",
                    "-c",
                    str(self.root / "etc/cupsd.conf"),
                    "-s",
                    str(self.root / "etc/cups-files.conf"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 15
            while self.process.poll() is None and time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                    return
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"cupsd did not start; its log:\n{self.log()}")

    def log(self) -> str:
        path = self.root / "log/error_log"
        return path.read_text(errors="replace") if path.exists() else "(no error_log)"

    def _admin(self, program: str, *args: str):
        subprocess.run(
            [shutil.which(program, path=_SBIN_PATH), "-h", self.host, *args],
            check=True,
            capture_output=True,
            timeout=30,
        )

    def add_raw_queue(self, name: str, device_uri: str) -> str:
        """A raw queue (no PPD, so CUPS passes every job through untouched), enabled and accepting
        jobs; answers its ipp:// URI."""
        self._admin("lpadmin", "-p", name, "-E", "-v", device_uri)
        return f"ipp://{self.host}/printers/{name}"

    def pause(self, queue: str, reason: str):
        """Stop the queue printing (printer-state stopped), with ``reason`` as its state message."""
        self._admin("cupsdisable", "-r", reason, queue)

    def reject_jobs(self, queue: str):
        """Keep the queue up but refuse new jobs (printer-is-accepting-jobs false)."""
        self._admin("cupsreject", queue)

    def job_attributes(self, queue_uri: str, job_id: int) -> dict[str, str]:
        """A job's attributes as CUPS' own IPP client (ipptool) reads them: {name: value as printed}."""
        test = self.root / "get-job-attributes.test"
        test.write_text(
            "{\n OPERATION Get-Job-Attributes\n GROUP operation-attributes-tag\n"
            " ATTR charset attributes-charset utf-8\n ATTR naturalLanguage attributes-natural-language en\n"
            " ATTR uri printer-uri $uri\n ATTR integer job-id $job_id\n"
            " ATTR keyword requested-attributes all\n STATUS successful-ok\n}\n"
        )
        result = subprocess.run(
            [shutil.which("ipptool", path=_SBIN_PATH), "-tv", "-d", f"job_id={job_id}", queue_uri, str(test)],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
        lines = result.stdout.split("RECEIVED:", 1)[1].splitlines()  # the response, not the request
        return {m[1]: m[2] for line in lines if (m := re.match(r"\s+([\w-]+) \([^)]*\) = (.*)$", line))}

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def remove(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
