"""Self-contained HTML pages and SVG charts for the what-if commands.

As for the plan report, every number and every coordinate is computed here into plain
view objects; the Jinja templates (`templates/whatif_*.j2`) only lay them out, in the one
sandboxed, autoescaping environment of `cxplan.report.render`. Files are written
atomically (`cxplan.files.write_atomic`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxplan.files import write_atomic
from cxplan.report.render import render_template
from cxplan.report.scales import nice_ticks
from cxplan.report.textwidth import fit_lines, text_width
from cxplan.text import format_money, slug
from cxplan.version import __version__
from cxplan.whatif.alternatives import Alternatives
from cxplan.whatif.compare import Comparison
from cxplan.whatif.frontier import Frontier
from cxplan.whatif.sensitivity import Range, Sensitivity, Side

WIDTH, HEIGHT = 760, 380
LEFT, RIGHT, TOP, BOTTOM = 96, 24, 24, 56
TORNADO_LABEL = 300  # at most this wide, the row labels of the tornado chart (they wrap)
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
class Mark:
    """Today's level on the frontier: a vertical line with its label above the plot."""

    x: float
    label: str
    label_x: float
    anchor: str  # text-anchor of the label: kept inside the chart near its edges


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
    today: Mark | None = None  # None: no current level, or outside the levels drawn


CHART_FONT = 12.0  # px: `svg text` in whatif_base.html.j2
Y_LABEL_ROOM = 26  # the rotated y-axis title, left of the tick labels


def frontier_chart(frontier: Frontier) -> LineChart:
    feasible = [p for p in frontier.points if p.outcome is not None]
    levels = [p.level for p in frontier.points]
    values = [p.outcome.objective for p in feasible if p.outcome is not None]
    x_ticks = nice_ticks(min(levels), max(levels))
    y_ticks = nice_ticks(min(values) if values else 0.0, max(values) if values else 1.0)
    is_money = frontier.limit == "budget"
    fmt = (lambda v: money(v, None)) if is_money else amount
    x_labels = [fmt(t) for t in x_ticks]
    y_labels = [money(t, None) for t in y_ticks]
    # room for the longest tick label left of the plot, and half the last one right of it
    left = math.ceil(Y_LABEL_ROOM + 8 + max(text_width(t, CHART_FONT) for t in y_labels))
    right = WIDTH - math.ceil(max(RIGHT, text_width(x_labels[-1], CHART_FONT) / 2 + 4))
    x0, x1 = x_ticks[0], x_ticks[-1]
    y0, y1 = y_ticks[0], y_ticks[-1]
    top, bottom = TOP + 16, HEIGHT - BOTTOM  # above the plot: today's label

    def sx(v: float) -> float:
        return left + (v - x0) / ((x1 - x0) or 1.0) * (right - left)

    def sy(v: float) -> float:
        return bottom - (v - y0) / ((y1 - y0) or 1.0) * (bottom - top)

    points = []
    for p in feasible:
        assert p.outcome is not None
        level = money(p.level, frontier.currency) if is_money else amount(p.level)
        title = f"{frontier.label} {level}: objective {p.outcome.objective:,.0f}"
        if p.knee:
            title += "; plan changes: " + change_text(p.added, p.dropped, frontier.names,
                                                      p.moved)
        points.append(ChartPoint(round(sx(p.level), 2), round(sy(p.outcome.objective), 2),
                                 p.knee, title))
    return LineChart(
        WIDTH, HEIGHT, left, top, right, bottom, tuple(points),
        " ".join(f"{p.x},{p.y}" for p in points),
        tuple(Tick(round(sx(t), 2), label) for t, label in zip(x_ticks, x_labels, strict=True)),
        tuple(Tick(round(sy(t), 2), label) for t, label in zip(y_ticks, y_labels, strict=True)),
        f"{frontier.label} ({frontier.unit})",
        f"objective ({frontier.currency or 'currency'})" if frontier.currency else "objective",
        _today(frontier, sx, x0, x1))


def _today(frontier: Frontier, sx: Callable[[float], float], low: float,
           high: float) -> Mark | None:
    """The mark of today's level, its label kept inside the chart."""
    level = frontier.current
    if level is None or not low <= level <= high:
        return None
    shown = (money(level, frontier.currency) if frontier.limit == "budget"
             else f"{amount(level)} {frontier.unit}")
    label = f"today: {shown}"
    x = sx(level)
    half = text_width(label, CHART_FONT) / 2
    if x - half < 4:
        return Mark(round(x, 2), label, round(x - 2, 2), "start")
    if x + half > WIDTH - 4:
        return Mark(round(x, 2), label, round(x + 2, 2), "end")
    return Mark(round(x, 2), label, round(x, 2), "middle")


