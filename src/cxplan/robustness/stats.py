"""Figures over a sample of draws, each with its standard error: shares with binomial
confidence intervals, a gain distribution's mean, spread and quantiles, and the CVaR (the
mean of the worst share of draws)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
Z = 1.959963984540054  # the standard normal's 97.5 % quantile: 95 % two-sided
QUANTILES = {"p5": 0.05, "p10": 0.10, "p50": 0.50, "p90": 0.90, "p95": 0.95}
TAIL_DRAWS = 10  # draws beyond a quantile (or in a CVaR's tail) for a figure worth reading


@dataclass(frozen=True)
class Share:
    """`count` of `total` draws, with the exact (Clopper–Pearson) 95 % interval."""

    count: int
    total: int

    @property
    def value(self) -> float:
        return self.count / self.total if self.total else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        from scipy.stats import binomtest

        if not self.total:
            return 0.0, 1.0
        ci = binomtest(self.count, self.total).proportion_ci(CONFIDENCE, method="exact")
        return float(ci.low), float(ci.high)

    @property
    def standard_error(self) -> float:
        p = self.value
        return math.sqrt(p * (1 - p) / self.total) if self.total else 0.0


def spread(values: np.ndarray) -> float:
    """The sample standard deviation; exactly 0 for equal values (numpy's mean of equal
    numbers may differ from them in the last bit, and the sd with it)."""
    if len(values) < 2 or np.ptp(values) == 0:
        return 0.0
    return float(np.std(values, ddof=1))


def mean_interval(values: np.ndarray) -> tuple[float, float, float]:
    """(mean, low, high): the mean with its normal 95 % interval."""
    mean = float(np.mean(values))
    half = Z * standard_error(values)
    return mean, mean - half, mean + half


def standard_error(values: np.ndarray) -> float:
    """Of the mean: sd / √n."""
    n = len(values)
    return spread(values) / math.sqrt(n) if n > 1 else 0.0


def quantile_error(values: np.ndarray, p: float) -> float:
    """The standard error of the p-quantile, read off its distribution-free interval: the
    order statistics n·p ± z·√(n·p·(1 − p)) span about 2z standard errors."""
    n = len(values)
    if n < 2:
        return 0.0
    ordered = np.sort(values)
    spread = Z * math.sqrt(n * p * (1 - p))
    low = int(max(math.floor(n * p - spread), 0))
    high = int(min(math.ceil(n * p + spread), n - 1))
    return float((ordered[high] - ordered[low]) / (2 * Z))


def cvar(values: np.ndarray, alpha: float) -> float:
    """The mean of the worst `alpha` share of the draws (a fractional draw counts in part):
    max over η of η − Σ (η − g)⁺ / (alpha·n), the form the robust MILP maximizes."""
    ordered = np.sort(np.asarray(values, dtype=float))
    n = len(ordered)
    k = alpha * n
    whole = math.floor(k + 1e-9)
    total = float(ordered[:whole].sum())
    if whole < n and k - whole > 1e-9:
        total += (k - whole) * float(ordered[whole])
    return total / k


def distribution(values: np.ndarray) -> dict[str, float]:
    """mean, sd and the quantiles of QUANTILES."""
    result = {"mean": float(np.mean(values)), "sd": spread(values)}
    for name, p in QUANTILES.items():
        result[name] = float(np.quantile(values, p))
    return result


def distribution_errors(values: np.ndarray) -> dict[str, float]:
    """The standard error of each figure of `distribution`."""
    n = len(values)
    sd = spread(values)
    errors = {"mean": standard_error(values),
              "sd": sd / math.sqrt(2 * (n - 1)) if n > 1 else 0.0}
    for name, p in QUANTILES.items():
        errors[name] = quantile_error(values, p)
    return errors


def too_few(samples: int, shares: dict[str, float]) -> list[str]:
    """The figures (by name) whose tail holds fewer than TAIL_DRAWS draws of `samples`."""
    return [name for name, p in shares.items() if samples * min(p, 1 - p) < TAIL_DRAWS]
