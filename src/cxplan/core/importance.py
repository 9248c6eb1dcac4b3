"""How much each touchpoint matters to completing the journey: its removal effect, as
Markov attribution defines it, computed exactly by linear solves instead of simulated.

Removing touchpoint t sends every customer who would reach it to abandonment. With f_t
the probability of ever reaching t and h_t the probability of completing the journey from
t on, the completions lost are exactly f_t · h_t (those that pass through t), so

    removal effect of t = 1 − P(complete with t removed) / P(complete) = f_t h_t / P(complete)

and the value lost is f_t · k_t, k_t being the expected value collected from t on (t
included). Per persona: v solves (I − Pᵀ R) v = e (expected visits), h solves
(I − R P) h = c (c_t = r_t (1 − Σ_u P_tu): completing right after t), k solves
(I − R P) k = g (g_t the value of one visit of t), and f_t = v_t / N_tt, N_tt = the
expected visits of t starting from t (the diagonal of (I − Pᵀ R)⁻¹). Customer-weighted:
removal effect = Σ_q N_q f h / Σ_q N_q P_q; completions are attributed in proportion to
the removal effects (normalized to sum to the expected completions), as in Markov
attribution.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from cxplan.core.journey import Journey, PersonaChain

DIAGONAL_BLOCK = 256  # columns of the inverse solved at once on large journeys


@dataclass(frozen=True)
class TouchpointImportance:
    """One touchpoint's importance (customer-weighted over personas, or for one)."""

    id: str
    name: str
    removal_effect: float  # share of completions lost when t is removed
    attributed_completions: float  # completions attributed to t (normalized removal effects)
    value_lost: float  # expected value lost when t is removed (currency; negative: gained)
    reach: float  # probability that a customer ever reaches t

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "removal_effect": self.removal_effect,
                "attributed_completions": self.attributed_completions,
                "value_lost": self.value_lost, "reach": self.reach}


@dataclass(frozen=True)
class PersonaImportance:
    """The touchpoints' importance for one persona."""

    id: str
    name: str
    customers: float
    completion_probability: float
    completions: float  # customers × completion probability
    touchpoints: list[TouchpointImportance]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "customers": self.customers,
                "completion_probability": self.completion_probability,
                "completions": self.completions,
                "touchpoints": [t.to_dict() for t in self.touchpoints]}


@dataclass(frozen=True)
class Importance:
    """Every touchpoint's importance, customer-weighted, and per persona."""

    scenario: str
    completion_probability: float
    completions: float
    touchpoints: list[TouchpointImportance]
    personas: list[PersonaImportance]

    def to_dict(self) -> dict[str, Any]:
        """The `cxplan importance --json` object (its first keys are a contract)."""
        return {"completion_probability": self.completion_probability,
                "touchpoints": [t.to_dict() for t in self.touchpoints],
                "scenario": self.scenario, "completions": self.completions,
                "personas": [p.to_dict() for p in self.personas]}


@dataclass(frozen=True)
class _PersonaArrays:
    completion: float
    lost_completions: np.ndarray  # f_t h_t per customer
    value_lost: np.ndarray  # f_t k_t per customer
    reach: np.ndarray  # f_t


def _diagonal_of_inverse(a: np.ndarray | sp.csc_matrix) -> np.ndarray:
    if isinstance(a, np.ndarray):
        diagonal: np.ndarray = np.diag(np.linalg.inv(a)).copy()
        return diagonal
    lu = spla.splu(a)
    n = a.shape[0]
    out = np.zeros(n)
    for start in range(0, n, DIAGONAL_BLOCK):
        stop = min(n, start + DIAGONAL_BLOCK)
        block = np.zeros((n, stop - start))
        block[np.arange(start, stop), np.arange(stop - start)] = 1.0
        solved = lu.solve(block)
        out[start:stop] = solved[np.arange(start, stop), np.arange(stop - start)]
    return out


def _persona_arrays(chain: PersonaChain, mf: np.ndarray, mi: np.ndarray,
                    md: np.ndarray) -> _PersonaArrays:
    n = len(chain.failure)
    lost, value, reach = np.zeros(n), np.zeros(n), np.zeros(n)
    idx = chain.reachable_index
    if not len(idx):
        return _PersonaArrays(0.0, lost, value, reach)
    p, c = chain.failure[idx] * mf[idx], chain.impact[idx] * mi[idx]
    d = chain.dropout[idx] * md[idx]
    retention = 1.0 - p * d
    out_sum = np.asarray(chain.transition[idx].sum(axis=1)).ravel()
    complete_after = retention * np.clip(1.0 - out_sum, 0.0, None)
    per_visit = chain.success[idx] * (1.0 - p) - c * p
    pt = chain.reachable_transition_t
    entry = chain.entry[idx]
    if isinstance(pt, np.ndarray):
        a = pt * -retention[None, :]
        a.flat[:: len(idx) + 1] += 1.0
        visits = np.linalg.solve(a, entry)
        to_go = np.linalg.solve(a.T, np.column_stack([complete_after, per_visit]))
        diagonal = _diagonal_of_inverse(a)
    else:
        system = chain.system(retention)
        visits = spla.spsolve(system, entry)
        lu = spla.splu(system.T.tocsc())
        to_go = lu.solve(np.column_stack([complete_after, per_visit]))
        diagonal = _diagonal_of_inverse(system)
    f = visits / diagonal
    lost[idx] = f * to_go[:, 0]
    value[idx] = f * to_go[:, 1]
    reach[idx] = f
    return _PersonaArrays(float(visits @ complete_after), lost, value, reach)


def _rows(journey: Journey, lost: np.ndarray, value: np.ndarray, reach: np.ndarray,
          completions: float) -> list[TouchpointImportance]:
    effect = lost / completions if completions > 0 else np.zeros_like(lost)
    total = effect.sum()
    attributed = effect / total * completions if total > 0 else np.zeros_like(effect)
    return [TouchpointImportance(tp.id, tp.label, float(effect[i]), float(attributed[i]),
                                 float(value[i]), float(reach[i]))
            for i, tp in enumerate(journey.scenario.touchpoints)]


def importance(journey: Journey, selection: Iterable[str] = ()) -> Importance:
    """Every touchpoint's removal effect, attributed completions and value lost, with the
    improvements in `selection` applied (none: the journey as it is)."""
    mf, mi, md = journey.multipliers(selection)
    n = len(journey.touchpoint_ids)
    lost, value, reach = np.zeros(n), np.zeros(n), np.zeros(n)
    completions = customers = 0.0
    personas = []
    for chain in journey.personas:
        arrays = _persona_arrays(chain, mf, mi, md)
        weight = chain.customers
        lost += weight * arrays.lost_completions
        value += weight * arrays.value_lost
        reach += weight * arrays.reach
        completions += weight * arrays.completion
        customers += weight
        personas.append(PersonaImportance(
            chain.id, chain.label, weight, arrays.completion, weight * arrays.completion,
            _rows(journey, weight * arrays.lost_completions, weight * arrays.value_lost,
                  arrays.reach, weight * arrays.completion)))
    share = completions / customers if customers > 0 else 0.0
    return Importance(journey.scenario.title, share, completions,
                      _rows(journey, lost, value, reach / customers if customers else reach,
                            completions), personas)
