"""Seeded, deterministic benchmark scenarios in scenario format v1 (docs/model.md).

    >>> from benchmarks.generate import realistic_scenario
    >>> data = realistic_scenario(500, seed=0)              # a plain dict, ready for
    >>> scenario = cxplan.load_scenario(data)               # load_scenario / yaml.dump

Shape of a generated scenario with N improvements:

- about N/2 touchpoints, laid out as *lanes* of 10–20 touchpoints (one lane is one
  product × channel journey running awareness → advocacy). Customers enter at the start
  of every lane (and, for some lanes, half-way: returning customers). A single long
  chain of N/2 touchpoints would not be realistic: with out-sums below 1 the expected
  visits decay geometrically along it, so everything past the first ~50 touchpoints
  would be visited ~never and the instance would be trivial.
- edges mostly go forward to the next 1–3 touchpoints of the lane; about 12 % of the
  touchpoints also loop back 1–3 steps (support, retries: cycles) and about 4 % switch
  to another lane. Every touchpoint's out-sum is at most 0.95, so every cycle leaks
  and the chain is absorbing.
- dropout on most early-stage touchpoints, success values on about a quarter of them
  (mostly purchase and retention), a few moments of truth with higher failure rates.
- 2–3 personas: the first uses the journey as is, the second enters mid-journey more
  often and fails less on some touchpoints, the third re-routes a few touchpoints'
  outgoing edges and fails more on some touchpoints.
- each improvement affects 1 touchpoint (70 %) or 2 neighbouring ones (30 %);
  touchpoints attract improvements unevenly (log-normal weights), so a few get 5–9.
  Shape "dense" sends 40 % of the improvements to 5 % of the touchpoints ("hot"
  touchpoints hit by 10+ improvements, the hard case for the MILP).
- budget ≈ 30 % of the total cost; three teams whose capacity is ≈ 28 % of the staff
  the improvements ask of them (so staff binds too); about 4 % of the improvements
  require an earlier one and 3 % exclude an earlier one (mostly on the same
  touchpoint: alternatives), never in a combination that makes anything infeasible.

Everything is drawn from one `random.Random` seeded by (shape, N, seed), so the same
arguments always give the same dict.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass
from typing import Any

STAGES = ("awareness", "consideration", "purchase", "retention", "advocacy")
CHANNELS = ("web", "app", "branch", "call-center", "email", "partner")
TEAMS = ("digital", "operations", "service-design")
TEAM_WEIGHTS = (0.45, 0.35, 0.20)
SHAPES = ("realistic", "dense")

LANE_LENGTH = (10, 20)
BUDGET_SHARE = 0.30
CAPACITY_SHARE = 0.28
MAX_OUT_SUM = 0.95


@dataclass(frozen=True)
class _Slot:
    """Where a touchpoint sits: its lane, its position in the lane and the lane's length."""

    lane: int
    position: int
    length: int
    start: int  # global index of the lane's first touchpoint


def _floor(value: float, digits: int) -> float:
    """Round down, so that sums of rounded probabilities never exceed their target."""
    scale = 10.0**digits
    return math.floor(value * scale) / scale


def _lanes(n_touchpoints: int, rng: random.Random) -> list[int]:
    lengths: list[int] = []
    left = n_touchpoints
    while left > 0:
        length = rng.randint(*LANE_LENGTH)
        if left - length < LANE_LENGTH[0] // 2:
            length = left  # fold a short remainder into this lane
        lengths.append(length)
        left -= length
    return lengths


