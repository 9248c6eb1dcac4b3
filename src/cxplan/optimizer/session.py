"""Solve a built model with HiGHS, honestly: one compiled model in one HiGHS instance,
solvable again after changing limits, fixing improvements or replacing the objective.

The status is read from HiGHS's model status, never from PuLP's status string: a
time-limited run that found a plan is `time_limit`, not "Optimal". The gap is on the
objective, which includes the baseline as a constant, so it is the gap on the *gain*. A
MIP start is a full solution: derived from the evaluator where the model offers it, else
completed by a quick solve with the decisions fixed. Every verdict of HiGHS is checked
against the plans known to be feasible.
"""

from __future__ import annotations

import contextlib
import copy
import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pulp

from cxplan.core.status import PROVEN_GAP, Status
from cxplan.errors import NoPlanInTime, SolverError
from cxplan.optimizer.highs import (
    FEASIBILITY_TOLERANCE,
    below,
    bounded_progress,
    compile_model,
    configured_highs,
    relative_gap,
    run,
    scale_small_objective,
    set_objective,
)
from cxplan.optimizer.options import ProgressCallback, SolverOptions


@dataclass(frozen=True)
class SolveResult:
    status: Status  # optimal, gap_limit, time_limit or infeasible
    selected: tuple[str, ...]
    objective: float | None
    bound: float | None
    gap: float | None
    nodes: int
    seconds: float
    column_values: dict[str, float]
    start_used: bool

    def value_of(self, expression: pulp.LpAffineExpression) -> float:
        """The value of a model expression at the solution."""
        return float(expression.constant) + float(sum(
            coef * self.column_values.get(var.name, 0.0) for var, coef in expression.items()
        ))


def solve(
    problem: pulp.LpProblem,
    x: dict[str, pulp.LpVariable],
    options: SolverOptions = SolverOptions(),
    start: Sequence[str] | None = None,
    start_values: dict[str, float] | None = None,
) -> SolveResult:
    """Solve once to the requested gap or time limit (see `Session.solve`)."""
    return Session(problem, x, options).solve(start, start_values)


