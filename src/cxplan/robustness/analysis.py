"""`robust`: how a plan holds when the scenario's numbers are off (README, "Robust plans").

1. N draws of the uncertain inputs (`sampling`); for each, its exact optimal plan
   (`worker.solve_batch`, on the executor) → how often each improvement is in it.
2. The nominal plan (optimal at the means) evaluated exactly in every draw: its gain
   distribution, its regret against each draw's optimum.
3. A robust plan maximizing the sample mean or the CVaR of the gain, solved exactly as one
   MILP over the sample (`sample_model`) when it fits the time; otherwise the best of the
   distinct per-draw optima, evaluated in every draw. Both plans are then valued on fresh
   draws (out of sample).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cxplan.core.evaluation import check_agreement
from cxplan.core.results import Plan
from cxplan.core.selection import violations
from cxplan.core.status import Status
from cxplan.errors import UsageError
from cxplan.optimizer.options import SolverOptions
from cxplan.optimizer.pipeline import prepare, solve_pipeline
from cxplan.optimizer.sequence import needs_sequence
from cxplan.plugins.manager import CxplanPlugins, get_plugin_manager
from cxplan.robustness import stats
from cxplan.robustness.executors import BATCH, default_workers, local_pool, map_batches
from cxplan.robustness.sample_model import Objective, build_seconds, sample_model
from cxplan.robustness.sampling import SAMPLERS, Draws, sample, seeds
from cxplan.robustness.worker import CRITERION, Batch, DrawOptimum, evaluate_batch, solve_batch
from cxplan.scenario.models import Scenario
from cxplan.scenario.source import format_path

WITHIN = 0.01  # "within 1 % of the optimum"
MILP_SHARE = 0.5  # of the time left, what the sample MILP may take (building: a quarter)
# ... and at most as long as the per-draw phase took (or this many seconds, if more): on
# the microfinance example the MILP over 200 draws did not finish in 257 s, four times
# the per-draw phase, so a robust plan is not worth more time than all the optima.
MILP_AT_LEAST = 30.0
EVALUATION_BATCH = 50
MILP_COLUMNS = 100_000  # a larger sample MILP is not built (memory; it would not solve)


@dataclass(frozen=True)
class PlanOnDraws:
    """A plan's exact gain in every draw of a sample."""

    selected: tuple[str, ...]
    gains: np.ndarray

    def summary(self) -> dict[str, float]:
        return stats.distribution(self.gains)

    def out_of_sample(self, objective: Objective) -> dict[str, Any]:
        mean, low, high = stats.mean_interval(self.gains)
        result: dict[str, Any] = {"mean": mean, "ci": [low, high],
                                  "standard_error": stats.standard_error(self.gains)}
        if objective.kind == "cvar":
            result["cvar"] = stats.cvar(self.gains, objective.alpha)
        return result


