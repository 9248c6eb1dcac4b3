"""Shapley values: each funded improvement's fair share of the plan's gain.

The order-based parts of `cxplan.core.ranking` add up to the gain but depend on the
order: the first of two improvements on the same touchpoint takes most of their joint
effect. The Shapley value averages an improvement's incremental gain over every order
in which the funded improvements could be added (the value of a coalition is the exact
gain of that subset, the plan's constraints ignored), so it does not depend on the
listing, and the values still add up to the plan's gain.

Exact (every subset, `CoalitionValues`) up to `EXACT_LIMIT` funded improvements, when
every subset fits in half the time budget (`Game.seconds_per_subset`). Otherwise
orders are sampled — each with its reverse, which halves the error of improvements that
compete — until the time budget, `MAX_ORDERS`, or every standard error is at most
`PRECISION` of the gain; each value then carries its standard error, and the values
still add up to the gain exactly (each order's parts do). A plan whose orders would take
too long to sample gets no Shapley values and a warning, decided
from the estimate before any order is sampled: on a 5 000-touchpoint journey one order of
1 000 funded improvements is about 1 000 full evaluations, seconds on its own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from cxplan.core.coalitions import CoalitionValues
from cxplan.core.journey import Journey
from cxplan.core.results import Plan

EXACT_LIMIT = 16  # funded improvements up to which every subset may be evaluated (2¹⁶)
MAX_ORDERS = 2000  # sampled orders at most (pairs of an order and its reverse)
MIN_ORDERS = 20  # fewer sampled orders than this in the time budget: not worth showing
# Sampling stops early once every value's standard error is at most this share of the
# plan's gain: far below what a report shows (and the budget is the command's time).
PRECISION = 1e-4
TIME_BUDGET = 1.0  # seconds for the values of one plan, by default (a plan solves in ~1 s)
EXACT_SHARE = 0.5  # exact when every subset is estimated to take at most this share of
# the time budget (`Game.seconds_per_subset`); sampled otherwise

FloatArray = np.ndarray


@dataclass(frozen=True)
class ShapleyValues:
    """The Shapley value of each funded improvement, in currency (the plan's gain unit)."""

    values: dict[str, float]
    method: Literal["exact", "sampled"]
    orders: int  # sampled orders (0 when exact)
    errors: dict[str, float] | None = None  # standard errors, when sampled

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "orders": self.orders}


@dataclass(frozen=True)
class Game:
    """A gain as a weighted sum of coalition games: a plan has one (weight 1); a roadmap
    one per period, each over the improvements that have paid off by then."""

    parts: tuple[tuple[float, CoalitionValues], ...]
    players: tuple[str, ...]

    def gains(self, membership: np.ndarray) -> FloatArray:
        """The gain of each subset (rows of a boolean matrix over `players`)."""
        total = np.zeros(len(membership))
        column = {p: j for j, p in enumerate(self.players)}
        for weight, game in self.parts:
            if weight:
                total += weight * game.gains(membership[:, [column[p] for p in game.players]])
        return total

    @property
    def seconds_per_subset(self) -> float:
        """About how long one subset's gain takes (`CoalitionValues.seconds_per_subset`)."""
        return float(sum(game.seconds_per_subset for weight, game in self.parts if weight))


def shapley_values(game: Game, *, time_budget: float = TIME_BUDGET,
                   seed: int = 0) -> ShapleyValues | None:
    """The Shapley values of `game`'s players: exact up to `EXACT_LIMIT` players, sampled
    above; None when not even `MIN_ORDERS` orders fit in `time_budget` seconds."""
    n = len(game.players)
    if n == 0:
        return ShapleyValues({}, "exact", 0)
    if n <= EXACT_LIMIT and (1 << n) * game.seconds_per_subset <= EXACT_SHARE * time_budget:
        return ShapleyValues(_exact(game), "exact", 0)
    return _sampled(game, time_budget, seed)


