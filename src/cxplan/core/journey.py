"""The journey per persona as an absorbing Markov chain, and its exact evaluation.

This is the independent evaluator of the model (docs/model.md): given a selection
of improvements it computes expected visits, failures, dropouts, losses and
value by solving the linear system v = e + Pᵀ diag(1 − p'd') v directly
(dense LU for small journeys; for large ones forward substitution over the loops'
components, or sparse LU: `cxplan.core.factor`). The optimizer's answers are always
re-checked against it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import numpy as np
import scipy.sparse as sp

from cxplan.core.factor import ChainFactor, ChainStructure
from cxplan.scenario.models import Persona, Scenario

DENSE_LIMIT = 300  # above this many reachable touchpoints, solve with sparse LU

FloatArray = np.ndarray


@dataclass(frozen=True)
class PersonaParameters:
    """One persona's effective journey numbers, keyed by touchpoint id."""

    persona: Persona
    touchpoints: list[str]
    entry: dict[str, float]
    edges: dict[tuple[str, str], float]
    failure: dict[str, float]
    impact: dict[str, float]
    dropout: dict[str, float]
    success: dict[str, float]


def persona_parameters(
    scenario: Scenario, persona: Persona, *, select_all: bool = False
) -> PersonaParameters:
    """Apply a persona's overrides to the journey; with `select_all`, every improvement too.

    `select_all` gives the journey where customers are retained most, which is what the
    absorbing check and the optimizer's upper visit bounds need.
    """
    ids = [tp.id for tp in scenario.touchpoints]
    entry = dict(persona.entry if persona.entry is not None else scenario.journey.entry)
    edges = {(e.source, e.target): e.probability for e in scenario.journey.edges}
    if persona.edges is not None:
        replaced = {e.source for e in persona.edges}
        edges = {k: v for k, v in edges.items() if k[0] not in replaced}
        edges.update({(e.source, e.target): e.probability for e in persona.edges})
    failure = {tp.id: tp.failure_probability for tp in scenario.touchpoints}
    impact = {tp.id: tp.impact for tp in scenario.touchpoints}
    dropout = {tp.id: tp.dropout for tp in scenario.touchpoints}
    success = {tp.id: tp.success_value for tp in scenario.touchpoints}
    for tp_id, override in (persona.touchpoints or {}).items():
        if override.failure_probability is not None:
            failure[tp_id] = override.failure_probability
        if override.impact is not None:
            impact[tp_id] = override.impact
        if override.dropout is not None:
            dropout[tp_id] = override.dropout
        if override.success_value is not None:
            success[tp_id] = override.success_value
    if select_all:
        for imp in scenario.improvements:
            for eff in imp.effects:
                failure[eff.touchpoint] *= 1.0 - eff.failure_reduction
                impact[eff.touchpoint] *= 1.0 - eff.impact_reduction
                dropout[eff.touchpoint] *= 1.0 - eff.dropout_reduction
    return PersonaParameters(persona, ids, entry, edges, failure, impact, dropout, success)


@dataclass(frozen=True)
class PersonaChain:
    """One persona's journey as arrays over the scenario's touchpoints (scenario order)."""

    id: str
    label: str
    customers: float
    entry: FloatArray
    transition: sp.csr_matrix  # transition[t, u] = P_tu
    failure: FloatArray
    impact: FloatArray
    dropout: FloatArray
    success: FloatArray
    reachable: np.ndarray  # bool mask: reachable from an entry

    @cached_property
    def reachable_index(self) -> np.ndarray:
        return np.flatnonzero(self.reachable)

    @cached_property
    def reachable_transition_t(self) -> np.ndarray | sp.csc_matrix:
        """Pᵀ restricted to reachable touchpoints: dense when small, sparse CSC when large."""
        idx = self.reachable_index
        sub = self.transition[idx][:, idx].T
        return sub.toarray() if len(idx) <= DENSE_LIMIT else sub.tocsc()

    @cached_property
    def structure(self) -> ChainStructure:
        """The chain's factorization method and what it needs (`cxplan.core.factor`)."""
        return ChainStructure(self.reachable_transition_t)

    def system(self, retention: np.ndarray) -> sp.csc_matrix:
        """I − Pᵀ diag(retention) on the reachable touchpoints, as a sparse matrix."""
        return self.structure.system(retention)

    def factor(self, retention: np.ndarray) -> ChainFactor:
        """I − Pᵀ diag(retention) on the reachable touchpoints, factored."""
        return self.structure.factor(retention)


