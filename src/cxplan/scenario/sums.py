"""Probabilities that should add up to at most 1 and exceed it by rounding.

Shares copied from a spreadsheet (0.333 + 0.333 + 0.3341) often add up to a little more
than 1. Up to `ROUNDING` over, a group (a map of entry probabilities, or the edges out of
one touchpoint) is read as the shares it was meant to be: scaled to sum to exactly 1, with
a warning naming the exact sum. More than that is an error (`cxplan.scenario.checks`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from typing import Any

from cxplan.scenario.source import Path_

SUM_TOLERANCE = 1e-9  # floating-point noise: no word about it
ROUNDING = 1e-4  # beyond floating-point noise, up to this: rounding, scaled with a warning

Warn = Callable[[Path_, str, str | None], None]


def exact_sum(total: float) -> str:
    """A sum as a message shows it: enough digits to see how far from 1 it is."""
    return f"{total:.10g}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) and 0.0 <= number <= 1.0 else None


def _groups(data: dict[str, Any]) -> Iterator[tuple[Path_, str, list[Path_]]]:
    """(where, what, the paths of the probabilities) of every group that sums to ≤ 1."""
    def entry(where: Path_, value: Any) -> Iterator[tuple[Path_, str, list[Path_]]]:
        if isinstance(value, dict):
            yield where, "entry probabilities", [(*where, key) for key in value]

    def edges(where: Path_, value: Any, who: str) -> Iterator[tuple[Path_, str, list[Path_]]]:
        if not isinstance(value, list):
            return
        by_source: dict[str, list[Path_]] = {}
        for i, edge in enumerate(value):
            if isinstance(edge, dict) and isinstance(edge.get("from"), str):
                by_source.setdefault(edge["from"], []).append((*where, i, "probability"))
        for source, paths in by_source.items():
            yield paths[0][:-1], f"edges out of '{source}'{who}", paths

    journey = data.get("journey")
    if isinstance(journey, dict):
        yield from entry(("journey", "entry"), journey.get("entry"))
        yield from edges(("journey", "edges"), journey.get("edges"), "")
    personas = data.get("personas")
    for i, persona in enumerate(personas if isinstance(personas, list) else []):
        if isinstance(persona, dict):
            who = f" for persona '{persona.get('id')}'" if persona.get("id") else ""
            yield from entry(("personas", i, "entry"), persona.get("entry"))
            yield from edges(("personas", i, "edges"), persona.get("edges"), who)


def _get(data: Any, path: Path_) -> Any:
    for key in path:
        data = data[key]
    return data


def scale_rounded_sums(data: dict[str, Any], warn: Warn) -> dict[str, Any]:
    """`data` with every group of probabilities that sums to just over 1 (by at most
    `ROUNDING`) scaled to sum to 1, each with a warning; `data` itself is not changed."""
    scaled = data
    for where, what, paths in _groups(data):
        values = [_number(_get(data, path)) for path in paths]
        if any(value is None for value in values):
            continue  # a bad value: the models report it
        total = math.fsum(v for v in values if v is not None)
        if not 1.0 + SUM_TOLERANCE < total <= 1.0 + ROUNDING:
            continue
        if scaled is data:  # copy only what may be scaled: a scenario can be large
            scaled = {**data, **{key: copy.deepcopy(data[key])
                                 for key in ("journey", "personas") if key in data}}
        for path, value in zip(paths, values, strict=True):
            assert value is not None
            _get(scaled, path[:-1])[path[-1]] = value / total
        warn(where, f"{what} sum to {exact_sum(total)}, a little more than 1: read as "
             "rounded shares and scaled to sum to 1",
             "make them add up to 1 (or less: the rest never starts, or completes the "
             "journey) to silence this warning")
    return scaled
