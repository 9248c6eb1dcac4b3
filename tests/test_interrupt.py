"""Interrupted and concurrent runs: a report folder holds the old report or the new one.

Real `cxplan plan --report DIR` processes are interrupted at random moments — Ctrl-C
(SIGINT) and SIGKILL, before and while the reports are written — and afterwards each
report file must be the previous one byte for byte or a complete new one, the HTML and
the Markdown must come from the same run, and no temporary file may be left behind
(SIGKILL cannot clean up: the next run does). Writing is slowed down inside the
subprocess (a pause after each temporary file is flushed, or after each rename) so that
the signals land in the middle of it.

CXPLAN_INTERRUPT_ROUNDS sets the rounds per test (default 2) for a longer local run.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cxplan.files import STALE_SECONDS, write_atomic

ROOT = Path(__file__).resolve().parents[1]
RESTAURANT = ROOT / "scenarios" / "restaurant.yaml"
ROUNDS = int(os.environ.get("CXPLAN_INTERRUPT_ROUNDS", "2"))

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

# Runs the real command line with cxplan's file writing slowed down (a JSON config):
# `flush_pause` seconds after each temporary file is flushed (the `marker` file tells the
# test that writing has begun); `before_rename` / `after_rename` seconds around each
# rename; with `barrier` [prefix, n], a run that has flushed both reports waits until n
# runs have, so that their renames meet.
DRIVER = r"""
import glob, json, os, sys, time
import cxplan.files as files

config = json.loads(sys.argv[1])
flush, rename = files._sync, os.replace

flushed = []

def slow_sync(path):
    flush(path)
    open(config["marker"], "a").close()
    time.sleep(config.get("flush_pause", 0.3))
    flushed.append(path)
    if config.get("barrier") and len(flushed) == 2:
        prefix, count = config["barrier"]
        open(f"{prefix}.{os.getpid()}", "w").close()
        deadline = time.monotonic() + 60
        while len(glob.glob(prefix + ".*")) < count and time.monotonic() < deadline:
            time.sleep(0.01)

def slow_replace(src, dst):
    time.sleep(config.get("before_rename", 0))
    rename(src, dst)
    time.sleep(config.get("after_rename", 0))

files._sync = slow_sync
os.replace = slow_replace
sys.argv = ["cxplan", *sys.argv[2:]]
from cxplan.cli import main
main()
"""


def start(tmp_path: Path, report: Path, *args: str, tag: str = "run",
          **config: object) -> tuple[subprocess.Popen[str], Path]:
    marker = tmp_path / f"{tag}.writing"
    marker.unlink(missing_ok=True)
    settings = json.dumps({"marker": str(marker), **config})
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, settings, "plan", str(RESTAURANT), "--report",
         str(report), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "CXPLAN_DEBUG": ""}, preexec_fn=_ctrl_c_as_in_a_terminal)
    return process, marker


def _ctrl_c_as_in_a_terminal() -> None:
    # A shell without job control starts background jobs with SIGINT ignored, and Python
    # then keeps ignoring it: restore the default so the test means the same anywhere.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def _ctrl_c_raises_here() -> Iterator[None]:
    """In-process tests need Ctrl-C to raise KeyboardInterrupt, wherever pytest started."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def wait_for(marker: Path, process: subprocess.Popen[str], timeout: float = 60) -> bool:
    """Whether the run began writing (False: it ended first)."""
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def plan(report: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "cxplan.cli", "plan", str(RESTAURANT), "--report",
                    str(report), *args], check=True, capture_output=True, timeout=120)


# What identifies a run in its reports: the budget it was given and its timings.
_BUDGET = re.compile(r"of the USD ([\d,]+) budget")
_TIMINGS = re.compile(r"Model built in [\d.]+ s, solved in [\d.]+ s")


