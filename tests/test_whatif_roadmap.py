"""What-ifs on roadmaps: frontier, explain and marginal values are exact.

Every number is checked against the brute force of `random_roadmaps` (every start of every
improvement enumerated, no cxplan code) applied to the roadmap as the question changes it:
a budget level scales every period's money in proportion (its total is the level), a
team's level scales every period's people (its busiest period is the level), an
improvement forced out is deleted, one forced in is made mandatory, one more person is
one more in every period.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cxplan import load_scenario, optimize
from cxplan.errors import UsageError
from cxplan.whatif.explain import explain
from cxplan.whatif.frontier import frontier, parse_range
from cxplan.whatif.sensitivity import sensitivity

from conftest import CliRun
from random_roadmaps import brute_force_roadmap, random_roadmap, roadmap_feasible, roadmap_gain

TOLERANCE = 1e-6
SEEDS = range(0, 48, 3)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def _best(data: dict[str, Any]) -> float | None:
    found = brute_force_roadmap(data)
    return None if found is None else found[0]


def _best_or_skip(data: dict[str, Any]) -> float:
    best = _best(data)
    if best is None:
        pytest.skip("no feasible roadmap")
    return best


def _budget_at(data: dict[str, Any], level: float) -> dict[str, Any]:
    """The roadmap with its budget's total over the horizon at `level`."""
    out = copy.deepcopy(data)
    budget = out["budget"]
    if isinstance(budget, list):
        total = sum(budget)
        out["budget"] = ([b * level / total for b in budget] if total > 0
                         else [level / len(budget)] * len(budget))
    else:
        out["budget"] = level
    return out


def _team_at(data: dict[str, Any], team: str, level: float) -> dict[str, Any]:
    """The roadmap with `team`'s busiest period at `level`, the others in proportion."""
    out = copy.deepcopy(data)
    capacity = out["teams"][team]
    if isinstance(capacity, list):
        top = max(capacity)
        out["teams"][team] = ([c * level / top for c in capacity] if top > 0
                              else [level] * len(capacity))
    else:
        out["teams"][team] = level
    return out


def _budget_level(data: dict[str, Any]) -> float:
    budget = data["budget"]
    return float(sum(budget)) if isinstance(budget, list) else float(budget)


def _team_level(data: dict[str, Any], team: str) -> float:
    capacity = data["teams"][team]
    return float(max(capacity)) if isinstance(capacity, list) else float(capacity)


# -- frontier -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_roadmap_frontier_points_equal_brute_force_of_the_scaled_roadmaps(seed: int) -> None:
    data = random_roadmap(seed)
    scenario = load_scenario(data)
    questions: list[tuple[str, float, Any]] = []
    if "budget" in data:
        questions.append(("budget", _budget_level(data),
                          lambda level: _budget_at(data, level)))
    for team in ("it", "ops") if "teams" in data else ():
        if any(i.get("staff", {}).get(team) for i in data["improvements"]):
            questions.append((f"team:{team}", _team_level(data, team),
                              lambda level, team=team: _team_at(data, team, level)))
    if not questions:
        pytest.skip("this roadmap has no budget and no team any improvement needs")
    for limit, today, scaled in questions:
        levels = sorted({today * share for share in (0.4, 0.8, 1.0, 1.5)} | {0.0})
        try:
            result = frontier(scenario, limit, levels)
        except UsageError as exc:  # only a team that can change nothing is refused
            assert "cannot change the plan" in str(exc) and limit.startswith("team:")
            assert len({_best(scaled(level)) for level in levels}) == 1
            continue
        assert result.today == pytest.approx(today)
        assert result.periods == data["horizon"]["periods"]
        for point in result.points:
            reference = _best(scaled(point.level))
            if reference is None:
                assert point.outcome is None and point.conflict, (limit, point.level)
                continue
            assert point.outcome is not None, (limit, point.level)
            assert _close(point.outcome.expected_gain, reference), (limit, point.level)
            assert point.share == pytest.approx(point.level / today) if today else True
        # The same levels solved from scratch, one model each, agree.
        fresh = frontier(scenario, limit, levels, reuse=False)
        for a, b in zip(result.points, fresh.points, strict=True):
            assert (a.outcome is None) == (b.outcome is None)
            if a.outcome is not None and b.outcome is not None:
                assert _close(a.outcome.expected_gain, b.outcome.expected_gain)


