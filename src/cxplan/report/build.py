"""Compute a report's view model (`ReportView`) from a plan and its scenario.

    >>> from cxplan import load_scenario, optimize
    >>> from cxplan.report import build_view
    >>> scenario = load_scenario("scenarios/restaurant.yaml")
    >>> view = build_view(optimize(scenario), scenario)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cxplan.core.calendar import calendar
from cxplan.core.journey import Evaluation, Journey, build_journey
from cxplan.core.results import Plan
from cxplan.core.schedule import Room
from cxplan.core.selection import displaced_by, exceeds, requirement_closure
from cxplan.core.status import Status
from cxplan.report.analysis import assumptions, persona_routes
from cxplan.report.fair import economics_text, fair_method, fair_share
from cxplan.report.journeymap import (
    NO_STAGE,
    build_map,
    stage_order,
)
from cxplan.report.roadmap import build_roadmap, plural, when
from cxplan.report.summary import summary
from cxplan.report.view import (
    Bar,
    CriterionRow,
    LeftOutRow,
    PersonaRow,
    PlanRow,
    ReportView,
    ResourceUse,
    StageRow,
    Totals,
    TouchpointRow,
    UncertainInput,
    staff_text,
)
from cxplan.scenario.models import Scenario
from cxplan.text import (
    format_amount,
    format_gap,
    format_money,
    format_percent,
    join_words,
)
from cxplan.version import __version__

EFFECTS_NAMED = 2  # effects spelled out in a plan row's reason


def build_view(plan: Plan, scenario: Scenario) -> ReportView:
    """Compute the report's view model from a plan and the scenario it was solved for.

    Limits (budget, team capacities) are taken from the plan, so a what-if budget given to
    `optimize` is the one reported. Per-stage and per-touchpoint numbers come from the
    plan's exact evaluations (re-evaluated from the scenario if the plan carries none).
    Raises `ValueError` if the plan does not belong to the scenario.
    """
    ids = set(scenario.improvement_ids)
    unknown = [i for i in plan.selected if i not in ids]
    if unknown:
        raise ValueError(f"the plan selects {', '.join(unknown)}, which the scenario "
                         f"'{scenario.title}' does not have; pass the scenario the plan "
                         "was solved for")
    journey = build_journey(scenario)
    baseline, evaluation = _evaluations(plan, journey)

    totals = _totals(plan)
    rows, ranking_axis = _plan_rows(plan, scenario, journey)
    stages, axis = _stages(scenario, baseline, evaluation)
    personas, persona_axis = _personas(plan)
    ranked = [(r.rank, r.id, r.name) for r in rows]
    return ReportView(
        title=plan.scenario or scenario.title,
        source=_source_name(scenario),
        currency=plan.currency,
        generated_by=f"cxplan {__version__}",
        status=plan.status,
        gap=plan.gap,
        status_line=status_line(plan.status, plan.gap),
        summary=summary(plan, scenario, rows, totals),
        totals=totals,
        candidates=len(scenario.improvements),
        plan=rows,
        ranking_axis=ranking_axis,
        left_out=_left_out(plan, scenario, journey, evaluation),
        personas=personas,
        persona_axis=persona_axis,
        stages=stages,
        stage_axis=axis,
        touchpoints=_touchpoints(plan, scenario, baseline, evaluation),
        journey_map=build_map(scenario, journey, baseline, evaluation, ranked),
        routes=persona_routes(journey, baseline, evaluation),
        assumptions=assumptions(journey, evaluation,
                                lambda v: format_money(v, plan.currency)),
        criteria=tuple(CriterionRow(c.name, c.weight, c.value, c.unit, c.description)
                       for c in plan.criteria.values()),
        warnings=tuple(plan.warnings),
        build_seconds=plan.build_seconds,
        solve_seconds=plan.solve_seconds,
        nodes=plan.nodes,
        roadmap=build_roadmap(plan, rows) if plan.horizon is not None else None,
        fair_method=fair_method(plan),
        economics=economics_text(plan),
        uncertain=tuple(UncertainInput(place, text, mean)
                        for place, text, mean in scenario.uncertainty.described()),
    )


def _source_name(scenario: Scenario) -> str:
    # the file name only: a shared report should not reveal the author's folders
    return Path(scenario.source).name if scenario.read_from_file else scenario.source


def status_line(status: Status, gap: float | None) -> str:
    """A one-line, plain-words account of how good the plan is proven to be."""
    if status == Status.OPTIMAL:
        if not gap:
            return "Proven optimal"
        # the solver stops at its requested gap (1e-6 by default): say so rather than round
        return f"Proven optimal (within {format_gap(gap)} of the best possible)"
    if status == Status.GAP_LIMIT and gap is not None:
        return f"Within {format_gap(gap)} of optimal (stopped at the requested gap)"
    if status == Status.TIME_LIMIT:
        if gap is None or not math.isfinite(gap):
            return "Best plan found before the time limit (no bound on how far from optimal)"
        return f"Within {format_gap(gap)} of optimal (time limit)"
    return status.replace("_", " ").capitalize()


def _evaluations(plan: Plan, journey: Journey) -> tuple[Evaluation, Evaluation]:
    if plan.baseline is not None and plan.evaluation is not None:
        return plan.baseline, plan.evaluation
    return journey.evaluate(()), journey.evaluate(plan.selected)


def _totals(plan: Plan) -> Totals:
    customers = sum(p.customers for p in plan.personas)

    def abandonment(which: str) -> float:
        if customers <= 0:
            return 0.0
        return float(sum(p.customers * getattr(p, which) for p in plan.personas)) / customers

    budget = plan.budget
    return Totals(
        baseline_value=plan.baseline_value,
        planned_value=plan.planned_value,
        expected_gain=plan.expected_gain,
        cost=plan.cost,
        budget=budget,
        budget_share=plan.cost / budget if budget else None,
        remaining_budget=budget - plan.cost if budget is not None else None,
        customers=customers,
        baseline_abandonment=abandonment("baseline_abandonment"),
        planned_abandonment=abandonment("planned_abandonment"),
        budget_use=ResourceUse.of("Budget", "budget", plan.cost, budget) if budget is not None
        else None,
        staff=tuple(ResourceUse.of(team, "team", plan.staff_used.get(team, 0.0), capacity)
                    for team, capacity in plan.teams.items()),
        breakdown=plan.breakdown,
    )


def _effect_text(scenario: Scenario, imp_id: str) -> str:
    """"failures −50 % at Booking (moment of truth)" for the improvement's first effects."""
    names = {tp.id: tp for tp in scenario.touchpoints}
    parts = []
    effects = scenario.improvement(imp_id).effects
    for effect in effects[:EFFECTS_NAMED]:
        changes = [f"{what} −{format_percent(r, 0)}" for what, r in (
            ("failures", effect.failure_reduction),
            ("loss per failure", effect.impact_reduction),
            ("abandonment after a failure", effect.dropout_reduction)) if r > 0]
        tp = names[effect.touchpoint]
        where = tp.label + (" (moment of truth)" if tp.moment_of_truth else "")
        parts.append(f"{', '.join(changes) or 'no change'} at {where}")
    text = "; ".join(parts)
    if len(effects) > EFFECTS_NAMED:
        text += f"; and {len(effects) - EFFECTS_NAMED} more"
    return text


