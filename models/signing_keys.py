"""The keys access tokens are signed with (ES256), shared by every worker and server."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import db, utcnow


class SigningKey(db.Model):
    """One P-256 key pair. The public half is published (JWKS, ``/publickey``); the private
    half is stored encrypted with a key derived from ``SECRET_KEY``, so a database dump alone
    mints no tokens. ``retires_at`` is NULL while the key signs; after a rotation the old key
    only verifies, until ``retires_at``."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(sa.String(32), unique=True)
    algorithm: Mapped[str] = mapped_column(sa.String(16), default="ES256")
    public_pem: Mapped[str] = mapped_column(sa.Text)
    private_encrypted: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retires_at: Mapped[datetime | None] = mapped_column(default=None)
