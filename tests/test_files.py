"""Output files are replaced atomically or not at all."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cxplan.files import atomic_path, write_atomic


def test_files_are_written_together_with_ordinary_permissions(tmp_path: Path) -> None:
    written = write_atomic({tmp_path / "a.html": "<p>a</p>", tmp_path / "sub" / "a.md": "a"})
    assert [p.read_text() for p in written] == ["<p>a</p>", "a"]
    assert stat.S_IMODE(written[0].stat().st_mode) & 0o044  # readable by others, like open()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.html", "a.md", "sub"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "model.lp"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_a_successful_writer_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "model.lp"
    target.write_text("old")
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert list(tmp_path.iterdir()) == [target]
