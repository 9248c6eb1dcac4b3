"""The plan's suggested order: mandatory first, enablers ranked with what they unlock."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxplan import load_scenario, optimize
from cxplan.core.results import Plan

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def microfinance_plan() -> Plan:
    return optimize(load_scenario(ROOT / "scenarios" / "microfinance-onboarding.yaml"))


def test_mandatory_improvements_come_first(microfinance_plan: Plan) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "microfinance-onboarding.yaml")
    mandatory = {i.id for i in scenario.improvements if i.mandatory}
    ranks = {i.id: i.rank for i in microfinance_plan.improvements}
    assert mandatory and {i for i, r in ranks.items() if r <= len(mandatory)} == mandatory


def test_a_prerequisite_is_placed_right_before_what_it_unlocks() -> None:
    plan = optimize(load_scenario(ROOT / "scenarios" / "restaurant.yaml"))
    ranks = {i.id: i.rank for i in plan.improvements}
    assert ranks["own-booking-page"] == ranks["guest-newsletter"] - 1


def test_parts_of_the_gain_add_up_and_ranks_are_consecutive(microfinance_plan: Plan) -> None:
    parts = microfinance_plan.improvements
    assert [i.rank for i in parts] == list(range(1, len(parts) + 1))
    assert sum(i.gain for i in parts) == pytest.approx(microfinance_plan.expected_gain)
    assert sum(i.share for i in parts) == pytest.approx(1.0)


@pytest.mark.parametrize("size", [150, 1000])
def test_large_plans_are_ordered_by_estimates_and_their_parts_still_add_up(size: int) -> None:
    # Above 60 selected the order comes from first-order estimates; above 400 the parts are
    # exact per group of consecutive improvements. Either way prerequisites come first and
    # the parts add up to the exact gain of the whole selection.
    import random

    from benchmarks.generate import realistic_scenario
    from cxplan.core.journey import build_journey
    from cxplan.core.ranking import rank
    from cxplan.core.selection import requirement_closure

    scenario = load_scenario(realistic_scenario(size, seed=1))
    journey = build_journey(scenario)
    rng = random.Random(size)
    picked = [i for i in scenario.improvement_ids if rng.random() < 0.5]
    selection = tuple(i for i in scenario.improvement_ids
                      if i in requirement_closure(scenario, picked))
    parts = rank(scenario, journey, selection)
    order = [imp for imp, _ in parts]
    assert sorted(order) == sorted(selection)
    where = {imp: k for k, imp in enumerate(order)}
    for imp in selection:
        for req in scenario.improvement(imp).requires:
            assert where[req] < where[imp]
    gain = journey.evaluate(selection).value - journey.evaluate(()).value
    assert sum(part for _, part in parts) == pytest.approx(gain, rel=1e-9)
