"""What a level of the budget or of a team means, for single-period plans and roadmaps.

A what-if question sets a limit to a *level*: one number, the one the scenario's own
one-number form stands for (`Scenario.budget`, `Scenario.teams[name]`). For a single
period that is simply the limit. A roadmap may give its money and people per period,
and then a level scales every period's amount in proportion:

- the budget's level is its **total over the horizon**: a level L turns the periods'
  budgets b_t into b_t × L / Σ b (so 110 % of today's total is every period's budget
  × 1.1, and an amount is that total split in proportion to the periods' budgets —
  evenly when they are all 0); with carry-over, what is available up to each period
  scales the same way; a budget given as one total is that total;
- a team's level is its capacity in its **busiest period**: every period's capacity
  is scaled by L / the busiest period's (evenly L when all are 0); a team given as one
  number has that number in every period.

So the per-period shape the scenario states is kept at every level, and a share means
the same for every period. (`plan --budget N` / `--team NAME=N` are different: they
replace a roadmap's per-period limits by one number, like one number in the file;
see docs/whatif.md.) "One more person" (the marginal value of a team) is `extra_staff`:
one more in every period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from cxplan.errors import UsageError
from cxplan.scenario.limits import apply_limits, check_amount
from cxplan.scenario.models import Scenario
from cxplan.scenario.periods import budget_stand_in


def level_of(scenario: Scenario, limit: str) -> float | None:
    """Today's level of "budget" or "team:<name>" (None: the scenario has no budget)."""
    if limit == "budget":
        return scenario.budget
    return scenario.teams[limit.split(":", 1)[1]]


def _scaled(amounts: Sequence[float], level: float, *, total: bool) -> tuple[float, ...]:
    """`amounts` scaled so that their total (`total`) or their largest becomes `level`;
    all 0: the level split evenly (a total) or in every period (a largest)."""
    today = sum(amounts) if total else max(amounts)
    if today > 0:
        return tuple(a * (level / today) for a in amounts)
    return tuple(level / len(amounts) if total else level for _ in amounts)


def with_levels(scenario: Scenario, budget: float | None = None,
                teams: Mapping[str, float] | None = None) -> Scenario:
    """`scenario` with the budget and/or teams at the given levels (see the module)."""
    teams = dict(teams or {})
    if budget is not None and scenario.budget is None:
        raise UsageError("the scenario has no budget to change (give it one first)")
    if scenario.horizon is None:
        return apply_limits(scenario, budget, teams)
    unknown = sorted(set(teams) - set(scenario.teams))
    if unknown:
        raise UsageError(f"unknown team(s) {', '.join(unknown)}; the scenario declares: "
                         f"{', '.join(sorted(scenario.teams)) or 'no teams'}")
    periods = scenario.period_values
    update: dict[str, object] = {}
    per_period = periods.budget
    if budget is not None:
        check_amount(budget, "the budget")
        if per_period is not None:
            per_period = _scaled(per_period, budget, total=True)
            update["budget"] = budget_stand_in(per_period)
        else:
            update["budget"] = budget
    capacity = dict(periods.capacity)
    for team, level in teams.items():
        check_amount(level, f"the capacity of team {team!r}")
        if team in capacity:
            capacity[team] = _scaled(capacity[team], level, total=False)
    if teams:
        update["teams"] = {**scenario.teams, **teams}
    copy = scenario.model_copy(update=update)
    copy.adopt(periods=replace(periods, budget=per_period, capacity=capacity))
    return copy


def extra_staff(scenario: Scenario, team: str, people: float) -> Scenario:
    """`scenario` with `people` more in `team` in every period."""
    capacity = dict(scenario.period_values.capacity)
    if team in capacity:
        capacity[team] = tuple(c + people for c in capacity[team])
    copy = scenario.model_copy(update={"teams": {**scenario.teams,
                                                 team: scenario.teams[team] + people}})
    copy.adopt(periods=replace(scenario.period_values, capacity=capacity))
    return copy
