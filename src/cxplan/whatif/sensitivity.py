"""Sensitivity: how far an input may move before the optimal plan changes.

Three kinds of input are examined, each in both directions from its current value:

- the **cost** of each selected improvement. Raising it keeps the plan optimal exactly
  as long as the plan still fits the budget (plans without the improvement do not
  change, plans with it only get dearer), so the upper end is cost + unused budget, with
  no solve. That end is *budget slack*: past it the plan no longer fits, but no other
  plan has become better, so such ends are labelled and ranked after the ends where
  another plan wins (`Range.rank`). Lowering it helps only plans that contain the
  improvement, which is the same as keeping the improvement in and raising the budget by
  the saving: re-solves in the plan's own session find the cheapest competitor, and the
  lower end is the cost at which that competitor becomes affordable. Exact, up to the
  tolerance of the last check.
- the **failure reduction** of each selected improvement (all its failure reductions
  scaled by one factor, 1 = as written), and
- the **failure probability** of the touchpoints whose value the plan changes most (for
  every persona, scaled by one factor).

For the last two the model itself changes, so each check builds and solves it anew.
Competing plans found along the way are kept; the exact evaluator finds where the
first of them overtakes the plan (bisection to the tolerance), and a solve just inside
that point checks that no other plan overtakes it earlier. If one does, it joins the
competitors and the search repeats. The reported range is therefore: the plan is the
optimum at both checked ends (the current value and the end found), and just beyond the
end a named competitor is strictly better. Between them the plan is not re-checked at
every point; an input that makes the plan lose and win back within one range is missed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from cxplan.clock import MIN_WORK_SECONDS, Clock
from cxplan.core.calendar import Calendar, calendar
from cxplan.core.schedule import violations as schedule_violations
from cxplan.core.selection import allowance, requirement_closure
from cxplan.core.status import Status
from cxplan.errors import NoPlanInTime, UsageError
from cxplan.optimizer.options import SolverOptions
from cxplan.optimizer.roadmap.model import schedule_of
from cxplan.optimizer.session import Session
from cxplan.plugins.manager import CxplanPlugins
from cxplan.scenario.models import Scenario
from cxplan.whatif.analyses import analysis_for
from cxplan.whatif.engine import (
    OUTPUT_SHARE,
    Analysis,
    Outcome,
    Scorer,
    WhatIf,
    difference,
    replace_improvements,
    undone_warnings,
)
from cxplan.whatif.roadmap import RoadmapAnalysis

DEFAULT_TOLERANCE = 0.01  # relative to the input's current value
DEFAULT_TOUCHPOINTS = 5
GRID = 16  # evaluator points scanned between the current value and the domain's end
MAX_ROUNDS = 8  # verification solves per direction before giving up on proving the end
NEIGHBOUR_LIMIT = 120  # improvements up to which competitors are first sought by local search


@dataclass(frozen=True)
class Side:
    """One end of a range: how far the input may go in one direction."""

    inside: float  # the last value checked to keep the plan (the end of the range)
    outside: float | None  # the first value where a better plan exists (None: none found)
    limit: float  # the end of the input's domain in this direction
    competitor: tuple[str, ...] | None  # the better plan beyond `inside`
    status: str  # "exact", "verified", "unchanged to the limit", "time_limit", "unproven"
    # The end is only where the plan stops fitting the money it leaves unspent (a cost
    # rising into the budget slack): no better plan is involved, the decision as such holds.
    budget_slack: bool = False

    @property
    def changes_decision(self) -> bool:
        """Beyond this end another plan is better (not merely: this one stops fitting)."""
        return self.outside is not None and not self.budget_slack

    @property
    def proven(self) -> bool:
        """The end was checked (not stopped by the time limit, nor left unproven)."""
        return self.status not in ("time_limit", "unproven")

    def to_dict(self, base: tuple[str, ...]) -> dict[str, Any]:
        added, dropped = difference(base, self.competitor or base)
        return {"inside": _finite(self.inside), "outside": _finite(self.outside),
                "limit": _finite(self.limit), "status": self.status,
                "plan_beyond": list(self.competitor) if self.competitor is not None else None,
                "added": list(added), "dropped": list(dropped),
                "budget_slack": self.budget_slack}


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class Range:
    """How far one input may move with the plan unchanged."""

    kind: str  # "cost", "failure_reduction" or "failure_probability"
    subject: str  # the improvement or touchpoint id
    label: str  # "cost of queue-app", ...
    unit: str  # "currency", "factor" (1 = as written)
    base: float  # the current value (a factor of 1 for scaled inputs)
    low: Side
    high: Side
    shown: dict[str, float] = field(default_factory=dict)  # value(s) the factor scales

    @property
    def relative(self) -> tuple[float, float]:
        """(low / base − 1, high / base − 1): the range as a share of the current value."""
        if self.base == 0:
            return (0.0, math.inf if self.high.inside > 0 else 0.0)
        return (self.low.inside / self.base - 1.0, self.high.inside / self.base - 1.0)

    @property
    def width(self) -> float:
        low, high = self.relative
        return high - low

    @property
    def changes_decision(self) -> bool:
        """At one end at least, moving the input further makes another plan better."""
        return self.low.changes_decision or self.high.changes_decision

    @property
    def decision_distance(self) -> float:
        """How little the input must move (a share of its value, either way) before
        another plan is better; infinite when neither end changes the decision."""
        low, high = self.relative
        return min([-low] * self.low.changes_decision + [high] * self.high.changes_decision,
                   default=math.inf)

    @property
    def rank(self) -> tuple[bool, float, float, str, str]:
        """The order of the table and the tornado: the inputs closest to changing the
        decision first; ranges limited only by budget slack (or not at all) after them."""
        return (not self.changes_decision, self.decision_distance, self.width, self.kind,
                self.subject)

    @property
    def proven(self) -> bool:
        """Both ends were checked: no solve the range needed was stopped or skipped."""
        return self.low.proven and self.high.proven

    def to_dict(self, plan: tuple[str, ...]) -> dict[str, Any]:
        low, high = self.relative
        return {"kind": self.kind, "subject": self.subject, "label": self.label,
                "unit": self.unit, "base": self.base, "values": self.shown,
                "low": self.low.to_dict(plan), "high": self.high.to_dict(plan),
                "relative": [_finite(low), _finite(high)],
                "changes_decision": self.changes_decision,
                "decision_distance": _finite(self.decision_distance),
                "proven": self.proven}


@dataclass(frozen=True)
class Sensitivity:
    scenario: str
    currency: str | None
    plan: Outcome
    ranges: tuple[Range, ...]  # closest to changing the decision first (`Range.rank`)
    tolerance: float
    seconds: float
    solves: int
    # display names of the subjects (improvement or touchpoint id -> name) by kind of input
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    # The inputs the time limit left no time to examine (their labels, "cost of x", ...).
    skipped: tuple[str, ...] = ()

    @property
    def unproven(self) -> tuple[str, ...]:
        """The labels of the ranges with an end the time limit (or the search) left
        unproven: their `inside` is the last value checked, not the range's end."""
        return tuple(r.label for r in self.ranges if not r.proven)

    @property
    def warnings(self) -> tuple[str, ...]:
        return undone_warnings(
            self.skipped, self.unproven, work="examine these inputs",
            stopped="ranges with an end not proven (the time limit stopped the search, or "
                    "it gave up)")

    def subject_name(self, r: Range) -> str:
        """The name of what `r` is about (its id when the scenario gives no name)."""
        kind = "touchpoint" if r.kind == "failure_probability" else "improvement"
        return self.names.get(kind, {}).get(r.subject, r.subject)

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "currency": self.currency,
                "plan": self.plan.to_dict(), "tolerance": self.tolerance,
                "ranges": [r.to_dict(self.plan.keys) for r in self.ranges],
                "seconds": round(self.seconds, 4), "solves": self.solves,
                "skipped": list(self.skipped), "unproven": list(self.unproven),
                "warnings": list(self.warnings)}



