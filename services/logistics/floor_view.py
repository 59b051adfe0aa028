"""The lead's floor view: one UTC day's numbers of the caller's scope, in a handful of
aggregate queries (grouped in the database, never a loop over units or events).

- Shipments "of the day": created that day, or planned to ship (``ship_at``) that day. Each
  counts once, in the furthest state its derived flags (``shipments.FLAG_RULES``) say.
- Picks: scan events of kind ``handled`` not undone, per user and UTC hour. Error rate:
  ``rejected / (handled + rejected)``, where ``handled`` counts every accepted pick scan
  (an undone pick was still a readable scan).
- Short picks: scan events of kind ``missing``, per position of their unit.
- Time per packed parcel: median seconds from a parcel's creation to its label request,
  over the parcels whose label was requested that day.
- Lists in progress and the oldest open shipment are live (now), whatever the day.
"""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from models import HandlingList, Parcel, ScanEvent, Shipment, ShipmentItem, User, db, utcnow
from models.base import aware
from services.acl import Actor
from services.logistics.shipments import flag_condition, tallied

# Furthest state first: a shipment counts in the first bucket whose flags hold.
STATES = ("canceled", "in_transit", "labeled", "boxed", "handled", "listed")
PICKERS_WINDOW = timedelta(hours=1)  # "who is on this list": scanned on it within this


@dataclass(frozen=True)
class Window:
    """One UTC calendar day: ``start`` ≤ t < ``end``."""

    day: date
    start: datetime
    end: datetime

    @classmethod
    def of(cls, day: date) -> Window:
        start = datetime.combine(day, time.min, tzinfo=UTC)
        return cls(day, start, start + timedelta(days=1))


def _utc_hour(column) -> sa.ColumnElement:
    """The UTC hour of a timestamp (PostgreSQL would otherwise use the session's time zone)."""
    if db.session.get_bind().dialect.name == "postgresql":
        column = sa.func.timezone("UTC", column)
    return sa.cast(sa.extract("hour", column), sa.Integer)


def _count(condition) -> sa.ColumnElement:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _ids(stmt: sa.Select, column) -> sa.Select:
    """The ids of a scoped select (for ``IN``: rows visible through their list or shipment)."""
    return stmt.with_only_columns(column)


def floor_view(actor: Actor, day: date | None = None, now: datetime | None = None) -> dict:
    """``LcsFloorView`` for ``day`` (today in UTC by default)."""
    now = now or utcnow()
    window = Window.of(day or now.date())
    lists = _lists_in_progress(actor, now)
    scans = _scans(actor, window)
    names = _names(
        actor,
        {p["user_id"] for p in scans["pickers"]}
        | {uid for hl in lists for uid in hl["pickers"]}
        | {_as_uuid(hl["sub"]) for hl in lists},
    )
    for picker in scans["pickers"]:
        picker["name"] = _name(names, picker["user_id"])
    for hl in lists:
        hl["pickers"] = sorted(
            ({"user_id": uid, "name": _name(names, uid)} for uid in hl["pickers"]), key=lambda p: p["name"]
        )
        sub = _as_uuid(hl["sub"])
        hl["assignee"] = names.get(sub) if sub else None
    return {
        "date": window.day,
        "from": window.start,
        "to": window.end,
        "generated_at": now,
        "shipments": _shipments(actor, window),
        "lists": lists,
        "scans": scans,
        "short_picks": _short_picks(actor, window),
        "packing": _packing(actor, window),
        "oldest_open": _oldest_open(actor, now),
    }


# --- shipments ---------------------------------------------------------------------------------


