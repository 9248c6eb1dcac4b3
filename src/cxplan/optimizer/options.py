"""How to run the solver (`SolverOptions`) and what a running solve reports (`Progress`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


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

    def __post_init__(self) -> None:
        if self.start_method not in ("auto", "greedy", "relaxation"):
            raise ValueError(f"start_method must be 'auto', 'greedy' or 'relaxation', "
                             f"not {self.start_method!r}")


@dataclass(frozen=True)
class Progress:
    """A snapshot of a running solve, for progress displays."""

    seconds: float
    incumbent: float | None  # best plan's objective so far
    bound: float | None  # proven upper bound on the objective
    gap: float | None
    nodes: int


ProgressCallback = Callable[[Progress], None]
