"""One built model, solved many times: the engine behind every what-if question.

A `WhatIf` prepares a scenario once (criteria, the exact MILP, one HiGHS session) and
answers "what is the best plan if ..." by changing right-hand sides (budget, team
capacities) or fixing improvements in or out, then solving again from a feasible start.
Every number it returns comes from the exact evaluator applied to the plan the solver
found, like a Plan's; the solver's own objective is only used to check agreement and
for its bound. `Analysis` is the single-period kind (a plan is a selection);
`cxplan.whatif.roadmap.RoadmapAnalysis` the roadmap kind (a plan is a schedule, its
decisions "id@start"); `cxplan.whatif.analyses.analysis_for` picks the right one.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Protocol, Self

from cxplan.clock import MIN_WORK_SECONDS, Clock
from cxplan.core.evaluation import check_agreement, criterion_values, weighted_objective
from cxplan.core.journey import Journey, build_journey
from cxplan.core.results import Plan
from cxplan.core.selection import (
    Limits,
    Resources,
    allowance,
    requirement_closure,
    usage,
    violations,
)
from cxplan.core.status import Status
from cxplan.errors import InfeasibleError, NoPlanInTime, UsageError
from cxplan.optimizer.greedy import greedy_plan
from cxplan.optimizer.infeasible import NO_CONFLICT_FOUND, minimal_conflict
from cxplan.optimizer.model import Model
from cxplan.optimizer.options import SolverOptions
from cxplan.optimizer.pipeline import Backlog, Pipeline, Prepared, prepare
from cxplan.optimizer.relaxation import lp_blocking_budget, relaxation_first, solve_from_relaxation
from cxplan.optimizer.roadmap.model import RoadmapModel
from cxplan.optimizer.sequence import needs_sequence
from cxplan.optimizer.session import Session, SolveResult
from cxplan.plugins.manager import CxplanPlugins
from cxplan.scenario.models import Improvement, Scenario
from cxplan.text import shortlist

VALUE_TOLERANCE = 1e-6  # relative: below this, two objective values are treated as equal
# Share of a command's time limit its solves leave for writing the answer (tables, JSON,
# the report): the allowed overrun (`cxplan.clock`) covers the rest.
OUTPUT_SHARE = 0.05
GREEDY_SECONDS = 2.0  # a greedy start's time at most (a quarter of a solve's share with a clock)


@dataclass(frozen=True)
class Outcome:
    """The best plan found under some what-if change, evaluated exactly."""

    selected: tuple[str, ...]
    objective: float  # Σ weight × criterion value (the expected gain with default criteria)
    expected_gain: float  # in currency, over all personas
    cost: float
    staff_used: dict[str, float]
    status: Status  # optimal (proven within the gap), time_limit, or evaluated (not solved)
    gap: float | None
    bound: float | None  # the solver's proven upper bound on the objective
    seconds: float
    # A roadmap's plan: each selected improvement's (start, finish) period. Its gain and
    # objective are then the horizon's discounted totals, its staff the busiest period's.
    schedule: dict[str, tuple[int, int]] | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """The plan as the solver's decisions: the ids, or on a roadmap "id@start" (as
        `cxplan evaluate --select` takes them)."""
        if self.schedule is None:
            return self.selected
        return tuple(f"{i}@{self.schedule[i][0]}" for i in self.selected)

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "selected": list(self.selected), "objective": self.objective,
            "expected_gain": self.expected_gain, "cost": self.cost,
            "staff_used": dict(self.staff_used), "status": self.status,
            "gap": _finite(self.gap), "bound": _finite(self.bound),
            "solve_seconds": round(self.seconds, 4),
        }
        if self.schedule is not None:
            data["schedule"] = {i: {"start": start, "finish": finish}
                                for i, (start, finish) in self.schedule.items()}
        return data


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def difference(before: Iterable[str], after: Iterable[str]) -> tuple[tuple[str, ...],
                                                                    tuple[str, ...]]:
    """(added, dropped) going from selection `before` to `after`, in the order given."""
    old, new = list(before), list(after)
    return (tuple(i for i in new if i not in set(old)),
            tuple(i for i in old if i not in set(new)))


def moved(before: Outcome, after: Outcome) -> tuple[str, ...]:
    """The improvements of both roadmaps that start in another period in `after` (in
    `after`'s order; none for single-period plans)."""
    if before.schedule is None or after.schedule is None:
        return ()
    return tuple(i for i in after.selected
                 if i in before.schedule and before.schedule[i][0] != after.schedule[i][0])


def plan_keys(plan: Plan) -> list[str]:
    """A plan's decisions as the engine names them (`Outcome.keys`): the ids, or on a
    roadmap "id@start"."""
    if plan.horizon is None:
        return list(plan.selected)
    return [f"{i}@{plan.schedule[i][0]}" for i in plan.selected]


def check_plain_objective(scenario: Scenario) -> None:
    """What-if re-solves optimize one weighted objective; sequences of solves are not
    re-run per question."""
    if needs_sequence(getattr(scenario, "objective", None)):
        raise UsageError("what-if analysis (frontier, explain, sensitivity, marginal values) "
                         "supports scenarios with a plain weighted objective; this one asks "
                         "for normalized weights or priorities (`objective:`)")


def lp_within(scenario: Scenario, options: SolverOptions) -> float | None:
    """The seconds an LP-first solve gives the LP (`cxplan.api.prepare`), or None."""
    if relaxation_first(options, len(scenario.improvements)):
        return lp_blocking_budget(options.time_limit)
    return None


def solve_share(clock: Clock | None, pending: int,
                solve_limit: float | None) -> float | None:
    """Seconds for the next of `pending` solves: with the command's `clock` an equal part
    of what it leaves (less `OUTPUT_SHARE` of the limit), at most `solve_limit`; without,
    `solve_limit` (None: the options' time limit)."""
    if clock is None:
        return solve_limit
    return clock.share(pending, cap=solve_limit, reserve=OUTPUT_SHARE * clock.limit)


def undone_warnings(skipped: Sequence[str], unproven: Sequence[str], *, work: str,
                    stopped: str) -> tuple[str, ...]:
    """The warnings naming what a command's time limit left undone: the `skipped` work
    ("the time limit left no time to {work} (N): ...") and the `unproven` answers
    ("{stopped} (N): ...")."""
    found = []
    if skipped:
        found.append(f"the time limit left no time to {work} ({len(skipped)}): "
                     f"{shortlist(skipped)} (raise --time-limit)")
    if unproven:
        found.append(f"{stopped} ({len(unproven)}): {shortlist(unproven)}")
    return tuple(found)


def can_start(seconds: float | None) -> bool:
    """Whether a solve given `seconds` (None: no clock) is worth starting."""
    return seconds is None or seconds >= MIN_WORK_SECONDS


class Scorer(Protocol):
    """Exact values of plans in one scenario (perturbed inputs, for sensitivity)."""

    @property
    def journey(self) -> Journey: ...

    def objective(self, keys: Iterable[str]) -> float: ...


class WhatIf(ABC):
    """A scenario prepared once for many related solves.

    The limits and fixes set through `limits()`, `raised()` and `fixed()` apply to every
    `solve()` made inside the `with` block and are undone when it ends. A plan is named by
    its decisions (`Outcome.keys`): improvement ids, or "id@start" on a roadmap.

    Time (`timed`): without a clock every solve gets `options.time_limit`; with the
    command's clock (`cxplan.clock.Clock`) the solves share what it leaves, `pending`
    (set by the caller: the solves still to do) equal parts, each at most `solve_limit`.
    """

    clock: Clock | None = None
    solve_limit: float | None = None
    pending: int = 1

    def __init__(self, prepared: Pipeline, options: SolverOptions,
                 session: Session | None) -> None:
        self.options = options
        self.prepared = prepared
        self.scenario = prepared.scenario
        self.session = session or prepared.session(options)
        # Today's levels (see `cxplan.whatif.levels`): the budget (a roadmap's total over
        # the horizon) and each team (a roadmap's busiest period).
        self.budget: float | None = self.scenario.budget
        self.teams: dict[str, float] = dict(self.scenario.teams)
        self.forced: dict[str, bool] = {}
        self.solves = 0
        self._optimum: Outcome | None = None

    def fork(self, options: SolverOptions | None = None) -> Self:
        """This analysis as it is now (limits, fixes), solving in a HiGHS instance of its
        own with `options` (default: these): forks answer questions in parallel threads
        (`cxplan.whatif.parallel`) and change their limits without touching this one."""
        twin = copy.copy(self)
        twin.options = options or self.options
        twin.session = self.session.fork(twin.options)
        twin.teams, twin.forced = dict(self.teams), dict(self.forced)
        twin.solves, twin._optimum = 0, None
        return twin

    # -- time ---------------------------------------------------------------------------------
    def timed(self, clock: Clock | None, solve_limit: float | None = None) -> None:
        """Solve within `clock` (the whole command's limit) and each solve within
        `solve_limit` seconds (None: with a clock, its share of what is left; without,
        `options.time_limit`)."""
        self.clock, self.solve_limit = clock, solve_limit

    def solve_seconds(self) -> float | None:
        """Seconds the next solve may take (None: the options' time limit)."""
        return solve_share(self.clock, self.pending, self.solve_limit)

    def can_start(self) -> bool:
        """Whether the clock leaves the next solve enough time to start (always, without a
        clock): work that cannot start is skipped by the caller, with a warning."""
        return can_start(self.solve_seconds())

    def greedy_seconds(self) -> float:
        """Seconds for a greedy start: at most a quarter of the next solve's share."""
        seconds = self.solve_seconds()
        return GREEDY_SECONDS if seconds is None else min(GREEDY_SECONDS, seconds / 4)

    # -- exact values -------------------------------------------------------------------------
    @property
    @abstractmethod
    def journey(self) -> Journey:
        """The journey (a roadmap's: with its last period's customers)."""

    @abstractmethod
    def objective(self, keys: Iterable[str]) -> float:
        """The exact weighted objective of a plan."""

    @abstractmethod
    def outcome(self, keys: Sequence[str], result: SolveResult | None = None) -> Outcome:
        """A plan evaluated exactly (with the solver's status, gap and bound if given)."""

    @abstractmethod
    def scorer(self, scenario: Scenario) -> Scorer:
        """Exact values of this analysis's plans in `scenario` (same improvements and
        horizon, other numbers)."""

    def tolerance(self, value: float) -> float:
        """Objective differences below this are ties (the solver's gap is 1e-6 relative)."""
        return VALUE_TOLERANCE * max(1.0, abs(value))

    # -- limits and fixes ---------------------------------------------------------------------
    @abstractmethod
    def constrains(self, limit: str) -> bool:
        """Whether "budget" or "team:<name>" is a row of the model (a team no improvement
        needs constrains nothing)."""

    @abstractmethod
    def limits(self, budget: float | None = None,
               teams: Mapping[str, float] | None = None) -> AbstractContextManager[None]:
        """Solve with the budget and/or team capacities at other levels inside the block."""

    def raised(self, limit: str, step: float) -> AbstractContextManager[None]:
        """Solve with one limit raised by `step` inside the block (a marginal value)."""
        if limit == "budget":
            assert self.budget is not None
            return self.limits(budget=self.budget + step)
        team = limit.split(":", 1)[1]
        return self.limits(teams={team: self.teams[team] + step})

    @abstractmethod
    def limited_scenario(self) -> Scenario:
        """The scenario with the current limits (for starts and conflicts)."""

    @abstractmethod
    def _fix(self, improvement: str, value: bool | None) -> None:
        """Force an improvement in or out in the session, or free it (None)."""

    @contextlib.contextmanager
    def fixed(self, improvement: str, value: bool) -> Iterator[None]:
        """Solve with `improvement` forced in (True) or out (False) inside the block."""
        previous = self.forced.get(improvement)
        self._fix(improvement, value)
        self.forced[improvement] = value
        self._optimum = None
        try:
            yield
        finally:
            self._fix(improvement, previous)
            if previous is None:
                self.forced.pop(improvement, None)
            else:
                self.forced[improvement] = previous
            self._optimum = None

    # -- feasibility and starts ---------------------------------------------------------------
    @abstractmethod
    def fits(self, keys: Iterable[str]) -> bool:
        """Whether a plan meets the current limits, fixes and the core rules."""

    @abstractmethod
    def repair(self, preferred: Sequence[str]) -> list[str] | None:
        """A feasible start close to `preferred` (None: the forced and mandatory
        improvements cannot be had together)."""

    @abstractmethod
    def greedy(self, time_budget: float = 2.0) -> list[str] | None:
        """A greedy start under the current limits (None when improvements are forced in
        or out: `repair` handles those)."""

    # -- solving ------------------------------------------------------------------------------
    def solve(self, start: Sequence[str] | None = None, *,
              time_limit: float | None = None) -> Outcome:
        """The best plan under the current limits and fixes.

        `start` must be feasible there to be used (an infeasible one is repaired or
        dropped). Raises `InfeasibleError` naming the conflict when there is no plan.
        `time_limit` (seconds from now) defaults to `solve_seconds()`.
        """
        if start is not None and not self.fits(start):
            start = self.repair(start)
        if time_limit is None and (seconds := self.solve_seconds()) is not None:
            time_limit = max(seconds, MIN_WORK_SECONDS)
        began = time.perf_counter()
        try:
            result = self._solve(start, time_limit)
        except NoPlanInTime:
            if start is None or time_limit is None:
                raise
            # A short share of the clock can end before HiGHS has a plan (or has even
            # completed the start's other columns): the start is feasible, so it is the
            # best plan found, with nothing proven about it.
            result = SolveResult(Status.TIME_LIMIT, tuple(start), None, None, None, 0,
                                 time.perf_counter() - began, {}, True)
        self.solves += 1
        if result.status == Status.INFEASIBLE:
            raise InfeasibleError(self._conflict())
        return self.outcome(result.selected, result)

    def _solve(self, start: Sequence[str] | None, time_limit: float | None) -> SolveResult:
        start_values = self.prepared.start_values
        if start is not None and relaxation_first(self.options,
                                                   len(self.scenario.improvements)):
            # The LP of the changed model bounds the answer at once; often the start
            # (the plan before the change) or its LP neighbourhood is already within the
            # gap, and the full search is skipped.
            limit = self.options.time_limit if time_limit is None else time_limit
            deadline = time.perf_counter() + limit
            found = solve_from_relaxation(self.session, deadline,
                                          lambda initial, seconds: start, start_values)
            if found is not None:
                return found
            # the LP took its share of the limit: the search gets what is left of it
            time_limit = max(deadline - time.perf_counter(), 0.05)
        values = start_values(start) if start is not None else None
        return self.session.solve(start, values, time_limit=time_limit)

    def optimum(self) -> Outcome:
        """The best plan under the current limits and fixes (cached until they change)."""
        if self._optimum is None:
            start = self.greedy(self.greedy_seconds()) if not self.forced else self.repair([])
            self._optimum = self.solve(start)
        return self._optimum

    @abstractmethod
    def _conflict_of(self, scenario: Scenario) -> list[str]:
        """A minimal set of conflicting rules of `scenario` (or, when its core rules do not
        conflict, the plugins' constraints)."""

    def _conflict(self) -> list[str]:
        scenario = self.limited_scenario()
        out = {i for i, v in self.forced.items() if not v}
        # Forced out: the improvement and everything that (transitively) requires it are
        # gone; a mandatory one among them is the conflict.
        gone = set(out)
        while True:
            more = {imp.id for imp in scenario.improvements
                    if imp.id not in gone and set(imp.requires) & gone}
            if not more:
                break
            gone |= more
        stuck = [imp.id for imp in scenario.improvements if imp.mandatory and imp.id in gone]
        if stuck:
            return _requirement_chain(scenario, stuck[0], out)
        # Forced in: the improvement is mandatory for this question.
        improvements = [imp.model_copy(update={
            "mandatory": imp.mandatory or bool(self.forced.get(imp.id)),
            "excludes": [e for e in imp.excludes if e not in gone]})
            for imp in scenario.improvements if imp.id not in gone]
        return self._conflict_of(replace_improvements(scenario, improvements))


class Analysis(WhatIf):
    """A single-period scenario prepared once for many related solves (a plan is a
    selection of improvement ids)."""

    def __init__(self, scenario: Scenario, options: SolverOptions | None = None, *,
                 plugins: CxplanPlugins | None = None,
                 prepared: Prepared | None = None, session: Session | None = None) -> None:
        if getattr(scenario, "horizon", None) is not None:
            raise UsageError("this scenario has a horizon (a roadmap): analyse it with "
                             "cxplan.whatif.analyses.analysis_for (a RoadmapAnalysis)")
        check_plain_objective(scenario)
        options = options or SolverOptions()
        self.prepared: Prepared = prepared or prepare(
            scenario, plugins=plugins, lp_within=lp_within(scenario, options))
        super().__init__(self.prepared, options, session)
        self.resources = Resources(self.scenario)

    # -- exact values -------------------------------------------------------------------------
    @property
    def journey(self) -> Journey:
        return self.prepared.journey

    def objective(self, selection: Iterable[str]) -> float:
        """The exact weighted objective of a selection."""
        return self.prepared.objective(selection)

    def scorer(self, scenario: Scenario) -> Scorer:
        return Backlog(scenario, build_journey(scenario), self.prepared.criteria, 0.0)

    def outcome(self, selection: Sequence[str], result: SolveResult | None = None) -> Outcome:
        """A selection evaluated exactly (with the solver's status, gap and bound if given)."""
        selected = tuple(i for i in self.scenario.improvement_ids if i in set(selection))
        values, ctx = criterion_values(self.scenario, self.journey, self.prepared.criteria,
                                       selected)
        objective = weighted_objective(values)
        if result is not None and result.objective is not None:
            magnitude = sum(abs(v.weight) * self.prepared.criteria[n].magnitude(ctx)
                            for n, v in values.items())
            check_agreement("what-if re-solve", result.objective, objective, magnitude)
        used = usage(self.scenario, selected)
        return Outcome(
            selected=selected, objective=objective,
            expected_gain=ctx.evaluation.value - ctx.baseline.value, cost=used.cost,
            staff_used=used.staff,
            status=result.status if result is not None else Status.EVALUATED,
            gap=result.gap if result is not None else None,
            bound=result.bound if result is not None else None,
            seconds=result.seconds if result is not None else 0.0)

    # -- limits and fixes ---------------------------------------------------------------------
    def row(self, limit: str) -> str | None:
        """The model row of "budget" or "team:<name>" (None: the limit constrains nothing)."""
        return self.prepared.model.limit_rows.get(limit)

    def constrains(self, limit: str) -> bool:
        return self.row(limit) is not None

    @contextlib.contextmanager
    def limits(self, budget: float | None = None,
               teams: Mapping[str, float] | None = None) -> Iterator[None]:
        """Solve with another budget and/or team capacities inside the block."""
        saved = (self.budget, dict(self.teams))
        changes: list[tuple[str, float, float]] = []
        if budget is not None:
            row = self.row("budget")
            if row is None:
                raise UsageError("the scenario has no budget to change (give it one first)")
            changes.append((row, budget, self.budget if self.budget is not None else budget))
            self.budget = budget
        for team, capacity in (teams or {}).items():
            if team not in self.teams:
                raise UsageError(f"unknown team '{team}'; the scenario declares: "
                                 f"{', '.join(self.teams) or 'no teams'}")
            row = self.row(f"team:{team}")
            if row is not None:  # no improvement needs this team: nothing to change
                changes.append((row, capacity, self.teams[team]))
            self.teams[team] = capacity
        try:
            for row, value, _ in changes:
                self.session.set_row_upper(row, allowance(value))  # as the model's rows
            self._optimum = None
            yield
        finally:
            for row, _, old in changes:
                self.session.set_row_upper(row, allowance(old))
            self.budget, self.teams = saved
            self._optimum = None

    @contextlib.contextmanager
    def lifted(self, row: str) -> Iterator[None]:
        """Solve without the model row `row` (a plugin's constraint) inside the block."""
        lower, upper = self.session.row_bounds(row)
        self.session.set_row_bounds(row, -math.inf, math.inf)
        self._optimum = None
        try:
            yield
        finally:
            self.session.set_row_bounds(row, lower, upper)
            self._optimum = None

    def _fix(self, improvement: str, value: bool | None) -> None:
        self.session.fix(improvement, value)

    def limited_scenario(self) -> Scenario:
        """The scenario with the current limits (for the greedy start and conflicts)."""
        return self.scenario.with_limits(self.budget, self.teams)

    # -- feasibility and starts ---------------------------------------------------------------
    @property
    def current_limits(self) -> Limits:
        """The budget and team capacities the questions are asked under now."""
        return Limits(self.budget, self.teams)

    def fits(self, selection: Iterable[str]) -> bool:
        """Whether a selection meets the current limits, fixes and the core constraints."""
        chosen = set(selection)
        return (not violations(self.scenario, chosen, limits=self.current_limits)
                and all((i in chosen) == v for i, v in self.forced.items()))

    def repair(self, preferred: Sequence[str]) -> list[str] | None:
        """A feasible start close to `preferred`: the forced and mandatory improvements with
        what they require, then `preferred` ones (with theirs) in order while they fit."""
        must = [i for i, v in self.forced.items() if v]
        must += [i.id for i in self.scenario.improvements if i.mandatory]
        chosen = requirement_closure(self.scenario, must)
        out = {i for i, v in self.forced.items() if not v}
        if chosen & out or not self._fits_partial(chosen):
            return None
        for imp in preferred:
            trial = chosen | requirement_closure(self.scenario, [imp])
            if not (trial & out) and self._fits_partial(trial):
                chosen = trial
        ordered = [i for i in self.scenario.improvement_ids if i in chosen]
        return ordered if self.fits(ordered) else None

    def _fits_partial(self, chosen: set[str]) -> bool:
        """Budget, teams and exclusions only: requirements are closed by the caller."""
        return not violations(self.scenario, chosen, limits=self.current_limits,
                              rules=("budget", "team", "excludes"))

    def greedy(self, time_budget: float = 2.0) -> list[str] | None:
        """A lazy-greedy start under the current limits (None when forced improvements are
        involved: `repair` handles those)."""
        if self.forced:
            return None
        return greedy_plan(self.limited_scenario(), lambda sel: self.objective(sel),
                           time_budget=time_budget)

    def _conflict_of(self, scenario: Scenario) -> list[str]:
        found = minimal_conflict(scenario)
        if found is not None:
            return found
        # The core rules can be met: the plugins' rows take part. They are written on the
        # whole backlog, so the improvements gone from `scenario` are fixed at 0 there.
        full = self.limited_scenario()
        present = {imp.id: imp for imp in scenario.improvements}
        gone = [imp.id for imp in full.improvements if imp.id not in present]
        improvements = [present.get(imp.id, imp) for imp in full.improvements]
        return minimal_conflict(replace_improvements(full, improvements),
                                self.prepared.plugin_rows(gone)) or [NO_CONFLICT_FOUND]


def plugins_conflict(model: Model | RoadmapModel) -> str:
    """The conflict when the core rules can be met together."""
    return ("the core constraints can be met together, so the conflict involves constraints "
            "added by plugins: " + ", ".join(model.plugin_constraints))


def _requirement_chain(scenario: Scenario, mandatory: str, out: set[str]) -> list[str]:
    """Why mandatory `mandatory` cannot be had with `out` left out: the shortest chain of
    requirements from it to a forced-out improvement."""
    if mandatory in out:
        return [f"'{mandatory}' is mandatory"]
    requires = {imp.id: imp.requires for imp in scenario.improvements}
    paths = {mandatory: [mandatory]}
    queue = [mandatory]
    while queue:
        node = queue.pop(0)
        for nxt in requires[node]:
            if nxt in paths:
                continue
            paths[nxt] = [*paths[node], nxt]
            if nxt in out:
                chain = paths[nxt]
                return ([f"'{mandatory}' is mandatory"]
                        + [f"'{a}' requires '{b}'" for a, b in itertools.pairwise(chain)]
                        + [f"'{nxt}' is forced out"])
            queue.append(nxt)
    return [f"'{mandatory}' is mandatory"]


def replace_improvements(scenario: Scenario, improvements: Sequence[Improvement]) -> Scenario:
    """A copy of `scenario` with another improvement list (source and warnings kept)."""
    return scenario.model_copy(update={"improvements": improvements})


def with_options(options: SolverOptions | None, **changes: object) -> SolverOptions:
    return replace(options or SolverOptions(), **changes)  # type: ignore[arg-type]
