"""The plan's order and parts fit the time left, and say so when they were simplified."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from benchmarks.generate import realistic_scenario
from cxplan import load_scenario
from cxplan.core.journey import Journey, build_journey
from cxplan.core.ranking import ranking
from cxplan.core.selection import requirement_closure
from cxplan.scenario.models import Scenario


def plan_of(size: int, share: float = 0.5) -> tuple[Scenario, Journey, tuple[str, ...]]:
    scenario = load_scenario(realistic_scenario(size, seed=2))
    rng = random.Random(size)
    picked = [i for i in scenario.improvement_ids if rng.random() < share]
    closure = requirement_closure(scenario, picked)
    return (scenario, build_journey(scenario),
            tuple(i for i in scenario.improvement_ids if i in closure))


def assert_a_valid_ranking(scenario: Scenario, journey: Journey, selection: tuple[str, ...],
                           parts: list[tuple[str, float]]) -> None:
    order = [imp for imp, _ in parts]
    assert sorted(order) == sorted(selection)
    where = {imp: k for k, imp in enumerate(order)}
    for imp in selection:
        assert all(where[req] < where[imp] for req in scenario.improvement(imp).requires)
    gain = journey.evaluate(selection).value - journey.evaluate(()).value
    assert sum(part for _, part in parts) == pytest.approx(gain, rel=1e-9)


@pytest.mark.parametrize("size", [40, 1000])
def test_with_no_time_left_the_parts_come_from_one_exact_group_and_a_warning(
        size: int) -> None:
    scenario, journey, selection = plan_of(size)
    found = ranking(scenario, journey, selection, deadline=time.perf_counter() - 1.0)
    assert_a_valid_ranking(scenario, journey, selection, found.parts)
    assert found.reduced is not None and "1 consecutive group of the order" in found.reduced
    if len(selection) <= 60:
        assert "rather than by exact re-scoring" in found.reduced


def test_the_exact_groups_are_as_many_as_the_time_left_allows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a slow evaluator forced: each evaluation is taken to cost 1 s, 12.5 s are left
    scenario, journey, selection = plan_of(1000)
    monkeypatch.setattr(Journey, "evaluation_seconds", 1.0)
    began = time.perf_counter()
    found = ranking(scenario, journey, selection, deadline=began + 12.5)
    assert_a_valid_ranking(scenario, journey, selection, found.parts)
    assert found.reduced is not None and "exact for 12 consecutive groups" in found.reduced
    assert time.perf_counter() - began < 12.5


def test_with_time_enough_nothing_is_reduced(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario, journey, selection = plan_of(40)
    unlimited = ranking(scenario, journey, selection)
    within = ranking(scenario, journey, selection, deadline=time.perf_counter() + 600)
    assert within.reduced is None and unlimited.reduced is None
    assert within.parts == unlimited.parts  # exact re-scoring and exact parts, both


def test_a_plan_past_its_time_limit_says_its_order_was_simplified(
        minimal_scenario: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import cxplan
    from cxplan.optimizer.options import SolverOptions

    monkeypatch.setattr(Journey, "evaluation_seconds", 1e6)  # no ordering work fits
    plan = cxplan.optimize(load_scenario(minimal_scenario()),
                           options=SolverOptions(time_limit=5))
    assert any("order was simplified" in w for w in plan.warnings)
    assert sum(i.gain for i in plan.improvements) == pytest.approx(plan.expected_gain)


def test_groups_stop_at_the_deadline_when_evaluations_run_slower_than_measured(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the measurement says 400 groups fit; the machine then runs them slower than that
    scenario, journey, selection = plan_of(1000)
    journey.evaluate(selection)  # as the plan does before ranking
    monkeypatch.setattr(Journey, "evaluation_seconds", 1e-9)
    began = time.perf_counter()
    found = ranking(scenario, journey, selection, deadline=began + 0.05)
    assert_a_valid_ranking(scenario, journey, selection, found.parts)
    assert found.reduced is not None and "consecutive group" in found.reduced
    assert "exact for 400" not in found.reduced
