"""What-if limits: a scenario with another budget or team capacities."""

from __future__ import annotations

import math
from collections.abc import Mapping

from cxplan.errors import UsageError
from cxplan.scenario.models import Scenario


def apply_limits(
    scenario: Scenario, budget: float | None = None, teams: Mapping[str, float] | None = None
) -> Scenario:
    """The scenario with a what-if budget and/or team capacities; unknown teams are an error."""
    if teams:
        unknown = sorted(set(teams) - set(scenario.teams))
        if unknown:
            raise UsageError(f"unknown team(s) {', '.join(unknown)}; the scenario declares: "
                             f"{', '.join(sorted(scenario.teams)) or 'no teams'}")
        for team, capacity in teams.items():
            check_amount(capacity, f"the capacity of team {team!r}")
    if budget is not None:
        check_amount(budget, "the budget")
    return scenario.with_limits(budget, dict(teams or {}))


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
    """An amount written as a number ("25000") or a share of `base` ("10%"): finite, from 0
    to 1e15. `what` names it in the error."""
    raw = str(text).strip()
    percent = raw.endswith("%")
    try:
        number = float(raw[:-1] if percent else raw)
    except ValueError:
        raise UsageError(f"{what}: {raw!r} is not a number (an amount, or a share such as "
                         "10%)") from None
    if percent:
        if base is None:
            raise UsageError(f"{what}: a share ({raw}) needs a current level to be "
                             "relative to; give an amount")
        number = number / 100.0 * base
    return check_amount(number, f"{what} ({raw})")
