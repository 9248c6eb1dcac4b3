"""What-if analysis (cxplan.whatif), as a specification.

Every number is held to an independent reference: frontier points to separate solves
at the same levels, marginal values to differences of separate solves, explanations
to brute-force enumeration written from docs/model.md alone (tests/random_scenarios.py),
sensitivity ranges to solves just inside and just outside each end on constructed
scenarios whose thresholds are known in closed form.
"""

from __future__ import annotations

import itertools
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cxplan import load_scenario, optimize
from cxplan.api import prepare
from cxplan.cli import app
from cxplan.errors import UsageError
from cxplan.optimizer.options import SolverOptions
from cxplan.report.whatif import render_comparison, render_frontier, render_sensitivity
from cxplan.scenario import Scenario
from cxplan.whatif import sensitivity as sensitivity_module
from cxplan.whatif.engine import Analysis
from cxplan.whatif.explain import explain, one_line_reasons
from cxplan.whatif.frontier import frontier, parse_range
from cxplan.whatif.marginal import marginal_values
from cxplan.whatif.sensitivity import (
    scale_failure_probability,
    scale_failure_reduction,
    sensitivity,
)

from random_scenarios import exact_value, feasible, random_scenario

ROOT = Path(__file__).resolve().parents[1]
MICROFINANCE = ROOT / "scenarios" / "microfinance-onboarding.yaml"
SEEDS = [1, 2, 3, 4]


def close(a: float, b: float) -> bool:
    """Equal within the solver's optimality gap (1e-6 relative)."""
    return abs(a - b) <= 2e-6 * max(1.0, abs(a), abs(b))


def enumerate_all(data: dict[str, Any]) -> list[tuple[frozenset[str], float]]:
    """Every feasible selection with its exact gain (brute force, docs/model.md only)."""
    ids = [i["id"] for i in data["improvements"]]
    base = exact_value(data, set())
    found = []
    for r in range(len(ids) + 1):
        for combo in itertools.combinations(ids, r):
            if feasible(data, set(combo)):
                found.append((frozenset(combo), exact_value(data, set(combo)) - base))
    return found


# -- the engine ---------------------------------------------------------------------------------

def test_a_session_solves_again_after_a_solve_stopped_by_its_time_limit() -> None:
    # HiGHS keeps the interrupt flag between runs: a stopped solve used to stop the next one.
    prepared = prepare(load_scenario(MICROFINANCE))
    session = prepared.session(SolverOptions(time_limit=0.05))
    first = prepared.solve(session, prepared.greedy(5.0))  # the start: a plan to return
    assert first.status == "time_limit"
    again = prepared.solve(session, first.selected, time_limit=60)
    assert again.status == "optimal"
    assert close(prepared.objective(again.selected), optimize(
        load_scenario(MICROFINANCE)).objective)


def test_limits_and_fixes_apply_inside_their_block_only() -> None:
    scenario = load_scenario(random_scenario(3))
    analysis = Analysis(scenario)
    best = analysis.optimum()
    chosen = best.selected[0]
    with analysis.fixed(chosen, False):
        without = analysis.solve(None)
        assert chosen not in without.selected
    with analysis.limits(budget=0.0):
        assert analysis.solve(None).cost == 0
    assert close(analysis.solve(best.selected).objective, best.objective)


# -- frontier -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_budget_frontier_points_equal_independent_solves(seed: int) -> None:
    scenario = load_scenario(random_scenario(seed))
    total = sum(i.cost for i in scenario.improvements)
    levels = [total * k / 5 for k in range(6)]
    reused = frontier(scenario, "budget", levels)
    fresh = frontier(scenario, "budget", levels, reuse=False)
    assert reused.reuse and not fresh.reuse
    for point, check in zip(reused.points, fresh.points, strict=True):
        independent = optimize(scenario, budget=point.level)
        assert point.outcome is not None and check.outcome is not None
        assert close(point.outcome.objective, independent.objective)
        assert close(check.outcome.objective, independent.objective)
        assert point.outcome.cost <= point.level + 1e-9
    objectives = [p.outcome.objective for p in reused.points if p.outcome]
    assert all(b >= a - 1e-6 * max(1, abs(a)) for a, b in itertools.pairwise(objectives))


