"""Print hubs: on-site agents that connect out to Wharf with a secret.

The secret is ``whh_<hub uuid hex>.<random>``: the agent learns its hub from it (``GET
/spl/hubs/{uuid}/uuid``) and Wharf keeps only a SHA-256 of it, like API keys. A hub is
online while it polls: each pull is its heartbeat.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from models import Hub, HubLog, PrintJob, db, utcnow
from models.base import aware
from models.scope import get_visible
from services.acl import Actor
from services.api_keys import MachinePrincipal
from services.commands import Audited, audited, command, lock
from services.errors import Forbidden, NotFound

PREFIX = "whh_"
OFFLINE_AFTER = timedelta(seconds=60)  # a hub pulls at least every 25 s; two missed pulls = offline
AGENT_VERSION = "1.0"  # the agent shipped with this Wharf (printhub.agent.VERSION)


class HubPrincipal(MachinePrincipal):
    """What ``current_user`` is for a request made by a hub agent with its secret."""

    is_hub = True

    def __init__(self, hub: Hub):
        self.hub = hub
        self.id = hub.id
        self.tenant_id = hub.tenant_id
        self.tenant = hub.tenant
        self.organization_id = None
        self.created_by_id = None  # nobody: what a hub asks for is requested by no person
        self.name = hub.name

    def get_id(self) -> str:
        return f"hub:{self.id}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret(hub_uuid: uuid.UUID) -> str:
    return f"{PREFIX}{hub_uuid.hex}.{secrets.token_urlsafe(32)}"


def authenticate(token: str) -> HubPrincipal | None:
    """The principal of a live hub whose secret is ``token``, else None."""
    head, dot, _ = token.partition(".")
    try:
        hub_uuid = uuid.UUID(head.removeprefix(PREFIX))
    except ValueError:
        return None
    if not dot:
        return None
    hub = db.session.scalars(sa.select(Hub).where(Hub.uuid == hub_uuid)).first()
    if hub is None or hub.disabled_at is not None or not hmac.compare_digest(hub.secret_hash, _digest(token)):
        return None
    return HubPrincipal(hub)


def calling_hub_id(actor: Actor):
    """The id of the hub making this request, None for people and keys (an id, not the row:
    a long poll gives its session back between looks)."""
    return actor.principal.id if getattr(actor.principal, "is_hub", False) else None


def snapshot(hub: Hub) -> dict:
    return {"id": hub.id, "name": hub.name, "description": hub.description, "disabledAt": hub.disabled_at}


HUB = Audited("spl_hub", snapshot, "print hub")


def is_online(hub: Hub, now: datetime | None = None) -> bool:
    seen = aware(hub.last_seen_at)
    return hub.disabled_at is None and seen is not None and (now or utcnow()) - seen < OFFLINE_AFTER


def visible_hubs(actor: Actor) -> sa.Select:
    """The tenant's hubs, live ones first by name; a hub sees only itself."""
    stmt = actor.scope.select(Hub).order_by(Hub.disabled_at.is_not(None), Hub.name, Hub.id)
    own = calling_hub_id(actor)
    return stmt.where(Hub.id == own) if own is not None else stmt


def get_hub(actor: Actor, hub_id) -> Hub:
    return get_visible(visible_hubs(actor), Hub, hub_id, "Hub")


def get_hub_by_uuid(actor: Actor, hub_uuid) -> Hub:
    try:
        key = uuid.UUID(str(hub_uuid))
    except ValueError:
        raise NotFound("Hub not found") from None
    found = db.session.scalars(visible_hubs(actor).where(Hub.uuid == key)).first()
    if found is None:
        raise NotFound("Hub not found")
    return found


def live_hub(actor: Actor, hub_id) -> Hub:
    """A hub that is not disabled (printers and jobs cannot go to a disabled hub)."""
    hub = get_hub(actor, hub_id)
    if hub.disabled_at is not None:
        raise NotFound(f"Hub {hub.name} is disabled")
    return hub


def hub_row(hub: Hub, now: datetime | None = None) -> dict:
    """``SplHub``; ``status`` is live (online while it polls) and ``status_updated_at`` is when
    it came online, or when it went offline (its last pull plus the grace)."""
    online = is_online(hub, now)
    changed = hub.status_updated_at if online or hub.last_seen_at is None else aware(hub.last_seen_at) + OFFLINE_AFTER
    return {
        "id": hub.id,
        "uuid": hub.uuid,
        "name": hub.name,
        "description": hub.description,
        "properties": hub.properties or [],
        "status": "online" if online else "offline",
        "status_updated_at": changed,
        "disabled_at": hub.disabled_at,
        "pubnub": {"tokens": []},
        "integration": None,
        "os_file_id": None,
        "created_at": hub.created_at,
        "updated_at": hub.updated_at,
    }


@command()
def create_hub(actor: Actor, data, tenant_id=None) -> tuple[Hub, str]:
    """A new hub and its secret (returned this once; only its hash is kept)."""
    hub = Hub(
        tenant_id=actor.tenant_for_new(tenant_id), name=data.name, description=data.description, uuid=uuid.uuid4()
    )
    secret = _new_secret(hub.uuid)
    hub.secret_hash = _digest(secret)
    with audited(actor, "create", HUB, hub):
        db.session.add(hub)
    return hub, secret


