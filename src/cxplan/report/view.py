"""Reports: a view model computed from a Plan, rendered to HTML and Markdown with Jinja2.

Every number a report shows is computed here, in Python, into `ReportView` (documented
field by field in docs/report-view-model.md); the templates in `cxplan/templates/` only lay
it out (and format numbers through the helpers below, registered as Jinja filters). That
keeps the numbers testable and lets a user restyle a report with their own templates
without touching the maths.

Templates are looked up in the user's folder (`templates_dir`, `--templates DIR`), then in
plugin template folders (`plugin_templates`), then among the built-ins; every built-in is
also reachable as `builtin/<name>`, so an override can `{% extends "builtin/report.html.j2"
%}` and replace single blocks. Templates run in Jinja's sandbox (they cannot reach Python
internals) with HTML autoescaping; a broken or forbidden template raises `TemplateError`.

    >>> from cxplan import load_scenario, optimize
    >>> from cxplan.report.view import build_view, render_html, write_reports
    >>> scenario = load_scenario("scenarios/restaurant.yaml")
    >>> plan = optimize(scenario)
    >>> write_reports(plan, scenario, "reports/")   # reports/restaurant.html, .md
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import jinja2
import jinja2.sandbox
import numpy as np

from cxplan.core.journey import Evaluation, Journey, build_journey
from cxplan.core.results import Plan
from cxplan.core.status import Status
from cxplan.errors import TemplateError
from cxplan.files import write_atomic
from cxplan.plugins.manager import CxplanPlugins, get_plugin_manager
from cxplan.report.analysis import Assumption, PersonaRoutes, assumptions, persona_routes
from cxplan.report.journeymap import (
    NO_STAGE,
    JourneyMap,
    build_map,
    compact_number,
    stage_order,
    wrap_label,
)
from cxplan.scenario.models import Scenario
from cxplan.version import __version__

if TYPE_CHECKING:
    from cxplan.plugins.hookspecs import ReportSection

__all__ = [
    "HTML_TEMPLATE",
    "MARKDOWN_TEMPLATE",
    "NO_STAGE",
    "Bar",
    "CriterionRow",
    "CurvePoint",
    "CurveTick",
    "GanttChart",
    "GanttColumn",
    "GanttRow",
    "LeftOutRow",
    "PersonaRow",
    "PlanRow",
    "ReportView",
    "ResourceUse",
    "Roadmap",
    "RoadmapItem",
    "RoadmapPeriod",
    "StageRow",
    "Totals",
    "TouchpointRow",
    "ValueCurve",
    "build_roadmap",
    "build_view",
    "format_amount",
    "format_gap",
    "format_money",
    "format_number",
    "format_percent",
    "markdown_escape",
    "render_html",
    "render_markdown",
    "report_slug",
    "status_line",
    "write_reports",
]

HTML_TEMPLATE = "report.html.j2"
MARKDOWN_TEMPLATE = "report.md.j2"
BUILTIN_PREFIX = "builtin"  # built-in templates stay reachable as "builtin/<name>"
QUICK_WINS_NAMED = 3  # how many of the first-ranked improvements the summary names
EFFECTS_NAMED = 2  # effects spelled out in a plan row's reason

_TOLERANCE = 1e-9


# -- number formatting --------------------------------------------------------------------


def format_number(value: float, decimals: int = 0, *, sign: bool = False) -> str:
    """`1234567.8` -> `"1,234,568"`: thousands separators, fixed decimals, ASCII minus.

    With `sign`, positive numbers get a leading `+` (for gains and changes). Values that
    round to zero print without a sign, so a report never shows `-0`.
    """
    if not math.isfinite(value):
        return "∞" if value > 0 else ("-∞" if value < 0 else "n/a")
    text = f"{abs(value):,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return text
    if value < 0:
        return "-" + text
    return "+" + text if sign else text


def format_money(
    value: float, currency: str | None = None, decimals: int = 0, *, sign: bool = False
) -> str:
    """`format_number` with the scenario's currency code in front: `"USD 22,000"`."""
    number = format_number(value, decimals, sign=sign)
    return f"{currency} {number}" if currency else number


def format_amount(value: float) -> str:
    """Staff and other counts: whole numbers without decimals, fractions with up to two."""
    if float(value).is_integer():
        return format_number(value)
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def format_percent(fraction: float | None, decimals: int = 1, *, sign: bool = False) -> str:
    """`0.2486` -> `"24.9 %"`; `None` (not applicable) -> `"n/a"`."""
    if fraction is None:
        return "n/a"
    return f"{format_number(fraction * 100.0, decimals, sign=sign)} %"


def format_gap(gap: float) -> str:
    """A relative gap as a percentage with two significant digits (`0.000213` -> `"0.021 %"`).

    Fixed decimals would print small but real gaps as `0.0 %`, which reads as optimal.
    """
    if not math.isfinite(gap):
        return "∞ %"
    percent = gap * 100.0
    if percent == 0:
        return "0 %"
    decimals = max(0, 1 - math.floor(math.log10(abs(percent))))
    text = f"{percent:,.{decimals}f}"
    if "." in text:  # "0.020" has a spurious third digit of precision
        text = text.rstrip("0").rstrip(".")
    return f"{text} %"


