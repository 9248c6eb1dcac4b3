"""Marginal values when the time limit does not allow every re-solve: the LP relaxation's
dual values bound each limit's value (a proven range, checked against brute force), limits
that bound proves idle need no re-solve, and the most promising others are re-solved."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from cxplan import load_scenario, optimize
from cxplan.core.status import Status
from cxplan.whatif.engine import Analysis
from cxplan.whatif.marginal import (
    _Limit,
    _reduced,
    dual_bounds,
    marginal_room,
    marginal_values,
)
from tests.random_roadmaps import brute_force_roadmap, random_roadmap
from tests.random_scenarios import brute_force, random_scenario, with_limit_raised

TOLERANCE = 1e-6


@pytest.mark.parametrize("seed", range(15))
def test_dual_bounds_are_at_least_the_exact_marginal_values(seed: int) -> None:
    data = random_scenario(seed)
    best = brute_force(data)
    if best is None:
        pytest.skip("this random scenario has no feasible plan")
    analysis = Analysis(load_scenario(data))
    base = analysis.optimum()
    raises = [("budget", 0.1 * data["budget"])] + [(f"team:{t}", 1.0) for t in data["teams"]]
    bounds = dual_bounds(analysis, base, raises, math.inf)
    assert set(bounds) == {limit for limit, _ in raises}
    for limit, step in raises:
        raised = brute_force(with_limit_raised(data, limit, step))
        assert raised is not None
        exact = raised[0] - best[0]
        assert bounds[limit] >= exact - TOLERANCE * max(1.0, abs(best[0])), (limit, exact)


@pytest.mark.parametrize("seed", range(4))
def test_dual_bounds_hold_on_roadmaps(seed: int) -> None:
    from cxplan.whatif.roadmap import RoadmapAnalysis

    data = random_roadmap(seed)
    best = brute_force_roadmap(data)
    if best is None:
        pytest.skip("no feasible roadmap")
    scenario = load_scenario(data)
    # as `plan` builds it for marginal values: with the starts the raised limits allow
    analysis = RoadmapAnalysis(scenario, room=marginal_room(scenario))
    base = analysis.optimum()
    teams = list(data["teams"])
    raises = [(f"team:{t}", 1.0) for t in teams]
    bounds = dual_bounds(analysis, base, raises, math.inf)
    for limit, step in raises:
        raised = brute_force_roadmap(with_limit_raised(data, limit, step))
        assert raised is not None
        assert bounds[limit] >= raised[0] - best[0] - TOLERANCE * max(1.0, abs(best[0]))


def test_without_time_to_re_solve_every_value_is_a_range_holding_the_exact_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Time for the LP but not for one re-solve (a re-solve needs more than is left): each
    value is 0 to its dual bound (unsolved), or proven idle by it; the exact value (from
    re-solves with time) lies in that range."""
    import time

    import cxplan.whatif.marginal as marginal

    monkeypatch.setattr(marginal, "MIN_SOLVE", 1000.0)
    for seed in range(6):
        data = random_scenario(seed)
        if brute_force(data) is None:
            continue
        analysis = Analysis(load_scenario(data))
        base = analysis.optimum()
        ranges = marginal_values(analysis, base, deadline=time.perf_counter() + 30,
                                 solve_seconds=1.0)
        exact = marginal_values(analysis, base, time_limit=60)
        for rough, proven in zip(ranges.values, exact.values, strict=True):
            if rough.status == Status.UNUSED:
                continue
            if rough.solved:  # the bound proved it idle
                assert rough.status == Status.OPTIMAL and rough.gain == 0
                assert proven.gain <= TOLERANCE * max(1.0, abs(base.objective))
                continue
            assert rough.status == Status.TIME_LIMIT and not rough.binding
            assert rough.gain == 0 and rough.gain_bound is not None
            assert proven.gain <= rough.gain_bound + TOLERANCE * max(1.0, abs(base.objective))
            assert rough.to_dict()["solved"] is False


def _limit(name: str) -> _Limit:
    return _Limit(name, name, 1.0, 1.0, 1.0, "team")


