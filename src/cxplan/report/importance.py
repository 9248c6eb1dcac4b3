"""The `cxplan importance --report` page: removal effects as a bar chart (inline SVG) and
a table, customer-weighted and per persona."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cxplan.core.importance import Importance
from cxplan.files import write_atomic
from cxplan.report.render import render_template
from cxplan.report.scales import nice_ticks
from cxplan.text import format_money, slug
from cxplan.version import __version__

WIDTH, LABEL, RIGHT, TOP, ROW, BOTTOM = 760, 300, 70, 12, 24, 44
LABEL_CHARS = 44


@dataclass(frozen=True)
class Bar:
    label: str
    title: str
    y: float
    width: float
    text: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    right: int
    row: int
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]


def removal_chart(result: Importance) -> BarChart:
    """One bar per reached touchpoint, largest removal effect first, on a 0..max scale."""
    rows = sorted((t for t in result.touchpoints if t.reach > 0),
                  key=lambda t: -t.removal_effect)
    top = max([t.removal_effect for t in rows] + [1e-12])
    span = WIDTH - RIGHT - LABEL
    bars = []
    for k, t in enumerate(rows):
        label = t.name if len(t.name) <= LABEL_CHARS else t.name[:LABEL_CHARS - 1] + "…"
        bars.append(Bar(label, f"{t.name}: removal effect {t.removal_effect:.1%}",
                        TOP + k * ROW, round(max(t.removal_effect / top * span, 0.5), 2),
                        f"{t.removal_effect:.1%}"))
    ticks = tuple((round(LABEL + v / top * span, 2), f"{v:.0%}")
                  for v in nice_ticks(0.0, top, 5) if 0 <= v <= top)
    return BarChart(WIDTH, TOP + len(rows) * ROW + BOTTOM, LABEL, WIDTH - RIGHT, ROW,
                    tuple(bars), ticks)


def render_importance(result: Importance, currency: str | None) -> str:
    """The page's HTML."""
    chart = removal_chart(result)
    svg = render_template("importance_chart.svg.j2", {"chart": chart,
                                                      "title": result.scenario})
    rows = sorted(result.touchpoints, key=lambda t: -t.removal_effect)
    return render_template("importance.html.j2", {
        "generated_by": f"cxplan {__version__}", "r": result, "svg": svg, "rows": rows,
        "money": lambda v: format_money(v, currency)})


def write_importance(result: Importance, currency: str | None, folder: str | Path
                     ) -> list[Path]:
    """Write `<scenario>-importance.html` into `folder`, atomically."""
    target = Path(folder) / f"{slug(result.scenario, 'scenario')}-importance.html"
    return write_atomic({target: render_importance(result, currency)})
