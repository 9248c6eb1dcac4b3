"""Scenario variants (`extends:`), as a specification.

A variant names its base file and overrides anything: top-level values replace the
base's, mappings merge key by key (null removes a key), touchpoints / improvements /
personas merge by id, edges by (from, to), effects by touchpoint, and
`{id: x, remove: true}` removes an item. Problems point at the file and the place in
that file where the bad value was written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cxplan import load_scenario
from cxplan.errors import Problem, ScenarioError

ScenarioFactory = Callable[..., dict[str, Any]]
ROOT = Path(__file__).resolve().parents[1]


def write(folder: Path, name: str, content: dict[str, Any] | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value.problems


@pytest.fixture
def base(tmp_path: Path, minimal_scenario: ScenarioFactory) -> Path:
    return write(tmp_path, "base.yaml", minimal_scenario())


def test_a_variant_overrides_top_level_values_and_merges_mappings_by_key(
        tmp_path: Path, base: Path) -> None:
    write(tmp_path, "v.yaml", {"extends": "base.yaml", "name": "More IT", "budget": 2000,
                               "teams": {"ops": 3}})
    scenario = load_scenario(tmp_path / "v.yaml")
    assert scenario.name == "More IT"
    assert scenario.budget == 2000
    assert scenario.teams == {"it": 2, "ops": 3}  # the base's team stays
    assert [t.id for t in scenario.touchpoints] == ["ad", "branch", "account"]
    assert scenario.source == str(tmp_path / "v.yaml")


def test_items_merge_by_id_new_ones_are_appended_and_remove_true_removes(
        tmp_path: Path, base: Path) -> None:
    write(tmp_path, "v.yaml", {"extends": "base.yaml", "improvements": [
        {"id": "sms", "remove": True},
        {"id": "queue-app", "cost": 200},
        {"id": "new", "cost": 5, "effects": [{"touchpoint": "account",
                                              "failure_reduction": 0.2}]},
    ]})
    scenario = load_scenario(tmp_path / "v.yaml")
    assert scenario.improvement_ids == ["queue-app", "new"]
    queue = scenario.improvement("queue-app")
    assert queue.cost == 200
    assert queue.staff == {"it": 1}  # what the variant does not mention comes from the base
    assert queue.effects[0].failure_reduction == 0.5


def test_effects_merge_by_touchpoint_and_edges_by_their_ends(tmp_path: Path, base: Path) -> None:
    write(tmp_path, "v.yaml", {"extends": "base.yaml",
                               "improvements": [{"id": "queue-app", "effects": [
                                   {"touchpoint": "branch", "dropout_reduction": 0.3},
                                   {"touchpoint": "account", "failure_reduction": 0.1}]}],
                               "journey": {"edges": [
                                   {"from": "ad", "to": "branch", "probability": 0.8},
                                   {"from": "branch", "to": "account", "remove": True}]}})
    scenario = load_scenario(tmp_path / "v.yaml")
    effects = {e.touchpoint: e for e in scenario.improvement("queue-app").effects}
    assert effects["branch"].failure_reduction == 0.5  # kept
    assert effects["branch"].dropout_reduction == 0.3  # added
    assert effects["account"].failure_reduction == 0.1  # new effect
    assert [(e.source, e.target, e.probability) for e in scenario.journey.edges] == [
        ("ad", "branch", 0.8)]


def test_null_removes_a_key_so_budget_null_means_no_budget_limit(
        tmp_path: Path, base: Path) -> None:
    write(tmp_path, "v.yaml", "extends: base.yaml\nbudget: ~\n")
    assert load_scenario(tmp_path / "v.yaml").budget is None


def test_a_chain_of_variants_applies_from_the_base_outwards_down_folders(
        tmp_path: Path, base: Path) -> None:
    write(tmp_path, "variants/a.yaml", {"extends": "../base.yaml", "budget": 500,
                                         "name": "A"})
    write(tmp_path, "b.yaml", {"extends": "variants/a.yaml", "name": "B"})
    # b.yaml's folder holds the whole chain; a.yaml's `../base.yaml` is inside it too
    scenario = load_scenario(tmp_path / "b.yaml")
    assert (scenario.name, scenario.budget, scenario.teams) == ("B", 500, {"it": 2})


def test_a_chain_across_folders_needs_the_shared_folder_allowed(
        tmp_path: Path, base: Path) -> None:
    write(tmp_path, "variants/a.yaml", {"extends": "../base.yaml", "budget": 500,
                                         "name": "A"})
    write(tmp_path, "variants/deeper/b.yaml", {"extends": "../a.yaml", "name": "B"})
    with pytest.raises(ScenarioError, match="outside the folder of the scenario"):
        load_scenario(tmp_path / "variants" / "deeper" / "b.yaml")
    scenario = load_scenario(tmp_path / "variants" / "deeper" / "b.yaml",
                             allow_paths=[tmp_path])
    assert (scenario.name, scenario.budget, scenario.teams) == ("B", 500, {"it": 2})


def test_a_cycle_of_extends_is_an_error_naming_the_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "cxplan: 1\nextends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\n")
    (problem,) = problems(tmp_path / "a.yaml")
    assert "extends cycle" in problem.message
    assert "a.yaml -> " in problem.message and "b.yaml -> " in problem.message
    assert problem.file.endswith("b.yaml") and problem.location == "extends"
    assert problem.line == 1


def test_a_scenario_extending_itself_is_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, "self.yaml", "cxplan: 1\nextends: self.yaml\n")
    (problem,) = problems(tmp_path / "self.yaml")
    assert "extends cycle" in problem.message


def test_a_missing_base_is_reported_at_the_extends_line(tmp_path: Path) -> None:
    write(tmp_path, "v.yaml", "cxplan: 1\nname: x\nextends: nowhere.yaml\n")
    (problem,) = problems(tmp_path / "v.yaml")
    assert problem.location == "extends" and problem.line == 3
    assert "no such file" in problem.message and "nowhere.yaml" in problem.message


def test_problems_point_at_the_file_and_place_where_the_bad_value_was_written(
        tmp_path: Path, base: Path) -> None:
    write(tmp_path, "v.yaml", "\n".join([
        "extends: base.yaml",
        "improvements:",
        "  - id: queue-app",
        "    cost: -5",
        "  - {id: chatbot, cost: 1, effects: [{touchpoint: brnch, failure_reduction: 0.2}]}",
        "",
    ]))
    # The base has an error of its own too, written in the base file.
    data = yaml.safe_load(base.read_text())
    data["touchpoints"][2]["failure_probability"] = 2
    write(tmp_path, "base.yaml", data)
    found = {(Path(p.file).name, p.location): p for p in problems(tmp_path / "v.yaml")}
    assert set(found) == {("v.yaml", "improvements[0].cost"),
                          ("v.yaml", "improvements[1].effects[0].touchpoint"),
                          ("base.yaml", "touchpoints[2].failure_probability")}
    assert found["v.yaml", "improvements[0].cost"].line == 4
    assert found["v.yaml", "improvements[1].effects[0].touchpoint"].line == 5
    assert "did you mean 'branch'" in found["v.yaml",
                                          "improvements[1].effects[0].touchpoint"].message


def test_a_value_inherited_from_the_base_is_blamed_on_the_base(
        tmp_path: Path, base: Path) -> None:
    # The variant removes what the base's improvement requires: the dangling reference is
    # written in the base, so that is where the problem points.
    data = yaml.safe_load(base.read_text())
    data["improvements"][0]["requires"] = ["sms"]
    write(tmp_path, "base.yaml", data)
    write(tmp_path, "v.yaml", {"extends": "base.yaml",
                               "improvements": [{"id": "sms", "remove": True}]})
    (problem,) = problems(tmp_path / "v.yaml")
    assert Path(problem.file).name == "base.yaml"
    assert problem.location == "improvements[0].requires[0]"
    assert problem.line is not None and problem.line > 1  # the line in base.yaml
    # what the base holds is not repeated (only the file being validated is quoted)
    assert "unknown improvement" in problem.message and "sms" not in problem.message


@pytest.mark.parametrize(("item", "message"), [
    ({"id": "nope", "remove": True}, "cannot remove improvement 'nope'"),
    ({"id": "sms", "remove": True, "cost": 3}, "gives only its identity"),
    ({"id": "sms", "remove": "yes"}, "remove takes true or false"),
])
def test_bad_removals_are_errors_in_the_variant(
        tmp_path: Path, base: Path, item: dict[str, Any], message: str) -> None:
    write(tmp_path, "v.yaml", {"extends": "base.yaml", "improvements": [item]})
    (problem,) = problems(tmp_path / "v.yaml")
    assert message in problem.message
    assert Path(problem.file).name == "v.yaml"
    assert problem.location.startswith("improvements[0]")


def test_extends_must_name_a_file(tmp_path: Path) -> None:
    write(tmp_path, "v.yaml", "extends: [a.yaml, b.yaml]\n")
    (problem,) = problems(tmp_path / "v.yaml")
    assert problem.location == "extends" and "path of the base" in problem.message


def test_a_scenario_without_extends_reads_exactly_as_before(base: Path) -> None:
    scenario = load_scenario(base)
    assert scenario.improvement_ids == ["queue-app", "sms"]
    assert scenario.source == str(base)


def test_remove_outside_a_variant_is_an_unknown_key(
        tmp_path: Path, minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"][0]["remove"] = True
    path = write(tmp_path, "s.yaml", data)
    (problem,) = problems(path)
    assert problem.location == "improvements[0].remove"
    assert "unknown key" in problem.message


def test_the_bundled_variants_load(tmp_path: Path) -> None:
    variants = [ROOT / "scenarios" / f"microfinance-{name}.yaml"
                for name in ("bigger-budget", "call-centre-doubts")]
    loaded = {p.stem: load_scenario(p) for p in variants}
    doubts = loaded["microfinance-call-centre-doubts"]
    assert "whatsapp-bot-replies" not in doubts.improvement_ids
    assert doubts.budget == 500000 and doubts.teams["it"] == 12  # from the middle of the chain
    support = next(t for t in doubts.touchpoints if t.id == "support-call")
    assert support.failure_probability == 0.2 and support.impact == 8  # merged by id
