"""Checks that relate a scenario's values to each other, on the raw data: references
between ids, sums of probabilities, the requires graph, criteria names.

They read the data defensively, so that a broken item does not hide the problems of the
others: a value of the wrong type has already been reported by the models and is simply
skipped here.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import networkx as nx

from cxplan.scenario.models import DEFAULT_CRITERIA
from cxplan.scenario.problems import ProblemLog, ProblemSink
from cxplan.scenario.source import Path_, format_path
from cxplan.scenario.sums import ROUNDING, exact_sum
from cxplan.text import did_you_mean


def _items(data: Any, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, item) for the list under `key`, skipping anything that is not a mapping."""
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _prob(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        v = float(value)
    except OverflowError:  # an integer beyond any float (1 followed by 400 zeros)
        return None
    return v if math.isfinite(v) and 0.0 <= v <= 1.0 else None


def letter_scripts(text: str) -> set[str]:
    """The scripts (LATIN, CYRILLIC, GREEK, ...) of the letters in `text`."""
    scripts = set()
    for char in text:
        if char.isalpha():
            scripts.add(unicodedata.name(char, "UNKNOWN").split(" ", 1)[0].title())
    return scripts


def journey_unsound(log: ProblemLog) -> bool:
    """Whether an error makes the journey itself unsafe to analyse (solve its chains)."""
    # Unreadable values (`!!binary` as an edge's `from`) hold a stand-in that passes the
    # models but not the cross checks, whose problems are not repeated for them.
    for path in [*log.error_paths, *log.doc.unreadable]:
        match path:
            case ("touchpoints", int(), "stage" | "name" | "channel" | "owner"):
                continue
            case ("journey" | "personas" | "touchpoints", *_) | ("improvements", int(),
                                                                  "effects", *_):
                return True
    return False


class CrossChecks:
    """The cross checks of one scenario's raw data, reported to `log`."""

    def __init__(self, log: ProblemLog) -> None:
        self.error = log.error
        self.warning = log.warning

    def cross_check(self, data: dict[str, Any]) -> None:
        touchpoints = self._unique_ids(data, "touchpoints", "touchpoint")
        improvements = self._unique_ids(data, "improvements", "improvement")
        self._unique_ids(data, "personas", "persona")
        teams = _dict(data.get("teams"))
        for team in teams:
            self.one_script(("teams", str(team)), str(team), "team")
        stages = data.get("stages") if isinstance(data.get("stages"), list) else None

        if stages is not None:
            seen: set[str] = set()
            for i, stage in enumerate(stages):
                if isinstance(stage, str) and stage in seen:
                    self.error(("stages", i), f"stage '{stage}' is listed twice")
                if isinstance(stage, str):
                    seen.add(stage)
            for i, tp in _items(data, "touchpoints"):
                stage = _str(tp.get("stage"))
                if stage is not None and stage not in seen:
                    self.error(("touchpoints", i, "stage"),
                               f"stage '{stage}' is not in stages{did_you_mean(stage, seen)}",
                               f"stages are: {', '.join(sorted(seen))}")

        journey = _dict(data.get("journey"))
        self._entry(journey.get("entry"), ("journey", "entry"), touchpoints)
        base_edges = self._edges(journey.get("edges"), ("journey", "edges"), touchpoints)
        self._out_sums(base_edges)

        for i, persona in _items(data, "personas"):
            where: Path_ = ("personas", i)
            self._entry(persona.get("entry"), (*where, "entry"), touchpoints)
            # A persona's edges replace all outgoing edges of the sources they list, so only
            # those sources get new sums; the others keep the (already checked) base edges.
            overrides = self._edges(persona.get("edges"), (*where, "edges"), touchpoints)
            self._out_sums(overrides, persona=_str(persona.get("id")) or f"personas[{i}]")
            tps = persona.get("touchpoints")
            if isinstance(tps, dict):
                for key in tps:
                    if key not in touchpoints:
                        self.error((*where, "touchpoints", str(key)),
                                   f"unknown touchpoint '{key}'{did_you_mean(key, touchpoints)}",
                                   "persona overrides name touchpoints by id")

        for i, imp in _items(data, "improvements"):
            self._improvement(i, imp, touchpoints, improvements, teams)
        self._requires_graph(data, improvements)

    def _unique_ids(self, data: dict[str, Any], key: str, kind: str) -> set[str]:
        ids: dict[str, int] = {}
        for i, item in _items(data, key):
            ident = _str(item.get("id"))
            if ident is None:
                continue
            if ident in ids:
                self.error((key, i, "id"), f"duplicate {kind} id '{ident}' "
                           f"(first used at {key}[{ids[ident]}])", "ids must be unique per kind")
            else:
                ids[ident] = i
            self.one_script((key, i, "id"), ident, f"{kind} id")
        return set(ids)

    def one_script(self, path: Path_, name: str, what: str) -> None:
        """Warn about a name whose letters come from several scripts: Latin `pay` and `pаy`
        with a Cyrillic `а` look the same and are two ids."""
        scripts = letter_scripts(name)
        if len(scripts) > 1:
            self.warning(path, f"{what} '{name}' mixes letters of several scripts "
                         f"({', '.join(sorted(scripts))}): it can look like another name "
                         "and not be it", "write it in one script (ASCII letters are the "
                         "safest)", group="names mix letters of several scripts",
                         subject=name)

    def _ref(self, path: Path_, value: Any, known: set[str], kind: str) -> str | None:
        ref = _str(value)
        if ref is not None and ref not in known:
            self.error(path, f"unknown {kind} '{ref}'{did_you_mean(ref, known)}")
            return None
        return ref

    def _entry(self, entry: Any, where: Path_, touchpoints: set[str]) -> None:
        if not isinstance(entry, dict):
            return
        total = 0.0
        for key, value in entry.items():
            self._ref((*where, key), key, touchpoints, "touchpoint")
            total += _prob(value) or 0.0
        if total > 1.0 + ROUNDING:
            self.error(where, f"entry probabilities sum to {exact_sum(total)}, more than 1",
                       "entry[t] is the share of customers who start at t; the rest never start")

    def _edges(
        self, edges: Any, where: Path_, touchpoints: set[str]
    ) -> list[tuple[str, str, float, Path_]]:
        result: list[tuple[str, str, float, Path_]] = []
        if not isinstance(edges, list):
            return result
        seen: dict[tuple[str, str], int] = {}
        for i, edge in enumerate(edges):
            if not isinstance(edge, dict):
                continue
            src = self._ref((*where, i, "from"), edge.get("from"), touchpoints, "touchpoint")
            dst = self._ref((*where, i, "to"), edge.get("to"), touchpoints, "touchpoint")
            prob = _prob(edge.get("probability"))
            if src is None or dst is None:
                continue
            if (src, dst) in seen:
                self.error((*where, i), f"edge {src} -> {dst} is listed twice "
                           f"(first at {format_path((*where, seen[(src, dst)]))})",
                           "give each pair of touchpoints one edge with the total probability")
                continue
            seen[(src, dst)] = i
            if prob is not None:
                result.append((src, dst, prob, (*where, i)))
        return result

    def _out_sums(
        self, edges: list[tuple[str, str, float, Path_]], persona: str | None = None
    ) -> None:
        sums: dict[str, float] = {}
        first: dict[str, Path_] = {}
        for src, _, prob, path in edges:
            sums[src] = sums.get(src, 0.0) + prob
            first.setdefault(src, path)
        for src, total in sums.items():
            if total > 1.0 + ROUNDING:
                who = f" for persona '{persona}'" if persona else ""
                self.error(first[src],
                           f"edges out of '{src}'{who} sum to {exact_sum(total)}, more than 1",
                           "the probabilities of going on after a touchpoint add up to at most 1;"
                           " the remainder is 'journey completed'")

    def _improvement(
        self, i: int, imp: dict[str, Any], touchpoints: set[str], improvements: set[str],
        teams: dict[str, Any],
    ) -> None:
        where: Path_ = ("improvements", i)
        ident = _str(imp.get("id"))
        effects = imp.get("effects")
        if isinstance(effects, list):
            seen: dict[str, int] = {}
            for k, effect in enumerate(effects):
                if not isinstance(effect, dict):
                    continue
                tp = self._ref((*where, "effects", k, "touchpoint"), effect.get("touchpoint"),
                               touchpoints, "touchpoint")
                if tp is not None and tp in seen:
                    self.error((*where, "effects", k, "touchpoint"),
                               f"touchpoint '{tp}' already has an effect at effects[{seen[tp]}]",
                               "combine the reductions into one effect per touchpoint")
                elif tp is not None:
                    seen[tp] = k
                if all(not effect.get(key) for key in
                       ("failure_reduction", "impact_reduction", "dropout_reduction")):
                    self.warning((*where, "effects", k),
                                 "this effect reduces nothing (all reductions are 0)")
        staff = imp.get("staff")
        if isinstance(staff, dict):
            for team in staff:
                if team not in teams:
                    self.error((*where, "staff", str(team)),
                               f"team '{team}' is not declared in teams{did_you_mean(team, teams)}",
                               "declare its capacity under `teams:`, e.g. "
                               f"`teams: {{{team}: 2}}`")
        for key in ("requires", "excludes"):
            for k, ref in enumerate(_list(imp.get(key))):
                if ref == ident and ident is not None:
                    self.error((*where, key, k), f"improvement '{ident}' {key} itself")
                else:
                    self._ref((*where, key, k), ref, improvements, "improvement")

    def _requires_graph(self, data: dict[str, Any], improvements: set[str]) -> None:
        requires: nx.DiGraph = nx.DiGraph()
        excludes: dict[str, set[str]] = {}
        index: dict[str, int] = {}
        for i, imp in _items(data, "improvements"):
            ident = _str(imp.get("id"))
            if ident is None or ident in index:
                continue
            index[ident] = i
            # Only improvements with requirements enter the graph: the others cannot be in
            # a cycle or a clash, and 100 000 lone nodes cost seconds in networkx.
            for k, ref in enumerate(_list(imp.get("requires"))):
                if isinstance(ref, str) and ref in improvements and ref != ident:
                    requires.add_edge(ident, ref, position=k)
            for ref in _list(imp.get("excludes")):
                if isinstance(ref, str) and ref in improvements and ref != ident:
                    excludes.setdefault(ident, set()).add(ref)
                    excludes.setdefault(ref, set()).add(ident)
        # One cycle per strongly connected component: listing every simple cycle can take
        # exponential time, and one named cycle is enough to find and break the loop.
        sccs = list(nx.strongly_connected_components(requires))
        components = [c for c in sccs if len(c) > 1]
        for component in sorted(components, key=lambda c: min(index[n] for n in c)):
            start = min(component, key=index.__getitem__)
            sub = requires.subgraph(component)
            # The shortest cycle through `start`: start -> s ... -> start.
            cycle = [start, *min((nx.shortest_path(sub, s, start) for s in sub.successors(start)),
                                 key=len)]
            first, second = cycle[0], cycle[1]
            self.error(("improvements", index[first], "requires",
                        requires.edges[first, second]["position"]),
                       "requires cycle: " + " -> ".join(cycle),
                       "an improvement cannot (indirectly) require itself; remove one of "
                       "these requirements")
        for ident, (a, b) in _first_clashes(requires, sccs, excludes, index).items():
            i = index[ident]
            if ident in (a, b):
                message = (f"improvement '{ident}' requires something it excludes "
                           f"('{b if a == ident else a}')")
            else:
                message = (f"improvement '{ident}' can never be selected: it requires both "
                           f"'{a}' and '{b}' (directly or through other requirements), which "
                           "exclude each other")
            self.error(("improvements", i), message, "remove the requirement or the exclusion")

    def criteria(self, data: dict[str, Any], known: set[str],
                 unavailable: Mapping[str, str] | None = None,
                 disabled: Sequence[str] = ()) -> None:
        """Every criterion the scenario uses (its `criteria:`, or the default) must be
        known; `unavailable` says why some cannot be used (their plugin is disabled)."""
        unavailable = unavailable or {}
        crit = data.get("criteria")
        if crit is None:
            for key in DEFAULT_CRITERIA:
                if key not in known:
                    self.error((), f"without `criteria:` the scenario is optimized for "
                               f"'{key}', which is not available"
                               + (f": {unavailable[key]}" if key in unavailable else ""),
                               "name the criteria to optimize in `criteria:` (installed: "
                               f"{', '.join(sorted(known)) or 'none'})")
            return
        if not isinstance(crit, dict):
            return
        for key in crit:
            if key in known:
                continue
            if key in unavailable:
                self.error(("criteria", key), f"unknown criterion '{key}': {unavailable[key]}",
                           "remove the criterion, or run without disabling its plugin")
                continue
            hint = f"installed criteria: {', '.join(sorted(known))}"
            if disabled:
                hint += f" (plugins disabled for this run: {', '.join(disabled)})"
            self.error(("criteria", key),
                       f"unknown criterion '{key}'{did_you_mean(str(key), known)}", hint)
        if crit and all(_prob(v) == 0.0 for v in crit.values()):
            self.error(("criteria",), "all criteria weights are 0: nothing to optimize")
        if "net_value" in crit and "net_value" in known:
            if data.get("horizon") is not None:
                self.error(("criteria", "net_value"),
                           "net_value weighs a single plan's gain over its value horizon; a "
                           "roadmap already counts its value period by period",
                           "use expected_experience for a roadmap (its `horizon` may count "
                           "value after the last period: `terminal_value`)")
            elif not isinstance(data.get("economics"), dict):
                self.error(("criteria", "net_value"),
                           "net_value needs `economics:`: for how many periods the gain "
                           "counts, and at what discount rate",
                           "add for example `economics: {value_horizon: 8, discount_rate: "
                           "0.02}` (8 periods of the customer counts, 2 % a period)")


def _first_clashes(
    requires: nx.DiGraph, sccs: list[set[str]], excludes: dict[str, set[str]],
    index: dict[str, int],
) -> dict[str, tuple[str, str]]:
    """For each improvement whose requirements (itself included, directly or through other
    requirements) hold two improvements that exclude each other: the first such pair.

    One pass over the requires graph, successors first, with bitsets over the improvements
    that take part in an exclusion: linear in the graph. A closure per improvement was
    quadratic (a chain of 4 000 requirements took 10 s to validate, 100 000 would take
    hours). Pairs are ordered by id, so the lowest bit gives the first pair.
    """
    if not excludes or not requires:
        return {}
    bit = {m: 1 << k for k, m in enumerate(sorted(excludes))}
    partners = {m: sum(bit[o] for o in others) for m, others in excludes.items()}
    ids = sorted(excludes)
    dag = nx.condensation(requires, scc=sccs)  # requires cycles are reported separately
    waiting = {c: dag.in_degree(c) for c in dag}
    # `inside`: bits of the members of a component's closure; `shut`: bits of everything
    # those members exclude. Freed once every component requiring it has been seen.
    inside: dict[int, int] = {}
    shut: dict[int, int] = {}
    found: dict[str, tuple[str, str]] = {}
    for c in reversed(list(nx.topological_sort(dag))):
        members = dag.nodes[c]["members"]
        have = sum(bit.get(m, 0) for m in members)
        out = sum(partners.get(m, 0) for m in members)
        for s in dag.successors(c):
            have |= inside[s]
            out |= shut[s]
            waiting[s] -= 1
            if not waiting[s]:
                del inside[s], shut[s]
        clashing = have & out
        if clashing:
            a = (clashing & -clashing).bit_length() - 1
            others = partners[ids[a]] & have
            b = (others & -others).bit_length() - 1
            for m in members:
                found[m] = (ids[a], ids[b])
        if waiting[c]:
            inside[c], shut[c] = have, out
    return dict(sorted(found.items(), key=lambda item: index[item[0]]))


def check_objective(data: Mapping[str, Any], report: ProblemSink) -> None:
    """Cross-check `objective.priorities` against the `criteria:` weights.

    Every criterion in a level must have a weight > 0 in `criteria:`, no criterion may be
    in two levels, and every weighted criterion must be in a level.
    """
    objective = data.get("objective")
    if not isinstance(objective, dict) or not isinstance(objective.get("priorities"), list) \
            or not objective["priorities"]:
        return
    raw = data.get("criteria", DEFAULT_CRITERIA)
    weights = raw if isinstance(raw, dict) else {}
    placed: dict[str, int] = {}
    for i, level in enumerate(objective["priorities"]):
        names = level.get("criteria") if isinstance(level, dict) else level
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list):
            continue
        for k, name in enumerate(names):
            where: tuple[str | int, ...] = ("objective", "priorities", i)
            if isinstance(level, list):
                where = (*where, k)
            elif isinstance(level, dict):
                where = (*where, "criteria", k) if isinstance(level.get("criteria"), list) \
                    else (*where, "criteria")
            if not isinstance(name, str):
                continue
            if name not in weights:
                report(where, f"criterion '{name}' is not in criteria",
                       "give it a weight in `criteria:` (the weights blend criteria within "
                       "a level)")
            elif _is_zero(weights[name]):
                report(where, f"criterion '{name}' has weight 0 (reported, not optimized)",
                       "give it a weight > 0, or remove it from the priorities")
            if name in placed:
                report(where, f"criterion '{name}' is already in priorities[{placed[name]}]",
                       "each criterion belongs to one level")
            placed.setdefault(name, i)
    missing = [name for name, w in weights.items()
               if isinstance(name, str) and not _is_zero(w) and name not in placed]
    if missing:
        report(("objective", "priorities"),
               f"criteria with a weight but no priority level: {', '.join(missing)}",
               "add each to a level, or set its weight to 0 to only report it")


def _is_zero(weight: Any) -> bool:
    return isinstance(weight, int | float) and not isinstance(weight, bool) and weight == 0
