"""Roadmaps in the what-if engine: a plan is a schedule, its decisions "id@start".

`RoadmapAnalysis` answers the questions `Analysis` answers for a single period, on the
roadmap MILP (`cxplan.optimizer.roadmap`): a limit is set to a level scaled over the
periods (`cxplan.whatif.levels`: every money and staff row gets the bound it has at that
level), an improvement forced in is scheduled in one of its start periods (its "at most
once" row becomes "exactly once"), one forced out has all its starts fixed at 0. Every
outcome is the schedule evaluated exactly over the horizon (`cxplan.core.schedule`),
checked against the solver's objective, like a roadmap plan's.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property

from cxplan.core.calendar import Calendar, calendar
from cxplan.core.criterion import Criterion
from cxplan.core.evaluation import check_agreement
from cxplan.core.journey import Journey
from cxplan.core.schedule import ScheduleEvaluator, violations
from cxplan.core.status import Status
from cxplan.errors import UsageError
from cxplan.optimizer.options import SolverOptions
from cxplan.optimizer.roadmap.infeasible import roadmap_conflict
from cxplan.optimizer.roadmap.model import limit_bound, schedule_of
from cxplan.optimizer.roadmap.pipeline import (
    PreparedRoadmap,
    criterion_magnitude,
    prepare_roadmap,
    start_keys,
)
from cxplan.optimizer.roadmap.start import greedy_schedule
from cxplan.optimizer.session import Session, SolveResult
from cxplan.plugins.manager import CxplanPlugins
from cxplan.scenario.models import Scenario
from cxplan.whatif.engine import (
    Outcome,
    Scorer,
    WhatIf,
    check_plain_objective,
    lp_within,
    plugins_conflict,
    replace_improvements,
)
from cxplan.whatif.levels import extra_staff, with_levels


class RoadmapScorer:
    """Exact values of schedules in one roadmap scenario."""

    def __init__(self, scenario: Scenario, criteria: Mapping[str, Criterion]) -> None:
        self.calendar = calendar(scenario)
        self.evaluator = ScheduleEvaluator(self.calendar, criteria)

    @property
    def journey(self) -> Journey:
        return self.calendar.journey(self.calendar.periods)

    def objective(self, keys: Iterable[str]) -> float:
        return self.evaluator.objective(schedule_of(keys))


class RoadmapAnalysis(WhatIf):
    """A roadmap prepared once for many related solves (see the module).

    `room`: the scenario at the largest limits the questions will set (its starts are kept
    in the model: `cxplan.optimizer.roadmap.model.possible_starts`); by default the
    scenario's own, so `limits()` and `raised()` may only lower them, unless the model is
    built at the highest level asked (as the frontier does).
    """

    def __init__(self, scenario: Scenario, options: SolverOptions | None = None, *,
                 plugins: CxplanPlugins | None = None,
                 prepared: PreparedRoadmap | None = None, session: Session | None = None,
                 room: Scenario | None = None) -> None:
        if scenario.horizon is None:
            raise UsageError("a RoadmapAnalysis needs a scenario with a horizon")
        check_plain_objective(scenario)
        options = options or SolverOptions()
        self.prepared: PreparedRoadmap = prepared or prepare_roadmap(
            scenario, plugins=plugins, lp_within=lp_within(scenario, options), room=room)
        super().__init__(self.prepared, options, session)
        self._limited = self.scenario
        self.calendar: Calendar = self.prepared.calendar  # the current limits' calendar

    # -- exact values -------------------------------------------------------------------------
    @property
    def journey(self) -> Journey:
        return self.prepared.calendar.journey(self.prepared.calendar.periods)

    def objective(self, keys: Iterable[str]) -> float:
        return self.prepared.evaluator.objective(schedule_of(keys))

    def scorer(self, scenario: Scenario) -> Scorer:
        return RoadmapScorer(scenario, self.prepared.criteria)

    def outcome(self, keys: Sequence[str], result: SolveResult | None = None) -> Outcome:
        """A schedule evaluated exactly over the horizon: discounted gain and objective,
        total cost, each team's busiest period."""
        scenario, cal, evaluator = self.scenario, self.prepared.calendar, self.prepared.evaluator
        schedule = schedule_of(keys)
        periods = evaluator.periods(schedule)
        totals = evaluator.criterion_totals(schedule)
        objective = sum(float(w) * totals[name] for name, w in scenario.criteria.items())
        if result is not None and result.objective is not None:
            magnitude = sum(abs(float(w)) * criterion_magnitude(self.prepared, name, periods)
                            for name, w in scenario.criteria.items())
            check_agreement("what-if re-solve of the roadmap", result.objective, objective,
                            magnitude)
        selected = tuple(i for i in scenario.improvement_ids if i in schedule)
        staff = {team: max(sum(scenario.improvement(i).staff.get(team, 0.0)
                               for i in selected if cal.working(i, schedule[i], t))
                           for t in cal.numbers) for team in scenario.teams}
        return Outcome(
            selected=selected, objective=objective,
            expected_gain=sum(p.discount * p.gain for p in periods),
            cost=float(sum(scenario.improvement(i).cost for i in selected)),
            staff_used=staff,
            status=result.status if result is not None else Status.EVALUATED,
            gap=result.gap if result is not None else None,
            bound=result.bound if result is not None else None,
            seconds=result.seconds if result is not None else 0.0,
            schedule={i: (schedule[i], cal.finish(i, schedule[i])) for i in selected})

    # -- limits and fixes ---------------------------------------------------------------------
    def constrains(self, limit: str) -> bool:
        return any(row.limit == limit for row in self.prepared.model.limit_rows)

    def limits(self, budget: float | None = None,
               teams: Mapping[str, float] | None = None) -> contextlib.AbstractContextManager[None]:
        """Solve with the budget and/or teams at other levels (every period scaled in
        proportion, `cxplan.whatif.levels`) inside the block."""
        return self._under(with_levels(self._limited, budget, teams))

    def raised(self, limit: str, step: float) -> contextlib.AbstractContextManager[None]:
        """The budget's level raised by `step` (every period in proportion), or a team with
        `step` more people in every period."""
        if limit == "budget":
            return super().raised(limit, step)
        return self._under(extra_staff(self._limited, limit.split(":", 1)[1], step))

    @contextlib.contextmanager
    def _under(self, limited: Scenario) -> Iterator[None]:
        saved = (self._limited, self.calendar, self.budget, dict(self.teams))
        self._limited, self.calendar = limited, calendar(limited)
        self.budget, self.teams = limited.budget, dict(limited.teams)
        self._bound_rows(self.calendar)
        self._optimum = None
        try:
            yield
        finally:
            self._limited, self.calendar, self.budget, self.teams = saved
            self._bound_rows(self.calendar)
            self._optimum = None

    def _bound_rows(self, cal: Calendar) -> None:
        for row in self.prepared.model.limit_rows:
            self.session.set_row_upper(row.name, limit_bound(cal, row))

    def limited_scenario(self) -> Scenario:
        return self._limited

    def _fix(self, improvement: str, value: bool | None) -> None:
        keys = [f"{improvement}@{s}" for s in self.prepared.model.starts[improvement]]
        once = self.prepared.model.once_rows.get(improvement)
        for key in keys:
            self.session.fix(key, None)
        if once is not None:
            self.session.set_row_lower(once, -math.inf)
        if value is False:
            for key in keys:
                self.session.fix(key, False)
        elif value and len(keys) == 1:
            self.session.fix(keys[0], True)
        elif value and once is not None:
            self.session.set_row_lower(once, 1.0)
        # (mandatory: scheduled exactly once already; no start at all: `_solve` says so)

    # -- feasibility and starts ---------------------------------------------------------------
    def fits(self, keys: Iterable[str]) -> bool:
        keys = list(keys)
        schedule = schedule_of(keys)
        return (all(key in self._columns for key in keys)
                and not violations(self.calendar, schedule)
                and all((i in schedule) == v for i, v in self.forced.items()))

    @cached_property
    def _columns(self) -> frozenset[str]:
        return frozenset(self.prepared.model.columns)

    @cached_property
    def _estimates(self) -> dict[str, float]:
        return self.prepared.estimates()

    def repair(self, preferred: Sequence[str]) -> list[str] | None:
        """The forced-in and mandatory improvements (with what they require) at their
        earliest starts that fit, then the `preferred` starts that still fit, in order
        of their periods."""
        scenario = self._limited
        out = {i for i, v in self.forced.items() if not v}
        while True:  # and whatever requires them
            more = {imp.id for imp in scenario.improvements
                    if imp.id not in out and set(imp.requires) & out}
            if not more:
                break
            out |= more
        if any(imp.mandatory for imp in scenario.improvements if imp.id in out):
            return None
        kept = [imp.model_copy(update={
            "mandatory": imp.mandatory or bool(self.forced.get(imp.id)),
            "excludes": [e for e in imp.excludes if e not in out]})
            for imp in scenario.improvements if imp.id not in out]
        initial = {i: s for i, s in schedule_of(preferred).items()
                   if i not in out and f"{i}@{s}" in self._columns}
        found = greedy_schedule(calendar(replace_improvements(scenario, kept)),
                                self.prepared.evaluator, {}, 0.0, initial)
        if found is None:
            return None
        keys = start_keys(found)
        return keys if self.fits(keys) else None

    def greedy(self, time_budget: float = 2.0) -> list[str] | None:
        if self.forced:
            return None
        found = greedy_schedule(self.calendar, self.prepared.evaluator, self._estimates,
                                time_budget)
        return None if found is None else start_keys(found)

    # -- solving ------------------------------------------------------------------------------
    def _solve(self, start: Sequence[str] | None, time_limit: float | None) -> SolveResult:
        starts = self.prepared.model.starts
        if any(v and not starts[i] for i, v in self.forced.items()):
            # Forced in, but no start period fits it anywhere: no plan (the conflict says why).
            return SolveResult(Status.INFEASIBLE, (), None, None, None, 0, 0.0, {}, False)
        if not self.prepared.model.columns:
            # Nothing can start anywhere (HiGHS calls a model without columns "Empty").
            if any(imp.mandatory for imp in self.scenario.improvements):
                return SolveResult(Status.INFEASIBLE, (), None, None, None, 0, 0.0, {}, False)
            return SolveResult(Status.OPTIMAL, (), self.objective(()), None, 0.0, 0, 0.0, {},
                               False)
        return super()._solve(start, time_limit)

    def _conflict_of(self, scenario: Scenario) -> list[str]:
        return (roadmap_conflict(calendar(scenario))
                or [plugins_conflict(self.prepared.model)])
