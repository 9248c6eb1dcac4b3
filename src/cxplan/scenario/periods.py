"""Reading the roadmap additions of a scenario: `horizon:` and amounts given per period.

With a horizon, `budget`, a team's capacity and a persona's `customers` may be
lists, one value per period. The pydantic models see one number in their place
(the budget's total, a team's largest capacity, a persona's average customers
per period; see `cxplan.scenario.models.PeriodValues`), and the lists are checked here,
each problem with its place, like every other value of the file.
"""

from __future__ import annotations

import math
from typing import Any

from cxplan.scenario.models import PeriodValues, Scenario
from cxplan.scenario.problems import ProblemSink

MAX_AMOUNT = 1e15  # the format's range for amounts (cxplan.scenario.models.NonNegative)


def horizon_periods(data: dict[str, Any]) -> int | None:
    """The number of periods of a well-formed `horizon:`, else None."""
    horizon = data.get("horizon")
    periods = horizon.get("periods") if isinstance(horizon, dict) else None
    if isinstance(periods, int) and not isinstance(periods, bool) and 1 <= periods <= 120:
        return periods
    return None


def split_period_values(
    data: dict[str, Any], report: ProblemSink
) -> tuple[dict[str, Any], PeriodValues]:
    """`data` with every per-period list replaced by one number, and the lists.

    Problems (a list without a horizon, a list of the wrong length, a bad amount) are
    reported with their place; the number put in place of a broken list is 0, so that
    the models do not report it a second time.
    """
    if "horizon" in data and data["horizon"] is not None:
        periods = horizon_periods(data)
        has_horizon = True
    else:
        periods, has_horizon = None, False
    out = dict(data)

    def amounts(value: list[Any], path: tuple[str | int, ...]) -> tuple[float, ...] | None:
        ok = True
        if not has_horizon:
            report(path, "amounts per period (a list) need a horizon",
                   "add `horizon: {periods: N}`, or give one number")
            return None
        for i, item in enumerate(value):
            if (isinstance(item, bool) or not isinstance(item, int | float)
                    or not _finite(item) or not 0 <= item <= MAX_AMOUNT):
                report((*path, i), f"an amount per period is a number from 0 to 1e15 "
                       f"(got {item!r:.40})", None)
                ok = False
        if periods is not None and len(value) != periods:
            report(path, f"{len(value)} values for a horizon of {periods} periods",
                   "give one value per period, or one number for every period")
            ok = False
        return tuple(float(v) for v in value) if ok else None

    budget: tuple[float, ...] | None = None
    if isinstance(data.get("budget"), list):
        budget = amounts(data["budget"], ("budget",))
        out["budget"] = budget_stand_in(budget) if budget is not None else 0.0
    capacity: dict[str, tuple[float, ...]] = {}
    teams = data.get("teams")
    if isinstance(teams, dict) and any(isinstance(v, list) for v in teams.values()):
        out["teams"] = dict(teams)
        for team, value in teams.items():
            if isinstance(value, list):
                given = amounts(value, ("teams", str(team)))
                if given is not None:
                    capacity[str(team)] = given
                out["teams"][team] = max(given, default=0.0) if given is not None else 0.0
    customers: dict[str, tuple[float, ...]] = {}
    personas = data.get("personas")
    if isinstance(personas, list) and any(
            isinstance(p, dict) and isinstance(p.get("customers"), list) for p in personas):
        out["personas"] = list(personas)
        for i, persona in enumerate(personas):
            if isinstance(persona, dict) and isinstance(persona.get("customers"), list):
                given = amounts(persona["customers"], ("personas", i, "customers"))
                if given is not None and isinstance(persona.get("id"), str):
                    customers[persona["id"]] = given
                mean = sum(given) / len(given) if given else 0.0
                out["personas"][i] = {**persona, "customers": mean}
    return out, PeriodValues(budget, capacity, customers)


def budget_stand_in(budget: tuple[float, ...]) -> float:
    """The one number the models see for a per-period budget: its total (capped at the
    format's largest amount, which no plan can spend anyway)."""
    return min(sum(budget), MAX_AMOUNT)


