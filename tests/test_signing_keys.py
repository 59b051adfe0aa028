"""Access tokens other services can verify (issue 18): ES256 with a published key set, seed
002's ``GET /publickey``, ``flask rotate-keys`` with an overlap window, revocation kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import jwt
import sqlalchemy as sa

from models import SigningKey, db
from services import signing_keys
from tests.support import PASSWORD, api_token, bearer

VERIFY = textwrap.dedent(
    """
    import sys, jwt
    url, token = sys.argv[1], sys.argv[2]
    key = jwt.PyJWKClient(url).get_signing_key_from_jwt(token)
    try:
        claims = jwt.decode(token, key.key, algorithms=["ES256"])
    except jwt.PyJWTError as e:
        print("REFUSED", type(e).__name__)
    else:
        print("OK", claims["sub"], claims["sid"])
    """
)


def _login(client, email):
    r = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"]


def _verify_elsewhere(live_server, token) -> str:
    """A separate Python process that knows only the published key set."""
    done = subprocess.run(
        [sys.executable, "-c", VERIFY, f"{live_server}/.well-known/jwks.json", token],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_separate_process_verifies_a_token_with_the_key_set_alone(client, admin, live_server):
    token = _login(client, admin)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert _verify_elsewhere(live_server, token) == f"OK {claims['sub']} {claims['sid']}"
    head, payload, sig = token.split(".")
    tampered = f"{head}.{payload}.{sig[:-4]}{'AAAA' if sig[-4:] != 'AAAA' else 'BBBB'}"
    assert _verify_elsewhere(live_server, tampered).startswith("REFUSED")


def test_key_set_and_publickey(client, admin):
    token = _login(client, admin)
    kid = jwt.get_unverified_header(token)["kid"]
    r = client.get("/.well-known/jwks.json")
    assert r.status_code == 200 and "max-age" in r.headers["Cache-Control"]
    (key,) = r.get_json()["keys"]
    assert key["kid"] == kid and key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ES256"
    for path in ("/publickey", "/api/publickey", f"/publickey?keyId={kid}"):
        r = client.get(path)
        assert r.status_code == 200 and r.get_json()["keyId"] == kid
    pem = client.get("/publickey").get_json()["keyData"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert jwt.decode(token, pem, algorithms=["ES256"])["typ"] == "access"
    missing = client.get("/publickey?keyId=nosuchkey")
    assert missing.status_code == 404 and missing.get_json() == {"status": "ERR", "message": "Public key not found"}


def test_private_keys_are_not_stored_in_clear(app, client, admin):
    _login(client, admin)
    with app.app_context():
        stored = db.session.scalars(sa.select(SigningKey.private_encrypted)).all()
    assert stored and not any("PRIVATE KEY" in s for s in stored)


def test_rotation_keeps_old_tokens_for_the_overlap_then_drops_them(app, client, admin):
    old = _login(client, admin)
    old_kid = jwt.get_unverified_header(old)["kid"]
    runner = app.test_cli_runner()
    out = runner.invoke(args=["rotate-keys", "--overlap", "600"])
    assert out.exit_code == 0 and f"key {old_kid} verifies until" in out.output, out.output
    new = _login(client, admin)
    new_kid = jwt.get_unverified_header(new)["kid"]
    assert new_kid != old_kid and f"new signing key {new_kid}" in out.output
    assert {k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]} == {old_kid, new_kid}
    assert client.get("/api/auth/profile", headers=bearer(old)).status_code == 200  # within the overlap
    assert client.get("/publickey").get_json()["keyId"] == new_kid

    out = runner.invoke(args=["rotate-keys", "--overlap", "0"])  # both earlier keys retire now
    assert out.exit_code == 0 and f"key {old_kid} retired and deleted" in out.output, out.output
    with app.app_context():
        signing_keys._publics.clear()  # as another worker's cache after RECHECK_SECONDS
    kids = {k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]}
    assert old_kid not in kids and new_kid not in kids and len(kids) == 1
    assert client.get("/api/auth/profile", headers=bearer(old)).status_code == 401
    assert client.get(f"/publickey?keyId={old_kid}").status_code == 404
    assert client.get("/api/auth/profile", headers=bearer(api_token(client, admin))).status_code == 200


def test_revocation_still_works(client, admin):
    token = _login(client, admin)
    assert client.get("/api/auth/profile", headers=bearer(token)).status_code == 200
    assert client.post("/api/auth/logout", headers=bearer(token)).status_code in (200, 201)
    assert client.get("/api/auth/profile", headers=bearer(token)).status_code == 401  # still validly signed
