"""The LP-first solve (`cxplan.optimizer.relaxation`) is exact, and each of its steps is sound.

Large backlogs take this path by default; here it is forced on the random small
scenarios of `test_exactness.py` (cycles, dropout, several personas, requires, excludes,
mandatory) and checked against brute-force enumeration, step by step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from test_criteria import CRITERIA, decorated
from test_criteria import SEEDS as CRITERIA_SEEDS
from test_criteria import reference as criteria_reference
from test_solve import crowded

import cxplan.optimizer.relaxation as relaxation_module
from cxplan import SolverOptions, load_scenario, optimize
from cxplan.api import Prepared, prepare
from cxplan.errors import InfeasibleError
from cxplan.optimizer.relaxation import (
    Relaxation,
    neighbourhood_search,
    reduced_cost_fixing,
    solve_relaxation,
)
from cxplan.optimizer.session import Session

from random_scenarios import brute_force, feasible, feasible_gains, random_scenario

RELAXATION = SolverOptions(start_method="relaxation")
TOLERANCE = 1e-6


def _at_most(value: float, limit: float) -> bool:
    return value <= limit + TOLERANCE * max(1.0, abs(limit))


def _session(data: dict[str, Any]) -> tuple[Prepared, Session]:
    prepared = prepare(load_scenario(data))
    return prepared, prepared.session(SolverOptions())


@dataclass
class Relaxed:
    """A feasible random scenario, every feasible plan of it, its model and LP optimum."""

    data: dict[str, Any]
    every: list[tuple[float, frozenset[str]]]
    prepared: Prepared
    session: Session
    lp: Relaxation


def _relaxed(seed: int) -> Relaxed:
    data = random_scenario(seed)
    every = feasible_gains(data)
    if not every:
        pytest.skip("no feasible plan")
    prepared, session = _session(data)
    lp = solve_relaxation(session, time.perf_counter() + 30)
    assert lp is not None
    return Relaxed(data, every, prepared, session, lp)


def _columns(prepared: Prepared, session: Session, selection: set[str]) -> np.ndarray:
    values = prepared.model.context.start_values(sorted(selection))
    columns = session.start_columns(sorted(selection), values, time.perf_counter() + 30)
    assert columns is not None
    return columns


@pytest.mark.parametrize("seed", range(120))
def test_the_relaxation_first_optimum_equals_brute_force(seed: int) -> None:
    data = random_scenario(seed)
    reference = brute_force(data)
    if reference is None:
        with pytest.raises(InfeasibleError):
            optimize(load_scenario(data), options=RELAXATION)
        return
    plan = optimize(load_scenario(data), options=RELAXATION)
    assert plan.status == "optimal"
    assert plan.expected_gain == pytest.approx(reference[0], rel=TOLERANCE, abs=TOLERANCE)
    assert feasible(data, set(plan.selected))
    assert plan.bound is not None and _at_most(plan.expected_gain, plan.bound)


@pytest.mark.parametrize("seed", range(8))
def test_the_relaxation_first_optimum_is_exact_where_many_improvements_share_touchpoints(
    seed: int,
) -> None:
    data = crowded(seed, improvements=14, touchpoints=3)
    best_gain, _ = brute_force(data) or pytest.fail("the crowded scenarios are feasible")
    plan = optimize(load_scenario(data), options=RELAXATION)
    assert plan.status == "optimal"
    assert plan.expected_gain == pytest.approx(best_gain, rel=TOLERANCE)


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_the_lp_bound_holds_every_plan(seed: int) -> None:
    case = _relaxed(seed)
    for gain, _ in case.every:
        assert _at_most(gain, case.lp.bound)


@pytest.mark.parametrize("seed", range(1, 40, 3))
def test_a_decision_moved_off_its_lp_value_costs_at_least_its_reduced_cost(seed: int) -> None:
    """The inference behind reduced-cost fixing, checked against every feasible plan."""
    case = _relaxed(seed)
    for imp, c in case.session.compiled.x_columns.items():
        lp_value = case.lp.columns[c]
        if min(lp_value, 1 - lp_value) > 1e-6:
            continue
        moved = [gain for gain, chosen in case.every if (imp in chosen) != (lp_value > 0.5)]
        if moved:
            assert _at_most(max(moved), case.lp.bound - abs(case.lp.reduced_costs[c]))


@pytest.mark.parametrize("seed", range(2, 60, 5))
def test_reduced_cost_fixing_keeps_every_plan_better_than_the_incumbent(seed: int) -> None:
    case = _relaxed(seed)
    # a middling incumbent, so that some plans are better than it
    ranked = sorted(case.every, key=lambda found: found[0])
    incumbent_gain, incumbent = ranked[len(ranked) // 2]
    columns = _columns(case.prepared, case.session, set(incumbent))
    fixed, reach = reduced_cost_fixing(case.session, case.lp, columns)
    names = {c: imp for imp, c in case.session.compiled.x_columns.items()}
    for gain, chosen in case.every:
        breaks = [c for c, value in fixed.items() if (names[c] in chosen) != (value > 0.5)]
        if breaks:
            assert gain < incumbent_gain + TOLERANCE * max(1.0, abs(incumbent_gain))
            assert _at_most(gain, reach)
    for c, value in fixed.items():  # the incumbent agrees with every fixing
        assert (names[c] in incumbent) == (value > 0.5)


@pytest.mark.parametrize("seed", range(3, 60, 6))
def test_the_neighbourhood_search_finds_a_feasible_plan_no_worse_than_its_start(
    seed: int,
) -> None:
    case = _relaxed(seed)
    session = case.session
    _, start = min(case.every, key=lambda found: found[0])
    start_columns = _columns(case.prepared, session, set(start))
    found = neighbourhood_search(session, case.lp, start_columns, time.perf_counter() + 30)
    if found is None:
        return  # nothing free to search, or nothing better in the neighbourhood
    selected = {imp for imp, c in session.compiled.x_columns.items() if found[c] > 0.5}
    assert feasible(case.data, selected)
    assert session.objective_of(found) >= session.objective_of(start_columns) - TOLERANCE


def test_a_start_within_the_gap_of_a_known_bound_is_optimal_without_a_search() -> None:
    data = random_scenario(5)
    best_gain, best = brute_force(data) or pytest.fail("seed 5 is feasible")
    prepared, session = _session(data)
    columns = _columns(prepared, session, best)
    result = session.solve(start_columns=columns, known_bound=best_gain)
    assert result.status == "optimal" and result.nodes == 0
    assert set(result.selected) == best and result.gap == 0.0


def test_a_known_bound_tightens_a_stopped_run() -> None:
    data = crowded(1, improvements=30, touchpoints=3)
    full = optimize(load_scenario(data))
    prepared, session = _session(data)
    stopped = session.solve(prepared.greedy(5.0), time_limit=5.0,
                            known_bound=full.expected_gain * 1.01)
    assert stopped.bound is not None and stopped.bound <= full.expected_gain * 1.01
    assert _at_most(full.expected_gain, stopped.bound)


def test_a_time_limited_relaxation_first_run_has_an_honest_gap() -> None:
    data = crowded(0, improvements=50, touchpoints=6)
    plan = optimize(load_scenario(data),
                    options=SolverOptions(time_limit=1.0, start_method="relaxation"))
    assert feasible(data, set(plan.selected))
    reference = optimize(load_scenario(data), options=SolverOptions(time_limit=120))
    assert reference.status == "optimal"
    if plan.bound is not None:
        assert _at_most(reference.expected_gain, plan.bound)
        assert plan.gap == pytest.approx(
            (plan.bound - plan.expected_gain) / plan.expected_gain, rel=1e-6, abs=1e-9)
    assert _at_most(plan.expected_gain, reference.expected_gain)


def test_without_the_relaxation_in_time_the_greedy_start_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(relaxation_module, "solve_relaxation", lambda session, deadline: None)
    data = random_scenario(7)
    best_gain, _ = brute_force(data) or pytest.fail("seed 7 is feasible")
    plan = optimize(load_scenario(data), options=RELAXATION)
    assert plan.status == "optimal"
    assert plan.expected_gain == pytest.approx(best_gain, rel=TOLERANCE, abs=TOLERANCE)


def test_large_backlogs_take_the_relaxation_path_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    original = relaxation_module.solve_relaxation

    def counted(session: Session, deadline: float) -> Any:
        calls.append(len(session.compiled.x_columns))
        return original(session, deadline)

    monkeypatch.setattr(relaxation_module, "solve_relaxation", counted)
    data = random_scenario(7)
    optimize(load_scenario(data))
    assert calls == []  # small: the greedy start
    monkeypatch.setattr(relaxation_module, "RELAXATION_FROM", len(data["improvements"]))
    optimize(load_scenario(data))
    assert calls == [len(data["improvements"])]
    optimize(load_scenario(data), options=SolverOptions(start_method="greedy"))
    assert len(calls) == 1


def test_an_unknown_start_method_is_refused() -> None:
    with pytest.raises(ValueError, match="start_method"):
        SolverOptions(start_method="simulated-annealing")


@pytest.mark.parametrize("seed", range(0, 60, 3))
def test_when_the_neighbourhood_search_gets_all_the_time_the_gap_is_to_the_lp_bound(
    seed: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On models too large for the full MIP to catch up, the plan is the neighbourhood
    search's best, with the LP bound; here forced on small models."""
    monkeypatch.setattr(relaxation_module, "FULL_MIP_SETUP", 1e9)
    data = random_scenario(seed)
    reference = brute_force(data)
    if reference is None:
        pytest.skip("no feasible plan")
    plan = optimize(load_scenario(data), options=RELAXATION)
    assert feasible(data, set(plan.selected))
    assert plan.bound is not None and _at_most(reference[0], plan.bound)
    assert _at_most(plan.expected_gain, reference[0])
    if plan.status == "optimal":
        assert plan.expected_gain == pytest.approx(reference[0], rel=TOLERANCE, abs=TOLERANCE)
    else:
        assert plan.gap == pytest.approx(
            (plan.bound - plan.expected_gain) / plan.expected_gain, rel=1e-6, abs=1e-9)


