"""Plan a roadmap: build, start, solve, re-evaluate exactly, and report per period.

The same pipeline as a single-period plan (`cxplan.optimizer.pipeline`), with schedules
in place of selections: a decision's key is "id@period", its start. Every number in the
returned Plan comes from the independent evaluator (`cxplan.core.schedule`), checked
against the solver's objective criterion by criterion.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pulp

from cxplan.core.calendar import Calendar, calendar
from cxplan.core.criterion import Criterion, EvaluationContext
from cxplan.core.evaluation import check_criterion, weighted_objective
from cxplan.core.results import CriterionValue, ImprovementResult, PeriodResult, PersonaResult, Plan
from cxplan.core.schedule import PeriodValue, Room, ScheduleEvaluator, exclusion_pairs
from cxplan.core.shapley import Game, roadmap_game
from cxplan.core.status import Status
from cxplan.errors import InfeasibleError
from cxplan.optimizer.infeasible import NO_CONFLICT_FOUND, PluginRows
from cxplan.optimizer.options import ProgressCallback, SolverOptions
from cxplan.optimizer.pipeline import BUILD_SECONDS_PER_COLUMN, Pipeline, plugins_add_rows
from cxplan.optimizer.roadmap.infeasible import roadmap_conflict
from cxplan.optimizer.roadmap.model import (
    RoadmapModel,
    build_roadmap_model,
    estimated_roadmap_columns,
    schedule_of,
)
from cxplan.optimizer.roadmap.start import greedy_schedule
from cxplan.optimizer.session import Session, SolveResult
from cxplan.plugins.manager import CxplanPlugins, get_plugin_manager
from cxplan.scenario.models import Scenario


def start_keys(schedule: Mapping[str, int]) -> list[str]:
    """The "id@period" keys of a schedule's start decisions."""
    return [f"{imp}@{start}" for imp, start in schedule.items()]


@dataclass
class RoadmapBacklog:
    """A roadmap scenario with its calendar, criteria and exact evaluator: what a schedule
    is started, evaluated and explained with, without a model."""

    scenario: Scenario
    calendar: Calendar
    criteria: dict[str, Criterion]
    evaluator: ScheduleEvaluator
    build_seconds: float

    @property
    def weights(self) -> dict[str, float]:
        """The criteria that count (non-zero weight) and their weights."""
        return {name: float(w) for name, w in self.scenario.criteria.items() if w}

    def estimates(self) -> dict[str, float]:
        """Each improvement's estimated weighted gain per period once finished."""
        journey = self.calendar.journey(self.calendar.periods)
        weights = self.weights
        if set(weights) == {"expected_experience"}:
            w = weights["expected_experience"]
            return {i: w * g for i, g in journey.first_order_gains().items()}
        empty = journey.evaluate(())
        base = EvaluationContext(self.scenario, journey, (), empty, empty)
        result = {}
        for imp in self.scenario.improvement_ids:
            ctx = EvaluationContext(self.scenario, journey, (imp,), journey.evaluate((imp,)),
                                    empty)
            result[imp] = sum(w * (self.criteria[c].evaluate(ctx) - self.criteria[c].evaluate(base))
                              for c, w in weights.items())
        return result

    def start(self, time_budget: float,
              initial: Mapping[str, int] | None = None) -> dict[str, int] | None:
        """The greedy schedule (id → start), extending `initial` where it fits."""
        return greedy_schedule(self.calendar, self.evaluator, self.estimates(), time_budget,
                               initial)

    def game(self, plan: Plan) -> Game:
        """The horizon's discounted gain of any subset of the schedule: each period counts
        the subset's members that have paid off by then."""
        schedule = {imp: start for imp, (start, _) in plan.schedule.items()}
        cal = self.calendar
        return roadmap_game([(p.discount, cal.journey(p.period), p.finished)
                             for p in self.evaluator.periods(schedule)], plan.selected)


