"""Round numbers for charts: axis steps, ticks and legend breaks that read cleanly."""

from __future__ import annotations

import math

NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × a power of ten that is at least `value` (0 for a
    value ≤ 0)."""
    if value <= 0:
        return 0.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in NICE_STEPS:
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10.0 * power


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high], about `count` steps apart."""
    if high <= low:
        high = low + 1.0
    step = nice_ceiling((high - low) / count)
    ticks = [math.floor(low / step) * step]
    while ticks[-1] < high - step * 1e-9:
        ticks.append(ticks[-1] + step)
    return [round(t, 10) for t in ticks]
