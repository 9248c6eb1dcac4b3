"""Large models: the LP relaxation first, for a proven bound and a near-optimal start.

On large backlogs HiGHS spends most of a time limit before it has anything to show:
at 10 000 improvements presolve and setup took 10 s and the root LP another 20 s, and
the cut rounds after it closed the gap slowly; the lazy greedy start was 3.8 % below
the LP bound. The LP relaxation is tight here (0.02 % above the optimum at 500
improvements), and almost all of its decisions are already 0 or 1. So, for large
models (`SolverOptions.start_method`):

1. solve the LP relaxation: its optimum bounds the objective of every plan (an LP that
   may not finish in time is solved so that, stopped, its prices still prove a bound:
   `solve_relaxation`, `cxplan.optimizer.dual_bound`);
2. take the improvements at 1 in it (a feasible selection as far as the scenario's
   budget, teams, requirements and exclusions go; checked) and fill what is left with
   the lazy greedy on exact marginal gains;
3. search the LP's neighbourhood (RENS): a MIP in which every decision the LP made
   integrally is fixed to it (unless the start differs), from that start;
4. hand the best plan and the LP bound to the full MIP, which stops at once when the
   plan is already within the requested gap of the bound.

Every plan found on the way is feasible for the full model, and the LP bound is valid
for it, so the result stays exact: `optimal` means proven within the requested gap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from cxplan.core.status import Status
from cxplan.optimizer.dual_bound import lagrangian_bound
from cxplan.optimizer.highs import below, relative_gap, run
from cxplan.optimizer.model import LP_SECONDS_PER_COLUMN
from cxplan.optimizer.options import Progress, ProgressCallback, SolverOptions
from cxplan.optimizer.session import Session, SolveResult, highs_with_bounds

INTEGRAL = 1e-6  # an LP value this close to 0 or 1 counts as decided
NEIGHBOURHOOD_GAP = 1e-4  # relative gap at which the neighbourhood search stops
FULL_MIP_SETUP = 2.0  # the full MIP's presolve + root LP, in units of the LP's own time

# An LP expected (at LP_SECONDS_PER_COLUMN) to need more than this share of its time is
# solved so that it can be stopped with a bound (`solve_relaxation`): at 10 000
# improvements on 5 000 reachable touchpoints (231 000 columns, estimated 23 s of a 28 s
# window) the presolved LP took 40 s and gave nothing at its limit.
STOPPABLE_ABOVE = 0.7
# the share of what is left that the greedy fill gets after a stopped LP (nothing else
# fits: the neighbourhood search and the MIP would start with an LP of the same size)
FILL_AFTER_STOPPED_LP = 0.8

# Measured end to end on the benchmark's scenarios (3 seeds per size): LP-first was
# faster in 14 of 15 runs from 100 to 1 000 improvements (0.35–0.63 s against
# 0.37–1.02 s at 100), and no different at 12–50.
RELAXATION_FROM = 100


def relaxation_first(options: SolverOptions, improvements: int) -> bool:
    """Whether `options` ask for the LP-first solve for a backlog of this size."""
    if options.start_method == "auto":
        return improvements >= RELAXATION_FROM
    return options.start_method == "relaxation"


def lp_blocking_budget(time_limit: float) -> float:
    """The seconds an LP-first solve's LP may take when its hull is chosen
    (`cxplan.optimizer.model.choose_blocking`): half the time limit, as building, the fill and the
    search need the rest."""
    return time_limit / 2


@dataclass(frozen=True)
class Relaxation:
    """The LP relaxation's optimum, or (`optimal` False) the bound of an LP stopped on
    the clock: a proven bound and every column's value."""

    bound: float
    # at the optimum: the LP's values; stopped: where the prices put each column (the
    # bound the reduced cost pushes it to)
    columns: np.ndarray
    reduced_costs: np.ndarray  # ∂objective/∂column (≤ 0 at 0, ≥ 0 at 1 at the optimum)
    seconds: float
    # each row's dual value (∂objective/∂bound of its active side), the session's rows
    # first; for a stopped LP the prices that proved its bound
    row_duals: np.ndarray | None = None
    optimal: bool = True


def stoppable(session: Session, seconds: float) -> bool:
    """Whether the session's LP is expected to need more than STOPPABLE_ABOVE of
    `seconds`: then it is solved so that stopping it still leaves a bound."""
    return session.compiled.lp.num_col_ * LP_SECONDS_PER_COLUMN > STOPPABLE_ABOVE * seconds


