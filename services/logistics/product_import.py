"""Product import: create or update products by SKU from a CSV file or a JSON array, in
one transaction. Each row is read as ``LcsProductImportRow`` (CSV cells are text, the
model parses them); every bad row is reported as ``rows.<n>.<field>``, and then nothing
is written unless the caller asked to skip invalid rows."""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy.orm import selectinload

from models import Product, ProductBarcode, Scope, db
from schemas.lcs_reference import MAX_IMPORT_ROWS, LcsProductImportRow
from schemas.validation import details_of
from services.acl import Actor
from services.commands import command
from services.errors import ValidationFailed
from services.logistics.products import FIELDS, PRODUCT, code_owners, snapshot, stored

COLUMNS = tuple(LcsProductImportRow.model_fields)
HEADER_ALIASES = {
    "barcode": "barcodes",
    "ean": "barcodes",
    "hscode": "hs_code",
    "hs": "hs_code",
    "weight_g": "weight",
    "weight_grams": "weight",
    "unit_value": "value",
    "value_cents": "value",
    "origin": "country_of_origin",
    "country": "country_of_origin",
}


@dataclass
class RowError:
    row: int  # 1-based data row (CSV: the file line is row + 1)
    field: str
    message: str
    kind: str = "invalid value"

    def as_detail(self) -> dict:
        return {"path": ["rows", self.row, self.field], "message": self.message, "kind": self.kind}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "errors": [{"row": e.row, "field": e.field, "kind": e.kind, "message": e.message} for e in self.errors],
        }


def _bad_file(message: str, kind: str = "invalid value") -> ValidationFailed:
    return ValidationFailed(f"file {message}", details=[{"path": ["file"], "message": message, "kind": kind}])


def parse_csv(raw: bytes) -> list[dict]:
    """CSV rows as dicts of text keyed by the known columns (header row required; ``,`` ``;``
    or tab separated; UTF-8 with or without BOM). Blank lines are skipped, unknown columns
    ignored."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad_file("must be UTF-8 text") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise _bad_file("is empty (a header row sku,description,barcodes,hs_code,weight is expected)")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), delimiter=dialect.delimiter)
    header = [HEADER_ALIASES.get(h, h) for h in (re.sub(r"\s+", "_", h.strip().lower()) for h in next(reader))]
    if "sku" not in header:
        raise _bad_file("has no sku column", "required")
    columns = [(i, h) for i, h in enumerate(header) if h in COLUMNS]
    if len({h for _, h in columns}) != len(columns):
        raise _bad_file("names a column twice")
    rows = [
        {h: cells[i] if i < len(cells) else "" for i, h in columns} for cells in reader if any(c.strip() for c in cells)
    ]
    if not rows:
        raise _bad_file("has no rows", "required")
    if len(rows) > MAX_IMPORT_ROWS:
        raise _bad_file(f"has more than {MAX_IMPORT_ROWS} rows")
    return rows


def _read_row(number: int, row) -> tuple[dict | None, list[RowError]]:
    """The row's values (only the fields it holds) or its problems."""
    try:
        parsed = LcsProductImportRow.model_validate(row)
    except ValidationError as e:
        return None, [
            RowError(number, ".".join(map(str, d["path"])), d["message"], d["kind"]) for d in details_of(e, "row")
        ]
    return {key: stored(parsed, key) for key in parsed.model_fields_set | {"sku"}}, []


@command("Products changed while importing; nothing was imported, please try again")
def import_products(actor: Actor, rows: list, *, skip_invalid: bool = False, tenant_id=None) -> ImportResult:
    """Create or update products by SKU from rows ``{sku, description, barcodes, hs_code,
    weight, value, currency, country_of_origin}`` — one transaction. A field absent from a row keeps the stored value; a present
    ``barcodes`` replaces the product's set. Every bad row is reported; then nothing is
    written, unless ``skip_invalid`` (bad rows are skipped, the rest saved)."""
    tenant_id = actor.tenant_for_new(tenant_id)
    errors: list[RowError] = []
    parsed: dict[int, dict] = {}
    seen_sku: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        values, problems = _read_row(number, row)
        if problems:
            errors.extend(problems)
        elif values["sku"] in seen_sku:
            errors.append(RowError(number, "sku", f"repeats row {seen_sku[values['sku']]}"))
        else:
            seen_sku[values["sku"]] = number
            parsed[number] = values
    valid = dict(parsed)
    while True:  # cross-row checks against the valid rows only, until nothing more drops out
        cross = _cross_check(tenant_id, valid)
        if not cross:
            break
        errors.extend(cross)
        for e in cross:
            valid.pop(e.row, None)
    errors.sort(key=lambda e: e.row)
    bad_rows = {e.row for e in errors}
    if errors and not skip_invalid:
        raise ValidationFailed(
            f"{len(bad_rows)} of {len(rows)} rows are invalid; nothing was imported",
            details=[e.as_detail() for e in errors],
        )
    result = ImportResult(skipped=len(bad_rows), errors=errors)
    _write_import(actor, tenant_id, list(valid.values()), result)
    return result


