"""Solver behaviour: honest status and gap when stopped early."""

from __future__ import annotations

import random
from typing import Any

import pytest

from cxplan import SolverOptions, load_scenario, optimize

from random_scenarios import feasible


def crowded(seed: int, improvements: int, touchpoints: int) -> dict[str, Any]:
    """Many improvements per touchpoint under budget and staff limits: the hard case."""
    rng = random.Random(seed)
    tps = [{"id": f"t{i}", "failure_probability": round(rng.uniform(0.2, 0.6), 3),
            "impact": round(rng.uniform(10, 100), 1), "dropout": 0.3}
           for i in range(touchpoints)]
    edges = [{"from": f"t{i}", "to": f"t{i + 1}", "probability": 0.9}
             for i in range(touchpoints - 1)]
    edges.append({"from": f"t{touchpoints - 1}", "to": "t0", "probability": 0.3})
    imps = [{"id": f"i{j}", "cost": rng.randint(5, 50), "staff": {"it": rng.randint(0, 3)},
             "effects": [{"touchpoint": f"t{rng.randrange(touchpoints)}",
                          "failure_reduction": round(rng.uniform(0.05, 0.5), 3),
                          "impact_reduction": round(rng.uniform(0, 0.3), 3)}]}
            for j in range(improvements)]
    return {"cxplan": 1, "budget": sum(i["cost"] for i in imps) * 0.3,
            "teams": {"it": improvements // 4}, "touchpoints": tps,
            "journey": {"entry": {"t0": 1.0}, "edges": edges}, "improvements": imps,
            "personas": [{"id": "a", "customers": 1000},
                         {"id": "b", "customers": 300, "entry": {"t2": 1.0}}]}


def test_a_run_stopped_by_its_limit_returns_a_feasible_plan_with_an_honest_gap() -> None:
    data = crowded(0, improvements=50, touchpoints=6)
    plan = optimize(load_scenario(data), options=SolverOptions(time_limit=1.0))
    assert plan.status == "time_limit"
    assert feasible(data, set(plan.selected))
    assert plan.expected_gain > 0
    if plan.bound is not None:  # HiGHS may stop before its first bound on a slow machine
        assert plan.bound >= plan.expected_gain - 1e-6 * abs(plan.expected_gain)
        assert plan.gap == pytest.approx((plan.bound - plan.expected_gain) / plan.expected_gain,
                                         rel=1e-6, abs=1e-9)
    data_json = plan.to_dict()
    assert data_json["status"] == "time_limit"


def test_a_node_limit_stops_like_a_time_limit() -> None:
    data = crowded(1, improvements=30, touchpoints=3)
    full = optimize(load_scenario(data))
    assert full.status == "optimal" and full.gap == 0.0
    limited = optimize(load_scenario(data), options=SolverOptions(node_limit=1))
    assert limited.status == "time_limit"
    assert limited.expected_gain <= full.expected_gain + 1e-6 * full.expected_gain
    # The proven bound holds the true optimum (known here from the full solve).
    assert limited.bound is not None
    assert limited.bound >= full.expected_gain - 1e-6 * full.expected_gain
    assert limited.gap is not None and limited.gap > 0
