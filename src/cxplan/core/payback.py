"""Per improvement: when its gain repays its cost, and what it returns per unit of cost.

Both use the improvement's Shapley value (`cxplan.core.shapley`) as its gain a period —
its share of the plan's gain that does not depend on the order — over the scenario's
`economics` (value horizon, discount rate; docs/model.md, "Pay-back").
"""

from __future__ import annotations

from dataclasses import replace

from cxplan.core.results import Plan
from cxplan.scenario.models import Economics


def with_payback(plan: Plan, economics: Economics) -> Plan:
    """The plan with its economics (net value, return on cost, pay-back of the whole plan)
    and `payback_periods` and `return_on_cost` for each improvement that has a Shapley
    value (unchanged otherwise). Return on cost = (A × Shapley − cost) / cost,
    A the horizon's annuity factor; None for an improvement that costs nothing."""
    annuity = economics.annuity()
    improvements = tuple(
        imp if imp.shapley is None else replace(
            imp, payback_periods=economics.payback_periods(imp.shapley, imp.cost),
            return_on_cost=(annuity * imp.shapley - imp.cost) / imp.cost
            if imp.cost > 0 else None)
        for imp in plan.improvements)
    gain, cost = plan.expected_gain, plan.cost
    return replace(plan, improvements=improvements, economics={
        "value_horizon": economics.value_horizon, "discount_rate": economics.discount_rate,
        "annuity": annuity, "net_value": annuity * gain - cost,
        "return_on_cost": (annuity * gain - cost) / cost if cost > 0 else None,
        "payback_periods": economics.payback_periods(gain, cost)})
