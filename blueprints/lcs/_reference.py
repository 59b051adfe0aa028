"""What the reference-data views (locations, methods, products) share."""
from __future__ import annotations

import typing

from pydantic import BaseModel

from services.errors import DomainError
from web.contract import submitted

PAGED = {"x-count": "Total number of items", "x-page": "This page", "x-page-size": "Items per page"}


def field_messages(e: DomainError, *, by_field: bool = False) -> dict[str, str]:
    """Path → message for the forms (``address.city``, ``countries.0.code``), or with
    ``by_field`` the field it belongs to (``barcodes``)."""
    out: dict[str, str] = {}
    for d in e.details:
        path = [str(p) for p in d.get("path", [])]
        if path:
            out.setdefault(path[0] if by_field else ".".join(path), d.get("message", ""))
    return out


def with_blanks(body: BaseModel) -> BaseModel:
    """A form shows every field of the record, so a field it posts blank means "clear it";
    the contract reads a blank non-text value as not sent. JSON bodies are left as they are."""
    fields = type(body).model_fields
    posted = {key.split(".", 1)[0] for key in submitted()}
    blank = {name: None for name in posted & fields.keys() - body.model_fields_set
             if type(None) in typing.get_args(fields[name].annotation)}
    return body.model_copy(update=blank)


def form_refusal(render):
    """A ``form_error`` hook: an invalid or refused form (400, 409, 422) is shown again by
    ``render``; anything else (the record is gone: 404) goes to the error page."""
    def hook(error: DomainError, form: dict):
        if error.status not in (400, 409, 422):
            raise error
        return render(error, form)
    return hook
