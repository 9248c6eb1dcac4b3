"""`cxplan compare`: variants side by side, read the right way.

A variant that changes the journey itself changes its baseline, so a lower gain can
still be a better plan; the comparison shows baseline, planned value, gain and cost per
variant and the difference in planned value to the first, and says so in words when the
gain and the planned value point different ways.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def variants(minimal_scenario: Any, write_scenario: Any) -> tuple[Path, Path]:
    """A base, and a variant whose journey fails less at the start (a higher baseline), so
    its plan gains less but ends higher."""
    many = [{"id": "everyone", "customers": 10_000}]
    base = write_scenario(minimal_scenario(name="Today", personas=many), name="base.yaml")
    data = minimal_scenario(name="Better ads", personas=many)
    data["touchpoints"][0]["failure_probability"] = 0.05
    variant = write_scenario(data, name="better-ads.yaml")
    return base, variant


def test_json_gives_planned_value_and_baseline_differences(
        variants: tuple[Path, Path], run_main: Any) -> None:
    run = run_main("compare", *variants, "--json")
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    first, second = data["scenarios"]
    assert [s["name"] for s in data["scenarios"]] == ["Today", "Better ads"]
    (difference,) = data["differences"]
    assert difference["planned_value_change"] == pytest.approx(
        second["planned_value"] - first["planned_value"])
    assert difference["baseline_change"] == pytest.approx(
        second["baseline_value"] - first["baseline_value"])
    assert difference["gain_change"] == pytest.approx(
        second["expected_gain"] - first["expected_gain"])


def test_a_lower_gain_with_a_higher_planned_value_is_called_out(
        variants: tuple[Path, Path], run_main: Any) -> None:
    data = json.loads(run_main("compare", *variants, "--json").stdout)
    (difference,) = data["differences"]
    # the situation this guards against: the gain says worse, the planned value better
    assert difference["gain_change"] < 0 < difference["planned_value_change"]
    (note,) = data["notes"]
    assert "Better ads gains less than Today" in note and "compare the planned values" in note
    assert note in " ".join(run_main("compare", *variants).stdout.split())


def test_no_note_when_gain_and_planned_value_agree(
        minimal_scenario: Any, write_scenario: Any, run_main: Any) -> None:
    base = write_scenario(minimal_scenario(name="Today"), name="base.yaml")
    richer = write_scenario(minimal_scenario(name="Richer", budget=1000), name="richer.yaml")
    data = json.loads(run_main("compare", base, richer, "--json").stdout)
    assert data["notes"] == []


def test_columns_are_named_by_scenario_not_by_path(
        variants: tuple[Path, Path], run_main: Any, tmp_path: Path) -> None:
    run = run_main("compare", *variants, "--report", tmp_path / "out")
    assert run.exit_code == 0, run.output
    (page,) = (tmp_path / "out").glob("compare-*.html")
    html = page.read_text(encoding="utf-8")
    for shown in (run.stdout, html):
        assert "Today" in shown and "Better ads" in shown
        assert str(variants[0].parent) not in shown  # no folders, only file names
        for row in ("baseline value", "planned value", "expected gain", "cost",
                    "planned value vs first"):
            assert row in shown, row
        # the gain is the only criterion: an "objective" row would repeat it
        assert "objective" not in shown.replace("objective:", "")


def test_variants_with_the_same_name_are_told_apart_by_file_name(
        minimal_scenario: Any, write_scenario: Any, run_main: Any) -> None:
    base = write_scenario(minimal_scenario(name="Same"), name="a.yaml")
    other = write_scenario(minimal_scenario(name="Same", budget=1000), name="b.yaml")
    data = json.loads(run_main("compare", base, other, "--json").stdout)
    assert [s["name"] for s in data["scenarios"]] == ["Same (a.yaml)", "Same (b.yaml)"]


def test_an_objective_row_appears_when_other_criteria_count(
        minimal_scenario: Any, write_scenario: Any, run_main: Any) -> None:
    weighted = minimal_scenario(criteria={"expected_experience": 2})
    base = write_scenario(minimal_scenario(), name="a.yaml")
    other = write_scenario(weighted, name="b.yaml")
    run = run_main("compare", base, other)
    assert run.exit_code == 0, run.output
    assert " objective " in run.stdout
