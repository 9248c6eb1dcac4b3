"""Fuzzing: every input, however broken, ends in a plan or a clean error, never a traceback.

Hypothesis mutates valid scenarios (the bundled ones, a small one that uses every field,
seeded random ones): it deletes keys, swaps types, breaks references, perturbs numbers
(NaN, infinity, huge, negative, 1e-12), duplicates ids, renames keys, truncates the file
and sprinkles random bytes into it, and it feeds random bytes. Every input goes through
the real command line in-process (`validate`, then `plan` and `evaluate` when valid) or
through the Python API, and must end in

- exit code 0 with a well-formed result (one JSON object with the contract keys, finite
  numbers, a selection that respects the budget), or
- a clean error: exit code 2 (invalid scenario or arguments, every problem named, nothing
  written), 3 (infeasible) or 5 (no plan within the time limit) — never exit code 1
  ("internal error": an unexpected exception) or 70 (the optimizer disagreed with the
  evaluator).

Untrusted paths get two properties of their own: `extends:` values and template names
aimed at files outside the folders given (through `..`, symbolic links, absolute paths)
must not make cxplan open, quote or render anything there.

The worst inputs found are kept in `tests/corpus/` and replayed on every run
(`test_the_corpus_replays_cleanly`). CI runs a bounded, deterministic number of examples
(about 25 s in all); for a long local run set CXPLAN_FUZZ_EXAMPLES (examples per property
test; the run is then randomized):

    CXPLAN_FUZZ_EXAMPLES=20000 nice -n 19 .venv/bin/python -m pytest -q tests/test_fuzz.py

docs/fuzzing.md describes every input, what the long runs found and how long they took.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from cxplan import load_scenario, optimize
from cxplan.cli import app
from cxplan.errors import CxplanError, ScenarioError
from cxplan.optimizer.options import SolverOptions
from cxplan.scenario import source

from random_scenarios import random_scenario

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "corpus"
CONTRACT_KEYS = {"scenario", "status", "selected", "objective", "expected_gain",
                 "baseline_value", "planned_value", "cost", "staff_used", "criteria"}
CLEAN_EXIT = {"validate": {0, 2}, "evaluate": {0, 2}, "plan": {0, 2, 3, 5}}
TIME_LIMIT = "0.5"  # seconds: long enough for small plans, short enough to hit the limit often

LONG_RUN = int(os.environ.get("CXPLAN_FUZZ_EXAMPLES", "0"))


def fuzz_settings(ci_examples: int) -> settings:
    """A bounded, deterministic run in CI; CXPLAN_FUZZ_EXAMPLES for a long randomized one."""
    return settings(
        max_examples=LONG_RUN or ci_examples,
        derandomize=not LONG_RUN,
        deadline=None,  # a plan may legitimately take up to its time limit
        database=None if not LONG_RUN else settings.default.database,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture],
        print_blob=True,
    )


# -- the seeds that get mutated ----------------------------------------------------------------

# Small, but every field of format version 1 appears, so that every field gets mutated.
FULL: dict[str, Any] = {
    "cxplan": 1,
    "name": "Every field",
    "currency": "EUR",
    "stages": ["awareness", "purchase", "retention"],
    "budget": 500,
    "teams": {"it": 3, "front-office": 2},
    "personas": [
        {"id": "new", "name": "New customers", "customers": 1000,
         "entry": {"ad": 0.8, "branch": 0.2},
         "edges": [{"from": "ad", "to": "branch", "probability": 0.7}],
         "touchpoints": {"branch": {"failure_probability": 0.3, "impact": 50,
                                    "dropout": 0.4, "success_value": 5}}},
        {"id": "returning", "customers": 300},
    ],
    "touchpoints": [
        {"id": "ad", "name": "Advert", "stage": "awareness", "channel": "web",
         "failure_probability": 0.1, "impact": 2, "dropout": 0.3, "success_value": 0,
         "moment_of_truth": False, "visible": True, "emotion": 1, "owner": "marketing"},
        {"id": "branch", "stage": "purchase", "failure_probability": 0.25, "impact": 40,
         "dropout": 0.5, "moment_of_truth": True, "emotion": -2},
        {"id": "support", "stage": "retention", "failure_probability": 0.2, "impact": 15,
         "dropout": 0.1, "visible": False},
        {"id": "account", "stage": "retention", "failure_probability": 0.05, "impact": 10,
         "success_value": 30},
    ],
    "journey": {
        "entry": {"ad": 1.0},
        "edges": [
            {"from": "ad", "to": "branch", "probability": 0.6},
            {"from": "branch", "to": "account", "probability": 0.7},
            {"from": "branch", "to": "support", "probability": 0.2},
            {"from": "support", "to": "branch", "probability": 0.5},  # a leaking loop
        ],
    },
    "improvements": [
        {"id": "queue-app", "name": "Queue app", "cost": 300, "staff": {"it": 2},
         "effects": [{"touchpoint": "branch", "failure_reduction": 0.5,
                      "impact_reduction": 0.2, "dropout_reduction": 0.1}],
         "owner": "digital", "confidence": 0.8, "duration": 2},
        {"id": "sms", "cost": 50, "effects": [{"touchpoint": "ad", "failure_reduction": 0.3}],
         "mandatory": True},
        {"id": "callback", "cost": 120, "staff": {"front-office": 1},
         "effects": [{"touchpoint": "support", "failure_reduction": 0.6},
                     {"touchpoint": "branch", "dropout_reduction": 0.3}],
         "requires": ["sms"], "excludes": ["chatbot"]},
        {"id": "chatbot", "cost": 80, "staff": {"it": 1},
         "effects": [{"touchpoint": "support", "failure_reduction": 0.4}]},
    ],
    "criteria": {"expected_experience": 1},
}


# The roadmap additions: a horizon, amounts per period, start windows.
ROADMAP: dict[str, Any] = {
    **copy.deepcopy(FULL),
    "name": "Every roadmap field",
    "horizon": {"periods": 3, "label": "quarter", "names": ["Q1", "Q2", "Q3"],
                "discount_rate": 0.05, "carry_over": True},
    "budget": [200, 150, 250],
    "teams": {"it": [3, 2, 3], "front-office": 2},
}
ROADMAP["personas"][0]["customers"] = [1000, 1100, 1200]
ROADMAP["improvements"][0].update(earliest=1, latest=2)


def _bundled(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "scenarios" / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


# The microfinance scenario takes seconds to solve: its plans run into the time limit, which
# is a path worth fuzzing too. Random scenarios bring cycles and several personas.
SEEDS: dict[str, dict[str, Any]] = {
    "full": FULL,
    "roadmap": ROADMAP,
    "restaurant": _bundled("restaurant.yaml"),
    "airline-trip": _bundled("airline-trip.yaml"),
    "microfinance-onboarding": _bundled("microfinance-onboarding.yaml"),
    "random-1": random_scenario(1),
    "random-7": random_scenario(7),
}


def seed(data: st.DataObject) -> Any:
    """A fresh copy of one seed (drawn by name, so that a failing example reads well)."""
    return copy.deepcopy(SEEDS[data.draw(st.sampled_from(sorted(SEEDS)), label="seed")])


def test_every_seed_is_a_valid_scenario() -> None:
    for tree in SEEDS.values():
        load_scenario(tree)


# -- mutations ---------------------------------------------------------------------------------

Path_ = tuple[Any, ...]

# Numbers that broke (or could break) numerical code: zero, tiny, huge, non-finite, signed
# zero, integers beyond float precision and beyond 64 bits.
AWKWARD_NUMBERS: list[Any] = [
    0, 1, -1, 0.0, -0.0, 1e-12, -1e-12, 1 - 1e-12, 1 + 1e-12, 1e-300, 5e-324, 0.5,
    1e12, 1e15, 1e15 + 1, 1e16, 1e300, 1.7976931348623157e308, 2**53 + 1, 2**63, 2**64 + 1,
    10**400, -(10**30), float("nan"), float("inf"), float("-inf"),
]
AWKWARD_TEXT: list[str] = [
    "", " ", " ad", "ad ", "AD", "a" * 300, "0", "1e3", ".nan", "-.inf", "true", "null", "~",
    "ad\x00", "é", "😀", "\u202e", "\n", "<script>alert(1)</script>", "{{ 7*7 }}",
    "*alias", "&anchor", "!!python/object", "[]", "{}", "\t", "ad\nbranch", "''",
]


def awkward_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.sampled_from(AWKWARD_NUMBERS), st.sampled_from(AWKWARD_TEXT),
        st.none(), st.booleans(), st.integers(), st.floats(),
        st.text(max_size=20),
    )
    return st.one_of(
        scalars,
        st.lists(scalars, max_size=3),
        st.dictionaries(st.text(max_size=8), scalars, max_size=3),
    )


def _paths(tree: Any, path: Path_ = ()) -> Iterator[Path_]:
    """Every place in a parsed scenario, the root included."""
    yield path
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _paths(value, (*path, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _paths(value, (*path, i))


def _get(tree: Any, path: Path_) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def _set(tree: Any, path: Path_, value: Any) -> Any:
    """`tree` with the value at `path` replaced (the root itself when `path` is empty)."""
    if not path:
        return value
    _get(tree, path[:-1])[path[-1]] = value
    return tree


def _typo(data: st.DataObject, text: str) -> str:
    if not text:
        return "x"
    i = data.draw(st.integers(0, len(text) - 1), label="typo at")
    kind = data.draw(st.sampled_from(["drop", "double", "case", "space"]), label="typo")
    if kind == "drop":
        return text[:i] + text[i + 1:]
    if kind == "double":
        return text[:i] + text[i] + text[i:]
    if kind == "case":
        return text.swapcase()
    return text + " "


def _perturb_number(data: st.DataObject, value: float) -> Any:
    how = data.draw(st.sampled_from(["awkward", "scale", "negate", "stringify", "nudge"]),
                    label="perturbation")
    if how == "awkward":
        return data.draw(st.sampled_from(AWKWARD_NUMBERS), label="number")
    if how == "scale":
        exponent = data.draw(st.integers(-15, 15), label="scale 10**")
        try:
            scaled = value * 10.0**exponent
        except OverflowError:  # an integer beyond any float
            return float("inf")
        return scaled if math.isfinite(scaled) else float("inf")
    if how == "negate":
        return -value
    if how == "stringify":
        return str(value)
    nudge = data.draw(st.sampled_from([1e-12, -1e-12, 1e-9, 1.0, -1.0]), label="nudge")
    try:
        return value + nudge
    except OverflowError:  # an integer beyond any float, nudged by a float
        return float("inf")


def mutate(data: st.DataObject, tree: Any) -> Any:
    """One random change somewhere in `tree` (changed in place where possible)."""
    paths = list(_paths(tree))
    path = data.draw(st.sampled_from(paths), label="where")
    value = _get(tree, path)
    parent = _get(tree, path[:-1]) if path else None
    ops = ["replace", "wrap", "copy"]
    if path:
        ops.append("delete")
    if isinstance(value, bool):
        ops.append("flip")
    elif isinstance(value, int | float):
        ops += ["perturb"] * 4
    if isinstance(value, str):
        ops += ["typo"] * 3 + ["reference"] * 2
    if isinstance(value, list) and value:
        ops += ["duplicate", "swap", "truncate"]
    if isinstance(value, dict):
        ops += ["rename", "add_key"]
    op = data.draw(st.sampled_from(ops), label="operation")
    if op == "replace":
        return _set(tree, path, data.draw(awkward_values(), label="value"))
    if op == "wrap":
        return _set(tree, path, data.draw(st.sampled_from([[value], {"x": value}]),
                                          label="wrapped"))
    if op == "copy":  # some other part of the scenario, in the wrong place
        other = data.draw(st.sampled_from(paths), label="copied from")
        return _set(tree, path, copy.deepcopy(_get(tree, other)))
    if op == "delete":
        del parent[path[-1]]
        return tree
    if op == "flip":
        return _set(tree, path, not value)
    if op == "perturb":
        return _set(tree, path, _perturb_number(data, value))
    if op == "typo":
        return _set(tree, path, _typo(data, value))
    if op == "reference":  # an id of some other kind, or of something that does not exist
        ids = sorted({v for p in paths if p and p[-1] in ("id", "touchpoint", "from", "to")
                      and isinstance(v := _get(tree, p), str)})
        return _set(tree, path, data.draw(st.sampled_from([*ids, "nowhere", value + "-2"]),
                                          label="reference"))
    if op == "duplicate":  # duplicate ids, edges, effects, stages
        i = data.draw(st.integers(0, len(value) - 1), label="duplicated item")
        value.insert(data.draw(st.integers(0, len(value)), label="at"), copy.deepcopy(value[i]))
        return tree
    if op == "swap":
        i = data.draw(st.integers(0, len(value) - 1), label="i")
        j = data.draw(st.integers(0, len(value) - 1), label="j")
        value[i], value[j] = value[j], value[i]
        return tree
    if op == "truncate":
        del value[data.draw(st.integers(0, len(value)), label="keep"):]
        return tree
    if op == "rename":
        if not value:
            return tree
        key = data.draw(st.sampled_from(sorted(value, key=str)), label="key")
        new = data.draw(st.one_of(st.just(_typo(data, str(key))), st.sampled_from(
            ["<<", "id", "from", "source", "target", "1", "true", "", "Id"]), st.text(max_size=6)),
            label="new key")
        value[new] = value.pop(key)
        return tree
    assert op == "add_key"
    value[data.draw(st.text(min_size=1, max_size=10), label="new key")] = data.draw(
        awkward_values(), label="value")
    return tree


def mutated_seed(data: st.DataObject, *, max_changes: int = 4) -> Any:
    tree = seed(data)
    for _ in range(data.draw(st.integers(1, max_changes), label="changes")):
        tree = mutate(data, tree)
    return tree


# -- writing a (possibly broken) scenario as a file --------------------------------------------

def serialize(data: st.DataObject, tree: Any) -> tuple[bytes, str]:
    """The tree as a YAML (block or flow style) or JSON file: (content, file suffix)."""
    style = data.draw(st.sampled_from(["block", "flow", "json", "json-indent"]), label="format")
    if style.startswith("json"):
        # allow_nan: JSON has no NaN; Python writes `NaN`, which is text in YAML
        text = json.dumps(tree, indent=1 if style == "json-indent" else None, allow_nan=True,
                          ensure_ascii=data.draw(st.booleans(), label="ascii"))
        return text.encode("utf-8", "surrogatepass"), ".json"
    text = yaml.safe_dump(tree, sort_keys=False, allow_unicode=True,
                          default_flow_style=None if style == "flow" else False, width=100)
    return text.encode("utf-8", "surrogatepass"), ".yaml"


# What a hand-edited (or hostile) YAML file can hold where a value belongs: tags, aliases,
# merges, escapes that make control characters or lone surrogates, numbers Python refuses.
YAML_VALUES: list[str] = [
    "!!python/object/apply:os.system ['true']", "!!binary aGVsbG8=", "!!set {a: null}",
    "!!omap [a: 1]", "!!float '1e400'", "!!int '0x1F'", "!!str 5", "!!timestamp 2024-01-01",
    "!custom {a: 1}", "&a [*a]", "*undefined", "{<<: !!set {a: null}}", "{<<: *undefined}",
    "{<<: [1, 2]}", "{<<: {id: x}, id: y}", "? [a, b]", "2001-12-14t21:59:43.10-05:00",
    "0x1F", "0o17", "0b101", "1_000", "190:20:30", ".inf", "-.Inf", ".NaN", "~", "null",
    "yes", "off", "'\\ud800'", '"\\ud800"', '"\\udc00x"', '"\\e[31mred"', '"\\x1b]0;t\\x07"',
    '"\\u001b"', '"\\0"', '"\\N\\_\\L\\P"', '"\\ud83d\\ude00"', "9" * 5000, "-" + "9" * 4301,
    "1e400", "-1e400", "1" + "0" * 400 + ".5", "|\n  block", ">-\n  folded", "[" * 200 + "]" * 200,
    "{" * 70 + "}" * 70, "'" + "x" * 10000 + "'",
]
# The same in JSON strings: escapes that decode to controls, surrogates (lone or paired).
JSON_ESCAPES: list[str] = ["\\u001b", "\\ud800", "\\udc00", "\\ud83d\\ude00", "\\b", "\\f",
                           "\\u0000", "\\u007f", "\\u0085", "\\ufffe", "\\\\ud800", "\\u2028"]


def damage(data: st.DataObject, content: bytes) -> bytes:
    """Byte-level damage: what a bad copy, a crash mid-save or a wrong encoding does, and
    what a hostile editor writes by hand."""
    how = data.draw(st.sampled_from(
        ["truncate", "drop_line", "double_line", "indent", "insert", "overwrite", "encoding",
         "tab", "splice", "yaml_value", "yaml_value", "json_escape"]), label="damage")
    n = len(content)
    at = data.draw(st.integers(0, max(n - 1, 0)), label="at")
    lines = content.split(b"\n")
    line = data.draw(st.integers(0, len(lines) - 1), label="line")
    if how == "truncate":
        return content[:at]
    if how == "drop_line":
        return b"\n".join(lines[:line] + lines[line + 1:])
    if how == "double_line":  # a duplicate key, or an item given twice
        return b"\n".join(lines[:line + 1] + lines[line:])
    if how == "indent":
        shift = data.draw(st.sampled_from([b" ", b"  ", b"    "]), label="shift")
        lines[line] = shift + lines[line] if data.draw(st.booleans()) else lines[line][1:]
        return b"\n".join(lines)
    if how == "insert":
        return content[:at] + data.draw(st.binary(min_size=1, max_size=8), label="bytes") + \
            content[at:]
    if how == "overwrite":
        chunk = data.draw(st.binary(min_size=1, max_size=4), label="bytes")
        return content[:at] + chunk + content[at + len(chunk):]
    if how == "encoding":
        codec = data.draw(st.sampled_from(["utf-16", "latin-1", "cp1252"]), label="codec")
        return content.decode("utf-8", "replace").encode(codec, "replace")
    if how == "tab":
        return content[:at] + b"\t" + content[at:]
    if how == "yaml_value":  # the value after some `key: ` replaced by hand-written YAML
        keyed = [i for i, text in enumerate(lines) if b": " in text]
        if keyed:
            i = data.draw(st.sampled_from(keyed), label="line with a key")
            key = lines[i][:lines[i].index(b": ") + 2]
            value = data.draw(st.sampled_from(YAML_VALUES), label="yaml value")
            lines[i] = key + value.encode("utf-8")
        return b"\n".join(lines)
    if how == "json_escape":  # an escape right after some opening quote
        quotes = [i for i, byte in enumerate(content) if byte == ord('"')]
        if quotes:
            q = data.draw(st.sampled_from(quotes), label="after quote")
            escape = data.draw(st.sampled_from(JSON_ESCAPES), label="escape").encode()
            return content[:q + 1] + escape + content[q + 1:]
        return content
    # two halves of the file glued together in the wrong order
    return content[at:] + content[:at]


# -- running the command line and judging the outcome ------------------------------------------

@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    # module scope: hypothesis runs many examples per test; each writes over the same files
    folder = Path(tempfile.mkdtemp(prefix="cxplan-fuzz-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


RUNNER = CliRunner()
# The `file: location: message` lines of ScenarioError and the one-line other errors.
_ERROR_LINE = re.compile(r"^(error: |warning: |interrupted|\S.*: |\d+ problems? found)")


def invoke(args: list[str]) -> Result:
    # CXPLAN_DEBUG lets an unexpected exception through (instead of the one-line "internal
    # error"), so that a failure shows its traceback.
    return RUNNER.invoke(app, args, env={"CXPLAN_DEBUG": "1"})


def check_clean(result: Result, command: str, scenario: Path, *, json_out: bool = False,
                bases: Path | None = None) -> None:
    """The run ended in a result or a clean error: the fuzzing contract.

    `json_out`: `validate --json` lists the problems in its JSON object on stdout. `bases`:
    a folder of files the scenario extends; a problem may be in one of them, and then the
    first line names it.
    """
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        raise AssertionError(f"`cxplan {command}` crashed on {scenario.name}") from exc
    assert result.exit_code in CLEAN_EXIT[command], (command, result.exit_code, result.output)
    for text in (result.stdout, result.stderr):
        assert "Traceback" not in text and "internal error" not in text
    if result.exit_code == 2 and json_out:
        assert json.loads(result.stdout)["problems"], "an invalid scenario is explained"
    elif result.exit_code == 2:
        assert result.stderr.strip(), "an invalid scenario is explained on stderr"
        if command != "evaluate":  # evaluate's unknown ids are a usage error on the CLI line
            first = result.stderr.splitlines()[0]
            assert first.startswith((str(scenario), "error: ", *(
                [str(bases)] if bases is not None else []))), first


def check_plan_json(result: Result, scenario: Path) -> None:
    data = json.loads(result.stdout)  # exactly one JSON object and nothing else
    assert set(data) >= CONTRACT_KEYS
    assert data["status"] in ("optimal", "time_limit")
    for key in ("objective", "expected_gain", "baseline_value", "planned_value", "cost"):
        assert math.isfinite(data[key]), key
    loaded = load_scenario(scenario)
    ids = set(loaded.improvement_ids)
    assert set(data["selected"]) <= ids
    if loaded.budget is not None:
        assert data["cost"] <= loaded.budget * (1 + 1e-9) + 1e-9
    assert {i.id for i in loaded.improvements if i.mandatory} <= set(data["selected"])


def run_everything(path: Path, data: st.DataObject, workdir: Path) -> None:
    """validate; when valid, also plan (sometimes with reports) and evaluate."""
    result = invoke(["validate", str(path)])
    check_clean(result, "validate", path)
    as_json = invoke(["validate", "--json", str(path)])
    check_clean(as_json, "validate", path, json_out=True)
    assert as_json.exit_code == result.exit_code
    assert json.loads(as_json.stdout)["valid"] is (result.exit_code == 0)
    if result.exit_code != 0:
        return
    reports = workdir / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    args = ["plan", str(path), "--json", "--time-limit", TIME_LIMIT]
    # Marginal values re-solve once per limit with at least a second each (whatif.marginal):
    # fuzzed on small scenarios, skipped on large ones to bound the run's time.
    if len(load_scenario(path).improvements) > 15 or not data.draw(st.booleans(),
                                                                   label="marginals"):
        args.append("--no-marginals")
    with_report = data.draw(st.booleans(), label="with a report")
    if with_report:
        args += ["--report", str(reports)]
    planned = invoke(args)
    check_clean(planned, "plan", path)
    if planned.exit_code == 0:
        check_plan_json(planned, path)
        if with_report:
            assert sorted(p.suffix for p in reports.iterdir()) == [".html", ".md"]
    elif with_report:
        assert not reports.exists(), "nothing is written when there is no plan"
    ids = load_scenario(path).improvement_ids
    chosen = data.draw(st.lists(st.sampled_from([*ids, "no-such-id", ""]) if ids
                                else st.just("no-such-id"), max_size=4), label="selection")
    check_clean(invoke(["evaluate", str(path), "--json", "--select", ",".join(chosen)]),
                "evaluate", path)


# -- the properties ----------------------------------------------------------------------------

@fuzz_settings(ci_examples=35)
@given(data=st.data())
def test_mutated_scenarios_end_in_a_plan_or_a_clean_error(
    data: st.DataObject, workdir: Path
) -> None:
    tree = mutated_seed(data)
    content, suffix = serialize(data, tree)
    path = workdir / f"scenario{suffix}"
    path.write_bytes(content)
    run_everything(path, data, workdir)


@fuzz_settings(ci_examples=25)
@given(data=st.data())
def test_damaged_files_end_in_a_plan_or_a_clean_error(data: st.DataObject, workdir: Path) -> None:
    tree = mutated_seed(data, max_changes=1) if data.draw(st.booleans(), label="mutate") \
        else seed(data)
    content, suffix = serialize(data, tree)
    for _ in range(data.draw(st.integers(1, 3), label="damages")):
        content = damage(data, content)
    path = workdir / f"damaged{suffix}"
    path.write_bytes(content)
    run_everything(path, data, workdir)


@fuzz_settings(ci_examples=50)
@given(content=st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    # YAML punctuation, so that the parser gets deep into its states
    st.text(alphabet="{}[]:,-?&*!|>'\"%@`#\n \t.0123456789abcdeEnulltru~<=",
            max_size=120).map(str.encode),
))
def test_random_bytes_are_a_clean_error(content: bytes, workdir: Path) -> None:
    path = workdir / "random.yaml"
    path.write_bytes(content)
    check_clean(invoke(["validate", str(path)]), "validate", path)
    check_clean(invoke(["plan", str(path), "--json", "--time-limit", TIME_LIMIT]), "plan", path)


@fuzz_settings(ci_examples=30)
@given(data=st.data())
def test_mutated_dicts_through_the_api_end_in_a_plan_or_a_clean_error(
    data: st.DataObject,
) -> None:
    # A dict built by a program can hold what no file can: tuples, non-text keys, objects.
    tree = mutated_seed(data)
    if data.draw(st.booleans(), label="python values"):
        paths = list(_paths(tree))
        where = data.draw(st.sampled_from(paths), label="where")
        odd = data.draw(st.sampled_from(
            [("a", "b"), {1: 2}, {None: 1}, {("t",): 1}, b"bytes", 1 + 2j, object(), {"x"},
             range(3), float("nan")]), label="python value")
        tree = _set(tree, where, odd)
    try:
        scenario = load_scenario(tree) if isinstance(tree, dict) else load_scenario(
            {"cxplan": 1, "touchpoints": tree})
    except ScenarioError as exc:
        assert exc.problems, "a ScenarioError names at least one problem"
        for problem in exc.problems:
            assert problem.format()  # every problem can be printed
        return
    try:
        plan = optimize(scenario, options=SolverOptions(time_limit=float(TIME_LIMIT)))
    except CxplanError as exc:
        assert exc.exit_code in (2, 3, 5), exc
        return
    assert math.isfinite(plan.expected_gain)
    json.dumps(plan.to_dict(), allow_nan=False)


# -- untrusted paths: extends and template folders read nothing outside their folders --------

MARKER = "OUTSIDE-MARKER-7c1e"  # in every file outside the folders given; must never show


@pytest.fixture(scope="module")
def hostile_tree() -> Iterator[Path]:
    """project/ (the scenario's folder), allowed/ (an --allow-path folder) and outside/
    (secrets), with links leading in, out, nowhere and round in circles."""
    root = Path(tempfile.mkdtemp(prefix="cxplan-fuzz-paths-"))
    secret = yaml.safe_dump({**random_scenario(3), "name": MARKER})
    for folder in ("project/sub", "allowed", "outside/deeper", "templates/parts"):
        (root / folder).mkdir(parents=True)
    valid = yaml.safe_dump(random_scenario(1))
    files = {
        "project/base.yaml": valid,
        "project/sub/base.yaml": "cxplan: 1\nextends: ../base.yaml\nbudget: 5\n",
        "project/sub/leaks.yaml": "cxplan: 1\nextends: ../../outside/secret.yaml\n",
        "allowed/base.yaml": valid,
        "allowed/leaks.yaml": "cxplan: 1\nextends: ../outside/secret.yaml\n",
        "outside/secret.yaml": secret,
        "outside/deeper/secret.yaml": secret,
        "outside/secret.j2": MARKER,
        "templates/parts/ok.j2": "{{ view.title }}",
    }
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    links = {
        "project/out-file": "../outside/secret.yaml", "project/out-dir": "../outside",
        "project/in-link": "base.yaml", "project/sub/up": "..", "project/dangling": "nowhere",
        "project/loop": "loop", "project/root": "/", "project/allowed": "../allowed",
        "allowed/out": "../outside", "templates/out-file": "../outside/secret.j2",
        "templates/out-dir": "../outside", "templates/root": "/",
        "templates/in-link": "parts/ok.j2", "templates/dangling": "nowhere",
        "templates/loop": "loop",
    }
    for name, target in links.items():
        (root / name).symlink_to(target)
    yield root
    shutil.rmtree(root, ignore_errors=True)


_SEGMENTS = ["..", ".", "", "sub", "base.yaml", "leaks.yaml", "secret.yaml", "secret.j2",
             "outside", "deeper", "allowed", "out", "out-file", "out-dir", "in-link", "up",
             "dangling", "loop", "root", "etc", "passwd", "proc", "self", "status", "dev",
             "zero", "parts", "ok.j2", "é", "a" * 300, "~", "C:", "%2e%2e"]
# Paths that lead somewhere on purpose (most of them outside); the drawn ones are these,
# changed a little, half of the time.
_AIMED = ["../outside/secret.yaml", "out-file", "out-dir/secret.yaml", "out-dir/deeper/secret.yaml",
          "sub/up/../outside/secret.yaml", "{root}/outside/secret.yaml", "/etc/passwd",
          "/proc/self/status", "/dev/zero", "root/etc/passwd", "allowed/out/secret.yaml",
          "../allowed/out/secret.yaml", "sub/leaks.yaml", "../allowed/leaks.yaml",
          "allowed/leaks.yaml", "in-link", "base.yaml", "sub/base.yaml", "../allowed/base.yaml",
          "{root}/project/base.yaml", "out-file/../base.yaml", "sub/up/base.yaml",
          "../outside/secret.j2", "out-dir/secret.j2", "root/etc/passwd", "parts/ok.j2",
          "parts/../out-file", "in-link", "out-dir/deeper/../secret.j2", "dangling", "loop"]


def drawn_path(data: st.DataObject, label: str) -> str:
    """A path as a hostile author would write one: `..` runs, links, absolute paths."""
    if data.draw(st.booleans(), label=f"{label} aimed"):
        parts = data.draw(st.sampled_from(_AIMED), label=label).split("/")
        for _ in range(data.draw(st.integers(0, 2), label=f"{label} changes")):
            at = data.draw(st.integers(0, len(parts) - 1), label=f"{label} at")
            parts.insert(at, data.draw(st.sampled_from([".", "", "sub/..", "out-dir/.."]),
                                       label=f"{label} insert"))
        return "/".join(parts)
    start = data.draw(st.sampled_from(["", "/", "./", "//", "~/", "{root}/", "{root}/project/",
                                       "{root}/outside/"]), label=f"{label} start")
    parts = data.draw(st.lists(st.sampled_from(_SEGMENTS), min_size=1, max_size=6),
                      label=f"{label} parts")
    return start + "/".join(parts) + data.draw(st.sampled_from(["", "/", "/."]),
                                               label=f"{label} end")


@contextlib.contextmanager
def files_opened() -> Iterator[list[str]]:
    """The real paths of every file cxplan opens through its readers."""
    import cxplan.files
    import cxplan.report.render
    import cxplan.scenario.source

    opened: list[str] = []
    real_open = cxplan.files.open_regular

    def spying(path: Any, **kwargs: Any) -> Any:
        opened.append(os.path.realpath(path))
        return real_open(path, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cxplan.scenario.source, "open_regular", spying)
        patch.setattr(cxplan.report.render, "open_regular", spying)
        yield opened


def inside(path: str, *folders: Path) -> bool:
    return any(os.path.commonpath([path, os.path.realpath(f)]) == os.path.realpath(f)
               for f in folders)


@fuzz_settings(ci_examples=100)
@given(data=st.data())
def test_extends_reads_nothing_outside_the_folders_given(
    data: st.DataObject, hostile_tree: Path
) -> None:
    from cxplan.cli.common import allow_paths

    target = drawn_path(data, "extends").format(root=hostile_tree)
    scenario = hostile_tree / "project" / "variant.yaml"
    scenario.write_text(yaml.safe_dump({"cxplan": 1, "extends": target, "budget": 3}),
                        encoding="utf-8")
    allowed = [hostile_tree / "allowed"] if data.draw(st.booleans(), label="allow") else []
    allow_paths([str(a) for a in allowed])
    try:
        with files_opened() as opened:
            validated = invoke(["validate", str(scenario)])
            check_clean(validated, "validate", scenario, bases=hostile_tree)
            if validated.exit_code == 0:
                planned = invoke(["plan", str(scenario), "--json", "--no-marginals",
                                  "--time-limit", TIME_LIMIT])
                check_clean(planned, "plan", scenario, bases=hostile_tree)
                assert MARKER not in planned.output
    finally:
        allow_paths([])
    assert MARKER not in validated.output
    outside = [p for p in opened if not inside(p, hostile_tree / "project", *allowed)]
    assert not outside, (target, outside)


@fuzz_settings(ci_examples=100)
@given(data=st.data())
def test_template_folders_serve_nothing_from_outside(
    data: st.DataObject, hostile_tree: Path, workdir: Path
) -> None:
    from cxplan.errors import TemplateError
    from cxplan.report import render_html, render_markdown
    from cxplan.report.build import build_view

    name = drawn_path(data, "template").format(root=hostile_tree)
    form = data.draw(st.sampled_from(['{{% include "{0}" %}}', '{{% extends "{0}" %}}',
                                      '{{% import "{0}" as m %}}',
                                      '{{% from "{0}" import x %}}']), label="tag")
    (hostile_tree / "templates" / "report.html.j2").write_text(
        "<p>" + form.format(name.replace('"', "")) + "</p>", encoding="utf-8")
    (hostile_tree / "templates" / "report.md.j2").write_text(
        form.format(name.replace('"', "")), encoding="utf-8")
    scenario = load_scenario(ROOT / "scenarios" / "restaurant.yaml")
    view = build_view(_restaurant_plan(), scenario)
    for render in (render_html, render_markdown):
        with files_opened() as opened:
            try:
                text = render(view, templates_dir=hostile_tree / "templates")
            except TemplateError as exc:
                text = str(exc)
        assert MARKER not in text
        outside = [p for p in opened if not inside(p, hostile_tree / "templates")]
        assert not outside, (name, outside)


@functools.cache
def _restaurant_plan() -> Any:
    return optimize(load_scenario(ROOT / "scenarios" / "restaurant.yaml"),
                    options=SolverOptions(time_limit=10))


# -- the fast readers read what the reference reader reads -------------------------------------

class _Uncached(source._Loader):
    """The pure-Python reader, resolving every scalar afresh (no `_ResolveOnce` cache)."""

    resolve = yaml.resolver.BaseResolver.resolve


def reference_read(text: str) -> tuple[Any, dict[Any, int], list[str]] | None:
    """Data, lines and problems as the pure-Python YAML reader gives them (None: refused)."""
    try:
        loader = _Uncached(text)
    except yaml.YAMLError:
        return None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        doc = source.Document(name="f", data=None)
        data = source._Builder(doc, loader).build(node, ())
    except (yaml.YAMLError, ScenarioError, RecursionError):
        return None
    finally:
        loader.dispose()
    return data, doc.lines, [p.format() for p in doc.problems]


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN and types compared too (1 is not 1.0, nor True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


@fuzz_settings(ci_examples=30)
@given(data=st.data())
def test_the_json_fast_path_reads_what_the_yaml_reader_reads(data: st.DataObject) -> None:
    tree = mutated_seed(data, max_changes=3)
    text = json.dumps(tree, indent=data.draw(st.sampled_from([None, 1, 2]), label="indent"),
                      allow_nan=True, ensure_ascii=data.draw(st.booleans(), label="ascii"))
    if data.draw(st.booleans(), label="escape"):
        text = damage(data, text.encode("utf-8", "surrogatepass")).decode("utf-8", "replace")
    fast = source._read_json(text, "f")
    if fast is None:
        return  # left to the YAML reader: nothing to compare
    if re.search(r"\\u[dD][89abAB]", text):
        # An escaped surrogate pair (ensure_ascii writes U+10000 and up so) is one character
        # for JSON; PyYAML makes two lone surrogates of it, libyaml refuses it.
        return
    if source._looks_like_json_with_tabs(text):  # as parse_text does before reading YAML
        text = text.replace("\t", " ")
    reference = reference_read(text)
    assert reference is not None, "the fast path accepted what the YAML reader refuses"
    expected, lines, problems = reference
    assert problems == [], problems
    assert same(fast.data, expected)
    one_line = "\n" not in text.rstrip()
    for path, line in lines.items():
        assert fast.line_of(path) == (1 if one_line else line)


@fuzz_settings(ci_examples=30)
@given(data=st.data())
def test_the_libyaml_reader_reads_what_the_python_reader_reads(data: st.DataObject) -> None:
    content, _ = serialize(data, mutated_seed(data, max_changes=3))
    if data.draw(st.booleans(), label="damaged"):
        content = damage(data, content)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return
    try:
        if not source._c_loader_is_safe(text):
            return
    except ScenarioError:
        return  # nested too deep: reported without reading further
    reference = reference_read(text)
    try:
        loader = source._FastLoader(text)
    except yaml.YAMLError:
        return
    try:
        node = loader.get_single_node()
        doc = source.Document(name="f", data=None)
        built = source._Builder(doc, loader).build(node, ()) if node is not None else None
    except (yaml.YAMLError, ScenarioError, UnicodeEncodeError):
        return  # libyaml refuses some text PyYAML reads (and the other way round)
    finally:
        loader.dispose()
    if reference is None or node is None:
        return
    expected, lines, problems = reference
    assert same(built, expected)
    assert doc.lines == lines
    assert [p.format() for p in doc.problems] == problems


# -- the corpus: the worst inputs found, replayed on every run ---------------------------------

def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_file() and ".exit" in p.name)


def expected_exit(path: Path) -> int:
    """`<what>.exit<code>.<suffix>`: the exit code `cxplan plan` must give on it."""
    match = re.search(r"\.exit(\d+)\.", path.name)
    assert match, path.name
    return int(match.group(1))


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_the_corpus_replays_cleanly(path: Path, tmp_path: Path) -> None:
    # Replayed from a copy: the name of the file is part of some messages, not its folder.
    scenario = tmp_path / path.name
    scenario.write_bytes(path.read_bytes())
    validated = invoke(["validate", str(scenario)])
    check_clean(validated, "validate", scenario)
    planned = invoke(["plan", str(scenario), "--json", "--time-limit", "5",
                      "--report", str(tmp_path / "reports")])
    check_clean(planned, "plan", scenario)
    assert planned.exit_code == expected_exit(path), planned.output
    assert (validated.exit_code == 2) == (planned.exit_code == 2)
    if planned.exit_code == 0:
        check_plan_json(planned, scenario)


def test_the_corpus_is_not_empty() -> None:
    assert len(corpus_files()) >= 10
