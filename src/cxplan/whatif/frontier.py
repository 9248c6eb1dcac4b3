"""The efficient frontier: the best expected gain at each level of the budget or of a team.

One model is built (with the limit at its highest level) and solved once per level in
the same HiGHS session, lowest level first: only the right-hand side of the limit's row
changes, and the previous level's plan, which stays feasible when the limit grows, is
the MIP start. `reuse=False` builds and solves every level from scratch instead (what
`optimize` at each level would do), for comparison and as a check.

Between consecutive levels the frontier reports the marginal gain per unit of the
limit, and a *knee* wherever the plan changes (which improvements come in and go out;
on a roadmap also which start in another period).

On a roadmap a level scales every period's money (or people) in proportion: the
budget's level is its total over the horizon, a team's its busiest period's capacity
(`cxplan.whatif.levels`).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cxplan.clock import Clock
from cxplan.core.status import Status
from cxplan.errors import InfeasibleError, UsageError
from cxplan.optimizer.options import SolverOptions
from cxplan.plugins.manager import CxplanPlugins
from cxplan.scenario.limits import parse_amount
from cxplan.scenario.models import Scenario
from cxplan.whatif.analyses import analysis_for
from cxplan.whatif.engine import (
    Outcome,
    WhatIf,
    can_start,
    difference,
    moved,
    solve_share,
    undone_warnings,
)
from cxplan.whatif.levels import level_of, with_levels

MAX_POINTS = 1000


@dataclass(frozen=True)
class FrontierPoint:
    level: float  # the budget or the team's capacity at this point
    outcome: Outcome | None  # None: no plan meets the constraints at this level
    conflict: tuple[str, ...]  # why not, when there is no plan
    per_unit: float | None  # objective gained per unit of the limit since the previous point
    added: tuple[str, ...]  # improvements the plan gains since the previous point
    dropped: tuple[str, ...]  # ... and those it drops
    moved: tuple[str, ...] = ()  # a roadmap's improvements that start in another period
    share: float | None = None  # the level ÷ today's (None: no level today)

    @property
    def knee(self) -> bool:
        """The plan changes here (compared with the previous point)."""
        return bool(self.added or self.dropped or self.moved)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "feasible": self.outcome is not None,
                **(self.outcome.to_dict() if self.outcome else {"conflict": list(self.conflict)}),
                "per_unit": self.per_unit, "knee": self.knee, "added": list(self.added),
                "dropped": list(self.dropped), "moved": list(self.moved), "share": self.share}


@dataclass(frozen=True)
class Frontier:
    scenario: str
    limit: str  # "budget" or "team:<name>"
    currency: str | None
    teams: tuple[str, ...]
    points: tuple[FrontierPoint, ...]
    reuse: bool  # one model and session for every point (False: built again per point)
    build_seconds: float  # building the model(s) and session(s)
    seconds: float  # the whole run
    solves: int
    today: float | None = None  # the scenario's own level of the limit (None: no limit)
    periods: int | None = None  # a roadmap's: every level scales each period's amount
    names: dict[str, str] = field(default_factory=dict)  # improvement id -> display name
    # Levels the command's time limit left no time to solve (not in `points`).
    skipped: tuple[float, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def unproven(self) -> tuple[float, ...]:
        """The levels whose plan is the best found, not proven optimal (stopped by the
        time limit; their points give the gap and bound)."""
        return tuple(p.level for p in self.points
                     if p.outcome is not None and not p.outcome.status.solved)

    @property
    def current(self) -> float | None:
        """Today's level (the chart's dashed line): the same as `today`."""
        return self.today

    @property
    def label(self) -> str:
        if self.limit == "budget":
            return "budget over the horizon" if self.periods else "budget"
        team = f"team '{self.limit.split(':', 1)[1]}'"
        return f"{team} (busiest period)" if self.periods else team

    @property
    def unit(self) -> str:
        if self.limit == "budget":
            return self.currency or "currency units"
        return "people"

    @property
    def knees(self) -> tuple[FrontierPoint, ...]:
        return tuple(p for p in self.points if p.knee)

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "limit": self.limit, "currency": self.currency,
                "points": [p.to_dict() for p in self.points],
                "knees": [p.level for p in self.knees], "current": self.current,
                "reuse": self.reuse,
                "build_seconds": round(self.build_seconds, 4),
                "seconds": round(self.seconds, 4), "solves": self.solves,
                "today": self.today, "periods": self.periods,
                "unproven_levels": list(self.unproven), "skipped_levels": list(self.skipped),
                "warnings": list(self.warnings)}

    def to_csv(self) -> str:
        """One row per level; a roadmap's rows end with the moves and the starts
        ("id@period", as `cxplan evaluate --select` takes them)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["level", "status", "objective", "expected_gain", "cost",
                         *(f"staff_{t}" for t in self.teams), "per_unit", "knee", "added",
                         "dropped", "selected", *(("moved", "starts") if self.periods else ())])
        for p in self.points:
            o = p.outcome
            writer.writerow([
                _num(p.level), o.status if o else Status.INFEASIBLE,
                _num(o.objective) if o else "", _num(o.expected_gain) if o else "",
                _num(o.cost) if o else "",
                *((_num(o.staff_used.get(t, 0.0)) if o else "") for t in self.teams),
                "" if p.per_unit is None else _num(p.per_unit), int(p.knee),
                " ".join(p.added), " ".join(p.dropped), " ".join(o.selected) if o else "",
                *((" ".join(p.moved), " ".join(o.keys) if o else "") if self.periods else ())])
        return out.getvalue()


