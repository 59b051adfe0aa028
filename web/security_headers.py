"""Headers every response carries, set in one place: no framing (clickjacking), no type
sniffing, no full URLs leaking to other sites, and on pages a Content-Security-Policy.

A header a view set itself wins (served files, barcodes and document previews send their
own, stricter policy; reset pages send ``Referrer-Policy: no-referrer``).

The page policy allows what the templates need and no more: every script is a file of
ours, but htmx compiles ``hx-on`` attributes and ``hx-trigger`` filters with ``Function``
('unsafe-eval'); ``style=`` attributes and htmx's indicator ``<style>`` need inline styles;
file previews are ``data:``/``blob:`` images; the scan beeps are our own audio files.
"""

from __future__ import annotations

from flask import Flask, Response

PAGE_POLICY = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' data: blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

EVERY_RESPONSE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    for name, value in EVERY_RESPONSE.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    return response


def init_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)