def test_a_start_that_breaks_a_row_is_not_a_plan() -> None:
    data = random_scenario(5)
    _, best = brute_force(data) or pytest.fail("seed 5 is feasible")
    prepared, session = _session(data)
    assert session.satisfies(_columns(prepared, session, best))
    everything = {imp["id"] for imp in data["improvements"]}
    assert not feasible(data, everything)
    over = _columns(prepared, session, everything)
    assert not session.satisfies(over)
    # even a known bound it seems to reach does not make it the plan
    result = session.solve(start_columns=over, known_bound=session.objective_of(over))
    assert set(result.selected) != everything
    assert feasible(data, set(result.selected))


def test_an_infeasible_filled_start_is_dropped_and_the_optimum_still_found() -> None:
    data = random_scenario(5)
    best_gain, _ = brute_force(data) or pytest.fail("seed 5 is feasible")
    prepared, session = _session(data)
    everything = sorted(imp["id"] for imp in data["improvements"])
    result = relaxation_module.solve_from_relaxation(
        session, time.perf_counter() + 30, lambda initial, seconds: everything,
        prepared.model.context.start_values)
    assert result is not None and result.status == "optimal"
    assert feasible(data, set(result.selected))
    assert prepared.plan(result).expected_gain == pytest.approx(best_gain, rel=TOLERANCE)


