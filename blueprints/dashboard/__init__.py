"""Dashboard (the page after sign-in) and the health check."""

import sqlalchemy as sa
from flask import Blueprint
from flask_login import current_user

from models import db
from services import accounts
from web.access import public, registry, requires
from web.negotiate import respond

bp = Blueprint("dashboard", __name__)
registry.add_nav("Dashboard", "dashboard.home", group="Main", order=0)


@bp.get("/")
@requires()
def home():
    """Who is signed in, in which tenant, and the modules they may open."""
    data = {
        "user": accounts.profile_of(current_user),
        "modules": [
            {"title": n.title, "endpoint": n.endpoint, "group": n.group}
            for n in registry.nav_for(current_user)
            if n.endpoint != "dashboard.home"
        ],
    }
    return respond(data, template="dashboard/home.html", context={"data": data})


@bp.get("/healthz")
@public
def healthz():
    """Liveness and database reachability (503 when the database does not answer)."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as e:
        return respond({"status": "error", "database": type(e).__name__}, status=503)
    return respond({"status": "ok", "database": "ok"})
