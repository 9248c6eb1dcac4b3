"""Solve a built model with HiGHS (through highspy), honestly.

The PuLP problem is handed to HiGHS as arrays in one call (PuLP's own HiGHS
adapter adds columns one by one and cannot take a MIP start). The status is
read from HiGHS's model status, never from PuLP's status string: a time-limited
run that found a plan is `time_limit`, not "Optimal". The gap is on the
objective, which includes the baseline as a constant, so it is the gap on the
*gain*. A MIP start is given as a full solution: the start's x is fixed and
the rest of the variables are completed by a quick solve of that fixed model.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import highspy
import numpy as np
import pulp

from cxplan.errors import SolverError

FEASIBILITY_TOLERANCE = 1e-8  # the default let 2 of 48 small instances end wrong (DESIGN.md)


@dataclass(frozen=True)
class SolverOptions:
    """How to run HiGHS. `gap` is the relative MIP gap on the objective (the gain)."""

    time_limit: float = 60.0
    gap: float = 1e-6
    threads: int = 1
    seed: int = 0
    node_limit: int | None = None  # stops like a time limit (status "time_limit"); for tests
    # How `optimize` finds its first plan: "greedy" (lazy greedy on exact marginal gains),
    # "relaxation" (the LP relaxation rounded, filled and searched around, which also
    # proves a bound: cxplan.optimizer.relaxation), or "auto" (relaxation from
    # `cxplan.optimizer.relaxation.RELAXATION_FROM` improvements on).
    start_method: str = "auto"

    def __post_init__(self) -> None:
        if self.start_method not in ("auto", "greedy", "relaxation"):
            raise ValueError(f"start_method must be 'auto', 'greedy' or 'relaxation', "
                             f"not {self.start_method!r}")


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running solve, for progress displays."""

    seconds: float
    incumbent: float | None  # best plan's objective so far
    bound: float | None  # proven upper bound on the objective
    gap: float | None
    nodes: int


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class SolveResult:
    status: str  # "optimal", "time_limit" or "infeasible"
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


@dataclass
class CompiledModel:
    """The PuLP problem as HiGHS arrays, plus the column of each decision variable."""

    lp: highspy.HighsLp
    names: list[str]
    x_columns: dict[str, int]
    rows: dict[str, int]


def compile_model(problem: pulp.LpProblem, x: dict[str, pulp.LpVariable]) -> CompiledModel:
    """The problem as HiGHS arrays: columns in PuLP's order (by name), rows in order.

    Walks the rows once with C-level loops (map/extend over each row's dict) and keys
    columns by object identity: `problem.variables()` re-registered every coefficient and
    a name lookup per coefficient went through Python-level hashing, ~4 s at 10 000
    improvements.
    """
    from cxplan.optimizer.model import paused_gc

    with paused_gc():
        return _compile(problem, x)


