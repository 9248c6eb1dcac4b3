"""What-if limits: a scenario with another budget or team capacities."""

from __future__ import annotations

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
        if any(v < 0 for v in teams.values()):
            raise UsageError("team capacities must be ≥ 0")
    if budget is not None and budget < 0:
        raise UsageError("the budget must be ≥ 0")
    return scenario.with_limits(budget, dict(teams or {}))
