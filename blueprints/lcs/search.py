"""Search and bulk (seed 001 #15, #17, #18, #20, #21, #22): ``POST /lcs/search/…`` with
``{"constraints": [{"key", "operator", "values"}]}`` (``value`` accepted) → a JSON array
paged by the ``x-page``/``x-page-size`` headers (``x-count``/``x-page`` in the response),
and ``PUT /lcs/bulk/items``. The domain logic is in ``services.logistics.item_search``.
"""

from __future__ import annotations

from blueprints.lcs import bp
from models import Parcel, Shipment
from models.base import newest_first
from schemas.base import PAGE_COUNT_HEADERS, PageHeaders
from schemas.lcs_parcels import LcsParcel
from schemas.lcs_search import (
    LcsBulkItemsCommand,
    LcsGroupedShipmentItem,
    LcsItemSearch,
    LcsParcelSearch,
    LcsSearchedListItem,
    LcsSearchedParcelItem,
    LcsShipmentSearch,
)
from schemas.lcs_shipments import LcsListedShipment
from services.logistics import item_search
from services.logistics.parcels import parcel_rows
from web.access import current_actor, requires
from web.contract import Response, operation
from web.negotiate import respond
from web.pagination import paginate_b


def _paged(model) -> dict:
    return {200: Response(list[model], headers=PAGE_COUNT_HEADERS)}


def _grouped(search: item_search.GroupedSearch, headers: PageHeaders):
    reps, page_headers, _ = paginate_b(search.groups, serialize=lambda unit: unit, headers=headers)
    return respond(search.rows(reps), headers=page_headers)


@bp.post("/search/shipments")
@requires("lcs.shipments.read")
@operation(body=LcsShipmentSearch, headers=PageHeaders, responses=_paged(LcsListedShipment), forms=False)
def search_shipments(body: LcsShipmentSearch, headers: PageHeaders):
    """Search for a set of shipments

    ``LcsShipmentSearch`` keys ``ids, secret, is_outbound, from_id, from_type, to_id, to_type,
    prior_ids`` (Wharf keeps no secrets: ``secret`` matches nothing), plus ``number``,
    ``order_id`` and the derived flags (``is_listed``, ``is_handled``, …). Answers
    ``LcsListedShipment[]``, newest first; ``x-count`` is the total.
    """
    stmt = item_search.shipments_select(current_actor(), body.constraints)
    shipments, page_headers, _ = paginate_b(
        stmt, serialize=lambda shipment: shipment, headers=headers, keyset=newest_first(Shipment)
    )
    return respond(item_search.shipment_rows(shipments), headers=page_headers)


@bp.post("/search/parcels")
@requires("lcs.handling.read")
@operation(body=LcsParcelSearch, headers=PageHeaders, responses=_paged(LcsParcel), forms=False)
def search_parcels(body: LcsParcelSearch, headers: PageHeaders):
    """Search for a set of parcels

    ``LcsParcelSearch`` keys ``ids, is_delivered``, plus ``shipment_ids``, ``is_in_transit``
    and ``is_finished``. Answers ``LcsParcel[]``, newest first.
    """
    stmt = item_search.parcels_select(current_actor(), body.constraints)
    parcels, page_headers, _ = paginate_b(
        stmt, serialize=lambda parcel: parcel, headers=headers, keyset=newest_first(Parcel)
    )
    return respond(parcel_rows(parcels), headers=page_headers)


@bp.post("/search/shipments/items")
@requires("lcs.shipments.read")
@operation(body=LcsItemSearch, headers=PageHeaders, responses=_paged(LcsGroupedShipmentItem), forms=False)
def search_shipment_items(body: LcsItemSearch, headers: PageHeaders):
    """List items

    The units matching the ``LcsItemSearchConstraint`` keys (``ids, skus, position, is_listed,
    is_missing, is_in_transit, is_boxed, is_finished, is_labeled, is_serviced, is_handled,
    is_outbound, list_ids, parcel_ids, shipment_ids``) grouped by shipment and SKU:
    ``LcsGroupedShipmentItem[]`` with ``totals``. Paging counts groups.
    """
    return _grouped(item_search.shipment_items(current_actor(), body.constraints), headers)


@bp.post("/search/lists/items")
@requires("lcs.handling.read")
@operation(body=LcsItemSearch, headers=PageHeaders, responses=_paged(LcsSearchedListItem), forms=False)
def search_list_items(body: LcsItemSearch, headers: PageHeaders):
    """Search items on handling list

    Matching units that are on a handling list, grouped per pick line (list, shipment, SKU,
    position): ``LcsHandlingListItem[]`` (plus ``list_id``), lines in walk order. Paging
    counts pick lines.
    """
    return _grouped(item_search.list_items(current_actor(), body.constraints), headers)


@bp.post("/search/parcels/items")
@requires("lcs.handling.read")
@operation(body=LcsItemSearch, headers=PageHeaders, responses=_paged(LcsSearchedParcelItem), forms=False)
def search_parcel_items(body: LcsItemSearch, headers: PageHeaders):
    """Search parcel items

    Matching units that are in a parcel, grouped per parcel and SKU: ``LcsParcelItem[]``
    ``{id, sku, quantity, description}`` (plus ``parcel_id``). Paging counts groups.
    """
    return _grouped(item_search.parcel_items(current_actor(), body.constraints), headers)


@bp.put("/bulk/items")
@requires("lcs.handling.write")
@operation(body=LcsBulkItemsCommand, responses={204: None}, forms=False)
def bulk_items(body: LcsBulkItemsCommand):
    """Update items in bulk

    ``{command: "set_parameters", parameters: {position, parcel_id, is_handled, is_finished,
    is_missing, lot_number, expires_at}, constraints: [...]}`` (item constraint keys; at least
    one constraint) → 204, one transaction. Units on a held, cancelled or finished handling
    list → 409 naming the list (``parcel_id`` alone excepted: packing follows picking);
    ``parcel_id`` must be a parcel of the units' shipment (400).
    """
    item_search.bulk_items(current_actor(), body)
    return respond(None, status=204)