def _cross_check(tenant_id, rows: dict[int, dict]) -> list[RowError]:
    """Barcodes unique across the file and the tenant (a product re-listed in the file with
    its own barcodes releases the ones it no longer lists); no code is two products' SKU/barcode."""
    out: list[RowError] = []
    file_skus = {v["sku"]: n for n, v in rows.items()}
    claims: dict[str, int] = {}
    for n, v in rows.items():
        for code in v.get("barcodes") or []:
            if code in claims:
                out.append(RowError(n, "barcodes", f"'{code}' is also a barcode of row {claims[code]}"))
            else:
                claims.setdefault(code, n)
    owners = code_owners(tenant_id, [*claims, *file_skus])
    for code, n in claims.items():
        if code in file_skus and file_skus[code] != n:
            out.append(RowError(n, "barcodes", f"'{code}' is the SKU of row {file_skus[code]}"))
            continue
        owner = owners.get(code)
        if owner is None or owner[1] == rows[n]["sku"]:
            continue
        releasing = owner[1] in file_skus and "barcodes" in rows[file_skus[owner[1]]]
        if owner[1] != code and releasing:
            continue  # its own row gives the code up (it is not in that row: claims are unique)
        out.append(RowError(n, "barcodes", f"'{code}' already identifies product {owner[1]}"))
    for sku, n in file_skus.items():
        owner = owners.get(sku)
        if owner is None or owner[1] == sku:
            continue
        releasing = owner[1] in file_skus and "barcodes" in rows[file_skus[owner[1]]]
        if not releasing:
            out.append(RowError(n, "sku", f"'{sku}' is a barcode of product {owner[1]}"))
    bad = {}
    for e in out:  # one message per row and field is enough
        bad.setdefault((e.row, e.field), e)
    return list(bad.values())


def _write_import(actor: Actor, tenant_id, rows: list[dict], result: ImportResult) -> None:
    skus = [v["sku"] for v in rows]
    existing: dict[str, Product] = {}
    for start in range(0, len(skus), 500):
        chunk = skus[start : start + 500]
        for p in db.session.scalars(
            Scope(tenant_id)
            .select(Product, include_deleted=True)
            .where(Product.sku.in_(chunk))
            .options(selectinload(Product.barcodes))
            .with_for_update()
        ):
            existing[p.sku] = p
    # First release every replaced barcode, then assign: a code may move between products.
    befores = {}
    for v in rows:
        p = existing.get(v["sku"])
        if p is not None:
            befores[v["sku"]] = snapshot(p) if p.deleted_at is None else None
            if "barcodes" in v:
                for b in [b for b in p.barcodes if b.code not in set(v["barcodes"])]:
                    p.barcodes.remove(b)
    db.session.flush()
    written = []
    for v in rows:
        p = existing.get(v["sku"])
        if p is None:
            p = Product(id=uuid.uuid4(), tenant_id=tenant_id, sku=v["sku"], description="", barcodes=[])
            db.session.add(p)
        elif p.deleted_at is not None:
            p.deleted_at = None
            p.description = ""
            for key in FIELDS[1:]:
                setattr(p, key, None)
        for key in FIELDS:
            if key in v:
                setattr(p, key, v[key])
        if "barcodes" in v:
            have = {b.code for b in p.barcodes}
            p.barcodes.extend(ProductBarcode(tenant_id=tenant_id, code=c) for c in v["barcodes"] if c not in have)
        written.append((p, befores.get(v["sku"])))
    db.session.flush()
    for p, before in written:
        if before is None:
            result.created += 1
            PRODUCT.record(actor, "create", p, None, label=f"Import product {p.sku}")
        else:
            result.updated += 1
            if before != snapshot(p):
                PRODUCT.record(actor, "edit", p, before, label=f"Import product {p.sku}")
