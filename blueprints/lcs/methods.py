"""Shipping methods (seed 001 /lcs/methods, /lcs/search/methods) plus Wharf's write
endpoints for the methods screen (the seed only reads them). Family B, creates answer 200."""

from __future__ import annotations

import typing

from blueprints.lcs import bp
from blueprints.lcs._reference import with_blanks
from models import Method, db
from schemas.base import PAGE_COUNT_HEADERS, PageHeaders
from schemas.lcs_reference import (
    DeliveryDuring,
    LcsMethod,
    LcsMethodModel,
    LcsMethodQuery,
    LcsMethodUpdate,
    LcsShipmentMethodSearch,
    Provider,
)
from services.logistics import methods as svc
from services.logistics.search import Field, apply_constraints
from web.access import current_actor, registry, requires
from web.contract import Response, operation
from web.forms import show_again
from web.negotiate import empty, respond
from web.pagination import paginate_b

registry.add_nav("Methods", "lcs.methods", group="Catalogue", order=70)

SEARCH_FIELDS = {  # the keys of LcsShipmentMethodSearchConstraint
    "ids": Field(Method.id, "uuid"),
    "carrier_code": Field(Method.carrier_code),
    "name": Field(Method.name),
    "is_enabled": Field(Method.is_enabled, "bool"),
    "priority": Field(Method.priority, "int"),
    "max_weight": Field(Method.max_weight, "int"),
}
CHANGED = "lcs:methods-changed"
BLANK_COUNTRY_ROWS = 3  # empty code+amount rows under the filled ones (no script needed to add more)
LIST, EDIT = "lcs/methods.html", "lcs/methods_edit.html"


def _can_write() -> bool:
    return current_actor().grants.allows(["lcs.methods.write"])


def _rows(country: str | None = None) -> list[dict]:
    scope = current_actor().scope
    found = svc.enabled_for_country(scope, country) if country else db.session.scalars(svc.methods_query(scope))
    return [svc.method_row(m) for m in found]


def _form_context(m: dict | None = None, **extra) -> dict:
    return {
        "m": m or {},
        "blank_rows": BLANK_COUNTRY_ROWS,
        "can_write": _can_write(),
        "delivery_during": typing.get_args(DeliveryDuring),
        "providers": typing.get_args(Provider),
        "flags": svc.FLAGS,
        **extra,
    }


_create_error = show_again(LIST, "create_form", context=lambda: _form_context(rows=_rows()))
_update_error = show_again(
    EDIT,
    "method_form",
    context=lambda method_id: _form_context(svc.method_row(svc.get_method(current_actor().scope, method_id))),
)


@bp.get("/methods")
@requires("lcs.methods.read")
@operation(
    query=LcsMethodQuery, responses={200: Response(list[LcsMethod], headers={"x-count": PAGE_COUNT_HEADERS["x-count"]})}
)
def methods(query: LcsMethodQuery):
    """List all methods

    Priority first, then name; not paged (as the seed). ``country_code``: only the enabled
    methods that ship there.
    """
    body = _rows(query.country_code)
    return respond(
        body,
        template=LIST,
        headers={"x-count": str(len(body))},
        targets={"method-table": "method_table"},
        context=_form_context(rows=body, country=query.country_code or ""),
    )


@bp.post("/methods")
@requires("lcs.methods.write")
@operation(body=LcsMethodModel, responses={200: LcsMethod}, form_error=_create_error)
def create_method(body: LcsMethodModel):
    """Create a shipping method (Wharf; the seed only reads them)

    The seed's defaults: not enabled, ``priority`` 100, ``provider`` default.
    """
    m = svc.create_method(current_actor(), body)
    row = svc.method_row(m)
    return respond(
        row,
        template=LIST,
        block="create_form",
        context=lambda: _form_context(rows=_rows(), created=row),
        toast=f"Method {m.name} created",
        trigger=CHANGED,
    )


@bp.get("/methods/<uuid:method_id>")
@requires("lcs.methods.read")
@operation(query=LcsMethodQuery, responses={200: LcsMethod})
def method(method_id, query: LcsMethodQuery):
    """Returns a shipping method

    ``country_code`` and ``channel_id`` are accepted, as the seed lists them. For people,
    its edit page.
    """
    row = svc.method_row(svc.get_method(current_actor().scope, method_id))
    return respond(row, template=EDIT, context=_form_context(row))


@bp.put("/methods/<uuid:method_id>")
@requires("lcs.methods.write")
@operation(body=LcsMethodUpdate, responses={200: LcsMethod}, form_error=_update_error)
def update_method(method_id, body: LcsMethodUpdate):
    """Update a shipping method (Wharf)

    The fields sent change; ``countries`` replaces the list.
    """
    m = svc.update_method(current_actor(), method_id, with_blanks(body))
    row = svc.method_row(m)
    return respond(
        row,
        template=EDIT,
        block="method_form",
        context=lambda: _form_context(row, saved=True),
        toast=f"Method {m.name} saved",
    )


@bp.delete("/methods/<uuid:method_id>")
@requires("lcs.methods.write")
@operation(responses={204: None})
def delete_method(method_id):
    """Delete a shipping method (Wharf)

    Soft delete; shipments that used it keep the link.
    """
    m = svc.delete_method(current_actor(), method_id)
    return empty(status=204, toast=f"Method {m.name} deleted")


@bp.post("/search/methods")
@requires("lcs.methods.read")
@operation(
    body=LcsShipmentMethodSearch,
    forms=False,
    headers=PageHeaders,
    responses={200: Response(list[LcsMethod], headers=PAGE_COUNT_HEADERS)},
)
def search_methods(body: LcsShipmentMethodSearch, headers: PageHeaders):
    """Search for shipment methods

    Keys ``ids`` (the seed's) and Wharf's ``carrier_code``, ``name``, ``is_enabled``,
    ``priority``, ``max_weight``; paged like the other searches.
    """
    stmt = apply_constraints(svc.methods_query(current_actor().scope), body.constraints, SEARCH_FIELDS)
    rows, page_headers, _ = paginate_b(stmt, serialize=svc.method_row, headers=headers)
    return respond(rows, template=LIST, block="method_table", headers=page_headers, context=_form_context(rows=rows))
