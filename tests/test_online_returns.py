"""The fourth bundled example: an online fashion retailer's returns journey.

A journey of a kind the other examples do not cover (after the sale, with a loop
through the contact centre and a back-stage warehouse step); it is in every test that
reads the bundled scenarios (schema, validation, report map, browser), and these check
what it is there to show.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import cxplan

PATH = Path(__file__).parents[1] / "scenarios" / "online-returns.yaml"


@pytest.fixture(scope="module")
def plan() -> Any:
    return cxplan.optimize(cxplan.load_scenario(PATH))


def test_it_validates_without_warnings(run_main: Any) -> None:
    run = run_main("validate", PATH, "--json")
    assert run.exit_code == 0
    assert json.loads(run.stdout)["problems"] == []


def test_the_plan_is_optimal_and_its_shares_add_up(plan: Any) -> None:
    assert plan.status == "optimal"
    assert plan.cost <= plan.budget
    assert sum(i.shapley for i in plan.improvements) == pytest.approx(plan.expected_gain)
    assert plan.breakdown.failures_avoided > 0 and plan.breakdown.gain == pytest.approx(
        plan.expected_gain)


def test_the_contact_centre_loop_and_the_back_stage_are_in_the_model() -> None:
    scenario = cxplan.load_scenario(PATH)
    journey = cxplan.build_journey(scenario)
    graph = journey.graph("occasional")
    assert graph.has_edge("contact-centre", "return-request")  # the loop back
    assert not next(t for t in scenario.touchpoints if t.id == "inspection").visible
    # exchange-first and store-credit-bonus exclude each other
    assert "store-credit-bonus" in scenario.improvement("exchange-first").excludes


def test_the_expensive_fix_is_left_out_and_explain_says_what_it_would_cost(
        plan: Any, run_main: Any) -> None:
    assert "instant-refund-on-scan" not in plan.selected
    run = run_main("explain", PATH, "instant-refund-on-scan")
    assert run.exit_code == 0, run.output
    assert "not in the optimal plan" in run.stdout
    assert "mandatory" not in run.stdout
    assert "kept out by budget" in run.stdout
