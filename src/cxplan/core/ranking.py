"""The order in which to fund a plan's improvements, and each one's part of the gain.

Quick wins first: the next improvement (with the prerequisites it still needs) is the one
with the highest exact incremental gain per unit of resource; each improvement's part is
its exact incremental gain at its place, so the parts add up to the plan's gain.
"""

from __future__ import annotations

from cxplan.core.journey import Journey
from cxplan.core.selection import Resources
from cxplan.scenario.models import Scenario

EXACT_ORDER_LIMIT = 60  # up to this many selected: re-score every candidate at every step
EXACT_PARTS_LIMIT = 400  # up to this many: one exact evaluation per improvement


def rank(
    scenario: Scenario, journey: Journey, selection: tuple[str, ...]
) -> list[tuple[str, float]]:
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

    if len(selection) <= EXACT_ORDER_LIMIT:
        current = journey.evaluate(placed).value

        def ratio(members: list[str]) -> float:
            gain = journey.evaluate((*placed, *members)).value - current
            return gain / resources.weight(members)

        while len(placed) < len(chosen):
            candidates = [i for i in remaining if i not in placed]
            best = max(candidates, key=lambda i: (ratio(bundle(i)), -position[i]))
            placed.extend(bundle(best))
            current = journey.evaluate(placed).value
        return _exact_parts(journey, placed)

    estimate = journey.first_order_gains()
    for imp_id in sorted(remaining, key=lambda i: (-estimate[i] / resources.weight([i]),
                                                   position[i])):
        placed.extend(bundle(imp_id))
    if len(placed) <= EXACT_PARTS_LIMIT:
        return _exact_parts(journey, placed)
    return _grouped_parts(journey, placed, estimate)


def _exact_parts(journey: Journey, order: list[str]) -> list[tuple[str, float]]:
    parts, current = [], journey.evaluate(()).value
    for k, imp_id in enumerate(order):
        value = journey.evaluate(order[:k + 1]).value
        parts.append((imp_id, value - current))
        current = value
    return parts


def _grouped_parts(
    journey: Journey, order: list[str], estimate: dict[str, float]
) -> list[tuple[str, float]]:
    size = -(-len(order) // EXACT_PARTS_LIMIT)
    parts: list[tuple[str, float]] = []
    current = journey.evaluate(()).value
    for start in range(0, len(order), size):
        group = order[start:start + size]
        value = journey.evaluate(order[:start + len(group)]).value
        weights = [max(estimate.get(i, 0.0), 0.0) for i in group]
        total = sum(weights)
        for imp_id, weight in zip(group, weights, strict=True):
            share = weight / total if total > 0 else 1.0 / len(group)
            parts.append((imp_id, (value - current) * share))
        current = value
    return parts