def test_a_roadmap_frontier_names_the_moves_and_prints_the_starts(
        run_main: Callable[..., CliRun], tmp_path: Path) -> None:
    """Seed 12 (budgets 21.2, 11.9, 15.5 with carry-over): at 140 % of today's total the
    first quarter's money lets i1 (cost 11) start a quarter earlier, and nothing else
    changes: a knee that only moves a start."""
    data = random_roadmap(12)
    path = tmp_path / "roadmap.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    scenario = load_scenario(data)
    levels = parse_range("20%:300%:8", scenario.budget, what="--budget")
    result = frontier(scenario, "budget", levels)
    (move,) = [p for p in result.points if p.moved]
    assert move.moved == ("i1",) and not move.added and not move.dropped and move.knee
    assert move.share == pytest.approx(1.4)
    before = result.points[result.points.index(move) - 1].outcome
    assert before is not None and move.outcome is not None
    assert before.schedule is not None and move.outcome.schedule is not None
    assert before.schedule["i1"][0] == 2 and move.outcome.schedule["i1"][0] == 1
    done = run_main("frontier", str(path), "--budget", "20%:300%:8", "--csv")
    assert done.exit_code == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.endswith(",moved,starts")
    for row, point in zip(rows, result.points, strict=True):
        assert point.outcome is not None
        assert row.endswith(",".join([" ".join(point.moved), " ".join(point.outcome.keys)]))
    shown = run_main("frontier", str(path), "--budget", "20%:300%:8", "--report",
                     tmp_path / "out")
    assert shown.exit_code == 0, shown.stderr
    assert "budget over the horizon" in shown.stdout and "~i1" in shown.stdout
    (page,) = (tmp_path / "out").glob("*.html")
    html = page.read_text(encoding="utf-8")
    assert "starts (id@period)" in html and "~i1" in html
    assert "every period&#39;s money in proportion" in html or \
        "every period's money in proportion" in html


# -- explain ------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_roadmap_explain_forced_in_and_out_equal_brute_force(seed: int) -> None:
    data = random_roadmap(seed)
    best = _best_or_skip(data)
    scenario = load_scenario(data)
    for imp in scenario.improvement_ids:
        e = explain(scenario, imp)
        assert _close(e.plan.expected_gain, best)
        changed = copy.deepcopy(data)
        if e.selected:  # the best roadmap without it (and without what requires it)
            changed["improvements"] = [i for i in changed["improvements"] if i["id"] != imp]
        else:  # the best roadmap that schedules it
            next(i for i in changed["improvements"] if i["id"] == imp)["mandatory"] = True
        mandatory = any(i["id"] == imp and i.get("mandatory") for i in data["improvements"])
        reference = None if mandatory else _best(changed)
        if reference is None:
            assert e.alternative is None and e.conflict, imp
            continue
        assert e.alternative is not None, imp
        assert _close(e.alternative.expected_gain, reference), imp
        assert _close(e.gain_lost or 0.0, best - reference), imp
        assert (imp in e.alternative.selected) != e.selected
        if not e.selected:
            assert e.obstacles, imp


