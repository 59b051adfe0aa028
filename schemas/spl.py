"""Print spooler (seed 001 ``/spl``, lines 72274–75420; schemas ``SplPrinter*`` 92216,
``SplHub*`` 93050, ``SplJob*`` 99214) plus what Wharf adds for its hub agent (pulling jobs,
the job's bytes), the floor (print a parcel's label, pack stations) and the label template.

A printer's ``connection`` is ``{interface, address}``: ``network`` (raw TCP, JetDirect, port
9100 unless given; the seed's ``ethernet`` is the same) or ``ipp`` (an IPP/CUPS queue URI).
``settings`` are checked against the schema of the printer's ``default_encoding``
(``GET /spl/settings/printers/{type}``).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from schemas.base import Id, Model, UtcDatetime, nested, text

MAX_JOB_BYTES = 10 * 1024 * 1024  # a print job's document (labels are a few KB; a PDF slip well under this)
MAX_JOB_TEXT = MAX_JOB_BYTES * 4 // 3 + 200  # the same as a base64 data: URI
MAX_WAIT = 25  # seconds a hub's pull may wait for a job (under common proxies' 30 s idle timeout)

Encoding = Literal["zpl", "pdf"]
Interface = Literal["network", "ethernet", "ipp"]
JobStatus = Literal["scheduled", "received", "printed", "failed", "cancelled"]
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def _host_ok(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOST.match(host))


def split_network_address(address: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` → (host, port); 9100 when no port is given."""
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?|([^:\s\[\]]+)(?::(\d{1,5}))?", address)
    if match is None:
        raise ValueError("is not host, host:port or [IPv6]:port")
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4) or 9100)
    if not _host_ok(host):
        raise ValueError(f"{host!r} is not a host name or IP address")
    if not 0 < port < 65536:
        raise ValueError("port must be 1–65535")
    return host, port


def _ipp_uri(address: str) -> None:
    parts = urlsplit(address)
    if parts.scheme not in ("ipp", "http"):  # the hub speaks IPP over plain HTTP (a LAN), not IPPS
        raise ValueError("an IPP printer's address is an ipp:// or http:// URI of its queue")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError("has a bad port") from None
    if not host or not _host_ok(host):
        raise ValueError("names no valid host")
    del port


class SplConnection(Model):
    """How the hub reaches the printer."""

    interface: Annotated[Interface, AfterValidator(lambda v: "network" if v == "ethernet" else v)] = Field(
        description="network (raw TCP 9100, JetDirect; the seed's ethernet is kept as network) or ipp"
    )
    address: text(500, 1) = Field(description="network: host[:port]; ipp: ipp://host[:port]/printers/queue")

    @model_validator(mode="after")
    def _address_fits(self):
        try:
            if self.interface == "ipp":
                _ipp_uri(self.address)
            else:
                split_network_address(self.address)
        except ValueError as e:
            raise ValueError(f"connection.address {e}") from None
        return self


def _form_number(value):
    """A form posts "300": the number a Literal of numbers takes (JSON's 300 passes as is)."""
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value


class ZplSettings(Model):
    """Settings of a ZPL (Zebra and compatible) label printer (other keys are dropped)."""

    dpi: Annotated[Literal[203, 300], BeforeValidator(_form_number)] = Field(
        203, description="Print head resolution: 203 (8 dots/mm) or 300 (12 dots/mm)"
    )
    label_width_mm: float = Field(101.6, ge=10, le=220, description="Label width (4 in = 101.6 mm)")
    label_height_mm: float = Field(152.4, ge=10, le=1000, description="Label length (6 in = 152.4 mm)")
    darkness: int = Field(15, ge=0, le=30, description="Print darkness (~SD, 0–30)")
    copies: int = Field(1, ge=1, le=99, description="Copies of every label (^PQ)")


class PdfSettings(Model):
    """Settings of a printer that takes PDF (an office or IPP printer; other keys are dropped)."""

    copies: int = Field(1, ge=1, le=99, description="Copies of every document")


SETTINGS_MODELS: dict[str, type[Model]] = {"zpl": ZplSettings, "pdf": PdfSettings}


class SplPrinterModel(Model):
    """Body of ``POST /spl/printers`` and ``PUT /spl/printers/{id}``."""

    name: text(120, 1)
    hub_id: Id
    default_encoding: Encoding = Field("zpl", description="The language the printer takes: zpl or pdf")
    timezone: text(64) | None = Field(None, examples=["Europe/Amsterdam"])
    connection: SplConnection
    settings: dict[str, Any] | None = Field(None, description="As GET /spl/settings/printers/{default_encoding}")

    _forms = model_validator(mode="before")(nested)  # the printer form posts connection.address, settings.dpi

    @model_validator(mode="after")
    def _settings_fit(self):
        """``settings`` as the encoding's model; its refusals keep their place under ``settings``."""
        model = SETTINGS_MODELS[self.default_encoding]
        try:
            self.settings = model.model_validate(self.settings or {}).model_dump()
        except ValidationError as e:
            line_errors = [
                {
                    "type": err["type"],
                    "loc": ("settings", *err["loc"]),
                    "input": err["input"],
                    "ctx": err.get("ctx", {}),
                }
                for err in e.errors(include_url=False)
            ]
            raise ValidationError.from_exception_data(type(self).__name__, line_errors) from None
        return self

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Pack bench 1",
                    "hub_id": "5f0c2d1e-8b7a-4c3d-9e2f-1a2b3c4d5e6f",
                    "default_encoding": "zpl",
                    "connection": {"interface": "network", "address": "192.168.1.50:9100"},
                    "settings": {"dpi": 203, "darkness": 15},
                }
            ]
        }
    )