def _compile(problem: pulp.LpProblem, x: dict[str, pulp.LpVariable]) -> CompiledModel:
    constraints = problem.constraints()
    objective = problem.objective if problem.objective is not None else \
        pulp.LpAffineExpression()
    exprs = [objective, *(c.expr for c in constraints)]
    # Every coefficient's variable and value, objective first, in one flat list each.
    flat: list[pulp.LpVariable] = []
    values: list[float] = []
    for expr in exprs:
        flat.extend(expr)
        values.extend(expr.values())
    counts = np.fromiter(map(len, exprs), dtype=np.int64, count=len(exprs))
    ids = np.fromiter(map(id, flat), dtype=np.int64, count=len(flat))
    unique_ids, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    used = [flat[i] for i in first.tolist()]
    # Columns in PuLP's order (problem.variables() sorts by name), then the improvements
    # in neither objective nor rows (one that changes nothing and meets no limit).
    order = sorted(range(len(used)), key=lambda i: used[i].name)
    position = np.empty(len(used), dtype=np.int64)
    position[order] = np.arange(len(used))
    variables = [used[i] for i in order]
    # the improvements' columns: by identity among the used variables, else appended
    x_ids = np.fromiter(map(id, x.values()), dtype=np.int64, count=len(x))
    slot = np.minimum(np.searchsorted(unique_ids, x_ids), max(len(unique_ids) - 1, 0))
    found = unique_ids[slot] == x_ids if len(unique_ids) else np.zeros(len(x), dtype=bool)
    x_column = np.where(found, position[slot] if len(unique_ids) else 0, -1)
    for k, var in enumerate(x.values()):
        if x_column[k] < 0:
            x_column[k] = len(variables)
            variables.append(var)
    names = [v.name for v in variables]
    coef_column = position[inverse.ravel()] if len(flat) else np.zeros(0, dtype=np.int64)
    if len(set(names)) < len(names):
        # Two variable objects with one name are one column in an LP file: merge them here.
        first_of: dict[str, int] = {}
        for i, name in enumerate(names):
            first_of.setdefault(name, i)
        keep = sorted(set(first_of.values()))
        new_index = {old: new for new, old in enumerate(keep)}
        renumber = np.array([new_index[first_of[name]] for name in names], dtype=np.int64)
        coef_column = renumber[coef_column]
        x_column = renumber[x_column]
        variables = [variables[i] for i in keep]
        names = [names[i] for i in keep]
    x_columns = dict(zip(x, x_column.tolist(), strict=True))
    n = len(variables)
    inf = highspy.kHighsInf

    value = np.array(values, dtype=float)
    split = int(counts[0])  # the objective's coefficients come first
    cost = np.zeros(n)
    np.add.at(cost, coef_column[:split], value[:split])
    index = coef_column[split:].astype(np.int32)
    value = value[split:]
    counts = counts[1:]
    nonzero = value != 0
    if not nonzero.all():
        row_of = np.repeat(np.arange(len(constraints)), counts)
        counts = np.bincount(row_of[nonzero], minlength=len(constraints))
        index, value = index[nonzero], value[nonzero]
    starts = np.zeros(len(constraints) + 1, dtype=np.int32)
    np.cumsum(counts, out=starts[1:])
    rhs = -np.fromiter((c.constant for c in constraints), dtype=float, count=len(constraints))
    sense = np.fromiter((c.sense for c in constraints), dtype=np.int64, count=len(constraints))
    lower = np.where(sense == pulp.LpConstraintLE, -inf, rhs)
    upper = np.where(sense == pulp.LpConstraintGE, inf, rhs)

    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.col_cost_ = cost
    lp.col_lower_ = np.array([-inf if v.lowBound is None else v.lowBound for v in variables],
                             dtype=float)
    lp.col_upper_ = np.array([inf if v.upBound is None else v.upBound for v in variables],
                             dtype=float)
    integer, continuous = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
    lp.integrality_ = [integer if v.cat == pulp.LpInteger else continuous for v in variables]
    lp.num_row_ = len(constraints)
    lp.row_lower_ = lower
    lp.row_upper_ = upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = len(constraints)
    lp.a_matrix_.start_ = starts
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.offset_ = float(objective.constant)
    rows = {c.name: i for i, c in enumerate(constraints)}
    return CompiledModel(lp, names, x_columns, rows)


