"""Wharf application factory.

``create_app(config)`` builds a fully wired app: configuration from the environment,
database, sign-in, CSRF, negotiation, errors, every blueprint and the CLI commands.
"""

from __future__ import annotations

import decimal
import logging
import os
import re
import secrets
import uuid
from datetime import date, datetime
from pathlib import Path

import orjson
from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

from models import db
from models.base import iso_utc
from web.contract import init_contract
from web.errors import register_error_handlers, request_id
from web.extensions import csrf, migrate
from web.i18n import init_i18n
from web.identity import init_identity
from web.negotiate import add_vary
from web.security_headers import init_security_headers
from web.templating import init_templating

ROOT = Path(__file__).resolve().parent
MIGRATIONS_DIR = ROOT / "migrations"


def _json_default(o):
    """What orjson does not encode itself: datetimes in the seeds' ``…T10:00:00.000Z`` form."""
    if isinstance(o, datetime):
        return iso_utc(o)
    if isinstance(o, date):  # only the stdlib path needs these two; orjson encodes them
        return o.isoformat()
    if isinstance(o, uuid.UUID):
        return str(o)
    if isinstance(o, decimal.Decimal):
        return str(o)
    if hasattr(o, "__html__"):
        return str(o.__html__())
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


class WharfJSONProvider(DefaultJSONProvider):
    """JSON responses through orjson (UUIDs, dates and dataclasses natively): a page of 25
    shipments encodes in ~20 µs instead of ~500 µs with the stdlib encoder. Calls with
    options (Jinja's ``tojson`` sorts keys) keep the stdlib encoder and its exact output."""

    sort_keys = False
    default = staticmethod(_json_default)
    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS

    def encode(self, obj) -> bytes:
        """``obj`` as the bytes of a JSON response."""
        return orjson.dumps(obj, default=_json_default, option=self._OPTIONS)

    def dumps(self, obj, **kwargs) -> str:
        if kwargs:
            return super().dumps(obj, **kwargs)
        return self.encode(obj).decode()

    def response(self, *args, **kwargs):
        return self._app.response_class(self.encode(self._prepare_response_obj(args, kwargs)), mimetype=self.mimetype)