# -- perturbed scenarios ----------------------------------------------------------------------

def scale_failure_reduction(scenario: Scenario, improvement: str, factor: float) -> Scenario:
    """`scenario` with every failure reduction of `improvement` multiplied by `factor`."""
    improvements = []
    for imp in scenario.improvements:
        if imp.id == improvement:
            effects = [e.model_copy(update={"failure_reduction":
                                            min(1.0, e.failure_reduction * factor)})
                       for e in imp.effects]
            imp = imp.model_copy(update={"effects": effects})
        improvements.append(imp)
    return replace_improvements(scenario, improvements)


def scale_cost(scenario: Scenario, improvement: str, factor: float) -> Scenario:
    """`scenario` with the cost of `improvement` multiplied by `factor`."""
    return replace_improvements(scenario, [
        imp.model_copy(update={"cost": imp.cost * factor}) if imp.id == improvement else imp
        for imp in scenario.improvements])


def cost_room(cal: Calendar, schedule: Mapping[str, int], improvement: str) -> float:
    """How much dearer a scheduled improvement may get before its roadmap breaks a money
    rule (inf: no budget). Its cost is spent evenly over its d periods of work, so c more
    is c / d more in each: with one total budget, the budget left; per period, d × the
    least money left in a period of its work; with carry-over, d × the least of (money
    left up to t) / (its periods of work up to t) over the periods t from its start."""
    start = schedule[improvement]
    work = range(start, cal.finish(improvement, start) + 1)
    d = len(work)
    if cal.budget is None:
        if cal.total_budget is None:
            return math.inf
        spent = sum(cal.scenario.improvement(i).cost for i in schedule)
        return max(cal.total_budget - spent, 0.0)
    spend = [sum(cal.spend(i) for i, s in schedule.items() if cal.working(i, s, t))
             for t in cal.numbers]
    if not cal.horizon.carry_over:
        return max(d * min(cal.budget[t - 1] - spend[t - 1] for t in work), 0.0)
    room, available, spent, working = math.inf, 0.0, 0.0, 0
    for t in cal.numbers:
        available += cal.budget[t - 1]
        spent += spend[t - 1]
        working += t in work
        if working:
            room = min(room, d * (available - spent) / working)
    return max(room, 0.0)


