"""The charts' geometry, without a browser: routed map edges keep clear of texts, the
frontier marks today's level, charts name improvements and touchpoints, the tornado and
frontier leave room for their labels. (tests/test_browser.py checks the drawn pages.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cxplan import load_scenario
from cxplan.report.routing import Box, Obstacles, route_edge
from cxplan.report.textwidth import fit_lines, text_width
from cxplan.report.whatif import (
    WIDTH,
    frontier_chart,
    render_frontier,
    render_sensitivity,
    tornado,
)
from cxplan.whatif.frontier import frontier
from cxplan.whatif.sensitivity import sensitivity

ROOT = Path(__file__).parents[1]


def _inside(points: np.ndarray, box: Box) -> bool:
    return bool(((points[:, 0] > box.x0) & (points[:, 0] < box.x1)
                 & (points[:, 1] > box.y0) & (points[:, 1] < box.y1)).any())


def test_an_edge_is_routed_around_a_wall_of_text() -> None:
    # a wall of text between two nodes with a way round only at the bottom of the map,
    # further than any curve bends
    wall = [Box(190, 0, 210, 170)]
    obstacles = Obstacles(400, 190, wall, [(60, 100, 10), (340, 100, 10)])
    route = route_edge((60, 100), 11, (340, 100), 14, obstacles, (0, 1), back=False)
    assert route.routed  # no curve gets past: found on the grid
    assert not any(_inside(route.points, box) for box in wall)
    assert 170 < route.points[:, 1].max() < 190  # round the end of the wall, in the map
    # it starts and ends on the rims of the two nodes
    assert np.hypot(*(route.points[0] - (60, 100))) == pytest.approx(11, abs=0.2)
    assert np.hypot(*(route.points[-1] - (340, 100))) == pytest.approx(14, abs=0.2)


def test_a_clear_edge_stays_a_curve_and_a_blocked_one_still_gets_drawn() -> None:
    obstacles = Obstacles(400, 200, [], [(60, 100, 10), (340, 100, 10)])
    assert not route_edge((60, 100), 11, (340, 100), 14, obstacles, (0, 1), False).routed
    # a closed wall: no way round, the least crossing curve is drawn all the same
    closed = Obstacles(400, 200, [Box(190, 0, 210, 200)], [(60, 100, 10), (340, 100, 10)])
    route = route_edge((60, 100), 11, (340, 100), 14, closed, (0, 1), False)
    assert not route.routed and route.path.startswith("M")


def test_an_edge_keeps_clear_of_other_nodes() -> None:
    obstacles = Obstacles(400, 200, [], [(60, 100, 10), (200, 100, 20), (340, 100, 10)])
    route = route_edge((60, 100), 11, (340, 100), 14, obstacles, (0, 2), False)
    assert (np.hypot(route.points[:, 0] - 200, route.points[:, 1] - 100) > 20).all()


def test_wrapped_lines_fit_their_width_and_keep_every_word() -> None:
    name = "Same-day disbursement to a mobile wallet with a very long qualifier"
    lines = fit_lines(name, 150, 12, lines=5)
    assert " ".join(lines) == name
    assert all(text_width(line, 12) <= 150 for line in lines)
    short = fit_lines(name, 150, 12, lines=2)
    assert len(short) == 2 and short[-1].endswith("…")
    assert text_width("Wm", 12) > text_width("il", 12)


def two_candidates() -> dict[str, Any]:
    return {
        "cxplan": 1, "name": "Charts", "currency": "EUR", "budget": 10,
        "touchpoints": [{"id": "t", "name": "Checkout with a rather long name",
                         "failure_probability": 0.5, "impact": 100}],
        "journey": {"entry": {"t": 1.0}, "edges": []},
        "improvements": [
            {"id": "a", "name": "Redesigned checkout page for mobile phones", "cost": 10,
             "effects": [{"touchpoint": "t", "failure_reduction": 0.5}]},
            {"id": "b", "name": "Live chat on the payment step", "cost": 8,
             "effects": [{"touchpoint": "t", "failure_reduction": 0.3}]},
        ],
    }


def test_the_frontier_marks_todays_budget_and_names_the_changes() -> None:
    scenario = load_scenario(two_candidates())
    result = frontier(scenario, "budget", [0, 5, 10, 20])
    assert result.current == 10 and result.to_dict()["current"] == 10
    chart = frontier_chart(result)
    assert chart.today is not None and chart.today.label == "today: EUR 10"
    x_of = {p.level: p for p in result.points}
    assert x_of[10].outcome is not None
    (at_today,) = [p for p in chart.points if p.title.startswith("budget EUR 10:")]
    assert chart.today.x == pytest.approx(at_today.x)
    html, svg = render_frontier(result)
    assert 'class="today"' in svg
    assert "+Redesigned checkout page for mobile phones" in html  # a name, not "+a"
    assert "+a<" not in html and "+a," not in html
    # a level outside the range drawn: no mark (no budget at all: no budget frontier)
    assert frontier_chart(frontier(scenario, "budget", [12, 20])).today is None


def test_frontier_margins_fit_the_tick_labels() -> None:
    data = two_candidates()
    for imp in data["improvements"]:
        imp["cost"] *= 100_000
    data["budget"] = 1_000_000
    chart = frontier_chart(frontier(load_scenario(data), "budget", [0, 1_000_000, 2_000_000]))
    last = chart.x_ticks[-1]
    assert last.label == "2,000,000"
    assert last.position + text_width(last.label, 12) / 2 <= WIDTH
    assert all(chart.left - 6 - text_width(t.label, 12) >= 26 for t in chart.y_ticks)


def test_the_tornado_names_its_rows_and_fits_its_labels() -> None:
    scenario = load_scenario(two_candidates())
    result = sensitivity(scenario, touchpoints=1)
    chart = tornado(result)
    shown = [" ".join(b.label_lines) for b in chart.bars]
    assert "cost of Redesigned checkout page for mobile phones" in shown
    assert "failure probability of Checkout with a rather long name" in shown
    for bar in chart.bars:
        assert all(text_width(line, 12) <= chart.label_width - 8 for line in bar.label_lines)
        for end in bar.ends:  # numbers at the ends stay in the plot, off the labels
            left = end.x - (text_width(end.text, 10.5) if end.anchor == "end" else 0)
            assert chart.label_width <= left and left + text_width(end.text, 10.5) <= WIDTH
    assert all(text_width(line, 12) / 2 <= min(chart.caption_x, WIDTH - chart.caption_x)
               for line in chart.caption)
    html, _ = render_sensitivity(result)
    assert "cost of Redesigned checkout page for mobile phones" in html


def test_the_comparison_names_what_a_variant_adds_and_drops() -> None:
    from cxplan import optimize
    from cxplan.report.whatif import comparison_rows
    from cxplan.whatif.compare import compare

    base = load_scenario(two_candidates())
    cheaper = two_candidates()
    cheaper["improvements"][0]["cost"] = 20  # 'a' no longer fits: 'b' instead
    variant = load_scenario(cheaper)
    _, rows = comparison_rows(compare([base, variant], [optimize(base), optimize(variant)]))
    values = {r["label"]: r["values"] for r in rows}
    assert values["added vs first"][1] == "Live chat on the payment step"
    assert values["dropped vs first"][1] == "Redesigned checkout page for mobile phones"