def test_the_re_solves_that_fit_go_to_the_highest_bounds_and_idle_limits_need_none() -> None:
    asked: list[Any] = [_limit("team:a"), _limit("team:b"), _limit("team:c"), _limit("team:d")]
    bounds = {"team:a": 5.0, "team:b": 50.0, "team:c": 1e-9, "team:d": 20.0}
    reduced = _reduced(asked, bounds, tie=1e-6, fits=2)
    kept = [item.limit for item in reduced if isinstance(item, _Limit)]
    assert kept == ["team:b", "team:d"]
    by_limit = {item.limit: item for item in reduced}
    idle = by_limit["team:c"]
    assert not isinstance(idle, _Limit) and idle.status == Status.OPTIMAL and idle.solved
    rough = by_limit["team:a"]
    assert not isinstance(rough, _Limit) and not rough.solved and rough.gain_bound == 5.0


def test_plan_says_which_marginal_values_are_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """`with_marginals` with time for the LP but not for a re-solve: a warning naming how
    many are ranges (each holding the exact value), the others proven idle by their bound;
    with no time at all: none, and a warning saying why."""
    import time

    import cxplan.whatif.marginal as marginal
    from cxplan.optimizer.options import SolverOptions
    from cxplan.optimizer.pipeline import prepare, solve_pipeline
    from cxplan.whatif.marginal import with_marginals

    ranges = 0
    for seed in range(6):
        data = random_scenario(seed)
        if brute_force(data) is None:
            continue
        scenario = load_scenario(data)
        pipeline = prepare(scenario)
        options = SolverOptions()
        result, session = solve_pipeline(pipeline, options, time.perf_counter())
        plan = dataclasses.replace(pipeline.plan(result), solve_seconds=5.0)
        none = with_marginals(pipeline, session, plan, options, time_left=0.0)
        assert none.marginals is None
        assert any("marginal values were not computed" in w for w in none.warnings)
        with monkeypatch.context() as patched:
            patched.setattr(marginal, "MIN_SOLVE", 1000.0)
            ranged = with_marginals(pipeline, session, plan, options, time_left=30.0)
        assert ranged.marginals is not None
        unsolved = [v for v in ranged.marginals.values if not v.solved]
        said = [w for w in ranged.warnings if "are ranges from the LP relaxation's dual" in w]
        assert bool(said) == bool(unsolved)
        ranges += len(unsolved)
        full = optimize(scenario, marginals=True)
        assert full.marginals is not None
        for rough, exact in zip(ranged.marginals.values, full.marginals.values, strict=True):
            if not rough.solved:
                assert rough.gain_bound is not None and exact.gain <= rough.gain_bound + 1e-6
            else:  # unused, or proven idle by its bound
                assert rough.gain == 0 and exact.gain <= 1e-6 * max(1.0, abs(plan.objective))
    assert ranges > 0


def test_values_re_solved_are_kept_when_the_others_get_no_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Time for some re-solves but the LP gave no bound: the re-solved values stay, the
    others are unsolved without a range, and a warning says which kind they are."""
    import time

    import cxplan.whatif.marginal as marginal
    from cxplan.optimizer.options import SolverOptions, machine_cores
    from cxplan.optimizer.pipeline import prepare, solve_pipeline
    from cxplan.whatif.marginal import with_marginals

    monkeypatch.setattr(marginal, "dual_bounds", lambda *args, **kwargs: {})
    data = random_scenario(3)
    data["teams"] = {**data["teams"], **{f"crew-{k}": 1 for k in range(3)}}
    for k, imp in enumerate(data["improvements"][:3]):
        imp["staff"] = {**imp.get("staff", {}), f"crew-{k}": 1}
    scenario = load_scenario(data)
    pipeline = prepare(scenario)
    options = SolverOptions()
    result, session = solve_pipeline(pipeline, options, time.perf_counter())
    # each re-solve is taken to need 20 s, 30 s are left: one round of re-solves fits
    plan = dataclasses.replace(pipeline.plan(result), solve_seconds=20.0)
    found = with_marginals(pipeline, session, plan, options, time_left=30.0)
    assert found.marginals is not None
    valued = [v for v in found.marginals.values if v.status != Status.UNUSED]
    solved = [v for v in valued if v.solved]
    assert len(solved) == min(machine_cores(), len(valued))
    assert all(v.gain_bound is None and v.gain == 0 for v in valued if not v.solved)
    assert any("were not re-solved and have no bound" in w for w in found.warnings)
