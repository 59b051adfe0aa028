"""Short picks for the floor lead: units the pickers could not find, per day and position."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from blueprints.lcs import bp
from schemas.lcs_lists import LcsShortPick, LcsShortPicksQuery
from services.logistics import short_picks as svc
from web.access import current_actor, registry, requires
from web.contract import operation
from web.negotiate import respond

registry.add_nav("Short picks", "lcs.short_picks", group="Floor", order=25)


@bp.get("/short-picks")
@requires("lcs.handling.read")
@operation(query=LcsShortPicksQuery, responses={200: list[LcsShortPick]})
def short_picks(query: LcsShortPicksQuery):
    """Short picks per position and day

    Units marked missing on handling lists (the station's "Can't find it", or
    ``PUT /lcs/shipments/{id}/items/missing``) as ``{day, position, sku, count, reasons}``,
    newest day first, most short picks first. Between ``since`` and ``until`` (default now), or
    the last ``days`` UTC days. The fragment (``HX-Target: short-picks``) is the table alone,
    for other pages to embed.
    """
    now = datetime.now(UTC)
    until = query.until or now
    since = query.since or datetime.combine(now.date() - timedelta(days=query.days - 1), time.min, tzinfo=UTC)
    rows = svc.short_picks(current_actor(), since, until)
    context = {
        "rows": rows,
        "days": query.days,
        "reasons": {**svc.REASONS, svc.UNSPECIFIED: "No reason given"},
        "since": since,
        "until": until,
    }
    return respond(rows, template="lcs/short_picks.html", context=context, targets={"short-picks": "short_picks_table"})
