"""Auth routes (seed 000 ``/auth``): sign-in, tokens, sign-out, profile, password reset.
Each is one view answering JSON (the seed's contract), a page, or a fragment."""

from __future__ import annotations

import functools
import json
import uuid
from urllib.parse import urlsplit

from flask import flash, redirect, request, session, url_for
from flask_login import current_user

from blueprints.auth import bp, pages_bp
from schemas.auth import (
    LocaleQuery,
    LocaleRequest,
    LoginRequest,
    LoginResponse,
    PasswordResetConfirm,
    PasswordResetDone,
    PasswordResetRequest,
    Profile,
    ProfileUpdate,
    ProfileUpdated,
    RefreshRequest,
    RefreshResponse,
    SessionRefreshQuery,
)
from schemas.base import Ok
from services import accounts, auth, password_reset
from services.errors import DomainError, MethodNotAllowed, ValidationFailed
from web.access import public, requires
from web.contract import Response, operation, submitted
from web.forms import field_errors, show_again
from web.htmx import htmx_details, trigger_client_event
from web.i18n import COOKIE as LOCALE_COOKIE
from web.i18n import COOKIE_MAX_AGE as LOCALE_COOKIE_MAX_AGE
from web.identity import current_auth_session_id, has_bearer_header, sign_in_browser, sign_out
from web.negotiate import respond, response_mode, see_other
from web.templating import scan_feedback


