"""cxplan-nps, as installed: the `nps` criterion, its scenario section and its report section.

Written with cxplan's testing kit (`cxplan.testing`: a plugin manager with this plugin,
the exactness check, the command line) and the plugin API only.
"""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import yaml

from cxplan.plugin_api import (
    PluginManager,
    ScenarioError,
    build_journey,
    evaluation_context,
    load_scenario,
    optimize,
    write_reports,
)
from cxplan.testing import CliRunner, assert_criterion_exact, plugin_manager

# Every test runs with a plugin manager of its own: the built-ins and this plugin.
pytestmark = [pytest.mark.cxplan_plugins("cxplan_nps"), pytest.mark.usefixtures("cxplan_plugins")]

# ad -> branch; branch is surveyed. Answers after a problem at the branch: net −0.9;
# without one: net +0.3.
SURVEY = {"failed": {"promoters": 0, "passives": 1, "detractors": 9},
          "passed": {"promoters": 5, "passives": 3, "detractors": 2}}
SCENARIO: dict[str, Any] = {
    "cxplan": 1, "budget": 100,
    "touchpoints": [
        {"id": "ad", "failure_probability": 0.2, "impact": 1, "dropout": 0.5},
        {"id": "branch", "failure_probability": 0.5, "impact": 10},
        {"id": "account", "failure_probability": 0.1, "impact": 50}],
    "journey": {"entry": {"ad": 1.0}, "edges": [
        {"from": "ad", "to": "branch", "probability": 1.0},
        {"from": "branch", "to": "account", "probability": 0.8}]},
    "improvements": [
        {"id": "queue", "cost": 60, "effects": [{"touchpoint": "branch",
                                                 "failure_reduction": 0.5}]},
        {"id": "kyc", "cost": 60, "effects": [{"touchpoint": "account",
                                               "failure_reduction": 0.9}]},
        {"id": "ads", "cost": 40, "effects": [{"touchpoint": "ad", "failure_reduction": 1.0}]},
    ],
    "extensions": {"nps": {"touchpoints": {"branch": SURVEY}}},
}


def scenario(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SCENARIO)
    data.update(copy.deepcopy(changes))
    return data


def test_the_plugin_is_installed_under_the_cxplan_entry_point_group() -> None:
    (ep,) = [ep for ep in entry_points(group="cxplan") if ep.name == "nps"]
    assert ep.value == "cxplan_nps"
    assert "nps" in plugin_manager(installed=True).criteria_names()


def test_the_model_term_is_exact_on_every_sampled_plan(cxplan_plugins: PluginManager) -> None:
    loaded = load_scenario(scenario(criteria={"nps": 1}))
    checked = assert_criterion_exact("nps", loaded)
    # every feasible plan: the budget of 100 fits each one and ads with either other
    assert sorted(checked) == sorted([(), ("queue",), ("kyc",), ("ads",), ("queue", "ads"),
                                      ("kyc", "ads")])


def test_nps_moves_each_expected_failure_from_the_passed_to_the_failed_score() -> None:
    # Without dropout at ad, everyone reaches the branch: net per visit 0.3 − p × 1.2.
    # Halving p from 0.5 to 0.25 moves the NPS from −30 to 0: +30 points.
    data = scenario(touchpoints=[{**t, "dropout": 0} for t in SCENARIO["touchpoints"]],
                    criteria={"nps": 1})
    plan = optimize(load_scenario(data))
    assert plan.selected == ("queue",)
    assert plan.criteria["nps"].value == pytest.approx(30.0)
    assert plan.criteria["nps"].unit == "NPS points"


def test_nps_counts_the_extra_experiences_of_customers_kept_in_the_journey(
        cxplan_plugins: PluginManager) -> None:
    # Removing ad's failures keeps the 10 % who abandoned there: visits to the branch go
    # from 0.9 to 1.0 at net −0.3 each, so the net score falls by 0.03 per baseline visit
    # (0.9): −3.33 points, though the branch's own NPS is unchanged.
    loaded = load_scenario(scenario(criteria={"nps": 1}))
    nps = cxplan_plugins.criteria()["nps"]
    ctx = evaluation_context(loaded, ["ads"])
    assert nps.evaluate(ctx) == pytest.approx(100 * (-0.3 * 1.0 - -0.3 * 0.9) / 0.9)


