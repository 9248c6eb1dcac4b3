"""What a result's `status` says: a word of the JSON contract, compared as an enum."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """How a plan (or a what-if answer) was found. A `str`: JSON and text show the word."""

    OPTIMAL = "optimal"  # proven within the requested relative gap
    TIME_LIMIT = "time_limit"  # the best plan found before the time limit, with its gap if any
    INFEASIBLE = "infeasible"  # no selection meets every constraint
    EVALUATED = "evaluated"  # a given selection, evaluated exactly, not solved
    UNUSED = "unused"  # a limit no improvement uses (marginal values): nothing to solve
