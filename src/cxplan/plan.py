"""The plan: a plain result object, re-evaluated exactly and explained.

Every number in a Plan comes from the independent Markov evaluator applied to
the selection the solver returned, never from the solver's own objective; the
two are compared and a disagreement is raised as a bug (`ConsistencyError`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cxplan.criterion import Criterion, EvaluationContext
from cxplan.errors import ConsistencyError
from cxplan.greedy import Resources
from cxplan.journey import Evaluation, Journey
from cxplan.scenario import Scenario

AGREEMENT = 1e-6  # relative agreement required between optimizer and evaluator


@dataclass(frozen=True)
class CriterionValue:
    name: str
    weight: float
    value: float
    unit: str
    description: str


@dataclass(frozen=True)
class ImprovementResult:
    """One selected improvement: what it costs and what it adds at its place in the order."""

    id: str
    name: str
    owner: str | None
    cost: float
    staff: dict[str, float]
    rank: int
    gain: float  # incremental expected gain when added in rank order (these sum to the total)
    share: float  # gain / total expected gain


@dataclass(frozen=True)
class PersonaResult:
    id: str
    name: str
    customers: float
    baseline_value: float  # per customer
    planned_value: float
    baseline_abandonment: float  # probability of abandoning after a failure
    planned_abandonment: float
    baseline_failures: float  # expected failures per customer
    planned_failures: float

    @property
    def gain(self) -> float:
        """Total gain for this persona, in currency (weighted by customers)."""
        return self.customers * (self.planned_value - self.baseline_value)


@dataclass(frozen=True)
class Plan:
    """What to fund and what it is worth. `to_dict()` is the `plan --json` contract."""

    scenario: str
    status: str
    selected: tuple[str, ...]
    objective: float
    expected_gain: float
    baseline_value: float
    planned_value: float
    cost: float
    staff_used: dict[str, float]
    criteria: dict[str, CriterionValue]
    gap: float | None
    bound: float | None
    currency: str | None
    budget: float | None
    teams: dict[str, float]
    improvements: tuple[ImprovementResult, ...]
    personas: tuple[PersonaResult, ...]
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    nodes: int = 0
    warnings: tuple[str, ...] = ()
    evaluation: Evaluation | None = field(default=None, repr=False, compare=False)
    baseline: Evaluation | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of DESIGN.md section 4 (contract keys first, then extras)."""
        return {
            "scenario": self.scenario,
            "status": self.status,
            "selected": list(self.selected),
            "objective": self.objective,
            "expected_gain": self.expected_gain,
            "baseline_value": self.baseline_value,
            "planned_value": self.planned_value,
            "cost": self.cost,
            "staff_used": {k: _number(v) for k, v in self.staff_used.items()},
            "criteria": {name: {"weight": _number(c.weight), "value": c.value}
                         for name, c in self.criteria.items()},
            "gap": self.gap if self.gap is not None and math.isfinite(self.gap) else None,
            "bound": self.bound if self.bound is not None and math.isfinite(self.bound) else None,
            "currency": self.currency,
            "budget": self.budget,
            "teams": {k: _number(v) for k, v in self.teams.items()},
            "improvements": [
                {"id": i.id, "name": i.name, "owner": i.owner, "cost": i.cost,
                 "staff": {k: _number(v) for k, v in i.staff.items()}, "rank": i.rank,
                 "gain": i.gain, "share": i.share}
                for i in self.improvements
            ],
            "personas": [
                {"id": p.id, "name": p.name, "customers": p.customers,
                 "baseline_value": p.baseline_value, "planned_value": p.planned_value,
                 "gain": p.gain, "baseline_abandonment": p.baseline_abandonment,
                 "planned_abandonment": p.planned_abandonment}
                for p in self.personas
            ],
            "build_seconds": round(self.build_seconds, 4),
            "solve_seconds": round(self.solve_seconds, 4),
            "nodes": self.nodes,
            "warnings": list(self.warnings),
        }


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def criterion_values(
    scenario: Scenario, journey: Journey, criteria: dict[str, Criterion], selection: tuple[str, ...]
) -> tuple[dict[str, CriterionValue], EvaluationContext]:
    """Exact value of every weighted criterion for a selection."""
    ctx = EvaluationContext(scenario, journey, selection, journey.evaluate(selection),
                            journey.evaluate(()))
    values = {
        name: CriterionValue(name, float(weight), criteria[name].evaluate(ctx),
                             criteria[name].unit, criteria[name].description)
        for name, weight in scenario.criteria.items()
    }
    return values, ctx


def check_agreement(label: str, modelled: float, evaluated: float, magnitude: float) -> None:
    """Raise ConsistencyError if the optimizer and the evaluator disagree beyond 1e-6."""
    scale = max(1.0, abs(modelled), abs(evaluated), magnitude)
    if abs(modelled - evaluated) > AGREEMENT * scale:
        raise ConsistencyError(
            f"{label}: the optimizer's model says {modelled!r} but the exact evaluator says "
            f"{evaluated!r} (difference {modelled - evaluated:.3g}, allowed "
            f"{AGREEMENT * scale:.3g}). This is a bug in cxplan or in a criterion plugin; "
            "please report it with the scenario.")


def rank(
    scenario: Scenario, journey: Journey, selection: tuple[str, ...]
) -> list[tuple[str, float]]:
    """Order a selection quick-wins first and split its gain exactly along that order.

    At each step the next improvement is the one (among those whose requirements are
    already placed) with the highest exact incremental gain per unit of resource; its
    incremental gain is its part of the total, so the parts add up to the plan's gain.
    Large plans (over 60) are ordered by each improvement's stand-alone ratio instead.
    """
    resources = Resources(scenario)
    requires = {imp.id: set(imp.requires) for imp in scenario.improvements}
    remaining = list(selection)
    placed: list[str] = []
    current = journey.evaluate(()).value
    result: list[tuple[str, float]] = []
    baseline = current
    if len(selection) > 60:
        standalone = {i: (journey.evaluate((i,)).value - baseline) / resources.weight([i])
                      for i in selection}
        remaining.sort(key=lambda i: -standalone[i])
    while remaining:
        ready = [i for i in remaining if (requires[i] & set(selection)) <= set(placed)]
        if not ready:  # cannot happen for a feasible plan; keep the order stable anyway
            ready = remaining
        if len(selection) > 60:
            best = ready[0]
            value = journey.evaluate((*placed, best)).value
        else:
            scored = [(journey.evaluate((*placed, i)).value, i) for i in ready]
            value, best = max(scored, key=lambda vi: (
                (vi[0] - current) / resources.weight([vi[1]]), -selection.index(vi[1])))
        result.append((best, value - current))
        placed.append(best)
        remaining.remove(best)
        current = value
    return result
