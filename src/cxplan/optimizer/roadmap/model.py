"""The exact multi-period MILP: when to start each improvement.

Variables: `start[j,s]` ∈ {0, 1} for every start period s that improvement j
may take (Σ_s start[j,s] ≤ 1, = 1 if mandatory). For every period t in which
something can have been finished, continuous "finished by t" variables
done[t,j] = Σ_{s : s+d_j−1 < t} start[j,s] drive one copy of the journey's hull
(`cxplan.optimizer.model.journey_copy`) with that period's customers; at binary starts
done[t,·] is the 0/1 set of improvements finished before t, so each copy is the
exact Markov value of that set. The objective is Σ_t δ_t Σ_c w_c C_c(copy t),
every criterion's model term taken on each period's copy and discounted; a
period in which nothing can be finished contributes a constant.

Rows: money per period (cost spread over the periods of work; cumulative with
`carry_over`) or the total budget, staff per team and period, precedence in
its aggregated form (j started by t ≤ its requirement finished before t, for
every t: tighter than one row per pair of starts), exclusions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

import pulp

from cxplan.core.calendar import Calendar
from cxplan.core.criterion import Criterion, EvaluationContext
from cxplan.linear import PULP_ILLEGAL, paused_gc, weighted_sum
from cxplan.optimizer.model import (
    COMPACT,
    COMPACT_ABOVE,
    LP_SECONDS_PER_COLUMN,
    TIGHT,
    Blocking,
    ModelContext,
    estimated_columns,
    journey_copy,
)

_SAFE_ID = re.compile(r"[\w.\-]+")
TOLERANCE = 1e-9  # relative slack when deciding that an improvement cannot fit a period


@dataclass(frozen=True)
class LimitRow:
    """A row of the money or staff rules, for what-if re-solves that change its bound."""

    name: str  # the row's name in the model
    limit: str  # "budget" or "team:<name>"
    period: int | None  # its period (None: the budget's total over the horizon)
    whole: bool = False  # whole staff numbers only: the capacity is rounded down


def limit_bound(calendar: Calendar, row: LimitRow) -> float:
    """The right-hand side of a money or staff row under `calendar`'s limits: what the
    model is built with, and what a what-if sets when the limits change."""
    if row.limit == "budget":
        if row.period is None:
            assert calendar.total_budget is not None
            return float(calendar.total_budget)
        assert calendar.budget is not None
        if calendar.horizon.carry_over:  # what is available up to the period
            return float(sum(calendar.budget[:row.period]))
        return float(calendar.budget[row.period - 1])
    assert row.period is not None
    capacity = calendar.capacity[row.limit.split(":", 1)[1]][row.period - 1]
    # Whole people: a capacity of 3.5 holds 3 (a valid cut, and a tighter relaxation:
    # measured 5.5 % → 3.6 % root gap on generated roadmaps).
    return float(math.floor(capacity + 1e-9)) if row.whole else float(capacity)


@dataclass
class RoadmapModel:
    """The built roadmap MILP."""

    calendar: Calendar
    problem: pulp.LpProblem
    starts: dict[str, dict[int, pulp.LpVariable]]  # improvement → start period → binary
    done: dict[int, dict[str, pulp.LpVariable]]  # period → improvement → finished before it
    contexts: dict[int, ModelContext]  # period → its copy of the journey
    terms: dict[str, pulp.LpAffineExpression]  # criterion → Σ_t δ_t × its term in period t
    weights: dict[str, float]
    plugin_constraints: dict[str, str]  # the name the plugin gave -> row name
    blocking: Blocking
    scheduled: dict[str, pulp.LpVariable]  # improvement → 1 if scheduled (for plugins)
    limit_rows: tuple[LimitRow, ...] = ()  # the money and staff rows
    once_rows: dict[str, str] = field(default_factory=dict)  # improvement → "at most once"

    @property
    def columns(self) -> dict[str, pulp.LpVariable]:
        """The start binaries keyed "id@period", as `cxplan.optimizer.highs.Session` wants them."""
        return {f"{imp}@{s}": var for imp, by_start in self.starts.items()
                for s, var in by_start.items()}

    def start_values(self, schedule: Mapping[str, int]) -> dict[str, float]:
        """Every variable's value for a schedule (a complete MIP start, no solve needed)."""
        values = {var.name: float(schedule.get(imp) == s)
                  for imp, by_start in self.starts.items() for s, var in by_start.items()}
        for t, ctx in self.contexts.items():
            values.update(ctx.start_values(self.calendar.finished_before(dict(schedule), t)))
        values.update({var.name: float(imp in schedule) for imp, var in self.scheduled.items()})
        for by_imp in self.done.values():
            for var in by_imp.values():
                values.setdefault(var.name, 0.0)  # not finishable by then: fixed at 0
        return values


