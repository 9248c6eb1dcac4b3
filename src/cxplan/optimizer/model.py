"""The exact MILP (docs/model.md, "The exact MILP": the "hull" formulation), built with PuLP.

For every touchpoint t the improvements affecting it are split into blocks
(one block when there are at most 9, else blocks of at most 4). Each block
gets convex weights λ_S over its admissible subsets, shared by personas; at a
binary selection λ is the indicator of the selected subset. Per persona, the
scaled visits ν_t = v_t / σ_t flow through the blocks as disaggregated copies
u_S, so that each quantity (failures, dropouts, losses) leaving a block is
exactly φ_{S*} times what entered it: the product of (1 − r_j) factors, made
linear. Flow constraints tie the visits of a touchpoint to the retained
visits of its predecessors. The result is exact at every binary selection.

Nothing here solves or prints: `build_model` returns a `Model` that
`cxplan.optimizer.highs` hands to HiGHS.
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pulp
import scipy.sparse as sp

from cxplan.core.journey import Evaluation, Journey, PersonaChain
from cxplan.core.selection import allowance
from cxplan.linear import (
    PULP_CLEAN,
    PULP_ILLEGAL,
    accumulate,
    add_row,
    add_term,
    constraint,
    expression,
    paused_gc,
    register_variables,
)
from cxplan.scenario.models import Scenario

if TYPE_CHECKING:
    from cxplan.core.criterion import Criterion

WIDEN = 1e-4  # relative widening of visit bounds; tighter let presolve cut off optima

@dataclass(frozen=True)
class Blocking:
    """How improvements on one touchpoint are grouped: one exact hull for up to `single`
    of them, else consecutive blocks of `size`. Every choice is exact; they differ in LP
    strength (bigger blocks are tighter) and in model size (2^|block| weights each)."""

    single: int
    size: int


TIGHT = Blocking(single=9, size=4)  # the hull of docs/model.md: root gaps 0.04–0.7 %
COMPACT = Blocking(single=6, size=3)  # for large models (COMPACT_ABOVE, choose_blocking)
# estimated columns past which COMPACT is chosen (1 000 improvements ≈ 28 000: still TIGHT)
COMPACT_ABOVE = 40_000
# the LP relaxation's time per (estimated) column, for choosing the blocking of an LP-first
# solve: 0.7–1.3e-4 s measured on the 10 000-improvement benchmarks (idle 2-core machine)
LP_SECONDS_PER_COLUMN = 1e-4
UNREACHABLE = 1e-12  # visits below this (with everything selected) are treated as zero

FAILURES, DROPOUTS, LOSSES = "F", "D", "L"
@dataclass(frozen=True)
class Member:
    """An improvement's effect on one touchpoint."""

    improvement: str
    failure: float
    impact: float
    dropout: float


@dataclass
class Block:
    """Improvements on one touchpoint whose joint choice is modelled exactly by weights λ_S."""

    members: list[Member]
    subsets: list[tuple[int, ...]]
    weights: list[pulp.LpAffineExpression]
    # factors() per quantity: asked once per persona and quantity, the same every time
    _factors: dict[str, list[float]] = field(default_factory=dict, repr=False, compare=False)

    def factors(self, quantity: str) -> list[float]:
        """φ^Q_S for every admissible subset S (a shared list: do not modify it)."""
        cached = self._factors.get(quantity)
        if cached is not None:
            return cached
        result = []
        for subset in self.subsets:
            phi = 1.0
            for k in subset:
                m = self.members[k]
                phi *= 1.0 - m.failure
                if quantity == DROPOUTS:
                    phi *= 1.0 - m.dropout
                elif quantity == LOSSES:
                    phi *= 1.0 - m.impact
            result.append(phi)
        self._factors[quantity] = result
        return result