def _reason(
    plan: Plan, scenario: Scenario, imp_id: str, gain: float, cost: float,
    needed_by: Sequence[str],
) -> str:
    imp = scenario.improvement(imp_id)
    first = []
    if imp.mandatory:
        first.append("Mandatory")
    if needed_by:
        first.append("needed by " + join_words(needed_by))
    text = ("; ".join(first) + ". " if first else "")
    effect = _effect_text(scenario, imp_id)
    text += effect[:1].upper() + effect[1:]
    if cost > 0 and gain > 0:
        text += f"; gains {gain / cost:,.1f}× its cost"
    elif cost <= 0 and gain > 0:
        text += "; costs nothing"
    elif gain <= 0 and not first:
        text += "; adds nothing on its own here"
    return text + "."


def _plan_rows(
    plan: Plan, scenario: Scenario, journey: Journey
) -> tuple[tuple[PlanRow, ...], float]:
    ordered = sorted(plan.improvements, key=lambda i: i.rank)
    funded = {imp.id for imp in ordered}
    names = {imp.id: imp.name for imp in ordered}
    needed_by: dict[str, list[str]] = {}
    for imp in ordered:
        for req in scenario.improvement(imp.id).requires:
            if req in funded:
                needed_by.setdefault(req, []).append(names[imp.id])
    shares = [imp.share for imp in ordered]
    cost_shares = [imp.cost / plan.cost if plan.cost > 0 else 0.0 for imp in ordered]
    bars, axis = _bars([*shares, *cost_shares])
    rows = []
    cost = gain = 0.0
    for k, imp in enumerate(ordered):
        cost += imp.cost
        gain += imp.gain
        staff = tuple((team, n) for team, n in imp.staff.items() if n)
        rows.append(PlanRow(
            rank=imp.rank, id=imp.id, name=imp.name, owner=imp.owner, cost=imp.cost,
            staff=staff, staff_text=staff_text(staff),
            mandatory=scenario.improvement(imp.id).mandatory,
            requires=tuple(scenario.improvement(imp.id).requires),
            gain=imp.gain, share=imp.share, cumulative_cost=cost, cumulative_gain=gain,
            cumulative_share=gain / plan.expected_gain if plan.expected_gain else 0.0,
            cost_share=cost_shares[k],
            reason=_reason(plan, scenario, imp.id, imp.gain, imp.cost,
                           needed_by.get(imp.id, [])),
            share_bar=bars[k], cost_bar=bars[len(ordered) + k],
            start=imp.start, finish=imp.finish, when=when(plan, imp.start, imp.finish),
            fair=fair_share(plan, imp)))
    return tuple(rows), axis


