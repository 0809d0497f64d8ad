"""The base of every contract model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    """A pydantic model that builds its validator on first use, not at import: a CLI command
    imports every model it might need and validates only the few it sends and reads."""

    model_config = ConfigDict(defer_build=True)
