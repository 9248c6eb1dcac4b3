"""Seeded random small roadmaps, and a brute-force optimum over every schedule.

Like `random_scenarios`, the reference shares no code with cxplan: it reads the
scenario dict and applies the roadmap rules as the README states them — work in
periods start..start+duration−1, cost spread evenly over them, staff in each,
payoff from the period after the finish, requirements finished before the
dependent start, value of period t = Σ_q N_qt (E_q(finished before t) − E_q(∅))
discounted by (1 + r)^−(t−1) — and enumerates every start period of every
improvement (or none).
"""

from __future__ import annotations

import itertools
import random
from functools import cache
from typing import Any

import numpy as np

from random_scenarios import _persona_data, random_scenario

Schedule = dict[str, int]


def random_roadmap(seed: int) -> dict[str, Any]:
    """A random scenario cut to 3–6 improvements, over 2–4 periods."""
    rng = random.Random(10_000 + seed)
    data = random_scenario(seed)
    keep = data["improvements"][: rng.randint(3, 6)]
    ids = {i["id"] for i in keep}
    for imp in keep:
        imp["requires"] = [r for r in imp.get("requires", []) if r in ids]
        imp["excludes"] = [e for e in imp.get("excludes", []) if e in ids]
        imp["duration"] = rng.choice([1, 1, 2])
        imp.pop("mandatory", None)
    data["improvements"] = keep
    periods = rng.randint(2, 4)
    data["horizon"] = {"periods": periods, "label": "quarter",
                       "discount_rate": rng.choice([0.0, 0.05, 0.3]),
                       "carry_over": rng.random() < 0.3}
    total = sum(i["cost"] for i in keep)
    style = rng.choice(["total", "per-period", "none"])
    if style == "total":
        data["budget"] = round(total * rng.uniform(0.3, 0.8), 1)
    elif style == "per-period":
        data["budget"] = [round(total * rng.uniform(0.1, 0.5), 1) for _ in range(periods)]
    else:
        data.pop("budget", None)
    if rng.random() < 0.5:
        data["teams"] = {"it": [rng.randint(0, 3) for _ in range(periods)],
                         "ops": rng.randint(1, 3)}
    for imp in keep:
        if rng.random() < 0.25:
            imp["earliest"] = rng.randint(1, periods)
        if rng.random() < 0.25:
            imp["latest"] = rng.randint(imp.get("earliest", 1), periods)
    for persona in data.get("personas") or []:
        if rng.random() < 0.5:
            persona["customers"] = [rng.randint(1, 1000) for _ in range(periods)]
    candidates = [i for i in keep if not i.get("requires")
                  and (i.get("earliest") or 1) + i["duration"] - 1 <= periods]
    if candidates and rng.random() < 0.2:
        rng.choice(candidates)["mandatory"] = True
    return data


def _values(sc: dict[str, Any]) -> Any:
    """E_q(selection) per persona (per customer), cached by selection."""
    # customers are weighed per period by the caller (`_customers`), not here
    personas = [{**p, "customers": 1} for p in sc.get("personas") or []] or [None]
    data = [_persona_data(sc, p) for p in personas]

    @cache
    def values(selection: frozenset[str]) -> tuple[float, ...]:
        result = []
        for d in data:
            p, c, dr, s = (d["failure_probability"].copy(), d["impact"].copy(),
                           d["dropout"].copy(), d["success_value"])
            for imp in sc["improvements"]:
                if imp["id"] in selection:
                    for eff in imp["effects"]:
                        i = d["idx"][eff["touchpoint"]]
                        p[i] *= 1 - eff.get("failure_reduction", 0)
                        c[i] *= 1 - eff.get("impact_reduction", 0)
                        dr[i] *= 1 - eff.get("dropout_reduction", 0)
            n = len(p)
            a = np.eye(n) - (d["P"] * (1 - p * dr)[:, None]).T
            v = np.linalg.solve(a, d["e"])
            f = v * p
            result.append(float(np.sum(s * (v - f) - c * f)))
        return tuple(result)

    return values


def _customers(sc: dict[str, Any], periods: int) -> list[list[float]]:
    """Customers per persona and period."""
    out = []
    for persona in sc.get("personas") or [{"customers": 1}]:
        n = persona.get("customers", 1)
        out.append([float(v) for v in n] if isinstance(n, list) else [float(n)] * periods)
    return out


