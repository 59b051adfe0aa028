"""Auth routes. Each is one view answering JSON (seed 000 contract), a page, or a fragment."""
from __future__ import annotations

from flask import redirect, request, url_for
from flask_login import current_user

from blueprints.auth import bp, pages_bp
from blueprints.auth.forms import LoginForm, ProfileForm, RefreshForm
from services import accounts, auth
from services.errors import DomainError
from web.access import public, requires
from web.forms import field_errors, validate
from web.htmx import client_redirect, htmx_details, toast
from web.identity import current_auth_session_id, sign_in_browser, sign_out
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
    """Exchanges a refresh token from login for a new access token."""
    form = RefreshForm()
    token, ttl = auth.refresh_access_token(form.refreshToken.data or "")
    return respond({"ok": True, "accessToken": token, "expiresIn": ttl})


@bp.route("/logout", methods=["GET", "POST"])
@requires()
def logout():
    """Ends this sign-in (session cookie or the token's session) everywhere."""
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
