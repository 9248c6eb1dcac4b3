"""Solving the chain, M x = b with M = I − Pᵀ diag(r): every method gives the dense solve.

The references are plain numpy (`np.linalg.solve` of the dense matrix) and the
independent evaluator of tests/random_scenarios.py, which shares no code with cxplan.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks.generate import realistic_scenario
from cxplan import build_journey, load_scenario
from cxplan.core import factor as factor_module
from cxplan.core.factor import ChainStructure, Method
from cxplan.scenario.models import Scenario

from random_scenarios import exact_value, random_scenario

METHODS: list[Method] = ["dense", "ordered", "sparse"]


def mostly_forward_chain(n: int, seed: int) -> sp.csc_matrix:
    """Pᵀ of a journey like the benchmarks': forward edges, short loops back, self-loops,
    a few long jumps forward; every out-sum below 1 so that every loop leaks."""
    rng = np.random.default_rng(seed)
    p = np.zeros((n, n))
    for t in range(n):
        targets = [u for u in (t + 1, t + 2, t + int(rng.integers(3, 40))) if u < n]
        if t and rng.random() < 0.2:
            targets.append(t - int(rng.integers(1, min(t, 5) + 1)))  # a loop back
        if rng.random() < 0.05:
            targets.append(t)  # a retry of the same touchpoint
        weights = rng.uniform(0.1, 1.0, len(targets))
        for u, w in zip(targets, weights, strict=True):
            p[t, u] += rng.uniform(0.5, 0.97) * w / weights.sum()
    return sp.csc_matrix(p.T)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(6))
def test_every_method_solves_m_and_its_transpose_like_the_dense_solve(
        seed: int, method: Method) -> None:
    n = 150 + 40 * seed
    pt = mostly_forward_chain(n, seed)
    rng = np.random.default_rng(100 + seed)
    retention = 1.0 - rng.uniform(0, 0.3, n) * rng.choice([0.0, 1.0], n)
    m = np.eye(n) - pt.toarray() * retention[None, :]
    factor = ChainStructure(pt, method).factor(retention)
    b, columns = rng.uniform(0, 1, n), rng.uniform(-1, 1, (n, 7))
    assert factor.solve(b) == pytest.approx(np.linalg.solve(m, b), rel=1e-10, abs=1e-12)
    assert factor.solve(columns) == pytest.approx(np.linalg.solve(m, columns), rel=1e-10,
                                                  abs=1e-12)
    assert factor.solve_transposed(b) == pytest.approx(np.linalg.solve(m.T, b), rel=1e-10,
                                                       abs=1e-12)
    assert factor.solve_transposed(columns) == pytest.approx(
        np.linalg.solve(m.T, columns), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(25))
def test_every_method_evaluates_random_journeys_like_the_independent_evaluator(
        seed: int, method: Method, monkeypatch: pytest.MonkeyPatch) -> None:
    # loops, dropout, several personas with their own entries, edges and numbers
    monkeypatch.setattr(factor_module, "FORCE_METHOD", method)
    monkeypatch.setattr("cxplan.core.journey.DENSE_LIMIT", 0)  # a sparse Pᵀ for every method
    data = random_scenario(seed)
    journey = build_journey(Scenario.model_validate(data))
    assert {chain.structure.method for chain in journey.personas} == {method}
    ids = [imp["id"] for imp in data["improvements"]]
    rng = np.random.default_rng(seed)
    for selection in ([], ids, *(list(rng.choice(ids, 3, replace=False)) for _ in range(3))):
        expected = exact_value(data, set(selection))
        assert journey.evaluate(selection).value == pytest.approx(expected, rel=1e-9,
                                                                  abs=1e-9)


def benchmark_journey(n_improvements: int, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    data = realistic_scenario(n_improvements, seed=3, personas=2, **kwargs)
    return data, build_journey(load_scenario(data))


def test_large_mostly_forward_journeys_are_solved_in_order_and_exactly() -> None:
    data, journey = benchmark_journey(1400)  # 700 touchpoints, loops, two personas
    for chain in journey.personas:
        assert chain.structure.method == "ordered"
        assert chain.structure.components is not None
        assert 1 < chain.structure.components.largest <= factor_module.MAX_BLOCK
    ids = [imp["id"] for imp in data["improvements"]]
    rng = np.random.default_rng(0)
    for selection in ([], list(rng.choice(ids, 300, replace=False))):
        expected = exact_value(data, set(selection))
        assert journey.evaluate(selection).value == pytest.approx(expected, rel=1e-10)


def test_one_large_loop_or_a_deep_chain_falls_back_to_sparse_lu() -> None:
    n = 400
    ring = sp.csc_matrix((np.full(n, 0.9), (np.roll(np.arange(n), -1), np.arange(n))),
                         shape=(n, n))  # t → t + 1 (mod n): one component of n touchpoints
    assert ChainStructure(ring).method == "sparse"
    line = sp.csc_matrix((np.full(n - 1, 0.9), (np.arange(1, n), np.arange(n - 1))),
                         shape=(n, n))  # t → t + 1: n levels, too deep for rounds to pay
    assert ChainStructure(line).method == "sparse"
    shallow = sp.csc_matrix((np.full(n - 1, 0.9), (np.arange(1, n), np.zeros(n - 1, int))),
                            shape=(n, n))  # one start fanning out: two levels
    structure = ChainStructure(shallow)
    assert structure.method == "ordered"
    assert structure.components is not None and structure.components.depth == 2


def test_levels_count_the_components_on_the_longest_path() -> None:
    # a ⇄ b (one component) → c → d, and a → d: three levels
    p = np.zeros((4, 4))
    p[0, 1], p[1, 0], p[1, 2], p[2, 3], p[0, 3] = 0.4, 0.5, 0.4, 0.9, 0.3
    structure = ChainStructure(sp.csc_matrix(p.T), "ordered")
    assert structure.components is not None
    assert structure.components.depth == 3
    assert structure.components.largest == 2