def key_name(key: str, names: dict[str, str]) -> str:
    """An improvement's name for its id, or for a roadmap's "id@start" "Name@start"."""
    if key in names:
        return names[key]
    improvement, at, start = key.rpartition("@")
    return f"{names.get(improvement, improvement)}@{start}" if at else key


def change_text(added: Sequence[str], dropped: Sequence[str], names: dict[str, str],
                moved: Sequence[str] = ()) -> str:
    """"+Name, −Name, ~Name": a change of plan in the improvements' names (ids without
    one); on a roadmap "~" marks one that starts in another period."""
    return ", ".join([*(f"+{key_name(i, names)}" for i in added),
                      *(f"−{key_name(i, names)}" for i in dropped),
                      *(f"~{key_name(i, names)}" for i in moved)])


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
            "change": change_text(p.added, p.dropped, frontier.names, p.moved),
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
class BarText:
    """A number written at one end of a tornado bar: outside it where there is room, else
    inside (white)."""

    x: float
    text: str
    anchor: str
    inside: bool


@dataclass(frozen=True)
class TornadoBar:
    label: str  # the first line (kept for templates that draw one line)
    y: float
    x: float
    width: float
    open_low: bool  # unchanged down to the end of the input's domain
    open_high: bool
    low_text: str
    high_text: str
    kind: str
    title: str
    label_lines: tuple[str, ...] = ()  # the label, wrapped to fit the label column
    ends: tuple[BarText, ...] = ()  # the range's ends as "−35 %", "+20 %"
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
    caption: tuple[str, ...] = ()  # the axis title, in lines that fit the chart
    caption_x: float = 0.0
    axis_y: float = 0.0  # baseline of the tick labels


TORNADO_FONT = 12.0  # px of the row labels (`svg text` in whatif_base.html.j2)
END_FONT = 10.5  # px of the numbers at the bars' ends
TORNADO_CAPTION = ("change from today's value with the plan unchanged",
                   "(◂ ▸: to the end of the input's possible values)")
INPUT_WORDS = {"cost": "cost of", "failure_reduction": "failure reduction of",
               "failure_probability": "failure probability of"}


def range_label(s: Sensitivity, r: Range) -> str:
    """"cost of Same-day disbursement": what the range is about, by name."""
    return f"{INPUT_WORDS.get(r.kind, r.kind)} {s.subject_name(r)}"


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
    labels = [range_label(sensitivity, r) for r in rows]
    # the label column: as wide as the longest label, up to TORNADO_LABEL; longer labels wrap
    widest = max((text_width(t, TORNADO_FONT) for t in labels), default=0.0)
    label_width = math.ceil(min(TORNADO_LABEL, widest) + 12)
    wrapped = [fit_lines(t, label_width - 12, TORNADO_FONT, lines=2) for t in labels]
    row = TORNADO_ROW + (12 if any(len(w) > 1 for w in wrapped) else 0)
    ticks_at = [t for t in nice_ticks(low_end, high_end, 6) if low_end <= t <= high_end]
    room = text_width(percent(ticks_at[-1]), TORNADO_FONT) / 2 + 4
    plot_left, right = label_width, WIDTH - max(RIGHT, math.ceil(room))

    def sx(v: float) -> float:
        v = max(low_end, min(high_end, v))
        return plot_left + (v - low_end) / span * (right - plot_left)

    bars = []
    for k, r in enumerate(rows):
        low, high = r.relative
        # an open end: the plan holds to the end of the input's possible values (an end
        # left unproven by a time limit is not drawn as open)
        open_low = r.low.status == "unchanged to the limit"
        open_high = (r.high.status == "unchanged to the limit" or not math.isfinite(high)
                     or high > high_end)
        x0, x1 = sx(low), sx(high if math.isfinite(high) else high_end)
        # Budget slack above today's value: that part of the bar is drawn apart.
        slack_x, slack_width = (sx(0.0), x1 - sx(0.0)) if r.high.budget_slack else (0.0, 0.0)
        solid_x1 = slack_x if r.high.budget_slack else x1
        width = max(solid_x1 - x0, 1.0)
        title = f"{labels[k]}: {percent(low)} … {percent(high)}"
        if r.high.budget_slack:
            title += " (above: budget slack, the plan stops fitting the unspent budget)"
        bars.append(TornadoBar(
            wrapped[k][0], TOP + k * row, round(x0, 2), round(width, 2),
            open_low, open_high, _value_text(r, r.low.inside, sensitivity.currency),
            _value_text(r, r.high.inside, sensitivity.currency) if math.isfinite(
                r.high.inside) else "no limit", r.kind, title, wrapped[k],
            _ends(x0, max(x1, x0 + width), plot_left, right,
                  None if open_low else _end_text(r.low, low),
                  None if open_high else _end_text(r.high, high)),
            round(slack_x, 2), round(max(slack_width, 0.0), 2)))
    ticks = tuple(Tick(round(sx(t), 2), percent(t)) for t in ticks_at)
    axis_y = TOP + len(rows) * row + 16
    caption_x = (plot_left + right) / 2
    caption: tuple[str, ...] = TORNADO_CAPTION
    if any(side.status in UNFINISHED for r in rows for side in (r.low, r.high)):
        caption = (*caption, "?: the search stopped (time budget) before proving this end")
    if any(text_width(line, TORNADO_FONT) / 2 + 4 > min(caption_x, WIDTH - caption_x)
           for line in caption):  # centred under the plot it would stick out: centre it
        caption_x = WIDTH / 2
    return Tornado(WIDTH, axis_y + 8 + 15 * len(caption), label_width, round(sx(0.0), 2),
                   right, row, tuple(bars), ticks, caption, round(caption_x, 2), axis_y)


