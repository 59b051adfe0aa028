"""Print spooler (seed 001 /spl, wire family B): hubs, printers, the queue, printer settings,
plus Wharf's pack stations and ZPL label template. Mounted at /spl and /api/spl."""

import importlib
import pkgutil

from flask import Blueprint

from web.access import registry

bp = Blueprint("spl", __name__)

registry.declare(
    "spl",
    "Printing",
    [
        ("spl.read", "View print hubs, printers, pack stations and the print queue"),
        ("spl.manage", "Add and change print hubs, printers, pack stations and the label template"),
        ("spl.print", "Print: send, cancel, retry, reprint and redirect print jobs"),
        ("spl.agent", "Act as a print hub: pull jobs, report them, its logs and network"),
    ],
)

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
