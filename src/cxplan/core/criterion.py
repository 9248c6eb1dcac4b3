"""What a prioritization criterion is: a linear model term plus an exact evaluation.

Every criterion, built-in or from a plugin, implements `Criterion` and is registered
through the `cxplan_criteria` hook. The optimizer maximizes Σ weight × `model_term`;
after solving, each criterion's `evaluate` is run on the chosen selection with the
independent Markov evaluator, and the two must agree (a criterion whose term is not
exact is reported as a bug). `ModelView` is what a criterion's term (and a constraint
plugin) may use of the model: the decision variables and exact expressions of the
journey's quantities, nothing of how the model is built.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pulp

    from cxplan.core.journey import Evaluation, Journey
    from cxplan.scenario.models import Scenario


class ModelView(Protocol):
    """The optimization model as criteria and constraint plugins see it.

    Indices: `q` is a persona's position in `journey.personas`, `t` a touchpoint's
    position in `scenario.touchpoints` (`touchpoint_index[id]`). Every expression is
    exact at every binary selection (docs/model.md, "The exact MILP"), in the model's
    natural units: visits, failures and dropouts per customer of the persona, losses in
    currency per customer.
    """

    scenario: Scenario
    journey: Journey
    baseline: Evaluation  # the exact evaluation with nothing funded (constants)

    @property
    def x(self) -> Mapping[str, pulp.LpVariable]:
        """The binary decision variable of each improvement (1 = funded)."""

    @property
    def touchpoint_index(self) -> Mapping[str, int]:
        """A touchpoint's position `t` by its id."""

    @property
    def persona_ids(self) -> list[str]:
        """The personas' ids, in the order of `q`."""

    def reachable(self, q: int, t: int) -> bool:
        """Whether customers of persona q ever reach touchpoint t."""

    def visits(self, q: int, t: int) -> pulp.LpAffineExpression:
        """Expected visits v_t of persona q."""

    def failures(self, q: int, t: int) -> pulp.LpAffineExpression:
        """Expected failures F_t = v_t p'_t of persona q."""

    def dropouts(self, q: int, t: int) -> pulp.LpAffineExpression:
        """Expected abandonments D_t = v_t p'_t d'_t of persona q."""

    def losses(self, q: int, t: int) -> pulp.LpAffineExpression:
        """Expected loss L_t = v_t p'_t c'_t of persona q (currency per customer)."""

    def value(self, q: int) -> pulp.LpAffineExpression:
        """E_q(x) = Σ_t [s_t (v_t − F_t) − L_t], per customer of persona q."""


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
    `description` and `unit` (and `requires_section` if they read a scenario section), and
    implement `model_term` and `evaluate`.
    """

    name: str = ""
    description: str = ""
    unit: str = ""
    # The scenario section (`extensions.<name>`) this criterion needs: a scenario naming
    # the criterion without it is invalid (`cxplan validate`, exit code 2).
    requires_section: str | None = None

    @abstractmethod
    def model_term(self, ctx: ModelView) -> pulp.LpAffineExpression:
        """A linear expression in the model's variables whose value at any binary selection
        equals `evaluate` for that selection (use `ctx.x`, `ctx.visits`, `ctx.failures`,
        `ctx.dropouts`, `ctx.losses`, `ctx.value`)."""

    @abstractmethod
    def evaluate(self, ctx: EvaluationContext) -> float:
        """The criterion's exact value for `ctx.selection`."""

    def magnitude(self, ctx: EvaluationContext) -> float:
        """Scale against which model/evaluator agreement is judged (relative 1e-6)."""
        return 0.0