class _EndState:
    """A `ModelContext` for constraint plugins whose journey copy is built on first use."""

    def __init__(self, build: Callable[[], ModelContext], **cheap: object) -> None:
        self._build = build
        self._cheap = cheap
        self.built: ModelContext | None = None

    def __getattr__(self, name: str) -> object:
        if name in self._cheap:
            return self._cheap[name]
        if self.built is None:
            self.built = self._build()
        return getattr(self.built, name)


def possible_starts(calendar: Calendar, improvement: str) -> list[int]:
    """The starts in the improvement's window whose periods of work each have room for it
    alone (staff, and money where a period's budget is its own): the others can never be
    taken, and leaving them out tightens the relaxation. (A model that what-ifs re-solve
    with larger limits is built with those: `build_roadmap_model(room=...)`.)"""
    imp = calendar.scenario.improvement(improvement)
    spend = calendar.spend(improvement)
    money = calendar.budget if not calendar.horizon.carry_over else None
    total = calendar.total_budget

    def room(t: int) -> bool:
        if money is not None and spend > money[t - 1] * (1 + TOLERANCE) + TOLERANCE:
            return False
        return all(n <= calendar.capacity[team][t - 1] * (1 + TOLERANCE) + TOLERANCE
                   for team, n in imp.staff.items() if n and team in calendar.capacity)

    if total is not None and imp.cost > total * (1 + TOLERANCE) + TOLERANCE:
        return []
    return [s for s in calendar.starts[improvement]
            if all(room(t) for t in range(s, calendar.finish(improvement, s) + 1))]


def schedule_of(keys: Iterable[str]) -> dict[str, int]:
    """{improvement: start} from the "id@period" keys of the chosen start binaries."""
    result = {}
    for key in keys:
        imp, _, start = key.rpartition("@")
        result[imp] = int(start)
    return result


def active_periods(calendar: Calendar, starts: Mapping[str, list[int]]) -> list[int]:
    """The periods in which something can have been finished: each gets a journey copy."""
    durations = {imp.id: imp.duration for imp in calendar.scenario.improvements}
    first = [min(s + durations[imp] for s in allowed) for imp, allowed in starts.items()
             if allowed]
    # (N + 1, when counted, is the value after the horizon: `Calendar.valued`.)
    return [t for t in calendar.valued if first and min(first) <= t]


def roadmap_blocking(calendar: Calendar, copies: int, lp_within: float | None) -> Blocking:
    """As `cxplan.optimizer.model.choose_blocking`, over all the copies (measured at
    1 000 × 8: the tight LP took 26 s for 190 000 columns, and the 60 s LP-first plan was
    proven within 0.19 % against 0.29 % with the compact hull)."""
    columns = estimated_columns(calendar.scenario, calendar.journey(1), TIGHT) * max(copies, 1)
    fits_lp = lp_within is not None and columns * LP_SECONDS_PER_COLUMN <= lp_within
    return COMPACT if columns > COMPACT_ABOVE and not fits_lp else TIGHT


def estimated_roadmap_columns(calendar: Calendar, lp_within: float | None = None) -> int:
    """Roughly how many columns `build_roadmap_model` would make, without building it: a
    start per allowed start period, and per active period a "done" per improvement and a
    copy of the journey's hull (`estimated_columns`, with the blocking it would choose)."""
    starts = {imp: possible_starts(calendar, imp) for imp in calendar.scenario.improvement_ids}
    active = active_periods(calendar, starts)
    per_copy = len(starts) + estimated_columns(
        calendar.scenario, calendar.journey(1), roadmap_blocking(calendar, len(active),
                                                                 lp_within))
    return sum(len(allowed) for allowed in starts.values()) + len(active) * per_copy


