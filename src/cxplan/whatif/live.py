"""What-if questions asked live (`cxplan serve`): another budget, other team sizes, some
improvements forced in or out, and the variant file that asks the same question.

A `Question` is answered by the variant scenario a user could have written by hand: the
base file `extends`-ed with the new limits, forced-in improvements made `mandatory`, and
forced-out ones removed (with those that require them, which can then not be funded
either). `variant_data` gives that file's content, `variant_scenario` loads it exactly as
`cxplan plan VARIANT.yaml` would (`cxplan.serve` then plans it with `cxplan.api.optimize`),
so the page, its JSON endpoint, the saved variant and the command line give one plan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxplan.errors import UsageError
from cxplan.load import validate_document
from cxplan.plugins.manager import CxplanPlugins
from cxplan.scenario.models import Scenario
from cxplan.scenario.source import Document
from cxplan.scenario.variants import resolve_extends
from cxplan.text import did_you_mean, shorten

MAX_AMOUNT = 1e15  # the scenario format's largest amount


@dataclass(frozen=True)
class Question:
    """What to change: the budget (with a horizon: the total over it), some teams'
    capacities, improvements forced in and forced out. Empty: the scenario as it is."""

    budget: float | None = None
    teams: Mapping[str, float] = field(default_factory=dict)
    force_in: tuple[str, ...] = ()
    force_out: tuple[str, ...] = ()

    def key(self) -> tuple[Any, ...]:
        """A hashable identity (for caching answers)."""
        return (self.budget, tuple(sorted(self.teams.items())), tuple(sorted(self.force_in)),
                tuple(sorted(self.force_out)))


def check_question(scenario: Scenario, question: Question) -> None:
    """Raise `UsageError` naming what the question asks that the scenario does not have."""
    problems: list[str] = []
    amounts = [("budget", question.budget)] + [(f"team {t}", v)
                                               for t, v in question.teams.items()]
    for what, value in amounts:
        if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_AMOUNT):
            problems.append(f"{what}: {value!r} is not an amount from 0 to 1e15")
    for team in question.teams:
        if team not in scenario.teams:
            problems.append(f"unknown team {shorten(team, 40)}"
                            f"{did_you_mean(team, scenario.teams)}")
    known = set(scenario.improvement_ids)
    for imp in (*question.force_in, *question.force_out):
        if imp not in known:
            problems.append(f"unknown improvement {shorten(imp, 40)}{did_you_mean(imp, known)}")
    both = set(question.force_in) & set(question.force_out)
    if both:
        problems.append("forced both in and out: " + ", ".join(sorted(both)))
    gone = removed(scenario, question.force_out)
    lost = [i for i in question.force_in if i in gone and i not in question.force_out]
    if lost:
        problems.append(f"{', '.join(lost)} forced in, but requiring an improvement "
                        "forced out")
    if problems:
        raise UsageError("; ".join(problems))


def removed(scenario: Scenario, force_out: tuple[str, ...]) -> set[str]:
    """The improvements forced out, and every one that requires them (transitively)."""
    gone = set(force_out)
    while True:
        more = {imp.id for imp in scenario.improvements
                if imp.id not in gone and set(imp.requires) & gone}
        if not more:
            return gone
        gone |= more


def variant_data(scenario: Scenario, question: Question, base: str,
                 name: str | None = None) -> dict[str, Any]:
    """The variant file asking `question` of the scenario in file `base` (a name relative
    to the variant's folder): what a user would write by hand."""
    check_question(scenario, question)
    data: dict[str, Any] = {"extends": base}
    if name is not None:
        data["name"] = name
    if question.budget is not None:
        data["budget"] = question.budget
    if question.teams:
        data["teams"] = dict(question.teams)
    gone = removed(scenario, question.force_out)
    changes: list[dict[str, Any]] = [{"id": i, "mandatory": True} for i in question.force_in]
    for imp in scenario.improvements:
        if imp.id in gone:
            changes.append({"id": imp.id, "remove": True})
        elif set(imp.excludes) & gone:  # an exclusion of what is gone would name nothing
            changes.append({"id": imp.id, "excludes": [e for e in imp.excludes
                                                       if e not in gone]})
    if changes:
        data["improvements"] = changes
    return data


def variant_scenario(data: dict[str, Any], base: Path, *,
                     plugins: CxplanPlugins | None = None) -> Scenario:
    """The scenario of variant `data`, loaded as if it were a file beside `base` (and
    named like it: the plan's title is the base's)."""
    doc = resolve_extends(Document(name=str(base), data=data), base.parent / "(what-if).yaml")
    return validate_document(doc, plugins=plugins)
