"""The rules a selection of improvements must keep, written once: the budget, each team's
staff, requirements, exclusions and mandatory improvements (docs/model.md, "Constraints").

`violations` lists every rule a selection breaks, as structured `Violation`s; `Resources`
and `RunningUsage` answer "does it still fit?" quickly while a selection grows (starts,
repairs, ranking). All of them compare money and staff through `exceeds`, with one
tolerance.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from cxplan.scenario.models import Scenario

# Relative slack (at least absolute, for limits below 1) when money or staff is compared
# with a limit: sums of costs are rounded, and a budget of 999999999.9999999 is 1e9 in
# floating point (the roadmap's rules, core.schedule, use the same).
TOLERANCE = 1e-9

Rule = Literal["budget", "team", "mandatory", "requires", "excludes"]
ALL_RULES: frozenset[Rule] = frozenset(("budget", "team", "mandatory", "requires", "excludes"))


def exceeds(used: float, limit: float | None) -> bool:
    """Whether `used` is over `limit` (None: no limit), beyond rounding: by more than a
    billionth of the limit (or of 1)."""
    return limit is not None and used > allowance(limit)


def allowance(limit: float) -> float:
    """The most a limit of money or staff holds, rounding included (`exceeds`): what the
    model's budget and team rows allow, so that the solver and every check agree."""
    return limit + TOLERANCE * max(1.0, abs(limit))


@dataclass(frozen=True)
class Limits:
    """The budget (None: none) and each team's capacity a selection must fit in."""

    budget: float | None
    teams: Mapping[str, float]

    @classmethod
    def of(cls, scenario: Scenario) -> Limits:
        return cls(scenario.budget, dict(scenario.teams))


@dataclass(frozen=True)
class Usage:
    """What a selection uses: its cost and the staff of every team of the scenario."""

    cost: float
    staff: dict[str, float]


def usage(scenario: Scenario, selection: Iterable[str]) -> Usage:
    """The cost and staff per team (every team of the scenario) of a selection."""
    chosen = set(selection)
    imps = [i for i in scenario.improvements if i.id in chosen]
    return Usage(float(sum(i.cost for i in imps)),
                 {team: float(sum(i.staff.get(team, 0.0) for i in imps))
                  for team in scenario.teams})


@dataclass(frozen=True)
class Violation:
    """One rule a selection breaks. `subject` is the team or the improvement concerned,
    `other` the improvement it requires or excludes; `used` and `limit` the amounts of a
    budget or team that is exceeded."""

    rule: Rule
    subject: str = ""
    other: str = ""
    used: float = 0.0
    limit: float = 0.0

    @property
    def text(self) -> str:
        """The rule in one line, as `cxplan evaluate` prints it."""
        if self.rule == "budget":
            return f"cost {self.used:,.2f} exceeds the budget of {self.limit:,.2f}"
        if self.rule == "team":
            return f"team '{self.subject}' needs {self.used:g} staff, has {self.limit:g}"
        if self.rule == "mandatory":
            return f"mandatory '{self.subject}' is not selected"
        if self.rule == "requires":
            return f"'{self.subject}' requires '{self.other}'"
        return f"'{self.subject}' and '{self.other}' exclude each other"


def violations(
    scenario: Scenario, selection: Iterable[str], *, limits: Limits | None = None,
    rules: Collection[Rule] = ALL_RULES,
) -> list[Violation]:
    """Every rule of `rules` that `selection` breaks (empty: it is a feasible plan), under
    `limits` (default: the scenario's own)."""
    chosen = set(selection)
    limits = limits or Limits.of(scenario)
    found: list[Violation] = []
    used = usage(scenario, chosen)
    if "budget" in rules and exceeds(used.cost, limits.budget):
        assert limits.budget is not None
        found.append(Violation("budget", used=used.cost, limit=limits.budget))
    if "team" in rules:
        for team, staff in used.staff.items():
            if exceeds(staff, limits.teams.get(team)):
                found.append(Violation("team", team, used=staff, limit=limits.teams[team]))
    for imp in scenario.improvements:
        if "mandatory" in rules and imp.mandatory and imp.id not in chosen:
            found.append(Violation("mandatory", imp.id))
        if "requires" in rules and imp.id in chosen:
            found += [Violation("requires", imp.id, r) for r in imp.requires if r not in chosen]
    if "excludes" in rules:
        found += [Violation("excludes", a, b) for a, b in exclusion_pairs(scenario)
                  if a in chosen and b in chosen]
    return found


def exclusion_pairs(scenario: Scenario) -> list[tuple[str, str]]:
    """Every excluded pair once (a, b) with a < b, whichever side lists the other; sorted."""
    return sorted({(min(imp.id, other), max(imp.id, other))
                   for imp in scenario.improvements for other in imp.excludes})


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
            stack.extend(requires.get(imp, ()))
    return result


def dependent_closure(scenario: Scenario, ids: Iterable[str]) -> set[str]:
    """The improvements plus everything that (transitively) requires one of them: what
    must go when they go."""
    needed_by: dict[str, list[str]] = {}
    for imp in scenario.improvements:
        for required in imp.requires:
            needed_by.setdefault(required, []).append(imp.id)
    return requirement_closure(scenario, ids, needed_by)


def displaced_by(scenario: Scenario, selected: Iterable[str], entering: Iterable[str]
                 ) -> set[str]:
    """What of `selected` must leave for `entering` to come in: the improvements an
    entering one excludes (or is excluded by), and whatever requires those."""
    entering = set(entering)
    chosen = set(selected)
    clashing = {imp.id for imp in scenario.improvements if imp.id in chosen
                and (set(imp.excludes) & entering)}
    clashing |= {other for imp in scenario.improvements if imp.id in entering
                 for other in imp.excludes if other in chosen}
    return dependent_closure(scenario, clashing) & chosen


class Resources:
    """Budget, staff and exclusions of the scenario, for selections built step by step
    (the requirements are closed by the caller, `requirement_closure`)."""

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
        return RunningUsage(self, set()).fits(selection)

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


class RunningUsage:
    """Running totals of a growing selection, so that each check costs O(|added|)."""

    def __init__(self, resources: Resources, chosen: set[str]) -> None:
        self.resources = resources
        self.cost = resources.cost(chosen)
        self.staff = {team: sum(resources.staff[i].get(team, 0.0) for i in chosen)
                      for team in resources.scenario.teams}
        self.blocked: set[str] = set().union(*(resources.excludes[i] for i in chosen))

    def fits(self, added: set[str]) -> bool:
        """Whether the selection so far plus `added` still respects budget, teams and
        exclusions."""
        scenario, res = self.resources.scenario, self.resources
        if exceeds(self.cost + res.cost(added), scenario.budget):
            return False
        for team, capacity in scenario.teams.items():
            extra = sum(res.staff[i].get(team, 0.0) for i in added)
            if extra and exceeds(self.staff[team] + extra, capacity):
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
