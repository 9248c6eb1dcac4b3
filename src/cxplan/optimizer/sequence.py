"""How weighted criteria combine: plain weights, normalized weights, lexicographic priorities.

A scenario's `criteria:` map gives each criterion a weight. By default the
optimizer maximizes Σ_c w_c · C_c(x) in the criteria's own units (so a
criterion in currency and one in failures are traded at one currency unit per
failure). The optional `objective:` section changes that:

- `normalize: true` — weights mean relative importance. Each weighted criterion
  is first optimized alone under the same constraints; its optimum is its ideal
  value I_c. The plan then maximizes Σ_c w_c · C_c(x) / |I_c|, where every term
  is 1 at the criterion's own ideal. A criterion that no feasible plan can
  improve (I_c = 0) cannot be scaled; it is left out of the blend, with a
  warning. One solve per weighted criterion, plus the final one.
- `priorities: [level, ...]` — lexicographic. Each level is a list of criteria
  (blended by their weights, normalized if asked) and a `tolerance`. Level 1 is
  optimized first; its optimum z_1 becomes a constraint, level-1 objective ≥
  z_1 − tolerance_1 · |z_1|, while level 2 is optimized; and so on. Every
  weighted criterion belongs to exactly one level.

Every term stays linear, so each solve is as exact as the plain one; the
reported values come from the exact evaluator. The time limit covers all
solves together.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import highspy
import numpy as np

from cxplan.core.criterion import EvaluationContext
from cxplan.core.evaluation import AGREEMENT, criterion_values
from cxplan.core.results import Plan, PriorityResult
from cxplan.core.status import combined
from cxplan.optimizer.greedy import greedy_plan
from cxplan.optimizer.options import ProgressCallback, SolverOptions
from cxplan.optimizer.pipeline import Prepared
from cxplan.optimizer.session import SolveResult


def needs_sequence(objective: Any) -> bool:
    """Whether a scenario's `objective` section asks for more than one plain solve."""
    return objective is not None and (objective.normalize or objective.priorities is not None)


@dataclass(frozen=True)
class Level:
    criteria: tuple[str, ...]
    tolerance: float


@dataclass(frozen=True)
class SequenceOutcome:
    """What the sequence of solves found, to be folded into the plan (`apply`)."""

    normalize: bool
    ideals: dict[str, float]
    scales: dict[str, float | None]  # divisor per criterion; None: left out of the blend
    levels: tuple[PriorityResult, ...]
    warnings: tuple[str, ...]

    def weight(self, name: str, weight: float) -> float:
        """The effective weight of a criterion in the blended objective."""
        scale = self.scales.get(name, 1.0)
        return 0.0 if scale is None else weight / scale

    def apply(self, plan: Plan) -> Plan:
        priority = {name: k for k, level in enumerate(self.levels, start=1)
                    for name in level.criteria}
        criteria = {
            name: replace(value, ideal=self.ideals.get(name), priority=priority.get(name))
            for name, value in plan.criteria.items()
        }
        objective = sum(self.weight(c.name, c.weight) * c.value for c in criteria.values())
        levels = tuple(replace(level, value=sum(
            self.weight(name, criteria[name].weight) * criteria[name].value
            for name in level.criteria)) for level in self.levels)
        return replace(plan, criteria=criteria, objective=objective, normalized=self.normalize,
                       priorities=levels, warnings=(*plan.warnings, *self.warnings))


def levels_of(objective: Any, weights: Mapping[str, float]) -> list[Level]:
    """The lexicographic levels; without priorities, one level of every weighted criterion."""
    if objective is None or not objective.priorities:
        return [Level(tuple(name for name, w in weights.items() if w), 0.0)]
    return [Level(tuple(level.criteria), float(level.tolerance))
            for level in objective.priorities]


