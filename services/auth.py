"""Authentication: password hashing, sign-in with throttling, sign-in sessions, tokens.

Access tokens are short-lived signed JWTs naming their ``AuthSession``; refresh tokens
are random secrets stored only as SHA-256 hashes, and each works once (every refresh hands
out the next). Revoking the session (logout, or a refresh token used twice) kills both, in
every worker, because every check reads the session row.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cachetools import TLRUCache
from email_validator import EmailNotValidError, validate_email
from flask import current_app

from models import (
    AuthSession,
    GivenPermission,
    LoginAttempt,
    PasswordReset,
    Tenant,
    UsedRefreshToken,
    User,
    UserAcl,
    UserGroupMember,
    UserRole,
    db,
    utcnow,
)
from models.base import aware
from services import cache_versions, signing_keys
from services.commands import command
from services.errors import BadRequest, TooManyRequests, Unauthorized, ValidationFailed

log = logging.getLogger("wharf.auth")


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_COST"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Constant-ish time: an unknown user still costs one hash, so timing leaks nothing."""
    ph = _hasher()
    if user is None:
        ph.hash(password)
        return False
    try:
        ph.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
    return True


MIN_PASSWORD_LENGTH = 8


def check_password_strength(password: str, path: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            "Password too short",
            details=[{"path": [path], "message": f"must be at least {MIN_PASSWORD_LENGTH} characters"}],
        )


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def is_email(value: str) -> bool:
    """Syntax check by email-validator (no DNS: Wharf runs offline); ``.test`` allowed for demos."""
    try:
        validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return False
    return True


# --- throttling -------------------------------------------------------------------------


def throttle(kind: str, ip: str, email: str | None = None, *, limit: int, window_seconds: int, message: str) -> None:
    """Raise 429 once ``limit`` records of ``kind`` for this IP (and email, when given) fall
    inside the window; ``Retry-After`` says when the oldest of them leaves it."""
    window = timedelta(seconds=window_seconds)
    stmt = (
        sa.select(LoginAttempt.created_at)
        .where(LoginAttempt.kind == kind, LoginAttempt.ip == ip, LoginAttempt.created_at > utcnow() - window)
        .order_by(LoginAttempt.created_at.desc())
        .limit(limit)
    )
    if email is not None:
        stmt = stmt.where(LoginAttempt.email == email)
    recent = db.session.scalars(stmt).all()
    if len(recent) >= limit:
        oldest = aware(recent[-1])
        retry = max(1, int((oldest + window - utcnow()).total_seconds()) + 1)
        raise TooManyRequests(message, retry_after=retry)


def record_attempt(kind: str, ip: str, email: str = "", *, window_seconds: int) -> None:
    """Stage one throttling record (the caller commits); records of ``kind`` older than two
    windows are pruned on the way."""
    cutoff = utcnow() - 2 * timedelta(seconds=window_seconds)
    db.session.execute(sa.delete(LoginAttempt).where(LoginAttempt.kind == kind, LoginAttempt.created_at < cutoff))
    db.session.add(LoginAttempt(kind=kind, email=email, ip=ip))


def check_throttle(email: str, ip: str) -> None:
    """Raise 429 once ``LOGIN_MAX_FAILURES`` failures for email+IP fall inside the window, or
    ``LOGIN_MAX_FAILURES_PER_IP`` for the IP whatever the email: one password tried against
    many accounts (spraying) never trips the per-email limit."""
    cfg = current_app.config
    window, message = cfg["LOGIN_WINDOW_SECONDS"], "Too many login attempts, try again later"
    throttle("login", ip, limit=cfg["LOGIN_MAX_FAILURES_PER_IP"], window_seconds=window, message=message)
    throttle("login", ip, email, limit=cfg["LOGIN_MAX_FAILURES"], window_seconds=window, message=message)


@command()
def record_failure(email: str, ip: str) -> None:
    """Its own operation: the failed sign-in it counts writes nothing else."""
    record_attempt("login", ip, email, window_seconds=current_app.config["LOGIN_WINDOW_SECONDS"])


def clear_failures(email: str, ip: str) -> None:
    db.session.execute(
        sa.delete(LoginAttempt).where(LoginAttempt.kind == "login", LoginAttempt.email == email, LoginAttempt.ip == ip)
    )


# --- sign-in ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    user: User
    session: AuthSession
    refresh_token: str | None


def may_sign_in() -> sa.ColumnElement:
    """The one rule for an account that may sign in — the user active and not deleted, and
    its tenant too — for queries that join ``User`` and ``Tenant``."""
    return sa.and_(
        User.deleted_at.is_(None), User.is_active.is_(True), Tenant.deleted_at.is_(None), Tenant.is_active.is_(True)
    )


