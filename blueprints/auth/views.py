"""Auth routes. Each is one view answering JSON (seed 000 contract), a page, or a fragment."""
from __future__ import annotations

from flask import flash, redirect, request, session, url_for
from flask_login import current_user

from blueprints.auth import bp, pages_bp
from blueprints.auth.forms import (LoginForm, PasswordResetConfirmForm, PasswordResetForm, ProfileForm,
                                   RefreshForm)
from services import accounts, auth, password_reset
from services.errors import DomainError, MethodNotAllowed, ValidationFailed
from web.access import public, requires
from web.forms import field_errors, request_data, validate
from web.htmx import client_redirect, htmx_details, toast
from web.identity import current_auth_session_id, has_bearer_header, sign_in_browser, sign_out
from web.negotiate import respond, response_mode
from web.openapi import documented


def safe_next(target: str | None) -> str:
    """Only same-site relative paths may be redirected to after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("dashboard.home")


def _redirect(target: str):
    """After a browser write: htmx navigates via HX-Redirect, plain forms get a 303."""
    if htmx_details().is_htmx:
        return client_redirect(respond(None, status=200), target)
    return redirect(target, code=303)


@pages_bp.get("/login")
@public
def login_page():
    """Sign-in page (browsers)."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm(data={"next": request.args.get("next", "")})
    return respond(None, template="auth/login.html", block="login_form", context={"form": form})


@bp.post("/login")
@public
@documented(body=LoginForm, summary="Authenticate user credentials")
def login():
    """Validates credentials; API clients receive an access and a refresh token, browsers a session."""
    form = LoginForm()
    api = response_mode() == "json"
    try:
        user = auth.authenticate(form.email.data or "", form.password.data or "",
                                 ip=request.remote_addr or "unknown", tenant_id=form.tenantId.data)
    except DomainError as e:
        if api:
            raise
        return respond(None, template="auth/login.html", block="login_form", status=e.status,
                       headers=e.headers, context={"form": form, "error": e.message})
    signin = auth.start_session(user, kind="api" if api else "browser",
                                ip=request.remote_addr, user_agent=request.user_agent.string)
    if api:
        token, ttl = auth.issue_access_token(signin.session)
        return respond({"ok": True, "token": token, "refreshToken": signin.refresh_token,
                        "expiresIn": ttl, "redirect": None})
    sign_in_browser(signin)
    return _redirect(safe_next(form.next.data))


@bp.post("/session/refresh")
@public
@documented(body=RefreshForm, summary="Refresh access token (API/mobile)")
def session_refresh():
    """Exchanges a refresh token for a new access token and the next refresh token; the one
    presented stops working (presented again, it ends the sign-in)."""
    form = RefreshForm()
    token, ttl, refresh_token = auth.refresh_access_token(form.refreshToken.data or "")
    return respond({"ok": True, "accessToken": token, "expiresIn": ttl, "refreshToken": refresh_token})


@bp.route("/logout", methods=["GET", "POST"])
@requires()
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
    return _redirect(url_for("auth_pages.login_page"))


@bp.get("/profile")
@requires()
def profile():
    """Current profile: email and roles of the signed-in user."""
    data = accounts.profile_of(current_user)
    return respond(data, template="auth/profile.html", block="profile_form",
                   context={"form": ProfileForm(data=data), "profile": data})


@bp.put("/profile")
@requires()
@documented(body=ProfileForm, summary="Update current profile")
def update_profile():
    """Updates name, email or password; changing email or password needs currentPassword."""
    accounts.profile_of(current_user)  # 404 for API keys, before anything is read
    form = ProfileForm()
    try:
        validate(form)
        accounts.update_profile(current_user.user, name=form.name.data, email=form.email.data or None,
                                password=form.password.data or None,
                                current_password=form.currentPassword.data,
                                keep_session_id=current_auth_session_id())
    except DomainError as e:
        if response_mode() == "json":
            raise
        data = accounts.profile_of(current_user)
        return respond(None, template="auth/profile.html", block="profile_form", status=422,
                       context={"form": form, "profile": data, "error": e.message,
                                "errors": field_errors(e.details)})
    data = accounts.profile_of(current_user)
    resp = respond({"ok": True, "email": current_user.email}, template="auth/profile.html",
                   block="profile_form", context={"form": ProfileForm(data=data), "profile": data,
                                                  "saved": True})
    return toast(resp, "Profile saved")


