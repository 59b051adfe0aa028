"""Handling lists (seed 001 /lcs/lists) and the scan station."""

from __future__ import annotations

from flask import flash, request, url_for

from blueprints.lcs import bp
from models import HandlingList, Method, Organization, db
from models.base import newest_first
from schemas.base import PAGE_COUNT_HEADERS, PageHeaders
from schemas.lcs_lists import (
    LcsHandlingList,
    LcsHandlingListItemUpdates,
    LcsHandlingListResponse,
    LcsHandlingListUpdate,
    LcsHandlingModel,
    LcsListCandidate,
    LcsListedHandlingList,
    LcsListsQuery,
    LcsListWave,
    LcsScan,
    LcsScanResult,
    LcsScanStation,
)
from schemas.lcs_search import LcsListSearch
from services import events, users
from services.errors import ValidationFailed
from services.logistics import assignment, pickers, short_picks
from services.logistics import lists as svc
from web.access import current_actor, registry, requires
from web.contract import Response, operation
from web.htmx import htmx_details, trigger_client_event
from web.negotiate import conditional, fragment_etag, respond, response_mode, see_other
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
    stmt = current_actor().scope.select(HandlingList)
    state = query.state
    if state is None and "state" not in request.args and response_mode() != "json":
        state = "open"  # people start at the lists still to pick; "All" sends state= (JSON keeps the seed's all)
    if state == "open":
        stmt = stmt.where(HandlingList.is_finished.is_(False), HandlingList.is_cancelled.is_(False))
    elif state == "finished":
        stmt = stmt.where(HandlingList.is_finished.is_(True))
    rows, page_headers, page = paginate_b(
        stmt, serialize=svc.listed_row, headers=headers, keyset=newest_first(HandlingList)
    )
    progress = {r["id"]: _progress_of(r) for r in rows}
    return respond(
        rows,
        template="lcs/lists.html",
        headers=page_headers,
        context=lambda: {
            "rows": rows,
            "page": page,
            "progress": progress,
            "state": state or "",
            "assignees": users.display_names({r["sub"] for r in rows if r["sub"]}),
            **_wave_form_context(),
        },
    )


def _wave_form_context() -> dict:
    """The wave form (for those who may make lists) and the choices its filters offer: the
    methods and organizations the caller may read."""
    actor = current_actor()
    allows = actor.grants.allows

    def choices(model, feature):
        return db.session.scalars(actor.scope.select(model).order_by(model.name)).all() if allows([feature]) else []

    return {
        "wave_form": allows([pickers.PICK]),
        "wave_methods": choices(Method, "lcs.methods.read"),
        "wave_organizations": choices(Organization, "directory.organizations.view"),
    }


def _progress_of(row: dict) -> dict:
    items = row["items"]
    done = sum(1 for i in items if i["is_handled"] or i["is_missing"])
    return {"done": done, "total": len(items), "percent": round(100 * done / len(items)) if items else 100}


NO_SELECTION = "Select at least one shipment (tick its box), then create the list"


def _no_selection(error, submitted):
    """A person who pressed "Create handling list" with no shipment ticked reads what to do,
    once, instead of the contract's "shipments: Field required" (JSON clients keep that)."""
    paths = [d.get("path") for d in error.details]
    if isinstance(error, ValidationFailed) and paths and all(p in (["shipments"], ["body"]) for p in paths):
        raise ValidationFailed(NO_SELECTION) from None
    raise error


@bp.post("/lists")
@requires("lcs.handling.write")
@operation(body=LcsHandlingModel, responses={200: LcsHandlingListResponse}, form_error=_no_selection)
def create_list(body: LcsHandlingModel):
    """Create handling list

    From shipments ``{shipments: [{id, label}], due_at}``: outbound, not canceled and not on
    another active list (409 naming the shipment). Answers 200 (the seed has no 201).
    """
    hl = svc.create_list(current_actor(), body)
    return see_other(
        url_for("lcs.handling_list", list_id=hl.id), svc.created_row(hl), toast=f"Handling list {hl.number} created"
    )


@bp.get("/lists/new")
@requires("lcs.handling.write", "lcs.shipments.read")
@operation(responses={200: list[LcsListCandidate]})
def new_list():
    """Shipments a new list can take

    Wharf's "New handling list" page: the open shipments (outbound, not canceled, on no
    active list, with units to pick) in the caller's scope, the 200 oldest to ship first
    (``LcsListCandidate``). People tick some and post them to ``POST /lcs/lists`` — the way
    to make a list whether or not the shipments table offers bulk actions.
    """
    rows = assignment.candidates(current_actor())
    return respond(rows, template="lcs/list_new.html", context={"rows": rows, "limit": assignment.CANDIDATES})


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
        svc.search(current_actor(), body.constraints),
        serialize=svc.detail_row,
        headers=headers,
        keyset=newest_first(HandlingList),
    )
    return respond(rows, headers=page_headers)


