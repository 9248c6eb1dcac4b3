"""Explain an infeasible scenario: a minimal set of constraints that conflict.

The journey part of the model is feasible for every selection, so a conflict lies in the
constraints on the decision variables: the core ones (budget, teams, requirements,
exclusions, mandatory improvements) and those plugins added, each plugin row on its own.
A deletion filter over them (drop one; if the rest still conflict, it was not needed)
leaves a minimal conflicting set — dropping any one member removes the conflict — which
is what the user sees. The core constraints are tried alone first (a conflict among them
is minimal among all); plugin rows are named as their plugin wrote them. A plugin row
on the journey's expressions (visits, failures...) keeps the model rows it depends on,
which are satisfiable for every selection and never part of the explanation.

All trials run in one compiled HiGHS model, rows switched off by their bounds. The
filter serves roadmaps too (`cxplan.optimizer.roadmap.infeasible`, rules on start
variables).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import highspy
import numpy as np
import pulp

from cxplan.optimizer.highs import compile_model, new_highs
from cxplan.scenario.models import Scenario

# The solver found no plan, yet the filter finds every constraint satisfiable together.
NO_CONFLICT_FOUND = ("the solver found no plan, but the constraints can be met together when "
                     "checked one by one: please report this scenario")
Builder = Callable[[Mapping[str, pulp.LpVariable]], list[pulp.LpConstraint]]
G = TypeVar("G")
# (label, rows): one constraint as the user knows it, which may be several model rows
Labelled = tuple[str, list[pulp.LpConstraint]]


@dataclass(frozen=True)
class Group:
    label: str
    build: Builder


@dataclass(frozen=True)
class PluginRows:
    """The constraints plugins added to a built model, for explaining a conflict:
    `rows` by the name the plugin gave them (`plugin:name`), the model's `problem` (the
    rows a plugin row depends on are taken from it) and its decision variables."""

    rows: Mapping[str, pulp.LpConstraint]
    problem: pulp.LpProblem
    decisions: Mapping[str, pulp.LpVariable]
    forced_out: Collection[str] = field(default_factory=tuple)  # what-if: fixed at 0

    @classmethod
    def of(cls, problem: pulp.LpProblem, names: Mapping[str, str],
           decisions: Mapping[str, pulp.LpVariable],
           forced_out: Collection[str] = ()) -> PluginRows:
        """The plugin rows of a built model, from {name the plugin gave: row name}."""
        by_name = {row.name: row for row in problem.constraints()} if names else {}
        return cls({name: by_name[row] for name, row in names.items()}, problem, decisions,
                   tuple(forced_out))


def format_amount(value: float) -> str:
    """An amount in a conflict's wording (up to six significant digits)."""
    return f"{value:,.6g}"


def _mandatory(imp: str) -> Builder:
    return lambda x: [x[imp] >= 1]


def _requires(a: str, b: str) -> Builder:
    return lambda x: [x[a] <= x[b]]


def _excludes(a: str, b: str) -> Builder:
    return lambda x: [x[a] + x[b] <= 1]


def _forced_out(imp: str) -> Builder:
    return lambda x: [x[imp] <= 0]


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