def random_roadmap_with_terminal(seed: int) -> dict[str, Any]:
    """`random_roadmap(seed)` counting value after the horizon: 1–6 more periods, or a
    perpetuity (with a discount rate of 5–30 % then)."""
    rng = random.Random(20_000 + seed)
    data = random_roadmap(seed)
    if rng.random() < 0.4:
        data["horizon"]["terminal_value"] = "perpetuity"
        if not data["horizon"]["discount_rate"]:
            data["horizon"]["discount_rate"] = rng.choice([0.05, 0.3])
    else:
        data["horizon"]["terminal_value"] = rng.randint(1, 6)
    return data


def after_horizon_weight(horizon: dict[str, Any]) -> float:
    """Periods of value after the horizon, each discounted as period N + k would be:
    K of them, or for ever (a geometric series: its sum in closed form)."""
    periods, rate = horizon["periods"], horizon.get("discount_rate", 0.0)
    terminal = horizon.get("terminal_value")
    if not terminal:
        return 0.0
    if terminal == "perpetuity":
        return (1 + rate) ** -periods / (1 - 1 / (1 + rate))
    return sum((1 + rate) ** -(periods + k - 1) for k in range(1, terminal + 1))


def roadmap_gain(sc: dict[str, Any], schedule: Schedule, values: Any = None) -> float:
    """Σ_t (1 + r)^−(t−1) Σ_q N_qt (E_q(finished before t) − E_q(∅)), plus, with a
    terminal value, its weight × Σ_q N_qN (E_q(finished by N) − E_q(∅))."""
    horizon = sc["horizon"]
    periods, rate = horizon["periods"], horizon.get("discount_rate", 0.0)
    values = values or _values(sc)
    imps = {i["id"]: i for i in sc["improvements"]}
    customers = _customers(sc, periods)
    base = values(frozenset())
    total = 0.0
    for t in range(1, periods + 2):
        weight = (1 + rate) ** -(t - 1) if t <= periods else after_horizon_weight(horizon)
        done = frozenset(i for i, s in schedule.items() if s + imps[i].get("duration", 1) - 1 < t)
        now = values(done)
        total += weight * sum(customers[q][min(t, periods) - 1] * (now[q] - base[q])
                              for q in range(len(base)))
    return total


def roadmap_feasible(sc: dict[str, Any], schedule: Schedule) -> bool:
    horizon = sc["horizon"]
    periods = horizon["periods"]
    imps = {i["id"]: i for i in sc["improvements"]}

    def duration(i: str) -> int:
        return int(imps[i].get("duration", 1))

    def works(i: str, t: int) -> bool:
        return schedule[i] <= t <= schedule[i] + duration(i) - 1

    for i, s in schedule.items():
        imp = imps[i]
        if s < imp.get("earliest", 1) or s > imp.get("latest", periods):
            return False
        if s + duration(i) - 1 > periods:
            return False
        for r in imp.get("requires", []):
            if r not in schedule or schedule[r] + duration(r) - 1 >= s:
                return False
        if any(e in schedule for e in imp.get("excludes", [])):
            return False
    if any(i.get("mandatory") and i["id"] not in schedule for i in imps.values()):
        return False
    eps = 1e-9
    budget = sc.get("budget")
    if isinstance(budget, list):
        spent_so_far = available_so_far = 0.0
        for t in range(1, periods + 1):
            spent = sum(imps[i]["cost"] / duration(i) for i in schedule if works(i, t))
            if horizon.get("carry_over"):
                spent_so_far += spent
                available_so_far += budget[t - 1]
                if spent_so_far > available_so_far + eps:
                    return False
            elif spent > budget[t - 1] + eps:
                return False
    elif budget is not None and sum(imps[i]["cost"] for i in schedule) > budget + eps:
        return False
    for team, cap in (sc.get("teams") or {}).items():
        caps = cap if isinstance(cap, list) else [cap] * periods
        for t in range(1, periods + 1):
            used = sum(imps[i].get("staff", {}).get(team, 0) for i in schedule if works(i, t))
            if used > caps[t - 1] + eps:
                return False
    return True


def brute_force_roadmap(sc: dict[str, Any]) -> tuple[float, Schedule] | None:
    """(best gain, a best schedule) over every feasible schedule, or None if none is."""
    periods = sc["horizon"]["periods"]
    ids = [i["id"] for i in sc["improvements"]]
    options = [[None, *range(1, periods + 1)] for _ in ids]
    values = _values(sc)
    best: tuple[float, Schedule] | None = None
    for combo in itertools.product(*options):
        schedule = {i: s for i, s in zip(ids, combo, strict=True) if s is not None}
        if not roadmap_feasible(sc, schedule):
            continue
        gain = roadmap_gain(sc, schedule, values)
        if best is None or gain > best[0] + 1e-12:
            best = (gain, schedule)
    return best