@dataclass(frozen=True)
class RobustResult:
    """What `robust` found; `to_dict()` is the `robust --json` contract."""

    scenario: str
    samples: int
    seed: int
    sampler: str
    objective: Objective
    improvement_ids: tuple[str, ...]
    locations: tuple[str, ...]
    draws: Draws
    fresh: Draws
    optima: tuple[DrawOptimum, ...]
    nominal: Plan
    nominal_in_sample: PlanOnDraws
    nominal_out_of_sample: PlanOnDraws
    robust_method: str  # "milp" (one exact MILP over the sample) or "best_of_draws"
    robust_status: str  # the MILP's status, or "best_of_draws"
    robust_in_sample: PlanOnDraws
    robust_out_of_sample: PlanOnDraws
    distinct_plans: int
    warnings: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)
    workers: int = 1
    compared: tuple[PlanOnDraws, ...] = ()  # other plans (alternatives), on the fresh draws

    @property
    def frequency(self) -> dict[str, stats.Share]:
        counts = Counter(i for optimum in self.optima for i in optimum.selected)
        return {i: stats.Share(counts.get(i, 0), self.samples) for i in self.improvement_ids}

    @property
    def optimum_gains(self) -> np.ndarray:
        return np.array([o.gain for o in self.optima], dtype=float)

    @property
    def regret(self) -> np.ndarray:
        """Each draw's optimum minus the nominal plan's gain in it (below 0 only where the
        nominal plan breaks a limit of that draw, e.g. its costs drawn higher)."""
        regret: np.ndarray = self.optimum_gains - self.nominal_in_sample.gains
        return regret

    @property
    def within(self) -> stats.Share:
        optimum = self.optimum_gains
        close = self.nominal_in_sample.gains >= optimum - WITHIN * np.abs(optimum) - 1e-9
        return stats.Share(int(close.sum()), self.samples)

    def in_sample_robust(self) -> dict[str, float]:
        gains = self.robust_in_sample.gains
        return {"mean": float(np.mean(gains)),
                "cvar": stats.cvar(gains, self.objective.alpha if
                                   self.objective.kind == "cvar" else 1.0)}

    def saved_draws(self) -> dict[str, Any]:
        """`--save-samples`: every draw's values by location (as error messages name
        them), with what made them and each draw's optimal plan, and the fresh draws the
        out-of-sample figures come from, so anyone can re-check."""
        def rows(draws: Draws) -> list[dict[str, float]]:
            return [dict(zip(self.locations, row.tolist(), strict=True))
                    for row in draws.values]

        return {"seed": self.seed, "sampler": self.sampler, "draws": rows(self.draws),
                "optimal": [list(o.selected) for o in self.optima],
                "fresh": rows(self.fresh)}

    def to_dict(self) -> dict[str, Any]:
        frequency = self.frequency
        regret = self.regret
        nominal = self.nominal_in_sample
        within = self.within
        return {
            "scenario": self.scenario,
            "samples": self.samples,
            "seed": self.seed,
            "sampler": self.sampler,
            "frequency": {i: s.value for i, s in frequency.items()},
            "frequency_ci": {i: list(s.interval) for i, s in frequency.items()},
            "nominal": {
                "selected": list(self.nominal.selected),
                "gain": nominal.summary(),
                "regret": {"mean": float(np.mean(regret)),
                           "p90": float(np.quantile(regret, 0.9))},
                "within_1pct": within.value,
                "at_means": self.nominal.expected_gain,
                "out_of_sample": self.nominal_out_of_sample.out_of_sample(self.objective),
            },
            "robust": {
                "objective": self.objective.label,
                "method": self.robust_method,
                "status": self.robust_status,
                "selected": list(self.robust_in_sample.selected),
                "in_sample": self.in_sample_robust(),
                "gain": self.robust_in_sample.summary(),
                "out_of_sample": self.robust_out_of_sample.out_of_sample(self.objective),
            },
            "standard_errors": {
                "frequency": {i: s.standard_error for i, s in frequency.items()},
                "nominal_gain": stats.distribution_errors(nominal.gains),
                "regret_mean": stats.standard_error(regret),
                "regret_p90": stats.quantile_error(regret, 0.9),
                "within_1pct": within.standard_error,
                "robust_in_sample_mean": stats.standard_error(self.robust_in_sample.gains),
            },
            **({"alternatives": [
                {"selected": list(plan.selected), "gain": plan.summary(),
                 "out_of_sample": plan.out_of_sample(self.objective)}
                for plan in self.compared]} if self.compared else {}),
            "optimal_gain": stats.distribution(self.optimum_gains),
            "distinct_plans": self.distinct_plans,
            "draws_not_proven": sum(1 for o in self.optima if not o.proven),
            "workers": self.workers,
            "seconds": self.seconds,
            "warnings": list(self.warnings),
        }


def parse_objective(text: str) -> Objective:
    """`mean` or `cvar:ALPHA` (0 < ALPHA ≤ 1: the worst share of draws it averages)."""
    if text == "mean":
        return Objective("mean")
    kind, _, value = text.partition(":")
    try:
        alpha = float(value)
    except ValueError:
        alpha = math.nan
    if kind != "cvar" or not 0 < alpha <= 1:
        raise UsageError(f"--objective is mean or cvar:ALPHA with ALPHA in (0, 1] (the "
                         f"worst share of the draws, e.g. cvar:0.1), got {text!r}")
    return Objective("cvar", alpha)