_banner_shown = False


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance.

    HiGHS prints a copyright banner on stdout (from C++) when the first instance of a
    process is created, before any option can turn output off; `plan --json` must print
    exactly one JSON object, so that first construction runs with stdout pointed away.
    """
    global _banner_shown
    if _banner_shown:
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    else:
        import ctypes
        import os
        import sys

        sys.stdout.flush()
        saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()  # type: ignore[no-untyped-call]
            ctypes.CDLL(None).fflush(None)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _banner_shown = True
    h.setOptionValue("output_flag", False)
    return h


def _highs(options: SolverOptions, time_limit: float) -> highspy.Highs:
    h = new_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", options.gap)
    h.setOptionValue("mip_feasibility_tolerance", FEASIBILITY_TOLERANCE)
    # Costs and staff go up to 1e15 (the scenario format's range) and are matrix values;
    # HiGHS refuses values from 1e15 on by default, and then stops with status "Empty".
    h.setOptionValue("large_matrix_value", 1e18)
    h.setOptionValue("presolve", "on")
    h.setOptionValue("time_limit", max(time_limit, 0.01))
    h.setOptionValue("random_seed", options.seed)
    h.setOptionValue("threads", max(1, options.threads))
    if options.node_limit is not None:
        h.setOptionValue("mip_max_nodes", options.node_limit)
    return h


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
        self.highs = _highs(options, options.time_limit)
        _scale_small_objective(self.highs, self.compiled.lp.col_cost_)
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

    def set_row_upper(self, row: str, value: float) -> None:
        """Change the right-hand side of a `≤` row, by its model name (`budget`, ...)."""
        index = self.compiled.rows[row]
        self.row_upper[index] = float(value)
        self.highs.changeRowBounds(index, float(self.row_lower[index]), float(value))

    def set_objective(self, cost: np.ndarray, offset: float) -> None:
        """Replace the objective: every column's coefficient, and the constant."""
        self.cost = np.array(cost, dtype=float)
        self.offset = float(offset)
        _set_objective(self.highs, self.cost, self.offset)

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
        watched = _bounded(progress, known_bound)
        run(h, full, deadline, began, watched)
        consistent = self._consistent(h)
        if not consistent or self._contradicted(h, verified):
            # HiGHS 1.16.0's presolve got some of these models wrong: "optimal" below a
            # plan known to be feasible (and it then returned that plan's columns with its
            # own objective). Seen on small random scenarios (tests/test_exactness.py,
            # test_relaxation.py); without presolve it solved them right. Solve again so.
            verified += self._verified_solution(h)
            h.clearSolver()
            h.setOptionValue("presolve", "off")
            try:
                run(h, full, deadline, began, watched)
            finally:
                h.setOptionValue("presolve", "on")
            consistent = self._consistent(h) and not self._contradicted(h, verified)
        status = h.getModelStatus()
        info = h.getInfo()
        if not consistent:
            # Still contradictory: keep the best plan that checks out, claim no bound.
            verified += self._verified_solution(h)
            if not verified:
                raise SolverError("HiGHS gave contradictory results on this model and no plan "
                                  "that checks out; please report the scenario")
            return self._result("time_limit", max(verified, key=self.objective_of), None,
                                int(info.mip_node_count), began, full)
        ms = highspy.HighsModelStatus
        if status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
            return SolveResult("infeasible", (), None, None, None, int(info.mip_node_count),
                               time.perf_counter() - began, {}, full is not None)
        if status == ms.kOptimal:
            label = "optimal"
        elif status in (ms.kTimeLimit, ms.kInterrupt, ms.kIterationLimit, ms.kSolutionLimit):
            label = "time_limit"
        else:
            raise SolverError(f"HiGHS stopped with status {h.modelStatusToString(status)}")
        if info.primal_solution_status == 2:  # kSolutionStatusFeasible
            col = np.asarray(h.getSolution().col_value)
        elif verified:
            # Stopped before HiGHS had a plan of its own: the start (or what a first run
            # found) is still a feasible plan.
            col = max(verified, key=self.objective_of)
        else:
            raise SolverError(
                f"no plan found within the time limit of {limit:g} s (raise --time-limit)")
        dual = float(info.mip_dual_bound)
        bound = dual if np.isfinite(dual) and abs(dual) < 1e300 else None
        if label == "optimal" and bound is None:
            bound = self.objective_of(col)
        if known_bound is not None:
            bound = known_bound if bound is None else min(bound, known_bound)
        if label == "time_limit" and relative_gap(self.objective_of(col), bound if bound
                                                  is not None else math.inf) <= self.options.gap:
            label = "optimal"  # HiGHS's bound alone was not enough; with the known one it is
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
        label = "optimal" if gap <= self.options.gap else "time_limit"
        return self._result(label, columns, bound, 0, began, columns)

    def _result(self, label: str, col: np.ndarray, bound: float | None, nodes: int,
                began: float, start: np.ndarray | None) -> SolveResult:
        objective = self.objective_of(col)
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


# HiGHS checks its time limit only between some phases; on large models a cut round or a
# sub-MIP ran a minute past it. Interrupt callbacks fire inside simplex and MIP loops.
_INTERRUPTS = ("cbSimplexInterrupt", "cbIpmInterrupt", "cbMipInterrupt")
PROGRESS_EVERY = 2.0  # seconds between progress reports


def run(h: highspy.Highs, start: np.ndarray | None, deadline: float, began: float,
        progress: ProgressCallback | None = None) -> None:
    """Run HiGHS from a complete start (if any) until done or `deadline` (wall clock)."""
    if start is not None:
        h.setSolution(len(start), np.arange(len(start), dtype=np.int32), start)
    h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.01))
    with watch(h, deadline, began, progress):
        h.run()