class Session:
    """One compiled model in one HiGHS instance, solvable again after changing limits.

    What-if runs (frontiers, explanations) change a right-hand side or fix an improvement
    and solve again, instead of rebuilding and recompiling the model each time.
    """

    def __init__(
        self, problem: pulp.LpProblem, x: dict[str, pulp.LpVariable],
        options: SolverOptions = SolverOptions(),
    ) -> None:
        began = time.perf_counter()
        # A first solve on the session's own time limit counts from here: compiling a large
        # model (and the caller's MIP start in between) took seconds the limit must cover.
        self._clock_start: float | None = began
        self.compiled = compile_model(problem, x)
        self.options = options
        self.highs = configured_highs(options, options.time_limit)
        scale_small_objective(self.highs, self.compiled.lp.col_cost_)
        self.highs.passModel(self.compiled.lp)
        self.lower = np.array(self.compiled.lp.col_lower_, dtype=float)
        self.upper = np.array(self.compiled.lp.col_upper_, dtype=float)
        # The model as it is now: what `set_row_upper`, `set_objective` and `add_row`
        # change in HiGHS is mirrored here, for checks and for other HiGHS instances.
        self.row_lower = np.array(self.compiled.lp.row_lower_, dtype=float)
        self.row_upper = np.array(self.compiled.lp.row_upper_, dtype=float)
        self.cost = np.array(self.compiled.lp.col_cost_, dtype=float)
        self.offset = float(self.compiled.lp.offset_)
        self.added_rows: list[tuple[float, float, np.ndarray, np.ndarray]] = []
        self.compile_seconds = time.perf_counter() - began
        self._check_data: tuple[Any, Any, np.ndarray] | None = None  # see `_checks`

    def fork(self, options: SolverOptions | None = None) -> Session:
        """A copy of the model as it is now (row and column bounds, objective, added rows)
        in a HiGHS instance of its own, with `options` (default: this session's).

        Forks solve in parallel threads (highspy releases the GIL while HiGHS runs) and
        change their limits without touching this session. They share the compiled model,
        which nothing changes after compiling."""
        twin = copy.copy(self)
        twin.options = options or self.options
        twin.lower, twin.upper = self.lower.copy(), self.upper.copy()
        twin.row_lower, twin.row_upper = self.row_lower.copy(), self.row_upper.copy()
        twin.cost = self.cost.copy()
        twin.added_rows = list(self.added_rows)
        twin._clock_start = None
        twin.highs = highs_with_bounds(twin, twin.lower, twin.upper, twin.options.time_limit)
        return twin

    def set_row_upper(self, row: str, value: float) -> None:
        """Change the right-hand side of a `≤` row, by its model name (`budget`, ...)."""
        index = self.compiled.rows[row]
        self.row_upper[index] = float(value)
        self.highs.changeRowBounds(index, float(self.row_lower[index]), float(value))

    def set_row_bounds(self, row: str, lower: float, upper: float) -> None:
        """Change both bounds of a row, by its model name (±inf: no bound)."""
        index = self.compiled.rows[row]
        self.row_lower[index], self.row_upper[index] = float(lower), float(upper)
        self.highs.changeRowBounds(index, float(lower), float(upper))

    def row_bounds(self, row: str) -> tuple[float, float]:
        """A row's bounds now, by its model name."""
        index = self.compiled.rows[row]
        return float(self.row_lower[index]), float(self.row_upper[index])

    def set_row_lower(self, row: str, value: float) -> None:
        """Change the lower bound of a row, by its model name (`-inf`: none)."""
        index = self.compiled.rows[row]
        self.row_lower[index] = float(value)
        self.highs.changeRowBounds(index, float(value), float(self.row_upper[index]))

    def set_objective(self, cost: np.ndarray, offset: float) -> None:
        """Replace the objective: every column's coefficient, and the constant."""
        self.cost = np.array(cost, dtype=float)
        self.offset = float(offset)
        set_objective(self.highs, self.cost, self.offset)

    def add_row(self, lower: float, upper: float, index: np.ndarray,
                value: np.ndarray) -> None:
        """Add the row `lower ≤ Σ value·column[index] ≤ upper`."""
        row = (float(lower), float(upper), np.asarray(index, dtype=np.int32),
               np.asarray(value, dtype=float))
        self.added_rows.append(row)
        self.highs.addRow(row[0], row[1], len(row[2]), row[2], row[3])

    def fix(self, improvement: str, value: bool | None) -> None:
        """Force an improvement in (True) or out (False), or free it again (None)."""
        c = self.compiled.x_columns[improvement]
        lo, up = (0.0, 1.0) if value is None else (float(value), float(value))
        self.lower[c], self.upper[c] = lo, up
        self.highs.changeColBounds(c, lo, up)

    def solve(
        self,
        start: Sequence[str] | None = None,
        start_values: dict[str, float] | None = None,
        time_limit: float | None = None,
        progress: ProgressCallback | None = None,
        *,
        start_columns: np.ndarray | None = None,
        known_bound: float | None = None,
    ) -> SolveResult:
        """Solve to the gap or time limit, starting from `start` (ids) when given.

        Without `time_limit`, the session's own limit applies; for the first solve it
        counts from the session's creation, so that compiling the model is within it.

        `start_values` gives the start's value for (some) variables by name; columns it
        does not cover are completed by a quick solve with x fixed. `start_columns` is a
        complete start already (every column's value, in the model's column order). A
        start that breaks the current limits is simply not used. `known_bound` is an
        upper bound on the objective proven before (`cxplan.optimizer.relaxation`): the result's
        bound is the better of it and HiGHS's, and a plan already within the requested gap
        of it is optimal without a search.
        """
        began = time.perf_counter()
        if self._clock_start is not None and time_limit is None:
            began = self._clock_start
        # An explicit `time_limit` counts from this call: its caller measured what came
        # before (compiling included) against its own deadline.
        self._clock_start = None
        if not len(self.cost):
            # No column at all (no improvement, and visits no selection changes are
            # constants): the plan is empty and its value the constant; HiGHS would
            # only say "Empty".
            return self._result(Status.OPTIMAL, np.zeros(0), self.offset, 0, began, None)
        limit = self.options.time_limit if time_limit is None else time_limit
        deadline = began + limit
        h = self.highs
        full: np.ndarray | None = start_columns
        if full is None and start is not None:
            full = self.start_columns(start, start_values, deadline)
        if full is not None and not self.within_bounds(full):
            full = None
        # plans checked against every row, from the start or from any run of HiGHS
        verified = [] if full is None or not self.satisfies(full) else [full]
        if verified and known_bound is not None and relative_gap(
                self.objective_of(verified[0]), known_bound) <= self.options.gap:
            # The start is proven good enough already: HiGHS would redo the root LP
            # (seconds on large models) only to say so.
            return self.result_of(verified[0], known_bound, began)
        watched = bounded_progress(progress, known_bound)
        run(h, full, deadline, began, watched)
        consistent = self._consistent(h) and not _failed(h)
        if not consistent or self._contradicted(h, verified):
            # HiGHS 1.16.0's presolve got some of these models wrong: "optimal" below a
            # plan known to be feasible (and it then returned that plan's columns with its
            # own objective), or "Solve error" on a budget row of 1e9 against a budget of
            # 999999999.9999999. Seen on small random scenarios (tests/test_exactness.py,
            # test_relaxation.py, test_untrusted.py); without presolve it solved them
            # right. Solve again so.
            verified += self._verified_solution(h)
            h.clearSolver()
            h.setOptionValue("presolve", "off")
            try:
                run(h, full, deadline, began, watched)
            finally:
                h.setOptionValue("presolve", "on")
            consistent = (self._consistent(h) and not _failed(h)
                          and not self._contradicted(h, verified))
        status = h.getModelStatus()
        info = h.getInfo()
        if not consistent:
            # Still contradictory: keep the best plan that checks out, claim no bound.
            verified += self._verified_solution(h)
            if not verified:
                raise SolverError("HiGHS gave contradictory results on this model (or stopped "
                                  f"with status {h.modelStatusToString(status)}) and no plan "
                                  "that checks out; please report the scenario")
            return self._result(Status.TIME_LIMIT, max(verified, key=self.objective_of), None,
                                int(info.mip_node_count), began, full)
        ms = highspy.HighsModelStatus
        if status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
            return SolveResult(Status.INFEASIBLE, (), None, None, None, int(info.mip_node_count),
                               time.perf_counter() - began, {}, full is not None)
        if status == ms.kOptimal:
            label = Status.OPTIMAL
        elif status in (ms.kTimeLimit, ms.kInterrupt, ms.kIterationLimit, ms.kSolutionLimit):
            label = Status.TIME_LIMIT
        else:
            raise SolverError(f"HiGHS stopped with status {h.modelStatusToString(status)}")
        if info.primal_solution_status == 2:  # kSolutionStatusFeasible
            col = np.asarray(h.getSolution().col_value)
        elif verified:
            # Stopped before HiGHS had a plan of its own: the start (or what a first run
            # found) is still a feasible plan.
            col = max(verified, key=self.objective_of)
        else:
            raise NoPlanInTime(
                f"no plan found within the time limit of {limit:g} s (raise --time-limit)")
        dual = float(info.mip_dual_bound)
        bound = dual if np.isfinite(dual) and abs(dual) < 1e300 else None
        if label == Status.OPTIMAL and bound is None:
            bound = self.objective_of(col)
        if known_bound is not None:
            bound = known_bound if bound is None else min(bound, known_bound)
        if label == Status.TIME_LIMIT and relative_gap(self.objective_of(col), bound if bound
                                                  is not None else math.inf) <= self.options.gap:
            label = Status.OPTIMAL  # HiGHS's bound alone was not enough; with the known one it is
        return self._result(label, col, bound, int(info.mip_node_count), began, full)

    @contextlib.contextmanager
    def columns_fixed(self, values: dict[int, float]) -> Iterator[None]:
        """Columns (by index) fixed to values for the solves inside the block only."""
        if not values:
            yield
            return
        index = np.fromiter(values, dtype=np.int32, count=len(values))
        fixed = np.fromiter(values.values(), dtype=float, count=len(values))
        self.highs.changeColsBounds(len(index), index, fixed, fixed)
        try:
            yield
        finally:
            self.highs.changeColsBounds(len(index), index, self.lower[index], self.upper[index])

    def satisfies(self, columns: np.ndarray) -> bool:
        """Whether a full column vector is a plan of the current model: column bounds,
        integrality and every row (plugins' rows too), within solver tolerances."""
        if not self.within_bounds(columns):
            return False
        matrix, magnitudes, integer = self._checks()
        if np.any(np.abs(columns[integer] - np.round(columns[integer])) > 1e-6):
            return False
        activity = matrix @ columns
        # What rounding can make of a row: its terms' magnitude (and its bounds') × 1e-9;
        # a row broken by more than that plus HiGHS's tolerance is broken.
        scale = magnitudes @ np.abs(columns)
        lower, upper = self.row_lower, self.row_upper
        if self.added_rows:
            activity = np.concatenate([activity, [float(np.dot(v, columns[i]))
                                                  for _, _, i, v in self.added_rows]])
            scale = np.concatenate([scale, [float(np.dot(np.abs(v), np.abs(columns[i])))
                                            for _, _, i, v in self.added_rows]])
            lower = np.concatenate([lower, [r[0] for r in self.added_rows]])
            upper = np.concatenate([upper, [r[1] for r in self.added_rows]])
        finite_lower = np.abs(np.where(np.isfinite(lower), lower, 0.0))
        finite_upper = np.abs(np.where(np.isfinite(upper), upper, 0.0))
        slack = 10 * FEASIBILITY_TOLERANCE + 1e-9 * np.maximum(
            scale, np.maximum(finite_lower, finite_upper))
        return bool(np.all(activity >= lower - slack) and np.all(activity <= upper + slack))

    def _checks(self) -> tuple[Any, Any, np.ndarray]:
        """The constraint matrix, its absolute values and the integer columns' mask: what
        `satisfies` needs, derived from the compiled model on the first check."""
        if self._check_data is None:
            from scipy.sparse import csr_matrix

            lp = self.compiled.lp
            a = lp.a_matrix_
            matrix = csr_matrix(
                (np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_)),
                shape=(lp.num_row_, lp.num_col_))
            integer = highspy.HighsVarType.kInteger
            kinds = lp.integrality_
            mask = (np.fromiter((k == integer for k in kinds), dtype=bool, count=len(kinds))
                    if len(kinds) else np.zeros(lp.num_col_, dtype=bool))
            self._check_data = (matrix, abs(matrix), mask)
        return self._check_data

    def _verified_solution(self, h: highspy.Highs) -> list[np.ndarray]:
        """HiGHS's current solution, if it has one that checks out against every row."""
        if h.getInfo().primal_solution_status != 2:
            return []
        col = np.asarray(h.getSolution().col_value, dtype=float)
        return [col] if self.satisfies(col) else []

    def _contradicted(self, h: highspy.Highs, plans: list[np.ndarray]) -> bool:
        """Whether HiGHS's verdict contradicts plans checked against every row: it says
        infeasible, or proves a bound below one of them."""
        if not plans:
            return False
        ms = highspy.HighsModelStatus
        if h.getModelStatus() in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
            return True
        dual = float(h.getInfo().mip_dual_bound)
        return bool(np.isfinite(dual)) and below(dual, max(self.objective_of(p) for p in plans))

    def _consistent(self, h: highspy.Highs) -> bool:
        """Whether the solution HiGHS returns has the objective HiGHS reports for it."""
        info = h.getInfo()
        if info.primal_solution_status != 2:
            return True
        reported = float(info.objective_function_value)
        actual = self.objective_of(np.asarray(h.getSolution().col_value))
        return abs(actual - reported) <= 1e-7 * max(1.0, abs(reported))

    def objective_of(self, columns: np.ndarray) -> float:
        """The model's objective at a full column vector."""
        return float(np.dot(self.cost, columns) + self.offset)

    def start_columns(self, start: Iterable[str], start_values: dict[str, float] | None,
                      deadline: float) -> np.ndarray | None:
        """Every column's value for a start selection: from `start_values` where they cover
        every column, else completed by a quick solve with the decisions fixed."""
        names = self.compiled.names
        if start_values is not None and all(n in start_values for n in names):
            return np.array([start_values[n] for n in names], dtype=float)
        return _complete_start(self, set(start), deadline)

    def result_of(self, columns: np.ndarray, bound: float, began: float) -> SolveResult:
        """A plan found outside this session (feasible for its model) with a bound proven
        outside it, without a search: optimal when within the requested gap."""
        self._clock_start = None
        gap = relative_gap(self.objective_of(columns), bound)
        label = Status.OPTIMAL if gap <= self.options.gap else Status.TIME_LIMIT
        return self._result(label, columns, bound, 0, began, columns)

    def _result(self, label: Status, col: np.ndarray, bound: float | None, nodes: int,
                began: float, start: np.ndarray | None) -> SolveResult:
        objective = self.objective_of(col)
        if (label == Status.OPTIMAL and bound is not None and self.options.gap > PROVEN_GAP
                and relative_gap(objective, bound) > PROVEN_GAP):
            # HiGHS stopped at the looser gap it was asked for: proven, but not optimal.
            label = Status.GAP_LIMIT
        selected = tuple(imp for imp, c in self.compiled.x_columns.items() if col[c] > 0.5)
        return SolveResult(
            status=label,
            selected=selected,
            objective=objective,
            bound=bound,
            gap=relative_gap(objective, bound) if bound is not None else None,
            nodes=nodes,
            seconds=time.perf_counter() - began,
            column_values=dict(zip(self.compiled.names, col.tolist(), strict=True)),
            start_used=start is not None,
        )

    def within_bounds(self, values: np.ndarray) -> bool:
        return bool(np.all(values >= self.lower - 1e-9) and np.all(values <= self.upper + 1e-9))


