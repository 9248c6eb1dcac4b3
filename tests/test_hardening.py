"""Hostile, broken and numerically awkward input, case by case (issue 8).

Every hostile file below is answered on the command line with exit code 2, its problem
named with the file (and the place, where there is one), nothing written and no
traceback. Numerically awkward scenarios either solve exactly — checked against the
brute force of `random_scenarios`, which shares no code with cxplan — or are rejected
with their reason. The decisions are documented in SECURITY.md ("Numbers").
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from cxplan import load_scenario, optimize
from cxplan.cli import app
from cxplan.core.chains import MAX_VALUE_SCALE
from cxplan.errors import ScenarioError
from cxplan.optimizer.options import SolverOptions
from cxplan.scenario.source import MAX_FILE_BYTES

from random_scenarios import brute_force, exact_value, feasible, random_scenario

ROOT = Path(__file__).resolve().parents[1]
RUNNER = CliRunner()


def cli(*args: str) -> Result:
    return RUNNER.invoke(app, list(args), env={"CXPLAN_DEBUG": "1"})


def assert_clean_exit_2(result: Result, path: Path, *, place: str | None = None) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}: "), first
    if place is not None:
        assert first.startswith(f"{path}: {place}: "), first
    assert result.stderr.rstrip().endswith("found; nothing was written.")


# -- hostile files -------------------------------------------------------------------------------

SMALL = ("cxplan: 1\ntouchpoints: [{id: a, failure_probability: 0.1, impact: 1}]\n"
         "journey: {entry: {a: 1}}\n")

HOSTILE: dict[str, tuple[bytes, str | None]] = {
    # name: (content, place named in the first problem, when there is one)
    "alias bomb": (("cxplan: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 10))
    ).encode(), None),
    "recursive alias": (b"cxplan: 1\nname: &n [1, *n]\n", None),
    "100 000 nested brackets": (b"cxplan: 1\nname: " + b"[" * 100_000 + b"]" * 100_000, None),
    "100 nested block mappings": (("cxplan: 1\nname:\n" + "".join(
        "  " * (i + 1) + "a:\n" for i in range(100)) + "  " * 101 + "1\n").encode(), None),
    "NaN": (SMALL.encode() + b"budget: .nan\n", "budget"),
    "infinity": (SMALL.encode() + b"budget: -.inf\n", "budget"),
    "a float beyond double precision": (SMALL.encode() + b"budget: 1e400\n", "budget"),
    "an integer of 5000 digits": (SMALL.encode() + b"budget: " + b"9" * 5000 + b"\n",
                                  "budget"),
    "a number above its documented range": (SMALL.encode() + b"budget: 1e16\n", "budget"),
    "a negative cost": (SMALL.encode() + b"improvements: [{id: x, cost: -1, effects: "
                        b"[{touchpoint: a, failure_reduction: 0.5}]}]\n",
                        "improvements[0].cost"),
    "a probability of 1e-324 below zero": (
        b"cxplan: 1\ntouchpoints: [{id: a, failure_probability: -5e-324, impact: 1}]\n"
        b"journey: {entry: {a: 1}}\n", "touchpoints[0].failure_probability"),
    "not UTF-8": (SMALL.encode().replace(b"id: a", b"id: \xff"), None),
    "UTF-16": (SMALL.encode("utf-16"), None),
    "a NUL byte": (SMALL.encode().replace(b"impact", b"imp\x00act"), None),
    "an empty file": (b"", None),
    "only comments": (b"# nothing here\n", None),
    "a duplicate key": (SMALL.encode() + b"cxplan: 1\n", "cxplan"),
    "a JSON file with a duplicate key": (b'{"cxplan": 1, "cxplan": 1}', "cxplan"),
    "a JSON NaN literal": (b'{"cxplan": 1, "budget": NaN}', "budget"),
    "a Python object tag": (SMALL.encode() + b"name: !!python/object/apply:os.system [ls]\n",
                            "name"),
    "a binary tag": (SMALL.encode() + b"name: !!binary aGVsbG8=\n", "name"),
    "a terminal escape sequence in a name": (SMALL.encode() + b'name: "\\e]0;owned\\a"\n',
                                             "name"),
    "a terminal escape in JSON": (b'{"cxplan": 1, "name": "\\u001b[31m"}', "name"),
    "a lone surrogate in JSON": (b'{"cxplan": 1, "name": "\\ud800"}', None),
    "two documents": (SMALL.encode() + b"---\ncxplan: 1\n", None),
    "a list at the top": (b"- cxplan: 1\n", None),
    "a file cut short": (SMALL.encode()[:-20], None),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_file_is_a_clean_error_with_exit_2(name: str, tmp_path: Path) -> None:
    content, place = HOSTILE[name]
    path = tmp_path / ("scenario.json" if content.startswith(b"{") else "scenario.yaml")
    path.write_bytes(content)
    assert_clean_exit_2(cli("validate", str(path)), path, place=place)
    reports = tmp_path / "reports"
    assert_clean_exit_2(cli("plan", str(path), "--report", str(reports)), path, place=place)
    assert not reports.exists()


def test_a_directory_is_a_clean_error(tmp_path: Path) -> None:
    assert_clean_exit_2(cli("validate", str(tmp_path)), tmp_path)


def test_a_file_over_the_size_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:  # sparse: no disk space, no memory
        handle.truncate(MAX_FILE_BYTES + 1)
    result = cli("validate", str(path))
    assert_clean_exit_2(result, path)
    assert f"over the limit of {MAX_FILE_BYTES}" in result.stderr


def test_the_size_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(SMALL)
    monkeypatch.setenv("CXPLAN_MAX_FILE_BYTES", "50")
    result = RUNNER.invoke(app, ["validate", str(path)])
    assert_clean_exit_2(result, path)
    assert "over the limit of 50" in result.stderr
    monkeypatch.setenv("CXPLAN_MAX_FILE_BYTES", "fifty")
    result = RUNNER.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "CXPLAN_MAX_FILE_BYTES must be a whole number of bytes" in result.stderr


def test_an_endless_device_is_refused_before_it_is_read() -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    result = cli("validate", "/dev/zero")
    assert_clean_exit_2(result, Path("/dev/zero"))
    assert "is a device, not a scenario file" in result.stderr


def test_deep_nesting_does_not_crash_the_process(tmp_path: Path) -> None:
    # libyaml recurses in C while composing: 100 000 levels overflowed the stack (a
    # segmentation fault, no message at all). Run in a subprocess so that a regression
    # shows as a failed test, not a crashed test run.
    path = tmp_path / "deep.yaml"
    path.write_text("cxplan: 1\nname: " + "{a: " * 200_000 + "1" + "}" * 200_000 + "\n")
    result = subprocess.run([sys.executable, "-m", "cxplan.cli", "validate", str(path)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert f"{path}: nested deeper than 64 levels" in result.stderr


def test_many_shallow_flow_collections_are_read_fast(tmp_path: Path) -> None:
    # Over the cheap nesting bound (every `{` might nest), so measured exactly first.
    data = random_scenario(0)
    data["improvements"] = [
        {"id": f"x{k}", "cost": 1, "effects": [{"touchpoint": "t0", "failure_reduction": 0.1}]}
        for k in range(3000)]
    data["budget"] = 10
    path = tmp_path / "flow.yaml"
    path.write_text(yaml.safe_dump(data, default_flow_style=True, width=100))
    assert len(load_scenario(path).improvements) == 3000


# -- numbers: solved exactly, or rejected with a reason --------------------------------

def scaled(data: dict[str, Any], kind: str, factor: float) -> dict[str, Any]:
    """A copy with one kind of number multiplied by `factor`."""
    d = copy.deepcopy(data)
    personas = d.setdefault("personas", [{"id": "all", "customers": 1}])
    if kind == "money":  # impacts and success values: what a failure costs
        for item in [*d["touchpoints"], *(o for p in personas
                                          for o in (p.get("touchpoints") or {}).values())]:
            for key in ("impact", "success_value"):
                if key in item:
                    item[key] *= factor
    elif kind == "cost":
        for imp in d["improvements"]:
            imp["cost"] *= factor
        d["budget"] *= factor
    elif kind == "customers":
        for persona in personas:
            persona["customers"] = persona.get("customers", 1) * factor
    elif kind == "failure":
        for item in [*d["touchpoints"], *(o for p in personas
                                          for o in (p.get("touchpoints") or {}).values())]:
            if "failure_probability" in item:
                item["failure_probability"] *= factor
    elif kind == "staff":
        d["teams"] = {team: cap * factor for team, cap in d["teams"].items()}
        for imp in d["improvements"]:
            imp["staff"] = {team: n * factor for team, n in imp.get("staff", {}).items()}
    else:
        raise ValueError(kind)
    return d


def assert_exact(data: dict[str, Any]) -> None:
    """The optimizer's plan is feasible and as good as the best of every selection."""
    reference = brute_force(data)
    assert reference is not None
    plan = optimize(load_scenario(data), options=SolverOptions(time_limit=60))
    assert plan.status == "optimal"
    best, _ = reference
    baseline = exact_value(data, set())
    assert feasible(data, set(plan.selected))
    assert abs(plan.expected_gain - best) <= 1e-6 * abs(best) + 1e-12 * abs(baseline), \
        (plan.selected, reference)


