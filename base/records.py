"""The base of every typed record passed between packages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    """Base for records: unknown fields are an error, not silently kept."""

    model_config = ConfigDict(extra="forbid")