class SplPrinter(Model):
    id: Id
    name: str
    hub_id: Id
    default_encoding: Encoding
    timezone: str | None = None
    connection: SplConnection
    settings: dict[str, Any]
    inbox_id: str | None = None
    disabled_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    # Wharf: printer health, what operators miss most.
    is_online: bool = Field(description="Its hub is online and the printer is not disabled")
    last_printed_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    jobs_waiting: int = Field(description="Jobs scheduled or received, not yet printed")


class SplPrinterQuery(Model):
    hub_id: Id | None = Field(None, description="ID of hub to filter for")
    inbox_id: text(120) | None = Field(None, description="ID of inbox to filter for")


class SplInbox(Model):
    """Body of ``PUT /spl/printers/{id}/inbox``; an empty ``inbox_id`` detaches it."""

    inbox_id: text(120) | None = None


SettingsType = Literal["zpl", "pdf", "escpos", "pcl"]


class SplSettingsSchema(Model):
    type: str
    schema_: str = Field(alias="schema", description="JSON Schema of the settings, as text")

    model_config = ConfigDict(serialize_by_alias=True, populate_by_name=True)


# --- hubs -------------------------------------------------------------------------------------


class SplHubModel(Model):
    """Body of ``POST /spl/hubs`` and ``PUT /spl/hubs/{id}``."""

    name: text(120, 1)
    description: text(500) = ""


class SplProperty(Model):
    key: text(120, 1)
    value: text(500)


class SplToken(Model):
    key: str
    expires_at: datetime | None = None


class SplPubnub(Model):
    """Afosto pushes through PubNub; Wharf's hubs pull, so there are never tokens."""

    tokens: list[SplToken] = Field(default_factory=list)


class SplIntegration(Model):
    id: str | None = None


class SplHub(Model):
    id: Id
    uuid: Id
    name: str
    description: str
    properties: list[SplProperty]
    status: Literal["online", "offline"]
    status_updated_at: datetime | None = None
    disabled_at: datetime | None = None
    pubnub: SplPubnub
    integration: SplIntegration | None = None
    os_file_id: str | None = None
    created_at: datetime
    updated_at: datetime


class SplHubCreated(SplHub):
    """The create answer: the hub and, this once, its ``secret`` (only a hash is kept)."""

    secret: str = Field(description="The agent's credential: `flask --app app print-hub --secret ...`")


class SplHubNetwork(Model):
    ip_address: str | None = None
    remote_ip_address: str | None = None
    last_connected_at: datetime | None = None


class SplHubImage(Model):
    is_up_to_date: bool
    download_progress: int
    version: str | None = None


class SplHubStatus(Model):
    is_online: bool
    is_idle: bool = Field(description="No job is on its way to a printer")
    location: str
    network: SplHubNetwork
    image: SplHubImage


class SplNetworkInterface(Model):
    interface: text(40, 1) = Field(examples=["eth0"])
    address: text(120) = Field(examples=["192.168.1.20"])


def _mac(value: str) -> str:
    if value and not re.fullmatch(r"(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}", value):
        raise ValueError("is not a MAC address (aa:bb:cc:dd:ee:ff)")
    return value.lower().replace("-", ":")


class SplCreateNetworkDevice(Model):
    description: text(200) = ""
    mac_address: Annotated[text(17), AfterValidator(_mac)] = ""
    interface: SplNetworkInterface


class SplNetworkDevice(SplCreateNetworkDevice):
    created_at: datetime


class SplHubErrorModel(Model):
    """Body of ``POST /spl/hubs/{id}/logs``: public messages are shown to operators."""

    message: text(2000, 1)
    level: Literal["public", "private"] = "private"
    job_reference: text(120) | None = None


class SplHubError(Model):
    id: Id
    message: str
    level: str
    is_resolved: bool
    job_reference: str | None = None
    hub_id: Id
    created_at: datetime
    updated_at: datetime


class CursorHeaders(Model):
    """Cursor paging (the seed's ``x-page`` "page token"): the answer's ``x-page`` is the
    token of the next page, absent on the last one."""

    x_page: text(200) | None = Field(None, alias="x-page", description="The page token (none: the first page)")
    x_page_size: int = Field(25, alias="x-page-size", ge=1, le=100, description="Results per page")


