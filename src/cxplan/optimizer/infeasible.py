"""Explain an infeasible scenario: a minimal set of constraints that conflict.

The journey part of the model is feasible for every selection, so a conflict
lies in the constraints on the decision variables alone. A deletion filter
over those constraint groups (drop one; if the rest still conflict, it was
not needed) leaves a minimal conflicting set, which is what the user sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import highspy
import pulp

from cxplan.scenario.models import Scenario

Builder = Callable[[dict[str, pulp.LpVariable]], list[pulp.LpConstraint]]


@dataclass(frozen=True)
class Group:
    label: str
    build: Builder


def _fmt(value: float) -> str:
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
            staff = ", ".join(f"{t}={_fmt(s)}" for t, s in imp.staff.items())
            groups.append(Group(
                f"'{imp.id}' is mandatory (cost {_fmt(imp.cost)}"
                + (f", staff {staff})" if staff else ")"), _mandatory(imp.id)))
    if scenario.budget is not None:
        groups.append(Group(f"budget of {_fmt(scenario.budget)}",
                            _capacity({i.id: i.cost for i in imps}, scenario.budget)))
    for team, capacity in scenario.teams.items():
        groups.append(Group(f"team '{team}' has {_fmt(capacity)} staff",
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


def _feasible(scenario: Scenario, groups: list[Group]) -> bool:
    problem = pulp.LpProblem("feasibility", pulp.LpMinimize)
    x = {imp.id: problem.add_variable(f"x{k}", 0, 1, pulp.LpBinary)
         for k, imp in enumerate(scenario.improvements)}
    problem.setObjective(pulp.lpSum(x.values()))
    for group in groups:
        for constraint in group.build(x):
            problem.addConstraint(constraint)
    if not problem.constraints():
        return True
    from cxplan.optimizer.highs import compile_model, new_highs

    compiled = compile_model(problem, x)
    h = new_highs()
    h.passModel(compiled.lp)
    h.run()
    return bool(h.getModelStatus() == highspy.HighsModelStatus.kOptimal)


def minimal_conflict(scenario: Scenario) -> list[str] | None:
    """Labels of a minimal set of conflicting constraints, or None if they do not conflict."""
    groups = constraint_groups(scenario)
    if _feasible(scenario, groups):
        return None
    active = list(groups)
    for group in list(active):
        trial = [g for g in active if g is not group]
        if not _feasible(scenario, trial):
            active = trial
    return [g.label for g in active]
