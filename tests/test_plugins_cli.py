"""Plugins on the command line: listing, --plugin, --disable-plugin, commands, exit code 4."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cxplan.plugin_api import API_VERSION
from cxplan.plugins import configure

from conftest import CliRun

# a -> b; fixing a saves more money, fixing b more failures at b.
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

CRITERION_PLUGIN = '''
import cxplan
from cxplan.core.criterion import Criterion

__version__ = "0.3"


class FailuresAtB(Criterion):
    name = "failures_avoided_at_b"
    description = "failures avoided at b"
    unit = "failures"

    def model_term(self, ctx):
        t = ctx.touchpoint_index["b"]
        return float(ctx.baseline.personas[0].failures[t]) - ctx.failures(0, t)

    def evaluate(self, ctx):
        t = ctx.journey.index["b"]
        return float(ctx.baseline.personas[0].failures[t] - ctx.evaluation.personas[0].failures[t])


@cxplan.hookimpl
def cxplan_criteria():
    return [FailuresAtB()]


@cxplan.hookimpl
def cxplan_cli(app):
    @app.command()
    def hello(name: str) -> None:
        """Say hello (a command added by a plugin)."""
        print(f"hello {name}")
'''


@pytest.fixture(autouse=True)
def default_plugins() -> Iterator[None]:
    """--plugin / --disable-plugin configure the process-wide manager: undo it after a test."""
    yield
    configure()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump({**SCENARIO, "criteria": {"failures_avoided_at_b": 1}}),
                        encoding="utf-8")
    plugin = tmp_path / "at_b.py"
    plugin.write_text(CRITERION_PLUGIN, encoding="utf-8")
    broken = tmp_path / "broken.py"
    broken.write_text("import cxplan\n\n@cxplan.hookimpl\ndef cxplan_criteria():\n"
                      "    return 'oops'\n", encoding="utf-8")
    return {"scenario": scenario, "plugin": plugin, "broken": broken}


@pytest.fixture
def run(run_main: Callable[..., CliRun]) -> Callable[..., tuple[int, str, str]]:
    """`run(*args)` -> (exit code, stdout, stderr) of the command line in this process."""

    def outcome(*args: Any) -> tuple[int, str, str]:
        done = run_main(*args)
        return done.exit_code, done.stdout, done.stderr

    return outcome


def test_plugins_lists_every_plugin_with_version_source_and_hooks(run: Any) -> None:
    code, out, _ = run("plugins", "--json")
    assert code == 0
    listed = {p["name"]: p for p in json.loads(out)}
    assert listed["cxplan.criteria.risk"] == {
        "name": "cxplan.criteria.risk", "version": listed["cxplan.criteria.risk"]["version"],
        "source": "built-in", "hooks": ["cxplan_criteria"], "criteria": ["risk_adjusted"],
        "sections": [], "error": None, "commands": [], "constraints": False,
        "report_sections": False, "requires_sections": [], "disabled": False,
        "supports_api": None, "api_version": API_VERSION}
    assert listed["nps"]["version"] == "0.1.0"
    assert listed["nps"]["hooks"] == ["cxplan_criteria", "cxplan_report_sections",
                                      "cxplan_scenario_sections", "cxplan_template_dirs"]
    assert listed["nps"]["requires_sections"] == ["nps"]
    assert listed["nps"]["supports_api"] == ">=1.0,<2"
    assert listed["coverage"]["sections"] == ["coverage"]
    code, out, _ = run("plugins")
    assert code == 0 and "cxplan.criteria.quick_wins" in out and "coverage" in out
    assert f"plugin API {API_VERSION}" in out


def test_plugins_lists_commands_constraints_and_report_sections(run: Any) -> None:
    # Item 8 of issue 22: they were missing from the list.
    code, out, _ = run("plugins", "--json")
    assert code == 0
    listed = {p["name"]: p for p in json.loads(out)}
    coverage = listed["coverage"]
    assert (coverage["commands"], coverage["constraints"], coverage["report_sections"]) == (
        ["coverage"], True, True)
    assert listed["nps"]["constraints"] is False and listed["nps"]["report_sections"] is True
    code, out, _ = run("plugins")
    assert code == 0
    block = out.split("\ncoverage 0.1.0 (entry point cxplan_coverage)\n")[1].split("\n\n")[0]
    assert "    scenario sections: coverage\n    commands: coverage\n    adds: constraints, " \
           "report sections" in block


def test_disabled_plugins_are_listed_and_marked(run: Any) -> None:
    code, out, _ = run("--disable-plugin", "nps", "--disable-plugin",
                       "cxplan.criteria.quick_wins", "plugins", "--json")
    assert code == 0
    listed = {p["name"]: p for p in json.loads(out)}
    assert listed["nps"]["disabled"] is True and listed["nps"]["version"] == "0.1.0"
    assert listed["nps"]["source"] == "entry point cxplan_nps"
    assert listed["cxplan.criteria.quick_wins"]["disabled"] is True
    assert listed["coverage"]["disabled"] is False
    code, out, _ = run("--disable-plugin", "nps", "plugins")
    assert "\nnps 0.1.0 (entry point cxplan_nps) — disabled\n    not loaded " \
           "(--disable-plugin)\n" in out


@pytest.mark.parametrize("where", ["before", "after", "equals"])
def test_a_local_plugin_adds_a_criterion(run: Any, files: dict[str, Path], where: str) -> None:
    args = {"before": ["--plugin", files["plugin"], "plan", files["scenario"], "--json"],
            "after": ["plan", files["scenario"], "--json", "--plugin", files["plugin"]],
            "equals": [f"--plugin={files['plugin']}", "plan", files["scenario"], "--json"]}
    code, out, err = run(*args[where])
    assert code == 0, err
    data = json.loads(out)
    assert data["selected"] == ["fix-b"]
    assert data["criteria"]["failures_avoided_at_b"]["value"] == pytest.approx(0.25)


def test_without_the_plugin_its_criterion_is_an_invalid_scenario(
        run: Any, files: dict[str, Path]) -> None:
    code, _, err = run("plan", files["scenario"])
    assert code == 2 and "unknown criterion 'failures_avoided_at_b'" in err


def test_a_broken_plugin_exits_with_code_4_and_names_it(run: Any, files: dict[str, Path]) -> None:
    code, out, err = run("--plugin", files["broken"], "plan", files["scenario"], "--json")
    assert code == 4 and out == ""
    assert "plugin 'broken', hook cxplan_criteria: must return a list of Criterion" in err
    assert "Traceback" not in err


def test_a_plugin_failing_during_the_solve_exits_with_code_4(
        run: Any, files: dict[str, Path], tmp_path: Path) -> None:
    raising = tmp_path / "raising.py"
    raising.write_text("import cxplan\n\n@cxplan.hookimpl\ndef cxplan_constraints(ctx):\n"
                       "    raise KeyError('owner')\n", encoding="utf-8")
    scenario = tmp_path / "plain.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    code, _, err = run("--plugin", raising, "plan", scenario)
    assert code == 4
    assert "plugin 'raising', hook cxplan_constraints: raised KeyError: 'owner'" in err


def test_a_broken_plugin_still_lets_help_and_plugins_run(run: Any, tmp_path: Path) -> None:
    unimportable = tmp_path / "unimportable.py"
    unimportable.write_text("import cxplan_dependency_that_is_missing\n", encoding="utf-8")
    code, out, err = run("--plugin", unimportable, "--help")
    assert code == 0 and "Commands" in out
    assert "warning: plugin 'unimportable', hook import: ModuleNotFoundError" in err
    code, out, _ = run("--plugin", unimportable, "plugins", "--json")
    assert code == 4
    (failed,) = [p for p in json.loads(out) if p["error"]]
    assert failed["name"] == "unimportable" and "cxplan_dependency_that_is_missing" in \
        failed["error"]
    code, _, err = run("--plugin", unimportable, "validate", "x.yaml")
    assert code == 4 and "error: plugin 'unimportable'" in err


def test_disabling_an_installed_plugin_removes_what_it_adds(
        run: Any, tmp_path: Path) -> None:
    scenario = tmp_path / "nps.yaml"
    scenario.write_text(yaml.safe_dump({**SCENARIO, "extensions": {"nps": {"touchpoints": {
        "b": {"failed": {"promoters": 0, "passives": 1, "detractors": 9},
              "passed": {"promoters": 5, "passives": 3, "detractors": 2}}}}}}),
        encoding="utf-8")
    assert run("validate", scenario)[0] == 0
    code, _, err = run("--disable-plugin", "nps", "validate", scenario)
    assert code == 2 and "unknown extension section 'nps'" in err
    assert "disabled for this run: nps" in err


def test_disabling_a_plugin_that_is_not_installed_is_a_warning(
        run: Any, files: dict[str, Path]) -> None:
    # Item 2 of issue 22: it was an error (exit code 2), so a script disabling a plugin
    # failed on every machine that did not have it.
    code, out, err = run("--disable-plugin", "npss", "--plugin", files["plugin"], "plan",
                         files["scenario"], "--json")
    assert code == 0
    assert json.loads(out)["selected"] == ["fix-b"]
    assert ("warning: --disable-plugin npss: no plugin of that name is installed, so "
            "nothing was disabled (did you mean 'nps'?)") in err


def test_a_plugin_adds_a_subcommand(run: Any, files: dict[str, Path]) -> None:
    code, out, err = run("--plugin", files["plugin"], "hello", "world")
    assert (code, out) == (0, "hello world\n"), err
    code, out, _ = run("--plugin", files["plugin"], "--help")
    assert "hello" in out


def test_a_plugin_command_may_not_replace_a_built_in_one(run: Any, tmp_path: Path) -> None:
    clash = tmp_path / "clash.py"
    clash.write_text("import cxplan\n\n@cxplan.hookimpl\ndef cxplan_cli(app):\n"
                     "    app.command('plan')(lambda: None)\n", encoding="utf-8")
    code, _, err = run("--plugin", clash, "validate", "x.yaml")
    assert code == 4 and "plugin 'clash', hook cxplan_cli: command 'plan' already exists" in err


def test_installed_plugin_commands_are_available(run: Any, tmp_path: Path) -> None:
    scenario = tmp_path / "plain.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    code, out, err = run("coverage", scenario)
    assert code == 0, err
    assert "moments of truth:\n  b: fix-b" in out


def test_help_stays_fast_plugins_are_loaded_without_heavy_libraries() -> None:
    script = ("import sys\nsys.argv = ['cxplan', '--help']\nfrom cxplan.cli import main\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "heavy = ('numpy', 'scipy', 'pulp', 'highspy', 'networkx', 'pydantic', 'jinja2')\n"
              "print('LOADED', [m for m in heavy if m in sys.modules])\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip().endswith("LOADED []"), result.stdout
    assert "plugins" in result.stdout
