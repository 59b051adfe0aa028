"""What people see of a refused form: the form again, its messages per field and as one
sentence, and what they typed."""

from __future__ import annotations

from flask import request
from markupsafe import Markup, escape

from schemas.lcs_reference import nested
from services.errors import DomainError
from web.negotiate import respond

SHOWN_AGAIN = (400, 409, 422)  # refusals a person can fix; others (404, 403) go to the error page


def field_errors(details: list[dict]) -> dict[str, list[str]]:
    """Messages keyed by the dotted path of the field they concern (``name``,
    ``address.city``, ``barcodes.0``); ``_`` for the body as a whole."""
    out: dict[str, list[str]] = {}
    for d in details:
        key = ".".join(str(p) for p in d["path"]) if d.get("path") else "_"
        out.setdefault(key, []).append(d["message"])
    return out


def field_error(errors: dict | None, name: str) -> Markup:
    """``{{ field_error(errs, "address.city") }}``: the messages of a field and of its
    parts (``barcodes`` shows ``barcodes.0``'s), under its input."""
    messages = [m for key, ms in (errors or {}).items() if key == name or key.startswith(name + ".") for m in ms]
    return Markup("").join(Markup('<small class="field-error">{}</small>').format(escape(m)) for m in messages)


def show_again(
    template: str,
    block: str = "content",
    *,
    context=None,
    message=None,
    status: int | None = 422,
    statuses: tuple[int, ...] | None = SHOWN_AGAIN,
):
    """A ``form_error`` hook (``@operation(form_error=show_again(...))``): the form again
    as ``block`` of ``template``, with ``error`` (the message), ``errors`` (per field) and
    ``form`` (what the person typed, dotted names nested). ``context(**view_args)`` gives
    the rest the block needs (the list around the form, the record being edited; None:
    there is no form to show). ``message(error)`` words ``error`` (default: its message).
    A refusal outside ``statuses`` (None: every refusal is shown) — one a person cannot fix
    by editing the form (the record is gone) — is raised on to the error page. ``status``
    None answers with the refusal's own status and headers (401, 429 with Retry-After)."""

    def hook(error: DomainError, form: dict):
        if statuses is not None and error.status not in statuses:
            raise error
        ctx = context(**(request.view_args or {})) if context is not None else {}
        if ctx is None:
            raise error
        return respond(
            None,
            template=template,
            block=block,
            status=status or error.status,
            headers=None if status else error.headers,
            context={
                **ctx,
                "error": message(error) if message else error.message,
                "errors": field_errors(error.details),
                "form": nested(form),
            },
        )

    return hook


def form_message(error) -> str:
    """A refused form's message for people: "title is required, code must …" rather than
    the API's summary of the first problem."""
    if not error.details:
        return error.message
    return ", ".join(
        f"{'.'.join(str(p) for p in d['path'])} {'is required' if d.get('kind') == 'required' else d['message']}"
        for d in error.details
    )