def scale_failure_probability(scenario: Scenario, touchpoint: str, factor: float) -> Scenario:
    """`scenario` with the failure probability of `touchpoint` multiplied by `factor` for
    every persona (its own overrides included)."""
    touchpoints = [tp.model_copy(update={"failure_probability":
                                         min(1.0, tp.failure_probability * factor)})
                   if tp.id == touchpoint else tp for tp in scenario.touchpoints]
    personas = None
    if scenario.personas is not None:
        personas = []
        for persona in scenario.personas:
            override = (persona.touchpoints or {}).get(touchpoint)
            if override is not None and override.failure_probability is not None:
                changed = override.model_copy(update={"failure_probability": min(
                    1.0, override.failure_probability * factor)})
                persona = persona.model_copy(update={
                    "touchpoints": {**(persona.touchpoints or {}), touchpoint: changed}})
            personas.append(persona)
    return scenario.model_copy(update={"touchpoints": touchpoints, "personas": personas})


class _Valuer:
    """Exact objective values of plans (`Outcome.keys`) at perturbed inputs (scorers
    cached). With `fits`, a plan that breaks the rules at the input has no value there
    (-inf): how a cost's range is found on a roadmap."""

    def __init__(self, analysis: WhatIf, build: Callable[[float], Scenario],
                 fits: Callable[[Scenario, Sequence[str]], bool] | None = None) -> None:
        self.analysis = analysis
        self.build = build
        self.fits = fits
        self.scorers: dict[float, tuple[Scenario, Scorer] | None] = {}

    def at(self, theta: float) -> tuple[Scenario, Scorer] | None:
        """The perturbed scenario and its scorer; None where the journey stops being
        absorbing (a failure probability of 0 can close a loop that only dropout let out
        of)."""
        if theta not in self.scorers:
            scenario = self.build(theta)
            try:
                scorer = self.analysis.scorer(scenario)
                everything = scorer.journey.evaluate(scenario.improvement_ids)
                ok = all(np.all(np.isfinite(p.visits)) and np.all(p.visits >= -1e-9)
                         for p in everything.personas)
            except (np.linalg.LinAlgError, RuntimeError, ValueError):
                ok = False
            self.scorers[theta] = (scenario, scorer) if ok else None
        return self.scorers[theta]

    def value(self, theta: float, keys: Sequence[str]) -> float:
        found = self.at(theta)
        assert found is not None
        scenario, scorer = found
        if self.fits is not None and not self.fits(scenario, keys):
            return -math.inf
        return scorer.objective(keys)


