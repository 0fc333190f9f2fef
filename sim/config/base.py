"""What every config model shares: unknown keys are errors, numbers are finite, and bad
input is a :class:`ConfigError` whose message is meant for the user."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegInt = Annotated[int, Field(ge=0)]


class ConfigError(ValueError):
    """Bad input: the message is meant for the user, complete and without a traceback."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)

    def __getitem__(self, key: str) -> Any:
        """Dict-like reading, ``cfg["workload"]["rate"]``, as when results held a dict."""
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """Dict-like ``get``: the field's value, or ``default`` for a name that is no key."""
        return getattr(self, key) if key in type(self).model_fields else default
