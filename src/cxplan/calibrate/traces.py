"""Customer journeys as observed, and the counts a Markov chain is calibrated from.

`Traces` holds every observed journey as a run of touchpoint visits (events grouped by
case, in order), each case with a weight split into completions and abandonments: an event
log has one case per customer (weight 1), a path file one row per path (its conversions and
nulls). `count` turns them into `Counts`: visits, starts, the directly-follows relation,
how journeys ended and which visits failed, pooled or for one persona. Everything is
vectorized (numpy), so a log of millions of events is counted in a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IntArray = np.ndarray


@dataclass(frozen=True)
class Traces:
    """Observed journeys. Events are grouped by case and ordered within it.

    `event_touchpoint[i]` is the touchpoint (an index into `touchpoints`) of event i,
    `event_case[i]` its case (an index into the per-case arrays; cases appear in runs),
    `event_failed[i]` whether that visit failed. Per case: `completions` and
    `abandonments` (a log's case is 1 and 0, or 0 and 1; a path row its conversions and
    nulls), and `persona` (an index into `personas`, or all 0 without personas).
    """

    touchpoints: list[tuple[str, str]]  # (id, name)
    event_touchpoint: IntArray
    event_case: IntArray
    event_failed: np.ndarray
    completions: np.ndarray
    abandonments: np.ndarray
    persona: IntArray
    personas: list[tuple[str, str]]  # (id, name); empty: no persona column
    failures_marked: bool = False  # the input says which visits failed

    @property
    def case_weight(self) -> np.ndarray:
        weight: np.ndarray = self.completions + self.abandonments
        return weight


@dataclass(frozen=True)
class Counts:
    """What one group of journeys (all of them, or one persona's) did, per touchpoint.

    Every count is a number of journeys or of visits (weighted by the case's weight), so
    they add up: `occurrences[t] = Σ_u follows[t, u] + completions[t] + abandonments[t]`
    and `Σ starts = cases`.
    """

    cases: int
    events: int
    occurrences: IntArray  # visits of each touchpoint
    starts: IntArray  # journeys that began there
    follows: dict[tuple[int, int], int]  # directly-follows: (t, u) -> times u came right after t
    completions: IntArray  # journeys that ended there, completed
    abandonments: IntArray  # journeys that ended there, not completed
    failures: IntArray  # visits that failed
    failed_abandonments: IntArray  # journeys that ended there, not completed, right after a failure

    @property
    def ends(self) -> IntArray:
        ends: IntArray = self.completions + self.abandonments
        return ends


def _ints(values: np.ndarray) -> IntArray:
    # Weights are whole numbers held as floats; sums of them stay exact below 2**53.
    whole: IntArray = np.rint(values).astype(np.int64)
    return whole


def count(traces: Traces, persona: int | None = None) -> Counts:
    """The counts of every journey, or of one persona's (`persona` an index)."""
    n = len(traces.touchpoints)
    tp, case, failed = traces.event_touchpoint, traces.event_case, traces.event_failed
    if persona is not None:
        keep = traces.persona[case] == persona
        tp, case, failed = tp[keep], case[keep], failed[keep]
    weight = traces.case_weight[case]
    if len(case):
        first = np.ones(len(case), dtype=bool)
        first[1:] = case[1:] != case[:-1]
        last = np.ones(len(case), dtype=bool)
        last[:-1] = first[1:]
    else:
        first = last = np.zeros(0, dtype=bool)
    step = ~last  # event i is directly followed by event i + 1 of the same case
    pairs = tp[:-1][step[:-1]].astype(np.int64) * n + tp[1:][step[:-1]]
    keys, inverse = np.unique(pairs, return_inverse=True)
    pair_counts = np.bincount(inverse, weights=weight[:-1][step[:-1]], minlength=len(keys))
    follows = {(int(k // n), int(k % n)): round(c)
               for k, c in zip(keys, pair_counts, strict=True)}
    ending_case = case[last]
    ended_failed = failed[last]
    abandoned = traces.abandonments[ending_case]
    return Counts(
        cases=round(float(traces.case_weight[case[first]].sum())),
        events=round(float(weight.sum())),
        occurrences=_ints(np.bincount(tp, weights=weight, minlength=n)),
        starts=_ints(np.bincount(tp[first], weights=weight[first], minlength=n)),
        follows=follows,
        completions=_ints(np.bincount(tp[last], weights=traces.completions[ending_case],
                                      minlength=n)),
        abandonments=_ints(np.bincount(tp[last], weights=abandoned, minlength=n)),
        failures=_ints(np.bincount(tp, weights=weight * failed, minlength=n)),
        failed_abandonments=_ints(np.bincount(tp[last], weights=abandoned * ended_failed,
                                              minlength=n)),
    )
