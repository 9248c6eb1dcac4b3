"""The MIP start: always feasible, and close to the optimum on realistic journeys."""

from __future__ import annotations

import pytest

from cxplan import load_scenario
from cxplan.api import prepare
from cxplan.optimizer.greedy import batched_greedy, greedy_plan

from random_scenarios import brute_force, feasible, random_scenario


@pytest.mark.parametrize("seed", range(30))
def test_every_start_is_feasible_and_never_beats_the_optimum(seed: int) -> None:
    data = random_scenario(seed)
    reference = brute_force(data)
    if reference is None:
        return  # infeasible scenarios have no start; covered by the exactness tests
    prepared = prepare(load_scenario(data))
    scenario, journey = prepared.scenario, prepared.journey
    base = journey.evaluate(()).value
    starts = {
        "exact": greedy_plan(scenario, prepared.objective),
        "estimated": prepared.greedy(5.0),
        "batched": batched_greedy(scenario, journey.first_order_gains, batches=3),
    }
    for name, start in starts.items():
        assert start is not None, name
        assert feasible(data, set(start)), name
        gain = journey.evaluate(start).value - base
        assert gain <= reference[0] + 1e-6 * max(1.0, abs(reference[0])), name


def test_the_start_reaches_most_of_the_optimum_on_a_realistic_backlog() -> None:
    from benchmarks.generate import realistic_scenario
    from cxplan import optimize

    scenario = load_scenario(realistic_scenario(100, seed=3))
    prepared = prepare(scenario)
    start = prepared.greedy(5.0)
    assert start is not None
    optimum = optimize(scenario).expected_gain
    assert prepared.objective(start) >= 0.95 * optimum
