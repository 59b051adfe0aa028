"""Links to the records a page names (a file's record, a rule run's record): the label a
person reads (S-000007, an SSCC, HL-000002) and the record's page when the caller may open it."""

from __future__ import annotations

from flask import url_for

from services import record_labels


def record_links(actor, refs) -> dict:
    """``{(entity type, record id): (label, url or None)}`` for ``refs``, resolved in one query."""
    found = record_labels.resolve(actor, refs)
    return {
        key: (r.label, url_for(r.endpoint, **r.args) if actor.grants.allows([r.feature]) else None)
        for key, r in found.items()
    }