def test_the_optimum_of_nps_equals_brute_force_over_every_selection(
        cxplan_plugins: PluginManager) -> None:
    data = scenario(budget=120, criteria={"nps": 1}, extensions={"nps": {"touchpoints": {
        "branch": SURVEY,
        "account": {"failed": {"promoters": 1, "passives": 2, "detractors": 7},
                    "passed": {"promoters": 7, "passives": 2, "detractors": 1}}}}})
    loaded = load_scenario(data)
    journey = build_journey(loaded)
    nps = cxplan_plugins.criteria()["nps"]
    costs = {i["id"]: i["cost"] for i in data["improvements"]}
    best = max(
        nps.evaluate(evaluation_context(loaded, combo, journey))
        for r in range(len(costs) + 1) for combo in itertools.combinations(costs, r)
        if sum(costs[i] for i in combo) <= data["budget"])
    assert optimize(loaded).criteria["nps"].value == pytest.approx(best, rel=1e-9)


@pytest.mark.parametrize(("section", "expected"), [
    ({"touchpoints": {"brnch": SURVEY}},
     "extensions.nps.touchpoints.brnch: unknown touchpoint 'brnch' (did you mean 'branch'?)"),
    ({"touchpoints": {"branch": {**SURVEY, "passed": {"promoters": 0, "passives": 0,
                                                      "detractors": 0}}}},
     "extensions.nps.touchpoints.branch.passed: no answers"),
    ({"touchpoints": {"branch": {"failed": SURVEY["failed"]}}},
     "extensions.nps.touchpoints.branch.passed: required value is missing"),
    ({"touchpoints": {"branch": {**SURVEY, "failed": {"promoters": -1, "passives": 1,
                                                      "detractors": 1}}}},
     "extensions.nps.touchpoints.branch.failed.promoters: Input should be greater than or "
     "equal to 0"),
    ({"touchpoint": {}}, "extensions.nps.touchpoint: unknown key 'touchpoint' (did you mean "
                         "'touchpoints'?)"),
])
def test_survey_problems_are_reported_with_their_place(section: Any, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(scenario(extensions={"nps": section}))
    assert expected in str(caught.value)


def test_the_criterion_without_survey_data_is_a_scenario_error_naming_the_plugin(
        cxplan_cli: CliRunner, tmp_path: Path) -> None:
    # The criterion declares the section it needs: a data mistake, found by `validate`
    # (exit code 2), not a plugin crash while planning.
    data = scenario(criteria={"nps": 1})
    del data["extensions"]
    with pytest.raises(ScenarioError) as caught:
        load_scenario(data)
    (problem,) = caught.value.problems
    assert (problem.location, problem.message) == (
        "criteria.nps", "criterion 'nps' (plugin 'nps') needs the section `extensions.nps`, "
                        "and the scenario has none")
    path = tmp_path / "no-survey.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = cxplan_cli("validate", path)
    assert result.exit_code == 2
    assert "criteria.nps: criterion 'nps' (plugin 'nps') needs" in result.stderr


def test_the_report_shows_nps_before_and_after(tmp_path: Path) -> None:
    loaded = load_scenario(scenario(touchpoints=[{**t, "dropout": 0}
                                                 for t in SCENARIO["touchpoints"]],
                                    criteria={"nps": 1}))
    html, md = write_reports(optimize(loaded), loaded, tmp_path)
    text = md.read_text(encoding="utf-8")
    assert "## Net Promoter Score" in text
    assert "**+30.0** NPS points expected (-30.0 → +0.0)." in text
    # detractors: 20 % of those without a problem, 90 % of those with one
    assert "| branch | -30.0 | +0.0 | 55.0 % | 37.5 % |" in text
    assert '<section id="nps">' in html.read_text(encoding="utf-8")


def test_no_survey_data_no_report_section(tmp_path: Path) -> None:
    data = scenario()
    del data["extensions"]
    loaded = load_scenario(data)
    _, md = write_reports(optimize(loaded), loaded, tmp_path)
    assert "Net Promoter" not in md.read_text(encoding="utf-8")


def test_end_to_end_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "branch.yaml"
    path.write_text(yaml.safe_dump(scenario(criteria={"expected_experience": 1, "nps": 1},
                                            objective={"normalize": True})), encoding="utf-8")
    # A real process, with the plugin found through its entry point as users have it.
    result = subprocess.run([sys.executable, "-m", "cxplan", "plan", str(path), "--json",
                             "--report", str(tmp_path / "out")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data["criteria"]) == {"expected_experience", "nps"}
    assert data["criteria"]["nps"]["unit"] == "NPS points"
    assert "Net Promoter Score" in (tmp_path / "out" / "branch.md").read_text(encoding="utf-8")