# -- the view model -----------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One horizontal bar of an inline SVG chart, in percent (0..100) of the plot width.

    `start` is the bar's left edge and `width` its length; a negative value is drawn to
    the left of the chart's zero line, a positive one to its right.
    """

    start: float
    width: float


@dataclass(frozen=True)
class ResourceUse:
    """How much of one limited resource (the budget, or a team's staff) the plan uses."""

    name: str  # "Budget" or the team's name
    kind: str  # "budget" or "team"
    used: float
    capacity: float | None  # None: no limit (a scenario without a budget)
    share: float | None  # used / capacity; None without a limit or with zero capacity
    bar: Bar | None  # used as a bar over the capacity; None without a limit


@dataclass(frozen=True)
class Totals:
    """The plan's headline numbers, all in currency or counts over all customers."""

    baseline_value: float  # expected experience value with nothing funded
    planned_value: float  # ... with the plan funded
    expected_gain: float  # planned − baseline
    cost: float
    budget: float | None  # None: no budget constraint
    budget_share: float | None  # cost / budget
    remaining_budget: float | None
    customers: float  # all personas' customers
    baseline_abandonment: float  # share of customers who abandon after a failure, before
    planned_abandonment: float  # ... and with the plan
    budget_use: ResourceUse | None  # None without a budget
    staff: tuple[ResourceUse, ...]  # one per team, in scenario order

    @property
    def resources(self) -> tuple[ResourceUse, ...]:
        """The budget (when there is one) followed by every team."""
        return ((self.budget_use,) if self.budget_use else ()) + self.staff


@dataclass(frozen=True)
class PlanRow:
    """One funded improvement, in rank order (quick wins first)."""

    rank: int
    id: str
    name: str
    owner: str | None
    cost: float
    staff: tuple[tuple[str, float], ...]  # (team, people) with people > 0
    staff_text: str  # "front-of-house 1, kitchen 1"; "" when it needs no staff
    mandatory: bool
    requires: tuple[str, ...]  # ids of the improvements it needs (all funded, ranked above)
    gain: float  # incremental gain when added in rank order (the rows sum to the total)
    share: float  # gain / expected gain
    cumulative_cost: float  # cost of this and every higher-ranked improvement
    cumulative_gain: float
    cumulative_share: float
    cost_share: float  # cost / the plan's cost (0 when the plan costs nothing)
    reason: str  # why it is in: mandatory / needed by / what it fixes / return on cost
    share_bar: Bar  # share of the gain on the ranking chart (see ReportView.ranking_axis)
    cost_bar: Bar  # share of the plan's cost on the same scale
    start: int | None = None  # with a horizon: first period of work
    finish: int | None = None  # with a horizon: last period of work
    when: str = ""  # with a horizon: "2027 Q2" or "2027 Q2 – 2027 Q3"; "" without


@dataclass(frozen=True)
class LeftOutRow:
    """A candidate improvement the plan does not fund, and the visible reason why."""

    id: str
    name: str
    owner: str | None
    cost: float
    staff: tuple[tuple[str, float], ...]  # (team, people) with people > 0
    staff_text: str
    reason: str  # conflicts, missing requirements, resources short, or "not worth it"


@dataclass(frozen=True)
class PersonaRow:
    """One persona before and after the plan (values and failures per customer)."""

    id: str
    name: str
    customers: float
    baseline_value: float  # expected value per customer
    planned_value: float
    baseline_abandonment: float  # probability of abandoning the journey after a failure
    planned_abandonment: float
    baseline_failures: float  # expected failures per customer
    planned_failures: float
    gain: float  # customers × (planned − baseline value), in currency
    share: float  # gain / the plan's expected gain
    baseline_total: float  # customers × baseline value, in currency
    planned_total: float
    baseline_bar: Bar  # baseline_total on the persona chart (see ReportView.persona_axis)
    planned_bar: Bar


@dataclass(frozen=True)
class StageRow:
    """One journey stage before and after the plan, summed over its touchpoints and over
    all personas weighted by customers (so failures and dropouts are customer counts)."""

    name: str  # the stage, or NO_STAGE for touchpoints without one
    touchpoints: int
    baseline_failures: float
    planned_failures: float
    baseline_dropouts: float  # customers who abandon the journey at this stage
    planned_dropouts: float
    baseline_value: float  # value of successful passes minus losses, in currency
    planned_value: float
    gain: float  # planned − baseline value
    baseline_bar: Bar  # baseline value on the stage chart (see ReportView.stage_axis)
    planned_bar: Bar


@dataclass(frozen=True)
class TouchpointRow:
    """One touchpoint before and after the plan (over all personas, weighted)."""

    id: str
    name: str
    stage: str  # the stage, or NO_STAGE
    channel: str | None
    moment_of_truth: bool
    visible: bool  # front stage (seen by the customer) or back stage
    baseline_visits: float  # expected visits, customer-weighted
    planned_visits: float
    baseline_failures: float  # expected failures, customer-weighted
    planned_failures: float
    baseline_loss: float  # expected loss from failures, in currency
    planned_loss: float
    improved_by: tuple[str, ...]  # ids of funded improvements acting on it, in rank order
    improved_by_ranks: tuple[int, ...]  # their ranks in the plan, same order

    @property
    def front_stage(self) -> str:
        """`"front"` or `"back"`: whether the customer sees this process."""
        return "front" if self.visible else "back"


@dataclass(frozen=True)
class CriterionRow:
    """One weighted prioritization criterion and its exact value for the plan."""

    name: str
    weight: float
    value: float
    unit: str  # "currency" for money-valued criteria
    description: str


@dataclass(frozen=True)
class RoadmapItem:
    """One scheduled improvement of a roadmap, in roadmap order (by start period)."""

    rank: int  # its place in the roadmap (the same as its PlanRow's rank)
    id: str
    name: str
    owner: str | None
    cost: float
    staff_text: str  # "it 1, risk 2"; "" when it needs no staff
    start: int  # first period of work (1-based)
    finish: int  # last period of work; it pays off from finish + 1
    start_name: str
    finish_name: str
    duration: int  # periods of work: finish − start + 1
    pays_off_from: str | None  # name of the first period it pays off in; None: after the horizon
    when: str  # "2027 Q2" or "2027 Q2 – 2027 Q3"
    gain: float  # its part of the horizon's discounted gain (the items sum to the total)
    share: float  # gain / expected gain


@dataclass(frozen=True)
class RoadmapPeriod:
    """One period of a roadmap: what starts, what it spends and uses, what it gains."""

    period: int  # 1..N
    name: str
    discount: float  # weight of this period's value (1 for the first period)
    spend: float
    budget: float | None  # money available in the period (with carry-over: incl. unspent)
    budget_share: float | None  # spend / budget; None without a budget or with budget 0
    budget_use: ResourceUse | None  # spend over budget as a meter; None without a budget
    staff: tuple[ResourceUse, ...]  # per team: people at work over the period's capacity
    starting: tuple[str, ...]  # ids of the improvements starting in this period
    starting_names: tuple[str, ...]
    starting_ranks: tuple[int, ...]
    working: tuple[str, ...]  # ids worked on in this period
    finishing: tuple[str, ...]  # ids whose work ends in this period (they pay off next)
    paying_off: tuple[str, ...]  # ids finished before this period
    baseline_value: float  # this period's expected value with nothing done
    value: float  # with the improvements finished before this period
    gain: float  # value − baseline value (not discounted)
    discounted_gain: float  # discount × gain
    cumulative_gain: float  # discounted gain of periods 1..this one
    cumulative_share: float  # cumulative gain / the plan's expected gain (0 when it is 0)


@dataclass(frozen=True)
class GanttColumn:
    """One period on the Gantt chart's time axis."""

    period: int
    name: str
    x: float  # left edge
    width: float
    label_lines: tuple[str, ...]  # the name wrapped to fit; () when too narrow to label
    label_x: float  # where the label is anchored
    label_y: float  # baseline of the label's first line
    label_anchor: str  # SVG text-anchor: "middle", or "start" when labels are thinned out

    @property
    def center(self) -> float:
        """Horizontal centre of the column."""
        return self.x + self.width / 2


@dataclass(frozen=True)
class GanttRow:
    """One improvement on the Gantt chart: a bar over its work, a band where it pays off."""

    rank: int
    id: str
    name: str
    owner: str | None
    start: int
    finish: int
    y: float  # top of the row
    height: float
    text_y: float  # baseline of the row's texts
    label: str  # the name, shortened with "…" to fit the label column
    owner_label: str  # the owner, shortened to fit ("" without one)
    bar_y: float  # top of the bar and of the band
    bar_height: float
    work_x: float  # the bar over periods start..finish
    work_width: float
    payoff_x: float  # the band over periods finish+1..N
    payoff_width: float  # 0 when it finishes in the last period
    description: str  # plain text: name, owner, periods, cost, gain (tooltip)


@dataclass(frozen=True)
class GanttChart:
    """Geometry of the roadmap's Gantt chart in SVG user units (viewBox 0 0 width height)."""

    width: float
    height: float
    rank_x: float  # where the rank numbers end (right-aligned)
    name_x: float  # left edge of the names
    owner_x: float  # left edge of the owners
    plot_x: float  # left edge of the first period
    plot_width: float
    header_y: float  # baseline of the column headings (names of the label columns)
    axis_y: float  # bottom of the header: the rows start here
    show_owners: bool  # whether any improvement has an owner (else no owner column)
    columns: tuple[GanttColumn, ...]
    rows: tuple[GanttRow, ...]
    summary: str  # a sentence describing the chart (the SVG's <desc>)


@dataclass(frozen=True)
class CurveTick:
    """One value on the curve's vertical axis."""

    value: float
    y: float
    label: str  # "200k"


@dataclass(frozen=True)
class CurvePoint:
    """One period on the value curve: its gain bar and the cumulative point at its end."""

    period: int
    name: str
    column_x: float  # the period's column on the plot
    column_width: float
    label_lines: tuple[str, ...]  # the period's name wrapped to fit under it; () if thinned
    label_x: float
    label_y: float  # baseline of the label's first line
    label_anchor: str
    x: float  # the cumulative point, above the middle of the period's column
    y: float
    cumulative_gain: float
    gain: float  # the period's discounted gain (the bar)
    bar_x: float
    bar_y: float
    bar_width: float
    bar_height: float
    description: str  # tooltip


@dataclass(frozen=True)
class ValueCurve:
    """Geometry of the cumulative value curve in SVG user units (viewBox 0 0 width height)."""

    width: float
    height: float
    plot_x: float  # the plot area: left edge, top, width, height
    plot_y: float
    plot_width: float
    plot_height: float
    zero_y: float  # the zero line
    path: str  # SVG path data of the cumulative curve
    ticks: tuple[CurveTick, ...]
    points: tuple[CurvePoint, ...]
    end_label: str  # the total at the curve's end ("+695.7k")
    end_x: float
    end_y: float
    summary: str  # a sentence describing the curve (the SVG's <desc>)


@dataclass(frozen=True)
class Roadmap:
    """A multi-period plan (a scenario with `horizon:`): schedule, periods and charts."""

    period_count: int
    label: str  # what a period is called: "quarter"
    label_plural: str  # "quarters"
    names: tuple[str, ...]  # every period's name, in order
    span: str  # "2027 Q1 – 2028 Q4" (one name for a single period)
    discount_rate: float  # per period; 0 when values are not discounted
    carry_over: bool  # unspent money moves to later periods
    items: tuple[RoadmapItem, ...]  # in roadmap order (rank)
    periods: tuple[RoadmapPeriod, ...]
    teams: tuple[str, ...]  # team names, in scenario order (the per-period staff columns)
    final_baseline_value: float  # one period's value with nothing done, at the horizon's end
    final_value: float  # ... once the whole roadmap is done (the journey map's state)
    gantt: GanttChart
    curve: ValueCurve


@dataclass(frozen=True)
class ReportView:
    """Everything a report shows, computed; templates only lay it out."""

    title: str
    source: str  # the scenario's file name (no folders), or "<dict>" when built in memory
    currency: str | None
    generated_by: str  # "cxplan <version>"; no timestamp, so reports diff cleanly
    status: Status  # the solver status: optimal or time_limit
    gap: float | None  # proven relative gap on the objective; 0 when optimal
    status_line: str  # "Proven optimal", "Within 0.02 % of optimal (time limit)", ...
    summary: tuple[str, str, str]  # what to do, what it costs, what it gains
    totals: Totals
    candidates: int  # number of candidate improvements in the scenario
    plan: tuple[PlanRow, ...]  # in rank order
    ranking_axis: float  # zero line of the ranking chart, percent of its width
    left_out: tuple[LeftOutRow, ...]  # in scenario order
    personas: tuple[PersonaRow, ...]
    persona_axis: float  # zero line of the persona chart, percent of its width
    stages: tuple[StageRow, ...]  # scenario stage order, NO_STAGE last
    stage_axis: float  # position of the zero line on the stage chart, percent of its width
    touchpoints: tuple[TouchpointRow, ...]  # scenario order
    journey_map: JourneyMap | None  # None for journeys too large to draw
    routes: tuple[PersonaRoutes, ...]  # per persona: success and abandonment routes
    assumptions: tuple[Assumption, ...]  # the numbers that move the gain most, largest first
    criteria: tuple[CriterionRow, ...]
    warnings: tuple[str, ...]
    build_seconds: float
    solve_seconds: float
    nodes: int
    roadmap: Roadmap | None = None  # with a horizon: the schedule, periods and charts


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
        summary=_summary(plan, scenario, rows, totals),
        totals=totals,
        candidates=len(scenario.improvements),
        plan=rows,
        ranking_axis=ranking_axis,
        left_out=_left_out(plan, scenario),
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
    )


