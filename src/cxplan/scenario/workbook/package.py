"""Checks of a workbook's package (the zip file an .xlsx is) made before any XML is parsed.

An .xlsx from a client is untrusted (SECURITY.md): it is refused, with the reason, when
it is not a zip package, when its parts would unpack to more than the size limit (a "zip
bomb": a few kilobytes that unpack to gigabytes), when any part declares a DTD (the only
way to XML entity expansion; no Office file has one), when it carries macros (never run,
but not read either: a client should send a plain .xlsx), or when a sheet has more rows
than any scenario needs. Every part is read through once, so a part whose data do not
match its declared size or checksum is refused here too.
"""

from __future__ import annotations

import re
import zipfile
from typing import BinaryIO

from cxplan.scenario.workbook.layout import MAX_ROWS

MAX_PARTS = 10_000
CHUNK = 1 << 16
_DTD = (b"<!DOCTYPE", b"<!ENTITY")
_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")
_SHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")
MACRO_PARTS = ("xl/vbaProject.bin", "xl/vbaProjectSignature.bin")


class UnsafePackage(Exception):
    """The package is refused; the message says why, the hint what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def check_package(handle: BinaryIO, *, max_unpacked: int) -> None:
    """Raise `UnsafePackage` unless the zip package in `handle` is safe to open."""
    try:
        package = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnsafePackage("not an Excel workbook (.xlsx): it is not a zip package",
                            "save the workbook as .xlsx (Excel Workbook)") from None
    with package:
        parts = package.infolist()
        if len(parts) > MAX_PARTS:
            raise UnsafePackage(f"the package has {len(parts)} parts, more than "
                                f"{MAX_PARTS}")
        names = {p.filename for p in parts}
        if names & set(MACRO_PARTS) or _macro_content_type(package, names):
            raise UnsafePackage("the workbook contains macros; they are never run, and the "
                                "workbook is not read", "save it as .xlsx (Excel Workbook), "
                                "which holds no macros")
        unpacked = sum(p.file_size for p in parts)
        if unpacked > max_unpacked:
            raise UnsafePackage(f"the workbook unpacks to {unpacked} bytes, over the limit "
                                f"of {max_unpacked}", "a scenario workbook is far smaller; "
                                "set CXPLAN_MAX_FILE_BYTES to allow larger files")
        for part in parts:
            if part.filename.endswith((".xml", ".rels", ".vml")):
                _scan(package, part)


def _macro_content_type(package: zipfile.ZipFile, names: set[str]) -> bool:
    if "[Content_Types].xml" not in names:
        return False
    with package.open("[Content_Types].xml") as types:
        return b"macroEnabled" in types.read(1 << 20)


def _scan(package: zipfile.ZipFile, part: zipfile.ZipInfo) -> None:
    """Read the part through (checking its size and CRC), refusing a DTD, and counting
    a sheet's rows."""
    rows = 0
    tail = b""
    sheet = bool(_SHEET.match(part.filename))
    try:
        with package.open(part) as stream:
            while chunk := stream.read(CHUNK):
                text = tail + chunk
                if any(mark in text for mark in _DTD):
                    raise UnsafePackage(f"part {part.filename} declares a DTD (XML entities "
                                        "are refused: they can expand without limit)",
                                        "save the workbook again from Excel")
                if sheet:
                    # a match ending inside the tail was counted with the previous chunk
                    rows += sum(1 for m in _ROW.finditer(text) if m.end() > len(tail))
                    if rows > MAX_ROWS:
                        raise UnsafePackage(f"a sheet ({part.filename}) has more than "
                                            f"{MAX_ROWS} rows", "a scenario needs far "
                                            "fewer; remove the empty or extra rows")
                tail = text[-16:]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError) as exc:
        raise UnsafePackage(f"part {part.filename} cannot be read ({exc})",
                            "the file is damaged: save it again from Excel") from None