def database_url(raw: str | None, instance_path: str) -> str:
    """``DATABASE_URL`` with PostgreSQL URLs pointed at psycopg 3; default SQLite file."""
    if not raw:
        return f"sqlite:///{Path(instance_path) / 'wharf.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def _secret_key(instance_path: str) -> str:
    """``SECRET_KEY`` from the environment, else one generated once and kept in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def load_config(app: Flask, overrides: dict | None) -> None:
    env = os.environ
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(
        SECRET_KEY=(overrides or {}).get("SECRET_KEY") or _secret_key(app.instance_path),
        SQLALCHEMY_DATABASE_URI=database_url(env.get("DATABASE_URL"), app.instance_path),
        REDIS_URL=env.get("REDIS_URL") or None,
        ARGON2_TIME_COST=int(env.get("WHARF_ARGON2_TIME_COST", 3)),
        ARGON2_MEMORY_COST=int(env.get("WHARF_ARGON2_MEMORY_KIB", 65536)),
        LOGIN_MAX_FAILURES=5,  # failed sign-ins per email+IP in the window
        LOGIN_MAX_FAILURES_PER_IP=20,  # failed sign-ins per IP in the window, whatever the email
        LOGIN_WINDOW_SECONDS=15 * 60,
        ACCESS_TOKEN_TTL_SECONDS=int(env.get("WHARF_ACCESS_TOKEN_TTL", 3600)),
        REFRESH_TOKEN_TTL_SECONDS=int(env.get("WHARF_REFRESH_TOKEN_TTL", 30 * 24 * 3600)),
        SESSION_LIFETIME_SECONDS=int(env.get("WHARF_SESSION_TTL", 12 * 3600)),
        SESSION_COOKIE_NAME="wharf_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=env.get("WHARF_SECURE_COOKIES", "0") == "1",
        WTF_CSRF_CHECK_DEFAULT=False,  # web.identity.csrf_guard decides (bearer calls are exempt)
        WTF_CSRF_TIME_LIMIT=None,  # tie the token to the session, not to the hour
        WTF_CSRF_HEADERS=["X-CSRFToken", "X-CSRF-Token"],
        MAX_CONTENT_LENGTH=int(env.get("WHARF_MAX_UPLOAD_BYTES", 16 * 1024 * 1024)),
        # Attachments: the upload route alone accepts bodies up to ATTACHMENTS_MAX_BYTES (413 beyond).
        ATTACHMENTS_ROOT=env.get("WHARF_ATTACHMENTS_ROOT") or None,  # default: instance/attachments
        # Storage of new tenants' default partitions: local (directories) or s3 (WHARF_S3_*).
        ATTACHMENTS_DRIVER=(env.get("WHARF_ATTACHMENTS_DRIVER") or "local").strip().lower(),
        S3_BUCKET=env.get("WHARF_S3_BUCKET") or None,
        S3_PREFIX=env.get("WHARF_S3_PREFIX") or None,
        S3_ENDPOINT_URL=env.get("WHARF_S3_ENDPOINT_URL") or None,  # unset: AWS
        S3_REGION=env.get("WHARF_S3_REGION") or None,
        ATTACHMENTS_MAX_BYTES=int(env.get("WHARF_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024)),
        ATTACHMENTS_MAX_IMAGE_PIXELS=int(env.get("WHARF_MAX_IMAGE_PIXELS", 50_000_000)),
        IMAGE_CACHE_MAX_BYTES=int(
            env.get("WHARF_IMAGE_CACHE_MAX_BYTES", 256 * 1024 * 1024)
        ),  # resized copies, all partitions
        IMAGE_TRANSFORMS_PER_MINUTE=int(
            env.get("WHARF_IMAGE_TRANSFORMS_PER_MINUTE", 30)
        ),  # anonymous cache misses per IP
        # Public directory lookups (tenant by id, organization by slug) per IP and minute.
        DIRECTORY_LOOKUPS_PER_MINUTE=int(env.get("WHARF_DIRECTORY_LOOKUPS_PER_MINUTE", 30)),
        PLANS_DEFAULT_QUOTA_MB=int(env.get("WHARF_DEFAULT_QUOTA_MB", 1024)),
        PROXY_COUNT=int(env.get("WHARF_PROXY_COUNT", 0)),
        # What GET /api/version and the OpenAPI document say: the release in VERSION, or the
        # deployment's own stamp (a build number, a commit).
        VERSION=(env.get("WHARF_VERSION") or "").strip() or (ROOT / "VERSION").read_text().strip(),
        # Links in emails are built from this origin, never from the request's Host header.
        PUBLIC_URL=(env.get("WHARF_PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/"),
        PASSWORD_RESET_TTL_SECONDS=int(env.get("WHARF_PASSWORD_RESET_TTL", 30 * 60)),
        PASSWORD_RESET_WINDOW_SECONDS=15 * 60,
        PASSWORD_RESET_MAX_PER_EMAIL=3,  # requests per email+IP in the window
        PASSWORD_RESET_MAX_PER_IP=10,  # requests per IP in the window, whatever the email
        PASSWORD_RESET_MAX_FAILURES=5,  # bad or expired tokens per IP in the window
        # Mail: SMTP when MAIL_SERVER is set, else one .eml file per message in MAIL_OUTBOX.
        MAIL_SERVER=env.get("MAIL_SERVER") or None,
        MAIL_PORT=int(env.get("MAIL_PORT", 25)),
        MAIL_USERNAME=env.get("MAIL_USERNAME") or None,
        MAIL_PASSWORD=env.get("MAIL_PASSWORD") or None,
        MAIL_USE_TLS=env.get("MAIL_USE_TLS", "0").strip().lower() in ("1", "true", "yes", "on"),  # STARTTLS
        MAIL_FROM=env.get("MAIL_FROM") or "Wharf <wharf@localhost>",
        MAIL_OUTBOX=env.get("MAIL_OUTBOX") or str(Path(app.instance_path) / "outbox"),
    )
    app.config["PERMANENT_SESSION_LIFETIME"] = app.config["SESSION_LIFETIME_SECONDS"]
    if overrides:
        app.config.update(overrides)
    # A server's connections can drop (restart, idle timeout): ping them on checkout. A SQLite
    # file cannot, and the ping would be one more statement on every request.
    public_url = app.config["PUBLIC_URL"]
    if not re.fullmatch(r"https?://[^/\s]+(/\S*)?", public_url or ""):
        # Fail at start, not when the first reset link is due (seed: a 500 at request time).
        raise RuntimeError(
            f"WHARF_PUBLIC_URL must be an http(s) URL such as https://wharf.example.com, not {public_url!r}"
        )
    if app.config["ATTACHMENTS_DRIVER"] not in ("local", "s3"):
        raise RuntimeError(f"WHARF_ATTACHMENTS_DRIVER must be local or s3, not {app.config['ATTACHMENTS_DRIVER']!r}")
    if app.config["ATTACHMENTS_DRIVER"] == "s3" and not app.config["S3_BUCKET"]:
        raise RuntimeError("WHARF_ATTACHMENTS_DRIVER=s3 needs WHARF_S3_BUCKET (and WHARF_S3_ENDPOINT_URL unless AWS)")
    is_sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": not is_sqlite})


def init_domain(app: Flask) -> None:
    """What runs on domain events and in the background, wired here and nowhere else: the
    business-rule engine listens to the domain events; the task runner is told which modules'
    task functions it runs (documents: labels, slips, batch PDFs; password resets: mail)."""
    from services import documents, password_reset, tasks
    from services.rules import listener

    listener.register()
    tasks.init_app(app, modules=(documents, password_reset))


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.json = WharfJSONProvider(app)
    load_config(app, config)
    if app.config["PROXY_COUNT"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_COUNT"], x_proto=app.config["PROXY_COUNT"])

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    init_identity(app)
    register_error_handlers(app)
    init_security_headers(app)

    from blueprints import register_blueprints

    register_blueprints(app)

    init_templating(app)
    init_i18n(app)
    init_contract(app)
    init_domain(app)

    access_log = logging.getLogger("wharf.request")

    @app.after_request
    def _finish(response):
        ref = request_id()
        response.headers["x-request-id"] = ref
        access_log.info("%s %s %s ref=%s", request.method, request.path, response.status_code, ref)
        return add_vary(response)

    from cli import register_cli

    register_cli(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return app
