"""The plugin author guide (docs/plugins.md) is true: its example runs, every hook is in it."""

from __future__ import annotations

import importlib
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

import cxplan.plugins.hookspecs
from cxplan.cli import main
from cxplan.plugins import configure

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
FILE_BLOCK = re.compile(r"^```\w+ file=(\S+)\n(.*?)^```$", re.M | re.S)


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The guide's files written out, importable as `cxplan_retention`."""
    for name, body in FILE_BLOCK.findall(guide()):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    root = tmp_path / "cxplan-retention"
    monkeypatch.syspath_prepend(str(root / "src"))
    monkeypatch.syspath_prepend(str(root / "tests"))
    for module in ("cxplan_retention", "test_retention"):
        sys.modules.pop(module, None)
    return root


def test_every_hook_spec_is_documented_in_the_guide() -> None:
    hooks = sorted(n for n in dir(cxplan.plugins.hookspecs) if n.startswith("cxplan_"))
    assert len(hooks) >= 8
    headings = set(re.findall(r"^### (cxplan_\w+)$", guide(), re.M))
    assert headings == set(hooks)


def test_the_guide_has_every_file_of_the_example(example: Path) -> None:
    written = {str(p.relative_to(example)) for p in example.rglob("*") if p.is_file()}
    assert written == {"pyproject.toml", "example.yaml", "src/cxplan_retention/__init__.py",
                       "tests/test_retention.py"}
    project = tomllib.loads((example / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["cxplan"] == {"retention": "cxplan_retention"}


def test_the_guide_s_own_tests_pass(example: Path) -> None:
    tests = importlib.import_module("test_retention")
    names = [name for name in dir(tests) if name.startswith("test_")]
    assert names
    for name in names:
        getattr(tests, name)()


def test_the_guide_s_command_prints_what_the_guide_shows(
        example: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    shown = re.search(r"plan example.yaml --json\n(\{.*?\"selected\": (\[.*?\]))", guide())
    assert shown is not None
    monkeypatch.chdir(example)
    monkeypatch.setattr(sys, "argv", ["cxplan", "--plugin", "src/cxplan_retention/__init__.py",
                                      "plan", "example.yaml", "--json"])
    try:
        with pytest.raises(SystemExit) as stopped:
            main()
    finally:
        configure()
    assert stopped.value.code in (0, None)
    data = json.loads(capsys.readouterr().out)
    assert data["selected"] == json.loads(shown.group(2))
    assert data["criteria"]["customers_retained"]["value"] == pytest.approx(634.6125)
    assert data["criteria"]["expected_experience"]["value"] < 0  # as the guide says