SCALES = [
    ("failure", 1e-12),  # probabilities like 1e-12: gains of 1e-10
    ("money", 1e-12),  # amounts in billions: HiGHS's absolute tolerances took these as zero
    ("money", 1e9),
    ("cost", 1e12),  # costs of 1e12
    ("customers", 1e9),  # huge customer counts
    ("staff", 1e6),
    ("staff", 1e-6),
]


@pytest.mark.parametrize("seed", [0, 21])
@pytest.mark.parametrize(("kind", "factor"), SCALES, ids=[f"{k}-{f:g}" for k, f in SCALES])
def test_the_optimizer_stays_exact_on_scaled_scenarios(kind: str, factor: float,
                                                        seed: int) -> None:
    assert_exact(scaled(random_scenario(seed), kind, factor))


def loop(probability: float = 1.0, *, failure: float = 0.2, dropout: float = 0.5,
         reduction: float = 0.5) -> dict[str, Any]:
    """a -> b -> a with `probability` both ways: customers leave only by dropping out after
    a failure at a (or through the remainder 1 - probability)."""
    return {
        "cxplan": 1, "budget": 10,
        "touchpoints": [
            {"id": "a", "failure_probability": failure, "impact": 10, "dropout": dropout},
            {"id": "b", "failure_probability": 0.1, "impact": 5, "success_value": 3}],
        "journey": {"entry": {"a": 1}, "edges": [
            {"from": "a", "to": "b", "probability": probability},
            {"from": "b", "to": "a", "probability": probability}]},
        "improvements": [
            {"id": "fewer-failures", "cost": 4,
             "effects": [{"touchpoint": "a", "failure_reduction": reduction}]},
            {"id": "less-damage", "cost": 4,
             "effects": [{"touchpoint": "a", "impact_reduction": 0.5}]},
            {"id": "b-better", "cost": 4,
             "effects": [{"touchpoint": "b", "failure_reduction": 0.5}]}],
    }


