"""Who is calling: a browser session cookie or an ``Authorization: Bearer`` token.

A request that carries a bearer header is authenticated by that header alone (its
session cookie is ignored), so skipping CSRF for bearer requests can never lend a
cookie's authority to a forged request. Tokens are never read from the query string.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, g, request, session
from flask_login import login_user, logout_user
from flask_wtf.csrf import CSRFError

from services import api_keys, auth
from services.printing import hubs
from web.access import access_of
from web.errors import CROSS_SITE
from web.extensions import csrf, login_manager
from web.negotiate import response_mode

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def has_bearer_header() -> bool:
    return "Authorization" in request.headers


@login_manager.user_loader
def _load_from_cookie(user_id: str):
    if has_bearer_header():
        return None
    found = auth.live_principal(session.get("sid"), user_id)
    if found is not None:
        g.auth_session_id = found.session_id
    return found


@login_manager.request_loader
def _load_from_bearer(_request):
    token = bearer_token()
    if not token:
        return None
    if token.startswith(api_keys.PREFIX):
        return api_keys.authenticate(token)
    if token.startswith(hubs.PREFIX):
        return hubs.authenticate(token)
    found = auth.principal_from_access_token(token)
    if found is not None:
        g.auth_session_id = found.session_id
    return found


def sign_in_browser(signin: auth.SignIn) -> None:
    """Start a fresh cookie session: the old one (and its CSRF token) is discarded."""
    session.clear()
    login_user(signin.user)
    session["sid"] = str(signin.session.id)
    session.permanent = True
    g.auth_session_id = signin.session.id


def sign_out() -> None:
    current = current_auth_session_id()
    if current is not None:
        auth.revoke_session(current)
    logout_user()
    session.clear()


def current_auth_session_id():
    """The id of the sign-in session this request is authenticated by (None for API keys)."""
    return g.get("auth_session_id")


def csrf_guard() -> None:
    """CSRF applies where a browser session could lend its authority (api-conventions.md).

    - A request with an ``Authorization`` header is authenticated by it alone: exempt.
    - A browser's cross-site write (``Sec-Fetch-Site`` or ``Origin``) is refused outright —
      the login-CSRF defence of sign-in, which has no session to bind a token to yet.
    - People (pages, htmx) send the session's CSRF token with every write.
    - An API client (JSON) needs the token only when its cookie carries a sign-in, and
      never for the public sign-in routes: a cookie left in its jar by opening /api/docs
      is no authority to abuse.
    """
    if request.method not in UNSAFE_METHODS or has_bearer_header():
        return
    if _cross_site():
        raise CSRFError(CROSS_SITE)
    if response_mode() != "json":
        csrf.protect()
        return
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    access = access_of(view) if view is not None else None
    if access is not None and access.public:
        return
    if session.get("sid"):
        csrf.protect()


def _cross_site() -> bool:
    """What the browser says about where the request comes from (API clients say nothing)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc != request.host


def init_identity(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = None  # sessions are server-side rows, revoked on logout
    app.before_request(csrf_guard)