def _left_out(plan: Plan, scenario: Scenario, journey: Journey,
              evaluation: Evaluation) -> tuple[LeftOutRow, ...]:
    selected = set(plan.selected)
    excluded_by: dict[str, set[str]] = {}
    for imp in scenario.improvements:
        for other in imp.excludes:
            excluded_by.setdefault(imp.id, set()).add(other)
            excluded_by.setdefault(other, set()).add(imp.id)
    rows = []
    for imp in scenario.improvements:
        if imp.id in selected:
            continue
        reasons = []
        conflicts = sorted(excluded_by.get(imp.id, set()) & selected)
        if conflicts:
            reasons.append("excludes funded " + ", ".join(conflicts))
        missing = [r for r in imp.requires if r not in selected]
        if missing:
            reasons.append("requires unfunded " + ", ".join(missing))
        if plan.horizon is not None:
            reasons.extend(_roadmap_misfit(plan, scenario, imp.id))
        else:
            if exceeds(plan.cost + imp.cost, plan.budget):
                assert plan.budget is not None
                reasons.append(f"costs {format_money(imp.cost, plan.currency)}, "
                               f"{format_money(plan.budget - plan.cost, plan.currency)} left")
            for team, need in imp.staff.items():
                capacity = plan.teams.get(team)
                used = plan.staff_used.get(team, 0.0)
                if need and capacity is not None and exceeds(used + need, capacity):
                    reasons.append(f"needs {format_amount(need)} {team} staff, "
                                   f"{format_amount(max(capacity - used, 0.0))} left")
        if not reasons:
            # It fits next to the plan, so at a proven optimum adding it cannot help (or a
            # plugin constraint forbids it); before the time limit we cannot say which.
            what = "the roadmap" if plan.horizon is not None else "the plan"
            reasons.append(f"fits, but would not improve {what}" if plan.status == Status.OPTIMAL
                           else "fits; not chosen within the requested gap"
                           if plan.status == Status.GAP_LIMIT
                           else "fits; not chosen before the time limit")
        given_up: float | None = None
        if plan.horizon is None:
            entering = requirement_closure(scenario, [imp.id]) - selected
            leaving = displaced_by(scenario, selected, entering)
            given_up = journey.evaluate(
                (*(selected - leaving), *entering)).value - evaluation.value
            outlay = sum(scenario.improvement(i).cost for i in entering)
            reasons.insert(0, _given_up_text(given_up, outlay, entering - {imp.id}, leaving,
                                             plan.currency))
        staff = tuple((team, n) for team, n in imp.staff.items() if n)
        rows.append(LeftOutRow(imp.id, imp.label, imp.owner, imp.cost, staff,
                               staff_text(staff), "; ".join(reasons), given_up))
    return tuple(rows)


