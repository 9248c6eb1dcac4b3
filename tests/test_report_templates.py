"""Report templates: override order, block overrides, the sandbox, the documented view model."""

from __future__ import annotations

import dataclasses
import re
import sys
import typing
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cxplan
from cxplan.cli import app
from cxplan.core.results import Plan
from cxplan.errors import TemplateError
from cxplan.report import ReportView, build_view, render_html, render_markdown, write_reports
from cxplan.report import analysis as report_analysis
from cxplan.scenario import Scenario

ROOT = Path(__file__).parents[1]
RESTAURANT = ROOT / "scenarios" / "restaurant.yaml"


@pytest.fixture(scope="module")
def restaurant() -> tuple[Plan, Scenario]:
    scenario = cxplan.load_scenario(RESTAURANT)
    return cxplan.optimize(scenario), scenario


@pytest.fixture(scope="module")
def view(restaurant: tuple[Plan, Scenario]) -> ReportView:
    return build_view(*restaurant)


def folder(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    path = tmp_path / name
    path.mkdir()
    for file, text in files.items():
        (path / file).write_text(text, encoding="utf-8")
    return path


# -- lookup order -------------------------------------------------------------------------


def test_user_folder_beats_plugin_folders_which_beat_the_built_ins(
    view: ReportView, tmp_path: Path
) -> None:
    user = folder(tmp_path, "user", {"report.md.j2": "user {{ view.title }}\n"})
    first = folder(tmp_path, "plugin1", {"report.md.j2": "plugin1\n",
                                         "report.html.j2": "plugin1 html {{ view.title }}"})
    second = folder(tmp_path, "plugin2", {"report.html.j2": "plugin2 html"})
    assert render_markdown(view, templates_dir=user, plugin_templates=[first, second]) == (
        "user Restaurant visit\n")
    assert render_html(view, templates_dir=user, plugin_templates=[first, second]) == (
        "plugin1 html Restaurant visit")
    assert render_html(view, plugin_templates=[second]) == "plugin2 html"
    assert render_html(view).startswith("<!doctype html>")


def test_a_block_can_be_overridden_by_extending_the_built_in(
    view: ReportView, tmp_path: Path
) -> None:
    user = folder(tmp_path, "user", {"report.html.j2": (
        '{% extends "builtin/report.html.j2" %}'
        '{% block summary %}<p class="mine">In short: {{ view.summary[0] }}</p>{% endblock %}'
        '{% block style %}{{ super() }} h2 { color: #7a1f1f; }{% endblock %}')})
    html = render_html(view, templates_dir=user)
    assert '<p class="mine">In short: Fund 5 of the 11' in html
    assert 'aria-label="Executive summary"' not in html  # the block was replaced
    assert "h2 { color: #7a1f1f; }" in html and ".journey-map" in html  # super() kept
    assert 'class="journey-map"' in html  # everything else is the built-in page


def test_the_map_partial_can_be_replaced_alone(view: ReportView, tmp_path: Path) -> None:
    user = folder(tmp_path, "user", {"journey_map.html.j2": (
        "<p id=\"my-map\">{{ view.journey_map.nodes | length }} touchpoints</p>")})
    html = render_html(view, templates_dir=user)
    assert '<p id="my-map">9 touchpoints</p>' in html
    assert 'class="journey-map"' not in html
    assert "<h2>The plan</h2>" in html


def test_write_reports_passes_plugin_folders(
    restaurant: tuple[Plan, Scenario], tmp_path: Path
) -> None:
    plan, scenario = restaurant
    plugin = folder(tmp_path, "plugin", {"report.md.j2": "from the plugin\n"})
    _, md = write_reports(plan, scenario, tmp_path / "out", plugin_templates=[plugin])
    assert md.read_text(encoding="utf-8") == "from the plugin\n"


def test_a_missing_templates_folder_is_a_clear_error(view: ReportView, tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="does not exist"):
        render_html(view, templates_dir=tmp_path / "nope")


# -- the sandbox --------------------------------------------------------------------------

HOSTILE = [
    "{{ view.__class__.__init__.__globals__ }}",
    "{{ view.totals.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ view.title.format.__self__ }}",
    "{{ '{0.__class__}'.format(view) }}",
    "{% for r in view.plan %}{{ r.__reduce_ex__(2) }}{% endfor %}",
    "{{ view.plan.append(1) }}",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_a_template_reaching_for_internals_gets_a_clear_error(
    view: ReportView, tmp_path: Path, source: str
) -> None:
    user = folder(tmp_path, "evil", {"report.html.j2": "<p>\n" + source + "\n</p>"})
    with pytest.raises(TemplateError) as raised:
        render_html(view, templates_dir=user)
    message = str(raised.value)
    assert "report.html.j2" in message
    assert not re.search(r"uid=\d+", message)


def test_the_sandbox_error_names_the_template_and_line(view: ReportView, tmp_path: Path) -> None:
    user = folder(tmp_path, "evil", {
        "report.md.j2": "fine\n{{ view.title }}\n{{ view.__class__ }}\n"})
    with pytest.raises(TemplateError, match=r"report\.md\.j2, line 3: not allowed .*sandbox"):
        render_markdown(view, templates_dir=user)


def test_broken_templates_are_template_errors(view: ReportView, tmp_path: Path) -> None:
    syntax = folder(tmp_path, "syntax", {"report.html.j2": "ok\n{% if %}\n"})
    with pytest.raises(TemplateError, match=r"report\.html\.j2, line 2"):
        render_html(view, templates_dir=syntax)
    undefined = folder(tmp_path, "undefined", {"report.html.j2": "{{ view.no_such_field }}"})
    with pytest.raises(TemplateError, match="no_such_field"):
        render_html(view, templates_dir=undefined)
    missing = folder(tmp_path, "missing", {"report.html.j2": '{% include "nowhere.j2" %}'})
    with pytest.raises(TemplateError, match=r"nowhere\.j2"):
        render_html(view, templates_dir=missing)


def test_the_command_line_reports_a_hostile_template_without_a_traceback(
    tmp_path: Path
) -> None:
    evil = folder(tmp_path, "evil", {"report.html.j2": "{{ view.__class__.__mro__ }}"})
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["plan", str(RESTAURANT), "--report", str(out),
                                      "--templates", str(evil)])
    assert result.exit_code == 2, result.output
    assert "error: template report.html.j2, line 1: not allowed" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())  # nothing written