def _from_file(scenario: Scenario) -> bool:
    # load_scenario names in-memory sources "<dict>" / "<string>"
    source = scenario.source
    return not (source.startswith("<") and source.endswith(">"))


def _source_name(scenario: Scenario) -> str:
    # the file name only: a shared report should not reveal the author's folders
    return Path(scenario.source).name if _from_file(scenario) else scenario.source


def status_line(status: Status, gap: float | None) -> str:
    """A one-line, plain-words account of how good the plan is proven to be."""
    if status == Status.OPTIMAL:
        if not gap:
            return "Proven optimal"
        # the solver stops at its requested gap (1e-6 by default): say so rather than round
        return f"Proven optimal (within {format_gap(gap)} of the best possible)"
    if status == Status.TIME_LIMIT:
        if gap is None or not math.isfinite(gap):
            return "Best plan found before the time limit (no bound on how far from optimal)"
        return f"Within {format_gap(gap)} of optimal (time limit)"
    return status.replace("_", " ").capitalize()


def _evaluations(plan: Plan, journey: Journey) -> tuple[Evaluation, Evaluation]:
    if plan.baseline is not None and plan.evaluation is not None:
        return plan.baseline, plan.evaluation
    return journey.evaluate(()), journey.evaluate(plan.selected)


def _resource(name: str, kind: str, used: float, capacity: float | None) -> ResourceUse:
    if capacity is None:
        return ResourceUse(name, kind, used, None, None, None)
    share = used / capacity if capacity > 0 else None
    # a full bar for zero capacity with nothing used would claim the team is exhausted
    width = 0.0 if share is None else min(max(share, 0.0), 1.0) * 100.0
    return ResourceUse(name, kind, used, capacity, share, Bar(0.0, round(width, 3)))


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
        budget_use=_resource("Budget", "budget", plan.cost, budget) if budget is not None
        else None,
        staff=tuple(_resource(team, "team", plan.staff_used.get(team, 0.0), capacity)
                    for team, capacity in plan.teams.items()),
    )


