"""Shared fixtures: a small valid scenario to start from, and a way to write it to a file."""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cxplan.testing import CliResult

ScenarioFactory = Callable[..., dict[str, Any]]
ScenarioWriter = Callable[..., Path]
BundledPlan = Callable[[Path], tuple[Any, Any]]

# a -> b, one improvement each (the plugin tests' scenario): failures at b depend on both.
TWO_TOUCHPOINTS: dict[str, Any] = {
    "cxplan": 1, "budget": 10,
    "touchpoints": [{"id": "a", "failure_probability": 0.5, "impact": 10},
                    {"id": "b", "failure_probability": 0.5, "impact": 10}],
    "journey": {"entry": {"a": 1.0}, "edges": [{"from": "a", "to": "b", "probability": 1.0}]},
    "improvements": [
        {"id": "fix-a", "cost": 10, "effects": [{"touchpoint": "a", "failure_reduction": 0.6}]},
        {"id": "fix-b", "cost": 10, "effects": [{"touchpoint": "b", "failure_reduction": 0.5}]},
    ],
}

def two_fixes(**horizon: Any) -> dict[str, Any]:
    """Two independent touchpoints, one person who can work on one fix at a time: a big
    fix that takes two periods (gain 2.2 per period once done) and a quick one (gain 1)."""
    return {
        "cxplan": 1,
        "horizon": {"periods": 6, **horizon},
        "teams": {"crew": 1},
        "touchpoints": [{"id": "a", "failure_probability": 1.0, "impact": 4.4},
                        {"id": "b", "failure_probability": 1.0, "impact": 2.0}],
        "journey": {"entry": {"a": 0.5, "b": 0.5}},
        "improvements": [
            {"id": "big", "cost": 0, "staff": {"crew": 1}, "duration": 2,
             "effects": [{"touchpoint": "a", "impact_reduction": 1.0}]},
            {"id": "quick", "cost": 0, "staff": {"crew": 1}, "duration": 1,
             "effects": [{"touchpoint": "b", "impact_reduction": 1.0}]},
        ],
    }


# ad -> branch -> account, one entry; two improvements, one team. Valid, no warnings.
_MINIMAL: dict[str, Any] = {
    "cxplan": 1,
    "name": "Minimal",
    "currency": "USD",
    "budget": 1000,
    "teams": {"it": 2},
    "touchpoints": [
        {"id": "ad", "failure_probability": 0.1, "impact": 1},
        {"id": "branch", "failure_probability": 0.25, "impact": 40, "dropout": 0.5},
        {"id": "account", "failure_probability": 0.05, "impact": 10, "success_value": 20},
    ],
    "journey": {
        "entry": {"ad": 1.0},
        "edges": [
            {"from": "ad", "to": "branch", "probability": 0.6},
            {"from": "branch", "to": "account", "probability": 0.9},
        ],
    },
    "improvements": [
        {"id": "queue-app", "cost": 300, "staff": {"it": 1},
         "effects": [{"touchpoint": "branch", "failure_reduction": 0.5}]},
        {"id": "sms", "cost": 50,
         "effects": [{"touchpoint": "ad", "failure_reduction": 0.3}]},
    ],
}


@pytest.fixture
def minimal_scenario() -> ScenarioFactory:
    """`minimal_scenario(**top_level_overrides)` -> a fresh, valid scenario dict."""

    def make(**overrides: Any) -> dict[str, Any]:
        data = copy.deepcopy(_MINIMAL)
        data.update(copy.deepcopy(overrides))
        return data

    return make


@pytest.fixture
def uncertain_choice(minimal_scenario: ScenarioFactory) -> dict[str, Any]:
    """The minimal scenario with the budget for one of its two improvements, where which
    one is best depends on the branch's failure probability, uniform on [0.05, 0.45]
    (queue-app above about 0.23)."""
    data = minimal_scenario(budget=300)
    data["touchpoints"][0].update(failure_probability=0.3, impact=30, dropout=0.5)
    data["improvements"][0]["cost"] = 300
    data["improvements"][1]["cost"] = 300
    data["touchpoints"][1]["failure_probability"] = {"uniform": [0.05, 0.45]}
    return data


@pytest.fixture
def write_scenario(tmp_path: Path) -> ScenarioWriter:
    """`write_scenario(content, name="scenario.yaml")` -> path of the written file.

    `content` is a dict (dumped as YAML, keys in the given order), text (written as
    UTF-8, as is) or bytes (written as they are).
    """

    def write(content: dict[str, Any] | str | bytes, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def bundled_plan() -> Callable[[Path], tuple[Any, Any]]:
    """`bundled_plan(path)` -> (plan, scenario) of a bundled scenario, solved once per test
    run (the roadmap example takes seconds; several report tests read the same plan)."""
    import cxplan

    solved: dict[Path, tuple[Any, Any]] = {}

    def get(path: Path) -> tuple[Any, Any]:
        if path not in solved:
            scenario = cxplan.load_scenario(path)
            solved[path] = (cxplan.optimize(scenario), scenario)
        return solved[path]

    return get


CliRun = CliResult  # how a run of the command line ended (cxplan.testing's)


@pytest.fixture
def run_main(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
             ) -> Iterator[Callable[..., CliRun]]:
    """`run_main(*args)` runs the console script's `main` in this process, as a shell
    would (global options such as --plugin and --allow-path included) -> CliRun. The
    process-wide settings those options make are undone after the test."""
    from cxplan.cli import main
    from cxplan.cli.common import allow_paths
    from cxplan.plugins import configure

    def run(*args: str | Path) -> CliRun:
        monkeypatch.setattr(sys, "argv", ["cxplan", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    yield run
    configure()
    allow_paths([])


@pytest.fixture
def slow_load(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any, float], None]:
    """`slow_load(command_module, seconds)`: reading a scenario in that command module
    (`cxplan.cli.plan`, `cxplan.cli.whatif`: its `load`) takes that long more, a slow
    phase for the time-limit tests."""

    def slow(module: Any, seconds: float) -> None:
        load = module.load

        def slow_load(path: Any) -> Any:
            time.sleep(seconds)
            return load(path)

        monkeypatch.setattr(module, "load", slow_load)

    return slow
