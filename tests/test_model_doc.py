"""docs/model.md is the repository's reference of the model: its worked example must be
exact, and its field reference must name every field of the scenario format."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

import cxplan
from cxplan.scenario import models

DOC = Path(__file__).resolve().parents[1] / "docs" / "model.md"

# The worked example's numbers, as the document states them (2 decimals).
BASELINE_VALUE = 26_375.00
PLANNED_VALUE = 28_400.00
EXPECTED_GAIN = 2_025.00
SELECTION = ["guided-form"]

# Every model of the scenario format (each a `Strict` model): a new one is documented too.
DOCUMENTED_MODELS: list[type[BaseModel]] = [
    model for model in vars(models).values()
    if isinstance(model, type) and issubclass(model, models.Strict) and model is not models.Strict]


def section(title: str) -> str:
    """The text of the document's `## title` section, up to the next `## ` heading."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match is not None, f"docs/model.md has no section '## {title}'"
    return match.group(1)


def worked_example() -> dict[str, Any]:
    """The first ```yaml block of "## A worked example", parsed."""
    block = re.search(r"^```yaml\n(.*?)^```", section("A worked example"), re.M | re.S)
    assert block is not None, "the worked example has no ```yaml block"
    data = yaml.safe_load(block.group(1))
    assert isinstance(data, dict)
    return data


def test_the_document_has_every_section_other_pages_link_to() -> None:
    for title in ("The journey as a Markov chain", "Improvements and their effects",
                  "Value and gain", "Constraints", "Criteria and how they combine",
                  "Roadmaps", "The exact MILP", "Scenario fields", "A worked example"):
        assert section(title).strip()


def test_the_worked_example_is_a_valid_scenario_without_warnings() -> None:
    scenario = cxplan.load_scenario(worked_example())
    assert scenario.warnings == []
    assert [tp.id for tp in scenario.touchpoints] == ["application", "review", "payout"]


def test_the_worked_examples_baseline_planned_value_and_gain_are_exact() -> None:
    result = cxplan.evaluate(cxplan.load_scenario(worked_example()), SELECTION)
    assert result.feasible
    assert result.baseline_value == pytest.approx(BASELINE_VALUE, abs=0.01)
    assert result.planned_value == pytest.approx(PLANNED_VALUE, abs=0.01)
    assert result.expected_gain == pytest.approx(EXPECTED_GAIN, abs=0.01)


def test_the_worked_example_states_the_numbers_it_computes() -> None:
    text = section("A worked example")
    for number in (BASELINE_VALUE, PLANNED_VALUE, EXPECTED_GAIN):
        assert f"**{number:,.2f}**" in text


def test_the_hand_computed_visits_and_failures_match_the_evaluator() -> None:
    scenario = cxplan.load_scenario(worked_example())
    before = cxplan.evaluate(scenario, []).evaluation.personas[0]
    after = cxplan.evaluate(scenario, SELECTION).evaluation.personas[0]
    assert list(before.visits) == pytest.approx([1.5625, 1.40625, 0.84375])
    assert list(before.failures) == pytest.approx([0.3125, 0.140625, 0.0421875])
    assert list(after.visits) == pytest.approx([1.6, 1.5, 0.9])
    assert list(after.failures) == pytest.approx([0.2, 0.15, 0.045])


def test_the_other_selections_of_the_worked_example_are_as_stated() -> None:
    scenario = cxplan.load_scenario(worked_example())
    alone = cxplan.evaluate(scenario, ["payout-check"])
    both = cxplan.evaluate(scenario, ["guided-form", "payout-check"])
    assert alone.expected_gain == pytest.approx(1_687.50, abs=0.01)
    assert both.expected_gain == pytest.approx(3_825.00, abs=0.01)
    assert both.planned_value == pytest.approx(30_200.00, abs=0.01)
    assert not both.feasible  # 10,000 over a budget of 8,000


def test_the_optimizer_picks_the_plan_the_worked_example_explains() -> None:
    plan = cxplan.optimize(cxplan.load_scenario(worked_example()))
    assert plan.selected == tuple(SELECTION)
    assert plan.expected_gain == pytest.approx(EXPECTED_GAIN, abs=0.01)
    assert plan.cost == pytest.approx(6_000.00)


@pytest.mark.parametrize("model", DOCUMENTED_MODELS, ids=lambda m: m.__name__)
def test_the_field_reference_names_every_field_of_the_scenario_format(
        model: type[BaseModel]) -> None:
    reference = section("Scenario fields")
    missing = [field.alias or name for name, field in model.model_fields.items()
               if f"`{field.alias or name}`" not in reference]
    assert not missing, f"docs/model.md, '## Scenario fields', lacks {model.__name__}: {missing}"


def test_the_field_reference_names_the_variant_key() -> None:
    assert "`extends`" in section("Scenario fields")
