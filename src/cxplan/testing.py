"""`cxplan.testing`: test a cxplan plugin with pytest, without cxplan's internals.

It is a pytest plugin installed with cxplan (entry point `pytest11`), so its fixtures are
there in every test, with nothing to import:

- `cxplan_plugins` — a plugin manager of the test's own: cxplan's built-in criteria plus
  the plugins under test, and nothing else that happens to be installed. Name them in
  `pyproject.toml`,

      [tool.pytest.ini_options]
      cxplan_plugins = ["cxplan_regulatory"]

  or for one test with `@pytest.mark.cxplan_plugins("cxplan_regulatory")` (no argument:
  the built-ins alone). While the test runs, it is the manager that `load_scenario`,
  `optimize`, `write_reports` and the command line use by default.
- `cxplan_cli` — `cxplan_cli("plan", "example.yaml", "--json")` runs the command line in
  the test's process with that manager and returns a `CliResult` (exit code, stdout,
  stderr), so plugin commands and exit codes can be tested.

And for any test:

- `assert_criterion_exact(criterion, scenario, selections=None)` — the guide's first
  rule: the criterion's model term equals its exact evaluation, on the given selections
  or on a sample of feasible ones (the empty plan, single improvements, random plans);
  a failure names the selection and both values.
- `plugin_manager(*plugins)` — the manager `cxplan_plugins` builds, outside a fixture.
- `CliRunner(manager)` — the runner `cxplan_cli` is.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import random
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from cxplan.cli import main
from cxplan.cli.common import allow_paths
from cxplan.core.criterion import Criterion
from cxplan.core.evaluation import AGREEMENT, evaluation_context
from cxplan.core.journey import build_journey
from cxplan.core.selection import requirement_closure, violations
from cxplan.load import load_scenario
from cxplan.optimizer.model import journey_copy
from cxplan.plugins.manager import (
    ENTRY_POINT_GROUP,
    CxplanPlugins,
    get_plugin_manager,
    use_plugin_manager,
)

if TYPE_CHECKING:
    from cxplan.scenario.models import Scenario

__all__ = ["CliResult", "CliRunner", "assert_criterion_exact", "plugin_manager"]

PluginSpec = str | ModuleType | tuple[str, object]
MARKER = "cxplan_plugins"
DEFAULT_SAMPLES = 32


# -- the plugin manager ------------------------------------------------------------------------

def plugin_manager(*plugins: PluginSpec, installed: bool = False,
                   disabled: Iterable[str] = ()) -> CxplanPlugins:
    """A plugin manager with cxplan's built-ins and `plugins`: module names, imported
    modules, or `(name, plugin object)` pairs. A module installed as a plugin keeps its
    entry-point name (the one `cxplan plugins` shows); others are named after the module.
    `installed=True` also loads every installed plugin (a plugin given here that is
    installed is then loaded once)."""
    manager = CxplanPlugins(load_entry_points=installed, disabled=disabled)
    for spec in plugins:
        name, plugin = _resolve(spec)
        if any(loaded is plugin for _, loaded in manager.pm.list_name_plugin()):
            continue
        manager.register(plugin, name)
    return manager


def _resolve(spec: PluginSpec) -> tuple[str, object]:
    if isinstance(spec, tuple):
        return spec
    module = importlib.import_module(spec) if isinstance(spec, str) else spec
    installed = {ep.module: ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)
                 if not ep.attr}
    return installed.get(module.__name__, module.__name__), module


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(MARKER, type="linelist", default=[],
                  help="cxplan.testing: the plugins (module names) the cxplan_plugins "
                       "fixture registers")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(*modules): the plugins the "
                                       "cxplan_plugins fixture registers for this test")


@pytest.fixture
def cxplan_plugins(request: pytest.FixtureRequest) -> Iterator[CxplanPlugins]:
    """A plugin manager with the built-ins and the plugins under test (the
    `cxplan_plugins` marker, else the `cxplan_plugins` ini setting), in effect as the
    process-wide one for the test."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        names: Sequence[PluginSpec] = marker.args
    else:
        names = request.config.getini(MARKER)
        if not names:
            pytest.fail("cxplan_plugins: which plugin is under test? Add "
                        "`cxplan_plugins = [\"your_module\"]` to [tool.pytest.ini_options], "
                        "or mark the test with @pytest.mark.cxplan_plugins(\"your_module\")",
                        pytrace=False)
    manager = plugin_manager(*names)
    with use_plugin_manager(manager):
        yield manager


# -- the command line ------------------------------------------------------------------------

@dataclass(frozen=True)
class CliResult:
    """How a run of the command line ended."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class CliRunner:
    """Runs the `cxplan` command line in this process with a given plugin manager:
    `CliRunner(manager).invoke("plan", "example.yaml", "--json")` (or call the runner)."""

    def __init__(self, manager: CxplanPlugins) -> None:
        self.manager = manager

    def __call__(self, *args: str | Path) -> CliResult:
        return self.invoke(*args)

    def invoke(self, *args: str | Path) -> CliResult:
        """Run `cxplan ARGS...`; standard output and error are captured."""
        out, err = io.StringIO(), io.StringIO()
        argv = sys.argv
        sys.argv = ["cxplan", *map(str, args)]
        code = 0
        try:
            with use_plugin_manager(self.manager), contextlib.redirect_stdout(out), \
                    contextlib.redirect_stderr(err):
                main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.argv = argv
            allow_paths([])
        return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cxplan_cli(cxplan_plugins: CxplanPlugins) -> CliRunner:
    """`cxplan_cli(*args)` runs the command line with the test's plugin manager."""
    return CliRunner(cxplan_plugins)


