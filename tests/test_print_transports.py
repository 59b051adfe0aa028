"""The print hub's printer transports against real peers: JetDirect printers on loopback, and a
cupsd of the test's own whose raw queues print to such a printer (tests/printers.py)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from printhub.transports import PrintError, ipp_printer_state, send, send_ipp, send_raw
from tests.printers import CupsServer, JetDirectPrinter, missing_cups_programs

# Every byte value, a ZPL label with UTF-8 and a tail long enough to need many TCP segments.
BINARY = bytes(range(256)) * 4 + "^XA^CI28^FO20,20^A0N,30^FDŁódź → Zürich^FS^XZ".encode() + b"\x00\xff" * 300_000


@pytest.fixture()
def printer():
    jetdirect = JetDirectPrinter()
    yield jetdirect
    jetdirect.close()


# --- JetDirect ----------------------------------------------------------------------------------


class TestRaw:
    def test_the_printer_receives_the_bytes_exactly(self, printer):
        started = time.monotonic()
        send_raw(printer.address, BINARY, timeout=5)
        assert time.monotonic() - started < 4, "send_raw waits for the printer's end, not for its timeout"
        send_raw(printer.address, b"^XA^FDsecond^FS^XZ")
        assert printer.wait_for_jobs(2) == [BINARY, b"^XA^FDsecond^FS^XZ"]

    def test_port_9100_is_the_default(self, monkeypatch, printer):
        monkeypatch.setattr("printhub.transports.RAW_PORT", printer.server_address[1])
        send_raw("127.0.0.1", b"^XA^XZ")
        assert printer.wait_for_jobs(1) == [b"^XA^XZ"]

    def test_ipv6_addresses(self, monkeypatch):
        try:
            printer = JetDirectPrinter("::1")
        except OSError as exc:
            pytest.skip(f"no IPv6 loopback here: {exc}")
        try:
            assert printer.address.startswith("[::1]:")
            send_raw(printer.address, b"^XA^FDv6^FS^XZ")
            monkeypatch.setattr("printhub.transports.RAW_PORT", printer.server_address[1])
            send_raw("::1", b"^XA^FDbare^FS^XZ")  # without brackets there is no port: the default one
            assert printer.wait_for_jobs(2) == [b"^XA^FDv6^FS^XZ", b"^XA^FDbare^FS^XZ"]
        finally:
            printer.close()

    def test_printer_that_keeps_its_end_open_has_the_job(self):
        """Some printers never close after a job: the hub stops waiting at its timeout, no error."""
        received = []
        with socket.create_server(("127.0.0.1", 0)) as server:

            def keep_open():
                connection, _ = server.accept()
                with connection:
                    while chunk := connection.recv(65536):
                        received.append(chunk)
                    time.sleep(1.5)  # the sender's end is shut, this one stays open

            listener = threading.Thread(target=keep_open)
            listener.start()
            started = time.monotonic()
            send_raw(f"127.0.0.1:{server.getsockname()[1]}", b"^XA^FDkept^FS^XZ", timeout=0.5)
            assert 0.4 < time.monotonic() - started < 1.4
            listener.join()
        assert b"".join(received) == b"^XA^FDkept^FS^XZ"

    def test_refused_connection_is_retryable(self):
        with socket.socket() as bound_not_listening:  # holds the port, so nothing else answers on it
            bound_not_listening.bind(("127.0.0.1", 0))
            port = bound_not_listening.getsockname()[1]
            with pytest.raises(PrintError, match="refused") as caught:
                send_raw(f"127.0.0.1:{port}", b"^XA^XZ")
        assert caught.value.retryable is True

    def test_printer_that_stops_reading_times_out_retryably(self):
        """A printer out of paper stops reading: the job must not hang the hub."""
        with socket.socket() as stalled:
            stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stalled.bind(("127.0.0.1", 0))
            stalled.listen()  # the connection is made by the kernel, but nobody ever reads
            started = time.monotonic()
            with pytest.raises(PrintError, match="timed out") as caught:
                send_raw(f"127.0.0.1:{stalled.getsockname()[1]}", b"\x00" * 32_000_000, timeout=0.5)
        assert caught.value.retryable is True
        assert time.monotonic() - started < 5

    @pytest.mark.parametrize("address", ["", "printer:notaport", "printer:70000", "printer/queue", "[::1"])
    def test_bad_address_is_not_retryable(self, address):
        with pytest.raises(PrintError, match="bad printer address") as caught:
            send_raw(address, b"^XA^XZ")
        assert caught.value.retryable is False

    def test_send_dispatches_network_printers_to_jetdirect(self, printer):
        assert send("network", printer.address, b"^XA^XZ", encoding="zpl", job_name="label") is None
        assert printer.wait_for_jobs(1) == [b"^XA^XZ"]

    @pytest.mark.parametrize(
        ("interface", "encoding", "refusal"),
        [("usb", "zpl", "unknown printer interface 'usb'"), ("network", "epl", "unknown document encoding 'epl'")],
    )
    def test_send_refuses_what_it_cannot_print(self, printer, interface, encoding, refusal):
        with pytest.raises(PrintError, match=refusal) as caught:
            send(interface, printer.address, b"x", encoding=encoding, job_name="label")
        assert caught.value.retryable is False
        assert printer.jobs == []


# --- IPP against CUPS ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cups_printer():
    """The JetDirect printer behind the CUPS queue (one for the module, like the cupsd)."""
    jetdirect = JetDirectPrinter()
    yield jetdirect
    jetdirect.close()


@pytest.fixture(scope="module")
def cups(cups_printer):
    """A cupsd with raw queues printing to ``cups_printer``: ``wharf-test`` gets the jobs,
    ``wharf-idle`` none; ``wharf-paused`` is stopped with a reason; ``wharf-closed`` refuses new jobs."""
    if missing := missing_cups_programs():
        pytest.skip(f"CUPS is not installed (missing {', '.join(missing)}; Debian: cups cups-client cups-ipp-utils)")
    server = CupsServer()
    try:
        server.start()
        server.queues = {
            name: server.add_raw_queue(name, f"socket://{cups_printer.address}")
            for name in ("wharf-test", "wharf-idle", "wharf-paused", "wharf-closed")
        }
        server.pause("wharf-paused", "Out of labels — reload roll 2")
        server.reject_jobs("wharf-closed")
        yield server
    finally:
        server.remove()


class TestIpp:
    def test_print_job_reaches_the_printer_behind_the_queue(self, cups, cups_printer):
        before = len(cups_printer.jobs)
        job_id = send_ipp(
            cups.queues["wharf-test"], BINARY, document_format="application/octet-stream", job_name="Parcel 7 — 1/2"
        )
        assert cups_printer.wait_for_jobs(before + 1)[-1] == BINARY
        # CUPS' own IPP client reads back what the request said.
        job = cups.job_attributes(cups.queues["wharf-test"], job_id)
        assert job["job-id"] == str(job_id)
        assert job["job-name"] == "Parcel 7 — 1/2"
        assert job["job-originating-user-name"] == "wharf"
        assert job["document-format-supplied"] == "application/octet-stream"

    def test_send_dispatches_ipp_printers_with_the_encodings_format(self, cups, cups_printer):
        before = len(cups_printer.jobs)
        pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
        job_id = send("ipp", cups.queues["wharf-test"], pdf, encoding="pdf", job_name="Packing slip")
        assert cups_printer.wait_for_jobs(before + 1)[-1] == pdf
        assert cups.job_attributes(cups.queues["wharf-test"], job_id)["document-format-supplied"] == "application/pdf"

    def test_queue_that_does_not_exist_is_not_retryable(self, cups):
        missing = cups.queues["wharf-test"].replace("wharf-test", "no-such-queue")
        with pytest.raises(PrintError, match="client-error-not-found") as caught:
            send_ipp(missing, b"^XA^XZ", document_format="application/octet-stream", job_name="x")
        assert caught.value.retryable is False

    def test_queue_refusing_jobs_is_retryable(self, cups):
        with pytest.raises(PrintError, match="server-error-not-accepting-jobs") as caught:
            send_ipp(cups.queues["wharf-closed"], b"^XA^XZ", document_format="application/octet-stream", job_name="x")
        assert caught.value.retryable is True

    def test_server_not_running_is_retryable(self):
        with socket.socket() as bound_not_listening:
            bound_not_listening.bind(("127.0.0.1", 0))
            port = bound_not_listening.getsockname()[1]
            with pytest.raises(PrintError, match="refused") as caught:
                send_ipp(f"ipp://127.0.0.1:{port}/printers/x", b"", document_format="application/pdf", job_name="x")
        assert caught.value.retryable is True

    @pytest.mark.parametrize("address", ["lpd://host/queue", "ipp:///printers/x", "ipp://host:port/printers/x"])
    def test_not_an_ipp_uri(self, address):
        with pytest.raises(PrintError, match="not an ipp:// or http:// printer URI") as caught:
            send_ipp(address, b"", document_format="application/pdf", job_name="x")
        assert caught.value.retryable is False

    def test_printer_state_of_a_ready_queue(self, cups):
        assert ipp_printer_state(cups.queues["wharf-idle"]) == {"state": "idle", "message": "", "reasons": ["none"]}

    def test_printer_state_of_a_paused_queue(self, cups):
        state = ipp_printer_state(cups.queues["wharf-paused"])
        assert state["state"] == "stopped"
        assert state["message"] == "Out of labels — reload roll 2"
        assert "paused" in state["reasons"]

    def test_http_uri_of_the_same_queue(self, cups):
        http_uri = cups.queues["wharf-paused"].replace("ipp://", "http://")
        assert ipp_printer_state(http_uri)["state"] == "stopped"

    def test_printer_state_of_a_queue_that_does_not_exist(self, cups):
        with pytest.raises(PrintError, match="client-error-not-found"):
            ipp_printer_state(cups.queues["wharf-test"].replace("wharf-test", "no-such-queue"))
