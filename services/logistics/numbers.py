"""Readable numbers (S-000123, HL-000123) and SSCC-18 parcel numbers, from per-tenant
counters incremented by a conditional UPDATE (no two transactions get the same value)."""

from __future__ import annotations

from biip.checksums import gs1_standard_check_digit

from models import Counter
from models.base import increment

# GS1 company prefix used for SSCCs when a tenant has not configured its own (a GS1
# "restricted circulation" style placeholder; configure WHARF_GS1_PREFIX in production).
DEFAULT_GS1_PREFIX = "0871234"


def next_value(tenant_id, name: str) -> int:
    return increment(Counter, {"tenant_id": tenant_id, "name": name}, "value")


def shipment_number(tenant_id) -> str:
    return f"S-{next_value(tenant_id, 'shipment'):06d}"


def list_number(tenant_id) -> str:
    return f"HL-{next_value(tenant_id, 'list'):06d}"


# GS1 mod-10 (weights 3,1,3,… from the rightmost digit), from the library that parses our scans.
gs1_check_digit = gs1_standard_check_digit


def sscc(tenant_id, prefix: str = DEFAULT_GS1_PREFIX, extension: str = "0") -> str:
    """SSCC-18: extension digit + company prefix + serial reference (17 digits) + check digit."""
    serial_len = 17 - 1 - len(prefix)
    serial = next_value(tenant_id, "sscc") % (10**serial_len)
    body = f"{extension}{prefix}{serial:0{serial_len}d}"
    return body + str(gs1_check_digit(body))
