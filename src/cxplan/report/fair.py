"""Shapley values and pay-back in report words: per row, and how they were found."""

from __future__ import annotations

from cxplan.core.results import ImprovementResult, Plan
from cxplan.report.view import FairShare
from cxplan.text import format_percent


def fair_share(plan: Plan, imp: ImprovementResult) -> FairShare | None:
    """The row's Shapley value and, with `economics:`, its pay-back; None without one."""
    if imp.shapley is None:
        return None
    payback = None
    if plan.economics is not None:
        payback = ("at once" if imp.cost <= 0
                   else "beyond the horizon" if imp.payback_periods is None
                   else _periods(imp.payback_periods))
    return FairShare(
        value=imp.shapley,
        share=imp.shapley / plan.expected_gain if plan.expected_gain else 0.0,
        error=imp.shapley_error, payback=payback, return_on_cost=imp.return_on_cost)


def fair_method(plan: Plan) -> str | None:
    """"exact", or "sampled over 400 orders (± one standard error)"; None: not computed."""
    if plan.shapley is None:
        return None
    if plan.shapley["method"] == "exact":
        return "exact"
    return f"sampled over {plan.shapley['orders']:,} orders (± one standard error)"


def economics_text(plan: Plan) -> str | None:
    """"12 periods, discounted 5 % a period"; None without `economics:`."""
    if plan.economics is None:
        return None
    horizon = _periods(plan.economics["value_horizon"] or 0)
    rate = plan.economics["discount_rate"] or 0.0
    return horizon + (f", discounted {format_percent(rate)} a period" if rate else "")


def _periods(count: float) -> str:
    return f"{count:g} period" + ("" if count == 1 else "s")
