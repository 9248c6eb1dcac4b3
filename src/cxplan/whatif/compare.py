"""Several scenarios (typically variants of one base) solved and set side by side.

Each scenario is optimized on its own (`cxplan.optimize`); improvements are matched by
id, so the comparison says which ones each variant adds to or drops from the first
scenario's plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxplan.core.results import Plan
from cxplan.scenario.models import Scenario
from cxplan.whatif.engine import difference


@dataclass(frozen=True)
class Entry:
    source: str  # where the scenario was read from
    title: str
    plan: Plan

    @property
    def short(self) -> str:
        """A column heading: the file name without folder and extension (or the title)."""
        if self.source.startswith("<"):
            return self.title
        return Path(self.source).stem


@dataclass(frozen=True)
class Difference:
    """One scenario's plan against the first scenario's."""

    title: str
    added: tuple[str, ...]
    dropped: tuple[str, ...]
    gain_change: float  # expected gain minus the first plan's
    cost_change: float


@dataclass(frozen=True)
class Comparison:
    entries: tuple[Entry, ...]

    @property
    def differences(self) -> tuple[Difference, ...]:
        first = self.entries[0].plan
        found = []
        for e in self.entries:
            added, dropped = difference(first.selected, e.plan.selected)
            found.append(Difference(e.title, added, dropped,
                                    e.plan.expected_gain - first.expected_gain,
                                    e.plan.cost - first.cost))
        return tuple(found)

    @property
    def teams(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for e in self.entries for t in e.plan.teams))

    @property
    def criteria(self) -> tuple[str, ...]:
        names = tuple(dict.fromkeys(c for e in self.entries for c in e.plan.criteria))
        return names if names != ("expected_experience",) else ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenarios": [{"source": e.source, **e.plan.to_dict()} for e in self.entries],
            "differences": [
                {"scenario": d.title, "against": self.entries[0].title, "added": list(d.added),
                 "dropped": list(d.dropped), "gain_change": d.gain_change,
                 "cost_change": d.cost_change}
                for d in self.differences[1:]],
        }


def compare(scenarios: Sequence[Scenario], plans: Sequence[Plan]) -> Comparison:
    """Put already solved plans side by side (in the order given; the first is the base)."""
    titles = [s.title for s in scenarios]
    # Variants often keep their base's name: tell them apart by file.
    unique = [t if titles.count(t) == 1 else f"{t} ({s.source})"
              for t, s in zip(titles, scenarios, strict=True)]
    return Comparison(tuple(Entry(s.source, t, p)
                            for s, t, p in zip(scenarios, unique, plans, strict=True)))
