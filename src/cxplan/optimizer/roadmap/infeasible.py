"""Explain an infeasible roadmap: a minimal set of rules that conflict.

As for single-period plans (`cxplan.optimizer.infeasible`, whose deletion filter serves
here too), the journey copies are feasible for every schedule, so a conflict lies in the
rules on the start variables and in the constraints plugins added (on the roadmap's end
state: what it schedules), each plugin row on its own. Start windows are part of the
variables' domain and always kept.
"""

from __future__ import annotations

from collections.abc import Callable

import pulp

from cxplan.core.calendar import Calendar
from cxplan.optimizer.infeasible import (
    PluginRows,
    conflict_among,
    format_amount,
    rows_depended_on,
)

Starts = dict[str, dict[int, pulp.LpVariable]]
Build = Callable[[Starts], list[pulp.LpConstraint]]
Rule = tuple[str, Build]


def roadmap_rules(calendar: Calendar) -> list[Rule]:
    """Every rule of the roadmap as a named, separately removable group."""
    scenario = calendar.scenario

    def scheduled(y: Starts, imp: str) -> pulp.LpAffineExpression:
        return pulp.lpSum(y[imp].values())

    def use(y: Starts, periods: range, amount: Callable[[str], float]) -> pulp.LpAffineExpression:
        return pulp.lpSum(amount(imp) * var for t in periods for imp, by in y.items()
                          for s, var in by.items() if calendar.working(imp, s, t))

    def mandatory(imp: str) -> Build:
        return lambda y: [scheduled(y, imp) == 1]

    def capacity(periods: range, amount: Callable[[str], float], limit: float) -> Build:
        return lambda y: [use(y, periods, amount) <= limit]

    def precedence(a: str, b: str) -> Build:
        return lambda y: [pulp.lpSum(v for s, v in y[a].items() if s <= t)
                          <= pulp.lpSum(v for s, v in y[b].items() if calendar.finish(b, s) < t)
                          for t in y[a]]

    def exclusion(a: str, b: str) -> Build:
        return lambda y: [scheduled(y, a) + scheduled(y, b) <= 1]

    def staff(team: str) -> Callable[[str], float]:
        return lambda imp: scenario.improvement(imp).staff.get(team, 0.0)

    rules: list[Rule] = []
    for imp in scenario.improvements:
        if imp.mandatory:
            window = calendar.starts[imp.id]
            where = (f"start periods {window[0]}–{window[-1]}" if window
                     else "no start period that finishes in the horizon")
            rules.append((f"'{imp.id}' is mandatory (cost {format_amount(imp.cost)}, "
                          f"{imp.duration} period(s), {where})", mandatory(imp.id)))
    if calendar.budget is not None:
        carry = calendar.horizon.carry_over
        for t in calendar.numbers:
            limit = sum(calendar.budget[:t]) if carry else calendar.budget[t - 1]
            periods = range(1, t + 1) if carry else range(t, t + 1)
            rules.append((
                f"the budget of {calendar.name(t)} ({format_amount(limit)}"
                + (" with what earlier periods left)" if carry and t > 1 else ")"),
                capacity(periods, calendar.spend, limit)))
    elif calendar.total_budget is not None:
        total = calendar.total_budget

        def within_total(y: Starts) -> list[pulp.LpConstraint]:
            return [pulp.lpSum(scenario.improvement(i).cost * scheduled(y, i) for i in y)
                    <= total]

        rules.append((f"the budget of {format_amount(total)}", within_total))
    for team, limits in calendar.capacity.items():
        for t in calendar.numbers:
            rules.append((f"team '{team}' has {format_amount(limits[t - 1])} staff in "
                          f"{calendar.name(t)}",
                          capacity(range(t, t + 1), staff(team), limits[t - 1])))
    seen: set[frozenset[str]] = set()
    for imp in scenario.improvements:
        for req in imp.requires:
            rules.append((f"'{imp.id}' starts after '{req}' is finished",
                          precedence(imp.id, req)))
        for other in imp.excludes:
            if frozenset((imp.id, other)) not in seen:
                seen.add(frozenset((imp.id, other)))
                rules.append((f"'{imp.id}' excludes '{other}'", exclusion(imp.id, other)))
    return rules


def roadmap_conflict(calendar: Calendar, plugins: PluginRows | None = None) -> list[str] | None:
    """Labels of a minimal set of conflicting rules, or None if they do not conflict.

    The roadmap's own rules are filtered first, in a model of the start variables alone;
    only when they can be met together do the plugins' rows (each on its own) join the
    filter, with the model's start variables (`plugins.decisions`, keyed "id@period")."""
    rules = roadmap_rules(calendar)
    owner = pulp.LpProblem("starts", pulp.LpMinimize)  # PuLP 4 makes variables in one
    fresh: Starts = {imp: {s: owner.add_variable(f"y{k}_{s}", 0, 1, pulp.LpBinary)
                           for s in calendar.starts[imp]}
                     for k, imp in enumerate(calendar.scenario.improvement_ids)}
    found = conflict_among([(label, build(fresh)) for label, build in rules], _columns(fresh))
    if found is not None or plugins is None or not plugins.rows:
        return found
    starts: Starts = {imp: {} for imp in calendar.scenario.improvement_ids}
    for key, var in plugins.decisions.items():
        imp, _, start = key.rpartition("@")
        starts[imp][int(start)] = var
    groups = [(label, build(starts)) for label, build in rules]
    groups += [(name, [row]) for name, row in plugins.rows.items()]
    kept = rows_depended_on(plugins.problem, list(plugins.rows.values()),
                            list(plugins.decisions.values()))
    return conflict_among(groups, plugins.decisions, kept)


def _columns(y: Starts) -> dict[str, pulp.LpVariable]:
    return {f"{imp}@{s}": v for imp, by in y.items() for s, v in by.items()}
