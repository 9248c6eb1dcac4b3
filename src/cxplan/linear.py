"""PuLP linear expressions and rows, built without copies, for models of millions of terms.

PuLP's operators (`a * (b + c)`, `lpSum` of temporaries) copy a whole expression dict at
every step; at 10 000 improvements they were ~80 % of the model's build (15 s CPU).
Here an LpAffineExpression (a dict from variable to coefficient) is filled in place and
handed to an LpConstraint without another copy; rows are stored without PuLP's
per-coefficient bookkeeping, and Python's cyclic garbage collector is held while a large
model is built. Criteria and the optimizer's models share these helpers.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pulp

# PuLP itself is imported on first use: built-in criteria use these helpers, and their
# modules are loaded for `cxplan --help`, which must not wait for PuLP (~0.15 s).

# PuLP replaces these characters in names with "_"; clashes must be detected after that.
PULP_ILLEGAL = re.compile("[" + re.escape("-+[] ->/") + "]")
PULP_CLEAN = str.maketrans({c: "_" for c in "-+[] ->/"})  # the same, as a fast translate


def accumulate(target: pulp.LpAffineExpression, expr: pulp.LpAffineExpression,
               factor: float) -> None:
    """target += factor × expr, in place (constant included)."""
    if not factor:
        return
    get = target.get
    for var, coef in expr.items():
        target[var] = get(var, 0.0) + factor * coef
    target.constant += factor * expr.constant


def weighted_sum(
    parts: Iterable[tuple[float, pulp.LpAffineExpression]], constant: float = 0.0,
) -> pulp.LpAffineExpression:
    """Σ weight × expression + constant, accumulated in place (no copy per part): for
    criteria and roadmaps that combine large expressions."""
    total = expression(constant=constant)
    for weight, expr in parts:
        accumulate(total, expr, float(weight))
    return total


def add_term(target: pulp.LpAffineExpression, var: pulp.LpVariable, coef: float) -> None:
    """target += coef × var, in place."""
    target[var] = target.get(var, 0.0) + coef


_expression_class: Any = None


def _define_expression() -> Any:
    """An LpAffineExpression made without the generic constructor's type dispatch
    (isinstance against abstract classes, name translation: ~40 % of its cost, and the
    model makes ~300 000 of them). Behaves as its base class in every other way."""
    global _expression_class
    import pulp

    class _Expression(pulp.LpAffineExpression):  # type: ignore[misc]
        def __init__(self, pairs: Iterable[tuple[pulp.LpVariable, float]] = (),
                     constant: float = 0.0) -> None:
            dict.__init__(self, pairs)
            self.constant = constant
            self.name = None

    _expression_class = _Expression
    return _Expression


def expression(pairs: Iterable[tuple[pulp.LpVariable, float]] = (),
               constant: float = 0.0) -> pulp.LpAffineExpression:
    """Σ coef × var + constant; `pairs` must not repeat a variable."""
    cls = _expression_class or _define_expression()
    result: pulp.LpAffineExpression = cls(pairs, constant)
    return result


def constraint(expr: pulp.LpAffineExpression, sense: int, rhs: float) -> pulp.LpConstraint:
    """`expr (sense) rhs` without copying `expr` (PuLP's `<=`/`==` copy it)."""
    import pulp

    return pulp.LpConstraint(expr, sense, rhs=rhs)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Hold Python's cyclic garbage collector while building.

    A model of 10 000 improvements is ~2 M small objects (variables, expression dicts,
    rows) and no cyclic garbage; the collector's full passes over that growing heap took
    30–50 % of the build. Collection resumes afterwards (nested uses are harmless).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _fast_rows(problem: pulp.LpProblem) -> bool:
    """Whether `add_row` may store rows directly (the PuLP 3.x problem layout)."""
    return (isinstance(getattr(problem, "_constraints", None), dict)
            and isinstance(getattr(problem, "modifiedConstraints", None), list)
            and callable(getattr(problem, "_add_variables", None)))


def add_row(problem: pulp.LpProblem, name: str, row: pulp.LpConstraint) -> None:
    """problem.addConstraint(constraint, name) minus its per-coefficient bookkeeping.

    addConstraint registers every variable of every row with the problem (1.5 M calls at
    10 000 improvements, ~20 % of the build); the hull's variables are registered once
    each when created (`register_variables`), so the rows are stored as addConstraint
    stores them. Falls back to addConstraint where PuLP's layout differs.
    """
    if not _fast_rows(problem):
        problem.addConstraint(row, name=name)
        return
    row.name = name
    if name in problem._constraints:
        import pulp

        raise pulp.PulpError("overlapping constraint names: " + name)
    problem._constraints[name] = row
    problem.modifiedConstraints.append(row)


def register_variables(problem: pulp.LpProblem, variables: Iterable[pulp.LpVariable]) -> None:
    """Register variables with the problem once (what addConstraint does per row)."""
    if _fast_rows(problem):
        problem._add_variables(variables)