def authenticate(email: str, password: str, *, ip: str, tenant_id: uuid.UUID | None = None) -> User:
    """The active user with these credentials (``email`` lower-cased), or raise (400 when
    the email signs in to several tenants and ``tenant_id`` is missing, 401, 429)."""
    check_throttle(email, ip)
    stmt = sa.select(User).join(Tenant, Tenant.id == User.tenant_id).where(User.email == email, may_sign_in())
    if tenant_id is not None:
        stmt = stmt.where(User.tenant_id == tenant_id)
    candidates = db.session.scalars(stmt).all()
    matches = [u for u in candidates if verify_password(u, password)] if candidates else []
    if not candidates:
        verify_password(None, password)
    if not matches:
        record_failure(email, ip)
        raise Unauthorized("Invalid email or password")
    if len(matches) > 1:
        raise BadRequest("This email signs in to several tenants; pass tenantId")
    clear_failures(email, ip)
    return matches[0]


@command()
def start_session(user: User, *, kind: str, ip: str | None, user_agent: str | None) -> SignIn:
    """Create the AuthSession of a successful sign-in (one transaction, which also makes
    ``authenticate``'s clearing of the failures durable)."""
    cfg = current_app.config
    lifetime = cfg["SESSION_LIFETIME_SECONDS"] if kind == "browser" else cfg["REFRESH_TOKEN_TTL_SECONDS"]
    refresh = secrets.token_urlsafe(32) if kind == "api" else None
    session = AuthSession(
        user_id=user.id,
        kind=kind,
        ip=ip,
        user_agent=(user_agent or "")[:300],
        expires_at=utcnow() + timedelta(seconds=lifetime),
        refresh_token_hash=_digest(refresh) if refresh else None,
    )
    user.last_login_at = utcnow()
    db.session.add(session)
    db.session.flush()
    return SignIn(user, session, refresh)


class SessionPrincipal:
    """``current_user`` of a request signed in through a session (cookie or access token).

    The session check reads the few fields every request needs (ids, name, email, the
    tenant's name and ACL version) in one Core query; anything else — roles, relationships, other
    columns — loads the ``User`` row on first use, and from then on every attribute (read
    or written) is the row's. So views see a full user, and a request that only lists
    shipments never builds ORM objects for its caller.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_api_key = False
    is_hub = False  # a person, never a print hub (asked on every request: must not load the row)

    def __init__(self, snapshot: dict):
        object.__setattr__(self, "_snapshot", snapshot)
        object.__setattr__(self, "_user", None)

    @property
    def user(self) -> User:
        if self._user is None:
            object.__setattr__(self, "_user", db.session.get(User, self._snapshot["id"]))
        return self._user

    @property
    def session_id(self) -> uuid.UUID:
        return self._snapshot["session_id"]

    @property
    def selected_organization(self) -> str | None:
        """The sign-in's organization choice (a session's, not the user row's)."""
        return self._snapshot.get("selected_organization")

    @property
    def acl_version(self) -> int:
        return self._user.acl_version if self._user is not None else self._snapshot["acl_version"]

    @property
    def role_set(self) -> frozenset[uuid.UUID] | None:
        """The user's roles as the session check read them — the grants of everyone holding
        the same roles — or None when an ACL of the user's own replaces them."""
        if self._snapshot["grant_own"]:
            return None
        return _id_set(self._snapshot["grant_roles"])

    @property
    def group_set(self) -> frozenset[uuid.UUID] | None:
        """With ``role_set``, what the caller's object grants are a function of — None when
        object grants given to the user themselves (or their own ACL) make them theirs alone."""
        if self._snapshot["grant_own"] or self._snapshot["grant_own_objects"]:
            return None
        return _id_set(self._snapshot["grant_groups"])

    def get_id(self) -> str:
        return str(self._snapshot["id"])

    def __getattr__(self, name):
        if name.startswith("__"):  # protocol probes (copy, pickle, __html__) never load the row
            raise AttributeError(name)
        if self._user is None and name in self._snapshot:
            return self._snapshot[name]
        return getattr(self.user, name)

    def __setattr__(self, name, value):
        setattr(self.user, name, value)

    def __eq__(self, other):
        return isinstance(other, (SessionPrincipal, User)) and other.id == self.id

    def __hash__(self):
        return hash(self.id)


def _ids_of(column, user_column) -> sa.Select:
    """The user's ids in ``column`` (their roles, their groups) as one comma-joined string."""
    return sa.select(sa.func.aggregate_strings(sa.cast(column, sa.String), ",")).where(user_column == User.id)


