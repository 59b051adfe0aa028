"""What people see of a refused form: its messages per field and as one sentence."""
from __future__ import annotations


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