# --- password reset ------------------------------------------------------------------------
# The emailed link /auth/reset/<token> only checks the token: it moves it into the signed
# session and redirects, so the secret leaves the address bar and is never sent as a
# Referer. The new-password form posts to /auth/reset/confirm, which takes the token from
# the session when the body has none (API clients send it in the body).

RESET_SESSION_KEY = "password_reset_token"
NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _reset_confirm_page(*, status: int = 200, headers: dict | None = None, **context):
    return respond(None, template="auth/reset_confirm.html", block="reset_confirm_form", status=status,
                   headers={**NO_REFERRER, **(headers or {})}, context=context)


@pages_bp.get("/reset")
@public
def reset_page():
    """Forgot-password page: asks for the account's email address."""
    return respond(None, template="auth/reset_request.html", block="reset_request_form", context={"email": ""})


@bp.post("/reset")
@public
@documented(body=PasswordResetForm, summary="Send reset email", responses={
    "400": {"description": "Missing or invalid email"},
    "429": {"description": "Too many password reset requests"}})
def reset():
    """Requests a password reset email. Answers ``{"ok": true}`` whether or not an account
    uses the address, so the endpoint cannot be used to find accounts."""
    email = None
    try:
        email = request_data().get("email")
        password_reset.request_reset(email, ip=_client_ip())
    except DomainError as e:
        if response_mode() == "json":
            raise
        return respond(None, template="auth/reset_request.html", block="reset_request_form", status=e.status,
                       headers=e.headers, context={"email": email if isinstance(email, str) else "",
                                                   "error": e.message, "errors": field_errors(e.details)})
    return respond({"ok": True}, template="auth/reset_request.html", block="reset_request_form",
                   context={"sent": True})


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
    if password_reset.find_usable(session.get(RESET_SESSION_KEY)) is None:
        session.pop(RESET_SESSION_KEY, None)
        return _reset_confirm_page(status=400, expired=True)
    return _reset_confirm_page()


@bp.post("/reset/confirm")
@public
@documented(body=PasswordResetConfirmForm, summary="Complete password reset", responses={
    "400": {"description": "Invalid token or payload"},
    "429": {"description": "Too many reset confirmation attempts"}})
def reset_confirm():
    """Validates the reset token and sets the new password; every sign-in of the account
    (browser sessions, access and refresh tokens) ends."""
    api = response_mode() == "json"
    try:
        try:
            data = request_data()
        except ValidationFailed as e:  # malformed JSON: this route's 400 envelope has "ok": false
            raise ValidationFailed(e.message, details=e.details, ok=False) from None
        token = data.get("token") or (None if api else session.get(RESET_SESSION_KEY))
        password_reset.confirm_reset(token, data.get("password"), ip=_client_ip())
    except DomainError as e:
        if api:
            raise
        expired = any(d.get("path") == ["token"] for d in e.details)
        if expired:
            session.pop(RESET_SESSION_KEY, None)
        # A token that did not check out replaces the form with the "request a new link" note.
        return _reset_confirm_page(status=e.status, headers=e.headers, expired=expired,
                                   error=None if expired else e.message, errors=field_errors(e.details))
    target = url_for("auth_pages.login_page")
    if api:
        return respond({"ok": True, "redirect": target})
    # Every sign-in of the account has just ended, this browser's too: start afresh.
    session.clear()
    flash("Your password has been changed. Sign in with the new one.", "success")
    return _redirect(target)