def _given_up_text(value: float, cost: float, with_ids: set[str], instead: set[str],
                   currency: str | None) -> str:
    """What funding a left-out improvement would add to the plan (with what it requires,
    in place of what it excludes): the value given up by leaving it out."""
    how = []
    if with_ids:
        how.append(f"with {', '.join(sorted(with_ids))}, which it requires")
    if instead:
        how.append(f"in place of {', '.join(sorted(instead))}")
    told = f" ({'; '.join(how)})" if how else ""
    if value < 0:
        return f"would lower the plan's value by {format_money(-value, currency)}{told}"
    if value == 0:
        return f"would add no value to the plan{told}"
    ratio = f", {value / cost:,.1f}× the cost" if cost > 0 else ""
    return f"would add {format_money(value, currency)} to the plan's value{told}{ratio}"


def _roadmap_misfit(plan: Plan, scenario: Scenario, imp_id: str) -> list[str]:
    """Why an improvement left off a roadmap fits in no start period next to it: no period
    (or run of periods) with its money or its staff free, or no room in its window. Empty
    when some start fits; requirements and exclusions are reported by the caller. The
    rules are the roadmap's own (`cxplan.core.schedule.Room`)."""
    cal = calendar(scenario)
    schedule = {i: start for i, (start, _) in plan.schedule.items()}
    room = Room(cal)
    for i, start in schedule.items():
        room.take(i, start)
    imp = scenario.improvement(imp_id)
    label = cal.horizon.label
    duration = imp.duration
    # a funded requirement must be finished first
    starts = [s for s in cal.starts[imp_id]
              if all(cal.finish(r, schedule[r]) < s for r in imp.requires if r in schedule)]
    if not starts:
        return [f"its {duration} {plural(label) if duration != 1 else label} of work do not "
                "fit in the horizon" + (" after what it requires" if imp.requires else "")
                + (" within its start window" if imp.earliest or imp.latest else "")]
    shortfalls = [room.shortfall(imp_id, s) for s in starts]
    if not all(shortfalls):
        return []
    per = imp.cost / duration
    where = (f"in any {label}" if duration == 1 else
             f"over any {duration} {plural(label)} in a row")
    reasons = []
    if all(lack.money for lack in shortfalls):
        reasons.append(f"costs {format_money(per, plan.currency)} a {label}; not left {where}")
    for team in imp.staff:
        if all(team in lack.teams for lack in shortfalls):
            reasons.append(f"needs {format_amount(imp.staff[team])} {team} staff, not free "
                           f"{where}")
    if not reasons:
        reasons.append(f"no {label} has both its money and its staff free")
    return reasons