UNFINISHED = ("time_limit", "unproven")  # statuses of ends the search could not settle


def _end_text(side: Side, relative: float) -> str:
    """"+20 %"; "+20 % ?" where the search stopped before it could prove that end."""
    return percent(relative) + (" ?" if side.status in UNFINISHED else "")


def _ends(x0: float, x1: float, left: float, right: float, low: str | None,
          high: str | None) -> tuple[BarText, ...]:
    """The numbers at the ends of a bar from x0 to x1 in a plot from left to right: outside
    the bar where they fit, else inside it, else left to the tooltip and the table."""
    out = []
    inner = x1 - x0 - 16  # the open-end arrows take about 8 units at each end
    if low is not None:
        w = text_width(low, END_FONT)
        if x0 - 4 - w >= left + 2:
            out.append(BarText(round(x0 - 4, 2), low, "end", False))
        elif w <= inner / (2 if high is not None else 1):
            out.append(BarText(round(x0 + 4, 2), low, "start", True))
            inner -= w + 8
    if high is not None:
        w = text_width(high, END_FONT)
        if x1 + 4 + w <= right - 2:
            out.append(BarText(round(x1 + 4, 2), high, "start", False))
        elif w <= inner:
            out.append(BarText(round(x1 - 4, 2), high, "end", True))
    return tuple(out)


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
                change = change_text(added, dropped, s.names.get("improvement", {}))
                beyond.append(f"{name}: {change}")
            elif side.budget_slack:
                slack = side.inside - r.base
                beyond.append(f"{name}: budget slack only ({money(slack, s.currency)} left "
                              "unspent; beyond it the plan no longer fits, no other plan "
                              "is better)")
        rows.append({
            "label": range_label(s, r), "kind": r.kind.replace("_", " "),
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
    names = s.names.get("improvement", {})
    html = _render("whatif_sensitivity.html.j2", s=s, rows=sensitivity_rows(s), svg=svg,
                   plan=", ".join(key_name(i, names) for i in s.plan.keys))
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
    names = {i.id: i.name for e in c.entries for i in e.plan.improvements}
    rows.append(row("added vs first", [", ".join(names.get(i, i) for i in d.added) or "–"
                                       for d in differences]))
    rows.append(row("dropped vs first", [", ".join(names.get(i, i) for i in d.dropped) or "–"
                                         for d in differences]))
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


# -- alternatives -------------------------------------------------------------------------------

def alternatives_rows(a: Alternatives) -> tuple[list[str], list[dict[str, Any]]]:
    """Column heads (one per plan) and rows for the side-by-side table."""
    heads = [f"plan {k}" for k in range(1, len(a.plans) + 1)]
    teams = sorted({t for p in a.plans for t in p.staff_used})
    rows = [{"label": "expected gain", "values": [money(p.expected_gain, a.currency)
                                                  for p in a.plans]},
            {"label": "cost", "values": [money(p.cost, a.currency) for p in a.plans]}]
    rows += [{"label": f"staff {t}", "values": [amount(p.staff_used.get(t, 0.0))
                                                for p in a.plans]} for t in teams]
    rows += [{"label": "status", "values": [p.status.value for p in a.plans]},
             {"label": "adds vs plan 1", "values": [", ".join(p.added) or "–"
                                                    for p in a.plans]},
             {"label": "drops vs plan 1", "values": [", ".join(p.dropped) or "–"
                                                     for p in a.plans]},
             {"label": "selected", "values": [", ".join(p.selected) or "nothing"
                                              for p in a.plans]}]
    return heads, rows


def write_alternatives(a: Alternatives, folder: str | Path) -> list[Path]:
    heads, rows = alternatives_rows(a)
    html = _render("whatif_alternatives.html.j2", heads=heads, rows=rows, title=a.scenario,
                   within=f"{100 * a.within:g} %", differ=a.differ, stopped=a.stopped)
    return write_atomic({Path(folder) / f"alternatives-{_slug(a.scenario)}.html": html})