def _failed(h: highspy.Highs) -> bool:
    """Whether HiGHS stopped on an error of its own rather than with an answer."""
    ms = highspy.HighsModelStatus
    return bool(h.getModelStatus() in (ms.kSolveError, ms.kPostsolveError, ms.kUnknown))


def _complete_start(session: Session, start: set[str], deadline: float) -> np.ndarray | None:
    """All variable values for a start selection: fix x, let HiGHS fill in the rest.

    Gets at most a third of what is left before `deadline` (30 s at most): the main solve
    needs the rest, and a start it cannot afford to complete is only skipped."""
    began = time.perf_counter()
    time_limit = min((deadline - began) / 3, 30.0)
    if time_limit <= 0.05:
        return None
    lower, upper = session.lower.copy(), session.upper.copy()
    for imp, c in session.compiled.x_columns.items():
        lower[c] = upper[c] = 1.0 if imp in start else 0.0
    h = highs_with_bounds(session, lower, upper, time_limit)
    run(h, None, began + time_limit, began)
    if h.getInfo().primal_solution_status != 2:
        return None
    return np.asarray(h.getSolution().col_value, dtype=float)


# `highs_with_bounds` lends the compiled model's arrays to HiGHS for one `passModel`;
# forks of one session (`Session.fork`) in other threads share that model.
_LENDING = threading.Lock()


