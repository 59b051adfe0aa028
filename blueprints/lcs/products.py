"""Products (Wharf's own; not in the seed): the catalogue a scan resolves against — SKU,
description, barcodes, HS code, weight — with CSV/JSON import. Family-B conventions."""
from __future__ import annotations

import typing

from flask import request

from blueprints.lcs import bp
from blueprints.lcs._reference import PAGED, field_messages, form_refusal, with_blanks
from schemas.base import PageHeaders
from schemas.lcs_reference import (ImportMode, LcsProduct, LcsProductImportQuery, LcsProductImportResult,
                                   LcsProductImportUpload, LcsProductListQuery, LcsProductModel, LcsProductUpdate,
                                   ProductImport)
from services.logistics import product_import
from services.logistics import products as svc
from web.access import current_actor, registry, requires
from web.contract import Response, operation
from web.htmx import toast, trigger_client_event
from web.negotiate import respond, response_mode
from web.pagination import paginate_b

registry.add_nav("Products", "lcs.products", "lcs.products.read", group="Warehouse", order=80)

CHANGED = "lcs:products-changed"
MODES = typing.get_args(ImportMode)
LIST, EDIT = "lcs/products.html", "lcs/products_edit.html"


def _can_write() -> bool:
    return current_actor().grants.allows(["lcs.products.write"])


def _list_context(query: LcsProductListQuery | None = None, headers: PageHeaders | None = None,
                  **extra) -> tuple[list, dict, dict]:
    stmt = svc.products_query(current_actor().scope, (query or LcsProductListQuery()).search)
    body, page_headers, page = paginate_b(stmt, serialize=svc.product_row, headers=headers)
    return body, page_headers, {"rows": body, "page": page, "args": request.args, "can_write": _can_write(),
                           "modes": MODES, **extra}


@form_refusal
def _create_error(error, form: dict):
    _, _, ctx = _list_context(error=error.message, errors=field_messages(error, by_field=True), form=form)
    return respond(None, template=LIST, block="create_form", status=422, context=ctx)


@form_refusal
def _update_error(error, form: dict):
    row = svc.product_row(svc.get_product(current_actor().scope, request.view_args["product_id"]))
    return respond(None, template=EDIT, block="product_form", status=422,
                   context={"p": row, "form": form, "can_write": True, "error": error.message,
                            "errors": field_messages(error, by_field=True)})


@form_refusal
def _import_error(error, form: dict):
    """The import form again, listing the bad rows (``rows.<n>.<field>``) apart."""
    row_errors = [d for d in error.details if (d.get("path") or [None])[0] == "rows"]
    _, _, ctx = _list_context(mode=form.get("mode"), error=error.message, row_errors=row_errors,
                              other_errors=[d for d in error.details if d not in row_errors])
    return respond(None, template=LIST, block="import_form", status=422, context=ctx)


@bp.get("/products")
@requires("lcs.products.read")
@operation(query=LcsProductListQuery, headers=PageHeaders, responses={200: Response(list[LcsProduct], headers=PAGED)})
def products(query: LcsProductListQuery, headers: PageHeaders):
    """List products (Wharf)

    By SKU; ``search`` matches the SKU, description or a barcode.
    """
    body, page_headers, ctx = _list_context(query, headers)
    block = "product_table" if request.headers.get("HX-Target") == "product-table" else "content"
    return respond(body, template=LIST, block=block, headers=page_headers, context=ctx)


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
    if response_mode() == "json":
        return respond(row)
    _, _, ctx = _list_context(created=row)
    resp = respond(row, template=LIST, block="create_form", context=ctx)
    return toast(trigger_client_event(resp, CHANGED), f"Product {p.sku} created")


@bp.get("/products/<uuid:product_id>")
@requires("lcs.products.read")
@operation(responses={200: LcsProduct})
def product(product_id):
    """Returns a product (Wharf)

    For people, its edit page.
    """
    row = svc.product_row(svc.get_product(current_actor().scope, product_id))
    return respond(row, template=EDIT, context={"p": row, "can_write": _can_write()})


@bp.put("/products/<uuid:product_id>")
@requires("lcs.products.write")
@operation(body=LcsProductUpdate, responses={200: LcsProduct}, form_error=_update_error)
def update_product(product_id, body: LcsProductUpdate):
    """Update a product (Wharf)

    The fields sent change; ``barcodes`` replaces the set.
    """
    p = svc.update_product(current_actor(), product_id, with_blanks(body))
    row = svc.product_row(p)
    resp = respond(row, template=EDIT, block="product_form", context={"p": row, "can_write": True, "saved": True})
    return resp if response_mode() == "json" else toast(resp, f"Product {p.sku} saved")


@bp.delete("/products/<uuid:product_id>")
@requires("lcs.products.write")
@operation(responses={204: None})
def delete_product(product_id):
    """Delete a product (Wharf)

    Soft delete; its barcodes become free for other products.
    """
    p = svc.delete_product(current_actor(), product_id)
    if response_mode() == "json":
        return respond(None, status=204)
    _, _, ctx = _list_context()
    return toast(respond(None, template=LIST, block="nothing", context=ctx), f"Product {p.sku} deleted")


@bp.post("/products/import")
@requires("lcs.products.write")
@operation(query=LcsProductImportQuery, body=ProductImport, forms=False, multipart=True,
           responses={200: LcsProductImportResult}, form_error=_import_error)
def import_products(query: LcsProductImportQuery, body):
    """Import products (Wharf)

    A CSV upload (multipart ``file``; columns sku, description, barcodes separated by ``|``
    or ``;``, hs_code, weight) or a JSON array of products creates or updates them by SKU
    in one transaction. Any bad row → 400 listing ``rows.<n>.<field>`` and nothing is
    written, unless ``mode=skip_invalid``.
    """
    if isinstance(body, LcsProductImportUpload):
        rows, mode = product_import.parse_csv(body.file.read()), body.mode or query.mode
    else:
        rows, mode = body, query.mode
    result = product_import.import_products(current_actor(), rows, skip_invalid=mode == "skip_invalid").as_dict()
    if response_mode() == "json":
        return respond(result)
    _, _, ctx = _list_context(mode=mode, result=result)
    resp = respond(result, template=LIST, block="import_form", context=ctx)
    if result["created"] or result["updated"]:
        trigger_client_event(resp, CHANGED)
    return toast(resp, f"Imported: {result['created']} created, {result['updated']} updated, "
                       f"{result['skipped']} skipped")