def test_a_probability_of_exactly_1_on_a_cycle_that_leaks_by_dropout_solves_exactly() -> None:
    assert_exact(loop())


def test_a_cycle_that_an_improvement_closes_completely_is_rejected_with_its_reason() -> None:
    # Removing every failure at a removes the only way out: visits become infinite.
    with pytest.raises(ScenarioError) as info:
        load_scenario(loop(reduction=1.0))
    assert "can never end" in info.value.problems[0].message
    assert "at least once every improvement is applied" in info.value.problems[0].message


def test_a_cycle_leaking_less_than_1e_9_per_round_is_rejected_as_endless() -> None:
    # p × d = 1e-12: about 1e12 rounds on average; the numbers would be noise.
    with pytest.raises(ScenarioError) as info:
        load_scenario(loop(failure=1e-6, dropout=1e-6, reduction=0.0))
    assert "can never end" in info.value.problems[0].message


def test_a_cycle_leaking_1e_8_per_round_solves_exactly() -> None:
    # About 1e8 rounds on average: far from realistic, but exact.
    assert_exact(loop(failure=1e-4, dropout=1e-4, reduction=0.5))


def test_amounts_beyond_1e15_are_rejected_with_a_reason(tmp_path: Path) -> None:
    data = loop()
    data["personas"] = [{"id": "everyone", "customers": 1e9}]
    data["touchpoints"][0]["impact"] = 1e7  # 1e16 per touchpoint
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(data))
    result = cli("validate", str(path))
    assert_clean_exit_2(result, path, place="personas[0].customers")
    assert "amounts too large to optimize exactly" in result.stderr
    assert "write money in thousands or millions" in result.stderr


