"""Value after a roadmap's horizon (`horizon.terminal_value`): K more periods of the end
state's value, or a perpetuity, so that late starts are not worthless by construction.

The reference is `random_roadmaps.brute_force_roadmap`, whose `roadmap_gain` adds the
end state's value weighted by `after_horizon_weight` (written from the definition, the
perpetuity as the sum of a geometric series), with no cxplan code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cxplan import SolverOptions, evaluate, load_scenario, optimize
from cxplan.errors import InfeasibleError, ScenarioError

from conftest import CliRun, ScenarioFactory, ScenarioWriter
from random_roadmaps import (
    after_horizon_weight,
    brute_force_roadmap,
    random_roadmap,
    random_roadmap_with_terminal,
    roadmap_gain,
)

TOLERANCE = 1e-6


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


@pytest.mark.parametrize("seed", range(0, 40, 3))
def test_the_plan_says_how_much_value_after_the_horizon_counts(seed: int) -> None:
    """(The optimum itself: tests/test_roadmap.py, against brute force.)"""
    data = random_roadmap_with_terminal(seed)
    scenario = load_scenario(data)
    try:
        plan = optimize(scenario, marginals=False)
    except InfeasibleError:
        pytest.skip("no feasible roadmap")
    horizon = plan.horizon
    assert horizon is not None
    assert horizon["terminal_value"] == data["horizon"]["terminal_value"]
    assert horizon["after_horizon_periods"] == pytest.approx(
        after_horizon_weight(data["horizon"]), rel=1e-12)
    schedule = {imp: start for imp, (start, _) in plan.schedule.items()}
    assert _close(horizon["after_horizon_gain"],
                  roadmap_gain(data, schedule) - roadmap_gain(
                      {**data, "horizon": {**data["horizon"], "terminal_value": None}},
                      schedule))
    assert horizon["idle_end_periods"] == []
    # A schedule of one's own is priced the same way.
    keys = [f"{i}@{s}" for i, s in schedule.items()]
    assert _close(evaluate(scenario, keys).expected_gain, plan.expected_gain)


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_the_lp_first_optimum_with_a_terminal_value_equals_brute_force(seed: int) -> None:
    data = random_roadmap_with_terminal(seed)
    reference = brute_force_roadmap(data)
    if reference is None:
        pytest.skip("no feasible roadmap")
    plan = optimize(load_scenario(data), options=SolverOptions(start_method="relaxation"))
    assert _close(plan.expected_gain, reference[0])


def test_a_terminal_value_changes_the_decision_on_some_roadmaps() -> None:
    """Without one, the last periods start nothing that pays off only later; with one,
    the brute force itself starts things there on some of the random roadmaps."""
    changed = []
    for seed in range(40):
        data = random_roadmap_with_terminal(seed)
        with_value = brute_force_roadmap(data)
        del data["horizon"]["terminal_value"]
        without = brute_force_roadmap(data)
        if with_value is not None and without is not None and with_value[1] != without[1]:
            changed.append(seed)
    assert len(changed) >= 5, changed


def test_the_plan_says_when_value_after_the_horizon_is_not_counted(
        run_main: Callable[..., CliRun], tmp_path: Path) -> None:
    """Seed 28 (two quarters): nothing is funded; i2 would fit in quarter 2, the last, where
    it can never pay off within the horizon. Counting 4 more quarters starts it there."""
    data = random_roadmap(28)
    assert data["horizon"]["periods"] == 2
    path = tmp_path / "roadmap.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    done = run_main("plan", str(path), "--json")
    assert done.exit_code == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["horizon"]["terminal_value"] is None
    assert plan["horizon"]["idle_end_periods"] == ["quarter 2"]
    assert plan["selected"] == []
    text = run_main("plan", str(path), "--report", tmp_path / "report").stdout
    sentence = ("Value after the horizon is not counted, so the last periods start nothing "
                "that would pay off later (quarter 2)")
    assert sentence in " ".join(text.split())
    for page in ("*.html", "*.md"):
        (report,) = (tmp_path / "report").glob(page)
        assert sentence in " ".join(report.read_text(encoding="utf-8").split())

    data["horizon"]["terminal_value"] = 4
    path.write_text(json.dumps(data), encoding="utf-8")
    plan = json.loads(run_main("plan", str(path), "--json").stdout)
    assert plan["schedule"] == {"i2": {"start": 2, "finish": 2}}
    assert plan["horizon"]["terminal_value"] == 4 and plan["horizon"]["idle_end_periods"] == []
    assert plan["horizon"]["after_horizon_gain"] == pytest.approx(plan["expected_gain"])
    text = " ".join(run_main("plan", str(path)).stdout.split())
    assert "expected gain over the horizon and after it" in text
    assert "counted for 4 more quarters of the end state's value" in text


def test_a_perpetuity_needs_a_discount_rate(
        minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter,
        run_main: Callable[..., CliRun]) -> None:
    path = write_scenario(minimal_scenario(horizon={"periods": 3,
                                                    "terminal_value": "perpetuity"}))
    done = run_main("validate", path)
    assert done.exit_code == 2 and "Traceback" not in done.output
    assert "horizon.terminal_value" in done.output
    assert "discount rate above 0" in done.output and "discount_rate" in done.output
    with pytest.raises(ScenarioError):
        load_scenario(minimal_scenario(horizon={"periods": 3, "terminal_value": "perpetuity",
                                                "discount_rate": 0}))
    fine = load_scenario(minimal_scenario(horizon={"periods": 3, "discount_rate": 0.02,
                                                   "terminal_value": "perpetuity"}))
    assert fine.horizon is not None
    assert fine.horizon.after_horizon() == pytest.approx(1.02 ** -2 / 0.02)


@pytest.mark.parametrize("value", ["forever", -1, 2.5, 1201])
def test_a_terminal_value_is_a_number_of_periods_or_perpetuity(
        value: Any, minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter,
        run_main: Callable[..., CliRun]) -> None:
    path = write_scenario(minimal_scenario(horizon={"periods": 3, "terminal_value": value}))
    done = run_main("validate", path)
    assert done.exit_code == 2 and "Traceback" not in done.output
    assert "horizon.terminal_value: the value after the horizon is a whole number of " \
        "periods (0 to 1200) or perpetuity" in done.output
    assert "1 problem found" in done.output
