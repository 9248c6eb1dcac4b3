"""Scenarios in Excel, both ways (issue 20): `cxplan export --xlsx`, `cxplan import`, every
command reading an .xlsx directly, problems named by their cell, and hostile workbooks
refused cleanly (SECURITY.md).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml

from cxplan import load_scenario, optimize
from cxplan.errors import ScenarioError
from cxplan.scenario.canonical import scenario_data
from cxplan.scenario.models import FORMAT_KEYS
from cxplan.scenario.workbook import export_workbook, layout
from cxplan.scenario.workbook.read import read_workbook

from conftest import CliRun, ScenarioFactory, ScenarioWriter

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "scenarios").glob("*.yaml"))
RESTAURANT = ROOT / "scenarios" / "restaurant.yaml"
Run = Callable[..., CliRun]


def _export(source: Path | dict[str, Any], target: Path) -> Path:
    return export_workbook(load_scenario(source), target)


def _edit(path: Path, change: Callable[[Any], None]) -> Path:
    """Change a workbook with openpyxl, as a client editing it in Excel would."""
    book = openpyxl.load_workbook(path)
    change(book)
    book.save(path)
    return path


def _patch(path: Path, part: str, change: Callable[[bytes], bytes]) -> Path:
    """Rewrite one part of the workbook's zip package (what Excel never writes)."""
    with zipfile.ZipFile(path) as old:
        items = [(info, old.read(info)) for info in old.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for info, content in items:
            new.writestr(info.filename, change(content) if info.filename == part else content)
    return path


def _sheet_part(path: Path, sheet: str) -> str:
    book = openpyxl.load_workbook(path)
    return f"xl/worksheets/sheet{book.sheetnames.index(sheet) + 1}.xml"


def _row_of(book: Any, sheet: str, column: str, value: str) -> int:
    ws = book[sheet]
    headers = [c.value for c in ws[layout.HEADER_ROW]]
    c = headers.index(column) + 1
    return next(r for r in range(layout.FIRST_ROW, ws.max_row + 1)
                if ws.cell(r, c).value == value)


def _col(book: Any, sheet: str, header: str) -> str:
    headers = [c.value for c in book[sheet][layout.HEADER_ROW]]
    return openpyxl.utils.get_column_letter(headers.index(header) + 1)


def _problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return [p.format() for p in caught.value.problems]


# -- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("source", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_every_bundled_scenario_comes_back_from_its_workbook_identical(
        source: Path, tmp_path: Path) -> None:
    original = load_scenario(source)
    book = _export(source, tmp_path / "book.xlsx")
    again = load_scenario(book)
    assert again.model_dump() == original.model_dump()
    assert again.period_values == original.period_values
    assert scenario_data(again) == scenario_data(original)


def test_export_then_import_plans_identically(run_main: Run, tmp_path: Path) -> None:
    book, imported = tmp_path / "restaurant.xlsx", tmp_path / "restaurant.yaml"
    assert run_main("export", RESTAURANT, "--xlsx", book).exit_code == 0
    assert run_main("import", book, "-o", imported).exit_code == 0
    plans = [optimize(load_scenario(p)) for p in (RESTAURANT, book, imported)]
    for plan in plans[1:]:
        assert plan.selected == plans[0].selected
        assert plan.objective == plans[0].objective
        assert plan.expected_gain == plans[0].expected_gain


def test_import_export_import_is_stable(run_main: Run, tmp_path: Path) -> None:
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    _export(ROOT / "scenarios" / "microfinance-roadmap.yaml", first)
    assert run_main("import", first, "-o", tmp_path / "a.yaml").exit_code == 0
    assert run_main("export", tmp_path / "a.yaml", "--xlsx", second).exit_code == 0
    assert run_main("import", second, "-o", tmp_path / "b.yaml").exit_code == 0
    a = yaml.safe_load((tmp_path / "a.yaml").read_text())
    b = yaml.safe_load((tmp_path / "b.yaml").read_text())
    assert a == b
    assert a["budget"] == [80000, 80000, 80000, 80000, 100000, 100000, 100000, 100000]


