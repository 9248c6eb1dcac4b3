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
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from cxplan.clock import MIN_WORK_SECONDS
from cxplan.core.results import MarginalValue, MarginalValues
from cxplan.core.status import Status
from cxplan.errors import UsageError
from cxplan.optimizer.model import Model
from cxplan.optimizer.pipeline import Pipeline, Prepared
from cxplan.optimizer.relaxation import solve_relaxation
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
MIN_SOLVE = MIN_WORK_SECONDS  # a re-solve given less is not worth starting (the clock's rule)


def parse_step(text: str | float, base: float | None) -> float:
    """"10%" of `base`, or an amount ("25000")."""
    value = parse_amount(text, base, "the budget step")
    if not value > 0:
        raise UsageError(f"the budget step must be positive, got {str(text).strip()!r}")
    return value


def marginal_values(analysis: WhatIf, plan: Outcome | Sequence[str], *,
                    budget_step: str | float = DEFAULT_BUDGET_STEP,
                    time_limit: float | None = None, deadline: float | None = None,
                    workers: int | None = None,
                    solve_seconds: float | None = None) -> MarginalValues:
    """Marginal values of the budget and every team for `plan` (the optimum of `analysis`
    under its current limits).

    The re-solves run in parallel, one HiGHS thread each on a fork of `analysis`
    (`cxplan.whatif.parallel`; `workers` threads, by default one per core). They end by
    `deadline` (a `time.perf_counter()` value), sharing what is left of it; `time_limit`
    caps each re-solve (without either, the analysis's own time limit).

    When the share of each re-solve is short of `solve_seconds` (what solving the plan
    took), the LP relaxation's dual values first bound every raised limit's value
    (`dual_bounds`): a re-solve stopped early then still reports a proven range, and when
    no re-solve can start at all (less than `MIN_SOLVE` seconds each) every value is that
    range, unsolved (`MarginalValue.solved` false)."""
    base = plan if isinstance(plan, Outcome) else analysis.outcome(plan)
    asked = _limits(analysis, base, budget_step)
    if deadline is None:
        per_solve = analysis.options.time_limit if time_limit is None else time_limit
        deadline = time.perf_counter() + per_solve * max(len(asked), 1)
    count = sum(isinstance(item, _Limit) for item in asked)
    workers = workers or workers_for(analysis, count)
    share = (deadline - time.perf_counter()) / max(math.ceil(count / workers), 1)
    bounds: dict[str, float] = {}
    if count and (share < MIN_SOLVE or (solve_seconds is not None and share < solve_seconds)):
        # Not enough time to re-solve every limit as long as the plan took: bound them all
        # from the LP's dual values first, then re-solve the most promising that fit.
        left = deadline - time.perf_counter()
        raises = [(i.limit, i.step) for i in asked if isinstance(i, _Limit) and i.kind != "plugin"]
        bounds = dual_bounds(analysis, base, raises,
                             time.perf_counter() + (left if share < MIN_SOLVE else left / 3))
        asked = _reduced(asked, bounds, analysis.tolerance(base.objective),
                         fits=int((deadline - time.perf_counter()) / max(solve_seconds or 0.0,
                                                                          MIN_SOLVE)) * workers)
    # only the re-solves share the time: the other values are known already
    questions: list[Question[MarginalValue]] = [
        partial(_answer, base=base, limit=item) for item in asked if isinstance(item, _Limit)]
    answers = iter(answer_all(analysis, questions, deadline=deadline, per_solve=time_limit,
                              workers=workers))
    found = [item if isinstance(item, MarginalValue)
             else _within(next(answers), bounds.get(item.limit)) for item in asked]
    return MarginalValues(tuple(found), str(budget_step))


@dataclass(frozen=True)
class _Limit:
    """A limit whose marginal value needs a re-solve: raised by `step`, or (a plugin's
    constraint, model row `row`) lifted whole."""

    limit: str
    label: str
    capacity: float
    used: float
    step: float
    kind: str
    sense: str = "<="
    row: str | None = None

    def proven_idle(self) -> MarginalValue:
        """Its value when a bound proves that raising it adds nothing."""
        return MarginalValue(self.limit, self.label, self.capacity, self.used, self.step, 0.0,
                             Status.OPTIMAL, (), (), False, None, self.kind, self.sense)

    def unsolved(self, bound: float | None) -> MarginalValue:
        """Its value without a re-solve: at least nothing (the plan stays feasible), at
        most `bound` when one is known."""
        return MarginalValue(self.limit, self.label, self.capacity, self.used, self.step, 0.0,
                             Status.TIME_LIMIT, (), (), False, bound, self.kind, self.sense,
                             solved=False)


