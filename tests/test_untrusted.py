"""Untrusted files stay data (issue 21): a scenario, a base it extends, a template folder or
a plugin cannot make cxplan read, echo or write anything outside the folders it was given,
and every failure they cause is a clean one.

The sections follow the issue's numbered findings. Each test failed before the fix. What is
confined and refused is summed up in SECURITY.md, which names these tests.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import cxplan.files
import cxplan.scenario.source
import cxplan.whatif.frontier
import cxplan.whatif.sensitivity
from cxplan import load_scenario, optimize
from cxplan.core.status import Status
from cxplan.errors import ScenarioError, UsageError
from cxplan.load import load_scenario_text
from cxplan.optimizer.options import SolverOptions
from cxplan.report.render import render_html

from conftest import CliRun

ROOT = Path(__file__).resolve().parents[1]
AIRLINE = ROOT / "scenarios" / "airline-trip.yaml"
RESTAURANT = ROOT / "scenarios" / "restaurant.yaml"

SECRET = "TOPSECRET-4f9c2a"


Cli = Callable[..., CliRun]
Result = CliRun


@pytest.fixture
def cli(run_main: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The command line in this process, with CXPLAN_DEBUG on: an internal error escapes as
    its exception and fails the test rather than looking like an exit 1."""
    monkeypatch.setenv("CXPLAN_DEBUG", "1")
    return run_main