# -- the search -------------------------------------------------------------------------------

class _Search:
    def __init__(self, analysis: WhatIf, plan: Outcome, tolerance: float,
                 options: SolverOptions, plugins: CxplanPlugins | None,
                 deadline: float, clock: Clock | None = None,
                 solve_limit: float | None = None) -> None:
        self.analysis = analysis
        self.plan = plan
        self.tolerance = tolerance
        self.options = options
        self.plugins = plugins
        self.deadline = deadline
        self.pool: dict[tuple[str, ...], None] = {}  # competitors found so far (ordered)
        self.solves = 0
        self._cheaper: Session | None = None
        self.clock = clock
        self.solve_limit = solve_limit
        self.sides_left = 1  # ends of ranges still to examine (set by `sensitivity`)

    def solve_seconds(self) -> float | None:
        """Seconds for the next solve; None: no time is left to start one. Without a clock,
        `solve_limit` (or the options' limit), at least 0.5 s, within the deadline; with the
        command's clock an equal part, per end of range still to examine, of what is left
        before the deadline, at most `solve_limit`."""
        remaining = self.deadline - time.perf_counter()
        if self.clock is None:
            return max(0.5, min(self.solve_limit or self.options.time_limit, remaining))
        seconds = remaining / max(1, self.sides_left)
        if self.solve_limit is not None:
            seconds = min(seconds, self.solve_limit)
        return seconds if seconds >= MIN_WORK_SECONDS else None

    def beaten(self, valuer: _Valuer, theta: float) -> tuple[str, ...] | None:
        """The best known competitor strictly better than the plan at `theta`, if any."""
        mine = valuer.value(theta, self.plan.keys)
        best, found = mine + self.analysis.tolerance(mine), None
        for other in self.pool:
            value = valuer.value(theta, other)
            if value > best:
                best, found = value, other
        return found

    def scaled(self, valuer: _Valuer, limit: float) -> Side:
        """One direction of a scaled input (factor 1 now, `limit` at the domain's end)."""
        base = 1.0
        step = self.tolerance
        if abs(limit - base) <= step / 2:
            return Side(base, None, limit, None, "unchanged to the limit")
        status = "unproven"
        for round_ in range(MAX_ROUNDS):
            if time.perf_counter() > self.deadline:
                if round_ == 0:  # not started: no scan past the limit either
                    return Side(base, None, limit, None, "time_limit")
                status = "time_limit"
                break
            inside, outside, competitor = self._crossing(valuer, base, limit, step)
            found = valuer.at(inside)
            if found is None:
                return Side(base, None, limit, None, "unproven")
            # Cheap first: a neighbour of the plan that wins at the probe saves a solve.
            neighbour = self._neighbour(valuer, inside)
            if neighbour is not None:
                self.pool[neighbour] = None
                continue
            better = self._verify(found[0])
            if better is None:
                if outside is None:
                    return Side(inside, None, limit, None,
                                "unchanged to the limit" if inside == limit else "verified")
                return Side(inside, outside, limit, competitor, "verified")
            if isinstance(better, str):
                status = "time_limit"
                break
            self.pool[better] = None
        inside, outside, competitor = self._crossing(valuer, base, limit, step)
        return Side(inside, outside, limit, competitor, status)

    def _crossing(self, valuer: _Valuer, base: float, limit: float,
                  step: float) -> tuple[float, float | None, tuple[str, ...] | None]:
        """(last value where no known competitor beats the plan, first value where one
        does, that competitor), scanning from `base` toward `limit`."""
        last = base
        for k in range(1, GRID + 1):
            theta = base + (limit - base) * k / GRID
            if valuer.at(theta) is None:
                # Past here the journey is not absorbing: the range ends at the last sound
                # value, which a solve checks like any other end.
                return self._refine_valid(valuer, last, theta, step), None, None
            competitor = self.beaten(valuer, theta)
            if competitor is not None:
                low, high = last, theta  # plan holds at `low`, loses at `high`
                while abs(high - low) > step:
                    middle = (low + high) / 2
                    found = self.beaten(valuer, middle)
                    if found is None:
                        low = middle
                    else:
                        high, competitor = middle, found
                return low, high, competitor
            last = theta
        return limit, None, None

    def _neighbour(self, valuer: _Valuer, theta: float) -> tuple[str, ...] | None:
        """The best plan one step from ours (add, drop or swap one improvement, with what
        it requires) that beats ours at `theta`; None if none does. Only on small
        scenarios: the swaps grow with the square of the candidates; not on roadmaps, whose
        plans are schedules)."""
        analysis = self.analysis
        ids = analysis.scenario.improvement_ids
        if len(ids) > NEIGHBOUR_LIMIT or not isinstance(analysis, Analysis):
            return None
        plan = set(self.plan.selected)
        mine = valuer.value(theta, self.plan.selected)
        best, found = mine + analysis.tolerance(mine), None
        outs = [i for i in ids if i not in plan]
        moves: list[set[str]] = [plan - {i} for i in plan]
        moves += [plan | requirement_closure(analysis.scenario, [i]) for i in outs]
        moves += [(plan - {i}) | requirement_closure(analysis.scenario, [j])
                  for i in plan for j in outs]
        for move in moves:
            trial = tuple(i for i in ids if i in move)
            if trial in self.pool or not analysis.fits(trial):
                continue
            value = valuer.value(theta, trial)
            if value > best:
                best, found = value, trial
        return found

    def _refine_valid(self, valuer: _Valuer, good: float, bad: float, step: float) -> float:
        while abs(bad - good) > step:
            middle = (good + bad) / 2
            if valuer.at(middle) is None:
                bad = middle
            else:
                good = middle
        return good

    def _verify(self, scenario: Scenario) -> tuple[str, ...] | str | None:
        """A plan strictly better than ours in `scenario` (None: ours is optimal there;
        "time_limit": the solve could not tell)."""
        from dataclasses import replace

        seconds = self.solve_seconds()
        if seconds is None:
            return "time_limit"
        check = analysis_for(scenario, replace(self.options, time_limit=seconds),
                             plugins=self.plugins)
        self.solves += 1
        found = check.solve(self.plan.keys, time_limit=seconds)
        mine = check.objective(self.plan.keys)
        if found.objective > mine + check.tolerance(mine):
            return found.keys
        if not found.status.solved:  # within the requested gap is as good as it was asked
            return "time_limit"
        return None

    # -- cost ---------------------------------------------------------------------------------
    def cost(self, improvement: str) -> tuple[Side, Side]:
        if isinstance(self.analysis, RoadmapAnalysis):
            return self.roadmap_cost(self.analysis, improvement)
        analysis, plan = self.analysis, self.plan
        assert isinstance(analysis, Analysis)
        cost = analysis.scenario.improvement(improvement).cost
        budget = analysis.budget
        if budget is None:
            return (Side(0.0, None, 0.0, None, "unchanged to the limit"),
                    Side(math.inf, None, math.inf, None, "unchanged to the limit"))
        slack = budget - plan.cost
        step = max(self.tolerance * cost, 1e-9 * max(1.0, budget))
        # Dearer: the plan stays optimal while it fits, and is infeasible beyond: the end is
        # the budget slack, not a better plan.
        high = Side(cost + slack, cost + slack + step, math.inf, None, "exact",
                    budget_slack=True)
        seconds = self.solve_seconds()
        if cost <= 0 or time.perf_counter() > self.deadline or seconds is None:
            status = "unchanged to the limit" if cost <= 0 else "time_limit"
            return Side(0.0 if cost <= 0 else cost, None, 0.0, None, status), high
        # Cheaper by s: plans with the improvement may spend s more. The first plan to
        # overtake ours is the cheapest plan with it that is better than ours: one solve
        # of "least cost, with the improvement, objective above ours".
        cheapest = self._cheaper_session()
        row = analysis.row("budget")
        assert row is not None
        cheapest.fix(improvement, True)
        cheapest.set_row_upper(row, allowance(budget + cost))
        try:
            self.solves += 1
            result = cheapest.solve(None, None, time_limit=seconds)
        except NoPlanInTime:
            if self.clock is None:
                raise
            # Its share of the clock ended before HiGHS found any such plan: unproven.
            return Side(cost, None, 0.0, None, "time_limit"), high
        finally:
            cheapest.fix(improvement, None)
            cheapest.set_row_upper(row, allowance(budget))
        if result.status == Status.INFEASIBLE:
            return Side(0.0, None, 0.0, None, "unchanged to the limit"), high
        found = analysis.outcome(result.selected)
        saving = max(found.cost - budget, 0.0)  # what it must get cheaper by
        outside = cost - saving
        status = "exact" if result.status.solved else "time_limit"
        return Side(min(outside + step, cost), outside, 0.0, found.selected, status), high

    def roadmap_cost(self, analysis: RoadmapAnalysis, improvement: str) -> tuple[Side, Side]:
        """A scheduled improvement's cost on a roadmap. Dearer, the schedule stays optimal
        while it fits (`cost_room`: its money rules, exactly), and past that end it no
        longer fits: budget slack. Cheaper, other schedules with the improvement may fit
        and win: searched like a scaled input (`scaled`), each schedule valued only where
        it fits, every end checked by a solve."""
        cost = analysis.scenario.improvement(improvement).cost
        schedule = {i: s for i, (s, _) in (self.plan.schedule or {}).items()}
        room = cost_room(analysis.calendar, schedule, improvement)
        step = max(self.tolerance * cost, 1e-9 * max(1.0, cost))
        high = (Side(math.inf, None, math.inf, None, "unchanged to the limit")
                if math.isinf(room) else
                Side(cost + room, cost + room + step, math.inf, None, "exact",
                     budget_slack=True))
        if cost <= 0:
            return Side(0.0, None, 0.0, None, "unchanged to the limit"), high
        valuer = _Valuer(analysis, partial(scale_cost, analysis.scenario, improvement),
                         fits=lambda scenario, keys: not schedule_violations(
                             calendar(scenario), schedule_of(keys)))
        # Its competitors fit only at a lower cost: they stay out of the shared pool.
        shared, self.pool = self.pool, {}
        try:
            low = self.scaled(valuer, 0.0)
        finally:
            self.pool = shared
        return (Side(low.inside * cost, None if low.outside is None else low.outside * cost,
                     0.0, low.competitor, low.status), high)

    def _cheaper_session(self) -> Session:
        """A session on the same model that minimizes cost among plans whose objective
        beats ours (built once, shared by every improvement)."""
        if self._cheaper is None:
            import pulp

            assert isinstance(self.analysis, Analysis)
            model = self.analysis.prepared.model
            floor = self.plan.objective + self.analysis.tolerance(self.plan.objective)
            # A shallow copy: the extra row and the new objective leave the model as it is.
            problem = model.problem.copy()
            problem.addConstraint(model.problem.objective >= floor, name="whatif_value_floor")
            problem.setObjective(-1.0 * pulp.lpSum(
                imp.cost * model.x[imp.id] for imp in self.analysis.scenario.improvements))
            self._cheaper = Session(problem, model.x, self.options)
        return self._cheaper


