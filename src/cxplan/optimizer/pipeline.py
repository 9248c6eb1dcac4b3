"""From a checked scenario to a re-evaluated plan: one pipeline for single-period plans and
roadmaps.

A `Pipeline` is a scenario ready to solve: its criteria, its built model and what it takes
to start, solve and explain it. `solve_pipeline` runs the same steps for every kind: an
LP-first solve on large backlogs (`cxplan.optimizer.relaxation`), otherwise a greedy start
and the MIP, all within one time limit; an infeasible model raises `InfeasibleError` with
a minimal conflict. `Pipeline.plan` re-evaluates the solver's answer exactly and builds
the `Plan`. `Prepared` is the single-period pipeline; roadmaps have theirs in
`cxplan.optimizer.roadmap.pipeline`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pulp

from cxplan.core.criterion import Criterion
from cxplan.core.evaluation import check_criterion, criterion_values, weighted_objective
from cxplan.core.journey import Journey, build_journey
from cxplan.core.ranking import ranking
from cxplan.core.results import ImprovementResult, PersonaResult, Plan
from cxplan.core.selection import Resources, requirement_closure, usage
from cxplan.core.shapley import Game, plan_game
from cxplan.core.status import Status
from cxplan.errors import InfeasibleError, PluginError
from cxplan.optimizer.greedy import batched_greedy, greedy_plan
from cxplan.optimizer.infeasible import NO_CONFLICT_FOUND, PluginRows, minimal_conflict
from cxplan.optimizer.model import Model, build_model, choose_blocking, estimated_columns
from cxplan.optimizer.options import ProgressCallback, SolverOptions
from cxplan.optimizer.relaxation import (
    lp_blocking_budget,
    relaxation_first,
    solve_from_relaxation,
)
from cxplan.optimizer.session import Session, SolveResult
from cxplan.plugins.manager import CxplanPlugins, get_plugin_manager
from cxplan.scenario.models import Scenario

LARGE_BACKLOG = 1500  # above this many improvements the start begins with batched_greedy
# Building the model costs about 40 µs of CPU and a few KB of memory per column (168 000
# columns at 10 000 improvements: 6.5 s; benchmarks/build_speed.py). A model that would
# take more than half the time limit to build is not built: the plan is the greedy start.
BUILD_SECONDS_PER_COLUMN = 4e-5


class Pipeline(ABC):
    """A scenario ready to solve: the steps every kind of plan shares.

    Decisions are named by keys: an improvement's id for a single-period plan,
    "id@period" (its start) for a roadmap. Subclasses say how to start, complete a start,
    explain a conflict and build the plan.
    """

    scenario: Scenario
    criteria: dict[str, Criterion]
    build_seconds: float
    # With the LP not solved in time, the share of what is left that the greedy start gets.
    greedy_share_after_lp = 0.5

    @property
    @abstractmethod
    def problem(self) -> pulp.LpProblem:
        """The built model."""

    @property
    @abstractmethod
    def decisions(self) -> dict[str, pulp.LpVariable]:
        """The binary decision variables, by key."""

    @abstractmethod
    def first(self, time_budget: float, initial: Sequence[str] = ()) -> list[str] | None:
        """A feasible start (keys), extending `initial` where it fits; None if the
        mandatory improvements cannot be had."""

    @abstractmethod
    def start_values(self, keys: Sequence[str]) -> dict[str, float]:
        """Every model variable's value at a start (a complete MIP start, no solve)."""

    @abstractmethod
    def conflict(self) -> list[str]:
        """A minimal set of conflicting rules, for an infeasible model."""

    @abstractmethod
    def plan(self, result: SolveResult) -> Plan:
        """Re-evaluate a solver result exactly, check agreement, build the Plan."""

    @abstractmethod
    def game(self, plan: Plan) -> Game:
        """The coalition game of a plan's gain, for its Shapley values."""

    def session(self, options: SolverOptions) -> Session:
        return Session(self.problem, self.decisions, options)

    def solve(self, session: Session, start: Sequence[str] | None,
              time_limit: float | None = None,
              progress: ProgressCallback | None = None) -> SolveResult:
        """Solve in `session` from `start`; raises InfeasibleError with the conflict."""
        values = self.start_values(start) if start is not None else None
        return self.feasible(
            session.solve(start, values, time_limit=time_limit, progress=progress))

    def solve_from_relaxation(self, session: Session, deadline: float,
                              progress: ProgressCallback | None = None) -> SolveResult:
        """Solve in `session` LP-first (`cxplan.optimizer.relaxation`: LP bound, searched
        start, reduced-cost fixing), or, if the LP relaxation is not solved in time, from
        the greedy start; all before `deadline` (a `time.perf_counter()` value). Raises
        InfeasibleError with the conflict."""
        began = time.perf_counter()
        result = solve_from_relaxation(
            session, deadline, lambda initial, seconds: self.first(seconds, initial),
            self.start_values, progress)
        if result is None:
            # The LP did not finish: most of the time is gone, and the search will not get
            # far on a model this large in what is left.
            left = deadline - time.perf_counter()
            first = self.first(max(0.5, left * self.greedy_share_after_lp))
            return self.solve(session, first, max(deadline - time.perf_counter(), 0.05),
                              progress)
        return replace(self.feasible(result), seconds=time.perf_counter() - began)

    def feasible(self, result: SolveResult) -> SolveResult:
        """`result`, unless the model is infeasible: then InfeasibleError with the
        conflict."""
        if result.status == Status.INFEASIBLE:
            raise InfeasibleError(self.conflict())
        return result


