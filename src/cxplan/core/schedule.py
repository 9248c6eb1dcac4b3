"""The exact value of a schedule, period by period, and whether it keeps every rule.

Independent of the optimizer: period t's value is the Markov model (docs/model.md)
with the improvements finished before t, weighted by that period's customers; every
criterion is evaluated the same way and weighted by the period's discount factor. The
optimizer's objective must agree with this. `violations` states the roadmap's rules;
`Room` applies its money and staff rules to one more start next to a schedule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cxplan.core.calendar import Calendar
from cxplan.core.criterion import Criterion, EvaluationContext
from cxplan.core.journey import Evaluation
from cxplan.scenario.models import Scenario

TOLERANCE = 1e-9  # relative slack when checking money and staff


@dataclass(frozen=True)
class PeriodValue:
    """One period of a schedule, evaluated exactly."""

    period: int
    finished: tuple[str, ...]  # the improvements paying off in this period
    discount: float
    criteria: dict[str, float]  # each criterion's raw value in this period
    evaluation: Evaluation
    baseline: Evaluation

    @property
    def gain(self) -> float:
        """Expected experience gain of this period (currency, undiscounted)."""
        return self.evaluation.value - self.baseline.value


class ScheduleEvaluator:
    """Evaluates schedules (improvement id → start period) exactly, with a cache per
    finished set: a roadmap's periods share most of their sets."""

    def __init__(self, calendar: Calendar, criteria: Mapping[str, Criterion]) -> None:
        self.calendar = calendar
        self.criteria = dict(criteria)
        self.weights = {name: float(w) for name, w in calendar.scenario.criteria.items()}
        self._cache: dict[tuple[int, tuple[str, ...]], PeriodValue] = {}

    def period(self, schedule: Mapping[str, int], period: int) -> PeriodValue:
        return self._period(self.calendar.finished_before(schedule, period), period)

    def _period(self, finished: tuple[str, ...], period: int) -> PeriodValue:
        journey = self.calendar.journey(period)
        key = (id(journey), finished)
        hit = self._cache.get(key)
        if hit is None:
            evaluation, baseline = journey.evaluate(finished), journey.evaluate(())
            ctx = EvaluationContext(self.calendar.scenario, journey, finished, evaluation,
                                    baseline)
            values = {name: c.evaluate(ctx) for name, c in self.criteria.items()}
            hit = PeriodValue(period, finished, 1.0, values, evaluation, baseline)
            if len(self._cache) >= journey.cache_limit:
                # bounded in bytes, not entries: at 5 000 touchpoints 4 096 entries were GBs
                self._cache.clear()
            self._cache[key] = hit
        return PeriodValue(period, finished, self.calendar.discount(period), hit.criteria,
                           hit.evaluation, hit.baseline)

    def periods(self, schedule: Mapping[str, int]) -> list[PeriodValue]:
        """Every period whose value counts (`Calendar.valued`): the last one is N + 1, the
        value after the horizon, when a terminal value is counted."""
        sets = self.calendar.finished_sets(schedule)
        return [self._period(sets[t - 1], t) for t in self.calendar.valued]

    def criterion_totals(self, schedule: Mapping[str, int]) -> dict[str, float]:
        """Σ_t discount_t × criterion value in period t, per criterion."""
        totals = dict.fromkeys(self.criteria, 0.0)
        for p in self.periods(schedule):
            for name, value in p.criteria.items():
                totals[name] += p.discount * value
        return totals

    def objective(self, schedule: Mapping[str, int]) -> float:
        """The weighted objective the optimizer maximizes."""
        totals = self.criterion_totals(schedule)
        return sum(self.weights[name] * value for name, value in totals.items())


def exclusion_pairs(scenario: Scenario) -> set[tuple[str, str]]:
    """Every excluded pair once (a, b) with a < b, whichever side lists the other."""
    return {tuple(sorted((imp.id, other))) for imp in scenario.improvements  # type: ignore[misc]
            for other in imp.excludes}