@dataclass(frozen=True)
class AppliedEffect:
    """An improvement's effect on one touchpoint (by position): the shares it takes off."""

    touchpoint: int
    failure: float
    impact: float
    dropout: float


@dataclass(frozen=True)
class PersonaOutcome:
    """Expected quantities per customer of one persona, per touchpoint (scenario order)."""

    persona: str
    customers: float
    visits: FloatArray
    failures: FloatArray
    dropouts: FloatArray
    losses: FloatArray
    successes: FloatArray  # s_t (v_t − F_t)

    @property
    def values(self) -> FloatArray:
        """Value contributed by each touchpoint per customer: s(v − F) − c'F."""
        values: FloatArray = self.successes - self.losses
        return values

    @property
    def value(self) -> float:
        """E_q(x): expected value per customer."""
        return float(self.values.sum())

    @property
    def abandonment(self) -> float:
        """Probability that a customer abandons the journey after a failure."""
        return float(self.dropouts.sum())


@dataclass(frozen=True)
class Evaluation:
    """The exact value of one selection, per persona and in total."""

    selection: tuple[str, ...]
    personas: tuple[PersonaOutcome, ...]

    @property
    def value(self) -> float:
        """Σ_q N_q E_q(x), in currency."""
        return float(sum(p.customers * p.value for p in self.personas))

    def weighted(self, quantity: str) -> FloatArray:
        """A per-touchpoint quantity summed over personas, weighted by customers."""
        total: FloatArray = np.zeros(len(self.personas[0].visits)) if self.personas else np.zeros(0)
        for p in self.personas:
            total = total + p.customers * getattr(p, quantity)
        return total