def _uncertain(minimal_scenario: ScenarioFactory) -> dict[str, Any]:
    data = minimal_scenario(horizon={"periods": 2, "names": ["H1", "H2"]},
                            budget=[600, 700], teams={"it": [2, 3]})
    data["touchpoints"][0]["failure_probability"] = {"pert": [0.05, 0.1, 0.2]}
    data["touchpoints"][1]["impact"] = {"lognormal": [40, 60]}
    data["journey"]["edges"] = [
        {"from": "ad", "to": "branch", "probability": {"dirichlet": 6}},
        {"from": "ad", "to": "account", "probability": {"dirichlet": 1}},
        {"from": "branch", "to": "account", "probability": {"uniform": [0.8, 0.95]}}]
    data["journey"]["completed"] = {"ad": {"dirichlet": 3}}
    data["improvements"][0]["cost"] = {"uniform": [200, 400], "group": "vendor"}
    data["improvements"][0]["effects"][0]["failure_reduction"] = {
        "pert": [0.3, 0.5, 0.6], "group": "vendor"}
    data["improvements"][1]["effects"][0]["failure_reduction"] = {"beta": [2, 8]}
    data["personas"] = [
        {"id": "young", "customers": [100, 120], "entry": {"ad": 1.0},
         "touchpoints": {"branch": {"dropout": {"triangular": [0.1, 0.2, 0.5]}}}},
        {"id": "old", "customers": 50, "name": "Older customers"}]
    return data


def test_distributions_and_per_period_amounts_survive_the_workbook(
        minimal_scenario: ScenarioFactory, tmp_path: Path) -> None:
    data = _uncertain(minimal_scenario)
    original = load_scenario(data)
    book = _export(data, tmp_path / "u.xlsx")
    again = load_scenario(book)
    assert scenario_data(again) == scenario_data(original)
    assert again.uncertainty.described() == original.uncertainty.described()
    sheet = openpyxl.load_workbook(book)["Effects"]
    headers = [c.value for c in sheet[layout.HEADER_ROW]]
    for part in ("distribution", "low", "mode", "high", "group"):
        assert f"failure_reduction {part}" in headers
    rows = {r[0]: r for r in sheet.iter_rows(min_row=layout.FIRST_ROW, values_only=True)}
    pert = rows["queue-app"]
    assert pert[headers.index("failure_reduction distribution")] == "pert"
    assert [pert[headers.index(f"failure_reduction {p}")] for p in ("low", "mode", "high")] \
        == [0.3, 0.5, 0.6]
    assert rows["sms"][headers.index("failure_reduction distribution")] == "beta(2.0, 8.0)"


