"""Atomic file output: a reader sees the old files or the new ones, never half of one.

Everything is written to temporary files beside the targets, flushed to disk, and only
then renamed over the targets (a rename within a directory is atomic). An error before
the renames leaves the old files untouched and removes the temporary ones.

What is written over: only regular files. A target that is a folder, a device, a FIFO or
a socket is refused, and so is a symbolic link that leads out of the target's folder (a
link inside it is replaced by the new file, not written through). Every failure of the
system (read-only, full, no permission) is an `OutputError` naming the path, and leaves
the old files as they were.

Interruptions: Ctrl-C (SIGINT) and SIGTERM are held while files are written and take
effect right after, so an interrupted run leaves the old files or the new ones, and no
temporary file. Two runs writing the same folder take turns for the renames (a lock on
the folder), so a set of files always comes from one run. A run killed outright
(SIGKILL, power loss) cannot clean up: its temporary files carry its process id, and a
later write into the same folder removes them once that process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from cxplan.errors import OutputError

# A temporary file of a dead process is only removed once it is this old: in a folder shared
# with other machines or containers, a process id says nothing about their processes.
STALE_SECONDS = 60.0


def _file_mode() -> int:
    # mkstemp creates 0600 files; an output file should get the mode a plain open() gives.
    # The umask can only be read by setting it, so it is set back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device",
          stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket",
          stat.S_IFLNK: "a symbolic link", stat.S_IFREG: "a regular file"}


def file_kind(mode: int) -> str:
    """What a path is, for messages: 'a folder', 'a FIFO (named pipe)', 'a device' ..."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


class NotRegularFile(OSError):
    """A path to read is a folder, a FIFO, a device or a socket (its `kind`)."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        super().__init__(f"{os.fspath(path)} is {kind}")
        self.kind = kind


def open_regular(path: str | os.PathLike[str], *, follow_last_link: bool = True) -> BinaryIO:
    """Open a regular file for reading, checked on the opened file itself, so nothing can
    be swapped in between a check and the read. A FIFO would block the open and a device
    never end (`/dev/zero`): both are refused (`NotRegularFile`), as are folders and
    sockets; with `follow_last_link=False`, a symbolic link as the last part of the path
    too (the caller has resolved the path already; a link appearing there since is a
    swap)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_last_link:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_last_link:
            raise NotRegularFile(path, "a symbolic link") from None
        if exc.errno == errno.ENXIO:  # a socket, on Linux
            raise NotRegularFile(path, "a socket") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, file_kind(mode))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_output(target: Path) -> None:
    """Refuse a target that is not a regular file (or nothing yet), or a symbolic link
    leading out of its own folder."""
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(target, exc.strerror or str(exc)) from None
    if stat.S_ISLNK(info.st_mode):
        real = os.path.realpath(target)
        folder = os.path.realpath(target.parent)
        if os.path.commonpath([real, folder]) != folder:
            raise OutputError(target, f"it is a symbolic link to {real}, outside {folder}; "
                              "remove the link or write elsewhere")
        return  # replaced by the new file itself
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(target, f"it is {file_kind(info.st_mode)}; only a regular file is "
                          "written over")


def check_output_folder(folder: str | Path) -> None:
    """Refuse before any work what writing into `folder` would refuse after it (a solve can
    take minutes): a file where a folder is needed, a folder that cannot be written
    (read-only, no permission). A full disk can only be found by writing."""
    wanted = Path(folder)
    existing = wanted
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not os.path.isdir(existing):
        raise OutputError(wanted, "it is a file, not a folder" if existing == wanted
                          else f"{existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(wanted, f"{existing} cannot be written (read-only, or no "
                          "permission)")


@contextlib.contextmanager
def _system_errors(target: Path) -> Iterator[None]:
    """OSError from writing, as an OutputError naming the path."""
    try:
        yield
    except OutputError:
        raise
    except FileExistsError:
        raise OutputError(target, f"{target.parent} is not a folder") from None
    except NotADirectoryError:
        raise OutputError(target, "a part of the path is not a folder") from None
    except OSError as exc:
        raise OutputError(target, exc.strerror or str(exc)) from None


def _stage(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp",
                               dir=target.parent)
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


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then act on them as usual.

    A process-directed signal may be delivered to any thread (HiGHS starts worker
    threads), so blocking it in the main thread is not enough; Python runs handlers in
    the main thread only, so recording handlers installed there catch it wherever it
    arrives. Only the main thread may install handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    wanted = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.getsignal(sig) for sig in wanted}
    for sig in wanted:
        signal.signal(sig, lambda number, _frame: received.append(number))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for number in received[:1]:
            handler = previous[signal.Signals(number)]
            if callable(handler):
                handler(number, None)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), number)


@contextlib.contextmanager
def _folders_locked(folders: Iterable[Path]) -> Iterator[None]:
    """An exclusive lock on each folder (flock on the directory itself, no lock file), taken
    in a fixed order; where flock is missing, runs simply do not take turns."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    handles: list[int] = []
    try:
        for folder in sorted(set(folders)):
            with contextlib.suppress(OSError):
                fd = os.open(folder, os.O_RDONLY)
                handles.append(fd)
                fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in handles:
            os.close(fd)  # releases the lock


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _remove_stale(target: Path) -> None:
    """Remove temporary files for `target` left by killed runs (see the module doc)."""
    prefix = f".{target.name}."
    now = time.time()
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(".tmp")):
                continue
            pid = name[len(prefix):].split(".", 1)[0]
            with contextlib.suppress(OSError):
                if (pid.isdigit() and not _alive(int(pid))
                        and now - entry.stat().st_mtime > STALE_SECONDS):
                    os.unlink(entry.path)


def write_atomic(files: Mapping[str | Path, str]) -> list[Path]:
    """Write several UTF-8 text files so that they appear together or not at all."""
    staged: list[tuple[Path, Path]] = []
    folders = {Path(t).parent for t in files}
    for target in files:
        check_output(Path(target))
    with _signals_held():
        try:
            for target, text in files.items():
                with _system_errors(Path(target)):
                    tmp = _stage(Path(target))
                    staged.append((tmp, Path(target)))
                    # "replace": a lone surrogate (possible in text given through the API)
                    # has no UTF-8 form; a report with U+FFFD beats no report
                    tmp.write_bytes(text.encode("utf-8", "replace"))
                    _sync(tmp)
            # rename only once every file is safely on disk, so the set stays consistent
            with _folders_locked(folders):
                while staged:
                    tmp, target = staged[0]
                    with _system_errors(target):
                        os.replace(tmp, target)
                    staged.pop(0)
        finally:
            for tmp, _ in staged:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        for target in files:
            _remove_stale(Path(target))
        for folder in folders:
            _sync_directory(folder)
    return [Path(t) for t in files]


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target` for a writer that needs a file name (PuLP's
    LP export); when the body succeeds, the file replaces `target` atomically."""
    final = Path(target)
    check_output(final)
    with _system_errors(final):
        tmp = _stage(final)
    try:
        yield tmp
        with _system_errors(final):
            _sync(tmp)
            with _signals_held():
                os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _remove_stale(final)
    _sync_directory(final.parent)