def _staff_text(staff: Iterable[tuple[str, float]]) -> str:
    return ", ".join(f"{team} {format_amount(n)}" for team, n in staff if n)


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
        first.append("needed by " + _join(needed_by))
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
            staff=staff, staff_text=_staff_text(staff),
            mandatory=scenario.improvement(imp.id).mandatory,
            requires=tuple(scenario.improvement(imp.id).requires),
            gain=imp.gain, share=imp.share, cumulative_cost=cost, cumulative_gain=gain,
            cumulative_share=gain / plan.expected_gain if plan.expected_gain else 0.0,
            cost_share=cost_shares[k],
            reason=_reason(plan, scenario, imp.id, imp.gain, imp.cost,
                           needed_by.get(imp.id, [])),
            share_bar=bars[k], cost_bar=bars[len(ordered) + k],
            start=imp.start, finish=imp.finish, when=_when(plan, imp.start, imp.finish)))
    return tuple(rows), axis


def _left_out(plan: Plan, scenario: Scenario) -> tuple[LeftOutRow, ...]:
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
            if plan.budget is not None and plan.cost + imp.cost > plan.budget + _TOLERANCE:
                reasons.append(f"costs {format_money(imp.cost, plan.currency)}, "
                               f"{format_money(plan.budget - plan.cost, plan.currency)} left")
            for team, need in imp.staff.items():
                capacity = plan.teams.get(team)
                used = plan.staff_used.get(team, 0.0)
                if need and capacity is not None and used + need > capacity + _TOLERANCE:
                    reasons.append(f"needs {format_amount(need)} {team} staff, "
                                   f"{format_amount(max(capacity - used, 0.0))} left")
        if not reasons:
            # It fits next to the plan, so at a proven optimum adding it cannot help (or a
            # plugin constraint forbids it); before the time limit we cannot say which.
            what = "the roadmap" if plan.horizon is not None else "the plan"
            reasons.append(f"fits, but would not improve {what}" if plan.status == Status.OPTIMAL
                           else "fits; not chosen before the time limit")
        staff = tuple((team, n) for team, n in imp.staff.items() if n)
        rows.append(LeftOutRow(imp.id, imp.label, imp.owner, imp.cost, staff,
                               _staff_text(staff), "; ".join(reasons)))
    return tuple(rows)


