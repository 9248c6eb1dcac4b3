"""--time-limit is a promise about the whole what-if command too.

`compare`, `frontier`, `explain` and `sensitivity` share one clock (`cxplan.clock.Clock`)
between reading, building and every solve: the solves still to do share what is left
(each at most `--solve-time-limit`), a solve stopped by its part says `time_limit` and
the output names what is not proven, and work no time is left to start is skipped with a
warning naming it. The command ends within the limit plus 5 % (at least 2 s).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import cxplan
from cxplan.clock import Clock
from cxplan.optimizer.options import SolverOptions
from cxplan.optimizer.session import SolveResult
from cxplan.whatif.engine import WhatIf
from cxplan.whatif.explain import explain_many
from cxplan.whatif.frontier import frontier
from cxplan.whatif.sensitivity import sensitivity

ROOT = Path(__file__).parents[1]
SCENARIOS = ROOT / "scenarios"
MICROFINANCE = SCENARIOS / "microfinance-onboarding.yaml"
ROADMAP = SCENARIOS / "microfinance-roadmap.yaml"
RESTAURANT = SCENARIOS / "restaurant.yaml"
PROVEN = ("optimal", "gap_limit")

# One what-if command per entry: its arguments after the scenario, with --json.
COMMANDS: dict[str, Callable[[Path], list[str | Path]]] = {
    "compare": lambda s: ["compare", s, SCENARIOS / "microfinance-bigger-budget.yaml",
                          SCENARIOS / "microfinance-call-centre-doubts.yaml"],
    "frontier": lambda s: ["frontier", s, "--budget", "50%:150%:9"],
    "explain": lambda s: ["explain", s, "--all"],
    "sensitivity": lambda s: ["sensitivity", s, "--touchpoints", "2"],
}


@pytest.fixture
def slow_read(slow_load: Callable[[Any, float], None]) -> Callable[[float], None]:
    """`slow_read(seconds)`: reading each scenario in the what-if commands takes that long
    more."""
    import cxplan.cli.whatif as whatif_commands

    return lambda seconds: slow_load(whatif_commands, seconds)


@pytest.fixture
def solve_limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float | None]]:
    """The time limit each what-if solve is given (in the order of the solves)."""
    seen: list[float | None] = []
    solve = WhatIf._solve

    def spy(self: WhatIf, start: Any, time_limit: float | None) -> SolveResult:
        seen.append(time_limit)
        return solve(self, start, time_limit)

    monkeypatch.setattr(WhatIf, "_solve", spy)
    yield seen


def _statuses(command: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """(what, status) of every plan a command's JSON reports."""
    if command == "compare":
        return [(e["name"], e["status"]) for e in data["scenarios"]]
    if command == "frontier":
        return [(str(p["level"]), p["status"]) for p in data["points"]]
    if command == "explain":
        return [("plan", data["plan"]["status"])] + [
            (e["improvement"], e["alternative"]["status"])
            for e in data["explanations"] if e["alternative"] is not None]
    return [("plan", data["plan"]["status"])]


@pytest.mark.parametrize(("command", "scenario"), [
    *((command, MICROFINANCE) for command in COMMANDS),
    *((command, ROADMAP) for command in COMMANDS if command != "compare")])
def test_each_what_if_command_ends_within_its_limit_with_honest_statuses(
        run_main: Any, slow_read: Callable[[float], None], command: str,
        scenario: Path) -> None:
    slow_read(0.3)  # per file: compare reads three
    began = time.perf_counter()
    run = run_main(*COMMANDS[command](scenario), "--json", "--time-limit", "2")
    wall = time.perf_counter() - began
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert wall <= Clock(2).allowed
    assert data["timings"]["read"] >= 0.3 and data["timings"]["total"] <= wall
    for what, status in _statuses(command, data):
        assert status in (*PROVEN, "time_limit"), what
    # whatever was not proven is named, in the JSON and in a warning
    if command == "frontier":
        unproven = {str(p["level"]) for p in data["points"] if p["status"] not in PROVEN}
        assert unproven == {str(v) for v in data["unproven_levels"]}
    elif command == "explain":
        named = set(data["unproven"])
        for e in data["explanations"]:
            assert e["proven"] == (e["improvement"] not in named)
            stopped = [o for o in (e["plan"], e["alternative"]) if o is not None
                       and o["status"] not in PROVEN]
            assert e["proven"] == (not stopped)
    elif command == "compare":
        assert set(data["unproven"]) == {e["name"] for e in data["scenarios"]
                                         if e["status"] not in PROVEN}
    else:
        assert set(data["unproven"]) == {r["label"] for r in data["ranges"]
                                         if not r["proven"]}
    for warning in data["warnings"]:
        assert f"warning: {warning}" in " ".join(run.stderr.split())


