"""What a scanner typed, as the pick station and the pack station both read it."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

_SCANNER_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1c\x1e\x1f\x7f]")  # GS (\x1d) ends GS1 fields


def _scannable(value: str) -> str:
    if _SCANNER_CONTROL.search(value):
        raise ValueError("must not contain control characters other than GS")
    if not value.strip():
        raise ValueError("is required")
    return value


ScannedCode = Annotated[str, Field(max_length=500), AfterValidator(_scannable)]
