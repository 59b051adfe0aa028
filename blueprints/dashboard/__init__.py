"""Dashboard (the page after sign-in), the health check and the site icon."""

import sqlalchemy as sa
from flask import Blueprint, redirect, request, url_for
from flask_login import current_user

from models import db
from schemas.dashboard import Dashboard
from services import accounts
from services.logistics import assignment, pickers
from web.access import current_actor, public, registry, requires
from web.contract import operation
from web.negotiate import respond

bp = Blueprint("dashboard", __name__)
registry.add_nav("Dashboard", "dashboard.home", group="Main", order=0)


@bp.get("/")
@requires()
@operation(responses={200: Dashboard})
def home():
    """Who is signed in, and their work: a picker's open lists and "Start next list", the
    counts of what waits on the floor for whoever may read them (the navigation already
    lists the modules)."""
    actor = current_actor()
    can_pick = actor.grants.allows([pickers.PICK])
    data = {
        "user": accounts.profile_of(current_user),
        "canPick": can_pick,
        "myLists": [assignment.my_list_row(hl) for hl in assignment.my_lists(actor)] if can_pick else [],
        "floor": assignment.floor_counts(actor),
    }
    no_access = not (actor.grants.features or actor.is_super_admin)  # only the own profile is open
    return respond(data, template="dashboard/home.html", context={"data": data, "no_access": no_access})


@bp.get("/healthz")
@public
def healthz():
    """Liveness and database reachability (503 when the database does not answer)."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as e:
        return respond({"status": "error", "database": type(e).__name__}, status=503)
    return respond({"status": "ok", "database": "ok"})


@bp.get("/favicon.ico")
@public
def favicon():
    """Browsers ask for /favicon.ico on their own (a PDF tab, a bookmark): send them to the
    page icon, instead of a 404 in every log."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/login")
@public
def login_alias():
    """``/login`` is what people type: send them to the sign-in page, keeping ``next``."""
    target = request.args.get("next")
    return redirect(url_for("auth_pages.login_page", **({"next": target} if target else {})))
