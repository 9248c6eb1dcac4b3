"""What-if questions answered in parallel threads (`cxplan.whatif.parallel`): the same
answers as one after another — the exact ones, by brute force — on forks that leave the
analysis they came from untouched, within one shared deadline."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from cxplan import load_scenario
from cxplan.core.results import MarginalValue
from cxplan.optimizer.highs import stop_flag, stop_when
from cxplan.optimizer.options import SolverOptions
from cxplan.whatif.engine import Analysis, WhatIf
from cxplan.whatif.marginal import marginal_values
from cxplan.whatif.parallel import answer_all, workers_for
from tests.random_scenarios import brute_force, random_scenario, with_limit_raised

SEEDS = range(10)


def _best_gain(data: dict[str, Any]) -> float:
    found = brute_force(data)
    assert found is not None
    return found[0]


def _summary(values: tuple[MarginalValue, ...]) -> list[tuple[str, float, str, bool]]:
    return [(v.limit, round(v.gain, 6), str(v.status), v.binding) for v in values]


@pytest.mark.parametrize("seed", SEEDS)
def test_marginal_values_in_parallel_equal_one_after_another_and_brute_force(
        seed: int) -> None:
    data = random_scenario(seed)
    if brute_force(data) is None:
        pytest.skip("this random scenario has no feasible plan")
    scenario = load_scenario(data)
    analysis = Analysis(scenario)
    best = analysis.optimum()
    parallel = marginal_values(analysis, best, workers=2)
    serial = marginal_values(Analysis(scenario), best.selected, workers=1)
    assert _summary(parallel.values) == _summary(serial.values)
    base = _best_gain(data)
    for value in parallel.values:
        if value.status == "unused":
            continue
        expected = _best_gain(with_limit_raised(data, value.limit, value.step)) - base
        assert value.gain == pytest.approx(max(expected, 0.0), rel=1e-6, abs=1e-6), value


def _state(analysis: WhatIf) -> tuple[np.ndarray, ...]:
    s = analysis.session
    return (s.row_lower.copy(), s.row_upper.copy(), s.lower.copy(), s.upper.copy())


def test_forks_leave_the_analysis_they_came_from_as_it_was() -> None:
    scenario = load_scenario(random_scenario(3))
    analysis = Analysis(scenario)
    best = analysis.optimum()
    before = _state(analysis)
    marginal_values(analysis, best, workers=2)
    for now, then in zip(_state(analysis), before, strict=True):
        assert np.array_equal(now, then)
    assert (analysis.budget, analysis.teams) == (scenario.budget, dict(scenario.teams))
    assert analysis.solve(best.selected).objective == pytest.approx(best.objective)


def test_a_fork_solves_under_its_own_limits_and_the_original_under_its_own() -> None:
    data = random_scenario(5)
    scenario = load_scenario(data)
    analysis = Analysis(scenario)
    fork = analysis.fork(SolverOptions(threads=1))
    assert fork.session.highs is not analysis.session.highs
    with fork.limits(budget=scenario.budget * 2):
        wide = fork.solve()
    narrow = analysis.solve()
    assert narrow.objective == pytest.approx(_best_gain(data), rel=1e-6, abs=1e-6)
    assert wide.objective == pytest.approx(
        _best_gain(with_limit_raised(data, "budget", scenario.budget)), rel=1e-6, abs=1e-6)


def test_questions_share_the_deadline_in_rounds_of_one_per_worker() -> None:
    """Four questions, two workers, 4 s: the first two get half of what is left each (two
    rounds to go), the last two what the first round left (these questions take no time:
    all of it)."""
    analysis = Analysis(load_scenario(random_scenario(1)))
    given: list[float] = []

    def question(solver: WhatIf, seconds: float) -> float:
        given.append(seconds)
        return seconds

    answers = answer_all(analysis, [question] * 4, deadline=time.perf_counter() + 4.0,
                         workers=2)
    assert len(answers) == 4
    first, last = sorted(given)[:2], sorted(given)[2:]
    assert all(1.5 < s <= 2.0 for s in first), given
    assert all(3.0 < s <= 4.0 for s in last), given
    capped = answer_all(analysis, [question] * 2, deadline=time.perf_counter() + 50.0,
                        per_solve=0.5, workers=2)
    assert capped == [0.5, 0.5]


def test_an_error_in_one_question_stops_the_others_and_is_raised_once_they_end() -> None:
    """One question fails while another is busy for up to 60 s: the busy one is told to
    stop at once (its thread's stop flag, which its solves obey: see the next test), the
    error is raised, no worker thread is left."""
    analysis = Analysis(load_scenario(random_scenario(3)))

    def busy(solver: WhatIf, seconds: float) -> bool:
        flag = stop_flag()
        assert flag is not None
        return flag.wait(60)  # what a solve's interrupt callback polls

    def broken(solver: WhatIf, seconds: float) -> bool:
        time.sleep(0.2)
        raise ValueError("this question fails")

    began = time.perf_counter()
    with pytest.raises(ValueError, match="this question fails"):
        answer_all(analysis, [busy, broken], deadline=time.perf_counter() + 60, workers=2)
    assert time.perf_counter() - began < 30
    assert not [t for t in threading.enumerate() if t.name.startswith("cxplan-whatif")]


def test_the_calling_threads_stop_flag_stops_the_workers_solves() -> None:
    """A live page's Stop (`stop_when`) reaches the re-solves running in worker threads:
    with the flag already set, each ends at once with the plan it started from."""
    scenario = load_scenario(random_scenario(3))
    analysis = Analysis(scenario, SolverOptions(start_method="greedy"))
    best = analysis.optimum()
    stop = threading.Event()
    stop.set()
    with stop_when(stop):
        stopped = marginal_values(analysis, best, workers=2)
    solved = [v for v in stopped.values if v.status != "unused"]
    assert solved and all(v.status in ("time_limit", "optimal") for v in solved)
    assert any(v.status == "time_limit" for v in solved)


def test_several_solver_threads_asked_for_keep_the_solves_one_after_another() -> None:
    analysis = Analysis(load_scenario(random_scenario(1)), SolverOptions(threads=2))
    assert workers_for(analysis, 4) == 1
    assert workers_for(Analysis(load_scenario(random_scenario(1))), 4) >= 1
