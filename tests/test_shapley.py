"""Shares that add up: each funded improvement's Shapley value.

The value of a coalition is the exact gain of that subset of the plan, constraints
ignored; the references below enumerate every subset with the independent evaluators of
tests/random_scenarios.py and tests/random_roadmaps.py (plain numpy from docs/model.md),
never with cxplan's own coalition code.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cxplan
from cxplan.core import coalitions, shapley
from cxplan.core import journey as journey_module
from cxplan.core.coalitions import CoalitionValues
from cxplan.core.journey import build_journey
from cxplan.errors import InfeasibleError
from cxplan.scenario.models import Scenario

from random_roadmaps import _values, random_roadmap, roadmap_gain
from random_scenarios import exact_value, random_scenario

ROOT = Path(__file__).parents[1]
SEEDS = range(20)


def enumerated_shapley(players: Sequence[str],
                       gain: Callable[[frozenset[str]], float]) -> dict[str, float]:
    """φ_i = Σ_{S ∌ i} |S|! (n − |S| − 1)! / n! × (v(S ∪ {i}) − v(S)), by enumeration."""
    n = len(players)
    value = {frozenset(s): gain(frozenset(s))
             for k in range(n + 1) for s in itertools.combinations(players, k)}
    return {i: sum(math.factorial(len(s)) * math.factorial(n - len(s) - 1) / math.factorial(n)
                   * (value[s | {i}] - value[s]) for s in value if i not in s)
            for i in players}


def close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= 1e-7 * max(1.0, abs(scale))


def scenario_of(seed: int) -> tuple[dict[str, Any], Scenario]:
    data = random_scenario(seed)
    return data, Scenario.model_validate(data)


# -- the coalition values: Woodbury updates equal a full solve ----------------------------


@pytest.mark.parametrize("way", ["dense", "sparse", "evaluations"])
@pytest.mark.parametrize("seed", SEEDS)
def test_every_subset_gain_equals_a_full_evaluation(
        seed: int, way: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if way == "sparse":  # the sparse paths of large journeys, on a small one
        monkeypatch.setattr(journey_module, "DENSE_LIMIT", 0)
    if way == "evaluations":  # k×k updates costlier than evaluating each subset outright
        monkeypatch.setattr(coalitions, "woodbury_seconds", lambda k: 1e9)
    _, scenario = scenario_of(seed)
    journey = build_journey(scenario)
    players = scenario.improvement_ids[:7]
    subsets = np.array(list(itertools.product([False, True], repeat=len(players))))
    game = CoalitionValues(journey, players)
    assert game.updates == (way != "evaluations")
    got = game.gains(subsets)
    base = journey.evaluate(()).value
    for row, value in zip(subsets, got, strict=True):
        chosen = [p for p, member in zip(players, row, strict=True) if member]
        expected = journey.evaluate(chosen).value - base
        assert close(value, expected, expected), (seed, chosen)


# -- exact Shapley values -----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_shapley_values_equal_enumeration_and_add_up_to_the_gain(seed: int) -> None:
    data, scenario = scenario_of(seed)
    players = scenario.improvement_ids[:7]
    base = exact_value(data, set())
    expected = enumerated_shapley(players, lambda s: exact_value(data, set(s)) - base)

    found = shapley.shapley_values(shapley.plan_game(build_journey(scenario), players))

    assert found is not None and found.method == "exact" and found.errors is None
    whole = exact_value(data, set(players)) - base
    for player in players:
        assert close(found.values[player], expected[player], whole), player
    assert close(sum(found.values.values()), whole, whole)


def test_an_improvement_that_changes_nothing_gets_nothing(minimal_scenario: Any) -> None:
    data = minimal_scenario()
    data["improvements"].append({"id": "idle", "cost": 10, "effects": [
        {"touchpoint": "branch", "failure_reduction": 0.0}]})
    scenario = Scenario.model_validate(data)
    found = shapley.shapley_values(shapley.plan_game(build_journey(scenario),
                                                     scenario.improvement_ids))
    assert found is not None
    assert found.values["idle"] == pytest.approx(0.0, abs=1e-9)


def test_two_identical_improvements_share_equally(minimal_scenario: Any) -> None:
    """Symmetry: the first of two equal improvements on one touchpoint takes most of their
    joint effect in the plan's order; their Shapley values are equal."""
    data = minimal_scenario()
    effect = [{"touchpoint": "branch", "failure_reduction": 0.5}]
    data["improvements"] = [{"id": "first", "cost": 10, "effects": effect},
                            {"id": "second", "cost": 10, "effects": effect}]
    scenario = Scenario.model_validate(data)
    plan = cxplan.optimize(scenario)
    by_id = {i.id: i for i in plan.improvements}
    assert by_id["first"].gain != pytest.approx(by_id["second"].gain)
    assert by_id["first"].shapley == pytest.approx(by_id["second"].shapley, rel=1e-12)
    assert by_id["first"].shapley + by_id["second"].shapley == pytest.approx(
        plan.expected_gain, rel=1e-12)