@command()
def update_hub(actor: Actor, hub_id, data) -> Hub:
    hub = get_hub(actor, hub_id)
    lock(actor.scope, Hub, hub.id)
    with audited(actor, "update", HUB, hub):
        hub.name, hub.description = data.name, data.description
    return hub


@command()
def disable_hub(actor: Actor, hub_id) -> Hub:
    """Disable a hub (the seed's DELETE): its secret stops working at once, its waiting jobs
    are cancelled; it stays listed, disabled, with its history."""
    hub = get_hub(actor, hub_id)
    lock(actor.scope, Hub, hub.id)
    with audited(actor, "delete", HUB, hub, label=f"Disable print hub {hub.name}"):
        if hub.disabled_at is None:
            hub.disabled_at = utcnow()
            db.session.execute(
                sa.update(PrintJob)
                .where(PrintJob.hub_id == hub.id, PrintJob.status.in_(("scheduled", "received")))
                .values(status="cancelled", error="The hub was disabled", updated_at=utcnow())
            )
    return hub


@command()
def rotate_secret(actor: Actor, hub_id) -> tuple[Hub, str]:
    """A new secret for a hub (the old one stops working): for a lost or leaked secret."""
    hub = live_hub(actor, hub_id)
    lock(actor.scope, Hub, hub.id)
    secret = _new_secret(hub.uuid)
    with audited(actor, "update", HUB, hub, label=f"New secret for print hub {hub.name}"):
        hub.secret_hash = _digest(secret)
    return hub, secret


def hub_status(hub: Hub) -> dict:
    """``SplHubStatus``: online, idle (nothing on its way to a printer), network, agent version."""
    busy = db.session.scalar(
        sa.select(sa.func.count(PrintJob.id)).where(PrintJob.hub_id == hub.id, PrintJob.status == "received")
    )
    return {
        "is_online": is_online(hub),
        "is_idle": not busy,
        "location": hub.description or hub.name,
        "network": {
            "ip_address": hub.ip_address,
            "remote_ip_address": hub.remote_ip_address,
            "last_connected_at": hub.last_seen_at,
        },
        "image": {
            "is_up_to_date": hub.version == AGENT_VERSION,
            "download_progress": 100,
            "version": hub.version,
        },
    }


def require_self_or_manager(actor: Actor, hub: Hub) -> None:
    """Agent calls: a hub acts only for itself (another hub's id is not found for it)."""
    own = calling_hub_id(actor)
    if own is not None and own != hub.id:
        raise NotFound("Hub not found")


@command()
def set_network(actor: Actor, hub_id, devices: list) -> Hub:
    """Replace the hub's list of network devices (the agent reports what it sees)."""
    hub = live_hub(actor, hub_id)
    require_self_or_manager(actor, hub)
    lock(actor.scope, Hub, hub.id)
    now = utcnow()
    hub.network = [{**d.model_dump(mode="json"), "created_at": now.isoformat()} for d in devices]
    return hub


def network_rows(hub: Hub) -> list[dict]:
    return [{**d, "created_at": datetime.fromisoformat(d["created_at"])} for d in hub.network or []]


@command()
def add_log(actor: Actor, hub_id, data) -> HubLog:
    hub = live_hub(actor, hub_id)
    require_self_or_manager(actor, hub)
    log = HubLog(
        tenant_id=hub.tenant_id, hub_id=hub.id, message=data.message, level=data.level, job_reference=data.job_reference
    )
    db.session.add(log)
    return log


@command()
def resolve_log(actor: Actor, hub_id, log_id) -> HubLog:
    """Mark a hub's log entry dealt with (it leaves the unresolved list)."""
    hub = get_hub(actor, hub_id)
    if calling_hub_id(actor) is not None:
        raise Forbidden("A hub does not resolve its own logs")
    log = get_visible(actor.scope.select(HubLog).where(HubLog.hub_id == hub.id), HubLog, log_id, "Log")
    log.is_resolved = True
    return log


def logs_query(actor: Actor, hub: Hub) -> sa.Select:
    """The hub's unresolved logs, newest first."""
    return actor.scope.select(HubLog).where(HubLog.hub_id == hub.id, HubLog.is_resolved.is_(False))


def log_row(log: HubLog) -> dict:
    return {
        "id": log.id,
        "message": log.message,
        "level": log.level,
        "is_resolved": log.is_resolved,
        "job_reference": log.job_reference,
        "hub_id": log.hub_id,
        "created_at": log.created_at,
        "updated_at": log.updated_at,
    }


def heartbeat(hub: Hub, *, remote_ip: str | None, pull) -> None:
    """A pull is the hub's heartbeat: when it was seen, from where, which agent version."""
    now = utcnow()
    if not is_online(hub, now):
        hub.status_updated_at = now
    hub.last_seen_at = now
    hub.remote_ip_address = remote_ip
    if pull.ip_address:
        hub.ip_address = pull.ip_address
    if pull.version:
        hub.version = pull.version
    if pull.properties:
        hub.properties = [p.model_dump() for p in pull.properties]
