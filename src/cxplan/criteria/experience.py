"""`expected_experience`: the expected experience gain (docs/model.md, "Value and gain").

    gain(x) = Σ_q N_q (E_q(x) − E_q(∅)),   E_q = Σ_t [s_t (v_t − F_t) − c'_t F_t]

in the scenario's currency, over all personas weighted by customers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxplan.core.criterion import Criterion, EvaluationContext
from cxplan.linear import weighted_sum
from cxplan.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    import pulp

    from cxplan.core.criterion import ModelView


class ExpectedExperience(Criterion):
    name = "expected_experience"
    description = "Expected experience gain: value of successful passes minus losses from " \
                  "failures, over all personas weighted by customers, against doing nothing."
    unit = "currency"

    def model_term(self, ctx: ModelView) -> pulp.LpAffineExpression:
        return experience_term(ctx)

    def evaluate(self, ctx: EvaluationContext) -> float:
        return ctx.evaluation.value - ctx.baseline.value

    def magnitude(self, ctx: EvaluationContext) -> float:
        return abs(ctx.baseline.value) + abs(ctx.evaluation.value)


def experience_term(ctx: ModelView) -> pulp.LpAffineExpression:
    """Σ_q N_q E_q(x) − Σ_q N_q E_q(∅) as a model expression (exact at binary x)."""
    return weighted_sum(((chain.customers, ctx.value(q))
                         for q, chain in enumerate(ctx.journey.personas)),
                        constant=-ctx.baseline.value)


@hookimpl
def cxplan_criteria() -> list[Criterion]:
    return [ExpectedExperience()]
