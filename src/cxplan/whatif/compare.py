"""Several scenarios (typically variants of one base) solved and set side by side.

Each scenario is optimized on its own (`cxplan.optimize`); improvements are matched by
id, so the comparison says which ones each variant adds to or drops from the first
scenario's plan. A variant that changes the journey itself (a failure probability, the
customers) changes its baseline too, so its gain is measured from another starting point:
the planned value is what compares across variants, and the comparison says so when the
gain and the planned value point different ways.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxplan.core.results import Plan
from cxplan.scenario.models import Scenario
from cxplan.text import format_money
from cxplan.whatif.engine import difference, undone_warnings

SAME = 1e-9  # relative: differences smaller than this are no difference


@dataclass(frozen=True)
class Entry:
    source: str  # where the scenario was read from
    title: str  # its name (with its file's name when another scenario has the same name)
    plan: Plan

    @property
    def short(self) -> str:
        """For file names: the file name without folder and extension (or the title)."""
        if self.source.startswith("<"):
            return self.title
        return Path(self.source).stem

    @property
    def file(self) -> str:
        """The file's name without its folders ("" for a scenario built in memory)."""
        return "" if self.source.startswith("<") else Path(self.source).name


@dataclass(frozen=True)
class Difference:
    """One scenario's plan against the first scenario's."""

    title: str
    added: tuple[str, ...]
    dropped: tuple[str, ...]
    gain_change: float  # expected gain minus the first plan's
    cost_change: float
    planned_value_change: float  # planned value minus the first plan's
    baseline_change: float  # baseline value minus the first plan's (the journey changed)


@dataclass(frozen=True)
class Comparison:
    entries: tuple[Entry, ...]
    # The scenario files the time limit left no time to solve (not in `entries`).
    skipped: tuple[str, ...] = ()

    @property
    def unproven(self) -> tuple[str, ...]:
        """The titles of the plans not proven optimal (stopped by the time limit)."""
        return tuple(e.title for e in self.entries if not e.plan.status.solved)

    @property
    def warnings(self) -> tuple[str, ...]:
        return undone_warnings(
            self.skipped, self.unproven, work="solve these scenarios, not compared",
            stopped="plans stopped at the time limit before being proven optimal (each "
                    "gives its status and gap)")

    @property
    def differences(self) -> tuple[Difference, ...]:
        first = self.entries[0].plan
        found = []
        for e in self.entries:
            added, dropped = difference(first.selected, e.plan.selected)
            found.append(Difference(e.title, added, dropped,
                                    e.plan.expected_gain - first.expected_gain,
                                    e.plan.cost - first.cost,
                                    e.plan.planned_value - first.planned_value,
                                    e.plan.baseline_value - first.baseline_value))
        return tuple(found)

    @property
    def notes(self) -> tuple[str, ...]:
        """Where the gain and the planned value of a variant point different ways (its
        baseline changed): a sentence each, saying which to read."""
        first = self.entries[0]
        found = []
        for e, d in zip(self.entries[1:], self.differences[1:], strict=True):
            scale = max(1.0, abs(first.plan.planned_value), abs(e.plan.planned_value))
            gain, value = d.gain_change, d.planned_value_change
            if abs(gain) <= SAME * scale or abs(value) <= SAME * scale or (gain > 0) == (
                    value > 0):
                continue
            cur = e.plan.currency
            found.append(
                f"{e.title} gains {'more' if gain > 0 else 'less'} than {first.title} "
                f"({format_money(gain, cur, sign=True)}) but ends with a "
                f"{'higher' if value > 0 else 'lower'} planned value "
                f"({format_money(value, cur, sign=True)}): its journey starts from a baseline "
                f"{format_money(abs(d.baseline_change), cur)} "
                f"{'higher' if d.baseline_change > 0 else 'lower'}, so compare the planned "
                "values.")
        return tuple(found)

    @property
    def objective_differs(self) -> bool:
        """Whether any plan's objective is not its expected gain (other criteria count)."""
        return any(abs(e.plan.objective - e.plan.expected_gain)
                   > SAME * max(1.0, abs(e.plan.expected_gain)) for e in self.entries)

    @property
    def teams(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for e in self.entries for t in e.plan.teams))

    @property
    def criteria(self) -> tuple[str, ...]:
        names = tuple(dict.fromkeys(c for e in self.entries for c in e.plan.criteria))
        return names if names != ("expected_experience",) else ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenarios": [{"source": e.source, "name": e.title, **e.plan.to_dict()}
                          for e in self.entries],
            "differences": [
                {"scenario": d.title, "against": self.entries[0].title, "added": list(d.added),
                 "dropped": list(d.dropped), "gain_change": d.gain_change,
                 "cost_change": d.cost_change, "planned_value_change": d.planned_value_change,
                 "baseline_change": d.baseline_change}
                for d in self.differences[1:]],
            "notes": list(self.notes),
            "skipped": list(self.skipped), "unproven": list(self.unproven),
            "warnings": list(self.warnings),
        }


def compare(scenarios: Sequence[Scenario], plans: Sequence[Plan],
            skipped: Sequence[str] = ()) -> Comparison:
    """Put already solved plans side by side (in the order given; the first is the base).
    `skipped`: the sources of scenarios left unsolved (the time limit), named in warnings."""
    titles = [s.title for s in scenarios]
    # Variants often keep their base's name: tell them apart by file name.
    unique = [t if titles.count(t) == 1 else f"{t} ({Path(s.source).name})"
              for t, s in zip(titles, scenarios, strict=True)]
    return Comparison(tuple(Entry(s.source, t, p)
                            for s, t, p in zip(scenarios, unique, plans, strict=True)),
                      tuple(skipped))