def test_the_listing_order_does_not_change_shapley_values() -> None:
    data, scenario = scenario_of(3)
    reordered = Scenario.model_validate({**data, "improvements": data["improvements"][::-1]})
    players = scenario.improvement_ids[:6]
    first = shapley.shapley_values(shapley.plan_game(build_journey(scenario), players))
    second = shapley.shapley_values(
        shapley.plan_game(build_journey(reordered), players[::-1]))
    assert first is not None and second is not None
    for player in players:
        assert first.values[player] == pytest.approx(second.values[player], rel=1e-9)


# -- sampled Shapley values ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_sampled_values_agree_with_the_exact_ones_within_their_errors(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _, scenario = scenario_of(seed)
    game = shapley.plan_game(build_journey(scenario), scenario.improvement_ids)
    exact = shapley.shapley_values(game)
    monkeypatch.setattr(shapley, "EXACT_LIMIT", 0)
    monkeypatch.setattr(shapley, "MAX_ORDERS", 400)  # the same orders on any machine
    monkeypatch.setattr(shapley, "PRECISION", 0.0)
    sampled = shapley.shapley_values(game, time_budget=60, seed=seed)

    assert exact is not None and sampled is not None and sampled.errors is not None
    assert sampled.method == "sampled" and sampled.orders == 400
    whole = float(game.gains(np.ones((1, len(game.players)), dtype=bool))[0])
    # every sampled order's parts add up to the gain, so their average does too
    assert close(sum(sampled.values.values()), whole, whole)
    for player in game.players:
        # 5 standard errors (plus rounding): a false alarm here is a one-in-a-million event
        assert abs(sampled.values[player] - exact.values[player]) <= (
            5 * sampled.errors[player] + 1e-9 * max(1.0, abs(whole))), player


def test_sampling_is_reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    _, scenario = scenario_of(1)
    game = shapley.plan_game(build_journey(scenario), scenario.improvement_ids)
    monkeypatch.setattr(shapley, "EXACT_LIMIT", 0)
    monkeypatch.setattr(shapley, "MAX_ORDERS", 40)
    monkeypatch.setattr(shapley, "PRECISION", 0.0)
    first = shapley.shapley_values(game, seed=7)
    second = shapley.shapley_values(game, seed=7)
    assert first is not None and second is not None
    assert first.values == second.values and first.orders == second.orders == 40


