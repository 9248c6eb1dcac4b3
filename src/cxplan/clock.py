"""One clock for a whole command: the time limit counts from the command's start, and
each phase records how long it took.

`--time-limit` is a promise about the command, not about the solver: reading,
validation, building, solving, marginal values, ranking, Shapley values and the report
share it. Each phase asks the clock what is left and reduces its work (or skips it, with
a warning) rather than run past the limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# A piece of work given less than this is not started (HiGHS cannot even load a model).
MIN_WORK_SECONDS = 0.05

# The command may end this late: the larger of 5 % of the limit and 2 s (small limits
# cannot be cut finer than a process start and a report).
OVERRUN_SHARE = 0.05
OVERRUN_SECONDS = 2.0

# When the running `cxplan` process began its command (`mark_command_start`), so that the
# imports before a command's body (pulp, highspy, scipy: about a second) count too.
_command_started: float | None = None


def mark_command_start(when: float | None) -> None:
    """Record when the running command began (a `time.perf_counter()` value; None: no
    command runs): the console script does, around each command."""
    global _command_started
    _command_started = when


def command_clock(limit: float) -> Clock:
    """The clock of a command with `--time-limit limit`: from the process's start when
    the console script marked it, else from now (a command run inside another program).
    What passed before it (the process's start and imports) is its phase "start"."""
    clock = Clock(limit) if _command_started is None else Clock(limit, began=_command_started)
    clock.record("start", clock.elapsed)
    return clock


@dataclass
class Clock:
    """The time limit of one command (`limit` seconds from `began`, a
    `time.perf_counter()` value) and the seconds each phase took."""

    limit: float
    began: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.began

    @property
    def left(self) -> float:
        """Seconds left before the limit (0 once it has passed)."""
        return max(0.0, self.limit - self.elapsed)

    @property
    def deadline(self) -> float:
        """The limit as a `time.perf_counter()` value."""
        return self.began + self.limit

    @property
    def allowed(self) -> float:
        """The limit with the overrun a command may take (`OVERRUN_SHARE`, at least
        `OVERRUN_SECONDS`)."""
        return self.limit + max(OVERRUN_SHARE * self.limit, OVERRUN_SECONDS)

    def share(self, pending: int = 1, *, cap: float | None = None,
              reserve: float = 0.0) -> float:
        """Seconds for the next of `pending` pieces of work that share what is left (less
        `reserve` kept for what follows them, the output say): an equal part, at most `cap`.
        A piece that finishes early leaves more to the next ones. Below `MIN_WORK_SECONDS`
        the piece should not start (skip it, and say so)."""
        part = max(0.0, self.left - reserve) / max(1, pending)
        return part if cap is None else min(part, cap)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase (added to what earlier phases of that name took)."""
        began = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - began

    def record(self, name: str, seconds: float) -> None:
        """Add a phase timed elsewhere."""
        self.timings[name] = self.timings.get(name, 0.0) + seconds

    def summary(self) -> dict[str, float]:
        """Each phase's seconds and the total so far, rounded to the millisecond."""
        return {**{k: round(v, 3) for k, v in self.timings.items()},
                "total": round(self.elapsed, 3)}
