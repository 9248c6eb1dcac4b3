"""Roadmap edge cases (`horizon:`), from a review of the feature.

The first group are regression tests for bugs the review found: the comment in each
describes the bug as it was before the fix. The second group pins behaviour that was
checked by hand and found right. Every scenario here is tiny (2 improvements, ≤ 4
periods), so the whole file runs in a few seconds.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from cxplan import hookimpl, load_scenario, optimize
from cxplan.api import evaluate
from cxplan.cli import app
from cxplan.core.calendar import calendar
from cxplan.core.schedule import violations
from cxplan.errors import InfeasibleError, ScenarioError, UsageError
from cxplan.optimizer.options import SolverOptions
from cxplan.plugins import CxplanPlugins
from cxplan.scenario import Scenario

from conftest import ScenarioFactory, ScenarioWriter

FAST = SolverOptions(time_limit=20)
CONTRACT_KEYS = ["scenario", "status", "selected", "objective", "expected_gain",
                 "baseline_value", "planned_value", "cost", "staff_used", "criteria"]


def _roadmap(minimal_scenario: ScenarioFactory, periods: int = 3, **overrides: Any) -> dict:
    return minimal_scenario(horizon={"periods": periods}, **overrides)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


# -- bugs the review found (fixed) ---------------------------------------------------------


def test_evaluate_reports_a_one_sided_exclusion_listed_by_the_later_id(
        minimal_scenario: ScenarioFactory) -> None:
    # `sms` excludes `queue-app`, written on sms only. The optimizer never schedules both
    # (model.py adds the row), but the rule checker only looks at pairs with
    # imp.id < other, so 'sms' > 'queue-app' is skipped: evaluate says "feasible".
    # 18 of the 60 random roadmaps of tests/random_roadmaps.py have such an exclusion.
    data = _roadmap(minimal_scenario, budget=None)
    data["improvements"][1]["excludes"] = ["queue-app"]
    scenario = load_scenario(data)
    assert violations(calendar(scenario), {"queue-app": 1, "sms": 1}) != []
    value = evaluate(scenario, ["queue-app@1", "sms@2"])
    assert not value.feasible
    assert any("exclude" in v for v in value.violations)


def test_single_period_evaluate_reports_a_one_sided_exclusion_listed_by_the_later_id(
        minimal_scenario: ScenarioFactory) -> None:
    # The same `imp.id < e` test in cxplan.api._violations (the roadmap checker copied it).
    data = minimal_scenario(budget=None)
    data["improvements"][1]["excludes"] = ["queue-app"]
    value = evaluate(load_scenario(data), ["queue-app", "sms"])
    assert not value.feasible


@pytest.mark.parametrize("horizon", [8, [8], "8 quarters"])
def test_a_horizon_that_is_not_a_mapping_is_a_validation_error_not_a_crash(
        minimal_scenario: ScenarioFactory, horizon: Any) -> None:
    # `horizon: 8` is the natural first try; periods.check_schedule_fields calls
    # `(data.get("horizon") or {}).get("names")` on it -> AttributeError, exit code 1
    # ("internal error ... this is a bug in cxplan").
    with pytest.raises(ScenarioError) as caught:
        load_scenario(minimal_scenario(horizon=horizon))
    assert any(p.location.startswith("horizon") for p in caught.value.problems)


def test_cli_horizon_as_a_number_exits_2_without_an_internal_error(
        minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter) -> None:
    path = write_scenario(minimal_scenario(horizon=8))
    result = CliRunner().invoke(app, ["plan", str(path), "--json"])
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output


def test_ids_that_differ_only_by_dash_and_underscore_are_separate_decisions(
        minimal_scenario: ScenarioFactory) -> None:
    # model.py keeps the raw id in the variable name when it matches [\w.\-]+ and checks
    # the labels for uniqueness *before* PuLP turns '-' into '_': 'fix-a' and 'fix_a'
    # both become `start_fix_a,p1_`, cxplan.optimizer.highs merges same-named columns, and HiGHS
    # stops with status "Empty" (SolverError; `cxplan plan` exits 5, "no plan in time").
    # The single-period model (model._decision_variables) handles exactly this clash.
    data = _roadmap(minimal_scenario, budget=300, teams={"it": 5})
    data["improvements"][0]["id"] = "fix-a"   # cost 300
    data["improvements"][1]["id"] = "fix_a"   # cost 50
    plan = optimize(load_scenario(data), options=FAST)
    assert set(plan.schedule) == {"fix-a"}  # both do not fit the 300 total; fix-a is worth more


def test_evaluate_select_with_a_non_ascii_digit_period_is_a_usage_error(
        minimal_scenario: ScenarioFactory) -> None:
    # api._evaluate_schedule checks `period.isdigit()` and then calls int(period):
    # '²'.isdigit() is True but int('²') raises ValueError (CLI: exit 1, internal error).
    scenario = load_scenario(_roadmap(minimal_scenario))
    with pytest.raises(UsageError):
        evaluate(scenario, ["sms@²"])


def test_evaluate_select_the_same_improvement_twice_is_refused(
        minimal_scenario: ScenarioFactory) -> None:
    # "sms@1,sms@2" silently keeps the last start: an improvement starts once, so the
    # user's schedule is not what is priced and nothing says so.
    scenario = load_scenario(_roadmap(minimal_scenario))
    try:
        value = evaluate(scenario, ["sms@1", "sms@2"])
    except UsageError:
        return
    assert not value.feasible, "two starts of one improvement were priced as one"


def _transforming(function: Any) -> CxplanPlugins:
    pm = CxplanPlugins(load_entry_points=False)
    pm.register(SimpleNamespace(cxplan_transform_scenario=hookimpl(function)), "transform")
    return pm


def test_a_transform_that_doubles_the_budget_also_doubles_a_per_period_budget(
        minimal_scenario: ScenarioFactory) -> None:
    # validate._revalidate puts the file's per-period lists back on the transformed
    # scenario unconditionally: scenario.budget says 600 but the roadmap plans with the
    # original [100, 100, 100] (the docs' own transform example, `double_budget`).
    def double_budget(scenario: Scenario) -> Scenario:
        return scenario.model_copy(update={"budget": 2 * (scenario.budget or 0)})

    pm = _transforming(double_budget)
    scenario = load_scenario(_roadmap(minimal_scenario, budget=[100, 100, 100]), plugins=pm)
    assert scenario.budget == 600
    cal = calendar(scenario)
    given = sum(cal.budget) if cal.budget is not None else cal.total_budget
    assert given == 600


def test_a_transform_that_changes_a_team_is_used_by_the_roadmap(
        minimal_scenario: ScenarioFactory) -> None:
    def more_it(scenario: Scenario) -> Scenario:
        return scenario.model_copy(update={"teams": {"it": 10}})

    scenario = load_scenario(_roadmap(minimal_scenario, teams={"it": [1, 1, 1]}),
                             plugins=_transforming(more_it))
    assert scenario.teams == {"it": 10}
    assert calendar(scenario).capacity["it"] == [10, 10, 10]


def test_a_transform_that_lengthens_the_horizon_does_not_crash(
        minimal_scenario: ScenarioFactory) -> None:
    # The 3-value budget list is kept for a 5-period horizon: IndexError in the model.
    def longer(scenario: Scenario) -> Scenario:
        assert scenario.horizon is not None
        return scenario.model_copy(update={
            "horizon": scenario.horizon.model_copy(update={"periods": 5})})

    pm = _transforming(longer)
    try:
        scenario = load_scenario(_roadmap(minimal_scenario, budget=[100, 100, 100]),
                                 plugins=pm)
    except Exception as exc:  # a clean, named refusal is fine too
        assert type(exc).__name__ in ("PluginError", "ScenarioError"), exc
        return
    plan = optimize(scenario, plugins=pm, options=FAST)
    assert len(plan.periods) == 5


def test_amounts_too_large_are_checked_with_each_periods_customers(
        minimal_scenario: ScenarioFactory) -> None:
    # validate.value_scale uses persona.customers, which with a list is the *average*:
    # [1e14, 0, 0, 0] (average 2.5e13 × impact 40 = 1e15, at the limit) passes although
    # period 1 is 1e14 × 40 = 4e15 > 1e15, the limit the README promises to reject (the
    # same 1e14 written as one number is rejected).
    with pytest.raises(ScenarioError, match="too large"):
        load_scenario(minimal_scenario(personas=[{"id": "p", "customers": 1e14}]))
    with pytest.raises(ScenarioError, match="too large"):
        load_scenario(_roadmap(minimal_scenario, periods=4,
                               personas=[{"id": "p", "customers": [1e14, 0, 0, 0]}]))


def test_per_period_budgets_each_within_range_are_accepted(
        minimal_scenario: ScenarioFactory) -> None:
    # periods.split_period_values hands the models the *sum* of the list, which the 1e15
    # range of `budget` then rejects with "budget: ... less than or equal to 1e15 (got
    # 1.2e15)" - a number the user never wrote. Low severity.
    scenario = load_scenario(_roadmap(minimal_scenario, periods=2, budget=[6e14, 6e14]))
    assert scenario.period_budgets() == [6e14, 6e14]


def test_a_horizon_in_which_nothing_can_pay_off_is_warned_about(
        minimal_scenario: ScenarioFactory) -> None:
    # Gap: with `periods: 1` (or any improvement whose earliest finish is the last period)
    # nothing ever pays off, so the plan is silently empty ("Nothing is worth scheduling").
    # An improvement that cannot *finish* is warned about; one that can never *pay off*
    # should be too.
    scenario = load_scenario(_roadmap(minimal_scenario, periods=1))
    assert any("pay" in w.message for w in scenario.warnings), \
        [w.format() for w in scenario.warnings]


# -- checked and fine ------------------------------------------------------------------------


def test_plan_numbers_add_up(minimal_scenario: ScenarioFactory) -> None:
    data = _roadmap(minimal_scenario, periods=4, budget=[200, 200, 100, 100],
                    teams={"it": [1, 0, 1, 1], "ops": [0, 5, 0, 0]},
                    personas=[{"id": "p", "customers": [10, 0, 5, 7]},
                              {"id": "q", "customers": 3}])
    data["horizon"].update(discount_rate=0.1, carry_over=True)
    data["improvements"][0]["duration"] = 2
    plan = optimize(load_scenario(data), options=FAST)
    assert plan.schedule
    assert _close(sum(i.gain for i in plan.improvements), plan.expected_gain)
    assert _close(plan.periods[-1].cumulative_gain, plan.expected_gain)
    assert _close(sum(p.discounted_gain for p in plan.periods), plan.expected_gain)
    assert _close(sum(p.gain for p in plan.personas), plan.expected_gain)
    assert _close(plan.planned_value - plan.baseline_value, plan.expected_gain)
    assert _close(sum(p.spend for p in plan.periods), plan.cost)
    assert plan.budget == 600
    for team in plan.teams:
        assert plan.staff_used[team] == max(p.staff[team] for p in plan.periods)
        for p in plan.periods:
            assert p.staff[team] <= p.capacity[team]
    value = evaluate(load_scenario(data), [f"{i}@{s}" for i, (s, _) in plan.schedule.items()])
    assert value.feasible and _close(value.expected_gain, plan.expected_gain)


def test_json_is_finite_with_contract_keys_first(minimal_scenario: ScenarioFactory) -> None:
    plan = optimize(load_scenario(_roadmap(minimal_scenario)), options=FAST)
    data = json.loads(json.dumps(plan.to_dict(), allow_nan=False))
    assert list(data)[:len(CONTRACT_KEYS)] == CONTRACT_KEYS
    assert {"horizon", "schedule", "periods"} <= set(data)
    assert all(math.isfinite(p["cumulative_gain"]) for p in data["periods"])
    for item in data["improvements"]:
        assert data["schedule"][item["id"]] == {"start": item["start"],
                                                "finish": item["finish"]}


def test_ids_with_at_signs_spaces_and_unicode_round_trip(
        minimal_scenario: ScenarioFactory) -> None:
    data = _roadmap(minimal_scenario)
    data["improvements"][0]["id"] = "queue@app ü 2"
    scenario = load_scenario(data)
    plan = optimize(scenario, options=FAST)
    assert "queue@app ü 2" in plan.schedule
    value = evaluate(scenario, ["queue@app ü 2@2", "sms@1"])
    assert value.schedule == {"queue@app ü 2": 2, "sms": 1}


def test_zero_capacity_periods_and_unused_teams_are_respected(
        minimal_scenario: ScenarioFactory) -> None:
    data = _roadmap(minimal_scenario, periods=4, teams={"it": [0, 0, 1, 0], "ops": [3, 0, 0, 0]})
    plan = optimize(load_scenario(data), options=FAST)
    assert plan.schedule.get("queue-app", (3, 3)) == (3, 3)


def test_a_duration_longer_than_the_horizon_is_never_scheduled_with_a_warning(
        minimal_scenario: ScenarioFactory) -> None:
    data = _roadmap(minimal_scenario)
    data["improvements"][0]["duration"] = 5
    scenario = load_scenario(data)
    assert any("cannot finish" in w.message for w in scenario.warnings)
    assert "queue-app" not in optimize(scenario, options=FAST).schedule
    data["improvements"][0]["mandatory"] = True
    with pytest.raises(ScenarioError, match="mandatory"):
        load_scenario(data)


def test_periods_with_no_customers_add_no_value(minimal_scenario: ScenarioFactory) -> None:
    data = _roadmap(minimal_scenario, personas=[{"id": "p", "customers": [0, 0, 0]}])
    plan = optimize(load_scenario(data), options=FAST)
    assert plan.expected_gain == 0 and plan.schedule == {}


def test_the_default_persona_with_a_horizon_counts_one_customer_per_period(
        minimal_scenario: ScenarioFactory) -> None:
    single = evaluate(load_scenario(minimal_scenario(budget=None)), ["sms"]).expected_gain
    value = evaluate(load_scenario(_roadmap(minimal_scenario, periods=3, budget=None)),
                     ["sms@1"])
    assert _close(value.expected_gain, 2 * single)  # pays off in periods 2 and 3


def test_cli_exit_codes_for_roadmaps(minimal_scenario: ScenarioFactory,
                                     write_scenario: ScenarioWriter) -> None:
    runner = CliRunner()
    ok = write_scenario(_roadmap(minimal_scenario), "ok.yaml")
    assert runner.invoke(app, ["plan", str(ok), "--json"]).exit_code == 0
    bad = write_scenario(minimal_scenario(budget=[1, 2]), "bad.yaml")  # list, no horizon
    result = runner.invoke(app, ["plan", str(bad), "--json"])
    assert result.exit_code == 2 and "need a horizon" in result.output
    data = _roadmap(minimal_scenario, periods=4)
    data["improvements"][0].update(mandatory=True, requires=["sms"], latest=2)
    data["improvements"][1].update(earliest=3)
    infeasible = write_scenario(data, "infeasible.yaml")
    result = runner.invoke(app, ["plan", str(infeasible), "--json"])
    assert result.exit_code == 3 and "starts after 'sms' is finished" in result.output
    with pytest.raises(InfeasibleError):
        optimize(load_scenario(data), options=FAST)


def test_a_variant_shortening_the_horizon_names_the_base_lists(
        write_scenario: ScenarioWriter) -> None:
    from pathlib import Path

    base = Path(__file__).resolve().parent.parent / "scenarios" / "microfinance-roadmap.yaml"
    variant = write_scenario({"extends": str(base), "horizon": {"periods": 4, "names": None}},
                             "shorter.yaml")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(variant, allow_paths=[base.parent])
    wrong = [p for p in caught.value.problems if "8 values for a horizon of 4" in p.message]
    assert {p.location.split(".")[0].split("[")[0] for p in wrong} == {
        "budget", "teams", "personas"}
    assert all(p.file.endswith("microfinance-roadmap.yaml") for p in wrong)


def test_the_start_period_of_a_requirement_is_after_its_finish(
        minimal_scenario: ScenarioFactory) -> None:
    data = _roadmap(minimal_scenario, periods=4, budget=None)
    data["improvements"][0]["requires"] = ["sms"]
    data["improvements"][1]["duration"] = 2
    scenario = load_scenario(data)
    cal = calendar(scenario)
    assert violations(cal, {"sms": 1, "queue-app": 2})  # sms works in 1-2
    assert not violations(cal, {"sms": 1, "queue-app": 3})
    plan = optimize(scenario, options=FAST)
    if "queue-app" in plan.schedule:
        assert plan.schedule["queue-app"][0] > plan.schedule["sms"][1]

