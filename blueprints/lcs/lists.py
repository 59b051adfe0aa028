"""Handling lists (seed 001 /lcs/lists) and the scan station."""
from __future__ import annotations

from flask import request, url_for

from blueprints.lcs import bp
from models import HandlingList
from services.errors import DomainError
from services.logistics import lists as svc
from web.access import current_actor, registry, requires
from web.forms import as_list, request_data, request_json
from web.htmx import client_redirect, htmx_details, toast, trigger_client_event
from web.negotiate import respond, response_mode
from web.pagination import paginate_b

registry.add_nav("Handling lists", "lcs.lists", "lcs.handling.read", group="Warehouse", order=20)


@bp.get("/lists")
@requires("lcs.handling.read")
def lists():
    """Handling lists, newest first (``LcsListedHandlingList``: items one per unit)."""
    stmt = current_actor().scope.select(HandlingList).order_by(HandlingList.created_at.desc())
    state = request.args.get("state")
    if state == "open":
        stmt = stmt.where(HandlingList.is_finished.is_(False), HandlingList.is_cancelled.is_(False))
    elif state == "finished":
        stmt = stmt.where(HandlingList.is_finished.is_(True))
    rows, headers, page = paginate_b(stmt, serialize=svc.listed_row)
    progress = {r["id"]: _progress_of(r) for r in rows}
    return respond(rows, template="lcs/lists.html", headers=headers,
                   context={"rows": rows, "page": page, "progress": progress, "state": state or ""})


def _progress_of(row: dict) -> dict:
    items = row["items"]
    done = sum(1 for i in items if i["is_handled"] or i["is_missing"])
    return {"done": done, "total": len(items), "percent": round(100 * done / len(items)) if items else 100}


@bp.post("/lists")
@requires("lcs.handling.write")
def create_list():
    """Creates a list from shipments ``{shipments: [{id, label}], due_at}`` (409 if one is already listed)."""
    if request.is_json:
        data = request_json(dict)
    else:  # the shipments page: checkboxes named ``shipment``
        data = {"shipments": [{"id": sid} for sid in as_list(request_data().get("shipment"))]}
    hl = svc.create_list(current_actor(), data)
    if response_mode() == "json":
        return respond(svc.created_row(hl))
    target = url_for("lcs.handling_list", list_id=hl.id)
    resp = client_redirect(respond(None), target) if htmx_details().is_htmx else respond(None, status=303, headers={"Location": target})
    return toast(resp, f"Handling list {hl.number} created")


@bp.post("/lists/search")
@requires("lcs.handling.read")
def search_lists():
    """Lists matching ``constraints`` (keys ids, sub, location_id, is_on_hold, is_in_progress, is_finished, is_assigned)."""
    import sqlalchemy as sa
    from services.logistics.search import Field, apply_constraints
    h = HandlingList
    fields = {
        "ids": Field(h.id, "uuid"), "sub": Field(h.sub), "location_id": Field(h.location_id, "uuid"),
        "is_on_hold": Field(h.is_on_hold, "bool"), "is_finished": Field(h.is_finished, "bool"),
        "is_in_progress": Field(kind="bool", build=lambda v: sa.and_(h.started_at.is_not(None), h.is_finished.is_(False))
                                if v else sa.or_(h.started_at.is_(None), h.is_finished.is_(True))),
        "is_assigned": Field(kind="bool", build=lambda v: h.sub.is_not(None) if v else h.sub.is_(None)),
    }
    stmt = apply_constraints(current_actor().scope.select(h), request_json(dict), fields).order_by(h.created_at.desc())
    rows, headers, _ = paginate_b(stmt, serialize=svc.detail_row)
    return respond(rows, headers=headers)


def _page_context(hl: HandlingList) -> dict:
    row = svc.detail_row(hl)
    return {"hl": row, "progress": svc.progress(hl), "next": svc.next_pick(hl), "lines": row["items"]}


@bp.get("/lists/<uuid:list_id>")
@requires("lcs.handling.read")
def handling_list(list_id):
    """One list with its pick lines grouped by SKU and position, in walk order (``LcsHandlingList``)."""
    hl = svc.get_list(current_actor(), list_id)
    ctx = _page_context(hl)
    return respond(ctx["hl"], template="lcs/list.html", context=ctx)


@bp.delete("/lists/<uuid:list_id>")
@requires("lcs.handling.write")
def cancel_list(list_id):
    """Cancels the list (204) and releases its shipments."""
    svc.cancel(current_actor(), list_id)
    return toast(respond(None, status=204), "Handling list cancelled")


@bp.put("/lists/<uuid:list_id>/items")
@requires("lcs.handling.write")
def update_list_items(list_id):
    """``[{id, is_handled, is_serviced, is_finished, position, lot_number, expires_at}]`` → 204.
    Idempotent: repeating ``is_handled: true`` changes nothing. Units of another list → 400;
    a held, cancelled or finished list → 409."""
    svc.update_items(current_actor(), list_id, request_json(list))
    return respond(None, status=204)


@bp.put("/lists/<uuid:list_id>/state")
@requires("lcs.handling.write")
def list_state(list_id):
    """``{is_on_hold, sub}`` holds/resumes or assigns the list (204); Wharf also accepts
    ``{is_finished: true}`` to finish it (409 while units are open or if already finished)."""
    svc.set_state(current_actor(), list_id, request_json(dict))
    return respond(None, status=204)


# --- scan station ---------------------------------------------------------------------------

def _station_data(hl: HandlingList, result: svc.ScanResult | None = None) -> dict:
    p = svc.progress(hl)
    nxt = svc.next_pick(hl)
    data = {"list_id": hl.id, "number": hl.number, "is_finished": hl.is_finished,
            "progress": {"total": p.total, "handled": p.handled, "missing": p.missing, "open": p.open, "percent": p.percent},
            "next": {k: nxt[k] for k in ("sku", "description", "position", "left", "shipment_id", "sorting_label")} if nxt else None}
    if result is not None:
        data |= {"status": result.status, "message": result.message, "item_id": result.item_id, "sku": result.sku,
                 "action": result.action}
    return data


@bp.get("/lists/<uuid:list_id>/station")
@requires("lcs.handling.write")
def station(list_id):
    """Scan station state: progress and the next pick (the handheld page for browsers)."""
    hl = svc.get_list(current_actor(), list_id)
    data = _station_data(hl)
    return respond(data, template="lcs/station.html", block="station_panel", context={"st": data})


@bp.post("/lists/<uuid:list_id>/scan")
@requires("lcs.handling.write")
def scan(list_id):
    """One scan ``{code}``: a unit id, SKU, product barcode or GS1 string picks the next open
    unit in walk order; ``WHARF:FINISH`` / ``WHARF:UNDO`` are commands. Answers 200 with
    ``status`` ok | warning | error | done (a rejected code changes nothing)."""
    code = (request_json(dict) if request.is_json else request_data()).get("code")
    actor = current_actor()
    try:
        result = svc.scan(actor, list_id, code if isinstance(code, str) else "")
    except DomainError as e:
        if response_mode() == "json":
            raise
        result = svc.ScanResult("error", e.message)
    hl = svc.get_list(actor, list_id)
    data = _station_data(hl, result)
    resp = respond(data, template="lcs/station.html", block="station_panel", context={"st": data})
    return trigger_client_event(resp, "wharf:scan", {"ok": result.status in ("ok", "done"), "status": result.status})