def solve_pipeline(pipeline: Pipeline, options: SolverOptions, began: float, *,
                   start: bool = True,
                   progress: ProgressCallback | None = None) -> tuple[SolveResult, Session]:
    """Start and solve within `options.time_limit` counted from `began` (building the model
    included), the same way for every kind of pipeline: LP-first on large backlogs, else a
    greedy start (unless `start` is False) and the MIP."""
    if start and relaxation_first(options, len(pipeline.scenario.improvements)):
        pipeline.build_seconds = time.perf_counter() - began
        session = pipeline.session(options)
        return (pipeline.solve_from_relaxation(session, began + options.time_limit, progress),
                session)
    first = pipeline.first(max(0.5, options.time_limit / 10)) if start else None
    pipeline.build_seconds = time.perf_counter() - began
    # The time limit covers the whole run: the solver gets what building and the start left.
    remaining = max(options.time_limit - (time.perf_counter() - began), 0.05)
    session = pipeline.session(replace(options, time_limit=remaining))
    return pipeline.solve(session, first, progress=progress), session


@dataclass
class Backlog:
    """A scenario with its journey and criteria: what a plan is evaluated and started with."""

    scenario: Scenario
    journey: Journey
    criteria: dict[str, Criterion]
    build_seconds: float
    # When the plan's ordering and parts must be done (time.perf_counter()); None: no limit.
    deadline: float | None = field(default=None, kw_only=True)

    @property
    def weights(self) -> dict[str, float]:
        """The criteria that count (non-zero weight) and their weights."""
        return {name: float(w) for name, w in self.scenario.criteria.items() if w}

    def objective(self, selection: Iterable[str]) -> float:
        """The exact weighted objective of a selection (Σ weight × criterion value)."""
        values, _ = criterion_values(self.scenario, self.journey, self.criteria,
                                     tuple(selection))
        return weighted_objective(values)

    def game(self, plan: Plan) -> Game:
        """The gain of any subset of the plan's selection (`cxplan.core.shapley`)."""
        return plan_game(self.journey, plan.selected)

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
            check_criterion(criteria[name], value, values[name].value,
                            criteria[name].magnitude(ctx), selected)
        evaluation, baseline = ctx.evaluation, ctx.baseline
        gain = evaluation.value - baseline.value
        used = usage(scenario, selected)
        improvements = []
        ranked = ranking(scenario, journey, selected, deadline=self.deadline)
        for position, (imp_id, part) in enumerate(ranked.parts, start=1):
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
            objective=weighted_objective(values),
            expected_gain=gain,
            baseline_value=baseline.value,
            planned_value=evaluation.value,
            cost=used.cost,
            staff_used=used.staff,
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
            warnings=(*(w.format() for w in scenario.warnings),
                      *((ranked.reduced,) if ranked.reduced else ())),
            evaluation=evaluation,
            baseline=baseline,
        )


