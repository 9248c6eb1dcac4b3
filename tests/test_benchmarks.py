"""The benchmark scripts still run against the current API (they are not timed here)."""

from __future__ import annotations

from benchmarks import bench, roadmap


def test_the_benchmark_stages_run_on_a_small_scenario() -> None:
    result = bench.run_stages(30, "realistic", 0, 20.0, None)
    assert result["status"] in ("optimal", "time_limit"), result


def test_the_roadmap_benchmark_runs_on_a_small_roadmap() -> None:
    result = roadmap.worker(12, 3, 0, 20.0)
    assert result["status"] in ("optimal", "time_limit") and result["copies"] >= 1, result
