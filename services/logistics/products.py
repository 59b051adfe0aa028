"""Wharf's product catalogue (not in the seed): what a scan resolves to — the SKU or any of
the product's barcodes. A code identifies one live product of the tenant: barcodes are
unique, and no barcode is another product's SKU.

No HTTP here; input arrives validated (``schemas.lcs_reference``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal

import sqlalchemy as sa
from babel.numbers import format_decimal

from models import Product, ProductBarcode, Scope, ShipmentItem, db
from schemas.lcs_reference import LcsProductModel
from services import undo
from services.acl import Actor
from services.commands import Audited, audited, command, lock
from services.errors import Conflict
from services.logistics import codes

FIELDS = ("description", "hs_code", "weight", "value", "currency", "country_of_origin")  # besides SKU, barcodes


def product_row(p: Product) -> dict:
    return {
        "id": p.id,
        "sku": p.sku,
        "description": p.description,
        "barcodes": sorted(b.code for b in p.barcodes),
        "hs_code": p.hs_code,
        "weight": p.weight,
        "value": p.value,
        "currency": p.currency,
        "country_of_origin": p.country_of_origin,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


def snapshot(p: Product) -> dict:
    return {k: v for k, v in product_row(p).items() if k not in ("created_at", "updated_at")} | {
        "deleted_at": p.deleted_at
    }


PRODUCT = Audited("lcs_product", snapshot, "product", lambda p: p.sku)
IN_USE = "Product {} or one of its barcodes is already in use"


def products_query(scope: Scope, search: str | None = None) -> sa.Select:
    """Live products by SKU; ``search`` matches SKU, description or a barcode (substring)."""
    stmt = scope.select(Product)
    if search:
        pattern = search.lower()
        barcode = (
            sa.select(ProductBarcode.id)
            .where(
                ProductBarcode.product_id == Product.id,
                sa.func.lower(ProductBarcode.code).contains(pattern, autoescape=True),
            )
            .exists()
        )
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Product.sku).contains(pattern, autoescape=True),
                sa.func.lower(Product.description).contains(pattern, autoescape=True),
                barcode,
            )
        )
    return stmt.order_by(Product.sku, Product.id)


def get_product(scope: Scope, product_id) -> Product:
    return scope.get(Product, product_id)


def stored(data: LcsProductModel, key: str):
    """A field's value as stored: no description is an empty one, no barcodes an empty set."""
    value = getattr(data, key)
    if key == "description":
        return value or ""
    if key == "barcodes":
        return value or []
    return value


def code_owners(tenant_id, codes: Iterable[str]) -> dict[str, tuple[uuid.UUID, str]]:
    """For each code that is a live product's barcode or SKU: (product id, SKU). Chunked."""
    codes = list(dict.fromkeys(codes))
    owners: dict[str, tuple[uuid.UUID, str]] = {}
    scope = Scope(tenant_id)
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        rows = db.session.execute(
            sa.select(ProductBarcode.code, Product.id, Product.sku)
            .join(Product, Product.id == ProductBarcode.product_id)
            .where(ProductBarcode.tenant_id == tenant_id, Product.deleted_at.is_(None), ProductBarcode.code.in_(chunk))
        )
        owners.update({code: (pid, sku) for code, pid, sku in rows})
        for pid, sku in db.session.execute(
            scope.select(Product).where(Product.sku.in_(chunk)).with_only_columns(Product.id, Product.sku)
        ):
            owners.setdefault(sku, (pid, sku))
    return owners


def code_skus(scan: codes.Scan) -> list[str]:
    """The SKUs a scanned code is as printed: itself, or a GTIN in any of its printed forms."""
    if scan.gtin:
        return codes.gtin_variants(scan.gtin)
    return [scan.code] if scan.code else []


def scanned_skus(tenant_id, scan: codes.Scan, units: sa.ColumnElement[bool]) -> list[str]:
    """Which SKU(s) of the units ``units`` selects (the pick list's, the packed shipment's) a
    scanned code means: the SKU itself (a GTIN in any printed form), then product barcodes."""
    candidates = code_skus(scan)
    among = set(
        db.session.scalars(sa.select(ShipmentItem.sku).where(units, ShipmentItem.sku.in_(candidates)).distinct())
    )
    return sorted(among) if among else barcode_skus(tenant_id, scan)


def barcode_skus(tenant_id, scan: codes.Scan) -> list[str]:
    """The SKUs of the products whose barcode a scanned code is (for a caller that already
    knows the code is none of its units' SKUs)."""
    products = db.session.scalars(
        sa.select(Product.sku)
        .join(ProductBarcode, ProductBarcode.product_id == Product.id)
        .where(ProductBarcode.tenant_id == tenant_id, ProductBarcode.code.in_(code_skus(scan)))
    ).all()
    return sorted(set(products))


