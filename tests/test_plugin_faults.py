"""Issue 22: what got in a plugin author's way, one test per finding.

Loading forgives the obvious (a local copy of an installed plugin, a disabled name that is
not installed); every fault of a plugin names the plugin (exit code 4), never "a bug in
cxplan"; a section a plugin needs is a scenario error (exit code 2) naming the plugin;
the API version a plugin declares is checked; the old import paths warn.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cxplan.plugin_api import (
    API_VERSION,
    PluginError,
    ReportSection,
    ScenarioError,
    hookimpl,
    load_scenario,
    requires_section,
)
from cxplan.plugins import configure
from cxplan.testing import plugin_manager

from conftest import TWO_TOUCHPOINTS, CliRun

ROOT = Path(__file__).resolve().parents[1]
NPS_INIT = ROOT / "plugins" / "cxplan-nps" / "src" / "cxplan_nps" / "__init__.py"

SCENARIO: dict[str, Any] = TWO_TOUCHPOINTS
NPS = {"touchpoints": {"b": {"failed": {"promoters": 0, "passives": 1, "detractors": 9},
                             "passed": {"promoters": 5, "passives": 3, "detractors": 2}}}}


@pytest.fixture(autouse=True)
def default_plugins() -> Iterator[None]:
    yield
    configure()


@pytest.fixture
def scenario_file(tmp_path: Path) -> Callable[..., Path]:
    def write(**changes: Any) -> Path:
        path = tmp_path / "scenario.yaml"
        path.write_text(yaml.safe_dump({**SCENARIO, **changes}), encoding="utf-8")
        return path

    return write


@pytest.fixture
def plugin_file(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, source: str) -> Path:
        path = tmp_path / f"{name}.py"
        path.write_text(source, encoding="utf-8")
        return path

    return write


# -- item 2: loading forgives the obvious ----------------------------------------------------

@pytest.mark.parametrize("spec", ["file", "module"])
def test_a_local_copy_of_an_installed_plugin_replaces_it_for_the_run(
        run_main: Callable[..., CliRun], scenario_file: Callable[..., Path],
        spec: str) -> None:
    path = scenario_file(criteria={"nps": 1, "expected_experience": 0}, extensions={"nps": NPS})
    given = str(NPS_INIT) if spec == "file" else "cxplan_nps"
    done = run_main("--plugin", given, "plan", path, "--json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["selected"] == ["fix-b"]
    assert (f"note: --plugin {given} is the installed plugin 'nps' (cxplan-nps 0.1.0); the "
            "local one is used for this run") in done.stderr
    assert "already registered" not in done.stderr
    listed = run_main("--plugin", given, "plugins", "--json")
    (nps,) = [p for p in json.loads(listed.stdout) if p["name"] == "nps"]
    assert nps["source"] == f"--plugin {given} (in place of the installed cxplan_nps)"


# -- item 3 and 8: every plugin fault names the plugin ---------------------------------------

COMMAND_PLUGIN = '''
from cxplan.plugin_api import hookimpl, run_command


@hookimpl
def cxplan_cli(app):
    @app.command()
    def audit() -> None:
        """A command whose body fails."""
        run_command(lambda: {}["owner"])

    @app.command()
    def bare() -> None:
        """A command that fails outside run_command."""
        raise ValueError("no ledger")
'''


@pytest.mark.parametrize(("command", "raised"), [("audit", "KeyError: 'owner'"),
                                                 ("bare", "ValueError: no ledger")])
def test_an_exception_in_a_plugin_command_is_the_plugins_fault(
        run_main: Callable[..., CliRun], plugin_file: Callable[[str, str], Path],
        command: str, raised: str) -> None:
    done = run_main("--plugin", plugin_file("ledger", COMMAND_PLUGIN), command)
    assert done.exit_code == 4
    assert f"error: plugin 'ledger', command '{command}': raised {raised}" in done.stderr
    assert "bug in cxplan" not in done.stderr and "Traceback" not in done.stderr


SECTION_PLUGIN = '''
from pydantic import BaseModel, field_validator
from cxplan.plugin_api import hookimpl


class Ledger(BaseModel):
    owners: dict[str, int]

    @field_validator("owners")
    @classmethod
    def _known(cls, owners, info):
        return {k: info.context["scenario"]["no-such-key"] for k in owners}


@hookimpl
def cxplan_scenario_sections():
    return {"ledger": Ledger}
'''


def test_a_section_validator_that_crashes_is_the_plugins_fault(
        run_main: Callable[..., CliRun], plugin_file: Callable[[str, str], Path],
        scenario_file: Callable[..., Path]) -> None:
    path = scenario_file(extensions={"ledger": {"owners": {"it": 2}}})
    done = run_main("--plugin", plugin_file("ledger", SECTION_PLUGIN), "validate", path)
    assert done.exit_code == 4
    assert ("plugin 'ledger', validating section 'ledger': raised KeyError: 'no-such-key'"
            in done.stderr)
    assert "bug in cxplan" not in done.stderr


LIAR_PLUGIN = '''
from cxplan.plugin_api import Criterion, hookimpl


class Liar(Criterion):
    name = "failures_at_b"

    def model_term(self, ctx):
        t = ctx.touchpoint_index["b"]
        return float(ctx.baseline.personas[0].failures[t]) - ctx.failures(0, t)

    def evaluate(self, ctx):
        return 7.0


@hookimpl
def cxplan_criteria():
    return [Liar()]
'''


def test_a_criterion_disagreeing_with_itself_names_its_plugin(
        run_main: Callable[..., CliRun], plugin_file: Callable[[str, str], Path],
        scenario_file: Callable[..., Path]) -> None:
    path = scenario_file(criteria={"failures_at_b": 1})
    done = run_main("--plugin", plugin_file("liar", LIAR_PLUGIN), "plan", path)
    assert done.exit_code == 4  # not 70: cxplan's own numbers are fine
    assert "plugin 'liar', criterion 'failures_at_b': its model_term and its evaluate " \
           "disagree on the selection [fix-b]" in done.stderr


def test_a_report_section_row_with_more_cells_than_columns_is_refused() -> None:
    with pytest.raises(ValueError, match=r"row 2 has 3 cells, the table has 2 columns"):
        ReportSection(id="x", title="X", columns=("a", "b"), rows=[(1, 2), (1, 2, 3)])


def test_a_misspelled_hook_lists_the_hooks_in_the_same_order_every_time(
        plugin_file: Callable[[str, str], Path]) -> None:
    path = plugin_file("typo", "from cxplan.plugin_api import hookimpl\n\n@hookimpl\n"
                               "def cxplan_criterias():\n    return []\n")
    script = ("from cxplan.plugins import CxplanPlugins\n"
              f"pm = CxplanPlugins(load_entry_points=False, extra=[{str(path)!r}], "
              "strict=False)\nprint(pm.failures[0])\n")
    runs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": str(seed)}).stdout
            for seed in (1, 2, 3)}
    (message,) = runs
    assert "there is no hook named cxplan_criterias (did you mean 'cxplan_criteria'?); " \
           "hooks: cxplan_cli, cxplan_constraints, cxplan_criteria" in message


# -- item 4: a section a plugin needs ----------------------------------------------------------

def test_a_criterion_named_without_its_section_is_a_scenario_error(
        run_main: Callable[..., CliRun], scenario_file: Callable[..., Path]) -> None:
    path = scenario_file(criteria={"nps": 1})
    done = run_main("validate", path)
    assert done.exit_code == 2
    assert ("criteria.nps: criterion 'nps' (plugin 'nps') needs the section `extensions.nps`"
            ", and the scenario has none") in done.stderr


class Capped:
    """A constraints plugin that needs its section, declared with `requires_section`."""

    @hookimpl
    @requires_section("caps")
    def cxplan_constraints(self, ctx: Any) -> list[tuple[str, object]]:
        return []

    @hookimpl
    def cxplan_scenario_sections(self) -> dict[str, type]:
        from pydantic import BaseModel

        class Caps(BaseModel):
            per_owner: int

        return {"caps": Caps}


def test_constraints_that_need_a_section_make_a_scenario_without_it_invalid() -> None:
    manager = plugin_manager(("caps-plugin", Capped()))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(SCENARIO, plugins=manager)
    (problem,) = caught.value.problems
    assert problem.message == ("plugin 'caps-plugin' needs the section `extensions.caps` for "
                               "its constraints, and the scenario has none")
    assert "--disable-plugin caps-plugin" in (problem.hint or "")
    assert load_scenario({**SCENARIO, "extensions": {"caps": {"per_owner": 1}}},
                         plugins=manager).extension("caps") is not None


def test_a_needed_section_no_plugin_declares_is_the_plugins_fault() -> None:
    class Needy:
        @hookimpl
        @requires_section("cpas")
        def cxplan_constraints(self, ctx: Any) -> list[tuple[str, object]]:
            return []

    with pytest.raises(PluginError, match=r"plugin 'needy', requires_section: its "
                                          r"constraints need the section 'cpas'"):
        load_scenario(SCENARIO, plugins=plugin_manager(("needy", Needy())))


def test_disabling_the_default_criterion_is_a_scenario_error_not_a_crash(
        run_main: Callable[..., CliRun], scenario_file: Callable[..., Path]) -> None:
    path = scenario_file()
    done = run_main("--disable-plugin", "cxplan.criteria.experience", "validate", path)
    assert done.exit_code == 2
    assert ("without `criteria:` the scenario is optimized for 'expected_experience', which "
            "is not available: its plugin 'cxplan.criteria.experience' is disabled") \
        in done.stderr


# -- item 9: the API version -------------------------------------------------------------------

@pytest.mark.parametrize(("declared", "message"), [
    ('">=2.0"', "the plugin supports the plugin API >=2.0, but this cxplan"),
    ('"two"', "'two' is not a version range"),
])
def test_a_plugin_outside_its_declared_api_range_is_refused(
        run_main: Callable[..., CliRun], plugin_file: Callable[[str, str], Path],
        scenario_file: Callable[..., Path], declared: str, message: str) -> None:
    path = plugin_file("future", f"CXPLAN_API = {declared}\n")
    done = run_main("--plugin", path, "validate", scenario_file())
    assert done.exit_code == 4
    assert f"plugin 'future', CXPLAN_API: {message}" in done.stderr
    if declared == '">=2.0"':
        assert f"has plugin API {API_VERSION}" in done.stderr


def test_a_plugin_inside_its_declared_range_loads_and_says_so(
        run_main: Callable[..., CliRun], plugin_file: Callable[[str, str], Path]) -> None:
    path = plugin_file("current", 'CXPLAN_API = ">=1.0,<2"\n')
    done = run_main("--plugin", path, "plugins", "--json")
    assert done.exit_code == 0
    (current,) = [p for p in json.loads(done.stdout) if p["name"] == "current"]
    assert current["supports_api"] == ">=1.0,<2" and current["api_version"] == API_VERSION


@pytest.mark.parametrize("module", ["cxplan.criterion", "cxplan.model", "cxplan.extensions"])
def test_the_old_import_paths_still_work_and_say_what_replaces_them(module: str) -> None:
    script = (f"import warnings\nwarnings.simplefilter('always')\nimport {module}\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert "CxplanDeprecationWarning" in result.stderr
    assert "from cxplan.plugin_api instead" in result.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert __import__(module, fromlist=["x"]) is not None


# -- item 8: python -m cxplan ------------------------------------------------------------------

def test_python_dash_m_cxplan_runs_the_command_line() -> None:
    result = subprocess.run([sys.executable, "-m", "cxplan", "--version"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("cxplan ")


# -- item 5: the public API is enough ----------------------------------------------------------

@pytest.mark.parametrize("plugin", ["cxplan-nps", "cxplan-coverage"])
def test_the_example_plugins_use_only_the_plugin_api_and_the_testing_kit(plugin: str) -> None:
    imported = set()
    for path in (ROOT / "plugins" / plugin).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            imported |= {n for n in names if n == "cxplan" or n.startswith("cxplan.")}
    assert imported == {"cxplan.plugin_api", "cxplan.testing"}
