"""Handling lists (seed 001 /lcs/lists) and the scan station."""

from __future__ import annotations

from flask import request, url_for

from blueprints.lcs import bp
from models import HandlingList
from schemas.base import PAGE_COUNT_HEADERS, PageHeaders
from schemas.lcs_lists import (
    LcsHandlingList,
    LcsHandlingListItemUpdates,
    LcsHandlingListResponse,
    LcsHandlingListUpdate,
    LcsHandlingModel,
    LcsListedHandlingList,
    LcsListsQuery,
    LcsScan,
    LcsScanResult,
    LcsScanStation,
)
from schemas.lcs_search import LcsListSearch
from services.errors import ValidationFailed
from services.logistics import lists as svc
from web.access import current_actor, registry, requires
from web.contract import Response, operation
from web.htmx import trigger_client_event
from web.negotiate import respond, see_other
from web.pagination import paginate_b

registry.add_nav("Handling lists", "lcs.lists", group="Floor", order=20)

CHANGED = "lcs:list-changed"  # htmx event: the list page's state re-fetches itself


@bp.get("/lists")
@requires("lcs.handling.read")
@operation(
    query=LcsListsQuery,
    headers=PageHeaders,
    responses={200: Response(list[LcsListedHandlingList], headers=PAGE_COUNT_HEADERS)},
)
def lists(query: LcsListsQuery, headers: PageHeaders):
    """Get list of handling lists

    Newest first (``LcsListedHandlingList``: ``items`` one per unit). Wharf's ``state``
    filter: ``open`` (neither finished nor cancelled) or ``finished``.
    """
    stmt = current_actor().scope.select(HandlingList).order_by(HandlingList.created_at.desc())
    if query.state == "open":
        stmt = stmt.where(HandlingList.is_finished.is_(False), HandlingList.is_cancelled.is_(False))
    elif query.state == "finished":
        stmt = stmt.where(HandlingList.is_finished.is_(True))
    rows, page_headers, page = paginate_b(
        stmt, serialize=svc.listed_row, headers=headers
    )  # pages by the declared headers
    progress = {r["id"]: _progress_of(r) for r in rows}
    return respond(
        rows,
        template="lcs/lists.html",
        headers=page_headers,
        context={"rows": rows, "page": page, "progress": progress, "state": query.state or ""},
    )


def _progress_of(row: dict) -> dict:
    items = row["items"]
    done = sum(1 for i in items if i["is_handled"] or i["is_missing"])
    return {"done": done, "total": len(items), "percent": round(100 * done / len(items)) if items else 100}


@bp.post("/lists")
@requires("lcs.handling.write")
@operation(body=LcsHandlingModel, responses={200: LcsHandlingListResponse})
def create_list(body: LcsHandlingModel):
    """Create handling list

    From shipments ``{shipments: [{id, label}], due_at}``: outbound, not canceled and not on
    another active list (409 naming the shipment). Answers 200 (the seed has no 201).
    """
    hl = svc.create_list(current_actor(), body)
    return see_other(
        url_for("lcs.handling_list", list_id=hl.id), svc.created_row(hl), toast=f"Handling list {hl.number} created"
    )


@bp.post("/lists/search")
@requires("lcs.handling.read")
@operation(
    body=LcsListSearch,
    headers=PageHeaders,
    forms=False,
    responses={200: Response(list[LcsHandlingList], headers=PAGE_COUNT_HEADERS)},
)
def search_lists(body: LcsListSearch, headers: PageHeaders):
    """Search a set of lists

    Keys ``ids, sub, location_id, is_on_hold, is_in_progress, is_finished, is_assigned``;
    newest first (``LcsHandlingList[]``).
    """
    rows, page_headers, _ = paginate_b(
        svc.search(current_actor(), body.constraints), serialize=svc.detail_row, headers=headers
    )
    return respond(rows, headers=page_headers)


def _page_context(hl: HandlingList) -> dict:
    row = svc.detail_row(hl)
    return {"hl": row, "progress": svc.progress(hl), "next": svc.next_pick(hl), "lines": row["items"]}


@bp.get("/lists/<uuid:list_id>")
@requires("lcs.handling.read")
@operation(responses={200: LcsHandlingList})
def handling_list(list_id):
    """View a handling list

    Its pick lines grouped by shipment, SKU and position, in walk order (``LcsHandlingList``).
    """
    hl = svc.get_list(current_actor(), list_id)
    ctx = _page_context(hl)
    return respond(ctx["hl"], template="lcs/list.html", context=ctx, targets={"list-state": "list_state"})


