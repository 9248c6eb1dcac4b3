"""The Python API: load, evaluate, optimize. Nothing here prints or exits.

    >>> from cxplan import load_scenario, evaluate, optimize
    >>> scenario = load_scenario("scenarios/microfinance-onboarding.yaml")
    >>> plan = optimize(scenario, budget=300_000)
    >>> plan.selected, plan.expected_gain

This is the facade over the layers below (docs/model.md; README, "Layout"): loading
(`cxplan.load`), the exact evaluator (`cxplan.core`), the optimizer's pipeline
(`cxplan.optimizer.pipeline`, also `prepare` here for repeated solves of one model) and
the what-if analyses (`cxplan.whatif`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cxplan.clock import Clock
from cxplan.core.calendar import calendar
from cxplan.core.journey import Evaluation, build_journey
from cxplan.core.payback import with_payback
from cxplan.core.results import Plan
from cxplan.core.schedule import ScheduleEvaluator
from cxplan.core.schedule import violations as schedule_violations
from cxplan.core.selection import usage, violations
from cxplan.core.shapley import TIME_BUDGET, Game, with_shapley
from cxplan.errors import UsageError
from cxplan.files import atomic_path
from cxplan.load import load_scenario
from cxplan.optimizer.options import ProgressCallback, SolverOptions
from cxplan.optimizer.pipeline import (
    Pipeline,
    Prepared,
    backlog,
    model_fits,
    prepare,
    solve_pipeline,
    start_only,
)
from cxplan.optimizer.relaxation import lp_blocking_budget, relaxation_first
from cxplan.optimizer.roadmap.pipeline import (
    prepare_roadmap,
    roadmap_backlog,
    roadmap_model_fits,
    roadmap_start_only,
)
from cxplan.optimizer.sequence import needs_sequence, solve_sequence
from cxplan.plugins.manager import CxplanPlugins, get_plugin_manager
from cxplan.scenario.limits import Amount, apply_limits
from cxplan.scenario.models import Scenario
from cxplan.text import did_you_mean
from cxplan.whatif.marginal import marginal_room, with_marginals

__all__ = ["SelectionValue", "apply_limits", "evaluate", "load_scenario", "optimize",
           "prepare"]


@dataclass(frozen=True)
class SelectionValue:
    """What `evaluate` returns: the exact value of a given selection."""

    scenario: str
    selected: tuple[str, ...]
    baseline_value: float
    planned_value: float
    expected_gain: float
    cost: float
    staff_used: dict[str, float]
    feasible: bool
    violations: tuple[str, ...]
    evaluation: Evaluation
    schedule: dict[str, int] | None = None  # with a horizon: the start period of each id


def evaluate(scenario: Scenario, selection: Iterable[str] = ()) -> SelectionValue:
    """Exact value of selecting `selection`, and whether it respects the constraints.

    With a horizon each item is `id@period` (the start period, 1..N) and the values are
    the roadmap's discounted totals over the horizon.
    """
    if scenario.horizon is not None:
        return _evaluate_schedule(scenario, list(selection))
    chosen = list(dict.fromkeys(selection))
    unknown = [i for i in chosen if i not in set(scenario.improvement_ids)]
    if unknown:
        raise UsageError("; ".join(
            f"unknown improvement '{i}'{did_you_mean(i, scenario.improvement_ids)}"
            for i in unknown))
    journey = build_journey(scenario)
    evaluation = journey.evaluate(chosen)
    baseline = journey.evaluate(())
    used = usage(scenario, chosen)
    broken = [v.text for v in violations(scenario, chosen)]
    return SelectionValue(
        scenario=scenario.title,
        selected=evaluation.selection,
        baseline_value=baseline.value,
        planned_value=evaluation.value,
        expected_gain=evaluation.value - baseline.value,
        cost=used.cost,
        staff_used=used.staff,
        feasible=not broken,
        violations=tuple(broken),
        evaluation=evaluation,
    )


def _evaluate_schedule(scenario: Scenario, items: list[str]) -> SelectionValue:
    cal = calendar(scenario)
    schedule: dict[str, int] = {}
    problems = []
    for item in items:
        imp, _, period = item.rpartition("@")
        if (not imp or not (period.isascii() and period.isdecimal())
                or not 1 <= int(period) <= cal.periods):
            problems.append(f"'{item}': with a horizon, give each improvement with its start "
                            f"period, id@period (1 to {cal.periods})")
        elif imp not in set(scenario.improvement_ids):
            problems.append(f"unknown improvement '{imp}'"
                            f"{did_you_mean(imp, scenario.improvement_ids)}")
        elif imp in schedule:
            problems.append(f"'{imp}' is given twice: an improvement starts once")
        else:
            schedule[imp] = int(period)
    if problems:
        raise UsageError("; ".join(problems))
    evaluator = ScheduleEvaluator(cal, {})
    periods = evaluator.periods(schedule)
    gain = sum(p.discount * p.gain for p in periods)
    baseline = sum(p.discount * p.baseline.value for p in periods)
    staff = {team: max(sum(scenario.improvement(i).staff.get(team, 0.0)
                           for i, s in schedule.items() if cal.working(i, s, t))
                       for t in cal.numbers) for team in scenario.teams}
    found = schedule_violations(cal, schedule)
    return SelectionValue(
        scenario=scenario.title,
        selected=tuple(i for i in scenario.improvement_ids if i in schedule),
        baseline_value=baseline, planned_value=baseline + gain, expected_gain=gain,
        cost=float(sum(scenario.improvement(i).cost for i in schedule)), staff_used=staff,
        feasible=not found, violations=tuple(found),
        evaluation=cal.journey(cal.periods).evaluate(tuple(schedule)), schedule=schedule)


def optimize(
    scenario: Scenario,
    *,
    budget: Amount | None = None,
    teams: Mapping[str, Amount] | None = None,
    options: SolverOptions | None = None,
    plugins: CxplanPlugins | None = None,
    start: bool = True,
    export_lp: str | Path | None = None,
    progress: ProgressCallback | None = None,
    marginals: bool = False,
    budget_step: str | float = "10%",
    shapley: bool = True,
    clock: Clock | None = None,
) -> Plan:
    """The provably optimal plan (or, past the time limit, the best found with its gap).

    Raises `InfeasibleError` naming a minimal set of conflicting constraints when no
    selection satisfies them all. `export_lp` writes the model in LP format (variable
    names like `x_queue_app_`: PuLP replaces `-+[] ->/` with `_`). `progress` is called
    every few seconds during long solves with the incumbent, bound and gap. `budget` and
    `teams` replace the scenario's limits (`apply_limits`: a number, or text such as "500k"
    or "110%").
    `marginals` adds what one more unit of each limit would add (`budget_step` of the
    budget, "10%" or an amount; one person per team), re-solved in the same session
    with at most the time limit again for all of them (`cxplan.whatif.marginal`).
    `shapley` adds each funded improvement's Shapley value (its share of the gain that
    does not depend on the order; `cxplan.core.shapley`), within a few seconds.
    `clock` (`cxplan.clock.Clock`) is the command's clock when the time limit should count
    from earlier than this call (reading the file, say); `plan.timings` gives the seconds
    of each phase.

    With a `horizon:` the plan is a roadmap (`cxplan.optimizer.roadmap`): `plan.schedule`
    gives each improvement's start and finish period and `plan.periods` the money, staff
    and value per period; the gain is the horizon's discounted total. Its marginal values
    raise every period's budget in proportion, and a team by one person in every period.
    """
    options = options or SolverOptions()
    if clock is None:
        clock = Clock(options.time_limit)
    else:
        options = dataclasses.replace(options, time_limit=clock.limit)
    began = clock.began
    before = clock.elapsed  # seconds the command spent before this call (reading the file)
    plugins = plugins or get_plugin_manager()
    scenario = apply_limits(scenario, budget, teams)
    sequence = needs_sequence(scenario.objective)
    if scenario.horizon is not None and sequence:
        raise UsageError("`objective:` (normalize, priorities) is not supported with a "
                         "horizon yet: remove one of them")
    lp_first = start and not sequence and relaxation_first(options,
                                                           len(scenario.improvements))
    lp_within = lp_blocking_budget(options.time_limit) if lp_first else None
    pipeline: Pipeline
    if scenario.horizon is not None:
        # A roadmap: when to start each improvement (cxplan.optimizer.roadmap).
        if start and export_lp is None:
            found_roadmap = roadmap_backlog(scenario, plugins)
            if not roadmap_model_fits(found_roadmap, options.time_limit, plugins, lp_within):
                return _finished(roadmap_start_only(found_roadmap, options, began),
                                      scenario, found_roadmap.game, plugins, options, shapley,
                                      clock)
        # Marginal values re-solve with raised limits: the model keeps the starts they allow.
        room = marginal_room(scenario, budget_step) if marginals and not sequence else None
        pipeline = prepare_roadmap(scenario, plugins=plugins, lp_within=lp_within, room=room)
    else:
        journey = None
        if start and export_lp is None and not sequence:
            found = backlog(scenario, plugins)
            found.deadline = began + options.time_limit
            if not model_fits(found, options.time_limit, plugins, lp_first):
                return _finished(start_only(found, options, began), scenario,
                                      found.game, plugins, options, shapley, clock)
            journey = found.journey
        pipeline = prepare(scenario, plugins=plugins, journey=journey, lp_within=lp_within)
    if isinstance(pipeline, Prepared):  # the plan's ordering fits the time limit too
        pipeline.deadline = began + options.time_limit
    if export_lp is not None:
        with atomic_path(export_lp) as tmp:
            pipeline.problem.writeLP(str(tmp))
    if sequence:
        assert isinstance(pipeline, Prepared)
        # Normalized weights or lexicographic priorities: several solves (optimizer.sequence).
        result, outcome = solve_sequence(pipeline, options, use_start=start, began=began,
                                         progress=progress)
        clock.record("solve", clock.elapsed - sum(clock.timings.values()))
        with clock.phase("plan"):
            plan = outcome.apply(pipeline.plan(result))
    else:
        result, session = solve_pipeline(pipeline, options, began, start=start,
                                         progress=progress)
        # build_seconds counts from the clock's start: what came before is not building;
        # the solve is everything after it (an LP relaxation first, a start, the search).
        clock.record("build", max(0.0, pipeline.build_seconds - before))
        clock.record("solve", max(0.0, clock.elapsed - max(before, pipeline.build_seconds)))
        with clock.phase("plan"):
            plan = pipeline.plan(result)
        if marginals:
            with clock.phase("marginal_values"):
                # what is left, less what Shapley values and the report will want
                plan = with_marginals(pipeline, session, plan, options,
                                      budget_step=budget_step,
                                      time_left=clock.left - clock.limit * AFTER_MARGINALS)
    return _finished(plan, pipeline.scenario, pipeline.game, plugins, options, shapley, clock)


def _finished(plan: Plan, scenario: Scenario, game: Callable[[Plan], Game],
              plugins: CxplanPlugins, options: SolverOptions, shapley: bool,
              clock: Clock) -> Plan:
    """What every plan gets last, with or without a model: its Shapley values (and with
    `economics:` its pay-back), the thread note, the timings, then the plugins' hook."""
    if shapley:
        with clock.phase("shapley"):
            plan = with_shapley(plan, game(plan), time_budget=shapley_budget(clock))
        if scenario.economics is not None:
            plan = with_payback(plan, scenario.economics)
    if options.threads_note:
        plan = dataclasses.replace(plan, warnings=(*plan.warnings, options.threads_note))
    plan = dataclasses.replace(plan, timings=clock.summary())
    plugins.plan_finished(plan, scenario)
    return plan


AFTER_MARGINALS = 0.08  # share of the time limit kept for Shapley values and the report


def shapley_budget(clock: Clock) -> float:
    """Seconds for a plan's Shapley values: a twentieth of the time limit, at most 1 s, and
    never more than what the limit has left (then none, with a warning)."""
    return max(0.0, min(TIME_BUDGET, clock.limit / 20, clock.left - clock.limit / 50))
