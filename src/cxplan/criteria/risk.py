"""`risk_adjusted`: the expected experience gain, discounted by each improvement's confidence.

    RA(x) = gain(x) − Σ_j (1 − κ_j) g_j x_j

- gain(x): the plan's exact expected experience gain (as `expected_experience`);
- κ_j: improvement j's `confidence` (1 when not given);
- g_j: j's standalone gain, the exact gain of selecting j alone.

Read: each improvement works with probability κ_j, independently; when it fails, the
plan loses that improvement's own contribution. When the improvements' gains add up
(no two act on the same touchpoint or on each other's customers), RA is exactly the
expected gain over which improvements work out. When they overlap, gains usually
diminish (the second fix of a touchpoint adds less than it would alone), and RA then
discounts by the larger standalone gains: it errs on the side of caution. RA is
linear in the decision variables, so the optimum is exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxplan.core.criterion import Criterion, EvaluationContext
from cxplan.criteria.experience import experience_term
from cxplan.criteria.standalone import standalone_gains
from cxplan.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    import pulp

    from cxplan.core.criterion import ModelView
    from cxplan.core.journey import Journey


def at_risk(journey: Journey) -> dict[str, float]:
    """(1 − κ_j) g_j for every improvement: the part of its own gain that may not happen."""
    gains = standalone_gains(journey)
    return {imp.id: (1.0 - (imp.confidence if imp.confidence is not None else 1.0))
            * gains[imp.id] for imp in journey.scenario.improvements}


class RiskAdjusted(Criterion):
    name = "risk_adjusted"
    description = "Risk-adjusted gain: the expected experience gain minus, for each funded " \
                  "improvement, (1 − confidence) × its standalone gain."
    unit = "currency"

    def model_term(self, ctx: ModelView) -> pulp.LpAffineExpression:
        import pulp

        risk = at_risk(ctx.journey)
        return experience_term(ctx) - pulp.lpSum(
            risk[imp] * var for imp, var in ctx.x.items() if risk[imp])

    def evaluate(self, ctx: EvaluationContext) -> float:
        risk = at_risk(ctx.journey)
        gain = ctx.evaluation.value - ctx.baseline.value
        return float(gain - sum(risk[imp] for imp in ctx.selection))

    def magnitude(self, ctx: EvaluationContext) -> float:
        risk = at_risk(ctx.journey)
        return (abs(ctx.baseline.value) + abs(ctx.evaluation.value)
                + float(sum(abs(risk[imp]) for imp in ctx.selection)))


@hookimpl
def cxplan_criteria() -> list[Criterion]:
    return [RiskAdjusted()]
