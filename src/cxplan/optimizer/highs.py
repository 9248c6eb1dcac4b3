"""HiGHS, through highspy: a PuLP problem as HiGHS arrays, configured instances, runs
stopped on the wall clock with progress reports, and the gap arithmetic.

The PuLP problem is handed to HiGHS as arrays in one call (PuLP's own HiGHS adapter adds
columns one by one and cannot take a MIP start). HiGHS's statuses and bounds are read and
checked by `cxplan.optimizer.session`.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import highspy
import numpy as np
import pulp

from cxplan.linear import paused_gc
from cxplan.optimizer.options import Progress, ProgressCallback, SolverOptions

FEASIBILITY_TOLERANCE = 1e-8  # the default let 2 of 48 small instances end wrong (docs/model.md)


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


def configured_highs(options: SolverOptions, time_limit: float) -> highspy.Highs:
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
    h.setOptionValue("threads", options.solver_threads)
    if options.node_limit is not None:
        h.setOptionValue("mip_max_nodes", options.node_limit)
    if not options.sub_mip_heuristics:
        for name in ("rins", "rens", "root_reduced_cost"):
            h.setOptionValue(f"mip_heuristic_run_{name}", False)
    if not options.restarts:
        h.setOptionValue("mip_allow_restart", False)
    return h


# HiGHS checks its time limit only between some phases; on large models a cut round or a
# sub-MIP ran a minute past it. Interrupt callbacks fire inside simplex and MIP loops.
_INTERRUPTS = ("cbSimplexInterrupt", "cbIpmInterrupt", "cbMipInterrupt")
PROGRESS_EVERY = 2.0  # seconds between progress reports


_stop = threading.local()  # this thread's stop flag (`stop_when`)


def stop_flag() -> threading.Event | None:
    """The flag that stops this thread's solves (`stop_when`), if any: worker threads a
    command starts for it inherit it."""
    return getattr(_stop, "flag", None)


@contextlib.contextmanager
def stop_when(flag: threading.Event | None) -> Iterator[None]:
    """Inside the block, every solve this thread runs stops as soon as `flag` is set (as at
    its time limit): a live what-if page cancels an older solve when a newer question
    comes, or when the user presses Stop. None: no flag."""
    previous = getattr(_stop, "flag", None)
    _stop.flag = flag
    try:
        yield
    finally:
        _stop.flag = previous


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
    flag: threading.Event | None = getattr(_stop, "flag", None)

    def stop_at_deadline(event: Any) -> None:
        # Set the flag both ways: HiGHS keeps it between runs, so an interrupted solve
        # otherwise interrupts the next run of the same instance at its first check.
        event.interrupt(time.perf_counter() > deadline or (flag is not None and flag.is_set()))

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


def set_objective(h: highspy.Highs, cost: np.ndarray, offset: float) -> None:
    h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
    h.changeObjectiveOffset(offset)
    scale_small_objective(h, cost)


def bounded_progress(progress: ProgressCallback | None,
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


def scale_small_objective(h: highspy.Highs, cost: Any) -> None:
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
