"""How the print hub hands a document to a printer: JetDirect raw TCP (port 9100) or IPP (a CUPS
queue or an IPP printer).

Standard library only, so the hub runs from a plain Python install next to the printers. The IPP
encoder covers the two requests the hub makes (Print-Job, Get-Printer-Attributes) and the parser
reads any IPP/1.1 or 2.x response (RFC 8010).
"""

from __future__ import annotations

import http.client
import socket
import struct
from urllib.parse import urlsplit, urlunsplit

RAW_PORT = 9100

# What a printer's default_encoding is sent as over IPP: a ZPL queue is a raw queue, which passes
# application/octet-stream through untouched; a PDF printer gets PDF.
DOCUMENT_FORMATS = {"zpl": "application/octet-stream", "pdf": "application/pdf"}


class PrintError(Exception):
    """A job that did not reach the printer; ``retryable`` says whether trying again later can help
    (printer off or busy) or cannot (the queue does not exist, the format is refused)."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


# --- JetDirect ----------------------------------------------------------------------------------


def _host_port(address: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 address."""
    address = address.strip()
    if address.count(":") > 1 and not address.startswith("["):
        return address, default_port
    try:
        parts = urlsplit("//" + address)
        host, port = parts.hostname, parts.port or default_port
    except ValueError as exc:  # a port that is not a number or out of range
        raise PrintError(f"bad printer address {address!r}: {exc}", retryable=False) from None
    if not host or parts.path or parts.username is not None:
        raise PrintError(f"bad printer address {address!r}", retryable=False)
    return host, port


def send_raw(address: str, data: bytes, timeout: float = 10.0) -> None:
    """Send ``data`` to a JetDirect printer (raw TCP, port 9100 unless the address says otherwise).

    After the last byte the write side is shut down and the printer's end of the connection is
    awaited (up to ``timeout``): a printer closes once it has the whole job, and closing first
    could reset the connection while the tail of the job is still in flight. A printer that keeps
    its end open past ``timeout`` is taken to have the job, as CUPS' socket backend does.
    """
    host, port = _host_port(address, RAW_PORT)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            try:
                while sock.recv(4096):  # status bytes a printer may send back are not read by anyone
                    pass
            except TimeoutError:
                pass
    except OSError as exc:  # refused, unreachable, timed out, name not resolved: all may pass
        raise PrintError(f"printer {address}: {exc}", retryable=True) from exc


# --- IPP ----------------------------------------------------------------------------------------

PRINT_JOB = 0x0002
GET_PRINTER_ATTRIBUTES = 0x000B

OPERATION_GROUP, JOB_GROUP, END_OF_ATTRIBUTES, PRINTER_GROUP = 0x01, 0x02, 0x03, 0x04
INTEGER, BOOLEAN, ENUM = 0x21, 0x22, 0x23
TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE = 0x35, 0x36
NAME, KEYWORD, URI, CHARSET, NATURAL_LANGUAGE, MIME_MEDIA_TYPE = 0x42, 0x44, 0x45, 0x47, 0x48, 0x49

# RFC 8011 §5.4.15; below 0x0400 is success.
STATUS_NAMES = {
    0x0000: "successful-ok",
    0x0001: "successful-ok-ignored-or-substituted-attributes",
    0x0002: "successful-ok-conflicting-attributes",
    0x0400: "client-error-bad-request",
    0x0401: "client-error-forbidden",
    0x0402: "client-error-not-authenticated",
    0x0403: "client-error-not-authorized",
    0x0404: "client-error-not-possible",
    0x0405: "client-error-timeout",
    0x0406: "client-error-not-found",
    0x0407: "client-error-gone",
    0x0408: "client-error-request-entity-too-large",
    0x0409: "client-error-request-value-too-long",
    0x040A: "client-error-document-format-not-supported",
    0x040B: "client-error-attributes-or-values-not-supported",
    0x040C: "client-error-uri-scheme-not-supported",
    0x040D: "client-error-charset-not-supported",
    0x040E: "client-error-conflicting-attributes",
    0x040F: "client-error-compression-not-supported",
    0x0410: "client-error-compression-error",
    0x0411: "client-error-document-format-error",
    0x0412: "client-error-document-access-error",
    0x0500: "server-error-internal-error",
    0x0501: "server-error-operation-not-supported",
    0x0502: "server-error-service-unavailable",
    0x0503: "server-error-version-not-supported",
    0x0504: "server-error-device-error",
    0x0505: "server-error-temporary-error",
    0x0506: "server-error-not-accepting-jobs",
    0x0507: "server-error-busy",
    0x0508: "server-error-job-canceled",
    0x0509: "server-error-multiple-document-jobs-not-supported",
}
# States of the printer that pass (busy, paused intake, a jam being cleared); every other error
# says the request itself cannot succeed.
RETRYABLE_STATUSES = {0x0405, 0x0500, 0x0502, 0x0504, 0x0505, 0x0506, 0x0507}
PRINTER_STATES = {3: "idle", 4: "processing", 5: "stopped"}


