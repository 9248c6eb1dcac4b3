"""What a result's `status` says: a word of the JSON contract, compared as an enum."""

from __future__ import annotations

from enum import StrEnum

# "optimal" means proven within this relative gap on the gain, whatever gap was asked for.
PROVEN_GAP = 1e-6


class Status(StrEnum):
    """How a plan (or a what-if answer) was found. A `str`: JSON and text show the word."""

    OPTIMAL = "optimal"  # proven within PROVEN_GAP (1e-6) of the best possible
    GAP_LIMIT = "gap_limit"  # stopped, as asked, at a looser relative gap (--gap), with it
    TIME_LIMIT = "time_limit"  # the best plan found before the time limit, with its gap if any
    INFEASIBLE = "infeasible"  # no selection meets every constraint
    EVALUATED = "evaluated"  # a given selection, evaluated exactly, not solved
    UNUSED = "unused"  # a limit no improvement uses (marginal values): nothing to solve

    @property
    def solved(self) -> bool:
        """A plan proven within a gap: `optimal` or `gap_limit`."""
        return self in (Status.OPTIMAL, Status.GAP_LIMIT)


def combined(statuses: list[Status]) -> Status:
    """The status of several solves taken together: the weakest of them."""
    for weaker in (Status.TIME_LIMIT, Status.GAP_LIMIT):
        if weaker in statuses:
            return weaker
    return Status.OPTIMAL
