"""Shipping methods (seed 001 /lcs/methods, /lcs/search/methods) plus Wharf's write
endpoints for the methods screen (the seed only reads them). Family B, creates answer 200."""
from __future__ import annotations

from flask import request

from blueprints.lcs import bp
from blueprints.lcs.locations import search_body
from models import Method, db
from services.errors import DomainError
from services.logistics import reference as ref
from services.logistics.search import Field, apply_constraints
from web.access import current_actor, registry, requires
from web.forms import request_data, request_json
from web.htmx import toast, trigger_client_event
from web.negotiate import respond, response_mode
from web.pagination import paginate_b

registry.add_nav("Methods", "lcs.methods", "lcs.methods.read", group="Warehouse", order=70)

SEARCH_FIELDS = {
    "ids": Field(Method.id, "uuid"),
    "carrier_code": Field(Method.carrier_code),
    "name": Field(Method.name),
    "is_enabled": Field(Method.is_enabled, "bool"),
    "priority": Field(Method.priority, "int"),
    "max_weight": Field(Method.max_weight, "int"),
}
CHANGED = "lcs:methods-changed"
BLANK_COUNTRY_ROWS = 3  # empty code+amount rows under the filled ones (no script needed to add more)


def _can_write() -> bool:
    return current_actor().grants.allows(["lcs.methods.write"])


def _form_method(data: dict) -> dict:
    """Form rows ``country_code`` + ``country_amount`` into ``countries``; blank rows dropped."""
    out = {k: v for k, v in data.items() if k not in ("country_code", "country_amount")}
    codes, amounts = request.form.getlist("country_code"), request.form.getlist("country_amount")
    out["countries"] = [{"code": c, "amount": a} for c, a in zip(codes, amounts + [""] * len(codes)) if c.strip()]
    return out


def _form_context(m: dict | None = None, **extra) -> dict:
    return {"m": m or {}, "blank_rows": BLANK_COUNTRY_ROWS, "can_write": _can_write(),
            "delivery_during": ref.DELIVERY_DURING, "providers": ref.PROVIDERS, "flags": ref.EXTRA_FLAGS, **extra}


def _errors(e: DomainError) -> dict[str, str]:
    return {".".join(map(str, d.get("path", []))): d.get("message", "") for d in e.details}


@bp.get("/methods")
@requires("lcs.methods.read")
def methods():
    """Every shipping method (``LcsMethod[]``, priority then name; not paged, as the seed);
    ``country_code`` → only the enabled methods shipping there. ``channel_id`` is accepted."""
    scope = current_actor().scope
    country = request.args.get("country_code") or None
    found = ref.enabled_for_country(scope, country) if country else list(db.session.scalars(ref.methods_query(scope)))
    body = [ref.method_row(m) for m in found]
    block = "method_table" if request.headers.get("HX-Target") == "method-table" else "content"
    return respond(body, template="lcs/methods.html", block=block, headers={"x-count": str(len(body))},
                   context=_form_context(rows=body, country=country or ""))


@bp.post("/methods")
@requires("lcs.methods.write")
def create_method():
    """Creates a method (Wharf): ``carrier_code`` and ``name`` required; ``countries``
    ``[{code, amount}]``; the seed's other fields; defaults is_enabled false, priority 100 → 200."""
    if response_mode() == "json":
        return respond(ref.method_row(ref.create_method(current_actor(), request_json(dict))))
    data = _form_method(request_data())
    try:
        m = ref.create_method(current_actor(), data, from_form=True)
    except DomainError as e:
        return respond(None, template="lcs/methods.html", block="create_form", status=422,
                       context=_form_context(data, error=e.message, errors=_errors(e)))
    resp = respond(ref.method_row(m), template="lcs/methods.html", block="create_form",
                   context=_form_context(created=ref.method_row(m)))
    return toast(trigger_client_event(resp, CHANGED), f"Method {m.name} created")


@bp.get("/methods/<uuid:method_id>")
@requires("lcs.methods.read")
def method(method_id):
    """One shipping method (``LcsMethod``); its edit page for people."""
    row = ref.method_row(ref.get_method(current_actor().scope, method_id))
    return respond(row, template="lcs/methods_edit.html", context=_form_context(row))


@bp.put("/methods/<uuid:method_id>")
@requires("lcs.methods.write")
def update_method(method_id):
    """Changes the fields sent (``countries`` replaces the list) → 200 ``LcsMethod``."""
    if response_mode() == "json":
        return respond(ref.method_row(ref.update_method(current_actor(), method_id, request_json(dict))))
    data = _form_method(request_data())
    try:
        m = ref.update_method(current_actor(), method_id, data, from_form=True)
    except DomainError as e:
        row = ref.method_row(ref.get_method(current_actor().scope, method_id))
        return respond(None, template="lcs/methods_edit.html", block="method_form", status=422,
                       context=_form_context({**row, **data}, error=e.message, errors=_errors(e)))
    row = ref.method_row(m)
    return toast(respond(row, template="lcs/methods_edit.html", block="method_form",
                         context=_form_context(row, saved=True)), f"Method {m.name} saved")


@bp.delete("/methods/<uuid:method_id>")
@requires("lcs.methods.write")
def delete_method(method_id):
    """Soft-deletes a method (Wharf) → 204; shipments that used it keep the link."""
    m = ref.delete_method(current_actor(), method_id)
    if response_mode() == "json":
        return respond(None, status=204)
    return toast(respond(None, template="lcs/methods.html", block="nothing"), f"Method {m.name} deleted")


@bp.post("/search/methods")
@requires("lcs.methods.read")
def search_methods():
    """Methods matching ``{"constraints": [{key, operator, values|value}]}``; keys ``ids``,
    ``carrier_code``, ``name``, ``is_enabled``, ``priority``, ``max_weight``; paging headers → x-count."""
    stmt = apply_constraints(ref.methods_query(current_actor().scope), search_body(), SEARCH_FIELDS)
    body, headers, _ = paginate_b(stmt, serialize=ref.method_row)
    return respond(body, template="lcs/methods.html", block="method_table", headers=headers,
                   context=_form_context(rows=body))
