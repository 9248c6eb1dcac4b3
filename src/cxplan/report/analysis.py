"""Report analyses computed from the Markov chains: routes and the assumptions that matter.

- **Routes.** For each persona, the most likely single path to each place where customers
  abandon the journey, and the most likely path through the journey without abandoning,
  before and with the plan. A path's probability is the product of the entry probability,
  the retention (1 − p'd') at each touchpoint passed and the edge probabilities, times the
  probability of the ending (p'd' to abandon at the last touchpoint; retention times the
  probability of going nowhere further to complete). The most likely path maximizes that
  product, found as a shortest path on −log weights (every weight is ≥ 0, so Dijkstra is
  exact, and loops only make a path less likely, so it is simple).
- **Assumptions.** The scenario's numbers whose error would move the plan's expected gain
  most: each touchpoint number (failure probability, impact, dropout, success value, over
  every persona at once) 10 % higher, and each funded improvement's claimed reductions
  10 % smaller, re-evaluated exactly with the plan held fixed.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from cxplan.core.journey import AppliedEffect, Evaluation, Journey, PersonaChain

ABANDONMENT_ROUTES = 3  # abandonment places shown per persona
ASSUMPTIONS_SHOWN = 8
CHANGE = 0.10  # relative change applied to each number in the assumption analysis
TOUCHPOINTS_TRIED = 40  # larger journeys: only the touchpoints with the largest stakes
EFFECTS_TRIED = 60  # ... and the funded effects on them first
LARGE_JOURNEY = 150  # touchpoints × personas; past this evaluations get costly: try fewer


@dataclass(frozen=True)
class Route:
    """One path through a persona's journey and how likely a customer is to live exactly it."""

    ids: tuple[str, ...]  # touchpoint ids in order
    names: tuple[str, ...]
    probability: float  # a customer takes exactly this path and ends this way
    text: str  # "Ad → Branch advice → Application"


@dataclass(frozen=True)
class AbandonmentRow:
    """A touchpoint where customers of one persona give up, before and with the plan."""

    id: str
    name: str
    before: float  # probability that a customer abandons the journey here, nothing funded
    after: float  # ... with the plan
    route_before: Route | None  # most likely path ending in abandonment here (None: none)
    route_after: Route | None
    route_changed: bool  # the most likely path here differs with the plan


@dataclass(frozen=True)
class PersonaRoutes:
    """One persona's success and failure routes."""

    id: str
    name: str
    customers: float
    completion_before: float  # probability of going through without abandoning
    completion_after: float
    success_before: Route | None  # most likely path that ends without abandoning
    success_after: Route | None
    abandonment: tuple[AbandonmentRow, ...]  # the likeliest places to give up, likeliest first


@dataclass(frozen=True)
class Assumption:
    """A number of the scenario and how much the plan's gain depends on it."""

    kind: str  # "touchpoint" or "improvement"
    subject_id: str  # the touchpoint's or improvement's id
    subject: str  # its name
    parameter: str  # "failure probability", "impact", ..., "failure reduction at Booking"
    value: str  # the number as the scenario gives it ("0.12", "USD 25", "0.12–0.15")
    change: str  # what was tried: "10 % higher" or "10 % smaller"
    gain_change: float  # change of the plan's expected gain, in currency
    gain_change_share: float | None  # gain_change / expected gain (None when the gain is 0)
    value_change: float  # change of the expected value with the plan, in currency


# -- routes -------------------------------------------------------------------------------