@dataclass
class ModelContext:
    """Everything a criterion or a constraint plugin needs to add to the model.

    Indices: `q` is a persona's position in `journey.personas`, `t` a touchpoint's
    position in `scenario.touchpoints` (see `touchpoint_index`). All expressions are in
    the model's natural units (visits, failures, dropouts per customer of the persona;
    losses in currency per customer).
    """

    scenario: Scenario
    journey: Journey
    problem: pulp.LpProblem
    baseline: Evaluation
    x: dict[str, pulp.LpVariable]
    blocks: list[list[Block]]
    scale: list[np.ndarray]  # σ per persona and touchpoint
    lower: list[np.ndarray]  # lower bound of ν (scaled visits)
    # ν of the reachable touchpoints whose visits a selection can change
    nu: list[dict[int, pulp.LpVariable]]
    # Names of this copy's variables and rows start with it: a roadmap holds one copy of
    # the journey per period ("p3:" ...), sharing one problem (cxplan.optimizer.roadmap).
    prefix: str = ""
    blocking: Blocking = TIGHT
    # reachable touchpoints whose visits no selection changes (`fixed_visits`): ν = 1, a
    # constant (σ is their visits), with no variable and no flow row
    steady: list[frozenset[int]] = field(default_factory=list)
    _chains: dict[tuple[int, int, str], pulp.LpAffineExpression] = field(default_factory=dict)
    _first_block: dict[tuple[int, int], list[pulp.LpVariable]] = field(default_factory=dict)
    _names: set[str] = field(default_factory=set)
    # (copies, block, input expression, lower bound) in creation order, for start values
    _copy_groups: list[tuple[list[pulp.LpVariable], Block, pulp.LpAffineExpression, float]] = \
        field(default_factory=list)

    @property
    def touchpoint_index(self) -> dict[str, int]:
        return self.journey.index

    @property
    def persona_ids(self) -> list[str]:
        return [p.id for p in self.journey.personas]

    def reachable(self, q: int, t: int) -> bool:
        return t in self.nu[q] or t in self.steady[q]

    def _scaled_visits(self, q: int, t: int) -> pulp.LpAffineExpression:
        """ν_t: its variable, or the constant 1 where no selection changes the visits."""
        if t in self.steady[q]:
            return expression((), 1.0)
        return expression([(self.nu[q][t], 1.0)])

    def _reachable_index(self, q: int) -> list[int]:
        return sorted((*self.nu[q], *self.steady[q]))

    # -- expressions offered to criteria -----------------------------------------------------
    def visits(self, q: int, t: int) -> pulp.LpAffineExpression:
        """Expected visits v_t of persona q."""
        if not self.reachable(q, t):
            return expression()
        result = expression()
        accumulate(result, self._scaled_visits(q, t), float(self.scale[q][t]))
        return result

    def failures(self, q: int, t: int) -> pulp.LpAffineExpression:
        """Expected failures F_t = v_t p'_t of persona q."""
        chain = self.journey.personas[q]
        return self._scaled(q, t, FAILURES, chain.failure[t])

    def dropouts(self, q: int, t: int) -> pulp.LpAffineExpression:
        """Expected abandonments D_t = v_t p'_t d'_t of persona q."""
        chain = self.journey.personas[q]
        return self._scaled(q, t, DROPOUTS, chain.failure[t] * chain.dropout[t])

    def losses(self, q: int, t: int) -> pulp.LpAffineExpression:
        """Expected loss L_t = v_t p'_t c'_t of persona q (currency per customer)."""
        chain = self.journey.personas[q]
        return self._scaled(q, t, LOSSES, chain.failure[t] * chain.impact[t])

    def value(self, q: int) -> pulp.LpAffineExpression:
        """E_q(x) = Σ_t [s_t (v_t − F_t) − L_t], per customer of persona q."""
        chain = self.journey.personas[q]
        total = expression()
        for t in self._reachable_index(q):
            sigma = float(self.scale[q][t])
            s = float(chain.success[t])
            if s:
                accumulate(total, self._scaled_visits(q, t), s * sigma)
                if chain.failure[t]:
                    accumulate(total, self.chain(q, t, FAILURES),
                                -s * float(chain.failure[t] * sigma))
            loss = float(chain.failure[t] * chain.impact[t])
            if loss > 0:
                accumulate(total, self.chain(q, t, LOSSES), -loss * sigma)
        return total

    def _scaled(self, q: int, t: int, quantity: str, coefficient: float) -> pulp.LpAffineExpression:
        if not self.reachable(q, t) or coefficient == 0:
            return expression()
        result = expression()
        accumulate(result, self.chain(q, t, quantity), float(coefficient * self.scale[q][t]))
        return result

    # -- the hull chain ----------------------------------------------------------------------
    def chain(self, q: int, t: int, quantity: str) -> pulp.LpAffineExpression:
        """Q_t / σ_t for quantity F, D or L: ν_t times the product of the selected factors."""
        key = (q, t, quantity)
        if key in self._chains:
            return self._chains[key]
        if gc.isenabled():  # criteria ask for chains after journey_copy (see paused_gc)
            with paused_gc():
                self._chains[key] = self._new_chain(q, t, quantity)
        else:
            self._chains[key] = self._new_chain(q, t, quantity)
        return self._chains[key]

    def _new_chain(self, q: int, t: int, quantity: str) -> pulp.LpAffineExpression:
        expr = self._scaled_visits(q, t)
        lo, hi = float(self.lower[q][t]), 1.0
        for i, block in enumerate(self.blocks[t]):
            phi = block.factors(quantity)
            if all(f == 1.0 for f in phi):
                continue  # this block does not change this quantity
            # Σ_S φ_S (lo λ_S + u_S), accumulated inline: this loop runs for every
            # subset of every block, persona and quantity.
            acc: dict[pulp.LpVariable, float] = {}
            constant = 0.0
            get = acc.get
            if hi - lo <= 1e-12 * hi:
                u = [None] * len(phi)
            elif i == 0:
                u = self._first_block_copies(q, t, block, expr, lo, hi)
            else:
                u = self._copies(f"{self.prefix}u[q{q},t{t},{quantity},b{i}]", block,
                                 expr, lo, hi)
            for lam, var, f in zip(block.weights, u, phi, strict=True):
                c = f * lo
                if c:
                    for v, a in lam.items():
                        acc[v] = get(v, 0.0) + c * a
                    constant += c * lam.constant
                if f and var is not None:
                    acc[var] = get(var, 0.0) + f
            expr = expression(acc.items(), constant)
            lo, hi = lo * min(phi), hi * max(phi)
        return expr

    def _first_block_copies(
        self, q: int, t: int, block: Block, expr: pulp.LpAffineExpression, lo: float, hi: float
    ) -> list[pulp.LpVariable]:
        # The first block's input is ν_t for every quantity, so its copies are shared.
        key = (q, t)
        if key not in self._first_block:
            self._first_block[key] = self._copies(f"{self.prefix}u[q{q},t{t},b0]", block,
                                                  expr, lo, hi)
        return self._first_block[key]

    def _copies(
        self, name: str, block: Block, expr: pulp.LpAffineExpression, lo: float, hi: float
    ) -> list[pulp.LpVariable]:
        """u_S ≥ 0, u_S ≤ (hi − lo) λ_S, Σ u_S = expr − lo."""
        width = hi - lo
        u = [self.problem.add_variable(f"{name}[{k}]", lowBound=0, upBound=width)
             for k in range(len(block.subsets))]
        register_variables(self.problem, u)
        for k, (var, lam) in enumerate(zip(u, block.weights, strict=True)):
            cap = expression([(var, 1.0), *((v, -width * a) for v, a in lam.items())],
                              -width * lam.constant)
            self._row(f"{name}cap[{k}]", constraint(cap, pulp.LpConstraintLE, 0.0))
        total = expression([(var, 1.0) for var in u])
        accumulate(total, expr, -1.0)
        self._row(f"{name}sum", constraint(total, pulp.LpConstraintEQ, -lo))
        self._copy_groups.append((u, block, expr, lo))
        return u

    def start_values(self, selection: Iterable[str]) -> dict[str, float]:
        """The value of every variable this model created, at a binary selection.

        This is the exact solution of the model with x fixed, derived from the evaluator
        (visits) and the subset each block selects; it makes a complete MIP start without
        a solve. Variables added by plugins are not covered.
        """
        chosen = set(selection)
        values: dict[str, float] = {v.name: float(k in chosen) for k, v in self.x.items()}
        picked: dict[int, int] = {}
        for blocks in self.blocks:
            for block in blocks:
                members = tuple(k for k, m in enumerate(block.members)
                                if m.improvement in chosen)
                index = block.subsets.index(members) if members in block.subsets else -1
                picked[id(block)] = index
                for k, weight in enumerate(block.weights):
                    for var, _ in weight.items():
                        if len(block.members) > 1:
                            values[var.name] = float(k == index)
        visits = self.journey.evaluate(chosen)
        for q, nu in enumerate(self.nu):
            for t, var in nu.items():
                scaled = visits.personas[q].visits[t] / self.scale[q][t]
                values[var.name] = min(max(float(scaled), var.lowBound or 0.0), 1.0)
        for copies, block, expr, lo in self._copy_groups:
            entering = float(expr.constant) + sum(c * values[v.name] for v, c in expr.items())
            for k, var in enumerate(copies):
                values[var.name] = max(entering - lo, 0.0) if k == picked[id(block)] else 0.0
        return values

    def add(self, name: str, constraint: pulp.LpConstraint) -> str:
        """Add a constraint with a unique readable name; returns the name in the model."""
        unique = self._unique(name)
        self.problem.addConstraint(constraint, name=unique)
        return unique

    def _row(self, name: str, constraint: pulp.LpConstraint) -> str:
        """`add` for the hull's own rows, whose variables `register_variables` already covers."""
        unique = self._unique(name)
        add_row(self.problem, unique, constraint)
        return unique

    def _unique(self, name: str) -> str:
        clean = name.translate(PULP_CLEAN)
        candidate, n = clean, 1
        while candidate in self._names:
            n += 1
            candidate = f"{clean}_{n}"
        self._names.add(candidate)
        return candidate