def violations(calendar: Calendar, schedule: Mapping[str, int]) -> list[str]:
    """Every rule a schedule breaks (empty: it is a feasible roadmap)."""
    scenario = calendar.scenario
    found: list[str] = []
    for imp_id, start in schedule.items():
        if start not in calendar.starts.get(imp_id, []):
            found.append(f"'{imp_id}' cannot start in period {start}")
    for imp in scenario.improvements:
        if imp.mandatory and imp.id not in schedule:
            found.append(f"mandatory '{imp.id}' is not scheduled")
        if imp.id not in schedule:
            continue
        for req in imp.requires:
            if req not in schedule:
                found.append(f"'{imp.id}' requires '{req}', which is not scheduled")
            elif calendar.finish(req, schedule[req]) >= schedule[imp.id]:
                found.append(f"'{imp.id}' starts in period {schedule[imp.id]}, before "
                             f"'{req}' is finished (period {calendar.finish(req, schedule[req])})")
    for a, b in sorted(exclusion_pairs(scenario)):
        if a in schedule and b in schedule:
            found.append(f"'{a}' and '{b}' exclude each other")
    spent = [sum(calendar.spend(i) for i, s in schedule.items() if calendar.working(i, s, t))
             for t in calendar.numbers]
    if calendar.budget is not None:
        available = 0.0
        for t, (used, limit) in enumerate(zip(spent, calendar.budget, strict=True), start=1):
            available = available + limit if calendar.horizon.carry_over else limit
            if used > available + TOLERANCE * max(1.0, available):
                found.append(f"period {t} spends {used:,.2f}, more than {available:,.2f}")
            available -= used if calendar.horizon.carry_over else 0.0
    elif calendar.total_budget is not None:
        total = sum(scenario.improvement(i).cost for i in schedule)
        if total > calendar.total_budget + TOLERANCE * max(1.0, calendar.total_budget):
            found.append(f"the roadmap costs {total:,.2f}, more than the budget of "
                         f"{calendar.total_budget:,.2f}")
    for team, capacity in calendar.capacity.items():
        for t in calendar.numbers:
            used = sum(scenario.improvement(i).staff.get(team, 0.0) for i, s in schedule.items()
                       if calendar.working(i, s, t))
            if used > capacity[t - 1] + TOLERANCE * max(1.0, capacity[t - 1]):
                found.append(f"team '{team}' needs {used:g} in period {t}, has "
                             f"{capacity[t - 1]:g}")
    return found


@dataclass(frozen=True)
class Shortfall:
    """What an improvement lacks to start in a period next to a schedule."""

    money: bool  # a period of its work (or the horizon's total) has too little money left
    teams: tuple[str, ...]  # teams without enough free people in a period of its work

    def __bool__(self) -> bool:
        return self.money or bool(self.teams)


class Room:
    """Money and staff left per period next to a schedule, improvement after improvement:
    the roadmap's money and staff rules (`violations`) for one more start."""

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self.money = list(calendar.budget) if calendar.budget is not None else None
        self.total = calendar.total_budget
        self.staff = {team: list(cap) for team, cap in calendar.capacity.items()}

    def shortfall(self, imp: str, start: int) -> Shortfall:
        """What `imp` started in `start` would lack: money, and which teams' people."""
        cal = self.calendar
        improvement = cal.scenario.improvement(imp)
        work = range(start, cal.finish(imp, start) + 1)
        money = False
        if self.money is not None:
            if cal.horizon.carry_over:
                # running sums of what is left, less the spend of each period of work so far
                spent = np.clip(np.arange(1, len(self.money) + 1) - start + 1, 0, len(work))
                running = np.cumsum(self.money) - cal.spend(imp) * spent
                money = bool(np.any(running < -TOLERANCE * np.maximum(1.0, np.abs(running))))
            else:
                money = any(self.money[t - 1] < cal.spend(imp) - _slack(cal.spend(imp))
                            for t in work)
        if self.total is not None and improvement.cost > self.total + _slack(self.total):
            money = True
        teams = tuple(team for team, n in improvement.staff.items() if team in self.staff
                      and any(self.staff[team][t - 1] < n - _slack(n) for t in work))
        return Shortfall(money, teams)

    def fits(self, imp: str, start: int) -> bool:
        return not self.shortfall(imp, start)

    def take(self, imp: str, start: int) -> None:
        """Spend `imp`'s money and staff over its periods of work."""
        self._book(imp, start, -1.0)

    def give_back(self, imp: str, start: int) -> None:
        self._book(imp, start, 1.0)

    def _book(self, imp: str, start: int, sign: float) -> None:
        cal = self.calendar
        improvement = cal.scenario.improvement(imp)
        for t in range(start, cal.finish(imp, start) + 1):
            if self.money is not None:
                self.money[t - 1] += sign * cal.spend(imp)
            for team, n in improvement.staff.items():
                if team in self.staff:
                    self.staff[team][t - 1] += sign * n
        if self.total is not None:
            self.total += sign * improvement.cost


def _slack(amount: float) -> float:
    return TOLERANCE * max(1.0, abs(amount))
