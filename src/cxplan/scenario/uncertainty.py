"""A scenario's uncertain inputs: where the file gives a distribution instead of a number.

`split_uncertain_values` reads them out of the raw data before the models see it: each
distribution is replaced by its mean (what deterministic commands use), and recorded with
its location, the place an error message would name (`touchpoints[3].failure_probability`,
`journey.edges[5].probability`). The models, the Markov evaluator and the optimizer keep
seeing plain numbers; `Scenario.drawn(values)` gives the concrete scenario of one draw.

Edges out of one touchpoint may be uncertain together, as a Dirichlet over them and the
remainder ("journey completed"), so that every draw keeps their sum at most 1:

    journey:
      edges:
        - {from: application, to: verification, probability: {dirichlet: 40}}
        - {from: application, to: scoring, probability: {dirichlet: 10}}
      completed: {application: {dirichlet: 5}}   # the remainder's concentration
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from cxplan.scenario.distributions import (
    DirichletShare,
    Distribution,
    Report,
    _is_number,
    parse_distribution,
)
from cxplan.scenario.source import Path_, format_path

COMPLETED = "completed"  # journey/persona key: the Dirichlet remainder per touchpoint
SUM_TOLERANCE = 1e-9
TOUCHPOINT_FIELDS = {"failure_probability": True, "impact": False, "dropout": True,
                     "success_value": False}  # field -> is a probability
REDUCTIONS = ("failure_reduction", "impact_reduction", "dropout_reduction")


@dataclass(frozen=True)
class UncertainValue:
    """A value the file gives as a distribution, at `location` in the scenario's data."""

    location: Path_
    distribution: Distribution

    @property
    def place(self) -> str:
        return format_path(self.location)


@dataclass(frozen=True)
class DirichletEdges:
    """The edges out of `source` (in the edge list at `edges_at`) drawn together: their
    probabilities and the remainder ("journey completed") follow a Dirichlet with
    concentrations `alphas` and `rest`."""

    source: str
    edges_at: Path_
    locations: tuple[Path_, ...]  # each edge's probability
    alphas: tuple[float, ...]
    rest: float

    @property
    def total(self) -> float:
        return sum(self.alphas) + self.rest

    @property
    def means(self) -> tuple[float, ...]:
        return tuple(a / self.total for a in self.alphas)

    def describe(self) -> str:
        shares = ", ".join(f"{a:g}" for a in self.alphas)
        return f"dirichlet({shares}; completed {self.rest:g})"


@dataclass(frozen=True)
class Uncertainty:
    """Every uncertain input of a scenario (empty for a file of plain numbers)."""

    values: tuple[UncertainValue, ...] = ()
    dirichlets: tuple[DirichletEdges, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.values or self.dirichlets)

    @property
    def locations(self) -> list[Path_]:
        """Every drawn location: the values', then each Dirichlet's edges."""
        return [v.location for v in self.values] + [
            loc for d in self.dirichlets for loc in d.locations]

    def means(self) -> dict[Path_, float]:
        """The value deterministic commands use at each location."""
        means = {v.location: v.distribution.mean for v in self.values}
        for d in self.dirichlets:
            means.update(zip(d.locations, d.means, strict=True))
        return means

    def described(self) -> list[tuple[str, str, float]]:
        """(place, distribution, mean) for every location, in the file's order."""
        rows = [(v.place, v.distribution.describe(), v.distribution.mean) for v in self.values]
        for d in self.dirichlets:
            rows += [(format_path(loc), d.describe(), mean)
                     for loc, mean in zip(d.locations, d.means, strict=True)]
        return rows

    def only(self, kept: set[Path_]) -> Uncertainty:
        """The uncertain inputs at the locations `kept` (a Dirichlet stays whole or goes)."""
        return Uncertainty(
            tuple(v for v in self.values if v.location in kept),
            tuple(d for d in self.dirichlets if all(loc in kept for loc in d.locations)))


def _places(data: dict[str, Any]) -> Iterator[tuple[Path_, bool, bool]]:
    """(location, is a probability, is an edge's probability) of every value of the format
    that may be a distribution and is written as a mapping."""

    def entry(where: Path_, value: Any) -> Iterator[tuple[Path_, bool, bool]]:
        if isinstance(value, dict):
            for key in value:
                yield (*where, key), True, False

    def edges(where: Path_, value: Any) -> Iterator[tuple[Path_, bool, bool]]:
        for k, _ in _items(value):
            yield (*where, k, "probability"), True, True

    for i, _ in _items(data.get("touchpoints")):
        for key, fraction in TOUCHPOINT_FIELDS.items():
            yield ("touchpoints", i, key), fraction, False
    journey = data.get("journey")
    if isinstance(journey, dict):
        yield from entry(("journey", "entry"), journey.get("entry"))
        yield from edges(("journey", "edges"), journey.get("edges"))
    for i, persona in _items(data.get("personas")):
        yield ("personas", i, "customers"), False, False
        yield from entry(("personas", i, "entry"), persona.get("entry"))
        yield from edges(("personas", i, "edges"), persona.get("edges"))
        overrides = persona.get("touchpoints")
        if isinstance(overrides, dict):
            for tp_id, override in overrides.items():
                if isinstance(override, dict):
                    for key, fraction in TOUCHPOINT_FIELDS.items():
                        yield ("personas", i, "touchpoints", tp_id, key), fraction, False
    for i, imp in _items(data.get("improvements")):
        yield ("improvements", i, "cost"), False, False
        for k, _ in _items(imp.get("effects")):
            for key in REDUCTIONS:
                yield ("improvements", i, "effects", k, key), True, False


