"""Logistics (seed 001 /lcs, wire family B): reference data, shipments, handling lists,
parcels, search and the scan and pack stations. Mounted at /lcs and /api/lcs."""

import importlib
import pkgutil

from flask import Blueprint

from web.access import registry

bp = Blueprint("lcs", __name__)

registry.declare(
    "lcs",
    "Logistics",
    [
        ("lcs.shipments.read", "View shipments"),
        ("lcs.shipments.write", "Create, change and cancel shipments"),
        ("lcs.handling.read", "View handling lists and parcels"),
        ("lcs.handling.write", "Pick, scan, pack: change handling lists and parcels"),
        ("lcs.locations.read", "View locations and positions"),
        ("lcs.locations.write", "Manage locations, positions and walk order"),
        ("lcs.methods.read", "View shipping methods"),
        ("lcs.methods.write", "Manage shipping methods"),
        ("lcs.products.read", "View products"),
        ("lcs.products.write", "Manage and import products"),
    ],
)

# Every view module in this package registers its routes on ``bp``.
for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