def fingerprint(text: str) -> tuple[str, str]:
    budget, timings = _BUDGET.search(text), _TIMINGS.search(text)
    assert budget and timings, "a complete report names its budget and timings"
    return budget.group(1), timings.group(0)


def whole_html(html: str) -> bool:
    return html.rstrip().endswith("</html>")


def whole_md(md: str) -> bool:
    return md.rstrip().endswith("the exact Markov evaluation of the chosen plan.")


def complete(html: str, md: str) -> bool:
    return whole_html(html) and whole_md(md)


def temporary_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def report_state(folder: Path, old: tuple[str, str]) -> str:
    """'old' or 'new'; fails unless both files are whole and from one run."""
    html = (folder / "restaurant.html").read_text(encoding="utf-8")
    md = (folder / "restaurant.md").read_text(encoding="utf-8")
    if (html, md) == old:
        return "old"
    assert html != old[0] and md != old[1], "one file is new and the other old"
    assert complete(html, md), "a report file is cut short"
    assert fingerprint(html) == fingerprint(md), "HTML and Markdown from different runs"
    return "new"


@pytest.fixture
def old_report(tmp_path: Path) -> tuple[Path, tuple[str, str]]:
    """A report folder holding a previous report (for a smaller budget than the runs under
    test use, so that old and new differ)."""
    folder = tmp_path / "reports"
    plan(folder, "--budget", "12000")
    old = ((folder / "restaurant.html").read_text(encoding="utf-8"),
           (folder / "restaurant.md").read_text(encoding="utf-8"))
    assert fingerprint(old[0])[0] == "12,000"
    return folder, old


def test_ctrl_c_at_random_moments_leaves_the_old_report_or_the_new_one(
    tmp_path: Path, old_report: tuple[Path, tuple[str, str]]
) -> None:
    folder, old = old_report
    rng = random.Random(8)
    outcomes: list[tuple[str, str, int]] = []
    for round_ in range(2 * ROUNDS):
        process, marker = start(tmp_path, folder)
        if round_ % 2:  # while writing: the signal is held until the files are in place
            moment = "writing" if wait_for(marker, process) else "ended"
            time.sleep(rng.uniform(0, 0.5))
        else:  # anywhere before: loading, solving, rendering
            moment = "early"
            time.sleep(rng.uniform(0.05, 1.5))
            if marker.exists():
                moment = "writing"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
        state = report_state(folder, old)
        outcomes.append((moment, state, process.returncode))
        assert temporary_files(folder) == []
        # 130 once the command runs (with a message once its body runs); a signal that
        # arrives while Python itself is still starting ends the process (-2).
        assert process.returncode in (0, 130, -signal.SIGINT), stderr
        if process.returncode == 130:
            assert "Traceback" not in stderr
            assert stderr in ("", "interrupted; no file was left half-written.\n")
        if moment == "writing":
            assert state == "new", "a run that began writing finishes writing first"
        if state == "new":  # the next round must again tell old from new
            for path, text in zip((folder / "restaurant.html", folder / "restaurant.md"),
                                  old, strict=True):
                path.write_text(text, encoding="utf-8")
    assert any(moment == "writing" and code == 130 for moment, _, code in outcomes), outcomes