@dataclass
class PreparedRoadmap(RoadmapBacklog, Pipeline):
    """A roadmap scenario ready to solve: calendar, criteria, model and evaluator."""

    model: RoadmapModel = field(kw_only=True)
    # the greedy schedule evaluates every period: it gets less of what the LP left
    greedy_share_after_lp = 0.1

    @property
    def problem(self) -> pulp.LpProblem:
        return self.model.problem

    @property
    def decisions(self) -> dict[str, pulp.LpVariable]:
        return self.model.columns

    def first(self, time_budget: float, initial: Sequence[str] = ()) -> list[str] | None:
        found = self.start(time_budget, schedule_of(initial))
        return None if found is None else start_keys(found)

    def start_values(self, keys: Sequence[str]) -> dict[str, float]:
        return self.model.start_values(schedule_of(keys))

    def conflict(self) -> list[str]:
        rows = PluginRows.of(self.model.problem, self.model.plugin_constraints,
                             self.model.columns)
        return roadmap_conflict(self.calendar, rows) or [NO_CONFLICT_FOUND]

    def solve(self, session: Session, start: Sequence[str] | None,
              time_limit: float | None = None,
              progress: ProgressCallback | None = None) -> SolveResult:
        if not self.model.columns:
            return self._nothing_to_schedule()
        return super().solve(session, start, time_limit, progress)

    def solve_from_relaxation(self, session: Session, deadline: float,
                              progress: ProgressCallback | None = None) -> SolveResult:
        if not self.model.columns:
            return self._nothing_to_schedule()
        return super().solve_from_relaxation(session, deadline, progress)

    def _nothing_to_schedule(self) -> SolveResult:
        """No improvement fits anywhere: no model to solve."""
        if any(imp.mandatory for imp in self.scenario.improvements):
            raise InfeasibleError(roadmap_conflict(self.calendar) or [])
        return SolveResult(Status.OPTIMAL, (), self.evaluator.objective({}), None, 0.0, 0,
                           0.0, {}, False)

    def plan(self, result: SolveResult) -> Plan:
        """Re-evaluate the solver's schedule exactly, check agreement, build the Plan."""
        return roadmap_plan(self, schedule_of(result.selected), result, self.model.terms)


def roadmap_plan(prepared: RoadmapBacklog, schedule: dict[str, int], result: SolveResult,
                 terms: Mapping[str, pulp.LpAffineExpression] | None = None) -> Plan:
    """The Plan of a schedule, every number from the exact evaluator; the model's `terms`
    (each criterion's expression, when a model found the schedule) must agree with it."""
    cal, scenario, evaluator = prepared.calendar, prepared.scenario, prepared.evaluator
    periods = evaluator.periods(schedule)
    totals = evaluator.criterion_totals(schedule)
    for name, term in (terms or {}).items():
        check_criterion(prepared.criteria[name], result.value_of(term), totals[name],
                        criterion_magnitude(prepared, name, periods),
                        [f"{i}@{s}" for i, s in schedule.items()], " over the horizon")
    criteria = {
        name: CriterionValue(name, float(weight), totals[name], prepared.criteria[name].unit,
                             prepared.criteria[name].description)
        for name, weight in scenario.criteria.items()
    }
    gain = sum(p.discount * p.gain for p in periods)
    baseline = sum(p.discount * p.baseline.value for p in periods)
    ordered = sorted(schedule, key=lambda i: (schedule[i], cal.finish(i, schedule[i]),
                                              scenario.improvement_ids.index(i)))
    parts = _parts(prepared, schedule, ordered)
    improvements = tuple(
        ImprovementResult(
            id=i, name=scenario.improvement(i).label, owner=scenario.improvement(i).owner,
            cost=scenario.improvement(i).cost, staff=dict(scenario.improvement(i).staff),
            rank=k, gain=parts[i], share=parts[i] / gain if gain else 0.0,
            start=schedule[i], finish=cal.finish(i, schedule[i]))
        for k, i in enumerate(ordered, start=1))
    # The rows are the horizon's periods; a terminal value (period N + 1) counts in the
    # totals above and is reported in `horizon` (`after_horizon`).
    rows = _period_rows(cal, schedule, [p for p in periods if p.period <= cal.periods])
    after = [p for p in periods if p.period > cal.periods]
    last = periods[-1]
    end_state = cal.journey(cal.periods).evaluate(tuple(schedule))
    budget = sum(cal.budget) if cal.budget is not None else cal.total_budget
    return Plan(
        scenario=scenario.title,
        status=result.status,
        selected=tuple(i for i in scenario.improvement_ids if i in schedule),
        objective=weighted_objective(criteria),
        expected_gain=gain,
        baseline_value=baseline,
        planned_value=baseline + gain,
        cost=float(sum(scenario.improvement(i).cost for i in schedule)),
        staff_used={team: max((r.staff[team] for r in rows), default=0.0)
                    for team in scenario.teams},
        criteria=criteria,
        gap=result.gap,
        bound=result.bound,
        currency=scenario.currency,
        budget=budget,
        teams=dict(scenario.teams),
        improvements=improvements,
        personas=_personas(cal, periods),
        build_seconds=prepared.build_seconds,
        solve_seconds=result.seconds,
        nodes=result.nodes,
        warnings=tuple(w.format() for w in scenario.warnings),
        evaluation=end_state,
        baseline=last.baseline,
        horizon={"periods": cal.periods, "label": cal.horizon.label,
                 "names": [cal.name(t) for t in cal.numbers],
                 "discount_rate": cal.horizon.discount_rate,
                 "carry_over": cal.horizon.carry_over,
                 **after_horizon(cal, evaluator, schedule, after[0] if after else None)},
        periods=rows,
        schedule={i: (schedule[i], cal.finish(i, schedule[i])) for i in ordered},
    )