def _personas(plan: Plan) -> tuple[tuple[PersonaRow, ...], float]:
    totals = [(p.customers * p.baseline_value, p.customers * p.planned_value)
              for p in plan.personas]
    bars, axis = _bars([v for pair in totals for v in pair])
    rows = tuple(
        PersonaRow(
            id=p.id, name=p.name, customers=p.customers,
            baseline_value=p.baseline_value, planned_value=p.planned_value,
            baseline_abandonment=p.baseline_abandonment,
            planned_abandonment=p.planned_abandonment,
            baseline_failures=p.baseline_failures, planned_failures=p.planned_failures,
            gain=p.gain, share=p.gain / plan.expected_gain if plan.expected_gain else 0.0,
            baseline_total=totals[k][0], planned_total=totals[k][1],
            baseline_bar=bars[2 * k], planned_bar=bars[2 * k + 1])
        for k, p in enumerate(plan.personas))
    return rows, axis


def _bars(values: Sequence[float]) -> tuple[list[Bar], float]:
    """Bars on one shared scale that includes zero, and where zero lies on it."""
    low = min(0.0, *values) if values else 0.0
    high = max(0.0, *values) if values else 0.0
    span = (high - low) or 1.0
    bars = [Bar(round((min(v, 0.0) - low) / span * 100.0, 3), round(abs(v) / span * 100.0, 3))
            for v in values]
    return bars, round(-low / span * 100.0, 3)


def _stages(
    scenario: Scenario, baseline: Evaluation, evaluation: Evaluation
) -> tuple[tuple[StageRow, ...], float]:
    names = [tp.stage or NO_STAGE for tp in scenario.touchpoints]
    before = {q: baseline.weighted(q) for q in ("failures", "dropouts", "values")}
    after = {q: evaluation.weighted(q) for q in ("failures", "dropouts", "values")}
    grouped = []
    for stage in stage_order(scenario):
        mask = np.array([n == stage for n in names])
        if not mask.any():  # a declared stage with no touchpoint has nothing to report
            continue
        grouped.append((stage, int(mask.sum()),
                        {q: float(a[mask].sum()) for q, a in before.items()},
                        {q: float(a[mask].sum()) for q, a in after.items()}))
    bars, axis = _bars([v for _, _, b, a in grouped for v in (b["values"], a["values"])])
    rows = tuple(
        StageRow(
            name=stage, touchpoints=count,
            baseline_failures=b["failures"], planned_failures=a["failures"],
            baseline_dropouts=b["dropouts"], planned_dropouts=a["dropouts"],
            baseline_value=b["values"], planned_value=a["values"],
            gain=a["values"] - b["values"],
            baseline_bar=bars[2 * k], planned_bar=bars[2 * k + 1])
        for k, (stage, count, b, a) in enumerate(grouped))
    return rows, axis


def _touchpoints(
    plan: Plan, scenario: Scenario, baseline: Evaluation, evaluation: Evaluation
) -> tuple[TouchpointRow, ...]:
    ordered = sorted(plan.improvements, key=lambda i: i.rank)
    rank = {i.id: i.rank for i in ordered}
    ranked = [i.id for i in ordered] + [i for i in plan.selected if i not in rank]
    acting: dict[str, list[str]] = {}
    for imp_id in ranked:
        for effect in scenario.improvement(imp_id).effects:
            users = acting.setdefault(effect.touchpoint, [])
            if imp_id not in users:
                users.append(imp_id)
    v0, v1 = baseline.weighted("visits"), evaluation.weighted("visits")
    f0, f1 = baseline.weighted("failures"), evaluation.weighted("failures")
    l0, l1 = baseline.weighted("losses"), evaluation.weighted("losses")
    return tuple(
        TouchpointRow(
            id=tp.id, name=tp.label, stage=tp.stage or NO_STAGE, channel=tp.channel,
            moment_of_truth=tp.moment_of_truth, visible=tp.visible,
            baseline_visits=float(v0[i]), planned_visits=float(v1[i]),
            baseline_failures=float(f0[i]), planned_failures=float(f1[i]),
            baseline_loss=float(l0[i]), planned_loss=float(l1[i]),
            improved_by=tuple(acting.get(tp.id, ())),
            improved_by_ranks=tuple(rank.get(i, 0) for i in acting.get(tp.id, ())))
        for i, tp in enumerate(scenario.touchpoints))