@pytest.mark.parametrize("seed", range(3))
def test_sampling_stops_once_every_error_is_within_the_precision(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With time to spare, sampling ends when every standard error is at most
    `PRECISION` of the gain rather than at `MAX_ORDERS`."""
    _, scenario = scenario_of(seed)
    game = shapley.plan_game(build_journey(scenario), scenario.improvement_ids)
    monkeypatch.setattr(shapley, "EXACT_LIMIT", 0)
    monkeypatch.setattr(shapley, "MAX_ORDERS", 10**7)
    monkeypatch.setattr(shapley, "PRECISION", 1e-2)
    sampled = shapley.shapley_values(game, time_budget=60, seed=seed)
    assert sampled is not None and sampled.errors is not None
    whole = abs(sum(sampled.values.values()))
    assert shapley.MIN_ORDERS <= sampled.orders < 10**6
    assert max(sampled.errors.values()) <= 1e-2 * whole
    # one player: every order gives it the whole gain, so the first orders settle it
    alone = shapley.plan_game(build_journey(scenario), scenario.improvement_ids[:1])
    single = shapley.shapley_values(alone, time_budget=60)
    assert single is not None and single.orders == shapley.MIN_ORDERS


def test_too_costly_values_are_left_out_with_a_warning(
        minimal_scenario: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = Scenario.model_validate(minimal_scenario())
    plan = cxplan.optimize(scenario)
    assert plan.shapley is not None
    monkeypatch.setattr(shapley, "EXACT_LIMIT", 0)
    plan = shapley.with_shapley(plan, shapley.plan_game(build_journey(scenario),
                                                        plan.selected), time_budget=1e-9)
    assert plan.shapley is None
    assert all(i.shapley is None for i in plan.improvements)
    assert any("Shapley values were not computed" in w for w in plan.warnings)


def test_thousands_of_funded_improvements_are_declined_at_once_not_after_an_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # 1 000 funded on a 2 000-touchpoint journey: an order is 1 001 full evaluations; the
    # estimate says no before the first one (no coalition is evaluated at all)
    from benchmarks.generate import realistic_scenario

    scenario = cxplan.load_scenario(realistic_scenario(4000, seed=0, personas=2))
    journey = build_journey(scenario)
    funded = scenario.improvement_ids[::4]
    game = shapley.plan_game(journey, funded)
    assert not game.parts[0][1].updates  # k×k updates of ~1 000 touchpoints: too costly
    evaluated: list[int] = []
    gains = shapley.Game.gains
    monkeypatch.setattr(shapley.Game, "gains", lambda self, membership: (
        evaluated.append(len(membership)), gains(self, membership))[1])
    assert shapley.shapley_values(game, time_budget=1.0) is None
    assert evaluated == []


# -- in the plan ---------------------------------------------------------------------------


def test_a_roadmap_s_shapley_values_equal_enumeration_of_its_schedule() -> None:
    """A coalition of a roadmap keeps its members' start periods: its value is the
    horizon's discounted gain of that part of the schedule."""
    checked = 0
    for seed in range(40):
        data = random_roadmap(seed)
        try:
            plan = cxplan.optimize(cxplan.load_scenario(data))
        except InfeasibleError:
            continue
        if len(plan.selected) < 2:
            continue  # nothing to share
        schedule = {imp: start for imp, (start, _) in plan.schedule.items()}
        values = _values(data)
        expected = enumerated_shapley(
            list(schedule),
            lambda s, d=data, at=schedule, v=values: roadmap_gain(d, {i: at[i] for i in s}, v))
        assert plan.shapley == {"method": "exact", "orders": 0}
        for imp in plan.improvements:
            assert close(imp.shapley or 0.0, expected[imp.id], plan.expected_gain), (seed, imp)
        assert close(sum(i.shapley or 0.0 for i in plan.improvements), plan.expected_gain,
                     plan.expected_gain)
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("name", ["restaurant", "airline-trip", "microfinance-onboarding"])
def test_plan_json_gives_each_improvement_its_shapley_value(
        name: str, run_main: Any) -> None:
    run = run_main("plan", ROOT / "scenarios" / f"{name}.yaml", "--json", "--no-marginals")
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["shapley"] == {"method": "exact", "orders": 0}
    values = [i["shapley"] for i in data["improvements"]]
    assert all(isinstance(v, float) for v in values)
    assert sum(values) == pytest.approx(data["expected_gain"], rel=1e-9)
    # the order-based gains are still there, and add up too
    assert sum(i["gain"] for i in data["improvements"]) == pytest.approx(
        data["expected_gain"], rel=1e-9)


def test_no_shapley_leaves_them_out(run_main: Any) -> None:
    run = run_main("plan", ROOT / "scenarios" / "restaurant.yaml", "--json", "--no-marginals",
                   "--no-shapley")
    data = json.loads(run.stdout)
    assert data["shapley"] is None
    assert all(i["shapley"] is None for i in data["improvements"])


def test_the_terminal_labels_both_kinds_of_gain(run_main: Any) -> None:
    run = run_main("plan", ROOT / "scenarios" / "restaurant.yaml", "--no-marginals")
    assert run.exit_code == 0
    assert "gain in this order" in run.stdout and "Shapley value" in run.stdout
    assert "both add up to the gain" in run.stdout


def test_reports_show_shapley_values_next_to_the_gain_in_this_order(
        run_main: Any, tmp_path: Path) -> None:
    run = run_main("plan", ROOT / "scenarios" / "restaurant.yaml", "--no-marginals",
                   "--report", tmp_path / "out", "-q")
    assert run.exit_code == 0, run.output
    page = (tmp_path / "out" / "restaurant.html").read_text(encoding="utf-8")
    text = (tmp_path / "out" / "restaurant.md").read_text(encoding="utf-8")
    for shown in (page, text):
        assert "Gain in this order" in shown and "Shapley value" in shown
        assert "(exact)" in shown


# -- pay-back per improvement --------------------------------------------------------------


def test_payback_and_return_on_cost_come_from_the_shapley_values(
        minimal_scenario: Any, run_main: Any, write_scenario: Any) -> None:
    data = minimal_scenario(economics={"value_horizon": 6, "discount_rate": 0.05})
    run = run_main("plan", write_scenario(data), "--json", "--no-marginals")
    assert run.exit_code == 0, run.output
    plan = json.loads(run.stdout)
    annuity = sum(1.05 ** -k for k in range(6))
    assert plan["economics"]["annuity"] == pytest.approx(annuity)
    for imp in plan["improvements"]:
        phi, cost = imp["shapley"], imp["cost"]
        assert imp["return_on_cost"] == pytest.approx((annuity * phi - cost) / cost)
        repaid = [sum(phi * 1.05 ** -j for j in range(k)) for k in range(1, 7)]
        first = next((k + 1 for k, r in enumerate(repaid) if r >= cost), None)
        assert imp["payback_periods"] == first
    run = run_main("plan", write_scenario(data), "--no-marginals")
    assert "pays back" in run.stdout and "return" in run.stdout


def test_without_economics_there_is_no_payback(run_main: Any) -> None:
    run = run_main("plan", ROOT / "scenarios" / "restaurant.yaml", "--json", "--no-marginals")
    data = json.loads(run.stdout)
    assert "economics" not in data
    assert all("payback_periods" not in i for i in data["improvements"])
