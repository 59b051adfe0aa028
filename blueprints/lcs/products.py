"""Products (Wharf's own; not in the seed): the catalogue a scan resolves against — SKU,
description, barcodes, HS code, weight — with CSV/JSON import. Family-B conventions."""

from __future__ import annotations

import typing

from flask import request

from blueprints.lcs import bp
from blueprints.lcs._reference import with_blanks
from schemas.base import PAGE_COUNT_HEADERS, PageHeaders
from schemas.lcs_reference import (
    ImportMode,
    LcsProduct,
    LcsProductImportQuery,
    LcsProductImportResult,
    LcsProductImportUpload,
    LcsProductListQuery,
    LcsProductModel,
    LcsProductUpdate,
    ProductImport,
)
from services.logistics import product_import
from services.logistics import products as svc
from web.access import current_actor, registry, requires
from web.contract import Response, operation
from web.forms import show_again
from web.negotiate import empty, respond
from web.pagination import paginate_b

registry.add_nav("Products", "lcs.products", group="Catalogue", order=80)

CHANGED = "lcs:products-changed"
MODES = typing.get_args(ImportMode)
LIST, EDIT = "lcs/products.html", "lcs/products_edit.html"


def _can_write() -> bool:
    return current_actor().grants.allows(["lcs.products.write"])


def _list_context(
    query: LcsProductListQuery | None = None, headers: PageHeaders | None = None, **extra
) -> tuple[list, dict, dict]:
    stmt = svc.products_query(current_actor().scope, (query or LcsProductListQuery()).search)
    body, page_headers, page = paginate_b(stmt, serialize=svc.product_row, headers=headers)
    return (
        body,
        page_headers,
        {"rows": body, "page": page, "args": request.args, "can_write": _can_write(), "modes": MODES, **extra},
    )


def _edit_context(product_id, **extra) -> dict:
    return {
        "p": svc.product_row(svc.get_product(current_actor().scope, product_id)),
        "can_write": _can_write(),
        **extra,
    }


_create_error = show_again(LIST, "create_form", context=lambda: _list_context()[2])
_update_error = show_again(EDIT, "product_form", context=_edit_context)
_import_error = show_again(
    LIST, "import_form", context=lambda: _list_context()[2]
)  # bad rows: errors["rows.<n>.<field>"]


@bp.get("/products")
@requires("lcs.products.read")
@operation(
    query=LcsProductListQuery,
    headers=PageHeaders,
    responses={200: Response(list[LcsProduct], headers=PAGE_COUNT_HEADERS)},
)
def products(query: LcsProductListQuery, headers: PageHeaders):
    """List products (Wharf)

    By SKU; ``search`` matches the SKU, description or a barcode.
    """
    body, page_headers, ctx = _list_context(query, headers)
    return respond(body, template=LIST, headers=page_headers, context=ctx, targets={"product-table": "product_table"})


@bp.post("/products")
@requires("lcs.products.write")
@operation(body=LcsProductModel, responses={200: LcsProduct}, form_error=_create_error)
def create_product(body: LcsProductModel):
    """Create a product (Wharf)

    The SKU is unique in the tenant; so are the barcodes, and none may be another product's
    SKU (409), so a scan resolves to one product.
    """
    p = svc.create_product(current_actor(), body)
    row = svc.product_row(p)
    return respond(
        row,
        template=LIST,
        block="create_form",
        context=lambda: _list_context(created=row)[2],
        toast=f"Product {p.sku} created",
        trigger=CHANGED,
    )


@bp.get("/products/<uuid:product_id>")
@requires("lcs.products.read")
@operation(responses={200: LcsProduct})
def product(product_id):
    """Returns a product (Wharf)

    For people, its edit page.
    """
    ctx = _edit_context(product_id)
    return respond(ctx["p"], template=EDIT, context=ctx)


@bp.put("/products/<uuid:product_id>")
@requires("lcs.products.write")
@operation(body=LcsProductUpdate, responses={200: LcsProduct}, form_error=_update_error)
def update_product(product_id, body: LcsProductUpdate):
    """Update a product (Wharf)

    The fields sent change; ``barcodes`` replaces the set.
    """
    p = svc.update_product(current_actor(), product_id, with_blanks(body))
    row = svc.product_row(p)
    return respond(
        row,
        template=EDIT,
        block="product_form",
        context={"p": row, "can_write": True, "saved": True},
        toast=f"Product {p.sku} saved",
    )


@bp.delete("/products/<uuid:product_id>")
@requires("lcs.products.write")
@operation(responses={204: None})
def delete_product(product_id):
    """Delete a product (Wharf)

    Soft delete; its barcodes become free for other products.
    """
    p = svc.delete_product(current_actor(), product_id)
    return empty(status=204, toast=f"Product {p.sku} deleted")


@bp.post("/products/import")
@requires("lcs.products.write")
@operation(
    query=LcsProductImportQuery,
    body=ProductImport,
    forms=False,
    multipart=True,
    responses={200: LcsProductImportResult},
    form_error=_import_error,
)
def import_products(query: LcsProductImportQuery, body):
    """Import products (Wharf)

    A CSV upload (multipart ``file``; columns sku, description, barcodes separated by ``|``
    or ``;``, hs_code, weight, value, currency, country_of_origin) or a JSON array of products creates or updates them by SKU
    in one transaction. Any bad row → 400 listing ``rows.<n>.<field>`` and nothing is
    written, unless ``mode=skip_invalid``.
    """
    if isinstance(body, LcsProductImportUpload):
        rows, mode = product_import.parse_csv(body.file.read()), body.mode or query.mode
    else:
        rows, mode = body, query.mode
    result = product_import.import_products(current_actor(), rows, skip_invalid=mode == "skip_invalid").as_dict()
    return respond(
        result,
        template=LIST,
        block="import_form",
        context=lambda: _list_context(mode=mode, result=result)[2],
        trigger=CHANGED if result["created"] or result["updated"] else None,
        toast=f"Imported: {result['created']} created, {result['updated']} updated, {result['skipped']} skipped",
    )
