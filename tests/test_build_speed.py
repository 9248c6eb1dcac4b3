"""The fast model build and compile give exactly the model PuLP's own API would.

model.py builds expressions in place and stores its rows without PuLP's per-coefficient
bookkeeping; solve.compile_model walks the rows with identity-keyed lookups. These
tests hold both to slow, obviously correct references. (Speed itself is measured by
benchmarks/build_speed.py, not here.)
"""

from __future__ import annotations

import gc
import math
from pathlib import Path

import numpy as np
import pulp
import pytest

from cxplan import linear, load_scenario
from cxplan.core.journey import build_journey
from cxplan.optimizer.highs import compile_model
from cxplan.optimizer.model import build_model
from cxplan.optimizer.options import SolverOptions
from cxplan.optimizer.session import Session
from cxplan.plugins import CxplanPlugins

from random_scenarios import random_scenario


def _criteria(scenario: object) -> dict[str, object]:
    registered = CxplanPlugins(load_entry_points=False).criteria()
    return {name: registered[name] for name in scenario.criteria}  # type: ignore[attr-defined]


def _reference_arrays(problem: pulp.LpProblem, x: dict[str, pulp.LpVariable]) -> dict[str, object]:
    """The HiGHS arrays the straightforward way: problem.variables(), getLb/getUb."""
    variables = problem.variables()
    used = {v.name for v in variables}
    variables = variables + [v for v in x.values() if v.name not in used]
    column = {v.name: i for i, v in enumerate(variables)}
    rows: list[dict[int, float]] = []
    lower, upper = [], []
    for c in problem.constraints():
        row: dict[int, float] = {}
        for var, coef in c.items():
            if coef:
                row[column[var.name]] = row.get(column[var.name], 0.0) + coef
        rows.append(row)
        lb, ub = c.getLb(), c.getUb()
        lower.append(-math.inf if lb is None else lb)
        upper.append(math.inf if ub is None else ub)
    cost = np.zeros(len(variables))
    for var, coef in problem.objective.items():
        cost[column[var.name]] += coef
    return {"names": [v.name for v in variables], "rows": rows, "lower": lower,
            "upper": upper, "cost": cost, "offset": float(problem.objective.constant),
            "x": {imp: column[v.name] for imp, v in x.items()}}


def _compiled_rows(lp: object) -> list[dict[int, float]]:
    a = lp.a_matrix_  # type: ignore[attr-defined]
    start, index, value = (np.asarray(a.start_), np.asarray(a.index_), np.asarray(a.value_))
    return [dict(zip(index[start[r]:start[r + 1]].tolist(),
                     value[start[r]:start[r + 1]].tolist(), strict=True))
            for r in range(len(start) - 1)]


def _assert_compiles_like_reference(problem: pulp.LpProblem,
                                    x: dict[str, pulp.LpVariable]) -> None:
    compiled = compile_model(problem, x)
    ref = _reference_arrays(problem, x)
    lp = compiled.lp
    assert compiled.names == ref["names"]
    assert compiled.x_columns == ref["x"]
    got, want = _compiled_rows(lp), ref["rows"]
    assert len(got) == len(want)  # type: ignore[arg-type]
    for row, expected in zip(got, want, strict=True):  # type: ignore[call-overload]
        assert row.keys() == expected.keys()
        assert all(math.isclose(row[k], expected[k], rel_tol=1e-13) for k in row)
    inf = 1e300
    assert np.array_equal(np.minimum(np.asarray(lp.row_lower_), inf),
                          np.minimum(np.asarray(ref["lower"]), inf))
    assert np.array_equal(np.minimum(np.asarray(lp.row_upper_), inf),
                          np.minimum(np.asarray(ref["upper"]), inf))
    assert np.allclose(np.asarray(lp.col_cost_), ref["cost"], rtol=1e-13, atol=0)
    assert lp.offset_ == pytest.approx(ref["offset"], rel=1e-13)
    assert list(compiled.rows) == [c.name for c in problem.constraints()]


@pytest.mark.parametrize("seed", range(12))
def test_compiled_arrays_match_the_reference_compilation(seed: int) -> None:
    scenario = load_scenario(random_scenario(seed))
    journey = build_journey(scenario)
    model = build_model(scenario, journey, _criteria(scenario))  # type: ignore[arg-type]
    _assert_compiles_like_reference(model.problem, model.x)