def build_roadmap_model(
    calendar: Calendar,
    criteria: Mapping[str, Criterion],
    *,
    extra_constraints: Iterable[object] = (),
    blocking: Blocking | None = None,
    lp_within: float | None = None,
    room: Calendar | None = None,
) -> RoadmapModel:
    """Build the roadmap MILP (see the module docstring); `lp_within` as in
    `cxplan.optimizer.model.build_model`. `room`, the same roadmap with larger limits,
    keeps the starts that fit those (for what-if re-solves that raise the limits up to
    them); the rows hold `calendar`'s limits."""
    with paused_gc():  # one pause for all copies (cxplan.linear.paused_gc)
        return _build(calendar, criteria, extra_constraints, blocking, lp_within,
                      room or calendar)


def _build(
    calendar: Calendar, criteria: Mapping[str, Criterion], extra_constraints: Iterable[object],
    blocking: Blocking | None, lp_within: float | None, room: Calendar,
) -> RoadmapModel:
    scenario = calendar.scenario
    problem = pulp.LpProblem("cxplan_roadmap", pulp.LpMaximize)
    names: set[str] = set()

    def add(name: str, constraint: pulp.LpConstraint) -> str:
        clean = PULP_ILLEGAL.sub("_", name)
        candidate, n = clean, 1
        while candidate in names:
            n += 1
            candidate = f"{clean}_{n}"
        names.add(candidate)
        problem.addConstraint(constraint, name=candidate)
        return candidate

    label = {imp.id: imp.id if _SAFE_ID.fullmatch(imp.id) else str(k)
             for k, imp in enumerate(scenario.improvements)}
    # Unique as PuLP will write them (it turns `-` into `_`): else positions.
    if len({PULP_ILLEGAL.sub("_", v) for v in label.values()}) < len(label):
        label = {imp.id: str(k) for k, imp in enumerate(scenario.improvements)}
    starts = {imp: {s: problem.add_variable(f"start[{label[imp]},p{s}]", 0, 1, pulp.LpBinary)
                    for s in possible_starts(room, imp)}
              for imp in scenario.improvement_ids}
    scheduled = {imp: pulp.lpSum(by_start.values()) for imp, by_start in starts.items()}

    # The periods in which something can have been finished get a copy of the journey.
    durations = {imp.id: imp.duration for imp in scenario.improvements}
    active = active_periods(calendar, {imp: list(by_start) for imp, by_start in starts.items()})
    if blocking is None:
        blocking = roadmap_blocking(calendar, len(active), lp_within)

    done: dict[int, dict[str, pulp.LpVariable]] = {}
    contexts: dict[int, ModelContext] = {}
    weights = {name: float(w) for name, w in scenario.criteria.items() if w}
    parts: dict[str, list[tuple[float, pulp.LpAffineExpression]]] = {n: [] for n in weights}
    constants = dict.fromkeys(weights, 0.0)
    for t in calendar.valued:
        journey = calendar.journey(t)
        if t not in active:
            # Nothing can be finished yet: the criteria's values for the empty selection.
            empty = EvaluationContext(scenario, journey, (), journey.evaluate(()),
                                      journey.evaluate(()))
            for name in weights:
                constants[name] += calendar.discount(t) * criteria[name].evaluate(empty)
            continue
        done[t] = {}
        for imp, by_start in starts.items():
            finished = [var for s, var in by_start.items() if s + durations[imp] <= t]
            var = problem.add_variable(f"done[p{t},{label[imp]}]", 0, 1 if finished else 0)
            if finished:
                add(f"done[p{t},{label[imp]}]", var - pulp.lpSum(finished) == 0)
            done[t][imp] = var
        ctx = journey_copy(problem, scenario, journey, done[t], blocking, prefix=f"p{t}:")
        contexts[t] = ctx
        for name in weights:
            parts[name].append((calendar.discount(t), criteria[name].model_term(ctx)))
    terms = {name: weighted_sum(parts[name], constants[name]) for name in weights}
    problem.setObjective(weighted_sum((weights[name], term) for name, term in terms.items()))

    limit_rows, once_rows = _rules(calendar, starts, scheduled, add)
    added: dict[str, str] = {}
    ends: dict[str, pulp.LpVariable] = {}  # the scheduled set, when plugins use it
    if extra_constraints:
        # Constraint plugins see the roadmap's end state: the improvements it schedules. The
        # journey copy they may ask for (visits, failures...) is built only if they do.
        end = {imp: problem.add_variable(f"scheduled[{label[imp]}]", 0, 1)
               for imp in scenario.improvement_ids}
        lazy = _EndState(lambda: journey_copy(problem, scenario,
                                              calendar.journey(calendar.periods), end,
                                              blocking, prefix="end:"),
                         scenario=scenario, journey=calendar.journey(calendar.periods),
                         problem=problem, x=end)
        for hook in extra_constraints:
            for cname, constraint in hook(lazy):  # type: ignore[operator]
                added[cname] = add(cname, constraint)
        if lazy.built is not None:
            contexts[calendar.periods + 1] = lazy.built
        if added or lazy.built is not None:
            for imp, var in end.items():
                add(f"scheduled[{label[imp]}]", var - scheduled[imp] == 0)
            ends = end
    return RoadmapModel(calendar, problem, starts, done, contexts, terms, weights, added,
                        blocking, ends, limit_rows, once_rows)


