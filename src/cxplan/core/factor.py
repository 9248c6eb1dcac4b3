"""Solving one persona's chain, M x = b with M = I − Pᵀ diag(r), fast and exactly.

Every evaluation solves this system on the touchpoints customers reach (r is each
touchpoint's retention 1 − p'd', P the transition matrix): for the expected visits, for
first-order estimates (with Mᵀ) and for the low-rank updates of `cxplan.core.coalitions`.
`ChainStructure.factor(r)` factors M once for a given retention; the factor then solves
for any right-hand side (a vector or a matrix of columns), with M or with Mᵀ.

Three ways, chosen once per chain from its shape (none is an approximation):

- **dense** LU (LAPACK) for small journeys (given as a dense Pᵀ: `cxplan.core.journey`
  makes it dense up to `DENSE_LIMIT` reachable touchpoints);
- **ordered**, for large journeys that are mostly forward with small loops (the usual
  shape: lanes running awareness → advocacy with a few steps back). The strongly
  connected components (scipy.sparse.csgraph) make M block lower triangular in their
  topological order: M = B − N, B block diagonal (a component's loops), N the edges
  between components. Then x = B⁻¹ (b + N x) is forward substitution done a whole level
  of the component graph at a time: after k rounds every component at most k edges from
  a start is final, so `depth` rounds (the longest chain of components) give the exact
  solution, each round two sparse products. B⁻¹ is a few small dense inverses, batched
  by size. On a 5 000-touchpoint journey of 4 000 components, the largest of 19
  touchpoints, 20 levels deep, a two-persona evaluation took 3.2 ms instead of 7.5 ms
  of CPU (15 ms of wall time on the shared machine) with sparse LU; below about 1 000
  touchpoints sparse LU is as fast, and `rounds_pay` keeps it there;
- **sparse** LU (SuperLU) otherwise: a component too large to invert densely
  (`MAX_BLOCK`) or a component graph too deep for rounds to pay (`rounds_pay`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal, Protocol

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import connected_components

FloatArray = np.ndarray
Method = Literal["dense", "ordered", "sparse"]

FORCE_METHOD: Method | None = None  # tests and benchmarks: this method for every sparse chain
MAX_BLOCK = 64  # components larger than this are not inverted densely: sparse LU instead


class ChainFactor(Protocol):
    """M = I − Pᵀ diag(r) factored for one retention r."""

    def solve(self, rhs: FloatArray) -> FloatArray:
        """x with M x = rhs (rhs: a vector, or a matrix whose columns are solved)."""

    def solve_transposed(self, rhs: FloatArray) -> FloatArray:
        """y with Mᵀ y = rhs."""


def identity_minus(pt: FloatArray, retention: FloatArray) -> FloatArray:
    """I − Pᵀ diag(retention), without allocating the identity (profiled: ~10 % of a
    greedy start's time went to `np.eye`)."""
    a: FloatArray = pt * -retention[None, :]
    a.flat[:: len(retention) + 1] += 1.0
    return a


def rounds_pay(size: int) -> int:
    """The most levels for which rounds beat a sparse LU of `size` unknowns. Measured on
    the benchmarks' journeys (benchmarks/evaluation.py): a round costs about 30 µs +
    0.025 µs per unknown, an LU 1.5 µs per unknown; so 17 levels at 500 unknowns, 27 at
    1 000, 48 at 5 000."""
    return size // (20 + size // 60)


class ChainStructure:
    """What does not change with the selection: Pᵀ on the reachable touchpoints (sparse
    CSC or dense), its components and levels, and the method chosen from them."""

    def __init__(self, pt: FloatArray | sp.csc_matrix, method: Method | None = None) -> None:
        self.pt = pt
        self.size = pt.shape[0]
        self.components: Components | None = None
        if isinstance(pt, np.ndarray):
            method = "dense"
        method = method or FORCE_METHOD
        if method is None:
            method = "sparse"
            if self.size:
                found = Components(sp.csc_matrix(pt), depth_limit=rounds_pay(self.size))
                if found.depth is not None and found.largest <= MAX_BLOCK:
                    method, self.components = "ordered", found
        elif method == "ordered":
            self.components = Components(sp.csc_matrix(pt), depth_limit=self.size + 1)
            if self.components.largest > MAX_BLOCK:
                raise ValueError(f"a component of {self.components.largest} touchpoints is "
                                 f"too large to invert densely (at most {MAX_BLOCK})")
        self.method: Method = method

    @cached_property
    def _dense_pt(self) -> FloatArray:
        return self.pt if isinstance(self.pt, np.ndarray) else self.pt.toarray()

    @cached_property
    def _sparse_pattern(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                       np.ndarray]:
        """CSC structure of I − Pᵀ diag(r), fixed for every r: (indptr, indices, identity
        part, Pᵀ part, column of each entry). Only the data changes with r, so each
        factorization fills one array instead of building sparse matrices anew."""
        n = self.size
        pt = sp.csc_matrix(self.pt)
        pattern = (sp.identity(n, format="csc") + abs(pt)).tocsc()
        pattern.sort_indices()
        columns = np.repeat(np.arange(n), np.diff(pattern.indptr))
        ident = (pattern.indices == columns).astype(float)
        # place Pᵀ's entries at their positions in the (column-major, sorted) pattern
        keys = columns.astype(np.int64) * n + pattern.indices
        coo = pt.tocoo()
        where = np.searchsorted(keys, coo.col.astype(np.int64) * n + coo.row)
        trans = np.zeros(len(keys))
        np.add.at(trans, where, coo.data)
        return pattern.indptr, pattern.indices, ident, trans, columns

    def system(self, retention: FloatArray) -> sp.csc_matrix:
        """I − Pᵀ diag(retention) as a sparse CSC matrix."""
        indptr, indices, ident, trans, columns = self._sparse_pattern
        return sp.csc_matrix((ident - trans * retention[columns], indices, indptr),
                             shape=(self.size, self.size))

    def factor(self, retention: FloatArray) -> ChainFactor:
        """M = I − Pᵀ diag(retention), factored by the chain's method."""
        if self.method == "dense":
            return _DenseFactor(sla.lu_factor(identity_minus(self._dense_pt, retention),
                                              check_finite=False))
        if self.components is not None:
            return self.components.factor(retention)
        return _SparseFactor(spla.splu(self.system(retention)))


@dataclass(frozen=True)
class _DenseFactor:
    lu: tuple[FloatArray, np.ndarray]

    def solve(self, rhs: FloatArray) -> FloatArray:
        x: FloatArray = sla.lu_solve(self.lu, rhs, check_finite=False)
        return x

    def solve_transposed(self, rhs: FloatArray) -> FloatArray:
        x: FloatArray = sla.lu_solve(self.lu, rhs, trans=1, check_finite=False)
        return x


@dataclass(frozen=True)
class _SparseFactor:
    lu: spla.SuperLU

    def solve(self, rhs: FloatArray) -> FloatArray:
        x: FloatArray = self.lu.solve(np.asarray(rhs, dtype=float))
        return x

    def solve_transposed(self, rhs: FloatArray) -> FloatArray:
        x: FloatArray = self.lu.solve(np.asarray(rhs, dtype=float), trans="T")
        return x


class Components:
    """Pᵀ split by strongly connected components: the loops inside each (B's blocks, in
    groups of equal size) and the edges between them (N), with the levels of the
    component graph. `depth` is None when the graph has more than `depth_limit` levels."""

    def __init__(self, pt: sp.csc_matrix, depth_limit: int) -> None:
        n = self.size = pt.shape[0]
        self.count, label = connected_components(pt, directed=True, connection="strong")
        sizes = np.bincount(label, minlength=self.count)
        self.largest = int(sizes.max(initial=0))
        coo = pt.tocoo()  # coo.row = u, coo.col = t for the edge t → u
        inside = label[coo.row] == label[coo.col]
        out = ~inside
        self.between = sp.csr_matrix((coo.data[out], (coo.row[out], coo.col[out])), shape=(n, n))
        self.between_t = self.between.T.tocsr()
        self.depth = _levels(self.count, label[coo.col[out]], label[coo.row[out]], depth_limit)
        if self.depth is None or self.largest > MAX_BLOCK:
            return
        # each touchpoint's component and place in it; components grouped by size
        members = np.argsort(label, kind="stable")
        starts = np.concatenate(([0], np.cumsum(sizes)))
        place = np.empty(n, dtype=np.int64)
        place[members] = np.arange(n) - starts[label[members]]
        self.groups: list[np.ndarray] = []  # per size s: (m, s) touchpoint positions
        self.within: list[FloatArray] = []  # per size: (m, s, s), Pᵀ inside each component
        row_in_group = np.empty(self.count, dtype=np.int64)
        group_of = np.empty(self.count, dtype=np.int64)
        for k, s in enumerate(np.unique(sizes)):
            which = np.flatnonzero(sizes == s)
            group_of[which], row_in_group[which] = k, np.arange(len(which))
            self.groups.append(members[starts[which][:, None] + np.arange(s)[None, :]])
            self.within.append(np.zeros((len(which), s, s)))
        u, t, value = coo.row[inside], coo.col[inside], coo.data[inside]
        for k, within in enumerate(self.within):
            mine = group_of[label[u]] == k
            np.add.at(within, (row_in_group[label[u[mine]]], place[u[mine]], place[t[mine]]),
                      value[mine])
        # B⁻¹ as one CSR matrix: its pattern is fixed, its values come per retention
        rows = np.concatenate([np.repeat(g, g.shape[1], axis=1).ravel() for g in self.groups])
        cols = np.concatenate([np.tile(g, (1, g.shape[1])).ravel() for g in self.groups])
        self._inverse_order = np.lexsort((cols, rows))
        self._inverse_indices = cols[self._inverse_order]
        self._inverse_indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=n))))

    def factor(self, retention: FloatArray) -> _OrderedFactor:
        """B⁻¹ for this retention, ready for the rounds of forward substitution."""
        assert self.depth is not None
        inverses = []
        for g, within in zip(self.groups, self.within, strict=True):
            block = within * -retention[g][:, None, :]
            block[:, np.arange(g.shape[1]), np.arange(g.shape[1])] += 1.0
            inverses.append(np.linalg.inv(block).ravel())
        data = np.concatenate(inverses)[self._inverse_order]
        inverse = sp.csr_matrix((data, self._inverse_indices, self._inverse_indptr),
                                shape=(self.size, self.size))
        return _OrderedFactor(inverse, self.between, self.between_t, retention, self.depth)