@bp.delete("/lists/<uuid:list_id>")
@requires("lcs.handling.write")
@operation(responses={204: None})
def cancel_list(list_id):
    """Delete a handling list

    Cancels the list (``is_cancelled``) and releases its shipments; a finished list is a 409.
    """
    svc.cancel(current_actor(), list_id)
    return respond(None, status=204, toast="Handling list cancelled", trigger=CHANGED)


@bp.put("/lists/<uuid:list_id>/items")
@requires("lcs.handling.write")
@operation(body=LcsHandlingListItemUpdates, responses={204: None}, forms=False)
def update_list_items(list_id, body: list):
    """Update a handling list's items

    ``LcsHandlingListItemUpdate[]``: per unit, only the fields sent change (``is_handled``
    picks or un-picks, ``is_finished``/``is_serviced`` set the unit's flags). Idempotent:
    repeating ``is_handled: true`` changes nothing. Units of another list → 400; a held,
    cancelled or finished list → 409.
    """
    svc.update_items(current_actor(), list_id, body)
    return respond(None, status=204)


@bp.put("/lists/<uuid:list_id>/state")
@requires("lcs.handling.write")
@operation(body=LcsHandlingListUpdate, responses={204: None}, forms=False)
def list_state(list_id, body: LcsHandlingListUpdate):
    """Update a handling list state

    ``{is_on_hold, sub}`` holds/resumes or assigns the list; Wharf also takes
    ``{is_finished: true}`` to finish it (409 while units are open or if already finished).
    """
    svc.set_state(current_actor(), list_id, body)
    return respond(None, status=204)


# --- scan station ---------------------------------------------------------------------------


def _station_data(hl: HandlingList, result: svc.ScanResult | None = None) -> dict:
    p = svc.progress(hl)
    nxt = svc.next_pick(hl)
    data = {
        "list_id": hl.id,
        "number": hl.number,
        "is_finished": hl.is_finished,
        "progress": {
            "total": p.total,
            "handled": p.handled,
            "missing": p.missing,
            "open": p.open,
            "percent": p.percent,
        },
        "next": {k: nxt[k] for k in ("sku", "description", "position", "left", "shipment_id", "sorting_label")}
        if nxt
        else None,
    }
    if result is not None:
        data |= {
            "status": result.status,
            "message": result.message,
            "item_id": result.item_id,
            "sku": result.sku,
            "action": result.action,
        }
    return data


@bp.get("/lists/<uuid:list_id>/station")
@requires("lcs.handling.write")
@operation(responses={200: LcsScanStation})
def station(list_id):
    """Scan station

    Progress and the next pick line (the handheld page for browsers).
    """
    hl = svc.get_list(current_actor(), list_id)
    data = _station_data(hl)
    return respond(data, template="lcs/station.html", block="station_panel", context={"st": data})


def _station_answer(hl: HandlingList, result: svc.ScanResult):
    data = _station_data(hl, result)
    resp = respond(data, template="lcs/station.html", block="station_panel", context={"st": data})
    return trigger_client_event(resp, "wharf:scan", {"ok": result.status in ("ok", "done"), "status": result.status})


def _scan_refused(error, submitted: dict):
    """A refused scan at the station (unreadable code, list on hold…): red, nothing changed."""
    hl = svc.get_list(current_actor(), request.view_args["list_id"])
    message = "Unreadable scan: nothing changed" if isinstance(error, ValidationFailed) else error.message
    return _station_answer(hl, svc.ScanResult("error", message))


@bp.post("/lists/<uuid:list_id>/scan")
@requires("lcs.handling.write")
@operation(body=LcsScan, responses={200: LcsScanResult}, form_error=_scan_refused)
def scan(list_id, body: LcsScan):
    """Scan a code

    A unit id, SKU, product barcode or GS1 string picks the next open unit of that product in
    walk order; ``WHARF:FINISH`` / ``WHARF:UNDO`` are commands. Answers 200 with ``status``
    ok | warning | error | done (a rejected code changes nothing).
    """
    actor = current_actor()
    result = svc.scan(actor, list_id, body.code)
    return _station_answer(svc.get_list(actor, list_id), result)
