"""Published token keys: the JWKS (RFC 7517) and seed 002's ``GET /publickey``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.base import Model


class Jwk(Model):
    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str
    y: str
    kid: str
    use: Literal["sig"]
    alg: Literal["ES256"]


class Jwks(Model):
    """Every key access tokens may be signed with right now (the current one first)."""

    keys: list[Jwk]


class PublicKeyQuery(Model):
    keyId: str | None = Field(None, max_length=32, description="A key's id (a token's kid); default: the current key")


class PublicKey(Model):
    keyId: str
    keyData: str = Field(description="The public key as PEM (SubjectPublicKeyInfo)")
