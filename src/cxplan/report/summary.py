"""The three sentences at the top of a report: what to do, what it costs, what it gains."""

from __future__ import annotations

from collections.abc import Sequence

from cxplan.core.results import Plan, ValueBreakdown
from cxplan.report.roadmap import period_names, plural
from cxplan.report.view import PlanRow, Totals
from cxplan.scenario.models import Scenario
from cxplan.text import (
    format_amount,
    format_money,
    format_number,
    format_percent,
    join_words,
)

ABANDONMENT_SHOWN = 1e-9  # smaller changes of the abandonment share are not mentioned
QUICK_WINS_NAMED = 3  # how many of the first-ranked improvements the summary names


def summary(
    plan: Plan, scenario: Scenario, rows: Sequence[PlanRow], totals: Totals
) -> tuple[str, str, str]:
    def money(value: float) -> str:
        return format_money(value, plan.currency)

    candidates = len(scenario.improvements)
    if plan.horizon is not None:
        return roadmap_summary(plan, candidates, rows, totals)
    if not rows:
        what = (f"Fund none of the {candidates} candidate improvements: none of them raises "
                "the expected experience value within the limits.")
        cost = "Nothing is spent and no staff is needed."
        gain = (f"The expected experience value stays at {money(plan.baseline_value)}.")
        return what, cost, gain

    first = [r.name for r in rows[:QUICK_WINS_NAMED]]
    if len(rows) == 1:
        what = f"Fund 1 of the {candidates} candidate improvements: {first[0]}."
    elif len(rows) <= QUICK_WINS_NAMED:
        what = (f"Fund {len(rows)} of the {candidates} candidate improvements, in this "
                f"order: {join_words(first)}.")
    else:
        required = [r.name for r in rows if r.mandatory]
        wins = [r.name for r in rows if not r.mandatory][:QUICK_WINS_NAMED]
        what = f"Fund {len(rows)} of the {candidates} candidate improvements, starting with "
        if required:
            what += f"the mandatory {join_words(required)}, then "
        what += f"the quick wins {join_words(wins)}."

    if totals.budget is not None:
        cost = (f"They cost {money(totals.cost)}, {format_percent(totals.budget_share)} of "
                f"the {money(totals.budget)} budget")
    else:
        cost = f"They cost {money(totals.cost)} (no budget limit)"
    staff_used = [s for s in totals.staff if s.used]
    if staff_used:
        parts = [f"{s.name} {format_amount(s.used)} of {format_amount(s.capacity or 0.0)}"
                 for s in totals.staff]
        total = sum(s.used for s in totals.staff)
        cost += f", and need {format_amount(total)} staff ({', '.join(parts)})."
    elif totals.staff:
        cost += ", and need no staff from the teams."
    else:
        cost += "."

    gain = what_changes(totals.breakdown, plan.currency, plan.expected_gain)
    before, after = totals.baseline_abandonment, totals.planned_abandonment
    if totals.customers > 0 and abs(after - before) > ABANDONMENT_SHOWN:
        verb = "lowers" if after < before else "raises"
        gain += (f", and {verb} the share of customers who abandon after a failure from "
                 f"{format_percent(before)} to {format_percent(after)}")
    return what, cost, gain + "."