def test_frontier_points_no_time_is_left_for_are_skipped_and_named(
        run_main: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow solve (1 s on top of each) leaves no time for the last levels: they are not
    computed, the JSON and a warning name them, and the command still keeps its limit."""
    solve = WhatIf._solve

    def slow_solve(self: WhatIf, start: Any, time_limit: float | None) -> SolveResult:
        time.sleep(1.0)
        return solve(self, start, time_limit)

    monkeypatch.setattr(WhatIf, "_solve", slow_solve)
    began = time.perf_counter()
    run = run_main("frontier", RESTAURANT, "--budget", "50%:150%:9", "--json",
                   "--time-limit", "3")
    wall = time.perf_counter() - began
    assert run.exit_code == 0, run.output
    assert wall <= Clock(3).allowed
    data = json.loads(run.stdout)
    skipped = data["skipped_levels"]
    assert skipped and len(data["points"]) + len(skipped) == 9
    assert max(p["level"] for p in data["points"]) < min(skipped)
    assert any("no time to compute the frontier" in w for w in data["warnings"])
    assert "no time to compute the frontier" in run.stderr


def test_a_frontier_no_point_of_which_fits_the_limit_exits_with_code_5(
        run_main: Any, slow_read: Callable[[float], None]) -> None:
    slow_read(2.0)
    run = run_main("frontier", RESTAURANT, "--budget", "50%:150%:3", "--time-limit", "2")
    assert run.exit_code == 5, run.output
    assert "no time to solve any frontier point" in run.stderr
    assert "Traceback" not in run.output


def test_explain_and_sensitivity_skip_with_a_warning_what_no_time_is_left_for(
        run_main: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    solve = WhatIf._solve

    def slow_solve(self: WhatIf, start: Any, time_limit: float | None) -> SolveResult:
        time.sleep(0.7)
        return solve(self, start, time_limit)

    monkeypatch.setattr(WhatIf, "_solve", slow_solve)
    run = run_main("explain", MICROFINANCE, "--all", "--json", "--time-limit", "2")
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    explained = [e["improvement"] for e in data["explanations"]]
    assert data["skipped"] and len(explained) + len(data["skipped"]) == 22
    assert any("no time to explain" in w for w in data["warnings"])
    run = run_main("sensitivity", MICROFINANCE, "--json", "--time-limit", "2")
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["skipped"] and all(r["label"] not in data["skipped"] for r in data["ranges"])
    assert any("no time to examine" in w for w in data["warnings"])


def test_the_per_solve_limit_is_honoured(solve_limits: list[float | None]) -> None:
    scenario = cxplan.load_scenario(RESTAURANT)
    frontier(scenario, "budget", [200, 400, 600], clock=Clock(60), solve_limit=0.3)
    explain_many(scenario, scenario.improvement_ids[:3], clock=Clock(60), solve_limit=0.3)
    sensitivity(scenario, touchpoints=1, clock=Clock(60), solve_limit=0.3)
    assert solve_limits and all(s is not None and s <= 0.3 for s in solve_limits)


def test_the_solves_share_what_the_clock_leaves(solve_limits: list[float | None]) -> None:
    """Without --solve-time-limit each point gets an equal part of what is left, less a
    twentieth of the limit kept for the output."""
    scenario = cxplan.load_scenario(RESTAURANT)
    clock = Clock(8)
    frontier(scenario, "budget", [100, 200, 300, 400], clock=clock)
    assert len(solve_limits) == 4
    assert solve_limits[0] is not None and solve_limits[0] <= (8 - 0.4) / 4
    # without a clock every solve gets the options' own limit, as before
    solve_limits.clear()
    frontier(scenario, "budget", [100, 200], options=SolverOptions(time_limit=7))
    assert solve_limits == [None, None]


def test_a_solve_stopped_early_is_reported_as_unproven() -> None:
    """With a node limit of 1 the re-solves stop at their root: the points say
    `time_limit`, with a bound no lower than their objective, and are named."""
    scenario = cxplan.load_scenario(MICROFINANCE)
    found = frontier(scenario, "budget", [250_000, 400_000, 550_000],
                     options=SolverOptions(node_limit=1), clock=Clock(60))
    stopped = [p for p in found.points if p.outcome and p.outcome.status == "time_limit"]
    assert stopped and found.unproven == tuple(p.level for p in stopped)
    for p in stopped:
        assert p.outcome is not None and p.outcome.bound is not None
        assert p.outcome.bound >= p.outcome.objective - 1e-6
    assert any("before being proven optimal" in w for w in found.warnings)


@pytest.mark.parametrize("path", [RESTAURANT, SCENARIOS / "airline-trip.yaml"])
def test_with_ample_time_the_clock_changes_no_answer(path: Path) -> None:
    scenario = cxplan.load_scenario(path)
    levels = [0.5 * (scenario.budget or 0), scenario.budget or 0]
    timed = frontier(scenario, "budget", levels, clock=Clock(600))
    untimed = frontier(scenario, "budget", levels)
    assert [p.outcome and (p.outcome.selected, p.outcome.status) for p in timed.points] == [
        p.outcome and (p.outcome.selected, p.outcome.status) for p in untimed.points]
    assert not timed.skipped and not timed.unproven and not timed.warnings
    ids = scenario.improvement_ids
    timed_reasons = explain_many(scenario, ids, clock=Clock(600))
    assert not timed_reasons.skipped and not timed_reasons.unproven
    assert [e.line for e in timed_reasons.explanations] == [
        e.line for e in explain_many(scenario, ids).explanations]


@pytest.mark.parametrize("command", ["frontier", "explain", "sensitivity"])
def test_a_model_too_large_for_the_limit_is_not_built_and_the_command_says_why(
        run_main: Any, tmp_path: Path, command: str) -> None:
    """2 000 improvements in 2 s: the model alone would take more than half of it to build
    (as `plan` decides, `model_fits`): exit 5 at once, saying why, nothing built."""
    from benchmarks.generate import realistic_scenario

    path = tmp_path / "large.json"
    path.write_text(json.dumps(realistic_scenario(2000, seed=1, personas=2)), "utf-8")
    args = {"frontier": ["--budget", "80%:120%:3"], "explain": ["imp-1"],
            "sensitivity": []}[command]
    began = time.perf_counter()
    run = run_main(command, path, *args, "--time-limit", "2")
    assert run.exit_code == 5, run.output
    assert "model would take more than half" in run.stderr
    assert time.perf_counter() - began < Clock(2).allowed + 3
