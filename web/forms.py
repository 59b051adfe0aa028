"""Form validation shared by HTML and JSON callers."""
from __future__ import annotations

from wtforms.validators import ValidationError

from services import auth
from services.errors import ValidationFailed


def form_details(form) -> list[dict]:
    return [{"path": [name], "message": msg} for name, msgs in form.errors.items() for msg in msgs]


def validate(form) -> None:
    """Raise ``ValidationFailed`` with per-field details when ``form`` does not validate."""
    if not form.validate():
        raise ValidationFailed(details=form_details(form))


def field_errors(details: list[dict]) -> dict[str, list[str]]:
    """Details keyed by top-level field name, for templates that show errors per input."""
    out: dict[str, list[str]] = {}
    for d in details:
        key = str(d["path"][0]) if d.get("path") else "_"
        out.setdefault(key, []).append(d["message"])
    return out


def form_message(error) -> str:
    """A refused form's message for people: "title is required, code must …" rather than
    the API's summary of the first problem."""
    if not error.details:
        return error.message
    return ", ".join(f"{'.'.join(str(p) for p in d['path'])} "
                     f"{'is required' if d.get('kind') == 'required' else d['message']}" for d in error.details)


class EmailAddress:
    """WTForms validator using the same email check as the domain services."""

    def __init__(self, message: str = "must be an email address"):
        self.message = message

    def __call__(self, form, field) -> None:
        if field.data and not auth.is_email(field.data):
            raise ValidationError(self.message)


def request_data() -> dict:
    """The request body as a dict: JSON object, or form fields (repeated fields as lists).

    Malformed or non-object JSON is a 400 in the module's envelope, never a 500.
    """
    from flask import request

    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValidationFailed("Request body must be a JSON object")
        return data
    out: dict = {}
    for key in request.form:
        if key == "csrf_token":
            continue
        values = request.form.getlist(key)
        out[key] = values if len(values) > 1 or key.endswith("[]") else values[0]
    return {k.removesuffix("[]"): v for k, v in out.items()}


def request_fields() -> dict:
    """``request_data`` with a form's repeated fields collapsed to their last value (a
    hidden "false" before a checkbox); a JSON body is returned as sent, lists included."""
    from flask import request

    data = request_data()
    if request.is_json:
        return data
    return {k: (v[-1] if isinstance(v, list) and v else v) for k, v in data.items()}


def as_list(value) -> list:
    """A form field that may arrive as one value, several, or not at all."""
    values = value if isinstance(value, list) else [value]
    return [v for v in values if v is not None and v != ""]


def as_bool(value) -> bool:
    """Checkbox semantics; with a hidden "false" before the checkbox the last value wins."""
    if isinstance(value, list):
        value = value[-1] if value else None
    return value is True or str(value).lower() in ("1", "true", "on", "yes")


def request_json(kind: type = dict):
    """A JSON body that must be ``kind`` (dict or list): malformed or other shapes → 400."""
    from flask import request

    data = request.get_json(silent=True) if request.is_json else None
    if not isinstance(data, kind):
        shape = "object" if kind is dict else "array"
        raise ValidationFailed(f"Request body must be a JSON {shape}",
                               details=[{"path": ["body"], "message": f"must be a JSON {shape}", "kind": "invalid value"}])
    return data