@dataclass
class Journey:
    """A scenario's journeys, ready for exact evaluation of any selection."""

    scenario: Scenario
    touchpoint_ids: list[str]
    personas: list[PersonaChain]
    effects: dict[str, list[AppliedEffect]]
    _cache: dict[frozenset[str], Evaluation] = field(default_factory=dict, repr=False)

    @cached_property
    def cache_limit(self) -> int:
        """How many evaluations a cache of this journey's evaluations may hold.

        Each evaluation holds 6 arrays per persona over all touchpoints: a cache stays near
        64 MiB whatever the journey's size (large journeys get few entries)."""
        per_entry = 8 * 6 * max(1, len(self.touchpoint_ids)) * max(1, len(self.personas))
        return max(8, min(4096, (64 << 20) // per_entry))

    @cached_property
    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.touchpoint_ids)}

    @cached_property
    def _improvement_position(self) -> dict[str, int]:
        return {imp: k for k, imp in enumerate(self.effects)}

    @cached_property
    def _effect_arrays(self) -> tuple[np.ndarray, ...]:
        """(improvement position, touchpoint, kept failure, kept impact, kept dropout)."""
        rows = [(k, e.touchpoint, 1.0 - e.failure, 1.0 - e.impact, 1.0 - e.dropout)
                for k, effects in enumerate(self.effects.values()) for e in effects]
        if not rows:
            return (np.zeros(0, dtype=int),) * 2 + (np.zeros(0),) * 3
        cols = list(zip(*rows, strict=True))
        return (np.array(cols[0], dtype=int), np.array(cols[1], dtype=int),
                np.array(cols[2]), np.array(cols[3]), np.array(cols[4]))

    def graph(self, persona: str | int = 0) -> nx.DiGraph:
        """The persona's journey as a networkx graph with touchpoint attributes. `persona`
        is the persona's id (as in the scenario), or its position among the personas."""
        chain = self.persona(persona)
        g: nx.DiGraph = nx.DiGraph()
        for i, tp in enumerate(self.scenario.touchpoints):
            g.add_node(tp.id, name=tp.label, stage=tp.stage, channel=tp.channel,
                       failure_probability=chain.failure[i], impact=chain.impact[i],
                       dropout=chain.dropout[i], entry=chain.entry[i],
                       reachable=bool(chain.reachable[i]))
        coo = chain.transition.tocoo()
        for t, u, prob in zip(coo.row, coo.col, coo.data, strict=True):
            g.add_edge(self.touchpoint_ids[t], self.touchpoint_ids[u], probability=float(prob))
        return g

    def persona(self, persona: str | int) -> PersonaChain:
        """A persona's chain, by id or by position; a KeyError names the known ids."""
        if isinstance(persona, int) and not isinstance(persona, bool):
            return self.personas[persona]
        for chain in self.personas:
            if chain.id == persona:
                return chain
        raise KeyError(f"no persona {persona!r}; the personas are: "
                       f"{', '.join(c.id for c in self.personas)}")

    def completion_shares(self) -> list[tuple[str, str, float]]:
        """(persona, touchpoint, share) for every reachable touchpoint whose out-edges sum
        to more than 0 and less than 1: that share of the customers who carry on after it
        completes the journey there (docs/model.md) — worth saying, since a modeller who
        meant "the rest abandon" would otherwise count them as successes."""
        found = []
        for chain in self.personas:
            sums = np.asarray(chain.transition.sum(axis=1)).ravel()
            for t in np.flatnonzero(chain.reachable & (sums > 0) & (sums < 1.0 - 1e-12)):
                found.append((chain.id, self.touchpoint_ids[t], float(1.0 - sums[t])))
        return found

    def multipliers(self, selection: Iterable[str]) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per-touchpoint factors (failure, impact, dropout) that a selection applies."""
        n = len(self.touchpoint_ids)
        mf, mi, md = np.ones(n), np.ones(n), np.ones(n)
        chosen = np.zeros(len(self.effects), dtype=bool)
        chosen[[self._improvement_position[i] for i in selection]] = True
        owner, touchpoint, kf, ki, kd = self._effect_arrays
        mask = chosen[owner]
        np.multiply.at(mf, touchpoint[mask], kf[mask])
        np.multiply.at(mi, touchpoint[mask], ki[mask])
        np.multiply.at(md, touchpoint[mask], kd[mask])
        return mf, mi, md

    def evaluate(self, selection: Iterable[str] = (), *, remember: bool = True) -> Evaluation:
        """Exact expected outcome of selecting `selection` (ids; order does not matter).

        Results are cached (within `cache_limit`); `remember=False` leaves this one out of
        the cache, for callers that evaluate many selections once each."""
        chosen = frozenset(selection)
        cached = self._cache.get(chosen)
        if cached is not None:
            return cached
        # one lookup per member: a difference with the keys would walk every improvement
        unknown = [i for i in chosen if i not in self.effects]
        if unknown:
            raise KeyError(f"unknown improvement(s): {', '.join(sorted(unknown))}")
        result = self._solve(chosen)
        if remember and len(self._cache) < self.cache_limit:
            self._cache[chosen] = result
        return result

    def _solve(self, chosen: frozenset[str]) -> Evaluation:
        mf, mi, md = self.multipliers(chosen)
        outcomes = tuple(_evaluate_chain(c, mf, mi, md) for c in self.personas)
        ordered = tuple(sorted(chosen, key=self._improvement_position.__getitem__))
        return Evaluation(ordered, outcomes)

    @cached_property
    def evaluation_seconds(self) -> float:
        """Wall seconds of one evaluation (measured once, on the empty selection and not
        the first one, which also analyses the chains): what callers with a time budget
        plan with."""
        self._solve(frozenset())  # never from the cache
        began = time.perf_counter()
        self._solve(frozenset())
        return time.perf_counter() - began

    def visits(self, selection: Iterable[str]) -> list[FloatArray]:
        """Expected visits per persona for a selection."""
        return [p.visits for p in self.evaluate(selection).personas]

    def first_order_gains(self, selection: Iterable[str] = ()) -> dict[str, float]:
        """A linear estimate of what adding each improvement alone to `selection` would gain.

        One adjoint solve per persona gives ∂value/∂retention and ∂value/∂(per-visit
        value) at every touchpoint; each improvement's estimate is that gradient times the
        change its effects make. Exact for improvements that do not change retention
        (no failure or dropout reduction on a touchpoint with successors); used to order
        large plans, never as a reported value.
        """
        base = set(selection)
        mf, mi, md = self.multipliers(base)
        owner, touchpoint, kf, ki, kd = self._effect_arrays
        estimate = np.zeros(len(self.effects))
        for chain in self.personas:
            p, c, d = chain.failure * mf, chain.impact * mi, chain.dropout * md
            s = chain.success
            idx = chain.reachable_index
            if not len(idx):
                continue
            visits, pull = np.zeros(len(p)), np.zeros(len(p))
            retention = 1.0 - p[idx] * d[idx]
            per_visit = s[idx] * (1.0 - p[idx]) - c[idx] * p[idx]
            factor = chain.factor(retention)
            visits[idx] = factor.solve(chain.entry[idx])
            adjoint = factor.solve_transposed(per_visit)
            pull[idx] = (chain.reachable_transition_t.T @ adjoint) * visits[idx]
            t = touchpoint
            d_pd = p[t] * d[t] * (kf * kd - 1.0)        # change of p'd' (retention = 1 − p'd')
            d_cp = c[t] * p[t] * (kf * ki - 1.0)        # change of the loss per visit
            d_per_visit = -s[t] * p[t] * (kf - 1.0) - d_cp
            contribution = visits[t] * d_per_visit - pull[t] * d_pd
            estimate += chain.customers * np.bincount(owner, contribution,
                                                      minlength=len(self.effects))
        return {imp: float(estimate[k]) for imp, k in self._improvement_position.items()
                if imp not in base}


def _evaluate_chain(
    chain: PersonaChain, mf: FloatArray, mi: FloatArray, md: FloatArray
) -> PersonaOutcome:
    p = chain.failure * mf
    c = chain.impact * mi
    d = chain.dropout * md
    visits = np.zeros(len(p))
    idx = chain.reachable_index
    if len(idx):
        retention = 1.0 - p[idx] * d[idx]
        # v = e + Pᵀ diag(retention) v  on the reachable touchpoints
        visits[idx] = chain.factor(retention).solve(chain.entry[idx])
    failures = visits * p
    return PersonaOutcome(
        persona=chain.id,
        customers=chain.customers,
        visits=visits,
        failures=failures,
        dropouts=failures * d,
        losses=failures * c,
        successes=chain.success * (visits - failures),
    )


def build_journey(scenario: Scenario) -> Journey:
    """Turn a validated scenario into per-persona chains and improvement effects."""
    ids = [tp.id for tp in scenario.touchpoints]
    index = {t: i for i, t in enumerate(ids)}
    n = len(ids)
    chains = []
    for persona in scenario.persona_list:
        params = persona_parameters(scenario, persona)
        entry = np.array([params.entry.get(t, 0.0) for t in ids])
        rows = [index[s] for s, _ in params.edges]
        cols = [index[t] for _, t in params.edges]
        transition = sp.csr_matrix((list(params.edges.values()), (rows, cols)), shape=(n, n))
        graph = sp.csr_matrix(((transition.data > 0).astype(float), transition.indices,
                               transition.indptr), shape=(n, n))
        reachable = _reachable(graph, np.flatnonzero(entry > 0))
        chains.append(PersonaChain(
            id=persona.id,
            label=persona.label,
            customers=persona.customers,
            entry=entry,
            transition=transition,
            failure=np.array([params.failure[t] for t in ids]),
            impact=np.array([params.impact[t] for t in ids]),
            dropout=np.array([params.dropout[t] for t in ids]),
            success=np.array([params.success[t] for t in ids]),
            reachable=reachable,
        ))
    effects = {
        imp.id: [AppliedEffect(index[e.touchpoint], e.failure_reduction, e.impact_reduction,
                        e.dropout_reduction) for e in imp.effects]
        for imp in scenario.improvements
    }
    return Journey(scenario, ids, chains, effects)


def _reachable(graph: sp.csr_matrix, starts: np.ndarray) -> np.ndarray:
    """Touchpoints reachable from any start, by one search from a virtual source."""
    from scipy.sparse.csgraph import breadth_first_order

    n = graph.shape[0]
    source = sp.csr_matrix((np.ones(len(starts)), (np.full(len(starts), n), starts)),
                           shape=(n + 1, n + 1))
    extended = sp.bmat([[graph, None], [None, sp.csr_matrix((1, 1))]], format="csr") + source
    order = breadth_first_order(extended, n, directed=True, return_predecessors=False)
    mask = np.zeros(n + 1, dtype=bool)
    mask[order] = True
    return mask[:n]
