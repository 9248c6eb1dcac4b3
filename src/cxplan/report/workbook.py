"""The plan as an Excel workbook (`cxplan plan --xlsx FILE`), for the client's own charts.

Sheets, each an Excel table of plain numbers (no formulas, no macros): Summary (status,
gain, cost, value before and after, budget and staff use), Plan (the funded improvements
in the suggested order, with cost, staff, gain, share and why each is in; start and
finish with a horizon), Periods (a roadmap's spend, staff and value per period), Marginal
values (what more budget or one more person would add) and Left out (what is not funded,
and why). The numbers are those of the HTML report (`cxplan.report.build`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from cxplan.core.results import Plan
from cxplan.files import atomic_path
from cxplan.report.build import build_view
from cxplan.report.view import ReportView
from cxplan.scenario.models import Scenario

MONEY = "#,##0.00"
SHARE = "0.0%"


def write_plan_workbook(plan: Plan, scenario: Scenario, target: str | Path) -> Path:
    """Write the plan's workbook to `target`, atomically."""
    content = plan_workbook_bytes(plan, scenario)
    with atomic_path(target) as staged:
        staged.write_bytes(content)
    return Path(target)


def plan_workbook_bytes(plan: Plan, scenario: Scenario) -> bytes:
    """The plan's workbook as the bytes of an .xlsx file."""
    view = build_view(plan, scenario)
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Summary"
    _summary(summary, plan, view)
    _plan(book.create_sheet("Plan"), view)
    if view.roadmap is not None:
        _periods(book.create_sheet("Periods"), view)
    marginals = plan.to_dict().get("marginal_values") or []
    if marginals:
        _table(book.create_sheet("Marginal values"), "Marginal",
               ("limit", "capacity", "used", "slack", "step", "gain", "per unit", "binding",
                "added", "dropped"),
               [(m["limit"], m["capacity"], m["used"], m["slack"], m["step"], m["gain"],
                 m["per_unit"], m["binding"], ", ".join(m["added"]), ", ".join(m["dropped"]))
                for m in marginals],
               {"capacity": MONEY, "used": MONEY, "slack": MONEY, "gain": MONEY,
                "per unit": MONEY})
    _table(book.create_sheet("Left out"), "LeftOut",
           ("id", "name", "owner", "cost", "staff", "value given up", "why it is out"),
           [(r.id, r.name, r.owner, r.cost, r.staff_text, r.value_given_up, r.reason)
            for r in view.left_out], {"cost": MONEY, "value given up": MONEY})
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _summary(ws: Worksheet, plan: Plan, view: ReportView) -> None:
    ws.cell(1, 1, view.title).font = Font(bold=True, size=14)
    ws.cell(2, 1, view.status_line)
    for r, line in enumerate(view.summary, start=3):
        ws.cell(r, 1, line)
    rows: list[tuple[str, Any, str]] = [
        ("expected gain", plan.expected_gain, MONEY),
        ("value before", plan.baseline_value, MONEY),
        ("value after", plan.planned_value, MONEY),
        ("cost", plan.cost, MONEY),
        ("improvements funded", len(plan.selected), "0"),
        ("candidates", view.candidates, "0"),
    ]
    unit = {"budget": MONEY, "team": "General"}
    rows += [(f"{use.name} used", use.used, unit[use.kind]) for use in view.totals.resources]
    rows += [(f"{use.name} available", use.capacity, unit[use.kind])
             for use in view.totals.resources if use.capacity is not None]
    _table(ws, "Summary", ("measure", "value"), [(name, value) for name, value, _ in rows],
           {}, top=7, formats=[fmt for _, _, fmt in rows])


def _plan(ws: Worksheet, view: ReportView) -> None:
    roadmap = view.roadmap is not None
    headers = ("rank", "id", "name", "owner", "cost", "staff", "gain", "share of gain",
               "cumulative cost", "cumulative share", "requires", "why it is in",
               *(("start", "finish", "when") if roadmap else ()))
    rows = [(r.rank, r.id, r.name, r.owner, r.cost, r.staff_text, r.gain, r.share,
             r.cumulative_cost, r.cumulative_share, ", ".join(r.requires), r.reason,
             *((r.start, r.finish, r.when) if roadmap else ()))
            for r in view.plan]
    _table(ws, "Plan", headers, rows, {"cost": MONEY, "gain": MONEY, "share of gain": SHARE,
                                       "cumulative cost": MONEY, "cumulative share": SHARE})


def _periods(ws: Worksheet, view: ReportView) -> None:
    assert view.roadmap is not None
    teams = view.roadmap.teams
    headers = ("period", "name", "spend", "budget", *(f"staff {t}" for t in teams),
               "starting", "value", "gain", "discounted gain", "cumulative gain")
    rows = []
    for p in view.roadmap.periods:
        staff = {use.name: use.used for use in p.staff}
        rows.append((p.period, p.name, p.spend, p.budget, *(staff.get(t) for t in teams),
                     ", ".join(p.starting), p.value, p.gain, p.discounted_gain,
                     p.cumulative_gain))
    _table(ws, "Periods", headers, rows, {h: MONEY for h in (
        "spend", "budget", "value", "gain", "discounted gain", "cumulative gain")})


def _table(ws: Worksheet, name: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
           number_formats: dict[str, str], *, top: int = 1,
           formats: Sequence[str] | None = None) -> None:
    """`rows` under `headers` from row `top`, as an Excel table named `name`."""
    for c, header in enumerate(headers, start=1):
        ws.cell(top, c, header)
        ws.column_dimensions[get_column_letter(c)].width = min(max(len(header) + 3, 12), 60)
    for r, row in enumerate(rows, start=top + 1):
        for c, (header, value) in enumerate(zip(headers, row, strict=True), start=1):
            cell = ws.cell(r, c, value)
            fmt = formats[r - top - 1] if formats is not None and c == 2 else \
                number_formats.get(header)
            if fmt:
                cell.number_format = fmt
    last = top + max(len(rows), 1)
    table = Table(displayName=f"cx{name}", ref=f"A{top}:{get_column_letter(len(headers))}"
                                              f"{last}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