def ok_false(view):
    """Refusals as the seed shows them for sign-in, token refresh, reset confirmation and
    the feature check: ``ok: false`` beside ``error``. A 429 stays the plain
    ``{error, retryAfterSeconds}``."""

    @functools.wraps(view)
    def run(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except DomainError as e:
            if e.status != 429:
                e.extra["ok"] = False
            raise

    return run


def safe_next(target: str | None) -> str:
    """Only this site may be redirected to (after sign-in, a session refresh, a locale
    change): a relative path, or an absolute URL of this very origin (as its path); anything
    else — another host, ``//host``, backslashes — goes to the dashboard."""
    if target and "\\" not in target:
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            same = (parts.scheme, parts.netloc) == (request.scheme, request.host)
            target = parts._replace(scheme="", netloc="").geturl() if same else ""
        if target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("dashboard.home")


def _client_ip() -> str:
    return request.remote_addr or "unknown"


@pages_bp.get("/login")
@public
def login_page():
    """Sign-in page (browsers)."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    return respond(
        None, template="auth/login.html", block="login_form", context={"form": {"next": request.args.get("next", "")}}
    )


# The sign-in form again, with the message and the email typed (401, 429 with Retry-After).
_login_form = show_again("auth/login.html", "login_form", status=None, statuses=None)


@bp.post("/login")
@ok_false
@public
@operation(
    body=LoginRequest,
    seed_form=True,
    responses={200: LoginResponse},
    summary="Authenticate user credentials",
    form_error=_login_form,
)
def login(body: LoginRequest):
    """Validates credentials; API clients receive an access and a refresh token, browsers a session."""
    user = auth.authenticate(body.email, body.password, ip=_client_ip(), tenant_id=body.tenantId)
    api = response_mode() == "json"
    signin = auth.start_session(
        user, kind="api" if api else "browser", ip=request.remote_addr, user_agent=request.user_agent.string
    )
    if api:
        token, ttl = auth.issue_access_token(signin.session)
        return respond(
            {"ok": True, "token": token, "refreshToken": signin.refresh_token, "expiresIn": ttl, "redirect": None}
        )
    sign_in_browser(signin)
    return see_other(safe_next(body.next))


@bp.post("/session/refresh")
@ok_false
@public
@operation(body=RefreshRequest, responses={200: RefreshResponse}, summary="Refresh access token (API/mobile)")
def session_refresh(body: RefreshRequest):
    """Exchanges a refresh token for a new access token and the next refresh token; the one
    presented stops working (presented again, it ends the sign-in)."""
    token, ttl, refresh_token = auth.refresh_access_token(body.refreshToken)
    return respond({"ok": True, "accessToken": token, "expiresIn": ttl, "refreshToken": refresh_token})


@bp.get("/session/refresh")
@public
@operation(
    query=SessionRefreshQuery,
    responses={
        302: Response(
            None,
            "To `redirect` with the sign-in extended, or to the sign-in page when there is no live browser sign-in",
            headers={"Location": "The target"},
        )
    },
    summary="Refresh auth cookie from session token (browser)",
)
def session_refresh_page(query: SessionRefreshQuery):
    """A browser whose sign-in is live gets another full session lifetime and goes on to
    ``redirect`` (a page of this site); without one it is sent to sign in, and back there
    afterwards. Bearer callers have no browser sign-in: they renew with POST."""
    target = safe_next(query.redirect)
    try:
        sid = None if has_bearer_header() else uuid.UUID(str(session.get("sid")))
    except ValueError:
        sid = None
    if sid is not None and auth.extend_browser_session(sid) is not None:
        # The (permanent) session cookie is sent again on every answer, with the lifetime from now.
        return respond(None, status=302, headers={"Location": target})
    return respond(None, status=302, headers={"Location": url_for("auth_pages.login_page", next=target)})


# --- locale (seed 000 lines 159-221) ----------------------------------------------------------


def _remember_locale(resp, locale: str):
    """The cookie the seed names, and for a signed-in person the account too: the choice
    follows them to the handheld they pick up tomorrow (an API key has no account)."""
    user = getattr(current_user, "user", None) if current_user.is_authenticated else None
    if user is not None:
        accounts.update_profile(user, locale=locale)
    resp.set_cookie(
        LOCALE_COOKIE, locale, max_age=LOCALE_COOKIE_MAX_AGE, samesite="Lax", secure=request.is_secure, httponly=True
    )
    return resp


@bp.get("/locale")
@public
@operation(
    query=LocaleQuery,
    responses={302: Response(None, "Locale cookie set and request redirected", headers={"Location": "The target"})},
    summary="Set locale and redirect",
)
def locale_redirect(query: LocaleQuery):
    """Stores the language in a cookie and goes on to ``redirect`` (a page of this site)."""
    return _remember_locale(respond(None, status=302, headers={"Location": safe_next(query.redirect)}), query.locale)


@bp.post("/locale")
@public
@operation(body=LocaleRequest, responses={200: Ok}, summary="Set locale")
def set_locale(body: LocaleRequest):
    """Stores the language in a cookie. The pages' language menu posts here: htmx loads the
    page it was on again in the new language, without a reload (the body is swapped as a
    boosted link would); a plain form post is sent back to it."""
    target = safe_next(body.next or request.referrer)
    if response_mode() != "json" and htmx_details().is_htmx:
        resp = respond(None)
        swap = {"path": target, "target": "body", "headers": {"HX-Boosted": "true"}}
        resp.headers["HX-Location"] = json.dumps(swap)
        trigger_client_event(resp, "wharf:locale", {"lang": body.locale})
    else:
        resp = see_other(target, {"ok": True})
    return _remember_locale(resp, body.locale)


@bp.route("/logout", methods=["GET", "POST"])
@requires()
@operation(responses={200: Ok, 201: Ok}, summary="Log out")
def logout():
    """Ends this sign-in (session cookie or the token's session) everywhere. A GET does so
    only for a bearer caller (the seed's GET; no other site can make a browser send that
    header): a browser's GET may come from a link or an image on any site, so it gets a page
    with a Sign-out button instead (405 for a JSON caller riding the cookie)."""
    if request.method == "GET" and not has_bearer_header():
        if response_mode() == "json":
            raise MethodNotAllowed("Sign out with POST", allow=["POST"])
        return respond(None, template="auth/logout.html")
    sign_out()
    if response_mode() == "json":
        return respond({"ok": True}, status=201 if request.method == "POST" else 200)
    return see_other(url_for("auth_pages.login_page"))


PROFILE = "auth/profile.html"


@bp.get("/profile")
@requires()
@operation(responses={200: Profile}, summary="Get current profile")
def profile():
    """Current profile: email and roles of the signed-in user (an API key has none: 404)."""
    data = accounts.profile_of(current_user)
    return respond(
        data,
        template=PROFILE,
        block="profile_form",
        context=lambda: {
            "form": data,
            "profile": data,
            "signed_in_until": auth.session_expiry(current_auth_session_id()),
        },
    )


_profile_form = show_again(
    PROFILE, "profile_form", statuses=None, context=lambda: {"profile": accounts.profile_of(current_user)}
)


@bp.put("/profile")
@requires()
@operation(
    body=ProfileUpdate, responses={200: ProfileUpdated}, summary="Update current profile", form_error=_profile_form
)
def update_profile(body: ProfileUpdate):
    """Updates name, email, password or scanFeedback; changing email or password needs currentPassword."""
    accounts.profile_of(current_user)  # 404 for API keys
    accounts.update_profile(
        current_user.user,
        name=body.name,
        email=body.email,
        password=body.password,
        current_password=body.currentPassword,
        scan_feedback=body.scanFeedback,
        locale=body.locale,
        keep_session_id=current_auth_session_id(),
    )
    data = accounts.profile_of(current_user)
    resp = respond(
        {"ok": True, "email": current_user.email},
        template=PROFILE,
        block="profile_form",
        context={"form": data, "profile": data, "saved": True},
        toast="Profile saved",
    )
    if response_mode() == "json":
        return resp
    # The page's <body data-scan-sound> follows the switch at once (wharf.js).
    return trigger_client_event(resp, "wharf:scan-feedback", {"on": scan_feedback()})


# --- password reset ------------------------------------------------------------------------
# The emailed link /auth/reset/<token> only checks the token: it moves it into the signed
# session and redirects, so the secret leaves the address bar and is never sent as a
# Referer. The new-password form posts to /auth/reset/confirm, which takes the token from
# the session when the body has none (API clients send it in the body).

RESET_SESSION_KEY = "password_reset_token"
NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _reset_confirm_page(*, status: int = 200, headers: dict | None = None, **context):
    return respond(
        None,
        template="auth/reset_confirm.html",
        block="reset_confirm_form",
        status=status,
        headers={**NO_REFERRER, **(headers or {})},
        context=context,
    )


@pages_bp.get("/reset")
@public
def reset_page():
    """Forgot-password page: asks for the account's email address."""
    return respond(None, template="auth/reset_request.html", block="reset_request_form", context={"email": ""})


# The forgot-password form again, with the message and the address typed (429 with Retry-After).
_reset_form = show_again(
    "auth/reset_request.html",
    "reset_request_form",
    status=None,
    statuses=None,
    context=lambda: {"email": submitted().get("email", "")},
)


@bp.post("/reset")
@public
@operation(
    body=PasswordResetRequest, seed_form=True, responses={200: Ok}, summary="Send reset email", form_error=_reset_form
)
def reset(body: PasswordResetRequest):
    """Requests a password reset email. Answers ``{"ok": true}`` whether or not an account
    uses the address, so the endpoint cannot be used to find accounts."""
    password_reset.request_reset(body.email, ip=_client_ip())
    return respond({"ok": True}, template="auth/reset_request.html", block="reset_request_form", context={"sent": True})


@pages_bp.get("/reset/<token>")
@public
def reset_link(token: str):
    """The emailed link: checks the token, keeps it in the session, redirects to the form."""
    try:
        usable = password_reset.check_link(token, ip=_client_ip())
    except DomainError as e:  # throttled: no form, just the message and the way out
        return _reset_confirm_page(status=e.status, headers=e.headers, expired=True, error=e.message)
    if not usable:
        session.pop(RESET_SESSION_KEY, None)
        return _reset_confirm_page(status=400, expired=True)
    session[RESET_SESSION_KEY] = token
    response = redirect(url_for("auth_pages.reset_new_page"), code=303)
    response.headers.update(NO_REFERRER)
    return response


@pages_bp.get("/reset/new")
@public
def reset_new_page():
    """New-password form for the reset link kept in the session."""
    reset = password_reset.find_usable(session.get(RESET_SESSION_KEY))
    if reset is None:
        session.pop(RESET_SESSION_KEY, None)
        return _reset_confirm_page(status=400, expired=True)
    # whose password this sets: the link's holder may be signed in as someone else
    return _reset_confirm_page(account=password_reset.account_email(reset))


def _reset_confirm_form(error, form: dict):
    """A token that did not check out replaces the form with the "request a new link" note;
    otherwise the form again with the messages."""
    expired = any(d.get("path") == ["token"] for d in error.details)
    if expired:
        session.pop(RESET_SESSION_KEY, None)
    return _reset_confirm_page(
        status=error.status,
        headers=error.headers,
        expired=expired,
        error=None if expired else error.message,
        errors=field_errors(error.details),
    )


@bp.post("/reset/confirm")
@ok_false
@public
@operation(
    body=PasswordResetConfirm,
    seed_form=True,
    responses={200: PasswordResetDone},
    summary="Complete password reset",
    form_error=_reset_confirm_form,
)
def reset_confirm(body: PasswordResetConfirm):
    """Validates the reset token and sets the new password; every sign-in of the account
    (browser sessions, access and refresh tokens) ends. Browsers leave the token in the
    session (the emailed link put it there), API clients send it."""
    api = response_mode() == "json"
    token = body.token or (None if api else session.get(RESET_SESSION_KEY))
    if token is None:
        raise ValidationFailed("token is required", details=[{"path": ["token"], "message": "is required"}])
    password_reset.confirm_reset(token, body.password, ip=_client_ip())
    target = url_for("auth_pages.login_page")
    if api:
        return respond({"ok": True, "redirect": target})
    # Every sign-in of the account has just ended, this browser's too: start afresh.
    session.clear()
    flash("Your password has been changed. Sign in with the new one.", "success")
    return see_other(target)
