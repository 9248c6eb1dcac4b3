"""Reports of roadmaps (scenarios with `horizon:`): the Gantt chart, the value curve and the
per-period table in HTML, the roadmap tables in Markdown, and nothing of it without one.

The HTML is parsed (html5lib, as a browser would) and checked against the plan itself:
one bar per scheduled improvement over exactly its periods of work, a band over the
periods it pays off, a curve that ends at the plan's expected gain.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import html5lib
import pytest
import yaml
from typer.testing import CliRunner

import cxplan
from cxplan.cli import app
from cxplan.core.results import ImprovementResult, PeriodResult, Plan
from cxplan.report import (
    ReportView,
    build_roadmap,
    build_view,
    format_money,
    render_html,
    render_markdown,
    write_reports,
)
from cxplan.report.roadmap import AXIS_CHAR, CHART_WIDTH, NAME_SIZE, OWNER_SIZE, OWNER_WIDTH
from cxplan.report.textwidth import text_width
from cxplan.scenario import Scenario

from conftest import BundledPlan

ROOT = Path(__file__).parents[1]
SVG = "{http://www.w3.org/2000/svg}"
REL = 1e-9


def small_roadmap(**horizon: Any) -> dict[str, Any]:
    """Two improvements on a three-touchpoint journey; a month of work each, one of them
    two months, one person in IT: they cannot run at the same time."""
    return {
        "cxplan": 1,
        "name": "Small roadmap",
        "currency": "EUR",
        "horizon": {"periods": 4, "label": "month", "names": ["Jan", "Feb", "Mar", "Apr"],
                    **horizon},
        "budget": [300, 300, 300, 300],
        "teams": {"it": 1},
        "touchpoints": [
            {"id": "ad", "failure_probability": 0.2, "impact": 5},
            {"id": "branch", "failure_probability": 0.3, "impact": 40, "dropout": 0.5},
            {"id": "account", "failure_probability": 0.1, "impact": 10, "success_value": 20},
        ],
        "journey": {"entry": {"ad": 1.0},
                    "edges": [{"from": "ad", "to": "branch", "probability": 0.7},
                              {"from": "branch", "to": "account", "probability": 0.9}]},
        "personas": [{"id": "p", "customers": 100}],
        "improvements": [
            {"id": "queue-app", "name": "Queue app", "owner": "it-lead", "cost": 400,
             "duration": 2, "staff": {"it": 1},
             "effects": [{"touchpoint": "branch", "failure_reduction": 0.5}]},
            {"id": "sms", "name": "SMS reminder", "cost": 50, "staff": {"it": 1},
             "effects": [{"touchpoint": "ad", "failure_reduction": 0.4}]},
        ],
    }


@pytest.fixture(scope="module")
def microfinance(bundled_plan: BundledPlan) -> tuple[Plan, Scenario]:
    plan, scenario = bundled_plan(ROOT / "scenarios" / "microfinance-roadmap.yaml")
    return plan, scenario


@pytest.fixture(scope="module")
def view(microfinance: tuple[Plan, Scenario]) -> ReportView:
    return build_view(*microfinance)


@pytest.fixture(scope="module")
def page(view: ReportView) -> Element:
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(render_html(view))


def _svg(page: Element, cls: str) -> Element:
    found = [el for el in page.iter(f"{SVG}svg") if cls in el.get("class", "").split()]
    assert len(found) == 1, f"expected one svg.{cls}"
    return found[0]


def _classed(root: Element, tag: str, cls: str) -> list[Element]:
    return [el for el in root.iter(f"{SVG}{tag}") if cls in el.get("class", "").split()]


def _text(el: Element) -> str:
    return " ".join("".join(el.itertext()).split())


def close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(1.0, abs(a), abs(b))


# -- the HTML report ------------------------------------------------------------------------


def test_the_gantt_has_one_bar_per_scheduled_improvement_over_its_periods_of_work(
    microfinance: tuple[Plan, Scenario], view: ReportView, page: Element
) -> None:
    plan, _ = microfinance
    assert view.roadmap is not None
    gantt = _svg(page, "gantt")
    rows = _classed(gantt, "g", "gantt-row")
    assert [r.get("data-id") for r in rows] == [i.id for i in plan.improvements]
    assert len(rows) == len(plan.schedule) == 16
    columns = view.roadmap.gantt.columns
    for row in rows:
        start, finish = plan.schedule[row.get("data-id") or ""]
        assert (row.get("data-start"), row.get("data-finish")) == (str(start), str(finish))
        (bar,) = _classed(row, "rect", "work")
        x, width = float(bar.get("x") or 0), float(bar.get("width") or 0)
        # the bar covers exactly the columns of periods start..finish (1 unit inset)
        assert x == pytest.approx(columns[start - 1].x + 1, abs=0.02)
        assert x + width == pytest.approx(columns[finish - 1].x + columns[finish - 1].width - 1,
                                          abs=0.03)
        bands = _classed(row, "rect", "payoff")
        if finish == len(columns):
            assert bands == []
        else:  # it pays off from the next period to the end of the horizon
            (band,) = bands
            assert band.get("data-from") == str(finish + 1)
            assert float(band.get("x") or 0) == pytest.approx(columns[finish].x, abs=0.02)
            assert float(band.get("x") or 0) + float(band.get("width") or 0) == pytest.approx(
                columns[-1].x + columns[-1].width - 1, abs=0.03)


def test_each_gantt_row_names_the_improvement_and_its_owner(
    microfinance: tuple[Plan, Scenario], page: Element
) -> None:
    plan, _ = microfinance
    rows = _classed(_svg(page, "gantt"), "g", "gantt-row")
    for row, imp in zip(rows, plan.improvements, strict=True):
        (name,) = _classed(row, "text", "gantt-name")
        (owner,) = _classed(row, "text", "gantt-owner")
        # long names wrap onto more lines (one tspan each) instead of being cut
        shown = " ".join(_text(line) for line in name.iter(f"{SVG}tspan"))
        assert shown == imp.name
        assert _text(owner) == imp.owner
        assert row.find(f"{SVG}title") is not None
        assert imp.name in _text(row.find(f"{SVG}title"))  # type: ignore[arg-type]


def test_the_period_names_are_on_the_time_axis(
    microfinance: tuple[Plan, Scenario], page: Element
) -> None:
    plan, _ = microfinance
    assert plan.horizon is not None
    labels = [" ".join(line.text or "" for line in t.iter(f"{SVG}tspan"))
              for t in _classed(_svg(page, "gantt"), "text", "period-name")]
    # "2027 Q1" is wrapped into two lines ("2027", "Q1") in the narrow columns
    assert labels == plan.horizon["names"]


def test_the_cumulative_curve_ends_at_the_expected_gain(
    microfinance: tuple[Plan, Scenario], view: ReportView, page: Element
) -> None:
    plan, _ = microfinance
    curve = _svg(page, "value-curve")
    points = _classed(curve, "circle", "point")
    assert [p.get("data-period") for p in points] == [str(t) for t in range(1, 9)]
    values = [float(p.get("data-cumulative") or "nan") for p in points]
    assert close(values[-1], plan.expected_gain)
    assert values == pytest.approx([p.cumulative_gain for p in plan.periods], rel=REL)
    # the drawn curve goes through the points, and the last is the highest on the plot
    assert view.roadmap is not None
    path = view.roadmap.curve.path
    coordinates = [tuple(map(float, m)) for m in re.findall(r"([-\d.]+) ([-\d.]+)", path)]
    assert coordinates == [(float(p.get("cx") or 0), float(p.get("cy") or 0)) for p in points]
    assert min(y for _, y in coordinates) == coordinates[-1][1]
    (end,) = _classed(curve, "text", "curve-end")
    assert _text(end) == view.roadmap.curve.end_label == "+696k"
    # the bars are each period's discounted gain, on the curve's scale
    bars = _classed(curve, "rect", "period-gain")
    assert len(bars) == 8
    scale = (view.roadmap.curve.zero_y - coordinates[-1][1]) / plan.expected_gain
    for bar, period in zip(bars, plan.periods, strict=True):
        assert float(bar.get("height") or 0) == pytest.approx(
            period.discounted_gain * scale, abs=0.05)


def test_the_period_table_has_starts_spend_staff_and_gains(
    microfinance: tuple[Plan, Scenario], page: Element
) -> None:
    plan, _ = microfinance
    (table,) = [t for t in page.iter("table") if "periods-table" in t.get("class", "")]
    rows = [tr for tr in table.iter("tr") if tr.get("data-period")]
    assert len(rows) == len(plan.periods)
    names = {i.id: i.name for i in plan.improvements}
    for tr, period in zip(rows, plan.periods, strict=True):
        cells = [_text(td) for td in tr.findall("td")]
        assert cells[0] == period.name
        for imp in period.starting:
            assert names[imp] in cells[1]
        if not period.starting:
            assert cells[1] == "—"
        assert cells[2].startswith(format_money(period.spend, "USD"))
        assert period.budget is not None
        assert f"of {period.budget:,.0f}" in cells[2]
        for team, used in period.staff.items():
            assert f"{team} {used:g} / {period.capacity[team]:g}" in cells[3]
        assert cells[4].startswith(format_money(period.discounted_gain, "USD", sign=True))
        assert cells[5] == format_money(period.cumulative_gain, "USD", sign=True)
    assert rows[-1].findall("td")[5] is not None
    assert _text(rows[-1].findall("td")[5]) == format_money(plan.expected_gain, "USD", sign=True)


def test_the_roadmap_comes_right_after_the_summary(view: ReportView) -> None:
    html = render_html(view)
    summary = html.index('aria-label="Executive summary"')
    roadmap = html.index('id="roadmap"')
    assert summary < roadmap < html.index("<h2>Journey map</h2>") < html.index("<h2>The plan</h2>")
    assert "<script" not in html and "http://" not in html.replace(
        "http://www.w3.org/2000/svg", "")


def test_the_summary_says_it_is_a_roadmap_with_its_discounted_gain(
    microfinance: tuple[Plan, Scenario], view: ReportView
) -> None:
    plan, _ = microfinance
    what, cost, gain = view.summary
    assert what.startswith("A roadmap over 8 quarters (2027 Q1 to 2028 Q4): fund 16 of the 22 ")
    assert "starting in 2027 Q1 with" in what
    assert "over the 8 quarters" in cost and format_money(plan.cost, "USD") in cost
    assert "discounted at 2 % a quarter" in gain
    assert f"the roadmap gains {format_money(plan.expected_gain, 'USD')}" in gain
    breakdown = plan.breakdown
    assert breakdown is not None
    assert (f"Once all its work pays off, in a quarter ({breakdown.customers:,.0f} customers)"
            f", this avoids {breakdown.failures_avoided:,.0f} of the") in gain


def test_the_view_model_carries_the_schedule_and_the_periods(
    microfinance: tuple[Plan, Scenario], view: ReportView
) -> None:
    plan, _ = microfinance
    roadmap = view.roadmap
    assert roadmap is not None
    assert (roadmap.period_count, roadmap.label, roadmap.label_plural) == (8, "quarter",
                                                                          "quarters")
    assert roadmap.span == "2027 Q1 – 2028 Q4"
    assert [(i.id, i.start, i.finish) for i in roadmap.items] == [
        (imp, *plan.schedule[imp]) for imp in plan.schedule]
    assert close(sum(i.gain for i in roadmap.items), plan.expected_gain)
    kyc = next(i for i in roadmap.items if i.id == "kyc-remediation")
    assert (kyc.when, kyc.duration, kyc.pays_off_from) == ("2027 Q2 – 2027 Q3", 2, "2027 Q4")
    assert [r.when for r in view.plan] == [i.when for i in roadmap.items]
    first = roadmap.periods[0]
    assert first.budget_share == pytest.approx(first.spend / 80000)
    assert [s.name for s in first.staff] == list(plan.teams) == list(roadmap.teams)
    assert close(roadmap.periods[-1].cumulative_gain, plan.expected_gain)
    assert roadmap.periods[-1].cumulative_share == pytest.approx(1.0)


def test_left_out_reasons_look_at_each_period(view: ReportView) -> None:
    reasons = {row.id: row.reason for row in view.left_out}
    # risk is fully used in 2027 Q2 … 2028 Q2: a three-quarter job needing risk staff fits
    # in no run of three quarters, though the team's largest capacity is not used up
    assert reasons["same-day-disbursement"] == ("needs 1 risk staff, not free over any 3 "
                                                "quarters in a row")
    assert reasons["online-application"] == "requires unfunded e-kyc-id-validation"


# -- the Markdown report --------------------------------------------------------------------


def _table(markdown: str, heading: str) -> list[list[str]]:
    """The rows of the first table after `heading`, as cells (header row first)."""
    lines = markdown.split("\n" + heading + "\n", 1)[1].splitlines()
    first = next(k for k, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        table.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])])
    return [table[0], *table[2:]]  # without the alignment row


def test_markdown_has_the_roadmap_table(
    microfinance: tuple[Plan, Scenario], view: ReportView
) -> None:
    plan, _ = microfinance
    markdown = render_markdown(view)
    header, *rows = _table(markdown, "## Roadmap")
    assert header[:7] == ["#", "Improvement", "Id", "Owner", "Start", "Finish", "Pays off from"]
    assert header[7:] == ["Cost", "Staff", "Gain in this order", "Shapley value", "Share"]
    assert len(rows) == len(plan.improvements) + 1  # and the total
    for row, imp in zip(rows, plan.improvements, strict=False):
        start, finish = plan.schedule[imp.id]
        assert row[2] == imp.id.replace("_", "\\_")
        assert row[3] == imp.owner
        assert (row[4], row[5]) == (plan.periods[start - 1].name, plan.periods[finish - 1].name)
        assert row[7] == format_money(imp.cost, "USD")
        assert row[9] == format_money(imp.gain, "USD", sign=True)
        assert row[10].startswith(format_money(imp.shapley or 0.0, "USD", sign=True))
    assert rows[-1][9] == format_money(plan.expected_gain, "USD", sign=True)
    assert rows[-1][10] == format_money(plan.expected_gain, "USD", sign=True)


def test_markdown_has_the_per_period_table(
    microfinance: tuple[Plan, Scenario], view: ReportView
) -> None:
    plan, _ = microfinance
    header, *rows = _table(render_markdown(view), "### Per quarter")
    assert header == ["Quarter", "Starting", "Spend", "Budget", "Staff", "Gain",
                      "Discounted gain", "Cumulative gain"]
    assert [r[0] for r in rows] == [p.name for p in plan.periods]
    for row, period in zip(rows, plan.periods, strict=True):
        assert set(row[1].split(", ")) == (set(period.starting) or {"—"})
        assert row[2] == format_money(period.spend, "USD")
        assert row[4].startswith(f"it {period.staff['it']:g}/{period.capacity['it']:g}")
        assert row[7] == format_money(period.cumulative_gain, "USD", sign=True)
    assert rows[-1][7] == format_money(plan.expected_gain, "USD", sign=True)


# -- small roadmaps, no roadmap, hostile text ------------------------------------------------


def test_a_plan_without_a_horizon_has_no_roadmap_section() -> None:
    data = small_roadmap()
    del data["horizon"]
    data["budget"] = 500
    for imp in data["improvements"]:
        imp.pop("duration", None)
    scenario = cxplan.load_scenario(data)
    plan = cxplan.optimize(scenario)
    view = build_view(plan, scenario)
    assert view.roadmap is None
    assert all(r.when == "" and r.start is None for r in view.plan)
    html, markdown = render_html(view), render_markdown(view)
    for text in ('id="roadmap"', '<svg class="gantt"', '<svg class="value-curve"',
                 '<table class="periods-table"', '<th scope="col">When'):
        assert text not in html
    assert "## Roadmap" not in markdown and "### Per " not in markdown
    assert view.summary[0].startswith("Fund ")
    with pytest.raises(ValueError, match="no horizon"):
        build_roadmap(plan)


def test_a_small_roadmap_is_reported_without_discounting() -> None:
    scenario = cxplan.load_scenario(small_roadmap())
    plan = cxplan.optimize(scenario)
    view = build_view(plan, scenario)
    assert view.roadmap is not None
    # one IT person: the bigger fix first, the SMS once it is done
    assert plan.schedule == {"queue-app": (1, 2), "sms": (3, 3)}
    assert view.summary[0] == ("A roadmap over 4 months (Jan to Apr): fund 2 of the 2 candidate "
                               "improvements, starting in Jan with Queue app; the last starts "
                               "in Mar.")
    assert "(not discounted)" in view.summary[2]
    # the owner column is there as one improvement has an owner; the other's stays empty
    assert view.roadmap.gantt.show_owners
    assert [r.owner_label for r in view.roadmap.gantt.rows] == ["it-lead", ""]
    html = render_html(view)
    assert "Gain (discounted)" not in html and "undiscounted" not in html
    assert "Discounted gain" not in render_markdown(view)


def test_scenario_text_in_the_roadmap_is_escaped(tmp_path: Path) -> None:
    data = small_roadmap(names=["<b>Jan</b>", "Feb & co", "Mar", "Apr"])
    data["improvements"][1]["name"] = "<script>alert(1)</script> | *SMS*"
    data["improvements"][0]["owner"] = "<i>owner</i>"
    scenario = cxplan.load_scenario(data)
    plan = cxplan.optimize(scenario)
    html_path, md_path = write_reports(plan, scenario, tmp_path)
    html = html_path.read_text(encoding="utf-8")
    assert "<script" not in html and "<b>Jan" not in html and "<i>owner" not in html
    assert "&lt;script&gt;" in html and "Feb &amp; co" in html
    markdown = md_path.read_text(encoding="utf-8")
    assert "<script>" not in markdown and "\\<script\\>" in markdown
    assert "\\| \\*SMS\\*" in markdown  # cannot break the table or start emphasis


def _synthetic(count: int, periods: int) -> Plan:
    """A roadmap plan of `count` improvements with long names over `periods` months,
    for the layout only (numbers are made up but consistent)."""
    scenario = cxplan.load_scenario(small_roadmap())
    base = cxplan.optimize(scenario)
    names = [f"Month {t} of the programme" for t in range(1, periods + 1)]
    improvements = []
    schedule = {}
    for k in range(count):
        start = 1 + k % (periods - 2)
        finish = min(start + k % 3, periods)
        schedule[f"imp-{k}"] = (start, finish)
        improvements.append(ImprovementResult(
            id=f"imp-{k}", name=f"Improvement number {k} with a rather long descriptive name",
            owner=f"team-with-a-long-name-{k}", cost=10.0, staff={"it": 1.0}, rank=k + 1,
            gain=1.0, share=1.0 / count, start=start, finish=finish))
    rows = tuple(PeriodResult(
        period=t, name=names[t - 1], discount=1.0, spend=10.0, budget=20.0, staff={"it": 1.0},
        capacity={"it": 2.0}, starting=tuple(i for i, (s, _) in schedule.items() if s == t),
        working=(), finishing=(), paying_off=(), baseline_value=0.0, value=float(t),
        cumulative_gain=float(t * (t + 1) // 2)) for t in range(1, periods + 1))
    return dataclasses.replace(
        base, improvements=tuple(improvements), schedule=schedule, periods=rows,
        expected_gain=rows[-1].cumulative_gain,
        horizon={"periods": periods, "label": "month", "names": names, "discount_rate": 0.0,
                 "carry_over": False})


@pytest.mark.parametrize(("count", "periods"), [(40, 8), (40, 24), (12, 120)])
def test_many_improvements_and_periods_stay_readable(count: int, periods: int) -> None:
    roadmap = build_roadmap(_synthetic(count, periods))
    gantt = roadmap.gantt
    assert len(gantt.rows) == count and len(gantt.columns) == periods
    # rows stack without overlapping and stay inside the drawing
    for a, b in zip(gantt.rows, gantt.rows[1:], strict=False):
        assert a.y + a.height <= b.y
    assert gantt.rows[-1].y + gantt.rows[-1].height <= gantt.height
    for row in gantt.rows:
        # names and owners are wrapped, not cut: every word is there, each line fits
        assert " ".join(row.label_lines).replace(" ", "") == row.name.replace(" ", "")
        assert "".join(row.owner_lines).replace(" ", "") == (row.owner or "").replace(" ", "")
        assert all(text_width(line, NAME_SIZE) <= gantt.owner_x - gantt.name_x
                   for line in row.label_lines)
        assert all(text_width(line, OWNER_SIZE) <= OWNER_WIDTH for line in row.owner_lines)
        assert row.height >= 13 * max(len(row.label_lines), len(row.owner_lines))
        assert gantt.plot_x <= row.work_x and row.work_x + row.work_width <= gantt.width
        assert row.payoff_x + row.payoff_width <= gantt.plot_x + gantt.plot_width + 0.01
    # period names never run into each other, and say which period each labelled column is
    for axis in (gantt.columns, roadmap.curve.points):
        spans = []
        for c in axis:
            if not c.label_lines:
                continue
            width = max(len(line) for line in c.label_lines) * AXIS_CHAR
            left = c.label_x - width / 2 if c.label_anchor == "middle" else c.label_x
            spans.append((left, left + width))
            assert c.label_lines[0] in c.name or c.label_lines[0].rstrip("…") in c.name
        assert len(spans) >= min(periods, 4)
        for (_, right), (left, _) in itertools.pairwise(spans):
            assert right <= left + 0.5
        assert spans[-1][1] <= CHART_WIDTH + 0.5


def test_the_roadmap_report_renders_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_roadmap()), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["plan", str(path), "--report", str(out), "--quiet",
                                      "--no-marginals"])
    assert result.exit_code == 0, result.output
    html = (out / "small.html").read_text(encoding="utf-8")
    assert html.count('class="gantt-row"') == 2
    assert "## Roadmap" in (out / "small.md").read_text(encoding="utf-8")