@dataclass
class Model:
    """A built optimization model: the PuLP problem, its context and the objective terms."""

    context: ModelContext
    terms: dict[str, pulp.LpAffineExpression]
    weights: dict[str, float]
    limit_rows: dict[str, str]  # "budget" / "team:<name>" -> row name, for what-if re-solves
    # Constraints added by plugins: the name the plugin gave ("plugin:name") -> row name
    # (the model's row names are made safe for LP files; users see the plugin's).
    plugin_constraints: dict[str, str]
    blocking: Blocking

    @property
    def problem(self) -> pulp.LpProblem:
        return self.context.problem

    @property
    def x(self) -> dict[str, pulp.LpVariable]:
        return self.context.x


def build_model(
    scenario: Scenario,
    journey: Journey,
    criteria: dict[str, Criterion],
    *,
    extra_constraints: Iterable[object] = (),
    blocking: Blocking | None = None,
    lp_within: float | None = None,
) -> Model:
    """Build the hull MILP for `scenario`, maximizing Σ weight × criterion term.

    `criteria` maps the names in `scenario.criteria` to criterion objects.
    `extra_constraints` are plugin hooks' callables `f(ctx) -> [(name, constraint)]`.
    `blocking` picks the hull's block sizes (default: `choose_blocking`, told by
    `lp_within` that the model is for an LP-first solve whose LP may take that long).
    """
    with paused_gc():
        return _build_model(scenario, journey, criteria, extra_constraints,
                            blocking or choose_blocking(scenario, journey, lp_within))


