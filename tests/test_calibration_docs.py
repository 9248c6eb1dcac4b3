"""docs/calibration.md's four commands, from a CRM export to a plan, run as written on
the bundled example; the bundled fragments are what they produce."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyarrow", reason="the calibrate extra (pyarrow) is not installed")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scenarios" / "calibration"


def documented_commands() -> list[list[str]]:
    text = (ROOT / "docs" / "calibration.md").read_text(encoding="utf-8")
    block = text.split("## From a CRM export to a plan in four commands", 1)[1]
    block = block.split("```sh", 1)[1].split("```", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", block)
    return [shlex.split(line)[1:] for line in joined.splitlines()
            if line.strip().startswith("cxplan ")]


def without_date(text: str) -> str:
    return "\n".join(line for line in text.splitlines()
                     if not line.startswith("# Calibrated by cxplan"))


def test_the_four_documented_commands_make_the_bundled_fragments_and_a_plan(
        run_main: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commands = documented_commands()
    assert [c[0] for c in commands] == ["calibrate", "calibrate", "importance", "plan"]
    work = tmp_path / "scenarios" / "calibration"
    shutil.copytree(EXAMPLE, work)
    for name in ("journey.yaml", "survey.yaml"):
        (work / name).unlink()
    monkeypatch.chdir(work)
    for command in commands:
        run = run_main(*command)
        assert run.exit_code == 0, (command, run.output)
    for name in ("journey.yaml", "survey.yaml"):
        assert without_date((work / name).read_text()) == without_date(
            (EXAMPLE / name).read_text()), f"{name} is not what the documented command makes"
    assert list((tmp_path / "reports").glob("*-importance.html"))
    assert list((tmp_path / "reports").glob("*.html"))
