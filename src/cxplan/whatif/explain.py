"""Why an improvement is in the plan, or why it is not, with the numbers to show for it.

For a selected improvement: the best plan *without* it (re-solved with it forced out)
— the gain that would be lost, and what would replace it. For a left-out one: the best
plan *with* it (forced in) — the gain lost by insisting on it, what it would displace,
and which constraints keep it out of the optimal plan: those that the plan plus the
improvement (and whatever it requires) would break (the budget, a team, an exclusion),
a requirement that is not in the plan, or none at all when it simply adds too little.
Both alternatives are optimal plans of the restricted problem, found in the same
session as the plan itself and evaluated exactly.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cxplan.clock import Clock
from cxplan.core.results import Plan
from cxplan.core.schedule import Room
from cxplan.core.selection import dependent_closure, requirement_closure, violations
from cxplan.errors import InfeasibleError, UsageError
from cxplan.optimizer.options import SolverOptions
from cxplan.plugins.manager import CxplanPlugins
from cxplan.scenario.models import Scenario
from cxplan.text import did_you_mean, format_money
from cxplan.whatif.analyses import analysis_for
from cxplan.whatif.engine import (
    Analysis,
    Outcome,
    WhatIf,
    difference,
    moved,
    plan_keys,
    undone_warnings,
)
from cxplan.whatif.roadmap import RoadmapAnalysis


@dataclass(frozen=True)
class Obstacle:
    """A constraint that keeps a left-out improvement out of the plan."""

    kind: str  # "budget", "team", "exclusion", "requirement", "mandatory", "value", "plugin"
    detail: str  # a sentence naming the numbers or improvements involved
    name: str = ""  # "budget", "team it", "exclusion", ... (the kind, with the team's name)

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name or self.kind, "detail": self.detail}


@dataclass(frozen=True)
class Explanation:
    improvement: str
    name: str
    selected: bool
    plan: Outcome  # the optimal plan
    # Selected: the best plan without it; left out: the best plan with it. None when no
    # plan can do without it (mandatory) or take it (see `conflict`).
    alternative: Outcome | None
    conflict: tuple[str, ...]  # constraints that make the alternative impossible
    obstacles: tuple[Obstacle, ...]  # left out: what keeps it out
    currency: str | None

    @property
    def gain_lost(self) -> float | None:
        """Objective of the plan minus that of the alternative (≥ 0 up to the solver gap)."""
        if self.alternative is None:
            return None
        return self.plan.objective - self.alternative.objective

    @property
    def comes_in(self) -> tuple[str, ...]:
        """Selected: what replaces it; left out: what else enters with it."""
        if self.alternative is None:
            return ()
        added, _ = difference(self.plan.selected, self.alternative.selected)
        return tuple(i for i in added if i != self.improvement)

    @property
    def goes_out(self) -> tuple[str, ...]:
        """Selected: what else leaves with it; left out: what it displaces."""
        if self.alternative is None:
            return ()
        _, dropped = difference(self.plan.selected, self.alternative.selected)
        return tuple(i for i in dropped if i != self.improvement)

    @property
    def moves(self) -> tuple[str, ...]:
        """On a roadmap: the improvements of both plans that start in another period in
        the alternative."""
        return moved(self.plan, self.alternative) if self.alternative is not None else ()

    @property
    def line(self) -> str:
        """The reason in one line, for tables and reports."""
        return reason_line(self)

    @property
    def proven(self) -> bool:
        """Both plans compared are proven optimal (within the gap): no solve was stopped by
        the time limit."""
        return self.plan.status.solved and (self.alternative is None
                                            or self.alternative.status.solved)

    def to_dict(self) -> dict[str, Any]:
        return {
            "improvement": self.improvement, "name": self.name, "selected": self.selected,
            "plan": self.plan.to_dict(),
            "alternative": self.alternative.to_dict() if self.alternative else None,
            "gain_lost": self.gain_lost, "comes_in": list(self.comes_in),
            "goes_out": list(self.goes_out), "moved": list(self.moves),
            "conflict": list(self.conflict),
            "obstacles": [o.to_dict() for o in self.obstacles], "reason": self.line,
            "proven": self.proven,
        }


@dataclass(frozen=True)
class Explanations:
    """Several improvements explained against one optimal plan, within a time limit."""

    scenario: str
    plan: Outcome
    explanations: tuple[Explanation, ...]
    skipped: tuple[str, ...] = ()  # improvements the time limit left no time to explain

    @property
    def unproven(self) -> tuple[str, ...]:
        """The improvements whose explanation rests on a solve stopped by the time limit."""
        return tuple(e.improvement for e in self.explanations if not e.proven)

    @property
    def warnings(self) -> tuple[str, ...]:
        return undone_warnings(
            self.skipped, self.unproven, work="explain these improvements",
            stopped="explanations resting on a solve stopped at its time limit, not proven "
                    "optimal (their plans give the status and gap)")

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "plan": self.plan.to_dict(),
                "explanations": [e.to_dict() for e in self.explanations],
                "skipped": list(self.skipped), "unproven": list(self.unproven),
                "warnings": list(self.warnings)}


def _ids(ids: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def reason_line(e: Explanation) -> str:
    def money(value: float) -> str:
        return format_money(value, e.currency)

    if e.selected:
        if e.alternative is None:
            return "in the plan: it cannot be left out (" + "; ".join(e.conflict) + ")"
        text = (f"in the plan: lost without it {money(e.gain_lost or 0.0)} (the best plan "
                "without it gains that much less)")
        if e.comes_in:
            text += f" (replaced by {_ids(e.comes_in)})"
        elif e.goes_out:
            text += f" (and drops {_ids(e.goes_out)})"
        return text
    if e.alternative is None:
        return "left out: no plan can include it, because of: " + "; ".join(e.conflict)
    kept = ", ".join(dict.fromkeys(o.name or o.kind for o in e.obstacles))
    text = f"left out: forcing it in loses {money(e.gain_lost or 0.0)}"
    if e.goes_out:
        text += f" (displaces {_ids(e.goes_out)})"
    return text + (f"; kept out by {kept}" if kept else "")


def explain(scenario: Scenario, improvement: str, *, options: SolverOptions | None = None,
            plugins: CxplanPlugins | None = None, analysis: WhatIf | None = None,
            plan: Outcome | None = None, clock: Clock | None = None,
            solve_limit: float | None = None) -> Explanation:
    """Explain `improvement`'s place in the optimal plan (solved here unless `plan` is
    given, which must then be the optimum of `analysis`). On a roadmap the alternatives
    are schedules: forced in, the improvement starts in whichever period is best.
    `clock` and `solve_limit` time the analysis built here (`WhatIf.timed`); a given
    `analysis` keeps its own."""
    _check_known(scenario, [improvement])
    analysis = analysis or analysis_for(scenario, options, plugins=plugins, clock=clock,
                                        solve_limit=solve_limit)
    best = plan or analysis.optimum()
    selected = improvement in best.selected
    alternative: Outcome | None = None
    conflict: tuple[str, ...] = ()
    with analysis.fixed(improvement, not selected):
        try:
            alternative = analysis.solve(_start(analysis, best, improvement, selected))
        except InfeasibleError as exc:
            # Forcing a left-out improvement in is solved as making it mandatory: that rule
            # is the question asked, not one of the scenario's that conflicts with it.
            forced = f"'{improvement}' is mandatory"
            conflict = tuple(c for c in exc.conflict if selected or not c.startswith(forced))
            if not conflict:
                # The rule alone: on a roadmap it says why, "(cost …, no start period
                # that finishes in the horizon)"; that part is kept.
                conflict = tuple(f"'{improvement}' {c[len(forced):].strip()}".strip()
                                 for c in exc.conflict)
    imp = analysis.scenario.improvement(improvement)
    obstacles = () if selected else obstacles_of(analysis, best, improvement)
    return Explanation(improvement, imp.label, selected, best, alternative, conflict,
                       obstacles, analysis.scenario.currency)


def _check_known(scenario: Scenario, improvements: Iterable[str]) -> None:
    for improvement in improvements:
        if improvement not in set(scenario.improvement_ids):
            raise UsageError(f"unknown improvement '{improvement}'"
                             f"{did_you_mean(improvement, scenario.improvement_ids)}")


def explain_many(scenario: Scenario, improvements: Sequence[str], *,
                 options: SolverOptions | None = None, plugins: CxplanPlugins | None = None,
                 clock: Clock | None = None,
                 solve_limit: float | None = None) -> Explanations:
    """Explain each of `improvements` against one optimal plan (one model and session).

    Without `clock` every solve gets `solve_limit` seconds (None: `options.time_limit`).
    With the command's `clock` all of it keeps the clock's limit: the optimal plan may take
    half of what is left, each explanation then an equal part of the rest (each solve at
    most `solve_limit`); a solve stopped early says `time_limit` (`Explanations.unproven`)
    and the improvements no time is left for are skipped (`Explanations.skipped`, with a
    warning). Unknown ids are refused before any solve."""
    _check_known(scenario, improvements)
    analysis = analysis_for(scenario, options, plugins=plugins, clock=clock,
                            solve_limit=solve_limit)
    analysis.pending = 2 if improvements else 1  # the plan first: half of what is left
    best = analysis.optimum()
    found = _explain_many(analysis, best, improvements, None)
    return Explanations(analysis.scenario.title, best,
                        tuple(e for e in found.values() if e is not None),
                        tuple(i for i, e in found.items() if e is None))


def _start(analysis: WhatIf, best: Outcome, improvement: str,
           selected: bool) -> list[str] | None:
    if selected:
        # The plan without the improvement and whatever needs it stays feasible.
        needs = dependent_closure(analysis.scenario, [improvement])
        return [k for i, k in zip(best.selected, best.keys, strict=True) if i not in needs]
    # Forced in, the improvement (with what it requires) comes first, then the plan's.
    return analysis.repair(list(best.keys))


def obstacles_of(analysis: WhatIf, best: Outcome, improvement: str) -> tuple[Obstacle, ...]:
    """The constraints that the plan plus `improvement` (with its requirements) breaks
    (on a roadmap: in every period it could start in, `roadmap_obstacles`)."""
    if isinstance(analysis, RoadmapAnalysis):
        return roadmap_obstacles(analysis, best, improvement)
    assert isinstance(analysis, Analysis)
    scenario = analysis.scenario
    currency = scenario.currency
    entering = requirement_closure(scenario, [improvement])
    chosen = set(best.selected)
    trial = chosen | entering
    found: list[Obstacle] = []
    for imp in scenario.improvements:
        if imp.id in entering:
            for other in imp.excludes:
                if other in chosen:
                    who = "it" if imp.id == improvement else f"its requirement '{imp.id}'"
                    kind = ("mandatory" if scenario.improvement(other).mandatory
                            else "exclusion")
                    found.append(Obstacle(kind, f"{who} excludes '{other}', which is in the "
                                          "plan" + (" (mandatory)" if kind == "mandatory"
                                                    else "")))
    missing = [i for i in scenario.improvement_ids if i in entering - chosen - {improvement}]
    if missing:
        found.append(Obstacle("requirement", f"it requires {_ids(missing)}, not in the plan"))
    for broken in violations(scenario, trial, limits=analysis.current_limits,
                             rules=("budget", "team")):
        if broken.rule == "budget":
            found.append(Obstacle("budget", "it needs "
                                  f"{format_money(broken.used - best.cost, currency)} but only "
                                  f"{format_money(broken.limit - best.cost, currency)} is left",
                                  "budget"))
        else:
            team = broken.subject
            need = broken.used - best.staff_used.get(team, 0.0)
            left = broken.limit - best.staff_used.get(team, 0.0)
            found.append(Obstacle("team", f"it needs {need:g} staff but only "
                                  f"{max(left, 0.0):g} is free", f"team {team}"))
    if not found:
        value = analysis.objective(trial) - best.objective
        if value > analysis.tolerance(best.objective):
            # Better and within every core constraint, yet not optimal: only a constraint
            # added by a plugin can keep it out.
            found.append(Obstacle("plugin", "a constraint added by a plugin"))
        else:
            found.append(Obstacle("value", "it fits beside the plan, but adding it changes "
                                  f"the value by {format_money(value, currency)}"))
    return tuple(found)


def roadmap_obstacles(analysis: RoadmapAnalysis, best: Outcome,
                      improvement: str) -> tuple[Obstacle, ...]:
    """What keeps `improvement` out of a roadmap: the plan's exclusions and missing
    requirements, and for each period it could start in, what that start lacks next to
    the plan's schedule (money, a team's people, a requirement finished in time). When
    some start lacks nothing, the value of adding it there (as for a single period)."""
    scenario, cal = analysis.scenario, analysis.calendar
    currency = scenario.currency
    imp = scenario.improvement(improvement)
    schedule = {i: s for i, (s, _) in (best.schedule or {}).items()}
    found: list[Obstacle] = []
    for other in imp.excludes + [i.id for i in scenario.improvements
                                 if improvement in i.excludes]:
        if other in schedule:
            kind = "mandatory" if scenario.improvement(other).mandatory else "exclusion"
            found.append(Obstacle(kind, f"it excludes '{other}', which is in the plan"
                                  + (" (mandatory)" if kind == "mandatory" else "")))
    missing = [r for r in imp.requires if r not in schedule]
    if missing:
        found.append(Obstacle("requirement", f"it requires {_ids(missing)}, not in the plan"))
    starts = cal.starts[improvement]
    if not starts:
        found.append(Obstacle("timing", f"it takes {imp.duration} periods and cannot be "
                              "scheduled within the horizon's window for it"))
    if found:
        return tuple(dict.fromkeys(found))
    room = Room(cal)
    for i, s in schedule.items():
        room.take(i, s)
    money: list[int] = []
    teams: dict[str, list[int]] = {}
    late: list[int] = []
    free: list[int] = []
    for start in starts:
        short = room.shortfall(improvement, start)
        too_late = any(cal.finish(r, schedule[r]) >= start for r in imp.requires)
        if short.money:
            money.append(start)
        for team in short.teams:
            teams.setdefault(team, []).append(start)
        if too_late:
            late.append(start)
        if not short and not too_late:
            free.append(start)
    if free:
        value = max(analysis.objective([*best.keys, f"{improvement}@{s}"])
                    for s in free) - best.objective
        if value > analysis.tolerance(best.objective):
            return (Obstacle("plugin", "a constraint added by a plugin"),)
        return (Obstacle("value", f"it fits beside the plan (starting in period "
                         f"{_periods(free)}), but adding it changes the value by at most "
                         f"{format_money(value, currency)}"),)
    if money:
        found.append(Obstacle("budget", f"the plan leaves too little money for its "
                              f"{format_money(cal.spend(improvement), currency)} per period "
                              f"of work if it starts in period {_periods(money)}", "budget"))
    for team, blocked in teams.items():
        need = imp.staff.get(team, 0.0)
        found.append(Obstacle("team", f"it needs {need:g} staff, too many beside the plan if "
                              f"it starts in period {_periods(blocked)}", f"team {team}"))
    if late:
        found.append(Obstacle("requirement", "what it requires is not finished in time if it "
                              f"starts in period {_periods(late)}"))
    return tuple(found)


def _periods(numbers: Sequence[int]) -> str:
    """"3", "2 or 4", "1, 2 or 3"."""
    text = [str(n) for n in numbers]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + " or " + text[-1]


def explain_all(scenario: Scenario, plan: Plan | None = None, *,
                options: SolverOptions | None = None, plugins: CxplanPlugins | None = None,
                time_budget: float = 30.0,
                only: Iterable[str] | None = None) -> dict[str, Explanation | None]:
    """An explanation per improvement (None for those past `time_budget` seconds).

    With `plan`, the plan's selection is taken as the optimum (no first solve).
    """
    analysis = analysis_for(scenario, options, plugins=plugins)
    best = analysis.outcome(plan_keys(plan)) if plan is not None else analysis.optimum()
    wanted = list(only) if only is not None else scenario.improvement_ids
    return _explain_many(analysis, best, wanted, time.perf_counter() + time_budget)


def _explain_many(analysis: WhatIf, best: Outcome, wanted: Sequence[str],
                  deadline: float | None) -> dict[str, Explanation | None]:
    """Each of `wanted` explained (None: past `deadline` or out of the analysis's time)."""
    found: dict[str, Explanation | None] = {}
    for index, imp in enumerate(wanted):
        analysis.pending = len(wanted) - index  # this one and those after it share the rest
        on_time = ((deadline is None or time.perf_counter() < deadline)
                   and analysis.can_start())
        found[imp] = (explain(analysis.scenario, imp, analysis=analysis, plan=best)
                      if on_time else None)
    return found


def one_line_reasons(plan: Plan, scenario: Scenario, *, time_budget: float = 20.0,
                     options: SolverOptions | None = None,
                     plugins: CxplanPlugins | None = None) -> dict[str, str]:
    """A one-line reason for every improvement of `scenario`, for the plan report.

    `scenario` is the one the plan was solved for (with any what-if limits applied).
    Each reason comes from re-solves (see `explain`); improvements not reached within
    `time_budget` seconds get the structural reason only (what the plan leaves no room
    for), marked "(not re-solved)".
    """
    options = options or SolverOptions(time_limit=max(1.0, time_budget / 4))
    analysis = analysis_for(scenario, options, plugins=plugins)
    best = analysis.outcome(plan_keys(plan))
    explained = _explain_many(analysis, best, scenario.improvement_ids,
                              time.perf_counter() + time_budget)
    reasons: dict[str, str] = {}
    for imp, explanation in explained.items():
        if explanation is not None:
            reasons[imp] = explanation.line
        elif imp in best.selected:
            reasons[imp] = "in the plan (not re-solved)"
        else:
            reasons[imp] = ("left out: " + "; ".join(
                f"{o.name or o.kind}: {o.detail}" for o in obstacles_of(analysis, best, imp))
                + " (not re-solved)")
    return reasons
