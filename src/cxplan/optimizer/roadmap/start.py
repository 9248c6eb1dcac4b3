"""A feasible roadmap to start the solver from: list scheduling, checked exactly.

Mandatory improvements (with what they require) are placed first at their
earliest feasible start. Then the others, in order of estimated value per unit
of resource (first-order gain × the discounted periods it would pay off in),
each at its earliest start that keeps money, staff and precedence; while the
time budget lasts, a placement is kept only if the exact objective rises.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Mapping

from cxplan.core.calendar import Calendar
from cxplan.core.schedule import Room, ScheduleEvaluator


def _weight(calendar: Calendar, imp: str) -> float:
    """The share of the scarce resources an improvement uses (for ranking)."""
    improvement = calendar.scenario.improvement(imp)
    share = 0.0
    money = sum(calendar.budget) if calendar.budget is not None else calendar.total_budget
    if money:
        share += improvement.cost / money
    for team, n in improvement.staff.items():
        capacity = sum(calendar.capacity.get(team, []))
        if capacity:
            share += n * improvement.duration / capacity
    return share + 1e-9


def _earliest_start(calendar: Calendar, resources: Room, imp: str,
                    schedule: Mapping[str, int]) -> int | None:
    improvement = calendar.scenario.improvement(imp)
    ready = 1
    for req in improvement.requires:
        if req not in schedule:
            return None
        ready = max(ready, calendar.finish(req, schedule[req]) + 1)
    if any(e in schedule for e in improvement.excludes) or any(
            imp in other.excludes for other in calendar.scenario.improvements
            if other.id in schedule):
        return None
    for s in calendar.starts[imp]:
        if s >= ready and resources.fits(imp, s):
            return s
    return None


def greedy_schedule(
    calendar: Calendar, evaluator: ScheduleEvaluator, estimates: Mapping[str, float],
    time_budget: float, initial: Mapping[str, int] | None = None,
) -> dict[str, int] | None:
    """A feasible schedule (id → start), or None if the mandatory ones do not fit.

    `estimates` is each improvement's estimated gain per period once finished. `initial`
    (e.g. the starts an LP relaxation takes whole) is placed first, each start kept where
    it still fits with what is placed before it (requirements finished, no exclusion,
    money and staff).
    """
    began = time.perf_counter()
    scenario = calendar.scenario
    resources = Room(calendar)
    schedule: dict[str, int] = {}

    def place_with_requirements(imp: str, seen: set[str]) -> bool:
        if imp in schedule:
            return True
        if imp in seen:
            return False
        seen.add(imp)
        for req in scenario.improvement(imp).requires:
            if not place_with_requirements(req, seen):
                return False
        start = _earliest_start(calendar, resources, imp, schedule)
        if start is None:
            return False
        schedule[imp] = start
        resources.take(imp, start)
        return True

    for mandatory in scenario.improvements:
        if mandatory.mandatory and not place_with_requirements(mandatory.id, set()):
            return None
    for imp, period in sorted((initial or {}).items(), key=lambda item: item[1]):
        if imp not in schedule and period in calendar.starts[imp] and \
                _earliest_start(calendar, resources, imp, schedule) is not None:
            improvement = scenario.improvement(imp)
            if all(calendar.finish(r, schedule[r]) < period for r in improvement.requires) \
                    and resources.fits(imp, period):
                schedule[imp] = period
                resources.take(imp, period)

    def payoff(imp: str) -> float:
        # Estimated value if started as early as its window allows.
        starts = calendar.starts[imp]
        if not starts:
            return 0.0
        finish = calendar.finish(imp, starts[0])
        periods = sum(calendar.discount(t) for t in calendar.valued if t > finish)
        return estimates.get(imp, 0.0) * periods

    order = sorted((i for i in scenario.improvement_ids if i not in schedule and payoff(i) > 0),
                   key=lambda i: -payoff(i) / _weight(calendar, i))
    current = evaluator.objective(schedule)

    def out_of_time() -> bool:
        return time.perf_counter() - began >= time_budget

    # Lazy greedy on exact marginal values per unit of resource: a candidate's key is an
    # upper estimate of its ratio (first its estimated payoff); it is placed when its
    # exact ratio, recomputed for the current schedule, still beats every other key.
    heap = [(-payoff(i) / _weight(calendar, i), k, i) for k, i in enumerate(order)]
    heapq.heapify(heap)
    waiting: list[tuple[float, int, str]] = []  # a requirement is not placed yet
    while heap:
        key, k, imp = heapq.heappop(heap)
        start = _earliest_start(calendar, resources, imp, schedule)
        if start is None:
            if all(r in schedule for r in scenario.improvement(imp).requires):
                continue  # no room left anywhere in its window
            waiting.append((key, k, imp))
            continue
        schedule[imp] = start
        if out_of_time():
            gain = 1.0  # no time to check: trust the estimate
        else:
            gain = evaluator.objective(schedule) - current
            ratio = gain / _weight(calendar, imp)
            if gain > 0 and heap and -ratio > heap[0][0] + 1e-12 * abs(heap[0][0]):
                del schedule[imp]
                heapq.heappush(heap, (-ratio, k, imp))
                continue
        if gain <= 0:
            del schedule[imp]
            continue
        current += gain
        resources.take(imp, start)
        for item in [w for w in waiting if imp in scenario.improvement(w[2]).requires]:
            waiting.remove(item)
            heapq.heappush(heap, item)
    current = evaluator.objective(schedule)
    while not out_of_time():
        better = _improve(calendar, evaluator, resources, schedule, order, current,
                          out_of_time)
        if better <= current:
            break
        current = better
    return schedule


def _improve(
    calendar: Calendar, evaluator: ScheduleEvaluator, resources: Room,
    schedule: dict[str, int], candidates: list[str], current: float,
    out_of_time: Callable[[], bool],
) -> float:
    """One round of local search with exact values: move each scheduled improvement to an
    earlier start, then try to add each unscheduled candidate, keeping what gains."""
    scenario = calendar.scenario
    for imp in sorted(schedule, key=schedule.__getitem__, reverse=True):
        if out_of_time():
            return current
        old = schedule[imp]
        resources.give_back(imp, old)
        del schedule[imp]
        start = _earliest_start(calendar, resources, imp, schedule)
        dependents_ok = start is not None and all(
            calendar.finish(imp, start) < schedule[other]
            for other in schedule if imp in scenario.improvement(other).requires)
        if start is not None and start < old and dependents_ok:
            schedule[imp] = start
            value = evaluator.objective(schedule)
            if value > current:
                resources.take(imp, start)
                current = value
                continue
        schedule[imp] = old
        resources.take(imp, old)
    for imp in candidates:
        if out_of_time():
            return current
        if imp in schedule:
            continue
        start = _earliest_start(calendar, resources, imp, schedule)
        if start is None:
            continue
        schedule[imp] = start
        value = evaluator.objective(schedule)
        if value > current:
            resources.take(imp, start)
            current = value
        else:
            del schedule[imp]
    return current
