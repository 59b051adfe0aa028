"""Password reset (seed 000 ``POST /auth/reset`` and ``POST /auth/reset/confirm``).

A request looks the same from outside whether or not the address has an account: the
answer is always ``{"ok": true}``, the throttle counts requests for unknown addresses
exactly like the others, and the request does the same work for every address — checks,
one throttling record, one queued job — so neither its answer nor its duration says
anything about an account. The job (``services.tasks``: outside the request) looks the
address up and, for each live account with it (one per tenant), mints a token — 32 random
bytes, only its SHA-256 stored, valid for ``PASSWORD_RESET_TTL_SECONDS`` — and mails it as
a link built from the configured ``PUBLIC_URL``, never from the request's Host header.

Redeeming a token sets the new password, uses the token up and voids the account's
other outstanding ones, and revokes every sign-in session of the account (so every
cookie, access token and refresh token dies), all in one transaction. Any other password
change voids outstanding tokens too (``void_outstanding``). Tokens that do not check out
are counted per IP with the sign-in throttle's records.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from models import AuthSession, PasswordReset, Tenant, User, db, utcnow
from services import auth, mail, tasks
from services.commands import after_commit, command
from services.errors import BadRequest, DomainError

log = logging.getLogger("wharf.auth")

LINK_PATH = "/auth/reset/"  # + token: the page that takes the emailed link (blueprints/auth/views.py)
MAX_TOKEN_LENGTH = 256
INVALID_TOKEN = "Invalid or expired reset token"


class OriginNotConfigured(DomainError):
    """``PUBLIC_URL`` is not an http(s) origin: no link can be built (seed: 500)."""

    status = 500
    default_message = "Password reset email origin is not configured"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- requesting a reset ----------------------------------------------------------------

MAIL_JOB = "auth.password_reset.mail"


@command()
def request_reset(email: str, *, ip: str) -> None:
    """Queue the mailing of a reset link to every live account with ``email`` (lower-cased;
    the same work whether or not there is one). Raises 429 when the IP or the email+IP
    asked too often, 500 when ``PUBLIC_URL`` is unusable."""
    cfg = current_app.config
    origin = public_origin()
    window = cfg["PASSWORD_RESET_WINDOW_SECONDS"]
    message = "Too many password reset requests, try again later"
    auth.throttle("reset", ip, limit=cfg["PASSWORD_RESET_MAX_PER_IP"], window_seconds=window, message=message)
    auth.throttle("reset", ip, email, limit=cfg["PASSWORD_RESET_MAX_PER_EMAIL"], window_seconds=window, message=message)
    auth.record_attempt("reset", ip, email, window_seconds=window)
    after_commit(lambda: tasks.defer(MAIL_JOB, {"email": email, "ip": ip, "origin": origin}))


@tasks.job(MAIL_JOB)
@command()
def mail_reset_links(email: str, ip: str, origin: str) -> int:
    """Mint and mail a reset link for every live account with ``email``; return how many.
    The mails leave once the tokens are committed (a link never names a token that is not)."""
    ttl = current_app.config["PASSWORD_RESET_TTL_SECONDS"]
    sent = 0
    for user, tenant_name in db.session.execute(_live_accounts().where(User.email == email)).all():
        token = secrets.token_urlsafe(32)
        db.session.add(
            PasswordReset(
                user_id=user.id,
                token_hash=token_digest(token),
                requested_ip=ip,
                expires_at=utcnow() + timedelta(seconds=ttl),
            )
        )
        after_commit(
            functools.partial(
                _send,
                user.email,
                _reset_text(user.name or user.email, user.email, tenant_name, f"{origin}{LINK_PATH}{token}", ttl),
            )
        )
        sent += 1
    return sent


def _send(to: str, text: str) -> None:
    try:
        mail.send(to, "Reset your Wharf password", text)
    except mail.MailError:
        # Only logged: the requester got the same {ok: true} as for an unknown address.
        log.exception("password reset mail to %s could not be sent", to)


def public_origin() -> str:
    origin = current_app.config.get("PUBLIC_URL") or ""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        log.error("PUBLIC_URL %r is not an http(s) URL: password reset links cannot be built", origin)
        raise OriginNotConfigured()
    return origin.rstrip("/")


def _reset_text(name: str, email: str, tenant_name: str, link: str, ttl: int) -> str:
    minutes = max(1, ttl // 60)
    return (
        f"Hello {name},\n\n"
        f"Someone asked to reset the password of the Wharf account {email} (tenant {tenant_name}).\n"
        f"To choose a new password, open this link within {minutes} minutes:\n\n"
        f"{link}\n\n"
        "The link works once. If you did not ask for this, ignore this message: "
        "your password stays as it is.\n"
    )


def _live_accounts() -> sa.Select:
    """Users that may sign in (active, not deleted, tenant live), with their tenant's name."""
    return sa.select(User, Tenant.name).join(Tenant, Tenant.id == User.tenant_id).where(auth.may_sign_in())


