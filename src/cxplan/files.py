"""Atomic file output: a reader sees the old files or the new ones, never half of one.

Everything is written to temporary files beside the targets, flushed to disk, and only
then renamed over the targets (a rename within a directory is atomic). An error or an
interruption before the renames leaves the old files untouched and removes the
temporary ones.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path


def _file_mode() -> int:
    # mkstemp creates 0600 files; an output file should get the mode a plain open() gives.
    # The umask can only be read by setting it, so it is set back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _stage(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.fchmod(fd, _file_mode())
    os.close(fd)
    return Path(tmp)


def _sync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _sync_directory(folder: Path) -> None:
    # makes the renames themselves durable; not every platform can open a directory
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(files: Mapping[str | Path, str]) -> list[Path]:
    """Write several UTF-8 text files so that they appear together or not at all."""
    staged: list[tuple[Path, Path]] = []
    try:
        for target, text in files.items():
            tmp = _stage(Path(target))
            staged.append((tmp, Path(target)))
            tmp.write_text(text, encoding="utf-8")
            _sync(tmp)
        # rename only once every file is safely on disk, so the set stays consistent
        while staged:
            tmp, target = staged[0]
            os.replace(tmp, target)
            staged.pop(0)
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    for folder in {Path(t).parent for t in files}:
        _sync_directory(folder)
    return [Path(t) for t in files]


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target` for a writer that needs a file name (PuLP's
    LP export); when the body succeeds, the file replaces `target` atomically."""
    final = Path(target)
    tmp = _stage(final)
    try:
        yield tmp
        _sync(tmp)
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _sync_directory(final.parent)