def test_roadmap_explain_on_the_command_line_gives_starts(
        run_main: Callable[..., CliRun], tmp_path: Path) -> None:
    data = random_roadmap(1)
    path = tmp_path / "roadmap.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    done = run_main("explain", str(path), "i1", "--json")
    assert done.exit_code == 0, done.stderr
    found = json.loads(done.stdout)
    plan, (e,) = found["plan"], found["explanations"]
    assert set(plan["schedule"]) == set(plan["selected"])
    assert e["selected"] is False and e["alternative"]["schedule"]["i1"]["start"] >= 1
    assert "moved" in e and e["obstacles"]
    text = run_main("explain", str(path), "i1")
    assert text.exit_code == 0 and "plan: " in text.stdout and "@" in text.stdout
    every = run_main("explain", str(path), "--all")
    assert every.exit_code == 0 and len(every.stdout.splitlines()) == len(data["improvements"])


# -- marginal values ----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_roadmap_marginal_values_equal_brute_force_of_the_raised_roadmaps(seed: int) -> None:
    data = random_roadmap(seed)
    best = _best_or_skip(data)
    plan = optimize(load_scenario(data), marginals=True)
    assert plan.marginals is not None
    for value in plan.marginals.values:
        if value.limit == "budget":
            assert value.step == pytest.approx(0.1 * _budget_level(data))
            raised = _budget_at(data, _budget_level(data) * 1.1)
        else:
            team = value.limit.split(":", 1)[1]
            raised = copy.deepcopy(data)
            capacity = raised["teams"][team]
            raised["teams"][team] = ([c + 1 for c in capacity] if isinstance(capacity, list)
                                     else capacity + 1)
        reference = _best(raised)
        if value.status == "unused":  # no improvement that can be scheduled needs the team
            assert reference is not None and _close(reference, best)
        assert reference is not None
        assert _close(value.gain, max(reference - best, 0.0)), value
        assert value.binding == (reference - best > TOLERANCE * max(1.0, abs(best)))


def test_plan_prints_a_roadmaps_marginal_values(run_main: Callable[..., CliRun],
                                                tmp_path: Path) -> None:
    data = random_roadmap(1)
    path = tmp_path / "roadmap.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    done = run_main("plan", str(path))
    assert done.exit_code == 0, done.stderr
    assert "10% more budget over the horizon" in done.stdout
    assert "one more in ops in every period" in done.stdout
    as_json = json.loads(run_main("plan", str(path), "--json").stdout)
    assert {v["limit"] for v in as_json["marginal_values"]} == {"budget", "team:it", "team:ops"}


# -- sensitivity --------------------------------------------------------------------------------

def _perturbed(data: dict[str, Any], kind: str, subject: str, value: float) -> dict[str, Any]:
    """The roadmap with one input moved: an improvement's cost to `value`, or its failure
    reductions (a touchpoint's failure probabilities, overrides included) times `value`,
    capped at 1."""
    out = copy.deepcopy(data)
    if kind == "cost":
        next(i for i in out["improvements"] if i["id"] == subject)["cost"] = value
    elif kind == "failure_reduction":
        for effect in next(i for i in out["improvements"] if i["id"] == subject)["effects"]:
            effect["failure_reduction"] = min(1.0, effect["failure_reduction"] * value)
    else:
        for tp in out["touchpoints"]:
            if tp["id"] == subject:
                tp["failure_probability"] = min(1.0, tp["failure_probability"] * value)
        for persona in out.get("personas") or []:
            override = (persona.get("touchpoints") or {}).get(subject)
            if override and "failure_probability" in override:
                override["failure_probability"] = min(
                    1.0, override["failure_probability"] * value)
    return out


def _schedule_of(keys: Any) -> dict[str, int]:
    return {key.rpartition("@")[0]: int(key.rpartition("@")[2]) for key in keys}


