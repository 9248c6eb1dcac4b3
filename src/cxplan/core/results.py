"""What cxplan answers: the plan (a plain result object) and its parts.

Every number in a Plan comes from the independent Markov evaluator applied to the
selection the solver returned, never from the solver's own objective
(`cxplan.core.evaluation`). `Plan.to_dict()` is the `plan --json` contract.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cxplan.core.status import Status

if TYPE_CHECKING:
    from cxplan.core.journey import Evaluation


@dataclass(frozen=True)
class CriterionValue:
    name: str
    weight: float
    value: float  # the criterion's raw value for the plan, in its own unit
    unit: str
    description: str
    ideal: float | None = None  # with `objective: {normalize: true}`: its best feasible value
    priority: int | None = None  # with `objective: {priorities: ...}`: its level, from 1

    @property
    def normalized(self) -> float | None:
        """value / |ideal| (1 = as good as this criterion alone could get), when normalized."""
        if self.ideal is None or self.ideal == 0:
            return None
        return self.value / abs(self.ideal)


@dataclass(frozen=True)
class PriorityResult:
    """One lexicographic level: its own optimum, and its value in the final plan."""

    criteria: tuple[str, ...]
    tolerance: float
    optimum: float  # the level's blended objective when it was optimized
    value: float  # the same objective for the final plan (≥ optimum − tolerance × |optimum|)


@dataclass(frozen=True)
class ImprovementResult:
    """One selected improvement: what it costs and what it adds at its place in the order."""

    id: str
    name: str
    owner: str | None
    cost: float
    staff: dict[str, float]
    rank: int
    gain: float  # incremental expected gain when added in rank order (these sum to the total)
    share: float  # gain / total expected gain
    start: int | None = None  # with a horizon: the first period of work
    finish: int | None = None  # with a horizon: the last period of work (pays off after it)
    # Its fair share of the gain, independent of the order (cxplan.core.shapley); None
    # when not computed. shapley_error: the standard error when the value was sampled.
    shapley: float | None = None
    shapley_error: float | None = None
    # With `economics:` (cxplan.core.payback): the period by whose end its Shapley value
    # has repaid its cost (None: not within the value horizon), and its return on cost.
    payback_periods: float | None = None
    return_on_cost: float | None = None


@dataclass(frozen=True)
class PeriodResult:
    """One period of a roadmap: money, staff and value, all exact."""

    period: int  # 1..N
    name: str
    discount: float  # the weight of this period's value
    spend: float
    budget: float | None  # money available in this period (with carry-over: incl. unspent)
    staff: dict[str, float]
    capacity: dict[str, float]
    starting: tuple[str, ...]
    working: tuple[str, ...]
    finishing: tuple[str, ...]  # finish in this period, pay off from the next
    paying_off: tuple[str, ...]  # finished before this period
    baseline_value: float  # this period's customers with nothing done (currency)
    value: float  # with the improvements finished before this period
    cumulative_gain: float  # discounted gain of periods 1..this one

    @property
    def gain(self) -> float:
        return self.value - self.baseline_value

    @property
    def discounted_gain(self) -> float:
        return self.discount * self.gain

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period, "name": self.name, "discount": self.discount,
            "spend": self.spend, "budget": self.budget,
            "staff": {k: _number(v) for k, v in self.staff.items()},
            "capacity": {k: _number(v) for k, v in self.capacity.items()},
            "starting": list(self.starting), "working": list(self.working),
            "finishing": list(self.finishing), "paying_off": list(self.paying_off),
            "baseline_value": self.baseline_value, "value": self.value, "gain": self.gain,
            "discounted_gain": self.discounted_gain, "cumulative_gain": self.cumulative_gain,
        }


@dataclass(frozen=True)
class Change:
    """One quantity before the plan and with it."""

    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before

    def to_dict(self) -> dict[str, float]:
        return {"before": self.before, "after": self.after, "change": self.change}


@dataclass(frozen=True)
class ValueBreakdown:
    """What the plan changes, over all personas' customers of one period (the period the
    `customers` counts stand for; a roadmap: one period once all its work has paid off).
    The gain is `success_value.change − failure_cost.change`: the value of passes won, plus
    the cost of failures avoided. Every figure is positive where the plan helps, whatever
    the sign of the journey's (net) value."""

    customers: float
    failures: Change  # expected failures
    abandonments: Change  # expected customers who abandon after a failure
    failure_cost: Change  # Σ impact × failures (currency)
    success_value: Change  # Σ success_value × passes (currency)

    @property
    def failures_avoided(self) -> float:
        return -self.failures.change

    @property
    def failure_cost_avoided(self) -> float:
        return -self.failure_cost.change

    @property
    def gain(self) -> float:
        return self.success_value.change + self.failure_cost_avoided

    def to_dict(self) -> dict[str, Any]:
        return {"customers": self.customers, "failures": self.failures.to_dict(),
                "abandonments": self.abandonments.to_dict(),
                "failure_cost": self.failure_cost.to_dict(),
                "success_value": self.success_value.to_dict(), "gain": self.gain}


