"""`moments_of_truth`: expected failures avoided at moment-of-truth touchpoints.

    MoT(x) = Σ_q N_q Σ_{t : moment_of_truth} (F_qt(∅) − F_qt(x)),   F_qt = v_qt p'_qt

a count of failures over all customers. It can be negative: retaining more
customers earlier sends more of them through a later moment of truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxplan.core.criterion import Criterion, EvaluationContext
from cxplan.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    import pulp

    from cxplan.core.criterion import ModelView
    from cxplan.scenario.models import Scenario


def _moments(scenario: Scenario) -> list[int]:
    return [t for t, tp in enumerate(scenario.touchpoints) if tp.moment_of_truth]


class MomentsOfTruth(Criterion):
    name = "moments_of_truth"
    description = "Expected failures avoided at moment-of-truth touchpoints, over all " \
                  "customers (the moments that weigh most in how a journey is remembered)."
    unit = "failures"

    def model_term(self, ctx: ModelView) -> pulp.LpAffineExpression:
        import pulp

        terms = []
        for q, chain in enumerate(ctx.journey.personas):
            for t in _moments(ctx.scenario):
                before = float(ctx.baseline.personas[q].failures[t])
                terms.append(chain.customers * (before - ctx.failures(q, t)))
        return pulp.lpSum(terms)

    def evaluate(self, ctx: EvaluationContext) -> float:
        moments = _moments(ctx.scenario)
        return float(sum(
            before.customers * (before.failures[moments].sum() - after.failures[moments].sum())
            for before, after in zip(ctx.baseline.personas, ctx.evaluation.personas,
                                     strict=True)))

    def magnitude(self, ctx: EvaluationContext) -> float:
        moments = _moments(ctx.scenario)
        return float(sum(p.customers * (b.failures[moments].sum() + p.failures[moments].sum())
                         for b, p in zip(ctx.baseline.personas, ctx.evaluation.personas,
                                         strict=True)))


@hookimpl
def cxplan_criteria() -> list[Criterion]:
    return [MomentsOfTruth()]
