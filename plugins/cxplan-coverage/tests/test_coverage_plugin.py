"""cxplan-coverage, as installed: coverage rules and owner caps, configured in the scenario.

Written with cxplan's testing kit (`cxplan.testing`) and the plugin API only.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import yaml

from cxplan.plugin_api import (
    InfeasibleError,
    ScenarioError,
    evaluate,
    load_scenario,
    optimize,
    write_reports,
)
from cxplan.testing import CliRunner, plugin_manager

# Every test runs with a plugin manager of its own: the built-ins and this plugin.
pytestmark = [pytest.mark.cxplan_plugins("cxplan_coverage"),
              pytest.mark.usefixtures("cxplan_plugins")]

# Two personas: "web" customers start at the site, "walk-in" ones at the branch.
SCENARIO: dict[str, Any] = {
    "cxplan": 1, "budget": 100,
    "stages": ["awareness", "purchase", "retention"],
    "personas": [{"id": "web", "customers": 100, "entry": {"site": 1.0}},
                 {"id": "walk-in", "customers": 50, "entry": {"branch": 1.0}}],
    "touchpoints": [
        {"id": "site", "stage": "awareness", "failure_probability": 0.3, "impact": 20},
        {"id": "branch", "stage": "purchase", "failure_probability": 0.4, "impact": 30,
         "moment_of_truth": True},
        {"id": "checkout", "stage": "purchase", "failure_probability": 0.2, "impact": 40},
        {"id": "follow-up", "stage": "retention", "failure_probability": 0.3, "impact": 5}],
    "journey": {"entry": {"site": 1.0}, "edges": [
        {"from": "site", "to": "checkout", "probability": 0.7},
        {"from": "branch", "to": "checkout", "probability": 0.9},
        {"from": "checkout", "to": "follow-up", "probability": 0.5}]},
    "improvements": [
        {"id": "site-fix", "cost": 30, "owner": "digital",
         "effects": [{"touchpoint": "site", "failure_reduction": 0.5}]},
        {"id": "checkout-fix", "cost": 40, "owner": "digital",
         "effects": [{"touchpoint": "checkout", "failure_reduction": 0.6}]},
        {"id": "checkout-app", "cost": 50, "owner": "digital",
         "effects": [{"touchpoint": "checkout", "failure_reduction": 0.4}]},
        {"id": "branch-training", "cost": 20, "owner": "retail",
         "effects": [{"touchpoint": "branch", "failure_reduction": 0.3}]},
        {"id": "follow-up-call", "cost": 20, "owner": "care",
         "effects": [{"touchpoint": "follow-up", "failure_reduction": 0.5}]},
    ],
}


def scenario(coverage: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SCENARIO)
    data.update(copy.deepcopy(changes))
    if coverage is not None:
        data["extensions"] = {"coverage": coverage}
    return data


def touched(data: dict[str, Any], chosen: set[str]) -> set[str]:
    return {e["touchpoint"] for i in data["improvements"] if i["id"] in chosen
            for e in i["effects"]}


def brute_force(data: dict[str, Any], rule: Callable[[set[str]], bool]) -> float:
    """The best gain over every selection within budget that satisfies `rule`."""
    loaded = load_scenario({k: v for k, v in data.items() if k != "extensions"})
    ids = [i["id"] for i in data["improvements"]]
    return max(value.expected_gain for r in range(len(ids) + 1)
               for combo in itertools.combinations(ids, r)
               if rule(set(combo)) and (value := evaluate(loaded, combo)).feasible)


def test_the_plugin_is_installed_under_the_cxplan_entry_point_group() -> None:
    (ep,) = [ep for ep in entry_points(group="cxplan") if ep.name == "coverage"]
    assert ep.value == "cxplan_coverage"
    assert "coverage" in plugin_manager(installed=True).scenario_sections()


def test_without_rules_the_plan_ignores_coverage() -> None:
    plan = optimize(load_scenario(scenario()))
    assert "follow-up-call" not in plan.selected


@pytest.mark.parametrize(("coverage", "rule"), [
    ({"stages": "all"}, lambda data, chosen: {
        t["stage"] for t in data["touchpoints"] if t["id"] in touched(data, chosen)}
        == {"awareness", "purchase", "retention"}),
    ({"stages": ["retention"]}, lambda data, chosen: "follow-up" in touched(data, chosen)),
    ({"moments_of_truth": "all"}, lambda data, chosen: "branch" in touched(data, chosen)),
    # walk-in customers never see the site: only what acts on branch, checkout or
    # follow-up covers them
    ({"personas": ["walk-in"]}, lambda data, chosen: bool(
        touched(data, chosen) & {"branch", "checkout", "follow-up"})),
    ({"max_owner_share": 0.5}, lambda data, chosen: sum(
        i["cost"] for i in data["improvements"]
        if i["id"] in chosen and i["owner"] == "digital") <= 50),
])
def test_each_rule_gives_the_best_plan_that_satisfies_it(
        coverage: dict[str, Any], rule: Callable[[dict[str, Any], set[str]], bool]) -> None:
    data = scenario(coverage)
    plan = optimize(load_scenario(data))
    assert rule(data, set(plan.selected))
    assert plan.expected_gain == pytest.approx(brute_force(data, lambda c: rule(data, c)),
                                               rel=1e-7)


def test_without_a_budget_owner_shares_are_of_the_plans_cost() -> None:
    data = scenario({"max_owner_share": 0.6}, budget=None)
    plan = optimize(load_scenario(data))
    costs = {i["id"]: (i["cost"], i["owner"]) for i in data["improvements"]}
    total = sum(costs[i][0] for i in plan.selected)
    for owner in ("digital", "retail", "care"):
        assert sum(c for i, (c, o) in costs.items() if i in plan.selected and o == owner) \
            <= 0.6 * total + 1e-9


def test_a_stage_nothing_can_cover_makes_the_plan_infeasible_and_is_named() -> None:
    data = scenario({"stages": ["awareness"]})
    data["improvements"] = [i for i in data["improvements"] if i["id"] != "site-fix"]
    with pytest.raises(InfeasibleError) as caught:
        optimize(load_scenario(data))
    assert caught.value.conflict == ["coverage:stage[awareness]"]  # as the plugin names it


@pytest.mark.parametrize(("coverage", "expected"), [
    ({"stages": ["purchse"]}, "extensions.coverage.stages: unknown stage 'purchse' (did you "
                              "mean 'purchase'?)"),
    ({"moments_of_truth": ["checkout"]},
     "extensions.coverage.moments_of_truth: unknown moment of truth 'checkout' (known: "
     "branch)"),
    ({"max_owner_share": 1.5}, "extensions.coverage.max_owner_share: Input should be less "
                               "than or equal to 1"),
    ({"stage": "all"}, "extensions.coverage.stage: unknown key 'stage' (did you mean "
                       "'stages'?)"),
])
def test_rule_problems_are_reported_with_their_place(coverage: Any, expected: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(scenario(coverage))
    assert expected in str(caught.value)


def test_the_report_shows_what_the_plan_covers(tmp_path: Path) -> None:
    loaded = load_scenario(scenario({"stages": "all", "max_owner_share": 0.8}))
    plan = optimize(loaded)
    _, md = write_reports(plan, loaded, tmp_path)
    text = md.read_text(encoding="utf-8")
    assert "## Coverage" in text and "No owner's improvements may cost more than 80 %" in text
    assert "| Stage | retention | follow-up-call |" in text


def test_the_coverage_command_lists_what_each_candidate_covers(
        tmp_path: Path, cxplan_cli: CliRunner) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario()), encoding="utf-8")
    result = cxplan_cli("coverage", path)
    assert result.exit_code == 0, result.stderr
    assert "  walk-in: checkout-fix, checkout-app, branch-training, follow-up-call" in \
        result.stdout
    assert "moments of truth:\n  branch: branch-training" in result.stdout


def test_the_coverage_command_reports_a_bad_scenario_like_cxplan_does(
        tmp_path: Path, cxplan_cli: CliRunner) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario({"stages": ["purchse"]})), encoding="utf-8")
    result = cxplan_cli("coverage", path)
    assert result.exit_code == 2
    assert "extensions.coverage.stages: unknown stage 'purchse'" in result.stderr


def test_on_a_roadmap_the_rules_hold_for_the_improvements_it_schedules() -> None:
    rule = {"stages": ["retention"]}  # follow-up-call is the only retention fix
    data = scenario(rule, horizon={"periods": 3}, budget=[40, 40, 40])
    free = optimize(load_scenario(scenario(None, horizon={"periods": 3}, budget=[40, 40, 40])))
    assert "follow-up-call" not in free.selected
    plan = optimize(load_scenario(data))
    assert "follow-up-call" in plan.schedule and plan.expected_gain <= free.expected_gain
