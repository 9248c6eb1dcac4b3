"""Resource guards: backlogs a red team built to run past the time limit or the memory
end within the limit (a generous margin for starting Python on a shared machine), with a
warning that says what was reduced.

The commands run as users run them, in a fresh process (`python -m cxplan.cli`)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks.guards import many_personas, many_teams
from benchmarks.roadmap import roadmap_scenario

MARGIN = 10.0  # seconds for starting Python and importing cxplan on a loaded 2-core machine


def run_plan(path: Path, *args: str) -> tuple[float, dict[str, Any]]:
    """Wall seconds of `cxplan plan PATH --json ARGS` and its JSON."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cxplan.cli", "plan", str(path), "--json",
                           "--quiet", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - began
    assert done.returncode == 0, done.stderr
    return wall, json.loads(done.stdout)


def test_a_roadmap_too_large_to_model_is_scheduled_greedily_within_limit_and_memory(
        tmp_path: Path) -> None:
    # 1 000 improvements × 120 periods: about 3 million columns (took 156 s and 11.1 GB)
    path = tmp_path / "roadmap.json"
    path.write_text(json.dumps(roadmap_scenario(1000, 120)), encoding="utf-8")
    wall, plan = run_plan(path, "--time-limit", "5")
    assert wall < 5 + MARGIN
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 1.5 * 2**20  # KiB
    assert plan["status"] == "time_limit" and plan["bound"] is None and plan["selected"]
    assert any("greedy schedule" in w for w in plan["warnings"])
    assert sum(i["gain"] for i in plan["improvements"]) == pytest.approx(
        plan["expected_gain"], rel=1e-9)


def test_more_threads_than_cores_are_capped_with_a_note(
        tmp_path: Path, minimal_scenario: Any) -> None:
    path = tmp_path / "minimal.json"
    path.write_text(json.dumps(minimal_scenario()), encoding="utf-8")
    wall, plan = run_plan(path, "--time-limit", "2", "--threads", "100000")
    assert wall < 2 + MARGIN
    assert plan["status"] == "optimal"
    assert any("--threads 100000 is more than this machine's" in w for w in plan["warnings"])


def test_two_hundred_personas_end_within_the_limit(tmp_path: Path) -> None:
    # each persona is a chain to solve: the ordering after the solve used to take 24 s
    path = tmp_path / "personas.json"
    path.write_text(json.dumps(many_personas(200)), encoding="utf-8")
    wall, plan = run_plan(path, "--time-limit", "6", "--no-marginals")
    assert wall < 6 + MARGIN
    assert plan["selected"] and len(plan["personas"]) == 200
    assert sum(i["gain"] for i in plan["improvements"]) == pytest.approx(
        plan["expected_gain"], rel=1e-9)


def test_a_hundred_teams_share_the_limit_for_their_marginal_values(tmp_path: Path) -> None:
    # one re-solve per binding team, 101 in all: each was given at least 1 s (107 s)
    path = tmp_path / "teams.json"
    path.write_text(json.dumps(many_teams(100)), encoding="utf-8")
    wall, plan = run_plan(path, "--time-limit", "2")
    assert wall < 2 + MARGIN
    assert plan["timings"]["total"] <= 2 + max(0.05 * 2, 2.0)
    assert plan["selected"]
    values = plan.get("marginal_values")
    if values is None:  # no time left for 101 re-solves: said so
        assert any("marginal values were not computed" in w for w in plan["warnings"])
    else:  # each stopped one says so: a status, and a range where its bound proves one
        assert {v["status"] for v in values} <= {"optimal", "time_limit", "gap_limit", "unused"}