def kept_after_transform(values: PeriodValues, scenario: Scenario) -> PeriodValues:
    """The per-period lists that still hold for a scenario a plugin transformed: a list
    is dropped where the plugin changed the one number standing in for it (it meant a new
    value), or changed the number of periods."""
    periods = scenario.horizon.periods if scenario.horizon is not None else None

    def fits(given: tuple[float, ...], stand_in: float, now: float | None) -> bool:
        return len(given) == periods and now is not None and math.isclose(
            stand_in, now, rel_tol=1e-12, abs_tol=1e-12)

    budget = values.budget
    if budget is not None and not fits(budget, budget_stand_in(budget), scenario.budget):
        budget = None
    capacity = {team: given for team, given in values.capacity.items()
                if fits(given, max(given, default=0.0), scenario.teams.get(team))}
    by_id = {p.id: p.customers for p in scenario.persona_list}
    customers = {pid: given for pid, given in values.customers.items()
                 if fits(given, sum(given) / len(given) if given else 0.0, by_id.get(pid))}
    return PeriodValues(budget, capacity, customers)


def check_schedule_fields(data: dict[str, Any], report: ProblemSink, warn: ProblemSink) -> None:
    """`earliest`/`latest` need a horizon, fit in it, and leave room to finish."""
    periods = horizon_periods(data)
    has_horizon = data.get("horizon") is not None
    horizon = data.get("horizon")
    names = horizon.get("names") if isinstance(horizon, dict) else None
    if periods is not None and isinstance(names, list) and len(names) != periods:
        report(("horizon", "names"), f"{len(names)} names for {periods} periods",
               "give one name per period, in order")
    if isinstance(names, list):
        for i, name in enumerate(names):
            if isinstance(name, str) and name in names[:i]:
                report(("horizon", "names", i), f"period name '{name}' is used twice",
                       "every period needs its own name")
    terminal = horizon.get("terminal_value") if isinstance(horizon, dict) else None
    if terminal == "perpetuity" and not (
            isinstance(horizon, dict) and isinstance(horizon.get("discount_rate"), int | float)
            and horizon["discount_rate"] > 0):
        report(("horizon", "terminal_value"), "a perpetuity counts the end state's value for "
               "ever, which is finite only with a discount rate above 0",
               "add `discount_rate` (per period, e.g. 0.02) to the horizon, or count a number "
               "of periods after it: `terminal_value: 8`")
    if periods == 1:
        warn(("horizon", "periods"), "with one period nothing pays off within the horizon: "
             "an improvement pays off from the period after it finishes", None)
    improvements = data.get("improvements")
    if not isinstance(improvements, list):
        return
    for i, imp in enumerate(improvements):
        if not isinstance(imp, dict):
            continue
        earliest, latest = _period(imp.get("earliest")), _period(imp.get("latest"))
        for key in ("earliest", "latest"):
            if key in imp and not has_horizon:
                report(("improvements", i, key), f"`{key}` is a start period: it needs a "
                       "horizon", "add `horizon: {periods: N}` to plan a roadmap")
        if not has_horizon or periods is None:
            continue
        if earliest is not None and latest is not None and earliest > latest:
            report(("improvements", i, "latest"),
                   f"latest start {latest} is before earliest start {earliest}", None)
            continue
        for key, value in (("earliest", earliest), ("latest", latest)):
            if value is not None and value > periods:
                report(("improvements", i, key),
                       f"period {value} is after the horizon's last period, {periods}", None)
        duration = _period(imp.get("duration")) or 1
        first = earliest or 1
        if first + duration - 1 > periods:
            where = ("improvements", i, "duration")
            message = (f"cannot finish within the horizon: starting in period {first} at the "
                       f"earliest, its {duration} period(s) of work end after period {periods}")
            if imp.get("mandatory") is True:
                report(where, message, "a mandatory improvement must fit in the horizon")
            else:
                warn(where, message + "; it is never scheduled", None)
        elif first + duration - 1 == periods and periods > 1:
            warn(("improvements", i, "duration"),
                 f"it can finish in the last period ({periods}) at the earliest, so it never "
                 "pays off within the horizon (it pays off from the period after it "
                 "finishes)", None)


def _period(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _finite(value: float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False