def test_frontier_knees_are_where_the_plan_changes_and_gain_per_unit_is_the_slope() -> None:
    scenario = load_scenario(random_scenario(1))
    result = frontier(scenario, "budget", parse_range("0:200:9", scenario.budget,
                                                      what="--budget"))
    for before, after in itertools.pairwise(result.points):
        assert before.outcome is not None and after.outcome is not None
        assert after.knee == (set(before.outcome.selected) != set(after.outcome.selected))
        assert set(after.added) == set(after.outcome.selected) - set(before.outcome.selected)
        assert after.per_unit == pytest.approx(
            (after.outcome.objective - before.outcome.objective) / (after.level - before.level))
    csv_lines = result.to_csv().splitlines()
    assert len(csv_lines) == 1 + len(result.points)
    assert json.loads(json.dumps(result.to_dict()))["knees"] == [p.level for p in result.knees]


def test_team_frontier_points_equal_independent_solves() -> None:
    data = random_scenario(2)
    scenario = load_scenario(data)
    team = next(t for t in scenario.teams
                if any(i.staff.get(t) for i in scenario.improvements))
    result = frontier(scenario, f"team:{team}", [0, 1, 2, 3, 4])
    for point in result.points:
        assert point.outcome is not None
        assert close(point.outcome.objective,
                     optimize(scenario, teams={team: point.level}).objective)


def test_frontier_levels_without_a_plan_report_the_conflict() -> None:
    data = random_scenario(2)
    data["improvements"][0]["mandatory"] = True
    data["improvements"][0]["cost"] = 30
    data["improvements"][0].pop("requires", None)
    scenario = load_scenario(data)
    result = frontier(scenario, "budget", [10, 40])
    low, high = result.points
    assert low.outcome is None and any("budget" in c for c in low.conflict)
    assert high.outcome is not None and not high.knee and high.per_unit is None


@pytest.mark.parametrize(("text", "base", "expected"), [
    ("100:300:3", None, [100, 200, 300]),
    ("50%:150%:3", 1000.0, [500, 1000, 1500]),
    ("5:5:1", None, [5]),
])
def test_ranges_are_from_to_steps_with_optional_percentages(
        text: str, base: float | None, expected: list[float]) -> None:
    assert parse_range(text, base, what="--budget") == pytest.approx(expected)


@pytest.mark.parametrize("text", ["100:300", "300:100:3", "a:b:3", "1:2:0", "10%:20%:2"])
def test_bad_ranges_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_range(text, None, what="--budget")


# -- marginal values ----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 3])
def test_marginal_values_equal_the_difference_of_independent_solves(seed: int) -> None:
    scenario = load_scenario(random_scenario(seed))
    plan = optimize(scenario, marginals=True)
    assert plan.marginals is not None
    by_limit = {v.limit: v for v in plan.marginals.values}
    budget = by_limit["budget"]
    assert budget.step == pytest.approx(0.1 * scenario.budget)
    assert close(budget.gain, optimize(scenario, budget=scenario.budget * 1.1).objective
                 - plan.objective)
    for team, capacity in scenario.teams.items():
        value = by_limit[f"team:{team}"]
        if value.status == "unused":
            continue
        raised = optimize(scenario, teams={team: capacity + 1}).objective
        assert close(value.gain, raised - plan.objective)
        assert value.binding == (value.gain > 1e-6 * max(1, abs(plan.objective)))
    data = plan.to_dict()
    assert data["binding_constraints"] == list(plan.marginals.binding)
    assert {m["limit"] for m in data["marginal_values"]} == set(by_limit)


def test_a_budget_step_can_be_an_amount() -> None:
    scenario = load_scenario(random_scenario(1))
    analysis = Analysis(scenario)
    best = analysis.optimum()
    values = marginal_values(analysis, best, budget_step="7")
    budget = next(v for v in values.values if v.limit == "budget")
    assert budget.step == 7
    assert close(budget.gain, optimize(scenario, budget=scenario.budget + 7).objective
                 - best.objective)