def _build_model(
    scenario: Scenario, journey: Journey, criteria: dict[str, Criterion],
    extra_constraints: Iterable[object], blocking: Blocking,
) -> Model:
    problem = pulp.LpProblem(_safe(scenario.title) or "cxplan", pulp.LpMaximize)
    x = _decision_variables(problem, scenario)
    ctx = journey_copy(problem, scenario, journey, x, blocking)
    limit_rows = _core_constraints(ctx)

    objective = expression()
    terms: dict[str, pulp.LpAffineExpression] = {}
    weights = {name: float(w) for name, w in scenario.criteria.items() if w}
    for name in weights:
        terms[name] = criteria[name].model_term(ctx)
        accumulate(objective, terms[name], weights[name])
    problem.setObjective(objective)
    added = {cname: ctx.add(cname, constraint) for hook in extra_constraints
             for cname, constraint in hook(ctx)}  # type: ignore[operator]
    return Model(ctx, terms, weights, limit_rows, added, ctx.blocking)


def journey_copy(
    problem: pulp.LpProblem, scenario: Scenario, journey: Journey,
    x: dict[str, pulp.LpVariable], blocking: Blocking | None = None, prefix: str = "",
) -> ModelContext:
    """One copy of the journey's hull in `problem`, driven by the 0/1 variables `x`:
    blocks and their links to x, scaled visits and flow rows. Its expressions (visits,
    failures, values) are exact at every binary x. Names start with `prefix`."""
    with paused_gc():
        return _journey_copy(problem, scenario, journey, x, blocking, prefix)