def _attribute(tag: int, name: str, value: str | bytes) -> bytes:
    """One attribute (or, with an empty name, one more value of the previous one)."""
    name_bytes = name.encode("ascii")
    value_bytes = value.encode("utf-8") if isinstance(value, str) else value
    return struct.pack(">BH", tag, len(name_bytes)) + name_bytes + struct.pack(">H", len(value_bytes)) + value_bytes


def _request(operation: int, printer_uri: str, *attributes: bytes) -> bytes:
    """An IPP/1.1 request whose operation group starts with the three attributes every request
    carries, in the order RFC 8011 requires."""
    return (
        struct.pack(">BBHI", 1, 1, operation, 1)
        + bytes([OPERATION_GROUP])
        + _attribute(CHARSET, "attributes-charset", "utf-8")
        + _attribute(NATURAL_LANGUAGE, "attributes-natural-language", "en")
        + _attribute(URI, "printer-uri", printer_uri)
        + b"".join(attributes)
        + bytes([END_OF_ATTRIBUTES])
    )


def _value(tag: int, raw: bytes) -> int | bool | str | bytes:
    if tag in (INTEGER, ENUM) and len(raw) == 4:
        return int.from_bytes(raw, "big", signed=True)
    if tag == BOOLEAN:
        return raw != b"\x00"
    if 0x40 <= tag <= 0x5F:  # the character-string types (text, name, keyword, uri, ...)
        return raw.decode("utf-8", "replace")
    if tag in (TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE):  # language, then the text, each sized
        (language_length,) = struct.unpack_from(">H", raw, 0)
        (text_length,) = struct.unpack_from(">H", raw, 2 + language_length)
        start = 4 + language_length
        return raw[start : start + text_length].decode("utf-8", "replace")
    return raw  # dates, resolutions, ranges, collections: nothing the hub reads


def _parse(body: bytes) -> tuple[int, dict[int, dict[str, list]]]:
    """(status code, {group tag: {attribute name: [values]}}) of an IPP response; a group that
    occurs twice is merged. Collection members come out as further values of their collection."""
    groups: dict[int, dict[str, list]] = {}
    try:
        _version, status, _request_id = struct.unpack_from(">HHI", body, 0)
        pos, group, name = 8, None, None
        while (tag := body[pos]) != END_OF_ATTRIBUTES:
            pos += 1
            if tag < 0x10:  # a delimiter: the next attribute group begins
                group = groups.setdefault(tag, {})
                continue
            (name_length,) = struct.unpack_from(">H", body, pos)
            pos += 2
            if name_length:
                name = body[pos : pos + name_length].decode("utf-8")
                pos += name_length
            (value_length,) = struct.unpack_from(">H", body, pos)
            pos += 2
            raw = body[pos : pos + value_length]
            pos += value_length
            if len(raw) != value_length or group is None or name is None:
                raise ValueError("truncated or out of order")
            group.setdefault(name, []).append(_value(tag, raw))
    except (IndexError, struct.error, ValueError) as exc:
        raise PrintError(f"malformed IPP response: {exc}", retryable=False) from None
    return status, groups