def _rules(
    calendar: Calendar, starts: dict[str, dict[int, pulp.LpVariable]],
    scheduled: dict[str, pulp.LpAffineExpression],
    add: Callable[[str, pulp.LpConstraint], str],
) -> tuple[tuple[LimitRow, ...], dict[str, str]]:
    """Once, mandatory, money, staff, precedence and exclusions. Returns the money and
    staff rows, and each "at most once" row by improvement."""
    scenario = calendar.scenario
    once: dict[str, str] = {}
    for imp in scenario.improvements:
        if imp.mandatory:
            add(f"mandatory[{imp.id}]", scheduled[imp.id] == 1)
        elif len(starts[imp.id]) > 1:
            once[imp.id] = add(f"once[{imp.id}]", scheduled[imp.id] <= 1)

    def working(t: int) -> list[tuple[str, pulp.LpVariable]]:
        return [(imp, var) for imp, by_start in starts.items() for s, var in by_start.items()
                if calendar.working(imp, s, t)]

    rows: list[LimitRow] = []

    def limit(name: str, row: LimitRow, used: pulp.LpAffineExpression) -> None:
        rows.append(replace(row, name=add(name, used <= limit_bound(calendar, row))))

    if calendar.budget is not None:
        spent = pulp.LpAffineExpression()
        for t in calendar.numbers:
            this = pulp.lpSum(calendar.spend(imp) * var for imp, var in working(t)
                              if calendar.spend(imp))
            if calendar.horizon.carry_over:
                spent = spent + this  # a new expression: `+=` would change earlier rows
                limit(f"budget[p{t}]", LimitRow("", "budget", t), spent)
            else:
                limit(f"budget[p{t}]", LimitRow("", "budget", t), this)
    elif calendar.total_budget is not None:
        limit("budget", LimitRow("", "budget", None), pulp.lpSum(
            imp.cost * scheduled[imp.id] for imp in scenario.improvements if imp.cost))
    for team in calendar.capacity:
        for t in calendar.numbers:
            use = [(scenario.improvement(imp).staff.get(team, 0.0), var)
                   for imp, var in working(t)]
            if any(n for n, _ in use):
                whole = all(float(n).is_integer() for n, _ in use)
                limit(f"staff[{team},p{t}]", LimitRow("", f"team:{team}", t, whole),
                      pulp.lpSum(n * var for n, var in use if n))
    seen: set[frozenset[str]] = set()
    for imp in scenario.improvements:
        for req in imp.requires:
            # started by t ≤ requirement finished before t, at every start period of imp
            for t in starts[imp.id]:
                started = pulp.lpSum(var for s, var in starts[imp.id].items() if s <= t)
                ready = pulp.lpSum(var for s, var in starts[req].items()
                                   if calendar.finish(req, s) < t)
                add(f"requires[{imp.id},{req},p{t}]", started - ready <= 0)
        for other in imp.excludes:
            pair = frozenset((imp.id, other))
            if pair not in seen:
                seen.add(pair)
                add(f"excludes[{imp.id},{other}]", scheduled[imp.id] + scheduled[other] <= 1)
    return tuple(rows), once
