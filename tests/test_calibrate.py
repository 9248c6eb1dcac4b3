"""`cxplan calibrate log`: event logs become scenario fragments whose numbers are the
observed frequencies. Held to an independent count (tests/random_logs.py), to flow
conservation (the chain completes as often as the observed journeys did), and to the
untrusted-input rules of SECURITY.md."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

pytest.importorskip("pyarrow", reason="the calibrate extra (pyarrow) is not installed")

from cxplan.calibrate import LogOptions, calibrate_log
from cxplan.core.importance import importance
from cxplan.core.journey import build_journey
from cxplan.load import load_scenario, load_scenario_text

from random_logs import ACTIVITIES, independent_counts, random_log, to_csv, traces

DELIMITERS = [",", ";", "\t", "|"]
OPTIONS = LogOptions(case="case", activity="activity", timestamp="time")


@pytest.fixture
def write_log(tmp_path: Path) -> Any:
    def write(rows: list[dict[str, str]], name: str = "log.csv", delimiter: str = ",") -> Path:
        path = tmp_path / name
        path.write_text(to_csv(rows, delimiter), encoding="utf-8")
        return path
    return write


def by_name(result: Any) -> dict[str, Any]:
    summary = result.summary()
    names = {t["id"]: t["name"] for t in summary["touchpoints"]}
    return {
        "follows": {(names[f["from"]], names[f["to"]]): f["count"] for f in summary["follows"]},
        "starts": {t["name"]: t["starts"] for t in summary["touchpoints"] if t["starts"]},
        "ends": {t["name"]: t["completions"] + t["abandonments"]
                 for t in summary["touchpoints"] if t["completions"] + t["abandonments"]},
    }


@pytest.mark.parametrize("seed", range(12))
def test_directly_follows_starts_and_ends_equal_an_independent_count(
        seed: int, write_log: Any) -> None:
    rows = random_log(seed)
    path = write_log(rows, delimiter=DELIMITERS[seed % 4])
    counted = by_name(calibrate_log(path, OPTIONS))
    expected = independent_counts(rows, set())
    assert counted["follows"] == expected["follows"]
    assert counted["starts"] == expected["starts"]
    assert counted["ends"] == expected["ends"]


def observed_visits(rows: list[dict[str, str]], segment: str | None = None) -> dict[str, float]:
    cases = [e for e in traces(rows).values() if segment in (None, e[0]["segment"])]
    visits: dict[str, float] = {}
    for events in cases:
        for e in events:
            visits[e["activity"]] = visits.get(e["activity"], 0) + 1 / len(cases)
    return visits


@pytest.mark.parametrize("seed", range(12))
def test_the_calibrated_chain_completes_as_often_as_the_observed_journeys(
        seed: int, write_log: Any) -> None:
    """Flow conservation: the chain's completion probability is the observed completion
    share and its expected visits the observed visits per journey, pooled and per persona,
    with failures, dropout after failures and abandonment."""
    rows = random_log(seed)
    completed = {"Approve", "Sign contract"}
    options = LogOptions(case="case", activity="activity", timestamp="time",
                         completed=sorted(completed), failure_column="failed",
                         persona_column="segment")
    result = calibrate_log(write_log(rows), options)
    scenario = load_scenario_text(result.yaml())
    journey = build_journey(scenario)
    shares = importance(journey)
    all_cases = traces(rows)
    done = sum(events[-1]["activity"] in completed for events in all_cases.values())
    assert shares.completion_probability == pytest.approx(done / len(all_cases), abs=1e-12)
    names = {tp.id: tp.label for tp in scenario.touchpoints}
    for persona, outcome in zip(shares.personas, journey.evaluate().personas, strict=True):
        segment = persona.name
        cases = [e for e in all_cases.values() if e[0]["segment"] == segment]
        done = sum(events[-1]["activity"] in completed for events in cases)
        assert persona.completion_probability == pytest.approx(done / len(cases), abs=1e-12)
        visits = {names[t]: v for t, v in zip(journey.touchpoint_ids, outcome.visits,
                                              strict=True) if v > 0 and names[t] in ACTIVITIES}
        assert visits == pytest.approx(observed_visits(rows, segment), abs=1e-12)


def test_with_uncertainty_the_means_are_the_observed_frequencies(write_log: Any) -> None:
    rows = random_log(3)
    options = LogOptions(case="case", activity="activity", timestamp="time",
                         completed=["Approve"], failure_column="failed",
                         persona_column="segment")
    path = write_log(rows)
    plain = load_scenario_text(calibrate_log(path, options).yaml())
    uncertain_text = calibrate_log(path, options, uncertainty=True).yaml()
    assert "beta" in uncertain_text and "dirichlet" in uncertain_text
    uncertain = load_scenario_text(uncertain_text)
    assert uncertain.uncertainty.values  # the distributions were read as such
    for a, b in zip(plain.touchpoints, uncertain.touchpoints, strict=True):
        assert (a.failure_probability, a.dropout) == pytest.approx(
            (b.failure_probability, b.dropout), abs=1e-12)
    edges = {(e.source, e.target): e.probability for e in plain.journey.edges}
    assert edges == pytest.approx({(e.source, e.target): e.probability
                                   for e in uncertain.journey.edges}, abs=1e-12)
    assert importance(build_journey(plain)).completion_probability == pytest.approx(
        importance(build_journey(uncertain)).completion_probability, abs=1e-12)


def test_merging_repeated_touchpoints_keeps_completion_probabilities(write_log: Any) -> None:
    rows = random_log(5)
    for k in range(0, len(rows), 3):  # plenty of repeats: every third event twice
        rows.insert(k, dict(rows[k]))
    path = write_log(rows)
    options = LogOptions(case="case", activity="activity", timestamp="time",
                         completed=["Approve"], persona_column="segment")
    looped = importance(build_journey(load_scenario_text(calibrate_log(path, options).yaml())))
    merged_options = LogOptions(**{**options.__dict__, "merge_repeats": True})
    merged = calibrate_log(path, merged_options)
    assert all(f["from"] != f["to"] for f in merged.summary()["follows"])
    result = importance(build_journey(load_scenario_text(merged.yaml())))
    assert result.completion_probability == pytest.approx(looped.completion_probability,
                                                          abs=1e-12)
    for a, b in zip(result.personas, looped.personas, strict=True):
        assert a.completion_probability == pytest.approx(b.completion_probability, abs=1e-12)


def test_a_failure_marker_fails_the_touchpoint_before_it(write_log: Any) -> None:
    rows = [{"case": "a", "activity": "Apply", "time": "2024-01-01T10:00:00Z"},
            {"case": "a", "activity": "Complaint", "time": "2024-01-01T10:05:00Z"},
            {"case": "a", "activity": "Approve", "time": "2024-01-01T11:00:00Z"},
            {"case": "b", "activity": "Apply", "time": "2024-01-01T10:00:00Z"},
            {"case": "b", "activity": "Complaint", "time": "2024-01-01T10:05:00Z"},
            {"case": "c", "activity": "Apply", "time": "2024-01-01T10:00:00Z"}]
    options = LogOptions(case="case", activity="activity", timestamp="time",
                         failed=["Complaint"], completed=["Approve"])
    result = calibrate_log(write_log(rows), options)
    apply = next(t for t in result.summary()["touchpoints"] if t["name"] == "Apply")
    assert (apply["visits"], apply["failures"], apply["failed_abandonments"]) == (3, 2, 1)
    scenario = load_scenario_text(result.yaml())
    tp = next(t for t in scenario.touchpoints if t.label == "Apply")
    assert (tp.failure_probability, tp.dropout) == pytest.approx((2 / 3, 1 / 2))
    assert "Complaint" not in {t.label for t in scenario.touchpoints}


def test_xes_and_csv_of_one_log_calibrate_alike(write_log: Any, tmp_path: Path) -> None:
    rows = random_log(7, cases=20)
    csv_result = calibrate_log(write_log(rows), OPTIONS)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">']
    for case, events in traces(rows).items():
        lines.append(f'<trace><string key="concept:name" value="{case}"/>')
        for e in events:
            lines.append(f'<event><string key="concept:name" value="{e["activity"]}"/>'
                         f'<date key="time:timestamp" value="{e["time"]}"/></event>')
        lines.append("</trace>")
    lines.append("</log>")
    xes = tmp_path / "log.xes"
    xes.write_text("\n".join(lines), encoding="utf-8")
    assert by_name(calibrate_log(xes)) == by_name(csv_result)


@pytest.mark.parametrize("seed", range(6))
def test_the_counts_equal_pm4py_discover_dfg_when_it_is_installed(seed: int,
                                                                write_log: Any) -> None:
    pm4py = pytest.importorskip("pm4py", reason="pm4py (AGPL-3.0) is not a dependency; "
                                "install it to compare with the reference of the field")
    import pandas as pd

    rows = random_log(seed)
    frame = pd.DataFrame(rows)
    frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    frame = pm4py.format_dataframe(frame, case_id="case", activity_key="activity",
                                   timestamp_key="time")
    dfg, starts, ends = pm4py.discover_dfg(frame)
    counted = by_name(calibrate_log(write_log(rows), OPTIONS))
    assert counted["follows"] == dict(dfg)
    assert counted["starts"] == dict(starts)
    assert counted["ends"] == dict(ends)


def test_a_scenario_extends_the_fragment_and_plans(run_main: Any, write_log: Any,
                                                  tmp_path: Path) -> None:
    rows = random_log(2)
    fragment = tmp_path / "journey.yaml"
    run = run_main("calibrate", "log", write_log(rows), "--case", "case", "--activity",
                   "activity", "--timestamp", "time", "--completed", "Approve",
                   "--failure-column", "failed", "-o", fragment)
    assert run.exit_code == 0, run.output
    data = yaml.safe_load(fragment.read_text())
    target = data["touchpoints"][0]["id"]
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(yaml.safe_dump({
        "extends": "journey.yaml", "budget": 100,
        "touchpoints": [{"id": t["id"], "impact": 50} for t in data["touchpoints"]],
        "improvements": [{"id": "fix", "cost": 10,
                          "effects": [{"touchpoint": target, "failure_reduction": 0.5}]}]}))
    plan = run_main("plan", scenario, "--json", "--no-marginals")
    assert plan.exit_code == 0, plan.output
    assert load_scenario(scenario).improvement_ids == ["fix"]


# -- bad and hostile input -------------------------------------------------------------------

def calibrate(run_main: Any, path: Path, *extra: str, output: Path) -> Any:
    run = run_main("calibrate", "log", path, "--case", "case", "--activity", "activity",
                   "--timestamp", "time", "-o", output, *extra)
    assert not output.exists(), "nothing may be written on an error"
    return run


def test_a_missing_column_lists_the_columns_that_exist(run_main: Any, write_log: Any,
                                                     tmp_path: Path) -> None:
    path = write_log(random_log(1))
    run = calibrate(run_main, path, "--persona-column", "segmnt", output=tmp_path / "o.yaml")
    assert run.exit_code == 2
    assert "no column 'segmnt' (did you mean 'segment'?)" in run.stderr
    assert "'case', 'activity', 'time', 'segment', 'failed'" in run.stderr
    assert "Traceback" not in run.output


def test_an_unparseable_timestamp_names_row_column_and_line(run_main: Any, write_log: Any,
                                                          tmp_path: Path) -> None:
    rows = random_log(1)
    rows[4]["time"] = "yesterday"
    rows[9]["time"] = "2024-13-45T99:00:00"
    run = calibrate(run_main, write_log(rows), output=tmp_path / "o.yaml")
    assert run.exit_code == 2
    assert "row 5, column 'time': 'yesterday' is not a timestamp [line 6]" in run.stderr
    assert "row 10, column 'time'" in run.stderr
    assert "2 problems found; nothing was written." in run.stderr


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"case,activity,time\n", "no rows after the header"),
    (bytes(range(256)) * 64, "binary data"),
    (gzip.compress(b"case,activity,time\n" + b"a,b,2024-01-01\n" * 10_000), "gzip-compressed"),
    (b"case,activity,time\n" + b"x" * (9 << 20), "a line longer than 4 MiB"),
    (b"case,activity,time\nc1,A\n", "2 fields where the header has 3"),
    ("case,activity,time\nc1,Caf\xe9,2024-01-01\n".encode("latin-1"), "not UTF-8"),
])
def test_bad_files_are_clean_errors(run_main: Any, tmp_path: Path, content: bytes,
                                    message: str) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(content)
    run = calibrate(run_main, path, output=tmp_path / "o.yaml")
    assert run.exit_code == 2, run.output
    assert message in run.stderr
    assert "internal error" not in run.output


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
        run_main: Any, write_log: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXPLAN_MAX_DATA_BYTES", "1000")
    run = calibrate(run_main, write_log(random_log(1)), output=tmp_path / "o.yaml")
    assert run.exit_code == 2
    assert "over the limit of 1000" in run.stderr


def test_special_files_are_refused(run_main: Any, tmp_path: Path) -> None:
    fifo = tmp_path / "log.csv"
    os.mkfifo(fifo)
    run = calibrate(run_main, fifo, output=tmp_path / "o.yaml")
    assert run.exit_code == 2
    assert "is a FIFO" in run.stderr
    run = calibrate(run_main, Path("/dev/zero"), output=tmp_path / "o.yaml")
    assert run.exit_code == 2 and "a device" in run.stderr


@pytest.mark.parametrize("document", [
    # billion laughs
    '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + k)} "{("&" + chr(97 + k) + ";") * 10}">' for k in range(8))
    + ']><log><trace><string key="concept:name" value="&i;"/></trace></log>',
    # an external entity
    '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<log><trace><string key="concept:name" value="&x;"/></trace></log>',
    # not XML at all
    "<log><trace><event></log>",
    # another root
    '<?xml version="1.0"?><html><body/></html>',
])
def test_hostile_xes_is_refused_unexpanded(run_main: Any, tmp_path: Path, document: str) -> None:
    path = tmp_path / "log.xes"
    path.write_text(document, encoding="utf-8")
    output = tmp_path / "o.yaml"
    run = run_main("calibrate", "log", path, "-o", output)
    assert run.exit_code == 2, run.output
    assert "root:" not in run.output  # /etc/passwd was not read into any message
    assert not output.exists()


def test_a_mapping_to_an_unknown_touchpoint_is_an_error(run_main: Any, write_log: Any,
                                                      tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text("touchpoints: {apply: Application, kyc: Identity check}\n"
                       "activities:\n  Apply: apply\n  Verify ID: kcy\n")
    run = calibrate(run_main, write_log(random_log(1)), "--map", str(mapping),
                    output=tmp_path / "o.yaml")
    assert run.exit_code == 2
    assert "unknown touchpoint 'kcy' (did you mean 'kyc'?) [line 4]" in run.stderr


def test_a_mapping_merges_activities_and_lists_the_unmapped(run_main: Any, write_log: Any,
                                                          tmp_path: Path) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text("activities:\n  Apply: application\n  Upload documents: application\n"
                       "  Approve: decision\n  Visit website: ~\n")
    output = tmp_path / "o.yaml"
    rows = random_log(4)
    run = run_main("calibrate", "log", write_log(rows), "--case", "case", "--activity",
                   "activity", "--timestamp", "time", "--map", mapping, "-o", output)
    assert run.exit_code == 0, run.output
    assert "activities are not in the mapping and were skipped" in run.stderr
    assert "'Verify ID'" in run.stderr and "'Visit website'" not in run.stderr
    scenario = load_scenario(output)
    assert [t.id for t in scenario.touchpoints] == ["application", "decision"]
    visits = sum(r["activity"] in ("Apply", "Upload documents") for r in rows)
    counted = calibrate_log(write_log(rows), LogOptions(
        case="case", activity="activity", timestamp="time",
        mapping=__import__("cxplan.calibrate", fromlist=["read_mapping"]).read_mapping(mapping)))
    assert counted.summary()["touchpoints"][0]["visits"] == visits
    assert np.isclose(sum(scenario.journey.entry.values()), 1.0)


def test_names_that_look_like_yaml_stay_text(write_log: Any) -> None:
    names = ["yes", "on", "null", "1e5", "017", "{a: 1}", "- x", "# c", "key: value",
             'quote " and \\ backslash', "red \x1b[31m alert", "Ünïcødé ✓"]
    rows = [{"case": f"c{k}", "activity": name, "time": "2024-01-01T10:00:00Z"}
            for k, name in enumerate(names)]
    scenario = load_scenario_text(calibrate_log(write_log(rows), OPTIONS).yaml())
    expected = [*names[:10], "red [31m alert", names[11]]
    assert [t.name for t in scenario.touchpoints] == expected


def test_lifecycle_keeps_one_transition_type_and_progress_is_reported(write_log: Any) -> None:
    rows = []
    for k, activity in enumerate(["Apply", "Verify", "Approve"]):
        for transition in ("start", "COMPLETE"):
            rows.append({"case": "c1", "activity": activity, "lifecycle:transition": transition,
                         "time": f"2024-01-01T1{k}:0{int(transition == 'COMPLETE')}:00Z"})
    seen: list[tuple[int, int]] = []
    options = LogOptions(case="case", activity="activity", timestamp="time",
                         lifecycle="complete")
    result = calibrate_log(write_log(rows), options, progress=lambda d, t: seen.append((d, t)))
    follows = by_name(result)["follows"]
    assert follows == {("Apply", "Verify"): 1, ("Verify", "Approve"): 1}
    assert seen and seen[-1][0] == seen[-1][1]  # the whole file was read


def test_an_unknown_completed_activity_is_a_usage_error(run_main: Any, write_log: Any,
                                                       tmp_path: Path) -> None:
    run = calibrate(run_main, write_log(random_log(1)), "--completed", "Aprove",
                    output=tmp_path / "o.yaml")
    assert run.exit_code == 2
    assert "--completed: no activity or touchpoint 'Aprove' (did you mean 'Approve'?)" in \
        run.stderr


def test_an_excel_export_with_a_byte_order_mark_and_crlf_lines_reads(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfcase:concept:name;concept:name;time:timestamp\r\n"
                     b"c1;A;2024-01-01T10:00:00\r\nc1;B;2024-01-01T11:00:00\r\n")
    assert by_name(calibrate_log(path))["follows"] == {("A", "B"): 1}


def test_problems_in_several_columns_are_reported_at_once(run_main: Any, write_log: Any,
                                                         tmp_path: Path) -> None:
    rows = random_log(1)
    rows[2]["case"] = " "
    rows[3]["time"] = "soon"
    rows[5]["failed"] = "maybe"
    run = calibrate(run_main, write_log(rows), "--failure-column", "failed",
                    output=tmp_path / "o.yaml")
    assert run.exit_code == 2
    assert "row 3, column 'case': empty value [line 4]" in run.stderr
    assert "row 4, column 'time': 'soon' is not a timestamp [line 5]" in run.stderr
    assert "row 6, column 'failed': 'maybe' is neither yes nor no [line 7]" in run.stderr
    assert "3 problems found; nothing was written." in run.stderr
