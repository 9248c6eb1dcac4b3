"""`quick_wins`: the "easy and smart" first moves — much gain for little money, staff, time.

Each improvement j gets a quick-win score, a constant:

    score_j = g_j / (d_j · (1 + r_j))
    r_j     = cost_j / B + Σ_k staff_jk / C_k

- g_j: j's standalone gain, the exact expected experience gain of selecting j alone
  (currency);
- d_j: j's `duration` in periods (default 1): a gain that takes three periods to
  deliver counts a third;
- r_j: the share of the scarce resources j uses: its cost over the budget B and its
  staff over each team's capacity C_k. Without a budget, cost is measured against
  the total cost of all candidates; a limit of 0 is left out of the sum.

A free one-period improvement keeps its full gain; one that uses the whole budget
counts half. The criterion is the plan's total, QW(x) = Σ_j score_j x_j, in
currency: linear in the decision variables, so the optimum is exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxplan.core.criterion import Criterion, EvaluationContext
from cxplan.criteria.standalone import standalone_gains
from cxplan.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    import pulp

    from cxplan.core.criterion import ModelView
    from cxplan.core.journey import Journey


def quick_win_scores(journey: Journey) -> dict[str, float]:
    """score_j for every improvement of the journey's scenario (see the module docstring)."""
    scenario = journey.scenario
    gains = standalone_gains(journey)
    total_cost = sum(imp.cost for imp in scenario.improvements)
    budget = scenario.budget if scenario.budget is not None else total_cost
    scores = {}
    for imp in scenario.improvements:
        share = imp.cost / budget if budget > 0 else 0.0
        share += sum(n / scenario.teams[team] for team, n in imp.staff.items()
                     if scenario.teams.get(team, 0) > 0)
        scores[imp.id] = gains[imp.id] / (imp.duration * (1.0 + share))
    return scores


class QuickWins(Criterion):
    name = "quick_wins"
    description = "Quick wins: each funded improvement's own gain, divided by its duration " \
                  "and by 1 + the share of budget and staff it uses."
    unit = "currency"

    def model_term(self, ctx: ModelView) -> pulp.LpAffineExpression:
        import pulp

        scores = quick_win_scores(ctx.journey)
        return pulp.lpSum(scores[imp] * var for imp, var in ctx.x.items() if scores[imp])

    def evaluate(self, ctx: EvaluationContext) -> float:
        scores = quick_win_scores(ctx.journey)
        return float(sum(scores[imp] for imp in ctx.selection))

    def magnitude(self, ctx: EvaluationContext) -> float:
        scores = quick_win_scores(ctx.journey)
        return float(sum(abs(scores[imp]) for imp in ctx.selection))


@hookimpl
def cxplan_criteria() -> list[Criterion]:
    return [QuickWins()]