def _touchpoint(i: int, slot: _Slot, channel: str, rng: random.Random) -> dict[str, Any]:
    stage_index = min(len(STAGES) - 1, len(STAGES) * slot.position // slot.length)
    stage = STAGES[stage_index]
    moment = rng.random() < 0.12
    failure = rng.uniform(0.08, 0.35) if moment else rng.uniform(0.02, 0.2)
    impact = 0.0 if rng.random() < 0.05 else rng.lognormvariate(math.log(40), 0.8)
    if moment:
        impact *= 3
    dropout = 0.0
    if stage_index <= 2 and rng.random() < 0.6:
        dropout = rng.uniform(0.05, 0.5)
    elif stage_index > 2 and rng.random() < 0.3:
        dropout = rng.uniform(0.02, 0.3)
    success = 0.0
    if stage == "purchase" and rng.random() < 0.6:
        success = rng.uniform(20, 200)
    elif stage == "retention" and rng.random() < 0.4:
        success = rng.uniform(5, 60)
    elif rng.random() < 0.08:
        success = rng.uniform(1, 20)
    tp: dict[str, Any] = {
        "id": f"tp-{i}",
        "name": f"{stage.capitalize()} on {channel} #{i}",
        "stage": stage,
        "channel": channel if rng.random() < 0.8 else rng.choice(CHANNELS),
        "failure_probability": round(failure, 4),
        "impact": round(impact, 2),
        "dropout": round(dropout, 3),
        "success_value": round(success, 2),
        "moment_of_truth": moment,
        "visible": rng.random() < 0.75,
    }
    if rng.random() < 0.5:
        tp["emotion"] = rng.randint(-3, 3)
    return tp


def _out_edges(
    i: int, slot: _Slot, lane_starts: list[int], lengths: list[int], rng: random.Random,
    closed: frozenset[int] = frozenset(),
) -> list[dict[str, Any]]:
    """Edges out of touchpoint i: forward in its lane, sometimes back (a cycle) or across."""
    p, length = slot.position, slot.length
    targets: list[tuple[int, float]] = []
    if p + 1 < length:
        targets.append((i + 1, rng.uniform(0.6, 1.0)))
    if p + 2 < length and rng.random() < 0.45:
        targets.append((i + 2, rng.uniform(0.1, 0.4)))
    if p + 3 < length and rng.random() < 0.15:
        targets.append((i + 3, rng.uniform(0.05, 0.2)))
    forward = bool(targets)
    if p >= 1 and rng.random() < 0.12:
        targets.append((i - rng.randint(1, min(3, p)), rng.uniform(0.05, 0.2)))
    if len(lengths) > 1 and rng.random() < 0.04:
        other = rng.choice([k for k in (slot.lane - 1, slot.lane + 1) if 0 <= k < len(lengths)])
        q = min(lengths[other] - 1, round(p * lengths[other] / length))
        weight = rng.uniform(0.05, 0.2)
        if other not in closed:  # nobody switches into a lane no customer enters
            targets.append((lane_starts[other] + q, weight))
    if not targets:
        return []
    total = rng.uniform(0.7, MAX_OUT_SUM) if forward else rng.uniform(0.05, 0.3)
    weight = sum(w for _, w in targets)
    edges = []
    for j, w in targets:
        prob = _floor(total * w / weight, 4)
        if prob > 0:
            edges.append({"from": f"tp-{i}", "to": f"tp-{j}", "probability": prob})
    return edges


def _entry(weights: dict[int, float]) -> dict[str, float]:
    """Entry probabilities proportional to `weights`, summing to at most 1."""
    total = sum(weights.values())
    entry = {f"tp-{i}": _floor(w / total, 6) for i, w in sorted(weights.items())}
    return {k: v for k, v in entry.items() if v > 0}


class _Picker:
    """Weighted random touchpoint choice in O(log n)."""

    def __init__(self, weights: list[float]) -> None:
        self.cumulative = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random) -> int:
        x = rng.random() * self.cumulative[-1]
        return min(bisect.bisect_right(self.cumulative, x), len(self.cumulative) - 1)