def _check_codes(tenant_id, product_id, sku: str | None, barcodes: list[str] | None) -> None:
    """Barcodes must be unique in the tenant and must not be another product's SKU (and the
    SKU must not be another product's barcode), so a scan resolves to one product (409)."""
    details = []
    owners = code_owners(tenant_id, [*(barcodes or []), *([sku] if sku else [])])
    for i, code in enumerate(barcodes or []):
        owner = owners.get(code)
        if owner and owner[0] != product_id:
            details.append({"path": ["barcodes", i], "message": f"'{code}' already identifies product {owner[1]}"})
    owner = owners.get(sku) if sku else None
    if owner and owner[0] != product_id:
        details.append({"path": ["sku"], "message": f"'{sku}' already identifies product {owner[1]}"})
    if details:
        raise Conflict(details[0]["message"], details=details)


def _set_barcodes(p: Product, codes: list[str]) -> None:
    wanted = set(codes)
    for b in list(p.barcodes):
        if b.code not in wanted:
            p.barcodes.remove(b)
    db.session.flush()  # free codes before another product may take them
    have = {b.code for b in p.barcodes}
    for code in codes:
        if code not in have:
            p.barcodes.append(ProductBarcode(tenant_id=p.tenant_id, code=code))


def _deleted_product(tenant_id, sku: str) -> Product | None:
    return db.session.scalars(
        Scope(tenant_id)
        .select(Product, include_deleted=True)
        .where(Product.sku == sku, Product.deleted_at.is_not(None))
    ).first()


def _in_use(actor: Actor, product_id, data: LcsProductModel) -> str:
    """The 409 of a concurrent writer taking the SKU or a barcode first (read after the rollback)."""
    sku = (
        data.sku
        if "sku" in data.model_fields_set
        else db.session.scalar(sa.select(Product.sku).where(Product.id == uuid.UUID(str(product_id))))
    )
    return IN_USE.format(sku)


@command(lambda actor, data, **_: IN_USE.format(data.sku))
def create_product(actor: Actor, data: LcsProductModel, *, tenant_id=None) -> Product:
    """A product; a deleted product's SKU can be created again (the record comes back)."""
    tenant_id = actor.tenant_for_new(tenant_id)
    barcodes = stored(data, "barcodes")
    _check_codes(tenant_id, None, data.sku, barcodes)
    p = _deleted_product(tenant_id, data.sku)
    if p is None:
        p = Product(tenant_id=tenant_id, sku=data.sku)
        db.session.add(p)
    with audited(actor, "create", PRODUCT, p):
        p.deleted_at = None
        for key in FIELDS:
            setattr(p, key, stored(data, key))
        _set_barcodes(p, barcodes)
    return p


@command(_in_use)
def update_product(actor: Actor, product_id, data: LcsProductModel) -> Product:
    """Changes the fields sent; ``barcodes`` replaces the product's whole set."""
    p = lock(actor.scope, Product, product_id)
    sent = data.model_fields_set
    _check_codes(
        p.tenant_id, p.id, data.sku if "sku" in sent else None, stored(data, "barcodes") if "barcodes" in sent else None
    )
    with audited(actor, "edit", PRODUCT, p):
        for key in ("sku", *FIELDS):
            if key in sent:
                setattr(p, key, stored(data, key))
        if "barcodes" in sent:
            _set_barcodes(p, stored(data, "barcodes"))
    return p


@command()
def delete_product(actor: Actor, product_id) -> Product:
    """Soft delete; its barcodes are released (the audit snapshot keeps them)."""
    p = lock(actor.scope, Product, product_id)
    with audited(actor, "delete", PRODUCT, p):
        p.soft_delete()
        _set_barcodes(p, [])
    return p


# Currencies whose minor unit is not a hundredth (ISO 4217); every other has two decimals.
MINOR_DIGITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV"), 0),
    **dict.fromkeys(("XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


def money(minor: int | None, currency: str | None, locale: str = "en") -> str:
    """A value kept in minor units as people read it: ``1295, "EUR"`` → ``12.95 EUR``
    (``12,95 EUR`` in Dutch); the currency's own number of decimals."""
    if minor is None:
        return "—"
    digits = MINOR_DIGITS.get(currency or "", 2)
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    amount = format_decimal(Decimal(minor).scaleb(-digits), format=pattern, locale=locale)
    return f"{amount} {currency}" if currency else amount


# --- undo (services.undo): products come back through the commands above ------------------


undo.register_soft_deleted(
    PRODUCT,
    Product,
    LcsProductModel,
    features=("lcs.products.write",),
    update=update_product,
    delete=delete_product,
    # a deleted product's SKU created again brings the record back (``create_product``)
    revive=lambda actor, p, body: create_product(actor, body, tenant_id=p.tenant_id),
)
