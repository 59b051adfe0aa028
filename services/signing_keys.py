"""Access-token signing keys: ES256 pairs in the database, published for other services.

Every worker signs with the newest current key and verifies with any published one, found by
the token's ``kid``. ``rotate`` makes a new current key and keeps the previous ones verifying
(and published in the JWKS) for an overlap window, so tokens already handed out stay valid
until they would expire anyway; then they are gone and so are their tokens.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app

from models import SigningKey, db, utcnow
from models.base import aware

ALGORITHM = "ES256"
OVERLAP_MARGIN_SECONDS = 300  # beyond the access-token lifetime, for clocks and slow clients


def _fernet() -> Fernet:
    """Encrypts private keys at rest: a key derived from ``SECRET_KEY`` (never stored)."""
    secret = current_app.config["SECRET_KEY"]
    digest = hashlib.sha256(b"wharf-signing-keys\x00" + str(secret).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _new_key(now: datetime) -> SigningKey:
    """A fresh key pair, staged in the session (the caller commits)."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = SigningKey(
        kid=secrets.token_hex(8),
        algorithm=ALGORITHM,
        public_pem=public.decode(),
        private_encrypted=_fernet().encrypt(pem).decode(),
        created_at=now,
    )
    db.session.add(key)
    return key


def _published(now: datetime) -> sa.Select:
    return sa.select(SigningKey).where(sa.or_(SigningKey.retires_at.is_(None), SigningKey.retires_at > now))


@dataclass(frozen=True)
class Signer:
    kid: str
    private_pem: bytes


def current_signer() -> Signer:
    """The newest current key (created on first use: two workers racing to create one both
    succeed, and both keys verify until the next rotation retires them)."""
    key = db.session.scalars(
        sa.select(SigningKey).where(SigningKey.retires_at.is_(None)).order_by(SigningKey.created_at.desc())
    ).first()
    if key is None:
        # Only on a database `flask init` never saw: committed at once, for the token it signs
        # is checked by the next request (sign-in has committed its session by now).
        key = _new_key(utcnow())
        db.session.commit()
    return Signer(key.kid, _fernet().decrypt(key.private_encrypted.encode()))


@dataclass(frozen=True)
class _Public:
    key: object
    retires_at: datetime | None
    checked: float  # time.monotonic() of the database read


RECHECK_SECONDS = 30  # how soon a worker hears of a rotation made elsewhere (the CLI)


_publics: dict[str, _Public] = {}
_lock = threading.Lock()


def public_key(kid: str):
    """The verifying key named ``kid`` while it is published, else None. Cached per process:
    a key never changes, only its retirement time is set by a rotation, which this worker
    reads again at most ``RECHECK_SECONDS`` later (at once when the rotation ran here)."""
    now = utcnow()
    with _lock:
        found = _publics.get(kid)
    stale = found is None or (found.retires_at is None and time.monotonic() - found.checked > RECHECK_SECONDS)
    if stale:
        row = db.session.scalars(sa.select(SigningKey).where(SigningKey.kid == kid)).first()
        if row is None:
            return None
        key = serialization.load_pem_public_key(row.public_pem.encode())
        found = _Public(key, row.retires_at, time.monotonic())
        with _lock:
            _publics[kid] = found
    if found.retires_at is not None and aware(found.retires_at) <= now:
        return None
    return found.key


def still_published(kid: str) -> bool:
    """Whether ``kid`` still verifies (a rotation's overlap may have ended since)."""
    return public_key(kid) is not None


def pem_of(kid: str | None) -> tuple[str, str] | None:
    """``(kid, PEM)`` of the named published key, or of the current one when ``kid`` is None."""
    now = utcnow()
    stmt = _published(now)
    stmt = stmt.where(SigningKey.kid == kid) if kid else stmt.where(SigningKey.retires_at.is_(None))
    row = db.session.scalars(stmt.order_by(SigningKey.created_at.desc())).first()
    if row is None and kid is None:
        current_signer()
        db.session.commit()
        return pem_of(None)
    return (row.kid, row.public_pem) if row else None


def _b64(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode()


def jwks() -> dict:
    """RFC 7517 key set of every published key, newest first."""
    keys = []
    for row in db.session.scalars(_published(utcnow()).order_by(SigningKey.created_at.desc())):
        numbers = serialization.load_pem_public_key(row.public_pem.encode()).public_numbers()
        keys.append(
            {
                "kty": "EC",
                "crv": "P-256",
                "x": _b64(numbers.x),
                "y": _b64(numbers.y),
                "kid": row.kid,
                "use": "sig",
                "alg": row.algorithm,
            }
        )
    return {"keys": keys}


@dataclass(frozen=True)
class Rotation:
    new_kid: str
    retiring: list[tuple[str, datetime]]
    deleted: list[str]


def rotate(overlap_seconds: int | None = None) -> Rotation:
    """A new current key; the previous ones verify for ``overlap_seconds`` more (default: the
    access-token lifetime plus a margin); keys past their retirement are deleted."""
    if overlap_seconds is None:
        overlap_seconds = int(current_app.config["ACCESS_TOKEN_TTL_SECONDS"]) + OVERLAP_MARGIN_SECONDS
    now = utcnow()
    retire_at = now + timedelta(seconds=max(overlap_seconds, 0))
    # Every published key verifies no longer than the new overlap (an earlier, longer one shrinks).
    retiring = [
        k for k in db.session.scalars(_published(now)) if k.retires_at is None or aware(k.retires_at) > retire_at
    ]
    for key in retiring:
        key.retires_at = retire_at
    deleted = list(db.session.scalars(sa.select(SigningKey.kid).where(SigningKey.retires_at <= now)))
    db.session.execute(sa.delete(SigningKey).where(SigningKey.retires_at <= now))
    new = _new_key(now)
    db.session.commit()
    with _lock:
        _publics.clear()
    return Rotation(new.kid, [(k.kid, retire_at) for k in retiring], deleted)
