"""XES event logs (IEEE 1849), streamed: one event at a time, each trace's memory freed
once it is read, with a hardened parser.

Event attributes become columns under their keys (`concept:name`, `time:timestamp`,
`lifecycle:transition`, ...), trace attributes under `case:` + key (`case:concept:name`),
as pm4py names them, so the same options serve CSV and XES. defusedxml refuses entity
declarations ("billion laughs") and external entities or DTDs before they are expanded
or fetched; every failure is a `DataError` naming the file (and line), exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cxplan.calibrate.inputs import fail, open_data, problem
from cxplan.calibrate.table import Progress, Table
from cxplan.errors import DataError
from cxplan.text import shorten

CASE_PREFIX = "case:"
PROGRESS_EVERY = 20_000  # events between progress reports


def _tag(element: Any) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _attributes(element: Any) -> list[tuple[str, str]]:
    """The (key, value) of an element's direct attribute children (`<string key value>`,
    `<date ...>`, ...); nested meta-attributes are not read."""
    out = []
    for child in element:
        key = child.get("key")
        if key is not None and _tag(child) not in ("event", "trace"):
            out.append((key, child.get("value", "")))
    return out


class _Columns:
    """Columns filled row by row; a key first seen late is empty in the rows before."""

    def __init__(self) -> None:
        self.values: dict[str, list[str]] = {}
        self.rows = 0

    def add(self, row: dict[str, str]) -> None:
        for key in row.keys() - self.values.keys():
            self.values[key] = [""] * self.rows
        for key, column in self.values.items():
            column.append(row.get(key, ""))
        self.rows += 1


def read_xes(path: str | Path, name: str, progress: Progress | None = None) -> Table:
    """Every event of the XES file at `path`, as text columns (module docstring)."""
    import pyarrow as pa
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, iterparse

    columns = _Columns()
    with open_data(path, name) as (handle, size, _):
        root: Any = None
        trace: Any = None
        pending: list[dict[str, str]] = []
        if progress is not None:
            progress(0, size)
        try:
            for kind, element in iterparse(handle, events=("start", "end"),
                                           forbid_dtd=True, forbid_entities=True,
                                           forbid_external=True):
                tag = _tag(element)
                if kind == "start":
                    if root is None:
                        root = element
                        if tag != "log":
                            raise fail(name, f"not an XES log (its root is <{shorten(tag)}>)",
                                       "give a CSV or XES export")
                    elif tag == "trace":
                        trace = element
                    continue
                if tag == "event":
                    pending.append(dict(_attributes(element)))
                    element.clear()
                    if progress is not None and len(pending) % PROGRESS_EVERY == 0:
                        progress(handle.tell(), size)
                elif tag == "trace" and element is trace:
                    case = {CASE_PREFIX + k: v for k, v in _attributes(element)}
                    for event in pending:
                        columns.add({**case, **event})
                    pending.clear()
                    trace = None
                    root.clear()  # the trace is counted: free it
        except ParseError as exc:
            line = getattr(exc, "position", (None, None))[0]
            raise DataError([problem(name, f"not well-formed XML: {shorten(str(exc), 120)}",
                                     "is this an XES file?", line=line)]) from None
        except DefusedXmlException as exc:
            raise fail(name, f"refused: {type(exc).__name__} ({shorten(str(exc), 120)})",
                       "XES logs need no DTD and no entity declarations: export the log "
                       "again without them") from None
    if columns.rows == 0:
        raise fail(name, "no events in the log", "export the log again")
    if progress is not None:
        progress(size, size)
    arrays = {k: pa.chunked_array([pa.array(v, type=pa.string())])
              for k, v in columns.values.items()}
    return Table(name, arrays, columns.rows, list(columns.values), kind="event")
