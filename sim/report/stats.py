"""Aggregation across replications: means and 95% confidence intervals (Student t)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..check import COUNT_COLUMNS, RATE_COLUMNS

#: Two-sided 95% Student t quantiles for 1..30 degrees of freedom.
# fmt: off
T95: tuple[float, ...] = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)
# fmt: on
_Z = 1.959963984540054


def t95(df: int) -> float:
    """Two-sided 95% Student t quantile: the table to 30 degrees of freedom, then the
    Cornish-Fisher expansion (within 0.001 of the exact value from there on)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(T95):
        return T95[df - 1]
    z = _Z
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def mean_ci(values: np.ndarray | pd.Series) -> tuple[float, float]:
    """Mean and the half-width of its 95% confidence interval (NaN with fewer than 2 values)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return math.nan, math.nan
    if len(x) < 2:
        return float(x.mean()), math.nan
    return float(x.mean()), t95(len(x) - 1) * float(x.std(ddof=1)) / math.sqrt(len(x))


def aggregate(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, strategy, group): for every count, rate and latency column its mean across
    replications (``<col>``) and the half-width of the 95% CI (``<col>_ci95``); ``n`` replications.

    Swept parameters (the columns between ``cell`` and ``strategy``) are kept.
    """
    if summary.empty:
        return pd.DataFrame()
    cols = list(summary.columns)
    swept = []
    if "cell" in cols and "strategy" in cols:
        swept = cols[cols.index("cell") + 1 : cols.index("strategy")]
    keys = [c for c in ("experiment", "cell", *swept, "strategy", "group") if c in cols]
    metrics = [c for c in (*COUNT_COLUMNS, *RATE_COLUMNS) if c in cols]
    rows = []
    for key, group in summary.groupby(keys, sort=False, dropna=False):
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row["n"] = len(group)
        for c in metrics:
            mean, half = mean_ci(group[c])
            row[c] = mean
            row[f"{c}_ci95"] = half
        rows.append(row)
    return pd.DataFrame(rows)
