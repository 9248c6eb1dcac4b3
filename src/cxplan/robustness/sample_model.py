"""The robust plan as one exact MILP over the sample: one copy of the journey's hull per
draw, all driven by one shared selection x, within the limits at the means (the limits a
plan is funded under; the same as the nominal plan's).

    mean:        max (1/N) Σ_d g_d(x)
    cvar:ALPHA:  max η − Σ_d s_d / (ALPHA·N),   s_d ≥ η − g_d(x),  s_d ≥ 0

g_d(x) is the exact gain of x in draw d (criteria.experience: Σ_q N_q (E_q(x) − E_q(∅))
on the draw's journey); the CVaR form is the mean of the worst ALPHA share of the draws
(Rockafellar–Uryasev), exact for a finite sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulp

from cxplan.core.journey import build_journey
from cxplan.criteria.experience import experience_term
from cxplan.linear import accumulate, add_term, constraint, expression, register_variables
from cxplan.optimizer.model import estimated_columns, journey_copy
from cxplan.optimizer.pipeline import BUILD_SECONDS_PER_COLUMN, Prepared, prepare
from cxplan.plugins.manager import CxplanPlugins
from cxplan.scenario.models import Scenario


@dataclass(frozen=True)
class Objective:
    """What the robust plan maximizes over the sample: the mean gain, or the CVaR at
    `alpha` (the mean of the worst `alpha` share of the draws)."""

    kind: str  # "mean" or "cvar"
    alpha: float = 1.0

    @property
    def label(self) -> str:
        return "mean" if self.kind == "mean" else f"cvar:{self.alpha:g}"


def build_seconds(nominal: Prepared, draws: int) -> float:
    """About how long the model over `draws` draws takes to build."""
    columns = estimated_columns(nominal.scenario, nominal.journey, nominal.model.blocking)
    return columns * draws * BUILD_SECONDS_PER_COLUMN


def sample_model(scenario: Scenario, draws: Sequence[Scenario], objective: Objective,
                 plugins: CxplanPlugins) -> Prepared:
    """The MILP over `draws` (concrete scenarios), with the limits, rules and plugins'
    constraints of `scenario` (at its means); its objective is the robust objective."""
    prepared = prepare(scenario, plugins=plugins)
    model = prepared.model
    problem, x = model.problem, model.x
    gains = []
    for d, drawn in enumerate(draws):
        ctx = journey_copy(problem, drawn, build_journey(drawn), x, model.blocking,
                           prefix=f"d{d}:")
        gains.append(experience_term(ctx))
    total = expression()
    if objective.kind == "mean":
        for gain in gains:
            accumulate(total, gain, 1.0 / len(draws))
    else:
        eta = problem.add_variable("cvar_eta", lowBound=None, upBound=None)
        shortfalls = [problem.add_variable(f"cvar_s[{d}]", lowBound=0)
                      for d in range(len(draws))]
        register_variables(problem, [eta, *shortfalls])
        add_term(total, eta, 1.0)
        for d, (gain, s) in enumerate(zip(gains, shortfalls, strict=True)):
            add_term(total, s, -1.0 / (objective.alpha * len(draws)))
            row = expression([(s, 1.0), (eta, -1.0)])
            accumulate(row, gain, 1.0)
            problem.addConstraint(constraint(row, pulp.LpConstraintGE, 0.0),
                                  name=f"cvar_tail[{d}]")
    problem.setObjective(total)
    return prepared