def _roadmap_misfit(plan: Plan, scenario: Scenario, imp_id: str) -> list[str]:
    """Why an improvement left off a roadmap fits in no start period next to it: no period
    (or run of periods) with its money or its staff free, or no room in its window. Empty
    when some start fits; requirements and exclusions are reported by the caller."""
    imp = scenario.improvement(imp_id)
    horizon = plan.horizon or {}
    count = len(plan.periods)
    label = str(horizon.get("label") or "period")
    duration = max(int(imp.duration), 1)
    first = imp.earliest or 1
    for req in imp.requires:  # a funded requirement must be finished first
        if req in plan.schedule:
            first = max(first, plan.schedule[req][1] + 1)
    last = min(imp.latest or count, count - duration + 1)
    if first > last:
        return [f"its {duration} {_plural(label) if duration != 1 else label} of work do not "
                "fit in the horizon" + (" after what it requires" if imp.requires else "")
                + (" within its start window" if imp.earliest or imp.latest else "")]
    per = imp.cost / duration
    carry = bool(horizon.get("carry_over"))
    per_period = any(p.budget is not None for p in plan.periods)
    money_fits, staff_fits = [], []
    short: dict[str, bool] = {team: True for team, need in imp.staff.items() if need}
    for start in range(first, last + 1):
        work = range(start, start + duration)
        if per_period and per > 0:
            if carry:  # what a period leaves unspent is all later periods can still use
                money = all(p.budget is None or p.budget - p.spend + _TOLERANCE
                            >= per * sum(1 for u in work if u <= p.period)
                            for p in plan.periods)
            else:
                money = all(p.budget is None or p.budget - p.spend + _TOLERANCE >= per
                            for p in plan.periods if p.period in work)
        elif plan.budget is not None:
            money = plan.cost + imp.cost <= plan.budget + _TOLERANCE
        else:
            money = True
        staff = True
        for team in short:
            capacity = [p.capacity.get(team, plan.teams.get(team)) for p in plan.periods]
            free = all(capacity[t - 1] is None or plan.periods[t - 1].staff.get(team, 0.0)
                       + imp.staff[team] <= (capacity[t - 1] or 0.0) + _TOLERANCE
                       for t in work)
            short[team] = short[team] and not free
            staff = staff and free
        if money and staff:
            return []
        money_fits.append(money)
        staff_fits.append(staff)
    where = (f"in any {label}" if duration == 1 else
             f"over any {duration} {_plural(label)} in a row")
    reasons = []
    if not any(money_fits):
        reasons.append(f"costs {format_money(per, plan.currency)} a {label}; not left {where}")
    for team, never in short.items():
        if never:
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


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _summary(
    plan: Plan, scenario: Scenario, rows: Sequence[PlanRow], totals: Totals
) -> tuple[str, str, str]:
    def money(value: float) -> str:
        return format_money(value, plan.currency)

    candidates = len(scenario.improvements)
    if plan.horizon is not None:
        return _roadmap_summary(plan, candidates, rows, totals)
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
                f"order: {_join(first)}.")
    else:
        required = [r.name for r in rows if r.mandatory]
        wins = [r.name for r in rows if not r.mandatory][:QUICK_WINS_NAMED]
        what = f"Fund {len(rows)} of the {candidates} candidate improvements, starting with "
        if required:
            what += f"the mandatory {_join(required)}, then "
        what += f"the quick wins {_join(wins)}."

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

    gain = (f"This raises the expected experience value from {money(plan.baseline_value)} to "
            f"{money(plan.planned_value)}, a gain of {money(plan.expected_gain)}")
    before, after = totals.baseline_abandonment, totals.planned_abandonment
    if totals.customers > 0 and abs(after - before) > _TOLERANCE:
        verb = "lowers" if after < before else "raises"
        gain += (f", and {verb} the share of customers who abandon after a failure from "
                 f"{format_percent(before)} to {format_percent(after)}")
    return what, cost, gain + "."


# -- the roadmap (plans with a horizon) ---------------------------------------------------


def _roadmap_summary(
    plan: Plan, candidates: int, rows: Sequence[PlanRow], totals: Totals
) -> tuple[str, str, str]:
    """The three summary sentences of a roadmap: what to start when, the money and staff
    over the horizon, and the discounted gain."""
    def money(value: float) -> str:
        return format_money(value, plan.currency)

    horizon = plan.horizon or {}
    names = _period_names(plan)
    count = len(names)
    label = str(horizon.get("label") or "period")
    over = f"{count} {_plural(label) if count != 1 else label}"
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
        what += _join(opening)
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
        cost += f", and at the busiest need {_join(parts)} staff in one {label}."
    elif totals.staff:
        cost += ", and need no staff from the teams."
    else:
        cost += "."

    how = f"discounted at {format_percent(rate, 1).replace('.0 %', ' %')} a {label}" if rate \
        else "not discounted"
    gain = (f"Over the {over} ({how}), this raises the expected experience value from "
            f"{money(plan.baseline_value)} to {money(plan.planned_value)}, a gain of "
            f"{money(plan.expected_gain)}")
    before, after = totals.baseline_abandonment, totals.planned_abandonment
    if totals.customers > 0 and abs(after - before) > _TOLERANCE:
        verb = "lowers" if after < before else "raises"
        gain += (f", and {verb} the share of customers who abandon after a failure, on "
                 f"average over the {over}, from {format_percent(before)} to "
                 f"{format_percent(after)}")
    return what, cost, gain + "."

# The Gantt chart and the value curve are drawn 760 units wide: at the report's full width
# that is about 1.2 × (names at about 13 px), on an A4/Letter page 0.92 × (about 7.5 pt).
CHART_WIDTH = 760.0
GANTT_ROW = 22.0
GANTT_BAR = 14.0
GANTT_HEADER = 44.0  # two lines of period names and the column headings
RANK_RIGHT = 26.0  # rank numbers end here (right-aligned)
NAME_LEFT = 32.0
NAME_WIDTH = 240.0
OWNER_WIDTH = 92.0
GAP = 8.0
NAME_CHAR = 6.2  # average width of a character of an 11 px name (DejaVu/Helvetica-like)
OWNER_CHAR = 5.7  # ... of a 10 px owner
AXIS_CHAR = 6.6  # ... of a 10.5 px period name (digits are wide)
AXIS_LINE = 12.0  # line height of period names
CURVE_HEIGHT = 236.0
CURVE_LEFT = 64.0  # room for the value ticks
CURVE_RIGHT = 40.0  # room for the total at the curve's end (it starts mid-column)
CURVE_TOP = 16.0
CURVE_AXIS = 42.0  # room for two lines of period names under the plot
CURVE_TICKS = 4  # about this many steps on the value axis


def _plural(label: str) -> str:
    return label if label.endswith("s") else label + "s"


def _when(plan: Plan, start: int | None, finish: int | None) -> str:
    """`"2027 Q2"` or `"2027 Q2 – 2027 Q3"`: an improvement's periods of work."""
    if plan.horizon is None or start is None or finish is None:
        return ""
    names = _period_names(plan)
    first, last = names[start - 1], names[finish - 1]
    return first if start == finish else f"{first} – {last}"


