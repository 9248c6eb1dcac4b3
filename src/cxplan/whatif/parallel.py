"""Independent what-if questions answered in parallel, one HiGHS thread each.

Marginal values ask several questions of one plan (the budget raised, each team with one
more person, each plugin constraint lifted); each is a re-solve of the same model with one
limit changed, and none depends on another. HiGHS releases Python's GIL while it solves,
so threads answer them side by side, each on its own fork of the analysis
(`WhatIf.fork`: a HiGHS instance of its own, set to one thread).

The questions share one deadline. A question starting when `r` questions (itself
included) are still waiting for `w` workers gets an equal share of what is left:
(deadline − now) / ⌈r / w⌉ — so the last round is not starved by the first.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

from cxplan.optimizer.highs import stop_flag, stop_when
from cxplan.optimizer.options import machine_cores
from cxplan.whatif.engine import WhatIf

T = TypeVar("T")
Question = Callable[[WhatIf, float], T]  # (the analysis to solve in, seconds allowed)


def workers_for(analysis: WhatIf, questions: int) -> int:
    """How many threads answer `questions` questions: one per core, at most one per
    question; one when the user gave HiGHS several threads (those solves then run one
    after another with that many threads, as asked)."""
    if analysis.options.solver_threads > 1:
        return 1
    return max(1, min(machine_cores(), questions))


def answer_all(analysis: WhatIf, questions: Sequence[Question[T]], *, deadline: float,
               per_solve: float | None = None, workers: int | None = None) -> list[T]:
    """Every question's answer, in order, all before `deadline` (a `time.perf_counter()`
    value); `per_solve` caps each question's seconds.

    With one worker the questions run in `analysis` itself, one after another. With more,
    the first worker uses `analysis` and the others forks of it; every solve in them stops
    when the calling thread's stop flag is set (`cxplan.optimizer.highs.stop_when`). An
    error in any question (or an interrupt of the caller) stops the others' solves at once
    and is raised here once every worker has ended.
    """
    count = len(questions)
    workers = workers_for(analysis, count) if workers is None else max(1, min(workers, count))
    if count == 0:
        return []
    pending = iter(range(count))
    lock = threading.Lock()

    def seconds_for_next() -> tuple[int, float] | None:
        with lock:
            index = next(pending, None)
        if index is None:
            return None
        # the questions from this one on (handed out in order) are still waiting
        share = max(deadline - time.perf_counter(), 0.0) / math.ceil((count - index) / workers)
        return index, share if per_solve is None else min(share, per_solve)

    answers: list[T | None] = [None] * count
    if workers == 1:
        while (task := seconds_for_next()) is not None:
            answers[task[0]] = questions[task[0]](analysis, task[1])
        return _complete(answers)

    single = dataclasses.replace(analysis.options, threads=1)
    solvers = [analysis if analysis.options.solver_threads == 1 else analysis.fork(single)]
    solvers += [analysis.fork(single) for _ in range(workers - 1)]
    # Set when one question fails or the caller is interrupted (Ctrl-C): the other
    # workers' solves stop at once instead of running to the deadline.
    halt = _Linked(stop_flag())

    def work(solver: WhatIf) -> None:
        with stop_when(halt):
            # a caller's stop still answers each question (its solves stop at once)
            while not halt.halted and (task := seconds_for_next()) is not None:
                answers[task[0]] = questions[task[0]](solver, task[1])

    # Threads of their own for each call: HiGHS binds a thread's scheduler to the thread
    # count of its first solve there, and refuses another count later in that thread.
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cxplan-whatif")
    try:
        futures = [pool.submit(work, solver) for solver in solvers]
        for future in as_completed(futures):
            future.result()  # raises a worker's error
    except BaseException:
        halt.set()
        raise
    finally:
        pool.shutdown(wait=True)
    return _complete(answers)


class _Linked(threading.Event):
    """An event that also counts as set when `parent` (the caller's stop flag) is."""

    def __init__(self, parent: threading.Event | None) -> None:
        super().__init__()
        self.parent = parent

    def is_set(self) -> bool:
        return self.halted or (self.parent is not None and self.parent.is_set())

    @property
    def halted(self) -> bool:
        """Whether this event itself is set (not only its parent)."""
        return super().is_set()


def _complete(answers: list[T | None]) -> list[T]:
    missing = [i for i, a in enumerate(answers) if a is None]
    if missing:
        raise RuntimeError(f"questions {missing} were not answered")
    return [a for a in answers if a is not None]
