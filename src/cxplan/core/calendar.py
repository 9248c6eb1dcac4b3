"""What a roadmap's periods hold: names, discount weights, money, staff, customers, and
which start periods each improvement may take.

Semantics (README, "Roadmaps"): periods are numbered 1..N. An improvement that
starts in period s with duration d is worked on in periods s..s+d−1 (its
`finish`) and pays off from period s+d on: period t's value counts the
improvements finished before t. Its cost is spent evenly over its periods of
work and its `staff` is used in each of them. It must finish within the
horizon (s+d−1 ≤ N) and start within [earliest, latest]. `requires` means the
required improvement has finished before the dependent one starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from cxplan.core.journey import Journey, build_journey
from cxplan.scenario.models import Horizon, Persona, Scenario


@dataclass(frozen=True)
class Calendar:
    """A scenario's horizon, resolved: every per-period amount as a list (index t−1)."""

    scenario: Scenario
    horizon: Horizon

    @property
    def periods(self) -> int:
        return self.horizon.periods

    @property
    def numbers(self) -> range:
        """The periods, 1..N."""
        return range(1, self.periods + 1)

    def name(self, period: int) -> str:
        return self.horizon.period_name(period)

    def discount(self, period: int) -> float:
        return self.horizon.discount(period)

    @cached_property
    def budget(self) -> list[float] | None:
        """Money per period, or None (no budget, or one total: `total_budget`)."""
        return self.scenario.period_budgets()

    @property
    def total_budget(self) -> float | None:
        """The budget over the whole horizon, when it is given as one number."""
        return self.scenario.budget if self.budget is None else None

    @cached_property
    def capacity(self) -> dict[str, list[float]]:
        return {team: self.scenario.period_capacity(team) for team in self.scenario.teams}

    @cached_property
    def starts(self) -> dict[str, list[int]]:
        """The start periods each improvement may take (empty: it cannot be scheduled)."""
        result = {}
        for imp in self.scenario.improvements:
            first = imp.earliest or 1
            last = min(imp.latest or self.periods, self.periods - imp.duration + 1)
            result[imp.id] = list(range(first, last + 1))
        return result

    def finish(self, improvement: str, start: int) -> int:
        """The last period of work of an improvement started in `start`."""
        return start + self.scenario.improvement(improvement).duration - 1

    def working(self, improvement: str, start: int, period: int) -> bool:
        return start <= period <= self.finish(improvement, start)

    def finished_before(self, schedule: dict[str, int], period: int) -> tuple[str, ...]:
        """The improvements of `schedule` (id → start) that pay off in `period`."""
        return tuple(i for i in self.scenario.improvement_ids
                     if i in schedule and self.finish(i, schedule[i]) < period)

    def spend(self, improvement: str) -> float:
        """Money spent in each period of work (the cost spread evenly)."""
        imp = self.scenario.improvement(improvement)
        return imp.cost / imp.duration

    @property
    def valued(self) -> range:
        """The periods whose value counts: 1..N, and N+1 for the value after the horizon
        (`Horizon.terminal_value`: the end state, the last period's customers, weighted by
        `discount(N + 1)`) when one is counted."""
        return self.horizon.valued

    def customers(self, persona: Persona, period: int) -> float:
        """Customers in `period` (after the horizon: as in the last period)."""
        return self.scenario.period_customers(persona)[min(period, self.periods) - 1]

    @cached_property
    def _journeys(self) -> dict[tuple[float, ...], Journey]:
        return {}

    def journey(self, period: int) -> Journey:
        """The journey whose personas carry period `period`'s customers (shared between
        periods with the same customers)."""
        key = tuple(self.customers(p, period) for p in self.scenario.persona_list)
        if key not in self._journeys:
            if all(self.customers(p, period) == p.customers for p in self.scenario.persona_list):
                self._journeys[key] = build_journey(self.scenario)
            else:
                self._journeys[key] = build_journey(_with_customers(self.scenario, key))
        return self._journeys[key]


def _with_customers(scenario: Scenario, customers: tuple[float, ...]) -> Scenario:
    personas = [p.model_copy(update={"customers": c})
                for p, c in zip(scenario.persona_list, customers, strict=True)]
    return scenario.model_copy(update={"personas": personas})


def calendar(scenario: Scenario) -> Calendar:
    """The scenario's resolved horizon; raises ValueError without one."""
    if scenario.horizon is None:
        raise ValueError("the scenario has no horizon")
    return Calendar(scenario, scenario.horizon)
