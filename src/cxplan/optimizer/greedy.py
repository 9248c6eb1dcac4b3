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

from cxplan.scenario.models import Scenario

Objective = Callable[[frozenset[str]], float]


def requirement_closure(
    scenario: Scenario, ids: Iterable[str], requires: dict[str, list[str]] | None = None
) -> set[str]:
    """The improvements plus everything they (transitively) require.

    Pass `requires` (id -> required ids) when calling this in a loop: building it is O(n).
    """
    if requires is None:
        requires = {imp.id: imp.requires for imp in scenario.improvements}
    result: set[str] = set()
    stack = list(ids)
    while stack:
        imp = stack.pop()
        if imp not in result:
            result.add(imp)
            stack.extend(requires[imp])
    return result


class Resources:
    """Budget and staff bookkeeping for a growing selection."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.costs = {imp.id: imp.cost for imp in scenario.improvements}
        self.staff = {imp.id: imp.staff for imp in scenario.improvements}
        self.excludes: dict[str, set[str]] = {imp.id: set(imp.excludes)
                                              for imp in scenario.improvements}
        for imp in scenario.improvements:
            for other in imp.excludes:
                self.excludes[other].add(imp.id)

    def fits(self, selection: set[str]) -> bool:
        """Whether a whole selection respects budget, teams and exclusions."""
        return self.fits_addition(set(), selection)

    def fits_addition(self, chosen: set[str], added: set[str]) -> bool:
        """Whether `chosen` (assumed to fit) plus `added` still fits."""
        budget = self.scenario.budget
        if budget is not None and self.cost(chosen) + self.cost(added) > budget + 1e-9:
            return False
        for team, capacity in self.scenario.teams.items():
            used = sum(self.staff[i].get(team, 0.0) for i in chosen | added)
            if used > capacity + 1e-9:
                return False
        union = chosen | added
        return all(not (self.excludes[i] & union) for i in added)

    def cost(self, ids: Iterable[str]) -> float:
        return float(sum(self.costs[i] for i in ids))

    def weight(self, ids: Iterable[str]) -> float:
        """Share of the scarce resources that `ids` use (budget and every team)."""
        ids = list(ids)
        total = 0.0
        budget = self.scenario.budget
        if budget:
            total += sum(self.costs[i] for i in ids) / budget
        for team, capacity in self.scenario.teams.items():
            if capacity:
                total += sum(self.staff[i].get(team, 0.0) for i in ids) / capacity
        if not budget:
            total += sum(self.costs[i] for i in ids) * 1e-12
        return total + 1e-9


class _Usage:
    """Running totals of a growing selection, so each feasibility check costs O(|added|)."""

    def __init__(self, resources: Resources, chosen: set[str]) -> None:
        self.resources = resources
        self.cost = resources.cost(chosen)
        self.staff = {team: sum(resources.staff[i].get(team, 0.0) for i in chosen)
                      for team in resources.scenario.teams}
        self.blocked: set[str] = set().union(*(resources.excludes[i] for i in chosen))

    def fits(self, added: set[str]) -> bool:
        scenario, res = self.resources.scenario, self.resources
        if scenario.budget is not None and \
                self.cost + res.cost(added) > scenario.budget + 1e-9:
            return False
        for team, capacity in scenario.teams.items():
            extra = sum(res.staff[i].get(team, 0.0) for i in added)
            if extra and self.staff[team] + extra > capacity + 1e-9:
                return False
        if added & self.blocked:
            return False
        return all(not (res.excludes[i] & added) for i in added)

    def add(self, added: set[str]) -> None:
        self.cost += self.resources.cost(added)
        for team in self.staff:
            self.staff[team] += sum(self.resources.staff[i].get(team, 0.0) for i in added)
        for i in added:
            self.blocked |= self.resources.excludes[i]


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
    usage = _Usage(resources, chosen)
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
    usage = _Usage(resources, chosen)
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
