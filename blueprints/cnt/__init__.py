"""Content (seed 001 /cnt, wire family B): barcodes and HTML → PDF. Mounted at /cnt and /api/cnt."""

from flask import Blueprint

from web.access import registry

bp = Blueprint("cnt", __name__)

registry.declare(
    "cnt",
    "Content",
    [
        ("cnt.documents.create", "Render HTML to PDF (POST /cnt/html, /cnt/html/inline)"),
    ],
)

from blueprints.cnt import views  # noqa: F401  (registers routes)
