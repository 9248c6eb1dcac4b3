"""The MILP is exact at every binary selection, and its MIP start is a feasible point."""

from __future__ import annotations

import random

import pulp
import pytest

from cxplan import load_scenario
from cxplan.core.journey import build_journey
from cxplan.optimizer.model import build_model
from cxplan.plugins import CxplanPlugins

from random_scenarios import feasible, random_scenario


def _value(expr: pulp.LpAffineExpression, values: dict[str, float]) -> float:
    return float(expr.constant) + sum(c * values[v.name] for v, c in expr.items())


@pytest.mark.parametrize("seed", range(25))
def test_start_values_satisfy_every_constraint_and_price_the_selection_exactly(
        seed: int) -> None:
    data = random_scenario(seed)
    scenario = load_scenario(data)
    journey = build_journey(scenario)
    model = build_model(scenario, journey, CxplanPlugins(load_entry_points=False).criteria())
    rng = random.Random(seed)
    ids = scenario.improvement_ids
    checked = 0
    for _ in range(200):
        selection = {i for i in ids if rng.random() < 0.4}
        if not feasible(data, selection):
            continue
        values = model.context.start_values(selection)
        for constraint in model.problem.constraints():
            name = constraint.name
            lhs = _value(constraint, values) - constraint.constant  # expression part only
            lo, hi = constraint.getLb(), constraint.getUb()
            assert lo is None or lhs >= lo - 1e-9, (name, lhs, lo)
            assert hi is None or lhs <= hi + 1e-9, (name, lhs, hi)
        for var in model.problem.variables():
            value = values[var.name]
            assert var.lowBound is None or value >= var.lowBound - 1e-12
            assert var.upBound is None or value <= var.upBound + 1e-12
        exact = journey.evaluate(selection).value - journey.evaluate(()).value
        assert _value(model.terms["expected_experience"], values) == pytest.approx(
            exact, rel=1e-9, abs=1e-9 * abs(journey.evaluate(()).value) + 1e-12)
        checked += 1
    assert checked > 0


def test_the_tight_hull_unless_large_and_its_lp_would_not_fit_an_lp_first_solve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cxplan.api import prepare
    from cxplan.optimizer import model

    scenario = load_scenario(random_scenario(3))
    journey = build_journey(scenario)
    columns = model.estimated_columns(scenario, journey, model.TIGHT)
    assert model.choose_blocking(scenario, journey) == model.TIGHT  # small: always tight
    monkeypatch.setattr(model, "COMPACT_ABOVE", columns - 1)  # now "large"
    lp_seconds = columns * model.LP_SECONDS_PER_COLUMN
    assert model.choose_blocking(scenario, journey) == model.COMPACT  # greedy path
    assert model.choose_blocking(scenario, journey, lp_seconds * 2) == model.TIGHT
    assert model.choose_blocking(scenario, journey, lp_seconds / 2) == model.COMPACT
    # and the model is built with it
    assert prepare(scenario, lp_within=lp_seconds * 2).model.blocking == model.TIGHT
    assert prepare(scenario).model.blocking == model.COMPACT


def test_a_blocking_swapped_in_for_tests_is_the_one_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """test_exactness.py swaps `choose_blocking` to test every blocking: make sure it
    takes effect on the path `optimize` uses."""
    from cxplan.api import prepare
    from cxplan.optimizer import model

    odd = model.Blocking(single=1, size=1)
    monkeypatch.setattr(model, "choose_blocking", lambda *_: odd)
    assert prepare(load_scenario(random_scenario(3))).model.blocking == odd
