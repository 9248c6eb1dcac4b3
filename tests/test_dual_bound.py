"""A bound from an LP stopped early is still proven (cxplan.optimizer.dual_bound).

On random small scenarios the Lagrangian bound of the dual simplex's prices, stopped
after a few iterations, is never below the brute-force optimum
(`random_scenarios.brute_force`, which shares no code with cxplan); nor is the bound of
random prices; at the LP's optimum it is the LP's optimum. The LP-first solve that stops
its LP so ends with an honest bound and gap.
"""

from __future__ import annotations

import time

import highspy
import numpy as np
import pytest

from cxplan import load_scenario, optimize
from cxplan.optimizer import relaxation as relaxation_module
from cxplan.optimizer.dual_bound import bound_from_prices, lagrangian_bound
from cxplan.optimizer.options import SolverOptions
from cxplan.optimizer.pipeline import prepare
from cxplan.optimizer.session import Session, highs_with_bounds

from random_scenarios import brute_force, random_scenario

SEEDS = range(30)


def _session(data: dict[str, object]) -> Session:
    return prepare(load_scenario(data)).session(SolverOptions())


def _stopped_lp(session: Session, iterations: int | None) -> highspy.Highs:
    """The session's LP by the dual simplex without presolve, stopped after `iterations`."""
    h = highs_with_bounds(session, session.lower, session.upper, 30.0)
    h.setOptionValue("solve_relaxation", True)
    h.setOptionValue("presolve", "off")
    h.setOptionValue("simplex_strategy", 1)
    if iterations is not None:
        h.setOptionValue("simplex_iteration_limit", iterations)
    h.run()
    return h


def _optimum(data: dict[str, object]) -> float | None:
    reference = brute_force(data)
    return None if reference is None else reference[0]


def _at_least(bound: float, optimum: float) -> bool:
    # the brute force's own rounding only: the bound carries its margin
    return bound >= optimum - 1e-9 * max(1.0, abs(optimum))


@pytest.mark.parametrize("seed", SEEDS)
def test_the_bound_of_a_stopped_dual_simplex_is_never_below_the_optimum(seed: int) -> None:
    data = random_scenario(seed)
    optimum = _optimum(data)
    if optimum is None:
        pytest.skip("no feasible plan: nothing to bound")
    session = _session(data)
    for iterations in (0, 2, 8, 32):
        found = lagrangian_bound(_stopped_lp(session, iterations))
        assert found is not None
        assert _at_least(found.bound, optimum), (iterations, found.bound, optimum)


@pytest.mark.parametrize("seed", SEEDS)
def test_at_the_lp_optimum_the_bound_is_the_lp_optimum(seed: int) -> None:
    data = random_scenario(seed)
    session = _session(data)
    h = _stopped_lp(session, None)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        pytest.skip("the LP is infeasible")
    found = lagrangian_bound(h)
    assert found is not None
    lp = float(h.getInfo().objective_function_value)
    assert found.bound >= lp - 1e-7 * max(1.0, abs(lp))
    assert found.bound - lp <= 1e-6 * max(1.0, abs(lp))


@pytest.mark.parametrize("seed", range(10))
def test_any_prices_give_a_bound_above_the_optimum(seed: int) -> None:
    data = random_scenario(seed)
    optimum = _optimum(data)
    if optimum is None:
        pytest.skip("no feasible plan: nothing to bound")
    h = _stopped_lp(_session(data), 0)
    lp = h.getLp()
    from cxplan.optimizer.dual_bound import _matrix

    matrix = _matrix(lp)
    rng = np.random.default_rng(seed)
    for scale in (1e-3, 1.0, 1e3):
        prices = rng.normal(scale=scale, size=lp.num_row_)
        found = bound_from_prices(
            matrix, np.asarray(lp.col_cost_), float(lp.offset_), np.asarray(lp.col_lower_),
            np.asarray(lp.col_upper_), np.asarray(lp.row_lower_), np.asarray(lp.row_upper_),
            prices)
        assert found is not None and _at_least(found.bound, optimum)


