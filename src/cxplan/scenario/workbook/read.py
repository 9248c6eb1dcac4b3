"""Reading a scenario workbook (.xlsx) into scenario data, every value with its cell.

Excel does not enforce its own data validation (a pasted value passes any dropdown), so
everything is checked here and again by the scenario's validation, and every problem names
its cell: `Effects!C7: failure_reduction: Input should be less than or equal to 1`. All
problems are reported at once.

Refused, each with the cell or the reason: the package checks of
`cxplan.scenario.workbook.package` (zip bombs, DTDs, macros, millions of rows); merged
cells and hidden rows, columns or sheets in a table (what is shown must be what is read);
a formula without a saved value (formulas are read as the value Excel saved with them,
never computed here); error values (`#DIV/0!`); dates or text where a number belongs;
control characters in text.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import warnings
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from cxplan.errors import Problem, ScenarioError
from cxplan.scenario.source import Document, parse_text
from cxplan.scenario.workbook import layout as L
from cxplan.scenario.workbook.package import UnsafePackage, check_package
from cxplan.scenario.workbook.tables import ROW, Cell, ReadRow, from_tables
from cxplan.text import did_you_mean, shorten

MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam")
REQUIRED_SHEETS = ("Touchpoints", "Entry")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
_WRITTEN = re.compile(r"^\s*([A-Za-z]+)\s*\(([^()]*)\)\s*$")  # beta(2, 8)


class _Problems:
    def __init__(self, name: str) -> None:
        self.name = name
        self.found: list[Problem] = []

    def __call__(self, ref: str, message: str, hint: str | None = None,
                 severity: str = "error") -> None:
        self.found.append(Problem(self.name, ref, message, hint, severity=severity))


def read_workbook(raw: bytes, name: str, *, max_unpacked: int) -> Document:
    """The scenario document of the workbook bytes `raw` (a file called `name`); raises
    `ScenarioError` with every problem, each at its cell."""
    if name.lower().endswith(MACRO_SUFFIXES):
        raise ScenarioError([Problem(name, "", "a workbook with macros (.xlsm) is not read; "
                                     "its macros are never run", "save it as .xlsx (Excel "
                                     "Workbook), which holds no macros")])
    try:
        check_package(io.BytesIO(raw), max_unpacked=max_unpacked)
    except UnsafePackage as exc:
        raise ScenarioError([Problem(name, "", exc.message, exc.hint)]) from None
    formulas, values = _open(raw, name)
    report = _Problems(name)
    tables: dict[str, list[ReadRow]] = {}
    known = {s.name for s in L.SHEETS} | {L.README, L.LISTS}
    for sheet_name in formulas.sheetnames:
        if sheet_name not in known:
            report(f"{sheet_name}!A1", f"sheet {shorten(sheet_name, 40)} is not read"
                   f"{did_you_mean(sheet_name, known)}", "the sheets read are: " + ", ".join(
                       s.name for s in L.SHEETS) + " (README and Lists explain)",
                   severity="warning")
    for sheet in L.SHEETS:
        if sheet.name in formulas.sheetnames:
            tables[sheet.name] = _SheetReader(sheet, formulas[sheet.name],
                                              values[sheet.name], report).rows()
        elif sheet.name in REQUIRED_SHEETS:
            report(f"{sheet.name}!A1", f"the workbook has no sheet '{sheet.name}'",
                   "start from `cxplan export` or `cxplan init`, which write every sheet")
    built = from_tables(tables, report)
    # The cells' problems are reported with the scenario's own (all at once): the values
    # of those cells are stand-ins that validation does not report again.
    return Document(name=name, data=built.data, cells=built.cells, problems=report.found,
                    unreadable=built.unreadable)


def _open(raw: bytes, name: str) -> tuple[Any, Any]:
    """The workbook twice: with its formulas, and with the values Excel saved for them."""
    try:
        with warnings.catch_warnings():
            # openpyxl warns about Excel features it does not keep (slicers, extensions);
            # nothing of them is read, so there is nothing to warn the user about
            warnings.simplefilter("ignore")
            formulas = load_workbook(io.BytesIO(raw), data_only=False)
            values = load_workbook(io.BytesIO(raw), data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged package
        raise ScenarioError([Problem(name, "", f"cannot be read as an Excel workbook "
                                     f"({type(exc).__name__}: {shorten(str(exc), 80)})",
                                     "save it again from Excel as .xlsx")]) from None
    return formulas, values


class _SheetReader:
    """One sheet's table: its headers (row 2) and data rows (from row 3), cell by cell."""

    def __init__(self, sheet: L.Sheet, formulas: Worksheet, values: Worksheet,
                 report: _Problems) -> None:
        self.sheet, self.formulas, self.values, self.report = sheet, formulas, values, report
        self.name = sheet.name

    def ref(self, row: int, column: int) -> str:
        return f"{self.name}!{get_column_letter(column)}{row}"

    def rows(self) -> list[ReadRow]:
        if self.formulas.sheet_state != "visible":
            self.report(f"{self.name}!A1", "the sheet is hidden", "unhide it (what is read "
                        "must be what can be seen), or delete it")
            return []
        headers = self.headers()
        last_row = self.formulas.max_row
        self.refuse_hidden_and_merged(last_row, max(headers, default=1))
        out: list[ReadRow] = []
        uncertain = {c.header for c in self.sheet.columns if c.uncertain}
        for r in range(L.FIRST_ROW, last_row + 1):
            row: ReadRow = {}
            for c, (header, kind) in headers.items():
                value = self.value(r, c, kind, header)
                if value is not None:
                    row[header] = value
            if row and self.has_required(row, r):
                row[ROW] = Cell(None, self.ref(r, 1))
                out.append(_with_distributions(row, uncertain, self.report))
        return out

    def headers(self) -> dict[int, tuple[str, L.Kind]]:
        """Column number -> (header, kind) for every header of row 2."""
        found: dict[int, tuple[str, L.Kind]] = {}
        allowed = {c.header: c.kind for c in self.sheet.columns}
        for column in self.sheet.columns:
            if column.uncertain:
                parts = L.distribution_headers(column.header)
                allowed.update({parts[0]: "text", parts[-1]: "text"})
                allowed.update({p: column.kind for p in parts[1:-1]})
        for c in range(1, self.formulas.max_column + 1):
            cell = self.formulas.cell(L.HEADER_ROW, c)
            if cell.value is None:
                continue
            header = str(cell.value).strip()
            kind = allowed.get(header)
            if kind is None and self.name == "Periods" and header.startswith(
                    (L.TEAM_PREFIX, L.CUSTOMERS_PREFIX)):
                kind = "amount"
            if kind is None:
                self.report(self.ref(L.HEADER_ROW, c), f"unknown column "
                            f"{shorten(header, 40)}{did_you_mean(header, allowed)}",
                            "columns of this sheet: " + ", ".join(
                                c.header for c in self.sheet.columns))
                continue
            if header in (h for h, _ in found.values()):
                self.report(self.ref(L.HEADER_ROW, c), f"column '{header}' appears twice",
                            "keep one")
                continue
            found[c] = (header, kind)
        for column in self.sheet.columns:
            if column.required and column.header not in (h for h, _ in found.values()):
                self.report(f"{self.name}!A{L.HEADER_ROW}", f"the sheet has no column "
                            f"'{column.header}'", "row 2 holds the headers; see README")
        return found

    def refuse_hidden_and_merged(self, last_row: int, last_column: int) -> None:
        for merged in self.formulas.merged_cells.ranges:
            if merged.min_row <= last_row and merged.max_row >= L.HEADER_ROW:
                self.report(f"{self.name}!{merged.coord}", "merged cells in the table",
                            "unmerge them: each value needs its own cell")
        for r in range(L.HEADER_ROW, last_row + 1):
            dimension = self.formulas.row_dimensions.get(r)
            if dimension is not None and dimension.hidden:
                self.report(self.ref(r, 1), f"row {r} is hidden", "unhide it (what is read "
                            "must be what can be seen), or delete it")
        for dimension in self.formulas.column_dimensions.values():
            if dimension.hidden and (dimension.min or 1) <= last_column:
                self.report(self.ref(L.HEADER_ROW, dimension.min or 1), "a hidden column",
                            "unhide it (what is read must be what can be seen), or delete "
                            "it")

    def has_required(self, row: ReadRow, r: int) -> bool:
        """Whether the row has every required column that the scenario's validation would
        not name by itself (ids and references); reported when not."""
        missing = [c.header for c in self.sheet.columns
                   if c.required and not c.uncertain and c.header not in row]
        for header in missing:
            self.report(self.ref(r, 1), f"this row has no {header}",
                        f"fill in {header}, or delete the row")
        return not missing

    def value(self, r: int, c: int, kind: L.Kind, header: str) -> Cell | None:
        """The typed value of a cell, None when it is empty (a wrong one is reported, and
        its cell marked bad)."""
        cell = self.formulas.cell(r, c)
        shown = self.values.cell(r, c).value
        ref = self.ref(r, c)
        if cell.data_type == "f":
            if shown is None:
                self.report(ref, f"{header}: a formula without a saved value",
                            "formulas are read as the value Excel saved with them: open "
                            "and save the workbook in Excel, or type the value")
                return _stand_in(kind, ref)
        elif cell.data_type == "e":
            self.report(ref, f"{header}: an error value ({shorten(shown, 20)})",
                        "correct what the cell refers to, or type the value")
            return _stand_in(kind, ref)
        else:
            shown = cell.value
        if shown is None or (isinstance(shown, str) and not shown.strip()):
            return None
        if self.name == "Settings" and header == "value":
            setting = self.formulas.cell(r, 1).value
            kind = L.SETTING_ROWS.get(str(setting), ("text", "", ""))[0]
        typed = _typed(shown, kind, header, ref, self.report)
        return _stand_in(kind, ref) if typed is _WRONG else Cell(typed, ref)


