"""What a prioritization criterion is: a linear model term plus an exact evaluation.

Every criterion, built-in or from a plugin, implements this interface and is
registered through the `cxplan_criteria` hook. The optimizer maximizes
Σ weight × `model_term`; after solving, each criterion's `evaluate` is run on
the chosen selection with the independent Markov evaluator, and the two must
agree (a criterion whose term is not exact is reported as a bug).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pulp

    from cxplan.core.journey import Evaluation, Journey
    from cxplan.optimizer.model import ModelContext
    from cxplan.scenario.models import Scenario


@dataclass(frozen=True)
class EvaluationContext:
    """What `Criterion.evaluate` receives: a selection and its exact evaluation."""

    scenario: Scenario
    journey: Journey
    selection: tuple[str, ...]
    evaluation: Evaluation
    baseline: Evaluation


class Criterion(ABC):
    """A prioritization criterion (higher is better).

    Subclasses set `name` (the key used in a scenario's `criteria:` map),
    `description` and `unit`, and implement `model_term` and `evaluate`.
    """

    name: str = ""
    description: str = ""
    unit: str = ""

    @abstractmethod
    def model_term(self, ctx: ModelContext) -> pulp.LpAffineExpression:
        """A linear expression in the model's variables whose value at any binary selection
        equals `evaluate` for that selection (use `ctx.x`, `ctx.visits`, `ctx.failures`,
        `ctx.dropouts`, `ctx.losses`, `ctx.value`)."""

    @abstractmethod
    def evaluate(self, ctx: EvaluationContext) -> float:
        """The criterion's exact value for `ctx.selection`."""

    def magnitude(self, ctx: EvaluationContext) -> float:
        """Scale against which model/evaluator agreement is judged (relative 1e-6)."""
        return 0.0
