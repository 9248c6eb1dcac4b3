"""A feasible first plan: lazy greedy on exact marginal gains per unit of resource.

Used as the MIP start (HiGHS then only has to improve on it and prove the
bound) and as a fallback order. Each step adds the candidate (with whatever
it requires) whose exact marginal objective per unit of resource is highest,
re-evaluating lazily: a candidate's stale ratio is an estimate, and it is
only accepted once its fresh ratio is still the best.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable

from cxplan.core.selection import Resources, RunningUsage, requirement_closure
from cxplan.scenario.models import Scenario

Objective = Callable[[frozenset[str]], float]


def greedy_plan(
    scenario: Scenario,
    objective: Objective,
    *,
    time_budget: float = 10.0,
    estimates: dict[str, float] | None = None,
    initial: Iterable[str] = (),
) -> list[str] | None:
    """A feasible selection (in the order chosen), or None if the mandatory set is infeasible.

    `estimates` (an estimated objective gain per improvement, e.g. first-order) seed the
    queue instead of one exact evaluation per candidate; every choice is still made on
    exact marginal gains. `initial` (a feasible selection, e.g. from `batched_greedy`) is
    kept and extended.
    """
    deadline = time.perf_counter() + time_budget
    resources = Resources(scenario)
    chosen = requirement_closure(
        scenario, [*initial, *(i.id for i in scenario.improvements if i.mandatory)])
    if not resources.fits(chosen):
        return None
    usage = RunningUsage(resources, chosen)
    requires = {imp.id: imp.requires for imp in scenario.improvements}
    order = [i for i in scenario.improvement_ids if i in chosen]
    current = objective(frozenset(chosen))

    def ratio(candidate: str) -> tuple[float, set[str]] | None:
        added = requirement_closure(scenario, [candidate], requires) - chosen
        if not usage.fits(added):
            return None
        gain = objective(frozenset(chosen | added)) - current
        return gain / resources.weight(added), added

    heap: list[tuple[float, int, str]] = []
    for k, imp in enumerate(scenario.improvement_ids):
        if imp in chosen:
            continue
        if estimates is not None:
            added = requirement_closure(scenario, [imp], requires) - chosen
            key = sum(estimates.get(i, 0.0) for i in added) / resources.weight(added)
            heap.append((-key, k, imp))
            continue
        if time.perf_counter() > deadline:
            break
        found = ratio(imp)
        if found is not None and found[0] > 0:
            heap.append((-found[0], k, imp))
    heapq.heapify(heap)
    while heap and time.perf_counter() <= deadline:
        _, k, imp = heapq.heappop(heap)
        if imp in chosen:
            continue
        found = ratio(imp)
        if found is None or found[0] <= 0:
            continue
        fresh, added = found
        if heap and fresh < -heap[0][0] - 1e-12:
            heapq.heappush(heap, (-fresh, k, imp))
            continue
        chosen |= added
        usage.add(added)
        order.extend(i for i in scenario.improvement_ids if i in added)
        current = objective(frozenset(chosen))
    return order


def batched_greedy(
    scenario: Scenario,
    estimate: Callable[[set[str]], dict[str, float]],
    *,
    time_budget: float = 10.0,
    batches: int = 25,
) -> list[str] | None:
    """A fast feasible start for large backlogs, from first-order estimates only.

    Each round re-estimates every candidate's gain given the current selection (one
    adjoint solve per persona, `Journey.first_order_gains`) and adds the best-ratio
    candidates, at most one per touchpoint per round (their interactions are what the
    estimates miss), about 1/`batches` of the backlog at a time. Rounds stop when nothing
    with a positive estimate fits. The result is feasible; its value is not evaluated here.
    """
    deadline = time.perf_counter() + time_budget
    resources = Resources(scenario)
    chosen = requirement_closure(scenario, [i.id for i in scenario.improvements if i.mandatory])
    if not resources.fits(chosen):
        return None
    usage = RunningUsage(resources, chosen)
    requires = {imp.id: imp.requires for imp in scenario.improvements}
    touches = {imp.id: {e.touchpoint for e in imp.effects} for imp in scenario.improvements}
    order = [i for i in scenario.improvement_ids if i in chosen]
    per_round = max(1, len(scenario.improvements) // batches)
    while time.perf_counter() < deadline:
        gains = estimate(chosen)
        ranked = []
        for imp in scenario.improvement_ids:
            if imp in chosen:
                continue
            added = requirement_closure(scenario, [imp], requires) - chosen
            gain = sum(gains.get(i, 0.0) for i in added)
            if gain > 0:
                ranked.append((gain / resources.weight(added), imp, added))
        ranked.sort(key=lambda r: -r[0])
        busy: set[str] = set()
        taken = 0
        for _, imp, added in ranked:
            if imp in chosen or not added.isdisjoint(chosen):
                continue
            spots = set().union(*(touches[i] for i in added))
            if spots & busy or not usage.fits(added):
                continue
            chosen |= added
            usage.add(added)
            busy |= spots
            order.extend(i for i in scenario.improvement_ids if i in added)
            taken += 1
            if taken >= per_round:
                break
        if taken == 0:
            break
    return order