def _id_set(joined: str | None) -> frozenset[uuid.UUID]:
    return frozenset(uuid.UUID(i) for i in (joined or "").split(",") if i)


_LIVE_SESSION_BASE = (
    sa.select(
        AuthSession.id.label("session_id"),
        AuthSession.expires_at,
        AuthSession.selected_organization,
        User.id,
        User.tenant_id,
        User.organization_id,
        User.email,
        User.name,
        User.scan_feedback,  # every page's <body> says whether the stations beep
        User.locale,  # every page is in the user's language (web/i18n.py)
        Tenant.acl_version,
        Tenant.name.label("tenant_name"),
        # what the grants are a function of (services.acl.grants_for, object_grants_for): the
        # user's roles and groups, unless an ACL or object grants of their own decide
        _ids_of(UserRole.role_id, UserRole.user_id).scalar_subquery().label("grant_roles"),
        _ids_of(UserGroupMember.group_id, UserGroupMember.user_id).scalar_subquery().label("grant_groups"),
        sa.exists().where(UserAcl.user_id == User.id, UserAcl.tenant_id == User.tenant_id).label("grant_own"),
        sa.exists().where(GivenPermission.subject_user_id == User.id).label("grant_own_objects"),
    )
    .join(User, AuthSession.user_id == User.id)
    .join(Tenant, User.tenant_id == Tenant.id)
    .where(AuthSession.id == sa.bindparam("sid"), AuthSession.revoked_at.is_(None), may_sign_in())
)


@functools.cache
def _live_session() -> sa.Select:
    """Built on first use, once every module has declared the stamps it prefetches."""
    return cache_versions.with_stamps(_LIVE_SESSION_BASE)


def live_principal(session_id, user_id=None) -> SessionPrincipal | None:
    """The caller of a live session — the session, its user and the user's tenant all live —
    or None. Runs on every authenticated request: one Core query through the session's
    connection, no ORM objects (a third of the cost of loading the three rows)."""
    try:
        sid = uuid.UUID(str(session_id))
    except (ValueError, TypeError):
        return None
    row = db.session.connection().execute(_live_session(), {"sid": sid}).first()
    if row is None:
        return None
    snapshot = row._asdict()
    cache_versions.remember(snapshot)  # read before the data: a cache built from it is never stamped newer
    expires = snapshot.pop("expires_at")
    now = utcnow()
    if (expires if expires.tzinfo else expires.replace(tzinfo=now.tzinfo)) <= now:
        return None
    if user_id is not None and str(snapshot["id"]) != str(user_id):
        return None
    return SessionPrincipal(snapshot)


@command()
def extend_browser_session(session_id) -> AuthSession | None:
    """A live browser sign-in lasts another ``SESSION_LIFETIME_SECONDS`` from now (seed 000
    ``GET /auth/session/refresh``); None when the session is gone, revoked, expired or an API
    sign-in (those renew with their refresh token)."""
    found = db.session.scalar(
        sa.select(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.kind == "browser", AuthSession.revoked_at.is_(None))
        .with_for_update()
    )
    if found is None or aware(found.expires_at) <= utcnow():
        return None
    found.expires_at = utcnow() + timedelta(seconds=current_app.config["SESSION_LIFETIME_SECONDS"])
    return found


def session_expiry(session_id):
    """When the sign-in ``session_id`` ends (None: not a live session row)."""
    found = db.session.get(AuthSession, session_id) if session_id else None
    return aware(found.expires_at) if found is not None else None