def value_breakdown(baseline: Evaluation, planned: Evaluation) -> ValueBreakdown:
    """The breakdown of a plan's value change, from the two exact evaluations."""
    def total(evaluation: Evaluation, quantity: str) -> float:
        return float(sum(p.customers * getattr(p, quantity).sum()
                         for p in evaluation.personas))

    def change(quantity: str) -> Change:
        return Change(total(baseline, quantity), total(planned, quantity))

    return ValueBreakdown(
        customers=float(sum(p.customers for p in planned.personas)),
        failures=change("failures"), abandonments=change("dropouts"),
        failure_cost=change("losses"), success_value=change("successes"))


@dataclass(frozen=True)
class PersonaResult:
    id: str
    name: str
    customers: float
    baseline_value: float  # per customer
    planned_value: float
    baseline_abandonment: float  # probability of abandoning after a failure
    planned_abandonment: float
    baseline_failures: float  # expected failures per customer
    planned_failures: float

    @property
    def gain(self) -> float:
        """Total gain for this persona, in currency (weighted by customers)."""
        return self.customers * (self.planned_value - self.baseline_value)


@dataclass(frozen=True)
class Plan:
    """What to fund and what it is worth. `to_dict()` is the `plan --json` contract."""

    scenario: str
    status: Status
    selected: tuple[str, ...]
    objective: float
    expected_gain: float
    baseline_value: float
    planned_value: float
    cost: float
    staff_used: dict[str, float]
    criteria: dict[str, CriterionValue]
    gap: float | None
    bound: float | None
    currency: str | None
    budget: float | None
    teams: dict[str, float]
    improvements: tuple[ImprovementResult, ...]
    personas: tuple[PersonaResult, ...]
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    nodes: int = 0
    warnings: tuple[str, ...] = ()
    normalized: bool = False  # criteria were divided by their ideal values (objective.normalize)
    priorities: tuple[PriorityResult, ...] = ()  # lexicographic levels, most important first
    evaluation: Evaluation | None = field(default=None, repr=False, compare=False)
    baseline: Evaluation | None = field(default=None, repr=False, compare=False)
    # What one more unit of each limit adds (cxplan.whatif.marginal); None: not computed.
    marginals: MarginalValues | None = field(default=None, repr=False, compare=False)
    # With a horizon (cxplan.optimizer.roadmap): its settings, the periods, start/finish per id.
    horizon: dict[str, Any] | None = None
    periods: tuple[PeriodResult, ...] = ()
    schedule: dict[str, tuple[int, int]] = field(default_factory=dict)
    # How the improvements' Shapley values were found: {"method": "exact" | "sampled",
    # "orders": sampled orders}; None when they were not computed.
    shapley: dict[str, Any] | None = None
    # Seconds per phase of the command that made the plan (cxplan.clock), and "total".
    timings: dict[str, float] = field(default_factory=dict)
    # With `economics:`: value_horizon, discount_rate, their annuity factor, and the whole
    # plan's net_value, return_on_cost and payback_periods (cxplan.core.payback).
    economics: dict[str, float | None] | None = None

    @property
    def breakdown(self) -> ValueBreakdown | None:
        """What the plan changes in one period (`ValueBreakdown`); None for a plan that
        carries no evaluations."""
        if self.baseline is None or self.evaluation is None:
            return None
        return value_breakdown(self.baseline, self.evaluation)

    def to_dict(self) -> dict[str, Any]:
        """The `plan --json` object (README: the contract keys first, then the others)."""
        data: dict[str, Any] = {
            "scenario": self.scenario,
            "status": self.status,
            "selected": list(self.selected),
            "objective": self.objective,
            "expected_gain": self.expected_gain,
            "baseline_value": self.baseline_value,
            "planned_value": self.planned_value,
            "cost": self.cost,
            "staff_used": {k: _number(v) for k, v in self.staff_used.items()},
            "criteria": {name: _criterion_dict(c) for name, c in self.criteria.items()},
            "gap": self.gap if self.gap is not None and math.isfinite(self.gap) else None,
            "bound": self.bound if self.bound is not None and math.isfinite(self.bound) else None,
            "currency": self.currency,
            "budget": self.budget,
            "teams": {k: _number(v) for k, v in self.teams.items()},
            "improvements": [
                {"id": i.id, "name": i.name, "owner": i.owner, "cost": i.cost,
                 "staff": {k: _number(v) for k, v in i.staff.items()}, "rank": i.rank,
                 "gain": i.gain, "share": i.share, "shapley": i.shapley,
                 **({"shapley_error": i.shapley_error} if i.shapley_error is not None
                    else {}),
                 **({"payback_periods": i.payback_periods,
                     "return_on_cost": i.return_on_cost} if self.economics is not None
                    else {})}
                for i in self.improvements
            ],
            "personas": [
                {"id": p.id, "name": p.name, "customers": p.customers,
                 "baseline_value": p.baseline_value, "planned_value": p.planned_value,
                 "gain": p.gain, "baseline_abandonment": p.baseline_abandonment,
                 "planned_abandonment": p.planned_abandonment}
                for p in self.personas
            ],
            "build_seconds": round(self.build_seconds, 4),
            "solve_seconds": round(self.solve_seconds, 4),
            "nodes": self.nodes,
            "warnings": list(self.warnings),
            "normalized": self.normalized,
            "priorities": [
                {"criteria": list(p.criteria), "tolerance": p.tolerance, "optimum": p.optimum,
                 "value": p.value} for p in self.priorities
            ],
        }
        if self.horizon is not None:
            for item, result in zip(data["improvements"], self.improvements, strict=True):
                item["start"], item["finish"] = result.start, result.finish
            data["horizon"] = dict(self.horizon)
            data["schedule"] = {imp: {"start": start, "finish": finish}
                                for imp, (start, finish) in self.schedule.items()}
            data["periods"] = [p.to_dict() for p in self.periods]
        if self.marginals is not None:
            data.update(self.marginals.to_dict())
        breakdown = self.breakdown
        if breakdown is not None:
            data["breakdown"] = breakdown.to_dict()
        data["shapley"] = self.shapley
        data["timings"] = dict(self.timings)
        if self.economics is not None:
            data["economics"] = dict(self.economics)
        return data