def after_horizon(cal: Calendar, evaluator: ScheduleEvaluator, schedule: Mapping[str, int],
                  after: PeriodValue | None) -> dict[str, Any]:
    """What the plan says about value after the horizon: `terminal_value` as given (None:
    not counted), its weight in periods of the end state's value (`after_horizon_periods`),
    the discounted gain it adds (`after_horizon_gain`), and, without one, the last periods
    that start nothing though an improvement left out would fit there beside the plan
    but finish too late to pay off within the horizon, though they would add value after
    it (`idle_end_periods`)."""
    idle: list[str] = []
    if after is None:
        room = Room(cal)
        for imp, start in schedule.items():
            room.take(imp, start)
        excluded = {b if a in schedule else a for a, b in exclusion_pairs(cal.scenario)
                    if a in schedule or b in schedule}

        def end_value(plan: Mapping[str, int]) -> float:
            # the weighted criteria of the end state (period N + 1's, weighted or not)
            values = evaluator.period(plan, cal.periods + 1).criteria
            return sum(evaluator.weights[name] * v for name, v in values.items())

        now = end_value(schedule)

        def fits_but_never_pays(imp: str, t: int) -> bool:
            required = cal.scenario.improvement(imp).requires
            return (t in cal.starts[imp] and cal.finish(imp, t) >= cal.periods
                    and imp not in excluded and room.fits(imp, t)
                    and all(r in schedule and cal.finish(r, schedule[r]) < t for r in required)
                    and end_value({**schedule, imp: t}) > now + 1e-9 * max(1.0, abs(now)))

        for t in reversed(cal.numbers[1:]):
            if t in schedule.values():
                break
            if any(fits_but_never_pays(i, t) for i in cal.starts if i not in schedule):
                idle.insert(0, cal.name(t))
    return {"terminal_value": cal.horizon.terminal_value,
            "after_horizon_periods": cal.horizon.after_horizon(),
            "after_horizon_gain": after.discount * after.gain if after is not None else 0.0,
            "idle_end_periods": idle}


def criterion_magnitude(prepared: RoadmapBacklog, name: str,
                        periods: Sequence[PeriodValue]) -> float:
    """The scale a criterion's model/evaluator agreement over the horizon is judged by."""
    return sum(p.discount * prepared.criteria[name].magnitude(EvaluationContext(
        prepared.scenario, prepared.calendar.journey(p.period), p.finished, p.evaluation,
        p.baseline)) for p in periods)


def _parts(prepared: RoadmapBacklog, schedule: dict[str, int],
           ordered: list[str]) -> dict[str, float]:
    """Each improvement's part of the horizon's gain: exact per finishing period (the gain
    added by everything finishing then), split within a period by first-order estimates."""
    cal, evaluator = prepared.calendar, prepared.evaluator

    def gain(subset: dict[str, int]) -> float:
        return sum(p.discount * p.gain for p in evaluator.periods(subset))

    estimates = cal.journey(cal.periods).first_order_gains()
    parts: dict[str, float] = {}
    done: dict[str, int] = {}
    previous = 0.0
    for finish in sorted({cal.finish(i, schedule[i]) for i in ordered}):
        group = [i for i in ordered if cal.finish(i, schedule[i]) == finish]
        done.update({i: schedule[i] for i in group})
        current = gain(done)
        weights = [max(estimates.get(i, 0.0), 0.0) for i in group]
        total = sum(weights)
        for imp, weight in zip(group, weights, strict=True):
            share = weight / total if total > 0 else 1.0 / len(group)
            parts[imp] = (current - previous) * share
        previous = current
    return parts


def _period_rows(cal: Calendar, schedule: dict[str, int],
                 periods: list[PeriodValue]) -> tuple[PeriodResult, ...]:
    scenario = cal.scenario
    rows = []
    cumulative = 0.0
    left = 0.0  # with carry-over: money not spent in earlier periods
    for p in periods:
        t = p.period
        working = tuple(i for i in schedule if cal.working(i, schedule[i], t))
        spend = float(sum(cal.spend(i) for i in working))
        budget = None
        if cal.budget is not None:
            budget = cal.budget[t - 1] + (left if cal.horizon.carry_over else 0.0)
            left = budget - spend
        cumulative += p.discount * p.gain
        rows.append(PeriodResult(
            period=t, name=cal.name(t), discount=p.discount, spend=spend, budget=budget,
            staff={team: float(sum(scenario.improvement(i).staff.get(team, 0.0)
                                   for i in working)) for team in scenario.teams},
            capacity={team: cap[t - 1] for team, cap in cal.capacity.items()},
            starting=tuple(i for i in schedule if schedule[i] == t),
            working=working,
            finishing=tuple(i for i in schedule if cal.finish(i, schedule[i]) == t),
            paying_off=p.finished,
            baseline_value=p.baseline.value, value=p.evaluation.value,
            cumulative_gain=cumulative))
    return tuple(rows)


