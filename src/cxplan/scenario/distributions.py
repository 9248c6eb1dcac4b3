"""Distributions a scenario may give instead of a number (docs/model.md, "Uncertain
inputs"): what each kind means, its mean, the values it can take, and how a uniform
number in (0, 1) becomes a draw (its quantile function).

    failure_probability: {pert: [0.10, 0.20, 0.40]}
    cost: {lognormal: [40000, 65000], group: vendor-x}

Each kind is checked here against the field it stands in: a probability or reduction
(0..1) or an amount (0..1e15). Deterministic commands use the mean; `cxplan robust`
draws. Distributions sharing a `group` take one draw together (the same quantile of
each), so one vendor's claims are all optimistic or all pessimistic at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from cxplan.text import did_you_mean, shorten

AMOUNT_RANGE = (0.0, 1e15)  # the scenario format's range of amounts (models.NonNegative)
FRACTION_RANGE = (0.0, 1.0)
Z90 = 1.2815515655446004  # the standard normal's 90 % quantile: lognormal's p90
TRUNCATION_NOTED = 1e-3  # a normal losing more of its mass than this to its field's range
NEGLIGIBLE = 1e-9  # a lognormal losing less than this beyond 1e15 is not truncated at all

# kind -> (its parameters as written, for messages)
KINDS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "pert": ("low", "mode", "high"),
    "beta": ("alpha", "beta"),
    "lognormal": ("median", "p90"),
    "normal": ("mean", "sd"),
}
DIRICHLET = "dirichlet"
GROUP = "group"
DISTRIBUTION_KEYS = frozenset({*KINDS, DIRICHLET, GROUP})

Report = Callable[[tuple[str | int, ...], str, str | None], None]


@dataclass(frozen=True)
class Distribution:
    """One uncertain value: its kind, its parameters as written, and the range of the field
    it stands in (`low`..`high`). `group` names a shared draw."""

    kind: str
    parameters: tuple[float, ...]
    low: float
    high: float
    group: str | None = None

    def describe(self) -> str:
        """`pert(0.1, 0.2, 0.4)`, as a person would write it."""
        text = f"{self.kind}({', '.join(f'{p:g}' for p in self.parameters)})"
        return text + (f" in group '{self.group}'" if self.group else "")

    @property
    def constant(self) -> float | None:
        """The value of a distribution of zero width (uniform [a, a], ...), else None."""
        p = self.parameters
        if self.kind in ("uniform", "triangular", "pert") and p[0] == p[-1]:
            return p[0]
        if self.kind == "lognormal" and p[0] == p[1]:
            return p[0]
        if self.kind == "normal" and p[1] == 0:
            return p[0]
        return None

    @cached_property
    def _rv(self) -> Any:
        """The scipy distribution (built once; scipy is imported on first use)."""
        from scipy import stats

        p = self.parameters
        if self.kind == "uniform":
            rv = stats.uniform(loc=p[0], scale=p[1] - p[0])
        elif self.kind == "triangular":
            rv = stats.triang((p[1] - p[0]) / (p[2] - p[0]), loc=p[0], scale=p[2] - p[0])
        elif self.kind == "pert":
            alpha, beta = pert_shape(*p)
            rv = stats.beta(alpha, beta, loc=p[0], scale=p[2] - p[0])
        elif self.kind == "beta":
            rv = stats.beta(p[0], p[1])
        elif self.kind == "lognormal":
            rv = stats.lognorm(s=lognormal_sigma(p[0], p[1]), scale=p[0])
        else:  # normal, truncated to the field's range
            mean, sd = p
            rv = stats.truncnorm((self.low - mean) / sd, (self.high - mean) / sd, loc=mean,
                                 scale=sd)
        return rv

    @cached_property
    def mean(self) -> float:
        """The mean: what deterministic commands use."""
        constant = self.constant
        if constant is not None:
            return constant
        p = self.parameters
        if self.kind == "uniform":
            return (p[0] + p[1]) / 2
        if self.kind == "triangular":
            return (p[0] + p[1] + p[2]) / 3
        if self.kind == "pert":
            return (p[0] + 4 * p[1] + p[2]) / 6
        if self.kind == "beta":
            return p[0] / (p[0] + p[1])
        if self.kind == "lognormal":
            return min(p[0] * math.exp(lognormal_sigma(p[0], p[1]) ** 2 / 2), self.high)
        return float(self._rv.mean())

    @property
    def support(self) -> tuple[float, float]:
        """The smallest and largest value a draw can take."""
        constant = self.constant
        if constant is not None:
            return constant, constant
        p = self.parameters
        if self.kind in ("uniform", "triangular", "pert"):
            return p[0], p[-1]
        if self.kind == "beta":
            return 0.0, 1.0
        if self.kind == "lognormal":
            return 0.0, self.high
        return self.low, self.high

    def quantiles(self, u: np.ndarray) -> np.ndarray:
        """The draws for uniform numbers `u` in (0, 1): the quantile function at `u`."""
        constant = self.constant
        if constant is not None:
            return np.full(np.shape(u), constant)
        values: np.ndarray = np.clip(np.asarray(self._rv.ppf(u), dtype=float), self.low,
                                     self.high)
        return values  # rounding at the ends of the range


def pert_shape(low: float, mode: float, high: float) -> tuple[float, float]:
    """The beta shape of PERT(low, mode, high) (weight 4 on the mode)."""
    width = high - low
    return 1 + 4 * (mode - low) / width, 1 + 4 * (high - mode) / width


def lognormal_sigma(median: float, p90: float) -> float:
    """σ of the lognormal whose median and 90 % quantile are given."""
    return math.log(p90 / median) / Z90


@dataclass(frozen=True)
class DirichletShare:
    """An edge's concentration in the Dirichlet over its source's out-edges."""

    alpha: float


def parse_distribution(
    value: Mapping[Any, Any], where: tuple[str | int, ...], *, fraction: bool,
    edge: bool, report: Report, warn: Report,
) -> Distribution | DirichletShare | None:
    """The distribution written at `where` (a mapping where a number could be), or None
    after reporting what is wrong with it. `fraction`: the field is a probability or a
    reduction (0..1), else an amount. `edge`: the field is an edge's probability, which
    may also be a share of a Dirichlet."""
    kinds = [k for k in value if k != GROUP]
    allowed = [*KINDS, *([DIRICHLET] if edge else [])]
    if len(kinds) != 1 or kinds[0] not in (*KINDS, DIRICHLET):
        unknown = [k for k in kinds if k not in (*KINDS, DIRICHLET)]
        if unknown:
            message = (f"unknown distribution {shorten(unknown[0], 40)}"
                       f"{did_you_mean(str(unknown[0]), allowed)}")
        elif not kinds:
            message = "a distribution needs its kind"
        else:
            message = f"one distribution per value (got {', '.join(map(str, kinds))})"
        report(where, message, "write a number, or one of: " + ", ".join(
            f"{{{k}: [{', '.join(KINDS.get(k, ('concentration',)))}]}}" for k in allowed))
        return None
    kind = str(kinds[0])
    group = value.get(GROUP)
    if GROUP in value and (not isinstance(group, str) or not group.strip()
                           or len(group) > 200):
        report((*where, GROUP), "a group is a name (text)",
               "distributions with the same group name take one draw together")
        return None
    if kind == DIRICHLET:
        return _dirichlet(value[kind], where, edge=edge, grouped=GROUP in value, report=report)
    names = KINDS[kind]
    raw = value[kind]
    numbers = raw if isinstance(raw, list) else None
    if (numbers is None or len(numbers) != len(names)
            or not all(_is_number(n) for n in numbers)):
        report((*where, kind), f"{kind} takes [{', '.join(names)}] (got {shorten(raw)})",
               _example(kind, fraction))
        return None
    params = tuple(float(n) for n in numbers)
    if not all(math.isfinite(p) for p in params):
        report((*where, kind), "NaN and infinity are not allowed; write finite numbers", None)
        return None
    low, high = FRACTION_RANGE if fraction else AMOUNT_RANGE
    problem = _shape_problem(kind, params, fraction)
    if problem is not None:
        report((*where, kind), problem[0], problem[1])
        return None
    found = Distribution(kind, params, low, high, str(group) if group is not None else None)
    if kind in ("uniform", "triangular", "pert") and (params[0] < low or params[-1] > high):
        outside = params[0] if params[0] < low else params[-1]
        report((*where, kind), f"its values reach {outside:g}, outside the field's range "
               f"{_range(low, high)}", _range_hint(fraction))
        return None
    if kind == "lognormal" and found.constant is None:
        beyond = float(found._rv.sf(high))
        if beyond > NEGLIGIBLE:
            report((*where, kind), f"{beyond:.3g} of its draws lie beyond {high:g}, the "
                   "largest amount the format takes", "check the median and the p90: a "
                   "p90 many times the median is a very wide distribution")
            return None
    if kind == "normal":
        mean, sd = params
        if not low <= mean <= high:
            report((*where, kind), f"its mean {mean:g} is outside the field's range "
                   f"{_range(low, high)}", _range_hint(fraction))
            return None
        if sd > 0:
            from scipy import stats

            lost = float(stats.norm.cdf((low - mean) / sd) + stats.norm.sf((high - mean) / sd))
            if lost > TRUNCATION_NOTED:
                warn(where,
                     f"normal({mean:g}, {sd:g}) is truncated to the field's range "
                     f"{_range(low, high)} ({100 * lost:.3g} % of it lay outside): its mean "
                     f"is {found.mean:.6g}, not {mean:g}",
                     "a narrower sd, or pert/triangular/beta, stays inside the range")
    return found


def looks_like_distribution(value: Any) -> bool:
    """Whether `value` is written as a distribution (a mapping of one kind, and perhaps a
    group): a variant's distribution replaces the base's whole, it is not merged into it."""
    return (isinstance(value, dict) and bool(value) and set(value) <= DISTRIBUTION_KEYS
            and any(key != GROUP for key in value))


def _dirichlet(raw: Any, where: tuple[str | int, ...], *, edge: bool, grouped: bool,
               report: Report) -> DirichletShare | None:
    if not edge:
        report(where, "a Dirichlet is for a touchpoint's outgoing edges",
               "write {dirichlet: concentration} as the probability of each edge out of one "
               "touchpoint (journey.edges); other values take uniform, pert, ...")
        return None
    if grouped:
        report((*where, GROUP), "a Dirichlet share cannot be in a group",
               "the edges out of one touchpoint are drawn together already")
        return None
    if not _is_number(raw) or not math.isfinite(float(raw)) or float(raw) <= 0:
        report((*where, DIRICHLET), f"a Dirichlet concentration is a number above 0 "
               f"(got {shorten(raw)})", "for example {dirichlet: 40}: the count of customers "
               "seen taking this edge")
        return None
    return DirichletShare(float(raw))


def _shape_problem(kind: str, p: tuple[float, ...], fraction: bool) -> tuple[str, str] | None:
    """(message, hint) when the parameters do not make a distribution of this kind."""
    if kind == "uniform" and p[0] > p[1]:
        return f"low {p[0]:g} is above high {p[1]:g}", "write [low, high]"
    if kind in ("triangular", "pert"):
        if p[0] > p[2]:
            return f"low {p[0]:g} is above high {p[2]:g}", "write [low, mode, high]"
        if not p[0] <= p[1] <= p[2]:
            return (f"mode {p[1]:g} is outside [{p[0]:g}, {p[2]:g}]",
                    "the mode (the likeliest value) lies between low and high")
    if kind == "beta":
        if not fraction:
            return ("beta draws a share from 0 to 1: it is for probabilities and reductions",
                    "for amounts use lognormal, pert, triangular, uniform or normal")
        for name, value in zip(("alpha", "beta"), p, strict=True):
            if value <= 0:
                return (f"{name} must be above 0 (got {value:g})",
                        "beta [alpha, beta] has the mean alpha / (alpha + beta); e.g. [2, 8]")
    if kind == "lognormal":
        if fraction:
            return ("lognormal is for amounts (costs, impacts, customers)",
                    "for probabilities and reductions use beta, pert, triangular or uniform")
        if p[0] <= 0:
            return f"the median must be above 0 (got {p[0]:g})", _example(kind, fraction)
        if p[1] < p[0]:
            return (f"the p90 {p[1]:g} is below the median {p[0]:g}",
                    "the p90 is the value 9 draws in 10 stay under: at least the median")
    if kind == "normal" and p[1] < 0:
        return f"the sd must not be negative (got {p[1]:g})", _example(kind, fraction)
    return None


def _example(kind: str, fraction: bool) -> str:
    examples = {"uniform": "[0.1, 0.3]" if fraction else "[40000, 60000]",
                "triangular": "[0.1, 0.2, 0.4]" if fraction else "[40000, 50000, 80000]",
                "pert": "[0.1, 0.2, 0.4]" if fraction else "[40000, 50000, 80000]",
                "beta": "[2, 8]", "lognormal": "[50000, 80000] (median, p90)",
                "normal": "[0.2, 0.05]" if fraction else "[50000, 8000] (mean, sd)"}
    return f"for example {{{kind}: {examples[kind]}}}"


def _range(low: float, high: float) -> str:
    return f"{low:g}..{'1e15' if high == AMOUNT_RANGE[1] else f'{high:g}'}"


def _range_hint(fraction: bool) -> str:
    return ("probabilities and reductions are between 0 and 1" if fraction
            else "amounts are between 0 and 1e15")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True