def test_compile_handles_unused_improvements_and_a_duplicate_name() -> None:
    problem = pulp.LpProblem("p", pulp.LpMaximize)
    a = problem.add_variable("a", 0, 1, pulp.LpBinary)
    b = problem.add_variable("b", 0, 1, pulp.LpBinary)
    unused = problem.add_variable("unused", 0, 1, pulp.LpBinary)
    twin = problem.add_variable("a", 0, 1, pulp.LpBinary)  # another object named "a"
    problem.addConstraint(pulp.LpAffineExpression([(a, 2.0), (b, 3.0)]) <= 4, name="cap")
    problem.addConstraint(pulp.LpAffineExpression([(twin, 1.0), (b, 0.0)]) >= 0, name="g")
    problem.setObjective(pulp.LpAffineExpression([(a, 1.0), (b, 1.0)], constant=2.0))
    x = {"a": a, "b": b, "u": unused}
    compiled = compile_model(problem, x)
    assert compiled.names == ["a", "b", "unused"]  # one column per name, by name, then x
    assert compiled.x_columns == {"a": 0, "b": 1, "u": 2}
    assert _compiled_rows(compiled.lp) == [{0: 2.0, 1: 3.0}, {0: 1.0}]  # zeros dropped
    assert compiled.lp.offset_ == 2.0


@pytest.mark.parametrize("seed", range(6))
def test_the_direct_row_store_builds_the_same_model_as_add_constraint(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = load_scenario(random_scenario(seed))
    journey = build_journey(scenario)
    criteria = _criteria(scenario)
    fast = build_model(scenario, journey, criteria)  # type: ignore[arg-type]
    monkeypatch.setattr(linear, "_fast_rows", lambda problem: False)
    slow = build_model(scenario, journey, criteria)  # type: ignore[arg-type]

    def rows(problem: pulp.LpProblem) -> list[tuple[str, dict[str, float], object, object]]:
        return [(c.name, {v.name: a for v, a in c.items()}, c.getLb(), c.getUb())
                for c in problem.constraints()]

    assert rows(fast.problem) == rows(slow.problem)
    assert [v.name for v in fast.problem.variables()] == \
        [v.name for v in slow.problem.variables()]
    assert fast.problem.numVariables() == slow.problem.numVariables()


def test_a_duplicate_row_name_is_still_refused() -> None:
    problem = pulp.LpProblem("p", pulp.LpMaximize)
    v = problem.add_variable("v", 0, 1)
    row = pulp.LpConstraint(pulp.LpAffineExpression([(v, 1.0)]), pulp.LpConstraintLE, rhs=1)
    linear.add_row(problem, "r", row)
    again = pulp.LpConstraint(pulp.LpAffineExpression([(v, 1.0)]), pulp.LpConstraintLE, rhs=1)
    with pytest.raises(pulp.PulpError):
        linear.add_row(problem, "r", again)


def test_building_leaves_the_garbage_collector_as_it_found_it() -> None:
    scenario = load_scenario(random_scenario(0))
    journey = build_journey(scenario)
    assert gc.isenabled()
    build_model(scenario, journey, _criteria(scenario))  # type: ignore[arg-type]
    assert gc.isenabled()
    gc.disable()
    try:
        build_model(scenario, journey, _criteria(scenario))  # type: ignore[arg-type]
        assert not gc.isenabled()
    finally:
        gc.enable()

    def broken(ctx: object) -> list[tuple[str, object]]:
        raise RuntimeError("plugin failed")

    with pytest.raises(RuntimeError):
        build_model(scenario, journey, _criteria(scenario),  # type: ignore[arg-type]
                    extra_constraints=[broken])
    assert gc.isenabled()


def test_the_built_model_still_exports_readable_lp(tmp_path: Path) -> None:
    scenario = load_scenario(random_scenario(3))
    journey = build_journey(scenario)
    model = build_model(scenario, journey, _criteria(scenario))  # type: ignore[arg-type]
    path = tmp_path / "model.lp"
    model.problem.writeLP(str(path))
    text = path.read_text()
    some_id = scenario.improvement_ids[0]
    assert f"x_{some_id.replace('-', '_')}_" in text or "x_0_" in text
    assert "flow_q0," in text


def test_the_first_solve_counts_compiling_in_its_time_limit() -> None:
    scenario = load_scenario(random_scenario(1))
    journey = build_journey(scenario)
    model = build_model(scenario, journey, _criteria(scenario))  # type: ignore[arg-type]
    session = Session(model.problem, model.x, SolverOptions(time_limit=60))
    first = session.solve()
    assert first.seconds >= session.compile_seconds
    assert session.solve().status == first.status  # later solves start their own clock