def _exact(game: Game) -> dict[str, float]:
    n = len(game.players)
    masks = np.arange(1 << n)
    membership = ((masks[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)
    gains = game.gains(membership)
    size = membership.sum(axis=1)
    # weight of a coalition S (without i) in i's value: |S|! (n − |S| − 1)! / n!
    weight = np.array([math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
                       for k in range(n)])
    values = {}
    for i, player in enumerate(game.players):
        without = masks[(masks >> i) & 1 == 0]
        values[player] = float(np.sum(weight[size[without]]
                                      * (gains[without | (1 << i)] - gains[without])))
    return values


def _sampled(game: Game, time_budget: float, seed: int) -> ShapleyValues | None:
    n = len(game.players)
    # an order costs n + 1 subsets: decline before starting when the estimate says that
    # MIN_ORDERS of them would take twice the budget (thousands of funded improvements
    # on a large journey: one order alone can take longer than the budget)
    if MIN_ORDERS * (n + 1) * game.seconds_per_subset > 2 * time_budget:
        return None
    rng = np.random.default_rng(seed)
    prefixes = np.tri(n + 1, n, -1, dtype=bool)  # row k: the first k players of an order
    total, squares = np.zeros(n), np.zeros(n)
    pairs = 0
    began = time.perf_counter()
    while 2 * pairs < MAX_ORDERS:
        order = rng.permutation(n)
        pair = np.zeros(n)
        for sequence in (order, order[::-1]):
            membership = np.zeros((n + 1, n), dtype=bool)
            membership[:, sequence] = prefixes
            gains = game.gains(membership)
            pair[sequence] += np.diff(gains)
        pair /= 2.0
        total += pair
        squares += pair * pair
        pairs += 1
        elapsed = time.perf_counter() - began
        if pairs == 1 and elapsed * MIN_ORDERS / 2 > time_budget:
            return None  # too costly: MIN_ORDERS orders would take well beyond the budget
        if elapsed >= time_budget:
            break
        if 2 * pairs >= MIN_ORDERS:
            mean, error = _estimates(total, squares, pairs)
            # precise enough: every standard error within PRECISION of the gain
            if float(error.max(initial=0.0)) <= PRECISION * abs(float(mean.sum())):
                break
    if 2 * pairs < MIN_ORDERS:
        return None
    mean, error = _estimates(total, squares, pairs)
    return ShapleyValues(
        values={p: float(mean[j]) for j, p in enumerate(game.players)}, method="sampled",
        orders=2 * pairs, errors={p: float(error[j]) for j, p in enumerate(game.players)})


def _estimates(total: FloatArray, squares: FloatArray,
               pairs: int) -> tuple[FloatArray, FloatArray]:
    """Each sampled value and its standard error, from the sums over `pairs` pairs."""
    mean = total / pairs
    variance = np.maximum(squares / pairs - mean * mean, 0.0) * pairs / max(pairs - 1, 1)
    return mean, np.sqrt(variance / pairs)


def plan_game(journey: Journey, selected: Sequence[str]) -> Game:
    """The game of a single-period plan: the gain of any subset of its selection."""
    players = tuple(selected)
    return Game(((1.0, CoalitionValues(journey, players)),), players)


def roadmap_game(periods: Sequence[tuple[float, Journey, Sequence[str]]],
                 scheduled: Sequence[str]) -> Game:
    """The game of a roadmap: Σ over periods of discount × the gain of the coalition's
    members that have paid off by then (`periods`: discount, that period's journey, the
    improvements finished before it). Periods with the same journey and finished set are
    one game with their discounts added."""
    weights: dict[tuple[int, tuple[str, ...]], float] = {}
    journeys: dict[int, Journey] = {}
    for discount, journey, finished in periods:
        key = (id(journey), tuple(finished))
        weights[key] = weights.get(key, 0.0) + discount
        journeys[id(journey)] = journey
    parts = tuple((weight, CoalitionValues(journeys[key[0]], key[1]))
                  for key, weight in weights.items() if key[1])
    return Game(parts, tuple(scheduled))


def with_shapley(plan: Plan, game: Game, *, time_budget: float = TIME_BUDGET) -> Plan:
    """The plan with each funded improvement's Shapley value (`ImprovementResult.shapley`),
    or with a warning saying why there are none."""
    found = shapley_values(game, time_budget=time_budget)
    if found is None:
        improvements = tuple(replace(imp, shapley=None, shapley_error=None)
                             for imp in plan.improvements)
        return replace(plan, improvements=improvements, shapley=None, warnings=(
            *plan.warnings, (
            f"Shapley values were not computed: sampling enough orders of the "
            f"{len(game.players)} funded improvements would take longer than "
            f"{time_budget:.2g} s; the gains shown are each improvement's gain in the plan's "
            "order")))
    errors = found.errors or {}
    improvements = tuple(replace(imp, shapley=found.values.get(imp.id, 0.0),
                                 shapley_error=errors.get(imp.id))
                         for imp in plan.improvements)
    return replace(plan, improvements=improvements, shapley=found.to_dict())
