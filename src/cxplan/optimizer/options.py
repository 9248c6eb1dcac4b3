"""How to run the solver (`SolverOptions`) and what a running solve reports (`Progress`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from cxplan.errors import UsageError

MAX_TIME_LIMIT = 1e7  # seconds (about 4 months): beyond any meeting, within HiGHS's range


@dataclass(frozen=True)
class SolverOptions:
    """How to run HiGHS. `gap` is the relative MIP gap on the objective (the gain)."""

    time_limit: float = 60.0
    gap: float = 1e-6
    threads: int = 1
    seed: int = 0
    node_limit: int | None = None  # stops like a time limit (status "time_limit"); for tests
    # How `optimize` finds its first plan: "greedy" (lazy greedy on exact marginal gains),
    # "relaxation" (the LP relaxation rounded, filled and searched around, which also
    # proves a bound: cxplan.optimizer.relaxation), or "auto" (relaxation from
    # `cxplan.optimizer.relaxation.RELAXATION_FROM` improvements on).
    start_method: str = "auto"
    # HiGHS's sub-MIP heuristics (RINS, RENS, root reduced cost) look for better plans, and
    # its restarts redo the root after fixing columns; given a start that is often optimal
    # already (`cxplan robust`'s per-draw solves) both only cost time. CPU seconds per draw
    # of scenarios/microfinance-uncertain.yaml (16 draws): 0.31 with both, 0.32 without
    # the heuristics, 0.18 without either.
    sub_mip_heuristics: bool = True
    restarts: bool = True

    def __post_init__(self) -> None:
        if self.start_method not in ("auto", "greedy", "relaxation"):
            raise UsageError(f"start_method must be 'auto', 'greedy' or 'relaxation', "
                             f"not {self.start_method!r}")
        if not (math.isfinite(self.time_limit) and 0 < self.time_limit <= MAX_TIME_LIMIT):
            raise UsageError(f"the time limit is a number of seconds above 0 and at most "
                             f"{MAX_TIME_LIMIT:g}, got {self.time_limit!r}")
        if not (math.isfinite(self.gap) and 0 <= self.gap < 1):
            raise UsageError(f"the gap is a share from 0 to below 1 (1e-6 by default), got "
                             f"{self.gap!r}")
        if self.threads < 1:
            raise UsageError(f"threads must be at least 1, got {self.threads!r}")
        if self.node_limit is not None and self.node_limit < 0:
            raise UsageError(f"the node limit must be ≥ 0, got {self.node_limit!r}")


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running solve, for progress displays."""

    seconds: float
    incumbent: float | None  # best plan's objective so far
    bound: float | None  # proven upper bound on the objective
    gap: float | None
    nodes: int


ProgressCallback = Callable[[Progress], None]
