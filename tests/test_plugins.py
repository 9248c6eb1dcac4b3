"""Plugins: every hook works as documented, and every way a plugin can fail names it.

Built-in criteria use the same hook as outside plugins. A plugin that fails to import,
raises, or returns the wrong type is a `PluginError` naming the plugin and the hook,
never a bare traceback or a silently wrong plan.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pulp
import pytest
from pydantic import BaseModel, ConfigDict

from cxplan.plugin_api import (
    Criterion,
    EvaluationContext,
    ModelView,
    Plan,
    PluginError,
    ReportSection,
    Scenario,
    ScenarioError,
    hookimpl,
    load_scenario,
    optimize,
    write_reports,
)
from cxplan.plugins import BUILTIN_PLUGINS, CxplanPlugins

SCENARIO: dict[str, Any] = {
    "cxplan": 1, "budget": 10,
    "touchpoints": [{"id": "a", "failure_probability": 0.5, "impact": 10},
                    {"id": "b", "failure_probability": 0.5, "impact": 10,
                     "moment_of_truth": True}],
    "journey": {"entry": {"a": 1.0}, "edges": [{"from": "a", "to": "b", "probability": 1.0}]},
    "improvements": [
        {"id": "fix-a", "cost": 10, "effects": [{"touchpoint": "a", "failure_reduction": 0.6}]},
        {"id": "fix-b", "cost": 10, "effects": [{"touchpoint": "b", "failure_reduction": 0.5}]},
    ],
}


class FailuresAtB(Criterion):
    """Expected failures avoided at touchpoint b (an exact linear criterion)."""

    name = "failures_avoided_at_b"
    description = "failures avoided at b"
    unit = "failures"

    def model_term(self, ctx: ModelView) -> pulp.LpAffineExpression:
        t = ctx.touchpoint_index["b"]
        base = ctx.baseline.personas[0].failures[t]
        return base - ctx.failures(0, t)

    def evaluate(self, ctx: EvaluationContext) -> float:
        t = ctx.journey.index["b"]
        return float(ctx.baseline.personas[0].failures[t] - ctx.evaluation.personas[0].failures[t])


def manager_with(*plugins: tuple[str, object]) -> CxplanPlugins:
    pm = CxplanPlugins(load_entry_points=False)
    for name, plugin in plugins:
        pm.register(plugin, name)
    return pm


def plugin(**hooks: Any) -> SimpleNamespace:
    """A plugin object whose hooks are the given functions, marked as implementations."""
    return SimpleNamespace(**{name: hookimpl(function) for name, function in hooks.items()})


def criteria_plugin(value: Any) -> SimpleNamespace:
    return plugin(cxplan_criteria=lambda: value)


def plan_with(pm: CxplanPlugins, **changes: Any) -> Plan:
    return optimize(load_scenario({**SCENARIO, **changes}, plugins=pm), plugins=pm)


# -- criteria -------------------------------------------------------------------------------


def test_the_built_in_criteria_are_registered_through_the_hook() -> None:
    pm = CxplanPlugins(load_entry_points=False)
    assert set(BUILTIN_PLUGINS) <= set(pm.plugin_names())
    assert pm.criteria_names() == ["expected_experience", "moments_of_truth", "net_value",
                                   "quick_wins", "risk_adjusted"]
    assert pm.criterion_owner("quick_wins") == "cxplan.criteria.quick_wins"


def test_a_plugin_criterion_steers_the_plan() -> None:
    pm = manager_with(("mot", criteria_plugin([FailuresAtB()])))
    assert plan_with(pm).selected == ("fix-a",)
    by_b = plan_with(pm, criteria={"failures_avoided_at_b": 1})
    assert by_b.selected == ("fix-b",)
    assert by_b.criteria["failures_avoided_at_b"].value == pytest.approx(0.25)


def test_an_unknown_criterion_in_a_scenario_is_a_validation_error() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario({**SCENARIO, "criteria": {"expected_experiense": 1}},
                      criteria=["expected_experience"])
    assert "did you mean 'expected_experience'" in str(caught.value)


def test_two_criteria_with_one_name_name_both_plugins() -> None:
    pm = manager_with(("first", criteria_plugin([FailuresAtB()])),
                      ("second", criteria_plugin([FailuresAtB()])))
    with pytest.raises(PluginError) as caught:
        pm.criteria()
    assert "first" in str(caught.value) and "second" in str(caught.value)


def test_a_plugin_criterion_may_not_reuse_a_built_in_name() -> None:
    class Impostor(FailuresAtB):
        name = "expected_experience"

    pm = manager_with(("impostor", criteria_plugin([Impostor()])))
    with pytest.raises(PluginError, match=r"impostor.*cxplan\.criteria\.experience"):
        pm.criteria()


@pytest.mark.parametrize("bad", ["not a list", [object()], [FailuresAtB], 42])
def test_a_criteria_hook_returning_the_wrong_type_is_named(bad: Any) -> None:
    pm = manager_with(("sloppy", criteria_plugin(bad)))
    with pytest.raises(PluginError) as caught:
        pm.criteria()
    assert caught.value.plugin == "sloppy" and caught.value.hook == "cxplan_criteria"


def test_a_hook_returning_none_adds_nothing() -> None:
    pm = manager_with(("quiet", criteria_plugin(None)))
    assert "failures_avoided_at_b" not in pm.criteria_names()


def test_a_hook_that_raises_is_named() -> None:
    def boom() -> Any:
        raise RuntimeError("boom")

    pm = manager_with(("explosive", plugin(cxplan_criteria=boom)))
    with pytest.raises(PluginError, match=r"explosive.*cxplan_criteria.*boom"):
        pm.criteria()


class Broken(FailuresAtB):
    name = "broken"
    fault = ""

    def model_term(self, ctx: ModelView) -> Any:
        if self.fault == "term raises":
            raise KeyError("no such touchpoint")
        if self.fault == "term is text":
            return "failures at b"
        return super().model_term(ctx)

    def evaluate(self, ctx: EvaluationContext) -> Any:
        if self.fault == "evaluate is nan":
            return math.nan
        if self.fault == "evaluate is text":
            return "many"
        return super().evaluate(ctx)


@pytest.mark.parametrize(("fault", "message"), [
    ("term raises", r"criterion 'broken', model_term: raised KeyError"),
    ("term is text", r"model_term: must return a linear expression"),
    ("evaluate is nan", r"evaluate: must return a finite number, got nan"),
    ("evaluate is text", r"evaluate: must return a finite number, got 'many'"),
])
def test_a_criterion_that_fails_while_planning_is_named(fault: str, message: str) -> None:
    criterion = Broken()
    criterion.fault = fault
    pm = manager_with(("shaky", criteria_plugin([criterion])))
    with pytest.raises(PluginError, match=message) as caught:
        plan_with(pm, criteria={"broken": 1})
    assert caught.value.plugin == "shaky"


def test_a_criterion_whose_model_term_is_not_exact_is_caught() -> None:
    class Liar(FailuresAtB):
        name = "liar"

        def evaluate(self, ctx: EvaluationContext) -> float:
            return super().evaluate(ctx) + 1.0

    pm = manager_with(("fibber", criteria_plugin([Liar()])))
    with pytest.raises(PluginError) as caught:
        plan_with(pm, criteria={"liar": 1})
    # the plugin's fault (exit code 4), with the selection and both values to reproduce it
    assert caught.value.plugin == "fibber" and caught.value.exit_code == 4
    assert ("criterion 'liar': its model_term and its evaluate disagree on the selection "
            "[fix-b]: model_term gives 0.25, evaluate 1.25") in str(caught.value)


# -- loading --------------------------------------------------------------------------------


def test_a_plugin_module_that_fails_to_import_is_named() -> None:
    pm = CxplanPlugins(load_entry_points=False)
    with pytest.raises(PluginError, match="no_such_module_for_cxplan") as caught:
        pm.register_module("no_such_module_for_cxplan")
    assert caught.value.hook == "import"


def test_a_function_named_like_a_hook_but_not_marked_is_an_error() -> None:
    def cxplan_criteria() -> list[Criterion]:
        return [FailuresAtB()]

    with pytest.raises(PluginError, match=r"forgetful.*not marked with @cxplan.hookimpl"):
        manager_with(("forgetful", SimpleNamespace(cxplan_criteria=cxplan_criteria)))


def test_a_misspelled_hook_is_an_error_that_suggests_the_name() -> None:
    with pytest.raises(PluginError, match=r"no hook named cxplan_criterias .*did you mean "
                                          r"'cxplan_criteria'"):
        manager_with(("typo", plugin(cxplan_criterias=lambda: [])))


def test_a_hook_with_an_unknown_argument_is_rejected_at_registration() -> None:
    with pytest.raises(PluginError, match="odd") as caught:
        manager_with(("odd", plugin(cxplan_constraints=lambda context: [])))
    assert caught.value.hook == "register"


def test_a_local_plugin_file_is_loaded_by_path(tmp_path: Path) -> None:
    path = tmp_path / "my_rule.py"
    path.write_text("import cxplan\n__version__ = '2.1'\n\n"
                    "@cxplan.hookimpl\n"
                    "def cxplan_constraints(ctx):\n"
                    "    return [('no-fix-a', ctx.x['fix-a'] <= 0)]\n", encoding="utf-8")
    pm = CxplanPlugins(load_entry_points=False, extra=[str(path)])
    assert plan_with(pm).selected == ("fix-b",)
    (info,) = [i for i in pm.info() if i.name == "my_rule"]
    assert info.version == "2.1" and info.hooks == ("cxplan_constraints",)
    assert info.source == f"--plugin {path}"


def test_a_local_plugin_module_is_found_in_the_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cxplan_test_local_rule.py").write_text(
        "import cxplan\n\n@cxplan.hookimpl\ndef cxplan_constraints(ctx):\n"
        "    return [('no-fix-a', ctx.x['fix-a'] <= 0)]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    pm = CxplanPlugins(load_entry_points=False, extra=["cxplan_test_local_rule"])
    assert plan_with(pm).selected == ("fix-b",)


def test_a_missing_or_broken_local_plugin_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"'nowhere'.*no such plugin file"):
        CxplanPlugins(load_entry_points=False, extra=[str(tmp_path / "nowhere.py")])
    broken = tmp_path / "broken_rule.py"
    broken.write_text("import cxplan\nraise ValueError('half written')\n", encoding="utf-8")
    with pytest.raises(PluginError, match=r"'broken_rule', hook import: ValueError: half"):
        CxplanPlugins(load_entry_points=False, extra=[str(broken)])
    lenient = CxplanPlugins(load_entry_points=False, extra=[str(broken)], strict=False)
    (failed,) = [i for i in lenient.info() if i.error]
    assert failed.name == "broken_rule" and "half written" in failed.error


def test_a_disabled_plugin_is_not_loaded_and_its_criterion_says_so() -> None:
    pm = CxplanPlugins(load_entry_points=False, disabled=["cxplan.criteria.quick_wins"])
    assert "quick_wins" not in pm.criteria_names()
    with pytest.raises(ScenarioError, match="unknown criterion 'quick_wins': its plugin "
                                            r"'cxplan.criteria.quick_wins' is disabled"):
        load_scenario({**SCENARIO, "criteria": {"quick_wins": 1}}, plugins=pm)


def test_disabling_a_plugin_that_does_not_exist_is_a_warning() -> None:
    pm = CxplanPlugins(load_entry_points=False, disabled=["cxplan.criteria.quickwins"])
    assert pm.warnings == ["--disable-plugin cxplan.criteria.quickwins: no plugin of that "
                           "name is installed, so nothing was disabled (did you mean "
                           "'cxplan.criteria.quick_wins'?)"]
    assert "quick_wins" in pm.criteria_names()


def test_an_entry_point_that_fails_to_load_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    import cxplan.plugins.manager

    broken = EntryPoint(name="acme", value="acme_cx_plugin_that_is_not_there",
                        group="cxplan")
    monkeypatch.setattr(cxplan.plugins.manager, "entry_points", lambda group: [broken])
    with pytest.raises(PluginError, match=r"'acme', hook import: failed to load "
                                          r"'acme_cx_plugin_that_is_not_there'"):
        CxplanPlugins()
    # Disabling it by its entry-point name lets everything else work.
    assert "expected_experience" in CxplanPlugins(disabled=["acme"]).criteria_names()


def test_installed_example_plugins_are_found_through_their_entry_points() -> None:
    pm = CxplanPlugins()
    infos = {i.name: i for i in pm.info()}
    assert infos["nps"].criteria == ("nps",) and infos["nps"].sections == ("nps",)
    assert infos["nps"].version == "0.1.0"
    assert infos["nps"].source == "entry point cxplan_nps"
    assert "cxplan_constraints" in infos["coverage"].hooks


# -- constraints ----------------------------------------------------------------------------


def test_plugin_constraints_are_added_to_the_model() -> None:
    pm = manager_with(("policy", plugin(
        cxplan_constraints=lambda ctx: [("no-fix-a", ctx.x["fix-a"] <= 0)])))
    assert plan_with(pm).selected == ("fix-b",)


def test_an_infeasible_plugin_constraint_is_named_in_the_conflict() -> None:
    from cxplan.errors import InfeasibleError

    pm = manager_with(("policy", plugin(
        cxplan_constraints=lambda ctx: [("both", ctx.x["fix-a"] + ctx.x["fix-b"] >= 2)])))
    with pytest.raises(InfeasibleError, match="policy:both"):
        plan_with(pm)


@pytest.mark.parametrize("bad", ["x <= 0", [("name", "x <= 0")], [("only one",)], {"a": 1}])
def test_a_constraints_hook_returning_the_wrong_type_is_named(bad: Any) -> None:
    pm = manager_with(("sloppy", plugin(cxplan_constraints=lambda ctx: bad)))
    with pytest.raises(PluginError) as caught:
        plan_with(pm)
    assert caught.value.plugin == "sloppy" and caught.value.hook == "cxplan_constraints"


# -- scenario sections ----------------------------------------------------------------------


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    forbidden: list[str] = []
    reason: str


def forbidding() -> SimpleNamespace:
    def constraints(ctx: ModelView) -> list[tuple[str, object]]:
        limits = ctx.scenario.extension("limits")
        if limits is None:
            return []
        return [(f"forbid[{i}]", ctx.x[i] <= 0) for i in limits.forbidden]

    return plugin(cxplan_scenario_sections=lambda: {"limits": Limits},
                  cxplan_constraints=constraints)


def test_a_plugin_section_is_validated_and_available_on_the_scenario() -> None:
    pm = manager_with(("limits-plugin", forbidding()))
    data = {**SCENARIO, "extensions": {"limits": {"forbidden": ["fix-a"], "reason": "audit"}}}
    scenario = load_scenario(data, plugins=pm)
    assert scenario.extension("limits") == Limits(forbidden=["fix-a"], reason="audit")
    assert scenario.extension("nps") is None
    assert optimize(scenario, plugins=pm).selected == ("fix-b",)
    # what-if copies keep the validated section
    assert scenario.with_limits(budget=20).extension("limits") is not None


def test_problems_in_a_plugin_section_are_located_with_file_and_line(
        write_scenario: Callable[[dict[str, Any]], Path]) -> None:
    pm = manager_with(("limits-plugin", forbidding()))
    path = write_scenario({**SCENARIO, "extensions": {
        "limits": {"forbiden": ["fix-a"], "reason": 3}, "nsp": {}}})
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, plugins=pm)
    text = str(caught.value)
    assert "scenario.yaml: extensions.limits.forbiden: unknown key 'forbiden' (did you mean " \
           "'forbidden'?) [line" in text
    assert "scenario.yaml: extensions.limits.reason: Input should be a valid string " \
           "(got 3) [line" in text
    assert "extensions.nsp: unknown extension section 'nsp'" in text
    (reason,) = [p for p in caught.value.problems if p.location == "extensions.limits.reason"]
    assert reason.hint == ("put it in quotes: '3'; `extensions.limits` is the section of "
                           "plugin 'limits-plugin'")
    assert "extensions.limits: required value" not in text


def test_a_section_that_no_plugin_declares_is_an_error_even_without_plugins() -> None:
    pm = CxplanPlugins(load_entry_points=False)
    with pytest.raises(ScenarioError, match="unknown extension section 'limits'"):
        load_scenario({**SCENARIO, "extensions": {"limits": {}}}, plugins=pm)


def test_two_plugins_declaring_one_section_are_both_named() -> None:
    pm = manager_with(("one", plugin(cxplan_scenario_sections=lambda: {"limits": Limits})),
                      ("two", plugin(cxplan_scenario_sections=lambda: {"limits": Limits})))
    with pytest.raises(PluginError, match=r"'two'.*also declared by plugin 'one'"):
        pm.scenario_sections()


@pytest.mark.parametrize("bad", [[Limits], {"limits": dict}, {"": Limits}])
def test_a_sections_hook_returning_the_wrong_type_is_named(bad: Any) -> None:
    pm = manager_with(("sloppy", plugin(cxplan_scenario_sections=lambda: bad)))
    with pytest.raises(PluginError, match="sloppy"):
        load_scenario(SCENARIO, plugins=pm)


# -- transforming a scenario ----------------------------------------------------------------


def test_a_transform_changes_the_scenario_before_modelling() -> None:
    def double_budget(scenario: Scenario) -> Scenario:
        return scenario.model_copy(update={"budget": 2 * (scenario.budget or 0)})

    pm = manager_with(("generous", plugin(cxplan_transform_scenario=double_budget)))
    scenario = load_scenario(SCENARIO, plugins=pm)
    assert scenario.budget == 20
    assert optimize(scenario, plugins=pm).selected == ("fix-a", "fix-b")


def test_transforms_run_in_registration_order() -> None:
    seen: list[str] = []

    def first(scenario: Scenario) -> None:
        seen.append("first")

    def second(scenario: Scenario) -> None:
        seen.append("second")

    pm = manager_with(("one", plugin(cxplan_transform_scenario=first)),
                      ("two", plugin(cxplan_transform_scenario=second)))
    load_scenario(SCENARIO, plugins=pm)
    assert seen == ["first", "second"]


def test_a_transform_that_breaks_the_scenario_is_named() -> None:
    def break_it(scenario: Scenario) -> Scenario:
        return scenario.model_copy(update={"budget": -5})

    pm = manager_with(("vandal", plugin(cxplan_transform_scenario=break_it)))
    with pytest.raises(PluginError, match=r"'vandal', hook cxplan_transform_scenario: "
                                          r"returned an invalid scenario:\n.*budget"):
        load_scenario(SCENARIO, plugins=pm)


def test_a_transform_returning_something_else_is_named() -> None:
    pm = manager_with(("confused", plugin(cxplan_transform_scenario=lambda scenario: {})))
    with pytest.raises(PluginError, match="must return a Scenario or None, got dict"):
        load_scenario(SCENARIO, plugins=pm)


# -- reports --------------------------------------------------------------------------------


def test_report_sections_and_template_folders_come_from_plugins(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "audit.html.j2").write_text(
        '<section id="{{ section.id }}"><h2>{{ section.title }}</h2>'
        "<p>{{ section.data.note }}</p></section>\n", encoding="utf-8")
    (templates / "audit.md.j2").write_text("## {{ section.title }}\n\n{{ section.data.note }}\n",
                                           encoding="utf-8")

    def sections(plan: Plan, scenario: Scenario) -> list[ReportSection]:
        return [ReportSection(id="plain", title="Plain <section>", text="One.\n\nTwo & more.",
                              columns=("id", "cost"), rows=tuple(
                                  (i.id, f"{i.cost:g}") for i in plan.improvements)),
                ReportSection(id="audit", title="Audit", template="audit",
                              data={"note": f"{len(plan.selected)} funded <b>"})]

    pm = manager_with(("reporter", plugin(cxplan_report_sections=sections,
                                          cxplan_template_dirs=lambda: [templates])))
    scenario = load_scenario(SCENARIO, plugins=pm)
    html, md = write_reports(optimize(scenario, plugins=pm), scenario, tmp_path, plugins=pm)
    page = html.read_text(encoding="utf-8")
    assert "<h2>Plain &lt;section&gt;</h2>" in page
    assert "<p>Two &amp; more.</p>" in page and "<td>fix-a</td><td>10</td>" in page
    assert '<section id="audit"><h2>Audit</h2><p>1 funded &lt;b&gt;</p></section>' in page
    text = md.read_text(encoding="utf-8")
    assert "## Plain \\<section\\>" in text and "| fix-a | 10 |" in text
    assert "## Audit\n\n1 funded \\<b\\>" in text


@pytest.mark.parametrize(("hooks", "message"), [
    ({"cxplan_report_sections": lambda plan, scenario: ["text"]}, "not a cxplan.plugin_api"),
    ({"cxplan_template_dirs": lambda: ["/no/such/folder"]}, "is not an existing folder"),
    ({"cxplan_report_sections": lambda plan, scenario: [
        ReportSection(id="x", title="x", template="missing-template")]},
     "'missing-template.html.j2' not found"),
])
def test_report_plugin_failures_are_named(tmp_path: Path, hooks: dict[str, Any],
                                          message: str) -> None:
    from cxplan.errors import CxplanError

    pm = manager_with(("reporter", plugin(**hooks)))
    scenario = load_scenario(SCENARIO, plugins=pm)
    with pytest.raises(CxplanError, match=message):
        write_reports(optimize(scenario, plugins=pm), scenario, tmp_path, plugins=pm)
    assert not list(tmp_path.iterdir())  # nothing half written


def test_two_report_sections_with_one_id_name_both_plugins() -> None:
    def same(plan: Plan, scenario: Scenario) -> list[ReportSection]:
        return [ReportSection(id="same", title="Same")]

    pm = manager_with(("one", plugin(cxplan_report_sections=same)),
                      ("two", plugin(cxplan_report_sections=lambda plan, scenario: same(
                          plan, scenario))))
    scenario = load_scenario(SCENARIO, plugins=pm)
    with pytest.raises(PluginError, match=r"'two'.*also used by plugin 'one'"):
        pm.report_sections(optimize(scenario, plugins=pm), scenario)


# -- observing a finished plan ---------------------------------------------------------------


def test_an_observer_sees_every_finished_plan_once() -> None:
    seen: list[tuple[tuple[str, ...], str]] = []
    pm = manager_with(("auditor", plugin(
        cxplan_plan_finished=lambda plan, scenario: seen.append((plan.selected,
                                                                 scenario.title)))))
    plan = plan_with(pm, name="Audited")
    assert seen == [(plan.selected, "Audited")]


def test_an_observer_that_raises_stops_the_run_and_is_named() -> None:
    def fail(plan: Plan, scenario: Scenario) -> None:
        raise OSError("audit log is read-only")

    pm = manager_with(("auditor", plugin(cxplan_plan_finished=fail)))
    with pytest.raises(PluginError, match=r"'auditor', hook cxplan_plan_finished: raised "
                                          r"OSError: audit log is read-only"):
        plan_with(pm)