def test_amounts_at_the_limit_solve() -> None:
    data = loop()
    data["journey"]["edges"] = [{"from": "a", "to": "b", "probability": 0.5}]  # no loop
    data["personas"] = [{"id": "everyone", "customers": 1e8}]
    data["touchpoints"][0]["impact"] = MAX_VALUE_SCALE / 1e8
    data["improvements"][0]["cost"] = 1e15  # documented maximum, over the budget
    assert_exact(data)


def test_every_number_at_the_end_of_its_range_plans_or_fails_cleanly(tmp_path: Path) -> None:
    data = loop()
    data["budget"] = 1e15
    data["teams"] = {"it": 1e15}
    for imp in data["improvements"]:
        imp["cost"], imp["staff"] = 1e15, {"it": 1e15}
    data["touchpoints"][1].update(failure_probability=1.0, dropout=1.0, impact=0,
                                  success_value=0)
    data["criteria"] = {"expected_experience": 1e9}
    path = tmp_path / "limits.yaml"
    path.write_text(yaml.safe_dump(data))
    result = cli("plan", str(path), "--json", "--no-marginals")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["cost"] <= 1e15


# -- solver limits -------------------------------------------------------------------------------

def test_a_plan_past_its_time_limit_exits_0_with_its_gap_and_a_warning() -> None:
    result = cli("plan", str(ROOT / "scenarios" / "microfinance-onboarding.yaml"), "--json",
                 "--time-limit", "0.3", "--no-marginals")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    if plan["status"] == "optimal":  # a fast machine: nothing left to check
        return
    assert plan["status"] == "time_limit"
    assert 0 < plan["gap"] < 1
    assert "warning: time limit reached; the plan is within" in result.stderr


def test_amounts_times_the_visits_of_a_barely_leaking_loop_are_rejected_with_a_reason() -> None:
    # 1e10 per visit is fine, but about 1e8 rounds of the loop make it 1e18.
    data = loop(failure=1e-4, dropout=1e-4)
    data["personas"] = [{"id": "everyone", "customers": 1e5}]
    data["touchpoints"][0]["impact"] = 1e5
    with pytest.raises(ScenarioError) as info:
        load_scenario(data)
    problem = info.value.problems[0]
    assert problem.location == "personas[0].customers"
    assert "× expected visits" in problem.message


def test_a_large_generated_file_sharing_blocks_through_anchors_is_not_a_bomb(
    tmp_path: Path,
) -> None:
    # yaml.dump writes an anchor for every object used twice: 10 000 improvements sharing
    # one list of five effects reach 260 000 values through aliases, more than an alias
    # bomb is allowed, but only about five times the file's own values.
    touchpoints = [f"t{k}" for k in range(5)]
    effects = [{"touchpoint": t, "failure_reduction": 0.1, "impact_reduction": 0.1,
                "dropout_reduction": 0.0} for t in touchpoints]
    data = {"cxplan": 1, "journey": {"entry": {"t0": 1}},
            "touchpoints": [{"id": t, "failure_probability": 0.1, "impact": 1}
                            for t in touchpoints],
            "improvements": [{"id": f"i{k}", "cost": 1, "effects": effects}
                             for k in range(10_000)]}
    text = yaml.dump(data, Dumper=yaml.CSafeDumper)
    assert text.count("*id001") == 10_000 - 1
    path = tmp_path / "shared.yaml"
    path.write_text(text)
    assert len(load_scenario(path).improvements) == 10_000