# -- criteria ---------------------------------------------------------------------------------

def assert_criterion_exact(
    criterion: Criterion | str,
    scenario: Scenario | str | Path | Mapping[str, Any],
    selections: Iterable[Iterable[str]] | None = None,
    *,
    plugins: CxplanPlugins | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> list[tuple[str, ...]]:
    """Assert that `criterion`'s model term equals its exact evaluation on `selections`
    (lists of improvement ids), or on up to `samples` feasible selections of `scenario`.

    `criterion` is a Criterion or the name of a registered one, `scenario` a loaded
    scenario, a file or a mapping (loaded with `plugins`, default: the manager in
    effect). The term is built in cxplan's own model of the scenario (its single-period
    model) and its value read at each selection exactly, as the solver would see it;
    the two must agree within cxplan's tolerance (relative 1e-6 of `magnitude`). Returns
    the selections checked. Raises AssertionError naming the first selection where they
    differ, with both values.
    """
    import pulp

    manager = plugins or get_plugin_manager()
    if not isinstance(scenario, str | Path | Mapping):
        loaded = scenario
    else:
        loaded = load_scenario(scenario, plugins=manager)
    if isinstance(criterion, str):
        known = manager.criteria()
        if criterion not in known:
            raise AssertionError(f"no criterion named {criterion!r} is registered "
                                 f"(registered: {', '.join(sorted(known))})")
        criterion = known[criterion]
    journey = build_journey(loaded)
    problem = pulp.LpProblem("assert_criterion_exact", pulp.LpMaximize)
    x = {imp: problem.add_variable(f"x{k}", 0, 1, pulp.LpBinary)
         for k, imp in enumerate(loaded.improvement_ids)}
    ctx = journey_copy(problem, loaded, journey, x)
    term = criterion.model_term(ctx)
    if isinstance(term, int | float) and not isinstance(term, bool):
        term = pulp.LpAffineExpression(constant=float(term))
    if not isinstance(term, pulp.LpAffineExpression):
        raise AssertionError(f"criterion {criterion.name!r}: model_term returned "
                             f"{type(term).__name__}, not a linear expression")
    chosen = (_sample(loaded, samples, seed) if selections is None
              else [_checked(loaded, s) for s in selections])
    for selection in chosen:
        values = ctx.start_values(selection)
        missing = [v.name for v in term if v.name not in values]
        if missing:
            raise AssertionError(f"criterion {criterion.name!r}: model_term uses variables "
                                 f"cxplan's model did not create ({', '.join(missing[:5])}); "
                                 "use the expressions of the ModelView")
        modelled = float(term.constant) + sum(c * values[v.name] for v, c in term.items())
        context = evaluation_context(loaded, selection, journey)
        evaluated = float(criterion.evaluate(context))
        scale = max(1.0, abs(modelled), abs(evaluated), abs(criterion.magnitude(context)))
        if not abs(modelled - evaluated) <= AGREEMENT * scale:
            raise AssertionError(
                f"criterion {criterion.name!r} is not exact on the selection "
                f"[{', '.join(selection) or 'nothing'}]: model_term gives {modelled!r}, "
                f"evaluate gives {evaluated!r} (difference {modelled - evaluated:.6g}, "
                f"allowed {AGREEMENT * scale:.3g})")
    return chosen


def _checked(scenario: Scenario, selection: Iterable[str]) -> tuple[str, ...]:
    chosen = set(selection)
    unknown = sorted(chosen - set(scenario.improvement_ids))
    if unknown:
        raise AssertionError(f"unknown improvement(s) in a selection: {', '.join(unknown)}")
    return tuple(i for i in scenario.improvement_ids if i in chosen)


def _sample(scenario: Scenario, samples: int, seed: int) -> list[tuple[str, ...]]:
    """Up to `samples` distinct feasible selections: the least one can fund (the mandatory
    improvements with what they require), each improvement added to it alone, then random
    plans of every size, each grown in a random order while it stays feasible."""
    ids = scenario.improvement_ids
    requires = {imp.id: imp.requires for imp in scenario.improvements}

    def feasible(chosen: set[str]) -> bool:
        return not violations(scenario, chosen)

    def ordered(chosen: set[str]) -> tuple[str, ...]:
        return tuple(i for i in ids if i in chosen)

    base = requirement_closure(scenario, [i.id for i in scenario.improvements if i.mandatory],
                               requires)
    found: dict[tuple[str, ...], None] = {}
    if feasible(base):
        found[ordered(base)] = None
    rng = random.Random(seed)
    singles = [ordered(base | requirement_closure(scenario, [i], requires)) for i in ids]
    rng.shuffle(singles)
    for single in singles[:max(samples // 2, 1)]:
        if len(found) < samples and feasible(set(single)):
            found.setdefault(single, None)
    for _ in range(4 * samples):
        if len(found) >= samples:
            break
        share, chosen = rng.random(), set(base)
        for imp in rng.sample(ids, len(ids)):
            trial = chosen | requirement_closure(scenario, [imp], requires)
            if rng.random() < share and feasible(trial):
                chosen = trial
        if feasible(chosen):
            found.setdefault(ordered(chosen), None)
    if not found:
        raise AssertionError("the scenario has no feasible selection to check the criterion on")
    return list(found)
