"""The order in which to fund a plan's improvements, and each one's part of the gain.

Quick wins first: the next improvement (with the prerequisites it still needs) is the one
with the highest exact incremental gain per unit of resource; each improvement's part is
its exact incremental gain at its place, so the parts add up to the plan's gain.

With a deadline, the work is planned from the cost of one evaluation
(`Journey.evaluation_seconds`) and reduced to what fits: the order from first-order
estimates instead of exact re-scoring, fewer exact groups of parts; `Ranking.reduced`
then says what was simplified. The parts always add up to the plan's gain.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cxplan.core.journey import Journey
from cxplan.core.selection import Resources
from cxplan.scenario.models import Scenario

EXACT_ORDER_LIMIT = 60  # up to this many selected: re-score every candidate at every step
EXACT_PARTS_LIMIT = 400  # up to this many: one exact evaluation per improvement


@dataclass(frozen=True)
class Ranking:
    """A selection in funding order with each improvement's part of the gain."""

    parts: list[tuple[str, float]]
    reduced: str | None = None  # what was simplified to meet the deadline, as a sentence


def rank(
    scenario: Scenario, journey: Journey, selection: tuple[str, ...]
) -> list[tuple[str, float]]:
    """`ranking` without a deadline: the parts only."""
    return ranking(scenario, journey, selection).parts


def ranking(
    scenario: Scenario, journey: Journey, selection: tuple[str, ...], *,
    deadline: float | None = None,
) -> Ranking:
    """Order a selection and split its gain along that order.

    Mandatory improvements come first (they are not a choice), then quick wins: the next
    *bundle* — an improvement together with the prerequisites it still needs — is the one
    with the highest incremental gain per unit of resource (budget and staff shares), so
    a cheap enabler is ranked by what it unlocks; within a bundle prerequisites come
    first. Each improvement's part is its exact incremental gain at its place, so the
    parts add up to the plan's gain.

    Scaling: up to 60 selected, every candidate is re-scored exactly at every step. Up to
    400, the order comes from one first-order estimate per improvement
    (`Journey.first_order_gains`) and the parts are still exact. Above 400 the ordered
    plan is cut into 400 consecutive groups whose gains are exact; within a group the
    gain is split in proportion to the estimates.

    `deadline` (a `time.perf_counter()` value): exact re-scoring only if its evaluations
    (about n²/2) fit in half the time left, and only as many exact groups as fit in it
    (at least one: the whole selection, evaluated already by the plan).
    """
    resources = Resources(scenario)
    chosen = set(selection)
    requires = {imp.id: [r for r in imp.requires if r in chosen] for imp in scenario.improvements}
    position = {imp_id: k for k, imp_id in enumerate(scenario.improvement_ids)}
    placed: list[str] = []

    def bundle(imp_id: str) -> list[str]:
        """`imp_id` and its unplaced prerequisites, prerequisites first."""
        ordered: list[str] = []

        def visit(node: str) -> None:
            if node in placed or node in ordered:
                return
            for req in sorted(requires[node], key=position.__getitem__):
                visit(req)
            ordered.append(node)

        visit(imp_id)
        return ordered

    for imp in scenario.improvements:
        if imp.mandatory and imp.id in chosen:
            placed.extend(bundle(imp.id))
    remaining = [i for i in scenario.improvement_ids if i in chosen and i not in placed]

    def seconds_left() -> float:
        return float("inf") if deadline is None else deadline - time.perf_counter()

    notes: list[str] = []
    if len(selection) <= EXACT_ORDER_LIMIT:
        rescoring = len(remaining) * (len(remaining) + 1) / 2  # evaluations, about
        if deadline is None or rescoring * journey.evaluation_seconds <= seconds_left() / 2:
            _rescore(journey, resources, remaining, placed, bundle, position, deadline)
            if len(placed) == len(chosen):
                return Ranking(_grouped_parts(journey, placed, {}, len(placed))[0])
        notes.append("ordered by first-order estimates of each improvement's gain rather "
                     "than by exact re-scoring at every step")

    estimate = journey.first_order_gains()
    for imp_id in sorted(remaining, key=lambda i: (-estimate[i] / resources.weight([i]),
                                                   position[i])):
        placed.extend(bundle(imp_id))
    wanted = groups = min(len(placed), EXACT_PARTS_LIMIT)
    if deadline is not None:
        groups = min(groups, max(1, int(seconds_left() / max(journey.evaluation_seconds,
                                                              1e-9))))
    parts, made = _grouped_parts(journey, placed, estimate, groups, deadline)
    if made < wanted:
        notes.append(f"each improvement's part of the gain is exact for {made} "
                     f"consecutive group{'s' if made > 1 else ''} of the order and "
                     "split within a group by first-order estimates")
    if not notes:
        return Ranking(parts)
    return Ranking(parts, "To fit the time limit the plan's order was simplified: "
                   + "; ".join(notes) + " (the parts still add up to the gain).")


def _rescore(journey: Journey, resources: Resources, remaining: list[str], placed: list[str],
             bundle: Callable[[str], list[str]], position: dict[str, int],
             deadline: float | None) -> None:
    """Place the best bundle by exact incremental gain per unit of resource, step by step,
    until all are placed or the deadline passes (the caller places the rest)."""
    current = journey.evaluate(placed).value

    def ratio(members: list[str]) -> float:
        gain = journey.evaluate((*placed, *members)).value - current
        return gain / resources.weight(members)

    candidates = [i for i in remaining if i not in placed]
    while candidates and (deadline is None or time.perf_counter() < deadline):
        best = max(candidates, key=lambda i: (ratio(bundle(i)), -position[i]))
        placed.extend(bundle(best))
        current = journey.evaluate(placed).value
        candidates = [i for i in remaining if i not in placed]


def _grouped_parts(
    journey: Journey, order: list[str], estimate: dict[str, float], groups: int,
    deadline: float | None = None,
) -> tuple[list[tuple[str, float]], int]:
    """Parts exact per group of consecutive improvements (`groups` of them, as even as
    can be), split within a group in proportion to the estimates; one improvement per
    group makes every part exact. Past `deadline` the rest of the order is one last group
    (its value is the whole selection's, which the plan has evaluated). Returns the parts
    and the number of groups made."""
    size = -(-len(order) // groups) if order else 1
    parts: list[tuple[str, float]] = []
    current = journey.evaluate(()).value
    start, made = 0, 0
    while start < len(order):
        if deadline is not None and time.perf_counter() > deadline:
            size = len(order) - start
        group = order[start:start + size]
        value = journey.evaluate(order[:start + len(group)]).value
        weights = [max(estimate.get(i, 0.0), 0.0) for i in group]
        total = sum(weights)
        for imp_id, weight in zip(group, weights, strict=True):
            share = weight / total if total > 0 else 1.0 / len(group)
            parts.append((imp_id, (value - current) * share))
        current, start, made = value, start + len(group), made + 1
    return parts, made
