"""The per-process caches (cachetools under a lock): a value is served again without being
rebuilt, a version change or the size limit evicts, a token leaves with its expiry, and
many threads at once neither break the cache nor get a wrong value."""

import sys
import threading
import time

from services import auth, barcodes
from services.cache_versions import VersionedCache


def test_versioned_cache_serves_a_value_until_its_version_changes():
    cache, built = VersionedCache(size=10), []

    def build(value):
        built.append(value)
        return value

    assert cache.get_or_build("k", 1, lambda: build("one")) == "one"
    assert cache.get_or_build("k", 1, lambda: build("again")) == "one" and built == ["one"]
    assert cache.get("k", 2) is None  # a bumped stamp: stale
    assert cache.get_or_build("k", 2, lambda: build("two")) == "two" and built == ["one", "two"]
    assert cache.loads == 2


def test_versioned_cache_evicts_the_least_recently_used_beyond_its_size():
    cache = VersionedCache(size=2)
    cache.put("a", 1, "A")
    cache.put("b", 1, "B")
    assert cache.get("a", 1) == "A"  # read: now the most recent
    cache.put("c", 1, "C")
    assert cache.get("b", 1) is None and cache.get("a", 1) == "A" and cache.get("c", 1) == "C"


def test_versioned_cache_under_concurrent_use():
    cache, errors = VersionedCache(size=64), []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: a race shows up in most runs

    def work(n):
        try:
            for i in range(4000):
                key = (n * 7 + i) % 200
                value = cache.get_or_build(key, key % 3, lambda key=key: ("v", key))
                assert value == ("v", key)
        except Exception as e:  # noqa: BLE001 - any failure of a worker fails the test
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == [] and len(cache.entries) <= 64


def test_barcode_images_are_kept_by_bytes_and_served_again(monkeypatch):
    barcodes.render.cache_clear()
    calls = []
    draw = barcodes.draw_png
    monkeypatch.setattr(barcodes, "draw_png", lambda *a: calls.append(a) or draw(*a))
    first = barcodes.render("qr", "kept", 200, 200)
    assert barcodes.render("qr", "kept", 200, 200) is first and len(calls) == 1
    second = barcodes.render("code_128", "ALSO-KEPT")
    assert barcodes.cache.currsize == len(first.body) + len(second.body) <= barcodes.cache.maxsize
    barcodes.render.cache_clear()


def test_verified_token_leaves_the_cache_when_it_expires(app, monkeypatch):
    import jwt

    from services import signing_keys

    with app.app_context():
        signer = signing_keys.current_signer()
        tokens = auth._VerifiedTokens(size=10)
        claims = {"sub": "u", "sid": "s", "exp": int(time.time()) + 60}
        token = jwt.encode(claims, signer.private_pem, algorithm="ES256", headers={"kid": signer.kid})
        assert tokens.claims(token)["sub"] == "u" and len(tokens.cache) == 1
        decoded = []
        real = jwt.decode
        monkeypatch.setattr(auth.jwt, "decode", lambda *a, **k: decoded.append(1) or real(*a, **k))
        assert tokens.claims(token)["sub"] == "u" and decoded == []  # served from the cache
        later = time.time() + 120
        monkeypatch.setattr(auth.time, "time", lambda: later)
        assert tokens.claims(token) is None
        with tokens.lock:
            tokens.cache.expire()
            assert len(tokens.cache) == 0