def test_a_run_killed_mid_write_leaves_whole_files_and_the_next_run_cleans_up(
    tmp_path: Path, old_report: tuple[Path, tuple[str, str]]
) -> None:
    folder, old = old_report
    rng = random.Random(9)
    killed_while_writing = 0
    killed: list[int] = []
    for _ in range(ROUNDS):
        process, marker = start(tmp_path, folder,
                                after_rename=0.3 if rng.random() < 0.5 else 0.0)
        if wait_for(marker, process):
            killed_while_writing += 1
        time.sleep(rng.uniform(0, 0.7))
        process.kill()
        process.communicate(timeout=60)
        killed.append(process.pid)
        html = (folder / "restaurant.html").read_text(encoding="utf-8")
        md = (folder / "restaurant.md").read_text(encoding="utf-8")
        # Each file is whole. (Killed between the two renames, the HTML may already be new
        # and the Markdown still old: two renames are not one atomic step.)
        assert html == old[0] or whole_html(html)
        assert md == old[1] or whole_md(md)
        leftovers = temporary_files(folder)
        # Left by killed processes only, hidden, and named after them.
        assert all(name.startswith((".restaurant.html.", ".restaurant.md."))
                   and any(f".{pid}." in name for pid in killed) for name in leftovers)
        # A minute later (STALE_SECONDS) the next run in this folder removes them.
        for name in leftovers:
            stamp = time.time() - 2 * STALE_SECONDS
            os.utime(folder / name, (stamp, stamp))
    assert killed_while_writing >= 1
    plan(folder)
    assert temporary_files(folder) == []
    assert report_state(folder, old) == "new"


def test_temporary_files_of_running_or_recent_writers_are_left_alone(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # its id is then free
    dead.wait()
    old_stamp = time.time() - 2 * STALE_SECONDS
    names = {
        "live": f".a.html.{os.getpid()}.x1.tmp",  # this process: maybe mid-write
        "fresh": f".a.html.{dead.pid}.x2.tmp",  # dead but recent: perhaps another machine's
        "stale": f".a.html.{dead.pid}.x3.tmp",
        "other": f".b.html.{dead.pid}.x4.tmp",  # another target's: not ours to judge now
    }
    for key, name in names.items():
        (tmp_path / name).write_text("partial")
        if key != "fresh":
            os.utime(tmp_path / name, (old_stamp, old_stamp))
    write_atomic({tmp_path / "a.html": "new"})
    assert temporary_files(tmp_path) == sorted(
        names[k] for k in ("live", "fresh", "other"))


def test_ctrl_c_while_writing_takes_effect_once_the_files_are_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cxplan.files as files

    flush = files._sync

    def interrupted_flush(path: Path) -> None:
        flush(path)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C after the first file is on disk

    monkeypatch.setattr(files, "_sync", interrupted_flush)
    (tmp_path / "a.html").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        write_atomic({tmp_path / "a.html": "new html", tmp_path / "a.md": "new md"})
    assert (tmp_path / "a.html").read_text() == "new html"
    assert (tmp_path / "a.md").read_text() == "new md"
    assert temporary_files(tmp_path) == []


def test_concurrent_runs_writing_one_folder_leave_one_consistent_report(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "reports"
    barrier = [str(tmp_path / "ready"), 2]
    # Without taking turns, this timing ends with the 20 000 run's HTML and the 10 000
    # run's Markdown: 10 000 renames its HTML at once and its Markdown 0.6 s later, 20 000
    # renames both at 0.2 s.
    runs = [start(tmp_path, folder, "--budget", "10000", tag="first", barrier=barrier,
                  flush_pause=0, after_rename=0.6),
            start(tmp_path, folder, "--budget", "20000", tag="second", barrier=barrier,
                  flush_pause=0, before_rename=0.2)]
    for process, _ in runs:
        _, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr
    html = (folder / "restaurant.html").read_text(encoding="utf-8")
    md = (folder / "restaurant.md").read_text(encoding="utf-8")
    assert complete(html, md)
    assert fingerprint(html) == fingerprint(md), "HTML and Markdown from different runs"
    assert sorted(p.name for p in folder.iterdir()) == ["restaurant.html", "restaurant.md"]


def test_ctrl_c_while_a_compiled_module_is_imported_is_an_interruption_not_a_bug() -> None:
    """pybind11 modules (highspy) turn a Ctrl-C during their import into
    `ImportError: initialization failed`, with the KeyboardInterrupt as its cause."""
    import typer

    from cxplan.cli.common import run

    def importing() -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise ImportError("initialization failed") from interrupt

    with pytest.raises(typer.Exit) as stopped:
        run(importing)
    assert stopped.value.exit_code == 130