# -- explanations -------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_explanations_equal_brute_force(seed: int) -> None:
    data = random_scenario(seed)
    scenario = load_scenario(data)
    table = enumerate_all(data)
    best = max(gain for _, gain in table)
    analysis = Analysis(scenario)
    plan = analysis.optimum()
    assert close(plan.objective, best)
    for imp in scenario.improvement_ids:
        e = explain(scenario, imp, analysis=analysis, plan=plan)
        selected = imp in plan.selected
        assert e.selected == selected
        # The alternative is the best plan with the improvement forced the other way.
        others = [gain for chosen, gain in table if (imp in chosen) != selected]
        if not others:
            assert e.alternative is None and e.conflict
            continue
        assert e.alternative is not None
        assert (imp in e.alternative.selected) != selected
        assert feasible(data, set(e.alternative.selected))
        assert close(e.alternative.objective, max(others))
        assert e.gain_lost is not None and close(e.gain_lost, best - max(others))
        assert set(e.comes_in) | set(e.goes_out) == (
            set(plan.selected) ^ set(e.alternative.selected)) - {imp}


def obstacle_scenario() -> dict[str, Any]:
    """`core` (the plan) and left-out candidates, each kept out by one thing: the budget,
    a team, an exclusion, a missing requirement; and one that would lower the value (it
    lets more customers reach a costly touchpoint)."""
    def imp(ident: str, cost: float, reduction: float, **more: Any) -> dict[str, Any]:
        return {"id": ident, "cost": cost,
                "effects": [{"touchpoint": "t", "failure_reduction": reduction}], **more}

    return {
        "cxplan": 1, "budget": 10, "teams": {"it": 1},
        "touchpoints": [{"id": "t", "failure_probability": 0.5, "impact": 100},
                        {"id": "s", "failure_probability": 0.5, "impact": 0, "dropout": 1},
                        {"id": "w", "failure_probability": 0.5, "impact": 10}],
        "journey": {"entry": {"t": 0.5, "s": 0.5},
                    "edges": [{"from": "s", "to": "w", "probability": 1.0}]},
        "improvements": [
            imp("core", 5, 0.9, staff={"it": 1}),
            imp("pricey", 6, 0.5),
            imp("staffed", 1, 0.2, staff={"it": 1}),
            imp("rival", 1, 0.3, excludes=["core"]),
            imp("addon", 1, 0.05, requires=["base-work"]),
            imp("base-work", 6, 0.01),
            {"id": "useless", "cost": 1,
             "effects": [{"touchpoint": "s", "failure_reduction": 0.5}]},
        ],
    }


def test_left_out_improvements_name_the_constraint_that_keeps_them_out() -> None:
    scenario = load_scenario(obstacle_scenario())
    analysis = Analysis(scenario)
    plan = analysis.optimum()
    assert plan.selected == ("core",)
    kinds = {imp: {o.kind for o in explain(scenario, imp, analysis=analysis,
                                           plan=plan).obstacles}
             for imp in ("pricey", "staffed", "rival", "addon", "useless")}
    assert kinds["pricey"] == {"budget"}
    assert kinds["staffed"] == {"team"}
    assert kinds["rival"] == {"exclusion"}
    assert kinds["addon"] == {"requirement", "budget"}
    assert kinds["useless"] == {"value"}
    line = explain(scenario, "staffed", analysis=analysis, plan=plan).line
    assert line.startswith("left out:") and "team it" in line


def test_a_mandatory_improvement_cannot_be_left_out_and_says_why() -> None:
    data = obstacle_scenario()
    data["improvements"][0]["mandatory"] = True
    data["improvements"][3]["mandatory"] = False
    scenario = load_scenario(data)
    e = explain(scenario, "core")
    assert e.selected and e.alternative is None
    assert e.conflict == ("'core' is mandatory",)
    assert "cannot be left out" in e.line
    rival = explain(scenario, "rival")  # excludes the mandatory one: cannot be forced in
    assert rival.alternative is None
    assert any("core" in c for c in rival.conflict)


def test_one_line_reasons_cover_every_improvement_for_the_report() -> None:
    scenario = load_scenario(obstacle_scenario())
    plan = optimize(scenario)
    reasons = one_line_reasons(plan, scenario)
    assert set(reasons) == set(scenario.improvement_ids)
    for imp, reason in reasons.items():
        assert reason.startswith("in the plan" if imp in plan.selected else "left out")
    cheap = one_line_reasons(plan, scenario, time_budget=0)
    assert all("(not re-solved)" in r for r in cheap.values())
    assert "budget" in cheap["pricey"]