def _printer_uri(address: str) -> tuple[str, int, str, str]:
    """(host, port, HTTP path, printer-uri) of an ipp:// or http:// queue address."""
    parts = urlsplit(address.strip())
    try:
        port = parts.port or (631 if parts.scheme == "ipp" else 80)
    except ValueError:
        port = None
    if parts.scheme not in ("ipp", "http") or not parts.hostname or port is None:
        raise PrintError(f"not an ipp:// or http:// printer URI: {address!r}", retryable=False)
    path = parts.path or "/"
    return parts.hostname, port, path, urlunsplit(("ipp", parts.netloc, path, "", ""))


def _call(address: str, host: str, port: int, path: str, body: bytes, timeout: float):
    """POST one IPP request; answers the parsed response, PrintError for any failure."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/ipp"})
        response = connection.getresponse()
        payload = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise PrintError(f"printer {address}: {exc}", retryable=True) from exc
    finally:
        connection.close()
    if response.status != 200:
        raise PrintError(
            f"printer {address}: HTTP {response.status} {response.reason}", retryable=response.status >= 500
        )
    status, groups = _parse(payload)
    if status >= 0x0400:
        name = STATUS_NAMES.get(status, f"0x{status:04x}")
        message = " ".join(groups.get(OPERATION_GROUP, {}).get("status-message", []))
        raise PrintError(
            f"printer {address}: {name}" + (f" ({message})" if message else ""),
            retryable=status in RETRYABLE_STATUSES,
        )
    return groups


def send_ipp(address: str, data: bytes, *, document_format: str, job_name: str, timeout: float = 30.0) -> int:
    """Print ``data`` on the IPP queue at ``address`` (``ipp://host:631/printers/name``); answers
    the job id the printer gave it."""
    host, port, path, printer_uri = _printer_uri(address)
    name = job_name.encode("utf-8")[:255].decode("utf-8", "ignore")  # IPP names hold 255 octets
    request = _request(
        PRINT_JOB,
        printer_uri,
        _attribute(NAME, "requesting-user-name", "wharf"),
        _attribute(NAME, "job-name", name),
        _attribute(MIME_MEDIA_TYPE, "document-format", document_format),
    )
    groups = _call(address, host, port, path, request + data, timeout)
    job_ids = groups.get(JOB_GROUP, {}).get("job-id", [])
    if not job_ids or not isinstance(job_ids[0], int):
        raise PrintError(f"printer {address} accepted the job without a job-id", retryable=False)
    return job_ids[0]


def ipp_printer_state(address: str, timeout: float = 10.0) -> dict:
    """What an IPP queue says of itself, for the printer-health screen: ``state`` (idle,
    processing, stopped), ``message`` (its printer-state-message, "" if none) and ``reasons``
    (printer-state-reasons keywords, e.g. ``["media-empty-error"]``; ``["none"]`` when all is well)."""
    host, port, path, printer_uri = _printer_uri(address)
    wanted = ("printer-state", "printer-state-message", "printer-state-reasons")
    request = _request(
        GET_PRINTER_ATTRIBUTES,
        printer_uri,
        _attribute(NAME, "requesting-user-name", "wharf"),
        _attribute(KEYWORD, "requested-attributes", wanted[0]),
        *(_attribute(KEYWORD, "", more) for more in wanted[1:]),
    )
    printer = _call(address, host, port, path, request, timeout).get(PRINTER_GROUP, {})
    state = printer.get("printer-state", [None])[0]
    return {
        "state": PRINTER_STATES.get(state, f"unknown ({state})"),
        "message": " ".join(printer.get("printer-state-message", [])),
        "reasons": printer.get("printer-state-reasons", []),
    }


# --- dispatch -----------------------------------------------------------------------------------


def send(interface: str, address: str, data: bytes, *, encoding: str, job_name: str) -> int | None:
    """Print ``data`` (``encoding`` zpl or pdf) on a printer by its connection interface: ``network``
    (JetDirect, answers None) or ``ipp`` (answers the IPP job id)."""
    if encoding not in DOCUMENT_FORMATS:
        raise PrintError(f"unknown document encoding {encoding!r}", retryable=False)
    if interface == "network":
        send_raw(address, data)
        return None
    if interface == "ipp":
        return send_ipp(address, data, document_format=DOCUMENT_FORMATS[encoding], job_name=job_name)
    raise PrintError(f"unknown printer interface {interface!r}", retryable=False)
