"""Writing scenario data as a workbook a client can fill in (`cxplan export`).

Every sheet of `cxplan.scenario.workbook.layout` is an Excel table: units on row 1,
headers on row 2, one row per item from row 3, number formats per column (shares as
percentages, money with separators), and data validation: dropdowns of the ids, stages,
teams and personas other sheets define, TRUE/FALSE, shares between 0 and 1, amounts of
at least 0. The validation reaches 1 000 rows below the data, so that new rows get it
too. A README sheet explains every column; the Lists sheet holds the dropdown values that
have no sheet of their own (channels). Numbers are written exactly (the shortest text
that reads back as the same double), so that export then import gives the same scenario.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from cxplan.scenario.workbook import layout as L
from cxplan.scenario.workbook.tables import to_tables

SPARE_ROWS = 1000  # rows below the data that keep the dropdowns and checks
UNIT_FONT = Font(italic=True, color="666666")
TITLE_FONT = Font(bold=True, size=14)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def workbook_bytes(data: dict[str, Any]) -> bytes:
    """The .xlsx file of scenario `data` (the scenario format, as `scenario_data` gives)."""
    book = Workbook()
    readme = book.active
    assert readme is not None
    readme.title = L.README
    tables = to_tables(data)
    for sheet in L.SHEETS:
        if sheet.name in tables:
            _table(book.create_sheet(sheet.name), sheet, tables[sheet.name])
    _lists(book.create_sheet(L.LISTS), data)
    _readme(readme, data)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _columns(sheet: L.Sheet, rows: list[dict[str, Any]]) -> list[tuple[str, L.Column]]:
    """(header, column) of each column written: the layout's, a distribution's five after
    its field when any row has one, and the Periods sheet's per-team and per-persona
    columns."""
    out: list[tuple[str, L.Column]] = []
    for column in sheet.columns:
        out.append((column.header, column))
        if column.uncertain and any(isinstance(r.get(column.header), dict) for r in rows):
            for header, part in zip(L.distribution_headers(column.header),
                                    L.DISTRIBUTION_PARTS, strict=True):
                kind: L.Kind = "text" if part in ("distribution", "group") else column.kind
                choices = "kinds" if part == "distribution" else None
                out.append((header, L.Column(header, kind, column.unit if kind != "text"
                                             else "—", f"{part} of {column.header}'s "
                                             "distribution", choices=choices)))
    extra = [h for r in rows for h in r if sheet.column(h) is None]
    for header in dict.fromkeys(extra):
        unit = "people" if header.startswith(L.TEAM_PREFIX) else "customers"
        out.append((header, L.Column(header, "amount", unit, f"{header} in this period")))
    return out


def _cell_value(value: Any, column: L.Column) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


def _spread(row: dict[str, Any], sheet: L.Sheet) -> dict[str, Any]:
    """The row with each distribution spread over its kind / low / mode / high / group."""
    out = dict(row)
    for column in sheet.columns:
        value = row.get(column.header)
        if not (column.uncertain and isinstance(value, dict)):
            continue
        out[column.header] = None
        kind_h, low_h, mode_h, high_h, group_h = L.distribution_headers(column.header)
        kind = next(k for k in value if k != "group")
        params = value[kind]
        if kind in L.THREE_POINT:
            out[kind_h] = kind
            out[low_h], out[high_h] = params[0], params[-1]
            if len(params) == 3:
                out[mode_h] = params[1]
        else:
            numbers = params if isinstance(params, list) else [params]
            out[kind_h] = f"{kind}({', '.join(repr(float(n)) for n in numbers)})"
        out[group_h] = value.get("group")
    return out


def _table(ws: Worksheet, sheet: L.Sheet, rows: list[dict[str, Any]]) -> None:
    columns = _columns(sheet, rows)
    for c, (header, column) in enumerate(columns, start=1):
        unit = ws.cell(1, c, column.unit)
        unit.font = UNIT_FONT
        head = ws.cell(L.HEADER_ROW, c, header)
        head.fill = HEADER_FILL
        head.alignment = Alignment(wrap_text=True)
        ws.column_dimensions[get_column_letter(c)].width = min(max(len(header), 10) + 3, 40)
    for r, row in enumerate(rows, start=L.FIRST_ROW):
        spread = _spread(row, sheet)
        for c, (header, column) in enumerate(columns, start=1):
            value = spread.get(header)
            cell = ws.cell(r, c, _cell_value(value, column))
            kind = column.kind
            if sheet is L.SETTINGS and header == "value":
                kind = L.SETTING_ROWS[row["setting"]][0]
            cell.number_format = L.Column("", kind, "", "").number_format
    last_row = max(L.FIRST_ROW, L.FIRST_ROW + len(rows) - 1)
    ref = f"A{L.HEADER_ROW}:{get_column_letter(len(columns))}{last_row}"
    table = Table(displayName=f"cx{sheet.name}", ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = f"A{L.FIRST_ROW}"
    _validations(ws, columns, last_row + SPARE_ROWS)
    if sheet is L.SETTINGS:
        _explain_settings(ws, rows)


def _validations(ws: Worksheet, columns: list[tuple[str, L.Column]], last: int) -> None:
    for c, (_, column) in enumerate(columns, start=1):
        validation = _validation(column, last)
        if validation is None:
            continue
        letter = get_column_letter(c)
        ws.add_data_validation(validation)
        validation.add(f"{letter}{L.FIRST_ROW}:{letter}{last}")


def _validation(column: L.Column, last: int) -> DataValidation | None:
    # Excel checks typed values only (a pasted one passes): `cxplan import` checks again.
    if column.choices == "kinds":
        return DataValidation(type="list", formula1='"' + ",".join(L.THREE_POINT) + '"',
                              allow_blank=True, errorStyle="warning",
                              error="Other kinds are written whole: beta(2, 8), "
                                    "lognormal(50000, 80000), normal(0.2, 0.05)")
    if column.choices == "Lists":
        return DataValidation(type="list", formula1=f"={L.LISTS}!$A$2:$A${last}",
                              allow_blank=True, errorStyle="information",
                              error="A new channel: it gets its own lane on the map.")
    if column.choices is not None:
        return DataValidation(type="list", allow_blank=True, error="Not defined in the "
                              f"{column.choices} sheet.",
                              formula1=f"={column.choices}!$A${L.FIRST_ROW}:$A${last}")
    if column.kind == "bool":
        return DataValidation(type="list", formula1='"TRUE,FALSE"', allow_blank=True)
    if column.kind == "fraction":
        return DataValidation(type="decimal", operator="between", formula1="0", formula2="1",
                              allow_blank=True, error="A share between 0 and 1: write 25 % "
                                                      "as 0.25.")
    if column.kind == "amount":
        return DataValidation(type="decimal", operator="between", formula1="0",
                              formula2="1E+15", allow_blank=True,
                              error="An amount from 0 to 1e15.")
    if column.kind == "whole":
        return DataValidation(type="whole", operator="between", formula1="-5",
                              formula2="1000", allow_blank=True, error="A whole number.")
    return None


def _explain_settings(ws: Worksheet, rows: list[dict[str, Any]]) -> None:
    """Beside the Settings table: each setting's unit and meaning, and the settings not
    used yet (a client may add their rows)."""
    ws.cell(1, 4, "unit").font = UNIT_FONT
    ws.cell(1, 5, "meaning").font = UNIT_FONT
    for r, row in enumerate(rows, start=L.FIRST_ROW):
        _, unit, meaning = L.SETTING_ROWS[row["setting"]]
        ws.cell(r, 4, unit).font = UNIT_FONT
        ws.cell(r, 5, meaning).font = UNIT_FONT
    ws.column_dimensions["E"].width = 80


def _lists(ws: Worksheet, data: dict[str, Any]) -> None:
    ws.cell(1, 1, "channel").font = Font(bold=True)
    channels = dict.fromkeys(tp["channel"] for tp in data["touchpoints"] if tp.get("channel"))
    for r, channel in enumerate(channels, start=2):
        ws.cell(r, 1, channel)
    ws.column_dimensions["A"].width = 30


def _readme(ws: Worksheet, data: dict[str, Any]) -> None:
    ws.cell(1, 1, f"cxplan scenario: {data.get('name') or 'untitled'}").font = TITLE_FONT
    lines = [
        "Fill in the sheets; `cxplan import THIS.xlsx -o scenario.yaml` reads them back, and "
        "every cxplan command reads the workbook directly.",
        "Row 1 of each sheet gives the unit, row 2 the column names (keep them), the data "
        "start on row 3. Add rows at the bottom of a table; leave a cell empty for the "
        "default.",
        "Shares (probabilities, reductions) are numbers from 0 to 1: 25 % is 0.25. Money is "
        f"in {data.get('currency') or 'one currency unit'}; staff in people.",
        "An uncertain value may be a distribution: add the columns 'FIELD distribution', "
        "'FIELD low', 'FIELD mode', 'FIELD high' (and 'FIELD group' to draw values "
        "together) next to it, write uniform, triangular or pert with its three points, or "
        "beta(a, b), lognormal(median, p90), normal(mean, sd) whole in the kind's cell.",
        "In Entry and Edges an empty persona means every persona; a persona's own rows "
        "replace the journey's for that persona.",
        "No merged cells, hidden rows or columns, or formulas without saved values: each is "
        "refused on import, with its cell.",
    ]
    for r, line in enumerate(lines, start=2):
        ws.cell(r, 1, line)
    top = len(lines) + 3
    for c, header in enumerate(("sheet", "column", "unit", "meaning"), start=1):
        ws.cell(top, c, header).font = Font(bold=True)
    r = top + 1
    for sheet in L.SHEETS:
        ws.cell(r, 1, sheet.name).font = Font(bold=True)
        ws.cell(r, 4, sheet.purpose)
        r += 1
        entries = [(c.header, c.unit, c.meaning) for c in sheet.columns]
        if sheet is L.SETTINGS:
            entries += [(name, unit, meaning)
                        for name, (_, unit, meaning) in L.SETTING_ROWS.items()]
        if sheet is L.PERIODS:
            entries += [("team NAME", "people", "a team's capacity in this period"),
                        ("customers PERSONA", "customers", "a persona's customers in this "
                                                           "period")]
        for header, unit, meaning in entries:
            for c, text in enumerate((None, header, unit, meaning), start=1):
                if text is not None:
                    ws.cell(r, c, text)
            r += 1
    for letter, width in zip("ABCD", (16, 26, 22, 100), strict=True):
        ws.column_dimensions[letter].width = width
