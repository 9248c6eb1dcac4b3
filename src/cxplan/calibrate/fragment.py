"""Observed counts → a scenario fragment: touchpoints, entry and edge probabilities,
failure and dropout rates, each the observed frequency exactly, with its counts beside it.

The chain reproduces what was observed (docs/calibration.md, "What the numbers mean"):

- entry of t = journeys that started at t / journeys;
- failure_probability of t = failed visits / visits (0 when the input marks no failures);
- dropout of t = journeys abandoned right after a failed visit of t / failed visits of t;
- an edge t → u = times u came right after t / visits of t that did not end in such a
  dropout (the model applies edges to the customers who carry on: docs/model.md), and the
  remainder is completion after t;
- journeys abandoned after a visit that did not fail go on to the touchpoint `abandoned`
  (failure probability 1, dropout 1: everyone reaching it abandons there), the way
  docs/model.md advises modelling customers who walk away.

So the expected visits of the chain equal the observed visits per journey, and its
completion probability equals the observed share of completed journeys (flow conservation).
With `uncertainty`, each value becomes the distribution its counts imply, with the same
mean: a beta for failure and dropout rates, a Dirichlet over the edges out of a touchpoint
and its completions (entry probabilities stay numbers: the format has no Dirichlet for
them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cxplan.calibrate.emit import Document, Flow
from cxplan.calibrate.traces import Counts, Traces, count

ABANDONED = "abandoned"  # the touchpoint of journeys abandoned without a failure
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
MAX_NAME = 200


def clean_name(text: str) -> str:
    """A name from a data file, fit for a scenario: control characters (a terminal escape
    in an activity's name) become spaces, and it is cut to 200 characters."""
    cleaned = " ".join(_CONTROL.sub(" ", text).split())
    return cleaned[:MAX_NAME] or "(unnamed)"


@dataclass(frozen=True)
class Options:
    """How counts become a fragment."""

    name: str
    uncertainty: bool = False


def _rate(part: int, whole: int, uncertainty: bool) -> Any:
    """part / whole, or with `uncertainty` the beta its counts imply (a number when one
    side is empty: a beta needs both parameters above 0)."""
    if uncertainty and 0 < part < whole:
        return Flow({"beta": [part, whole - part]})
    return part / whole if whole else 0.0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


class _Builder:
    def __init__(self, traces: Traces, options: Options) -> None:
        self.traces = traces
        self.options = options
        self.ids = [tp_id for tp_id, _ in traces.touchpoints]
        self.doc = Document(data={})
        self.pooled = count(traces)
        self.sink = self._sink_id() if self._needs_sink() else None
        self.sources = {t for t, _ in self.pooled.follows} | {
            int(t) for t in (self.pooled.abandonments
                             - self.pooled.failed_abandonments).nonzero()[0]}

    def _needs_sink(self) -> bool:
        passed = self.pooled.abandonments - self.pooled.failed_abandonments
        return bool(passed.sum() > 0)

    def _sink_id(self) -> str:
        taken = set(self.ids)
        name, k = ABANDONED, 1
        while name in taken:
            k += 1
            name = f"{ABANDONED}-{k}"
        return name

    def touchpoints(self) -> list[Any]:
        items: list[Any] = []
        c = self.pooled
        for t, (tp_id, name) in enumerate(self.traces.touchpoints):
            item: dict[str, Any] = {"id": tp_id, "name": clean_name(name)}
            note = [_plural(int(c.occurrences[t]), "visit")]
            item["failure_probability"] = _rate(int(c.failures[t]), int(c.occurrences[t]),
                                                self.options.uncertainty)
            if self.traces.failures_marked:
                note.append(f"{c.failures[t]} failed")
            if c.failed_abandonments[t]:
                item["dropout"] = _rate(int(c.failed_abandonments[t]), int(c.failures[t]),
                                        self.options.uncertainty)
                note.append(f"{c.failed_abandonments[t]} abandoned right after a failure")
            item["impact"] = 0
            note.append(f"{c.completions[t]} completed here, {c.abandonments[t]} abandoned "
                        "here")
            self.doc.comments[("touchpoints", len(items))] = "; ".join(note)
            items.append(item)
        if self.sink is not None:
            self.doc.comments[("touchpoints", len(items))] = (
                "journeys abandoned after a visit that did not fail end here")
            items.append({"id": self.sink, "name": "Abandoned (left without completing)",
                          "failure_probability": 1, "dropout": 1, "impact": 0})
        return items

    def entry(self, c: Counts, where: tuple[str | int, ...]) -> dict[str, Any]:
        entry: dict[str, Any] = {}
        for t in map(int, c.starts.nonzero()[0]):
            entry[self.ids[t]] = int(c.starts[t]) / c.cases
            self.doc.comments[(*where, self.ids[t])] = (
                f"{c.starts[t]} of {_plural(c.cases, 'journey')} started here")
        return entry

    def edges(self, c: Counts, where: tuple[str | int, ...], only: set[int] | None = None,
              ) -> tuple[list[Any], dict[str, Any]]:
        """The edges out of every visited touchpoint (of `only`, when given), and the
        Dirichlet concentrations of completion (with uncertainty)."""
        out: dict[int, list[tuple[str, int]]] = {}
        for (t, u), n in sorted(c.follows.items()):
            out.setdefault(t, []).append((self.ids[u], n))
        edges: list[Any] = []
        completed: dict[str, Any] = {}
        for t in map(int, c.occurrences.nonzero()[0]):
            if only is not None and t not in only:
                continue
            targets = list(out.get(t, []))
            passed_abandoned = int(c.abandonments[t] - c.failed_abandonments[t])
            if passed_abandoned and self.sink is not None:
                targets.append((self.sink, passed_abandoned))
            carried_on = int(c.occurrences[t] - c.failed_abandonments[t])
            if not targets and only is not None and carried_on and t in self.sources:
                # A persona that reached t but never went on: an edge of probability 0
                # replaces the shared journey's edges out of t (docs/model.md).
                targets.append((self.ids[t], 0))
            for target, n in targets:
                if self.options.uncertainty and n > 0:
                    probability: Any = Flow({"dirichlet": n})
                else:
                    probability = n / carried_on if carried_on else 0.0
                self.doc.comments[(*where, len(edges))] = (
                    f"{n} of the {carried_on} visits that carried on")
                edges.append({"from": self.ids[t], "to": target, "probability": probability})
            if self.options.uncertainty and targets and any(n for _, n in targets):
                completed[self.ids[t]] = Flow({"dirichlet": int(c.completions[t])})
        return edges, completed

    def persona(self, k: int) -> dict[str, Any]:
        persona_id, name = self.traces.personas[k]
        where = ("personas", k)
        c = count(self.traces, k)
        item: dict[str, Any] = {"id": persona_id, "name": clean_name(name),
                                "customers": c.cases}
        self.doc.comments[where] = (f"{_plural(c.cases, 'journey')}, "
                                    f"{int(c.completions.sum())} completed")
        item["entry"] = self.entry(c, (*where, "entry"))
        visited = {int(t) for t in c.occurrences.nonzero()[0]}
        edges, completed = self.edges(c, (*where, "edges"), only=visited)
        item["edges"] = edges
        if completed:
            item["completed"] = completed
        overrides: dict[str, Any] = {}
        for t in sorted(visited):
            values: dict[str, Any] = {}
            if self.traces.failures_marked and (c.failures[t] or self.pooled.failures[t]):
                values["failure_probability"] = _rate(
                    int(c.failures[t]), int(c.occurrences[t]), self.options.uncertainty)
            if c.failed_abandonments[t] or self.pooled.failed_abandonments[t]:
                values["dropout"] = _rate(int(c.failed_abandonments[t]), int(c.failures[t]),
                                          self.options.uncertainty)
            if values:
                overrides[self.ids[t]] = Flow(values)
                self.doc.comments[(*where, "touchpoints", self.ids[t])] = (
                    f"{c.failures[t]} of {_plural(int(c.occurrences[t]), 'visit')} failed, "
                    f"{c.failed_abandonments[t]} abandoned right after")
        if overrides:
            item["touchpoints"] = overrides
        return item

    def build(self) -> Document:
        data = self.doc.data
        data["cxplan"] = 1
        data["name"] = self.options.name
        c = self.pooled
        if self.traces.personas:
            data["personas"] = [self.persona(k) for k in range(len(self.traces.personas))]
        else:
            data["personas"] = [Flow({"id": "all", "name": "All journeys",
                                      "customers": c.cases})]
            self.doc.comments[("personas", 0)] = (
                f"{_plural(c.cases, 'journey')} observed, {int(c.completions.sum())} "
                "completed: set customers to those of one period")
        data["touchpoints"] = self.touchpoints()
        journey: dict[str, Any] = {"entry": self.entry(c, ("journey", "entry"))}
        edges, completed = self.edges(c, ("journey", "edges"))
        journey["edges"] = edges
        if completed:
            journey["completed"] = completed
        data["journey"] = journey
        return self.doc


def journey_fragment(traces: Traces, options: Options) -> Document:
    """The scenario fragment the observed journeys imply (module docstring)."""
    return _Builder(traces, options).build()