def _personas(cal: Calendar, periods: list[PeriodValue]) -> tuple[PersonaResult, ...]:
    """Per persona over the horizon: discounted customer-periods, and values per customer
    averaged over them (so customers × (planned − baseline) is the persona's gain)."""
    result = []
    for q, persona in enumerate(cal.scenario.persona_list):
        weights = [p.discount * cal.customers(persona, p.period) for p in periods]
        total = sum(weights)

        def average(values: list[float], w: list[float] = weights, n: float = total) -> float:
            if n <= 0:
                return values[-1] if values else 0.0
            return sum(a * b for a, b in zip(values, w, strict=True)) / n

        before = [p.baseline.personas[q] for p in periods]
        after = [p.evaluation.personas[q] for p in periods]
        result.append(PersonaResult(
            id=persona.id, name=persona.label, customers=total,
            baseline_value=average([b.value for b in before]),
            planned_value=average([a.value for a in after]),
            baseline_abandonment=average([b.abandonment for b in before]),
            planned_abandonment=average([a.abandonment for a in after]),
            baseline_failures=average([float(b.failures.sum()) for b in before]),
            planned_failures=average([float(a.failures.sum()) for a in after])))
    return tuple(result)


def prepare_roadmap(scenario: Scenario, *, plugins: CxplanPlugins | None = None,
                    lp_within: float | None = None,
                    room: Scenario | None = None) -> PreparedRoadmap:
    """Build the calendar, the evaluator and the roadmap model for `scenario` (`lp_within`
    as in `cxplan.api.prepare`; `room`: the scenario with the largest limits what-if
    re-solves will set, see `build_roadmap_model`)."""
    plugins = plugins or get_plugin_manager()
    registered = plugins.criteria()
    criteria = {name: registered[name] for name in scenario.criteria}
    began = time.perf_counter()
    cal = calendar(scenario)
    hooks = [plugins.constraints_for] if plugins.has_constraints() else []
    model = build_roadmap_model(cal, criteria, extra_constraints=hooks, lp_within=lp_within,
                                room=calendar(room) if room is not None else None)
    evaluator = ScheduleEvaluator(cal, criteria)
    return PreparedRoadmap(scenario, cal, criteria, evaluator, time.perf_counter() - began,
                           model=model)


def roadmap_backlog(scenario: Scenario, plugins: CxplanPlugins) -> RoadmapBacklog:
    """The roadmap's calendar, criteria and evaluator, without a model."""
    registered = plugins.criteria()
    began = time.perf_counter()
    cal = calendar(scenario)
    criteria = {name: registered[name] for name in scenario.criteria}
    return RoadmapBacklog(scenario, cal, criteria, ScheduleEvaluator(cal, criteria),
                          time.perf_counter() - began)


def roadmap_model_fits(backlog: RoadmapBacklog, time_limit: float, plugins: CxplanPlugins,
                       lp_within: float | None = None) -> bool:
    """Whether the roadmap's model (`estimated_roadmap_columns`) can be built in half the
    time limit, as for single-period plans (`cxplan.optimizer.pipeline.model_fits`); a
    constraint plugin's rows can only be kept by the model, so it is built then."""
    columns = estimated_roadmap_columns(backlog.calendar, lp_within)
    if columns * BUILD_SECONDS_PER_COLUMN <= time_limit / 2:
        return True
    cal = backlog.calendar
    return plugins_add_rows(backlog.scenario, cal.journey(cal.periods), plugins)


def roadmap_start_only(backlog: RoadmapBacklog, options: SolverOptions, began: float) -> Plan:
    """The greedy schedule as the plan, for a roadmap whose model is too large to build in
    the time limit (its memory grows with it too: 1 000 improvements × 120 periods took
    11 GB)."""
    found = backlog.start(max(0.5, options.time_limit * 0.4))
    if found is None:
        raise InfeasibleError(roadmap_conflict(backlog.calendar) or [
            "the mandatory improvements do not fit the roadmap's limits together"])
    keys = start_keys(found)
    result = SolveResult(Status.TIME_LIMIT, tuple(keys), None, None, None, 0,
                         time.perf_counter() - began, {}, True)
    plan = roadmap_plan(backlog, found, result)
    return replace(plan, warnings=(*plan.warnings, (
        "the roadmap's optimization model would take longer to build than the time limit "
        "allows (and as much memory): this plan is the greedy schedule (exact values, no "
        "proven bound); raise --time-limit, or plan fewer periods or improvements, to "
        "optimize")))
