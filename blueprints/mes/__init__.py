"""Messaging / tasks (seed 001 /mes, wire family B): background task status. Mounted at
/mes and /api/mes."""

from flask import Blueprint

bp = Blueprint("mes", __name__)

from blueprints.mes import views  # noqa: F401  (registers routes)