def _journey_copy(
    problem: pulp.LpProblem, scenario: Scenario, journey: Journey,
    x: dict[str, pulp.LpVariable], blocking: Blocking | None, prefix: str,
) -> ModelContext:
    baseline = journey.evaluate(())
    everything = journey.evaluate(scenario.improvement_ids)
    blocking = blocking or choose_blocking(scenario, journey)
    members = _members(scenario, journey)
    reached = np.zeros(len(journey.touchpoint_ids), dtype=bool)
    for q in range(len(journey.personas)):
        reached |= everything.personas[q].visits > UNREACHABLE
    # A touchpoint no persona reaches adds nothing to any quantity: its blocks would only
    # repeat the requires/excludes rows of the decisions (`_core_constraints`).
    blocks = _blocks(problem, scenario, journey, x, blocking, prefix, reached)

    scale, lower, nu = [], [], []
    fixed: list[frozenset[int]] = []
    for q, chain in enumerate(journey.personas):
        vmin = baseline.personas[q].visits
        vmax = everything.personas[q].visits
        steady = fixed_visits(chain, members) & (vmax > UNREACHABLE)
        # Visits no selection can change are the baseline's: ν = 1 exactly, so their
        # hull needs no copies (ν is a constant, `_new_chain`) and no flow row.
        sigma = np.where(steady, vmin, np.where(vmax > UNREACHABLE, vmax * (1 + WIDEN), 1.0))
        scale.append(sigma)
        lower.append(np.where(steady, 1.0, np.clip(vmin * (1 - WIDEN) / sigma, 0.0, 1.0)))
        fixed.append(frozenset(np.flatnonzero(steady & chain.reachable).tolist()))
        nu.append({
            t: problem.add_variable(f"{prefix}nu[q{q},t{t}]", lowBound=float(lower[q][t]),
                                    upBound=1.0)
            for t in chain.reachable_index if vmax[t] > UNREACHABLE and not steady[t]
        })
    ctx = ModelContext(scenario, journey, problem, baseline, x, blocks, scale, lower, nu,
                       prefix=prefix, blocking=blocking, steady=fixed)
    register_variables(problem, x.values())
    register_variables(problem, (var for on_t in blocks for block in on_t if len(block.members) > 1
                        for w in block.weights for var in w))
    register_variables(problem, (var for by_t in nu for var in by_t.values()))
    for q, chain in enumerate(journey.personas):
        _flow(ctx, q, chain)
    _link_blocks(ctx)
    return ctx