def _period_names(plan: Plan) -> list[str]:
    horizon = plan.horizon or {}
    names = [str(n) for n in horizon.get("names") or []]
    count = int(horizon.get("periods") or len(plan.periods))
    label = str(horizon.get("label") or "period")
    return names if len(names) == count else [f"{label} {t}" for t in range(1, count + 1)]


def _fits(text: str, width: float, char: float) -> str:
    """`text` shortened with "…" to about `width` units at `char` units per character."""
    chars = max(int(width // char), 1)
    if len(text) <= chars:
        return text
    return text[: max(chars - 1, 0)].rstrip() + "…"


def _axis_labels(
    names: Sequence[str], left: float, column: float
) -> list[tuple[tuple[str, ...], float, str]]:
    """Per period: (name lines, x, anchor). Names are wrapped into two lines under their
    column; when columns are too narrow for that, only every k-th period is named, its name
    starting at its column and running over the unnamed ones after it."""
    count = len(names)
    chars = int((column - 4.0) // AXIS_CHAR)
    wanted = min(max((len(n) for n in names), default=1), 8)
    if chars >= min(wanted, 5):
        return [(wrap_label(n, max(chars, 1), 2), left + (t + 0.5) * column, "middle")
                for t, n in enumerate(names)]
    step = 2
    while int((step * column - 4.0) // AXIS_CHAR) < min(wanted, 5) and step < count:
        step += 1
    out: list[tuple[tuple[str, ...], float, str]] = []
    end = left + count * column
    for t, n in enumerate(names):
        x = left + t * column
        if t % step:
            out.append(((), x, "start"))
            continue
        room = int((min(step * column, end - x) - 4.0) // AXIS_CHAR)
        out.append((wrap_label(n, room, 2) if room >= 1 else (), x + 2.0, "start"))
    return out


def _gantt(plan: Plan, items: Sequence[RoadmapItem], names: Sequence[str],
           label_plural: str) -> GanttChart:
    count = len(names)
    show_owners = any(i.owner for i in items)
    name_width = NAME_WIDTH + (0.0 if show_owners else OWNER_WIDTH + GAP)
    owner_x = NAME_LEFT + name_width + GAP
    plot_x = owner_x + (OWNER_WIDTH + GAP if show_owners else 0.0)
    plot_width = CHART_WIDTH - plot_x - GAP
    column = plot_width / count
    labels = _axis_labels(names, plot_x, column)
    columns = []
    for t, name in enumerate(names):
        lines, x, anchor = labels[t]
        columns.append(GanttColumn(
            period=t + 1, name=name, x=round(plot_x + t * column, 2), width=round(column, 2),
            label_lines=lines, label_x=round(x, 2),
            label_y=GANTT_HEADER - 8.0 - AXIS_LINE * (len(lines) - 1), label_anchor=anchor))
    rows = []
    for k, item in enumerate(items):
        y = GANTT_HEADER + k * GANTT_ROW
        work_x = plot_x + (item.start - 1) * column
        payoff_x = plot_x + item.finish * column
        pays = (f"pays off from {item.pays_off_from}" if item.pays_off_from
                else "pays off after the horizon")
        rows.append(GanttRow(
            rank=item.rank, id=item.id, name=item.name, owner=item.owner,
            start=item.start, finish=item.finish, y=y, height=GANTT_ROW, text_y=y + 15.0,
            label=_fits(item.name, name_width, NAME_CHAR),
            owner_label=_fits(item.owner or "", OWNER_WIDTH, OWNER_CHAR),
            bar_y=y + (GANTT_ROW - GANTT_BAR) / 2, bar_height=GANTT_BAR,
            work_x=round(work_x + 1.0, 2), work_width=round(item.duration * column - 2.0, 2),
            payoff_x=round(payoff_x, 2),
            payoff_width=round(max((count - item.finish) * column - 1.0, 0.0), 2),
            description=(f"#{item.rank} {item.name}"
                         + (f" ({item.owner})" if item.owner else "")
                         + f": work {item.when}, {pays}; cost "
                         + format_money(item.cost, plan.currency) + ", gain "
                         + format_money(item.gain, plan.currency, sign=True))))
    summary = (f"Gantt chart of {len(items)} improvements over {count} {label_plural}"
               f" ({names[0]} to {names[-1]}): a dark bar over the {label_plural} of work, "
               f"a light band over the {label_plural} it pays off.")
    return GanttChart(
        width=CHART_WIDTH, height=GANTT_HEADER + len(items) * GANTT_ROW + 6.0,
        rank_x=RANK_RIGHT, name_x=NAME_LEFT, owner_x=owner_x, plot_x=plot_x,
        plot_width=round(plot_width, 2), header_y=GANTT_HEADER - 8.0, axis_y=GANTT_HEADER,
        show_owners=show_owners, columns=tuple(columns), rows=tuple(rows), summary=summary)


def _step(span: float) -> float:
    """A round step (1, 2, 2.5 or 5 × a power of ten) dividing `span` in about 4."""
    raw = span / CURVE_TICKS
    if raw <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * power * (1 + 1e-9):
            return factor * power
    return 10.0 * power


def _curve(plan: Plan, periods: Sequence[RoadmapPeriod], label: str,
           label_plural: str) -> ValueCurve:
    count = len(periods)
    plot_x, plot_y = CURVE_LEFT, CURVE_TOP
    plot_width = CHART_WIDTH - CURVE_LEFT - CURVE_RIGHT
    plot_height = CURVE_HEIGHT - CURVE_TOP - CURVE_AXIS
    values = [0.0] + [v for p in periods for v in (p.cumulative_gain, p.discounted_gain)]
    step = _step((max(values) - min(values)) or 1.0)
    low = math.floor(min(values) / step + 1e-9) * step
    high = math.ceil(max(values) / step - 1e-9) * step
    if high <= low:
        high = low + step
    scale = plot_height / (high - low)

    def y_of(value: float) -> float:
        return round(plot_y + (high - value) * scale, 2)

    zero = y_of(0.0)
    column = plot_width / count
    labels = _axis_labels([p.name for p in periods], plot_x, column)
    points = []
    path = []
    for t, p in enumerate(periods):
        lines, label_x, anchor = labels[t]
        x = plot_x + (t + 0.5) * column
        bar_width = min(column * 0.5, 40.0)
        top, bottom = sorted((y_of(p.discounted_gain), zero))
        path.append(f"{'L' if t else 'M'}{_coordinate(x)} {_coordinate(y_of(p.cumulative_gain))}")
        points.append(CurvePoint(
            period=p.period, name=p.name, column_x=round(plot_x + t * column, 2),
            column_width=round(column, 2), label_lines=lines, label_x=round(label_x, 2),
            label_y=plot_y + plot_height + 16.0, label_anchor=anchor, x=round(x, 2),
            y=y_of(p.cumulative_gain), cumulative_gain=p.cumulative_gain,
            gain=p.discounted_gain, bar_x=round(x - bar_width / 2, 2), bar_y=top,
            bar_width=round(bar_width, 2), bar_height=round(bottom - top, 2),
            description=(f"{p.name}: gain " + format_money(p.discounted_gain, plan.currency,
                                                           sign=True)
                         + (" (discounted)" if p.discount != 1.0 else "")
                         + ", cumulative " + format_money(p.cumulative_gain, plan.currency,
                                                          sign=True))))
    ticks = []
    value = low
    while value <= high + step * 1e-6:
        ticks.append(CurveTick(value=value, y=y_of(value),
                               label=compact_number(0.0 if abs(value) < step * 1e-9 else value)))
        value += step
    last = periods[-1]
    end_value = last.cumulative_gain
    discounted = "discounted " if any(p.discount != 1.0 for p in periods) else ""
    summary = (f"Cumulative {discounted}gain by the end of each {label}, from "
               f"{periods[0].name} to {last.name}, reaching "
               + format_money(end_value, plan.currency, sign=True)
               + f"; bars: each {label}'s {discounted}gain.")
    return ValueCurve(
        width=CHART_WIDTH, height=CURVE_HEIGHT, plot_x=plot_x, plot_y=plot_y,
        plot_width=round(plot_width, 2), plot_height=plot_height, zero_y=zero,
        path="".join(path), ticks=tuple(ticks), points=tuple(points),
        end_label=("+" if end_value > 0 else "") + compact_number(end_value),
        end_x=round(plot_x + (count - 0.5) * column + 8.0, 2),
        end_y=round(y_of(end_value) + 4.0, 2),
        summary=summary)


def _coordinate(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def build_roadmap(plan: Plan, rows: Sequence[PlanRow] = ()) -> Roadmap:
    """The roadmap part of the view model: items, periods, the Gantt chart and the curve.

    Only for plans with a horizon (`plan.horizon`); raises ValueError otherwise.
    """
    if plan.horizon is None or not plan.periods:
        raise ValueError("the plan has no horizon: it is not a roadmap")
    names = _period_names(plan)
    count = len(names)
    label = str(plan.horizon.get("label") or "period")
    plural = _plural(label)
    known = {r.id: r.staff_text for r in rows}
    items = []
    for imp in sorted(plan.improvements, key=lambda i: i.rank):
        start, finish = plan.schedule.get(imp.id, (imp.start or 1, imp.finish or 1))
        staff = tuple((team, n) for team, n in imp.staff.items() if n)
        items.append(RoadmapItem(
            rank=imp.rank, id=imp.id, name=imp.name, owner=imp.owner, cost=imp.cost,
            staff_text=known.get(imp.id, _staff_text(staff)), start=start, finish=finish,
            start_name=names[start - 1], finish_name=names[finish - 1],
            duration=finish - start + 1,
            pays_off_from=names[finish] if finish < count else None,
            when=_when(plan, start, finish), gain=imp.gain, share=imp.share))
    by_id = {i.id: i for i in items}
    teams = tuple(plan.teams)
    periods = []
    for p in plan.periods:
        starting = [i for i in p.starting if i in by_id]
        starting.sort(key=lambda i: by_id[i].rank)
        budget_use = (_resource("Budget", "budget", p.spend, p.budget)
                      if p.budget is not None else None)
        periods.append(RoadmapPeriod(
            period=p.period, name=p.name, discount=p.discount, spend=p.spend,
            budget=p.budget, budget_share=budget_use.share if budget_use else None,
            budget_use=budget_use,
            staff=tuple(_resource(team, "team", p.staff.get(team, 0.0),
                                  p.capacity.get(team, plan.teams.get(team)))
                        for team in teams),
            starting=tuple(starting), starting_names=tuple(by_id[i].name for i in starting),
            starting_ranks=tuple(by_id[i].rank for i in starting),
            working=tuple(p.working), finishing=tuple(p.finishing),
            paying_off=tuple(p.paying_off), baseline_value=p.baseline_value, value=p.value,
            gain=p.gain, discounted_gain=p.discounted_gain, cumulative_gain=p.cumulative_gain,
            cumulative_share=(p.cumulative_gain / plan.expected_gain
                              if plan.expected_gain else 0.0)))
    final = plan.periods[-1]
    return Roadmap(
        period_count=count, label=label, label_plural=plural, names=tuple(names),
        span=names[0] if count == 1 else f"{names[0]} – {names[-1]}",
        discount_rate=float(plan.horizon.get("discount_rate") or 0.0),
        carry_over=bool(plan.horizon.get("carry_over")),
        items=tuple(items), periods=tuple(periods), teams=teams,
        final_baseline_value=(plan.baseline.value if plan.baseline is not None
                              else final.baseline_value),
        final_value=plan.evaluation.value if plan.evaluation is not None else final.value,
        gantt=_gantt(plan, items, names, plural),
        curve=_curve(plan, periods, label, plural))


# -- rendering ----------------------------------------------------------------------------

# `_` inside a word cannot start emphasis in CommonMark, and escaping it there would make
# ids like `expected_experience` hard to read in the plain file
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def markdown_escape(value: object) -> object:
    """Escape text for Markdown so names cannot inject markup, HTML or break a table row.

    Non-strings pass through unchanged (Jinja's `finalize` sees every expression output).
    """
    if not isinstance(value, str):
        return value
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(value.splitlines()))


def _loaders(
    templates_dir: str | Path | None, plugin_templates: Sequence[str | Path]
) -> jinja2.BaseLoader:
    folders = ([templates_dir] if templates_dir is not None else []) + list(plugin_templates)
    builtin = jinja2.PackageLoader("cxplan", "templates")
    return jinja2.ChoiceLoader([
        *(jinja2.FileSystemLoader(str(folder)) for folder in folders),
        builtin,
        jinja2.PrefixLoader({BUILTIN_PREFIX: builtin}),
    ])


@jinja2.pass_context
def _money_filter(
    context: jinja2.runtime.Context, value: float, decimals: int = 0, sign: bool = False
) -> str:
    """`money` in templates: the amount with the report's currency (from `view`)."""
    return format_money(value, getattr(context.get("view"), "currency", None), decimals,
                        sign=sign)


def _environment(
    templates_dir: str | Path | None, plugin_templates: Sequence[str | Path], *, html: bool
) -> jinja2.Environment:
    for folder in ([templates_dir] if templates_dir is not None else []) + list(plugin_templates):
        if not Path(folder).is_dir():
            raise TemplateError(f"templates folder {str(folder)!r} does not exist or is not "
                                "a folder")
    return _cached_environment(None if templates_dir is None else str(templates_dir),
                               tuple(str(f) for f in plugin_templates), html)


# Compiling the templates costs more than rendering them; an environment keeps its
# compiled templates (and reloads a file that changed on disk), so it is kept per folders.
@functools.lru_cache(maxsize=16)
def _cached_environment(
    templates_dir: str | None, plugin_templates: tuple[str, ...], html: bool
) -> jinja2.Environment:
    # The sandbox refuses attribute access to Python internals (__class__, __globals__,
    # functions' code ...), so a report template from an untrusted author cannot run code;
    # the immutable variant also refuses to modify the view model's lists and dicts.
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        loader=_loaders(templates_dir, plugin_templates),
        autoescape=html,
        # Markdown has no autoescape; escaping every expression's output is the safe default
        finalize=None if html else markdown_escape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(number=format_number, amount=format_amount, percent=format_percent,
                       gap=format_gap, money=_money_filter)
    return env


def _template_place(tb: TracebackType | None) -> str:
    """`report.html.j2, line 12`: the innermost template frame of a rendering error."""
    place = ""
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2") or "/templates/" in name.replace("\\", "/"):
            place = f"{Path(name).name}, line {tb.tb_lineno}"
        tb = tb.tb_next
    return place


def _render(
    view: ReportView,
    name: str,
    templates_dir: str | Path | None,
    plugin_templates: Sequence[str | Path],
    *,
    html: bool,
    sections: Sequence[ReportSection] = (),
) -> str:
    env = _environment(templates_dir, plugin_templates, html=html)
    try:
        return env.get_template(name).render(view=view, sections=tuple(sections))
    except jinja2.exceptions.SecurityError as exc:
        place = _template_place(exc.__traceback__)
        raise TemplateError(
            f"template {place or name}: not allowed in a report template: {exc}. Templates "
            "run in a sandbox and may only read the report's view model "
            "(docs/report-view-model.md).") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template {exc.filename or exc.name or name}, line {exc.lineno}: "
                            f"{exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template {exc.name!r} not found (looked in the templates "
                            "folder, plugin template folders and the built-ins)") from None
    except jinja2.TemplateError as exc:
        place = _template_place(exc.__traceback__)
        raise TemplateError(f"template {place or name}: {exc}") from None


def render_html(
    view: ReportView,
    *,
    templates_dir: str | Path | None = None,
    plugin_templates: Sequence[str | Path] = (),
    sections: Sequence[ReportSection] = (),
) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no script, no network).

    Templates are looked up in `templates_dir` first, then in `plugin_templates` (in order),
    then in the built-in ones. `sections` are plugins' extra sections, shown after the
    built-in ones. Raises `TemplateError` for a broken or forbidden template.
    """
    return _render(view, HTML_TEMPLATE, templates_dir, plugin_templates, html=True,
                   sections=sections)


def render_markdown(
    view: ReportView,
    *,
    templates_dir: str | Path | None = None,
    plugin_templates: Sequence[str | Path] = (),
    sections: Sequence[ReportSection] = (),
) -> str:
    """The report as Markdown (GitHub-flavoured tables); text from the scenario is escaped."""
    return _render(view, MARKDOWN_TEMPLATE, templates_dir, plugin_templates, html=False,
                   sections=sections)


# -- writing ------------------------------------------------------------------------------


def report_slug(scenario: Scenario) -> str:
    """The reports' file name stem: the scenario file's stem, else a slug of its title."""
    stem = Path(scenario.source).stem if _from_file(scenario) else scenario.title
    ascii_text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower()
    return slug or "report"


def write_reports(
    plan: Plan,
    scenario: Scenario,
    directory: str | Path,
    *,
    templates_dir: str | Path | None = None,
    plugin_templates: Sequence[str | Path] = (),
    plugins: CxplanPlugins | None = None,
) -> list[Path]:
    """Write `<slug>.html` and `<slug>.md` into `directory` (created if missing).

    `plugins` (default: the installed ones) add their template folders after
    `plugin_templates`, and their report sections (hooks `cxplan_template_dirs`,
    `cxplan_report_sections`).

    Both reports are rendered before anything is written, then each goes to a temporary
    file in the same directory, is flushed to disk and renamed over the target, so a
    reader never sees a half-written report and an error leaves the old files intact.
    Returns the paths written, HTML first.
    """
    view = build_view(plan, scenario)
    # -- plugins: template folders and extra sections --
    manager = plugins or get_plugin_manager()
    plugin_templates = [*plugin_templates, *manager.template_dirs()]
    sections = manager.report_sections(plan, scenario)
    contents = {
        ".html": render_html(view, templates_dir=templates_dir,
                             plugin_templates=plugin_templates, sections=sections),
        ".md": render_markdown(view, templates_dir=templates_dir,
                               plugin_templates=plugin_templates, sections=sections),
    }
    folder = Path(directory)
    slug = report_slug(scenario)
    return write_atomic({folder / f"{slug}{suffix}": text for suffix, text in contents.items()})
