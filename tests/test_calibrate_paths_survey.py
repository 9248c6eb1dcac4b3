"""`cxplan calibrate paths` (aggregated customer paths) and `cxplan calibrate survey`."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("pyarrow", reason="the calibrate extra (pyarrow) is not installed")

from cxplan.calibrate import PathOptions, SurveyOptions, calibrate_paths, calibrate_survey
from cxplan.core.importance import importance
from cxplan.core.journey import build_journey
from cxplan.load import load_scenario, load_scenario_text

CHANNELS = ["Search", "Display", "Email", "Social", "Branch"]


def random_paths(seed: int, rows: int = 40) -> list[tuple[list[str], int, int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(rows):
        path = [rng.choice(CHANNELS) for _ in range(rng.randint(1, 6))]
        if rng.random() < 0.3:  # a channel repeated right after itself
            k = rng.randrange(len(path))
            path.insert(k, path[k])
        out.append((path, rng.randint(0, 30), rng.randint(0, 60)))
    return out


def write_paths(folder: Path, paths: list[tuple[list[str], int, int]]) -> Path:
    file = folder / "paths.csv"
    file.write_text("path;total_conversions;total_null\n" + "".join(
        f"{' > '.join(p)};{c};{n}\n" for p, c, n in paths), encoding="utf-8")
    return file


@pytest.mark.parametrize("seed", range(8))
def test_paths_complete_as_often_as_they_converted_loops_kept_or_merged(
        seed: int, tmp_path: Path) -> None:
    paths = random_paths(seed)
    file = write_paths(tmp_path, paths)
    conversions = sum(c for _, c, _ in paths)
    journeys = sum(c + n for _, c, n in paths)
    results = []
    for merge in (False, True):
        fragment = calibrate_paths(file, PathOptions(merge_repeats=merge))
        result = importance(build_journey(load_scenario_text(fragment.yaml())))
        assert result.completion_probability == pytest.approx(conversions / journeys,
                                                              abs=1e-12)
        results.append(result)
    looped, merged = results
    # the completions that pass through each channel are the same: merging a repeat
    # changes visits, not who reaches a channel or completes after it
    assert [t.removal_effect for t in merged.touchpoints] == pytest.approx(
        [t.removal_effect for t in looped.touchpoints], abs=1e-12)


def test_path_counts_follow_each_path(tmp_path: Path) -> None:
    file = write_paths(tmp_path, [(["Search", "Email", "Search"], 10, 5),
                                  (["Display"], 0, 0), (["Email", "Email"], 1, 4)])
    result = calibrate_paths(file)
    summary = result.summary()
    follows = {(f["from"], f["to"]): f["count"] for f in summary["follows"]}
    assert follows == {("search", "email"): 15, ("email", "search"): 15,
                       ("email", "email"): 5}
    assert summary["cases"] == 20
    assert "1 paths have no conversion and no null" in result.warnings[0]
    search = summary["touchpoints"][0]
    assert (search["visits"], search["starts"], search["completions"],
            search["abandonments"]) == (30, 15, 10, 5)


def test_a_bad_count_names_row_and_column(run_main: Any, tmp_path: Path) -> None:
    file = tmp_path / "paths.csv"
    file.write_text("path;total_conversions;total_null\nA > B;3;x\nB;-1;2\nC;2.5;1\n")
    output = tmp_path / "o.yaml"
    run = run_main("calibrate", "paths", file, "-o", output)
    assert run.exit_code == 2
    assert "row 1, column 'total_null': 'x' is not a count [line 2]" in run.stderr
    assert "row 2, column 'total_conversions': '-1' is not a count [line 3]" in run.stderr
    assert "row 3, column 'total_conversions': '2.5' is not a count [line 4]" in run.stderr
    assert not output.exists()


def test_a_survey_gives_failure_rates_nps_groups_and_impacts(tmp_path: Path) -> None:
    answers = tmp_path / "survey.csv"
    answers.write_text("respondent,touchpoint,failed,score\n"
                       "r1,Verify ID,yes,2\nr2,Verify ID,no,9\nr3,Verify ID,no,8\n"
                       "r4,Verify ID,yes,6\nr5,Apply,no,10\n")
    result = calibrate_survey(answers, SurveyOptions(value_per_point=100))
    data = yaml.safe_load(result.yaml())
    verify = data["touchpoints"][0]
    assert verify == {"id": "verify-id", "failure_probability": 0.5,
                      "impact": pytest.approx((8.5 - 4.0) * 100)}
    assert data["extensions"]["nps"]["touchpoints"]["verify-id"] == {
        "failed": {"promoters": 0, "passives": 0, "detractors": 2},
        "passed": {"promoters": 1, "passives": 1, "detractors": 0}}
    assert "apply" not in data["extensions"]["nps"]["touchpoints"]
    assert any("Apply: no answers when it failed" in w for w in result.warnings)
    uncertain = yaml.safe_load(calibrate_survey(answers, uncertainty=True).yaml())
    assert uncertain["touchpoints"][0]["failure_probability"] == {"beta": [2, 2]}


def test_a_survey_extends_a_calibrated_journey_and_the_nps_criterion_reads_it(
        run_main: Any, tmp_path: Path) -> None:
    pytest.importorskip("cxplan_nps", reason="the example plugin cxplan-nps is not installed")
    log = tmp_path / "log.csv"
    log.write_text("case:concept:name,concept:name,time:timestamp\n"
                   "1,Apply,2024-01-01T10:00Z\n1,Verify ID,2024-01-01T11:00Z\n"
                   "2,Apply,2024-01-02T10:00Z\n2,Verify ID,2024-01-02T11:00Z\n")
    answers = tmp_path / "survey.csv"
    answers.write_text("respondent,touchpoint,failed,score\nr1,Verify ID,yes,2\n"
                       "r2,Verify ID,no,9\nr3,Apply,yes,5\nr4,Apply,no,10\n")
    assert run_main("calibrate", "log", log, "-o", tmp_path / "journey.yaml").exit_code == 0
    run = run_main("calibrate", "survey", answers, "--extends", "journey.yaml",
                   "--value-per-point", "10", "-o", tmp_path / "survey.yaml")
    assert run.exit_code == 0, run.output
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("extends: survey.yaml\nbudget: 10\n"
                        "criteria: {expected_experience: 1, nps: 1}\n"
                        "improvements:\n  - {id: fix, cost: 5, effects: "
                        "[{touchpoint: verify-id, failure_reduction: 0.5}]}\n")
    loaded = load_scenario(scenario)
    assert {t.id: t.impact for t in loaded.touchpoints} == {"apply": 50.0, "verify-id": 70.0}
    plan = run_main("plan", scenario, "--json", "--no-marginals")
    assert plan.exit_code == 0, plan.output