def solve_relaxation(session: Session, deadline: float,
                     can_stop: bool | None = None) -> Relaxation | None:
    """The LP relaxation of the session's model, within its current column bounds.

    With `can_stop` (default: `stoppable`), the LP is solved by the dual simplex without
    presolve, whose row prices are the model's own at every moment: stopped at `deadline`,
    they still prove a bound (`cxplan.optimizer.dual_bound`); a presolved LP stopped
    leaves nothing. (At 10 000 improvements on 5 000 touchpoints, every column bounded:
    18.8 s without presolve, 20.6 s with it, on a shared machine.)
    None when there is neither an optimum nor a bound before `deadline` (or the LP is
    infeasible: the full solve then reports that with its conflict)."""
    import highspy

    began = time.perf_counter()
    if deadline - began <= 0.05:
        return None
    if can_stop is None:
        can_stop = stoppable(session, deadline - began)
    h = highs_with_bounds(session, session.lower, session.upper, deadline - began)
    h.setOptionValue("solve_relaxation", True)
    if can_stop:
        h.setOptionValue("presolve", "off")
        h.setOptionValue("simplex_strategy", 1)  # the dual simplex: its prices stay dual feasible
    run(h, None, deadline, began)
    ms = highspy.HighsModelStatus
    status = h.getModelStatus()
    if status == ms.kOptimal:
        solution = h.getSolution()
        return Relaxation(bound=float(h.getInfo().objective_function_value),
                          columns=np.asarray(solution.col_value, dtype=float),
                          reduced_costs=np.asarray(solution.col_dual, dtype=float),
                          seconds=time.perf_counter() - began,
                          row_duals=np.asarray(solution.row_dual, dtype=float))
    if not can_stop or status not in (ms.kTimeLimit, ms.kInterrupt, ms.kIterationLimit):
        return None
    dual = lagrangian_bound(h)
    if dual is None:
        return None
    columns = np.where(dual.reduced_costs > 0, session.upper, session.lower)
    return Relaxation(bound=dual.bound, columns=columns, reduced_costs=dual.reduced_costs,
                      seconds=time.perf_counter() - began, row_duals=dual.prices,
                      optimal=False)


def integral_selection(session: Session, relaxation: Relaxation) -> list[str]:
    """The improvements the LP relaxation takes whole."""
    cols = relaxation.columns
    return [imp for imp, c in session.compiled.x_columns.items() if cols[c] >= 1 - INTEGRAL]


def neighbourhood_search(session: Session, relaxation: Relaxation, start: np.ndarray,
                         deadline: float) -> np.ndarray | None:
    """The best plan with every decision the LP made integrally kept (RENS), from
    `start`; None if nothing at least as good as the start was found in time.

    Decisions where `start` differs from the LP stay free, so the start is feasible in
    the neighbourhood and the search can only improve on it."""
    began = time.perf_counter()
    if deadline - began <= 0.05:
        return None
    lower, upper = session.lower.copy(), session.upper.copy()
    lp_values, free = relaxation.columns, 0
    for c in session.compiled.x_columns.values():
        value = round(lp_values[c])
        if abs(lp_values[c] - value) <= INTEGRAL and abs(start[c] - value) <= INTEGRAL:
            lower[c] = upper[c] = value
        else:
            free += 1
    if free == 0:
        return None  # the neighbourhood is the start itself
    h = highs_with_bounds(session, lower, upper, deadline - began)
    # Proving the neighbourhood's own optimum to 1e-6 is not needed (the full MIP or the
    # LP bound judges the plan) and took most of the time on large models.
    h.setOptionValue("mip_rel_gap", max(session.options.gap, NEIGHBOURHOOD_GAP))
    run(h, start, deadline, began)
    if h.getInfo().primal_solution_status != 2:
        return None
    found = np.asarray(h.getSolution().col_value, dtype=float)
    if not session.satisfies(found):
        return None
    return found if session.objective_of(found) >= session.objective_of(start) else None