def test_a_column_free_to_grow_gives_no_bound() -> None:
    from scipy.sparse import csr_matrix

    # max x subject to x − y ≤ 1, x, y ≥ 0 with no upper bounds: the price 0 leaves x free
    matrix = csr_matrix(np.array([[1.0, -1.0]]))
    args = (np.array([1.0, 0.0]), 0.0, np.zeros(2), np.full(2, np.inf),
            np.array([-np.inf]), np.array([1.0]))
    assert bound_from_prices(matrix, *args, np.array([0.0])) is None
    # the price 1 bounds x − y by 1 but leaves y free (reduced cost +1 on y)
    assert bound_from_prices(matrix, *args, np.array([1.0])) is None


@pytest.mark.parametrize("seed", range(12))
def test_a_stopped_lp_first_solve_reports_a_proven_bound(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    data = random_scenario(seed)
    optimum = _optimum(data)
    if optimum is None:
        pytest.skip("no feasible plan: nothing to bound")
    made = relaxation_module.highs_with_bounds
    stopped = []

    def few_iterations(session: Session, lower: np.ndarray, upper: np.ndarray,
                       time_limit: float) -> highspy.Highs:
        h = made(session, lower, upper, time_limit)
        h.setOptionValue("simplex_iteration_limit", 3)  # as if the clock had stopped it
        return h

    original = relaxation_module.solve_relaxation

    def recorded(session: Session, deadline: float) -> relaxation_module.Relaxation | None:
        found = original(session, deadline)
        stopped.append(found is not None and not found.optimal)
        return found

    monkeypatch.setattr(relaxation_module, "highs_with_bounds", few_iterations)
    monkeypatch.setattr(relaxation_module, "stoppable", lambda *_: True)
    monkeypatch.setattr(relaxation_module, "solve_relaxation", recorded)
    began = time.perf_counter()
    plan = optimize(load_scenario(data), options=SolverOptions(start_method="relaxation"))
    assert time.perf_counter() - began < 30
    assert plan.expected_gain <= optimum + 1e-6 * max(1.0, abs(optimum))
    # three iterations leave the LP short of its optimum here: the bound is its prices'
    assert stopped == [True]
    assert plan.bound is not None and _at_least(plan.bound, optimum)
    assert plan.status in ("optimal", "time_limit")
    if plan.status == "time_limit":
        assert plan.gap is not None and plan.gap > 0


@pytest.mark.parametrize("seed", range(15))
def test_a_stopped_lps_prices_bound_the_optimum_after_raising_the_budget(seed: int) -> None:
    """What the marginal values' dual bound (`cxplan.whatif.marginal.dual_bounds`) relies
    on, for a stopped LP too: raising a row's bound by Δ raises the bound by ≤ |y| Δ."""
    data = random_scenario(seed)
    raised = {**data, "budget": round(float(data["budget"]) * 1.3 + 5, 1)}  # type: ignore[arg-type]
    optimum = _optimum(raised)
    if optimum is None or _optimum(data) is None:
        pytest.skip("no feasible plan: nothing to bound")
    session = _session(data)
    relaxation = relaxation_module.solve_relaxation(session, time.perf_counter() + 30,
                                                    can_stop=True)
    assert relaxation is not None and relaxation.row_duals is not None
    step = float(raised["budget"]) - float(data["budget"])  # type: ignore[arg-type]
    price = abs(relaxation.row_duals[session.compiled.rows["budget"]])
    assert _at_least(relaxation.bound + price * step, optimum)
    for iterations in (0, 4):
        found = lagrangian_bound(_stopped_lp(session, iterations))
        assert found is not None
        price = abs(found.prices[session.compiled.rows["budget"]])
        assert _at_least(found.bound + price * step, optimum)
