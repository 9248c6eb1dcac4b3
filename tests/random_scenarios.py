"""Seeded random small scenarios, and a brute-force optimum written from docs/model.md alone.

The brute force here deliberately shares no code with cxplan: it reads the scenario
dict, applies the model of docs/model.md with plain numpy, and enumerates every
selection. It is the reference the optimizer is held to.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import numpy as np


def random_scenario(seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    n_tp = rng.randint(6, 10)
    n_imp = rng.randint(8, 12)
    tps = [f"t{i}" for i in range(n_tp)]
    touchpoints = []
    for t in tps:
        touchpoints.append({
            "id": t,
            "failure_probability": round(rng.uniform(0.02, 0.6), 3),
            "impact": round(rng.choice([0, rng.uniform(1, 100)]), 2),
            "dropout": round(rng.choice([0, 0, rng.uniform(0, 0.9)]), 3),
            "success_value": round(rng.choice([0, 0, rng.uniform(0, 40)]), 2),
        })

    def edges_from(src_pool: list[str]) -> list[dict[str, Any]]:
        edges = []
        for t in src_pool:
            targets = rng.sample(tps, k=rng.randint(0, min(3, n_tp - 1)))
            targets = [u for u in targets if u != t]
            if not targets:
                continue
            # forward edges mostly, some backward (cycles); total out-probability ≤ 0.95
            weights = [rng.uniform(0.1, 1) for _ in targets]
            total = rng.uniform(0.5, 0.95)
            for u, w in zip(targets, weights, strict=True):
                share = round(total * w / sum(weights), 4)
                edges.append({"from": t, "to": u, "probability": share})
        return edges

    entry_nodes = rng.sample(tps, k=rng.randint(1, 2))
    entry = {t: round(0.9 / len(entry_nodes), 3) for t in entry_nodes}
    journey = {"entry": entry, "edges": edges_from(tps)}

    teams = {"it": rng.randint(1, 5), "ops": rng.randint(1, 4)}
    imps = []
    ids = [f"i{j}" for j in range(n_imp)]
    for j, imp_id in enumerate(ids):
        effects = []
        for t in rng.sample(tps, k=rng.choice([1, 1, 2, 3])):
            effects.append({
                "touchpoint": t,
                "failure_reduction": round(rng.choice([0, rng.uniform(0.1, 1.0)]), 3),
                "impact_reduction": round(rng.choice([0, 0, rng.uniform(0.1, 0.9)]), 3),
                "dropout_reduction": round(rng.choice([0, 0, rng.uniform(0.1, 0.9)]), 3),
            })
        staff = {}
        if rng.random() < 0.6:
            staff[rng.choice(["it", "ops"])] = rng.randint(1, 2)
        imp: dict[str, Any] = {"id": imp_id, "cost": rng.randint(1, 40), "effects": effects,
                               "staff": staff}
        if j > 0 and rng.random() < 0.15:
            imp["requires"] = [rng.choice(ids[:j])]
        if j > 0 and rng.random() < 0.15:
            other = rng.choice(ids[:j])
            needed = _closure(imps, imp.get("requires", []))
            if other not in needed and not (_closure(imps, [other]) & needed):
                imp["excludes"] = [other]
        imps.append(imp)
    if rng.random() < 0.2:
        rng.choice([i for i in imps if not i.get("requires")])["mandatory"] = True
    scenario: dict[str, Any] = {
        "cxplan": 1, "name": f"random-{seed}", "teams": teams, "touchpoints": touchpoints,
        "journey": journey, "improvements": imps,
        "budget": round(sum(i["cost"] for i in imps) * rng.uniform(0.2, 0.6), 1),
    }
    n_personas = rng.randint(1, 3)
    if n_personas > 1 or rng.random() < 0.5:
        personas = []
        for k in range(n_personas):
            persona: dict[str, Any] = {"id": f"p{k}", "customers": rng.randint(1, 1000)}
            if rng.random() < 0.4:
                persona["entry"] = {rng.choice(tps): 1.0}
            if rng.random() < 0.4:
                src = rng.choice(tps)
                dst = rng.choice([t for t in tps if t != src])
                persona["edges"] = [{"from": src, "to": dst, "probability": 0.7}]
            if rng.random() < 0.5:
                t = rng.choice(tps)
                persona["touchpoints"] = {t: {"failure_probability": round(rng.uniform(0, 0.8), 3),
                                              "dropout": round(rng.uniform(0, 0.5), 3)}}
            personas.append(persona)
        scenario["personas"] = personas
    return scenario


def _closure(imps: list[dict[str, Any]], ids: list[str]) -> set[str]:
    by_id = {i["id"]: i for i in imps}
    seen: set[str] = set()
    stack = list(ids)
    while stack:
        cur = stack.pop()
        if cur not in seen:
            seen.add(cur)
            stack.extend(by_id[cur].get("requires", []))
    return seen


def _persona_data(sc: dict[str, Any], persona: dict[str, Any] | None) -> dict[str, Any]:
    tps = [t["id"] for t in sc["touchpoints"]]
    idx = {t: i for i, t in enumerate(tps)}
    n = len(tps)
    entry_map = (persona or {}).get("entry") or sc["journey"]["entry"]
    edges = {(e["from"], e["to"]): e["probability"] for e in sc["journey"].get("edges", [])}
    if persona and persona.get("edges"):
        srcs = {e["from"] for e in persona["edges"]}
        edges = {k: v for k, v in edges.items() if k[0] not in srcs}
        edges.update({(e["from"], e["to"]): e["probability"] for e in persona["edges"]})
    P = np.zeros((n, n))
    for (a, b), pr in edges.items():
        P[idx[a], idx[b]] = pr
    e = np.zeros(n)
    for t, pr in entry_map.items():
        e[idx[t]] = pr
    params = {k: np.array([float(t.get(k, 0.0)) for t in sc["touchpoints"]])
              for k in ("failure_probability", "impact", "dropout", "success_value")}
    for t, over in ((persona or {}).get("touchpoints") or {}).items():
        for k, v in over.items():
            params[k][idx[t]] = v
    return {"P": P, "e": e, "idx": idx, "customers": float((persona or {}).get("customers", 1)),
            **params}


def exact_value(sc: dict[str, Any], selection: set[str]) -> float:
    """Σ_q N_q E_q(x) computed straight from docs/model.md (dense numpy)."""
    total = 0.0
    personas = sc.get("personas") or [None]
    for persona in personas:
        d = _persona_data(sc, persona)
        p, c, dr, s = (d["failure_probability"].copy(), d["impact"].copy(), d["dropout"].copy(),
                       d["success_value"])
        for imp in sc["improvements"]:
            if imp["id"] in selection:
                for eff in imp["effects"]:
                    i = d["idx"][eff["touchpoint"]]
                    p[i] *= 1 - eff.get("failure_reduction", 0)
                    c[i] *= 1 - eff.get("impact_reduction", 0)
                    dr[i] *= 1 - eff.get("dropout_reduction", 0)
        n = len(p)
        # v_u = e_u + Σ_t v_t (1 − p_t d_t) P_tu
        a = np.eye(n) - (d["P"] * (1 - p * dr)[:, None]).T
        v = np.linalg.solve(a, d["e"])
        f = v * p
        total += d["customers"] * float(np.sum(s * (v - f) - c * f))
    return total


def feasible(sc: dict[str, Any], selection: set[str]) -> bool:
    imps = {i["id"]: i for i in sc["improvements"]}
    if sc.get("budget") is not None and sum(imps[i]["cost"] for i in selection) > sc["budget"]:
        return False
    for team, cap in sc.get("teams", {}).items():
        if sum(imps[i].get("staff", {}).get(team, 0) for i in selection) > cap:
            return False
    for imp in imps.values():
        if imp.get("mandatory") and imp["id"] not in selection:
            return False
        if imp["id"] in selection:
            if any(r not in selection for r in imp.get("requires", [])):
                return False
            if any(x in selection for x in imp.get("excludes", [])):
                return False
    return True


def feasible_gains(sc: dict[str, Any]) -> list[tuple[float, frozenset[str]]]:
    """(gain, selection) for every feasible selection."""
    ids = [i["id"] for i in sc["improvements"]]
    base = exact_value(sc, set())
    return [(exact_value(sc, set(combo)) - base, frozenset(combo))
            for r in range(len(ids) + 1)
            for combo in itertools.combinations(ids, r)
            if feasible(sc, set(combo))]


def brute_force(sc: dict[str, Any]) -> tuple[float, set[str]] | None:
    """(best gain, a best selection) over every feasible selection, or None if none is."""
    every = feasible_gains(sc)
    if not every:
        return None
    gain, chosen = max(every, key=lambda found: found[0])
    return gain, set(chosen)


def with_limit_raised(data: dict[str, Any], limit: str, step: float) -> dict[str, Any]:
    """A copy of a scenario (or roadmap) with "budget" or "team:<name>" raised by `step`
    (a roadmap team's capacity in every period)."""
    import copy

    raised = copy.deepcopy(data)
    if limit == "budget":
        raised["budget"] = data["budget"] + step
    else:
        team = limit.split(":", 1)[1]
        capacity = data["teams"][team]
        raised["teams"][team] = ([c + step for c in capacity] if isinstance(capacity, list)
                                 else capacity + step)
    return raised
