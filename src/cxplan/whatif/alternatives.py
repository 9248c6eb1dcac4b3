"""Near-optimal alternatives (`cxplan alternatives`): the best plan, then repeatedly the
best plan that differs from every earlier one in at least D improvements (symmetric
difference), as long as it is within a share of the optimum. Each is proven optimal under
those cuts, in one HiGHS session:

    Σ_{j∉S_k} x_j − Σ_{j∈S_k} x_j ≥ D − |S_k|    for every earlier plan S_k
    objective ≥ (1 − within) · optimum           (gains of the first plan's sign)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from cxplan.core.results import Plan
from cxplan.core.status import Status
from cxplan.errors import UsageError
from cxplan.optimizer.options import SolverOptions
from cxplan.optimizer.pipeline import prepare, solve_pipeline
from cxplan.optimizer.sequence import needs_sequence
from cxplan.plugins.manager import CxplanPlugins, get_plugin_manager
from cxplan.scenario.models import Scenario
from cxplan.text import read_amount


@dataclass(frozen=True)
class Alternative:
    """One plan of the sequence, every number from the exact evaluator."""

    selected: tuple[str, ...]
    objective: float
    expected_gain: float
    cost: float
    staff_used: dict[str, float]
    status: Status  # optimal: proven best under the cuts (within the solver's gap)
    added: tuple[str, ...]  # against the first plan
    dropped: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"selected": list(self.selected), "expected_gain": self.expected_gain,
                "cost": self.cost, "status": self.status.value, "objective": self.objective,
                "staff_used": dict(self.staff_used), "added": list(self.added),
                "dropped": list(self.dropped)}


@dataclass(frozen=True)
class Alternatives:
    """`alternatives --json`: {scenario, within, differ, alternatives: [...], stopped}."""

    scenario: str
    currency: str | None
    within: float
    differ: int
    plans: tuple[Alternative, ...]
    stopped: str  # why the sequence ended: "count", "none within", or "time limit"

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "within": self.within, "differ": self.differ,
                "alternatives": [p.to_dict() for p in self.plans], "stopped": self.stopped}


def parse_within(text: str | float) -> float:
    """`2%` or `0.02`: the share of the optimum an alternative may give up (0 to below 1)."""
    found = read_amount(text) if isinstance(text, str) else (float(text), False)
    share = None if found is None else found[0] / 100 if found[1] else found[0]
    if share is None or not 0 <= share < 1:
        raise UsageError(f"--within is a share of the optimum from 0 to below 100 %, such as "
                         f"2% or 0.02, got {text!r}")
    return share


def alternatives(scenario: Scenario, *, count: int, within: str | float = "2%",
                 differ: int = 1, options: SolverOptions | None = None,
                 plugins: CxplanPlugins | None = None) -> Alternatives:
    """Up to `count` plans: the optimum, then each next best plan at a distance of at
    least `differ` improvements from all earlier ones and within `within` of the optimum's
    objective. `options.time_limit` bounds each solve."""
    share = parse_within(within)
    if count < 1 or differ < 1:
        raise UsageError(f"--count and --differ are at least 1, got {count} and {differ}")
    if scenario.horizon is not None or needs_sequence(scenario.objective):
        raise UsageError("alternatives works on single-period plans with weighted criteria "
                         "(no horizon, no `objective:`)")
    options = options or SolverOptions()
    plugins = plugins or get_plugin_manager()
    prepared = prepare(scenario, plugins=plugins)
    result, session = solve_pipeline(prepared, options, time.perf_counter())
    first = prepared.plan(result)
    ids = list(scenario.improvement_ids)
    columns = np.array([session.compiled.x_columns[i] for i in ids], dtype=np.int32)
    threshold = first.objective - share * abs(first.objective)
    used = np.flatnonzero(session.cost)
    session.add_row(threshold - session.offset - 1e-9 * max(1.0, abs(threshold)), np.inf,
                    used.astype(np.int32), session.cost[used])
    plans = [_alternative(first, result.status, first)]
    stopped = "count"
    while len(plans) < count:
        last = set(plans[-1].selected)
        signs = np.array([-1.0 if i in last else 1.0 for i in ids])
        session.add_row(differ - len(last), np.inf, columns, signs)
        found = session.solve(None, time_limit=options.time_limit)
        if found.status == Status.INFEASIBLE:
            stopped = "none within"
            break
        plans.append(_alternative(prepared.plan(found), found.status, first))
        if found.status != Status.OPTIMAL:
            stopped = "time limit"
            break
    return Alternatives(scenario.title, scenario.currency, share, differ, tuple(plans),
                        stopped)


def _alternative(plan: Plan, status: Status, first: Plan) -> Alternative:
    chosen, original = set(plan.selected), set(first.selected)
    return Alternative(plan.selected, plan.objective, plan.expected_gain, plan.cost,
                       dict(plan.staff_used), status,
                       tuple(i for i in plan.selected if i not in original),
                       tuple(i for i in first.selected if i not in chosen))