def _num(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def parse_range(text: str, base: float | None, *, what: str) -> list[float]:
    """"FROM:TO:STEPS" -> STEPS evenly spaced levels from FROM to TO (both included).

    FROM and TO may be percentages of `base` (the scenario's current level): "50%:150%:11".
    """
    parts = text.split(":")
    if len(parts) != 3:
        raise UsageError(f"{what} expects FROM:TO:STEPS (for example 100000:400000:20 or "
                         f"50%:150%:11), got {text!r}")

    low, high = parse_amount(parts[0], base, what), parse_amount(parts[1], base, what)
    try:
        steps = int(parts[2])
    except ValueError:
        raise UsageError(f"{what}: STEPS must be a whole number, got {parts[2]!r}") from None
    if not 1 <= steps <= MAX_POINTS:
        raise UsageError(f"{what}: STEPS must be between 1 and {MAX_POINTS}, got {steps}")
    if low < 0 or high < low:
        raise UsageError(f"{what}: need 0 ≤ FROM ≤ TO, got {low:g} and {high:g}")
    if steps == 1:
        return [low]
    return sorted({low + (high - low) * k / (steps - 1) for k in range(steps)})


def frontier(
    scenario: Scenario,
    limit: str,
    levels: Sequence[float],
    *,
    options: SolverOptions | None = None,
    plugins: CxplanPlugins | None = None,
    reuse: bool = True,
    progress: Callable[[FrontierPoint], None] | None = None,
    clock: Clock | None = None,
    solve_limit: float | None = None,
) -> Frontier:
    """The best plan at every level of `limit` ("budget" or "team:<name>"; on a roadmap
    the level scales every period's amount, `cxplan.whatif.levels`).

    Without `clock`, each point's solve gets `solve_limit` seconds (None:
    `options.time_limit`). With the command's `clock` (`cxplan.clock.Clock`) the whole
    frontier keeps its limit: building counts, the points still to solve share what is
    left (each at most `solve_limit`), a point stopped early says `time_limit` with its gap
    (`Frontier.unproven`), and the levels no time is left to start are skipped
    (`Frontier.skipped`, with a warning naming them). Levels where no plan meets the
    constraints (a budget below the mandatory improvements' cost) are reported with the
    conflict, not raised.
    """
    began = time.perf_counter()
    options = options or SolverOptions()
    ordered = sorted(set(float(v) for v in levels))
    if not ordered:
        raise UsageError("a frontier needs at least one level")
    team = _team(scenario, limit)

    def limited(level: float) -> Scenario:
        if team is None:
            return with_levels(scenario, budget=level)
        return with_levels(scenario, teams={team: level})

    points: list[FrontierPoint] = []
    previous: Outcome | None = None
    build = 0.0
    solves = 0
    shared: WhatIf | None = None
    if reuse:
        tick = time.perf_counter()
        # Built at the highest level: every lower one only tightens its rows.
        shared = analysis_for(limited(ordered[-1]), options, plugins=plugins, clock=clock,
                              solve_limit=solve_limit)
        build += time.perf_counter() - tick
        if team is not None and not shared.constrains(limit):
            needed = any(imp.staff.get(team) for imp in scenario.improvements)
            raise UsageError(
                (f"the improvements that need staff from team '{team}' cannot start in any "
                 "period of the horizon" if needed else
                 f"no improvement needs staff from team '{team}'")
                + ", so its capacity cannot change the plan")
    today = level_of(scenario, limit)
    skipped: list[float] = []
    for index, level in enumerate(ordered):
        outcome: Outcome | None = None
        conflict: tuple[str, ...] = ()
        pending = len(ordered) - index  # this level and those after it share what is left
        if not can_start(solve_share(clock, pending, solve_limit)):
            skipped = ordered[index:]
            break
        try:
            if shared is not None:
                changes = ({"budget": level} if team is None else {"teams": {team: level}})
                shared.pending = pending
                with shared.limits(**changes):  # type: ignore[arg-type]
                    start = (previous.keys if previous is not None
                             else shared.greedy(shared.greedy_seconds()))
                    outcome = shared.solve(start)
            else:
                tick = time.perf_counter()
                fresh = analysis_for(limited(level), options, plugins=plugins, clock=clock,
                                     solve_limit=solve_limit)
                fresh.pending = pending
                build += time.perf_counter() - tick
                outcome = fresh.optimum()
                solves += fresh.solves
        except InfeasibleError as exc:
            conflict = tuple(exc.conflict)
        per_unit: float | None = None
        added: tuple[str, ...] = ()
        dropped: tuple[str, ...] = ()
        shifted: tuple[str, ...] = ()
        if outcome is not None and previous is not None:
            last = next(p.level for p in reversed(points) if p.outcome is previous)
            per_unit = (outcome.objective - previous.objective) / (level - last)
            added, dropped = difference(previous.selected, outcome.selected)
            shifted = moved(previous, outcome)
        point = FrontierPoint(level, outcome, conflict, per_unit, added, dropped, shifted,
                              level / today if today else None)
        points.append(point)
        if progress is not None:
            progress(point)
        if outcome is not None:
            previous = outcome
    if shared is not None:
        solves = shared.solves
    found = Frontier(scenario.title, limit, scenario.currency, tuple(scenario.teams),
                     tuple(points), reuse, build, time.perf_counter() - began, solves, today,
                     scenario.horizon.periods if scenario.horizon is not None else None,
                     {imp.id: imp.label for imp in scenario.improvements}, tuple(skipped))
    return replace(found, warnings=_time_warnings(found))


def _time_warnings(found: Frontier) -> tuple[str, ...]:
    """What the time limit left undone: the levels not computed, those not proven."""
    def levels(values: Sequence[float]) -> list[str]:
        return [f"{v:,.6g}" for v in values]

    return undone_warnings(
        levels(found.skipped), levels(found.unproven),
        work="compute the frontier at these levels",
        stopped="frontier points stopped at their time limit before being proven optimal "
                "(each gives the best plan found and its proven gap), at levels")


def _team(scenario: Scenario, limit: str) -> str | None:
    if limit == "budget":
        return None
    if limit.startswith("team:") and limit[5:] in scenario.teams:
        return limit[5:]
    name = limit[5:] if limit.startswith("team:") else limit
    raise UsageError(f"unknown team '{name}'; the scenario declares: "
                     f"{', '.join(scenario.teams) or 'no teams'}")
