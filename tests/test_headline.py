"""The headline says what the plan changes, in a period, in currency — positive where the
plan helps, whatever the sign of the journey's net value (issue 16, item 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cxplan import build_journey, load_scenario, optimize
from cxplan.report.build import build_view

from conftest import ScenarioFactory
from random_scenarios import random_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def costly_journey(minimal_scenario: ScenarioFactory) -> dict[str, Any]:
    """Failures cost far more than successes are worth: the net value is negative."""
    data = minimal_scenario()
    data["touchpoints"][2]["success_value"] = 1
    return data


def test_the_breakdown_adds_up_to_the_gain_and_counts_what_changes(
        costly_journey: dict[str, Any]) -> None:
    scenario = load_scenario(costly_journey)
    plan = optimize(scenario)
    assert plan.baseline_value < 0 < plan.expected_gain
    b = plan.breakdown
    assert b is not None
    assert b.gain == pytest.approx(plan.expected_gain)
    assert b.failures_avoided > 0 and b.failure_cost_avoided > 0
    # independently: customer-weighted sums of the evaluator's per-touchpoint quantities
    journey = build_journey(scenario)
    before, after = journey.evaluate(()), journey.evaluate(plan.selected)
    failures = [sum(p.customers * float(np.sum(p.failures)) for p in e.personas)
                for e in (before, after)]
    assert (b.failures.before, b.failures.after) == pytest.approx(tuple(failures))
    assert b.success_value.change - b.failure_cost.change == pytest.approx(plan.expected_gain)


@pytest.mark.parametrize("seed", range(8))
def test_the_breakdown_is_the_gain_on_random_scenarios(seed: int) -> None:
    scenario = load_scenario(random_scenario(seed))
    plan = optimize(scenario)
    assert plan.breakdown is not None
    assert plan.breakdown.gain == pytest.approx(plan.expected_gain, abs=1e-6)


def test_the_json_carries_the_breakdown(run_main: Any, costly_journey: dict[str, Any],
                                         write_scenario: Any) -> None:
    done = run_main("plan", write_scenario(costly_journey), "--json", "--no-marginals")
    data = json.loads(done.stdout)
    b = data["breakdown"]
    assert set(b) == {"customers", "failures", "abandonments", "failure_cost",
                      "success_value", "gain"}
    assert set(b["failures"]) == {"before", "after", "change"}
    assert b["gain"] == pytest.approx(data["expected_gain"])


def test_the_summary_and_the_terminal_say_failures_avoided_not_a_negative_value(
        run_main: Any, costly_journey: dict[str, Any], write_scenario: Any) -> None:
    scenario = load_scenario(costly_journey)
    plan = optimize(scenario)
    gain_sentence = build_view(plan, scenario).summary[2]
    b = plan.breakdown
    assert b is not None
    assert gain_sentence.startswith(f"In a period ({b.customers:,.0f} customers), this avoids "
                                    f"{b.failures_avoided:,.0f} of the "
                                    f"{b.failures.before:,.0f} expected failures")
    assert "-" not in gain_sentence.split("a gain of")[1]
    text = run_main("plan", write_scenario(costly_journey), "--no-marginals").stdout
    assert "expected gain USD +" in text and f"({b.failures_avoided:,.0f} avoided)" in text
    assert "net value (successes - cost of failures)" in text


def test_the_report_cards_show_failures_and_their_cost(bundled_plan: Any) -> None:
    from cxplan.report.render import render_html

    plan, scenario = bundled_plan(ROOT / "scenarios" / "restaurant.yaml")
    html = render_html(build_view(plan, scenario))
    assert "<dt>Failures avoided</dt>" in html and "<dt>Cost of failures</dt>" in html
    assert "<dt>Value before</dt>" not in html