def conflict_among(groups: Sequence[Labelled], decisions: Mapping[str, pulp.LpVariable],
                   kept: Sequence[pulp.LpConstraint] = ()) -> list[str] | None:
    """The labels of a minimal conflicting subset of `groups` (each a label and its rows
    on `decisions`), with the rows `kept` always in force; None if all are feasible
    together. One HiGHS model holds everything; a trial switches groups off by their row
    bounds."""
    problem = pulp.LpProblem("conflict", pulp.LpMinimize)
    for k, row in enumerate(kept):
        problem.addConstraint(_copy(row), name=f"kept{k}")
    names: list[list[str]] = []
    for i, (_, rows) in enumerate(groups):
        names.append([f"g{i}_{k}" for k in range(len(rows))])
        for name, row in zip(names[-1], rows, strict=True):
            problem.addConstraint(_copy(row), name=name)
    problem.setObjective(pulp.LpAffineExpression())
    compiled = compile_model(problem, dict(decisions))
    lower = np.array(compiled.lp.row_lower_, dtype=float)
    upper = np.array(compiled.lp.row_upper_, dtype=float)
    indices = [[compiled.rows[name] for name in group] for group in names]
    h = new_highs()
    h.passModel(compiled.lp)
    inf = highspy.kHighsInf

    def feasible(active: list[int]) -> bool:
        on = set(active)
        for i, rows in enumerate(indices):
            for r in rows:
                h.changeRowBounds(r, float(lower[r]) if i in on else -inf,
                                  float(upper[r]) if i in on else inf)
        h.run()
        return bool(h.getModelStatus() == highspy.HighsModelStatus.kOptimal)

    found = deletion_filter(list(range(len(groups))), feasible)
    return None if found is None else [groups[i][0] for i in found]


def _copy(row: pulp.LpConstraint) -> pulp.LpConstraint:
    """The same row as a new object (adding a row to a problem renames it: the model's
    own rows must keep their names)."""
    copy = pulp.LpConstraint(row.expr, row.sense)
    copy.constant = row.constant
    return copy


def rows_depended_on(problem: pulp.LpProblem, rows: Collection[pulp.LpConstraint],
                     decisions: Collection[pulp.LpVariable]) -> list[pulp.LpConstraint]:
    """The rows of `problem` that give meaning to the variables of `rows` other than the
    decisions (a plugin row on visits needs the journey's rows), transitively; none when
    `rows` use decisions only."""
    decision = {id(v) for v in decisions}
    pending = [v for row in rows for v in row.expr if id(v) not in decision]
    if not pending:
        return []
    own = {id(row) for row in rows}
    using: dict[int, list[pulp.LpConstraint]] = {}
    for row in problem.constraints():
        if id(row) not in own:
            for var in row.expr:
                using.setdefault(id(var), []).append(row)
    seen: set[int] = set()
    kept: dict[int, pulp.LpConstraint] = {}
    while pending:
        var = pending.pop()
        if id(var) in seen:
            continue
        seen.add(id(var))
        for row in using.get(id(var), []):
            if id(row) not in kept:
                kept[id(row)] = row
                pending.extend(v for v in row.expr if id(v) not in decision)
    return list(kept.values())


def minimal_conflict(scenario: Scenario, plugins: PluginRows | None = None) -> list[str] | None:
    """Labels of a minimal set of conflicting constraints, or None if they do not conflict.

    The core constraints are filtered first, in a model of the decisions alone; only when
    they can be met together do the plugins' rows (each on its own) join the filter."""
    core = constraint_groups(scenario)
    owner = pulp.LpProblem("decisions", pulp.LpMinimize)  # PuLP 4 makes variables in one
    fresh = {imp: owner.add_variable(f"x{k}", 0, 1, pulp.LpBinary)
             for k, imp in enumerate(scenario.improvement_ids)}
    groups: list[Labelled] = [(g.label, g.build(fresh)) for g in core]
    outside = [] if plugins is None else [
        (f"'{imp}' is forced out", _forced_out(imp)(fresh)) for imp in plugins.forced_out
        if imp in fresh]
    found = conflict_among(groups + outside, fresh)
    if found is not None or plugins is None or not plugins.rows:
        return found
    x = plugins.decisions
    groups = [(g.label, g.build(x)) for g in core]
    groups += [(f"'{imp}' is forced out", _forced_out(imp)(x)) for imp in plugins.forced_out
               if imp in x]
    groups += [(name, [row]) for name, row in plugins.rows.items()]
    kept = rows_depended_on(plugins.problem, list(plugins.rows.values()), list(x.values()))
    return conflict_among(groups, x, kept)
