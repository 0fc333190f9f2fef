"""Distributions of durations (latency, processing time, fault length), as config models.

A config writes ``{dist: exponential, mean: 0.001}`` or a bare number (a constant). Every
distribution is non-negative: ``normal`` is truncated at zero, as a duration must be.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_validator
from pydantic.functional_validators import BeforeValidator
from pydantic_core import PydanticCustomError

from .draws import scaled_exponential

NonNegFloat = Annotated[float, Field(ge=0)]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

    def sample(self, rng: np.random.Generator) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def sampler(self, rng: np.random.Generator) -> Callable[[], float]:
        """A fast draw function bound to ``rng`` (the hot path of the network uses this)."""
        return partial(self.sample, rng)

    @property
    def mean_value(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


class Constant(_Dist):
    dist: Literal["constant"] = "constant"
    value: NonNegFloat

    def sample(self, rng: np.random.Generator) -> float:
        return self.value

    def sampler(self, rng: np.random.Generator) -> Callable[[], float]:
        value = self.value
        return lambda: value  # no draw: a constant consumes no random numbers

    @property
    def mean_value(self) -> float:
        return self.value


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: NonNegFloat
    high: NonNegFloat

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    @property
    def mean_value(self) -> float:
        return (self.low + self.high) / 2


class Exponential(_Dist):
    dist: Literal["exponential"]
    mean: NonNegFloat

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.exponential(self.mean)) if self.mean > 0 else 0.0

    def sampler(self, rng: np.random.Generator) -> Callable[[], float]:
        if self.mean <= 0:
            return lambda: 0.0
        return scaled_exponential(rng, self.mean)

    @property
    def mean_value(self) -> float:
        return self.mean


class Normal(_Dist):
    dist: Literal["normal"]
    mean: float
    sd: NonNegFloat

    def sample(self, rng: np.random.Generator) -> float:
        return max(0.0, float(rng.normal(self.mean, self.sd)))

    @property
    def mean_value(self) -> float:
        return max(0.0, self.mean)


class LogNormal(_Dist):
    """Log-normal with the given *mean of the distribution* and log-scale ``sigma``."""

    dist: Literal["lognormal"]
    mean: PositiveFloat
    sigma: NonNegFloat

    def sample(self, rng: np.random.Generator) -> float:
        mu = math.log(self.mean) - self.sigma**2 / 2
        return float(rng.lognormal(mu, self.sigma))

    @property
    def mean_value(self) -> float:
        return self.mean


class Pareto(_Dist):
    """Pareto (type I): ``scale`` is the minimum, ``shape`` the tail index."""

    dist: Literal["pareto"]
    scale: PositiveFloat
    shape: PositiveFloat

    def sample(self, rng: np.random.Generator) -> float:
        return float(self.scale * (1.0 + rng.pareto(self.shape)))

    @property
    def mean_value(self) -> float:
        return self.scale * self.shape / (self.shape - 1) if self.shape > 1 else math.inf


def _bare_number(value: Any) -> Any:
    """A bare number is a constant; a boolean or a string (even "0.5") is an error."""
    if isinstance(value, bool | str):
        what = "a boolean" if isinstance(value, bool) else "a string"
        raise PydanticCustomError(
            "distribution_type",
            "a distribution is a number (a constant) or a mapping such as {example}, not {what}",
            {"what": what, "example": "{dist: exponential, mean: 0.001}"},
        )
    if isinstance(value, int | float):
        return {"dist": "constant", "value": value}
    return value


Distribution = Annotated[
    Annotated[
        Constant | Uniform | Exponential | Normal | LogNormal | Pareto,
        Field(discriminator="dist"),
    ],
    BeforeValidator(_bare_number),
]
