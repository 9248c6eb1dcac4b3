"""Small traps a new user fell into (issue 16, item 9), each now read the way it was meant
or answered with what is wrong and how to write it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cxplan import build_journey, load_scenario, optimize
from cxplan.errors import ScenarioError, UsageError
from cxplan.scenario.limits import apply_limits, parse_amount

from conftest import CliRun, ScenarioFactory, ScenarioWriter

ROOT = Path(__file__).resolve().parents[1]
RESTAURANT = ROOT / "scenarios" / "restaurant.yaml"


def problems(writer: ScenarioWriter, text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(writer(text))
    return [p.format() for p in caught.value.problems]


# -- amounts on the command line and in the API ------------------------------------------


@pytest.mark.parametrize(("written", "amount"), [
    ("25000", 25_000), ("25,000", 25_000), ("25_000", 25_000), ("2.5e4", 25_000),
    ("500k", 500_000), ("500 K", 500_000), ("1.5M", 1_500_000), ("1.5m", 1_500_000),
    ("2bn", 2e9), ("110%", 33_000), ("1,250,000.50", 1_250_000.5)])
def test_an_amount_is_read_as_people_write_it(written: str, amount: float) -> None:
    assert parse_amount(written, 30_000, "the budget") == pytest.approx(amount)


@pytest.mark.parametrize("written", ["12,34", "abc", "k", "%", "1__0", "5 kg", "-5", "1e16"])
def test_what_is_no_amount_is_a_usage_error(written: str) -> None:
    with pytest.raises(UsageError, match="the budget"):
        parse_amount(written, 30_000, "the budget")


def test_plan_takes_a_share_and_a_scaled_amount_as_budget(run_main: Any) -> None:
    plans = {}
    for budget in ("110%", "33k", "33,000", "33000"):
        done: CliRun = run_main("plan", RESTAURANT, "--budget", budget, "--json",
                                "--no-marginals")
        assert done.exit_code == 0, done.stderr
        plans[budget] = json.loads(done.stdout)
    assert len({json.dumps(p["selected"]) for p in plans.values()}) == 1
    assert {p["cost"] <= 33_000 for p in plans.values()} == {True}


def test_a_team_takes_a_share_of_its_capacity(run_main: Any) -> None:
    scenario = load_scenario(RESTAURANT)
    team, capacity = next(iter(scenario.teams.items()))
    assert apply_limits(scenario, teams={team: "150%"}).teams[team] == 1.5 * capacity
    done = run_main("explain", RESTAURANT, "--all", "--team", f"{team}=150%", "--budget",
                    "120%", "--json")
    assert done.exit_code == 0, done.stderr


def test_the_api_takes_the_same_text(minimal_scenario: ScenarioFactory) -> None:
    scenario = load_scenario(minimal_scenario())
    assert optimize(scenario, budget="50%").cost <= 500
    with pytest.raises(UsageError, match="not an amount"):
        optimize(scenario, budget="lots")


# -- sums of probabilities a little over 1 -------------------------------------------------


@pytest.fixture
def two_entries(minimal_scenario: ScenarioFactory) -> Any:
    def make(a: float, b: float) -> dict[str, Any]:
        data = minimal_scenario()
        data["journey"]["entry"] = {"ad": a, "branch": b}
        return data
    return make


def test_a_sum_over_1_by_rounding_is_scaled_to_1_with_a_warning(two_entries: Any) -> None:
    scenario = load_scenario(two_entries(0.5, 0.50009))
    entry = scenario.journey.entry
    assert sum(entry.values()) == pytest.approx(1.0, abs=1e-12)
    assert entry["ad"] == pytest.approx(0.5 / 1.00009)
    [warning] = [w for w in scenario.warnings if "entry" in w.location]
    assert "sum to 1.00009, a little more than 1" in warning.message
    assert "scaled to sum to 1" in warning.message


def test_edges_out_of_a_touchpoint_are_scaled_alike(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["journey"]["edges"] = [{"from": "ad", "to": "branch", "probability": 0.6},
                                {"from": "ad", "to": "account", "probability": 0.40005},
                                {"from": "branch", "to": "account", "probability": 0.9}]
    scenario = load_scenario(data)
    out = [e.probability for e in scenario.journey.edges if e.source == "ad"]
    assert sum(out) == pytest.approx(1.0, abs=1e-12)
    assert any("edges out of 'ad' sum to 1.00005" in w.message for w in scenario.warnings)


@pytest.mark.parametrize(("b", "shown"), [(0.5002, "1.0002"), (0.9, "1.4")])
def test_a_larger_excess_is_an_error_printing_the_exact_sum(
        two_entries: Any, b: float, shown: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(two_entries(0.5, b))
    [problem] = caught.value.problems
    assert f"entry probabilities sum to {shown}, more than 1" in problem.message


def test_a_sum_is_shown_with_the_digits_that_make_it_more_than_1(two_entries: Any) -> None:
    # "sum to 1, more than 1" was printed for 1.000001 (six significant digits)
    [warning] = load_scenario(two_entries(0.5, 0.500001)).warnings
    assert "sum to 1.000001," in warning.message


def test_a_sum_within_floating_point_noise_says_nothing(two_entries: Any) -> None:
    scenario = load_scenario(two_entries(0.1 + 0.2, 0.7))  # 1.0000000000000002
    assert not [w for w in scenario.warnings if "sum" in w.message]


# -- how numbers and indentation are written ----------------------------------------------


def test_a_tab_in_the_indentation_is_named(write_scenario: ScenarioWriter) -> None:
    [message] = problems(write_scenario, "cxplan: 1\ntouchpoints:\n\t- {id: a, "
                         "failure_probability: 0.1, impact: 1}\njourney: {entry: {a: 1}}\n")
    assert "a tab where YAML expects spaces" in message and "[line 3]" in message
    assert "replace the tabs" in message


@pytest.mark.parametrize(("written", "hint"), [
    ("30k", "write 30000: a plain number, without a scale (k, M) or thousands separators"),
    ("40,000", "write 40000: a plain number"),
    ("1.5M", "write 1500000"),
    ("'25000'", "write the number without quotes"),
    ("lots", "write a number, such as 1200 or 0.25")])
def test_a_number_written_as_text_gets_the_hint_that_fits(
        write_scenario: ScenarioWriter, written: str, hint: str) -> None:
    [message] = problems(write_scenario, "cxplan: 1\ntouchpoints:\n  - id: a\n"
                         "    failure_probability: 0.1\n    impact: " + written
                         + "\njourney: {entry: {a: 1}}\n")
    assert "touchpoints[0].impact" in message and hint in message
    assert "without quotes" not in message or written.startswith("'")


def test_a_share_written_as_a_percentage_gets_its_fraction(
        write_scenario: ScenarioWriter) -> None:
    [message] = problems(write_scenario, "cxplan: 1\ntouchpoints:\n  - id: a\n"
                         "    failure_probability: 25%\n    impact: 1\n"
                         "journey: {entry: {a: 1}}\n")
    assert "write 25% as 0.25" in message


def test_a_thousands_separator_in_braces_is_explained(write_scenario: ScenarioWriter) -> None:
    [message] = problems(write_scenario, "cxplan: 1\ntouchpoints: [{id: a, "
                         "failure_probability: 0.1, impact: 40,000}]\n"
                         "journey: {entry: {a: 1}}\n")
    assert "unknown key '000'" in message and "write 40000" in message


# -- the API as the README shows it ------------------------------------------------------


def test_a_journey_graph_is_asked_for_by_persona_id(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(personas=[{"id": "new", "customers": 10},
                                      {"id": "loyal", "customers": 5,
                                       "touchpoints": {"branch": {"failure_probability": 0.1}}}])
    journey = build_journey(load_scenario(data))
    loyal = journey.graph("loyal")
    assert loyal.nodes["branch"]["failure_probability"] == 0.1
    assert journey.graph(0).nodes["branch"]["failure_probability"] == 0.25
    with pytest.raises(KeyError, match="no persona 'vip'; the personas are: new, loyal"):
        journey.graph("vip")


# -- warnings of one kind come as one ------------------------------------------------------


def test_thousands_of_unreachable_touchpoints_are_one_warning(
        write_scenario: ScenarioWriter, run_main: Any) -> None:
    data = {"cxplan": 1, "journey": {"entry": {"t0": 1}},
            "touchpoints": [{"id": f"t{i}", "failure_probability": 0.1, "impact": 1}
                            for i in range(4000)]}
    path = write_scenario(data)
    [warning] = load_scenario(path).warnings
    assert warning.message.startswith("3999 touchpoints are unreachable from any entry")
    assert "'t1', 't2', 't3', 't4', 't5' and 3994 more" in warning.message
    done = run_main("validate", path, "--json")
    assert len(json.loads(done.stdout)["problems"]) == 1
    planned = run_main("plan", path, "--json", "--no-marginals")
    assert len(json.loads(planned.stdout)["warnings"]) == 1
    assert planned.stderr.count("warning:") == 1


def test_a_few_warnings_of_a_kind_stay_separate(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["touchpoints"] += [{"id": f"lost{i}", "failure_probability": 0.1, "impact": 1}
                            for i in range(3)]
    warnings = load_scenario(data).warnings
    assert [w.location for w in warnings] == ["touchpoints[3]", "touchpoints[4]",
                                              "touchpoints[5]"]


# -- words that say what happened (issue 16, item 8) ---------------------------------------

CONFLICTED = {
    "cxplan": 1, "budget": 100,
    "touchpoints": [{"id": "a", "failure_probability": 0.5, "impact": 100}],
    "journey": {"entry": {"a": 1}},
    "improvements": [
        {"id": "must", "cost": 10, "mandatory": True,
         "effects": [{"touchpoint": "a", "failure_reduction": 0.1}]},
        {"id": "other", "cost": 10, "excludes": ["must"],
         "effects": [{"touchpoint": "a", "failure_reduction": 0.5}]},
        {"id": "big", "cost": 200, "effects": [{"touchpoint": "a", "failure_reduction": 0.5}]},
    ],
}


def test_explain_does_not_call_a_left_out_improvement_mandatory() -> None:
    from cxplan.whatif.explain import explain

    scenario = load_scenario(CONFLICTED)
    other = explain(scenario, "other")
    assert other.conflict == ("'must' is mandatory (cost 10)", "'other' excludes 'must'")
    assert other.line == ("left out: no plan can include it, because of: 'must' is mandatory "
                          "(cost 10); 'other' excludes 'must'")
    assert explain(scenario, "big").line == ("left out: no plan can include it, because of: "
                                             "budget of 100")


def test_the_report_says_what_a_left_out_improvement_would_add(
        bundled_plan: Any) -> None:
    from cxplan import evaluate
    from cxplan.report.build import build_view

    plan, scenario = bundled_plan(RESTAURANT)
    rows = {row.id: row for row in build_view(plan, scenario).left_out}
    listing = rows["map-listing-refresh"]
    with_it = evaluate(scenario, [*plan.selected, "map-listing-refresh"])
    assert listing.value_given_up == pytest.approx(with_it.planned_value - plan.planned_value)
    assert listing.reason.startswith("would add USD 6,575 to the plan's value, 4.4× the cost;")
    # it needs kitchen-display's requirement, and replaces what it excludes
    display = rows["kitchen-display"]
    assert "(with handheld-ordering, which it requires)" in display.reason
    booking = rows["booking-platform"]
    swapped = [i for i in plan.selected if i not in ("own-booking-page", "guest-newsletter")]
    alternative = evaluate(scenario, [*swapped, "booking-platform"])
    assert booking.value_given_up == pytest.approx(
        alternative.planned_value - plan.planned_value)
    assert booking.reason.startswith("would lower the plan's value by USD 19,668 (in place "
                                     "of guest-newsletter, own-booking-page)")


def test_validate_says_where_the_remainder_completes_the_journey(
        minimal_scenario: Any, write_scenario: Any, run_main: Any) -> None:
    """Out-probabilities summing below 1 send the rest to 'journey completed'; a modeller
    who meant 'the rest abandon' learns it from validate, not from an error hint."""
    data = minimal_scenario()
    source = data["journey"]["edges"][0]["from"]
    total = sum(e["probability"] for e in data["journey"]["edges"] if e["from"] == source)
    run = run_main("validate", write_scenario(data))
    assert run.exit_code == 0, run.output
    text = " ".join(run.stdout.split())
    assert "journey completed after" in text and f"{source} " in text
    data_json = json.loads(run_main("validate", write_scenario(data), "--json").stdout)
    shares = {c["touchpoint"]: c["share"] for c in data_json["completion"]}
    assert shares[source] == pytest.approx(1 - total)
