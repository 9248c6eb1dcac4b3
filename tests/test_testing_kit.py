"""`cxplan.testing`, the kit plugin authors test with (issue 22): it must catch a criterion
that is not exact, name where, and run the command line with the test's own plugins."""

from __future__ import annotations

from typing import Any

import pulp
import pytest
import yaml

from cxplan.plugin_api import (
    Criterion,
    EvaluationContext,
    ModelView,
    PluginManager,
    current_plugins,
    hookimpl,
)
from cxplan.testing import CliRunner, assert_criterion_exact, plugin_manager

from conftest import TWO_TOUCHPOINTS

SCENARIO: dict[str, Any] = {**TWO_TOUCHPOINTS, "budget": 20}  # both fit


class FailuresAtB(Criterion):
    name = "failures_at_b"

    def model_term(self, ctx: ModelView) -> pulp.LpAffineExpression:
        t = ctx.touchpoint_index["b"]
        return float(ctx.baseline.personas[0].failures[t]) - ctx.failures(0, t)

    def evaluate(self, ctx: EvaluationContext) -> float:
        t = ctx.journey.index["b"]
        return float(ctx.baseline.personas[0].failures[t]
                     - ctx.evaluation.personas[0].failures[t])


class Linearized(FailuresAtB):
    """Wrong on purpose: it adds the two improvements' effects, which interact at b."""

    name = "linearized"

    def model_term(self, ctx: ModelView) -> pulp.LpAffineExpression:
        return 0.25 * ctx.x["fix-b"] + 0.15 * ctx.x["fix-a"]


def test_an_exact_criterion_passes_on_every_feasible_selection() -> None:
    checked = assert_criterion_exact(FailuresAtB(), SCENARIO, plugins=plugin_manager())
    assert sorted(checked) == [(), ("fix-a",), ("fix-a", "fix-b"), ("fix-b",)]


def test_a_criterion_that_is_not_exact_fails_naming_the_selection_and_both_values() -> None:
    with pytest.raises(AssertionError) as caught:
        assert_criterion_exact(Linearized(), SCENARIO, [["fix-a"]], plugins=plugin_manager())
    message = str(caught.value)
    assert "criterion 'linearized' is not exact on the selection [fix-a]" in message
    assert "model_term gives 0.15" in message and "evaluate gives 0.0" in message


def test_only_the_given_selections_are_checked_and_unknown_ids_are_named() -> None:
    manager = plugin_manager()
    assert assert_criterion_exact(Linearized(), SCENARIO, [[]], plugins=manager) == [()]
    with pytest.raises(AssertionError, match="unknown improvement"):
        assert_criterion_exact(FailuresAtB(), SCENARIO, [["fix-c"]], plugins=manager)


class AtB:
    @hookimpl
    def cxplan_criteria(self) -> list[Criterion]:
        return [FailuresAtB()]


@pytest.mark.cxplan_plugins(("at-b", AtB()))
def test_the_fixtures_use_a_manager_of_the_tests_own(
        cxplan_plugins: PluginManager, cxplan_cli: CliRunner, tmp_path: Any) -> None:
    assert current_plugins() is cxplan_plugins
    assert "failures_at_b" in cxplan_plugins.criteria_names()
    assert "nps" not in cxplan_plugins.plugin_names()  # installed, but not under test
    assert assert_criterion_exact("failures_at_b", SCENARIO)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SCENARIO, "criteria": {"failures_at_b": 1}}),
                    encoding="utf-8")
    result = cxplan_cli("plan", path, "--json", "--no-marginals")
    assert result.exit_code == 0, result.stderr
    assert '"failures_at_b"' in result.stdout
    refused = cxplan_cli("--plugin", "x.py", "plan", path)
    assert refused.exit_code == 2 and "set up in Python (cxplan.testing)" in refused.stderr


def test_outside_the_fixture_the_shared_manager_is_back() -> None:
    assert "nps" in current_plugins().plugin_names()