def _top_touchpoints(analysis: WhatIf, plan: Outcome, count: int) -> list[int]:
    """Touchpoints whose value the plan changes most (customer-weighted, in currency)."""
    journey = analysis.journey
    before = journey.evaluate(()).weighted("values")
    after = journey.evaluate(plan.selected).weighted("values")
    change = np.abs(after - before)
    order = [int(t) for t in np.argsort(-change, kind="stable") if change[t] > 0]
    failing = [t for t in order
               if any(chain.failure[t] > 0 for chain in journey.personas)]
    return failing[:count]


def sensitivity(
    scenario: Scenario,
    *,
    options: SolverOptions | None = None,
    plugins: CxplanPlugins | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    touchpoints: int = DEFAULT_TOUCHPOINTS,
    improvements: Sequence[str] | None = None,
    kinds: Sequence[str] = ("cost", "failure_reduction", "failure_probability"),
    time_budget: float = 600.0,
    analysis: WhatIf | None = None,
    clock: Clock | None = None,
    solve_limit: float | None = None,
) -> Sensitivity:
    """Ranges for the selected improvements (or `improvements`) and the `touchpoints`
    most affected touchpoints.

    Without `clock`, each solve gets `solve_limit` seconds (None: `options.time_limit`)
    and `time_budget` bounds the whole run. With the command's `clock`
    (`cxplan.clock.Clock`) the run ends by the clock's limit too (less a twentieth kept for
    the output): the optimal plan may take half of what is left, then each end of a range
    still to examine an equal part of the rest (each solve at most `solve_limit`). Ends
    the time stopped say "time_limit" (`Sensitivity.unproven`); inputs no time is left to
    start are skipped (`Sensitivity.skipped`, with a warning)."""
    if not 0 < tolerance < 1:
        raise UsageError(f"the tolerance is a share of each input's value in (0, 1), "
                         f"got {tolerance:g}")
    began = time.perf_counter()
    options = options or SolverOptions()
    analysis = analysis or analysis_for(scenario, options, plugins=plugins, clock=clock,
                                        solve_limit=solve_limit)
    scenario = analysis.scenario
    analysis.pending = 2  # the plan first: half of what the clock leaves at most
    plan = analysis.optimum()
    chosen = list(improvements) if improvements is not None else list(plan.selected)
    unknown = [i for i in chosen if i not in set(scenario.improvement_ids)]
    if unknown:
        raise UsageError(f"unknown improvement(s): {', '.join(unknown)}")
    deadline = began + time_budget
    if clock is not None:
        deadline = min(deadline, clock.deadline - OUTPUT_SHARE * clock.limit)
    search = _Search(analysis, plan, tolerance, options, plugins, deadline, clock,
                     solve_limit)
    # Each input, with the number of range ends it needs searched (a cost's upper end
    # needs no solve), examined in this order.
    inputs: list[tuple[str, str, int]] = []
    for imp_id in chosen:
        imp = scenario.improvement(imp_id)
        if "cost" in kinds and imp_id in plan.selected:
            inputs.append(("cost", imp_id, 1))
        if "failure_reduction" in kinds and any(e.failure_reduction > 0 for e in imp.effects):
            inputs.append(("failure_reduction", imp_id, 2))
    journey = analysis.journey
    if "failure_probability" in kinds:
        inputs += [("failure_probability", journey.touchpoint_ids[t], 2)
                   for t in _top_touchpoints(analysis, plan, touchpoints)]
    ranges: list[Range] = []
    skipped: list[str] = []
    for index, (kind, subject, _) in enumerate(inputs):
        search.sides_left = sum(n for _, _, n in inputs[index:])
        label = f"{kind.replace('_', ' ')} of {subject}"
        if time.perf_counter() >= deadline or search.solve_seconds() is None:
            skipped.append(label)
            continue
        ranges.append(_range(search, kind, subject, label))
    ranges.sort(key=lambda r: r.rank)
    return Sensitivity(scenario.title, scenario.currency, plan, tuple(ranges), tolerance,
                       time.perf_counter() - began, search.solves + analysis.solves,
                       {"improvement": {i.id: i.label for i in scenario.improvements},
                        "touchpoint": {t.id: t.label for t in scenario.touchpoints}},
                       tuple(skipped))


