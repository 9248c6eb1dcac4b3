"""`net_value`: what the plan is worth after paying for it (docs/model.md, "Pay-back").

    net_value(x) = A · gain(x) − Σ_j cost_j x_j,   A = Σ_{k=1..H} (1 + r)^−(k−1)

with H the scenario's `economics.value_horizon` (periods for which a gain is counted) and
r its `economics.discount_rate`. The gain is the expected experience gain a period
(`expected_experience`), the cost is paid once. Optimizing it funds an improvement only
when its gain over the value horizon pays back its cost, so budget may be left unspent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxplan.core.criterion import Criterion, EvaluationContext
from cxplan.criteria.experience import experience_term
from cxplan.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    import pulp

    from cxplan.core.criterion import ModelView
    from cxplan.scenario.models import Scenario


def annuity(scenario: Scenario) -> float:
    """A for the scenario's economics (checked present by the scenario's validation)."""
    if scenario.economics is None:
        raise ValueError("net_value needs the scenario's `economics:` section")
    return scenario.economics.annuity()


class NetValue(Criterion):
    name = "net_value"
    description = "Net value: the expected experience gain a period, counted over the value " \
                  "horizon (discounted), minus the one-off cost of the funded improvements."
    unit = "currency"

    def model_term(self, ctx: ModelView) -> pulp.LpAffineExpression:
        import pulp

        costs = {imp.id: imp.cost for imp in ctx.scenario.improvements}
        return (annuity(ctx.scenario) * experience_term(ctx)
                - pulp.lpSum(costs[imp] * var for imp, var in ctx.x.items() if costs[imp]))

    def evaluate(self, ctx: EvaluationContext) -> float:
        cost = sum(ctx.scenario.improvement(imp).cost for imp in ctx.selection)
        gain = ctx.evaluation.value - ctx.baseline.value
        return annuity(ctx.scenario) * gain - cost

    def magnitude(self, ctx: EvaluationContext) -> float:
        cost = sum(ctx.scenario.improvement(imp).cost for imp in ctx.selection)
        return annuity(ctx.scenario) * (abs(ctx.baseline.value)
                                        + abs(ctx.evaluation.value)) + cost


@hookimpl
def cxplan_criteria() -> list[Criterion]:
    return [NetValue()]