def _criterion_dict(c: CriterionValue) -> dict[str, Any]:
    data: dict[str, Any] = {"weight": _number(c.weight), "value": c.value, "unit": c.unit}
    if c.ideal is not None:
        data["ideal"] = c.ideal
        data["normalized"] = c.normalized
    if c.priority is not None:
        data["priority"] = c.priority
    return data


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True)
class MarginalValue:
    """What raising one limit by its step would add to the plan."""

    limit: str  # "budget", "team:<name>", or a plugin's constraint: "<plugin>:<name>"
    label: str  # "budget", "team 'it'" or "constraint 'coverage:stage[web]'"
    capacity: float  # a plugin constraint's right-hand side
    used: float  # ... and its left-hand side at the plan
    step: float  # a plugin constraint is lifted whole: its unit is the plugin's
    gain: float  # objective with the raised limit − objective of the plan
    status: Status  # optimal when the re-solve was proven, gap_limit, time_limit, unused
    added: tuple[str, ...]  # improvements the raised limit lets in
    dropped: tuple[str, ...]  # ... and those they replace
    binding: bool
    # When the re-solve stopped before proving its optimum: the most the raised limit can
    # add (from the solver's bound); `gain` is then the least. None when proven.
    gain_bound: float | None = None
    kind: str = "budget"  # "budget", "team" or "plugin"
    sense: str = "<="  # a plugin constraint's: "<=", ">=" or "="
    # False when no re-solve ran (no time): `gain` is 0 and `gain_bound` the most the LP
    # relaxation's dual values allow
    solved: bool = True

    @property
    def lifted(self) -> bool:
        """Whether the limit was lifted whole (a plugin's constraint), not raised a step."""
        return self.kind == "plugin"

    @property
    def per_unit(self) -> float:
        return self.gain / self.step if self.step and not self.lifted else 0.0

    @property
    def slack(self) -> float:
        if self.sense == ">=":
            return self.used - self.capacity
        return self.capacity - self.used if self.sense == "<=" else 0.0

    def to_dict(self) -> dict[str, Any]:
        known = math.isfinite(self.used)  # a plugin's own variable: unknown at a selection
        return {"limit": self.limit, "capacity": self.capacity,
                "used": self.used if known else None, "slack": self.slack if known else None,
                "step": None if self.lifted else self.step,
                "gain": self.gain, "per_unit": None if self.lifted else self.per_unit,
                "binding": self.binding, "status": self.status,
                "added": list(self.added), "dropped": list(self.dropped),
                "gain_bound": self.gain_bound, "kind": self.kind, "solved": self.solved,
                **({"sense": self.sense} if self.lifted else {})}


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
