"""A selection's criteria, evaluated exactly, and the check that the optimizer agrees.

The optimizer's model and the independent Markov evaluator must give the same value for
every criterion of every plan; a disagreement is a bug, raised as `ConsistencyError`,
never hidden.
"""

from __future__ import annotations

from collections.abc import Mapping

from cxplan.core.criterion import Criterion, EvaluationContext
from cxplan.core.journey import Journey
from cxplan.core.results import CriterionValue
from cxplan.errors import ConsistencyError
from cxplan.scenario.models import Scenario

AGREEMENT = 1e-6  # relative agreement required between optimizer and evaluator


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


def weighted_objective(values: Mapping[str, CriterionValue]) -> float:
    """Σ weight × value: the objective the optimizer maximizes, from exact values."""
    return sum(v.weight * v.value for v in values.values())


def check_agreement(label: str, modelled: float, evaluated: float, magnitude: float) -> None:
    """Raise ConsistencyError if the optimizer and the evaluator disagree beyond 1e-6."""
    scale = max(1.0, abs(modelled), abs(evaluated), magnitude)
    if abs(modelled - evaluated) > AGREEMENT * scale:
        raise ConsistencyError(
            f"{label}: the optimizer's model says {modelled!r} but the exact evaluator says "
            f"{evaluated!r} (difference {modelled - evaluated:.3g}, allowed "
            f"{AGREEMENT * scale:.3g}). This is a bug in cxplan or in a criterion plugin; "
            "please report it with the scenario.")
