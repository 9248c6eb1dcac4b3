"""Pay-back (issue 16): `economics:` says for how long a gain counts and at what discount;
the `net_value` criterion funds only what pays back within it, exactly."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from cxplan import load_scenario, optimize
from cxplan.errors import ScenarioError
from cxplan.scenario.models import Economics

from conftest import ScenarioFactory
from random_scenarios import feasible_gains, random_scenario


def annuity(horizon: int, rate: float) -> float:
    return sum((1 + rate) ** -(k - 1) for k in range(1, horizon + 1))


def test_the_annuity_counts_the_first_period_undiscounted() -> None:
    assert Economics(value_horizon=1).annuity() == 1.0
    assert Economics(value_horizon=4, discount_rate=0.1).annuity() == pytest.approx(
        1 + 1 / 1.1 + 1 / 1.1**2 + 1 / 1.1**3)


@pytest.mark.parametrize(("gain", "cost", "periods"), [
    (100, 250, 3.0), (100, 300, 3.0), (100, 301, 4.0), (100, 0, 0.0), (100, 1001, None),
    (0, 10, None)])
def test_the_payback_period_is_the_first_whose_gains_repay_the_cost(
        gain: float, cost: float, periods: float | None) -> None:
    assert Economics(value_horizon=10).payback_periods(gain, cost) == periods


def with_economics(seed: int) -> dict[str, Any]:
    """A random scenario whose improvements do not all pay back: costs scaled up, a
    value horizon and a discount rate drawn, and no budget left unbinding on purpose."""
    rng = random.Random(1000 + seed)
    data = copy.deepcopy(random_scenario(seed))
    data["economics"] = {"value_horizon": rng.randint(1, 6),
                         "discount_rate": rng.choice([0.0, 0.05, 0.2])}
    for imp in data["improvements"]:
        imp["cost"] = round(imp["cost"] * rng.uniform(0.5, 40), 2)
    if rng.random() < 0.5:
        data.pop("budget", None)
    return data


@pytest.mark.parametrize("seed", range(30))
def test_net_value_plans_equal_brute_force(seed: int) -> None:
    data = with_economics(seed)
    data["criteria"] = {"net_value": 1}
    a = annuity(data["economics"]["value_horizon"], data["economics"]["discount_rate"])
    costs = {imp["id"]: imp["cost"] for imp in data["improvements"]}
    options = feasible_gains(data)
    if not options:
        pytest.skip("no feasible plan")
    best = max(a * gain - sum(costs[i] for i in chosen) for gain, chosen in options)
    plan = optimize(load_scenario(data))
    net = plan.criteria["net_value"].value
    assert net == pytest.approx(best, rel=1e-6, abs=1e-6)
    assert net == pytest.approx(a * plan.expected_gain - plan.cost, rel=1e-9, abs=1e-9)


def test_net_value_leaves_budget_unspent_when_nothing_more_pays_back(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(budget=1_000_000, personas=[{"id": "all", "customers": 100}])
    by_gain = optimize(load_scenario(data))
    assert set(by_gain.selected) == {"queue-app", "sms"}  # everything fits the budget
    # one period of value: sms (cost 50) gains less than that in a period, queue-app more
    net = optimize(load_scenario({**data, "criteria": {"net_value": 1},
                                  "economics": {"value_horizon": 1}}))
    assert net.selected == ("queue-app",)
    sms_alone = optimize(load_scenario(data), budget=50)
    assert sms_alone.selected == ("sms",) and sms_alone.expected_gain < 50
    assert net.cost == 300 and net.budget == 1_000_000  # budget left unspent


@pytest.mark.parametrize(("extra", "says"), [
    ({}, "net_value needs `economics:`"),
    ({"economics": {"value_horizon": 4},
      "horizon": {"periods": 4}}, "a roadmap already counts its value period by period"),
    ({"economics": {"value_horizon": 0}}, "economics.value_horizon"),
    ({"economics": {"value_horizon": 4, "discount_rate": 1.5}}, "economics.discount_rate"),
])
def test_net_value_without_a_sound_economics_section_is_a_scenario_error(
        minimal_scenario: ScenarioFactory, extra: dict[str, Any], says: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(minimal_scenario(criteria={"net_value": 1}, **extra))
    assert any(says in p.format() for p in caught.value.problems), caught.value.problems