CURSOR_HEADERS = {"x-page": "The token of the next page (absent on the last page)"}


# --- the queue ----------------------------------------------------------------------------------


class SplJobModel(Model):
    """Body of ``POST /spl/queue``. ``job`` is the id of a stored document (an attachment, or
    a finished task's file) or a ``data:`` URI of ZPL (``application/zpl``, ``text/plain``)
    or PDF (``application/pdf``); ``tag`` is the printer's id. The same ``reference`` twice
    is the same job (answered again, not queued twice)."""

    job: str = Field(min_length=1, max_length=MAX_JOB_TEXT)
    tag: text(120, 1) = Field(description="The id of the printer")
    description: text(500) = ""
    reference: Annotated[text(120, 1), AfterValidator(lambda v: v.strip())] | None = Field(
        None, description="Idempotency key; the job id when absent"
    )
    hub_id: Id | None = Field(None, description="Must be the printer's hub when given")
    schedule_at: UtcDatetime | None = Field(None, description="Not printed before this time")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job": "data:application/zpl;base64,XlhBXkZPNTAsNTBeQTBOLDUwXkZESGVsbG9eRlNeWFo=",
                    "tag": "0b8f0d8e-0000-4000-8000-000000000001",
                    "description": "Test label",
                }
            ]
        }
    )


class SplJob(Model):
    id: Id
    job: str = Field(description="As submitted (a data: URI is shortened to its media type)")
    tag: str
    description: str
    artifact: str = Field(description="Where the hub downloads the bytes to print")
    reference: str
    status: JobStatus
    hub_id: Id
    schedule_at: datetime | None = None
    printed_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    # Wharf: what the queue monitor shows.
    printer_id: Id
    encoding: Encoding
    attempts: int
    error: str | None = None
    reprint_of: Id | None = Field(None, description="The job this one prints again")


class SplQueueQuery(Model):
    status: JobStatus | None = Field(None, description="One status to filter for")
    printer_id: Id | None = None
    tag: text(120) | None = None


class SplStatus(Model):
    """Body of ``PUT /spl/queue/{reference}``. A hub reports ``received``, ``printed`` or
    ``failed`` (with Wharf's ``error`` and ``retryable``); people and clients may set
    ``cancelled`` (while scheduled) or ``scheduled`` (try a failed job again)."""

    status: Literal["scheduled", "received", "pending", "printed", "success", "failed", "cancelled"]
    changed_at: UtcDatetime | None = None
    error: text(1000) | None = Field(None, description="Wharf: why the printer refused")
    retryable: bool = Field(True, description="Wharf: a failure worth retrying (connection refused, timeout)")


class SplJobResult(Model):
    reference: str
    status: JobStatus


class SplRedirect(Model):
    """Wharf: send a job (again) to another printer."""

    printer_id: Id


# --- the hub agent's own calls (Wharf) ---------------------------------------------------------


class SplPull(Model):
    """Body of ``POST /spl/hubs/{id}/jobs``: the agent's long poll and heartbeat."""

    wait: float = Field(20, ge=0, le=MAX_WAIT, description="Seconds to wait for a job")
    restart: bool = Field(False, description="First pull after a start: jobs it held come back")
    limit: int = Field(10, ge=1, le=100)
    version: text(40) | None = None
    ip_address: text(64) | None = None
    properties: list[SplProperty] = Field(default_factory=list, max_length=50)


class SplHubJob(Model):
    """A job as the agent needs it: where to send the bytes and how."""

    id: Id
    reference: str
    description: str
    encoding: Encoding
    artifact: str
    printer_id: Id
    connection: SplConnection
    settings: dict[str, Any]
    attempts: int


# --- floor printing, stations, label template (Wharf) ----------------------------------------


class LcsPrint(Model):
    """Body of ``POST /lcs/parcels/{id}/print`` and ``/lcs/lists/{id}/print``: no printer =
    the pack station bound to the session, else the person's default printer."""

    printer_id: Id | None = None


class SplStationModel(Model):
    name: text(120, 1)
    code: Annotated[text(64, 1), AfterValidator(lambda v: v.strip())] = Field(
        description="The barcode printed at the bench (scanned to bind a session)"
    )
    printer_id: Id | None = None


class SplStation(Model):
    id: Id
    name: str
    code: str
    printer_id: Id | None = None
    printer_name: str | None = None
    created_at: datetime
    updated_at: datetime


class SplStationBind(Model):
    """Scan a station's barcode (or choose it) to bind this session to it; empty = unbind."""

    code: text(64) = ""


class SplDefaultPrinter(Model):
    printer_id: Id | None = None


class SplLabelTemplateModel(Model):
    body: str = Field(min_length=1, max_length=100_000, description="The ZPL label as a Jinja template")


class SplLabelTemplate(Model):
    body: str
    is_default: bool = Field(description="True: the shipped template (no override saved)")
    updated_at: datetime | None = None
    preview: str = Field(description="The template rendered with sample data at 203 dpi")
