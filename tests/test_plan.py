"""The plan's suggested order: mandatory first, enablers ranked with what they unlock."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxplan import load_scenario, optimize
from cxplan.plan import Plan

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