def _most_likely(
    chain: PersonaChain, failure: np.ndarray, dropout: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """−log of the most likely path's probability to arrive at each touchpoint, and the
    predecessor on that path (−1 at the start)."""
    n = len(failure)
    cost = np.full(n, math.inf)
    previous = np.full(n, -1, dtype=int)
    retention = 1.0 - failure * dropout
    heap: list[tuple[float, int]] = []
    for s in np.flatnonzero(chain.entry > 0):
        cost[s] = -math.log(chain.entry[s])
        heap.append((float(cost[s]), int(s)))
    heapq.heapify(heap)
    done = np.zeros(n, dtype=bool)
    indptr, indices, data = (chain.transition.indptr, chain.transition.indices,
                             chain.transition.data)
    while heap:
        c, t = heapq.heappop(heap)
        if done[t]:
            continue
        done[t] = True
        if retention[t] <= 0:
            continue
        base = c - math.log(retention[t])
        for k in range(indptr[t], indptr[t + 1]):
            u, p = int(indices[k]), float(data[k])
            if p <= 0 or done[u]:
                continue
            candidate = base - math.log(p)
            # ties go to the lower touchpoint index, so the routes are deterministic
            if candidate < cost[u] - 1e-12 or (abs(candidate - cost[u]) <= 1e-12
                                               and t < previous[u]):
                cost[u] = candidate
                previous[u] = t
                heapq.heappush(heap, (candidate, u))
    return cost, previous


def _route(end: int, cost: float, previous: np.ndarray, ids: Sequence[str],
           names: Sequence[str]) -> Route:
    path = [end]
    while previous[path[-1]] >= 0 and len(path) <= len(ids):
        path.append(int(previous[path[-1]]))
    path.reverse()
    steps = tuple(names[i] for i in path)
    return Route(tuple(ids[i] for i in path), steps, math.exp(-cost), " → ".join(steps))


@dataclass(frozen=True)
class _Routes:
    cost: np.ndarray
    previous: np.ndarray
    leave: np.ndarray  # p'd': probability of abandoning at each touchpoint
    ids: Sequence[str]
    names: Sequence[str]
    success: Route | None

    def abandon(self, t: int) -> Route | None:
        """The most likely route to abandoning at t (built only for the places shown)."""
        if not math.isfinite(self.cost[t]) or self.leave[t] <= 0:
            return None
        return _route(t, float(self.cost[t] - math.log(self.leave[t])), self.previous,
                      self.ids, self.names)


def _routes(chain: PersonaChain, mf: np.ndarray, md: np.ndarray, ids: Sequence[str],
            names: Sequence[str]) -> _Routes:
    p = np.minimum(chain.failure * mf, 1.0)
    d = np.minimum(chain.dropout * md, 1.0)
    cost, previous = _most_likely(chain, p, d)
    leaving = 1.0 - np.asarray(chain.transition.sum(axis=1)).ravel()
    finish = (1.0 - p * d) * np.clip(leaving, 0.0, 1.0)
    best: tuple[float, int] | None = None
    for t in np.flatnonzero(np.isfinite(cost) & (finish > 1e-15)):
        total = float(cost[t] - math.log(finish[t]))
        if best is None or total < best[0] - 1e-12:
            best = (total, int(t))
    success = _route(best[1], best[0], previous, ids, names) if best else None
    return _Routes(cost, previous, p * d, ids, names, success)


def persona_routes(
    journey: Journey, baseline: Evaluation, evaluation: Evaluation
) -> tuple[PersonaRoutes, ...]:
    """Success and abandonment routes per persona, before and with the plan."""
    scenario = journey.scenario
    ids = [tp.id for tp in scenario.touchpoints]
    names = [tp.label for tp in scenario.touchpoints]
    ones = np.ones(len(ids))
    mf, _, md = journey.multipliers(evaluation.selection)
    result = []
    for chain, b, a in zip(journey.personas, baseline.personas, evaluation.personas,
                           strict=True):
        before = _routes(chain, ones, ones, ids, names)
        after = _routes(chain, mf, md, ids, names)
        places = [t for t in range(len(ids)) if max(b.dropouts[t], a.dropouts[t]) > 1e-12]
        places.sort(key=lambda t: (-max(b.dropouts[t], a.dropouts[t]), t))
        rows = []
        for t in places[:ABANDONMENT_ROUTES]:
            rb, ra = before.abandon(t), after.abandon(t)
            rows.append(AbandonmentRow(
                id=ids[t], name=names[t], before=float(b.dropouts[t]), after=float(a.dropouts[t]),
                route_before=rb, route_after=ra,
                route_changed=(rb.ids if rb else None) != (ra.ids if ra else None)))
        entered = float(chain.entry.sum())
        result.append(PersonaRoutes(
            id=chain.id, name=chain.label, customers=chain.customers,
            completion_before=max(entered - float(b.dropouts.sum()), 0.0),
            completion_after=max(entered - float(a.dropouts.sum()), 0.0),
            success_before=before.success, success_after=after.success,
            abandonment=tuple(rows)))
    return tuple(result)


# -- assumptions --------------------------------------------------------------------------

_TOUCHPOINT_NUMBERS = (
    ("failure", "failure probability", True),
    ("impact", "impact", False),
    ("dropout", "dropout", True),
    ("success", "success value", False),
)


def _number_text(values: Sequence[float], money: Callable[[float], str] | None) -> str:
    """One number, or the range over the personas: "0.12–0.15", "USD 25–90"."""
    low, high = min(values), max(values)
    if money is None:
        one, other = f"{low:.3g}", f"{high:.3g}"
    else:
        one, other = money(low), money(high)
        prefix = re.match(r"[^\d+-]*", other)
        if prefix and one.startswith(prefix.group()):
            other = other[prefix.end():]  # the currency once: "USD 25–90"
    return one if one == other or math.isclose(low, high) else f"{one}–{other}"


def assumptions(
    journey: Journey,
    evaluation: Evaluation,
    money: Callable[[float], str],
    *,
    limit: int = ASSUMPTIONS_SHOWN,
) -> tuple[Assumption, ...]:
    """The numbers whose 10 % error would move the plan's expected gain most, largest first.

    Touchpoint numbers are raised by 10 % (probabilities capped at 1) for every persona at
    once; a funded improvement's reductions are made 10 % smaller. Each change is evaluated
    exactly for the plan's selection and for nothing funded.
    """
    scenario = journey.scenario
    selection = evaluation.selection
    base_gain = evaluation.value - journey.evaluate(()).value
    base_value = evaluation.value

    baseline_value = base_value - base_gain

    def measure(variant: Journey, *, same_baseline: bool = False) -> tuple[float, float]:
        after = variant.evaluate(selection).value
        # an improvement's effects do not touch the journey with nothing funded
        before = baseline_value if same_baseline else variant.evaluate(()).value
        return after - before - base_gain, after - base_value

    found: list[Assumption] = []
    reach = np.zeros(len(scenario.touchpoints), dtype=bool)
    for chain in journey.personas:
        reach |= chain.reachable
    for i in _touchpoints_at_stake(journey, evaluation):
        tp = scenario.touchpoints[i]
        for attr, label, is_probability in _TOUCHPOINT_NUMBERS:
            current = [float(getattr(c, attr)[i]) for c in journey.personas if c.reachable[i]]
            if not current or max(current) <= 0:
                continue
            chains = []
            for c in journey.personas:
                values = np.array(getattr(c, attr), dtype=float)
                values[i] *= 1.0 + CHANGE
                if is_probability:
                    values[i] = min(values[i], 1.0)
                chains.append(_with_numbers(c, attr, values))
            gain_change, value_change = measure(Journey(scenario, journey.touchpoint_ids,
                                                        chains, journey.effects))
            found.append(Assumption(
                kind="touchpoint", subject_id=tp.id, subject=tp.label, parameter=label,
                value=_number_text(current, None if is_probability else money),
                change=f"{CHANGE:.0%} higher".replace("%", " %"), gain_change=gain_change,
                gain_change_share=gain_change / base_gain if base_gain else None,
                value_change=value_change))
    names = {tp.id: tp.label for tp in scenario.touchpoints}
    for imp_id, k, effect, attr, label in _effects_at_stake(journey, selection):
        reduction = getattr(effect, attr)
        changed = list(journey.effects[imp_id])
        changed[k] = replace(effect, **{attr: reduction * (1.0 - CHANGE)})
        effects = {**journey.effects, imp_id: changed}
        gain_change, value_change = measure(Journey(scenario, journey.touchpoint_ids,
                                                    journey.personas, effects),
                                            same_baseline=True)
        where = names[journey.touchpoint_ids[effect.touchpoint]]
        found.append(Assumption(
            kind="improvement", subject_id=imp_id, subject=scenario.improvement(imp_id).label,
            parameter=f"{label} at {where}", value=f"{reduction:.0%}".replace("%", " %"),
            change=f"{CHANGE:.0%} smaller".replace("%", " %"), gain_change=gain_change,
            gain_change_share=gain_change / base_gain if base_gain else None,
            value_change=value_change))
    found.sort(key=lambda a: (-round(abs(a.gain_change), 9), -round(abs(a.value_change), 9)))
    return tuple(a for a in found if abs(a.gain_change) > 1e-9 or abs(a.value_change) > 1e-9
                 )[:limit]


def _with_numbers(chain: PersonaChain, attr: str, values: np.ndarray) -> PersonaChain:
    if attr == "failure":
        return replace(chain, failure=values)
    if attr == "impact":
        return replace(chain, impact=values)
    if attr == "dropout":
        return replace(chain, dropout=values)
    return replace(chain, success=values)


def _budget(journey: Journey, count: int) -> int:
    """How many numbers of one kind to try: fewer on large journeys, so a report of a
    journey with thousands of touchpoints still takes seconds, not minutes."""
    n = len(journey.touchpoint_ids) * max(1, len(journey.personas))
    return count if n <= LARGE_JOURNEY else max(4, count * LARGE_JOURNEY // n)


def _touchpoints_at_stake(journey: Journey, evaluation: Evaluation) -> list[int]:
    """Touchpoints in scenario order; for large journeys the ones with most at stake."""
    n = len(journey.touchpoint_ids)
    tried = _budget(journey, TOUCHPOINTS_TRIED)
    if n <= tried:
        return list(range(n))
    baseline = journey.evaluate(())
    stake = np.zeros(n)
    for ev in (baseline, evaluation):
        stake += np.abs(ev.weighted("losses")) + np.abs(ev.weighted("successes"))
    top = np.argsort(-stake, kind="stable")[:tried]
    return sorted(int(i) for i in top)


def _effects_at_stake(
    journey: Journey, selection: Sequence[str]
) -> list[tuple[str, int, AppliedEffect, str, str]]:
    found = []
    for imp_id in selection:
        for k, effect in enumerate(journey.effects[imp_id]):
            for attr, label in (("failure", "failure reduction"), ("impact", "impact reduction"),
                                ("dropout", "dropout reduction")):
                if getattr(effect, attr) > 0:
                    found.append((imp_id, k, effect, attr, label))
    return found[:_budget(journey, EFFECTS_TRIED)]