def fixed_visits(chain: PersonaChain, members: list[list[Member]]) -> np.ndarray:
    """Touchpoints whose expected visits are the same for every selection: no path of
    edges leads to them from a touchpoint whose retention some improvement changes.

    Retention 1 − p'd' changes at t only when t leaks customers (p_t d_t > 0), has
    successors, and an improvement there reduces failures or dropout; everything else an
    improvement does leaves the flow of customers as it is."""
    transition = chain.transition.tocsr()
    has_successor = np.diff(transition.indptr) > 0
    leaks = (chain.failure * chain.dropout > 0) & has_successor
    changing = [t for t, on_t in enumerate(members)
                if leaks[t] and any(m.failure > 0 or m.dropout > 0 for m in on_t)]
    moved = np.zeros(len(members), dtype=bool)
    if changing:
        # everything reachable from a successor of a changing touchpoint
        graph = transition.copy()
        graph.data = np.ones_like(graph.data)
        graph.eliminate_zeros()
        seeds = np.zeros(len(members), dtype=bool)
        seeds[np.unique(graph[changing].indices)] = True
        moved = _downstream(graph, seeds)
    return ~moved


def _downstream(graph: sp.csr_matrix, seeds: np.ndarray) -> np.ndarray:
    """The touchpoints reachable from `seeds` (included) along the edges of `graph`."""
    found = seeds.copy()
    frontier = seeds.copy()
    while frontier.any():
        after = (graph.T @ frontier.astype(np.int8)) > 0
        frontier = after & ~found
        found |= frontier
    return found


def _safe(text: str) -> str:
    return re.sub(r"\W+", "_", text).strip("_")[:60]


def _decision_variables(problem: pulp.LpProblem, scenario: Scenario) -> dict[str, pulp.LpVariable]:
    x: dict[str, pulp.LpVariable] = {}
    used: set[str] = set()
    for i, imp in enumerate(scenario.improvements):
        name = f"x[{imp.id}]"
        clean = PULP_ILLEGAL.sub("_", name)
        if clean in used or not re.fullmatch(r"[\w.\[\]\-+ >/]+", name):
            name = f"x[{i}]"  # ids that clash after PuLP's renaming fall back to positions
            clean = PULP_ILLEGAL.sub("_", name)
        used.add(clean)
        x[imp.id] = problem.add_variable(name, lowBound=0, upBound=1, cat=pulp.LpBinary)
    return x


def _members(scenario: Scenario, journey: Journey) -> list[list[Member]]:
    members: list[list[Member]] = [[] for _ in journey.touchpoint_ids]
    for imp in scenario.improvements:
        for eff in journey.effects[imp.id]:
            members[eff.touchpoint].append(Member(imp.id, eff.failure, eff.impact, eff.dropout))
    return members


def _chunks(count: int, blocking: Blocking) -> list[int]:
    if count <= blocking.single:
        return [count] if count else []
    return [min(blocking.size, count - i) for i in range(0, count, blocking.size)]


def estimated_columns(scenario: Scenario, journey: Journey, blocking: Blocking) -> int:
    """Roughly how many columns the hull has with `blocking` (weights, copies, visits):
    touchpoints no persona reaches have none (`_journey_copy`); those whose visits no
    selection changes are counted with copies they do not get."""
    personas = len(journey.personas)
    total = len(scenario.improvements) + personas * len(journey.touchpoint_ids)
    reached = np.logical_or.reduce([chain.reachable for chain in journey.personas])
    for on_t in (on_t for t, on_t in enumerate(_members(scenario, journey)) if reached[t]):
        for k, size in enumerate(_chunks(len(on_t), blocking)):
            subsets = 2 ** size
            # weights (shared), copies per persona: the first block once, later ones per
            # quantity (failures, dropouts, losses)
            total += (subsets if size > 1 else 0) + personas * subsets * (1 if k == 0 else 3)
    return total


