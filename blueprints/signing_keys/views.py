"""Public key routes: answered to anyone (a public key is public), JSON only."""

from __future__ import annotations

from blueprints.signing_keys import bp
from schemas.signing_keys import Jwks, PublicKey, PublicKeyQuery
from services import signing_keys
from services.errors import NotFound
from web.access import public
from web.contract import operation
from web.negotiate import respond

# Verifiers cache the key set; a rotation keeps old keys published far longer than this.
CACHE = {"Cache-Control": "public, max-age=300"}


@bp.get("/.well-known/jwks.json")
@public
@operation(responses={200: Jwks})
def jwks():
    """The token key set

    Every key an access token may be signed with now (ES256, RFC 7517); a token's ``kid``
    header names its key. Keys stay here for the overlap window after a rotation.
    """
    return respond(signing_keys.jwks(), headers=CACHE)


@bp.get("/publickey")
@public
@operation(query=PublicKeyQuery, responses={200: PublicKey})
def publickey(query: PublicKeyQuery):
    """Get the public key

    The current public key (PEM) and its ``keyId``, or the key named by ``keyId`` while it is
    published; 404 when there is no such key.
    """
    found = signing_keys.pem_of(query.keyId)
    if found is None:
        raise NotFound("Public key not found")
    kid, pem = found
    return respond({"keyId": kid, "keyData": pem}, headers=CACHE)
