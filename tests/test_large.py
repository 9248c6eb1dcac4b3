"""Large input: 100 000 improvements on 5 000 touchpoints are validated in seconds.

The scenario is the benchmark generator's realistic journey with 10 000 improvements on
5 000 touchpoints, whose improvements are then repeated ten times under new ids
(requirements and exclusions stay within each copy): the shape of a real portfolio, at
the size of the issue. It is written as JSON (33 MB), the format to use for generated
scenarios this large; YAML of that size takes minutes (see SECURITY.md, "Limits").

Measured numbers are in SECURITY.md. `CXPLAN_LARGE=1` also runs the slow checks: the same
scenario written as YAML, and `cxplan plan --time-limit 60` on it in a subprocess.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.generate import realistic_scenario
from cxplan import load_scenario
from cxplan.errors import ScenarioError

LONG = bool(os.environ.get("CXPLAN_LARGE"))
IMPROVEMENTS, TOUCHPOINTS = 100_000, 5_000


def large_scenario(improvements: int = IMPROVEMENTS, touchpoints: int = TOUCHPOINTS,
                   seed: int = 0) -> dict[str, Any]:
    """`improvements` improvements on `touchpoints` touchpoints (format v1 dict)."""
    base = realistic_scenario(2 * touchpoints, seed=seed)  # the generator makes N/2 touchpoints
    originals = base["improvements"]
    copies = -(-improvements // len(originals))
    tiled: list[dict[str, Any]] = []
    for c in range(copies):
        for imp in originals:
            new = copy.deepcopy(imp)
            new["id"] = f"{imp['id']}-{c}"
            for key in ("requires", "excludes"):
                if key in imp:
                    new[key] = [f"{ref}-{c}" for ref in imp[key]]
            tiled.append(new)
    base["improvements"] = tiled[:improvements]
    return base


@pytest.fixture(scope="module")
def large_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "large.json"
    path.write_text(json.dumps(large_scenario()), encoding="utf-8")
    return path


def test_100_000_improvements_on_5_000_touchpoints_validate_in_seconds(large_json: Path) -> None:
    began = time.process_time()
    scenario = load_scenario(large_json)
    seconds = time.process_time() - began
    assert len(scenario.improvements) == IMPROVEMENTS
    assert len(scenario.touchpoints) == TOUCHPOINTS
    # about 11 s of CPU on the slow, shared 2-core machine of SECURITY.md; the bound leaves
    # room for slower CI machines but catches a return to minutes (pure-Python YAML) or to
    # quadratic checks
    assert seconds < 45, seconds


def test_a_problem_in_a_large_json_file_still_gets_its_line(
    large_json: Path, tmp_path: Path
) -> None:
    text = large_json.read_text(encoding="utf-8")
    broken = tmp_path / "broken.json"
    # one touchpoint reference far down the file is misspelt
    at = text.rindex('"touchpoint": "tp-')
    broken.write_text(text[:at] + '"touchpoint": "tp-x' + text[at + len('"touchpoint": "tp-'):],
                      encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(broken)
    problem = info.value.problems[0]
    assert problem.location.startswith(f"improvements[{IMPROVEMENTS - 1}].effects[")
    assert problem.line == 1  # minified by json.dumps: one line, known without reading it


def test_a_chain_of_20_000_requirements_validates_quickly() -> None:
    # A closure per improvement made this quadratic: 4 000 took 10 s, 100 000 would take hours.
    n = 20_000
    improvements = [
        {"id": f"i{k}", "cost": 1, "effects": [{"touchpoint": "a", "failure_reduction": 0.01}],
         **({"requires": [f"i{k - 1}"]} if k else {}),
         **({"excludes": [f"i{k + n // 2}"]} if k < 3 else {})}
        for k in range(n)
    ]
    data = {"cxplan": 1, "touchpoints": [{"id": "a", "failure_probability": 0.5, "impact": 1}],
            "journey": {"entry": {"a": 1}}, "improvements": improvements}
    began = time.process_time()
    with pytest.raises(ScenarioError) as info:
        load_scenario(data)
    assert time.process_time() - began < 20
    # every improvement from i{n/2} on requires i0..i2 and what they exclude
    assert len(info.value.problems) == n // 2
    assert info.value.problems[0].message == (
        f"improvement 'i{n // 2}' requires something it excludes ('i0')")


@pytest.mark.skipif(not LONG, reason="minutes: set CXPLAN_LARGE=1")
def test_the_large_scenario_as_yaml_validates(large_json: Path, tmp_path: Path) -> None:
    path = tmp_path / "large.yaml"
    data = json.loads(large_json.read_text(encoding="utf-8"))
    path.write_text(yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False), encoding="utf-8")
    began = time.process_time()
    assert len(load_scenario(path).improvements) == IMPROVEMENTS
    print(f"YAML: {time.process_time() - began:.1f} s CPU")


@pytest.mark.skipif(not LONG, reason="minutes: set CXPLAN_LARGE=1")
def test_planning_the_large_scenario_stops_cleanly_at_its_time_limit(large_json: Path) -> None:
    result = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-m", "cxplan.cli", "plan", str(large_json),
         "--json", "--time-limit", "60"],
        capture_output=True, text=True, timeout=3600, check=False)
    print(result.stderr[-3000:])
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert result.returncode in (0, 5), result.stderr[-2000:]
    if result.returncode == 0:
        plan = json.loads(result.stdout)
        assert plan["status"] in ("optimal", "time_limit")


def test_a_problem_in_a_large_indented_json_file_gets_its_line(tmp_path: Path) -> None:
    data = large_scenario(improvements=20_000, touchpoints=1_000)
    data["improvements"][-1]["effects"][0]["touchpoint"] = "tp-x"
    path = tmp_path / "indented.json"
    text = json.dumps(data, indent=1)
    path.write_text(text, encoding="utf-8")
    began = time.process_time()
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert time.process_time() - began < 30
    problem = only_error(info.value)
    assert problem.location == "improvements[19999].effects[0].touchpoint"
    assert problem.line == text[:text.index('"tp-x"')].count("\n") + 1


def only_error(error: ScenarioError) -> Any:
    assert len(error.problems) == 1, error.problems
    return error.problems[0]