def realistic_scenario(
    n_improvements: int,
    *,
    seed: int = 0,
    shape: str = "realistic",
    personas: int | None = None,
    unreachable: float = 0.0,
) -> dict[str, Any]:
    """A scenario dict (format v1) with `n_improvements` improvements; see the module doc.

    `shape` is "realistic" or "dense" (10+ improvements on some touchpoints); `personas`
    forces the number of personas (default: 2 or 3, drawn from the seed); `unreachable`
    is the share of lanes no customer ever reaches (no entry, no edge from another lane
    into them; their improvements gain nothing), as in backlogs that list touchpoints of
    channels not yet open. With 0 (the default) the scenario is the same as before the
    option existed: the lanes to close are drawn from a generator of their own.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; use one of {', '.join(SHAPES)}")
    if n_improvements < 1:
        raise ValueError("n_improvements must be at least 1")
    rng = random.Random(f"cxplan-bench:{shape}:{n_improvements}:{seed}")
    n_tp = max(6, round(n_improvements / 2))

    # -- journey: lanes of touchpoints ---------------------------------------------------------
    lengths = _lanes(n_tp, rng)
    lane_starts = [0, *itertools.accumulate(lengths)][:-1]
    slots = [_Slot(lane, p, length, start)
             for lane, (length, start) in enumerate(zip(lengths, lane_starts, strict=True))
             for p in range(length)]
    lane_channel = [rng.choice(CHANNELS) for _ in lengths]
    touchpoints = [_touchpoint(i, s, lane_channel[s.lane], rng) for i, s in enumerate(slots)]
    if not 0.0 <= unreachable < 1.0:
        raise ValueError("unreachable must be a share of the lanes, at least 0 and below 1")
    closing = random.Random(f"cxplan-bench-closed:{shape}:{n_improvements}:{seed}")
    closed = frozenset(closing.sample(range(1, len(lengths)),
                                      k=min(len(lengths) - 1, round(unreachable * len(lengths)))))
    edges = [e for i, s in enumerate(slots)
             for e in _out_edges(i, s, lane_starts, lengths, rng, closed)]
    lane_weight = [rng.lognormvariate(0, 0.6) for _ in lengths]
    mid = [start + length // 2 for start, length in zip(lane_starts, lengths, strict=True)]
    weights: dict[int, float] = {}
    for lane, start in enumerate(lane_starts):
        if rng.random() < 0.3:
            weights[start] = 0.85 * lane_weight[lane]
            weights[mid[lane]] = 0.15 * lane_weight[lane]
        else:
            weights[start] = lane_weight[lane]
    journey = {"entry": _entry({i: w for i, w in weights.items() if slots[i].lane not in closed}),
               "edges": edges}

    # -- improvements --------------------------------------------------------------------------
    attraction = [rng.lognormvariate(0, 0.4) * (1.3 if tp["moment_of_truth"] else 1.0)
                  for tp in touchpoints]
    picker = _Picker(attraction)
    hot: list[int] = []
    if shape == "dense":
        hot = rng.sample(range(n_tp), k=min(n_tp, max(3, round(0.05 * n_tp))))
    on_touchpoint: dict[int, list[int]] = {}
    improvements: list[dict[str, Any]] = []
    in_requires: set[int] = set()
    in_excludes: set[int] = set()
    for j in range(n_improvements):
        first = rng.choice(hot) if hot and rng.random() < 0.4 else picker.pick(rng)
        affected = [first]
        if rng.random() < 0.3:
            s = slots[first]
            near = [s.start + q for q in range(s.position - 2, s.position + 3)
                    if 0 <= q < s.length and q != s.position]
            affected.append(rng.choice(near))
        effects: list[dict[str, Any]] = []
        strength = 0.0
        for t in affected:
            fr = rng.uniform(0.1, 0.7) if rng.random() < 0.85 else 0.0
            ir = rng.uniform(0.1, 0.6) if rng.random() < 0.3 else 0.0
            dr = (rng.uniform(0.1, 0.7) if touchpoints[t]["dropout"] > 0 and rng.random() < 0.25
                  else 0.0)
            if fr == ir == dr == 0.0:
                fr = rng.uniform(0.1, 0.5)
            strength += fr + 0.5 * (ir + dr)
            effects.append({"touchpoint": f"tp-{t}", "failure_reduction": round(fr, 3),
                            "impact_reduction": round(ir, 3), "dropout_reduction": round(dr, 3)})
        cost = max(500.0, round(rng.lognormvariate(math.log(15000), 0.8) * (0.6 + strength), -2))
        staff: dict[str, int] = {}
        r = rng.random()
        if r >= 0.15:
            teams = rng.choices(TEAMS, weights=TEAM_WEIGHTS, k=1 if r < 0.75 else 2)
            for team in teams:
                staff[team] = staff.get(team, 0) + rng.randint(1, 3 if len(teams) == 1 else 2)
        imp: dict[str, Any] = {
            "id": f"imp-{j}",
            "name": f"Improvement {j} at {', '.join(e['touchpoint'] for e in effects)}",
            "cost": cost,
            "staff": staff,
            "effects": effects,
            "owner": rng.choice([*TEAMS, "marketing", "cx-office"]),
            "confidence": round(rng.uniform(0.5, 0.95), 2),
            "duration": rng.randint(1, 3),
        }
        # requires / excludes: mostly between improvements on the same touchpoint; the two
        # relations use disjoint sets of improvements, so no requirement chain can ever
        # run into an exclusion (nothing becomes unselectable).
        if j >= 5 and rng.random() < 0.04 and j not in in_excludes:
            same = [k for k in on_touchpoint.get(first, []) if k not in in_excludes]
            pool = same or [k for k in range(max(0, j - 20), j) if k not in in_excludes]
            if pool:
                k = rng.choice(pool)
                imp["requires"] = [f"imp-{k}"]
                in_requires |= {j, k}
        elif j >= 5 and rng.random() < 0.03 and j not in in_requires:
            same = [k for k in on_touchpoint.get(first, []) if k not in in_requires]
            pool = same or [k for k in range(max(0, j - 20), j) if k not in in_requires]
            if pool:
                k = rng.choice(pool)
                imp["excludes"] = [f"imp-{k}"]
                in_excludes |= {j, k}
        for t in affected:
            on_touchpoint.setdefault(t, []).append(j)
        improvements.append(imp)

    total_cost = sum(i["cost"] for i in improvements)
    demand = {team: sum(i["staff"].get(team, 0) for i in improvements) for team in TEAMS}
    teams_capacity = {team: max(1, round(CAPACITY_SHARE * d)) for team, d in demand.items()}

    # -- personas ------------------------------------------------------------------------------
    n_personas = personas if personas is not None else (2 if rng.random() < 0.5 else 3)
    base_customers = 1000 * len(lengths)
    persona_list: list[dict[str, Any]] = [
        {"id": "new-customers", "name": "New customers",
         "customers": round(base_customers * rng.uniform(0.8, 1.2))},
    ]
    if n_personas >= 2:
        returning: dict[int, float] = {}
        for lane, start in enumerate(lane_starts):
            returning[start] = lane_weight[lane] * rng.uniform(0.2, 0.6)
            returning[mid[lane]] = returning.get(mid[lane], 0.0) + (
                lane_weight[lane] * rng.uniform(0.4, 0.8))
        overrides: dict[str, dict[str, float]] = {}
        for t in rng.sample(range(n_tp), k=max(1, round(0.05 * n_tp))):
            tp = touchpoints[t]
            overrides[tp["id"]] = {
                "failure_probability": round(tp["failure_probability"] * rng.uniform(0.5, 0.9), 4),
                "dropout": round(tp["dropout"] * 0.5, 3),
            }
        persona_list.append({
            "id": "returning-customers", "name": "Returning customers",
            "customers": round(base_customers * rng.uniform(0.4, 0.6)),
            "entry": _entry({i: w for i, w in returning.items()
                             if slots[i].lane not in closed}),
            "touchpoints": overrides,
        })
    if n_personas >= 3:
        rerouted = []
        sources = [i for i, s in enumerate(slots) if s.position + 2 < s.length]
        for i in sorted(rng.sample(sources, k=max(1, round(0.04 * len(sources))))):
            total = rng.uniform(0.75, MAX_OUT_SUM)
            share = rng.uniform(0.5, 0.9)
            rerouted.append({"from": f"tp-{i}", "to": f"tp-{i + 1}",
                             "probability": _floor(total * share, 4)})
            rerouted.append({"from": f"tp-{i}", "to": f"tp-{i + 2}",
                             "probability": _floor(total * (1 - share), 4)})
        worse: dict[str, dict[str, float]] = {}
        for t in rng.sample(range(n_tp), k=max(1, round(0.05 * n_tp))):
            tp = touchpoints[t]
            worse[tp["id"]] = {
                "failure_probability": round(
                    min(0.6, tp["failure_probability"] * rng.uniform(1.1, 1.8)), 4),
                "impact": round(tp["impact"] * rng.uniform(1.0, 2.0), 2),
            }
        persona_list.append({
            "id": "small-business", "name": "Small-business owners",
            "customers": round(base_customers * rng.uniform(0.2, 0.4)),
            "edges": rerouted, "touchpoints": worse,
        })

    return {
        "cxplan": 1,
        "name": f"Benchmark {shape} n={n_improvements} seed={seed}",
        "currency": "USD",
        "stages": list(STAGES),
        "budget": round(BUDGET_SHARE * total_cost, -2),
        "teams": teams_capacity,
        "personas": persona_list,
        "touchpoints": touchpoints,
        "journey": journey,
        "improvements": improvements,
    }


def describe(data: dict[str, Any]) -> dict[str, Any]:
    """A few shape statistics of a generated scenario (for the benchmark's JSON output)."""
    per_tp: dict[str, int] = {}
    for imp in data["improvements"]:
        for eff in imp["effects"]:
            per_tp[eff["touchpoint"]] = per_tp.get(eff["touchpoint"], 0) + 1
    counts = sorted(per_tp.values())
    return {
        "touchpoints": len(data["touchpoints"]),
        "improvements": len(data["improvements"]),
        "edges": len(data["journey"]["edges"]),
        "personas": len(data.get("personas") or [1]),
        "max_improvements_per_touchpoint": counts[-1] if counts else 0,
        "touchpoints_with_10_plus": sum(1 for c in counts if c >= 10),
        "requires": sum(len(i.get("requires", [])) for i in data["improvements"]),
        "excludes": sum(len(i.get("excludes", [])) for i in data["improvements"]),
    }
