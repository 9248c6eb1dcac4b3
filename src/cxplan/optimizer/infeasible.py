"""Explain an infeasible scenario: a minimal set of constraints that conflict.

The journey part of the model is feasible for every selection, so a conflict lies in the
constraints on the decision variables alone. A deletion filter over those constraint
groups (drop one; if the rest still conflict, it was not needed) leaves a minimal
conflicting set, which is what the user sees. The filter and the feasibility test serve
roadmaps too (`cxplan.optimizer.roadmap.infeasible`, with rules on start variables).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import highspy
import pulp

from cxplan.optimizer.highs import compile_model, new_highs
from cxplan.scenario.models import Scenario

Builder = Callable[[dict[str, pulp.LpVariable]], list[pulp.LpConstraint]]
G = TypeVar("G")


@dataclass(frozen=True)
class Group:
    label: str
    build: Builder


def format_amount(value: float) -> str:
    """An amount in a conflict's wording (up to six significant digits)."""
    return f"{value:,.6g}"


def _mandatory(imp: str) -> Builder:
    return lambda x: [x[imp] >= 1]


def _requires(a: str, b: str) -> Builder:
    return lambda x: [x[a] <= x[b]]


def _excludes(a: str, b: str) -> Builder:
    return lambda x: [x[a] + x[b] <= 1]


def _capacity(use: dict[str, float], limit: float) -> Builder:
    return lambda x: [pulp.lpSum(amount * x[i] for i, amount in use.items() if amount) <= limit]


def constraint_groups(scenario: Scenario) -> list[Group]:
    """Every core constraint of the scenario as a named, separately removable group."""
    imps = scenario.improvements
    groups: list[Group] = []
    for imp in imps:
        if imp.mandatory:
            staff = ", ".join(f"{t}={format_amount(s)}" for t, s in imp.staff.items())
            groups.append(Group(
                f"'{imp.id}' is mandatory (cost {format_amount(imp.cost)}"
                + (f", staff {staff})" if staff else ")"), _mandatory(imp.id)))
    if scenario.budget is not None:
        groups.append(Group(f"budget of {format_amount(scenario.budget)}",
                            _capacity({i.id: i.cost for i in imps}, scenario.budget)))
    for team, capacity in scenario.teams.items():
        groups.append(Group(f"team '{team}' has {format_amount(capacity)} staff",
                            _capacity({i.id: i.staff.get(team, 0.0) for i in imps}, capacity)))
    seen: set[frozenset[str]] = set()
    for imp in imps:
        for req in imp.requires:
            groups.append(Group(f"'{imp.id}' requires '{req}'", _requires(imp.id, req)))
        for other in imp.excludes:
            if frozenset((imp.id, other)) not in seen:
                seen.add(frozenset((imp.id, other)))
                groups.append(Group(f"'{imp.id}' excludes '{other}'", _excludes(imp.id, other)))
    return groups


def solvable(problem: pulp.LpProblem, decisions: dict[str, pulp.LpVariable]) -> bool:
    """Whether a problem of binary decisions and their rules has any solution."""
    if not problem.constraints():
        return True
    compiled = compile_model(problem, decisions)
    h = new_highs()
    h.passModel(compiled.lp)
    h.run()
    return bool(h.getModelStatus() == highspy.HighsModelStatus.kOptimal)


def deletion_filter(groups: Sequence[G], feasible: Callable[[list[G]], bool]) -> list[G] | None:
    """A minimal infeasible subset of `groups` (dropping any one member makes the rest
    feasible), or None if all of them together are feasible."""
    active = list(groups)
    if feasible(active):
        return None
    for group in list(active):
        trial = [g for g in active if g is not group]
        if not feasible(trial):
            active = trial
    return active


def _feasible(scenario: Scenario, groups: list[Group]) -> bool:
    problem = pulp.LpProblem("feasibility", pulp.LpMinimize)
    x = {imp.id: problem.add_variable(f"x{k}", 0, 1, pulp.LpBinary)
         for k, imp in enumerate(scenario.improvements)}
    problem.setObjective(pulp.lpSum(x.values()))
    for group in groups:
        for constraint in group.build(x):
            problem.addConstraint(constraint)
    return solvable(problem, x)


def minimal_conflict(scenario: Scenario) -> list[str] | None:
    """Labels of a minimal set of conflicting constraints, or None if they do not conflict."""
    found = deletion_filter(constraint_groups(scenario), lambda gs: _feasible(scenario, gs))
    return None if found is None else [g.label for g in found]
