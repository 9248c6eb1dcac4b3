"""The report's view model: everything a report shows, as plain frozen dataclasses.

Every number a report shows is computed in Python into `ReportView` (documented field by
field in docs/report-view-model.md) by `cxplan.report.build`; the templates in
`cxplan/templates/` only lay it out. That keeps the numbers testable and lets a user
restyle a report with their own templates without touching the maths.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cxplan.core.results import ValueBreakdown
from cxplan.core.status import Status
from cxplan.report.analysis import Assumption, PersonaRoutes
from cxplan.report.journeymap import (
    JourneyMap,
)
from cxplan.text import (
    format_amount,
)


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

    @classmethod
    def of(cls, name: str, kind: str, used: float, capacity: float | None) -> ResourceUse:
        """`used` against `capacity` (None: no limit), with its share and bar."""
        if capacity is None:
            return cls(name, kind, used, None, None, None)
        share = used / capacity if capacity > 0 else None
        # a full bar for zero capacity with nothing used would claim the team is exhausted
        width = 0.0 if share is None else min(max(share, 0.0), 1.0) * 100.0
        return cls(name, kind, used, capacity, share, Bar(0.0, round(width, 3)))


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
    # What the plan changes in one period (failures, their cost, success value); with a
    # horizon, in a period once all its work pays off. None for a plan without evaluations.
    breakdown: ValueBreakdown | None = None

    @property
    def resources(self) -> tuple[ResourceUse, ...]:
        """The budget (when there is one) followed by every team."""
        return ((self.budget_use,) if self.budget_use else ()) + self.staff


@dataclass(frozen=True)
class FairShare:
    """An improvement's Shapley value: what it adds on average over every order in which
    the funded improvements could be added (these add up to the gain, like the gains in
    the plan's order)."""

    value: float
    share: float  # value / expected gain
    error: float | None  # standard error when sampled; None when exact
    payback: str | None  # with `economics:`: "3 periods", "beyond the horizon"; else None
    return_on_cost: float | None  # with `economics:`: (value over the horizon − cost) / cost


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
    fair: FairShare | None = None  # its Shapley value; None when not computed


@dataclass(frozen=True)
class LeftOutRow:
    """A candidate improvement the plan does not fund, and the visible reason why."""

    id: str
    name: str
    owner: str | None
    cost: float
    staff: tuple[tuple[str, float], ...]  # (team, people) with people > 0
    staff_text: str
    reason: str  # the value it would add, then what keeps it out
    # What adding it (with the requirements it needs) to the plan would add to the value,
    # were the limits not in the way; exact. None for roadmaps (it depends on when).
    value_given_up: float | None = None


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
    fair: FairShare | None = None  # its Shapley value; None when not computed


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
    label: str  # the name as shown (label_lines joined)
    owner_label: str  # the owner as shown ("" without one)
    bar_y: float  # top of the bar and of the band
    bar_height: float
    work_x: float  # the bar over periods start..finish
    work_width: float
    payoff_x: float  # the band over periods finish+1..N
    payoff_width: float  # 0 when it finishes in the last period
    description: str  # plain text: name, owner, periods, cost, gain (tooltip)
    # the name wrapped to the label column (up to 3 lines, then shortened with "…"); the
    # first line's baseline is text_y, the next ones 13 units apart
    label_lines: tuple[str, ...] = ()
    owner_lines: tuple[str, ...] = ()  # the owner, wrapped the same way


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
    # Whether value after the horizon is counted (horizon.terminal_value), in a sentence,
    # and the discounted gain it adds (0 when not counted).
    after_horizon: str = ""
    after_horizon_gain: float = 0.0


@dataclass(frozen=True)
class UncertainInput:
    """A value the scenario gives as a distribution: the plan used its mean."""

    place: str  # as in error messages: `touchpoints[3].failure_probability`
    distribution: str  # as written: `pert(0.1, 0.2, 0.4)`
    mean: float


@dataclass(frozen=True)
class ReportView:
    """Everything a report shows, computed; templates only lay it out."""

    title: str
    source: str  # the scenario's file name (no folders), or "<dict>" when built in memory
    currency: str | None
    generated_by: str  # "cxplan <version>"; no timestamp, so reports diff cleanly
    status: Status  # the solver status: optimal, gap_limit or time_limit
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
    # How the Shapley values were found ("exact", "sampled over 400 orders"); None: not
    # computed. With `economics:`, the value horizon in words ("12 periods, 5 % discount").
    fair_method: str | None = None
    economics: str | None = None
    uncertain: tuple[UncertainInput, ...] = ()  # distributions the plan took the means of


# -- the roadmap (plans with a horizon) ---------------------------------------------------


# -- rendering ----------------------------------------------------------------------------


# -- writing ------------------------------------------------------------------------------


def staff_text(staff: Iterable[tuple[str, float]]) -> str:
    return ", ".join(f"{team} {format_amount(n)}" for team, n in staff if n)
