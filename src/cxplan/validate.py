"""Load and validate a scenario: every problem at once, each with file, place and hint.

Field-level checks come from the pydantic models in `cxplan.scenario`. The
cross checks here read the raw data defensively, so that a broken item does
not hide the problems of the others: a value of the wrong type has already
been reported by pydantic and is simply skipped here.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import networkx as nx
from pydantic import ValidationError

from cxplan.errors import Problem, ScenarioError
from cxplan.scenario import Scenario
from cxplan.source import Document, Path_, format_path, parse_text, read_document

SUM_TOLERANCE = 1e-9
# A touchpoint "leaks" (lets customers leave the journey) only if it does so with at least
# this probability; below it, expected visits explode and the chain is treated as endless.
LEAK_EPSILON = 1e-9


def load_scenario(
    source: str | Path | Mapping[str, Any],
    *,
    name: str | None = None,
    criteria: Iterable[str] | None = None,
) -> Scenario:
    """Read, validate and return a scenario.

    `source` is a path to a YAML/JSON file or an already parsed mapping. `criteria`
    is the set of known criterion names (default: those of the installed plugins).
    Raises `ScenarioError` listing every problem; warnings are on `Scenario.warnings`.
    """
    if isinstance(source, Mapping):
        doc = Document(name=name or "<dict>", data=dict(source))
    else:
        doc = read_document(source)
        if name:
            doc.name = name
    return validate_document(doc, criteria=criteria)


def load_scenario_text(text: str, name: str = "<string>") -> Scenario:
    """Validate a scenario given as YAML or JSON text."""
    return validate_document(parse_text(text, name))


def validate_document(doc: Document, *, criteria: Iterable[str] | None = None) -> Scenario:
    checker = _Checker(doc)
    scenario: Scenario | None = None
    if not isinstance(doc.data, dict):
        checker.error((), f"a scenario is a mapping of keys (cxplan: 1, touchpoints, ...), "
                          f"not {_kind(doc.data)}")
        raise ScenarioError(checker.problems)
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        checker.pydantic(exc)
    checker.cross_check(doc.data)
    if criteria is None:
        from cxplan.plugins import get_plugin_manager

        criteria = get_plugin_manager().criteria_names()
    checker.criteria(doc.data, set(criteria))
    if scenario is not None and not checker.errors():
        checker.journey_shape(scenario)
    if checker.errors():
        raise ScenarioError(checker.problems)
    assert scenario is not None
    scenario._source = doc.name
    scenario._warnings = [p for p in checker.problems if p.severity != "error"]
    return scenario


def did_you_mean(word: str, known: Iterable[str]) -> str:
    matches = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


def _kind(value: Any) -> str:
    return {list: "a list", str: "text", int: "a number", float: "a number",
            bool: "true/false", type(None): "empty"}.get(type(value), type(value).__name__)


def _items(data: Any, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, item) for the list under `key`, skipping anything that is not a mapping."""
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _prob(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    v = float(value)
    return v if math.isfinite(v) and 0.0 <= v <= 1.0 else None


class _Checker:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    # -- reporting ---------------------------------------------------------------------------
    def error(self, path: Path_, message: str, hint: str | None = None) -> None:
        self._add(path, message, hint, "error")

    def warning(self, path: Path_, message: str, hint: str | None = None) -> None:
        self._add(path, message, hint, "warning")

    def _add(self, path: Path_, message: str, hint: str | None, severity: str) -> None:
        self.problems.append(Problem(self.doc.name, format_path(path), message, hint,
                                     self.doc.line_of(path), severity))

    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def pydantic(self, exc: ValidationError) -> None:
        for err in exc.errors(include_url=False):
            path: Path_ = tuple(err["loc"])
            kind = err["type"]
            if kind == "extra_forbidden":
                parent = path[:-1]
                known = _known_keys(parent)
                msg = f"unknown key '{path[-1]}'{did_you_mean(str(path[-1]), known)}"
                self.error(path, msg, "see the scenario format in the README")
            elif kind == "missing":
                self.error(path, "required value is missing")
            elif kind == "literal_error" and path == ("cxplan",):
                self.error(path, f"unsupported format version {err.get('input')!r}",
                           "this cxplan reads format version 1: write `cxplan: 1`")
            else:
                self.error(path, f"{err['msg']} (got {_short(err.get('input'))})")

    # -- cross checks on raw data --------------------------------------------------------------
    def cross_check(self, data: dict[str, Any]) -> None:
        touchpoints = self._unique_ids(data, "touchpoints", "touchpoint")
        improvements = self._unique_ids(data, "improvements", "improvement")
        self._unique_ids(data, "personas", "persona")
        teams = data.get("teams") if isinstance(data.get("teams"), dict) else {}
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

        journey = data.get("journey") if isinstance(data.get("journey"), dict) else {}
        self._entry(journey.get("entry"), ("journey", "entry"), touchpoints)
        base_edges = self._edges(journey.get("edges"), ("journey", "edges"), touchpoints)
        self._out_sums(base_edges, ("journey", "edges"))

        for i, persona in _items(data, "personas"):
            where: Path_ = ("personas", i)
            self._entry(persona.get("entry"), (*where, "entry"), touchpoints)
            overrides = self._edges(persona.get("edges"), (*where, "edges"), touchpoints)
            if overrides:
                replaced = {src for src, _, _, _ in overrides}
                merged = [e for e in base_edges if e[0] not in replaced] + overrides
                self._out_sums(merged, (*where, "edges"), persona=str(persona.get("id")))
            tps = persona.get("touchpoints")
            if isinstance(tps, dict):
                for key in tps:
                    if key not in touchpoints:
                        self.error((*where, "touchpoints", key),
                                   f"unknown touchpoint '{key}'{did_you_mean(key, touchpoints)}")

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
        return set(ids)

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
        if total > 1.0 + SUM_TOLERANCE:
            self.error(where, f"entry probabilities sum to {total:.6g}, more than 1",
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
        self, edges: list[tuple[str, str, float, Path_]], where: Path_, persona: str | None = None
    ) -> None:
        sums: dict[str, float] = {}
        first: dict[str, Path_] = {}
        for src, _, prob, path in edges:
            sums[src] = sums.get(src, 0.0) + prob
            first.setdefault(src, path)
        for src, total in sums.items():
            if total > 1.0 + SUM_TOLERANCE:
                who = f" for persona '{persona}'" if persona else ""
                self.error(first[src] if persona is None else where,
                           f"edges out of '{src}'{who} sum to {total:.6g}, more than 1",
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
                    self.error((*where, "staff", team),
                               f"team '{team}' is not declared in teams{did_you_mean(team, teams)}",
                               "declare its capacity under `teams:`")
        for key in ("requires", "excludes"):
            refs = imp.get(key)
            if not isinstance(refs, list):
                continue
            for k, ref in enumerate(refs):
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
            requires.add_node(ident)
            for ref in imp.get("requires") or []:
                if isinstance(ref, str) and ref in improvements and ref != ident:
                    requires.add_edge(ident, ref)
            for ref in imp.get("excludes") or []:
                if isinstance(ref, str) and ref in improvements and ref != ident:
                    excludes.setdefault(ident, set()).add(ref)
                    excludes.setdefault(ref, set()).add(ident)
        for cycle in nx.simple_cycles(requires):
            start = min(cycle, key=lambda c: index[c])
            self.error(("improvements", index[start], "requires"),
                       "requires cycle: " + " -> ".join([*cycle, cycle[0]]),
                       "an improvement cannot (indirectly) require itself")
        for ident, i in index.items():
            needed = {ident} | nx.descendants(requires, ident)
            clash = sorted((a, b) for a in needed for b in excludes.get(a, ()) if b in needed
                           and a < b)
            if clash:
                a, b = clash[0]
                self.error(("improvements", i),
                           f"improvement '{ident}' can never be selected: it requires both "
                           f"'{a}' and '{b}' (directly or through other requirements), which "
                           "exclude each other" if ident not in (a, b) else
                           f"improvement '{ident}' requires something it excludes "
                           f"('{b if a == ident else a}')",
                           "remove the requirement or the exclusion")

    def criteria(self, data: dict[str, Any], known: set[str]) -> None:
        crit = data.get("criteria")
        if not isinstance(crit, dict):
            return
        for key in crit:
            if key not in known:
                self.error(("criteria", key),
                           f"unknown criterion '{key}'{did_you_mean(str(key), known)}",
                           f"installed criteria: {', '.join(sorted(known))}")
        if crit and all(_prob(v) == 0.0 for v in crit.values()):
            self.error(("criteria",), "all criteria weights are 0: nothing to optimize")

    # -- journey shape (needs a fully valid scenario) -------------------------------------------
    def journey_shape(self, scenario: Scenario) -> None:
        from cxplan.journey import persona_parameters

        touchpoint_index = {tp.id: i for i, tp in enumerate(scenario.touchpoints)}
        reachable_somewhere: set[str] = set()
        for qi, persona in enumerate(scenario.persona_list):
            params = persona_parameters(scenario, persona, select_all=True)
            graph: nx.DiGraph = nx.DiGraph()
            graph.add_nodes_from(params.touchpoints)
            for (src, dst), prob in params.edges.items():
                if prob > 0:
                    graph.add_edge(src, dst)
            starts = [t for t, e in params.entry.items() if e > 0]
            reachable = set(starts)
            for t in starts:
                reachable |= nx.descendants(graph, t)
            reachable_somewhere |= reachable
            out_sum = {t: 0.0 for t in params.touchpoints}
            for (src, _), prob in params.edges.items():
                out_sum[src] += prob
            leaks = {t for t in params.touchpoints
                     if 1.0 - out_sum[t] >= LEAK_EPSILON
                     or params.failure[t] * params.dropout[t] >= LEAK_EPSILON}
            can_end = set(leaks)
            for t in leaks:
                can_end |= nx.ancestors(graph, t)
            stuck = sorted(reachable - can_end, key=touchpoint_index.__getitem__)
            if stuck:
                where: Path_ = ("personas", qi) if scenario.personas else ("journey", "edges")
                who = f" for persona '{persona.id}'" if scenario.personas else ""
                self.error(where,
                           f"the journey{who} can never end once it reaches "
                           f"{', '.join(repr(t) for t in stuck[:5])}"
                           f"{' and others' if len(stuck) > 5 else ''}: every path from there "
                           "loops back with probability 1 (not an absorbing chain)",
                           "let some probability leave the loop: lower an outgoing edge "
                           "probability so the remainder completes the journey")
        if not self.errors():
            for t in scenario.touchpoints:
                if t.id not in reachable_somewhere:
                    self.warning(("touchpoints", touchpoint_index[t.id]),
                                 f"touchpoint '{t.id}' is unreachable from any entry "
                                 "(no customer ever gets there)",
                                 "add an entry probability or an edge leading to it")


def _known_keys(path: Path_) -> list[str]:
    """Field names (as written in a file) of the model that sits at `path`."""
    from cxplan import scenario as models

    shape = tuple("#" if isinstance(part, int) else part for part in path)
    model: type[models._Strict] | None
    match shape:
        case ():
            model = models.Scenario
        case ("touchpoints", "#"):
            model = models.Touchpoint
        case ("improvements", "#"):
            model = models.Improvement
        case ("improvements", "#", "effects", "#"):
            model = models.Effect
        case ("personas", "#"):
            model = models.Persona
        case ("personas", "#", "touchpoints", _):
            model = models.TouchpointOverride
        case ("journey",):
            model = models.Journey
        case ("journey", "edges", "#") | ("personas", "#", "edges", "#"):
            model = models.Edge
        case _:
            model = None
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
