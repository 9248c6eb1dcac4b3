"""The journey map, the routes and the assumptions: numbers equal the chain's, layout sane,
every bundled scenario's HTML report valid."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import html5lib
import numpy as np
import pytest

import cxplan
from cxplan.core.results import Plan
from cxplan.report import ReportView, build_view, render_html
from cxplan.report.journeymap import (
    MAP_LIMIT,
    MAX_RADIUS,
    compact_number,
    probability_text,
    slots_per_row,
    wrap_label,
)
from cxplan.scenario import Scenario

from conftest import BundledPlan

ROOT = Path(__file__).parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def loop_scenario(**extra: Any) -> dict[str, Any]:
    """Four touchpoints with a retry loop, two personas with their own edges and numbers."""
    data: dict[str, Any] = {
        "cxplan": 1, "name": "Loop", "currency": "EUR",
        "stages": ["find", "buy", "keep"],
        "budget": 100, "teams": {"ops": 2},
        "personas": [
            {"id": "new", "customers": 300},
            {"id": "old", "customers": 100, "entry": {"shop": 1.0},
             "edges": [{"from": "shop", "to": "pay", "probability": 0.9}],
             "touchpoints": {"pay": {"failure_probability": 0.4}}},
        ],
        "touchpoints": [
            {"id": "ad", "stage": "find", "channel": "web", "failure_probability": 0.3,
             "impact": 5, "dropout": 0.5},
            {"id": "shop", "stage": "buy", "channel": "web", "failure_probability": 0.2,
             "impact": 20, "dropout": 0.3, "moment_of_truth": True},
            {"id": "pay", "stage": "buy", "channel": "web", "failure_probability": 0.25,
             "impact": 30, "dropout": 0.6, "success_value": 50},
            {"id": "check", "stage": "buy", "channel": "web", "failure_probability": 0.1,
             "impact": 10, "dropout": 0.2, "visible": False},
            {"id": "club", "stage": "keep", "channel": "mail", "failure_probability": 0.1,
             "impact": 1, "success_value": 20},
        ],
        "journey": {"entry": {"ad": 0.8, "shop": 0.2},
                    "edges": [{"from": "ad", "to": "shop", "probability": 0.7},
                              {"from": "shop", "to": "pay", "probability": 0.6},
                              {"from": "pay", "to": "check", "probability": 1.0},
                              {"from": "check", "to": "shop", "probability": 0.3},
                              {"from": "check", "to": "club", "probability": 0.5}]},
        "improvements": [
            {"id": "easy-pay", "cost": 40, "staff": {"ops": 1},
             "effects": [{"touchpoint": "pay", "failure_reduction": 0.5,
                          "dropout_reduction": 0.2}]},
            {"id": "better-ad", "cost": 30,
             "effects": [{"touchpoint": "ad", "failure_reduction": 0.4,
                          "impact_reduction": 0.5}]},
            {"id": "gold", "cost": 90,
             "effects": [{"touchpoint": "shop", "failure_reduction": 0.9}]},
        ],
    }
    data.update(extra)
    return data


@pytest.fixture(scope="module")
def loop() -> tuple[Plan, Scenario, ReportView]:
    scenario = cxplan.load_scenario(loop_scenario())
    plan = cxplan.optimize(scenario)
    return plan, scenario, build_view(plan, scenario)


# -- the map ------------------------------------------------------------------------------


def test_map_nodes_carry_the_evaluated_numbers(loop: tuple[Plan, Scenario, ReportView]) -> None:
    plan, scenario, view = loop
    m = view.journey_map
    assert m is not None and plan.evaluation is not None and plan.baseline is not None
    assert [n.id for n in m.nodes] == [tp.id for tp in scenario.touchpoints]
    visits = plan.evaluation.weighted("visits")
    losses0, losses1 = plan.baseline.weighted("losses"), plan.evaluation.weighted("losses")
    for k, node in enumerate(m.nodes):
        assert node.visits_after == pytest.approx(visits[k])
        assert (node.loss_before, node.loss_after) == pytest.approx((losses0[k], losses1[k]))
        assert node.visits_after == pytest.approx(view.touchpoints[k].planned_visits)
    # area follows visits: ordering by radius is ordering by visits
    by_visits = sorted(m.nodes, key=lambda n: n.visits_after)
    assert [n.r for n in by_visits] == sorted(n.r for n in by_visits)
    assert max(n.r for n in m.nodes) == pytest.approx(MAX_RADIUS)
    # shading follows loss, with one scale for before and after
    pairs = sorted((loss, shade) for n in m.nodes for loss, shade in (
        (n.loss_before, n.shade_before), (n.loss_after, n.shade_after)))
    assert [s for _, s in pairs] == sorted(s for _, s in pairs)
    # what the reader is told about each touchpoint
    shop = next(n for n in m.nodes if n.id == "shop")
    check = next(n for n in m.nodes if n.id == "check")
    assert shop.moment_of_truth and not check.front
    assert [c.name for c in m.columns] == ["find", "buy", "keep"]
    assert [(lane.name, lane.front) for lane in m.lanes] == [
        ("web", True), ("mail", True), ("web", False)]
    assert m.visibility_y is not None
    assert all(lane.y > m.visibility_y for lane in m.lanes if not lane.front)
    assert all(lane.y + lane.height < m.visibility_y for lane in m.lanes if lane.front)
    # every funded improvement is attached, by rank, to each touchpoint it acts on
    badges = {(n.id, b.id) for n in m.nodes for b in n.badges}
    for row in view.plan:
        for effect in scenario.improvement(row.id).effects:
            assert (effect.touchpoint, row.id) in badges


def test_map_layout_is_inside_the_frame_and_nodes_do_not_touch(
    loop: tuple[Plan, Scenario, ReportView]
) -> None:
    m = loop[2].journey_map
    assert m is not None
    for n in m.nodes:
        assert m.columns[0].x <= n.x - n.r and n.x + n.r <= m.width
        assert n.y - n.r >= 0 and n.loss_y <= m.height
    for a, b in itertools.combinations(m.nodes, 2):
        assert math.hypot(a.x - b.x, a.y - b.y) >= 2 * MAX_RADIUS + 10


def test_map_edges_weight_the_personas_by_customers_and_visits(
    loop: tuple[Plan, Scenario, ReportView]
) -> None:
    plan, _, view = loop
    m = view.journey_map
    assert m is not None and plan.evaluation is not None
    new, old = plan.evaluation.personas
    edges = {(e.source, e.target): e for e in m.edges}
    assert set(edges) == {("ad", "shop"), ("shop", "pay"), ("pay", "check"), ("check", "shop"),
                          ("check", "club")}
    shop = 1
    expected = ((300 * new.visits[shop] * 0.6 + 100 * old.visits[shop] * 0.9)
                / (300 * new.visits[shop] + 100 * old.visits[shop]))
    assert edges[("shop", "pay")].probability == pytest.approx(expected)
    assert edges[("pay", "check")].probability == pytest.approx(1.0)
    assert edges[("check", "shop")].back and not edges[("shop", "pay")].back
    assert edges[("pay", "check")].label == "100 %"
    widths = sorted((e.flow, e.width) for e in m.edges)
    assert [w for _, w in widths] == sorted(w for _, w in widths)


def test_the_map_is_deterministic(loop: tuple[Plan, Scenario, ReportView]) -> None:
    plan, scenario, view = loop
    again = build_view(plan, scenario)
    assert again.journey_map == view.journey_map
    assert render_html(again) == render_html(view)


def test_wide_stages_wrap_into_rows_instead_of_shrinking_the_map() -> None:
    data = loop_scenario()
    for k in range(6):  # eight touchpoints side by side in one stage and lane
        data["touchpoints"].append({"id": f"extra{k}", "stage": "buy", "channel": "web",
                                    "failure_probability": 0.1, "impact": 1})
        data["journey"]["edges"].append({"from": "club", "to": f"extra{k}",
                                         "probability": 0.1})
    scenario = cxplan.load_scenario(data)
    m = build_view(cxplan.optimize(scenario), scenario).journey_map
    assert m is not None
    assert m.width <= 118 + 6 * 164 + 8
    buy = [n for n in m.nodes if n.stage == "buy" and n.front]
    assert len({n.y for n in buy}) == 2


def test_wrapping_always_ends_within_the_width() -> None:
    for fullest in itertools.product(range(1, 13), repeat=3):
        per_row = slots_per_row(list(fullest), limit=4)
        assert sum(per_row) <= 4 or all(p == 1 for p in per_row)
        assert all(1 <= p <= f for p, f in zip(per_row, fullest, strict=True))
    assert slots_per_row([6, 1, 1, 1, 1]) == [2, 1, 1, 1, 1]  # 2 per row, not stuck at it


def test_a_journey_too_large_to_draw_gets_no_map() -> None:
    data = loop_scenario(personas=None)
    del data["personas"]
    for k in range(MAP_LIMIT):
        data["touchpoints"].append({"id": f"t{k}", "failure_probability": 0.01, "impact": 1})
    scenario = cxplan.load_scenario(data)
    view = build_view(cxplan.optimize(scenario), scenario)
    assert view.journey_map is None
    assert "too many to draw as a map" in render_html(view)


def test_label_helpers() -> None:
    assert wrap_label("Fare search and offer") == ("Fare search and offer",)
    assert wrap_label("Application and document hand-in") == ("Application and document",
                                                              "hand-in")
    long = wrap_label("Alternative data credit scoring with the national bureau and more")
    assert len(long) == 2 and long[-1].endswith("…") and all(len(s) <= 24 for s in long)
    assert wrap_label("Supercalifragilisticexpialidocious-and-then-some-more-words") == (
        "Supercalifragilisticexpi", "alidocious-and-then-som…")
    assert compact_number(0) == "0"
    assert compact_number(12345) == "12.3k"
    assert compact_number(999_999) == "1M"
    assert compact_number(-2_500_000) == "-2.5M"
    assert compact_number(150) == "150"
    assert compact_number(0.123) == "0.12"
    assert probability_text(0.6) == "60 %"
    assert probability_text(0.025) == "2.5 %"
    assert probability_text(0.0001) == "< 0.1 %"


# -- routes -------------------------------------------------------------------------------


def _paths(scenario: Scenario, selection: tuple[str, ...], persona: int) -> list[tuple[
        list[int], float, str]]:
    """Every simple path with its probability of being lived exactly and its ending."""
    journey = cxplan.build_journey(scenario)
    chain = journey.personas[persona]
    mf, _, md = journey.multipliers(selection)
    p, d = chain.failure * mf, chain.dropout * md
    dense = chain.transition.toarray()
    n = len(p)
    found: list[tuple[list[int], float, str]] = []

    def walk(path: list[int], prob: float) -> None:
        t = path[-1]
        found.append((path, prob * p[t] * d[t], f"abandon {t}"))
        found.append((path, prob * (1 - p[t] * d[t]) * (1 - dense[t].sum()), "complete"))
        for u in range(n):
            if dense[t, u] > 0 and u not in path:
                walk([*path, u], prob * (1 - p[t] * d[t]) * dense[t, u])

    for s in range(n):
        if chain.entry[s] > 0:
            walk([s], chain.entry[s])
    return found


def test_routes_are_the_most_likely_paths_by_brute_force(
    loop: tuple[Plan, Scenario, ReportView]
) -> None:
    plan, scenario, view = loop
    ids = [tp.id for tp in scenario.touchpoints]
    assert plan.selected
    for q, routes in enumerate(view.routes):
        for selection, success, rows in (
                ((), routes.success_before, [(a.id, a.route_before) for a in routes.abandonment]),
                (plan.selected, routes.success_after,
                 [(a.id, a.route_after) for a in routes.abandonment])):
            paths = _paths(scenario, selection, q)
            best_complete = max((x for x in paths if x[2] == "complete"), key=lambda x: x[1])
            assert success is not None
            assert success.probability == pytest.approx(best_complete[1], rel=1e-9)
            assert list(success.ids) == [ids[i] for i in best_complete[0]]
            for tp_id, route in rows:
                ending = f"abandon {ids.index(tp_id)}"
                best = max((x for x in paths if x[2] == ending), key=lambda x: x[1])
                assert route is not None
                assert route.probability == pytest.approx(best[1], rel=1e-9)
                assert list(route.ids) == [ids[i] for i in best[0]]


def test_abandonment_places_are_the_chains_dropouts(
    loop: tuple[Plan, Scenario, ReportView]
) -> None:
    plan, _, view = loop
    assert plan.baseline is not None and plan.evaluation is not None
    for routes, before, after, persona in zip(view.routes, plan.baseline.personas,
                                              plan.evaluation.personas, plan.personas,
                                              strict=True):
        assert len(routes.abandonment) == 3
        likeliest = sorted(range(len(before.dropouts)),
                           key=lambda t: -max(before.dropouts[t], after.dropouts[t]))[:3]
        ids = [row.id for row in routes.abandonment]
        assert ids == [view.touchpoints[t].id for t in likeliest]
        for row in routes.abandonment:
            k = [t.id for t in view.touchpoints].index(row.id)
            assert (row.before, row.after) == pytest.approx((before.dropouts[k],
                                                             after.dropouts[k]))
            assert row.route_before is not None
            assert row.route_before.probability <= row.before * (1 + 1e-9)
        entered = 1.0  # both personas' entries sum to 1
        assert routes.completion_before == pytest.approx(entered - persona.baseline_abandonment)
        assert routes.completion_after == pytest.approx(entered - persona.planned_abandonment)


# -- assumptions --------------------------------------------------------------------------


def _gain(data: dict[str, Any], selection: tuple[str, ...]) -> float:
    return cxplan.evaluate(cxplan.load_scenario(data), selection).expected_gain


def test_assumptions_agree_with_changing_the_scenario_itself(
    loop: tuple[Plan, Scenario, ReportView]
) -> None:
    plan, _, view = loop
    assert view.assumptions
    changes = [abs(a.gain_change) for a in view.assumptions]
    assert changes == sorted(changes, reverse=True)
    checked = 0
    for a in view.assumptions:
        data = loop_scenario()
        if a.kind == "touchpoint":
            key = {"failure probability": "failure_probability", "impact": "impact",
                   "dropout": "dropout", "success value": "success_value"}[a.parameter]
            tp = next(t for t in data["touchpoints"] if t["id"] == a.subject_id)
            tp[key] = min(tp.get(key, 0) * 1.1, 1.0) if key in ("failure_probability",
                                                                 "dropout") else tp[key] * 1.1
            for persona in data["personas"]:
                override = (persona.get("touchpoints") or {}).get(a.subject_id, {})
                if key in override:
                    override[key] = min(override[key] * 1.1, 1.0)
        else:
            imp = next(i for i in data["improvements"] if i["id"] == a.subject_id)
            key = a.parameter.split(" at ")[0].replace(" ", "_")
            imp["effects"][0][key] *= 0.9
        gain = _gain(data, plan.selected)
        assert a.gain_change == pytest.approx(gain - plan.expected_gain, rel=1e-7, abs=1e-6)
        assert a.gain_change_share == pytest.approx(a.gain_change / plan.expected_gain)
        checked += 1
    assert checked == len(view.assumptions)


# -- valid HTML for every bundled scenario ------------------------------------------------


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_bundled_reports_are_valid_html(path: Path, bundled_plan: BundledPlan) -> None:
    view = build_view(*bundled_plan(path))
    html = render_html(view)
    # html5lib is the WHATWG parsing algorithm; strict mode raises on every parse error
    # (misnested or stray tags, bad attributes, duplicate attributes, text where the
    # content model forbids it), which is what a browser would silently repair.
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    document = parser.parse(html)
    ids = [el.get("id") for el in document.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids"
    svg = "{http://www.w3.org/2000/svg}"
    maps = [el for el in document.iter(f"{svg}svg") if "journey-map" in el.get("class", "")]
    assert len(maps) == 1
    assert maps[0].get("role") == "img" and maps[0].find(f"{svg}desc") is not None
    assert view.journey_map is not None
    assert len(maps[0].findall(f".//{svg}g[@class]")) >= len(view.journey_map.nodes)
    for table in document.iter("table"):
        assert table.find("thead") is not None
    assert np.isfinite([n.x for n in view.journey_map.nodes]).all()
