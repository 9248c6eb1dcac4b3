"""The Python API: load, evaluate, optimize. Nothing here prints or exits.

    >>> from cxplan import load_scenario, evaluate, optimize
    >>> scenario = load_scenario("scenarios/microfinance-onboarding.yaml")
    >>> plan = optimize(scenario, budget=300_000)
    >>> plan.selected, plan.expected_gain
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from cxplan.core.criterion import Criterion
from cxplan.core.journey import Evaluation, Journey, build_journey
from cxplan.core.results import (
    ImprovementResult,
    PersonaResult,
    Plan,
    check_agreement,
    criterion_values,
    rank,
)
from cxplan.errors import InfeasibleError, UsageError
from cxplan.files import atomic_path
from cxplan.optimizer.greedy import Resources, batched_greedy, greedy_plan, requirement_closure
from cxplan.optimizer.highs import ProgressCallback, Session, SolveResult, SolverOptions
from cxplan.optimizer.infeasible import minimal_conflict
from cxplan.optimizer.model import Model, build_model
from cxplan.optimizer.relaxation import lp_blocking_budget, relaxation_first
from cxplan.optimizer.sequence import needs_sequence, solve_sequence
from cxplan.plugins.manager import CxplanPlugins, get_plugin_manager
from cxplan.scenario.models import Scenario


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


def apply_limits(
    scenario: Scenario, budget: float | None = None, teams: Mapping[str, float] | None = None
) -> Scenario:
    """The scenario with a what-if budget and/or team capacities; unknown teams are an error."""
    if teams:
        unknown = sorted(set(teams) - set(scenario.teams))
        if unknown:
            raise UsageError(f"unknown team(s) {', '.join(unknown)}; the scenario declares: "
                             f"{', '.join(sorted(scenario.teams)) or 'no teams'}")
        if any(v < 0 for v in teams.values()):
            raise UsageError("team capacities must be ≥ 0")
    if budget is not None and budget < 0:
        raise UsageError("the budget must be ≥ 0")
    return scenario.with_limits(budget, dict(teams or {}))


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
        from cxplan.validate import did_you_mean

        raise UsageError("; ".join(
            f"unknown improvement '{i}'{did_you_mean(i, scenario.improvement_ids)}"
            for i in unknown))
    journey = build_journey(scenario)
    evaluation = journey.evaluate(chosen)
    baseline = journey.evaluate(())
    cost, staff = _usage(scenario, chosen)
    return SelectionValue(
        scenario=scenario.title,
        selected=evaluation.selection,
        baseline_value=baseline.value,
        planned_value=evaluation.value,
        expected_gain=evaluation.value - baseline.value,
        cost=cost,
        staff_used=staff,
        feasible=not (violations := _violations(scenario, set(chosen), cost, staff)),
        violations=tuple(violations),
        evaluation=evaluation,
    )


def _evaluate_schedule(scenario: Scenario, items: list[str]) -> SelectionValue:
    from cxplan.core.calendar import calendar
    from cxplan.core.schedule import ScheduleEvaluator, violations

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
            from cxplan.validate import did_you_mean

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
    found = violations(cal, schedule)
    return SelectionValue(
        scenario=scenario.title,
        selected=tuple(i for i in scenario.improvement_ids if i in schedule),
        baseline_value=baseline, planned_value=baseline + gain, expected_gain=gain,
        cost=float(sum(scenario.improvement(i).cost for i in schedule)), staff_used=staff,
        feasible=not found, violations=tuple(found),
        evaluation=cal.journey(cal.periods).evaluate(tuple(schedule)), schedule=schedule)


def _usage(scenario: Scenario, selection: Iterable[str]) -> tuple[float, dict[str, float]]:
    chosen = set(selection)
    imps = [i for i in scenario.improvements if i.id in chosen]
    cost = float(sum(i.cost for i in imps))
    staff = {team: float(sum(i.staff.get(team, 0.0) for i in imps)) for team in scenario.teams}
    return cost, staff


def _violations(
    scenario: Scenario, chosen: set[str], cost: float, staff: dict[str, float]
) -> list[str]:
    found = []
    if scenario.budget is not None and cost > scenario.budget + 1e-9:
        found.append(f"cost {cost:,.2f} exceeds the budget of {scenario.budget:,.2f}")
    for team, used in staff.items():
        if used > scenario.teams[team] + 1e-9:
            found.append(f"team '{team}' needs {used:g} staff, has {scenario.teams[team]:g}")
    for imp in scenario.improvements:
        if imp.mandatory and imp.id not in chosen:
            found.append(f"mandatory '{imp.id}' is not selected")
        if imp.id in chosen:
            found += [f"'{imp.id}' requires '{r}'" for r in imp.requires if r not in chosen]
    pairs = {tuple(sorted((imp.id, other))) for imp in scenario.improvements
             for other in imp.excludes}
    found += [f"'{a}' and '{b}' exclude each other" for a, b in sorted(pairs)
              if a in chosen and b in chosen]
    return found


LARGE_BACKLOG = 1500  # above this many improvements the start begins with batched_greedy


@dataclass
class Backlog:
    """A scenario with its journey and criteria: what a plan is evaluated and started with."""

    scenario: Scenario
    journey: Journey
    criteria: dict[str, Criterion]
    build_seconds: float

    @property
    def weights(self) -> dict[str, float]:
        """The criteria that count (non-zero weight) and their weights."""
        return {name: float(w) for name, w in self.scenario.criteria.items() if w}

    def objective(self, selection: Iterable[str]) -> float:
        """The exact weighted objective of a selection (Σ weight × criterion value)."""
        values, _ = criterion_values(self.scenario, self.journey, self.criteria,
                                     tuple(selection))
        return sum(v.weight * v.value for v in values.values())

    def greedy(self, time_budget: float, initial: Sequence[str] = ()) -> list[str] | None:
        """A feasible start by lazy greedy (None if the mandatory set is infeasible).

        `initial`, a selection to extend, is dropped if it does not fit the scenario's
        limits. When expected experience is the only criterion, first-order estimates (one
        adjoint solve per persona) seed the greedy queue instead of one exact solve per
        candidate.
        """
        initial = list(initial)
        if initial and not Resources(self.scenario).fits(
                requirement_closure(self.scenario, initial)):
            initial = []
        if set(self.weights) != {"expected_experience"}:
            return greedy_plan(self.scenario, self.objective, time_budget=time_budget,
                               initial=initial)
        weight = self.weights["expected_experience"]

        def estimate(selection: set[str]) -> dict[str, float]:
            return {i: weight * g for i, g in self.journey.first_order_gains(selection).items()}

        began = time.perf_counter()
        if not initial and len(self.scenario.improvements) > LARGE_BACKLOG:
            # Exact greedy steps cost a full solve each: too few fit in the budget here.
            initial = batched_greedy(self.scenario, estimate,
                                     time_budget=time_budget / 2) or []
        return greedy_plan(self.scenario, self.objective,
                           time_budget=time_budget - (time.perf_counter() - began),
                           estimates=estimate(set(initial)), initial=initial)

    def build_plan(self, result: SolveResult, modelled: Mapping[str, float] | None) -> Plan:
        """The Plan of a result's selection, every number from the exact evaluator;
        `modelled` (the solver's value of each criterion) must agree with it."""
        scenario, journey, criteria = self.scenario, self.journey, self.criteria
        selected = result.selected
        values, ctx = criterion_values(scenario, journey, criteria, selected)
        for name, value in (modelled or {}).items():
            check_agreement(f"criterion {name!r}", value, values[name].value,
                            criteria[name].magnitude(ctx))
        evaluation, baseline = ctx.evaluation, ctx.baseline
        gain = evaluation.value - baseline.value
        cost, staff = _usage(scenario, selected)
        improvements = []
        for position, (imp_id, part) in enumerate(rank(scenario, journey, selected), start=1):
            imp = scenario.improvement(imp_id)
            improvements.append(ImprovementResult(
                id=imp.id, name=imp.label, owner=imp.owner, cost=imp.cost,
                staff=dict(imp.staff), rank=position, gain=part,
                share=part / gain if gain else 0.0))
        personas = tuple(
            PersonaResult(
                id=chain.id, name=chain.label, customers=chain.customers,
                baseline_value=before.value, planned_value=after.value,
                baseline_abandonment=before.abandonment,
                planned_abandonment=after.abandonment,
                baseline_failures=float(before.failures.sum()),
                planned_failures=float(after.failures.sum()))
            for chain, before, after in zip(journey.personas, baseline.personas,
                                            evaluation.personas, strict=True))
        return Plan(
            scenario=scenario.title,
            status=result.status,
            selected=selected,
            objective=sum(v.weight * v.value for v in values.values()),
            expected_gain=gain,
            baseline_value=baseline.value,
            planned_value=evaluation.value,
            cost=cost,
            staff_used=staff,
            criteria=values,
            gap=result.gap,
            bound=result.bound,
            currency=scenario.currency,
            budget=scenario.budget,
            teams=dict(scenario.teams),
            improvements=tuple(improvements),
            personas=personas,
            build_seconds=self.build_seconds,
            solve_seconds=result.seconds,
            nodes=result.nodes,
            warnings=tuple(w.format() for w in scenario.warnings),
            evaluation=evaluation,
            baseline=baseline,
        )


@dataclass
class Prepared(Backlog):
    """A scenario ready to solve: journey, criteria and the built model.

    `optimize` is `prepare` + `session().solve(...)` + `plan(...)`; what-if analyses use
    the pieces to solve the same model many times.
    """

    model: Model = field(kw_only=True)

    def session(self, options: SolverOptions) -> Session:
        return Session(self.model.problem, self.model.x, options)

    def solve(self, session: Session, start: Sequence[str] | None,
              time_limit: float | None = None,
              progress: ProgressCallback | None = None) -> SolveResult:
        """Solve in `session` from `start`; raises InfeasibleError with the conflict."""
        values = self.model.context.start_values(start) if start is not None else None
        return self._feasible(
            session.solve(start, values, time_limit=time_limit, progress=progress))

    def solve_from_relaxation(self, session: Session, deadline: float,
                              progress: ProgressCallback | None = None) -> SolveResult:
        """Solve in `session` LP-first (`cxplan.optimizer.relaxation`: LP bound, searched start),
        or, if the LP relaxation is not solved in time, from the greedy start; all before
        `deadline` (a `time.perf_counter()` value). Raises InfeasibleError with the
        conflict."""
        from cxplan.optimizer.relaxation import solve_from_relaxation

        began = time.perf_counter()
        result = solve_from_relaxation(
            session, deadline, lambda initial, seconds: self.greedy(seconds, initial),
            self.model.context.start_values, progress)
        if result is None:
            # The LP did not finish: most of the time is gone, and the search will not get
            # far on a model this large in what is left, so the greedy gets half of it.
            first = self.greedy(max(0.5, (deadline - time.perf_counter()) / 2))
            return self.solve(session, first, max(deadline - time.perf_counter(), 0.05),
                              progress)
        return replace(self._feasible(result), seconds=time.perf_counter() - began)

    def _feasible(self, result: SolveResult) -> SolveResult:
        if result.status == "infeasible":
            conflict = minimal_conflict(self.scenario)
            raise InfeasibleError(conflict or [
                "the core constraints can be met together, so the conflict involves "
                "constraints added by plugins: " + ", ".join(self.model.plugin_constraints)])
        return result

    def plan(self, result: SolveResult) -> Plan:
        """Re-evaluate a solver result exactly, check agreement, rank, and build the Plan."""
        return self.build_plan(result, {name: result.value_of(term)
                                        for name, term in self.model.terms.items()})


# Building the model costs about 40 µs of CPU and a few KB of memory per column (168 000
# columns at 10 000 improvements: 6.5 s; benchmarks/build_speed.py). A model that would
# take more than half the time limit to build is not built: the plan is the greedy start.
BUILD_SECONDS_PER_COLUMN = 4e-5


class _NeedsModel(Exception):
    """A constraint plugin asked for more than the decision variables."""


class _Probe:
    """What constraint plugins see when cxplan only asks whether they add anything: the
    scenario, the journey and the decision variables, nothing of the model."""

    def __init__(self, backlog: Backlog) -> None:
        import pulp

        self.scenario, self.journey = backlog.scenario, backlog.journey
        self.problem = pulp.LpProblem("probe", pulp.LpMaximize)
        self.x = {imp: self.problem.add_variable(f"x{k}", 0, 1, pulp.LpBinary)
                  for k, imp in enumerate(backlog.scenario.improvement_ids)}

    def __getattr__(self, name: str) -> object:
        raise _NeedsModel(name)


def _backlog(scenario: Scenario, plugins: CxplanPlugins) -> Backlog:
    registered = plugins.criteria()
    began = time.perf_counter()
    journey = build_journey(scenario)
    return Backlog(scenario, journey, {name: registered[name] for name in scenario.criteria},
                   time.perf_counter() - began)


def model_fits(backlog: Backlog, time_limit: float, plugins: CxplanPlugins,
               lp_first: bool = False) -> bool:
    """Whether the model (for an `lp_first` solve or not: `lp_blocking_budget`) can be
    built in half the time limit (or must be: a constraint plugin adds rows, which only
    the model can keep)."""
    from cxplan.errors import PluginError
    from cxplan.optimizer.model import choose_blocking, estimated_columns

    scenario, journey = backlog.scenario, backlog.journey
    columns = estimated_columns(scenario, journey, choose_blocking(
        scenario, journey, lp_blocking_budget(time_limit) if lp_first else None))
    if columns * BUILD_SECONDS_PER_COLUMN <= time_limit / 2:
        return True
    if plugins.has_constraints():
        try:
            if plugins.constraints_for(_Probe(backlog)):
                return True
        except PluginError as exc:
            if isinstance(exc.__cause__, _NeedsModel):
                return True
            raise
    return False


def _start_only(backlog: Backlog, options: SolverOptions, began: float) -> Plan:
    """The greedy start as the plan, for a model too large to build in the time limit."""
    # Ranking and re-evaluating the plan afterwards take about as long again at this size.
    first = backlog.greedy(max(0.5, options.time_limit * 0.4))
    if first is None:
        raise InfeasibleError(minimal_conflict(backlog.scenario) or [
            "the mandatory improvements do not fit the limits together"])
    chosen = set(first)
    selected = tuple(i for i in backlog.scenario.improvement_ids if i in chosen)
    result = SolveResult("time_limit", selected, None, None, None, 0,
                         time.perf_counter() - began, {}, True)
    plan = backlog.build_plan(result, None)
    return replace(plan, warnings=(*plan.warnings, (
        "the optimization model would take longer to build than the time limit allows: "
        "this plan is the greedy start (exact values, no proven bound); raise "
        "--time-limit to optimize")))


def prepare(scenario: Scenario, *, plugins: CxplanPlugins | None = None,
            journey: Journey | None = None, lp_within: float | None = None) -> Prepared:
    """Build the journey (unless given) and the optimization model for `scenario`.

    `lp_within`: the model is for an LP-first solve whose LP relaxation may take that many
    seconds (`cxplan.optimizer.model.choose_blocking`: the tight hull where its LP fits)."""
    plugins = plugins or get_plugin_manager()
    registered = plugins.criteria()
    criteria = {name: registered[name] for name in scenario.criteria}
    began = time.perf_counter()
    journey = journey or build_journey(scenario)
    model = build_model(scenario, journey, criteria, extra_constraints=[plugins.constraints_for],
                        lp_within=lp_within)
    return Prepared(scenario, journey, criteria, time.perf_counter() - began, model=model)


def optimize(
    scenario: Scenario,
    *,
    budget: float | None = None,
    teams: Mapping[str, float] | None = None,
    options: SolverOptions | None = None,
    plugins: CxplanPlugins | None = None,
    start: bool = True,
    export_lp: str | Path | None = None,
    progress: ProgressCallback | None = None,
    marginals: bool = False,
    budget_step: str | float = "10%",
) -> Plan:
    """The provably optimal plan (or, past the time limit, the best found with its gap).

    Raises `InfeasibleError` naming a minimal set of conflicting constraints when no
    selection satisfies them all. `export_lp` writes the model in LP format (variable
    names like `x_queue_app_`: PuLP replaces `-+[] ->/` with `_`). `progress` is called
    every few seconds during long solves with the incumbent, bound and gap.
    `marginals` adds what one more unit of each limit would add (`budget_step` of the
    budget, "10%" or an amount; one person per team), re-solved in the same session
    with at most the time limit again for all of them (`cxplan.whatif.marginal`).

    With a `horizon:` the plan is a roadmap (`cxplan.optimizer.roadmap`): `plan.schedule` gives
    each improvement's start and finish period and `plan.periods` the money, staff and
    value per period; the gain is the horizon's discounted total. Marginal values are
    not computed for roadmaps.
    """
    began = time.perf_counter()
    options = options or SolverOptions()
    scenario = apply_limits(scenario, budget, teams)
    if scenario.horizon is not None:
        # A roadmap: when to start each improvement (cxplan.optimizer.roadmap).
        if needs_sequence(scenario.objective):
            raise UsageError("`objective:` (normalize, priorities) is not supported with a "
                             "horizon yet: remove one of them")
        from cxplan.optimizer.roadmap.pipeline import optimize_roadmap

        plan = optimize_roadmap(scenario, options=options, plugins=plugins, start=start,
                                export_lp=export_lp, progress=progress)
        (plugins or get_plugin_manager()).plan_finished(plan, scenario)
        return plan
    journey = None
    lp_first = start and not needs_sequence(scenario.objective) and relaxation_first(
        options, len(scenario.improvements))
    if start and export_lp is None and not needs_sequence(scenario.objective):
        backlog = _backlog(scenario, plugins or get_plugin_manager())
        if not model_fits(backlog, options.time_limit, plugins or get_plugin_manager(),
                          lp_first):
            plan = _start_only(backlog, options, began)
            (plugins or get_plugin_manager()).plan_finished(plan, scenario)
            return plan
        journey = backlog.journey
    prepared = prepare(scenario, plugins=plugins, journey=journey,
                       lp_within=lp_blocking_budget(options.time_limit) if lp_first else None)
    if export_lp is not None:
        with atomic_path(export_lp) as tmp:
            prepared.model.problem.writeLP(str(tmp))
    if needs_sequence(prepared.scenario.objective):
        # Normalized weights or lexicographic priorities: several solves (optimizer.sequence).
        result, outcome = solve_sequence(prepared, options, use_start=start, began=began,
                                         progress=progress)
        plan = outcome.apply(prepared.plan(result))
    else:
        if lp_first:
            prepared.build_seconds = time.perf_counter() - began
            session = prepared.session(options)
            result = prepared.solve_from_relaxation(session, began + options.time_limit,
                                                    progress)
        else:
            first = prepared.greedy(max(0.5, options.time_limit / 10)) if start else None
            prepared.build_seconds = time.perf_counter() - began
            # The time limit covers the whole run: the solver gets what building and the
            # start left.
            remaining = max(options.time_limit - (time.perf_counter() - began), 0.05)
            session = prepared.session(replace(options, time_limit=remaining))
            result = prepared.solve(session, first, progress=progress)
        plan = prepared.plan(result)
        if marginals:
            from cxplan.whatif.marginal import with_marginals

            plan = with_marginals(prepared, session, plan, options, budget_step=budget_step)
    (plugins or get_plugin_manager()).plan_finished(plan, prepared.scenario)
    return plan

