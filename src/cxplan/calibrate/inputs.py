"""Data files are untrusted: what every calibration input must be before it is parsed.

A regular file (never a FIFO, a device, a folder: `cxplan.files.open_regular`), no larger
than `max_data_bytes()` (1 GiB unless CXPLAN_MAX_DATA_BYTES says otherwise), not empty,
text rather than binary junk, and not compressed (decompress it first: a gzip bomb is
then the user's own decompressor's business, with its own limits). Every failure is a
`DataError` naming the file, exit code 2.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from cxplan.errors import DataError, Problem, UsageError
from cxplan.files import NotRegularFile, open_regular

MAX_DATA_BYTES = 1 << 30  # CXPLAN_MAX_DATA_BYTES overrides it
SAMPLE_BYTES = 64 * 1024
_MAGIC = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"BZh": "bzip2",
          b"\xfd7zXZ\x00": "xz", b"(\xb5/\xfd": "zstd"}


def problem(name: str, message: str, hint: str | None = None, *, location: str = "",
            line: int | None = None) -> Problem:
    return Problem(file=name, location=location, message=message, hint=hint, line=line)


def fail(name: str, message: str, hint: str | None = None) -> DataError:
    return DataError([problem(name, message, hint)])


def max_data_bytes() -> int:
    """The largest data file read: CXPLAN_MAX_DATA_BYTES, else MAX_DATA_BYTES."""
    raw = os.environ.get("CXPLAN_MAX_DATA_BYTES", "").strip()
    if not raw:
        return MAX_DATA_BYTES
    if not raw.isdigit():
        raise UsageError(f"CXPLAN_MAX_DATA_BYTES must be a whole number of bytes, got {raw!r}")
    return int(raw)


@contextmanager
def open_data(path: str | Path, name: str) -> Iterator[tuple[BinaryIO, int, bytes]]:
    """The opened file, its size and its first bytes, after every check above."""
    limit = max_data_bytes()
    try:
        handle = open_regular(path)
    except FileNotFoundError:
        raise fail(name, "no such file") from None
    except NotRegularFile as exc:
        raise fail(name, f"is {exc.kind}, not a data file",
                   "save the data to a file and give that file") from None
    except OSError as exc:
        raise fail(name, f"cannot read: {exc.strerror or exc}") from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise fail(name, f"file is {size} bytes, over the limit of {limit}",
                       "set CXPLAN_MAX_DATA_BYTES to read larger files")
        sample = handle.read(SAMPLE_BYTES)
        if not sample.strip():
            raise fail(name, "the file is empty", "export the data again")
        for magic, kind in _MAGIC.items():
            if sample.startswith(magic):
                raise fail(name, f"a {kind}-compressed file, not text",
                           "decompress it first (compressed files are not read)")
        if b"\x00" in sample:
            raise fail(name, "binary data, not text (it holds NUL bytes)",
                       "give a CSV or XES export as UTF-8 text")
        try:
            # the sample may end inside a character: only whole ones are checked
            sample[: max(0, len(sample) - 3) if len(sample) == SAMPLE_BYTES else None] \
                .decode("utf-8")
        except UnicodeDecodeError as exc:
            raise fail(name, f"not UTF-8 text (bad byte at offset {exc.start})",
                       "save the file as UTF-8") from None
        handle.seek(0)
        yield handle, size, sample


def sha256(path: str | Path) -> str:
    """The SHA-256 of the file, read in blocks (for the provenance header)."""
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