_WRONG = object()  # a cell's value that was reported as wrong
_STAND_INS: dict[str, Any] = {"fraction": 0.0, "amount": 0.0, "whole": 1, "bool": False,
                              "ids": [], "json": {}, "text": "", "id": "?"}


def _stand_in(kind: L.Kind, ref: str) -> Cell:
    return Cell(_STAND_INS[kind], ref, bad=True)


def _typed(value: Any, kind: L.Kind, header: str, ref: str, report: _Problems) -> Any:
    """The cell's value as `kind`, or `_WRONG` after reporting why it is not one."""

    def wrong(message: str, hint: str | None = None) -> Any:
        report(ref, f"{header}: {message}", hint)
        return _WRONG

    if isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta):
        belongs = "a number" if kind in _NUMBERS else "text"
        return wrong(f"a date or time where {belongs} belongs",
                     "format the cell as a number (Home → Number format) and type the value")
    if isinstance(value, str) and _CONTROL.search(value):
        return wrong("control characters are not allowed in text", "retype the text")
    if kind in _NUMBERS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            looks = isinstance(value, str) and _number(value) is not None
            return wrong(f"expected a number (got {shorten(value)})" + (
                ", a number stored as text" if looks else ""),
                "convert the cell to a number" if looks else "type a number")
        if kind == "whole":
            if not float(value).is_integer():
                return wrong(f"expected a whole number (got {value:g})")
            return int(value)
        return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes"):
            return True
        if text in ("false", "no"):
            return False
        return wrong(f"expected TRUE or FALSE (got {shorten(value)})")
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        return wrong(f"expected text (got {value})", "type the text; an id is never a fraction")
    text = str(int(value)) if isinstance(value, int | float) else value
    if kind == "ids":
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind == "json":
        try:
            data = parse_text(text, ref).data
        except ScenarioError as exc:
            return wrong("not valid JSON: " + "; ".join(p.message for p in exc.problems),
                         'write a JSON object, for example {"normalize": true}')
        if not isinstance(data, dict):
            return wrong("expected a JSON object ({...})")
        return data
    return text


