"""Self-contained HTML pages and SVG charts for the what-if commands.

As for the plan report, every number and every coordinate is computed here into plain
view objects; the Jinja templates (`templates/whatif_*.j2`) only lay them out, in the one
sandboxed, autoescaping environment of `cxplan.report.render`. Files are written
atomically (`cxplan.files.write_atomic`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxplan.files import write_atomic
from cxplan.report.render import render_template
from cxplan.report.scales import nice_ticks
from cxplan.text import format_money, slug
from cxplan.version import __version__
from cxplan.whatif.compare import Comparison
from cxplan.whatif.frontier import Frontier, FrontierPoint
from cxplan.whatif.sensitivity import Range, Sensitivity

WIDTH, HEIGHT = 760, 380
LEFT, RIGHT, TOP, BOTTOM = 96, 24, 24, 56
TORNADO_LABEL = 310  # px for the row labels of the tornado chart
LABEL_CHARS = 46  # longer row labels are shortened (the tooltip has them in full)
TORNADO_ROW = 26
TORNADO_CAP = 2.0  # relative changes beyond +200 % are drawn as open-ended


def money(value: float | None, currency: str | None) -> str:
    """An amount as everywhere (`cxplan.text.format_money`); "–" for none, "no limit" for
    an infinite one."""
    if value is None:
        return "–"
    if not math.isfinite(value):
        return "no limit"
    return format_money(value, currency)


def amount(value: float | None) -> str:
    if value is None:
        return "–"
    if not math.isfinite(value):
        return "no limit"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


def percent(value: float | None) -> str:
    if value is None:
        return "–"
    if not math.isfinite(value):
        return "no limit"
    return "0 %" if round(value * 100) == 0 else f"{value * 100:+.0f} %"


def _render(name: str, **context: Any) -> str:
    """A built-in what-if template, in the environment every page is rendered in."""
    return render_template(name, {"generated_by": f"cxplan {__version__}", **context})


def _slug(text: str) -> str:
    return slug(text, "scenario")


# -- frontier -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    knee: bool
    title: str  # tooltip: the level, the objective and what changes


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    top: int
    right: float  # x of the plot's right edge
    bottom: float  # y of the plot's bottom edge
    points: tuple[ChartPoint, ...]
    path: str  # SVG polyline points
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    x_label: str
    y_label: str


def frontier_chart(frontier: Frontier) -> LineChart:
    feasible = [p for p in frontier.points if p.outcome is not None]
    levels = [p.level for p in frontier.points]
    values = [p.outcome.objective for p in feasible if p.outcome is not None]
    x_ticks = nice_ticks(min(levels), max(levels))
    y_ticks = nice_ticks(min(values) if values else 0.0, max(values) if values else 1.0)
    x0, x1 = x_ticks[0], x_ticks[-1]
    y0, y1 = y_ticks[0], y_ticks[-1]
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM

    def sx(v: float) -> float:
        return LEFT + (v - x0) / ((x1 - x0) or 1.0) * (right - LEFT)

    def sy(v: float) -> float:
        return bottom - (v - y0) / ((y1 - y0) or 1.0) * (bottom - TOP)

    is_money = frontier.limit == "budget"
    points = []
    for p in feasible:
        assert p.outcome is not None
        level = money(p.level, frontier.currency) if is_money else amount(p.level)
        title = f"{frontier.label} {level}: objective {p.outcome.objective:,.0f}"
        if p.knee:
            title += "; plan changes: " + ", ".join(plan_changes(p))
        points.append(ChartPoint(round(sx(p.level), 2), round(sy(p.outcome.objective), 2),
                                 p.knee, title))
    fmt = (lambda v: money(v, None)) if is_money else amount
    return LineChart(
        WIDTH, HEIGHT, LEFT, TOP, right, bottom, tuple(points),
        " ".join(f"{p.x},{p.y}" for p in points),
        tuple(Tick(round(sx(t), 2), fmt(t)) for t in x_ticks),
        tuple(Tick(round(sy(t), 2), money(t, None)) for t in y_ticks),
        f"{frontier.label} ({frontier.unit})",
        f"objective ({frontier.currency or 'currency'})" if frontier.currency else "objective")


def plan_changes(point: FrontierPoint) -> list[str]:
    """"+added", "−dropped", and on a roadmap "~moved" (starts in another period)."""
    return [*(f"+{i}" for i in point.added), *(f"−{i}" for i in point.dropped),
            *(f"~{i}" for i in point.moved)]


def render_frontier(frontier: Frontier) -> tuple[str, str]:
    """(HTML page, SVG chart)."""
    chart = frontier_chart(frontier)
    rows = []
    is_money = frontier.limit == "budget"
    for p in frontier.points:
        o = p.outcome
        rows.append({
            "level": money(p.level, frontier.currency) if is_money else amount(p.level),
            "status": o.status if o else "no plan",
            "objective": money(o.objective, None) if o else "–",
            "cost": money(o.cost, frontier.currency) if o else "–",
            "per_unit": "–" if p.per_unit is None else f"{p.per_unit:,.4g}",
            "knee": p.knee,
            "change": " ".join(plan_changes(p)),
            "count": len(o.selected) if o else 0,
            "starts": " ".join(o.keys) if o and o.schedule is not None else "",
            "conflict": "; ".join(p.conflict)})
    svg = _render("whatif_frontier.svg.j2", chart=chart, title=frontier.scenario)
    html = _render("whatif_frontier.html.j2", frontier=frontier, chart=chart, rows=rows,
                   svg=svg)
    return html, svg


def write_frontier(frontier: Frontier, folder: str | Path) -> list[Path]:
    html, svg = render_frontier(frontier)
    stem = Path(folder) / f"{_slug(frontier.scenario)}-frontier-{_slug(frontier.limit)}"
    return write_atomic({stem.with_suffix(".html"): html, stem.with_suffix(".svg"): svg,
                         stem.with_suffix(".csv"): frontier.to_csv()})


# -- sensitivity --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TornadoBar:
    label: str
    y: float
    x: float
    width: float
    open_low: bool  # unchanged down to the end of the input's domain
    open_high: bool
    low_text: str
    high_text: str
    kind: str
    title: str
    # The part of the bar that only budget slack limits (drawn pale, hatched): x, width.
    slack_x: float = 0.0
    slack_width: float = 0.0


@dataclass(frozen=True)
class Tornado:
    width: int
    height: int
    label_width: int
    zero: float
    right: float
    row: int
    bars: tuple[TornadoBar, ...]
    ticks: tuple[Tick, ...]


def _value_text(r: Range, value: float, currency: str | None) -> str:
    if r.kind == "cost":
        return money(value, currency)
    shown = next(iter(r.shown.values()), 1.0)
    return f"{min(1.0, value * shown):.3g} (×{value:.3g})"


def tornado(sensitivity: Sensitivity) -> Tornado:
    rows = sensitivity.ranges
    low_end = -1.0
    high_end = min(TORNADO_CAP, max([r.relative[1] for r in rows if math.isfinite(r.relative[1])]
                                    + [0.5]))
    span = high_end - low_end
    plot_left, right = TORNADO_LABEL, WIDTH - RIGHT

    def sx(v: float) -> float:
        v = max(low_end, min(high_end, v))
        return plot_left + (v - low_end) / span * (right - plot_left)

    bars = []
    for k, r in enumerate(rows):
        low, high = r.relative
        open_low = r.low.outside is None
        open_high = r.high.outside is None or not math.isfinite(high) or high > high_end
        x0, x1 = sx(low), sx(high if math.isfinite(high) else high_end)
        # Budget slack above today's value: that part of the bar is drawn apart.
        slack_x, slack_width = (sx(0.0), x1 - sx(0.0)) if r.high.budget_slack else (0.0, 0.0)
        solid_x1 = slack_x if r.high.budget_slack else x1
        label = r.label if len(r.label) <= LABEL_CHARS else r.label[:LABEL_CHARS - 1] + "…"
        title = f"{r.label}: {percent(low)} … {percent(high)}"
        if r.high.budget_slack:
            title += " (above: budget slack, the plan stops fitting the unspent budget)"
        bars.append(TornadoBar(
            label, TOP + k * TORNADO_ROW, round(x0, 2), round(max(solid_x1 - x0, 1.0), 2),
            open_low, open_high, _value_text(r, r.low.inside, sensitivity.currency),
            _value_text(r, r.high.inside, sensitivity.currency) if math.isfinite(
                r.high.inside) else "no limit", r.kind, title,
            round(slack_x, 2), round(max(slack_width, 0.0), 2)))
    ticks = tuple(Tick(round(sx(t), 2), percent(t)) for t in nice_ticks(low_end, high_end, 6)
                  if low_end <= t <= high_end)
    return Tornado(WIDTH, TOP + len(rows) * TORNADO_ROW + BOTTOM, TORNADO_LABEL,
                   round(sx(0.0), 2), right, TORNADO_ROW, tuple(bars), ticks)


def sensitivity_rows(s: Sensitivity) -> list[dict[str, Any]]:
    rows = []
    for r in s.ranges:
        low, high = r.relative
        beyond = []
        for side, name in ((r.low, "below"), (r.high, "above")):
            if side.competitor is not None:
                # plans as `Outcome.keys`: on a roadmap "id@start", so a move shows as
                # the improvement dropped at one start and added at another
                added = [i for i in side.competitor if i not in s.plan.keys]
                dropped = [i for i in s.plan.keys if i not in side.competitor]
                change = ", ".join([*(f"+{i}" for i in added), *(f"−{i}" for i in dropped)])
                beyond.append(f"{name}: {change}")
            elif side.budget_slack:
                slack = side.inside - r.base
                beyond.append(f"{name}: budget slack only ({money(slack, s.currency)} left "
                              "unspent; beyond it the plan no longer fits, no other plan "
                              "is better)")
        rows.append({
            "label": r.label, "kind": r.kind.replace("_", " "),
            "now": _value_text(r, r.base, s.currency),
            "low": _value_text(r, r.low.inside, s.currency),
            "high": (_value_text(r, r.high.inside, s.currency)
                     if math.isfinite(r.high.inside) else "no limit"),
            "relative": f"{percent(low)} … {percent(high)}",
            "status": f"{r.low.status} / {r.high.status}",
            "beyond": "; ".join(beyond), "decides": r.changes_decision})
    return rows


def render_sensitivity(s: Sensitivity) -> tuple[str, str]:
    chart = tornado(s)
    svg = _render("whatif_tornado.svg.j2", chart=chart, title=s.scenario)
    html = _render("whatif_sensitivity.html.j2", s=s, rows=sensitivity_rows(s), svg=svg,
                   plan=", ".join(s.plan.keys))
    return html, svg


def write_sensitivity(s: Sensitivity, folder: str | Path) -> list[Path]:
    html, svg = render_sensitivity(s)
    stem = Path(folder) / f"{_slug(s.scenario)}-sensitivity"
    return write_atomic({stem.with_suffix(".html"): html, stem.with_suffix(".svg"): svg})


# -- comparison ---------------------------------------------------------------------------------

def comparison_rows(c: Comparison) -> tuple[list[str], list[dict[str, Any]]]:
    """Column headers (the scenarios' names) and rows of formatted values."""
    heads = [e.title for e in c.entries]
    currency = c.entries[0].plan.currency if c.entries else None

    def row(label: str, values: Sequence[str]) -> dict[str, Any]:
        return {"label": label, "values": list(values)}

    def change(value: float, first: bool) -> str:
        return "–" if first else format_money(value, currency, sign=True)

    differences = c.differences
    rows = [
        row("file", [e.file or "–" for e in c.entries]),
        row("status", [e.plan.status for e in c.entries]),
        row("baseline value", [money(e.plan.baseline_value, currency) for e in c.entries]),
        row("planned value", [money(e.plan.planned_value, currency) for e in c.entries]),
        row("expected gain", [format_money(e.plan.expected_gain, currency, sign=True)
                              for e in c.entries]),
        *([row("objective", [money(e.plan.objective, None) for e in c.entries])]
          if c.objective_differs else []),
        row("cost", [money(e.plan.cost, currency) for e in c.entries]),
        row("budget", [money(e.plan.budget, currency) if e.plan.budget is not None
                       else "no limit" for e in c.entries]),
        row("improvements funded", [str(len(e.plan.selected)) for e in c.entries]),
    ]
    for team in c.teams:
        rows.append(row(f"staff {team}", [
            f"{amount(e.plan.staff_used.get(team))} / {amount(e.plan.teams.get(team))}"
            if team in e.plan.teams else "–" for e in c.entries]))
    for name in c.criteria:
        rows.append(row(f"criterion {name}", [
            f"{e.plan.criteria[name].value:,.4g}" if name in e.plan.criteria else "–"
            for e in c.entries]))
    rows.append(row("planned value vs first", [change(d.planned_value_change, k == 0)
                                               for k, d in enumerate(differences)]))
    rows.append(row("gain vs first", [change(d.gain_change, k == 0)
                                      for k, d in enumerate(differences)]))
    rows.append(row("cost vs first", [change(d.cost_change, k == 0)
                                      for k, d in enumerate(differences)]))
    rows.append(row("added vs first", [", ".join(d.added) or "–" for d in differences]))
    rows.append(row("dropped vs first", [", ".join(d.dropped) or "–" for d in differences]))
    return heads, rows


def render_comparison(c: Comparison) -> str:
    heads, rows = comparison_rows(c)
    best = max((e.plan.expected_gain for e in c.entries), default=0.0)
    bars = [{"title": e.title, "width": 0.0 if best <= 0 else max(
        0.0, 100.0 * e.plan.expected_gain / best),
        "text": money(e.plan.expected_gain, e.plan.currency)} for e in c.entries]
    return _render("whatif_compare.html.j2", heads=heads, rows=rows, bars=bars,
                   title=" vs ".join(heads), notes=c.notes)


def write_comparison(c: Comparison, folder: str | Path) -> list[Path]:
    name = "-vs-".join(_slug(e.short) for e in c.entries)[:120]
    return write_atomic({Path(folder) / f"compare-{name}.html": render_comparison(c)})
