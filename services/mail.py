"""Outgoing mail: ``send(to, subject, text)``, with the transport chosen by configuration.

- ``MAIL_SERVER`` set: SMTP through the standard library (``MAIL_PORT``; ``MAIL_USE_TLS``
  upgrades the connection with STARTTLS; ``MAIL_USERNAME``/``MAIL_PASSWORD`` log in).
  Delivery runs on a small background thread pool, so a request never waits for the mail
  server nor fails because it is down — which also keeps a password reset for a real
  account as fast as one for an unknown address. Failures are logged.
- otherwise: a file outbox, one ``.eml`` file per message in ``MAIL_OUTBOX``
  (``instance/outbox`` by default), written before ``send`` returns. Development and the
  tests read it; the files hold live links, so they are readable by the owner only.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from flask import current_app

from models import utcnow

log = logging.getLogger("wharf.mail")

SMTP_TIMEOUT_SECONDS = 20
_SETTINGS = ("MAIL_SERVER", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS", "MAIL_FROM", "MAIL_OUTBOX")


class MailError(Exception):
    """The message could not be handed to its transport."""


def send(to: str, subject: str, text: str) -> Future:
    """Send a plain-text message to ``to``; the returned future completes when it is
    delivered (at once for the outbox, after the SMTP exchange otherwise)."""
    settings = {k: current_app.config.get(k) for k in _SETTINGS}
    message = build_message(settings["MAIL_FROM"], to, subject, text)
    if settings["MAIL_SERVER"]:
        return _executor().submit(_deliver_smtp, settings, message)
    done: Future = Future()
    done.set_result(write_outbox(Path(settings["MAIL_OUTBOX"]), message))
    return done


def build_message(sender: str, to: str, subject: str, text: str) -> EmailMessage:
    """A UTF-8 text message. Header values with line breaks are refused (header injection)."""
    msg = EmailMessage()
    try:
        msg["From"] = sender
        msg["To"] = to
        msg["Subject"] = subject
    except ValueError as e:
        raise MailError(f"Invalid mail header: {e}") from None
    msg["Date"] = formatdate(usegmt=True)
    # Named after the sender's domain: make_msgid() alone would look up this host's FQDN.
    msg["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or "localhost")
    # 7bit/8bit, not the quoted-printable set_content picks for long lines: links stay whole
    # in the raw message (and the outbox file), and every current mail server takes 8bit.
    msg.set_content(text, cte="7bit" if text.isascii() else "8bit")
    return msg


# --- transports ----------------------------------------------------------------------------------


def write_outbox(outbox: Path, message: EmailMessage) -> Path:
    """Write ``message`` as ``<time>-<random>.eml`` (names sort by time; complete files only)."""
    try:
        outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
        tmp = outbox / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(message.as_bytes())
        os.replace(tmp, outbox / name)
    except OSError as e:
        raise MailError(f"Cannot write to the mail outbox {outbox}: {e}") from e
    log.info("mail to %s written to %s", message["To"], outbox / name)
    return outbox / name


def _deliver_smtp(settings: dict, message: EmailMessage) -> None:
    try:
        with smtplib.SMTP(settings["MAIL_SERVER"], settings["MAIL_PORT"], timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if settings["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if settings["MAIL_USERNAME"]:
                smtp.login(settings["MAIL_USERNAME"], settings["MAIL_PASSWORD"] or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as e:
        log.error("mail to %s via %s:%s failed: %s", message["To"], settings["MAIL_SERVER"], settings["MAIL_PORT"], e)
        raise MailError(str(e)) from e
    log.info("mail to %s sent via %s", message["To"], settings["MAIL_SERVER"])


_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """This process's delivery threads (a forked worker starts its own)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=2, thread_name_prefix="wharf-mail"))
        return _pool[1]
