"""Marginal values: what one more unit of each limit would add, and which limits bind.

For the budget the step is a stated share of the budget (default 10 %) or an amount;
for every team it is one more person. A constraint a plugin added is lifted whole: its
unit is the plugin's, so "one more" may mean nothing. Each value is the difference
between two exact evaluations: the best plan with the limit raised (re-solved in the same
session, starting from the current plan, which stays feasible) minus the current plan.
A limit *binds* when raising it improves the plan.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cxplan.core.results import MarginalValue, MarginalValues
from cxplan.core.status import Status
from cxplan.errors import UsageError
from cxplan.scenario.limits import parse_amount
from cxplan.whatif.engine import Analysis, Outcome, difference

if TYPE_CHECKING:
    from cxplan.core.results import Plan
    from cxplan.optimizer.options import SolverOptions
    from cxplan.optimizer.pipeline import Prepared
    from cxplan.optimizer.session import Session

DEFAULT_BUDGET_STEP = "10%"


def parse_step(text: str | float, base: float | None) -> float:
    """"10%" of `base`, or an amount ("25000")."""
    value = parse_amount(text, base, "the budget step")
    if not value > 0:
        raise UsageError(f"the budget step must be positive, got {str(text).strip()!r}")
    return value


def marginal_values(analysis: Analysis, plan: Outcome | Sequence[str], *,
                    budget_step: str | float = DEFAULT_BUDGET_STEP,
                    time_limit: float | None = None) -> MarginalValues:
    """Marginal values of the budget and every team for `plan` (the optimum of `analysis`
    under its current limits). `time_limit` bounds each re-solve."""
    base = plan if isinstance(plan, Outcome) else analysis.outcome(plan)
    found: list[MarginalValue] = []
    if analysis.budget is not None:
        step = _budget_step(analysis, budget_step)
        found.append(_raise(analysis, base, "budget", "budget", analysis.budget, base.cost,
                            step, time_limit))
    for team, capacity in analysis.teams.items():
        used = base.staff_used.get(team, 0.0)
        if analysis.row(f"team:{team}") is None:
            found.append(MarginalValue(f"team:{team}", f"team '{team}'", capacity, used, 1.0,
                                       0.0, Status.UNUSED, (), (), False, "team"))
            continue
        found.append(_raise(analysis, base, f"team:{team}", f"team '{team}'", capacity, used,
                            1.0, time_limit))
    model = analysis.prepared.model
    if model.plugin_constraints:
        rows = {c.name: c for c in model.problem.constraints()}
        values = model.context.start_values(base.selected)
        for name, row in model.plugin_constraints.items():
            # a variable the plugin made itself has no value at a selection: "used" unknown
            used = sum(coefficient * values.get(var.name, math.nan)
                       for var, coefficient in rows[row].items())
            found.append(_lift(analysis, base, name, row, used, time_limit))
    return MarginalValues(tuple(found), str(budget_step))


def _lift(analysis: Analysis, base: Outcome, name: str, row: str, used: float,
          time_limit: float | None) -> MarginalValue:
    """A plugin's constraint (`name` as the plugin wrote it, model row `row`) lifted."""
    lower, upper = analysis.session.row_bounds(row)
    sense = "=" if lower == upper else "<=" if math.isfinite(upper) else ">="
    capacity = upper if sense != ">=" else lower
    with analysis.lifted(row):
        better = analysis.solve(base.selected, time_limit=time_limit)
    return _value(analysis, base, better, name, f"constraint '{name}'", capacity, used, 0.0,
                  kind="plugin", sense=sense)


def _budget_step(analysis: Analysis, budget_step: str | float) -> float:
    assert analysis.budget is not None
    if analysis.budget == 0 and str(budget_step).strip().endswith("%"):
        # A share of nothing is nothing: step by the cheapest improvement instead.
        costs = [i.cost for i in analysis.scenario.improvements if i.cost > 0]
        return min(costs) if costs else 1.0
    return parse_step(budget_step, analysis.budget)


def _raise(analysis: Analysis, base: Outcome, limit: str, label: str, capacity: float,
           used: float, step: float, time_limit: float | None) -> MarginalValue:
    context: contextlib.AbstractContextManager[None]
    if limit == "budget":
        context = analysis.limits(budget=capacity + step)
    else:
        context = analysis.limits(teams={limit.split(":", 1)[1]: capacity + step})
    with context:
        better = analysis.solve(base.selected, time_limit=time_limit)
    return _value(analysis, base, better, limit, label, capacity, used, step,
                  kind="budget" if limit == "budget" else "team")


def _value(analysis: Analysis, base: Outcome, better: Outcome, limit: str, label: str,
           capacity: float, used: float, step: float, *, kind: str,
           sense: str = "<=") -> MarginalValue:
    """The marginal value of a limit, from the plan and the re-solve with it raised."""
    gain = better.objective - base.objective
    tied = gain <= analysis.tolerance(base.objective)
    added, dropped = difference(base.selected, better.selected)
    if tied:
        gain, added, dropped = max(gain, 0.0), (), ()
    return MarginalValue(limit, label, capacity, used, step, gain, better.status, added,
                         dropped, not tied, kind, sense)


def with_marginals(prepared: Prepared, session: Session, plan: Plan, options: SolverOptions,
                   *, budget_step: str | float = DEFAULT_BUDGET_STEP) -> Plan:
    """`plan` with its marginal values, re-solved in the session that found it.

    The re-solves share one more time limit: each gets an equal part of it (at least a
    second); a re-solve stopped by it reports status "time_limit".
    """
    analysis = Analysis(prepared.scenario, options, prepared=prepared, session=session)
    count = (analysis.budget is not None) + sum(
        analysis.row(f"team:{t}") is not None for t in analysis.teams) + len(
        prepared.model.plugin_constraints)
    limit = max(1.0, options.time_limit / max(count, 1))
    values = marginal_values(analysis, plan.selected, budget_step=budget_step, time_limit=limit)
    return dataclasses.replace(plan, marginals=values)
