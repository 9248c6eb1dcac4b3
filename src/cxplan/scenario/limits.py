"""What-if limits: a scenario with another budget or team capacities."""

from __future__ import annotations

import math
from collections.abc import Mapping

from cxplan.errors import UsageError
from cxplan.scenario.models import Scenario
from cxplan.text import read_amount

Amount = float | str
"""A what-if limit: a number, or text as users type it: `25000`, `25,000`, `500k`, `1.5M`,
`110%` (of the scenario's current level)."""


def apply_limits(
    scenario: Scenario, budget: Amount | None = None,
    teams: Mapping[str, Amount] | None = None,
) -> Scenario:
    """The scenario with a what-if budget and/or team capacities; unknown teams are an error.

    A share (`"110%"`) is of the current level: the budget (with a horizon, its total over
    the horizon, which is what a budget override replaces) or the team's capacity."""
    capacities: dict[str, float] = {}
    if teams:
        unknown = sorted(set(teams) - set(scenario.teams))
        if unknown:
            raise UsageError(f"unknown team(s) {', '.join(unknown)}; the scenario declares: "
                             f"{', '.join(sorted(scenario.teams)) or 'no teams'}")
        for team, capacity in teams.items():
            what = f"the capacity of team {team!r}"
            if isinstance(capacity, str):
                capacities[team] = parse_amount(capacity, current_capacity(scenario, team),
                                                what)
            else:
                capacities[team] = check_amount(capacity, what)
    limit: float | None = None
    if budget is not None:
        limit = (parse_amount(budget, current_budget(scenario), "the budget")
                 if isinstance(budget, str) else check_amount(budget, "the budget"))
    return scenario.with_limits(limit, capacities)


def current_budget(scenario: Scenario) -> float | None:
    """The budget a what-if budget replaces (with a horizon: its total, as in the file)."""
    return scenario.budget


def current_capacity(scenario: Scenario, team: str) -> float | None:
    """The team's capacity, when it is one number (not one per period)."""
    if team in scenario.period_values.capacity:
        return None
    return scenario.teams.get(team)


MAX_AMOUNT = 1e15  # the scenario format's largest amount


def check_amount(value: float, what: str) -> float:
    """`value` if it is an amount a scenario could hold (a finite number from 0 to 1e15),
    else a UsageError saying so."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value) or not 0 <= value <= MAX_AMOUNT:
        raise UsageError(f"{what} must be a number from 0 to 1e15, got {value!r}")
    return float(value)


def parse_amount(text: str | float, base: float | None, what: str) -> float:
    """An amount as users write it (`cxplan.text.read_amount`: `25000`, `25,000`, `500k`,
    `1.5M`, or a share of `base` such as `110%`). Finite, from 0 to 1e15; `what` names it in
    the error."""
    raw = str(text).strip()
    read = read_amount(raw)
    if read is None:
        raise UsageError(f"{what}: {raw!r} is not an amount; write it as 25000, 25,000, 500k, "
                         "1.5M or a share such as 110%")
    number, percent = read
    if percent:
        if base is None:
            raise UsageError(f"{what}: a share ({raw}) needs one current level to be "
                             "relative to, and there is none; give an amount")
        number = number / 100.0 * base
    return check_amount(number, f"{what} ({raw})")