def robust(
    scenario: Scenario,
    *,
    samples: int,
    seed: int | None = None,
    sampler: str = "random",
    objective: Objective | str = "mean",
    executor: Executor | None = None,
    workers: int | None = None,
    time_limit: float = 600.0,
    fresh_samples: int | None = None,
    plugins: CxplanPlugins | None = None,
    compare: Sequence[Sequence[str]] = (),
) -> RobustResult:
    """Monte Carlo over the scenario's distributions: every draw's optimal plan, the
    nominal plan's gain and regret, and a robust plan (module docstring).

    `executor` runs the draws (any `concurrent.futures.Executor`, e.g. a Dask client's
    `get_executor()`; `workers` then only says how many it has); without one, a local
    pool of `workers` processes (default: the cores). `time_limit` bounds the whole run
    (seconds). `fresh_samples` (default `samples`) draws value the plans out of sample.
    The same seed gives the same result whatever runs the draws. `compare`: other plans
    (e.g. `alternatives(...)`'s selections) to value on the fresh draws too.
    """
    began = time.perf_counter()
    deadline = time.time() + time_limit
    plugins = plugins or get_plugin_manager()
    objective = parse_objective(objective) if isinstance(objective, str) else objective
    _check(scenario, samples, sampler, time_limit)
    count = default_workers() if workers is None else workers
    if count < 1:
        raise UsageError(f"--workers must be at least 1, got {count}")
    others = [_known(scenario, plan) for plan in compare]
    if seed is None:
        seed = int(np.random.default_rng().integers(2**32))
    warnings = list(_warnings(scenario, samples, sampler, objective))
    in_rng, out_rng = seeds(seed)
    draws = sample(scenario.uncertainty, samples, sampler, in_rng)
    fresh = sample(scenario.uncertainty, fresh_samples or samples, sampler, out_rng)

    nominal_pipeline = prepare(scenario, plugins=plugins)
    result, _ = solve_pipeline(nominal_pipeline, SolverOptions(
        time_limit=max(deadline - time.time(), 1.0)), time.perf_counter())
    nominal = nominal_pipeline.plan(result)
    seconds = {"nominal": time.perf_counter() - began}

    with _executor(executor, count) as pool:
        mark = time.perf_counter()
        optima = [o for part in map_batches(pool, solve_batch, _batches(scenario, draws,
                                                                        BATCH, deadline),
                                            nominal.selected) for o in part]
        seconds["draws"] = time.perf_counter() - mark
        if any(not o.proven for o in optima):
            warnings.append(f"{sum(not o.proven for o in optima)} draws were not solved to "
                            "proven optimality within the time limit: their plans are the "
                            "best found (raise --time-limit)")
        mark = time.perf_counter()
        candidates = _candidates(nominal.selected, optima)
        in_sample = _evaluate(pool, scenario, draws, candidates, deadline)
        seconds["evaluate"] = time.perf_counter() - mark
        mark = time.perf_counter()
        milp_seconds = max(MILP_AT_LEAST, seconds["draws"])
        chosen, method, status, robust_gains = _robust_plan(
            scenario, draws, objective, candidates, in_sample, deadline, milp_seconds,
            plugins)
        seconds["robust_plan"] = time.perf_counter() - mark
        mark = time.perf_counter()
        plans = [nominal.selected, chosen, *others]
        out = _evaluate(pool, scenario, fresh, plans, deadline)
        seconds["out_of_sample"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - began
    return RobustResult(
        scenario=scenario.title, samples=samples, seed=seed, sampler=sampler,
        objective=objective, improvement_ids=tuple(scenario.improvement_ids),
        locations=tuple(format_path(loc) for loc in draws.locations), draws=draws,
        fresh=fresh,
        optima=tuple(optima), nominal=nominal,
        nominal_in_sample=PlanOnDraws(nominal.selected, in_sample[:, 0]),
        nominal_out_of_sample=PlanOnDraws(nominal.selected, out[:, 0]),
        robust_method=method, robust_status=status,
        robust_in_sample=PlanOnDraws(chosen, robust_gains),
        robust_out_of_sample=PlanOnDraws(chosen, out[:, 1]),
        distinct_plans=len({o.selected for o in optima}), warnings=tuple(warnings),
        seconds=seconds, workers=count,
        compared=tuple(PlanOnDraws(plan, out[:, 2 + k]) for k, plan in enumerate(others)))


def _known(scenario: Scenario, plan: Sequence[str]) -> tuple[str, ...]:
    """A plan's improvements in the scenario's order; unknown ids are a usage error."""
    chosen = set(plan)
    unknown = chosen - set(scenario.improvement_ids)
    if unknown:
        raise UsageError(f"unknown improvement(s) to compare: {', '.join(sorted(unknown))}")
    return tuple(i for i in scenario.improvement_ids if i in chosen)


def _check(scenario: Scenario, samples: int, sampler: str, time_limit: float) -> None:
    if samples < 2:
        raise UsageError(f"--samples must be at least 2, got {samples}")
    if sampler not in SAMPLERS:
        raise UsageError(f"--sampler is one of {', '.join(SAMPLERS)}, got {sampler!r}")
    if not (math.isfinite(time_limit) and time_limit > 0):
        raise UsageError(f"the time limit is a number of seconds above 0, got {time_limit!r}")
    if scenario.horizon is not None:
        raise UsageError("robust works on single-period plans; this scenario has a horizon "
                         "(a roadmap)")
    weights = {name for name, weight in scenario.criteria.items() if weight}
    if weights != {CRITERION} or needs_sequence(scenario.objective):
        raise UsageError("robust plans maximize the expected experience gain: give the "
                         "scenario `criteria: {expected_experience: 1}` (no other criteria, "
                         "no `objective:`) to run it")


def _warnings(scenario: Scenario, samples: int, sampler: str,
              objective: Objective) -> list[str]:
    found = []
    if not scenario.uncertainty:
        found.append("the scenario has no distributions: every draw is the nominal scenario")
    thin = stats.too_few(samples, stats.QUANTILES)
    if objective.kind == "cvar" and samples * objective.alpha < stats.TAIL_DRAWS:
        thin.append(f"cvar:{objective.alpha:g}")
    if thin:
        found.append(f"{samples} draws leave fewer than {stats.TAIL_DRAWS} beyond "
                     f"{', '.join(thin)}: read those figures with their standard errors, "
                     "or draw more")
    if sampler == "sobol" and samples & (samples - 1):
        found.append(f"Sobol' points are balanced in powers of 2; {samples} is not one "
                     f"(e.g. {1 << samples.bit_length()})")
    return found


def _executor(executor: Executor | None, workers: int) -> Any:
    if executor is not None:
        return contextlib.nullcontext(executor)
    return local_pool(workers)


def _batches(scenario: Scenario, draws: Draws, size: int, deadline: float) -> list[Batch]:
    return [Batch(scenario, draws.locations, first, draws.values[first:first + size], deadline)
            for first in range(0, len(draws), size)]


def _evaluate(pool: Executor | None, scenario: Scenario, draws: Draws,
              plans: list[tuple[str, ...]], deadline: float) -> np.ndarray:
    """`gains[d, p]`: the exact gain of `plans[p]` in draw d (evaluations only: larger
    batches than the solves')."""
    parts = map_batches(pool, evaluate_batch, _batches(scenario, draws, EVALUATION_BATCH,
                                                       deadline), plans)
    return np.vstack(parts)


def _candidates(nominal: tuple[str, ...], optima: Sequence[DrawOptimum]
                ) -> list[tuple[str, ...]]:
    """The nominal plan, then every distinct per-draw optimum, most frequent first."""
    counts = Counter(o.selected for o in optima)
    ordered = sorted(counts, key=lambda plan: (-counts[plan], plan))
    return [nominal, *(plan for plan in ordered if plan != nominal)]


def _score(gains: np.ndarray, objective: Objective) -> float:
    if objective.kind == "mean":
        return float(np.mean(gains))
    return stats.cvar(gains, objective.alpha)


def _robust_plan(scenario: Scenario, draws: Draws, objective: Objective,
                 candidates: list[tuple[str, ...]], gains: np.ndarray, deadline: float,
                 most: float, plugins: CxplanPlugins
                 ) -> tuple[tuple[str, ...], str, str, np.ndarray]:
    """(selection, method, status, its gain in each draw): the sample MILP's optimum where
    it fits the time, else the best candidate that respects the limits at the means (or
    the MILP's best plan when it stopped at its time with a better one, status
    `time_limit`). The MILP gets MILP_SHARE of the time left (so that the out-of-sample
    valuation still runs) and at most `most` seconds, building included."""
    feasible = [k for k, plan in enumerate(candidates) if not violations(scenario, plan)]
    best = max(feasible, key=lambda k: (_score(gains[:, k], objective), -k))
    fallback = (candidates[best], "best_of_draws", "best_of_draws", gains[:, best])
    left = min(deadline - time.time(), most / MILP_SHARE)
    nominal = prepare(scenario, plugins=plugins)
    if (build_seconds(nominal, len(draws)) > MILP_SHARE * MILP_SHARE * left
            or nominal.model.problem.numVariables() * len(draws) > MILP_COLUMNS):
        return fallback
    began = time.time()
    concrete = [scenario.drawn(draws.draw(d)) for d in range(len(draws))]
    model = sample_model(scenario, concrete, objective, plugins)
    budget = max(MILP_SHARE * left - (time.time() - began), 0.05)
    session = model.session(SolverOptions(time_limit=budget, threads=1,
                                          sub_mip_heuristics=False, restarts=False))
    result = model.solve(session, list(candidates[best]))
    found = result.selected
    exact = _evaluate(None, scenario, draws, [found], deadline)[:, 0]
    check_agreement("the robust plan's objective over the sample",
                    float(result.objective or 0.0), _score(exact, objective),
                    float(np.mean(np.abs(exact))))
    if result.status != Status.OPTIMAL and _score(exact, objective) <= _score(
            fallback[3], objective):
        return fallback
    return found, "milp", result.status.value, exact


__all__ = ["Objective", "PlanOnDraws", "RobustResult", "parse_objective", "robust"]
