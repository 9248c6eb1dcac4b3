"""The `robust --report` pages (HTML and Markdown): how often each improvement is in a
draw's optimal plan, the gain distributions of the nominal and robust plans, the regret,
and what to fund for sure and what is a bet. Self-contained like every report: inline SVG,
no script."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cxplan.files import write_atomic
from cxplan.report.render import render_template
from cxplan.report.whatif import money
from cxplan.robustness.analysis import RobustResult
from cxplan.text import slug
from cxplan.version import __version__

SURE = 0.9  # in this share of the draws' optimal plans or more: fund it for sure
NEVER = 0.1  # in at most this share: not now (in between: a bet)
BINS = 12
CHART_WIDTH, CHART_HEIGHT, MARGIN = 720, 220, 40


@dataclass(frozen=True)
class FrequencyRow:
    id: str
    share: float
    low: float
    high: float
    nominal: bool
    robust: bool
    verdict: str  # "for sure", "a bet", "not now"


@dataclass(frozen=True)
class HistogramBar:
    x: float
    y: float
    width: float
    height: float
    plan: str  # "nominal" or "robust"
    title: str


def frequency_rows(result: RobustResult) -> list[FrequencyRow]:
    """Every improvement, most often optimal first, with its verdict."""
    nominal, chosen = set(result.nominal.selected), set(result.robust_in_sample.selected)
    rows = []
    for imp, share in result.frequency.items():
        low, high = share.interval
        verdict = ("for sure" if share.value >= SURE else "not now" if share.value <= NEVER
                   else "a bet")
        rows.append(FrequencyRow(imp, share.value, low, high, imp in nominal, imp in chosen,
                                 verdict))
    return sorted(rows, key=lambda r: (-r.share, r.id))


def histogram(result: RobustResult) -> list[HistogramBar]:
    """The in-sample gains of both plans over shared bins, side by side in each bin."""
    series = {"nominal": result.nominal_in_sample.gains,
              "robust": result.robust_in_sample.gains}
    every = np.concatenate(list(series.values()))
    low, high = float(every.min()), float(every.max())
    if high <= low:
        high = low + max(abs(low) * 1e-6, 1.0)
    edges = np.linspace(low, high, BINS + 1)
    counts = {name: np.histogram(gains, bins=edges)[0] for name, gains in series.items()}
    tallest = max(int(c.max()) for c in counts.values()) or 1
    slot = (CHART_WIDTH - 2 * MARGIN) / BINS
    bars = []
    cur = result.nominal.currency
    for k in range(BINS):
        for j, (name, count) in enumerate(counts.items()):
            height = (CHART_HEIGHT - 2 * MARGIN) * int(count[k]) / tallest
            bars.append(HistogramBar(
                x=MARGIN + k * slot + j * slot / 2, y=CHART_HEIGHT - MARGIN - height,
                width=slot / 2 - 1, height=height, plan=name,
                title=f"{name} plan: {int(count[k])} draws with a gain from "
                      f"{money(float(edges[k]), cur)} to {money(float(edges[k + 1]), cur)}"))
    return bars


def view(result: RobustResult) -> dict[str, Any]:
    data = result.to_dict()
    cur = result.nominal.currency
    rows = frequency_rows(result)
    every = np.concatenate([result.nominal_in_sample.gains, result.robust_in_sample.gains])

    def figures(part: dict[str, float]) -> dict[str, str]:
        return {k: money(v, cur) for k, v in part.items()}

    def out_of_sample(part: dict[str, Any]) -> dict[str, str]:
        low, high = part["ci"]
        return {"mean": money(part["mean"], cur), "low": money(low, cur),
                "high": money(high, cur)}

    return {
        "generated_by": f"cxplan {__version__}", "result": data, "rows": rows,
        "sure": [r.id for r in rows if r.verdict == "for sure"],
        "bets": [r.id for r in rows if r.verdict == "a bet"],
        "nominal_gain": figures(data["nominal"]["gain"]),
        "robust_gain": figures(data["robust"]["gain"]),
        "regret": figures(data["nominal"]["regret"]),
        "out_nominal": out_of_sample(data["nominal"]["out_of_sample"]),
        "out_robust": out_of_sample(data["robust"]["out_of_sample"]),
        "at_means": money(result.nominal.expected_gain, cur),
        "bars": histogram(result), "width": CHART_WIDTH, "height": CHART_HEIGHT,
        "margin": MARGIN, "low": money(float(every.min()), cur),
        "high": money(float(every.max()), cur),
    }


def render_robust(result: RobustResult) -> tuple[str, str]:
    """(HTML, Markdown)."""
    context = view(result)
    return (render_template("robust.html.j2", context),
            render_template("robust.md.j2", context, html=False))


def write_robust(result: RobustResult, folder: str | Path) -> list[Path]:
    html, markdown = render_robust(result)
    name = f"robust-{slug(result.scenario, 'scenario')}"
    return write_atomic({Path(folder) / f"{name}.html": html,
                         Path(folder) / f"{name}.md": markdown})
