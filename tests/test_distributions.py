"""Uncertain inputs in the scenario format (docs/model.md, "Uncertain inputs"), as a
specification: where a distribution may stand, what deterministic commands use (the
mean), what a draw looks like, and every bad parameter reported with file, place, line
and hint."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

import cxplan
from cxplan.errors import Problem, ScenarioError
from cxplan.scenario.distributions import Distribution

ScenarioFactory = Callable[..., dict[str, Any]]
ScenarioWriter = Callable[..., Path]
FILE = "scenario.yaml"


def uncertain(minimal: ScenarioFactory) -> dict[str, Any]:
    """The minimal scenario with a distribution in every kind of place."""
    data = minimal()
    data["touchpoints"][0]["failure_probability"] = {"pert": [0.05, 0.1, 0.2]}
    data["touchpoints"][1]["impact"] = {"lognormal": [30, 60]}
    data["touchpoints"][1]["dropout"] = {"beta": [2, 2]}
    data["touchpoints"][2]["success_value"] = {"triangular": [10, 20, 40]}
    data["journey"]["edges"][1]["probability"] = {"uniform": [0.8, 1.0]}
    data["improvements"][0]["cost"] = {"uniform": [200, 400], "group": "vendor"}
    data["improvements"][0]["effects"][0]["failure_reduction"] = {
        "pert": [0.3, 0.5, 0.6], "group": "vendor"}
    data["personas"] = [{"id": "all", "customers": {"normal": [1000, 100]}}]
    return data


def problems_of(data: Any) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        cxplan.load_scenario(data, name=FILE)
    return info.value.problems


def at(problems: list[Problem], location: str) -> Problem:
    found = [p for p in problems if p.location == location]
    assert len(found) == 1, "\n".join(p.format() for p in problems)
    return found[0]


# -- the means ----------------------------------------------------------------------------------

def test_deterministic_commands_see_the_mean_of_every_distribution(
        minimal_scenario: ScenarioFactory) -> None:
    scenario = cxplan.load_scenario(uncertain(minimal_scenario))
    assert scenario.touchpoints[0].failure_probability == pytest.approx((0.05 + 0.4 + 0.2) / 6)
    assert scenario.touchpoints[1].impact == pytest.approx(
        30 * np.exp((np.log(2) / stats.norm.ppf(0.9)) ** 2 / 2))
    assert scenario.touchpoints[1].dropout == pytest.approx(0.5)
    assert scenario.touchpoints[2].success_value == pytest.approx(70 / 3)
    assert scenario.journey.edges[1].probability == pytest.approx(0.9)
    assert scenario.improvements[0].cost == pytest.approx(300)
    assert scenario.improvements[0].effects[0].failure_reduction == pytest.approx(2.9 / 6)
    assert scenario.persona_list[0].customers == pytest.approx(1000)
    assert len(scenario.uncertainty.values) == 8


def test_a_scenario_of_plain_numbers_has_no_uncertainty(minimal_scenario: ScenarioFactory
                                                        ) -> None:
    assert not cxplan.load_scenario(minimal_scenario()).uncertainty


@pytest.mark.parametrize(("kind", "parameters", "fraction"), [
    ("uniform", (0.1, 0.3), True), ("triangular", (0.1, 0.15, 0.4), True),
    ("pert", (0.1, 0.15, 0.4), True), ("beta", (2.0, 5.0), True),
    ("lognormal", (100.0, 250.0), False), ("normal", (0.05, 0.04), True),
])
def test_each_kind_draws_with_the_mean_it_reports(kind: str, parameters: tuple[float, ...],
                                                  fraction: bool) -> None:
    high = 1.0 if fraction else 1e15
    dist = Distribution(kind, parameters, 0.0, high)
    u = (np.arange(200_000) + 0.5) / 200_000  # a fine grid: the mean of the quantiles
    draws = dist.quantiles(u)
    assert draws.mean() == pytest.approx(dist.mean, rel=2e-3)
    low, top = dist.support
    assert draws.min() >= low and draws.max() <= top


def test_a_zero_width_distribution_is_its_one_value() -> None:
    for kind, parameters in (("uniform", (0.2, 0.2)), ("pert", (0.2, 0.2, 0.2)),
                             ("triangular", (0.2, 0.2, 0.2)), ("normal", (0.2, 0.0))):
        dist = Distribution(kind, parameters, 0.0, 1.0)
        assert dist.mean == 0.2
        assert set(dist.quantiles(np.array([0.01, 0.5, 0.99]))) == {0.2}


def test_a_dirichlet_over_out_edges_has_its_shares_as_means(minimal_scenario: ScenarioFactory
                                                            ) -> None:
    data = minimal_scenario()
    data["journey"]["edges"] = [
        {"from": "ad", "to": "branch", "probability": {"dirichlet": 6}},
        {"from": "ad", "to": "account", "probability": {"dirichlet": 1}}]
    data["journey"]["completed"] = {"ad": {"dirichlet": 3}}
    scenario = cxplan.load_scenario(data)
    assert [e.probability for e in scenario.journey.edges] == pytest.approx([0.6, 0.1])
    (group,) = scenario.uncertainty.dirichlets
    assert group.source == "ad" and group.rest == 3
    assert [loc for loc in scenario.uncertainty.locations] == [
        ("journey", "edges", 0, "probability"), ("journey", "edges", 1, "probability")]


def test_validate_prints_the_means_it_will_use(minimal_scenario: ScenarioFactory,
                                               write_scenario: ScenarioWriter,
                                               run_main: Callable[..., Any]) -> None:
    path = write_scenario(uncertain(minimal_scenario))
    result = run_main("validate", path)
    assert result.exit_code == 0
    assert "touchpoints[0].failure_probability: pert(0.05, 0.1, 0.2), mean 0.108333" \
        in result.stdout
    assert "improvements[0].cost: uniform(200, 400) in group 'vendor', mean 300" in result.stdout
    as_json = json.loads(run_main("validate", path, "--json").stdout)
    assert {"location": "journey.edges[1].probability", "distribution": "uniform(0.8, 1)",
            "mean": pytest.approx(0.9)} in as_json["means"]


def test_plan_uses_the_means(minimal_scenario: ScenarioFactory) -> None:
    data = uncertain(minimal_scenario)
    means = cxplan.load_scenario(data)
    plain = minimal_scenario()
    plain["touchpoints"][0]["failure_probability"] = means.touchpoints[0].failure_probability
    plain["touchpoints"][1]["impact"] = means.touchpoints[1].impact
    plain["touchpoints"][1]["dropout"] = 0.5
    plain["touchpoints"][2]["success_value"] = means.touchpoints[2].success_value
    plain["journey"]["edges"][1]["probability"] = 0.9
    plain["improvements"][0]["cost"] = 300
    plain["improvements"][0]["effects"][0]["failure_reduction"] = \
        means.improvements[0].effects[0].failure_reduction
    plain["personas"] = [{"id": "all", "customers": means.persona_list[0].customers}]
    a, b = cxplan.optimize(means), cxplan.optimize(cxplan.load_scenario(plain))
    assert a.selected == b.selected
    assert a.expected_gain == pytest.approx(b.expected_gain, rel=1e-12)


# -- a draw -------------------------------------------------------------------------------------

def test_a_draw_is_a_concrete_scenario_sharing_everything_else(
        minimal_scenario: ScenarioFactory) -> None:
    scenario = cxplan.load_scenario(uncertain(minimal_scenario))
    drawn = scenario.drawn({("touchpoints", 0, "failure_probability"): 0.19,
                            ("improvements", 0, "effects", 0, "failure_reduction"): 0.31,
                            ("personas", 0, "customers"): 900.0})
    assert drawn.touchpoints[0].failure_probability == 0.19
    assert drawn.improvements[0].effects[0].failure_reduction == 0.31
    assert drawn.persona_list[0].customers == 900.0
    assert scenario.touchpoints[0].failure_probability == pytest.approx(0.108333, rel=1e-5)
    assert drawn.touchpoints[1] is scenario.touchpoints[1]  # untouched parts are shared
    assert not drawn.uncertainty and scenario.uncertainty
    assert drawn.source == scenario.source


# -- bad parameters -----------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "place", "message"), [
    ({"uniform": [0.4, 0.2]}, "touchpoints[0].failure_probability.uniform",
     "low 0.4 is above high 0.2"),
    ({"pert": [0.1, 0.5, 0.3]}, "touchpoints[0].failure_probability.pert",
     "mode 0.5 is outside [0.1, 0.3]"),
    ({"triangular": [0.1, 0.05, 0.3]}, "touchpoints[0].failure_probability.triangular",
     "mode 0.05 is outside [0.1, 0.3]"),
    ({"beta": [0, 3]}, "touchpoints[0].failure_probability.beta", "alpha must be above 0"),
    ({"uniform": [0.5, 1.2]}, "touchpoints[0].failure_probability.uniform",
     "its values reach 1.2, outside the field's range 0..1"),
    ({"lognormal": [0.1, 0.2]}, "touchpoints[0].failure_probability.lognormal",
     "lognormal is for amounts"),
    ({"normal": [1.5, 0.1]}, "touchpoints[0].failure_probability.normal",
     "its mean 1.5 is outside the field's range 0..1"),
    ({"unifrom": [0.1, 0.2]}, "touchpoints[0].failure_probability",
     "unknown distribution 'unifrom' (did you mean 'uniform'?)"),
    ({"uniform": [0.1, 0.2], "pert": [0.1, 0.2, 0.3]}, "touchpoints[0].failure_probability",
     "one distribution per value"),
    ({"uniform": [0.1]}, "touchpoints[0].failure_probability.uniform",
     "uniform takes [low, high]"),
    ({"dirichlet": 3}, "touchpoints[0].failure_probability",
     "a Dirichlet is for a touchpoint's outgoing edges"),
    ({"uniform": [0.1, 0.2], "group": 7}, "touchpoints[0].failure_probability.group",
     "a group is a name"),
])
def test_bad_parameters_are_errors_with_place_line_and_hint(
        minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter, value: Any,
        place: str, message: str) -> None:
    data = minimal_scenario()
    data["touchpoints"][0]["failure_probability"] = value
    problems = problems_of(write_scenario(data))
    problem = at(problems, place)
    assert message in problem.message
    assert problem.hint and problem.line is not None
    assert problem.file.endswith(FILE)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("cost", {"beta": [2, 3]}, "beta draws a share from 0 to 1"),
    ("cost", {"lognormal": [100, 50]}, "the p90 50 is below the median 100"),
    ("cost", {"lognormal": [0, 50]}, "the median must be above 0"),
    ("cost", {"normal": [100, -1]}, "the sd must not be negative"),
    ("cost", {"lognormal": [1, 1e14]}, "of its draws lie beyond 1e+15"),
])
def test_amounts_take_amount_distributions(minimal_scenario: ScenarioFactory, field: str,
                                           value: Any, message: str) -> None:
    data = minimal_scenario()
    data["improvements"][0][field] = value
    kind = next(iter(value))
    assert message in at(problems_of(data), f"improvements[0].{field}.{kind}").message


def test_the_command_line_reports_them_with_exit_code_2_and_writes_nothing(
        minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter,
        run_main: Callable[..., Any], tmp_path: Path) -> None:
    data = minimal_scenario()
    data["touchpoints"][1]["dropout"] = {"pert": [0.2, 0.9, 0.5]}
    data["improvements"][1]["cost"] = {"uniform": [60, 40]}
    path = write_scenario(data)
    for command in (["validate"], ["plan", "--report", str(tmp_path / "out")]):
        result = run_main(*command, path)
        assert result.exit_code == 2
        assert "touchpoints[1].dropout.pert: mode 0.9 is outside [0.2, 0.5]" in result.stderr
        assert "improvements[1].cost.uniform: low 60 is above high 40" in result.stderr
        assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_independent_edges_that_can_sum_above_one_are_an_error(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["journey"]["edges"].append({"from": "ad", "to": "account",
                                     "probability": {"uniform": [0.2, 0.5]}})
    problem = at(problems_of(data), "journey.edges[0]")
    assert "can sum to 1.1 in a draw" in problem.message
    assert problem.hint is not None and "dirichlet" in problem.hint


def test_entry_probabilities_that_can_sum_above_one_are_an_error(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["journey"]["entry"] = {"ad": {"uniform": [0.5, 0.8]}, "branch": 0.3}
    assert "can sum to 1.1" in at(problems_of(data), "journey.entry").message


def test_a_dirichlet_covers_every_edge_out_of_its_touchpoint(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["journey"]["edges"] = [
        {"from": "ad", "to": "branch", "probability": {"dirichlet": 6}},
        {"from": "ad", "to": "account", "probability": 0.1}]
    data["journey"]["completed"] = {"branch": {"dirichlet": 2}, "ad": 3}
    problems = problems_of(data)
    assert "must be a share of it too" in at(problems, "journey.edges[1].probability").message
    assert "no Dirichlet edges" in at(problems, "journey.completed.branch").message
    assert "{dirichlet: α}" in at(problems, "journey.completed.ad").message


def test_a_normal_cut_by_its_range_is_a_warning_that_gives_the_mean_used(
        minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["touchpoints"][0]["failure_probability"] = {"normal": [0.05, 0.05]}
    scenario = cxplan.load_scenario(data, name=FILE)
    (warning,) = [w for w in scenario.warnings if "truncated" in w.message]
    assert warning.location == "touchpoints[0].failure_probability"
    expected = stats.truncnorm(-1, 19, loc=0.05, scale=0.05).mean()
    assert f"its mean is {expected:.6g}, not 0.05" in warning.message
    assert scenario.touchpoints[0].failure_probability == pytest.approx(expected)


def test_a_group_of_one_is_a_warning(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"][1]["cost"] = {"uniform": [40, 60], "group": "alone"}
    scenario = cxplan.load_scenario(data)
    assert any("group 'alone' has only this distribution" in w.message
               for w in scenario.warnings)


# -- variants and the schema ---------------------------------------------------------------------

def test_a_variants_distribution_replaces_the_bases_whole(
        minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter) -> None:
    base = minimal_scenario()
    base["touchpoints"][1]["failure_probability"] = {"uniform": [0.2, 0.3]}
    write_scenario(base, "base.yaml")
    variant = write_scenario({"extends": "base.yaml", "touchpoints": [
        {"id": "branch", "failure_probability": {"pert": [0.1, 0.2, 0.6]}},
        {"id": "ad", "failure_probability": {"uniform": [0.0, 0.2]}}]}, "variant.yaml")
    scenario = cxplan.load_scenario(variant)
    described = {place: text for place, text, _ in scenario.uncertainty.described()}
    assert described == {"touchpoints[0].failure_probability": "uniform(0, 0.2)",
                         "touchpoints[1].failure_probability": "pert(0.1, 0.2, 0.6)"}


def test_the_published_schema_takes_distributions_and_refuses_two_in_one(
        minimal_scenario: ScenarioFactory) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from cxplan.scenario.schema import scenario_schema

    validator = jsonschema.Draft202012Validator(scenario_schema())
    data = uncertain(minimal_scenario)
    data["journey"]["edges"][0]["probability"] = {"dirichlet": 6}
    data["journey"]["completed"] = {"ad": {"dirichlet": 4}}
    assert list(validator.iter_errors(data)) == []
    data["touchpoints"][0]["impact"] = {"uniform": [1, 2], "pert": [1, 2, 3]}
    assert list(validator.iter_errors(data))