def test_explaining_an_unknown_improvement_suggests_the_right_id() -> None:
    with pytest.raises(UsageError, match="did you mean 'core'"):
        explain(load_scenario(obstacle_scenario()), "cor")


# -- sensitivity --------------------------------------------------------------------------------

def two_candidates() -> dict[str, Any]:
    """A (gain 15 × factor) and B (gain 10) compete for a budget that fits one of them.

    Two touchpoints, each entered by half the customers, p = 0.5, impact 100: A removes
    60 % of t1's failures (gain 100·0.5·0.5·0.6 = 15), B 40 % of t2's (gain 10). So:
    A's failure reduction may fall to 2/3 of itself; t1's failure probability too; A's
    cost may rise to 15 (the budget) and fall to just above 5 (where B fits beside it).
    """
    return {
        "cxplan": 1, "budget": 15,
        "touchpoints": [{"id": "t1", "failure_probability": 0.5, "impact": 100},
                        {"id": "t2", "failure_probability": 0.5, "impact": 100}],
        "journey": {"entry": {"t1": 0.5, "t2": 0.5}},
        "improvements": [
            {"id": "A", "cost": 10, "effects": [{"touchpoint": "t1", "failure_reduction": 0.6}]},
            {"id": "B", "cost": 10, "effects": [{"touchpoint": "t2", "failure_reduction": 0.4}]},
        ],
    }


def with_cost(scenario: Scenario, improvement: str, cost: float) -> Scenario:
    from cxplan.whatif.engine import replace_improvements

    return replace_improvements(scenario, [
        i.model_copy(update={"cost": cost}) if i.id == improvement else i
        for i in scenario.improvements])


def plan_at(scenario: Scenario, kind: str, subject: str, value: float) -> set[str]:
    if kind == "cost":
        changed = with_cost(scenario, subject, value)
    elif kind == "failure_reduction":
        changed = scale_failure_reduction(scenario, subject, value)
    else:
        changed = scale_failure_probability(scenario, subject, value)
    return set(optimize(changed).selected)


@pytest.mark.parametrize("local_search", [True, False])
def test_sensitivity_ranges_match_the_constructed_thresholds(
        monkeypatch: pytest.MonkeyPatch, local_search: bool) -> None:
    if not local_search:  # competitors found by verification solves alone
        monkeypatch.setattr(sensitivity_module, "NEIGHBOUR_LIMIT", 0)
    scenario = load_scenario(two_candidates())
    result = sensitivity(scenario, tolerance=0.01)
    assert set(result.plan.selected) == {"A"}
    ranges = {(r.kind, r.subject): r for r in result.ranges}
    cost = ranges["cost", "A"]
    assert cost.high.inside == pytest.approx(15) and cost.high.status == "exact"
    assert cost.low.outside == pytest.approx(5) and cost.low.inside == pytest.approx(5.1)
    assert set(cost.low.competitor or ()) == {"A", "B"}
    reduction = ranges["failure_reduction", "A"]
    assert reduction.low.inside == pytest.approx(2 / 3, abs=0.011)
    assert reduction.low.outside is not None and reduction.low.outside < 2 / 3
    assert reduction.high.inside == pytest.approx(1 / 0.6)
    assert reduction.high.status == "unchanged to the limit"
    probability = ranges["failure_probability", "t1"]
    assert probability.low.inside == pytest.approx(2 / 3, abs=0.011)
    assert probability.high.inside == pytest.approx(2.0)


def test_the_plan_is_unchanged_just_inside_and_changed_just_outside_every_range() -> None:
    scenario = load_scenario(two_candidates())
    result = sensitivity(scenario, tolerance=0.01)
    plan = set(result.plan.selected)
    checked = 0
    for r in result.ranges:
        for side in (r.low, r.high):
            assert plan_at(scenario, r.kind, r.subject, side.inside) == plan
            if side.outside is not None:
                assert plan_at(scenario, r.kind, r.subject, side.outside) != plan
                checked += 1
    assert checked >= 4


def test_sensitivity_ends_hold_on_a_random_scenario() -> None:
    scenario = load_scenario(random_scenario(3))
    result = sensitivity(scenario, tolerance=0.02, touchpoints=2)
    plan = set(result.plan.selected)
    for r in result.ranges:
        for side in (r.low, r.high):
            if side.status not in ("exact", "verified"):
                continue
            assert plan_at(scenario, r.kind, r.subject, side.inside) == plan, r.label
            if side.outside is not None:
                assert plan_at(scenario, r.kind, r.subject, side.outside) != plan, r.label