def highs_with_bounds(session: Session, lower: np.ndarray, upper: np.ndarray,
                      time_limit: float) -> highspy.Highs:
    """A new HiGHS instance holding the session's model as it is now (its changed row
    bounds included) with other column bounds."""
    with _LENDING:
        h = _copy_with_bounds(session, lower, upper, time_limit)
    if not np.array_equal(session.cost, session.compiled.lp.col_cost_) or \
            session.offset != session.compiled.lp.offset_:
        set_objective(h, session.cost, session.offset)
    for row in session.added_rows:
        h.addRow(row[0], row[1], len(row[2]), row[2], row[3])
    return h


def _copy_with_bounds(session: Session, lower: np.ndarray, upper: np.ndarray,
                      time_limit: float) -> highspy.Highs:
    lp = session.compiled.lp
    original = (np.array(lp.col_lower_, dtype=float), np.array(lp.col_upper_, dtype=float),
                np.array(lp.row_lower_, dtype=float), np.array(lp.row_upper_, dtype=float))
    lp.col_lower_, lp.col_upper_ = lower, upper
    lp.row_lower_, lp.row_upper_ = session.row_lower, session.row_upper
    try:
        h = configured_highs(session.options, time_limit)
        scale_small_objective(h, session.cost)
        h.passModel(lp)  # HiGHS copies the model, so the shared arrays can be restored now
    finally:
        lp.col_lower_, lp.col_upper_, lp.row_lower_, lp.row_upper_ = original
    return h