def assert_clean(result: Result, code: int = 2) -> str:
    """A deliberate failure: the exit code, no traceback, no 'this is a bug'. -> stderr."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    return result.stderr


def small(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "cxplan": 1, "name": "Small", "budget": 100,
        "touchpoints": [{"id": "a", "failure_probability": 0.5, "impact": 10}],
        "journey": {"entry": {"a": 1}},
        "improvements": [{"id": "x", "cost": 50,
                          "effects": [{"touchpoint": "a", "failure_reduction": 0.5}]}],
    }
    data.update(extra)
    return data


def write(path: Path, content: str | dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    """A folder beside the project holding files a scenario must not reach."""
    folder = tmp_path / "secrets"
    write(folder / "shadow", f"root:{SECRET}:20228:0:99999:7:::\n")
    write(folder / "vault.yaml", f"password: {SECRET}\napi_key: {SECRET}-2\n")
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path / "project"


# -- 1. extends: reads only what it was given, and never echoes a foreign file --------------


@pytest.mark.parametrize("target", [
    "/etc/passwd", "/proc/self/status", "../secrets/shadow", "../secrets/vault.yaml",
    "sub/../../secrets/vault.yaml"])
def test_extends_outside_the_scenarios_folder_is_refused_without_reading_it(
        cli: Cli, project: Path, secrets: Path, target: str) -> None:
    scenario = write(project / "variant.yaml", f"cxplan: 1\nextends: {target}\n")
    (project / "sub").mkdir()
    stderr = assert_clean(cli("validate", scenario))
    assert stderr.startswith(f"{scenario}: extends: cannot extend '{target}': it is outside")
    assert "--allow-path" in stderr
    assert SECRET not in stderr and "root:" not in stderr


def test_a_symbolic_link_leading_outside_is_refused_after_it_is_followed(
        cli: Cli, project: Path, secrets: Path) -> None:
    scenario = write(project / "variant.yaml", "cxplan: 1\nextends: base.yaml\n")
    (project / "base.yaml").symlink_to(secrets / "vault.yaml")
    stderr = assert_clean(cli("validate", scenario))
    assert "outside the folder of the scenario" in stderr and SECRET not in stderr


def test_a_symbolic_link_inside_the_folder_is_followed(project: Path) -> None:
    write(project / "bases" / "base.yaml", small())
    (project / "base.yaml").symlink_to(project / "bases" / "base.yaml")
    scenario = write(project / "variant.yaml", "cxplan: 1\nextends: base.yaml\nbudget: 60\n")
    assert load_scenario(scenario).budget == 60


def test_a_shared_base_elsewhere_needs_its_folder_allowed(
        cli: Cli, tmp_path: Path, project: Path) -> None:
    shared = tmp_path / "shared"
    write(shared / "base.yaml", small())
    scenario = write(project / "variant.yaml", "cxplan: 1\nextends: ../shared/base.yaml\n")
    assert_clean(cli("validate", scenario))
    with pytest.raises(ScenarioError, match="outside the folder"):
        load_scenario(scenario)
    assert load_scenario(scenario, allow_paths=[shared]).name == "Small"
    result = cli("--allow-path", shared, "plan", scenario, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["scenario"] == "Small"


def test_a_scenario_given_as_data_extends_only_below_the_working_folder(
        project: Path, secrets: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(project / "base.yaml", small())
    monkeypatch.chdir(project)
    assert load_scenario({"cxplan": 1, "extends": "base.yaml"}).name == "Small"
    with pytest.raises(ScenarioError, match="outside"):
        load_scenario({"cxplan": 1, "extends": "/etc/passwd"})
    assert load_scenario_text("cxplan: 1\nextends: base.yaml\n").name == "Small"
    with pytest.raises(ScenarioError, match="outside"):
        load_scenario_text("cxplan: 1\nextends: ../secrets/vault.yaml\n")
    write(secrets / "base.yaml", small(name="Shared"))
    assert load_scenario_text("cxplan: 1\nextends: ../secrets/base.yaml\n",
                              allow_paths=[secrets]).name == "Shared"


def test_values_from_an_allowed_base_are_not_repeated_in_its_problems(
        cli: Cli, tmp_path: Path, project: Path) -> None:
    """The two-step leak: learn a secret file's keys from 'unknown key' errors, then its
    values from '(got ...)'. An allowed base's problems name the file, place and line only."""
    shared = tmp_path / "shared"
    base = write(shared / "base.yaml",
                 f"cxplan: 1\nname: [{SECRET}]\nroot:{SECRET}:2022: 1\n"
                 f"touchpoints: [{{id: a, failure_probability: {SECRET}, impact: 1}}]\n"
                 "journey: {entry: {a: 1}}\n")
    scenario = write(project / "variant.yaml", "cxplan: 1\nextends: ../shared/base.yaml\n"
                     "budget: not-a-number-from-the-variant\n")
    stderr = assert_clean(cli("--allow-path", shared, "validate", scenario))
    assert SECRET not in stderr and "root:" not in stderr
    lines = stderr.splitlines()
    assert any(line.startswith(f"{base}: name: ") and "[line 2]" in line for line in lines)
    assert any(line.startswith(f"{base}: touchpoints[0].failure_probability: ")
               for line in lines)
    assert any(line.startswith(f"{base}: ") and "unknown key" in line and "[line 3]" in line
               for line in lines)
    # the file being validated is the user's own: its values are quoted as before
    assert "not-a-number-from-the-variant" in stderr


def test_a_base_that_is_not_yaml_is_named_not_quoted(
        cli: Cli, tmp_path: Path, project: Path) -> None:
    shared = tmp_path / "shared"
    write(shared / "shadow.yaml", f"root:{SECRET}:20228\n  bad: [indent\n")
    scenario = write(project / "v.yaml", "cxplan: 1\nextends: ../shared/shadow.yaml\n")
    stderr = assert_clean(cli("--allow-path", shared, "validate", scenario))
    assert str(shared / "shadow.yaml") in stderr and SECRET not in stderr


def test_a_name_too_long_for_the_system_is_a_clean_error(cli: Cli, project: Path) -> None:
    scenario = write(project / "v.yaml", "cxplan: 1\nextends: " + "a" * 5000 + ".yaml\n")
    stderr = assert_clean(cli("validate", scenario))
    assert stderr.startswith(f"{scenario}: extends: ")