def choose_blocking(scenario: Scenario, journey: Journey,
                    lp_within: float | None = None) -> Blocking:
    """TIGHT up to COMPACT_ABOVE columns; past that TIGHT too for an LP-first solve whose
    LP relaxation is expected to take at most `lp_within` seconds with it, else COMPACT.

    Measured at 10 000 improvements: HiGHS on the tight hull never got past the root in
    60 s, so a solve from the greedy start takes COMPACT there. The LP-first solve
    (cxplan.optimizer.relaxation) wants the tight LP: on the benchmark's seed 0 its bound was
    0.05 % above the best plan known against ≥ 0.19 % for COMPACT, and the plan was proven
    within 0.054 % in 54 s against 0.27 % in 64 s. But the LP must finish: on seeds 1 and
    2 (three personas, 323 000 tight columns) it took 41 s and nothing was left for the
    rest; COMPACT's took 33 s.
    """
    tight = estimated_columns(scenario, journey, TIGHT)
    if tight <= COMPACT_ABOVE:
        return TIGHT
    if lp_within is not None and tight * LP_SECONDS_PER_COLUMN <= lp_within:
        return TIGHT
    return COMPACT


def _blocks(
    problem: pulp.LpProblem, scenario: Scenario, journey: Journey,
    x: dict[str, pulp.LpVariable], blocking: Blocking, prefix: str, reached: np.ndarray,
) -> list[list[Block]]:
    members = _members(scenario, journey)
    requires = {imp.id: set(imp.requires) for imp in scenario.improvements}
    excludes = {(imp.id, other) for imp in scenario.improvements for other in imp.excludes}
    excludes |= {(b, a) for a, b in excludes}
    order = {imp_id: i for i, imp_id in enumerate(scenario.improvement_ids)}

    result: list[list[Block]] = []
    for t, on_t in enumerate(members):
        if not reached[t]:
            result.append([])
            continue
        on_t.sort(key=lambda m: (-m.failure, order[m.improvement]))
        chunks, start = [], 0
        for size in _chunks(len(on_t), blocking):
            chunks.append(on_t[start:start + size])
            start += size
        result.append([_block(problem, t, b, chunk, x, requires, excludes, prefix)
                       for b, chunk in enumerate(chunks)])
    return result


def _block(
    problem: pulp.LpProblem, t: int, b: int, chunk: list[Member], x: dict[str, pulp.LpVariable],
    requires: dict[str, set[str]], excludes: set[tuple[str, str]], prefix: str = "",
) -> Block:
    ids = [m.improvement for m in chunk]
    if len(chunk) == 1:
        xj = x[ids[0]]
        return Block(chunk, [(), (0,)], [expression([(xj, -1.0)], 1.0),
                                         expression([(xj, 1.0)])])
    subsets = []
    for mask in range(1 << len(chunk)):
        chosen = [k for k in range(len(chunk)) if mask >> k & 1]
        names = {ids[k] for k in chosen}
        if any((a, c) in excludes for a in names for c in names):
            continue
        if any(req in ids and req not in names for a in names for req in requires[a]):
            continue
        subsets.append(tuple(chosen))
    # λ ≤ 1 follows from Σ λ = 1; said as a bound, every column of the hull has finite
    # bounds, which a Lagrangian bound from any prices needs (`cxplan.optimizer.dual_bound`).
    weights = [expression([(problem.add_variable(f"{prefix}lam[t{t},b{b},{k}]", lowBound=0,
                                                 upBound=1), 1.0)])
               for k in range(len(subsets))]
    return Block(chunk, subsets, weights)