@pytest.mark.parametrize("seed", [3, 11])
def test_marginal_values_after_a_relaxation_first_solve_match_the_greedy_path(
    seed: int,
) -> None:
    """The session is re-solved for marginal values: fixings made for the first solve
    must not leak into them."""
    data = random_scenario(seed)
    if brute_force(data) is None:
        pytest.skip("no feasible plan")
    by_start = {method: optimize(load_scenario(data), marginals=True,
                                 options=SolverOptions(start_method=method))
                for method in ("greedy", "relaxation")}
    greedy, relaxed = (by_start[m].marginals for m in ("greedy", "relaxation"))
    assert greedy is not None and relaxed is not None
    assert len(greedy.values) == len(relaxed.values) > 0
    for a, b in zip(greedy.values, relaxed.values, strict=True):
        assert a.limit == b.limit
        assert a.gain == pytest.approx(b.gain, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("seed", CRITERIA_SEEDS)
@pytest.mark.parametrize("criterion", CRITERIA[1:])
def test_every_criterion_is_exact_relaxation_first(criterion: str, seed: int) -> None:
    """Other criteria change the LP and its reduced costs; one of these (risk_adjusted,
    seed 7) also caught HiGHS returning its MIP start with another plan's objective."""
    table = criteria_reference(seed)
    plan = optimize(load_scenario({**decorated(seed), "criteria": {criterion: 1}}),
                    options=RELAXATION)
    best = max(values[criterion] for values in table.values())
    assert plan.status == "optimal"
    assert plan.criteria[criterion].value == pytest.approx(
        best, rel=TOLERANCE, abs=TOLERANCE * abs(plan.baseline_value))


@pytest.mark.parametrize("method", ["greedy", "relaxation"])
@pytest.mark.parametrize("seed", [0, 3, 5])
def test_a_start_breaking_a_plugin_row_by_a_little_is_not_taken_for_a_plan(
    seed: int, method: str,
) -> None:
    """The greedy does not know plugins' rows: a start breaking one by one unit in two
    million must be refused, not called optimal or kept over HiGHS's verdict."""
    from types import SimpleNamespace

    from cxplan import hookimpl
    from cxplan.plugins import CxplanPlugins

    data = random_scenario(seed)
    _, best = brute_force(data) or pytest.fail("these seeds are feasible")
    a, b = sorted(best)[:2]

    def constraints(ctx: Any) -> list[tuple[str, Any]]:
        return [("cap", 1_000_001 * ctx.x[a] + 1_000_000 * ctx.x[b] <= 2_000_000)]

    plugins = CxplanPlugins(load_entry_points=False)
    plugins.register(SimpleNamespace(cxplan_constraints=hookimpl(constraints)), "cap")
    allowed = [(gain, chosen) for gain, chosen in feasible_gains(data)
               if not {a, b} <= chosen]
    plan = optimize(load_scenario(data, plugins=plugins), plugins=plugins,
                    options=SolverOptions(start_method=method))
    assert not {a, b} <= set(plan.selected)
    assert plan.status == "optimal"
    assert plan.expected_gain == pytest.approx(max(g for g, _ in allowed), rel=TOLERANCE)


def test_a_what_if_re_solve_gets_only_what_the_lp_left_of_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cxplan.whatif.engine import Analysis

    data = random_scenario(1)
    analysis = Analysis(load_scenario(data), SolverOptions(start_method="relaxation"))
    base = analysis.optimum()

    def slow_lp(session: Session, deadline: float) -> None:
        time.sleep(0.3)  # an LP that used part of the limit and did not finish
        return None

    given: list[float] = []
    original = Session.solve

    def recorded(self: Session, *args: Any, **kwargs: Any) -> Any:
        given.append(kwargs["time_limit"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(relaxation_module, "solve_relaxation", slow_lp)
    monkeypatch.setattr(Session, "solve", recorded)
    with analysis.limits(budget=(analysis.budget or 0) * 0.8):
        analysis.solve(base.selected, time_limit=2.0)
    assert given and given[-1] <= 2.0 - 0.3