def _reduced(asked: list[_Limit | MarginalValue], bounds: dict[str, float], tie: float,
             fits: int) -> list[_Limit | MarginalValue]:
    """The limits still to re-solve once `bounds` are known: none whose bound proves it
    adds nothing (within `tie`); of the others the `fits` with the highest bounds; the rest
    are their ranges, unsolved."""
    open_ = [i for i in asked if isinstance(i, _Limit) and bounds.get(i.limit, math.inf) > tie]
    chosen = {i.limit for i in sorted(open_, key=lambda i: -bounds.get(i.limit, math.inf))[
        :max(fits, 0)]}
    return [item if isinstance(item, MarginalValue) or item.limit in chosen
            else item.proven_idle() if bounds.get(item.limit, math.inf) <= tie
            else item.unsolved(bounds.get(item.limit)) for item in asked]


def _limits(analysis: WhatIf, base: Outcome,
            budget_step: str | float) -> list[_Limit | MarginalValue]:
    """What to value, in order: the budget, each team (known at once when no improvement
    needs it), each plugin constraint."""
    asked: list[_Limit | MarginalValue] = []
    if analysis.budget is not None:
        asked.append(_Limit("budget", "budget", analysis.budget, base.cost,
                            _budget_step(analysis.scenario, budget_step), "budget"))
    for team, capacity in analysis.teams.items():
        used = base.staff_used.get(team, 0.0)
        if analysis.constrains(f"team:{team}"):
            asked.append(_Limit(f"team:{team}", f"team '{team}'", capacity, used, 1.0, "team"))
        else:
            asked.append(MarginalValue(f"team:{team}", f"team '{team}'", capacity, used, 1.0,
                                       0.0, Status.UNUSED, (), (), False, kind="team"))
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
            lower, upper = analysis.session.row_bounds(row)
            sense = "=" if lower == upper else "<=" if math.isfinite(upper) else ">="
            asked.append(_Limit(name, f"constraint '{name}'", upper if sense != ">=" else lower,
                                used, 0.0, "plugin", sense, row))
    return asked


def dual_bounds(analysis: WhatIf, base: Outcome, raises: Sequence[tuple[str, float]],
                deadline: float) -> dict[str, float]:
    """For each (limit, step): the most raising that limit by that step can add to `base`
    (the optimum), from one LP relaxation of the current model, solved by `deadline`.

    The LP's optimal value is concave in its rows' bounds and the dual values are a
    supergradient: raising bounds by Δ adds at most Σ |dual|·|Δ| to it, and the MIP's
    optimum is at most the LP's. So the marginal value is at most (LP bound − base) +
    Σ |dual|·|Δ|, plus a margin for the LP's tolerances. {} when the LP did not solve in
    time."""
    relaxation = solve_relaxation(analysis.session, deadline)
    if relaxation is None or relaxation.row_duals is None:
        return {}
    session = analysis.session
    duals = np.abs(relaxation.row_duals[:len(session.row_upper)])
    gap = max(relaxation.bound - base.objective, 0.0)
    # the LP's own rounding (well below the ties' 1e-6, so that an LP that is integral and a
    # row that is slack still prove a limit idle)
    margin = 1e-7 * max(1.0, abs(relaxation.bound))
    bounds: dict[str, float] = {}
    for limit, step in raises:
        lower, upper = session.row_lower.copy(), session.row_upper.copy()
        with analysis.raised(limit, step):
            change = _moved(upper, session.row_upper) + _moved(lower, session.row_lower)
        rise = float(duals @ change)
        if math.isfinite(rise):
            bounds[limit] = gap + rise + margin
    return bounds