def _items(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item


def _get(data: Any, path: Path_) -> Any:
    for key in path:
        found = isinstance(data, dict) and key in data
        if found or (isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data)):
            data = data[key]
        else:
            return None
    return data


class _CopyOnWrite:
    """Sets values deep in the data without touching the caller's: every container on the
    way is copied once (a large scenario is not copied whole)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = dict(data)
        self.copied = {id(self.data)}

    def set(self, path: Path_, value: Any) -> None:
        node: Any = self.data
        for key in path[:-1]:
            child = node[key]
            if id(child) not in self.copied:
                child = copy.copy(child)
                node[key] = child
                self.copied.add(id(child))
            node = child
        node[path[-1]] = value

    def drop(self, path: Path_) -> None:
        self.set(path, None)
        parent: Any = _get(self.data, path[:-1])
        del parent[path[-1]]


def split_uncertain_values(
    data: dict[str, Any], report: Report, warn: Report,
) -> tuple[dict[str, Any], Uncertainty]:
    """`data` with every distribution replaced by its mean (and `completed` taken out),
    and the uncertain inputs. Problems are reported with their place; a broken
    distribution is replaced by 0, so that the models do not report it a second time."""
    if not isinstance(data, dict):
        return data, Uncertainty()
    out = _CopyOnWrite(data)
    values: list[UncertainValue] = []
    shares: dict[Path_, tuple[Path_, DirichletShare]] = {}  # edge list -> ...
    for location, fraction, edge in _places(data):
        raw = _get(data, location)
        if not isinstance(raw, dict):
            continue
        found = parse_distribution(raw, location, fraction=fraction, edge=edge,
                                   report=report, warn=warn)
        if isinstance(found, Distribution):
            values.append(UncertainValue(location, found))
            out.set(location, found.mean)
        elif isinstance(found, DirichletShare):
            shares[location] = (location[:-2], found)
            out.set(location, 0.0)  # its mean is set below, once the remainder is known
        else:
            out.set(location, 0.0)
    dirichlets = _dirichlets(data, shares, out, report)
    groups: dict[str, int] = {}
    for value in values:
        if value.distribution.group:
            groups[value.distribution.group] = groups.get(value.distribution.group, 0) + 1
    for value in values:
        name = value.distribution.group
        if name and groups[name] == 1:
            warn((*value.location, "group"), f"group '{name}' has only this distribution: "
                 "it shares its draw with nothing", "give the group's name to the other "
                 "values drawn with this one, or drop `group`")
    result = Uncertainty(tuple(values), tuple(dirichlets))
    _check_sums(out.data, result, report)
    return out.data, result


def _dirichlets(data: dict[str, Any], shares: dict[Path_, tuple[Path_, DirichletShare]],
                out: _CopyOnWrite, report: Report) -> list[DirichletEdges]:
    """The Dirichlets over out-edges: every edge of their source in the same list must be
    a share, and `completed` names only such sources."""
    result: list[DirichletEdges] = []
    lists: list[tuple[Path_, Path_]] = [(("journey", "edges"), ("journey", COMPLETED))]
    lists += [(("personas", i, "edges"), ("personas", i, COMPLETED))
              for i, _ in _items(data.get("personas"))]
    for edges_at, completed_at in lists:
        by_source: dict[str, list[tuple[Path_, float | None]]] = {}
        for k, edge in _items(_get(data, edges_at)):
            source = edge.get("from")
            if not isinstance(source, str):
                continue
            location = (*edges_at, k, "probability")
            share = shares.get(location)
            by_source.setdefault(source, []).append(
                (location, share[1].alpha if share is not None else None))
        parent = _get(data, completed_at[:-1])
        rests: dict[str, float] = {}
        if isinstance(parent, dict) and COMPLETED in parent:
            out.drop(completed_at)
            rests = _remainders(parent[COMPLETED], completed_at, report)
        for source in rests:
            members = by_source.get(source, [])
            if not any(alpha is not None for _, alpha in members):
                report((*completed_at, source), f"touchpoint '{source}' has no Dirichlet "
                       "edges in this list", "`completed` gives the remainder of a "
                       "Dirichlet over a touchpoint's out-edges ({dirichlet: α} on each)")
        for source, members in by_source.items():
            drawn = [m for m in members if m[1] is not None]
            if not drawn:
                continue
            if len(drawn) < len(members):
                fixed = next(loc for loc, alpha in members if alpha is None)
                report(fixed, f"the other edges out of '{source}' are a Dirichlet: this one "
                       "must be a share of it too", "give every edge out of this touchpoint "
                       "a {dirichlet: concentration}")
                continue
            group = DirichletEdges(source, edges_at, tuple(loc for loc, _ in drawn),
                                   tuple(float(a) for _, a in drawn if a is not None),
                                   rests.get(source, 0.0))
            for location, mean in zip(group.locations, group.means, strict=True):
                out.set(location, mean)
            result.append(group)
    return result


def _remainders(completed: Any, where: Path_, report: Report) -> dict[str, float]:
    if not isinstance(completed, dict):
        report(where, "completed maps touchpoints to the Dirichlet concentration of "
               "'journey completed' after them", "for example completed: {application: "
               "{dirichlet: 5}}")
        return {}
    rests: dict[str, float] = {}
    for source, value in completed.items():
        alpha: Any = value.get("dirichlet") if isinstance(value, dict) else None
        if (not isinstance(value, dict) or set(value) != {"dirichlet"}
                or not _is_number(alpha) or not math.isfinite(float(alpha))
                or float(alpha) < 0):
            report((*where, str(source)), "write the remainder's concentration as "
                   "{dirichlet: α} (α ≥ 0)", "without a Dirichlet the remainder is simply "
                   "1 − the edges' probabilities")
            continue
        rests[str(source)] = float(alpha)
    return rests


def _check_sums(data: dict[str, Any], uncertainty: Uncertainty, report: Report) -> None:
    """Entry probabilities and independent edge distributions must keep their sums at most
    1 in every draw: the largest values they can take are added up."""
    ranges = {v.location: v.distribution.support[1] for v in uncertainty.values}
    if not ranges:
        return
    joint = {loc for d in uncertainty.dirichlets for loc in d.locations}

    def upper(location: Path_) -> float:
        if location in ranges:
            return ranges[location]
        value = _get(data, location)
        return float(value) if _is_number(value) and math.isfinite(float(value)) else 0.0

    entries = [("journey", "entry")] + [("personas", i, "entry")
                                        for i, _ in _items(data.get("personas"))]
    for where in entries:
        entry = _get(data, where)
        if isinstance(entry, dict) and any((*where, k) in ranges for k in entry):
            total = sum(upper((*where, k)) for k in entry)
            if total > 1 + SUM_TOLERANCE:
                report(where, f"entry probabilities can sum to {total:.6g} in a draw (the "
                       "largest values of their distributions), more than 1",
                       "narrow the distributions so that their upper ends sum to at most 1")
    lists = [("journey", "edges")] + [("personas", i, "edges")
                                      for i, _ in _items(data.get("personas"))]
    for edges_at in lists:
        sums: dict[str, tuple[float, Path_, bool]] = {}
        for k, edge in _items(_get(data, edges_at)):
            source, location = edge.get("from"), (*edges_at, k, "probability")
            if not isinstance(source, str) or location in joint:
                continue
            total, first, uncertain = sums.get(source, (0.0, (*edges_at, k), False))
            sums[source] = (total + upper(location), first, uncertain or location in ranges)
        for source, (total, first, uncertain) in sums.items():
            if uncertain and total > 1 + SUM_TOLERANCE:
                report(first, f"edges out of '{source}' can sum to {total:.6g} in a draw "
                       "(the largest values of their distributions), more than 1",
                       "draw them together as a Dirichlet ({dirichlet: concentration} on "
                       "each edge), or narrow the distributions")


def with_values(model: BaseModel, values: Mapping[Path_, float]) -> Any:
    """A copy of `model` (a scenario) with the values at the given locations replaced;
    everything else is shared, not copied."""
    return _replaced(model, _tree(values))


def _tree(values: Mapping[Path_, float]) -> dict[Any, Any]:
    tree: dict[Any, Any] = {}
    for path, value in values.items():
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = float(value)
    return tree


def _replaced(node: Any, changes: dict[Any, Any]) -> Any:
    if isinstance(node, BaseModel):
        fields = type(node).model_fields
        names = {info.alias or name: name for name, info in fields.items()}
        update = {names.get(key, key): (_replaced(getattr(node, names.get(key, key)), sub)
                                        if isinstance(sub, dict) else sub)
                  for key, sub in changes.items()}
        return node.model_copy(update=update)
    if isinstance(node, list):
        items = list(node)
        for key, sub in changes.items():
            items[key] = _replaced(items[key], sub) if isinstance(sub, dict) else sub
        return items
    if isinstance(node, dict):
        mapping = dict(node)
        for key, sub in changes.items():
            mapping[key] = _replaced(mapping[key], sub) if isinstance(sub, dict) else sub
        return mapping
    raise TypeError(f"no value to replace in {type(node).__name__}")


def kept_after_transform(uncertainty: Uncertainty, data: Any) -> Uncertainty:
    """The uncertain inputs that still hold for a scenario a plugin transformed (given as
    its dumped data): those whose location still holds their mean (a plugin that changed a
    value meant a new number)."""
    means = uncertainty.means()
    kept = {loc for loc, mean in means.items()
            if _is_number(_get(data, loc))
            and math.isclose(float(_get(data, loc)), mean, rel_tol=1e-12, abs_tol=1e-15)}
    return uncertainty.only(kept)