# -- the documented view model ------------------------------------------------------------


def _documented_classes() -> dict[str, set[str]]:
    text = (ROOT / "docs" / "report-view-model.md").read_text(encoding="utf-8")
    sections: dict[str, set[str]] = {}
    for block in text.split("\n### ")[1:]:
        name, _, body = block.partition("\n")
        sections[name.strip()] = set(re.findall(r"`([a-z_]+)`", body))
    return sections


def _view_model_classes() -> dict[str, type]:
    """Every dataclass reachable from ReportView through its fields' type hints."""
    found: dict[str, type] = {}
    modules = {**vars(cxplan.report.view), **vars(cxplan.report.journeymap),
               **vars(report_analysis)}

    def visit(cls: type) -> None:
        if cls.__name__ in found:
            return
        found[cls.__name__] = cls
        own = vars(sys.modules[cls.__module__])  # a class of another layer (core.results)
        for hint in typing.get_type_hints(cls, {**own, **modules}).values():
            for candidate in _flatten(hint):
                if dataclasses.is_dataclass(candidate) and isinstance(candidate, type):
                    visit(candidate)

    visit(ReportView)
    return found


def _flatten(hint: object) -> list[object]:
    args = typing.get_args(hint)
    return [hint] if not args else [x for a in args for x in _flatten(a)]


def test_every_view_model_field_is_documented() -> None:
    documented = _documented_classes()
    classes = _view_model_classes()
    assert len(classes) >= 20  # ReportView, Totals, ..., the map's and the routes' classes
    missing = []
    for name, cls in classes.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        properties = {k for k, v in vars(cls).items()
                      if isinstance(v, property) and not k.startswith("_")}
        for field in sorted(fields | properties):
            if field not in documented.get(name, set()):
                missing.append(f"{name}.{field}")
    assert not missing, f"document these in docs/report-view-model.md: {missing}"