@pytest.mark.parametrize("seed", [1, 5, 12, 21])
def test_roadmap_sensitivity_ends_hold_against_brute_force(seed: int) -> None:
    """At each end found, the schedule is still a best roadmap by brute force; just beyond
    it, the named competitor is feasible and strictly better (or, for budget slack, the
    schedule no longer fits)."""
    data = random_roadmap(seed)
    result = sensitivity(load_scenario(data), touchpoints=2)
    plan = _schedule_of(result.plan.keys)
    assert result.ranges and result.plan.schedule is not None
    checked = 0
    for r in result.ranges:
        for side in (r.low, r.high):
            if not math.isfinite(side.inside):
                continue
            inside = _perturbed(data, r.kind, r.subject, side.inside)
            best = _best(inside)
            assert best is not None and roadmap_feasible(inside, plan), (r.label, side)
            assert _close(roadmap_gain(inside, plan), best), (r.label, side)
            checked += 1
            if side.outside is None:
                continue
            beyond = _perturbed(data, r.kind, r.subject, side.outside)
            if side.budget_slack:
                assert r.kind == "cost" and not roadmap_feasible(beyond, plan)
                continue
            assert side.competitor is not None
            rival = _schedule_of(side.competitor)
            assert roadmap_feasible(beyond, rival), (r.label, side)
            assert roadmap_gain(beyond, rival) > roadmap_gain(beyond, plan) + 1e-9, r.label
    assert checked >= 4
    assert any(r.kind == "cost" and r.high.budget_slack for r in result.ranges)


def test_roadmap_sensitivity_on_the_command_line(
        run_main: Callable[..., CliRun], tmp_path: Path) -> None:
    """Seed 12: cheaper, i4 leaves room to start i1 a quarter earlier (a move: i1@2 out,
    i1@1 in); the page and the JSON show the plan's starts."""
    data = random_roadmap(12)
    path = tmp_path / "roadmap.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    done = run_main("sensitivity", str(path), "--touchpoints", "1", "--json", "--report",
                    tmp_path / "out")
    assert done.exit_code == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["plan"]["schedule"]["i1"]["start"] == 2
    cost = next(r for r in found["ranges"] if r["kind"] == "cost" and r["subject"] == "i4")
    assert cost["low"]["added"] == ["i1@1"] and cost["low"]["dropped"] == ["i1@2"]
    assert cost["high"]["budget_slack"] is True
    (page,) = (tmp_path / "out").glob("*.html")
    assert "i1@2" in page.read_text(encoding="utf-8")


# -- the bundled roadmap (slow: behind CXPLAN_LARGE) --------------------------------------------

BUNDLED = Path(__file__).resolve().parent.parent / "scenarios" / "microfinance-roadmap.yaml"


@pytest.mark.skipif(not os.environ.get("CXPLAN_LARGE"),
                    reason="minutes of solves of an 8-quarter roadmap: set CXPLAN_LARGE=1 to run")
def test_the_bundled_roadmaps_frontier_equals_independent_solves_of_the_scaled_files(
        tmp_path: Path) -> None:
    """90 % and 110 % of the quarters' money, and 5 and 8 people in IT's busiest quarter,
    written into the file by hand (every quarter in proportion) and solved afresh."""
    data = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    data["extends"] = str(BUNDLED.parent / data["extends"])
    scenario = load_scenario(BUNDLED)
    today = sum(data["budget"])
    budget = frontier(scenario, "budget", [0.9 * today, 1.1 * today])
    team = frontier(scenario, "team:it", [5.0, 8.0])
    for point in budget.points:
        changed = {**data, "budget": [b * point.level / today for b in data["budget"]]}
        _same_as_fresh(point, changed, tmp_path)
    for point in team.points:
        changed = {**data, "teams": {**data["teams"],
                                     "it": [c * point.level / 6 for c in data["teams"]["it"]]}}
        _same_as_fresh(point, changed, tmp_path)


def _same_as_fresh(point: Any, data: dict[str, Any], folder: Path) -> None:
    path = folder / "changed.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    fresh = optimize(load_scenario(path, allow_paths=[BUNDLED.parent]))
    assert point.outcome is not None and fresh.status == "optimal"
    assert _close(point.outcome.expected_gain, fresh.expected_gain), point.level