def _range(search: _Search, kind: str, subject: str, label: str) -> Range:
    """One input's range, its ends searched in turn (`search.sides_left` counts down)."""
    scenario = search.analysis.scenario

    def scaled(valuer: _Valuer, limit: float) -> Side:
        side = search.scaled(valuer, limit)
        search.sides_left -= 1
        return side

    if kind == "cost":
        cost = scenario.improvement(subject).cost
        low, high = search.cost(subject)
        return Range("cost", subject, label, "currency", cost, low, high, {subject: cost})
    if kind == "failure_reduction":
        reductions = {e.touchpoint: e.failure_reduction
                      for e in scenario.improvement(subject).effects
                      if e.failure_reduction > 0}
        valuer = _Valuer(search.analysis,
                         partial(scale_failure_reduction, scenario, subject))
        top = 1.0 / max(reductions.values())
        return Range("failure_reduction", subject, label, "factor", 1.0,
                     scaled(valuer, 0.0), scaled(valuer, top), reductions)
    journey = search.analysis.journey
    t = journey.touchpoint_ids.index(subject)
    highest = max(float(chain.failure[t]) for chain in journey.personas)
    valuer = _Valuer(search.analysis, partial(scale_failure_probability, scenario, subject))
    return Range("failure_probability", subject, label, "factor", 1.0,
                 scaled(valuer, 0.0), scaled(valuer, 1.0 / highest),
                 {subject: scenario.touchpoints[t].failure_probability})
