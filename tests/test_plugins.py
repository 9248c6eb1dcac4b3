"""Criteria come from plugins; built-ins use the same hook; broken plugins are named."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pulp
import pytest

from cxplan import hookimpl, load_scenario, optimize
from cxplan.criterion import Criterion, EvaluationContext
from cxplan.errors import ConsistencyError, PluginError
from cxplan.model import ModelContext
from cxplan.plugins import CxplanPlugins

SCENARIO: dict[str, Any] = {
    "cxplan": 1, "budget": 10,
    "touchpoints": [{"id": "a", "failure_probability": 0.5, "impact": 10},
                    {"id": "b", "failure_probability": 0.5, "impact": 10,
                     "moment_of_truth": True}],
    "journey": {"entry": {"a": 1.0}, "edges": [{"from": "a", "to": "b", "probability": 1.0}]},
    "improvements": [
        {"id": "fix-a", "cost": 10, "effects": [{"touchpoint": "a", "failure_reduction": 0.6}]},
        {"id": "fix-b", "cost": 10, "effects": [{"touchpoint": "b", "failure_reduction": 0.5}]},
    ],
}


class FailuresAtB(Criterion):
    """Expected failures avoided at touchpoint b (an exact linear criterion)."""

    name = "failures_avoided_at_b"
    description = "failures avoided at b"
    unit = "failures"

    def model_term(self, ctx: ModelContext) -> pulp.LpAffineExpression:
        t = ctx.touchpoint_index["b"]
        base = ctx.baseline.personas[0].failures[t]
        return base - ctx.failures(0, t)

    def evaluate(self, ctx: EvaluationContext) -> float:
        t = ctx.journey.index["b"]
        return float(ctx.baseline.personas[0].failures[t] - ctx.evaluation.personas[0].failures[t])


def manager_with(*plugins: tuple[str, object]) -> CxplanPlugins:
    pm = CxplanPlugins(load_entry_points=False)
    for name, plugin in plugins:
        pm.register(plugin, name)
    return pm


def plugin_returning(value: Any) -> SimpleNamespace:
    @hookimpl
    def cxplan_criteria() -> Any:
        return value

    return SimpleNamespace(cxplan_criteria=cxplan_criteria)


def test_the_built_in_criterion_is_registered_through_the_hook() -> None:
    pm = CxplanPlugins(load_entry_points=False)
    assert "cxplan.criteria.experience" in pm.plugin_names()
    assert pm.criteria_names() == ["expected_experience"]


def test_a_plugin_criterion_steers_the_plan() -> None:
    pm = manager_with(("mot", plugin_returning([FailuresAtB()])))
    data = {**SCENARIO, "criteria": {"failures_avoided_at_b": 1}}
    by_experience = optimize(load_scenario(SCENARIO, criteria=pm.criteria_names()), plugins=pm)
    by_b = optimize(load_scenario(data, criteria=pm.criteria_names()), plugins=pm)
    assert by_experience.selected == ("fix-a",)  # fixing a also saves failures at nothing else
    assert by_b.selected == ("fix-b",)
    assert by_b.criteria["failures_avoided_at_b"].value == pytest.approx(0.25)


def test_an_unknown_criterion_in_a_scenario_is_a_validation_error() -> None:
    from cxplan.errors import ScenarioError

    with pytest.raises(ScenarioError) as caught:
        load_scenario({**SCENARIO, "criteria": {"expected_experiense": 1}},
                      criteria=["expected_experience"])
    assert "did you mean 'expected_experience'" in str(caught.value)


def test_two_criteria_with_one_name_name_both_plugins() -> None:
    pm = manager_with(("first", plugin_returning([FailuresAtB()])),
                      ("second", plugin_returning([FailuresAtB()])))
    with pytest.raises(PluginError) as caught:
        pm.criteria()
    assert "first" in str(caught.value) and "second" in str(caught.value)


@pytest.mark.parametrize("bad", [None, "not a list", [object()]])
def test_a_hook_returning_the_wrong_type_is_named(bad: Any) -> None:
    pm = manager_with(("sloppy", plugin_returning(bad)))
    if bad is None:  # returning None means "nothing to add"
        assert pm.criteria_names() == ["expected_experience"]
        return
    with pytest.raises(PluginError) as caught:
        pm.criteria()
    assert caught.value.plugin == "sloppy" and caught.value.hook == "cxplan_criteria"


def test_a_hook_that_raises_is_named() -> None:
    @hookimpl
    def cxplan_criteria() -> Any:
        raise RuntimeError("boom")

    pm = manager_with(("explosive", SimpleNamespace(cxplan_criteria=cxplan_criteria)))
    with pytest.raises(PluginError, match=r"explosive.*boom"):
        pm.criteria()


def test_a_plugin_module_that_fails_to_import_is_named() -> None:
    pm = CxplanPlugins(load_entry_points=False)
    with pytest.raises(PluginError, match="no_such_module_for_cxplan"):
        pm.register_module("no_such_module_for_cxplan")


def test_a_criterion_whose_model_term_is_not_exact_is_caught() -> None:
    class Liar(FailuresAtB):
        name = "liar"

        def evaluate(self, ctx: EvaluationContext) -> float:
            return super().evaluate(ctx) + 1.0

    pm = manager_with(("liar", plugin_returning([Liar()])))
    data = {**SCENARIO, "criteria": {"liar": 1}}
    with pytest.raises(ConsistencyError, match="liar"):
        optimize(load_scenario(data, criteria=pm.criteria_names()), plugins=pm)


def test_plugin_constraints_are_added_to_the_model() -> None:
    @hookimpl
    def cxplan_constraints(ctx: ModelContext) -> Any:
        return [("no-fix-a", ctx.x["fix-a"] <= 0)]

    pm = manager_with(("policy", SimpleNamespace(cxplan_constraints=cxplan_constraints)))
    plan = optimize(load_scenario(SCENARIO), plugins=pm)
    assert plan.selected == ("fix-b",)
