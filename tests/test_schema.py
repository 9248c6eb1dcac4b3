"""The published JSON Schema of the scenario format: current, and true to the examples."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from cxplan.cli import app
from cxplan.scenario.schema import scenario_schema

from conftest import ScenarioFactory

ROOT = Path(__file__).resolve().parent.parent
# Scenarios and variants (a file that starts a scenario or extends one); not the other data
# bundled beside them (the calibration example's activity mapping).
SCENARIOS = sorted(p for p in (ROOT / "scenarios").rglob("*.yaml")
                   if re.search(r"^(cxplan|extends):", p.read_text(encoding="utf-8"), re.M))


def _validator() -> jsonschema.Draft202012Validator:
    schema = scenario_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_published_schema_is_what_cxplan_schema_core_prints() -> None:
    result = CliRunner().invoke(app, ["schema", "--core"])
    assert result.exit_code == 0
    published = json.loads((ROOT / "docs" / "scenario.schema.json").read_text(encoding="utf-8"))
    assert json.loads(result.stdout) == published == scenario_schema(), \
        "regenerate it: cxplan schema --core > docs/scenario.schema.json"


def test_cxplan_schema_includes_the_installed_plugins_sections(
        minimal_scenario: ScenarioFactory) -> None:
    # Item 8 of issue 22: `cxplan schema` left them out, so an editor accepted any section.
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    extensions = schema["$defs"]["Scenario"]["properties"]["extensions"]
    assert set(extensions["properties"]) == {"coverage", "nps"}
    assert "(plugin 'nps')" in extensions["properties"]["nps"]["description"]
    validator = jsonschema.Draft202012Validator(schema)
    survey = {"failed": {"promoters": 0, "passives": 1, "detractors": 9},
              "passed": {"promoters": 5, "passives": 3, "detractors": 2}}
    good = minimal_scenario(extensions={"nps": {"touchpoints": {"branch": survey}},
                                        "coverage": {"stages": "all"}})
    assert not list(validator.iter_errors(good))
    for bad in ({"nps": {"touchpoints": {"branch": {"failed": survey["failed"]}}}},
                {"coverage": {"stages": 3}}, {"nsp": {}}):
        assert list(validator.iter_errors(minimal_scenario(extensions=bad))), bad


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_bundled_scenario_and_variant_satisfies_the_schema(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [e.message for e in _validator().iter_errors(data)]
    assert not errors, errors


@pytest.mark.parametrize(("change", "words"), [
    ({"budget": -1}, "budget"),
    ({"teams": {"it": [1, "two"]}}, "teams"),
    ({"horizon": {"periods": 0}}, "horizon"),
    ({"colour": "red"}, "colour"),
])
def test_the_schema_rejects_what_the_format_rejects(
        minimal_scenario: ScenarioFactory, change: dict[str, Any], words: str) -> None:
    errors = list(_validator().iter_errors(minimal_scenario(**change)))
    assert errors and any(words in (str(list(e.absolute_path)) + e.message) for e in errors)


def test_the_schema_accepts_a_roadmap_with_amounts_per_period(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(horizon={"periods": 2, "label": "quarter"}, budget=[10, 20],
                            teams={"it": [1, 2]},
                            personas=[{"id": "p", "customers": [5, 6]}])
    data["improvements"][0].update(earliest=1, latest=2, duration=1)
    assert not list(_validator().iter_errors(data))


def _properties(node: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    """Every property schema in `node`, with its JSON pointer."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            if isinstance(prop, dict):
                found.append((f"{path}/properties/{name}", prop))
        for key, value in node.items():
            found += _properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for k, value in enumerate(node):
            found += _properties(value, f"{path}/{k}")
    return found


def test_every_field_is_described_for_editors() -> None:
    """Editors show a field's description on hover: every property has one."""
    properties = _properties(scenario_schema())
    assert len(properties) > 80
    missing = [path for path, prop in properties if not prop.get("description", "").strip()]
    assert missing == []


@pytest.mark.parametrize(("model", "field", "words"), [
    ("Touchpoint", "success_value", "successful pass"),
    ("Touchpoint", "emotion", "descriptive only"),
    ("Touchpoint", "visible", "back stage"),
    ("Improvement", "confidence", "risk_adjusted"),
    ("Edge", "probability", "completes the journey"),
])
def test_the_fields_new_users_asked_about_say_what_they_mean(
        model: str, field: str, words: str) -> None:
    prop = scenario_schema()["$defs"][model]["properties"][field]
    assert words in " ".join(prop["description"].split())
