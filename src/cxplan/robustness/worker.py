"""What runs per draw, in a worker process (local or on a Dask worker): the exact optimal
plan of each draw, and the exact gain of given plans on each draw.

The per-draw path builds the draw's hull model and solves it with one HiGHS thread,
started from the nominal plan where it fits; nothing else (no ranking, no report, no
re-reading: the scenario arrives once per worker and is kept). Every plan's gain is the
independent Markov evaluator's, and the solver's value must agree with it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from cxplan.core.evaluation import check_agreement
from cxplan.core.journey import build_journey
from cxplan.core.selection import violations
from cxplan.core.status import Status
from cxplan.optimizer.options import SolverOptions
from cxplan.optimizer.pipeline import prepare
from cxplan.plugins.manager import get_plugin_manager
from cxplan.scenario.models import Scenario
from cxplan.scenario.source import Path_

CRITERION = "expected_experience"
MIN_SOLVE = 0.5  # seconds for a draw none of whose known plans fits, after the time limit
KNOWN_PLANS = 16  # the latest distinct optima a worker tries as the next draw's start


@dataclass(frozen=True)
class Batch:
    """Draws to solve or evaluate: `rows[k]` are the values at `locations` of draw
    `first + k` of `scenario` (a small object: it travels with every batch)."""

    scenario: Scenario
    locations: tuple[Path_, ...]
    first: int
    rows: np.ndarray
    deadline: float  # time.time() by which the command must end


@dataclass(frozen=True)
class DrawOptimum:
    """The exact optimal plan of one draw, and the nominal plan's gain in it."""

    selected: tuple[str, ...]
    gain: float
    proven: bool  # False: the solve hit the command's time limit (best plan found)
    nominal_gain: float
    seconds: float


def solve_batch(batch: Batch, nominal: tuple[str, ...]) -> list[DrawOptimum]:
    """The optimum of every draw in `batch` (`nominal`: the plan at the means). Each
    solve starts from the best plan known (the nominal plan and the latest optima) that
    respects the draw's limits. Once the command's time is up, a draw is not solved: its
    plan is that start, not proven optimal."""
    plugins = get_plugin_manager()
    outcomes: list[DrawOptimum] = []
    known = [nominal]
    for row in batch.rows:
        began = time.perf_counter()
        scenario = batch.scenario.drawn(dict(zip(batch.locations, row.tolist(), strict=True)))
        left = batch.deadline - time.time()
        fitting = [plan for plan in known if not violations(scenario, plan)]
        if left <= 0 and fitting:
            journey = build_journey(scenario)
            baseline = journey.evaluate(()).value
            best = max(fitting, key=lambda plan: journey.evaluate(plan).value)
            outcomes.append(DrawOptimum(
                best, journey.evaluate(best).value - baseline, False,
                journey.evaluate(nominal).value - baseline, time.perf_counter() - began))
            continue
        prepared = prepare(scenario, plugins=plugins)
        journey = prepared.journey
        baseline = journey.evaluate(()).value
        session = prepared.session(SolverOptions(time_limit=max(left, MIN_SOLVE), threads=1,
                                                 sub_mip_heuristics=False, restarts=False))
        start = (list(max(fitting, key=lambda plan: journey.evaluate(plan).value))
                 if fitting else prepared.first(max(left, MIN_SOLVE) / 4))
        result = prepared.solve(session, start)
        term = prepared.model.terms[CRITERION]
        if result.selected not in known:
            known = [result.selected, *known[:KNOWN_PLANS - 1]]
        evaluation = journey.evaluate(result.selected)
        gain = evaluation.value - baseline
        check_agreement(f"the optimum of draw {batch.first + len(outcomes) + 1}",
                        result.value_of(term), gain,
                        abs(baseline) + abs(evaluation.value))
        outcomes.append(DrawOptimum(
            result.selected, gain, result.status == Status.OPTIMAL,
            journey.evaluate(nominal).value - baseline, time.perf_counter() - began))
    return outcomes


def evaluate_batch(batch: Batch, plans: list[tuple[str, ...]]) -> np.ndarray:
    """`gains[k, p]`: the exact gain of `plans[p]` in draw `first + k`."""
    gains = np.zeros((len(batch.rows), len(plans)))
    for k, row in enumerate(batch.rows):
        scenario = batch.scenario.drawn(dict(zip(batch.locations, row.tolist(), strict=True)))
        journey = build_journey(scenario)
        baseline = journey.evaluate(()).value
        gains[k] = [journey.evaluate(plan).value - baseline for plan in plans]
    return gains
