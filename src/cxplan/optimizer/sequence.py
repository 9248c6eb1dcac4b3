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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cxplan.api import Prepared
    from cxplan.core.results import Plan, PriorityResult
    from cxplan.optimizer.highs import ProgressCallback, SolveResult, SolverOptions

Report = Callable[[tuple[str | int, ...], str, str | None], None]
DEFAULT_CRITERIA = {"expected_experience": 1.0}


def needs_sequence(objective: Any) -> bool:
    """Whether a scenario's `objective` section asks for more than one plain solve."""
    return objective is not None and (objective.normalize or objective.priorities is not None)


@dataclass(frozen=True)
class Level:
    criteria: tuple[str, ...]
    tolerance: float


@dataclass(frozen=True)
class Outcome:
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
) -> tuple[SolveResult, Outcome]:
    """Solve for ideals (normalize) and levels (priorities) in turn; see the module docstring.

    All solves share one HiGHS session: each changes the objective, and each finished level
    adds its row. The PuLP model itself is left as it was built.
    """
    import highspy
    import numpy as np

    from cxplan.core.results import AGREEMENT, PriorityResult, criterion_values

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
            from cxplan.optimizer.greedy import greedy_plan

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
            if result.status != "optimal":
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
    outcome = Outcome(bool(settings and settings.normalize), ideals, scales, (), ())
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
    status = "optimal" if all(r.status == "optimal" for r in results) else "time_limit"
    final = replace(last, status=status, seconds=sum(r.seconds for r in results),
                    nodes=sum(r.nodes for r in results))
    if settings is None or not settings.priorities:
        done = []  # one level of everything: not lexicographic, nothing to report per level
    return final, replace(outcome, levels=tuple(done), warnings=tuple(warnings))


def _magnitude(prepared: Prepared, name: str, selection: Sequence[str]) -> float:
    from cxplan.core.criterion import EvaluationContext

    journey = prepared.journey
    ctx = EvaluationContext(prepared.scenario, journey, tuple(selection),
                            journey.evaluate(selection), journey.evaluate(()))
    return float(prepared.criteria[name].magnitude(ctx))


def check_objective(data: Mapping[str, Any], report: Report) -> None:
    """Cross-check `objective.priorities` against the `criteria:` weights.

    Every criterion in a level must have a weight > 0 in `criteria:`, no criterion may be
    in two levels, and every weighted criterion must be in a level.
    """
    objective = data.get("objective")
    if not isinstance(objective, dict) or not isinstance(objective.get("priorities"), list) \
            or not objective["priorities"]:
        return
    raw = data.get("criteria", DEFAULT_CRITERIA)
    weights = raw if isinstance(raw, dict) else {}
    placed: dict[str, int] = {}
    for i, level in enumerate(objective["priorities"]):
        names = level.get("criteria") if isinstance(level, dict) else level
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list):
            continue
        for k, name in enumerate(names):
            where: tuple[str | int, ...] = ("objective", "priorities", i)
            if isinstance(level, list):
                where = (*where, k)
            elif isinstance(level, dict):
                where = (*where, "criteria", k) if isinstance(level.get("criteria"), list) \
                    else (*where, "criteria")
            if not isinstance(name, str):
                continue
            if name not in weights:
                report(where, f"criterion '{name}' is not in criteria",
                       "give it a weight in `criteria:` (the weights blend criteria within "
                       "a level)")
            elif _is_zero(weights[name]):
                report(where, f"criterion '{name}' has weight 0 (reported, not optimized)",
                       "give it a weight > 0, or remove it from the priorities")
            if name in placed:
                report(where, f"criterion '{name}' is already in priorities[{placed[name]}]",
                       "each criterion belongs to one level")
            placed.setdefault(name, i)
    missing = [name for name, w in weights.items()
               if isinstance(name, str) and not _is_zero(w) and name not in placed]
    if missing:
        report(("objective", "priorities"),
               f"criteria with a weight but no priority level: {', '.join(missing)}",
               "add each to a level, or set its weight to 0 to only report it")


def _is_zero(weight: Any) -> bool:
    return isinstance(weight, int | float) and not isinstance(weight, bool) and weight == 0
