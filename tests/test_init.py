"""`cxplan init DIR [--example NAME]` (issue 20): a commented starter scenario, as YAML and
as a workbook, to begin a new client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cxplan import load_scenario, optimize

from conftest import CliRun

Run = Callable[..., CliRun]


def test_init_writes_a_commented_starter_and_its_workbook(run_main: Run, tmp_path: Path
                                                          ) -> None:
    folder = tmp_path / "new-client"
    result = run_main("init", folder)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["scenario.xlsx", "scenario.yaml"]
    text = (folder / "scenario.yaml").read_text()
    assert sum(line.lstrip().startswith("#") for line in text.splitlines()) >= 8
    assert "write 25 % as 0.25" in text
    yaml_plan = optimize(load_scenario(folder / "scenario.yaml"))
    book_plan = optimize(load_scenario(folder / "scenario.xlsx"))
    assert yaml_plan.selected == book_plan.selected
    assert yaml_plan.expected_gain == book_plan.expected_gain
    assert "cxplan plan" in result.stderr


def test_the_roadmap_example_is_a_variant_of_the_starter(run_main: Run, tmp_path: Path
                                                        ) -> None:
    assert run_main("init", tmp_path, "--example", "roadmap").exit_code == 0
    roadmap = load_scenario(tmp_path / "roadmap.yaml")
    assert roadmap.horizon is not None and roadmap.horizon.periods == 4
    assert "extends: scenario.yaml" in (tmp_path / "roadmap.yaml").read_text()
    book = load_scenario(tmp_path / "roadmap.xlsx")
    assert book.model_dump() == roadmap.model_dump()
    assert book.period_values == roadmap.period_values


def test_init_writes_over_nothing_and_names_the_examples(run_main: Run, tmp_path: Path
                                                         ) -> None:
    (tmp_path / "scenario.yaml").write_text("# the client's own\n")
    taken = run_main("init", tmp_path)
    assert taken.exit_code == 2 and "exists already" in taken.stderr
    assert (tmp_path / "scenario.yaml").read_text() == "# the client's own\n"
    assert not (tmp_path / "scenario.xlsx").exists()
    unknown = run_main("init", tmp_path / "other", "--example", "bakery")
    assert unknown.exit_code == 2
    assert "online-shop" in unknown.stderr and "roadmap" in unknown.stderr
    assert not (tmp_path / "other").exists()
