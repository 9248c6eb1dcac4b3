"""The report: view-model numbers agree with the plan, output is escaped, writes are atomic."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import pytest

import cxplan
from cxplan.core.results import Plan
from cxplan.errors import OutputError
from cxplan.report import (
    NO_STAGE,
    ReportView,
    build_view,
    format_gap,
    format_money,
    format_number,
    format_percent,
    render_html,
    render_markdown,
    report_slug,
    status_line,
    write_reports,
)
from cxplan.report import write as report_writer
from cxplan.report.render import markdown_escape
from cxplan.scenario import Scenario

ROOT = Path(__file__).parents[1]
REL = 1e-9


@pytest.fixture(scope="module")
def restaurant() -> tuple[Plan, Scenario]:
    scenario = cxplan.load_scenario(ROOT / "scenarios" / "restaurant.yaml")
    return cxplan.optimize(scenario), scenario


@pytest.fixture(scope="module")
def view(restaurant: tuple[Plan, Scenario]) -> ReportView:
    return build_view(*restaurant)


def small_scenario(name: str = "Small shop", **extra: Any) -> dict[str, Any]:
    """Three touchpoints, one without a stage, stages listed in a different order."""
    data: dict[str, Any] = {
        "cxplan": 1,
        "name": name,
        "currency": "EUR",
        "stages": ["purchase", "awareness"],
        "budget": 100,
        "teams": {"ops": 2},
        "touchpoints": [
            {"id": "ad", "stage": "awareness", "failure_probability": 0.3, "impact": 5,
             "dropout": 0.5},
            {"id": "till", "stage": "purchase", "failure_probability": 0.2, "impact": 20,
             "success_value": 50, "moment_of_truth": True},
            {"id": "stock", "failure_probability": 0.1, "impact": 10, "visible": False},
        ],
        "journey": {"entry": {"ad": 1.0},
                    "edges": [{"from": "ad", "to": "till", "probability": 0.8},
                              {"from": "till", "to": "stock", "probability": 0.5}]},
        "improvements": [
            {"id": "fix-ad", "name": "Clearer ad", "cost": 40, "staff": {"ops": 1},
             "effects": [{"touchpoint": "ad", "failure_reduction": 0.5}], "owner": "mkt"},
            {"id": "fix-till", "cost": 50,
             "effects": [{"touchpoint": "till", "failure_reduction": 0.5}]},
            {"id": "gold-till", "cost": 90,
             "effects": [{"touchpoint": "till", "failure_reduction": 0.9}]},
        ],
    }
    data.update(extra)
    return data


def close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(1.0, abs(a), abs(b))


# -- the view model -----------------------------------------------------------------------


def test_totals_equal_the_plan(restaurant: tuple[Plan, Scenario], view: ReportView) -> None:
    plan, _ = restaurant
    t = view.totals
    assert view.title == plan.scenario == "Restaurant visit"
    assert view.currency == "USD"
    assert view.source == "restaurant.yaml"  # no folders of the author's machine
    assert (t.baseline_value, t.planned_value, t.expected_gain, t.cost) == (
        plan.baseline_value, plan.planned_value, plan.expected_gain, plan.cost)
    assert t.budget == plan.budget
    assert plan.budget is not None
    assert t.budget_share == pytest.approx(plan.cost / plan.budget)
    assert t.remaining_budget == pytest.approx(plan.budget - plan.cost)
    assert [s.name for s in t.staff] == list(plan.teams)
    for use in t.staff:
        assert use.used == plan.staff_used[use.name]
        assert use.capacity == plan.teams[use.name]
        assert use.share == pytest.approx(use.used / plan.teams[use.name])
        assert use.bar is not None
        assert use.bar.width == pytest.approx(min(use.share or 0.0, 1.0) * 100, abs=1e-3)
    assert t.resources[0].kind == "budget"
    assert t.customers == sum(p.customers for p in plan.personas)


def test_plan_rows_follow_the_ranking_and_shares_sum_to_one(
    restaurant: tuple[Plan, Scenario], view: ReportView
) -> None:
    plan, _ = restaurant
    assert [r.id for r in view.plan] == [i.id for i in sorted(plan.improvements,
                                                               key=lambda i: i.rank)]
    assert [r.rank for r in view.plan] == list(range(1, len(plan.selected) + 1))
    assert sorted(r.id for r in view.plan) == sorted(plan.selected)
    assert sum(r.share for r in view.plan) == pytest.approx(1.0)
    assert sum(r.gain for r in view.plan) == pytest.approx(plan.expected_gain)
    assert sum(r.cost for r in view.plan) == pytest.approx(plan.cost)
    assert view.plan[-1].cumulative_share == pytest.approx(1.0)
    # a requirement is always funded and ranked above what needs it
    position = {r.id: r.rank for r in view.plan}
    assert all(position[req] < row.rank for row in view.plan for req in row.requires)
    assert any(row.requires for row in view.plan)  # guest-newsletter needs own-booking-page
    assert view.plan[-1].cumulative_cost == pytest.approx(plan.cost)
    for row, imp in zip(view.plan, sorted(plan.improvements, key=lambda i: i.rank),
                        strict=True):
        assert (row.name, row.owner, row.cost, row.gain, row.share) == (
            imp.name, imp.owner, imp.cost, imp.gain, imp.share)


def test_left_out_are_the_other_candidates(
    restaurant: tuple[Plan, Scenario], view: ReportView
) -> None:
    plan, scenario = restaurant
    expected = [i.id for i in scenario.improvements if i.id not in plan.selected]
    assert [r.id for r in view.left_out] == expected
    assert all(r.reason for r in view.left_out)
    assert view.candidates == len(scenario.improvements)


def test_personas_match_the_plan(restaurant: tuple[Plan, Scenario], view: ReportView) -> None:
    plan, _ = restaurant
    for row, p in zip(view.personas, plan.personas, strict=True):
        assert (row.id, row.customers, row.baseline_value, row.planned_value) == (
            p.id, p.customers, p.baseline_value, p.planned_value)
        assert (row.baseline_abandonment, row.planned_abandonment) == (
            p.baseline_abandonment, p.planned_abandonment)
        assert (row.baseline_failures, row.planned_failures) == (
            p.baseline_failures, p.planned_failures)
        assert row.gain == p.gain
    assert sum(r.gain for r in view.personas) == pytest.approx(plan.expected_gain)
    assert sum(r.share for r in view.personas) == pytest.approx(1.0)


def test_stage_values_sum_to_the_total(
    restaurant: tuple[Plan, Scenario], view: ReportView
) -> None:
    plan, scenario = restaurant
    assert [s.name for s in view.stages] == [
        s for s in scenario.stages or [] if any(tp.stage == s for tp in scenario.touchpoints)]
    assert close(sum(s.baseline_value for s in view.stages), plan.baseline_value)
    assert close(sum(s.planned_value for s in view.stages), plan.planned_value)
    assert close(sum(s.gain for s in view.stages), plan.expected_gain)
    failures = sum(p.customers * p.planned_failures for p in plan.personas)
    assert close(sum(s.planned_failures for s in view.stages), failures)
    assert sum(s.touchpoints for s in view.stages) == len(scenario.touchpoints)
    # every bar lies inside the chart, and zero is where the bars meet
    for s in view.stages:
        for bar in (s.baseline_bar, s.planned_bar):
            assert bar.start >= 0 and bar.start + bar.width <= 100 + 1e-6


def test_touchpoint_rows_add_up_to_the_stages(
    restaurant: tuple[Plan, Scenario], view: ReportView
) -> None:
    plan, scenario = restaurant
    assert [t.id for t in view.touchpoints] == [tp.id for tp in scenario.touchpoints]
    for stage in view.stages:
        rows = [t for t in view.touchpoints if t.stage == stage.name]
        assert close(sum(t.planned_failures for t in rows), stage.planned_failures)
    assert plan.evaluation is not None
    assert close(sum(t.planned_loss for t in view.touchpoints),
                 float(plan.evaluation.weighted("losses").sum()))
    improved = {i for t in view.touchpoints for i in t.improved_by}
    assert improved <= set(plan.selected)


def test_stage_order_and_touchpoints_without_a_stage() -> None:
    scenario = cxplan.load_scenario(small_scenario())
    plan = cxplan.optimize(scenario)
    view = build_view(plan, scenario)
    assert [s.name for s in view.stages] == ["purchase", "awareness", NO_STAGE]
    assert close(sum(s.planned_value for s in view.stages), plan.planned_value)
    stock = next(t for t in view.touchpoints if t.id == "stock")
    assert (stock.stage, stock.visible, stock.front_stage) == (NO_STAGE, False, "back")
    # values can be negative: zero sits inside the chart and negative bars end at it
    assert 0 < view.stage_axis <= 100
    for s in view.stages:
        if s.planned_value < 0:
            assert s.planned_bar.start + s.planned_bar.width == pytest.approx(view.stage_axis)


def test_the_plan_without_stored_evaluations_gives_the_same_view(
    restaurant: tuple[Plan, Scenario], view: ReportView
) -> None:
    plan, scenario = restaurant
    bare = dataclasses.replace(plan, evaluation=None, baseline=None)
    again = build_view(bare, scenario)
    for a, b in zip(again.stages, view.stages, strict=True):
        assert close(a.planned_value, b.planned_value)
        assert close(a.baseline_failures, b.baseline_failures)


def test_a_plan_from_another_scenario_is_refused(restaurant: tuple[Plan, Scenario]) -> None:
    plan, _ = restaurant
    with pytest.raises(ValueError, match="does not have"):
        build_view(plan, cxplan.load_scenario(small_scenario()))


def test_summary_has_three_sentences_with_the_plan_numbers(
    restaurant: tuple[Plan, Scenario], view: ReportView
) -> None:
    plan, _ = restaurant
    what, cost, gain = view.summary
    assert what.startswith(f"Fund {len(plan.selected)} of the ")
    assert view.plan[0].name in what
    assert format_money(plan.cost, "USD") in cost and "budget" in cost
    assert format_money(plan.expected_gain, "USD") in gain
    assert all(s.endswith(".") for s in view.summary)


def test_nothing_funded_reads_sensibly() -> None:
    scenario = cxplan.load_scenario(small_scenario(budget=0))
    plan = cxplan.optimize(scenario)
    view = build_view(plan, scenario)
    assert plan.selected == () and view.plan == ()
    assert view.summary[0].startswith("Fund none of the 3 candidate improvements")
    assert "needs" in view.left_out[0].reason or "costs" in view.left_out[0].reason
    assert "Nothing is funded" in render_html(view)


def test_status_lines() -> None:
    assert status_line("optimal", 0.0) == "Proven optimal"
    assert status_line("time_limit", 0.0002) == "Within 0.02 % of optimal (time limit)"
    assert status_line("time_limit", 0.0123) == "Within 1.2 % of optimal (time limit)"
    assert "no bound" in status_line("time_limit", float("inf"))
    assert status_line("optimal", 5e-7).startswith("Proven optimal (within 0.00005 %")


def test_number_formatting() -> None:
    assert format_money(1234567.8, "USD") == "USD 1,234,568"
    assert format_money(-1234.5, "EUR", 2) == "EUR -1,234.50"
    assert format_money(74019.4, None, sign=True) == "+74,019"
    assert format_number(-0.0001) == "0"  # never "-0"
    assert format_percent(0.2486) == "24.9 %"
    assert format_percent(None) == "n/a"
    assert format_gap(0.0) == "0 %"
    assert format_gap(0.000213) == "0.021 %"
    assert format_gap(0.5) == "50 %"
    assert markdown_escape("a|b <script> *x* snake_case _lead") == (
        r"a\|b \<script\> \*x\* snake_case \_lead")


# -- rendering ----------------------------------------------------------------------------


def test_html_escapes_scenario_text() -> None:
    evil = "<script>alert('x')</script> & Co"
    scenario = cxplan.load_scenario(small_scenario(name=evil))
    view = build_view(cxplan.optimize(scenario), scenario)
    html = render_html(view)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in html
    markdown = render_markdown(view)
    assert "<script>" not in markdown
    assert r"\<script\>" in markdown


def test_html_is_self_contained(view: ReportView) -> None:
    html = render_html(view)
    assert html.lstrip().startswith("<!doctype html>")
    assert "<style>" in html and "<svg" in html
    # url(#id) points inside the page (the map's arrowheads and hatching); nothing else may
    assert not re.search(r"<script|<link|<img|\ssrc=|https?://|@import|url\((?!#)", html, re.I)
    assert "Content-Security-Policy" in html
    for row in view.plan:
        assert row.name in html.replace("&#39;", "'")


def test_markdown_has_the_tables(view: ReportView) -> None:
    markdown = render_markdown(view)
    assert markdown.startswith("# Restaurant visit\n")
    assert "**Proven optimal**" in markdown
    for row in view.plan:
        assert f"| {row.rank} | " in markdown
    # every table row has as many cells as its header
    lines = markdown.splitlines()
    tables = 0
    for i, line in enumerate(lines):
        if re.fullmatch(r"\|(-+:?\|)+", line):
            tables += 1
            width = lines[i - 1].count("|") - lines[i - 1].count(r"\|")
            j = i + 1
            while j < len(lines) and lines[j].startswith("|"):
                assert lines[j].count("|") - lines[j].count(r"\|") == width, lines[j]
                j += 1
    # totals, budget and staff, plan, left out, personas, stages, one per persona's routes,
    # assumptions, touchpoints, journey steps, criteria
    assert view.assumptions and view.journey_map
    assert tables == 8 + len(view.routes) + 2


# -- writing ------------------------------------------------------------------------------


def test_both_files_are_written(restaurant: tuple[Plan, Scenario], tmp_path: Path) -> None:
    plan, scenario = restaurant
    target = tmp_path / "new" / "folder"
    paths = write_reports(plan, scenario, target)
    assert paths == [target / "restaurant.html", target / "restaurant.md"]
    assert sorted(p.name for p in target.iterdir()) == ["restaurant.html", "restaurant.md"]
    assert "Restaurant visit" in paths[0].read_text(encoding="utf-8")
    assert paths[1].read_text(encoding="utf-8").startswith("# Restaurant visit")
    # temporary files are private; the reports get ordinary permissions
    mask = os.umask(0)
    os.umask(mask)
    assert all(p.stat().st_mode & 0o777 == 0o666 & ~mask for p in paths)


def test_slug_comes_from_the_title_without_a_file() -> None:
    scenario = cxplan.load_scenario(small_scenario(name="Café de Flore: Q3 / 2025"))
    assert scenario.source == "<dict>"
    assert report_slug(scenario) == "cafe-de-flore-q3-2025"
    unnamed = small_scenario()
    del unnamed["name"]
    assert report_slug(cxplan.load_scenario(unnamed)) == "dict"


def test_user_templates_override_the_built_in_ones(
    restaurant: tuple[Plan, Scenario], tmp_path: Path
) -> None:
    plan, scenario = restaurant
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.md.j2").write_text(
        "Custom: {{ view.title }} gains {{ view.totals.expected_gain | money }}\n",
        encoding="utf-8")
    html, md = write_reports(plan, scenario, tmp_path / "out", templates_dir=templates)
    assert md.read_text(encoding="utf-8") == (
        f"Custom: Restaurant visit gains {format_money(plan.expected_gain, 'USD')}\n")
    assert "<!doctype html>" in html.read_text(encoding="utf-8")  # falls back to built-in


def test_a_rendering_error_leaves_the_old_reports_intact(
    restaurant: tuple[Plan, Scenario], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, scenario = restaurant
    html, md = write_reports(plan, scenario, tmp_path)
    before = {p: p.read_bytes() for p in (html, md)}

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(report_writer, "render_markdown", broken)
    with pytest.raises(RuntimeError, match="template exploded"):
        write_reports(plan, scenario, tmp_path)
    assert {p: p.read_bytes() for p in (html, md)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["restaurant.html", "restaurant.md"]


def test_a_write_error_leaves_no_temporary_files(
    restaurant: tuple[Plan, Scenario], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, scenario = restaurant
    html, md = write_reports(plan, scenario, tmp_path)
    before = {p: p.read_bytes() for p in (html, md)}
    calls = []

    def failing_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:  # the second report: the first is already staged
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OutputError, match="No space left"):
        write_reports(plan, scenario, tmp_path)
    assert {p: p.read_bytes() for p in (html, md)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["restaurant.html", "restaurant.md"]


def test_a_time_limited_plan_says_how_far_from_optimal_it_may_be(
    restaurant: tuple[Plan, Scenario]
) -> None:
    plan, scenario = restaurant
    stopped = dataclasses.replace(plan, status="time_limit", gap=0.0002)
    view = build_view(stopped, scenario)
    assert view.status_line == "Within 0.02 % of optimal (time limit)"
    assert "Within 0.02 % of optimal (time limit)" in render_html(view)
    assert "**Within 0.02 % of optimal (time limit)**" in render_markdown(view)
    assert all("time limit" in r.reason or "costs" in r.reason or "needs" in r.reason
               or "requires" in r.reason or "excludes" in r.reason for r in view.left_out)


def test_a_scenario_without_budget_or_teams_renders() -> None:
    data = small_scenario(teams={})
    del data["budget"]
    for imp in data["improvements"]:
        imp.pop("staff", None)
    scenario = cxplan.load_scenario(data)
    view = build_view(cxplan.optimize(scenario), scenario)
    assert view.totals.budget_use is None and view.totals.resources == ()
    assert view.totals.budget_share is None
    assert "(no budget limit)." in view.summary[1]
    assert "no budget limit" in render_html(view)
    assert "| Budget | no limit |" in render_markdown(view)
