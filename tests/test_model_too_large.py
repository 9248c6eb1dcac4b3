"""A model too large to build within the time limit is not built: the greedy start is
the plan, honestly labelled, unless a constraint plugin needs the model."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from cxplan import hookimpl, load_scenario, optimize
from cxplan.optimizer import pipeline
from cxplan.plugins import CxplanPlugins

from conftest import ScenarioFactory
from random_scenarios import exact_value, feasible, random_scenario


@pytest.fixture
def every_model_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "BUILD_SECONDS_PER_COLUMN", 1e6)


@pytest.mark.parametrize("seed", range(5))
def test_the_plan_is_the_greedy_start_with_exact_values_and_no_bound(
        seed: int, every_model_too_large: None) -> None:
    data = random_scenario(seed)
    plan = optimize(load_scenario(data), plugins=CxplanPlugins(load_entry_points=False))
    assert plan.status == "time_limit" and plan.gap is None and plan.bound is None
    assert feasible(data, set(plan.selected))
    gain = exact_value(data, set(plan.selected)) - exact_value(data, set())
    assert plan.expected_gain == pytest.approx(gain, rel=1e-9, abs=1e-9)
    assert any("longer to build than the time limit" in w for w in plan.warnings)


def test_a_constraint_plugin_that_adds_rows_gets_the_model_built(
        minimal_scenario: ScenarioFactory, every_model_too_large: None) -> None:
    def no_sms(ctx: Any) -> list[tuple[str, object]]:
        return [("no-sms", ctx.x["sms"] <= 0)]

    plugins = CxplanPlugins(load_entry_points=False)
    plugins.pm.register(SimpleNamespace(cxplan_constraints=hookimpl(no_sms)), "no-sms")
    plan = optimize(load_scenario(minimal_scenario()), plugins=plugins)
    assert plan.status == "optimal" and "sms" not in plan.selected


def test_a_constraint_plugin_that_reads_the_journey_model_gets_it_built(
        minimal_scenario: ScenarioFactory, every_model_too_large: None) -> None:
    def reads_visits(ctx: Any) -> list[tuple[str, object]]:
        ctx.visits(0, 0)
        return []

    plugins = CxplanPlugins(load_entry_points=False)
    plugins.pm.register(SimpleNamespace(cxplan_constraints=hookimpl(reads_visits)), "visits")
    assert optimize(load_scenario(minimal_scenario()), plugins=plugins).status == "optimal"