def _page_context(hl: HandlingList) -> dict:
    row = svc.detail_row(hl)
    # Hold, assign, cancel and the station: for those who may change lists, while the list is open
    controls = not (hl.is_finished or hl.is_cancelled) and current_actor().grants.allows([pickers.PICK])
    cancelled = svc.cancelled(hl)
    # the page's lines also say how many units of each are missing (the JSON's lines do not)
    return {
        "hl": row,
        "progress": svc.progress(hl),
        "next": svc.next_pick(hl),
        "lines": svc.grouped(hl),
        "shipments": svc.shipment_rows(hl),
        "shipment_numbers": svc.shipment_numbers(ls.shipment_id for ls in hl.shipments),
        "assignee": users.display_names([hl.sub]).get(hl.sub),
        "controls": controls,
        "pickers": pickers.pickers(hl.tenant_id, hl.organization_id) if controls else [],
        "cancel_question": svc.cancel_question(hl) if controls else None,
        "cancelled": cancelled,
        "cancelled_by": users.display_names([str(cancelled.user_id)]).get(str(cancelled.user_id))
        if cancelled and cancelled.user_id
        else None,
        "live": fragment_etag(svc.live_state(hl), "list_live"),
        "can_print": current_actor().grants.allows(["lcs.handling.write", "spl.print"]),  # Print labels
    }


LIST_TARGETS = {"list-state": "list_state", "list-live": "list_live"}


