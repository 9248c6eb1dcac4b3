"""Roadmaps (`horizon:`): the optimizer picks the best start period for each improvement.

The reference (`random_roadmaps.brute_force_roadmap`) enumerates every start of every
improvement with no cxplan code; every plan is also re-checked by cxplan's own
schedule checker and evaluator.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import CliRunner

from cxplan import SolverOptions, load_scenario, optimize
from cxplan.cli import app
from cxplan.core.calendar import calendar
from cxplan.core.schedule import violations
from cxplan.errors import InfeasibleError, ScenarioError

from conftest import ScenarioFactory, ScenarioWriter, two_fixes
from random_roadmaps import (
    brute_force_roadmap,
    random_roadmap,
    random_roadmap_with_terminal,
    roadmap_feasible,
    roadmap_gain,
)

TOLERANCE = 1e-6


def _close(a: float, b: float, scale: float = 1.0) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b), scale)


def _schedule(plan: Any) -> dict[str, int]:
    return {imp: start for imp, (start, _) in plan.schedule.items()}


# 60 roadmaps, and 40 that count value after the horizon (`horizon.terminal_value`)
OPTIMUM_CASES = [(random_roadmap, seed) for seed in range(60)] + [
    (random_roadmap_with_terminal, seed) for seed in range(40)]


@pytest.mark.parametrize(("make", "seed"), OPTIMUM_CASES,
                         ids=[f"{make.__name__}-{seed}" for make, seed in OPTIMUM_CASES])
def test_the_roadmap_optimum_equals_enumerating_every_start(
        make: Callable[[int], dict[str, Any]], seed: int) -> None:
    data = make(seed)
    reference = brute_force_roadmap(data)
    scenario = load_scenario(data)
    if reference is None:
        with pytest.raises(InfeasibleError):
            optimize(scenario)
        return
    plan = optimize(scenario)
    assert plan.status == "optimal"
    schedule = _schedule(plan)
    assert _close(plan.expected_gain, reference[0]), (schedule, reference)
    # Money, staff, precedence and windows hold, by the reference and by cxplan's checker.
    assert roadmap_feasible(data, schedule)
    assert violations(calendar(scenario), schedule) == []
    assert _close(plan.expected_gain, roadmap_gain(data, schedule))
    assert _close(sum(i.gain for i in plan.improvements), plan.expected_gain)
    # The periods' rows are the horizon's; what counts after it closes the total.
    assert plan.horizon is not None and len(plan.periods) == data["horizon"]["periods"]
    assert _close(plan.periods[-1].cumulative_gain + plan.horizon["after_horizon_gain"],
                  plan.expected_gain)


@pytest.mark.parametrize("seed", range(0, 60, 2))
def test_the_lp_first_roadmap_optimum_equals_enumerating_every_start(seed: int) -> None:
    """Large roadmaps are solved LP-first (optimizer.relaxation); forced here on small ones."""
    data = random_roadmap(seed)
    reference = brute_force_roadmap(data)
    scenario = load_scenario(data)
    options = SolverOptions(start_method="relaxation")
    if reference is None:
        with pytest.raises(InfeasibleError):
            optimize(scenario, options=options)
        return
    plan = optimize(scenario, options=options)
    assert plan.status == "optimal"
    schedule = _schedule(plan)
    assert _close(plan.expected_gain, reference[0]), (schedule, reference)
    assert roadmap_feasible(data, schedule)
    assert plan.bound is not None and plan.bound >= plan.expected_gain - 1e-6 * max(
        1.0, abs(plan.expected_gain))


@pytest.mark.parametrize("seed", range(1, 40, 3))
def test_the_greedy_schedule_keeps_a_feasible_initial_schedule_and_repairs_any_other(
    seed: int,
) -> None:
    import random

    from cxplan.optimizer.roadmap.pipeline import prepare_roadmap

    data = random_roadmap(seed)
    reference = brute_force_roadmap(data)
    if reference is None:
        pytest.skip("no feasible roadmap")
    prepared = prepare_roadmap(load_scenario(data))
    best = reference[1]
    kept = prepared.start(5.0, best)
    assert kept is not None and violations(prepared.calendar, kept) == []
    if not any(imp.get("mandatory") for imp in data["improvements"]):
        # (mandatory improvements are placed first, at their earliest start)
        assert all(kept[imp] == start for imp, start in best.items())
    rng = random.Random(seed)
    periods = data["horizon"]["periods"]
    anything = {imp["id"]: rng.randint(1, periods) for imp in data["improvements"]}
    repaired = prepared.start(5.0, anything)
    assert repaired is not None and violations(prepared.calendar, repaired) == []


def test_without_discounting_the_bigger_fix_goes_first() -> None:
    plan = optimize(load_scenario(two_fixes()))
    assert _schedule(plan) == {"big": 1, "quick": 3}
    assert _close(plan.expected_gain, 2.2 * 4 + 1 * 3)


def test_heavy_discounting_puts_the_quick_win_first() -> None:
    plan = optimize(load_scenario(two_fixes(discount_rate=0.5)))
    assert _schedule(plan) == {"quick": 1, "big": 2}
    weights = [1.5 ** -(t - 1) for t in range(1, 7)]
    assert _close(plan.expected_gain, sum(weights[1:]) * 1 + sum(weights[3:]) * 2.2)


def test_a_requirement_is_finished_before_the_dependent_starts(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(horizon={"periods": 4}, budget=None, teams={"it": 5})
    data["improvements"][0]["duration"] = 2
    data["improvements"][1]["requires"] = ["queue-app"]
    plan = optimize(load_scenario(data))
    assert plan.schedule == {"queue-app": (1, 2), "sms": (3, 3)}


def test_start_windows_are_kept(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(horizon={"periods": 4})
    data["improvements"][0].update(earliest=2, latest=3)
    plan = optimize(load_scenario(data))
    assert plan.schedule["queue-app"][0] == 2  # as early as allowed: it pays off longer
    assert plan.schedule["sms"][0] == 1


def test_with_carry_over_unspent_money_funds_a_later_period(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(horizon={"periods": 3}, budget=[200, 200, 0])
    assert "queue-app" not in optimize(load_scenario(data)).schedule  # costs 300
    data["horizon"]["carry_over"] = True
    plan = optimize(load_scenario(data))
    assert plan.schedule["queue-app"] == (2, 2)
    assert [p.budget for p in plan.periods] == [200, 400 - 50, 350 - 300]


def test_customers_per_period_weigh_each_period(minimal_scenario: ScenarioFactory) -> None:
    flat = minimal_scenario(horizon={"periods": 3}, personas=[{"id": "p", "customers": 10}])
    growing = copy.deepcopy(flat)
    growing["personas"][0]["customers"] = [10, 10, 30]
    a, b = optimize(load_scenario(flat)), optimize(load_scenario(growing))
    assert a.schedule == b.schedule
    assert _close(b.periods[2].gain, 3 * a.periods[2].gain)


def test_an_infeasible_roadmap_names_the_conflicting_rules(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(horizon={"periods": 2}, budget=[100, 100])
    data["improvements"][0]["mandatory"] = True  # costs 300
    with pytest.raises(InfeasibleError) as info:
        optimize(load_scenario(data))
    text = " ".join(info.value.conflict)
    assert "'queue-app' is mandatory" in text and "budget of period 1" in text


def test_without_a_horizon_the_plan_has_no_roadmap_keys(
        minimal_scenario: ScenarioFactory) -> None:
    data = optimize(load_scenario(minimal_scenario())).to_dict()
    assert not {"horizon", "schedule", "periods"} & set(data)
    assert all("start" not in item for item in data["improvements"])


@pytest.mark.parametrize(("change", "place", "words"), [
    ({"budget": [1, 2]}, "budget", "need a horizon"),
    ({"horizon": {"periods": 3}, "budget": [1, 2]}, "budget", "2 values for a horizon of 3"),
    ({"horizon": {"periods": 2}, "teams": {"it": [1, "x"]}}, "teams.it[1]", "amount per period"),
    ({"horizon": {"periods": 2, "names": ["Q1"]}}, "horizon.names", "1 names for 2 periods"),
])
def test_per_period_values_are_checked_with_their_place(
        minimal_scenario: ScenarioFactory, change: dict[str, Any], place: str,
        words: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(minimal_scenario(**change))
    assert any(p.location == place and words in p.message for p in info.value.problems), \
        info.value.problems


def test_start_periods_need_a_horizon_and_must_fit_it(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"][0]["earliest"] = 2
    with pytest.raises(ScenarioError, match="needs a horizon"):
        load_scenario(data)
    data = minimal_scenario(horizon={"periods": 2})
    data["improvements"][0].update(mandatory=True, duration=3)
    with pytest.raises(ScenarioError, match="cannot finish within the horizon"):
        load_scenario(data)


def test_plan_json_and_table_show_the_roadmap(
        minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter) -> None:
    data = minimal_scenario(horizon={"periods": 3, "label": "quarter"}, budget=[300, 100, 100])
    path = write_scenario(data)
    result = CliRunner().invoke(app, ["plan", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    # 300 + 50 do not fit the first period's 300: the quick fix waits a period.
    assert out["schedule"] == {"queue-app": {"start": 1, "finish": 1},
                               "sms": {"start": 2, "finish": 2}}
    assert [i["start"] for i in out["improvements"]] == [1, 2]
    assert [p["name"] for p in out["periods"]] == ["quarter 1", "quarter 2", "quarter 3"]
    assert out["horizon"]["periods"] == 3
    table = CliRunner().invoke(app, ["plan", str(path), "--no-marginals"])
    assert table.exit_code == 0, table.output
    assert "Roadmap" in table.stdout and "quarter 1" in table.stdout


def test_a_total_budget_over_the_horizon_conflicts_with_mandatory_costs(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(horizon={"periods": 3}, budget=200)
    data["improvements"][0]["mandatory"] = True  # costs 300
    with pytest.raises(InfeasibleError) as info:
        optimize(load_scenario(data))
    assert any("the budget of 200" in label for label in info.value.conflict)


def test_evaluate_prices_a_schedule_and_lists_the_rules_it_breaks(
        minimal_scenario: ScenarioFactory) -> None:
    from cxplan import evaluate

    scenario = load_scenario(minimal_scenario(horizon={"periods": 3}, budget=[300, 100, 100]))
    plan = optimize(scenario)
    chosen = [f"{imp}@{start}" for imp, (start, _) in plan.schedule.items()]
    value = evaluate(scenario, chosen)
    assert value.feasible and _close(value.expected_gain, plan.expected_gain)
    late = evaluate(scenario, ["queue-app@2", "sms@3"])  # 300 in period 2: over its 100
    assert not late.feasible and any("period 2 spends 300" in v for v in late.violations)
    assert late.expected_gain < plan.expected_gain


def test_evaluate_without_start_periods_says_how_to_give_them(
        minimal_scenario: ScenarioFactory) -> None:
    from cxplan import evaluate
    from cxplan.errors import UsageError

    scenario = load_scenario(minimal_scenario(horizon={"periods": 3}))
    with pytest.raises(UsageError, match="id@period"):
        evaluate(scenario, ["sms"])


def test_explain_answers_on_a_roadmap_with_start_periods(
        minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter) -> None:
    path = write_scenario(minimal_scenario(horizon={"periods": 3}))
    result = CliRunner().invoke(app, ["explain", str(path), "sms"])
    assert result.exit_code == 0, result.output
    assert "plan: queue-app@1, sms@1" in result.output


def test_compare_puts_roadmap_variants_side_by_side(
        minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter) -> None:
    base = write_scenario(minimal_scenario(horizon={"periods": 3}, budget=[300, 0, 0]),
                          name="base.yaml")
    richer = write_scenario(minimal_scenario(horizon={"periods": 3}, budget=[400, 0, 0]),
                            name="richer.yaml")
    result = CliRunner().invoke(app, ["compare", str(base), str(richer), "--json"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


def test_the_bundled_roadmap_example_is_a_valid_eight_quarter_roadmap() -> None:
    scenario = load_scenario("scenarios/microfinance-roadmap.yaml")
    assert scenario.horizon is not None and scenario.horizon.periods == 8
    assert scenario.period_budgets() is not None


@pytest.mark.parametrize("seed", range(12))
def test_the_start_values_of_any_feasible_schedule_are_a_complete_exact_mip_start(
        seed: int) -> None:
    import random

    from cxplan.optimizer.roadmap.pipeline import prepare_roadmap
    from cxplan.plugins import get_plugin_manager

    data = random_roadmap(seed)
    scenario = load_scenario(data)
    prepared = prepare_roadmap(scenario, plugins=get_plugin_manager())
    model, cal = prepared.model, prepared.calendar
    rng = random.Random(seed)
    checked = 0
    for _ in range(300):
        schedule = {i: rng.choice(cal.starts[i]) for i in scenario.improvement_ids
                    if cal.starts[i] and rng.random() < 0.5}
        if not roadmap_feasible(data, schedule):
            continue
        values = model.start_values(schedule)

        def value(expr: Any, values: dict[str, float] = values) -> float:
            return float(sum(c * values[v.name] for v, c in expr.items()) + expr.constant)

        for constraint in model.problem.constraints():
            lhs = value(constraint) - constraint.constant
            lo, hi = constraint.getLb(), constraint.getUb()
            assert lo is None or lhs >= lo - 1e-9, (constraint.name, lhs, lo)
            assert hi is None or lhs <= hi + 1e-9, (constraint.name, lhs, hi)
        for var in model.problem.variables():
            assert var.lowBound is None or values[var.name] >= var.lowBound - 1e-12
            assert var.upBound is None or values[var.name] <= var.upBound + 1e-12
        assert _close(value(model.problem.objective), roadmap_gain(data, schedule))
        checked += 1
    assert checked > 0


def test_what_if_limits_replace_the_per_period_ones_like_one_number_in_the_file(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(horizon={"periods": 3}, budget=[100, 100, 100],
                            teams={"it": [0, 0, 1]})
    scenario = load_scenario(data)
    assert optimize(scenario).schedule == {"sms": (1, 1)}  # queue-app needs 300 in a period
    plan = optimize(scenario, budget=400, teams={"it": 1})  # 400 over the horizon, 1 a period
    assert plan.schedule == {"queue-app": (1, 1), "sms": (1, 1)}
    assert plan.budget == 400 and [p.capacity["it"] for p in plan.periods] == [1, 1, 1]


def test_large_roadmaps_take_the_tight_hull_only_when_their_lp_fits_an_lp_first_solve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import cxplan.optimizer.roadmap.model as roadmap_model
    from cxplan.optimizer.model import COMPACT, TIGHT
    from cxplan.optimizer.roadmap.pipeline import prepare_roadmap

    scenario = load_scenario(random_roadmap(3))
    assert prepare_roadmap(scenario).model.blocking == TIGHT  # small: always tight
    monkeypatch.setattr(roadmap_model, "COMPACT_ABOVE", 0)  # now "large"
    assert prepare_roadmap(scenario).model.blocking == COMPACT
    assert prepare_roadmap(scenario, lp_within=1e9).model.blocking == TIGHT
    assert prepare_roadmap(scenario, lp_within=1e-9).model.blocking == COMPACT


def test_the_schedule_evaluators_cache_is_bounded_by_the_journeys_size() -> None:
    """Each cached period holds whole-journey arrays: the cache keeps at most as many as a
    journey's own evaluation cache may (`Journey.cache_limit`, ~64 MiB), not 4 096."""
    import itertools

    from cxplan.core.schedule import ScheduleEvaluator

    scenario = load_scenario(random_roadmap(1))
    cal = calendar(scenario)
    for period in cal.numbers:
        cal.journey(period).__dict__["cache_limit"] = 3  # as a very large journey would
    evaluator = ScheduleEvaluator(cal, {})
    ids = scenario.improvement_ids
    for starts in itertools.islice(itertools.product(cal.numbers, repeat=len(ids)), 40):
        evaluator.periods(dict(zip(ids, starts, strict=True)))
        assert len(evaluator._cache) <= 3