@command()
def revoke_session(session_id) -> None:
    db.session.execute(
        sa.update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# --- tokens -----------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_access_token(session: AuthSession) -> tuple[str, int]:
    """An ES256 JWT naming its key (``kid``): other services verify it with the published key
    set alone; Wharf also checks its session on every request (revocation)."""
    ttl = current_app.config["ACCESS_TOKEN_TTL_SECONDS"]
    now = utcnow()
    claims = {
        "sub": str(session.user_id),
        "sid": str(session.id),
        "typ": "access",
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
    }
    signer = signing_keys.current_signer()
    return jwt.encode(claims, signer.private_pem, algorithm=signing_keys.ALGORITHM, headers={"kid": signer.kid}), ttl


class _VerifiedTokens:
    """Claims of access tokens whose signature this process has already checked, so a
    client's next request skips the ECDSA and base64 work (its session is still checked on
    every request, its key's publication too). An entry leaves the cache when its token
    expires (cachetools' TLRU), and expiry is checked on every answer."""

    def __init__(self, size: int = 10_000):
        # ``exp`` is wall-clock seconds, so the cache's timer is too (its default is monotonic).
        self.cache = TLRUCache(maxsize=size, ttu=lambda _key, claims, _now: claims["exp"], timer=lambda: time.time())
        self.lock = threading.Lock()  # cachetools is not thread-safe

    def claims(self, token: str) -> dict | None:
        with self.lock:
            hit = self.cache.get(token)
        if hit is None:
            try:
                kid = jwt.get_unverified_header(token).get("kid")
                key = signing_keys.public_key(kid) if isinstance(kid, str) else None
                if key is None:
                    return None
                hit = jwt.decode(
                    token, key, algorithms=[signing_keys.ALGORITHM], options={"require": ["exp", "sub", "sid"]}
                )
            except jwt.PyJWTError:
                return None
            hit = {**hit, "_kid": kid}
            with self.lock:
                self.cache[token] = hit
        elif not signing_keys.still_published(hit["_kid"]):
            return None  # its key was retired since (a rotation's overlap ended)
        return hit if hit["exp"] > time.time() else None


verified_tokens = _VerifiedTokens()


def principal_from_access_token(token: str) -> SessionPrincipal | None:
    claims = verified_tokens.claims(token)
    if claims is None or claims.get("typ") != "access":
        return None
    return live_principal(claims["sid"], claims["sub"])


def refresh_access_token(refresh_token: str) -> tuple[str, int, str]:
    """Exchange a refresh token for an access token (and its lifetime) and the next refresh
    token. Each refresh token works once; one presented again — it was copied — revokes the
    whole sign-in, so the thief and the client alike must sign in again (RFC 9700 4.14.2)."""
    digest = _digest(refresh_token)
    try:
        return _exchange(digest)
    except _NotCurrent:
        _revoke_if_used_before(digest)  # its own operation, after the failed exchange rolled back
        raise _invalid_refresh() from None


class _NotCurrent(Exception):
    """The refresh token is not the current one of a sign-in (unknown, or used already)."""


@command()
def _exchange(digest: str) -> tuple[str, int, str]:
    session = db.session.scalars(sa.select(AuthSession).where(AuthSession.refresh_token_hash == digest)).first()
    if session is None:
        raise _NotCurrent()
    if live_principal(session.id) is None:
        raise _invalid_refresh()
    following = secrets.token_urlsafe(32)
    now = utcnow()
    # Claim the token with a conditional UPDATE: of two requests presenting it, one moves the
    # session on to the next token; the other matches no row and counts as a reuse.
    claimed = db.session.execute(
        sa.update(AuthSession)
        .where(AuthSession.id == session.id, AuthSession.refresh_token_hash == digest, AuthSession.revoked_at.is_(None))
        .values(refresh_token_hash=_digest(following), updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise _NotCurrent()
    db.session.add(UsedRefreshToken(session_id=session.id, token_hash=digest, used_at=now))
    access, ttl = issue_access_token(session)
    return access, ttl, following


def _invalid_refresh() -> Unauthorized:
    return Unauthorized("Invalid or expired refresh token")


def _revoke_if_used_before(digest: str) -> None:
    """A refresh token exchanged already is presented again: end the sign-in it belonged to."""
    session_id = db.session.scalar(sa.select(UsedRefreshToken.session_id).where(UsedRefreshToken.token_hash == digest))
    if session_id is not None:
        log.warning("refresh token of sign-in %s used a second time: sign-in revoked", session_id)
        revoke_session(session_id)


# --- housekeeping ----------------------------------------------------------------------


@command()
def prune(older_than_days: int = 30) -> dict[str, int]:
    """Delete what can no longer authenticate anyone and is older than the grace period:
    sessions revoked or expired (with their used refresh tokens), reset tokens used or expired,
    throttling records past every window. One transaction; returns how many rows of each went."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    dead = sa.or_(AuthSession.revoked_at < cutoff, AuthSession.expires_at < cutoff)
    db.session.execute(
        sa.delete(UsedRefreshToken).where(UsedRefreshToken.session_id.in_(sa.select(AuthSession.id).where(dead)))
    )
    gone = {
        "sessions": db.session.execute(sa.delete(AuthSession).where(dead)).rowcount,
        "password_resets": db.session.execute(
            sa.delete(PasswordReset).where(sa.or_(PasswordReset.used_at < cutoff, PasswordReset.expires_at < cutoff))
        ).rowcount,
        "throttle_records": db.session.execute(
            sa.delete(LoginAttempt).where(LoginAttempt.created_at < cutoff)
        ).rowcount,
    }
    return gone