@bp.get("/lists/<uuid:list_id>")
@requires("lcs.handling.read")
@operation(responses={200: LcsHandlingList, 304: None})
def handling_list(list_id):
    """View a handling list

    Its pick lines grouped by shipment, SKU and position, in walk order (``LcsHandlingList``).
    The answer carries an ``ETag`` that moves with every pick, undo, missing unit or state
    change of the list: send it back in ``If-None-Match`` and an unchanged list is a ``304``
    without a body (cheap polling).
    """
    hl = svc.get_list(current_actor(), list_id)

    def render():
        ctx = _page_context(hl)
        return respond(ctx["hl"], template="lcs/list.html", context=ctx, targets=LIST_TARGETS)

    return conditional(svc.live_state(hl), render, targets=LIST_TARGETS)


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
    cancelled or finished list → 409. The write that handles the last open unit finishes
    the list (unless a business rule refuses: the units stay handled, ``finish_blocked`` says why).
    """
    svc.update_items(current_actor(), list_id, body)
    return respond(None, status=204)


@bp.put("/lists/<uuid:list_id>/state")
@requires("lcs.handling.write")
@operation(body=LcsHandlingListUpdate, responses={204: None})
def list_state(list_id, body: LcsHandlingListUpdate):
    """Update a handling list state

    ``{is_on_hold, sub}`` holds/resumes or assigns the list: ``sub`` is the id of a user of
    the list's tenant who holds ``lcs.handling.write`` (anyone else: 422), null or empty
    unassigns. A list finishes by itself with its last handled or missing unit; Wharf also
    takes ``{is_finished: true}`` to finish it (409 while units are open or if already
    finished, 422 when a business rule refuses). The list page's assign form posts here too.
    """
    hl = svc.set_state(current_actor(), list_id, body)
    toast = None
    if body.is_on_hold is not None and not hl.is_finished:
        toast = f"{hl.number} is on hold" if hl.is_on_hold else f"{hl.number} resumed"
    if "sub" in body.model_fields_set:
        toast = (
            f"{hl.number} assigned to {users.display_names([hl.sub])[hl.sub]}" if hl.sub else f"{hl.number} unassigned"
        )
    return respond(None, status=204, toast=toast, trigger=CHANGED)


# --- scan station ---------------------------------------------------------------------------


STATION_TARGETS = {"station-live": "station_live"}


def _shown_message(data: dict) -> str | None:
    """The scan's answer as the panel shows it: while a rule blocks finishing, the refusal is
    said once, in the blocked notice (the message keeps only what the scan itself did)."""
    message, blocked = data.get("message"), data.get("finish_blocked")
    if not message or not blocked:
        return message
    if message == blocked:
        return None
    return message.removesuffix(f" — {data['number']} not finished: {blocked}")


def _station_response(st: svc.Station):
    """The station's answer: JSON, its page, or the panel htmx swaps in (and the live part
    polling it). The page also needs to know whether the list sorts into totes (several
    shipments) and whether a quantity needs a second scan."""
    context = {
        "st": st.data,
        "message": _shown_message(st.data),
        "sorts_into_totes": st.sorts_into_totes,
        "confirm_quantity": st.confirm_quantity,
        "short_pick_reasons": short_picks.REASONS,
        "live": fragment_etag(st.state, "station_live"),
    }
    return respond(
        st.data, template="lcs/station.html", block="station_panel", targets=STATION_TARGETS, context=context
    )


@bp.get("/lists/<uuid:list_id>/station")
@requires("lcs.handling.write")
@operation(responses={200: LcsScanStation, 304: None})
def station(list_id):
    """Scan station

    Progress and the next pick line (the handheld page for browsers). Conditional like the
    list (``ETag``/``If-None-Match`` → ``304``): every station polls it to see the other
    pickers' scans.
    """
    actor = current_actor()
    hl = svc.get_list(actor, list_id)
    return conditional(
        svc.station_state(hl),
        lambda: _station_response(svc.station(actor, hl)),
        block="station_panel",
        targets=STATION_TARGETS,
    )


def _station_answer(st: svc.Station):
    """A scan's answer; the page's sound and flash follow the ``wharf:scan`` event."""
    status = st.data["status"]
    return trigger_client_event(_station_response(st), "wharf:scan", {"ok": status in ("ok", "done"), "status": status})


def _scan_refused(error, submitted: dict):
    """A refused scan at the station (unreadable code, list on hold…): red, nothing changed."""
    actor = current_actor()
    hl = svc.get_list(actor, request.view_args["list_id"])
    message = "Unreadable scan: nothing changed" if isinstance(error, ValidationFailed) else error.message
    st = svc.station(actor, hl, svc.ScanResult("error", message))
    if isinstance(error, events.Blocked):  # Finish refused by a rule: the station is in that state now
        st.data["finish_blocked"] = error.message
    return _station_answer(st)


@bp.post("/lists/<uuid:list_id>/scan")
@requires("lcs.handling.write")
@operation(body=LcsScan, responses={200: LcsScanResult}, form_error=_scan_refused)
def scan(list_id, body: LcsScan):
    """Scan a code

    A unit id, SKU, product barcode or GS1 string picks the next open unit of that product in
    walk order; the scan that picks the last open unit finishes the list (``done``; a
    business rule that refuses finishing leaves it open: ``warning``, the unit stays picked).
    Commands: ``WHARF:FINISH``, ``WHARF:UNDO``, and ``WHARF:MISSING`` with ``reason``
    (empty_location | damaged | wrong_item): the current pick cannot be found — while another
    position holds the SKU the answer is ``warning`` "Try position X" (the pick moves there),
    else one unit is marked missing. Answers 200 with ``status`` ok | warning | error | done
    (a rejected code changes nothing). On a list of several shipments ``sorting_label`` is the
    tote the picked unit goes into; with lcs.scan.confirm_tote on, ``awaiting_tote`` asks for a
    scan of that tote's label (or ``WHARF:TOTE:<label>``) next — anything else is an error and
    the station keeps asking. With lcs.scan.confirm_quantity on, a SKU with more than one open
    unit at its position answers ``pending`` first; the same code scanned again takes them all
    (with confirm_tote on as well: those of one tote). ``next.left`` counts the SKU's open units
    at that position over all shipments, ``next.split`` where they go.
    """
    return _station_answer(svc.scan_at_station(current_actor(), list_id, body.code, body.reason))


# --- assignment: start next list, waves ------------------------------------------------------


def _nothing_to_do(message: str, back: str):
    """Nothing was made or taken: htmx shows ``message`` where the person is; a page post
    goes back to ``back`` with it."""
    if htmx_details().is_htmx:
        return respond(None, toast=(message, "warning"))
    flash(message, "warning")
    return see_other(back)


@bp.post("/lists/next")
@requires("lcs.handling.write")
@operation(responses={200: LcsHandlingList, 204: None})
def next_list():
    """Start next list

    The caller's own open list that is not on hold (``sub`` = their user id); else the
    oldest-due (``due_at``, none last, then ``created_at``) unassigned open list of their
    tenant, assigned to them now — pickers pressing at the same moment get different
    lists. Answers the list (``LcsHandlingList``), or ``204`` with no body when no list
    is waiting (the work queue is empty: not an error). An API key is no picker (400).
    People go to the list's scan station.
    """
    hl = assignment.take_next(current_actor())
    if hl is None:
        if response_mode() == "json":
            return respond(None, status=204)
        return _nothing_to_do(
            "No handling list is waiting: every open list is taken or done", url_for("dashboard.home")
        )
    return see_other(url_for("lcs.station", list_id=hl.id), svc.detail_row(hl))


@bp.post("/lists/waves")
@requires("lcs.handling.write")
@operation(body=LcsListWave, responses={200: list[LcsHandlingListResponse]})
def create_wave(body: LcsListWave):
    """Create handling lists in a wave

    From the open shipments (outbound, not canceled, on no active list, with units to
    pick) matching ``method_id``, ``ship_before`` (``ship_at`` on or before that day) and
    ``organization_id``, oldest ``ship_at`` first: whole shipments packed into lists of at
    most ``max_units_per_list`` units (a larger shipment gets its own list), at most
    ``max_lists`` lists, each shipment with a sorting label A, B, C… within its list and
    the list due when its oldest shipment ships. One transaction: a shipment refused
    (a rule, a concurrent list) leaves no list behind. Answers the lists made
    (``LcsHandlingListResponse[]``, empty when nothing matched).
    """
    made = assignment.create_wave(current_actor(), body)
    back = url_for("lcs.lists", state="open")
    if not made:
        if response_mode() == "json":
            return respond([])
        return _nothing_to_do("No open shipments match: no list was made", back)
    if response_mode() != "json":
        flash(
            f"{len(made)} handling list{'s' if len(made) != 1 else ''} made: {made[0].number}"
            + (f" … {made[-1].number}" if len(made) > 1 else ""),
            "success",
        )
    return see_other(back, [svc.created_row(hl) for hl in made])