@dataclass
class Prepared(Backlog, Pipeline):
    """A single-period scenario ready to solve: journey, criteria and the built model.

    `optimize` is `prepare` + `solve_pipeline` + `plan`; what-if analyses use the pieces to
    solve the same model many times.
    """

    model: Model = field(kw_only=True)

    @property
    def problem(self) -> pulp.LpProblem:
        return self.model.problem

    @property
    def decisions(self) -> dict[str, pulp.LpVariable]:
        return self.model.x

    def first(self, time_budget: float, initial: Sequence[str] = ()) -> list[str] | None:
        return self.greedy(time_budget, initial)

    def start_values(self, keys: Sequence[str]) -> dict[str, float]:
        return self.model.context.start_values(keys)

    def conflict(self) -> list[str]:
        return minimal_conflict(self.scenario, self.plugin_rows()) or [NO_CONFLICT_FOUND]

    def plugin_rows(self, forced_out: Sequence[str] = ()) -> PluginRows:
        """The constraints plugins added to the model, for explaining a conflict."""
        return PluginRows.of(self.model.problem, self.model.plugin_constraints, self.model.x,
                             forced_out)

    def plan(self, result: SolveResult) -> Plan:
        return self.build_plan(result, {name: result.value_of(term)
                                        for name, term in self.model.terms.items()})


def backlog(scenario: Scenario, plugins: CxplanPlugins) -> Backlog:
    """The scenario's journey and weighted criteria, without a model."""
    registered = plugins.criteria()
    began = time.perf_counter()
    journey = build_journey(scenario)
    return Backlog(scenario, journey, {name: registered[name] for name in scenario.criteria},
                   time.perf_counter() - began)


class _NeedsModel(Exception):
    """A constraint plugin asked for more than the decision variables."""


class _Probe:
    """What constraint plugins see when cxplan only asks whether they add anything: the
    scenario, the journey and the decision variables, nothing of the model."""

    def __init__(self, scenario: Scenario, journey: Journey) -> None:
        self.scenario, self.journey = scenario, journey
        self.problem = pulp.LpProblem("probe", pulp.LpMaximize)
        self.x = {imp: self.problem.add_variable(f"x{k}", 0, 1, pulp.LpBinary)
                  for k, imp in enumerate(scenario.improvement_ids)}

    def __getattr__(self, name: str) -> object:
        raise _NeedsModel(name)


def plugins_add_rows(scenario: Scenario, journey: Journey, plugins: CxplanPlugins) -> bool:
    """Whether constraint plugins add rows to this scenario's model (or may: one asked for
    more than the decision variables); such rows can only be kept by building the model."""
    if not plugins.has_constraints():
        return False
    try:
        return bool(plugins.constraints_for(_Probe(scenario, journey)))
    except PluginError as exc:
        if isinstance(exc.__cause__, _NeedsModel):
            return True
        raise


def model_fits(backlog: Backlog, time_limit: float, plugins: CxplanPlugins,
               lp_first: bool = False) -> bool:
    """Whether the model (for an `lp_first` solve or not: `lp_blocking_budget`) can be
    built in half the time limit (or must be: a constraint plugin adds rows, which only
    the model can keep)."""
    scenario, journey = backlog.scenario, backlog.journey
    columns = estimated_columns(scenario, journey, choose_blocking(
        scenario, journey, lp_blocking_budget(time_limit) if lp_first else None))
    if columns * BUILD_SECONDS_PER_COLUMN <= time_limit / 2:
        return True
    return plugins_add_rows(scenario, journey, plugins)


def start_only(backlog: Backlog, options: SolverOptions, began: float) -> Plan:
    """The greedy start as the plan, for a model too large to build in the time limit."""
    # Ranking and re-evaluating the plan afterwards take about as long again at this size.
    first = backlog.greedy(max(0.5, options.time_limit * 0.4))
    if first is None:
        raise InfeasibleError(minimal_conflict(backlog.scenario) or [
            "the mandatory improvements do not fit the limits together"])
    chosen = set(first)
    selected = tuple(i for i in backlog.scenario.improvement_ids if i in chosen)
    result = SolveResult(Status.TIME_LIMIT, selected, None, None, None, 0,
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
