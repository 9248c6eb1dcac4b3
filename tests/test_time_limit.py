"""--time-limit is a promise about the whole command.

Reading, building, solving, marginal values, ranking, Shapley values and the report
share one clock (`cxplan.clock.Clock`): a slow phase leaves less to the later ones, which
reduce their work or skip it with a warning, and the command ends within the limit plus
5 % (at least 2 s), with an honest status.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cxplan.clock import Clock

ROOT = Path(__file__).parents[1]
RESTAURANT = ROOT / "scenarios" / "restaurant.yaml"


def test_plan_json_gives_the_seconds_of_every_phase(run_main: Any, tmp_path: Path) -> None:
    run = run_main("plan", RESTAURANT, "--json", "--report", tmp_path / "out")
    assert run.exit_code == 0, run.output
    timings = json.loads(run.stdout)["timings"]
    for phase in ("read", "build", "solve", "plan", "marginal_values", "shapley", "report",
                  "total"):
        assert timings[phase] >= 0, phase
    phases = sum(v for k, v in timings.items() if k != "total")
    assert phases <= timings["total"] + 1e-3
    # and they account for it (an LP relaxation before the search is in "solve")
    assert timings["total"] - phases <= 0.1 * timings["total"] + 0.3


def test_the_console_script_counts_the_process_start_in_its_limit() -> None:
    """Imports before the command's body (pulp, highspy, scipy) take about a second: the
    clock of `cxplan plan` starts with the process, so `timings` has a `start` phase and
    its total is the command's whole life so far."""
    import subprocess
    import sys

    began = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("cxplan")), "plan", str(RESTAURANT), "--json",
         "--no-marginals", "--no-shapley"], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    assert done.returncode == 0, done.stderr
    timings = json.loads(done.stdout)["timings"]
    assert timings["start"] > 0
    assert timings["start"] + timings["read"] <= timings["total"] <= wall


def test_a_command_clock_starts_when_the_process_marked_its_start() -> None:
    import cxplan.clock as clock_module

    saved = clock_module._command_started
    try:
        clock_module.mark_command_start(time.perf_counter() - 5.0)
        assert clock_module.command_clock(10).left <= 5.0
    finally:
        clock_module._command_started = saved
    # outside a command (here, between tests) nothing is marked: from now
    assert saved is None and clock_module.command_clock(10).left > 9.0


@pytest.fixture
def slow_read(slow_load: Callable[[Any, float], None]) -> Callable[[float], None]:
    """`slow_read(seconds)`: reading the scenario in `cxplan plan` takes that long more."""
    import cxplan.cli.plan as plan_command

    return lambda seconds: slow_load(plan_command, seconds)


def test_a_slow_read_leaves_less_time_to_the_rest(
        run_main: Any, slow_read: Callable[[float], None]) -> None:
    slow_read(2.0)
    began = time.perf_counter()
    run = run_main("plan", RESTAURANT, "--json", "--time-limit", "3", "--no-marginals")
    wall = time.perf_counter() - began
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["timings"]["read"] >= 2.0
    assert wall <= Clock(3).allowed


def test_shapley_values_are_skipped_with_a_warning_when_no_time_is_left(
        run_main: Any, slow_read: Callable[[float], None]) -> None:
    slow_read(3.2)
    run = run_main("plan", RESTAURANT, "--json", "--time-limit", "3", "--no-marginals")
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert data["shapley"] is None
    assert any("Shapley values were not computed" in w for w in data["warnings"])


def test_the_clock_counts_phases_and_what_is_left() -> None:
    clock = Clock(10.0, began=time.perf_counter() - 4.0)
    assert 5.9 < clock.left <= 6.0
    with clock.phase("work"):
        time.sleep(0.01)
    with clock.phase("work"):
        time.sleep(0.01)
    assert clock.timings["work"] >= 0.02
    assert Clock(10).allowed == 12.0 and Clock(100).allowed == 105.0
    assert Clock(1.0, began=time.perf_counter() - 5).left == 0.0


def test_marginal_values_share_what_the_limit_has_left(
        run_main: Any, slow_read: Callable[[float], None]) -> None:
    """Before, each re-solve got at least a second on top of the limit; now they share
    what is left, and the whole command still ends within its limit."""
    slow_read(2.5)
    began = time.perf_counter()
    run = run_main("plan", ROOT / "scenarios" / "airline-trip.yaml", "--json",
                   "--time-limit", "3")
    wall = time.perf_counter() - began
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout)
    assert wall <= Clock(3).allowed
    values = data.get("marginal_values")
    if values is None:  # nothing left for them: said so
        assert any("marginal values were not computed" in w for w in data["warnings"])
    else:
        for v in values:  # stopped early: an honest status and, with a bound, a range
            assert v["status"] in ("optimal", "time_limit", "gap_limit", "unused")
            if v["gain_bound"] is not None:
                assert v["gain_bound"] >= v["gain"] - 1e-9


def test_a_stopped_marginal_re_solve_reports_a_proven_range() -> None:
    """With a node limit of 1, each re-solve stops after its root: the gain found is a
    lower end, the bound the upper end, and the proven value lies between them."""
    import cxplan
    from cxplan.optimizer.options import SolverOptions
    from cxplan.whatif.engine import Analysis
    from cxplan.whatif.marginal import marginal_values

    scenario = cxplan.load_scenario(ROOT / "scenarios" / "microfinance-onboarding.yaml")
    plan = cxplan.optimize(scenario, shapley=False)
    analysis = Analysis(scenario, SolverOptions(node_limit=1))
    found = marginal_values(analysis, plan.selected)
    stopped = [v for v in found.values if v.status == "time_limit"]
    assert stopped
    for v in stopped:
        assert v.gain_bound is not None and v.gain_bound >= v.gain - 1e-6
    exact = marginal_values(Analysis(scenario), plan.selected)
    for v, proven in zip(found.values, exact.values, strict=True):
        if v.gain_bound is not None:  # the proven value lies in the range
            assert v.gain - 1e-6 <= proven.gain <= v.gain_bound + 1e-6