_NUMBERS = ("fraction", "amount", "whole")


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", "").replace("%", "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _with_distributions(row: ReadRow, uncertain: set[str], report: _Problems) -> ReadRow:
    """The row with each field's distribution columns folded into one value, written as
    in a YAML scenario: {pert: [low, mode, high], group: name}."""
    out: ReadRow = {}
    fields: set[str] = set()
    for header, cell in row.items():
        base, _, part = header.rpartition(" ")
        if base in uncertain and part in L.DISTRIBUTION_PARTS:
            fields.add(base)
        else:
            out[header] = cell
    for name in sorted(fields):
        kind_cell = row.get(f"{name} distribution")
        parts = {p: row.get(f"{name} {p}") for p in L.DISTRIBUTION_PARTS[1:]}
        if kind_cell is None:
            first = next(cell for cell in parts.values() if cell is not None)
            report(first.ref, f"{name}: a distribution's values without its kind",
                   f"fill in the '{name} distribution' cell (pert, triangular, uniform, ...)")
            continue
        if name in row:
            report(row[name].ref, f"{name}: give a number or a distribution, not both",
                   f"empty this cell, or the '{name} distribution' cell")
            continue
        written = _distribution(kind_cell, parts, report)
        if written is not None:
            out[name] = Cell(written, kind_cell.ref)
    return out


def _distribution(kind_cell: Cell, parts: dict[str, Cell | None],
                  report: _Problems) -> dict[str, Any] | None:
    text = str(kind_cell.value).strip()
    group = parts.pop("group")
    written: dict[str, Any]
    if text in L.THREE_POINT:
        names = ("low", "high") if text == "uniform" else ("low", "mode", "high")
        missing = [n for n in names if parts.get(n) is None]
        if missing:
            report(kind_cell.ref, f"{text} needs {', '.join(names)}; "
                   f"{', '.join(missing)} is empty", f"fill in the {' and '.join(missing)} "
                   "columns of this row")
            return None
        written = {text: [cell.value for n in names if (cell := parts[n]) is not None]}
    else:
        match = _WRITTEN.match(text)
        numbers = [_number(p) for p in match.group(2).split(",")] if match else []
        if match is None or any(n is None for n in numbers):
            report(kind_cell.ref, f"cannot read the distribution {shorten(text, 40)}",
                   "write uniform, triangular or pert (with low, mode, high), or "
                   "beta(alpha, beta), lognormal(median, p90), normal(mean, sd), "
                   "dirichlet(α)")
            return None
        kind = match.group(1).lower()
        written = {kind: numbers[0] if kind == "dirichlet" and len(numbers) == 1
                   else numbers}
    if group is not None:
        written["group"] = str(group.value)
    return written
