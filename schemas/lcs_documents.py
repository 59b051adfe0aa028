"""Printing (spec/documents.md): the parameters of the label, slip and pick-list requests
and downloads (``blueprints/lcs/documents.py``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.base import Model

SlipSize = Literal["a4", "a5"]


class SlipRequestQuery(Model):
    """``POST /lcs/parcels/{id}/slip``: the seed sends no body; Wharf takes the paper size."""

    size: SlipSize = Field("a4", description="Paper size of the packing slip")


class DocumentQuery(Model):
    """A document download: the PDF, or with ``format=html`` the HTML it is rendered from
    (what tests and template authors look at; the same data the PDF shows)."""

    format: Literal["pdf", "html"] = "pdf"


class SlipQuery(DocumentQuery):
    """``size`` renders the slip now on that paper instead of serving the stored one."""

    size: SlipSize | None = None