def _link_blocks(ctx: ModelContext) -> None:
    """Σ_S λ_S = 1 and Σ_{S∋j} λ_S = x_j for every block with its own weights."""
    for t, blocks in enumerate(ctx.blocks):
        for b, block in enumerate(blocks):
            if len(block.members) == 1:
                continue
            total = expression()
            for w in block.weights:
                accumulate(total, w, 1.0)
            ctx._row(f"{ctx.prefix}hull[t{t},b{b}]", constraint(total, pulp.LpConstraintEQ, 1.0))
            for k, member in enumerate(block.members):
                link = expression()
                for w, s in zip(block.weights, block.subsets, strict=True):
                    if k in s:
                        accumulate(link, w, 1.0)
                add_term(link, ctx.x[member.improvement], -1.0)
                ctx._row(f"{ctx.prefix}hull[t{t},b{b},{member.improvement}]",
                        constraint(link, pulp.LpConstraintEQ, 0.0))


def _flow(ctx: ModelContext, q: int, chain: PersonaChain) -> None:
    """ν_u − Σ_t P_tu (σ_t/σ_u)(ν_t − d_t p_t Q^D_t) = e_u / σ_u for every reachable u
    whose visits a selection can change (the others' visits are constants that solve it);
    a predecessor t with steady visits enters with ν_t = 1."""
    incoming = chain.transition.tocsc()
    sigma = ctx.scale[q]
    nu = ctx.nu[q]
    for u in nu:
        row = expression([(nu[u], 1.0)])
        start, end = incoming.indptr[u], incoming.indptr[u + 1]
        for t, prob in zip(incoming.indices[start:end].tolist(),
                           incoming.data[start:end].tolist(), strict=True):
            if not ctx.reachable(q, t) or prob == 0:
                continue
            ratio = float(prob * sigma[t] / sigma[u])
            accumulate(row, ctx._scaled_visits(q, t), -ratio)
            leak = float(chain.failure[t] * chain.dropout[t])
            if leak > 0:
                accumulate(row, ctx.chain(q, t, DROPOUTS), ratio * leak)
        ctx._row(f"{ctx.prefix}flow[q{q},t{u}]",
                constraint(row, pulp.LpConstraintEQ, float(chain.entry[u] / sigma[u])))


def _core_constraints(ctx: ModelContext) -> dict[str, str]:
    """Budget, team staffing, requires, excludes, mandatory (docs/model.md, "Constraints").

    Returns the row names of the budget ("budget") and team ("team:<name>") limits.
    """
    scenario, x = ctx.scenario, ctx.x
    limits: dict[str, str] = {}
    if scenario.budget is not None:
        cost = expression()
        for imp in scenario.improvements:
            add_term(cost, x[imp.id], float(imp.cost))
        # HiGHS's absolute tolerances refused a cost of 1e9 against a budget of
        # 999999999.9999999 that every other check accepts: the rows allow the same rounding
        limits["budget"] = ctx.add("budget", constraint(cost, pulp.LpConstraintLE,
                                                        allowance(float(scenario.budget))))
    for team, capacity in scenario.teams.items():
        users = [(imp.staff[team], x[imp.id]) for imp in scenario.improvements
                 if imp.staff.get(team)]
        if users:
            staff = expression()
            for s, v in users:
                add_term(staff, v, float(s))
            limit = float(capacity)
            if all(float(s).is_integer() for s, _ in users):
                # Whole people: a capacity of 3.5 holds 3. A valid cut that tightens the
                # relaxation (the roadmap model measured 5.5 % -> 1-3.6 % root gaps with it).
                limit = float(math.floor(limit + 1e-9))
            limits[f"team:{team}"] = ctx.add(
                f"staff[{team}]", constraint(staff, pulp.LpConstraintLE, allowance(limit)))
    seen: set[frozenset[str]] = set()
    for imp in scenario.improvements:
        for req in imp.requires:
            ctx.add(f"requires[{imp.id},{req}]", x[imp.id] - x[req] <= 0)
        for other in imp.excludes:
            pair = frozenset((imp.id, other))
            if pair not in seen:
                seen.add(pair)
                ctx.add(f"excludes[{imp.id},{other}]", x[imp.id] + x[other] <= 1)
        if imp.mandatory:
            ctx.add(f"mandatory[{imp.id}]", pulp.LpAffineExpression([(x[imp.id], 1.0)]) == 1)
    return limits
