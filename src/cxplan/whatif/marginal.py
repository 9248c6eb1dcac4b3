"""Marginal values: what one more unit of each limit would add, and which limits bind.

For the budget the step is a stated share of the budget (default 10 %) or an amount;
for every team it is one more person. A constraint a plugin added is lifted whole: its
unit is the plugin's, so "one more" may mean nothing. Each value is the difference
between two exact evaluations: the best plan with the limit raised (re-solved in the same
session, starting from the current plan, which stays feasible) minus the current plan.
A limit *binds* when raising it improves the plan.

On a roadmap the budget's level is its total over the horizon, and a step raises every
period's money in proportion (`cxplan.whatif.levels`); one more person in a team is one
more in every period. The roadmap model is then built with room for the raised limits
(`marginal_room`), so starts that only the raised limits allow are in it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

from cxplan.core.results import MarginalValue, MarginalValues
from cxplan.core.status import Status
from cxplan.errors import UsageError
from cxplan.optimizer.model import Model
from cxplan.optimizer.pipeline import Pipeline, Prepared
from cxplan.optimizer.roadmap.pipeline import PreparedRoadmap
from cxplan.scenario.limits import parse_amount
from cxplan.whatif.engine import Analysis, Outcome, WhatIf, difference, plan_keys
from cxplan.whatif.levels import extra_staff, with_levels
from cxplan.whatif.parallel import Question, answer_all, workers_for
from cxplan.whatif.roadmap import RoadmapAnalysis

if TYPE_CHECKING:
    from cxplan.core.results import Plan
    from cxplan.optimizer.options import SolverOptions
    from cxplan.optimizer.session import Session
    from cxplan.scenario.models import Scenario

DEFAULT_BUDGET_STEP = "10%"
MIN_SOLVE = 0.05  # seconds: a re-solve given less than this is not worth starting


def parse_step(text: str | float, base: float | None) -> float:
    """"10%" of `base`, or an amount ("25000")."""
    value = parse_amount(text, base, "the budget step")
    if not value > 0:
        raise UsageError(f"the budget step must be positive, got {str(text).strip()!r}")
    return value


def marginal_values(analysis: WhatIf, plan: Outcome | Sequence[str], *,
                    budget_step: str | float = DEFAULT_BUDGET_STEP,
                    time_limit: float | None = None, deadline: float | None = None,
                    workers: int | None = None) -> MarginalValues:
    """Marginal values of the budget and every team for `plan` (the optimum of `analysis`
    under its current limits).

    The re-solves run in parallel, one HiGHS thread each on a fork of `analysis`
    (`cxplan.whatif.parallel`; `workers` threads, by default one per core). They end by
    `deadline` (a `time.perf_counter()` value), sharing what is left of it; `time_limit`
    caps each re-solve (without either, the analysis's own time limit)."""
    base = plan if isinstance(plan, Outcome) else analysis.outcome(plan)
    questions: list[Question[MarginalValue]] = []
    if analysis.budget is not None:
        step = _budget_step(analysis.scenario, budget_step)
        questions.append(partial(_raise, base=base, limit="budget", label="budget",
                                 capacity=analysis.budget, used=base.cost, step=step))
    for team, capacity in analysis.teams.items():
        used = base.staff_used.get(team, 0.0)
        if not analysis.constrains(f"team:{team}"):
            unused = MarginalValue(f"team:{team}", f"team '{team}'", capacity, used, 1.0,
                                   0.0, Status.UNUSED, (), (), False, kind="team")
            questions.append(partial(_known, value=unused))
            continue
        questions.append(partial(_raise, base=base, limit=f"team:{team}",
                                 label=f"team '{team}'", capacity=capacity, used=used,
                                 step=1.0))
    # A plugin's constraints, lifted (single-period plans: a roadmap's plugin rows are on
    # its end state and not valued here).
    model = analysis.prepared.model if isinstance(analysis, Analysis) else None
    if isinstance(analysis, Analysis) and isinstance(model, Model) and model.plugin_constraints:
        rows = {c.name: c for c in model.problem.constraints()}
        values = model.context.start_values(base.selected)
        for name, row in model.plugin_constraints.items():
            # a variable the plugin made itself has no value at a selection: "used" unknown
            used = sum(coefficient * values.get(var.name, math.nan)
                       for var, coefficient in rows[row].items())
            questions.append(partial(_lift, base=base, name=name, row=row, used=used))
    if deadline is None:
        per_solve = analysis.options.time_limit if time_limit is None else time_limit
        deadline = time.perf_counter() + per_solve * max(len(questions), 1)
    found = answer_all(analysis, questions, deadline=deadline, per_solve=time_limit,
                       workers=workers)
    return MarginalValues(tuple(found), str(budget_step))


def _known(analysis: WhatIf, time_limit: float, *, value: MarginalValue) -> MarginalValue:
    """A value known without a solve (a team no improvement needs)."""
    return value


def _lift(analysis: WhatIf, time_limit: float, *, base: Outcome, name: str, row: str,
          used: float) -> MarginalValue:
    """A plugin's constraint (`name` as the plugin wrote it, model row `row`) lifted."""
    assert isinstance(analysis, Analysis)
    lower, upper = analysis.session.row_bounds(row)
    sense = "=" if lower == upper else "<=" if math.isfinite(upper) else ">="
    capacity = upper if sense != ">=" else lower
    with analysis.lifted(row):
        better = analysis.solve(base.selected, time_limit=time_limit)
    return _value(analysis, base, better, name, f"constraint '{name}'", capacity, used, 0.0,
                  kind="plugin", sense=sense)


def _budget_step(scenario: Scenario, budget_step: str | float) -> float:
    assert scenario.budget is not None
    if scenario.budget == 0 and str(budget_step).strip().endswith("%"):
        # A share of nothing is nothing: step by the cheapest improvement instead.
        costs = [i.cost for i in scenario.improvements if i.cost > 0]
        return min(costs) if costs else 1.0
    return parse_step(budget_step, scenario.budget)


def marginal_room(scenario: Scenario, budget_step: str | float = DEFAULT_BUDGET_STEP
                  ) -> Scenario:
    """`scenario` with every limit raised by its marginal step: the room a roadmap model
    needs for the re-solves (`cxplan.optimizer.roadmap.model.possible_starts`)."""
    room = scenario
    if scenario.budget is not None:
        room = with_levels(room, budget=scenario.budget + _budget_step(scenario, budget_step))
    for team in scenario.teams:
        room = extra_staff(room, team, 1.0)
    return room


def _raise(analysis: WhatIf, time_limit: float, *, base: Outcome, limit: str, label: str,
           capacity: float, used: float, step: float) -> MarginalValue:
    with analysis.raised(limit, step):
        better = analysis.solve(base.keys, time_limit=time_limit)
    return _value(analysis, base, better, limit, label, capacity, used, step,
                  kind="budget" if limit == "budget" else "team")


def _value(analysis: WhatIf, base: Outcome, better: Outcome, limit: str, label: str,
           capacity: float, used: float, step: float, *, kind: str,
           sense: str = "<=") -> MarginalValue:
    """The marginal value of a limit, from the plan and the re-solve with it raised."""
    gain = better.objective - base.objective
    tied = gain <= analysis.tolerance(base.objective)
    added, dropped = difference(base.selected, better.selected)
    if tied:
        gain, added, dropped = max(gain, 0.0), (), ()
    # A re-solve stopped by its time limit proves a range: at least the plan it found, at
    # most what its bound allows.
    upper = None
    if better.status != Status.OPTIMAL and better.bound is not None and math.isfinite(
            better.bound):
        upper = max(gain, better.bound - base.objective)
    return MarginalValue(limit, label, capacity, used, step, gain, better.status, added,
                         dropped, not tied, upper, kind, sense)


def with_marginals(prepared: Pipeline, session: Session, plan: Plan, options: SolverOptions,
                   *, budget_step: str | float = DEFAULT_BUDGET_STEP,
                   time_left: float | None = None) -> Plan:
    """`plan` with its marginal values, re-solved in the session that found it (a
    roadmap's model built with `marginal_room`).

    The re-solves run in parallel (one per core, `cxplan.whatif.parallel`) and share
    `time_left` seconds (the command's clock); a re-solve stopped by it reports status
    "time_limit" and the range its bound proves (`MarginalValue.gain_bound`). Less than
    `MIN_SOLVE` seconds each: none are computed, and the plan says why. Without
    `time_left` each gets a share of one more time limit (at least a second).
    """
    analysis: WhatIf
    if isinstance(prepared, PreparedRoadmap):
        analysis = RoadmapAnalysis(prepared.scenario, options, prepared=prepared,
                                   session=session)
    else:
        assert isinstance(prepared, Prepared)
        analysis = Analysis(prepared.scenario, options, prepared=prepared, session=session)
    count = (analysis.budget is not None) + sum(
        analysis.constrains(f"team:{t}") for t in analysis.teams) + (
        len(prepared.model.plugin_constraints) if isinstance(analysis, Analysis) else 0)
    if time_left is None:
        values = marginal_values(analysis, plan_keys(plan), budget_step=budget_step,
                                 time_limit=max(1.0, options.time_limit / max(count, 1)))
        return dataclasses.replace(plan, marginals=values)
    rounds = math.ceil(count / workers_for(analysis, count)) if count else 1
    if time_left / rounds < MIN_SOLVE:
        return dataclasses.replace(plan, warnings=(*plan.warnings, (
            f"marginal values were not computed: the time limit left "
            f"{max(time_left, 0.0):.1f} s for {count} re-solves (raise --time-limit, or "
            "--no-marginals to skip them)")))
    values = marginal_values(analysis, plan_keys(plan), budget_step=budget_step,
                             deadline=time.perf_counter() + time_left)
    return dataclasses.replace(plan, marginals=values)
