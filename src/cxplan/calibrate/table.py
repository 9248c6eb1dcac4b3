"""CSV exports read column by column, streamed in blocks (pyarrow), whatever the delimiter.

Only the columns asked for are kept, as text; a missing one is an error listing the
columns the file has. Rows with the wrong number of fields, lines longer than a block
(`BLOCK_BYTES`: one endless line cannot fill the memory) and bytes that are not UTF-8 are
errors naming the file (and the line, where it can be found). Memory stays bounded by the
kept columns: a 1 000 000-event log keeps a few tens of MB.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxplan.calibrate.inputs import fail, open_data, problem
from cxplan.errors import DataError, Problem
from cxplan.text import did_you_mean, shorten

BLOCK_BYTES = 4 << 20  # a line longer than this is refused
MAX_LISTED = 10  # bad values listed per problem kind
DELIMITERS = (",", ";", "\t", "|")
Progress = Callable[[int, int], None]  # (bytes read, bytes in all)


@dataclass(frozen=True)
class Table:
    """The kept columns of a data file, as text, in file order (row 1 is the first row
    after the header)."""

    name: str
    columns: dict[str, Any]  # column name -> pyarrow ChunkedArray of strings
    rows: int
    available: list[str]  # every column of the file, in its order
    kind: str = "row"  # what one row is called in messages: a CSV "row", an XES "event"

    def texts(self, column: str) -> list[str]:
        """A column as Python strings (for small files: paths, surveys)."""
        values: list[str] = self.columns[column].to_pylist()
        return values


def require(table_name: str, available: Sequence[str], wanted: dict[str, str]) -> None:
    """Every column in `wanted` (column -> the option that names it) is in the file."""
    problems = []
    for column, option in wanted.items():
        if column not in available:
            hint = did_you_mean(column, available)
            problems.append(problem(
                table_name, f"no column {column!r}{hint}; the file has "
                + ", ".join(repr(c) for c in available),
                f"name the column with {option}"))
    if problems:
        raise DataError(problems)


def _header(sample: bytes, name: str, delimiter: str | None) -> tuple[list[str], str]:
    end = sample.find(b"\n")
    if end < 0 and len(sample) >= 64 * 1024:
        raise fail(name, "the first line is longer than 64 KiB", "is this a CSV file?")
    line = sample[: end if end >= 0 else len(sample)].decode("utf-8-sig", "replace")
    line = line.rstrip("\r")
    if delimiter is None:
        # The delimiter is the candidate the header uses most (a comma when none).
        delimiter = max(DELIMITERS, key=lambda d: (line.count(d), d == ","))
    header = next(csv.reader(io.StringIO(line), delimiter=delimiter), [])
    if not header or not any(h.strip() for h in header):
        raise fail(name, "no header line", "the first line must name the columns")
    return header, delimiter


def _find_lines(path: str | Path, texts: list[str], limit: int = 10) -> dict[str, int]:
    """Where the given rows are (error path only: one pass over the file)."""
    wanted = set(texts[:limit])
    found: dict[str, int] = {}
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.rstrip("\r\n")
            if text in wanted and text not in found:
                found[text] = number
                if len(found) == len(wanted):
                    break
    return found


def read_table(path: str | Path, name: str, columns: Sequence[str], *,
               require_columns: dict[str, str], delimiter: str | None = None,
               progress: Progress | None = None) -> Table:
    """Read `columns` (those the file has) of the CSV at `path`; the ones in
    `require_columns` (column -> the option naming it) must be there."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open_data(path, name) as (handle, size, sample):
        header, delimiter = _header(sample, name, delimiter)
        require(name, header, require_columns)
        keep = [c for c in dict.fromkeys(columns) if c in header]
        invalid: list[Any] = []

        def on_invalid(row: Any) -> str:
            invalid.append(row)
            return "skip"

        batches = []
        if progress is not None:
            progress(0, size)
        try:
            reader = pacsv.open_csv(
                handle,
                read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=True),
                parse_options=pacsv.ParseOptions(delimiter=delimiter,
                                                 invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in keep}, include_columns=keep,
                    strings_can_be_null=False, quoted_strings_can_be_null=False))
            for batch in reader:
                batches.append(batch)
                if progress is not None:
                    progress(handle.tell(), size)
        except pa.ArrowInvalid as exc:
            text = str(exc)
            if "straddling" in text:
                raise fail(name, f"a line longer than {BLOCK_BYTES >> 20} MiB",
                           "is this a CSV file? each row must be one line") from None
            if "UTF8" in text:
                raise fail(name, "not UTF-8 text", "save the file as UTF-8") from None
            raise fail(name, f"not readable as CSV: {shorten(text, 200)}") from None
    if invalid:
        texts = [str(row.text) for row in invalid]
        lines = _find_lines(path, texts)
        problems: list[Problem] = [
            problem(name, f"{row.actual_columns} fields where the header has "
                    f"{row.expected_columns}: {shorten(str(row.text), 80)}",
                    f"the delimiter is {delimiter!r}; quote fields that contain it",
                    line=lines.get(str(row.text)))
            for row in invalid[:20]]
        if len(invalid) > 20:
            problems.append(problem(name, f"... and {len(invalid) - 20} more such rows"))
        raise DataError(problems)
    table = pa.Table.from_batches(batches, schema=reader.schema)
    if table.num_rows == 0:
        raise fail(name, "no rows after the header", "export the data again")
    return Table(name, {c: table.column(c) for c in keep}, table.num_rows, header)


def _location(table: Table, index: int, column: str) -> tuple[str, int | None]:
    if table.kind == "row":
        return f"row {index + 1}, column {column!r}", index + 2
    return f"event {index + 1}, attribute {column!r}", None


def row_problems(table: Table, column: str, indices: Any, message: str,
                 hint: str | None, values: list[Any]) -> list[Problem]:
    """A problem for each bad value (the first `MAX_LISTED`; then how many more), with its
    row (or event), column and line; `message` formats `{value}`."""
    problems = []
    for k, i in enumerate(indices[:MAX_LISTED]):
        where, line = _location(table, int(i), column)
        problems.append(problem(table.name, message.format(value=values[k]), hint,
                                location=where, line=line))
    if len(indices) > MAX_LISTED:
        problems.append(problem(table.name, f"... and {len(indices) - MAX_LISTED} more "
                                f"such values in column {column!r}"))
    return problems
