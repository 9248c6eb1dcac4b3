"""A validated scenario written back as plain data, in the scenario format.

`scenario_data(scenario)` is what a YAML file holding exactly this scenario would hold:
the values as validated, the amounts given per period as lists again, and the uncertain
inputs as the distributions they were written as (not their means). `cxplan export`
lays it out as a workbook; loading it gives the same scenario again.
"""

from __future__ import annotations

from typing import Any

from cxplan.scenario.distributions import DIRICHLET, GROUP
from cxplan.scenario.models import Scenario
from cxplan.scenario.source import Path_
from cxplan.scenario.uncertainty import COMPLETED


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain data (dicts, lists, numbers, text) in the scenario format."""
    data: dict[str, Any] = scenario.model_dump(by_alias=True, exclude_none=True,
                                               exclude_defaults=True, mode="json")
    data["cxplan"] = 1
    periods = scenario.period_values
    if periods.budget is not None:
        data["budget"] = list(periods.budget)
    for team, capacity in periods.capacity.items():
        data["teams"][team] = list(capacity)
    for persona in data.get("personas", []):
        customers = periods.customers.get(persona["id"])
        if customers is not None:
            persona["customers"] = list(customers)
    for value in scenario.uncertainty.values:
        found = value.distribution
        written: dict[str, Any] = {found.kind: list(found.parameters)}
        if found.group is not None:
            written[GROUP] = found.group
        _put(data, value.location, written)
    for group in scenario.uncertainty.dirichlets:
        for location, alpha in zip(group.locations, group.alphas, strict=True):
            _put(data, location, {DIRICHLET: alpha})
        if group.rest:
            owner = _get(data, group.edges_at[:-1])
            owner.setdefault(COMPLETED, {})[group.source] = {DIRICHLET: group.rest}
    return data


def _get(data: Any, path: Path_) -> Any:
    for key in path:
        data = data[key]
    return data


def _put(data: dict[str, Any], path: Path_, value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value