def test_the_workbook_has_tables_units_formats_dropdowns_and_a_readme(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(_export(RESTAURANT, tmp_path / "r.xlsx"))
    for sheet in ("Settings", "Teams", "Personas", "Touchpoints", "Entry", "Edges",
                  "Improvements", "Staff", "Effects", "Criteria"):
        assert book[sheet].tables, f"{sheet} is not an Excel table"
    touchpoints = book["Touchpoints"]
    assert touchpoints["E1"].value == "probability 0–1"
    assert touchpoints["E2"].value == "failure_probability"
    assert touchpoints["E3"].number_format == "0.00%"
    lists = {dv.formula1 for dv in book["Effects"].data_validations.dataValidation}
    assert any(f and f.startswith("=Touchpoints!$A$3") for f in lists)
    assert any(f and f.startswith("=Improvements!$A$3") for f in lists)
    stage = {dv.formula1 for dv in touchpoints.data_validations.dataValidation}
    assert any(f and f.startswith("=Stages!") for f in stage)
    readme = [r for r in book["README"].iter_rows(values_only=True)]
    explained = {(r[1]) for r in readme if r[1]}
    for sheet in layout.SHEETS:
        assert {c.header for c in sheet.columns} <= explained


def test_the_readme_meanings_are_the_model_references() -> None:
    reference = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    own = {("Stages", "stage"), ("Periods", "name"), ("Periods", "budget"),
           ("Entry", "touchpoint")}  # the workbook's own (a list's item, a map's key)
    quoted = [c for s in layout.SHEETS for c in s.columns
              if c.header in FORMAT_KEYS and (s.name, c.header) not in own]
    assert len(quoted) > 30
    missing = [(c.header, c.meaning) for c in quoted
               if c.meaning.removesuffix(" for this persona").split(";")[0] not in reference]
    assert not missing


def test_a_variant_may_extend_a_workbook(tmp_path: Path, write_scenario: ScenarioWriter
                                         ) -> None:
    _export(RESTAURANT, tmp_path / "base.xlsx")
    variant = write_scenario({"extends": "base.xlsx", "name": "More money",
                              "budget": 1_000_000}, "variant.yaml")
    scenario = load_scenario(variant)
    assert scenario.budget == 1_000_000
    assert scenario.touchpoints == load_scenario(RESTAURANT).touchpoints


# -- problems at their cells ----------------------------------------------------------------


def test_a_broken_workbook_gets_every_problem_at_its_cell(run_main: Run, tmp_path: Path
                                                         ) -> None:
    path = _export(RESTAURANT, tmp_path / "r.xlsx")
    where: dict[str, str] = {}

    def break_it(book: Any) -> None:
        effects = book["Effects"]
        col = _col(book, "Effects", "failure_reduction")
        where["reduction"] = f"Effects!{col}{layout.FIRST_ROW + 2}"
        effects[where["reduction"].split("!")[1]] = 25
        col = _col(book, "Effects", "touchpoint")
        where["touchpoint"] = f"Effects!{col}{layout.FIRST_ROW}"
        effects[where["touchpoint"].split("!")[1]] = "no-such-touchpoint"
        col = _col(book, "Improvements", "cost")
        where["cost"] = f"Improvements!{col}{layout.FIRST_ROW + 1}"
        book["Improvements"][where["cost"].split("!")[1]] = "5000"
        col = _col(book, "Touchpoints", "impact")
        where["impact"] = f"Touchpoints!{col}{layout.FIRST_ROW}"
        book["Touchpoints"][where["impact"].split("!")[1]] = datetime(2026, 3, 1)
        col = _col(book, "Touchpoints", "dropout")
        where["dropout"] = f"Touchpoints!{col}{layout.FIRST_ROW + 1}"
        book["Touchpoints"][where["dropout"].split("!")[1]] = "=1/0"

    _edit(path, break_it)
    result = run_main("validate", path)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    err = result.stderr
    assert f"r.xlsx: {where['reduction']}: failure_reduction: Input should be less than or " \
           "equal to 1 (got 25)" in err
    assert "(write 25 % as 0.25)" in err
    assert f"{where['touchpoint']}: touchpoint: unknown touchpoint 'no-such-touchpoint'" in err
    assert f"{where['cost']}: cost: expected a number (got '5000'), a number stored as " \
           "text" in err
    assert f"{where['impact']}: impact: a date or time where a number belongs" in err
    assert f"{where['dropout']}: dropout: a formula without a saved value" in err


def test_formulas_are_read_as_their_saved_values(tmp_path: Path) -> None:
    path = _export(RESTAURANT, tmp_path / "r.xlsx")
    col = _col(openpyxl.load_workbook(path), "Settings", "value")
    row = _row_of(openpyxl.load_workbook(path), "Settings", "setting", "budget")
    _edit(path, lambda book: book["Settings"].__setitem__(f"{col}{row}", "=1000*7"))
    _patch(path, _sheet_part(path, "Settings"),
           lambda xml: xml.replace(b"<f>1000*7</f><v />", b"<f>1000*7</f><v>7000</v>"))
    assert load_scenario(path).budget == 7000


@pytest.mark.parametrize("change, expected", [
    (lambda book: book["Touchpoints"].merge_cells("B3:C3"), "Touchpoints!B3:C3: merged cells"),
    (lambda book: setattr(book["Effects"].row_dimensions[4], "hidden", True),
     "Effects!A4: row 4 is hidden"),
    (lambda book: setattr(book["Improvements"].column_dimensions["B"], "hidden", True),
     "Improvements!B2: a hidden column"),
    (lambda book: setattr(book["Staff"], "sheet_state", "hidden"), "Staff!A1: the sheet is "
     "hidden"),
    (lambda book: book["Touchpoints"].cell(2, 3, "stge"), "unknown column 'stge' (did you "
     "mean 'stage'?)"),
    (lambda book: book["Settings"].append(["budgett", 5]), "unknown setting 'budgett'"),
], ids=["merged", "hidden-row", "hidden-column", "hidden-sheet", "unknown-column",
        "unknown-setting"])
def test_what_cannot_be_seen_or_named_is_refused_at_its_cell(
        change: Callable[[Any], None], expected: str, tmp_path: Path) -> None:
    path = _edit(_export(RESTAURANT, tmp_path / "r.xlsx"), change)
    assert any(expected in p for p in _problems(path))


# -- hostile packages -------------------------------------------------------------------------


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, content in parts.items():
            package.writestr(name, content)
    return out.getvalue()


def test_hostile_workbooks_are_refused_cleanly(run_main: Run, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    good = _export(RESTAURANT, tmp_path / "good.xlsx").read_bytes()
    cases: dict[str, tuple[bytes, str]] = {
        "text.xlsx": (b"cxplan: 1\n", "not an Excel workbook (.xlsx): it is not a zip"),
        "bomb.xlsx": (_zip({"xl/worksheets/sheet1.xml": b"\0" * 3_000_000}),
                      "unpacks to 3000000 bytes, over the limit of 2000000"),
        "macros.xlsm": (good, "a workbook with macros (.xlsm) is not read"),
        "vba.xlsx": (_zip({"[Content_Types].xml": b"<Types/>", "xl/vbaProject.bin": b"x"}),
                     "contains macros; they are never run"),
        "entities.xlsx": (_zip({"xl/workbook.xml": b'<?xml version="1.0"?><!DOCTYPE r ['
                                b'<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><r>&b;'
                                b"</r>"}), "declares a DTD"),
        "rows.xlsx": (_zip({"xl/worksheets/sheet1.xml": b"<worksheet><sheetData>" + b"".join(
                      b'<row r="%d"/>' % r for r in range(1, layout.MAX_ROWS + 2))
                      + b"</sheetData></worksheet>"}),
                      f"has more than {layout.MAX_ROWS} rows"),
        "damaged.xlsx": (_zip({"[Content_Types].xml": b"<Types", "xl/workbook.xml": b"<"}),
                         "cannot be read as an Excel workbook"),
    }
    monkeypatch.setenv("CXPLAN_MAX_FILE_BYTES", "1000000")
    for name, (content, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = run_main("validate", path)
        assert result.exit_code == 2, name
        assert expected in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.output and "internal error" not in result.output


def test_a_file_that_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    content = _zip({"xl/worksheets/sheet1.xml": b"<worksheet>" + b" " * 100_000})
    # the central directory claims a tiny part: the data that follow are more than that
    lied = re.sub(rb"(PK\x01\x02.{20})....", lambda m: m.group(1) + b"\x10\0\0\0", content,
                  flags=re.S)
    with pytest.raises(ScenarioError) as caught:
        read_workbook(lied, "lie.xlsx", max_unpacked=10_000_000)
    assert "cannot be read" in caught.value.problems[0].message


def test_import_writes_nothing_when_the_workbook_is_broken(run_main: Run, tmp_path: Path
                                                           ) -> None:
    path = _edit(_export(RESTAURANT, tmp_path / "r.xlsx"),
                 lambda book: book["Touchpoints"].cell(3, 5, 7))
    result = run_main("import", path, "-o", tmp_path / "out.yaml")
    assert result.exit_code == 2
    assert "Touchpoints!E3: failure_probability" in result.stderr
    assert not (tmp_path / "out.yaml").exists()


# -- the plan as a workbook ----------------------------------------------------------------


def _sheet_rows(path: Path, sheet: str, top: int = 1) -> list[dict[str, Any]]:
    ws = openpyxl.load_workbook(path)[sheet]
    rows = list(ws.iter_rows(min_row=top, values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_plan_xlsx_holds_the_plan_marginal_values_and_what_is_left_out(
        run_main: Run, tmp_path: Path) -> None:
    book = tmp_path / "plan.xlsx"
    result = run_main("plan", RESTAURANT, "--json", "--xlsx", book)
    assert result.exit_code == 0
    plan = yaml.safe_load(result.stdout)
    rows = _sheet_rows(book, "Plan")
    assert [r["id"] for r in rows] == [i["id"] for i in plan["improvements"]]
    # openpyxl writes 16 significant digits (Excel itself keeps 15)
    assert [r["gain"] for r in rows] == pytest.approx([i["gain"] for i in plan["improvements"]],
                                                      rel=1e-15)
    assert all(r["why it is in"] for r in rows)
    margins = _sheet_rows(book, "Marginal values")
    assert [m["limit"] for m in margins] == [m["limit"] for m in plan["marginal_values"]]
    left = _sheet_rows(book, "Left out")
    assert {r["id"] for r in left} == set(load_scenario(RESTAURANT).improvement_ids) - set(
        plan["selected"])
    assert all(r["why it is out"] for r in left)
    summary = {r["measure"]: r["value"] for r in _sheet_rows(book, "Summary", top=7)}
    assert summary["expected gain"] == pytest.approx(plan["expected_gain"], rel=1e-15)
    assert summary["cost"] == plan["cost"]


def test_a_roadmaps_plan_workbook_has_its_periods(run_main: Run, write_scenario: ScenarioWriter,
                                                  minimal_scenario: ScenarioFactory,
                                                  tmp_path: Path) -> None:
    source = write_scenario(minimal_scenario(horizon={"periods": 3}, budget=[300, 300, 300]))
    book = tmp_path / "roadmap.xlsx"
    assert run_main("plan", source, "--xlsx", book, "-q").exit_code == 0
    periods = _sheet_rows(book, "Periods")
    assert [p["period"] for p in periods] == [1, 2, 3]
    assert periods[0]["budget"] == 300
    assert {"start", "finish", "when"} <= set(_sheet_rows(book, "Plan")[0])


def test_plan_xlsx_refuses_another_extension_before_solving(run_main: Run, tmp_path: Path
                                                            ) -> None:
    result = run_main("plan", RESTAURANT, "--xlsx", tmp_path / "plan.csv")
    assert result.exit_code == 2
    assert "must end in .xlsx" in result.stderr


def test_rows_that_repeat_or_name_nothing_are_reported_at_their_cells(
        minimal_scenario: ScenarioFactory, tmp_path: Path) -> None:
    data = minimal_scenario(personas=[{"id": "young", "customers": 5}])
    path = _export(data, tmp_path / "m.xlsx")

    def change(book: Any) -> None:
        book["Teams"].append(["it", 4])
        book["Entry"].append(["", "ad", 0.5])
        book["Entry"].append(["old", "ad", 0.5])
        book["Staff"].append(["queue-ap", "it", 1])
        book["Criteria"].append(["expected_experience", 2])
        book["Criteria"].append(["expected_experience", 3])

    _edit(path, change)
    problems = _problems(path)
    found = "\n".join(problems)
    assert "m.xlsx: Teams!A4: team 'it' is listed twice" in found
    assert "Entry!B4: entry of touchpoint 'ad' is listed twice" in found
    assert "Entry!A5: no persona 'old' in the Personas sheet" in found
    assert "Staff!A4: no improvement 'queue-ap' in the Improvements sheet (did you mean " \
           "'queue-app'?)" in found
    assert "Criteria!A4: criterion 'expected_experience' is listed twice" in found
    assert len(problems) == 5  # all at once


def test_a_sheet_of_the_clients_own_is_left_alone_with_a_warning(tmp_path: Path) -> None:
    path = _edit(_export(RESTAURANT, tmp_path / "r.xlsx"),
                 lambda book: book.create_sheet("Meeting notes").append(["call Anna"]))
    scenario = load_scenario(path)
    assert [w.format() for w in scenario.warnings] == [
        f"{path}: Meeting notes!A1: sheet 'Meeting notes' is not read\n    hint: the sheets "
        "read are: "
        + ", ".join(s.name for s in layout.SHEETS) + " (README and Lists explain)"]
