"""Checks only the Markov chains reveal: a journey that can never end, and amounts too
large to optimize exactly. They need a scenario whose journey passed the other checks
(`cxplan.scenario.checks.journey_unsound`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import networkx as nx

from cxplan.core.journey import build_journey, persona_parameters
from cxplan.scenario.models import Scenario
from cxplan.scenario.problems import ProblemLog
from cxplan.scenario.source import Path_

# The largest customers × impact (or × success value) of one touchpoint that is optimized
# exactly: the MILP's objective coefficients grow with it, and near 1e20 HiGHS stops with
# status "unknown" (measured: fine up to 1e19 on random scenarios). 1e15 is ten times the
# world's yearly GDP in dollars; loops that revisit a touchpoint multiply it further.
MAX_VALUE_SCALE = 1e15
# A touchpoint "leaks" (lets customers leave the journey) only if it does so with at least
# this probability; below it, expected visits explode and the chain is treated as endless.
LEAK_EPSILON = 1e-9


def check_chains(scenario: Scenario, log: ProblemLog) -> None:
    """The journey must be an absorbing chain for every selection; when it is (and nothing
    else is wrong), its amounts must be small enough to optimize exactly."""
    checks = _ChainChecks(log)
    checks.journey_shape(scenario)
    if not log.errors():  # the amounts check solves the chains: they must be absorbing
        checks.value_scale(scenario)


class _ChainChecks:
    def __init__(self, log: ProblemLog) -> None:
        self.error = log.error
        self.warning = log.warning

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
            # Visits with every improvement applied: the most there can be (docs/model.md).
            everything = build_journey(scenario).evaluate(scenario.improvement_ids)
            visits = [list(p.visits) for p in everything.personas]
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
        touchpoint_index = {tp.id: i for i, tp in enumerate(scenario.touchpoints)}
        reachable_somewhere: set[str] = set()
        stuck_base: set[str] = set()  # personas that use the journey's own edges and numbers
        stuck_found = False
        for qi, persona in enumerate(scenario.persona_list):
            params = persona_parameters(scenario, persona, select_all=True)
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
                                 "add an entry probability or an edge leading to it",
                                 group="touchpoints are unreachable from any entry (no "
                                 "customer ever gets there)", subject=t.id)

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