def _shipments(actor: Actor, window: Window) -> dict:
    of_day = sa.or_(
        sa.and_(Shipment.created_at >= window.start, Shipment.created_at < window.end),
        sa.and_(Shipment.ship_at >= window.start, Shipment.ship_at < window.end),
    )
    ids = _ids(actor.scope.select(Shipment).where(of_day), Shipment.id)
    joined, flag = tallied(ids)
    conditions = {s: flag(f"is_{s}") for s in STATES} | {
        "in_transit": sa.or_(flag("is_in_transit"), flag("is_finished"))
    }
    state = sa.case(*((conditions[s], s) for s in STATES), else_="open")
    states = sa.select(state.label("state")).select_from(joined).where(Shipment.id.in_(ids)).subquery()
    counts = dict(db.session.execute(sa.select(states.c.state, sa.func.count()).group_by(states.c.state)).all())
    out = {s: counts.get(s, 0) for s in ("open", *STATES)}
    return {"total": sum(out.values()), **out}


def _oldest_open(actor: Actor, now: datetime) -> dict | None:
    """Open: the flags say neither in transit nor delivered. Only shipments without a parcel
    or with one not in transit can be open: that prefilter (two hashed sets of parcels)
    spares the flag counts for the shipped history the search walks past."""
    parcels = _ids(actor.scope.select(Parcel), Parcel.shipment_id)
    row = db.session.execute(
        actor.scope.select(Shipment)
        .where(
            Shipment.is_canceled.is_(False),
            sa.or_(Shipment.id.not_in(parcels), Shipment.id.in_(parcels.where(Parcel.is_in_transit.is_(False)))),
            flag_condition("is_in_transit", False),
            flag_condition("is_finished", False),
        )
        .with_only_columns(Shipment.id, Shipment.number, Shipment.created_at)
        .order_by(Shipment.created_at, Shipment.number)
        .limit(1)
    ).first()
    if row is None:
        return None
    created = aware(row.created_at)
    return {
        "id": row.id,
        "number": row.number,
        "created_at": created,
        "age_seconds": max(0, int((now - created).total_seconds())),
    }


# --- lists and pickers --------------------------------------------------------------------------


def _lists_in_progress(actor: Actor, now: datetime) -> list[dict]:
    rows = db.session.scalars(
        actor.scope.select(HandlingList)
        .where(
            HandlingList.started_at.is_not(None),
            HandlingList.is_finished.is_(False),
            HandlingList.is_cancelled.is_(False),
        )
        .order_by(HandlingList.started_at, HandlingList.number)
    ).all()
    if not rows:
        return []
    ids = [hl.id for hl in rows]
    u = ShipmentItem
    units = {
        r.list_id: r
        for r in db.session.execute(
            sa.select(
                u.list_id,
                sa.func.count(u.id).label("total"),
                _count(sa.and_(u.is_handled, sa.not_(u.is_missing))).label("handled"),
                _count(u.is_missing).label("missing"),
            )
            .where(u.list_id.in_(ids))
            .group_by(u.list_id)
        )
    }
    recent: dict[uuid.UUID, set] = {}
    for list_id, user_id in db.session.execute(
        sa.select(ScanEvent.list_id, ScanEvent.user_id)
        .where(ScanEvent.list_id.in_(ids), ScanEvent.created_at >= now - PICKERS_WINDOW, ScanEvent.created_at <= now)
        .distinct()
    ):
        recent.setdefault(list_id, set()).add(user_id)
    out = []
    for hl in rows:
        t = units.get(hl.id)
        total, handled, missing = (t.total, t.handled, t.missing) if t else (0, 0, 0)
        out.append(
            {
                "id": hl.id,
                "number": hl.number,
                "is_on_hold": hl.is_on_hold,
                "started_at": aware(hl.started_at),
                "sub": hl.sub,
                "pickers": recent.get(hl.id, set()),
                "progress": {
                    "total": total,
                    "handled": handled,
                    "missing": missing,
                    "percent": round(100 * (handled + missing) / total) if total else 100,
                },
            }
        )
    return out


def _day_events(actor: Actor, window: Window) -> sa.Select:
    """The scope's scan events of the day (visible through their list's organization)."""
    visible_lists = _ids(actor.scope.select(HandlingList), HandlingList.id)
    return actor.scope.select(ScanEvent).where(
        ScanEvent.created_at >= window.start,
        ScanEvent.created_at < window.end,
        ScanEvent.list_id.in_(visible_lists),
    )


