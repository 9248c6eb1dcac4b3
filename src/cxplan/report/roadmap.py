"""The roadmap part of the view model: items, periods, the Gantt chart and the value curve
(geometry in SVG user units, so the templates only draw it)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from cxplan.core.results import Plan
from cxplan.report.fair import fair_share
from cxplan.report.journeymap import (
    compact_number,
    wrap_label,
)
from cxplan.report.scales import nice_ceiling
from cxplan.report.textwidth import fit_lines
from cxplan.report.view import (
    CurvePoint,
    CurveTick,
    GanttChart,
    GanttColumn,
    GanttRow,
    PlanRow,
    ResourceUse,
    Roadmap,
    RoadmapItem,
    RoadmapPeriod,
    ValueCurve,
    staff_text,
)
from cxplan.text import (
    format_money,
)

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


NAME_SIZE = 11.0  # px of an improvement's name (.gantt-name in report.html.j2)


OWNER_SIZE = 10.0  # ... of an owner


NAME_LINES = 3  # lines of a name (or an owner) before it is shortened with "…"


LINE_HEIGHT = 13.0  # between the lines of a wrapped name


AXIS_CHAR = 6.6  # ... of a 10.5 px period name (digits are wide)


AXIS_LINE = 12.0  # line height of period names


CURVE_HEIGHT = 236.0


CURVE_LEFT = 64.0  # room for the value ticks


CURVE_RIGHT = 40.0  # room for the total at the curve's end (it starts mid-column)


CURVE_TOP = 16.0


CURVE_AXIS = 42.0  # room for two lines of period names under the plot


CURVE_TICKS = 4  # about this many steps on the value axis


def plural(label: str) -> str:
    return label if label.endswith("s") else label + "s"


def when(plan: Plan, start: int | None, finish: int | None) -> str:
    """`"2027 Q2"` or `"2027 Q2 – 2027 Q3"`: an improvement's periods of work."""
    if plan.horizon is None or start is None or finish is None:
        return ""
    names = period_names(plan)
    first, last = names[start - 1], names[finish - 1]
    return first if start == finish else f"{first} – {last}"


def period_names(plan: Plan) -> list[str]:
    horizon = plan.horizon or {}
    names = [str(n) for n in horizon.get("names") or []]
    count = int(horizon.get("periods") or len(plan.periods))
    label = str(horizon.get("label") or "period")
    return names if len(names) == count else [f"{label} {t}" for t in range(1, count + 1)]


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
    y = GANTT_HEADER
    for item in items:
        # names and owners wrap (up to NAME_LINES lines) instead of being cut; the row grows
        names_lines = fit_lines(item.name, name_width - GAP, NAME_SIZE, lines=NAME_LINES)
        owner_lines = fit_lines(item.owner or "", OWNER_WIDTH, OWNER_SIZE, lines=NAME_LINES)
        line_count = max(len(names_lines), len(owner_lines) if show_owners else 1)
        height = GANTT_ROW + LINE_HEIGHT * (line_count - 1)
        work_x = plot_x + (item.start - 1) * column
        payoff_x = plot_x + item.finish * column
        pays = (f"pays off from {item.pays_off_from}" if item.pays_off_from
                else "pays off after the horizon")
        rows.append(GanttRow(
            rank=item.rank, id=item.id, name=item.name, owner=item.owner,
            start=item.start, finish=item.finish, y=y, height=height, text_y=y + 15.0,
            label=" ".join(names_lines), owner_label=" ".join(owner_lines),
            bar_y=y + (height - GANTT_BAR) / 2, bar_height=GANTT_BAR,
            work_x=round(work_x + 1.0, 2), work_width=round(item.duration * column - 2.0, 2),
            payoff_x=round(payoff_x, 2),
            payoff_width=round(max((count - item.finish) * column - 1.0, 0.0), 2),
            description=(f"#{item.rank} {item.name}"
                         + (f" ({item.owner})" if item.owner else "")
                         + f": work {item.when}, {pays}; cost "
                         + format_money(item.cost, plan.currency) + ", gain "
                         + format_money(item.gain, plan.currency, sign=True)),
            label_lines=names_lines, owner_lines=owner_lines if item.owner else ()))
        y += height
    summary = (f"Gantt chart of {len(items)} improvements over {count} {label_plural}"
               f" ({names[0]} to {names[-1]}): a dark bar over the {label_plural} of work, "
               f"a light band over the {label_plural} it pays off.")
    return GanttChart(
        width=CHART_WIDTH, height=y + 6.0,
        rank_x=RANK_RIGHT, name_x=NAME_LEFT, owner_x=owner_x, plot_x=plot_x,
        plot_width=round(plot_width, 2), header_y=GANTT_HEADER - 8.0, axis_y=GANTT_HEADER,
        show_owners=show_owners, columns=tuple(columns), rows=tuple(rows), summary=summary)


