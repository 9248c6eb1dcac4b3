"""A selection's criteria, evaluated exactly, and the check that the optimizer agrees.

The optimizer's model and the independent Markov evaluator must give the same value for
every criterion of every plan; a disagreement is a bug, raised as `ConsistencyError`,
never hidden.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cxplan.core.criterion import Criterion, EvaluationContext
from cxplan.core.journey import Journey, build_journey
from cxplan.core.results import CriterionValue
from cxplan.errors import ConsistencyError, PluginError
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


def check_criterion(criterion: Criterion, modelled: float, evaluated: float, magnitude: float,
                    selection: Sequence[str], where: str = "") -> None:
    """`check_agreement` for one criterion's model term and evaluation on `selection`.

    A plugin's criterion that disagrees with itself is the plugin's fault: a PluginError
    naming the plugin, the selection and both values (exit code 4). cxplan's own
    criteria disagreeing is cxplan's bug (ConsistencyError, exit code 70)."""
    label = f"criterion {criterion.name!r}{where}"
    plugin = getattr(criterion, "plugin", None)  # set by the plugin manager
    if plugin is None or getattr(criterion, "builtin", True):
        check_agreement(label, modelled, evaluated, magnitude)
        return
    scale = max(1.0, abs(modelled), abs(evaluated), magnitude)
    if abs(modelled - evaluated) > AGREEMENT * scale:
        chosen = ", ".join(selection) or "nothing"
        raise PluginError(plugin, f"criterion {criterion.name!r}", (
            f"its model_term and its evaluate disagree{where} on the selection [{chosen}]: "
            f"model_term gives {modelled!r}, evaluate {evaluated!r} (difference "
            f"{modelled - evaluated:.3g}, allowed {AGREEMENT * scale:.3g}); the model term "
            "must equal the evaluation at every selection (cxplan.testing."
            "assert_criterion_exact finds where they differ)"))


def evaluation_context(scenario: Scenario, selection: Sequence[str] = (),
                       journey: Journey | None = None) -> EvaluationContext:
    """What `Criterion.evaluate` receives for `selection`, built from the scenario (its
    journey too, unless given): the exact evaluation of the selection and of nothing."""
    if journey is None:
        journey = build_journey(scenario)
    chosen = tuple(selection)
    return EvaluationContext(scenario, journey, chosen, journey.evaluate(chosen),
                             journey.evaluate(()))
