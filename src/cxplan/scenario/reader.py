"""A scenario file of any kind the format comes in: YAML, JSON or an Excel workbook.

`read_scenario_file` chooses by the file's name: `.xlsx` (and the macro-enabled `.xlsm`,
which is refused) is read as a workbook (`cxplan.scenario.workbook`), anything else as
YAML or JSON text (`cxplan.scenario.source`). Both give a `Document`, so `extends`,
validation and every command treat them alike.
"""

from __future__ import annotations

from pathlib import Path

from cxplan.scenario.source import Document, max_file_bytes, read_bytes, read_document
from cxplan.scenario.workbook.read import MACRO_SUFFIXES, read_workbook

WORKBOOK_SUFFIXES = (".xlsx", ".xltx", *MACRO_SUFFIXES)
UNPACKED_PER_BYTE = 2  # a workbook may unpack to this many times the file size limit


def is_workbook(path: str | Path) -> bool:
    """Whether `path` names an Excel workbook (by its extension)."""
    return str(path).lower().endswith(WORKBOOK_SUFFIXES)


def read_scenario_file(path: str | Path, *, name: str | None = None) -> Document:
    """Read `path` as a workbook or as YAML/JSON text; problems name it as `name`."""
    name = name or str(path)
    if not is_workbook(path):
        return read_document(path, name=name)
    limit = max_file_bytes()
    raw = read_bytes(path, name=name, max_bytes=limit)
    return read_workbook(raw, name, max_unpacked=UNPACKED_PER_BYTE * limit)