def _curve(plan: Plan, periods: Sequence[RoadmapPeriod], label: str,
           label_plural: str) -> ValueCurve:
    count = len(periods)
    plot_x, plot_y = CURVE_LEFT, CURVE_TOP
    plot_width = CHART_WIDTH - CURVE_LEFT - CURVE_RIGHT
    plot_height = CURVE_HEIGHT - CURVE_TOP - CURVE_AXIS
    values = [0.0] + [v for p in periods for v in (p.cumulative_gain, p.discounted_gain)]
    step = nice_ceiling(((max(values) - min(values)) or 1.0) / CURVE_TICKS) or 1.0
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
    names = period_names(plan)
    count = len(names)
    label = str(plan.horizon.get("label") or "period")
    plurals = plural(label)
    known = {r.id: r.staff_text for r in rows}
    items = []
    for imp in sorted(plan.improvements, key=lambda i: i.rank):
        start, finish = plan.schedule.get(imp.id, (imp.start or 1, imp.finish or 1))
        staff = tuple((team, n) for team, n in imp.staff.items() if n)
        items.append(RoadmapItem(
            rank=imp.rank, id=imp.id, name=imp.name, owner=imp.owner, cost=imp.cost,
            staff_text=known.get(imp.id, staff_text(staff)), start=start, finish=finish,
            start_name=names[start - 1], finish_name=names[finish - 1],
            duration=finish - start + 1,
            pays_off_from=names[finish] if finish < count else None,
            when=when(plan, start, finish), gain=imp.gain, share=imp.share,
            fair=fair_share(plan, imp)))
    by_id = {i.id: i for i in items}
    teams = tuple(plan.teams)
    periods = []
    for p in plan.periods:
        starting = [i for i in p.starting if i in by_id]
        starting.sort(key=lambda i: by_id[i].rank)
        budget_use = (ResourceUse.of("Budget", "budget", p.spend, p.budget)
                      if p.budget is not None else None)
        periods.append(RoadmapPeriod(
            period=p.period, name=p.name, discount=p.discount, spend=p.spend,
            budget=p.budget, budget_share=budget_use.share if budget_use else None,
            budget_use=budget_use,
            staff=tuple(ResourceUse.of(team, "team", p.staff.get(team, 0.0),
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
    after = after_horizon(plan.horizon, label, plurals, plan.currency)
    return Roadmap(
        period_count=count, label=label, label_plural=plurals, names=tuple(names),
        span=names[0] if count == 1 else f"{names[0]} – {names[-1]}",
        discount_rate=float(plan.horizon.get("discount_rate") or 0.0),
        carry_over=bool(plan.horizon.get("carry_over")),
        items=tuple(items), periods=tuple(periods), teams=teams,
        final_baseline_value=(plan.baseline.value if plan.baseline is not None
                              else final.baseline_value),
        final_value=plan.evaluation.value if plan.evaluation is not None else final.value,
        gantt=_gantt(plan, items, names, plurals),
        curve=_curve(plan, periods, label, plurals),
        after_horizon=after,
        after_horizon_gain=float(plan.horizon.get("after_horizon_gain") or 0.0))


def after_horizon(horizon: dict[str, Any], label: str, plurals: str,
                  currency: str | None) -> str:
    """Whether value after the horizon is counted, in one sentence (a roadmap plan's
    `horizon`, `cxplan.optimizer.roadmap.pipeline.after_horizon`)."""
    terminal = horizon.get("terminal_value")
    gain = format_money(float(horizon.get("after_horizon_gain") or 0.0), currency, sign=True)
    weight = float(horizon.get("after_horizon_periods") or 0.0)
    if terminal == "perpetuity":
        return (f"Value after the horizon is counted for ever (a perpetuity at the discount "
                f"rate, worth {weight:,.3g} {plurals} of the end state's value): {gain} of "
                "the gain.")
    if terminal:
        return (f"Value after the horizon is counted for {terminal} more "
                f"{label if terminal == 1 else plurals} of the end state's value, discounted "
                f"like them: {gain} of the gain.")
    text = "Value after the horizon is not counted"
    idle = list(horizon.get("idle_end_periods") or [])
    if idle:
        return (text + ", so the last periods start nothing that would pay off later ("
                + ", ".join(idle) + "); `horizon.terminal_value` counts it.")
    return text + " (`horizon.terminal_value` would count it)."