@contextlib.contextmanager
def watch(
    h: highspy.Highs, deadline: float, began: float, progress: ProgressCallback | None
) -> Iterator[None]:
    """Stop HiGHS at `deadline` (wall clock) and report progress while it runs."""
    last = [began]  # the first report comes after PROGRESS_EVERY seconds, not at once

    def stop_at_deadline(event: Any) -> None:
        # Set the flag both ways: HiGHS keeps it between runs, so an interrupted solve
        # otherwise interrupts the next run of the same instance at its first check.
        event.interrupt(time.perf_counter() > deadline)

    def report(event: Any) -> None:
        now = time.perf_counter()
        if progress is None or now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        out = event.data_out
        incumbent = float(out.mip_primal_bound)
        bound = float(out.mip_dual_bound)
        finite = np.isfinite(incumbent) and abs(incumbent) < 1e300
        progress(Progress(
            seconds=now - began,
            incumbent=incumbent if finite else None,
            bound=bound if np.isfinite(bound) and abs(bound) < 1e300 else None,
            gap=relative_gap(incumbent, bound) if finite and np.isfinite(bound) else None,
            nodes=int(out.mip_node_count)))

    for name in _INTERRUPTS:
        getattr(h, name).subscribe(stop_at_deadline)
    h.cbMipLogging.subscribe(report)
    h.cbMipImprovingSolution.subscribe(report)
    try:
        yield
    finally:
        for name in _INTERRUPTS:
            getattr(h, name).unsubscribe(stop_at_deadline)
        h.cbMipLogging.unsubscribe(report)
        h.cbMipImprovingSolution.unsubscribe(report)


def _set_objective(h: highspy.Highs, cost: np.ndarray, offset: float) -> None:
    h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
    h.changeObjectiveOffset(offset)
    _scale_small_objective(h, cost)


def _bounded(progress: ProgressCallback | None,
             known_bound: float | None) -> ProgressCallback | None:
    """`progress` with the bound no worse than one proven before the search."""
    if progress is None or known_bound is None:
        return progress

    def report(snapshot: Progress) -> None:
        bound = known_bound if snapshot.bound is None else min(snapshot.bound, known_bound)
        gap = (relative_gap(snapshot.incumbent, bound)
               if snapshot.incumbent is not None else None)
        progress(replace(snapshot, bound=bound, gap=gap))

    return report


def _scale_small_objective(h: highspy.Highs, cost: Any) -> None:
    """Scale an objective whose coefficients are all below 1 up to about 1 (by a power of
    two, so exactly), inside HiGHS; it reports objective and bound unscaled.

    HiGHS's optimality tolerances (1e-7) and absolute gap (1e-6) are absolute: with gains of
    1e-6 or less (amounts in millions, probabilities like 1e-12) it called suboptimal plans
    optimal, on 7 of 90 scaled random instances. Objectives of ordinary size are left
    alone, so their solving does not change.
    """
    costs = np.abs(np.asarray(cost, dtype=float))
    largest = float(costs.max()) if costs.size else 0.0
    small = 0.0 < largest < 1.0
    # set either way: a session whose objective is replaced must not keep an old scale
    h.setOptionValue("user_objective_scale",
                     min(-math.floor(math.log2(largest)), 1000) if small else 0)


def below(bound: float, value: float) -> bool:
    """Whether a claimed upper bound lies below a plan's objective, beyond rounding: then
    the bound is wrong."""
    return bound < value - 1e-7 * max(1.0, abs(value))


def relative_gap(objective: float, bound: float) -> float:
    """(bound − objective) / |objective| for a maximization, 0 when they agree."""
    if not np.isfinite(bound):
        return float("inf")
    diff = max(bound - objective, 0.0)
    if diff <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return diff / max(abs(objective), 1e-12)


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


def highs_with_bounds(session: Session, lower: np.ndarray, upper: np.ndarray,
                      time_limit: float) -> highspy.Highs:
    """A new HiGHS instance holding the session's model as it is now (its changed row
    bounds included) with other column bounds."""
    lp = session.compiled.lp
    original = (np.array(lp.col_lower_, dtype=float), np.array(lp.col_upper_, dtype=float),
                np.array(lp.row_lower_, dtype=float), np.array(lp.row_upper_, dtype=float))
    lp.col_lower_, lp.col_upper_ = lower, upper
    lp.row_lower_, lp.row_upper_ = session.row_lower, session.row_upper
    try:
        h = _highs(session.options, time_limit)
        _scale_small_objective(h, session.cost)
        h.passModel(lp)  # HiGHS copies the model, so the shared arrays can be restored now
    finally:
        lp.col_lower_, lp.col_upper_, lp.row_lower_, lp.row_upper_ = original
    if not np.array_equal(session.cost, lp.col_cost_) or session.offset != lp.offset_:
        _set_objective(h, session.cost, session.offset)
    for row in session.added_rows:
        h.addRow(row[0], row[1], len(row[2]), row[2], row[3])
    return h
