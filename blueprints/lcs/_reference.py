"""What the reference-data views (locations, methods, products) share."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from web.contract import submitted


def with_blanks(body: BaseModel) -> BaseModel:
    """A form shows every field of the record, so a field it posts blank means "clear it";
    the contract reads a blank non-text value as not sent. JSON bodies are left as they are."""
    fields = type(body).model_fields
    posted = {key.split(".", 1)[0] for key in submitted()}
    blank = {
        name: None
        for name in posted & fields.keys() - body.model_fields_set
        if type(None) in typing.get_args(fields[name].annotation)
    }
    return body.model_copy(update=blank)
