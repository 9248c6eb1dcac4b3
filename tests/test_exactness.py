"""The optimizer is exact: on random small scenarios it matches brute-force enumeration.

Each scenario has 6–10 touchpoints, 8–12 improvements, cycles, dropout, impact and
dropout reductions, 1–3 personas with overrides, a budget, two teams and sometimes
requires / excludes / mandatory. The reference (`random_scenarios.brute_force`) shares
no code with cxplan.
"""

from __future__ import annotations

import pytest

from cxplan import load_scenario, optimize
from cxplan.core.journey import build_journey
from cxplan.errors import InfeasibleError
from cxplan.optimizer import model

from random_scenarios import brute_force, exact_value, feasible, random_scenario

SEEDS = range(200)
TOLERANCE = 1e-6


def _close(a: float, b: float, scale: float = 1.0) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b), scale)


@pytest.mark.parametrize("seed", SEEDS)
def test_optimum_equals_brute_force(seed: int) -> None:
    data = random_scenario(seed)
    reference = brute_force(data)
    scenario = load_scenario(data)
    if reference is None:
        with pytest.raises(InfeasibleError):
            optimize(scenario)
        return
    plan = optimize(scenario)
    assert plan.status == "optimal"
    best_gain, _ = reference
    assert _close(plan.expected_gain, best_gain), (plan.selected, reference)
    # The plan is feasible and its reported numbers are the reference evaluator's.
    chosen = set(plan.selected)
    assert feasible(data, chosen)
    baseline = exact_value(data, set())
    assert _close(plan.baseline_value, baseline)
    assert _close(plan.planned_value, exact_value(data, chosen), abs(baseline))
    assert _close(plan.expected_gain, build_journey(scenario).evaluate(chosen).value - baseline,
                  abs(baseline))
    assert _close(sum(i.gain for i in plan.improvements), plan.expected_gain, abs(baseline))


def dense_touchpoint_scenario(seed: int, improvements: int) -> dict[str, object]:
    """Every improvement hits touchpoint t0, forcing the multi-block chain (> 9 on one)."""
    data = random_scenario(seed)
    imps = data["improvements"]
    assert isinstance(imps, list)
    extra = [
        {"id": f"d{k}", "cost": 3 + k, "effects": [
            {"touchpoint": "t0", "failure_reduction": round(0.05 + 0.07 * k, 3),
             "impact_reduction": 0.1 * (k % 3), "dropout_reduction": 0.15 * (k % 2)}]}
        for k in range(improvements)
    ]
    data["improvements"] = extra
    data["budget"] = sum(e["cost"] for e in extra) * 0.5  # type: ignore[operator]
    data["teams"] = {}
    return data


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("blocking", [model.TIGHT, model.COMPACT, model.Blocking(1, 1)],
                         ids=["tight", "compact", "chain"])
def test_every_blocking_is_exact_on_a_touchpoint_hit_by_many_improvements(
        seed: int, blocking: model.Blocking, monkeypatch: pytest.MonkeyPatch) -> None:
    data = dense_touchpoint_scenario(seed, improvements=11)
    reference = brute_force(data)
    assert reference is not None
    monkeypatch.setattr(model, "choose_blocking", lambda *_: blocking)
    plan = optimize(load_scenario(data))
    assert _close(plan.expected_gain, reference[0])


@pytest.mark.parametrize("seed", range(200, 230))
def test_the_compact_blocking_is_exact_on_random_scenarios(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    data = random_scenario(seed)
    reference = brute_force(data)
    if reference is None:
        return
    monkeypatch.setattr(model, "choose_blocking", lambda *_: model.COMPACT)
    assert _close(optimize(load_scenario(data)).expected_gain, reference[0])