def process(*args: str | Path) -> Result:
    """cxplan in a process of its own, as a user starts it; one that hangs (reading a FIFO
    that no one writes) fails the test after a minute rather than holding up the suite."""
    done = subprocess.run([sys.executable, "-m", "cxplan.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=60, check=False)
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "socket"])
def test_special_files_are_refused_as_inputs(project: Path, kind: str) -> None:
    """A FIFO would block a read for ever, /dev/zero would never end: both are refused
    before they are read, as a scenario and as a base, and so are folders and sockets."""
    project.mkdir(parents=True)
    special = {"device": Path("/dev/zero")}.get(kind, project / f"{kind}.yaml")
    if kind == "fifo":
        os.mkfifo(special)
    elif kind == "folder":
        special.mkdir()
    elif kind == "socket":
        listening = socket.socket(socket.AF_UNIX)
        listening.bind(str(special))
    words = {"fifo": "a FIFO (named pipe)", "device": "a device", "folder": "a folder",
             "socket": "a socket"}[kind]
    stderr = assert_clean(process("validate", special))
    assert stderr.startswith(f"{special}: is {words}, not a scenario file")
    if kind != "device":
        scenario = write(project / "v.yaml", f"cxplan: 1\nextends: {special.name}\n")
        stderr = assert_clean(process("validate", scenario))
        assert f"extends: cannot extend '{special.name}': it is {words}" in stderr


# -- 8. extends across a symbolic link, and a chain's cost ----------------------------------


