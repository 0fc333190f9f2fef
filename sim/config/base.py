"""What every config model shares: unknown keys are errors, numbers are finite, numbers are
numbers and booleans booleans, and bad input is a :class:`ConfigError` whose message is meant
for the user.

Pydantic's lax mode would read ``replications: true`` as 1 and ``duration: "5"`` as 5. The
number types here refuse a boolean or a string where a number belongs (an integer field also
takes a whole float, ``keys: 1e6``), and ``Bool`` takes only true/false.
"""

from __future__ import annotations

import numbers
import sys
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

LARGEST_FLOAT = int(sys.float_info.max)
LARGEST_INT = 2**63 - 1
"""Whole numbers in a config fit a 64-bit integer (they end up in int64 columns)."""


def _real(value: Any, noun: str = "a number", whole: bool = False) -> Any:
    """A number (int or float, numpy's too), never a boolean or a string."""
    if isinstance(value, bool) or isinstance(value, str | bytes):
        raise PydanticCustomError(
            "number_type", "must be {noun}, not {what}", {"noun": noun, "what": _what(value)}
        )
    if isinstance(value, int) and not whole and abs(value) > LARGEST_FLOAT:
        raise PydanticCustomError(
            "number_too_big",
            "{value} is past the largest number msgsim takes (about 1.8e+308)",
            {"value": magnitude(value)},
        )
    if isinstance(value, numbers.Real) and not isinstance(value, float | int):
        return float(value)  # numpy scalars
    return value


def _whole(value: Any) -> Any:
    """A whole number: an int, or a float with no fraction (``1e6``), below 2^63; never a
    boolean."""
    value = _real(value, "a whole number (an integer)", whole=True)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, numbers.Integral):
        if abs(int(value)) > LARGEST_INT:
            raise PydanticCustomError(
                "int_too_big",
                "{value} is larger than any whole number msgsim takes (at most 2^63 - 1)",
                {"value": magnitude(int(value))},
            )
        return int(value)
    return value


def magnitude(n: int) -> str:
    """``n`` for a message, short even for a number of 400 digits (past the largest float)."""
    digits = str(abs(n))
    return ("-" if n < 0 else "") + (
        digits if len(digits) <= 20 else f"{digits[0]}e+{len(digits) - 1}"
    )


def _boolean(value: Any) -> Any:
    if not isinstance(value, bool):
        raise PydanticCustomError(
            "bool_type", "must be true or false, not {what}", {"what": _what(value)}
        )
    return value


def _what(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return "a string"
        return "a string (write the number without quotes)"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


Float = Annotated[float, BeforeValidator(_real)]
Int = Annotated[int, BeforeValidator(_whole)]
Bool = Annotated[bool, BeforeValidator(_boolean)]
NonNegFloat = Annotated[float, BeforeValidator(_real), Field(ge=0.0)]
PosFloat = Annotated[float, BeforeValidator(_real), Field(gt=0.0)]
PosInt = Annotated[int, BeforeValidator(_whole), Field(gt=0)]
NonNegInt = Annotated[int, BeforeValidator(_whole), Field(ge=0)]
Probability = Annotated[float, BeforeValidator(_real), Field(ge=0.0, le=1.0)]


def locate(origin: str, lines: dict[tuple[Any, ...], int], key: str) -> str:
    """``FILE, line N, key K`` (the line when known) for a message about ``key``."""
    parts = [int(p) if p.isdigit() else p for p in key.split(".")]
    line = None
    for cut in range(len(parts), 0, -1):  # a YAML key may hold dots: sweep paths, link patterns
        rest = ".".join(str(p) for p in parts[cut - 1 :])
        line = lines.get((*parts[: cut - 1], parts[cut - 1] if cut == len(parts) else rest))
        if line:
            break
    return f"{origin}, line {line}, key {key}" if line else f"{origin}, key {key}"


class ConfigError(ValueError):
    """Bad input: the message is meant for the user, complete and without a traceback."""


class ConfigWarning(UserWarning):
    """Input that runs but probably does not do what was meant (a fault after the end of the
    run, arrivals after ``duration``). The message names the file, line and key."""


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