# --- redeeming a token -------------------------------------------------------------------


def find_usable(token) -> PasswordReset | None:
    """The unused, unexpired reset of a live account with this token, or None (no side effects)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    stmt = (
        sa.select(PasswordReset)
        .join(User, User.id == PasswordReset.user_id)
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(
            PasswordReset.token_hash == token_digest(token),
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > utcnow(),
            auth.may_sign_in(),
        )
    )
    return db.session.scalars(stmt).first()


def account_email(reset: PasswordReset) -> str:
    """Whose password the reset sets (the form says so: its holder may be signed in as another)."""
    return db.session.get(User, reset.user_id).email


def check_link(token, *, ip: str) -> bool:
    """Whether the emailed link still works; a link that does not counts as a failed
    confirmation (the page is as good a token oracle as the API). 429 when throttled."""
    _check_confirm_throttle(ip)
    if find_usable(token) is not None:
        return True
    _record_bad_token(ip)
    return False


def confirm_reset(token: str, password: str, *, ip: str) -> User:
    """Set ``password`` for the account of ``token``; one transaction, nothing half-written.

    400 for an unknown, used or expired token, 429 once this IP has presented too many
    bad tokens (each counted in its own operation, after the failed one rolled back).
    """
    _check_confirm_throttle(ip)
    try:
        return _redeem(token, password, ip)
    except _BadToken:
        _record_bad_token(ip)
        raise _invalid_token() from None


class _BadToken(Exception):
    """The token is unknown, used or expired (or was used by a concurrent confirmation)."""


@command()
def _redeem(token: str, password: str, ip: str) -> User:
    reset = find_usable(token)
    if reset is None:
        raise _BadToken()
    new_hash = auth.hash_password(password)  # before any row is locked: hashing is the slow part
    now = utcnow()
    # The user row first: confirmations of two tokens of one account queue here instead of
    # each holding its own token row while voiding the other's (a deadlock on PostgreSQL).
    db.session.execute(sa.select(User.id).where(User.id == reset.user_id).with_for_update())
    # Claim the token with a conditional UPDATE: of two concurrent confirmations, one wins.
    claimed = db.session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise _BadToken()
    user = reset.user
    user.password_hash = new_hash
    void_outstanding(user.id)
    db.session.execute(
        sa.update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    # The owner locked out by failed sign-ins from here may sign in again at once. (Bad-token
    # records stay: clearing them would let anyone with an account of their own reset the
    # counter between guesses.)
    auth.clear_failures(user.email, ip)
    return user


def void_outstanding(user_id) -> int:
    """Use up every unused reset token of the user (the caller commits; returns how many):
    called wherever a password changes, so a link mailed before cannot undo the change."""
    now = utcnow()
    return db.session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
        .values(used_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def _invalid_token() -> BadRequest:
    return BadRequest(INVALID_TOKEN, details=[{"path": ["token"], "message": "is invalid or has expired"}])


def _check_confirm_throttle(ip: str) -> None:
    cfg = current_app.config
    auth.throttle(
        "reset_confirm",
        ip,
        limit=cfg["PASSWORD_RESET_MAX_FAILURES"],
        window_seconds=cfg["PASSWORD_RESET_WINDOW_SECONDS"],
        message="Too many reset confirmation attempts, try again later",
    )


@command()
def _record_bad_token(ip: str) -> None:
    auth.record_attempt("reset_confirm", ip, window_seconds=current_app.config["PASSWORD_RESET_WINDOW_SECONDS"])