def test_without_a_budget_costs_cannot_change_the_plan() -> None:
    data = two_candidates()
    del data["budget"]
    result = sensitivity(load_scenario(data), kinds=("cost",))
    assert all(r.low.inside == 0 and r.high.outside is None for r in result.ranges)


def slack_and_choice() -> dict[str, Any]:
    """A (gain 10) and B (gain 7.5) are funded, cost 10 each, with 0.5 of the budget of
    20.5 left unspent; C (gain 6, cost 10.4) excludes B and replaces it as soon as B's
    gain falls below 6: B's failure reduction (and t2's failure probability) may fall by
    only 20 % before the decision changes. The costs may rise by only 5 % (0.5) before
    the plan stops fitting — budget slack, no other plan is better there — and falling
    they change nothing (nothing else fits beside A and B)."""
    def tp(ident: str) -> dict[str, Any]:
        return {"id": ident, "failure_probability": 0.5, "impact": 100}

    def imp(ident: str, cost: float, touchpoint: str, reduction: float,
            **more: Any) -> dict[str, Any]:
        return {"id": ident, "cost": cost, **more,
                "effects": [{"touchpoint": touchpoint, "failure_reduction": reduction}]}

    return {"cxplan": 1, "budget": 20.5, "touchpoints": [tp("t1"), tp("t2"), tp("t3")],
            "journey": {"entry": {"t1": 1 / 3, "t2": 1 / 3, "t3": 1 / 3}},
            "improvements": [imp("A", 10, "t1", 0.6), imp("B", 10, "t2", 0.45),
                             imp("C", 10.4, "t3", 0.36, excludes=["B"])]}


def test_budget_slack_is_labelled_and_ranked_after_what_changes_the_decision(
        tmp_path: Path) -> None:
    scenario = load_scenario(slack_and_choice())
    result = sensitivity(scenario, tolerance=0.01, touchpoints=2)
    assert set(result.plan.selected) == {"A", "B"}
    ranges = {(r.kind, r.subject): r for r in result.ranges}
    for imp in ("A", "B"):
        cost = ranges["cost", imp]
        assert cost.high.budget_slack and cost.high.inside == pytest.approx(10.5)
        assert not cost.low.budget_slack and cost.low.outside is None
        assert not cost.changes_decision
    deciding = ranges["failure_reduction", "B"]
    assert deciding.changes_decision and deciding.low.competitor == ("A", "C")
    assert deciding.decision_distance == pytest.approx(0.2, abs=0.011)
    # The 5 % of slack used to put the costs first (narrowest); what changes the decision
    # comes first now, and every range that does comes before every one that does not.
    assert {(r.kind, r.subject) for r in result.ranges[:2]} == {
        ("failure_reduction", "B"), ("failure_probability", "t2")}
    decides = [r.changes_decision for r in result.ranges]
    assert decides == sorted(decides, reverse=True) and decides.count(False) >= 3
    data = json.loads(json.dumps(result.to_dict()))
    by_subject = {(r["kind"], r["subject"]): r for r in data["ranges"]}
    assert by_subject["cost", "A"]["high"]["budget_slack"] is True
    assert by_subject["cost", "A"]["changes_decision"] is False
    assert by_subject["failure_reduction", "B"]["low"]["budget_slack"] is False
    assert by_subject["failure_reduction", "B"]["decision_distance"] == pytest.approx(
        0.2, abs=0.011)
    html, svg = render_sensitivity(result)
    tree = ET.fromstring(svg)
    hatched = [e for e in tree.iter("{http://www.w3.org/2000/svg}rect")
               if e.get("class") == "budget-slack"]
    assert len(hatched) == 2
    assert "budget slack only" in html and 'class="slack"' in html
    path = tmp_path / "slack.yaml"
    path.write_text(yaml.safe_dump(slack_and_choice()), encoding="utf-8")
    text = invoke("sensitivity", str(path), "--touchpoints", "2", "--improvement", "A").stdout
    assert "budget slack only" in text and "no longer fits the budget" not in text


# -- output -------------------------------------------------------------------------------------

