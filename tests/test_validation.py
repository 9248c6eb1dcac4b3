"""Scenario loading and validation, format version 1 (docs/model.md), as a specification.

Every problem is a `Problem` with a file, a location such as
`improvements[3].effects[0].touchpoint`, a message, usually a hint, the line it
was written on (when read from a file) and a severity. Errors are all reported
at once in one `ScenarioError`; warnings never block loading and end up on
`scenario.warnings`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cxplan import load_scenario
from cxplan.core.journey import persona_parameters
from cxplan.errors import Problem, ScenarioError
from cxplan.scenario import Scenario

ScenarioFactory = Callable[..., dict[str, Any]]  # the `minimal_scenario` fixture (conftest)
ScenarioWriter = Callable[..., Path]  # the `write_scenario` fixture (conftest)

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))
FILE = "scenario.yaml"


# -- helpers ----------------------------------------------------------------------------------

def load(source: Any) -> Scenario:
    """Load a dict or a path; problems name the file `scenario.yaml`."""
    scenario: Scenario = load_scenario(source, name=FILE)
    return scenario


def problems_of(source: Any) -> list[Problem]:
    """The errors of an invalid scenario (asserting that it is invalid)."""
    with pytest.raises(ScenarioError) as info:
        load(source)
    assert info.value.problems, "a ScenarioError always lists at least one problem"
    return info.value.problems


def at(problems: list[Problem], location: str) -> Problem:
    """The one problem at `location`."""
    found = [p for p in problems if p.location == location]
    assert len(found) == 1, (
        f"expected one problem at {location!r}, got:\n" + "\n".join(p.format() for p in problems)
    )
    return found[0]


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(p.format() for p in problems)
    return problems[0]


def yaml_file(write_scenario: ScenarioWriter, text: str, name: str = FILE) -> Path:
    return write_scenario(textwrap.dedent(text).lstrip("\n"), name)


def tp(ident: str, p: float = 0.1, impact: float = 1.0, **kw: Any) -> dict[str, Any]:
    return {"id": ident, "failure_probability": p, "impact": impact, **kw}


def edge(src: str, dst: str, probability: float) -> dict[str, Any]:
    return {"from": src, "to": dst, "probability": probability}


def improvement(ident: str, *touchpoints: str, reduction: float = 0.5,
                **kw: Any) -> dict[str, Any]:
    effects = [{"touchpoint": t, "failure_reduction": reduction} for t in touchpoints or ("ad",)]
    return {"id": ident, "cost": 10, "effects": effects, **kw}


# -- valid scenarios ---------------------------------------------------------------------------

def test_the_minimal_scenario_loads_without_problems(minimal_scenario: ScenarioFactory) -> None:
    scenario = load(minimal_scenario())
    assert scenario.source == FILE
    assert scenario.warnings == []
    assert [t.id for t in scenario.touchpoints] == ["ad", "branch", "account"]
    assert scenario.journey.edges[0].source == "ad"  # written `from`


def test_defaults_of_optional_fields(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    for key in ("name", "currency", "budget", "teams"):
        del data[key]
    del data["improvements"][0]["staff"]
    scenario = load(data)
    assert scenario.budget is None and scenario.teams == {}
    assert [p.id for p in scenario.persona_list] == ["all"]
    assert scenario.persona_list[0].customers == 1
    assert scenario.criteria == {"expected_experience": 1}
    branch = scenario.touchpoints[1]
    assert (branch.success_value, branch.moment_of_truth, branch.visible) == (0, False, True)
    assert scenario.improvements[1].staff == {} and scenario.improvements[1].duration == 1


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_bundled_scenarios_load_without_errors(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.touchpoints and scenario.improvements
    assert all(w.severity == "warning" for w in scenario.warnings)


def test_there_are_bundled_scenarios() -> None:
    assert len(SCENARIOS) >= 3


def test_the_full_format_with_every_field_loads(write_scenario: ScenarioWriter) -> None:
    path = yaml_file(write_scenario, """
        cxplan: 1
        name: Microfinance onboarding
        currency: USD
        stages: [awareness, consideration, purchase, retention, advocacy]
        budget: 250000
        teams: {it: 6, front-office: 4}
        personas:
          - id: micro-entrepreneur
            name: Micro-entrepreneur
            customers: 12000
            entry: {ad: 0.7, referral: 0.3}
            edges: [{from: ad, to: branch, probability: 0.5}]
            touchpoints: {branch: {failure_probability: 0.4}}
          - id: salaried
            customers: 3000
        touchpoints:
          - id: ad
            stage: awareness
            failure_probability: 0.1
            impact: 1
          - id: referral
            stage: awareness
            failure_probability: 0.05
            impact: 2
          - id: branch
            name: Branch visit
            stage: consideration
            channel: branch
            failure_probability: 0.25
            impact: 40
            dropout: 0.5
            success_value: 0
            moment_of_truth: true
            visible: true
            emotion: -2
            owner: retail-ops
        journey:
          entry: {ad: 0.7, referral: 0.3}
          edges:
            - {from: ad, to: branch, probability: 0.6}
            - {from: referral, to: branch, probability: 0.8}
        improvements:
          - id: queue-app
            name: Queue appointment app
            cost: 30000
            staff: {it: 2}
            effects:
              - {touchpoint: branch, failure_reduction: 0.5, impact_reduction: 0,
                 dropout_reduction: 0}
            requires: []
            excludes: [kiosk]
            mandatory: false
            owner: digital
            confidence: 0.8
            duration: 1
          - id: kiosk
            cost: 1.5e4
            staff: {front-office: 1}
            effects: [{touchpoint: branch, impact_reduction: 0.2}]
        criteria:
          expected_experience: 1
        """)
    scenario = load_scenario(path)
    assert scenario.warnings == []
    assert scenario.improvement("kiosk").cost == 15000  # exponent notation is a number
    persona = scenario.persona_list[0]
    assert persona.touchpoints is not None
    assert persona.touchpoints["branch"].failure_probability == 0.4


# -- the message contract ----------------------------------------------------------------------

def test_a_problem_reads_file_location_message_then_line_and_hint(
    write_scenario: ScenarioWriter,
) -> None:
    path = yaml_file(write_scenario, """
        cxplan: 1
        touchpoints:
          - {id: ad, failure_probability: 0.1, impact: 1}
          - {id: branch, failure_probability: 0.25, impact: 40}
        journey:
          entry: {ad: 1}
          edges: [{from: ad, to: branch, probability: 0.6}]
        improvements:
          - {id: i0, cost: 1, effects: [{touchpoint: ad, failure_reduction: 0.1}]}
          - {id: i1, cost: 1, effects: [{touchpoint: ad, failure_reduction: 0.1}]}
          - {id: i2, cost: 1, effects: [{touchpoint: ad, failure_reduction: 0.1}]}
          - id: i3
            cost: 1
            effects:
              - touchpoint: brnch
                failure_reduction: 0.5
        """)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, name="scenario.yaml")
    problem = only(info.value.problems)
    assert problem.format().splitlines()[0] == (
        "scenario.yaml: improvements[3].effects[0].touchpoint: "
        "unknown touchpoint 'brnch' (did you mean 'branch'?) [line 15]"
    )
    assert (problem.file, problem.line, problem.severity) == ("scenario.yaml", 15, "error")
    # Without `name`, the file is the path as given.
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems[0].format().startswith(
        f"{path}: improvements[3].effects[0].touchpoint: unknown touchpoint 'brnch'")
    assert info.value.exit_code == 2


def test_the_hint_is_an_indented_second_line() -> None:
    problem = Problem("s.yaml", "journey.entry", "entry probabilities sum to 1.2, more than 1",
                      hint="the rest never start", line=7)
    assert problem.format() == ("s.yaml: journey.entry: entry probabilities sum to 1.2, more "
                                "than 1 [line 7]\n    hint: the rest never start")


def test_the_error_message_lists_every_problem(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"][0]["effects"][0]["touchpoint"] = "brnch"
    data["improvements"][1]["staff"] = {"marketing": 1}
    with pytest.raises(ScenarioError) as info:
        load(data)
    text = str(info.value)
    assert text.startswith("2 problems in scenario:")
    assert "improvements[0].effects[0].touchpoint: unknown touchpoint 'brnch'" in text
    assert "improvements[1].staff.marketing: team 'marketing' is not declared" in text


# -- unknown ids -------------------------------------------------------------------------------

@pytest.mark.parametrize("place,location,message", [
    (lambda d: d["journey"]["entry"].update({"add": 0.0}), "journey.entry.add",
     "unknown touchpoint 'add' (did you mean 'ad'?)"),
    (lambda d: d["journey"]["edges"][0].update({"from": "add"}), "journey.edges[0].from",
     "unknown touchpoint 'add' (did you mean 'ad'?)"),
    (lambda d: d["journey"]["edges"][1].update({"to": "acount"}), "journey.edges[1].to",
     "unknown touchpoint 'acount' (did you mean 'account'?)"),
    (lambda d: d["improvements"][0]["effects"][0].update({"touchpoint": "brnch"}),
     "improvements[0].effects[0].touchpoint", "unknown touchpoint 'brnch' (did you mean "
     "'branch'?)"),
    (lambda d: d.update(personas=[{"id": "p", "entry": {"add": 1.0}}]),
     "personas[0].entry.add", "unknown touchpoint 'add' (did you mean 'ad'?)"),
    (lambda d: d.update(personas=[{"id": "p", "edges": [edge("ad", "brnch", 0.5)]}]),
     "personas[0].edges[0].to", "unknown touchpoint 'brnch' (did you mean 'branch'?)"),
    (lambda d: d.update(personas=[{"id": "p", "touchpoints": {"brnch": {"impact": 3}}}]),
     "personas[0].touchpoints.brnch", "unknown touchpoint 'brnch' (did you mean 'branch'?)"),
], ids=["entry", "edge-from", "edge-to", "effect", "persona-entry", "persona-edge",
        "persona-touchpoint"])
def test_unknown_touchpoint_ids_are_reported_with_did_you_mean(
    minimal_scenario: ScenarioFactory, place: Any, location: str, message: str
) -> None:
    data = minimal_scenario()
    place(data)
    problem = only(problems_of(data))
    assert (problem.location, problem.message) == (location, message)


@pytest.mark.parametrize("key", ["requires", "excludes"])
def test_unknown_improvement_ids_are_reported_with_did_you_mean(
    minimal_scenario: ScenarioFactory, key: str
) -> None:
    data = minimal_scenario()
    data["improvements"][1][key] = ["queue-ap"]
    problem = only(problems_of(data))
    assert problem.location == f"improvements[1].{key}[0]"
    assert problem.message == "unknown improvement 'queue-ap' (did you mean 'queue-app'?)"


def test_an_unknown_id_far_from_any_known_one_has_no_suggestion(
    minimal_scenario: ScenarioFactory,
) -> None:
    data = minimal_scenario()
    data["improvements"][0]["effects"][0]["touchpoint"] = "zzz"
    assert only(problems_of(data)).message == "unknown touchpoint 'zzz'"


def test_a_stage_must_be_one_of_the_listed_stages(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(stages=["awareness", "purchase"])
    data["touchpoints"][0]["stage"] = "awarenes"
    data["touchpoints"][1]["stage"] = "purchase"
    problem = only(problems_of(data))
    assert problem.location == "touchpoints[0].stage"
    assert problem.message == "stage 'awarenes' is not in stages (did you mean 'awareness'?)"
    assert problem.hint == "stages are: awareness, purchase"


def test_any_stage_is_fine_when_no_stages_are_listed(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["touchpoints"][0]["stage"] = "whatever"
    assert load(data).touchpoints[0].stage == "whatever"


def test_a_team_used_by_an_improvement_must_be_declared(
    minimal_scenario: ScenarioFactory,
) -> None:
    data = minimal_scenario()
    data["improvements"][1]["staff"] = {"IT": 1}
    problem = only(problems_of(data))
    assert problem.location == "improvements[1].staff.IT"
    assert problem.message == "team 'IT' is not declared in teams (did you mean 'it'?)"
    assert problem.hint is not None and "teams:" in problem.hint


def test_staff_needs_declared_teams_even_without_any_teams(
    minimal_scenario: ScenarioFactory,
) -> None:
    data = minimal_scenario()
    del data["teams"]
    problem = only(problems_of(data))
    assert problem.location == "improvements[0].staff.it"
    assert problem.message == "team 'it' is not declared in teams"


def test_an_unknown_criterion_is_an_error(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(criteria={"expected_experiense": 1})
    problem = only(problems_of(data))
    assert problem.location == "criteria.expected_experiense"
    assert problem.message == ("unknown criterion 'expected_experiense' "
                               "(did you mean 'expected_experience'?)")


# -- duplicate ids -----------------------------------------------------------------------------

@pytest.mark.parametrize("key,kind", [("touchpoints", "touchpoint"),
                                      ("improvements", "improvement")])
def test_duplicate_ids_are_errors(minimal_scenario: ScenarioFactory, key: str, kind: str) -> None:
    data = minimal_scenario()
    data[key][1]["id"] = data[key][0]["id"]
    problems = problems_of(data)
    problem = at(problems, f"{key}[1].id")
    first = data[key][0]["id"]
    assert problem.message == f"duplicate {kind} id '{first}' (first used at {key}[0])"
    assert problem.hint == "ids must be unique per kind"


def test_duplicate_persona_ids_are_errors(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(personas=[{"id": "p"}, {"id": "q"}, {"id": "p"}])
    problem = only(problems_of(data))
    assert problem.location == "personas[2].id"
    assert problem.message == "duplicate persona id 'p' (first used at personas[0])"


def test_a_stage_listed_twice_is_an_error(minimal_scenario: ScenarioFactory) -> None:
    problem = only(problems_of(minimal_scenario(stages=["a", "b", "a"])))
    assert (problem.location, problem.message) == ("stages[2]", "stage 'a' is listed twice")


def test_an_edge_listed_twice_is_an_error(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["journey"]["edges"].append(edge("ad", "branch", 0.1))
    problem = only(problems_of(data))
    assert problem.location == "journey.edges[2]"
    assert problem.message == "edge ad -> branch is listed twice (first at journey.edges[0])"


def test_two_effects_on_one_touchpoint_are_an_error(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"][0]["effects"].append({"touchpoint": "branch", "impact_reduction": 0.2})
    problem = only(problems_of(data))
    assert problem.location == "improvements[0].effects[1].touchpoint"
    assert "already has an effect at effects[0]" in problem.message


# -- ranges ------------------------------------------------------------------------------------

@pytest.mark.parametrize("place,location,words", [
    (lambda d: d["touchpoints"][1].update(failure_probability=1.5),
     "touchpoints[1].failure_probability", "less than or equal to 1"),
    (lambda d: d["touchpoints"][1].update(dropout=-0.1),
     "touchpoints[1].dropout", "greater than or equal to 0"),
    (lambda d: d["journey"]["edges"][0].update(probability=1.01),
     "journey.edges[0].probability", "less than or equal to 1"),
    (lambda d: d["journey"]["entry"].update(ad=2),
     "journey.entry.ad", "less than or equal to 1"),
    (lambda d: d["improvements"][0]["effects"][0].update(failure_reduction=1.2),
     "improvements[0].effects[0].failure_reduction", "less than or equal to 1"),
    (lambda d: d["improvements"][0].update(confidence=-1),
     "improvements[0].confidence", "greater than or equal to 0"),
    (lambda d: d.update(personas=[{"id": "p", "touchpoints": {"ad": {"dropout": 3}}}]),
     "personas[0].touchpoints.ad.dropout", "less than or equal to 1"),
], ids=["failure", "dropout", "edge", "entry", "reduction", "confidence", "persona-override"])
def test_probabilities_out_of_range_are_errors(
    minimal_scenario: ScenarioFactory, place: Any, location: str, words: str
) -> None:
    data = minimal_scenario()
    place(data)
    problem = only(problems_of(data))
    assert problem.location == location
    assert words in problem.message and "(got " in problem.message
    assert problem.hint == "probabilities and reductions are between 0 and 1 (write 25 % as 0.25)"


@pytest.mark.parametrize("place,location,words", [
    (lambda d: d["improvements"][0].update(cost=-1), "improvements[0].cost",
     "greater than or equal to 0"),
    (lambda d: d["touchpoints"][0].update(impact=-5), "touchpoints[0].impact",
     "greater than or equal to 0"),
    (lambda d: d.update(budget=-100), "budget", "greater than or equal to 0"),
    (lambda d: d.update(teams={"it": -1}), "teams.it", "greater than or equal to 0"),
    (lambda d: d["touchpoints"][0].update(emotion=6), "touchpoints[0].emotion",
     "less than or equal to 5"),
    (lambda d: d["improvements"][0].update(duration=0), "improvements[0].duration",
     "greater than or equal to 1"),
    (lambda d: d.update(personas=[{"id": "p", "customers": -3}]), "personas[0].customers",
     "greater than or equal to 0"),
], ids=["cost", "impact", "budget", "team", "emotion", "duration", "customers"])
def test_other_numbers_out_of_range_are_errors(
    minimal_scenario: ScenarioFactory, place: Any, location: str, words: str
) -> None:
    data = minimal_scenario()
    place(data)
    problem = only(problems_of(data))
    assert problem.location == location and words in problem.message


def test_a_touchpoints_outgoing_probabilities_may_not_sum_above_one(
    write_scenario: ScenarioWriter,
) -> None:
    path = yaml_file(write_scenario, """
        cxplan: 1
        touchpoints:
          - {id: ad, failure_probability: 0.1, impact: 1}
          - {id: branch, failure_probability: 0.1, impact: 1}
          - {id: web, failure_probability: 0.1, impact: 1}
        journey:
          entry: {ad: 1}
          edges:
            - {from: branch, to: web, probability: 0.5}
            - {from: ad, to: branch, probability: 0.7}
            - {from: ad, to: web, probability: 0.4}
        """)
    problem = only(problems_of(path))
    # Reported at the first edge out of the touchpoint.
    assert problem.location == "journey.edges[1]"
    assert problem.message == "edges out of 'ad' sum to 1.1, more than 1"
    assert problem.line == 10
    assert problem.hint is not None and "journey completed" in problem.hint


def test_outgoing_probabilities_summing_to_exactly_one_are_fine(
    minimal_scenario: ScenarioFactory,
) -> None:
    data = minimal_scenario()
    data["journey"]["edges"] = [edge("ad", "branch", 0.7), edge("ad", "account", 0.2),
                                edge("ad", "ad", 0.1), edge("branch", "account", 1.0)]
    load(data)


def test_entry_probabilities_may_not_sum_above_one(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["journey"]["entry"] = {"ad": 0.7, "branch": 0.4}
    problem = only(problems_of(data))
    assert problem.location == "journey.entry"
    assert problem.message == "entry probabilities sum to 1.1, more than 1"
    assert problem.hint is not None


def test_entry_summing_below_one_is_fine(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["journey"]["entry"] = {"ad": 0.5}
    load(data)


# -- requires / excludes -----------------------------------------------------------------------

def test_a_requires_cycle_is_an_error(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"] = [
        improvement("a", requires=["b"]),
        improvement("b", requires=["c"]),
        improvement("c", requires=["a"]),
        improvement("d", requires=["a"]),
    ]
    problem = only(problems_of(data))
    assert problem.location == "improvements[0].requires[0]"
    assert problem.message == "requires cycle: a -> b -> c -> a"
    assert problem.hint is not None


def test_each_separate_requires_cycle_is_reported_once(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"] = [
        improvement("a", requires=["x", "b"]),
        improvement("b", requires=["a"]),
        improvement("x"),
        improvement("c", requires=["d"]),
        improvement("d", requires=["c"]),
    ]
    problems = problems_of(data)
    assert [(p.location, p.message) for p in problems] == [
        ("improvements[0].requires[1]", "requires cycle: a -> b -> a"),
        ("improvements[3].requires[0]", "requires cycle: c -> d -> c"),
    ]


def test_a_dense_requires_cycle_is_reported_quickly(minimal_scenario: ScenarioFactory) -> None:
    # 30 improvements that all require each other hold astronomically many simple cycles;
    # one named cycle per tangle is reported.
    ids = [f"i{k:02d}" for k in range(30)]
    data = minimal_scenario()
    data["improvements"] = [improvement(i, requires=[j for j in ids if j != i]) for i in ids]
    start = time.perf_counter()
    problem = only(problems_of(data))
    # listing every simple cycle would never end; 60 s catches that on a busy machine
    assert time.perf_counter() - start < 60
    assert problem.location == "improvements[0].requires[0]"
    assert problem.message == "requires cycle: i00 -> i01 -> i00"


def test_an_improvement_may_not_require_itself(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"][1]["requires"] = ["sms"]
    problem = only(problems_of(data))
    assert (problem.location, problem.message) == ("improvements[1].requires[0]",
                                                   "improvement 'sms' requires itself")


def test_an_improvement_that_requires_something_it_excludes_is_an_error(
    minimal_scenario: ScenarioFactory,
) -> None:
    data = minimal_scenario()
    data["improvements"][0].update(requires=["sms"], excludes=["sms"])
    problem = only(problems_of(data))
    assert problem.location == "improvements[0]"
    assert problem.message == "improvement 'queue-app' requires something it excludes ('sms')"
    assert problem.hint == "remove the requirement or the exclusion"


def test_an_exclusion_written_on_the_other_side_counts_too(
    minimal_scenario: ScenarioFactory,
) -> None:
    # queue-app requires sms; sms excludes queue-app: queue-app can never be selected.
    data = minimal_scenario()
    data["improvements"][0]["requires"] = ["sms"]
    data["improvements"][1]["excludes"] = ["queue-app"]
    problem = only(problems_of(data))
    assert problem.location == "improvements[0]"
    assert problem.message == "improvement 'queue-app' requires something it excludes ('sms')"


def test_requiring_two_improvements_that_exclude_each_other_is_an_error(
    minimal_scenario: ScenarioFactory,
) -> None:
    data = minimal_scenario()
    data["improvements"] = [
        improvement("top", requires=["left"]),
        improvement("left", requires=["right-dep"]),
        improvement("right-dep", excludes=["x"]),
        improvement("x"),
        improvement("both", requires=["top", "x"]),
    ]
    problem = only(problems_of(data))
    assert problem.location == "improvements[4]"
    assert problem.message == (
        "improvement 'both' can never be selected: it requires both 'right-dep' and 'x' "
        "(directly or through other requirements), which exclude each other")


def test_an_improvement_may_not_exclude_itself(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"][0]["excludes"] = ["queue-app"]
    problem = only(problems_of(data))
    assert problem.location == "improvements[0].excludes[0]"
    assert problem.message == "improvement 'queue-app' excludes itself"


def test_mandatory_requires_and_excludes_that_are_consistent_load(
    minimal_scenario: ScenarioFactory,
) -> None:
    data = minimal_scenario()
    data["improvements"][0].update(requires=["sms"], mandatory=True)
    data["improvements"].append(improvement("alt", "branch", excludes=["queue-app"]))
    scenario = load(data)
    assert scenario.improvement("queue-app").mandatory
    assert scenario.improvement("alt").excludes == ["queue-app"]


# -- the journey must be able to end (absorbing chain) ------------------------------------------

def loop_scenario(**branch: Any) -> dict[str, Any]:
    """ad <-> branch with probability 1 each way: only failures with dropout can end it."""
    return {
        "cxplan": 1,
        "touchpoints": [tp("ad", 0.0, 0.0), tp("branch", **branch)],
        "journey": {"entry": {"ad": 1.0},
                    "edges": [edge("ad", "branch", 1.0), edge("branch", "ad", 1.0)]},
    }


def test_a_journey_that_can_never_end_is_an_error() -> None:
    problem = only(problems_of(loop_scenario(p=0.2)))  # fails, but nobody drops out
    assert problem.location == "journey.edges"
    assert problem.message.startswith("the journey can never end once it reaches 'ad', 'branch'")
    assert "not an absorbing chain" in problem.message
    assert problem.hint is not None and "lower an outgoing edge probability" in problem.hint


def test_dropout_after_a_failure_lets_a_loop_end() -> None:
    load(loop_scenario(p=0.2, dropout=0.5))


def test_a_loop_that_leaks_through_an_edge_remainder_is_fine() -> None:
    data = loop_scenario()
    data["journey"]["edges"][1]["probability"] = 0.9
    assert load(data).warnings == []


def test_the_journey_must_end_even_with_every_improvement_applied() -> None:
    # The only way out is dropout after a failure at `branch`; an improvement that can
    # remove every failure there makes the loop endless for some selections.
    data = loop_scenario(p=0.2, dropout=0.5)
    data["improvements"] = [improvement("fix", "branch", reduction=1.0)]
    problem = only(problems_of(data))
    assert problem.location == "journey.edges"
    assert "can never end" in problem.message and "every improvement is applied" in \
        problem.message


def test_removing_all_dropout_with_improvements_makes_the_loop_endless() -> None:
    data = loop_scenario(p=0.2, dropout=0.5)
    data["improvements"] = [{"id": "keep", "cost": 1, "effects": [
        {"touchpoint": "branch", "dropout_reduction": 1.0}]}]
    assert "can never end" in only(problems_of(data)).message


def test_improvements_that_reduce_failures_partly_keep_the_loop_leaking() -> None:
    data = loop_scenario(p=0.2, dropout=0.5)
    data["improvements"] = [improvement("a", "branch", reduction=0.9),
                            improvement("b", "branch", reduction=0.9)]
    load(data)


def test_an_endless_loop_nobody_reaches_is_only_a_warning() -> None:
    data = loop_scenario(p=0.2)
    data["touchpoints"].append(tp("start"))
    data["journey"]["entry"] = {"start": 1.0}
    scenario = load(data)
    assert [(w.location, w.severity) for w in scenario.warnings] == [
        ("touchpoints[0]", "warning"), ("touchpoints[1]", "warning")]


def test_an_endless_loop_shared_by_personas_is_reported_once() -> None:
    data = loop_scenario(p=0.2)
    data["personas"] = [{"id": "p", "customers": 10}, {"id": "q", "customers": 5}]
    problem = only(problems_of(data))
    assert problem.location == "journey.edges"


def test_a_persona_whose_own_edges_never_end_is_named() -> None:
    data = loop_scenario(p=0.2, dropout=0.5)
    data["personas"] = [
        {"id": "p"},
        {"id": "stuck", "touchpoints": {"branch": {"dropout": 0.0}}},
    ]
    problem = only(problems_of(data))
    assert problem.location == "personas[1]"
    assert problem.message.startswith("the journey for persona 'stuck' can never end")


def test_a_persona_edge_override_can_close_a_loop(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(personas=[{"id": "loopy", "edges": [
        edge("ad", "branch", 1.0), edge("account", "ad", 1.0)]}])
    data["journey"]["edges"][1]["probability"] = 1.0
    data["touchpoints"][1]["dropout"] = 0.0
    problem = only(problems_of(data))
    assert problem.location == "personas[0]"
    assert "for persona 'loopy'" in problem.message


# -- warnings ----------------------------------------------------------------------------------

def test_an_unreachable_touchpoint_is_a_warning_not_an_error(
    minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter,
) -> None:
    data = minimal_scenario()
    data["touchpoints"].append(tp("orphan"))
    scenario = load_scenario(write_scenario(data))
    warning = only(scenario.warnings)
    assert warning.severity == "warning"
    assert warning.location == "touchpoints[3]"
    assert warning.message == ("touchpoint 'orphan' is unreachable from any entry "
                               "(no customer ever gets there)")
    assert warning.line is not None and warning.hint is not None


def test_a_touchpoint_reached_by_one_persona_only_is_reachable(
    minimal_scenario: ScenarioFactory,
) -> None:
    data = minimal_scenario()
    data["touchpoints"].append(tp("web"))
    data["personas"] = [{"id": "p"}, {"id": "online", "entry": {"web": 1.0}}]
    assert load(data).warnings == []


def test_a_touchpoint_behind_a_zero_probability_edge_is_unreachable(
    minimal_scenario: ScenarioFactory,
) -> None:
    data = minimal_scenario()
    data["journey"]["edges"][1]["probability"] = 0.0
    assert [w.location for w in load(data).warnings] == ["touchpoints[2]"]


def test_an_effect_that_reduces_nothing_is_a_warning(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"][1]["effects"].append({"touchpoint": "account"})
    warning = only(load(data).warnings)
    assert warning.location == "improvements[1].effects[1]"
    assert warning.message == "this effect reduces nothing (all reductions are 0)"


def test_warnings_travel_with_errors(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(budget="lots")
    data["improvements"][1]["effects"].append({"touchpoint": "account"})
    with pytest.raises(ScenarioError) as info:
        load(data)
    assert [p.location for p in info.value.problems] == ["budget"]
    assert [w.location for w in info.value.warnings] == ["improvements[1].effects[1]"]


# -- personas ------------------------------------------------------------------------------------

def test_persona_edges_replace_all_outgoing_edges_of_their_sources(
    minimal_scenario: ScenarioFactory,
) -> None:
    # Base: ad -> branch 0.6. The persona's ad -> account 0.7 replaces it (0.6 + 0.7 would be
    # 1.3, but the two never add up); branch keeps its base edge.
    data = minimal_scenario(personas=[{"id": "p", "edges": [edge("ad", "account", 0.7)]}])
    scenario = load(data)
    params = persona_parameters(scenario, scenario.persona_list[0])
    assert params.edges == {("ad", "account"): 0.7, ("branch", "account"): 0.9}


def test_persona_edges_that_themselves_sum_above_one_are_an_error(
    minimal_scenario: ScenarioFactory,
) -> None:
    data = minimal_scenario(personas=[{"id": "p", "edges": [
        edge("branch", "account", 0.2), edge("ad", "branch", 0.6), edge("ad", "account", 0.5)]}])
    problem = only(problems_of(data))
    assert problem.location == "personas[0].edges[1]"
    assert problem.message == "edges out of 'ad' for persona 'p' sum to 1.1, more than 1"


def test_a_base_sum_above_one_is_reported_once_even_with_persona_edges(
    minimal_scenario: ScenarioFactory,
) -> None:
    data = minimal_scenario(personas=[{"id": "p", "edges": [edge("branch", "account", 0.5)]}])
    data["journey"]["edges"].append(edge("ad", "account", 0.5))
    problem = only(problems_of(data))
    assert problem.location == "journey.edges[0]"
    assert problem.message == "edges out of 'ad' sum to 1.1, more than 1"


def test_a_persona_can_fix_a_base_source_that_sums_above_one_only_for_itself(
    minimal_scenario: ScenarioFactory,
) -> None:
    # The base journey is what personas without edges use, so it stays an error.
    data = minimal_scenario(personas=[{"id": "p", "edges": [edge("ad", "branch", 0.5)]}])
    data["journey"]["edges"].append(edge("ad", "account", 0.5))
    assert only(problems_of(data)).location == "journey.edges[0]"


def test_persona_entry_replaces_the_journey_entry(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(personas=[{"id": "p", "entry": {"branch": 0.8, "account": 0.2}}])
    scenario = load(data)
    assert persona_parameters(scenario, scenario.persona_list[0]).entry == {
        "branch": 0.8, "account": 0.2}


def test_persona_entry_may_not_sum_above_one(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(personas=[{"id": "p", "entry": {"ad": 0.8, "branch": 0.3}}])
    problem = only(problems_of(data))
    assert problem.location == "personas[0].entry"
    assert problem.message == "entry probabilities sum to 1.1, more than 1"


def test_persona_touchpoint_overrides_replace_single_numbers(
    minimal_scenario: ScenarioFactory,
) -> None:
    data = minimal_scenario(personas=[{"id": "p", "customers": 100, "touchpoints": {
        "branch": {"failure_probability": 0.4, "success_value": 3}}}])
    scenario = load(data)
    params = persona_parameters(scenario, scenario.persona_list[0])
    assert params.failure["branch"] == 0.4 and params.success["branch"] == 3
    assert params.impact["branch"] == 40 and params.dropout["branch"] == 0.5


def test_persona_touchpoint_overrides_only_take_model_numbers(
    minimal_scenario: ScenarioFactory,
) -> None:
    data = minimal_scenario(personas=[{"id": "p", "touchpoints": {"branch": {"stage": "x"}}}])
    problem = only(problems_of(data))
    assert problem.location == "personas[0].touchpoints.branch.stage"
    assert problem.message == "unknown key 'stage'"
    assert problem.hint == "allowed here: failure_probability, impact, dropout, success_value"


# -- types (the models are strict) --------------------------------------------------------------

def test_a_quoted_number_is_not_a_number(write_scenario: ScenarioWriter) -> None:
    path = yaml_file(write_scenario, """
        cxplan: 1
        touchpoints:
          - id: ad
            failure_probability: "0.1"
            impact: 1
        journey: {entry: {ad: 1}}
        """)
    problem = only(problems_of(path))
    assert problem.location == "touchpoints[0].failure_probability"
    assert problem.message == "Input should be a valid number (got '0.1')"
    assert problem.hint == "write the number without quotes"
    assert problem.line == 4


@pytest.mark.parametrize("text", ["true", "yes", "on"])
def test_true_false_is_not_a_number(write_scenario: ScenarioWriter, text: str) -> None:
    path = yaml_file(write_scenario, f"""
        cxplan: 1
        touchpoints: [{{id: ad, failure_probability: 0.1, impact: {text}}}]
        journey: {{entry: {{ad: 1}}}}
        """)
    problem = only(problems_of(path))
    assert problem.location == "touchpoints[0].impact"
    assert problem.message == "Input should be a valid number (got True)"
    assert problem.hint is not None and "not a number" in problem.hint


def test_a_number_is_not_true_false(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["touchpoints"][0]["moment_of_truth"] = 1
    problem = only(problems_of(data))
    assert problem.location == "touchpoints[0].moment_of_truth"
    assert problem.message == "Input should be a valid boolean (got 1)"


def test_a_numeric_id_must_be_quoted(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"][1]["id"] = 2024
    problem = only(problems_of(data))
    assert problem.location == "improvements[1].id"
    assert problem.message == "Input should be a valid string (got 2024)"
    assert problem.hint == "put it in quotes: '2024'"


@pytest.mark.parametrize("ident", ["", " ad", "ad "])
def test_an_id_is_not_empty_and_not_padded(minimal_scenario: ScenarioFactory, ident: str) -> None:
    data = minimal_scenario()
    data["improvements"][1]["id"] = ident
    problem = only(problems_of(data))
    assert problem.location == "improvements[1].id"
    assert problem.message.startswith("an id must not be empty or start or end with a space")


def test_a_fraction_is_not_a_whole_number(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"][0]["duration"] = 1.5
    problem = only(problems_of(data))
    assert problem.location == "improvements[0].duration"
    assert problem.message == "Input should be a valid integer (got 1.5)"


def test_a_list_where_a_list_is_expected(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"][0]["requires"] = "sms"
    data["improvements"][1]["effects"] = {"touchpoint": "ad", "failure_reduction": 0.2}
    problems = problems_of(data)
    assert len(problems) == 2
    assert at(problems, "improvements[0].requires").message == (
        "Input should be a valid list (got 'sms')")
    assert at(problems, "improvements[1].effects").hint is not None


@pytest.mark.parametrize("bad", [5, {"a": 1}])
def test_requires_of_the_wrong_type_is_reported_not_crashed_on(
    minimal_scenario: ScenarioFactory, bad: Any
) -> None:
    data = minimal_scenario()
    data["improvements"][0]["requires"] = bad
    data["improvements"][0]["excludes"] = bad
    problems = problems_of(data)
    assert {p.location for p in problems} == {"improvements[0].requires",
                                              "improvements[0].excludes"}


def test_an_improvement_needs_at_least_one_effect(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"][0]["effects"] = []
    problem = only(problems_of(data))
    assert problem.location == "improvements[0].effects"
    assert "at least 1 item" in problem.message


def test_a_scenario_needs_a_touchpoint(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(touchpoints=[], improvements=[])
    data["journey"] = {"entry": {}}
    assert only(problems_of(data)).location == "touchpoints"


@pytest.mark.parametrize("drop,location", [
    (lambda d: d.pop("cxplan"), "cxplan"),
    (lambda d: d.pop("journey"), "journey"),
    (lambda d: d["journey"].pop("entry"), "journey.entry"),
    (lambda d: d["touchpoints"][1].pop("impact"), "touchpoints[1].impact"),
    (lambda d: d["improvements"][0].pop("cost"), "improvements[0].cost"),
    (lambda d: d["improvements"][0]["effects"][0].pop("touchpoint"),
     "improvements[0].effects[0].touchpoint"),
    (lambda d: d["journey"]["edges"][0].pop("from"), "journey.edges[0].from"),
    (lambda d: d.update(personas=[{"name": "no id"}]), "personas[0].id"),
], ids=["cxplan", "journey", "entry", "impact", "cost", "effect-touchpoint", "edge-from",
        "persona-id"])
def test_required_values_must_be_given(
    minimal_scenario: ScenarioFactory, drop: Any, location: str
) -> None:
    data = minimal_scenario()
    drop(data)
    problem = at(problems_of(data), location)
    assert problem.message == "required value is missing"


def test_a_missing_version_says_how_to_start_a_scenario(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    del data["cxplan"]
    assert only(problems_of(data)).hint == "the first line of a scenario is `cxplan: 1`"


def test_nan_and_infinity_are_rejected(write_scenario: ScenarioWriter) -> None:
    path = yaml_file(write_scenario, """
        cxplan: 1
        budget: .inf
        touchpoints:
          - {id: ad, failure_probability: .nan, impact: -.inf}
        journey:
          entry: {ad: .NaN}
        """)
    problems = problems_of(path)
    assert [(p.location, p.line) for p in problems] == [
        ("budget", 2), ("touchpoints[0].failure_probability", 4), ("touchpoints[0].impact", 4),
        ("journey.entry.ad", 6)]
    for problem in problems:
        assert "finite number" in problem.message
        assert problem.hint == "NaN and infinity are not allowed; write a finite number"


def test_nan_in_a_dict_is_rejected(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["journey"]["entry"]["ad"] = float("nan")
    data["teams"]["it"] = float("inf")
    assert {p.location for p in problems_of(data)} == {"journey.entry.ad", "teams.it"}


def test_non_text_keys_of_a_dict_are_reported(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario()
    data["improvements"][0]["staff"] = {1: 2}
    problems = problems_of(data)
    assert {p.location for p in problems} == {"improvements[0].staff.1"}
    assert any(p.message == "keys must be text (got 1)" for p in problems)


# -- unknown keys ----------------------------------------------------------------------------

@pytest.mark.parametrize("place,location,suggestion", [
    (lambda d: d.update(improvments=[]), "improvments", "improvements"),
    (lambda d: d["touchpoints"][1].update(failure_probabilty=0.2),
     "touchpoints[1].failure_probabilty", "failure_probability"),
    (lambda d: d["improvements"][0]["effects"][0].update(impact_reductio=0.1),
     "improvements[0].effects[0].impact_reductio", "impact_reduction"),
    (lambda d: d["improvements"][1].update(requieres=[]), "improvements[1].requieres",
     "requires"),
    (lambda d: d["journey"]["edges"][0].update(probabilty=0.1),
     "journey.edges[0].probabilty", "probability"),
    (lambda d: d["journey"].update(edge=[]), "journey.edge", "edges"),
    (lambda d: d.update(personas=[{"id": "p", "customer": 5}]), "personas[0].customer",
     "customers"),
    (lambda d: d.update(personas=[{"id": "p", "touchpoints": {"ad": {"dropuot": 0.1}}}]),
     "personas[0].touchpoints.ad.dropuot", "dropout"),
    (lambda d: d.update(personas=[{"id": "p", "edges": [
        {"from": "ad", "to": "branch", "probabilty": 0.5, "probability": 0.5}]}]),
     "personas[0].edges[0].probabilty", "probability"),
], ids=["top", "touchpoint", "effect", "improvement", "edge", "journey", "persona",
        "persona-override", "persona-edge"])
def test_unknown_keys_are_errors_with_did_you_mean(
    minimal_scenario: ScenarioFactory, place: Any, location: str, suggestion: str
) -> None:
    data = minimal_scenario()
    place(data)
    problem = only(problems_of(data))
    assert problem.location == location
    assert problem.message == (f"unknown key '{location.split('.')[-1]}' "
                               f"(did you mean '{suggestion}'?)")
    assert problem.hint is not None and problem.hint.startswith("allowed here: ")
    assert suggestion in problem.hint


def test_python_names_of_fields_are_unknown_keys(minimal_scenario: ScenarioFactory) -> None:
    # An edge is written with from/to; `source`/`target` are not part of the format.
    data = minimal_scenario()
    data["journey"]["edges"][0] = {"source": "ad", "target": "nowhere", "probability": 0.6}
    problems = problems_of(data)
    assert {p.location: p.message for p in problems} == {
        "journey.edges[0].from": "required value is missing",
        "journey.edges[0].to": "required value is missing",
        "journey.edges[0].source": "unknown key 'source'",
        "journey.edges[0].target": "unknown key 'target'",
    }
    assert at(problems, "journey.edges[0].source").hint == "allowed here: from, to, probability"


def test_an_unknown_key_has_its_line(write_scenario: ScenarioWriter) -> None:
    path = yaml_file(write_scenario, """
        cxplan: 1
        touchpoints:
          - id: ad
            failure_probability: 0.1
            impact: 1
            dropuot: 0.2
        journey: {entry: {ad: 1}}
        """)
    problem = only(problems_of(path))
    assert (problem.location, problem.line) == ("touchpoints[0].dropuot", 6)
    assert problem.message == "unknown key 'dropuot' (did you mean 'dropout'?)"


# -- all problems at once --------------------------------------------------------------------

def test_many_different_errors_are_reported_together(write_scenario: ScenarioWriter) -> None:
    path = yaml_file(write_scenario, """
        cxplan: 1
        budgett: 100
        teams: {it: 2}
        touchpoints:
          - {id: ad, failure_probability: 0.1, impact: 1}
          - {id: branch, failure_probability: 1.5, impact: 40}
          - {id: ad, failure_probability: 0.1, impact: "lots"}
        journey:
          entry: {ad: 0.8, branch: 0.4}
          edges:
            - {from: ad, to: branch, probability: 0.7}
            - {from: ad, to: brnch, probability: 0.1}
            - {from: branch, to: ad, probability: 0.6}
            - {from: branch, to: branch, probability: 0.6}
        improvements:
          - id: a
            cost: 10
            staff: {marketing: 1}
            effects: [{touchpoint: ad, failure_reduction: 0.5}]
            requires: [b]
          - id: b
            cost: 10
            effects: [{touchpoint: branch, failure_reduction: 0.5}]
            requires: [a]
            excludes: [c]
          - id: c
            cost: true
            effects: [{touchpoint: ad, failure_reduction: 0.5}]
            mandatory: yes
        """)
    problems = problems_of(path)
    expected = [
        ("budgett", 2, "unknown key 'budgett' (did you mean 'budget'?)"),
        ("touchpoints[1].failure_probability", 6, "less than or equal to 1"),
        ("touchpoints[2].impact", 7, "valid number (got 'lots')"),
        ("touchpoints[2].id", 7, "duplicate touchpoint id 'ad'"),
        ("journey.entry", 9, "entry probabilities sum to 1.2"),
        ("journey.edges[1].to", 12, "unknown touchpoint 'brnch' (did you mean 'branch'?)"),
        ("journey.edges[2]", 13, "edges out of 'branch' sum to 1.2"),
        ("improvements[0].staff.marketing", 18, "team 'marketing' is not declared"),
        ("improvements[0].requires[0]", 20, "requires cycle: a -> b -> a"),
        ("improvements[2].cost", 27, "valid number (got True)"),
    ]
    assert [(p.location, p.line) for p in problems] == [(loc, line) for loc, line, _ in expected]
    for problem, (_, _, words) in zip(problems, expected, strict=True):
        assert words in problem.message
        assert problem.file == FILE
        assert problem.format().startswith(f"{FILE}: {problem.location}: ")


def test_problems_of_a_dict_have_no_lines(minimal_scenario: ScenarioFactory) -> None:
    data = minimal_scenario(budget="x")
    data["touchpoints"][0]["impact"] = "y"
    problems = problems_of(data)
    assert [(p.file, p.location, p.line) for p in problems] == [
        (FILE, "budget", None), (FILE, "touchpoints[0].impact", None)]


def test_a_dict_is_named_dict_by_default(minimal_scenario: ScenarioFactory) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(minimal_scenario(budget="x"))
    assert info.value.problems[0].format() == (
        "<dict>: budget: Input should be a valid number (got 'x')\n"
        "    hint: write a number, such as 1200 or 0.25")


# -- reading files (hardening) -----------------------------------------------------------------

def test_a_file_and_a_dict_give_the_same_scenario(
    minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter,
) -> None:
    data = minimal_scenario()
    assert load_scenario(write_scenario(data)).model_dump() == load(data).model_dump()


def test_a_json_file_is_read_like_yaml(
    minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter,
) -> None:
    data = minimal_scenario()
    data["touchpoints"][0]["failure_probability"] = 1e-3
    data["improvements"][0]["cost"] = 2.5e6
    for indent in (None, 2, "\t"):
        path = write_scenario(json.dumps(data, indent=indent), "scenario.json")
        scenario = load_scenario(path)
        assert scenario.touchpoints[0].failure_probability == 1e-3
        assert scenario.improvements[0].cost == 2.5e6


def test_a_json_file_gets_located_problems(write_scenario: ScenarioWriter) -> None:
    text = ('{\n  "cxplan": 1,\n  "touchpoints": [\n    {"id": "ad", "failure_probability": 0.1,'
            ' "impact": 1, "impact": 2}\n  ],\n  "journey": {"entry": {"add": 1}}\n}\n')
    problems = problems_of(write_scenario(text, "scenario.json"))
    assert [(p.location, p.line) for p in problems] == [
        ("touchpoints[0].impact", 4), ("journey.entry.add", 6)]
    assert problems[0].message == "duplicate key (each key may appear once)"


def test_exponent_notation_is_a_number_in_yaml(write_scenario: ScenarioWriter) -> None:
    path = yaml_file(write_scenario, """
        cxplan: 1
        budget: 1e6
        touchpoints: [{id: ad, failure_probability: 2.5E-2, impact: 1.5e+3}]
        journey: {entry: {ad: 1}}
        """)
    scenario = load_scenario(path)
    assert scenario.budget == 1e6
    assert (scenario.touchpoints[0].failure_probability, scenario.touchpoints[0].impact) == (
        0.025, 1500)


def test_a_duplicate_key_is_an_error_with_both_lines(write_scenario: ScenarioWriter) -> None:
    path = yaml_file(write_scenario, """
        cxplan: 1
        touchpoints:
          - id: ad
            failure_probability: 0.1
            impact: 1
            impact: 2
        journey: {entry: {ad: 1}}
        budget: x
        """)
    problems = problems_of(path)
    duplicate = at(problems, "touchpoints[0].impact")
    assert duplicate.message == "duplicate key (each key may appear once)"
    assert duplicate.line == 6
    assert duplicate.hint == "'impact' is already given at line 5; keep one of them"
    # ...and the rest of the file is still checked.
    assert at(problems, "budget").line == 8


def test_a_duplicate_top_level_section_is_an_error(
    minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter,
) -> None:
    import yaml

    text = yaml.safe_dump(minimal_scenario(), sort_keys=False)
    text += "teams: {it: 5}\n"
    problem = only(problems_of(write_scenario(text)))
    assert (problem.location, problem.message) == ("teams",
                                                   "duplicate key (each key may appear once)")


def test_merge_keys_are_not_duplicates(write_scenario: ScenarioWriter) -> None:
    path = yaml_file(write_scenario, """
        cxplan: 1
        touchpoints:
          - &base {id: ad, failure_probability: 0.1, impact: 1}
          - <<: *base
            id: web
            impact: 3
        journey:
          entry: {ad: 0.5, web: 0.5}
        """)
    scenario = load_scenario(path)
    web = scenario.touchpoints[1]
    assert (web.id, web.failure_probability, web.impact) == ("web", 0.1, 3)


@pytest.mark.parametrize("text,words", [
    ("cxplan: !!python/object/apply:os.system ['echo owned']\n", "!!python/object/apply"),
    ("cxplan: !!python/name:os.system\n", "!!python/name"),
    ("cxplan: 1\nname: !custom x\n", "!custom"),
    ("cxplan: 1\nname: !!binary aGVsbG8=\n", "!!binary"),
])
def test_yaml_tags_are_not_loaded(write_scenario: ScenarioWriter, text: str, words: str) -> None:
    problems = problems_of(write_scenario(text))
    tagged = problems[0] if problems[0].location in ("cxplan", "name") else problems[-1]
    assert tagged.message.startswith("cannot read this value: ")
    assert words in tagged.message
    assert tagged.hint is not None and "plain values" in tagged.hint


def test_a_date_is_kept_as_written(
    minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter,
) -> None:
    import yaml

    text = yaml.safe_dump(minimal_scenario(name=None), sort_keys=False)
    text = text.replace("name: null", "name: 2024-01-31")
    assert load_scenario(write_scenario(text)).name == "2024-01-31"


def test_numeric_and_yes_no_keys_are_names(
    minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter,
) -> None:
    import yaml

    data = minimal_scenario(teams={"2024": 2, "on": 1})
    data["improvements"][0]["staff"] = {"2024": 1, "on": 1}
    text = yaml.safe_dump(data, sort_keys=False).replace("'2024'", "2024").replace("'on'", "on")
    assert "  2024: 2" in text and "  on: 1" in text
    assert load_scenario(write_scenario(text)).teams == {"2024": 2, "on": 1}


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n", "---\n"])
def test_an_empty_file_is_an_error(write_scenario: ScenarioWriter, text: str) -> None:
    problem = only(problems_of(write_scenario(text)))
    assert problem.location == ""
    assert problem.message.startswith("file is empty")
    assert problem.hint == "start from one of the files in scenarios/"


def test_a_file_that_is_not_utf8_is_an_error(write_scenario: ScenarioWriter) -> None:
    problem = only(problems_of(write_scenario("cxplan: 1\nname: Caf\xe9\n".encode("latin-1"))))
    assert problem.message == "not UTF-8 text (bad byte at offset 19)"
    assert problem.hint == "save the file as UTF-8"


def test_a_utf8_byte_order_mark_is_fine(
    minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter,
) -> None:
    import yaml

    text = yaml.safe_dump(minimal_scenario(name="Café"), sort_keys=False, allow_unicode=True)
    assert load_scenario(write_scenario(b"\xef\xbb\xbf" + text.encode())).name == "Café"


def test_a_control_character_is_an_error(write_scenario: ScenarioWriter) -> None:
    problem = only(problems_of(write_scenario("cxplan: 1\nname: a\x00b\n")))
    assert problem.message.startswith("not valid YAML: character #x0000 is not allowed")
    assert problem.line == 2


def test_a_directory_is_not_a_scenario(tmp_path: Path) -> None:
    problem = only(problems_of(tmp_path))
    assert problem.file == FILE
    assert problem.message == "is a folder, not a scenario file"


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "nope.yaml")
    assert info.value.problems[0].format() == f"{tmp_path / 'nope.yaml'}: no such file"


def test_broken_yaml_is_an_error_with_its_line(write_scenario: ScenarioWriter) -> None:
    problem = only(problems_of(write_scenario("cxplan: 1\ntouchpoints: [\n  {id: a\n")))
    assert problem.message.startswith("not valid YAML: ")
    assert problem.line is not None


def test_two_documents_in_one_file_are_an_error(write_scenario: ScenarioWriter) -> None:
    problem = only(problems_of(write_scenario("cxplan: 1\n---\ncxplan: 1\n")))
    assert problem.message == ("not valid YAML: expected a single document in the stream, "
                               "but found another document")
    assert problem.line == 2


@pytest.mark.parametrize("text,kind", [("- cxplan: 1\n- touchpoints: []\n", "a list"),
                                       ("hello\n", "text"), ("42\n", "a number")])
def test_the_top_level_must_be_a_mapping(
    write_scenario: ScenarioWriter, text: str, kind: str
) -> None:
    problem = only(problems_of(write_scenario(text)))
    assert problem.location == ""
    assert problem.message == ("a scenario is a mapping of keys (cxplan: 1, touchpoints, ...), "
                               f"not {kind}")


def test_another_format_version_is_the_only_error(write_scenario: ScenarioWriter) -> None:
    path = write_scenario("cxplan: 2\nsomething_new: {}\n")
    problem = only(problems_of(path))
    assert (problem.location, problem.line) == ("cxplan", 1)
    assert problem.message == "format version 2 is not supported (this cxplan reads version 1)"


@pytest.mark.parametrize("version", ["'1'", "1.0", "true", "v1"])
def test_a_mistyped_version_is_an_error(
    minimal_scenario: ScenarioFactory, write_scenario: ScenarioWriter, version: str
) -> None:
    import yaml

    text = yaml.safe_dump(minimal_scenario(), sort_keys=False).replace("cxplan: 1",
                                                                     f"cxplan: {version}")
    problem = only(problems_of(write_scenario(text)))
    assert problem.location == "cxplan"
    assert problem.message.startswith("unsupported format version")
    assert problem.hint == "this cxplan reads format version 1: write `cxplan: 1`"


def test_an_alias_bomb_is_stopped_quickly(write_scenario: ScenarioWriter) -> None:
    lines = ["cxplan: 1", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path = write_scenario("\n".join(lines) + "\n")
    start = time.perf_counter()
    problem = only(problems_of(path))
    # Expanded, the file is 10¹⁰ values: hours of work and all memory. 60 s catches that
    # without failing on a busy machine (it was < 5 s, and failed once at load 13).
    assert time.perf_counter() - start < 60
    assert "alias" in problem.message and "bomb" in problem.message


def test_a_recursive_alias_is_an_error(write_scenario: ScenarioWriter) -> None:
    problem = only(problems_of(write_scenario("cxplan: 1\nloop: &l [1, *l]\n")))
    assert "recursive alias" in problem.message and problem.line == 2


def test_aliases_for_shared_values_are_fine(write_scenario: ScenarioWriter) -> None:
    path = yaml_file(write_scenario, """
        cxplan: 1
        touchpoints:
          - {id: ad, failure_probability: &p 0.1, impact: 1}
          - {id: web, failure_probability: *p, impact: 1}
        journey:
          entry: {ad: 0.5, web: 0.5}
        """)
    assert [t.failure_probability for t in load_scenario(path).touchpoints] == [0.1, 0.1]


def test_deep_nesting_is_an_error_not_a_crash(write_scenario: ScenarioWriter) -> None:
    for depth in (100, 2000):
        problem = only(problems_of(write_scenario("cxplan: " + "[" * depth + "]" * depth)))
        assert "nested deeper than" in problem.message


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    from cxplan.scenario.source import read_document

    path = tmp_path / "big.yaml"
    path.write_text("cxplan: 1\n" + "# padding\n" * 100)
    with pytest.raises(ScenarioError) as info:
        read_document(path, max_bytes=100)
    assert "over the limit of 100" in info.value.problems[0].message


# -- the command line --------------------------------------------------------------------------

def test_validate_prints_every_problem_and_exits_2_without_traceback(
    write_scenario: ScenarioWriter,
) -> None:
    path = yaml_file(write_scenario, """
        cxplan: 1
        touchpoints: [{id: ad, failure_probability: 2, impact: 1}]
        journey: {entry: {add: 1}}
        """)
    result = subprocess.run([sys.executable, "-m", "cxplan.cli", "validate", str(path)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert f"{path}: touchpoints[0].failure_probability: " in result.stderr
    assert f"{path}: journey.entry.add: unknown touchpoint 'add' (did you mean 'ad'?)" in \
        result.stderr


@pytest.mark.parametrize("content", [b"\xff\xfe\x00", b"- a\n", b"a: [\n"])
def test_validate_handles_broken_files_without_traceback(
    write_scenario: ScenarioWriter, content: bytes
) -> None:
    path = write_scenario(content)
    result = subprocess.run([sys.executable, "-m", "cxplan.cli", "validate", str(path)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{path}: ")


@pytest.mark.parametrize("place, location", [
    (lambda d: d.update(budget=-5), "budget"),
    (lambda d: d["improvements"][0].update(cost=-1), "improvements[0].cost"),
    (lambda d: d["touchpoints"][0].update(impact=-2), "touchpoints[0].impact"),
], ids=["budget", "cost", "impact"])
def test_negative_amounts_are_not_told_to_be_probabilities(
    minimal_scenario: ScenarioFactory, place: Any, location: str
) -> None:
    data = minimal_scenario()
    place(data)
    problem = only(problems_of(data))
    assert problem.location == location
    assert "greater than or equal to 0" in problem.message
    assert problem.hint == "this value cannot be negative"
