"""`cxplan alternatives`: each plan is the best one at a distance of at least D from every
earlier plan and within the share of the optimum — held to enumeration on random small
scenarios (tests/random_scenarios.py, sharing no code with cxplan)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import cxplan
from cxplan.whatif.alternatives import alternatives

from conftest import CliRun, ScenarioWriter
from random_scenarios import exact_value, feasible_gains, random_scenario


@pytest.mark.parametrize(("seed", "within", "differ"), [
    (seed, within, differ) for seed, (within, differ) in
    enumerate([(0.05, 1), (0.3, 2), (0.5, 3), (0.1, 1), (0.9, 2), (0.2, 2)])])
def test_each_alternative_is_the_best_at_that_distance(seed: int, within: float,
                                                       differ: int) -> None:
    data = random_scenario(100 + seed)
    found = alternatives(cxplan.load_scenario(data), count=4, within=within, differ=differ)
    every = feasible_gains(data)
    optimum = max(g for g, _ in every)
    floor = optimum - within * abs(optimum)
    earlier: list[frozenset[str]] = []
    for plan in found.plans:
        chosen = frozenset(plan.selected)
        allowed = [(g, s) for g, s in every if g >= floor - 1e-9 * max(1.0, abs(floor))
                   and all(len(s ^ e) >= differ for e in earlier)]
        best = max(g for g, _ in allowed)
        assert plan.expected_gain == pytest.approx(best, rel=1e-6, abs=1e-7)
        assert chosen in {s for _, s in allowed}
        assert plan.status == "optimal"
        earlier.append(chosen)
    if len(found.plans) < 4:  # it stopped because nothing else qualified
        assert found.stopped == "none within"
        assert not [s for g, s in every
                    if g >= floor + 1e-7 * max(1.0, abs(floor))
                    and all(len(s ^ e) >= differ for e in earlier)]


def test_alternatives_json_and_report(write_scenario: ScenarioWriter, tmp_path: Path,
                                      run_main: Any) -> None:
    path = write_scenario(random_scenario(7))
    run: CliRun = run_main("alternatives", path, "--count", "3", "--within", "50%",
                           "--differ", "2", "--json", "--report", tmp_path / "out")
    assert run.exit_code == 0, run.stderr
    result = json.loads(run.stdout)
    plans = result["alternatives"]
    assert len(plans) == 3
    assert set(plans[0]) >= {"selected", "expected_gain", "cost", "status"}
    assert plans[0]["added"] == plans[0]["dropped"] == []
    assert (result["within"], result["differ"]) == (0.5, 2)
    html = next((tmp_path / "out").glob("alternatives-*.html")).read_text()
    assert html.count("<th>plan ") == 3


@pytest.mark.parametrize("args", [["--within", "100%"], ["--within", "x"],
                                  ["--differ", "0"], ["--count", "0"]])
def test_bad_alternatives_options_are_usage_errors(write_scenario: ScenarioWriter,
                                                   run_main: Any, args: list[str]) -> None:
    run: CliRun = run_main("alternatives", write_scenario(random_scenario(1)), *args)
    assert run.exit_code == 2
    assert "Traceback" not in run.output


def test_robust_values_the_alternatives_on_the_fresh_draws(
        uncertain_choice: dict[str, Any], write_scenario: ScenarioWriter, tmp_path: Path,
        run_main: Any) -> None:
    saved = tmp_path / "draws.json"
    run: CliRun = run_main("robust", write_scenario(uncertain_choice), "--samples", "6",
                           "--seed", "1", "--workers", "1", "--json", "--alternatives", "1",
                           "--within", "90%", "--save-samples", saved)
    assert run.exit_code == 0, run.stderr
    result = json.loads(run.stdout)
    (other,) = result["alternatives"]
    assert set(other["selected"]) | set(result["nominal"]["selected"]) == {"queue-app", "sms"}
    fresh = json.loads(saved.read_text())["fresh"]
    gains = []
    for values in fresh:
        drawn = json.loads(json.dumps(uncertain_choice))
        drawn["touchpoints"][1]["failure_probability"] = values[
            "touchpoints[1].failure_probability"]
        gains.append(exact_value(drawn, set(other["selected"])) - exact_value(drawn, set()))
    assert other["out_of_sample"]["mean"] == pytest.approx(sum(gains) / len(gains), rel=1e-9)
