"""The benchmark scripts still run against the current API (they are not timed here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import bench, extends_chain, roadmap


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


def test_the_extends_chain_benchmark_writes_a_chain_that_loads(tmp_path: Path) -> None:
    from cxplan import load_scenario

    last = extends_chain.write_chain(tmp_path, 40, 3, "realistic", 0)
    base = load_scenario(tmp_path / "base.yaml")
    variant = load_scenario(last)
    assert variant.name == "variant 3"
    assert len(variant.improvements) == len(base.improvements) - 3


def test_the_calibration_benchmark_counts_its_generated_log(tmp_path: Path) -> None:
    from benchmarks import calibrate

    columns = calibrate.make_log(2000)
    for write, name in ((calibrate.write_csv, "log.csv"), (calibrate.write_xes, "log.xes")):
        write(columns, tmp_path / name)
        result = calibrate.worker(str(tmp_path / name), str(tmp_path / "out.yaml"))
        assert result["events"] == len(columns["case"])
        assert result["cases"] == len(set(columns["case"].tolist()))

def test_the_evaluation_benchmark_times_both_methods_on_a_small_journey() -> None:
    from benchmarks import evaluation

    rows = evaluation.worker(320, 0.5, repeats=2)
    assert [row["touchpoints"] for row in rows] == [320, 320]
    assert rows[0]["reachable"] < 320 and rows[1]["method"] in ("sparse", "dense")


def test_the_attribution_benchmark_ranks_and_shares_a_small_plan() -> None:
    from benchmarks import evaluation

    rows = evaluation.attribution_worker(100, 0.0, [30], deadline=5.0)
    assert rows[0]["funded"] >= 30 and rows[0]["shapley"] != ""

