"""Search and bulk (seed 001 #15, #17, #18, #20, #21, #22): ``POST /lcs/search/…`` with
``{"constraints": [{"key", "operator", "value"|"values"}]}`` → a JSON array paged by the
``x-page``/``x-page-size`` headers (``x-count``/``x-page`` in the response), and
``PUT /lcs/bulk/items``. The domain logic is in ``services.logistics.item_search``.
"""
from __future__ import annotations

from flask import request

from blueprints.lcs import bp
from services.errors import ValidationFailed
from services.logistics import item_search
from services.logistics.parcels import parcel_rows
from web.access import current_actor, requires
from web.negotiate import respond
from web.pagination import paginate_b


def _body():
    """The JSON body (any Content-Type); no body at all means no constraints."""
    if not request.get_data(cache=True):
        return {}
    data = request.get_json(silent=True, force=True)
    if data is None:
        raise ValidationFailed("Request body must be a JSON object",
                               details=[{"path": ["body"], "message": "must be a JSON object"}])
    return data


def _grouped(search: item_search.GroupedSearch):
    reps, headers, _ = paginate_b(search.groups, serialize=lambda unit: unit)
    return respond(search.rows(reps), headers=headers)


@bp.post("/search/shipments")
@requires("lcs.shipments.read")
def search_shipments():
    """Search for a set of shipments

    ``LcsShipmentSearch`` keys ``ids, secret, is_outbound, from_id, from_type, to_id, to_type,
    prior_ids`` (Wharf keeps no secrets: ``secret`` matches nothing), plus ``number``,
    ``order_id`` and the derived flags (``is_listed``, ``is_handled``, …). Answers
    ``LcsListedShipment[]``, newest first; ``x-count`` is the total.
    """
    stmt = item_search.shipments_select(current_actor(), _body())
    shipments, headers, _ = paginate_b(stmt, serialize=lambda shipment: shipment)
    return respond(item_search.shipment_rows(shipments), headers=headers)


@bp.post("/search/parcels")
@requires("lcs.handling.read")
def search_parcels():
    """Search for a set of parcels

    ``LcsParcelSearch`` keys ``ids, is_delivered``, plus ``shipment_ids``, ``is_in_transit``
    and ``is_finished``. Answers ``LcsParcel[]``, newest first.
    """
    stmt = item_search.parcels_select(current_actor(), _body())
    parcels, headers, _ = paginate_b(stmt, serialize=lambda p: p)
    return respond(parcel_rows(parcels), headers=headers)


@bp.post("/search/shipments/items")
@requires("lcs.shipments.read")
def search_shipment_items():
    """List items

    The units matching the ``LcsItemSearchConstraint`` keys (``ids, skus, position, is_listed,
    is_missing, is_in_transit, is_boxed, is_finished, is_labeled, is_serviced, is_handled,
    is_outbound, list_ids, parcel_ids, shipment_ids``) grouped by shipment and SKU:
    ``LcsGroupedShipmentItem[]`` with ``totals``. Paging counts groups.
    """
    return _grouped(item_search.shipment_items(current_actor(), _body()))


@bp.post("/search/lists/items")
@requires("lcs.handling.read")
def search_list_items():
    """Search items on handling list

    Matching units that are on a handling list, grouped per pick line (list, shipment, SKU,
    position): ``LcsHandlingListItem[]`` (plus ``list_id``), lines in walk order. Paging
    counts pick lines.
    """
    return _grouped(item_search.list_items(current_actor(), _body()))


@bp.post("/search/parcels/items")
@requires("lcs.handling.read")
def search_parcel_items():
    """Search parcel items

    Matching units that are in a parcel, grouped per parcel and SKU: ``LcsParcelItem[]``
    ``{id, sku, quantity, description}`` (plus ``parcel_id``). Paging counts groups.
    """
    return _grouped(item_search.parcel_items(current_actor(), _body()))


@bp.put("/bulk/items")
@requires("lcs.handling.write")
def bulk_items():
    """Update items in bulk

    ``{command: "set_parameters", parameters: {position, parcel_id, is_handled, is_finished,
    is_missing, lot_number, expires_at}, constraints: [...]}`` (item constraint keys; at least
    one constraint) → 204, one transaction. Units on a held, cancelled or finished handling
    list → 409 naming the list (``parcel_id`` alone excepted: packing follows picking);
    ``parcel_id`` must be a parcel of the units' shipment (400).
    """
    item_search.bulk_items(current_actor(), _body())
    return respond(None, status=204)
