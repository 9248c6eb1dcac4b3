"""A proven upper bound from any row prices: the Lagrangian bound of a linear program.

For max cᵀx subject to rl ≤ Ax ≤ ru and l ≤ x ≤ u, and *any* prices y (one per row),

    cᵀx = (c − Aᵀy)ᵀx + yᵀAx ≤ Σ_j max(d_j l_j, d_j u_j) + Σ_i max(y_i rl_i, y_i ru_i)

with d = c − Aᵀy, for every feasible x. So the prices of an LP solve stopped before its
optimum (the dual simplex keeps them dual feasible, and the bound is then its dual
objective) still give a bound that holds for every plan: no optimality is needed, only
finite column bounds where d pushes (the hull's columns all have them). The bound is
rounded up by a margin that covers the floating-point error of the sums, so it stays
proven. At an optimal LP's prices it equals the LP's optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

EPS = np.finfo(float).eps


@dataclass(frozen=True)
class DualBound:
    """A proven upper bound on an LP's maximum, the prices y that proved it (a price
    that would multiply a missing row bound set to 0) and the reduced costs d = c − Aᵀy:
    moving column j off the bound d_j pushes it to costs |d_j| per unit, and moving row
    i's bounds by Δ moves the bound by at most |y_i| |Δ|."""

    bound: float
    prices: np.ndarray
    reduced_costs: np.ndarray


def lagrangian_bound(h: highspy.Highs) -> DualBound | None:
    """The bound of the row prices HiGHS holds now for its (maximization) model; None
    when it has none, or when a price leaves a column free to grow without bound."""
    solution = h.getSolution()
    if not solution.dual_valid:
        return None
    lp = h.getLp()
    prices = np.asarray(solution.row_dual, dtype=float)
    if len(prices) != lp.num_row_ or not np.all(np.isfinite(prices)):
        return None
    return bound_from_prices(_matrix(lp), np.asarray(lp.col_cost_, dtype=float),
                             float(lp.offset_), np.asarray(lp.col_lower_, dtype=float),
                             np.asarray(lp.col_upper_, dtype=float),
                             np.asarray(lp.row_lower_, dtype=float),
                             np.asarray(lp.row_upper_, dtype=float), prices)


def bound_from_prices(matrix: sp.spmatrix, cost: np.ndarray, offset: float,
                      col_lower: np.ndarray, col_upper: np.ndarray, row_lower: np.ndarray,
                      row_upper: np.ndarray, prices: np.ndarray) -> DualBound | None:
    """The module's bound for max cost·x + offset over the rows and column bounds, at
    `prices` (any real numbers; ±inf or ≥ 1e20 bounds are none)."""
    lower_open, upper_open = row_lower <= -1e20, row_upper >= 1e20
    # A price that would multiply a missing row bound is dropped (any prices are valid).
    y = np.where((prices > 0) & upper_open, 0.0, prices)
    y = np.where((y < 0) & lower_open, 0.0, y)
    reduced = cost - matrix.T @ y
    at = np.where(reduced > 0, col_upper, col_lower)
    pushing = reduced != 0
    if np.any(pushing & (np.abs(at) >= 1e20)):
        return None
    column_terms = np.where(pushing, reduced * np.where(pushing, at, 0.0), 0.0)
    side = np.where(y > 0, np.where(upper_open, 0.0, row_upper),
                    np.where(lower_open, 0.0, row_lower))
    row_terms = y * side
    bound = float(np.sum(column_terms) + np.sum(row_terms)) + offset
    # Rounding: each d_j is a dot product of its column (length k_j + 1), then two sums
    # of n terms; every step errs by at most (length) × eps × its terms' magnitude.
    magnitude = (np.abs(cost) + abs(matrix).T @ np.abs(y)) * np.abs(np.where(pushing, at, 0.0))
    longest = int(np.diff(sp.csc_matrix(matrix).indptr).max(initial=0)) + 1
    length = longest + len(cost) + len(y) + 2
    margin = 2 * length * EPS * (float(np.sum(magnitude) + np.sum(np.abs(row_terms)))
                                 + abs(offset))
    return DualBound(bound=bound + margin, prices=np.asarray(y, dtype=float),
                     reduced_costs=np.asarray(reduced, dtype=float))


def _matrix(lp: highspy.HighsLp) -> sp.csr_matrix | sp.csc_matrix:
    a = lp.a_matrix_
    parts = (np.asarray(a.value_, dtype=float), np.asarray(a.index_), np.asarray(a.start_))
    shape = (lp.num_row_, lp.num_col_)
    if a.format_ == highspy.MatrixFormat.kRowwise:
        return sp.csr_matrix(parts, shape=shape)
    return sp.csc_matrix(parts, shape=shape)
