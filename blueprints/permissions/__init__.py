"""Object-level permissions (seed 002 ``/permissions``): the caller's permission records and
per-permission exceptions, and the object grants administrators give. Mounted at
/permissions and /api/permissions."""

import importlib
import pkgutil

from flask import Blueprint

from web.access import registry

bp = Blueprint("permissions", __name__)
registry.add_nav("My permissions", "permissions.permissions", group="Account", order=910)

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