def _moved(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """How far each bound moved (an unchanged infinite one: not at all)."""
    with np.errstate(invalid="ignore"):
        return np.where(before == after, 0.0, np.abs(after - before))


def _within(value: MarginalValue, bound: float | None) -> MarginalValue:
    """A stopped re-solve's range, tightened by a dual bound."""
    if bound is None or value.status in (Status.OPTIMAL, Status.UNUSED):
        return value
    upper = bound if value.gain_bound is None else min(value.gain_bound, bound)
    return dataclasses.replace(value, gain_bound=max(upper, value.gain))


def _answer(analysis: WhatIf, time_limit: float, *, base: Outcome,
            limit: _Limit) -> MarginalValue:
    """A limit's marginal value, from a re-solve with it raised (or lifted)."""
    if limit.row is not None:
        assert isinstance(analysis, Analysis)
        with analysis.lifted(limit.row):
            better = analysis.solve(base.selected, time_limit=time_limit)
    else:
        with analysis.raised(limit.limit, limit.step):
            better = analysis.solve(base.keys, time_limit=time_limit)
    return _value(analysis, base, better, limit)


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


def _value(analysis: WhatIf, base: Outcome, better: Outcome, limit: _Limit) -> MarginalValue:
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
    return MarginalValue(limit.limit, limit.label, limit.capacity, limit.used, limit.step, gain,
                         better.status, added, dropped, not tied, upper, limit.kind,
                         limit.sense)


def with_marginals(prepared: Pipeline, session: Session, plan: Plan, options: SolverOptions,
                   *, budget_step: str | float = DEFAULT_BUDGET_STEP,
                   time_left: float | None = None) -> Plan:
    """`plan` with its marginal values, re-solved in the session that found it (a
    roadmap's model built with `marginal_room`).

    The re-solves run in parallel (one per core, `cxplan.whatif.parallel`) and share
    `time_left` seconds (the command's clock); a re-solve stopped by it reports status
    "time_limit" and the range its bound proves (`MarginalValue.gain_bound`). Less than
    `MIN_SOLVE` seconds each: every value is the range the LP's dual values prove, and
    the plan says so; none at all (with a warning) when even that LP did not fit. Without
    `time_left` each gets a share of one more time limit (at least a second).
    """
    analysis: WhatIf
    if isinstance(prepared, PreparedRoadmap):
        analysis = RoadmapAnalysis(prepared.scenario, options, prepared=prepared,
                                   session=session)
    else:
        assert isinstance(prepared, Prepared)
        analysis = Analysis(prepared.scenario, options, prepared=prepared, session=session)
    if time_left is None:
        count = (analysis.budget is not None) + sum(
            analysis.constrains(f"team:{t}") for t in analysis.teams) + (
            len(prepared.model.plugin_constraints) if isinstance(analysis, Analysis) else 0)
        values = marginal_values(analysis, plan_keys(plan), budget_step=budget_step,
                                 time_limit=max(1.0, options.time_limit / max(count, 1)))
        return dataclasses.replace(plan, marginals=values)
    values = marginal_values(analysis, plan_keys(plan), budget_step=budget_step,
                             deadline=time.perf_counter() + max(time_left, 0.0),
                             solve_seconds=plan.solve_seconds)
    valued = [v for v in values.values if v.status != Status.UNUSED]
    unsolved = [v for v in valued if not v.solved]
    ranged = [v for v in unsolved if v.gain_bound is not None]
    left = (f"the time limit left {max(time_left, 0.0):.1f} s for {len(valued)} re-solves "
            "(raise --time-limit")
    if unsolved and len(unsolved) == len(valued) and not ranged:
        return dataclasses.replace(plan, warnings=(*plan.warnings, (
            f"marginal values were not computed: {left}, or --no-marginals to skip them)")))
    notes = []
    if ranged:
        notes.append(f"{len(ranged)} marginal values are ranges from the LP relaxation's dual "
                     f"values, not re-solves: {left})")
    if len(ranged) < len(unsolved):
        notes.append(f"{len(unsolved) - len(ranged)} marginal values were not re-solved and "
                     f"have no bound (their gain 0 is only a lower end): {left})")
    return dataclasses.replace(plan, marginals=values, warnings=(*plan.warnings, *notes))