def test_a_bases_own_extends_is_resolved_from_the_folder_it_really_is_in(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`link/../base.yaml` with `link` a symbolic link into another folder is that folder's
    parent's base.yaml, as the system opens it. The base's own `extends` was resolved from
    the path as written, normalized (`base.yaml` in the scenario's folder): the wrong
    folder, when the scenario is named relative to the working folder, as users do."""
    write(project / "real" / "base.yaml", "cxplan: 1\nextends: root.yaml\nbudget: 70\n")
    write(project / "real" / "root.yaml", small(name="the real root"))
    (project / "real" / "inner").mkdir()
    (project / "link").symlink_to(project / "real" / "inner")
    write(project / "base.yaml", small(name="the wrong base"))
    write(project / "root.yaml", small(name="the wrong root"))
    write(project / "v.yaml", "cxplan: 1\nextends: link/../base.yaml\n")
    monkeypatch.chdir(project)
    loaded = load_scenario("v.yaml")
    assert (loaded.name, loaded.budget) == ("the real root", 70)


def chain(folder: Path, variants: int) -> Path:
    write(folder / "v0.yaml", small(touchpoints=[
        {"id": f"t{i}", "failure_probability": 0.1, "impact": 1} for i in range(200)],
        journey={"entry": {"t0": 1}}, improvements=[]))
    for i in range(1, variants + 1):
        write(folder / f"v{i}.yaml", f"cxplan: 1\nextends: v{i - 1}.yaml\nbudget: {i}\n")
    return folder / f"v{variants}.yaml"


def test_each_file_of_a_chain_is_read_and_parsed_once(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    last = chain(project, 12)
    parsed: list[str] = []
    original = cxplan.scenario.source.parse_text

    def counting(text: str, name: str = "<string>") -> Any:
        parsed.append(name)
        return original(text, name)

    monkeypatch.setattr(cxplan.scenario.source, "parse_text", counting)
    assert load_scenario(last).budget == 12
    assert sorted(parsed) == sorted(str(project / f"v{i}.yaml") for i in range(13))


def test_a_merge_shares_what_it_takes_whole_from_the_base(project: Path) -> None:
    """Cost in what the variants hold, not in variants × base: a merged document holds the
    base's untouched subtrees themselves, and records their provenance once, at the root."""
    from cxplan.scenario.source import parse_text
    from cxplan.scenario.variants import merge_documents

    base = parse_text(yaml.safe_dump(small(touchpoints=[
        {"id": f"t{i}", "failure_probability": 0.1, "impact": 1} for i in range(500)])),
        "base.yaml")
    variant = parse_text("cxplan: 1\nextends: base.yaml\nbudget: 3\n", "variant.yaml")
    merged = merge_documents(base, variant)
    assert merged.data["budget"] == 3
    assert merged.data["touchpoints"] is base.data["touchpoints"]
    assert len(merged.origins) < 20  # not one entry per value of the base
    assert merged.origin_of(("touchpoints", 450, "id")) == (
        "base.yaml", ("touchpoints", 450, "id"))
    assert merged.line_of(("touchpoints", 450, "id")) == base.line_of(
        ("touchpoints", 450, "id"))
    assert merged.origin_of(("budget",)) == ("variant.yaml", ("budget",))


# -- 2 and 5. template folders: confined, and every failure a template error ---------------


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    return folder


def plan_with_templates(cli: Cli, tmp_path: Path, templates: Path) -> Result:
    return cli("plan", RESTAURANT, "--report", tmp_path / "out", "--templates", templates,
               "--no-marginals")


@pytest.mark.parametrize("link", ["file", "root", "folder"])
def test_a_template_folder_serves_no_file_that_resolves_outside_it(
        cli: Cli, tmp_path: Path, templates: Path, secrets: Path, link: str) -> None:
    include = {"file": "x.j2", "root": f"root{secrets}/shadow", "folder": "s/shadow"}[link]
    target = {"file": secrets / "shadow", "root": Path("/"), "folder": secrets}[link]
    (templates / include.split("/")[0]).symlink_to(target)
    write(templates / "report.html.j2", f'<p>{{% include "{include}" %}}</p>')
    stderr = assert_clean(plan_with_templates(cli, tmp_path, templates))
    assert "outside the templates folder" in stderr
    assert SECRET not in stderr
    assert not (tmp_path / "out").exists()


def test_a_template_linked_inside_its_folder_is_served(tmp_path: Path, templates: Path) -> None:
    write(templates / "parts" / "title.j2", "<h1>{{ view.title }}</h1>")
    (templates / "title.j2").symlink_to(templates / "parts" / "title.j2")
    write(templates / "report.html.j2", '{% include "title.j2" %}')
    html = render_html_of(templates)
    assert html.startswith("<h1>")


def render_html_of(templates: Path) -> str:
    from cxplan.report.build import build_view

    scenario = load_scenario(RESTAURANT)
    return render_html(build_view(optimize(scenario), scenario), templates_dir=templates)


@pytest.mark.parametrize(("source", "says"), [
    ('{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}', "calls itself without end"),
    ("line one\n{{ 1 / 0 }}", "line 2: ZeroDivisionError"),
    ("{% for i in range(10**6) %}{% endfor %}", "range"),
    ("{{ view.title | wordwrap(0) }}", "line 1"),
    (b"caf\xe9 {{ view.title }}", "UTF-8"),
], ids=["recursion", "division by zero", "huge range", "wordwrap(0)", "not UTF-8"])
def test_a_failing_template_is_a_clean_error_naming_the_template(
        cli: Cli, tmp_path: Path, templates: Path, source: str | bytes, says: str) -> None:
    (templates / "report.html.j2").write_bytes(
        source if isinstance(source, bytes) else source.encode())
    stderr = assert_clean(plan_with_templates(cli, tmp_path, templates))
    assert stderr.startswith("error: template"), stderr
    assert "report.html.j2" in stderr.splitlines()[0]
    assert says in stderr
    assert not (tmp_path / "out").exists()


# -- 3 and 5. outputs: only regular files are written over, failures name the path ---------


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def plan_lp(cli: Cli, lp: Path) -> Result:
    return cli("plan", RESTAURANT, "--lp", lp, "--no-marginals")


def test_a_fifo_is_not_written_over(cli: Cli, outputs: Path) -> None:
    fifo = outputs / "model.lp"
    os.mkfifo(fifo)
    stderr = assert_clean(plan_lp(cli, fifo))
    assert f"{fifo}" in stderr and "FIFO" in stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_device_is_not_written_over(cli: Cli, outputs: Path) -> None:
    # A device node of its own (a twin of /dev/null): a regression must not be able to
    # replace the machine's /dev/null with an LP file, as the code before this test did.
    device = outputs / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root (CAP_MKNOD); the FIFO test above "
                    "covers the same refusal")
    stderr = assert_clean(plan_lp(cli, device))
    assert str(device) in stderr and "a device" in stderr
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_a_symbolic_link_out_of_the_folder_is_refused(
        cli: Cli, outputs: Path, tmp_path: Path) -> None:
    elsewhere = write(tmp_path / "elsewhere" / "keep.txt", "keep me\n")
    for target in (elsewhere, Path("/proc/self/fd/1")):
        link = outputs / "model.lp"
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        stderr = assert_clean(plan_lp(cli, link))
        assert "symbolic link" in stderr and "outside" in stderr
        assert link.is_symlink()
    assert elsewhere.read_text(encoding="utf-8") == "keep me\n"


def test_a_symbolic_link_inside_the_folder_is_replaced_not_written_through(
        cli: Cli, outputs: Path) -> None:
    target = write(outputs / "keep.txt", "keep me\n")
    link = outputs / "model.lp"
    link.symlink_to(target)
    result = plan_lp(cli, link)
    assert result.exit_code == 0, result.output
    assert not link.is_symlink() and "Maximize" in link.read_text(encoding="utf-8").title()
    assert target.read_text(encoding="utf-8") == "keep me\n"


def test_a_report_folder_that_is_a_file_names_the_path(cli: Cli, tmp_path: Path) -> None:
    taken = write(tmp_path / "report", "a file\n")
    stderr = assert_clean(cli("plan", RESTAURANT, "--report", taken, "--no-marginals"))
    assert str(taken) in stderr
    assert taken.read_text(encoding="utf-8") == "a file\n"


@pytest.mark.parametrize("command", [
    ["plan", "{s}", "--report", "{file}/report"], ["plan", "{s}", "--lp", "{fifo}"],
    ["frontier", "{s}", "--budget", "1000:2000:2", "--report", "{file}"],
    ["compare", "{s}", "{s}", "--report", "{file}/sub"],
    ["sensitivity", "{s}", "--report", "{file}"]], ids=lambda c: c[0] + " " + c[-2])
def test_outputs_that_cannot_be_written_are_refused_before_any_solve(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    """A solve can take minutes: an output refused at the end would waste them."""
    import cxplan.api

    def no_solve(*_: Any, **__: Any) -> Any:
        raise AssertionError("solved before the outputs were checked")

    monkeypatch.setattr(cxplan.api, "optimize", no_solve)
    monkeypatch.setattr(cxplan.whatif.frontier, "frontier", no_solve)
    monkeypatch.setattr(cxplan.whatif.sensitivity, "sensitivity", no_solve)
    file = write(tmp_path / "a-file", "x\n")
    fifo = tmp_path / "model.lp"
    os.mkfifo(fifo)
    args = [a.format(s=RESTAURANT, file=file, fifo=fifo) for a in command]
    stderr = assert_clean(cli(*args))
    assert stderr.startswith("error: cannot write "), stderr


@pytest.mark.parametrize(("code", "words"), [(errno.EROFS, "Read-only file system"),
                                             (errno.ENOSPC, "No space left on device"),
                                             (errno.EACCES, "Permission denied")])
def test_a_folder_read_only_full_or_forbidden_names_the_path_and_keeps_old_files(
        cli: Cli, outputs: Path, monkeypatch: pytest.MonkeyPatch, code: int, words: str) -> None:
    """The system's refusal arrives at a different step on each file system (creating the
    temporary file, writing it, renaming it): each step is failed in turn."""
    assert cli("plan", RESTAURANT, "--report", outputs, "--no-marginals").exit_code == 0
    before = {p.name: p.read_bytes() for p in outputs.iterdir()}

    def refuse(*_: Any, **__: Any) -> Any:
        raise OSError(code, os.strerror(code))

    for step in ("mkstemp", "replace", "write_bytes"):
        with monkeypatch.context() as patch:
            # the modules cxplan.files uses, patched where it looks them up
            owner = {"mkstemp": tempfile, "replace": os, "write_bytes": Path}[step]
            patch.setattr(owner, step, refuse)
            stderr = assert_clean(cli("plan", RESTAURANT, "--report", outputs, "--budget",
                                      "1", "--no-marginals"))
        assert str(outputs) in stderr and words in stderr, (step, stderr)
        assert {p.name: p.read_bytes() for p in outputs.iterdir()} == before, step


# -- 4. status words mean what they say ------------------------------------------------------


def test_a_run_stopped_by_the_requested_gap_is_gap_limit_not_optimal(
        cli: Cli, tmp_path: Path) -> None:
    result = cli("plan", AIRLINE, "--gap", "0.5", "--json", "--no-marginals")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "gap_limit"
    assert 1e-6 < data["gap"] <= 0.5
    report = tmp_path / "report"
    assert cli("plan", AIRLINE, "--gap", "0.5", "--report", report,
               "--no-marginals").exit_code == 0
    html = (report / "airline-trip.html").read_text(encoding="utf-8")
    assert "Proven optimal" not in html and "stopped at the requested gap" in html
    md = (report / "airline-trip.md").read_text(encoding="utf-8")
    assert "stopped at the requested gap" in md


def test_optimal_is_said_only_at_a_proven_gap(tmp_path: Path) -> None:
    scenario = load_scenario(AIRLINE)
    loose = optimize(scenario, options=SolverOptions(gap=0.5))
    tight = optimize(scenario)
    assert loose.status == Status.GAP_LIMIT.value and loose.gap is not None
    assert tight.status == Status.OPTIMAL.value and (tight.gap or 0.0) <= 1e-6
    # a loose gap the plan happens to meet exactly is still proven optimal
    easy = optimize(load_scenario(RESTAURANT), options=SolverOptions(gap=0.5))
    assert easy.status in {"optimal", "gap_limit"}
    assert (easy.status == "optimal") == ((easy.gap or 0.0) <= 1e-6)


def statuses(tree: Any) -> list[str]:
    """Every "status" value in a JSON-like tree."""
    if isinstance(tree, dict):
        return [str(v) for k, v in tree.items() if k == "status"] + [
            s for v in tree.values() for s in statuses(v)]
    if isinstance(tree, list):
        return [s for v in tree for s in statuses(v)]
    return []


def test_a_loose_gap_is_not_taken_for_a_time_limit_by_the_what_ifs() -> None:
    """Sensitivity asked each range's solve for `optimal`; with a looser gap, `gap_limit`
    made it call 16 of the airline's ranges "time_limit" with no time limit near."""
    from cxplan.whatif.sensitivity import sensitivity

    scenario = load_scenario(AIRLINE)
    result = sensitivity(scenario, options=SolverOptions(gap=0.5, time_limit=60),
                         touchpoints=2, time_budget=600)
    found = statuses(result.to_dict())
    assert "gap_limit" in found  # the plan itself stopped at the gap ...
    assert "time_limit" not in found  # ... and no range was cut short


# -- 5. numbers from the command line and the API are checked -------------------------------


@pytest.mark.parametrize("args", [
    ["plan", "{s}", "--budget", "nan"], ["plan", "{s}", "--budget", "inf"],
    ["plan", "{s}", "--budget", "1e999"], ["plan", "{s}", "--budget", "-5"],
    ["plan", "{s}", "--team", "kitchen=nan"], ["plan", "{s}", "--budget-step", "1e400"],
    ["plan", "{s}", "--time-limit", "nan"], ["plan", "{s}", "--gap", "1.5"],
    ["plan", "{s}", "--threads", "0"],
    ["frontier", "{s}", "--budget", "nan:1:3"], ["explain", "{s}", "--budget", "nan"],
], ids=lambda args: " ".join(args[2:]))
def test_a_number_out_of_range_on_the_command_line_is_a_usage_error(
        cli: Cli, args: list[str]) -> None:
    result = cli(*[a.format(s=RESTAURANT) for a in args])
    stderr = assert_clean(result)
    assert stderr.startswith("error: ")
    value = args[-1].split("=")[-1].split(":")[0]
    said = {"1e999": "inf", "1e400": "inf"}.get(value, value)  # as Python reads it
    assert said in stderr, stderr


@pytest.mark.parametrize("options", [
    {"time_limit": float("nan")}, {"time_limit": 0}, {"gap": -0.1}, {"gap": 1.0},
    {"threads": 0}])
def test_solver_options_out_of_range_are_refused_when_made(options: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        SolverOptions(**options)
    with pytest.raises(ValueError):  # a UsageError is a ValueError for API callers
        SolverOptions(**options)


# -- 6. numbers are read as written ---------------------------------------------------------


@pytest.mark.parametrize(("written", "read", "hint"), [
    ("1:30", "90", "write 90"), ("017", "15", "write 17"), ("0x10", "16", "write 16"),
    ("0b101", "5", "write 5")])
def test_a_yaml_1_1_number_is_an_error_with_a_hint(
        cli: Cli, project: Path, written: str, read: str, hint: str) -> None:
    scenario = write(project / "s.yaml", yaml.safe_dump(small()).replace(
        "cost: 50", f"cost: {written}"))
    stderr = assert_clean(cli("validate", scenario))
    assert f"improvements[0].cost: cannot read this value: `{written}` would be read as " \
        f"{read}" in stderr
    assert hint in stderr and f"'{written}' in quotes" in stderr


def test_numbers_yaml_1_2_reads_alike_are_accepted(project: Path) -> None:
    scenario = write(project / "s.yaml", yaml.safe_dump(small()).replace(
        "cost: 50", "cost: 1_000").replace("budget: 100", "budget: 2000.0"))
    assert load_scenario(scenario).improvements[0].cost == 1000


def test_quoted_forms_stay_text(project: Path) -> None:
    text = yaml.safe_dump(small(name="placeholder")).replace("placeholder", "'1:30'")
    assert load_scenario(write(project / "s.yaml", text)).name == "1:30"


def test_ids_mixing_scripts_get_a_warning(cli: Cli, project: Path) -> None:
    data = small()
    data["improvements"].append({"id": "p\u0430y", "cost": 1,  # Cyrillic а
                                 "effects": [{"touchpoint": "a", "failure_reduction": 0.1}]})
    data["improvements"].append({"id": "pay", "cost": 1,
                                 "effects": [{"touchpoint": "a", "failure_reduction": 0.1}]})
    result = cli("validate", write(project / "s.yaml", data))
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # as one line, however the terminal wrapped it
    assert said.count("warning:") == 1
    assert "improvements[1].id: improvement id 'p\u0430y' mixes letters of several scripts " \
        "(Cyrillic, Latin)" in said


# -- 7. solver numerics -----------------------------------------------------------------------


def test_a_cost_of_1e9_against_a_budget_rounding_to_it_plans(cli: Cli, project: Path) -> None:
    """HiGHS 1.16's presolve stops with 'Solve error' on this model; it is solved again
    without presolve. The budget is 1e9 in floating point, so the improvement fits."""
    scenario = write(project / "s.yaml", small(budget=999999999.9999999, improvements=[
        {"id": "x", "cost": 1_000_000_000,
         "effects": [{"touchpoint": "a", "failure_reduction": 0.5}]}]))
    result = cli("plan", scenario, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["status"], data["selected"]) == ("optimal", ["x"])
    checked = cli("evaluate", scenario, "--select", "x", "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["feasible"] is True


def test_money_limits_allow_the_same_relative_rounding_everywhere() -> None:
    from cxplan.core.selection import exceeds

    assert not exceeds(1e9, 999999999.9999999)
    assert not exceeds(0.1 + 0.2, 0.3)
    assert exceeds(1e9 * (1 + 1e-8), 1e9)
    assert exceeds(1.01, 1.0)


# -- 9. plugins cannot break the output contract ---------------------------------------------


PRINTING_PLUGIN = '''
import os
import cxplan

@cxplan.hookimpl
def cxplan_plan_finished(plan, scenario):
    print("a plugin's chatter")
    os.write(1, b"chatter from C, straight to file descriptor 1\\n")
'''


def test_with_json_only_the_json_reaches_standard_output(tmp_path: Path) -> None:
    """A real process: a plugin printing, even on file descriptor 1 itself, lands on
    standard error, and standard output is one JSON object."""
    plugin = write(tmp_path / "chatty.py", PRINTING_PLUGIN)
    done = process("--plugin", plugin, "plan", RESTAURANT, "--json", "--no-marginals")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "optimal"
    assert "a plugin's chatter" in done.stderr and "straight to file descriptor 1" in done.stderr


@pytest.mark.parametrize(("raise_", "words"), [
    ("raise SystemExit(0)", "sys.exit(0)"),
    ("import sys; sys.exit('bye')", "sys.exit('bye')"),
    ("raise KeyboardInterrupt", "KeyboardInterrupt"),
])
@pytest.mark.parametrize("where", ["hook", "import"])
def test_a_plugin_ending_the_run_is_a_plugin_error(
        cli: Cli, tmp_path: Path, raise_: str, words: str, where: str) -> None:
    if where == "hook":
        source = ("import cxplan\n\n@cxplan.hookimpl\ndef cxplan_plan_finished(plan, scenario):"
                  f"\n    {raise_}\n")
    else:
        source = f"import cxplan\n{raise_}\n"
    plugin = write(tmp_path / "quitter.py", source)
    result = cli("--plugin", plugin, "plan", RESTAURANT, "--json", "--no-marginals")
    stderr = assert_clean(result, code=4)
    assert "quitter" in stderr and words in stderr
    assert result.stdout == ""


@pytest.fixture
def interrupting_criterion(tmp_path: Path) -> Callable[[str], Path]:
    def make(body: str) -> Path:
        return write(tmp_path / "stopper.py", f'''
import cxplan
from cxplan.core.criterion import Criterion

class Stopper(Criterion):
    name = "stopper"
    description = "stops"
    unit = "x"

    def model_term(self, ctx):
        {body}

    def evaluate(self, ctx):
        return 0.0

@cxplan.hookimpl
def cxplan_criteria():
    return [Stopper()]
''')
    return make


def test_a_criterion_raising_system_exit_is_a_plugin_error(
        cli: Cli, tmp_path: Path, interrupting_criterion: Callable[[str], Path]) -> None:
    plugin = interrupting_criterion("raise SystemExit(3)")
    scenario = write(tmp_path / "s.yaml", small(criteria={"stopper": 1}))
    stderr = assert_clean(cli("--plugin", plugin, "plan", scenario), code=4)
    assert "stopper" in stderr and "sys.exit(3)" in stderr


# -- the documentation names real tests ------------------------------------------------------


def test_every_test_security_md_names_exists() -> None:
    """SECURITY.md points at the test behind each rule: a renamed test must not leave it
    pointing at nothing."""
    import re

    named = set(re.findall(r"`(test_\w+)`", (ROOT / "SECURITY.md").read_text(encoding="utf-8")))
    defined = {name for path in (ROOT / "tests").glob("test_*.py")
               for name in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"),
                                      re.MULTILINE)}
    assert len(named) >= 20
    assert named <= defined, sorted(named - defined)
