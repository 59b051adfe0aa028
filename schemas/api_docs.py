"""The API's own description (seed 000 "API Documentation", line ~2105)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from schemas.base import Model


class VersionInfo(Model):
    version: str = Field(description="The deployed Wharf version (WHARF_VERSION when set, else the release)")

    model_config = ConfigDict(json_schema_extra={"examples": [{"version": "0.19.0"}]})