def _levels(count: int, source: np.ndarray, target: np.ndarray, limit: int) -> int | None:
    """The number of levels of a DAG of `count` nodes given by its edges (the nodes on its
    longest path), or None if there are more than `limit`."""
    level = np.zeros(count, dtype=np.int64)
    for _ in range(limit + 1):
        pushed = np.zeros(count, dtype=np.int64)
        np.maximum.at(pushed, target, level[source] + 1)
        if np.array_equal(pushed, level):
            return int(level.max(initial=0)) + 1
        level = pushed
    return None


@dataclass(frozen=True)
class _OrderedFactor:
    """Forward substitution over the component graph: x ← B⁻¹ (b + N diag(r) x), `depth`
    times (each round makes one more level of components final)."""

    inverse: sp.csr_matrix  # B⁻¹
    between: sp.csr_matrix  # N: Pᵀ's entries between components
    between_t: sp.csr_matrix  # Nᵀ
    retention: FloatArray
    depth: int

    def solve(self, rhs: FloatArray) -> FloatArray:
        rhs = np.asarray(rhs, dtype=float)
        r = self.retention if rhs.ndim == 1 else self.retention[:, None]
        x: FloatArray = self.inverse @ rhs
        for _ in range(self.depth - 1):
            x = self.inverse @ (rhs + self.between @ (r * x))
        return x

    def solve_transposed(self, rhs: FloatArray) -> FloatArray:
        # Mᵀ = Bᵀ − diag(r) Nᵀ: y ← B⁻ᵀ (c + diag(r) Nᵀ y), levels taken from the end
        rhs = np.asarray(rhs, dtype=float)
        r = self.retention if rhs.ndim == 1 else self.retention[:, None]
        inverse_t = self.inverse.T
        y: FloatArray = inverse_t @ rhs
        for _ in range(self.depth - 1):
            y = inverse_t @ (rhs + r * (self.between_t @ y))
        return y
