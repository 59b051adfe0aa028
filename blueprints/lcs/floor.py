"""The lead's floor view (/lcs/floor): one day's shipments, lists, picks and errors."""

from __future__ import annotations

from flask import current_app, url_for

from blueprints.lcs import bp
from schemas.lcs_floor import LcsFloorQuery, LcsFloorView
from services.logistics.floor_view import floor_view
from web.access import current_actor, registry, requires
from web.contract import operation
from web.negotiate import respond

registry.add_nav("Floor view", "lcs.floor", group="Floor", order=50)

PALETTE = ("#0b5cad", "#d9822b", "#1f7a3a", "#8e44ad", "#b42318", "#127d8a", "#9a6700", "#5b6576")
STATE_LABELS = (
    ("open", "Open"),
    ("listed", "Listed"),
    ("handled", "Picked"),
    ("boxed", "Boxed"),
    ("labeled", "Labeled"),
    ("in_transit", "In transit"),
    ("canceled", "Canceled"),
)


def duration(seconds: int | None) -> str:
    """``95`` → ``1 min 35 s``; ``90000`` → ``1 d 1 h``: two units at most, for people."""
    if seconds is None:
        return "—"
    parts, rest = [], int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if rest >= size or (unit == "s" and not parts):
            parts.append(f"{rest // size} {unit}")
            rest %= size
    return " ".join(parts[:2])


def picks_chart(pickers: list[dict]) -> dict | None:
    """Geometry of the picks-per-hour chart (stacked bars, one colour per picker) for the
    SVG the template draws; ``None`` without picks. Units are the SVG's viewBox units."""
    hours = sorted({h["hour"] for p in pickers for h in p["hours"]})
    if not hours:
        return None
    first, last = hours[0], hours[-1]
    columns = list(range(first, last + 1))
    totals = {hour: sum(h["picks"] for p in pickers for h in p["hours"] if h["hour"] == hour) for hour in columns}
    top = max(totals.values())
    step = max(44, min(96, 720 // len(columns)))
    left, plot_h, base = 34, 150, 170  # y axis labels left of ``left``; bars stand on ``base``
    active = [p for p in pickers if p["picks"]]
    colours = {id(p): PALETTE[n % len(PALETTE)] for n, p in enumerate(active)}
    series = [{"name": p["name"], "colour": colours[id(p)], "picks": p["picks"]} for p in active]
    bars, stacked = [], dict.fromkeys(columns, 0.0)
    for p in active:
        for h in p["hours"]:
            height = h["picks"] / top * plot_h
            stacked[h["hour"]] += height
            bars.append(
                {
                    "x": round(left + (h["hour"] - first) * step + step * 0.15, 1),
                    "y": round(base - stacked[h["hour"]], 1),
                    "w": round(step * 0.7, 1),
                    "h": round(height, 1),
                    "colour": colours[id(p)],
                    "title": f"{p['name']}, {h['hour']:02d}:00–{h['hour'] + 1:02d}:00: {h['picks']} picks",
                }
            )
    return {
        "width": left + step * len(columns) + 8,
        "height": base + 24,
        "left": left,
        "base": base,
        "top": top,
        "grid": [{"y": round(base - plot_h * n / top, 1), "label": n} for n in sorted({0, top // 2, top})],
        "columns": [
            {
                "x": left + i * step + step / 2,
                "label": f"{hour:02d}",
                "total": totals[hour],
                "y": base - totals[hour] / top * plot_h,
            }
            for i, hour in enumerate(columns)
        ],
        "bars": bars,
        "series": series,
    }


@bp.get("/floor")
@requires("lcs.handling.read")
@operation(query=LcsFloorQuery, responses={200: LcsFloorView})
def floor(query: LcsFloorQuery):
    """The lead's floor view

    One UTC day (``date``, today by default) of the caller's tenant and organizations:
    the day's shipments (created or due to ship that day) by state, picks per picker and
    hour, scan error rates, short picks per position, median seconds from parcel to label
    request; live: lists in progress with their pickers, the oldest open shipment.
    """
    data = floor_view(current_actor(), query.date)  # htmx (the 30 s poll, Refresh) gets only the numbers
    context = lambda: {
        "v": data,
        "chart": picks_chart(data["scans"]["pickers"]),
        "states": STATE_LABELS,
        "duration": duration,
        "refresh_url": url_for("lcs.floor", date=query.date.isoformat() if query.date else None),
        "short_picks_url": url_for("lcs.short_picks") if "lcs.short_picks" in current_app.view_functions else None,
    }
    return respond(
        data,
        template="lcs/floor.html",
        block="floor_numbers",
        context=context,
    )