def solve_sequence(
    prepared: Prepared, options: SolverOptions, *, use_start: bool, began: float,
    progress: ProgressCallback | None = None,
) -> tuple[SolveResult, SequenceOutcome]:
    """Solve for ideals (normalize) and levels (priorities) in turn; see the module docstring.

    All solves share one HiGHS session: each changes the objective, and each finished level
    adds its row. The PuLP model itself is left as it was built.
    """
    model = prepared.model
    settings = prepared.scenario.objective
    weights = dict(model.weights)
    deadline = began + options.time_limit
    session = prepared.session(options)
    column = {name: k for k, name in enumerate(session.compiled.names)}
    results: list[SolveResult] = []
    warnings: list[str] = []
    start: Sequence[str] | None = None

    def values(selection: Iterable[str]) -> dict[str, float]:
        found, _ = criterion_values(prepared.scenario, prepared.journey, prepared.criteria,
                                    tuple(selection))
        return {name: v.value for name, v in found.items()}

    def arrays(coefficients: Mapping[str, float]) -> tuple[np.ndarray, float]:
        """The blended objective as dense column coefficients plus its constant."""
        dense = np.zeros(len(column))
        constant = 0.0
        for name, w in coefficients.items():
            term = model.terms[name]
            constant += w * float(term.constant)
            for var, coef in term.items():
                dense[column[var.name]] += w * coef
        return dense, constant

    def run(coefficients: Mapping[str, float]) -> SolveResult:
        nonlocal start
        dense, constant = arrays(coefficients)
        session.set_objective(dense, constant)
        if start is None and use_start:
            def blended(selection: Iterable[str]) -> float:
                found = values(selection)
                return sum(w * found[name] for name, w in coefficients.items())

            start = greedy_plan(prepared.scenario, blended,
                                time_budget=max(0.5, options.time_limit / 10))
        remaining = max(deadline - time.perf_counter(), 0.05)
        result = prepared.solve(session, start, time_limit=remaining, progress=progress)
        results.append(result)
        start = result.selected  # feasible for every later solve: a free MIP start
        return result

    scales: dict[str, float | None] = dict.fromkeys(weights, 1.0)
    ideals: dict[str, float] = {}
    if settings is not None and settings.normalize:
        for name in weights:
            result = run({name: 1.0})
            ideals[name] = values(result.selected)[name]
            if not result.status.solved:  # the ideal is not proven (within the gap asked)
                warnings.append(f"normalization: the ideal of criterion '{name}' is the best "
                                "value found before the time limit, not a proven optimum")
            magnitude = _magnitude(prepared, name, result.selected)
            if abs(ideals[name]) <= 1e-9 * max(1.0, magnitude):
                scales[name] = None
                warnings.append(f"normalization: no feasible plan improves criterion '{name}' "
                                "(its ideal value is 0), so it cannot be scaled and does not "
                                "take part in the objective")
            else:
                scales[name] = abs(ideals[name])
    outcome = SequenceOutcome(bool(settings and settings.normalize), ideals, scales, (), ())
    levels = levels_of(settings, weights)
    done: list[PriorityResult] = []
    for k, level in enumerate(levels):
        coefficients = {name: outcome.weight(name, weights[name]) for name in level.criteria}
        result = run(coefficients)
        found = values(result.selected)
        optimum = sum(w * found[name] for name, w in coefficients.items())
        done.append(PriorityResult(level.criteria, level.tolerance, optimum, optimum))
        if k + 1 < len(levels):
            # The solver's feasibility tolerance and the evaluator agree to 1e-6 relative;
            # without this slack the optimum just found could be cut off.
            slack = AGREEMENT * max(1.0, abs(optimum), sum(
                abs(w) * _magnitude(prepared, name, result.selected)
                for name, w in coefficients.items()))
            floor = optimum - level.tolerance * abs(optimum) - slack
            dense, constant = arrays(coefficients)
            used = np.flatnonzero(dense)
            session.add_row(floor - constant, highspy.kHighsInf, used, dense[used])

    last = results[-1]
    status = combined([r.status for r in results])
    final = replace(last, status=status, seconds=sum(r.seconds for r in results),
                    nodes=sum(r.nodes for r in results))
    if settings is None or not settings.priorities:
        done = []  # one level of everything: not lexicographic, nothing to report per level
    return final, replace(outcome, levels=tuple(done), warnings=tuple(warnings))


def _magnitude(prepared: Prepared, name: str, selection: Sequence[str]) -> float:
    journey = prepared.journey
    ctx = EvaluationContext(prepared.scenario, journey, tuple(selection),
                            journey.evaluate(selection), journey.evaluate(()))
    return float(prepared.criteria[name].magnitude(ctx))
