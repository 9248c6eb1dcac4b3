"""Marginal values: what one more unit of each limit would add, and which limits bind.

For the budget the step is a stated share of the budget (default 10 %) or an amount;
for every team it is one more person. Each value is the difference between two exact
evaluations: the best plan with the limit raised by the step (re-solved in the same
session, starting from the current plan, which stays feasible) minus the current plan.
A limit *binds* when raising it by its step improves the plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cxplan.errors import UsageError
from cxplan.whatif.engine import Analysis, Outcome, difference

if TYPE_CHECKING:
    from cxplan.api import Prepared
    from cxplan.core.results import Plan
    from cxplan.optimizer.highs import Session, SolverOptions

DEFAULT_BUDGET_STEP = "10%"


@dataclass(frozen=True)
class MarginalValue:
    """What raising one limit by its step would add to the plan."""

    limit: str  # "budget" or "team:<name>"
    label: str  # "budget" or "team 'it'"
    capacity: float
    used: float
    step: float
    gain: float  # objective with the raised limit − objective of the plan
    status: str  # "optimal" when the re-solve was proven, "time_limit" or "unused"
    added: tuple[str, ...]  # improvements the raised limit lets in
    dropped: tuple[str, ...]  # ... and those they replace
    binding: bool

    @property
    def per_unit(self) -> float:
        return self.gain / self.step if self.step else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"limit": self.limit, "capacity": self.capacity, "used": self.used,
                "slack": self.capacity - self.used, "step": self.step, "gain": self.gain,
                "per_unit": self.per_unit, "binding": self.binding, "status": self.status,
                "added": list(self.added), "dropped": list(self.dropped)}


@dataclass(frozen=True)
class MarginalValues:
    """The marginal value of every limit of a plan; `to_dict()` adds to the plan's JSON."""

    values: tuple[MarginalValue, ...]
    budget_step: str  # as asked: "10%" or an amount

    @property
    def binding(self) -> tuple[str, ...]:
        return tuple(v.limit for v in self.values if v.binding)

    def to_dict(self) -> dict[str, Any]:
        return {"marginal_values": [v.to_dict() for v in self.values],
                "binding_constraints": list(self.binding)}


def parse_step(text: str | float, base: float | None) -> float:
    """"10%" of `base`, or an amount ("25000")."""
    raw = str(text).strip()
    try:
        if raw.endswith("%"):
            if base is None:
                raise UsageError(f"a relative step ({raw}) needs a budget to be relative to")
            value = float(raw[:-1]) / 100.0 * base
        else:
            value = float(raw)
    except ValueError:
        raise UsageError(f"a step is an amount or a percentage such as 10%, got {raw!r}") \
            from None
    if not value > 0:
        raise UsageError(f"a step must be positive, got {raw!r}")
    return value


def marginal_values(analysis: Analysis, plan: Outcome | Sequence[str], *,
                    budget_step: str | float = DEFAULT_BUDGET_STEP,
                    time_limit: float | None = None) -> MarginalValues:
    """Marginal values of the budget and every team for `plan` (the optimum of `analysis`
    under its current limits). `time_limit` bounds each re-solve."""
    base = plan if isinstance(plan, Outcome) else analysis.outcome(plan)
    found: list[MarginalValue] = []
    if analysis.budget is not None:
        step = _budget_step(analysis, budget_step)
        found.append(_raise(analysis, base, "budget", "budget", analysis.budget, base.cost,
                            step, time_limit))
    for team, capacity in analysis.teams.items():
        used = base.staff_used.get(team, 0.0)
        if analysis.row(f"team:{team}") is None:
            found.append(MarginalValue(f"team:{team}", f"team '{team}'", capacity, used, 1.0,
                                       0.0, "unused", (), (), False))
            continue
        found.append(_raise(analysis, base, f"team:{team}", f"team '{team}'", capacity, used,
                            1.0, time_limit))
    return MarginalValues(tuple(found), str(budget_step))


def _budget_step(analysis: Analysis, budget_step: str | float) -> float:
    assert analysis.budget is not None
    if analysis.budget == 0 and str(budget_step).strip().endswith("%"):
        # A share of nothing is nothing: step by the cheapest improvement instead.
        costs = [i.cost for i in analysis.scenario.improvements if i.cost > 0]
        return min(costs) if costs else 1.0
    return parse_step(budget_step, analysis.budget)


def _raise(analysis: Analysis, base: Outcome, limit: str, label: str, capacity: float,
           used: float, step: float, time_limit: float | None) -> MarginalValue:
    if limit == "budget":
        context = analysis.limits(budget=capacity + step)
    else:
        context = analysis.limits(teams={limit.split(":", 1)[1]: capacity + step})
    with context:
        better = analysis.solve(base.selected, time_limit=time_limit)
    gain = better.objective - base.objective
    tied = gain <= analysis.tolerance(base.objective)
    added, dropped = difference(base.selected, better.selected)
    if tied:
        gain, added, dropped = max(gain, 0.0), (), ()
    return MarginalValue(limit, label, capacity, used, step, gain, better.status, added,
                         dropped, not tied)


def with_marginals(prepared: Prepared, session: Session, plan: Plan, options: SolverOptions,
                   *, budget_step: str | float = DEFAULT_BUDGET_STEP) -> Plan:
    """`plan` with its marginal values, re-solved in the session that found it.

    The re-solves share one more time limit: each gets an equal part of it (at least a
    second); a re-solve stopped by it reports status "time_limit".
    """
    analysis = Analysis(prepared.scenario, options, prepared=prepared, session=session)
    count = (analysis.budget is not None) + sum(
        analysis.row(f"team:{t}") is not None for t in analysis.teams)
    limit = max(1.0, options.time_limit / max(count, 1))
    values = marginal_values(analysis, plan.selected, budget_step=budget_step, time_limit=limit)
    return dataclasses.replace(plan, marginals=values)
