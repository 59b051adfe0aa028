"""The keys access tokens are signed with, for services that verify them on their own:
``/.well-known/jwks.json`` and seed 002's ``GET /publickey`` (also under /api)."""

from flask import Blueprint

bp = Blueprint("signing_keys", __name__)

from blueprints.signing_keys import views  # noqa: F401  (registers routes)