def reduced_cost_fixing(session: Session, relaxation: Relaxation,
                        incumbent: np.ndarray) -> tuple[dict[int, float], float]:
    """Decisions no better plan than `incumbent` can change, and the most a plan that
    changes any of them could reach.

    Moving a decision off its LP bound costs at least its reduced cost |d| (LP duality):
    such a plan is worth at most bound − |d|. Where that is below the incumbent, the
    decision keeps its LP (and incumbent) value in every better plan. The incumbent
    itself satisfies every fixing, so the optimum of the reduced model is the optimum.
    """
    value = session.objective_of(incumbent)
    margin = max(1e-6 * abs(value), 1e-9)  # well above the LP's optimality tolerances
    fixed: dict[int, float] = {}
    reach = -np.inf
    cols, duals = relaxation.columns, relaxation.reduced_costs
    for c in session.compiled.x_columns.values():
        if session.lower[c] == session.upper[c]:
            continue
        target = round(cols[c])
        if abs(cols[c] - target) > INTEGRAL or abs(incumbent[c] - target) > INTEGRAL:
            continue
        best_changed = relaxation.bound - abs(duals[c])
        if best_changed < value - margin:
            fixed[c] = float(target)
            reach = max(reach, best_changed)
    return fixed, float(reach)


def solve_from_relaxation(
    session: Session,
    deadline: float,
    fill: Callable[[list[str], float], Sequence[str] | None],
    start_values: Callable[[Sequence[str]], dict[str, float] | None],
    progress: ProgressCallback | None = None,
) -> SolveResult | None:
    """Steps 1–4 of the module's docstring, all before `deadline`.

    `fill(initial, seconds)` extends a feasible selection (the lazy greedy);
    `start_values(selection)` gives a selection's column values for the MIP start. None
    when the relaxation was not solved in time (the caller solves the usual way)."""
    began = time.perf_counter()
    # The LP may take up to 70 % of the time left: without it there is no bound at all
    # on large models.
    relaxation = solve_relaxation(session, began + 0.7 * (deadline - began))
    if relaxation is None:
        return None
    _report(progress, began, None, relaxation.bound)
    best: np.ndarray | None = None
    initial = integral_selection(session, relaxation)
    left = deadline - time.perf_counter()
    share = 0.1 if relaxation.optimal else FILL_AFTER_STOPPED_LP
    selection = fill(initial, max(0.2, left * share))
    if selection is not None:
        best = session.start_columns(selection, start_values(selection), deadline)
        if best is not None and not session.satisfies(best):
            best = None  # e.g. the rounding broke a plugin's constraint
    if best is not None and below(relaxation.bound, session.objective_of(best)):
        # A plan above the LP's "optimum": HiGHS got the LP wrong (its presolve did on
        # some MIPs, see Session.solve), so neither its bound nor its reduced costs count.
        return session.solve(time_limit=max(deadline - time.perf_counter(), 0.01),
                             progress=progress, start_columns=best)
    if not relaxation.optimal:
        # Anything more would start with an LP of this size again: the best plan and
        # the stopped LP's bound are the answer.
        return None if best is None else session.result_of(best, relaxation.bound, began)
    search_last = False
    if best is not None:
        incumbent = session.objective_of(best)
        _report(progress, began, incumbent, relaxation.bound)
        if relative_gap(incumbent, relaxation.bound) > session.options.gap:
            left = deadline - time.perf_counter()
            # The full MIP repeats presolve and the root LP before it can improve on
            # anything (at 10 000 improvements: longer than the relaxation took). When
            # half of what is left would not cover that twice, the neighbourhood search
            # gets all of it.
            search_last = left / 2 < FULL_MIP_SETUP * relaxation.seconds
            better = neighbourhood_search(
                session, relaxation, best,
                deadline if search_last else time.perf_counter() + left / 2)
            if better is not None:
                best = better
                _report(progress, began, session.objective_of(best), relaxation.bound)
    if search_last and best is not None:
        return session.result_of(best, relaxation.bound, began)
    fixed, reach = (reduced_cost_fixing(session, relaxation, best) if best is not None
                    else ({}, -np.inf))
    with session.columns_fixed(fixed):
        result = session.solve(time_limit=max(deadline - time.perf_counter(), 0.01),
                               progress=progress, start_columns=best,
                               known_bound=relaxation.bound)
    if result.bound is None or result.objective is None or reach <= result.bound:
        return result
    # Never reached in practice (the fixings are below the incumbent, so below any bound
    # of the reduced model), but the bound of the full model is the larger of the two.
    gap = relative_gap(result.objective, reach)
    return replace(result, bound=reach, gap=gap,
                   status=Status.TIME_LIMIT if gap > session.options.gap else result.status)


def _report(progress: ProgressCallback | None, began: float, incumbent: float | None,
            bound: float) -> None:
    if progress is None:
        return
    gap = relative_gap(incumbent, bound) if incumbent is not None else None
    progress(Progress(seconds=time.perf_counter() - began, incumbent=incumbent, bound=bound,
                      gap=gap, nodes=0))