def _rate(rejected: int, scans: int) -> float | None:
    return round(rejected / (scans + rejected), 4) if scans + rejected else None


def _scans(actor: Actor, window: Window) -> dict:
    e = ScanEvent
    hour = _utc_hour(e.created_at)
    rows = db.session.execute(
        _day_events(actor, window)
        .where(e.kind.in_(("handled", "rejected")))
        .with_only_columns(
            e.user_id,
            hour.label("hour"),
            _count(sa.and_(e.kind == "handled", e.undone.is_(False))).label("picks"),
            _count(e.kind == "handled").label("scans"),
            _count(e.kind == "rejected").label("rejected"),
        )
        .group_by(e.user_id, hour)
        .order_by(hour)
    ).all()
    pickers: dict = {}
    for r in rows:
        p = pickers.setdefault(r.user_id, {"user_id": r.user_id, "picks": 0, "scans": 0, "rejected": 0, "hours": []})
        p["picks"] += r.picks
        p["scans"] += r.scans
        p["rejected"] += r.rejected
        if r.picks:
            p["hours"].append({"hour": r.hour, "picks": r.picks})
    for p in pickers.values():
        p["error_rate"] = _rate(p["rejected"], p["scans"])
    totals = {k: sum(p[k] for p in pickers.values()) for k in ("picks", "scans", "rejected")}
    ordered = sorted(pickers.values(), key=lambda p: (-p["picks"], str(p["user_id"])))
    return {**totals, "error_rate": _rate(totals["rejected"], totals["scans"]), "pickers": ordered}


def _as_uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _names(actor: Actor, ids: set) -> dict:
    """User id → display name, for the users of the scope among ``ids`` (one query)."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    users = db.session.execute(
        actor.scope.select(User).where(User.id.in_(ids)).with_only_columns(User.id, User.name, User.email)
    )
    return {uid: name or email for uid, name, email in users}


def _name(names: dict, user_id) -> str:
    if user_id is None:
        return "API key"
    return names.get(user_id) or "Unknown user"


# --- short picks and packing ---------------------------------------------------------------------


def _short_picks(actor: Actor, window: Window) -> dict:
    position = ShipmentItem.position
    rows = db.session.execute(
        _day_events(actor, window)
        .where(ScanEvent.kind == "missing")
        .outerjoin(ShipmentItem, ShipmentItem.id == ScanEvent.item_id)
        .with_only_columns(position, sa.func.count(ScanEvent.id).label("count"))
        .group_by(position)
        .order_by(sa.func.count(ScanEvent.id).desc(), position)
    ).all()
    positions = [{"position": p, "count": n} for p, n in rows]
    return {"total": sum(p["count"] for p in positions), "positions": positions}


def _packing(actor: Actor, window: Window) -> dict:
    """Label requests are stored as ISO strings (``…T10:00:00.123+00:00``): the day's are a
    string range, compared in the database; the median is taken of the day's few parcels.
    A label is stored after its request, touching ``updated_at``: parcels not updated since
    the day began are skipped before their JSON is read."""
    requested = Parcel.label["requested_at"].as_string()
    visible_shipments = _ids(actor.scope.select(Shipment), Shipment.id)
    rows = db.session.execute(
        actor.scope.select(Parcel)
        .where(
            Parcel.updated_at >= window.start,
            Parcel.label.is_not(None),
            Parcel.shipment_id.in_(visible_shipments),
            requested >= window.start.date().isoformat(),
            requested < window.end.date().isoformat(),
        )
        .with_only_columns(Parcel.created_at, requested.label("requested_at"))
    ).all()
    seconds = [
        max(0.0, (aware(datetime.fromisoformat(r.requested_at)) - aware(r.created_at)).total_seconds()) for r in rows
    ]
    return {"parcels": len(seconds), "median_seconds": round(statistics.median(seconds)) if seconds else None}
