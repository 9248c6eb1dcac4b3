"""The command line: JSON contract, exit codes, overrides, reports, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cxplan import load_scenario, optimize
from cxplan.cli import app

ROOT = Path(__file__).resolve().parents[1]
RESTAURANT = ROOT / "scenarios" / "restaurant.yaml"
CONTRACT_KEYS = {"scenario", "status", "selected", "objective", "expected_gain",
                 "baseline_value", "planned_value", "cost", "staff_used", "criteria"}


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def write(tmp_path: Path, data: object, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


INFEASIBLE = {
    "cxplan": 1, "budget": 50, "teams": {"it": 1},
    "touchpoints": [{"id": "a", "failure_probability": 0.3, "impact": 10}],
    "journey": {"entry": {"a": 1}},
    "improvements": [
        {"id": "kyc", "cost": 60, "mandatory": True,
         "effects": [{"touchpoint": "a", "failure_reduction": 0.1}]},
        {"id": "app", "cost": 10, "staff": {"it": 2},
         "effects": [{"touchpoint": "a", "failure_reduction": 0.2}]},
    ],
}


def test_plan_json_is_one_object_with_the_contract_keys_and_the_api_numbers(
        cli: CliRunner) -> None:
    result = cli.invoke(app, ["plan", str(RESTAURANT), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)  # exactly one JSON object, nothing else on stdout
    assert set(data) >= CONTRACT_KEYS
    plan = optimize(load_scenario(RESTAURANT))
    assert data["status"] == "optimal"
    assert data["selected"] == list(plan.selected)
    assert data["expected_gain"] == pytest.approx(plan.expected_gain)
    assert data["planned_value"] - data["baseline_value"] == pytest.approx(data["expected_gain"])
    assert data["criteria"]["expected_experience"]["value"] == pytest.approx(plan.expected_gain)
    assert data["criteria"]["expected_experience"]["weight"] == 1
    assert data["objective"] == pytest.approx(plan.expected_gain)
    assert data["cost"] == pytest.approx(sum(i["cost"] for i in data["improvements"]))
    assert set(data["staff_used"]) == set(load_scenario(RESTAURANT).teams)


def test_budget_and_team_overrides_change_the_plan_within_the_new_limits(cli: CliRunner) -> None:
    wide = json.loads(cli.invoke(app, ["plan", str(RESTAURANT), "--json"]).stdout)
    tight = json.loads(cli.invoke(app, ["plan", str(RESTAURANT), "--json", "--budget",
                                        "5000", "--team", "digital=0"]).stdout)
    assert tight["cost"] <= 5000
    assert tight["staff_used"]["digital"] == 0
    assert tight["expected_gain"] < wide["expected_gain"]


def test_unknown_team_override_is_a_usage_error(cli: CliRunner) -> None:
    result = cli.invoke(app, ["plan", str(RESTAURANT), "--team", "nope=3"])
    assert result.exit_code == 2
    assert "unknown team" in result.stderr and "kitchen" in result.stderr


def test_invalid_scenario_exits_2_lists_every_problem_and_writes_nothing(
        cli: CliRunner, tmp_path: Path) -> None:
    bad = write(tmp_path, {
        "cxplan": 1,
        "touchpoints": [{"id": "branch", "failure_probability": 1.5, "impact": 1}],
        "journey": {"entry": {"brnch": 1}},
        "improvements": [{"id": "x", "cost": 1, "effects": [{"touchpoint": "branh"}]}],
    })
    reports = tmp_path / "reports"
    result = cli.invoke(app, ["plan", str(bad), "--report", str(reports)])
    assert result.exit_code == 2
    assert f"{bad}: touchpoints[0].failure_probability:" in result.stderr
    assert "journey.entry.brnch: unknown touchpoint 'brnch' (did you mean 'branch'?)" \
        in result.stderr
    assert "improvements[0].effects[0].touchpoint: unknown touchpoint 'branh'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not reports.exists()


def test_infeasible_scenario_exits_3_naming_the_conflicting_constraints(
        cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["plan", str(write(tmp_path, INFEASIBLE))])
    assert result.exit_code == 3
    assert "'kyc' is mandatory" in result.stderr
    assert "budget of 50" in result.stderr
    assert "team" not in result.stderr  # the team capacity is not part of the conflict


def test_report_files_are_written(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["plan", str(RESTAURANT), "--report", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    written = sorted(p.suffix for p in (tmp_path / "out").iterdir())
    assert written == [".html", ".md"]
    html = next((tmp_path / "out").glob("*.html")).read_text(encoding="utf-8")
    assert "Restaurant visit" in html


def test_validate_reports_valid_and_invalid_files(cli: CliRunner, tmp_path: Path) -> None:
    ok = cli.invoke(app, ["validate", str(RESTAURANT)])
    assert ok.exit_code == 0 and "valid" in ok.stdout
    bad = cli.invoke(app, ["validate", str(write(tmp_path, "cxplan: 2\n"))])
    assert bad.exit_code == 2
    assert "format version 2 is not supported" in bad.stderr
    as_json = cli.invoke(app, ["validate", "--json", str(write(tmp_path, "cxplan: 2\n"))])
    assert json.loads(as_json.stdout)["valid"] is False


def test_evaluate_prints_the_exact_value_of_a_selection(cli: CliRunner) -> None:
    plan = optimize(load_scenario(RESTAURANT))
    result = cli.invoke(app, ["evaluate", str(RESTAURANT), "--json",
                              "--select", ",".join(plan.selected)])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["expected_gain"] == pytest.approx(plan.expected_gain)
    assert data["feasible"] is True


def test_evaluate_flags_an_infeasible_selection_and_unknown_ids(cli: CliRunner) -> None:
    scenario = load_scenario(RESTAURANT)
    everything = ",".join(scenario.improvement_ids)
    data = json.loads(cli.invoke(app, ["evaluate", str(RESTAURANT), "--json", "--select",
                                       everything]).stdout)
    assert data["feasible"] is False and any("budget" in v for v in data["violations"])
    unknown = cli.invoke(app, ["evaluate", str(RESTAURANT), "--select", "no-such-thing"])
    assert unknown.exit_code == 2 and "unknown improvement 'no-such-thing'" in unknown.stderr


def test_version_and_help(cli: CliRunner) -> None:
    assert cli.invoke(app, ["--version"]).stdout.startswith("cxplan ")
    assert "Examples" in cli.invoke(app, ["--help"]).stdout


def test_the_installed_command_prints_only_json_on_stdout(tmp_path: Path) -> None:
    # A real process: HiGHS's banner, warnings or logging must not leak onto stdout.
    proc = subprocess.run([sys.executable, "-m", "cxplan.cli", "plan", str(RESTAURANT), "--json"],
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "optimal"


def test_a_missing_file_is_a_clear_error_without_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "cxplan.cli", "plan",
                           str(tmp_path / "missing.yaml")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_the_model_can_be_exported_as_an_lp_file_with_readable_names(
        cli: CliRunner, tmp_path: Path) -> None:
    lp = tmp_path / "model.lp"
    result = cli.invoke(app, ["plan", str(RESTAURANT), "--json", "--lp", str(lp)])
    assert result.exit_code == 0, result.stderr
    text = lp.read_text()
    assert "budget:" in text and "staff_kitchen_:" in text
    assert "x_own_booking_page_" in text
