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


class EmailAddress:
    """WTForms validator using the same email check as the domain services."""

    def __init__(self, message: str = "must be an email address"):
        self.message = message

    def __call__(self, form, field) -> None:
        if field.data and not auth.is_email(field.data):
            raise ValidationError(self.message)
