"""Directory (seed 000 /directory): tenants and the organization tree."""
from flask import Blueprint

from web.access import registry

bp = Blueprint("directory", __name__)

registry.declare("directory", "Directory", [
    ("directory.tenants.view", "View tenants"),
    ("directory.tenants.manage", "Manage tenants"),
    ("directory.organizations.view", "View organizations"),
    ("directory.organizations.manage", "Manage organizations"),
])
