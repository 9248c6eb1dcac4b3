"""Each improvement's standalone gain, computed once per journey.

g_j = gain({j}) = Σ_q N_q (E_q({j}) − E_q(∅)): what improvement j changes on its own,
evaluated exactly. Criteria that score improvements one by one (`quick_wins`,
`risk_adjusted`) use these constants, so their model terms stay linear in x.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cxplan.core.journey import Journey

# Keyed by id(): a Journey is not hashable. The weak reference drops the entry with it.
_cache: dict[int, tuple[weakref.ref[Journey], dict[str, float]]] = {}


def standalone_gains(journey: Journey) -> dict[str, float]:
    """{improvement id: its exact standalone gain, in currency}."""
    key = id(journey)
    hit = _cache.get(key)
    if hit is not None and hit[0]() is journey:
        return hit[1]
    base = journey.evaluate(()).value
    gains = {imp: journey.evaluate((imp,)).value - base for imp in journey.effects}
    _cache[key] = (weakref.ref(journey, lambda _: _cache.pop(key, None)), gains)
    return gains
