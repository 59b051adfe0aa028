"""Products (Wharf's own; not in the seed): the catalogue a scan resolves against — SKU,
description, barcodes, HS code, weight — with CSV/JSON import. Family-B conventions."""
from __future__ import annotations

from flask import request

from blueprints.lcs import bp
from services.errors import DomainError, ValidationFailed
from services.logistics import reference as ref
from web.access import current_actor, registry, requires
from web.forms import request_data, request_json
from web.htmx import toast, trigger_client_event
from web.negotiate import respond, response_mode
from web.pagination import paginate_b

registry.add_nav("Products", "lcs.products", "lcs.products.read", group="Warehouse", order=80)

CHANGED = "lcs:products-changed"
MODES = ("all_or_nothing", "skip_invalid")


def _can_write() -> bool:
    return current_actor().grants.allows(["lcs.products.write"])


def _errors(e: DomainError) -> dict[str, str]:
    return {".".join(map(str, d.get("path", [])[:1])): d.get("message", "") for d in e.details}


def _html() -> bool:
    return response_mode() != "json"


@bp.get("/products")
@requires("lcs.products.read")
def products():
    """Products by SKU (``[{id, sku, description, barcodes, hs_code, weight, created_at,
    updated_at}]``); ``search`` matches SKU, description or barcode; paging x-page / x-page-size."""
    stmt = ref.products_query(current_actor().scope, request.args.get("search"))
    body, headers, page = paginate_b(stmt, serialize=ref.product_row)
    block = "product_table" if request.headers.get("HX-Target") == "product-table" else "content"
    return respond(body, template="lcs/products.html", block=block, headers=headers,
                   context={"rows": body, "page": page, "args": request.args, "can_write": _can_write(),
                            "modes": MODES})


@bp.post("/products")
@requires("lcs.products.write")
def create_product():
    """Creates a product: ``sku`` (required, unique), ``description``, ``barcodes`` (list; unique
    in the tenant and never another product's SKU), ``hs_code``, ``weight`` (grams) → 200."""
    if not _html():
        return respond(ref.product_row(ref.create_product(current_actor(), request_json(dict))))
    data = request_data()
    try:
        p = ref.create_product(current_actor(), data, from_form=True)
    except DomainError as e:
        return respond(None, template="lcs/products.html", block="create_form", status=422,
                       context={"can_write": True, "error": e.message, "errors": _errors(e), "form": data})
    resp = respond(ref.product_row(p), template="lcs/products.html", block="create_form",
                   context={"can_write": True, "created": ref.product_row(p)})
    return toast(trigger_client_event(resp, CHANGED), f"Product {p.sku} created")


@bp.get("/products/<uuid:product_id>")
@requires("lcs.products.read")
def product(product_id):
    """One product; its edit page for people."""
    row = ref.product_row(ref.get_product(current_actor().scope, product_id))
    return respond(row, template="lcs/products_edit.html", context={"p": row, "can_write": _can_write()})


@bp.put("/products/<uuid:product_id>")
@requires("lcs.products.write")
def update_product(product_id):
    """Changes the fields sent; ``barcodes`` replaces the set → 200 with the product."""
    if not _html():
        return respond(ref.product_row(ref.update_product(current_actor(), product_id, request_json(dict))))
    data = request_data()
    try:
        p = ref.update_product(current_actor(), product_id, data, from_form=True)
    except DomainError as e:
        row = ref.product_row(ref.get_product(current_actor().scope, product_id))
        return respond(None, template="lcs/products_edit.html", block="product_form", status=422,
                       context={"p": row, "form": data, "can_write": True, "error": e.message, "errors": _errors(e)})
    row = ref.product_row(p)
    return toast(respond(row, template="lcs/products_edit.html", block="product_form",
                         context={"p": row, "can_write": True, "saved": True}), f"Product {p.sku} saved")


@bp.delete("/products/<uuid:product_id>")
@requires("lcs.products.write")
def delete_product(product_id):
    """Soft-deletes a product → 204; its barcodes become free for other products."""
    p = ref.delete_product(current_actor(), product_id)
    if not _html():
        return respond(None, status=204)
    return toast(respond(None, template="lcs/products.html", block="nothing"), f"Product {p.sku} deleted")


def _import_rows() -> tuple[list, bool]:
    """(rows, from_text): a CSV upload (multipart ``file``) or a JSON array body."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return ref.parse_csv(upload.read()), True
    if request.is_json:
        return request_json(list), False
    raise ValidationFailed("Send a CSV file (multipart field 'file') or a JSON array of products",
                           details=[{"path": ["file"], "message": "is required", "kind": "required"}])


@bp.post("/products/import")
@requires("lcs.products.write")
def import_products():
    """Creates or updates products by SKU from a CSV upload (``file``; columns sku,
    description, barcodes (``|`` or ``;`` separated), hs_code, weight) or a JSON array, in
    one transaction → 200 ``{created, updated, skipped, errors}``. Any bad row → 400 listing
    ``rows.<n>.<field>`` and nothing is written, unless ``mode=skip_invalid``."""
    mode = request.args.get("mode") or request.form.get("mode") or "all_or_nothing"
    if mode not in MODES:
        raise ValidationFailed("mode must be all_or_nothing or skip_invalid",
                               details=[{"path": ["mode"], "message": "must be all_or_nothing or skip_invalid"}])
    if not _html():
        rows, from_text = _import_rows()
        result = ref.import_products(current_actor(), rows, skip_invalid=mode == "skip_invalid", from_text=from_text)
        return respond(result.as_dict())
    ctx = {"can_write": True, "modes": MODES, "mode": mode}
    try:
        rows, from_text = _import_rows()
        result = ref.import_products(current_actor(), rows, skip_invalid=mode == "skip_invalid", from_text=from_text)
    except DomainError as e:
        row_errors = [d for d in e.details if d.get("path", [None])[0] == "rows"]
        return respond(None, template="lcs/products.html", block="import_form", status=422,
                       context={**ctx, "error": e.message, "row_errors": row_errors,
                                "other_errors": [d for d in e.details if d not in row_errors]})
    resp = respond(result.as_dict(), template="lcs/products.html", block="import_form",
                   context={**ctx, "result": result.as_dict()})
    if result.created or result.updated:
        trigger_client_event(resp, CHANGED)
    return toast(resp, f"Imported: {result.created} created, {result.updated} updated, {result.skipped} skipped")
