"""Load and validate a scenario: every problem at once, each with file, place and hint.

Field-level checks come from the pydantic models in `cxplan.scenario.models`. The
cross checks here read the raw data defensively, so that a broken item does
not hide the problems of the others: a value of the wrong type has already
been reported by pydantic and is simply skipped here.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import networkx as nx
from pydantic import ValidationError

from cxplan.errors import Problem, ScenarioError
from cxplan.extensions import check_extensions
from cxplan.optimizer.sequence import check_objective
from cxplan.scenario.models import Scenario
from cxplan.scenario.periods import check_schedule_fields, kept_after_transform, split_period_values
from cxplan.scenario.source import Document, Path_, format_path, parse_text, read_document

if TYPE_CHECKING:
    from cxplan.core.journey import PersonaParameters
    from cxplan.plugins.manager import CxplanPlugins

SUM_TOLERANCE = 1e-9
# The largest customers × impact (or × success value) of one touchpoint that is optimized
# exactly: the MILP's objective coefficients grow with it, and near 1e20 HiGHS stops with
# status "unknown" (measured: fine up to 1e19 on random scenarios). 1e15 is ten times the
# world's yearly GDP in dollars; loops that revisit a touchpoint multiply it further.
MAX_VALUE_SCALE = 1e15
# A touchpoint "leaks" (lets customers leave the journey) only if it does so with at least
# this probability; below it, expected visits explode and the chain is treated as endless.
LEAK_EPSILON = 1e-9


def load_scenario(
    source: str | Path | Mapping[str, Any],
    *,
    name: str | None = None,
    criteria: Iterable[str] | None = None,
    plugins: CxplanPlugins | None = None,
) -> Scenario:
    """Read, validate and return a scenario.

    `source` is a path to a YAML/JSON file or an already parsed mapping. `criteria`
    is the set of known criterion names (default: those of `plugins`). `plugins`
    (default: the installed ones) also validate their `extensions:` sections and may
    transform the loaded scenario. Raises `ScenarioError` listing every problem;
    warnings are on `Scenario.warnings`.
    """
    from cxplan.scenario.variants import resolve_extends

    if isinstance(source, Mapping):
        doc = resolve_extends(Document(name=name or "<dict>", data=dict(source)))
    else:
        doc = resolve_extends(read_document(source, name=name), source)
    return validate_document(doc, criteria=criteria, plugins=plugins)


def load_scenario_text(text: str, name: str = "<string>") -> Scenario:
    """Validate a scenario given as YAML or JSON text."""
    from cxplan.scenario.variants import resolve_extends

    return validate_document(resolve_extends(parse_text(text, name)))


def validate_document(
    doc: Document, *, criteria: Iterable[str] | None = None,
    plugins: CxplanPlugins | None = None, transform: bool = True,
) -> Scenario:
    checker = _Checker(doc)
    scenario: Scenario | None = None
    if not isinstance(doc.data, dict):
        checker.error((), f"a scenario is a mapping of keys (cxplan: 1, touchpoints, ...), "
                          f"not {_kind(doc.data)}")
        raise ScenarioError(checker.problems)
    version = doc.data.get("cxplan")
    if isinstance(version, int) and not isinstance(version, bool) and version != 1:
        # Another format version: its other keys cannot be judged by version 1's rules.
        checker.error(("cxplan",), f"format version {version} is not supported "
                      "(this cxplan reads version 1)",
                      "use a cxplan release that reads this version, or write the "
                      "scenario in format version 1 (`cxplan: 1`)")
        raise ScenarioError(checker.problems)
    if "cxplan" in doc.data and not (type(version) is int and version == 1):
        # Checked here, not by the model: `Literal[1]` also accepts 1.0 and true.
        checker.error(("cxplan",), f"unsupported format version {_short(version)}",
                      "this cxplan reads format version 1: write `cxplan: 1`")
    # Amounts per period (with a horizon) are checked here; the models see one number.
    data, period_values = split_period_values(doc.data, checker.error)
    try:
        scenario = Scenario.model_validate(data)
        scenario._periods = period_values
    except ValidationError as exc:
        checker.pydantic(exc)
    checker.cross_check(doc.data)
    check_schedule_fields(doc.data, checker.error, checker.warning)
    if plugins is None:
        from cxplan.plugins.manager import get_plugin_manager

        plugins = get_plugin_manager()
    if criteria is None:
        criteria = plugins.criteria_names()
    checker.criteria(doc.data, set(criteria))
    # The objective section and the plugins' sections.
    check_objective(doc.data, checker.error)
    extensions = check_extensions(doc.data, plugins.scenario_sections(), checker.error)
    if scenario is not None and not checker.journey_broken():
        checker.journey_shape(scenario)
        if not checker.errors():  # it solves the chains: they must be absorbing
            checker.value_scale(scenario)
    # In file order (stable: problems of a dict, which have no lines, keep their order).
    # With `extends`, the variant's own problems come first, then each base file's.
    checker.problems.sort(key=lambda p: (p.file != doc.name, p.file, p.line or 0))
    if checker.errors():
        raise ScenarioError(checker.problems)
    assert scenario is not None
    scenario._source = doc.name
    scenario._warnings = [p for p in checker.problems if p.severity != "error"]
    scenario._extensions = extensions
    scenario._periods = period_values
    if transform:
        scenario = plugins.transform(scenario, partial(_revalidate, plugins=plugins))
    return scenario


def _revalidate(scenario: Scenario, *, plugins: CxplanPlugins) -> Scenario:
    """Validate a scenario a plugin transformed, as if it had been written in a file."""
    data = scenario.model_dump(by_alias=True, exclude_none=True)
    checked = validate_document(Document(name=scenario.source, data=data), plugins=plugins,
                                transform=False)
    checked._warnings = scenario.warnings  # the user's file's warnings, with their lines
    # The dump holds one number in place of each per-period list: keep the lists the
    # plugin left alone.
    checked._periods = kept_after_transform(scenario.period_values, checked)
    return checked


def did_you_mean(word: object, known: Iterable[object]) -> str:
    """' (did you mean 'x'?)' for the closest known name, or ''. Case does not count."""
    by_folded: dict[str, str] = {}
    for name in known:
        by_folded.setdefault(str(name).casefold(), str(name))
    matches = difflib.get_close_matches(str(word).casefold(), list(by_folded), n=1, cutoff=0.6)
    return f" (did you mean '{by_folded[matches[0]]}'?)" if matches else ""


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


class _Checker:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        # Problems found while reading single values (duplicate keys, YAML tags).
        self.problems: list[Problem] = list(doc.problems)
        self.error_paths: list[Path_] = []
        # Each persona's journey with every improvement applied (set by journey_shape).
        self.retained: list[PersonaParameters] = []

    # -- reporting ---------------------------------------------------------------------------
    def error(self, path: Path_, message: str, hint: str | None = None) -> None:
        self._add(path, message, hint, "error")

    def warning(self, path: Path_, message: str, hint: str | None = None) -> None:
        self._add(path, message, hint, "warning")

    def _add(self, path: Path_, message: str, hint: str | None, severity: str) -> None:
        if any(path[: len(bad)] == bad for bad in self.doc.unreadable):
            return  # already reported by the reader (the data holds a stand-in)
        if severity == "error":
            self.error_paths.append(path)
        file, place = self.doc.origin_of(path)  # a variant's values may come from its base
        self.problems.append(Problem(file, format_path(place), message, hint,
                                     self.doc.line_of(path), severity))

    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def journey_broken(self) -> bool:
        """Whether an error makes the journey itself unsafe to analyse."""
        # Unreadable values (`!!binary` as an edge's `from`) hold a stand-in that passes the
        # models but not the cross checks, whose problems are not repeated for them.
        for path in [*self.error_paths, *self.doc.unreadable]:
            match path:
                case ("touchpoints", int(), "stage" | "name" | "channel" | "owner"):
                    continue
                case ("journey" | "personas" | "touchpoints", *_) | ("improvements", int(),
                                                                      "effects", *_):
                    return True
        return False

    def pydantic(self, exc: ValidationError) -> None:
        for err in exc.errors(include_url=False):
            path: Path_ = tuple(err["loc"])
            kind = err["type"]
            value = err.get("input")
            got = f" (got {_short(value)})"
            if path[-1:] == ("[key]",):
                # A mapping key of the wrong type (only possible when a dict is passed in).
                self.error((*path[:-2], str(path[-2])), f"keys must be text{got}")
            elif kind == "extra_forbidden":
                known = _known_keys(path[:-1])
                msg = f"unknown key '{path[-1]}'{did_you_mean(path[-1], known)}"
                hint = (f"allowed here: {', '.join(known)}" if known
                        else "see the scenario format (DESIGN.md section 3)")
                self.error(path, msg, hint)
            elif kind == "missing":
                self.error(path, "required value is missing",
                           "the first line of a scenario is `cxplan: 1`"
                           if path == ("cxplan",) else None)
            elif kind == "literal_error" and path == ("cxplan",):
                continue  # reported by validate_document
            elif kind in ("string_pattern_mismatch", "string_too_short"):
                self.error(path, "an id must not be empty or start or end with a space" + got)
            else:
                self.error(path, f"{err['msg']}{got}",
                           _type_hint(kind, value, err.get("ctx"), _is_fraction(path)))

    # -- cross checks on raw data --------------------------------------------------------------
    def cross_check(self, data: dict[str, Any]) -> None:
        touchpoints = self._unique_ids(data, "touchpoints", "touchpoint")
        improvements = self._unique_ids(data, "improvements", "improvement")
        self._unique_ids(data, "personas", "persona")
        teams = _dict(data.get("teams"))
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
        self, edges: list[tuple[str, str, float, Path_]], persona: str | None = None
    ) -> None:
        sums: dict[str, float] = {}
        first: dict[str, Path_] = {}
        for src, _, prob, path in edges:
            sums[src] = sums.get(src, 0.0) + prob
            first.setdefault(src, path)
        for src, total in sums.items():
            if total > 1.0 + SUM_TOLERANCE:
                who = f" for persona '{persona}'" if persona else ""
                self.error(first[src],
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

    # -- journey shape (needs a scenario whose journey is valid) -------------------------------
    def value_scale(self, scenario: Scenario) -> None:
        """Reject amounts too large to optimize exactly (MAX_VALUE_SCALE), with a fix.

        The measure is customers × impact (or success value) × expected visits, the visits
        (at least 1) taken with every improvement applied, where loops are revisited most:
        the size of the optimization model's objective coefficients.
        """
        index = {tp.id: i for i, tp in enumerate(scenario.touchpoints)}
        base = [max(tp.impact, tp.success_value) for tp in scenario.touchpoints]
        personas = scenario.persona_list
        amounts: list[list[float]] = []
        for persona in personas:
            amount = list(base)
            for tp_id, over in (persona.touchpoints or {}).items():
                tp = scenario.touchpoints[index[tp_id]]
                amount[index[tp_id]] = max(
                    tp.impact if over.impact is None else over.impact,
                    tp.success_value if over.success_value is None else over.success_value)
            # with a horizon, the period with the most customers
            most = max(scenario.period_customers(persona), default=persona.customers)
            amounts.append([most * a for a in amount])
        edges = nx.DiGraph([(e.source, e.target) for e in scenario.journey.edges])
        edges.add_edges_from((e.source, e.target) for p in personas for e in p.edges or ())
        if nx.is_directed_acyclic_graph(edges):
            # Without loops nobody visits a touchpoint more than once: no solve needed.
            visits = [[1.0] * len(base) for _ in personas]
        else:
            visits = [_most_visits(params) for params in self.retained]
        for qi, (persona, amount) in enumerate(zip(personas, amounts, strict=True)):
            scale = [a * max(1.0, float(v)) for a, v in zip(amount, visits[qi], strict=True)]
            worst = max(range(len(scale)), key=scale.__getitem__)
            if scale[worst] <= MAX_VALUE_SCALE:
                continue
            where: Path_ = (("personas", qi, "customers") if scenario.personas
                            else ("touchpoints", worst))
            who = f"persona '{persona.id}' × " if scenario.personas else ""
            self.error(where, f"amounts too large to optimize exactly: {who}touchpoint "
                       f"'{scenario.touchpoints[worst].id}' reaches {scale[worst]:.3g} "
                       f"(customers × impact or success value × expected visits), above "
                       f"{MAX_VALUE_SCALE:.0e}",
                       "write money in thousands or millions (and say so in `currency`), "
                       "or customers in thousands")

    def journey_shape(self, scenario: Scenario) -> None:
        """Every reachable touchpoint must be able to reach a way out (absorbing chain).

        Checked on the journey with every improvement applied: that is where customers are
        retained most, so if some customers can never leave there, some selection makes the
        expected visits infinite. Touchpoints no customer reaches get a warning.
        """
        from cxplan.core.journey import persona_parameters

        touchpoint_index = {tp.id: i for i, tp in enumerate(scenario.touchpoints)}
        reachable_somewhere: set[str] = set()
        stuck_base: set[str] = set()  # personas that use the journey's own edges and numbers
        stuck_found = False
        for qi, persona in enumerate(scenario.persona_list):
            params = persona_parameters(scenario, persona, select_all=True)
            self.retained.append(params)
            graph: nx.DiGraph = nx.DiGraph()
            graph.add_nodes_from(params.touchpoints)
            out_sum = dict.fromkeys(params.touchpoints, 0.0)
            for (src, dst), prob in params.edges.items():
                out_sum[src] += prob
                if prob > 0:
                    graph.add_edge(src, dst)
            reachable = _closure(graph.successors, [t for t, e in params.entry.items() if e > 0])
            reachable_somewhere |= reachable
            leaks = [t for t in params.touchpoints
                     if 1.0 - out_sum[t] >= LEAK_EPSILON
                     or params.failure[t] * params.dropout[t] >= LEAK_EPSILON]
            stuck = reachable - _closure(graph.predecessors, leaks)
            if not stuck:
                continue
            stuck_found = True
            if not scenario.personas or (persona.edges is None and persona.touchpoints is None):
                stuck_base |= stuck
            else:
                self._endless(("personas", qi), sorted(stuck, key=touchpoint_index.__getitem__),
                              f" for persona '{persona.id}'")
        if stuck_base:
            self._endless(("journey", "edges"),
                          sorted(stuck_base, key=touchpoint_index.__getitem__), "")
        if not stuck_found:
            for t in scenario.touchpoints:
                if t.id not in reachable_somewhere:
                    self.warning(("touchpoints", touchpoint_index[t.id]),
                                 f"touchpoint '{t.id}' is unreachable from any entry "
                                 "(no customer ever gets there)",
                                 "add an entry probability or an edge leading to it")

    def _endless(self, where: Path_, stuck: list[str], who: str) -> None:
        self.error(where,
                   f"the journey{who} can never end once it reaches "
                   f"{', '.join(repr(t) for t in stuck[:5])}"
                   f"{' and others' if len(stuck) > 5 else ''}: every path from there loops "
                   "back with probability 1 (not an absorbing chain), at least once every "
                   "improvement is applied",
                   "let some probability leave the loop: lower an outgoing edge probability "
                   "so that the remainder completes the journey (dropout after a failure "
                   "counts only while some failure remains)")


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


def _most_visits(params: PersonaParameters) -> list[float]:
    """Expected visits per touchpoint with every improvement applied (the most there can
    be: DESIGN.md section 2), from v = e + Pᵀ diag(1 − p'd') v on the touchpoints that
    customers reach (an endless loop nobody reaches is allowed). Only a magnitude check
    uses it: the evaluator is cxplan.core.journey."""
    import numpy as np
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    successors: dict[str, list[str]] = {}
    for (src, dst), prob in params.edges.items():
        if prob > 0:
            successors.setdefault(src, []).append(dst)
    reached = _closure(lambda t: successors.get(t, ()),
                       [t for t, e in params.entry.items() if e > 0])
    order = [t for t in params.touchpoints if t in reached]
    index = {t: i for i, t in enumerate(order)}
    n = len(order)
    if not n:
        return [0.0] * len(params.touchpoints)
    edges = [(index[dst], index[src], prob * (1.0 - params.failure[src] * params.dropout[src]))
             for (src, dst), prob in params.edges.items() if src in index and dst in index]
    rows, cols, values = (list(column) for column in zip(*edges, strict=True)) if edges \
        else ([], [], [])
    system = sp.identity(n, format="csc") - sp.csc_matrix((values, (rows, cols)), shape=(n, n))
    entry = np.array([params.entry.get(t, 0.0) for t in order])
    visits = np.atleast_1d(spla.spsolve(system, entry))
    return [float(visits[index[t]]) if t in index else 0.0 for t in params.touchpoints]


def _closure(neighbours: Callable[[str], Iterable[str]], starts: Iterable[str]) -> set[str]:
    """`starts` and everything reached from them by following `neighbours`."""
    seen = set(starts)
    stack = list(seen)
    while stack:
        for nxt in neighbours(stack.pop()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _type_hint(kind: str, value: Any, ctx: dict[str, Any] | None,
               fraction: bool = False) -> str | None:
    """A hint for a pydantic error type, where there is something useful to say."""
    number_kinds = ("float_type", "int_type", "float_parsing", "int_parsing", "int_from_float")
    if kind in number_kinds and isinstance(value, bool):
        return "true/false (also yes/no/on/off in YAML) is not a number here"
    if kind in number_kinds and isinstance(value, str):
        return "write the number without quotes"
    if kind == "int_from_float" or (kind == "int_type" and isinstance(value, float)):
        return "a whole number is needed here"
    if kind == "string_type" and value is not None and not isinstance(value, list | dict):
        return (f"put it in quotes: '{value}'" if not isinstance(value, bool) else
                "yes/no/on/off/true/false read as true/false in YAML: put the text in quotes")
    if kind == "bool_type":
        return "write true or false"
    if kind == "list_type":
        return "write a list, e.g. [a, b] (or [a] for one item)"
    if kind in ("dict_type", "model_type"):
        return "write a mapping of keys and values, e.g. {key: value}"
    bounds = ctx or {}
    if (kind == "less_than_equal" and bounds.get("le") == 1.0) or (
        kind == "greater_than_equal" and bounds.get("ge") == 0.0 and fraction
    ):
        return "probabilities and reductions are between 0 and 1 (write 25 % as 0.25)"
    if kind == "greater_than_equal" and bounds.get("ge") == 0.0:
        return "this value cannot be negative"
    if kind == "finite_number":
        return "NaN and infinity are not allowed; write a finite number"
    if kind == "too_short":
        return "give at least one item"
    return None


def _known_keys(path: Path_) -> list[str]:
    """Field names (as written in a file) of the model that sits at `path`."""
    model = _model_at(path)
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _is_fraction(path: Path_) -> bool:
    """Whether the value at `path` is a field bounded by 1 (a probability, share or
    reduction), as far as the models tell."""
    model = _model_at(path[:-1]) if path else None
    if model is None:
        return False
    for name, field in model.model_fields.items():
        if path[-1] in (name, field.alias):
            return any(getattr(m, "le", None) == 1.0
                       for m in _constraints(field.metadata, field.annotation))
    return False


def _constraints(metadata: list[Any], annotation: Any) -> Iterator[Any]:
    """A field's constraints, also those inside `Annotated[...] | None`."""
    yield from metadata
    for inner in get_args(annotation):
        for extra in getattr(inner, "__metadata__", ()):
            yield from getattr(extra, "metadata", ())


def _model_at(path: Path_) -> Any:
    """The scenario model that sits at `path`, or None."""
    from cxplan.scenario import models

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
        case ("objective",):
            model = models.Objective
        case ("horizon",):
            model = models.Horizon
        case ("objective", "priorities", "#"):
            model = models.PriorityLevel
        case ("journey", "edges", "#") | ("personas", "#", "edges", "#"):
            model = models.Edge
        case _:
            model = None
    return model


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
