"""The benchmark scripts still run against the current API (they are not timed here)."""

from __future__ import annotations

import pytest

from benchmarks import bench, roadmap


def test_the_benchmark_stages_run_on_a_small_scenario() -> None:
    result = bench.run_stages(30, "realistic", 0, 20.0, None)
    assert result["status"] in ("optimal", "time_limit"), result


@pytest.mark.parametrize("start_method", ["greedy", "relaxation"])
def test_the_benchmark_end_to_end_run_takes_each_start_method(start_method: str) -> None:
    result = bench.run_e2e(30, "realistic", 0, 20.0, start_method)
    assert result["status"] in ("optimal", "time_limit"), result
    assert result["start_method"] == start_method


@pytest.mark.parametrize("start_method", ["greedy", "relaxation"])
def test_the_roadmap_benchmark_runs_on_a_small_roadmap(start_method: str) -> None:
    result = roadmap.worker(12, 3, 0, 20.0, start_method)
    assert result["status"] in ("optimal", "time_limit") and result["copies"] >= 1, result