def test_pages_escape_what_the_scenario_says_and_charts_are_valid_svg() -> None:
    data = two_candidates()
    data["name"] = "<script>alert(1)</script>"
    scenario = load_scenario(data)
    html, svg = render_frontier(frontier(scenario, "budget", [5, 10, 20]))
    assert "<script>" not in html and "&lt;script&gt;" in html
    ET.fromstring(svg)
    html, svg = render_sensitivity(sensitivity(scenario, kinds=("cost",)))
    assert "<script>" not in html
    ET.fromstring(svg)
    from cxplan.whatif.compare import compare

    assert "<script>" not in render_comparison(compare([scenario], [optimize(scenario)]))


# -- command line -------------------------------------------------------------------------------

@pytest.fixture
def two(tmp_path: Path) -> Path:
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(two_candidates()), encoding="utf-8")
    return path


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result


def test_cli_frontier_json_csv_and_report(two: Path, tmp_path: Path) -> None:
    data = json.loads(invoke("frontier", str(two), "--budget", "0:20:3", "--json").stdout)
    assert [p["level"] for p in data["points"]] == [0, 10, 20]
    assert data["points"][1]["selected"] == ["A"]
    csv_text = invoke("frontier", str(two), "--budget", "50%:100%:2", "--csv").stdout
    assert csv_text.splitlines()[0].startswith("level,status,objective")
    invoke("frontier", str(two), "--budget", "0:20:3", "--report", str(tmp_path / "out"))
    assert {p.suffix for p in (tmp_path / "out").iterdir()} == {".html", ".svg", ".csv"}
    bad = CliRunner().invoke(app, ["frontier", str(two)])
    assert bad.exit_code == 2 and "exactly one of --budget" in bad.stderr


def test_cli_compare_variants(two: Path, tmp_path: Path) -> None:
    variant = tmp_path / "more.yaml"
    variant.write_text("extends: two.yaml\nbudget: 25\n", encoding="utf-8")
    data = json.loads(invoke("compare", str(two), str(variant), "--json").stdout)
    assert [s["selected"] for s in data["scenarios"]] == [["A"], ["A", "B"]]
    assert data["differences"] == [{"scenario": data["differences"][0]["scenario"],
                                    "against": data["differences"][0]["against"],
                                    "added": ["B"], "dropped": [],
                                    "gain_change": pytest.approx(10),
                                    "cost_change": pytest.approx(10),
                                    "planned_value_change": pytest.approx(10),
                                    "baseline_change": pytest.approx(0)}]
    assert "more" in invoke("compare", str(two), str(variant)).stdout


def test_cli_explain_and_sensitivity(two: Path) -> None:
    text = invoke("explain", str(two), "B").stdout
    assert "not in the optimal plan" in text and "displaces: A" in text
    data = json.loads(invoke("explain", str(two), "A", "--json").stdout)
    assert data["explanations"][0]["gain_lost"] == pytest.approx(5)
    assert data["explanations"][0]["comes_in"] == ["B"]
    data = json.loads(invoke("sensitivity", str(two), "--json", "--touchpoints", "1").stdout)
    assert {r["kind"] for r in data["ranges"]} == {"cost", "failure_reduction",
                                                   "failure_probability"}


def test_cli_plan_shows_marginal_values_unless_asked_not_to(two: Path) -> None:
    # 10 % more budget (16.5) fits nothing more; 5 more (20) fits B beside A.
    data = json.loads(invoke("plan", str(two), "--json").stdout)
    assert data["binding_constraints"] == []
    assert data["marginal_values"][0]["gain"] == pytest.approx(0)
    data = json.loads(invoke("plan", str(two), "--json", "--budget-step", "5").stdout)
    assert data["binding_constraints"] == ["budget"]
    budget = data["marginal_values"][0]
    assert (budget["limit"], budget["added"], budget["dropped"]) == ("budget", ["B"], [])
    assert (budget["capacity"], budget["used"], budget["slack"], budget["step"]) == (15, 10, 5, 5)
    assert (budget["gain"], budget["per_unit"]) == (pytest.approx(10), pytest.approx(2))
    assert "marginal values" in invoke("plan", str(two)).stdout
    assert "marginal_values" not in json.loads(
        invoke("plan", str(two), "--json", "--no-marginals").stdout)