def what_changes(breakdown: ValueBreakdown | None, currency: str | None,
                 gain: float, period: str = "period") -> str:
    """The plan's gain said as what it changes in a period, each part positive where the
    plan helps: failures avoided, their cost, the value of successful steps. Without a
    breakdown, the gain alone. `period`: what the customer counts are per ("quarter")."""
    def money(value: float) -> str:
        return format_money(value, currency)

    if breakdown is None:
        return f"This gains {money(gain)} of expected experience value"
    b = breakdown
    parts = []
    if b.failures.before > 0:
        fewer = b.failures_avoided >= 0
        parts.append(f"{'avoids' if fewer else 'adds'} {format_number(abs(b.failures_avoided))} "
                     f"of the {format_number(b.failures.before)} expected failures, "
                     f"{'cutting' if b.failure_cost.change <= 0 else 'raising'} their cost "
                     f"from {money(b.failure_cost.before)} to {money(b.failure_cost.after)}")
    if b.success_value.before or b.success_value.after:
        verb = "raises" if b.success_value.change >= 0 else "lowers"
        parts.append(f"{verb} the value of successful steps from "
                     f"{money(b.success_value.before)} to {money(b.success_value.after)}")
    opening = f"In a {period} ({format_number(b.customers)} customers), this "
    if not parts:
        return opening + f"gains {money(gain)} of expected experience value"
    return opening + ", and ".join(parts) + f": a gain of {money(gain)} a {period}"


def roadmap_summary(
    plan: Plan, candidates: int, rows: Sequence[PlanRow], totals: Totals
) -> tuple[str, str, str]:
    """The three summary sentences of a roadmap: what to start when, the money and staff
    over the horizon, and the discounted gain."""
    def money(value: float) -> str:
        return format_money(value, plan.currency)

    horizon = plan.horizon or {}
    names = period_names(plan)
    count = len(names)
    label = str(horizon.get("label") or "period")
    over = f"{count} {plural(label) if count != 1 else label}"
    span = names[0] if count == 1 else f"{names[0]} to {names[-1]}"
    rate = float(horizon.get("discount_rate") or 0.0)
    if not rows:
        what = (f"Fund none of the {candidates} candidate improvements on the roadmap over "
                f"{over} ({span}): none of them raises the expected experience value within "
                "the limits.")
        return (what, "Nothing is spent and no staff is needed.",
                f"The expected experience value over the {over} stays at "
                f"{money(plan.baseline_value)}.")
    what = (f"A roadmap over {over} ({span}): fund {len(rows)} of the {candidates} candidate "
            "improvements")
    first = min(r.start or 1 for r in rows)
    opening = [r.name for r in rows if (r.start or 1) == first]
    what += f", starting in {names[first - 1]} with "
    if len(opening) > QUICK_WINS_NAMED:
        what += (f"{', '.join(opening[:QUICK_WINS_NAMED])} and "
                 f"{len(opening) - QUICK_WINS_NAMED} more")
    else:
        what += join_words(opening)
    last = max(r.start or 1 for r in rows)
    if last != first:
        what += f"; the last starts in {names[last - 1]}"
    what += "."

    if totals.budget is not None:
        cost = (f"They cost {money(totals.cost)}, {format_percent(totals.budget_share)} of "
                f"the {money(totals.budget)} budget over the {over}")
    else:
        cost = f"They cost {money(totals.cost)} (no budget limit)"
    if any(s.used for s in totals.staff):
        parts = [f"{s.name} {format_amount(s.used)} of {format_amount(s.capacity or 0.0)}"
                 for s in totals.staff]
        cost += f", and at the busiest need {join_words(parts)} staff in one {label}."
    elif totals.staff:
        cost += ", and need no staff from the teams."
    else:
        cost += "."

    how = f"discounted at {format_percent(rate, 1).replace('.0 %', ' %')} a {label}" if rate \
        else "not discounted"
    gain = f"Over the {over} ({how}), the roadmap gains {money(plan.expected_gain)}"
    if totals.breakdown is not None:
        once = what_changes(totals.breakdown, plan.currency, totals.breakdown.gain, label)
        gain += f". Once all its work pays off, {once[0].lower()}{once[1:]}"
    before, after = totals.baseline_abandonment, totals.planned_abandonment
    if totals.customers > 0 and abs(after - before) > ABANDONMENT_SHOWN:
        verb = "lowers" if after < before else "raises"
        gain += (f", and {verb} the share of customers who abandon after a failure, on "
                 f"average over the {over}, from {format_percent(before)} to "
                 f"{format_percent(after)}")
    return what, cost, gain + "."
