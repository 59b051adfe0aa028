"""The language of pages (Flask-Babel): which locale a request is shown in, and the
filters that write moments, numbers and money the way that locale reads them.

A locale is chosen by the signed-in user (saved by ``/auth/locale``), else by the
``wharf_locale`` cookie (anonymous pages: sign-in, reset), else by the browser's
Accept-Language, else English. English keeps Wharf's own formats (ISO dates, ``1,234.50``),
which its tests, exports and documents also use."""

from __future__ import annotations

from datetime import UTC

from babel.dates import format_datetime
from babel.numbers import format_decimal
from flask import Flask, has_request_context, request
from flask_babel import Babel, get_locale
from flask_login import current_user
from markupsafe import Markup

from models.base import iso_utc
from services.accounts import DEFAULT_LOCALE, LOCALES
from services.logistics import products

COOKIE = "wharf_locale"
COOKIE_MAX_AGE = 365 * 24 * 3600


def select_locale() -> str:
    if not has_request_context():  # a background job's document: Wharf's own formats
        return DEFAULT_LOCALE
    chosen = getattr(current_user, "locale", None) if getattr(current_user, "is_authenticated", False) else None
    if chosen in LOCALES:
        return chosen
    if (cookie := request.cookies.get(COOKIE)) in LOCALES:
        return cookie
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def current_locale() -> str:
    return str(get_locale() or DEFAULT_LOCALE)


def when(value) -> Markup:
    """A moment as people read it (``2026-12-04 18:42 UTC``; ``4 dec 2026 18:42 UTC`` in
    Dutch), machine-readable in ``datetime``."""
    if value is None:
        return Markup("—")
    iso = iso_utc(value)
    locale = current_locale()
    if locale == DEFAULT_LOCALE:
        shown = f"{iso[:10]} {iso[11:16]}"
    else:
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        shown = format_datetime(moment, "d MMM y HH:mm", tzinfo=UTC, locale=locale)
    return Markup('<time datetime="{}">{} UTC</time>').format(iso, shown)


def number(value) -> str:
    """A count or quantity with the locale's grouping (``12,500`` / ``12.500``)."""
    return "—" if value is None else format_decimal(value, locale=current_locale())


def money(minor: int | None, currency: str | None) -> str:
    return products.money(minor, currency, locale=current_locale())


def init_i18n(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters.update(when=when, number=number, money=money)
    app.jinja_env.globals.update(locales=LOCALES, current_locale=current_locale)
