"""The Markov evaluator against cases computed by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cxplan import build_journey, load_scenario


def scenario(touchpoints: list[dict[str, Any]], entry: dict[str, float],
             edges: list[dict[str, Any]], improvements: list[dict[str, Any]] | None = None,
             **extra: Any) -> Any:
    return load_scenario({"cxplan": 1, "touchpoints": touchpoints,
                          "journey": {"entry": entry, "edges": edges},
                          "improvements": improvements or [], **extra}, criteria=[
                              "expected_experience"])


def tp(ident: str, p: float = 0.0, impact: float = 0.0, **kw: Any) -> dict[str, Any]:
    return {"id": ident, "failure_probability": p, "impact": impact, **kw}


def test_a_linear_journey_visits_each_touchpoint_once_minus_dropouts() -> None:
    # a -> b with probability 1; a fails 20 % of the time and half of those customers leave.
    sc = scenario([tp("a", 0.2, 10, dropout=0.5), tp("b", 0.1, 30, success_value=100)],
                  {"a": 1.0}, [{"from": "a", "to": "b", "probability": 1.0}])
    outcome = build_journey(sc).evaluate().personas[0]
    assert outcome.visits == pytest.approx([1.0, 0.9])
    assert outcome.failures == pytest.approx([0.2, 0.09])
    assert outcome.dropouts == pytest.approx([0.1, 0.0])
    # E = Σ s (v − F) − c F = 100·(0.9 − 0.09) − 10·0.2 − 30·0.09
    assert outcome.value == pytest.approx(100 * 0.81 - 2.0 - 2.7)


@pytest.mark.parametrize("n,q", [(3, 0.5), (5, 0.9), (2, 0.99)])
def test_a_leaking_cycle_has_the_closed_form_visits_of_a_random_walk(n: int, q: float) -> None:
    # A ring of n touchpoints, each passing on to the next with probability q: starting at
    # t0, touchpoint k is visited Σ_m q^(k + m n) = q^k / (1 − q^n) times in expectation.
    ids = [f"t{k}" for k in range(n)]
    edges = [{"from": ids[k], "to": ids[(k + 1) % n], "probability": q} for k in range(n)]
    sc = scenario([tp(t) for t in ids], {"t0": 1.0}, edges)
    visits = build_journey(sc).evaluate().personas[0].visits
    assert visits == pytest.approx([q**k / (1 - q**n) for k in range(n)], rel=1e-12)


def test_dropout_on_a_loop_shortens_it() -> None:
    # a <-> b loop, each way 0.5; b fails with p = 0.4 and every failing customer leaves.
    # v_a = 1 + 0.5 (1 − 0.4) v_b, v_b = 0.5 v_a  =>  v_a = 1 / (1 − 0.15)
    sc = scenario([tp("a"), tp("b", 0.4, 1.0, dropout=1.0)], {"a": 1.0},
                  [{"from": "a", "to": "b", "probability": 0.5},
                   {"from": "b", "to": "a", "probability": 0.5}])
    outcome = build_journey(sc).evaluate().personas[0]
    assert outcome.visits[0] == pytest.approx(1 / 0.85)
    assert outcome.visits[1] == pytest.approx(0.5 / 0.85)
    assert outcome.abandonment == pytest.approx(0.4 * 0.5 / 0.85)


def test_reductions_of_several_improvements_multiply() -> None:
    imps = [{"id": "x", "cost": 1, "effects": [{"touchpoint": "a", "failure_reduction": 0.5,
                                                  "impact_reduction": 0.5}]},
            {"id": "y", "cost": 1, "effects": [{"touchpoint": "a", "failure_reduction": 0.5}]}]
    sc = scenario([tp("a", 0.4, 10)], {"a": 1.0}, [], imps)
    journey = build_journey(sc)
    # two 50 % failure reductions leave 25 % of p; the impact is halved once.
    assert journey.evaluate(["x", "y"]).personas[0].failures == pytest.approx([0.1])
    assert journey.evaluate(["x", "y"]).value == pytest.approx(-0.1 * 5)
    assert journey.evaluate([]).value == pytest.approx(-4.0)


def test_personas_weight_by_customers_and_override_their_journey() -> None:
    sc = scenario(
        [tp("a", 0.1, 10), tp("b", 0.2, 20)], {"a": 1.0},
        [{"from": "a", "to": "b", "probability": 0.5}],
        personas=[
            {"id": "many", "customers": 100},
            {"id": "direct", "customers": 10, "entry": {"b": 1.0},
             "touchpoints": {"b": {"failure_probability": 0.5}}},
            {"id": "loyal", "customers": 1, "edges": [{"from": "a", "to": "b",
                                                        "probability": 1.0}]},
        ])
    evaluation = build_journey(sc).evaluate()
    many, direct, loyal = evaluation.personas
    assert many.value == pytest.approx(-(0.1 * 10 + 0.5 * 0.2 * 20))
    assert direct.value == pytest.approx(-(0.5 * 20))
    assert loyal.value == pytest.approx(-(0.1 * 10 + 1.0 * 0.2 * 20))
    assert evaluation.value == pytest.approx(100 * many.value + 10 * direct.value + loyal.value)


def test_unreachable_touchpoints_get_no_visits() -> None:
    sc = scenario([tp("a", 0.1, 1), tp("island", 0.5, 100)], {"a": 1.0}, [])
    outcome = build_journey(sc).evaluate().personas[0]
    assert outcome.visits == pytest.approx([1.0, 0.0])
    assert sc.warnings and "unreachable" in sc.warnings[0].message


def test_large_journeys_use_the_sparse_solver_and_agree_with_dense_algebra() -> None:
    n = 400  # above DENSE_LIMIT
    rng = np.random.default_rng(1)
    ids = [f"t{k}" for k in range(n)]
    edges = [{"from": ids[k], "to": ids[(k + 1) % n], "probability": 0.9} for k in range(n)]
    edges += [{"from": ids[k], "to": ids[k // 2], "probability": 0.05} for k in range(2, n)]
    tps = [tp(t, float(rng.uniform(0, 0.3)), 1.0, dropout=0.2) for t in ids]
    sc = scenario(tps, {"t0": 1.0}, edges)
    visits = build_journey(sc).evaluate().personas[0].visits
    p = np.array([t["failure_probability"] for t in tps])
    big_p = np.zeros((n, n))
    for e in edges:
        big_p[int(e["from"][1:]), int(e["to"][1:])] = e["probability"]
    e0 = np.zeros(n)
    e0[0] = 1
    expected = np.linalg.solve(np.eye(n) - (big_p * (1 - 0.2 * p)[:, None]).T, e0)
    assert visits == pytest.approx(expected, rel=1e-9)


def test_first_order_estimates_are_exact_where_retention_does_not_change() -> None:
    # Impact reductions do not change who goes on, so the linear estimate is exact for
    # them; a failure reduction with dropout changes visits downstream and is only close.
    imps = [{"id": "softer", "cost": 1, "effects": [{"touchpoint": "b", "impact_reduction": 0.5}]},
            {"id": "fewer", "cost": 1, "effects": [{"touchpoint": "a", "failure_reduction": 0.3}]}]
    sc = scenario([tp("a", 0.4, 10, dropout=0.5), tp("b", 0.3, 20, success_value=50)],
                  {"a": 1.0}, [{"from": "a", "to": "b", "probability": 0.8}], imps)
    journey = build_journey(sc)
    base = journey.evaluate().value
    estimate = journey.first_order_gains()
    assert estimate["softer"] == pytest.approx(journey.evaluate(["softer"]).value - base)
    assert estimate["fewer"] == pytest.approx(journey.evaluate(["fewer"]).value - base, rel=0.05)
